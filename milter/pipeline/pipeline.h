/*
 * pipeline - a mail in, a verdict, per-customer notices and the unmatched out
 *
 * The core of shadowmilter, shared by the milter, replay and the tests: one
 * message is pushed in (headers and body, any chunking), the sender and
 * DKIM decide whether it is an authenticated report (our own verification,
 * dkimverify.h, over the very bytes pushed in; or with VerifyDKIM no a
 * trusted Authentication-Results), and only then are its CSV attachments
 * (plain or zipped) decoded and streamed through csvreport into findings.
 * The body hash is known only at the end: a report whose signature fails
 * there has everything read from it dropped, and makes no notice. What the
 * files of one message may cost is bounded as a whole, before the body hash
 * is known (MaxReportFiles, MaxColumns, MaxReportMemory): over it, nothing
 * more is read, what was read is freed, and the result is "report too
 * large". pipeline_finish groups findings per customer and renders one
 * notice per (report type, account).
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
struct store;
struct state_outcome;
struct template_set;

struct report_output {
	struct report_file *rf;
	struct notice *notices;		/* one per account rf names, in account order (notice.h): its
					 * customer, findings and their history, whether the history
					 * held it, and its message when made; after a merge, FIRST's
					 * are one per account over every file of its type, and a
					 * merged file keeps its own (none made) */
	size_t nnotices;
	size_t nmade;			/* how many messages were made (held, merged, erred and
					 * InfoNotices-off ones are not); a sink or an outbox took
					 * their text when the pipeline had one (notice.made stays) */
	struct state_outcome *history;	/* with a state database: what it knew and decided; else NULL */
	struct notice *confirmations;	/* NotifyResolved: "all fixed" notices of cases this
					 * report closed (their report_type may differ) */
	size_t nconfirmations;
	int already_applied;		/* the same report file (its identity, report/reportid.h)
					 * came first through another report or route: nothing of
					 * it is applied or notified again (rf->note says so) */
	const char *merged_into;	/* the file of the same type whose notices also list this
					 * file's findings (one notice per account and type), or NULL */
};

