/*
 * state - detection history: what was seen when, who was told, what is fixed
 *
 * A finding is (account, ip, port, protocol, report type). For each one the
 * history keeps the first and last detection (the reports' own timestamps),
 * how many reports carried it, when a notice last named it and when it was
 * resolved. An account's open findings of one report type form a case with a
 * stable reference ("SM-20261124-000042") until every one of them is
 * resolved; the next finding after that opens a new case.
 *
 * A report stream is (report type, identifier): the identifier is the third
 * part of the ShadowServer file name, the network the report covers. The
 * report of a stream dated D resolves the stream's open findings that it no
 * longer carries and that were last seen before D; a stream that stops
 * arriving resolves after ResolveAfterDays.
 *
 * state_apply takes one readable report file and, in one transaction:
 * records its findings, resolves the absent and the silent ones, decides per
 * account whether RenotifyInterval lets a notice go, closes cases with
 * nothing left open, and prunes resolved history older than RetainDays. The
 * same report file applied again (an MTA retry) changes nothing and returns
 * the outcome recorded the first time, so the same notices are rendered.
 * A report older than the newest one applied for its stream only fills in
 * history of open findings: it opens, resolves and notifies nothing.
 *
 * The history lives in the store (store/store.h: SQLite or PostgreSQL, the
 * same database as the outbox): state_apply runs inside the caller's store
 * transaction, so a report's history and its notices commit together; the
 * queries take a connection of their own. Implemented in store/history.c.
 * Nothing here logs: errors come back in the caller's buffer, naming the
 * database, and a locked or damaged database is an error, never a silent skip.
 *
 * Owns: the outcome, item and stream arrays it returns.
 */
#ifndef SM_STATE_H
#define SM_STATE_H

#include <stddef.h>
#include <time.h>

struct db;
struct notice_group;
struct report_file;
struct store;

#define STATE_REF_MAX 64		/* "SM-20261124-000042" and room to grow */

struct state_policy {
	unsigned grace_days;		/* GraceDays: deadline = first seen + this */
	unsigned long renotify_interval;	/* RenotifyInterval, seconds; 0: every report notifies */
	unsigned resolve_after_days;	/* ResolveAfterDays; 0: silent streams never resolve */
	unsigned retain_days;		/* RetainDays */
	int record_notices;		/* the notices decided here are sent (the milter): the
					 * findings count as notified; replay, a dry run, does not */
	/*
	 * per account (AccountSettings, customers/accounts.h), or NULL: FN may
	 * change *RENOTIFY (RenotifyInterval above; STATE_RENOTIFY_NEVER: only
	 * new findings notify) and set *WITHHOLD: a notice the history would
	 * send is withheld instead (recorded, nobody counts as notified)
	 */
	void (*account_policy)(void *ctx, const char *account, unsigned long *renotify, int *withhold);
	void *account_ctx;
};

#define STATE_RENOTIFY_NEVER ((unsigned long)-1)

struct state_finding {			/* one finding of the report, as the history knows it */
	time_t first_seen;		/* earliest detection of this episode */
	time_t deadline;		/* first_seen + GraceDays */
	int overdue;			/* detected in this report at or after the deadline */
	int is_new;			/* first seen in this report */
	unsigned long times_reported;	/* reports that carried it, this one included */
};

struct state_group {			/* one account's findings in the report */
	const struct notice_group *group;	/* the report file's group it is about */
	struct state_finding *findings;	/* findings[j] is of group->findings[j]; a
					 * slice of state_outcome.group_findings */
	int notify;			/* 0: held back by RenotifyInterval (or a late report), or withheld */
	int withheld;			/* the account's settings withheld the notice it would get */
	char reference[STATE_REF_MAX];	/* the case reference; "" for a late report's group */
};

struct state_item {			/* one finding episode as stored */
	char *account, *report_type, *identifier, *ip, *protocol;
	char reference[STATE_REF_MAX];
	int port;			/* -1: the report had none */
	time_t first_seen, last_seen;
	time_t last_notified, resolved_at;	/* 0: never notified, still open */
	unsigned long times_reported;
};

