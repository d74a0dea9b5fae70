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

struct buf;
struct pipeline_result;

void json_string(struct buf *out, const char *s);

/* json_result - the object for one message; MESSAGE names its source, ERROR
 * is set when the pipeline failed and RESULT is NULL */
void json_result(struct buf *out, const char *message, const struct pipeline_result *result,
    const char *error);

#endif