struct pipeline_result {
	int report;			/* the sender matches ReportSenders */
	int authenticated;		/* ... and DKIM passed (our own verification, or a trusted
					 * authserv-id's Authentication-Results with VerifyDKIM no) */
	int trusted_by_operator;	/* ... not checked: replay --trust-saved vouched for it */
	int too_large;			/* ... but over MaxReportFiles, MaxColumns or MaxReportMemory:
					 * refused as a whole, no report read (reason says which) */
	char *reason;			/* why (not) processed, or what is missing */
	char *auth;			/* authenticated: what vouched for it ("dkim d=shadowserver.org
					 * s=mail a=rsa-sha256", "authres mx.example.net"), else NULL */
	char *message_id;		/* the report's Message-ID, cleaned, when the DKIM
					 * signature covers it; else "" */
	char *subject;			/* its Subject, decoded and cleaned, likewise */
	char *report_ref;		/* that Message-ID, else the digest of the signed body
					 * and the file names (trust/identity.h) */
	char *link;			/* a dl.shadowserver.org link in the text, or NULL */
	struct report_output *reports;
	size_t nreports;
	size_t queued;			/* notices newly queued in the outbox (the milter) */
	size_t digest_kept;		/* notices newly kept for their account's daily digest
					 * (AccountSettings digest; notice/digest.h) */
	int fetch_queued;		/* a link-only report: its link is a fetch job in the store
					 * (the milter; store/fetchjobs.h) */
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

/* pipeline_set_trust_saved - "replay --trust-saved": a mail from ReportSenders
 * is taken as authentic without its signature (saved mail whose DKIM key was
 * rotated). Before the first byte; the milter never calls it. */
void pipeline_set_trust_saved(struct pipeline *p);

/*
 * pipeline_set_templates - render notices from SET (notice_templates_load),
 * parsed once by the caller and kept until the pipeline is freed: the
 * runtime's snapshot, a replay's or a preview's. Without it the pipeline
 * reads the templates once for its message (tests, one-off tools).
 */
void pipeline_set_templates(struct pipeline *p, const struct template_set *set);

/*
 * pipeline_set_accounts - each account's AccountSettings (customers/accounts.h),
 * kept by the caller until the pipeline is freed: cc recipients, notices
 * withheld (recorded in the history, not sent), renotify intervals. Without
 * it every account has the defaults.
 */
struct account_table;
void pipeline_set_accounts(struct pipeline *p, const struct account_table *accounts);

/*
 * pipeline_set_store - keep detection history and queue notices in ST (see
 * store/store.h), in one transaction per message. When ST keeps a history,
 * each readable report file is applied to it before rendering: its notices
 * carry first detection, deadlines and the case reference, RenotifyInterval
 * may hold a notice back, and NotifyResolved confirms closed cases.
 * QUEUE_NOTICES (the milter): the notices go into ST's outbox in the same
 * transaction and count as notified; a dry run (replay) passes 0.
 */
void pipeline_set_store(struct pipeline *p, struct store *st, int queue_notices);

/*
 * pipeline_set_notice_sink - FN gets each notice as it is made (the report
 * output it belongs to); a non-zero return fails the message. Then, as when
 * the notices are queued in an outbox, the result does not keep their
 * messages (each notice keeps what it is about, RO->nmade counts them):
 * memory stays flat however long the notices are.
 */
typedef int (*pipeline_notice_fn)(void *ctx, const struct pipeline_result *r, const struct report_output *ro,
    const struct notice *n);
void pipeline_set_notice_sink(struct pipeline *p, pipeline_notice_fn fn, void *ctx);

/* pipeline_set_route - how the report came, kept with the claim of its
 * files (store/fileclaim.h): "mail" (the default), "link", "api" */
void pipeline_set_route(struct pipeline *p, const char *route);

/*
 * pipeline_set_fetched - no mail is fed: the report is a file fetched for
 * an authenticated link-only mail (a link's download) or from the Reports
 * API, as O says: its report reference, Message-ID, Subject and link, the
 * route ("link", "api"), what vouched for it and the reason line the result
 * carries. Then pipeline_add_file, then pipeline_finish as for a mail: the
 * same history, claims and notices.
 */
struct pipeline_origin {
	const char *report_ref;
	const char *message_id;		/* or NULL */
	const char *subject;		/* or NULL */
	const char *link;		/* or NULL */
	const char *route;
	const char *auth;
	const char *reason;
};
void pipeline_set_fetched(struct pipeline *p, const struct pipeline_origin *o);

/* pipeline_add_file - a fetched file, its bytes in FD from offset 0: a zip when ZIP, else CSV;
 * NAME (the download's Content-Disposition file name, or NULL) types it, else the Subject does */
int pipeline_add_file(struct pipeline *p, const char *name, int fd, int zip);

/* pipeline_set_queue_id - the MTA's queue id, kept with queued notices for the log */
void pipeline_set_queue_id(struct pipeline *p, const char *queue_id);

/* pipeline_feed - message bytes in order: "Name: value\r\n" headers, blank line, body */
void pipeline_feed(struct pipeline *p, const char *data, size_t len);

/*
 * pipeline_wants_body - after the headers: is this an authenticated report
 * whose body must be read? (The milter skips the body of everything else.)
 */
int pipeline_wants_body(const struct pipeline *p);

/*
 * pipeline_finish - end of message. Returns 0 with a result (the caller frees
 * it), or -1 with ERR on an internal failure (spool I/O, broken template, the
 * store down, locked or damaged): nothing was recorded or queued, and the
 * report must be retried, not dropped.
 */
int pipeline_finish(struct pipeline *p, struct pipeline_result **result, char *err, size_t errlen);

/* pipeline_key_unavailable - after a failed pipeline_finish: it failed because
 * the DKIM key of a report could not be fetched (DNS), not for lack of resources */
int pipeline_key_unavailable(const struct pipeline *p);

void pipeline_result_free(struct pipeline_result *r);

/* pipeline_store_failed - did the last pipeline_finish fail at the store
 * (down, locked, damaged) rather than at a template or a spool file? */
int pipeline_store_failed(const struct pipeline *p);

/* pipeline_counts - totals over a result, for logs and headers; NOTICES
 * counts every message to send, confirmations included */
void pipeline_counts(const struct pipeline_result *r, size_t *notices, size_t *unmatched,
    unsigned long *skipped_rows);

struct pipeline_history {
	size_t held;			/* notices held back by RenotifyInterval */
	size_t withheld;		/* notices the accounts' settings withheld (AccountSettings notify) */
	size_t digest;			/* notices made for a daily digest (AccountSettings digest) */
	unsigned long resolved;		/* findings the reports no longer carry */
	unsigned long expired;		/* findings of report streams gone silent */
	size_t closed;			/* cases with nothing left open */
	int recorded;			/* a state database was used */
	size_t queued;			/* pipeline_expire: confirmations queued */
};

/*
 * pipeline_expire - wall-clock expiry (state_expire) at the pipeline's time,
 * in one store transaction with the NotifyResolved confirmations of the
 * cases it closed (queued when the pipeline queues notices). Run by the
 * delivery thread and "shadowmilter deliver": report streams that stop
 * arriving resolve even when no report arrives at all. 0 with *H (expired,
 * closed, queued), or -1 with ERR.
 */
int pipeline_expire(struct pipeline *p, struct pipeline_history *h, char *err, size_t errlen);

/* pipeline_history_counts - what the detection history did, over a result */
void pipeline_history_counts(const struct pipeline_result *r, struct pipeline_history *h);

#endif