struct state_closed {			/* a case closed by this report: nothing of it is open */
	char *account;
	char *report_type;
	char reference[STATE_REF_MAX];
	struct state_item *items;	/* the case's findings */
	size_t nitems;
};

struct state_outcome {
	struct state_group *groups;	/* one per group of the report file (each names its own) */
	size_t ngroups;
	struct state_finding *group_findings;	/* the groups' findings, one block (owned) */
	struct state_closed *closed;
	size_t nclosed;
	unsigned long resolved;		/* open findings of the stream this report no longer carries */
	unsigned long expired;		/* findings of streams silent for ResolveAfterDays */
	int late;			/* older than the newest report of its stream */
	int replayed;			/* applied before: the outcome recorded then */
	time_t notified_at;		/* when its notices count as sent (the milter's
					 * record_notices); 0: they do not */
};

struct state_stream {			/* a report stream: type + identifier */
	char *report_type, *identifier;
	time_t last_report;		/* date of the newest report applied */
	time_t last_applied;		/* when a report of it was last applied */
	unsigned long reports;
};

/*
 * state_apply - one readable, closed report file RF into the history, inside
 * the store transaction DB (store_begin); REPORT_KEY names it uniquely
 * (report reference and file name). NOW is when the notices are made. 0 with
 * *OUT (free with state_outcome_free), or -1 with ERR: the caller rolls back.
 */
int state_apply(struct db *db, const struct state_policy *pol, const char *report_key,
    const struct report_file *rf, time_t now, struct state_outcome **out, char *err, size_t errlen);
void state_outcome_free(struct state_outcome *o);

/*
 * state_notified - a notice of report TYPE listed G's findings at WHEN (0:
 * notices are not recorded, nothing to do). The pipeline merges the files of
 * one type in one mail into one notice per account: every finding it lists
 * counts as notified, also those of a file whose own notice RenotifyInterval
 * held back - the customer was told of them all the same. 0, or -1 with ERR:
 * the caller rolls back.
 */
int state_notified(struct db *db, const char *type, const struct notice_group *g, time_t when, char *err,
    size_t errlen);

/*
 * state_expire - wall-clock expiry, inside the store transaction DB: the open
 * findings of every report stream that neither carried a date nor arrived
 * within ResolveAfterDays of NOW are resolved (as of the later of the two +
 * ResolveAfterDays) and the cases left with nothing open are closed, even
 * when no report arrives at all. A stream resolved before is not touched
 * again. 0 with *OUT (its expired
 * count and closed cases; no groups), or -1 with ERR.
 */
int state_expire(struct db *db, const struct state_policy *pol, time_t now, struct state_outcome **out,
    char *err, size_t errlen);

/* state_expiry_due - would state_expire resolve anything at NOW? 1, 0, or
 * -1 with ERR; a read, outside any transaction, so that the daemon's every
 * round does not take the store's write lock for nothing */
int state_expiry_due(struct db *db, const struct state_policy *pol, time_t now, char *err, size_t errlen);

/*
 * state_items - finding episodes, oldest first detection first: ACCOUNT's or
 * IP's (canonical text form) when given, only open ones when OPEN_ONLY.
 */
int state_items(struct store *st, const char *account, const char *ip, int open_only,
    struct state_item **out, size_t *n, char *err, size_t errlen);
void state_items_free(struct state_item *items, size_t n);

/* a notice the account's settings withheld (state_policy.account_policy) */
struct state_withheld {
	char *account, *report_type;
	char reference[STATE_REF_MAX];
	time_t at;			/* when the report was applied */
};

/* state_withheld - ACCOUNT's withheld notices, oldest first */
int state_withheld(struct store *st, const char *account, struct state_withheld **out, size_t *n, char *err,
    size_t errlen);
void state_withheld_free(struct state_withheld *w, size_t n);

/* state_streams - every report stream, by type and identifier */
int state_streams(struct store *st, struct state_stream **out, size_t *n, char *err, size_t errlen);
void state_streams_free(struct state_stream *streams, size_t n);

#endif
