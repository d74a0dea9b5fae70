/*
 * outbox - the durable queue of notices between the milter and the MTA
 *
 * A SQLite database (WAL, synchronous FULL). The milter commits every notice
 * of a report in one transaction BEFORE it answers the MTA; each notice has
 * an idempotency key (report reference, report type, account), so a report
 * delivered twice, or replayed, never queues a second notice. The delivery
 * worker claims due notices, hands them to the MTA, and marks them sent
 * only after the MTA accepted them; failures back off exponentially.
 *
 * One struct outbox is one connection, serialised by its own mutex, so the
 * milter's threads may share it; the delivery worker opens its own.
 *
 * Owns: the connection and its prepared statements.
 */
#ifndef SM_OUTBOX_H
#define SM_OUTBOX_H

#include <stddef.h>
#include <time.h>

struct outbox;

struct outbox_item {
	const char *report_ref;
	const char *report_type;
	const char *account;
	char *const *recipients;
	size_t nrecipients;
	const char *message;
	const char *queue_id;		/* the MTA queue id of the report, for the log; may be NULL */
};

struct outbox_entry {
	long long id;
	char *queue_id;			/* "" when unknown */
	char *report_ref;
	char *report_type;
	char *account;
	char **recipients;
	size_t nrecipients;
	char *message;
	int attempts;
	time_t created;
};

struct outbox_counts {
	long long pending, sent, failed;
	time_t oldest_pending;		/* 0 when none */
};

struct outbox *outbox_open(const char *path, char *err, size_t errlen);
void outbox_close(struct outbox *ob);

/* outbox_commit - all ITEMS in one transaction; *ADDED counts the new ones
 * (the others were already queued: same idempotency key) */
int outbox_commit(struct outbox *ob, const struct outbox_item *items, size_t n, time_t now, size_t *added,
    char *err, size_t errlen);

/* outbox_next_due - a pending notice whose time has come: 1, 0 (none), -1 */
int outbox_next_due(struct outbox *ob, time_t now, struct outbox_entry *out, char *err, size_t errlen);
void outbox_entry_free(struct outbox_entry *e);

int outbox_mark_sent(struct outbox *ob, long long id, time_t now, char *err, size_t errlen);

/* outbox_mark_retry - failed now, try again at NEXT_ATTEMPT */
int outbox_mark_retry(struct outbox *ob, long long id, time_t next_attempt, const char *error,
    char *err, size_t errlen);

/* outbox_mark_failed - given up (MaxRetryDays); ops get told by the caller */
int outbox_mark_failed(struct outbox *ob, long long id, const char *error, char *err, size_t errlen);

/* outbox_prune - forget notices sent before BEFORE; *REMOVED counts them */
int outbox_prune(struct outbox *ob, time_t before, long long *removed, char *err, size_t errlen);

int outbox_get_counts(struct outbox *ob, struct outbox_counts *c, char *err, size_t errlen);

#endif
