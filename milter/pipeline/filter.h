/*
 * filter - what the milter does at each stage of one SMTP transaction
 *
 * The libmilter callbacks in milter.c are one-line adapters onto these
 * functions; every effect on the message (headers, recipients, replies) and
 * every log line goes through struct filter_io, so the tests drive the same
 * logic with a fake MTA. No libmilter dependency here.
 *
 * A message is read only as far as needed: mail whose From header is not a
 * report sender is accepted at once (the body is never seen); report-looking
 * mail that fails authentication skips its body and gets a header saying
 * why; an authenticated report is streamed through the pipeline and, at
 * end of message, its notices are committed to the outbox BEFORE the MTA
 * gets an answer, in the same store transaction as the report's detection
 * history. Any failure before that commit is a TEMPFAIL: the sending MTA
 * retries and nothing is lost. That includes the store: a database that is
 * down, locked or damaged fails the report, it is never skipped.
 * A TEMPFAIL carries an SMTP reply with an enhanced status code and a reason
 * the sender's log can show ("451 4.3.0 shadowmilter: report could not be
 * processed, try again later"); the detail (file, engine error) goes only
 * to our log.
 *
 * Owns: the per-message state.
 */
#ifndef SM_FILTER_H
#define SM_FILTER_H

#include <stddef.h>
#include <time.h>

struct config;
struct prefixmap;
struct account_table;
struct store;
struct template_set;

enum filter_action {
	FILTER_CONTINUE,
	FILTER_ACCEPT,		/* pass unchanged, stop looking */
	FILTER_SKIP,		/* no more body chunks, please */
	FILTER_TEMPFAIL,
	FILTER_DISCARD,
};

/* the MTA side, as seen by the filter: libmilter or a test double */
struct filter_io {
	int (*add_header)(void *ctx, const char *name, const char *value);
	int (*change_header)(void *ctx, const char *name, int index, const char *value);	/* NULL value deletes */
	int (*add_rcpt)(void *ctx, const char *rcpt);
	int (*del_rcpt)(void *ctx, const char *rcpt);
	void (*log)(void *ctx, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	void *ctx;
	/* the SMTP reply that goes with a TEMPFAIL: RCODE "451", XCODE "4.3.0", TEXT
	 * (no CR/LF); may be NULL: the MTA then says only what its default says */
	int (*set_reply)(void *ctx, const char *rcode, const char *xcode, const char *text);
};

/* what a message is checked against; shared by messages in flight */
struct filter_env {
	const struct config *cfg;
	const struct prefixmap *map;
	const struct template_set *templates;	/* parsed notice templates; NULL: read per message */
	struct store *store;		/* outbox and detection history (store/store.h) */
	const struct account_table *accounts;	/* AccountSettings, or NULL (customers/accounts.h) */
};

struct filter_msg;

struct filter_msg *filter_begin(const struct filter_env *env, const char *queue_id, const char *envelope_sender);
void filter_end(struct filter_msg *m);
void filter_set_queue_id(struct filter_msg *m, const char *queue_id);
/* filter_set_leading_space - header values will keep the space after the colon (SMFIP_HDR_LEADSPC) */
void filter_set_leading_space(struct filter_msg *m, int yes);
const char *filter_queue_id(const struct filter_msg *m);

enum filter_action filter_rcpt(struct filter_msg *m, const char *rcpt);
enum filter_action filter_header(struct filter_msg *m, const struct filter_io *io, const char *name,
    const char *value);
enum filter_action filter_eoh(struct filter_msg *m, const struct filter_io *io);
enum filter_action filter_body(struct filter_msg *m, const struct filter_io *io, const char *data, size_t len);
enum filter_action filter_eom(struct filter_msg *m, const struct filter_io *io, time_t now);

/* set by filter_eom: notices newly queued (the delivery worker may wake) */
size_t filter_notices_queued(const struct filter_msg *m);

#endif
