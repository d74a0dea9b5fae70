/*
 * pipeline - a mail in, a verdict, per-customer notices and the unmatched out
 *
 * The core of shadowmilter, shared by the milter, replay and the tests: one
 * message is pushed in (headers and body, any chunking), the sender and
 * Authentication-Results decide whether it is an authenticated report, and
 * only then are its CSV attachments (plain or zipped) decoded and streamed
 * through csvreport into findings. pipeline_finish groups findings per
 * customer and renders one notice per (report type, account).
 *
 * Nothing here talks to the MTA or logs: the caller decides what a result
 * means (deliver notices, TEMPFAIL, print JSON).
 *
 * Owns: the per-message state, the spool file of a zip attachment, the result.
 */
#ifndef SM_PIPELINE_H
#define SM_PIPELINE_H

#include <stddef.h>
#include <time.h>

struct config;
struct prefixmap;
struct report_file;
struct notice;

struct report_output {
	struct report_file *rf;
	struct notice *notices;		/* one per group of rf, same order; none if rf->error */
	size_t nnotices;
};

struct pipeline_result {
	int report;			/* the sender matches ReportSenders */
	int authenticated;		/* ... and DKIM passed per a trusted authserv-id */
	char *reason;			/* why (not) processed, or what is missing */
	char *message_id;		/* the report's Message-ID, cleaned, or "" */
	char *subject;			/* decoded and cleaned */
	char *report_ref;		/* Message-ID, or a digest of the message when none */
	char *link;			/* a dl.shadowserver.org link in the text, or NULL */
	struct report_output *reports;
	size_t nreports;
	unsigned long bad_base64;	/* damage the MIME walk saw */
	unsigned long truncated_parts;
};

struct pipeline;

struct pipeline *pipeline_new(const struct config *cfg, const struct prefixmap *map);
void pipeline_free(struct pipeline *p);

/* pipeline_set_envelope_sender - the SMTP MAIL FROM, when known */
void pipeline_set_envelope_sender(struct pipeline *p, const char *sender);

/* pipeline_set_now - the time notices are dated (tests, previews) */
void pipeline_set_now(struct pipeline *p, time_t now);

/* pipeline_feed - message bytes in order: "Name: value\r\n" headers, blank line, body */
void pipeline_feed(struct pipeline *p, const char *data, size_t len);

/*
 * pipeline_is_report_candidate - after the headers: could this be a report?
 * (The milter accepts everything else without reading the body.)
 */
int pipeline_headers_seen(const struct pipeline *p);
int pipeline_wants_body(const struct pipeline *p);

/*
 * pipeline_finish - end of message. Returns 0 with a result (the caller frees
 * it), or -1 with ERR on an internal failure (spool I/O, broken template):
 * the report was not handled and must be retried, not dropped.
 */
int pipeline_finish(struct pipeline *p, struct pipeline_result **result, char *err, size_t errlen);

void pipeline_result_free(struct pipeline_result *r);

/* pipeline_counts - totals over a result, for logs and headers */
void pipeline_counts(const struct pipeline_result *r, size_t *notices, size_t *unmatched,
    unsigned long *skipped_rows);

#endif
