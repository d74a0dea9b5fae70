/*
 * outbox - the durable queue of notices between the milter and the MTA
 *
 * The notices table of the store (store/store.h: SQLite or PostgreSQL, the
 * same database as the detection history). The milter adds every notice of a
 * report inside the report's one store transaction, BEFORE it answers the
 * MTA; each notice has an idempotency key (its notice_key, see noticekey.h),
 * so a report delivered twice, or at two MX hosts, never queues a second
 * notice.
 *
 * Delivery workers (the daemon's thread, "shadowmilter deliver" runs, other
 * MX hosts) CLAIM a due notice atomically, with a lease (claim.h, the same
 * claim as the fetch jobs'). While the claim is live nobody else is handed
 * that notice; a claim whose worker died expires and is taken over, or is
 * taken back at once by the next process of its host (claim.h). The worker
 * prepares the notice's "sent" mark before the MTA gets the end of the
 * message and commits it when the MTA accepted it, or sets the next attempt
 * (failures back off exponentially), or gives it back on a stop.
 * Implemented in store/outbox.c.
 *
 * Owns: the entries it returns.
 */
#ifndef SM_OUTBOX_H
#define SM_OUTBOX_H

#include <stddef.h>
#include <time.h>

struct db;
struct store;

#define OUTBOX_LEASE 900	/* seconds a claim lasts by default (DeliveryLease) */

struct outbox_item {
	const char *key;		/* the idempotency key (notice_key_text) */
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
	long long claimed;		/* pending and held by a live claim: being sent */
	time_t oldest_pending;		/* 0 when none */
};

/* outbox_add - one notice, inside the store transaction DB; *ADDED is 1, or 0
 * when it was already queued (same key) */
int outbox_add(struct db *db, const struct outbox_item *it, time_t now, int *added, char *err, size_t errlen);

/* outbox_commit - all ITEMS in one transaction of their own; *ADDED counts the new ones */
int outbox_commit(struct store *st, const struct outbox_item *items, size_t n, time_t now, size_t *added,
    char *err, size_t errlen);

/*
 * outbox_claim - a pending notice whose time has come and that nobody holds,
 * claimed for WORKER until NOW + LEASE: 1 (*OUT filled), 0 (none), -1.
 */
int outbox_claim(struct store *st, time_t now, long lease, const char *worker, struct outbox_entry *out,
    char *err, size_t errlen);
void outbox_entry_free(struct outbox_entry *e);

int outbox_mark_sent(struct store *st, long long id, time_t now, char *err, size_t errlen);

/*
 * The "sent" mark of a notice, prepared before the MTA gets the end of the
 * message and committed the moment it answers 250 (deliver.c), so that what
 * is left of the window in which a crash resends an accepted notice is the
 * MTA's own answer and one cheap commit. A prepared mark is an open
 * transaction, on a connection of its own, that has marked the notice sent
 * if WORKER still holds its claim. SQLite holds the database's write lock for
 * it (every other writer waits), PostgreSQL only the notice's row (no
 * other worker can claim it). Its commit does not wait for the disk (SQLite
 * synchronous=NORMAL in WAL mode, PostgreSQL synchronous_commit off): a crash
 * of shadowmilter cannot undo a committed mark; a power loss, or a crash of
 * the database server, in the moment after it can, and then the notice is
 * sent again, never lost.
 */
struct outbox_mark;

/* outbox_mark_prepare - 1 (*OUT is the open mark), 0 (WORKER's claim on ID was
 * taken over: leave the notice alone), -1 with ERR */
int outbox_mark_prepare(struct store *st, long long id, const char *worker, time_t now, struct outbox_mark **out,
    char *err, size_t errlen);
int outbox_mark_commit(struct outbox_mark *m, char *err, size_t errlen);	/* frees M */
void outbox_mark_abort(struct outbox_mark *m);				/* frees M; the notice is as it was */

/* outbox_mark_blocks_writers - does the open mark keep every other writer of the store waiting (SQLite)? */
int outbox_mark_blocks_writers(const struct outbox_mark *m);

/*
 * Ending a notice that was not sent: only while WORKER still holds its
 * claim (claim.h's claim_end). A worker whose lease ran out and whose
 * notice another worker claimed meanwhile (or sent) gets CLAIM_LOST and
 * changes nothing: the notice is the other worker's.
 */

/* outbox_mark_retry - failed now, try again at NEXT_ATTEMPT (the claim ends): 0, CLAIM_LOST, -1 */
int outbox_mark_retry(struct store *st, long long id, const char *worker, time_t next_attempt, const char *error,
    char *err, size_t errlen);

/* outbox_mark_failed - given up (MaxRetryDays); ops get told by the caller when it is 0: 0, CLAIM_LOST, -1 */
int outbox_mark_failed(struct store *st, long long id, const char *worker, const char *error, char *err,
    size_t errlen);

/* outbox_release - give a claim back untried (a stop): due again at once; 0, CLAIM_LOST, -1 */
int outbox_release(struct store *st, long long id, const char *worker, char *err, size_t errlen);

/* outbox_prune - forget notices sent before BEFORE; *REMOVED counts them */
int outbox_prune(struct store *st, time_t before, long long *removed, char *err, size_t errlen);

/* outbox_list_pending - each pending notice (recipients, message and all,
 * claimed or not) to FN in the order delivery takes them; reads only.
 * FN's entry is freed after it returns. */
int outbox_list_pending(struct store *st, void (*fn)(void *ctx, const struct outbox_entry *e, time_t next_attempt),
    void *ctx, char *err, size_t errlen);

int outbox_get_counts(struct store *st, time_t now, struct outbox_counts *c, char *err, size_t errlen);

#endif
