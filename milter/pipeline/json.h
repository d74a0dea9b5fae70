/*
 * json - the replay --json output, a public interface for ops automation
 *
 * One object per input message (see README "JSON output"); fields are only
 * ever added, never renamed or removed. Strings are escaped for JSON and
 * invalid UTF-8 is replaced, so hostile report data cannot break the stream.
 *
 * Owns: nothing.
 */
#ifndef SM_JSON_H
#define SM_JSON_H

#include <stddef.h>

struct buf;
struct notice;
struct pipeline_result;
struct report_output;

void json_string(struct buf *out, const char *s);

/* json_result - the object for one message; MESSAGE names its source, ERROR
 * is set when the pipeline failed and RESULT is NULL */
void json_result(struct buf *out, const char *message, const struct pipeline_result *result,
    const char *error);

/*
 * The same object in pieces, for a replay that prints notices as they are
 * made (pipeline_set_notice_sink) instead of holding them all: the message up
 * to its reports, each report up to its notices, each notice, the rest of
 * the report, the end of the message. Put together they give json_result's
 * text exactly.
 */
void json_message_open(struct buf *out, const char *message, const struct pipeline_result *result);
void json_report_open(struct buf *out, const struct report_output *ro, int first);
void json_report_notice(struct buf *out, const struct notice *n, int first);
void json_report_close(struct buf *out, const struct report_output *ro);
void json_message_close(struct buf *out);

#endif
