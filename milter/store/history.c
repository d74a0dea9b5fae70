/*
 * history - the detection history, kept in the store
 *
 * See state.h. Tables (schema.c): reports (each applied report file: the
 * idempotency record), findings (one row per episode of a finding; at most
 * one open per finding), cases (an account's findings of one type, with the
 * reference), decisions (what a report decided per account, replayed on a
 * retry) and streams (the newest report per type and identifier). The SQL is
 * written once for SQLite and PostgreSQL (store/db.h). state_apply runs
 * inside the caller's store transaction, which has the store to itself, so
 * the report's notices commit with it and two writers (threads, processes,
 * MX hosts) never interleave.
 */
#include "store/state.h"
#include "report/findings.h"
#include "customers/prefixmap.h"
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

enum { DECIDED_HELD = 0, DECIDED_NOTICE = 1, DECIDED_CLOSED = 2, DECIDED_WITHHELD = 3 };

static void
column_ref(struct db_stmt *s, int col, char *out)
{
	snprintf(out, STATE_REF_MAX, "%s", db_text(s, col));
}

/* --- one report ---------------------------------------------------------- */

struct apply {
	struct db *db;
	const struct state_policy *pol;
	const struct report_file *rf;
	time_t now;
	time_t date;			/* the report's date: what "absent" is measured against */
	long long rid;			/* its reports row */
	int late;
};

/* report_date - the file name's date; else the earliest detection; else now */
static time_t
report_date(const struct report_file *rf, time_t now)
{
	struct buf b = BUF_INIT;
	time_t t = 0, d;
	size_t i, j;

	buf_printf(&b, "%s 00:00:00", rf->date);
	if (*rf->date && parse_detection_time(b.data, &d) == 0)
		t = d;
	buf_free(&b);
	for (i = 0; t == 0 && i < rf->ngroups; i++)
		for (j = 0; j < rf->groups[i].nfindings; j++)
			if (t == 0 || rf->groups[i].findings[j]->detected < t)
				t = rf->groups[i].findings[j]->detected;
	for (i = 0; t == 0 && i < rf->nunmatched; i++)
		if (t == 0 || rf->unmatched[i]->detected < t)
			t = rf->unmatched[i]->detected;
	return t ? t : now;
}

static void
format_reference(long long id, time_t opened, char *out)
{
	struct tm tm;

	gmtime_r(&opened, &tm);
	snprintf(out, STATE_REF_MAX, "SM-%04d%02d%02d-%06lld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, id);
}

/* insert_id - run an INSERT ... RETURNING id: the new row's id, or -1 */
static long long
insert_id(struct db *db, struct db_stmt *s)
{
	return s && db_step(db, s) == 1 ? db_int(s, 0) : -1;
}

/* case_reference - the account's open case's reference, "" when none */
static int
case_reference(struct apply *a, const char *account, char *out)
{
	static const char sql[] = "SELECT reference FROM cases WHERE account = ?1 AND report_type = ?2"
	    " AND closed_at IS NULL";
	struct db_stmt *s = DB_RUN(a->db, sql, DBT(account), DBT(a->rf->type));
	int rc;

	*out = '\0';
	if (s == NULL || (rc = db_step(a->db, s)) < 0)
		return -1;
	if (rc > 0)
		column_ref(s, 0, out);
	return 0;
}

static void
set_deadline(const struct apply *a, const struct finding *f, struct state_finding *sf)
{
	sf->deadline = sf->first_seen + (time_t)a->pol->grace_days * DAY;
	sf->overdue = f->detected >= sf->deadline;
}

/* --- batches ------------------------------------------------------------- */

/*
 * A report's findings go to the database BATCH at a time, each batch as ONE
 * parameter: a JSON array of arrays, which each engine reads as a table whose
 * row b.value is one inner array and (b.value ->> N) its field N (SQLite's
 * json_each, PostgreSQL's json_array_elements). A statement is written once
 * around that table and made twice, once per engine (BATCH_SQL): a
 * 50,000-finding report is a few hundred statements, not two per finding,
 * which on PostgreSQL were as many round trips. The batch is always the
 * outer loop: findings is only ever reached through an index, per key.
 */
#define BATCH 500
#define ROWS_SQLITE "json_each(?1)"
#define ROWS_PG "json_array_elements(CAST(?1 AS json))"
#define BATCH_SQL(name, sql) \
	static const char name##_sqlite[] = sql(ROWS_SQLITE), name##_pg[] = sql(ROWS_PG)
#define BATCH_RUN(db, name, ...) db_run_indexed((db), db_engine(db) == DB_PG ? name##_pg : name##_sqlite, \
	(const struct db_val[]){ __VA_ARGS__ }, sizeof((const struct db_val[]){ __VA_ARGS__ }) / sizeof(struct db_val))

/*
 * the open episodes of the keys [[k, ip, port, protocol], ...] of ACCOUNT (?2)
 * and type (?3): id, first_seen, times_reported, last_notified, k. Each key
 * is looked up on its own, through an index on the key (findings_key or
 * findings_ip): SQLite takes CROSS JOIN's order as given; PostgreSQL gets a
 * LATERAL subquery, which its LIMIT keeps from being flattened into a join.
 * "Open" is written COALESCE(resolved_at, 0) = 0 (a resolution time is never
 * 0) so that no partial index of open findings qualifies: without statistics
 * for the rows the report's transaction wrote, PostgreSQL took
 * findings_by_stream, which holds every open finding, and read it whole for
 * each key (a 50,000-finding report: seconds per batch).
 */
#define LOOKUP_COLUMNS "SELECT f.id, f.first_seen, f.times_reported, f.last_notified, CAST(b.value ->> 0 AS BIGINT)"
#define LOOKUP_KEY "f.account = ?2 AND f.report_type = ?3 AND COALESCE(f.resolved_at, 0) = 0" \
	" AND f.ip = (b.value ->> 1)" \
	" AND f.port = CAST(b.value ->> 2 AS BIGINT) AND f.protocol = (b.value ->> 3)"
static const char q_lookup_sqlite[] = LOOKUP_COLUMNS " FROM " ROWS_SQLITE " b CROSS JOIN findings f WHERE "
    LOOKUP_KEY;
static const char q_lookup_pg[] = LOOKUP_COLUMNS " FROM " ROWS_PG " b CROSS JOIN LATERAL"
    " (SELECT * FROM findings f WHERE " LOOKUP_KEY " LIMIT 1) f";

/* [[id, detected], ...] seen again by report ?3 of stream ?2 */
#define SEEN_AGAIN(rows) "UPDATE findings SET" \
	" first_seen = CASE WHEN first_seen < b.detected THEN first_seen ELSE b.detected END," \
	" last_seen = CASE WHEN last_seen > b.detected THEN last_seen ELSE b.detected END," \
	" times_reported = times_reported + 1, identifier = ?2, last_report = ?3" \
	" FROM (SELECT CAST(value ->> 0 AS BIGINT) AS id, CAST(value ->> 1 AS BIGINT) AS detected FROM " rows ") b" \
	" WHERE findings.id = b.id"
BATCH_SQL(q_seen_again, SEEN_AGAIN);

/* [[ip, port, protocol, detected], ...] first seen by report ?6 (notified at ?7, or NULL) in case ?2 */
#define FIRST_SIGHTING(rows) "INSERT INTO findings (case_id, account, ip, port, protocol, report_type, identifier," \
	" first_seen, last_seen, times_reported, first_report, last_report, last_notified)" \
	" SELECT ?2, ?3, (b.value ->> 0), CAST(b.value ->> 1 AS BIGINT), (b.value ->> 2), ?4, ?5," \
	" CAST(b.value ->> 3 AS BIGINT), CAST(b.value ->> 3 AS BIGINT), 1, ?6, ?6, ?7 FROM " rows " b"
BATCH_SQL(q_first_sighting, FIRST_SIGHTING);

/* [[id], ...] named by a notice at ?2 */
#define NOTIFIED(rows) "UPDATE findings SET last_notified = ?2" \
	" WHERE id IN (SELECT CAST(b.value ->> 0 AS BIGINT) FROM " rows " b)"
BATCH_SQL(q_notified, NOTIFIED);

/* the latest episode of each key [[k, ip, port, protocol], ...] of ACCOUNT (?2) and type (?3) that began at or
 * before report ?4: k, first_seen, times_reported, first_report */
#define REPLAYED(rows) "SELECT CAST(b.value ->> 0 AS BIGINT), f.first_seen, f.times_reported, f.first_report" \
	" FROM " rows " b JOIN findings f ON f.id = (SELECT max(e.id) FROM findings e WHERE e.account = ?2" \
	" AND e.report_type = ?3 AND e.ip = (b.value ->> 1) AND e.port = CAST(b.value ->> 2 AS BIGINT)" \
	" AND e.protocol = (b.value ->> 3) AND e.first_report <= ?4)"
BATCH_SQL(q_replayed, REPLAYED);

/* json_text - S as a JSON string: quotes, backslashes and control characters escaped, nothing else changed */
static void
json_text(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			buf_printf(b, "\\u%04x", (unsigned)(unsigned char)*s);
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

/* batch_open, batch_next, batch_close - a JSON array of arrays in B, an element at a time */
static void
batch_open(struct buf *b)
{
	buf_reset(b);
	buf_putc(b, '[');
}

static void
batch_next(struct buf *b)
{
	buf_puts(b, b->len > 1 ? ",[" : "[");
}

static const char *
batch_close(struct buf *b)
{
	buf_putc(b, ']');
	return buf_cstr(b);
}

/* finding_key - F as a key's fields in B: "ip",port,"protocol" (a network keeps its length: "198.51.100.8/29") */
static void
finding_key(struct buf *b, const struct finding *f)
{
	char ip[FINDING_ADDRSTRLEN];

	finding_address(f, ip, sizeof(ip));
	json_text(b, ip);
	buf_printf(b, ",%d,", f->port);
	json_text(b, f->protocol);
}

/* keys - the keys [[k, ip, port, protocol], ...] of G's findings [FROM, TO), k counted from FROM */
static const char *
keys(struct buf *b, const struct notice_group *g, size_t from, size_t to)
{
	size_t j;

	batch_open(b);
	for (j = from; j < to; j++) {
		batch_next(b);
		buf_printf(b, "%zu,", j - from);
		finding_key(b, g->findings[j]);
		buf_putc(b, ']');
	}
	return batch_close(b);
}

/* stray_row - a row for no key of the batch: cannot be; -1 */
static int
stray_row(struct db *db)
{
	db_set_error(db, "a batch's lookup returned a row for no key of the batch");
	return -1;
}

/* mark_notified - the rows IDS[0..N) (0: none) were named by a notice at WHEN */
static int
mark_notified(struct db *db, const long long *ids, size_t n, time_t when)
{
	struct buf b = BUF_INIT;
	size_t i = 0, inbatch;
	int rc = 0;

	while (rc == 0 && i < n) {
		batch_open(&b);
		for (inbatch = 0; i < n && inbatch < BATCH; i++)
			if (ids[i] > 0) {
				batch_next(&b);
				buf_printf(&b, "%lld]", ids[i]);
				inbatch++;
			}
		if (inbatch > 0 && BATCH_RUN(db, q_notified, DBT(batch_close(&b)), DBI(when)) == NULL)
			rc = -1;
	}
	buf_free(&b);
	return rc;
}

/* --- one account's findings ------------------------------------------------ */

/* a group being recorded */
struct recording {
	struct apply *a;
	const struct notice_group *g;
	struct state_group *out;
	long long *ids;			/* the open episode of each finding (0: new, or not recorded) */
	long long case_id;		/* the account's open case of the type; 0: none yet */
	int recent;			/* every finding seen before was notified within RenotifyInterval */
	unsigned long renotify;		/* RenotifyInterval, or the account's own */
	int withhold;			/* the account's settings withhold its notice */
	struct buf keys, rows;
};

/* account_policy - the account's renotify interval and whether its notice is withheld */
static void
account_policy(const struct apply *a, const char *account, unsigned long *renotify, int *withhold)
{
	*renotify = a->pol->renotify_interval;
	*withhold = 0;
	if (a->pol->account_policy)
		a->pol->account_policy(a->pol->account_ctx, account, renotify, withhold);
}

/* due_again - a finding last notified at LAST is named again at NOW after INTERVAL (STATE_RENOTIFY_NEVER: never) */
static int
due_again(time_t now, time_t last, unsigned long interval)
{
	return interval != STATE_RENOTIFY_NEVER && now >= last && (unsigned long)(now - last) >= interval;
}

/* find_case - the account's open case of the report's type, and its reference ("" when none) */
static int
find_case(struct recording *r)
{
	static const char sql[] = "SELECT id, reference FROM cases WHERE account = ?1 AND report_type = ?2"
	    " AND closed_at IS NULL";
	struct db_stmt *s = DB_RUN(r->a->db, sql, DBT(r->g->account->name), DBT(r->a->rf->type));
	int rc;

	r->case_id = 0;
	*r->out->reference = '\0';
	if (s == NULL || (rc = db_step(r->a->db, s)) < 0)
		return -1;
	if (rc > 0) {
		r->case_id = db_int(s, 0);
		column_ref(s, 1, r->out->reference);
	}
	return 0;
}

/*
 * open_case - a case for the account's first new finding. The reference is
 * made from the case's row id, which one database hands out once: references
 * never collide, however many hosts share it.
 */
static int
open_case(struct recording *r)
{
	static const char add[] = "INSERT INTO cases (account, report_type, opened_at) VALUES (?1, ?2, ?3) RETURNING id";
	static const char name[] = "UPDATE cases SET reference = ?2 WHERE id = ?1";
	struct apply *a = r->a;

	if ((r->case_id = insert_id(a->db, DB_RUN(a->db, add, DBT(r->g->account->name), DBT(a->rf->type),
	    DBI(a->date)))) < 0)
		return -1;
	format_reference(r->case_id, a->date, r->out->reference);
	return DB_DO(a->db, name, DBI(r->case_id), DBT(r->out->reference));
}

/* look_up - the open episodes of findings [FROM, TO): their history in OUT, their ids */
static int
look_up(struct recording *r, size_t from, size_t to)
{
	struct apply *a = r->a;
	struct db_stmt *s = BATCH_RUN(a->db, q_lookup, DBT(keys(&r->keys, r->g, from, to)), DBT(r->g->account->name),
	    DBT(a->rf->type));
	int rc = -1;

	while (s && (rc = db_step(a->db, s)) > 0 && (size_t)db_int(s, 4) < to - from) {
		size_t j = from + (size_t)db_int(s, 4);
		struct state_finding *sf = &r->out->findings[j];

		r->ids[j] = db_int(s, 0);
		if (db_int(s, 1) < r->g->findings[j]->detected)
			sf->first_seen = (time_t)db_int(s, 1);
		sf->times_reported = (unsigned long)db_int(s, 2) + 1;
		if (db_is_null(s, 3) || due_again(a->now, (time_t)db_int(s, 3), r->renotify))
			r->recent = 0;
	}
	return rc > 0 ? stray_row(a->db) : rc;
}

/* seen_again - findings [FROM, TO) with an open episode: this report carried them again */
static int
seen_again(struct recording *r, size_t from, size_t to)
{
	struct apply *a = r->a;
	size_t j;

	batch_open(&r->rows);
	for (j = from; j < to; j++)
		if (r->ids[j] > 0) {
			batch_next(&r->rows);
			buf_printf(&r->rows, "%lld,%lld]", r->ids[j], (long long)r->g->findings[j]->detected);
		}
	if (r->rows.len == 1)
		return 0;
	return BATCH_RUN(a->db, q_seen_again, DBT(batch_close(&r->rows)), DBT(a->rf->identifier), DBI(a->rid)) ==
	    NULL ? -1 : 0;
}

/*
 * first_sightings - findings [FROM, TO) without an open episode begin one, in
 * the account's open case (opened now if none); not for a late report. A new
 * finding always brings a notice, so it counts as notified at once when
 * notices are recorded.
 */
static int
first_sightings(struct recording *r, size_t from, size_t to)
{
	struct apply *a = r->a;
	size_t j;

	if (a->late)
		return 0;
	batch_open(&r->rows);
	for (j = from; j < to; j++)
		if (r->ids[j] == 0) {
			batch_next(&r->rows);
			finding_key(&r->rows, r->g->findings[j]);
			buf_printf(&r->rows, ",%lld]", (long long)r->g->findings[j]->detected);
			r->out->findings[j].is_new = 1;
		}
	if (r->rows.len == 1)
		return 0;
	if (r->case_id == 0 && open_case(r) != 0)
		return -1;
	return BATCH_RUN(a->db, q_first_sighting, DBT(batch_close(&r->rows)), DBI(r->case_id),
	    DBT(r->g->account->name), DBT(a->rf->type), DBT(a->rf->identifier), DBI(a->rid),
	    a->pol->record_notices && !r->withhold ? DBI(a->now) : DBNULL) == NULL ? -1 : 0;
}

static int
decide(struct apply *a, const char *account, const char *type, int kind, const char *reference)
{
	static const char sql[] = "INSERT INTO decisions (report_id, account, report_type, kind, reference)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (report_id, account, report_type, kind)"
	    " DO UPDATE SET reference = excluded.reference";

	return DB_DO(a->db, sql, DBI(a->rid), DBT(account), DBT(type), DBI(kind), DBT(reference));
}

/* record_group - one account's findings, BATCH at a time; then whether it gets a notice */
static int
record_group(struct apply *a, const struct notice_group *g, struct state_group *out)
{
	struct recording r = { a, g, out, xcalloc(g->nfindings + 1, sizeof(long long)), 0, 1, 0, 0, BUF_INIT,
	    BUF_INIT };
	int any_new = 0, rc = -1;
	size_t from, to, j;

	account_policy(a, g->account->name, &r.renotify, &r.withhold);
	for (j = 0; j < g->nfindings; j++) {
		out->findings[j].first_seen = g->findings[j]->detected;
		out->findings[j].times_reported = 1;
	}
	if (find_case(&r) != 0)
		goto done;
	for (from = 0; from < g->nfindings; from = to) {
		to = g->nfindings - from > BATCH ? from + BATCH : g->nfindings;
		if (look_up(&r, from, to) != 0 || seen_again(&r, from, to) != 0 || first_sightings(&r, from, to) != 0)
			goto done;
	}
	for (j = 0; j < g->nfindings; j++) {
		set_deadline(a, g->findings[j], &out->findings[j]);
		any_new |= out->findings[j].is_new;
	}
	out->notify = !a->late && (any_new || r.renotify == 0 || !r.recent);
	out->withheld = out->notify && r.withhold;	/* what would go out, the account said no to */
	out->notify = out->notify && !r.withhold;
	if (out->notify && a->pol->record_notices && mark_notified(a->db, r.ids, g->nfindings, a->now) != 0)
		goto done;
	if (decide(a, g->account->name, a->rf->type, out->notify ? DECIDED_NOTICE : out->withheld ?
	    DECIDED_WITHHELD : DECIDED_HELD, out->reference) != 0)
		goto done;
	rc = 0;
done:
	free(r.ids);
	buf_free(&r.keys);
	buf_free(&r.rows);
	return rc;
}

/* resolve_absent - the stream's open findings this report does not carry */
static int
resolve_absent(struct apply *a, unsigned long *resolved)
{
	static const char sql[] = "UPDATE findings SET resolved_at = ?4, resolved_by = ?3"
	    " WHERE resolved_at IS NULL AND report_type = ?1 AND identifier = ?2 AND last_report != ?3"
	    " AND last_seen < ?4";
	struct db_stmt *s = DB_RUN(a->db, sql, DBT(a->rf->type), DBT(a->rf->identifier), DBI(a->rid), DBI(a->date));

	if (s == NULL)
		return -1;
	*resolved = (unsigned long)db_changes(s);
	return 0;
}

/* stream_seen - note this report in its stream; *NEWEST is the stream's newest before it */
static int
stream_seen(struct apply *a, time_t *newest)
{
	static const char find[] = "SELECT last_report FROM streams WHERE report_type = ?1 AND identifier = ?2";
	static const char upsert[] = "INSERT INTO streams (report_type, identifier, last_report, last_applied,"
	    " reports) VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT (report_type, identifier) DO UPDATE SET"
	    " last_report = CASE WHEN streams.last_report > excluded.last_report THEN streams.last_report"
	    " ELSE excluded.last_report END, last_applied = excluded.last_applied, reports = streams.reports + 1";
	struct db_stmt *s = DB_RUN(a->db, find, DBT(a->rf->type), DBT(a->rf->identifier));
	int rc;

	if (s == NULL || (rc = db_step(a->db, s)) < 0)
		return -1;
	*newest = rc ? (time_t)db_int(s, 0) : 0;
	return DB_DO(a->db, upsert, DBT(a->rf->type), DBT(a->rf->identifier), DBI(a->date), DBI(a->now));
}

/*
 * expire_silent - open findings of streams without a report for
 * ResolveAfterDays. Measured by report dates when a report is applied (an
 * archive import behaves like live mail); by the clock (WALL) also from when
 * the stream's last report ARRIVED, so a late report is not resolved the
 * moment it is applied: a stream is silent once nothing of it was dated or
 * received for that long, and resolves as of then.
 */
static int
expire_silent(struct apply *a, int wall, unsigned long *expired)
{
	static const char stale_dated[] = "SELECT report_type, identifier, last_report FROM streams"
	    " WHERE last_report + ?1 <= ?2";
	static const char stale_wall[] = "SELECT report_type, identifier,"
	    " CASE WHEN last_applied > last_report THEN last_applied ELSE last_report END FROM streams"
	    " WHERE last_report + ?1 <= ?2 AND last_applied + ?1 <= ?2";
	static const char expire[] = "UPDATE findings SET resolved_at = ?3, resolved_by = ?4"
	    " WHERE resolved_at IS NULL AND report_type = ?1 AND identifier = ?2";
	long long window = (long long)a->pol->resolve_after_days * DAY;
	struct state_stream *streams = NULL;
	size_t n = 0, i;
	struct db_stmt *s;
	int rc = -1;

	*expired = 0;
	if (a->pol->resolve_after_days == 0)
		return 0;
	if ((s = DB_RUN(a->db, wall ? stale_wall : stale_dated, DBI(window), DBI(a->date))) == NULL)
		return -1;
	while ((rc = db_step(a->db, s)) > 0) {
		streams = xreallocarray(streams, n + 1, sizeof(*streams));
		memset(&streams[n], 0, sizeof(*streams));
		streams[n].report_type = db_strdup(s, 0);
		streams[n].identifier = db_strdup(s, 1);
		streams[n++].last_report = (time_t)db_int(s, 2);
	}
	for (i = 0; rc == 0 && i < n; i++) {
		if ((s = DB_RUN(a->db, expire, DBT(streams[i].report_type), DBT(streams[i].identifier),
		    DBI(streams[i].last_report + window), DBI(a->rid))) == NULL)
			rc = -1;
		else
			*expired += (unsigned long)db_changes(s);
	}
	state_streams_free(streams, n);
	return rc;
}

#define ITEM_COLUMNS "f.account, f.report_type, f.identifier, f.ip, f.port, f.protocol, c.reference," \
    " f.first_seen, f.last_seen, f.last_notified, f.resolved_at, f.times_reported"

static void
read_item(struct db_stmt *s, struct state_item *it)
{
	it->account = db_strdup(s, 0);
	it->report_type = db_strdup(s, 1);
	it->identifier = db_strdup(s, 2);
	it->ip = db_strdup(s, 3);
	it->port = (int)db_int(s, 4);
	it->protocol = db_strdup(s, 5);
	column_ref(s, 6, it->reference);
	it->first_seen = (time_t)db_int(s, 7);
	it->last_seen = (time_t)db_int(s, 8);
	it->last_notified = (time_t)db_int(s, 9);
	it->resolved_at = (time_t)db_int(s, 10);
	it->times_reported = (unsigned long)db_int(s, 11);
}

/* read_items - every row of S (NULL: it failed) as items; 0, or -1 with none */
static int
read_items(struct db *db, struct db_stmt *s, struct state_item **out, size_t *n)
{
	int rc = -1;

	*out = NULL;
	*n = 0;
	while (s && (rc = db_step(db, s)) > 0) {
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		memset(&(*out)[*n], 0, sizeof(**out));
		read_item(s, &(*out)[(*n)++]);
	}
	if (rc != 0) {
		state_items_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* case_items - the findings of the case named REFERENCE */
static int
case_items(struct db *db, const char *reference, struct state_item **out, size_t *n)
{
	static const char sql[] = "SELECT " ITEM_COLUMNS " FROM cases c JOIN findings f ON f.case_id = c.id"
	    " WHERE c.reference = ?1 ORDER BY f.ip, f.port, f.protocol";

	return read_items(db, DB_RUN(db, sql, DBT(reference)), out, n);
}

static void
add_closed(struct state_outcome *o, const char *account, const char *type, const char *reference)
{
	struct state_closed *c;

	o->closed = xreallocarray(o->closed, o->nclosed + 1, sizeof(*o->closed));
	c = &o->closed[o->nclosed++];
	memset(c, 0, sizeof(*c));
	c->account = xstrdup(account);
	c->report_type = xstrdup(type);
	snprintf(c->reference, sizeof(c->reference), "%s", reference);
}

/* close_cases - cases this report resolved the last open finding of */
static int
close_cases(struct apply *a, struct state_outcome *o)
{
	static const char sql[] = "SELECT id, account, report_type, reference FROM cases WHERE closed_at IS NULL"
	    " AND id IN (SELECT case_id FROM findings WHERE resolved_by = ?1)"
	    " AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.case_id = cases.id AND f.resolved_at IS NULL)"
	    " ORDER BY id";
	static const char close_sql[] = "UPDATE cases SET closed_at = ?2 WHERE id = ?1";
	struct db_stmt *s = DB_RUN(a->db, sql, DBI(a->rid));
	long long *ids = NULL;
	size_t i, first = o->nclosed;
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = db_step(a->db, s)) > 0) {
		char ref[STATE_REF_MAX];

		column_ref(s, 3, ref);
		ids = xreallocarray(ids, o->nclosed - first + 1, sizeof(*ids));
		ids[o->nclosed - first] = db_int(s, 0);
		add_closed(o, db_text(s, 1), db_text(s, 2), ref);
	}
	for (i = first; rc == 0 && i < o->nclosed; i++) {
		struct state_closed *c = &o->closed[i];

		if ((rc = DB_DO(a->db, close_sql, DBI(ids[i - first]), DBI(a->date))) == 0)
			rc = decide(a, c->account, c->report_type, DECIDED_CLOSED, c->reference);
		if (rc == 0)
			rc = case_items(a->db, c->reference, &c->items, &c->nitems);
	}
	free(ids);
	return rc;
}

/* prune - resolved history, closed cases and applied reports older than RetainDays */
static int
prune(struct apply *a)
{
	static const char *const sql[] = {
		"DELETE FROM findings WHERE resolved_at IS NOT NULL AND resolved_at < ?1",
		"DELETE FROM cases WHERE closed_at IS NOT NULL AND closed_at < ?1"
		    " AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.case_id = cases.id)",
		"DELETE FROM decisions WHERE report_id IN (SELECT id FROM reports WHERE applied_at < ?1)",
		"DELETE FROM reports WHERE applied_at < ?1",
	};
	long long cut = (long long)a->now - (long long)a->pol->retain_days * DAY;
	size_t i;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (DB_DO(a->db, sql[i], DBI(cut)) != 0)
			return -1;
	return 0;
}

static int
add_report(struct apply *a, const char *report_key)
{
	static const char sql[] = "INSERT INTO reports (report_key, report_type, identifier, report_date,"
	    " applied_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id";

	a->rid = insert_id(a->db, DB_RUN(a->db, sql, DBT(report_key), DBT(a->rf->type), DBT(a->rf->identifier),
	    DBI(a->date), DBI(a->now)));
	return a->rid < 0 ? -1 : 0;
}

static int
report_counts(struct apply *a, const struct state_outcome *o)
{
	static const char sql[] = "UPDATE reports SET resolved = ?2, expired = ?3, late = ?4 WHERE id = ?1";

	return DB_DO(a->db, sql, DBI(a->rid), DBI(o->resolved), DBI(o->expired), DBI(o->late));
}

/* record_report - a report not applied before */
static int
record_report(struct apply *a, const char *report_key, struct state_outcome *o)
{
	time_t newest;
	size_t i;

	a->date = report_date(a->rf, a->now);
	if (add_report(a, report_key) != 0 || stream_seen(a, &newest) != 0)
		return -1;
	o->late = a->late = newest > a->date;
	for (i = 0; i < o->ngroups; i++)
		if (record_group(a, o->groups[i].group, &o->groups[i]) != 0)
			return -1;
	if (!a->late && resolve_absent(a, &o->resolved) != 0)
		return -1;
	if (expire_silent(a, 0, &o->expired) != 0 || close_cases(a, o) != 0 || report_counts(a, o) != 0)
		return -1;
	return prune(a);
}

/* --- a report applied before: its recorded outcome ----------------------- */

/* replay_group - the outcome recorded for one account: the decision, then each finding's history as it stood */
static int
replay_group(struct apply *a, const struct notice_group *g, struct state_group *out)
{
	static const char sql[] = "SELECT kind, reference FROM decisions WHERE report_id = ?1 AND account = ?2"
	    " AND report_type = ?3 AND kind IN (0, 1, 3)";
	struct buf b = BUF_INIT;
	struct db_stmt *s;
	size_t from, to, j;
	unsigned long renotify;
	int rc, withhold;

	s = DB_RUN(a->db, sql, DBI(a->rid), DBT(g->account->name), DBT(a->rf->type));
	if (s == NULL || (rc = db_step(a->db, s)) < 0)
		return -1;
	account_policy(a, g->account->name, &renotify, &withhold);
	out->notify = rc == 0 || db_int(s, 0) == DECIDED_NOTICE;	/* none: a new account */
	out->withheld = rc ? db_int(s, 0) == DECIDED_WITHHELD : withhold;
	out->notify = out->notify && !(rc == 0 && withhold);
	if (rc)
		column_ref(s, 1, out->reference);
	else if (case_reference(a, g->account->name, out->reference) != 0)
		return -1;
	for (j = 0; j < g->nfindings; j++) {	/* none found: first seen in this report */
		out->findings[j].first_seen = g->findings[j]->detected;
		out->findings[j].times_reported = 1;
		out->findings[j].is_new = 1;
	}
	for (from = 0, rc = 0; rc == 0 && from < g->nfindings; from = to) {
		to = g->nfindings - from > BATCH ? from + BATCH : g->nfindings;
		s = BATCH_RUN(a->db, q_replayed, DBT(keys(&b, g, from, to)), DBT(g->account->name), DBT(a->rf->type),
		    DBI(a->rid));
		rc = -1;
		while (s && (rc = db_step(a->db, s)) > 0 && (size_t)db_int(s, 0) < to - from) {
			struct state_finding *sf = &out->findings[from + (size_t)db_int(s, 0)];

			sf->first_seen = (time_t)db_int(s, 1);
			sf->times_reported = (unsigned long)db_int(s, 2);
			sf->is_new = db_int(s, 3) == a->rid;
		}
		if (rc > 0)
			rc = stray_row(a->db);
	}
	for (j = 0; j < g->nfindings; j++)
		set_deadline(a, g->findings[j], &out->findings[j]);
	buf_free(&b);
	return rc;
}

static int
replay_report(struct apply *a, struct state_outcome *o)
{
	static const char counts[] = "SELECT resolved, expired, late FROM reports WHERE id = ?1";
	static const char closed[] = "SELECT account, report_type, reference FROM decisions"
	    " WHERE report_id = ?1 AND kind = 2 ORDER BY account, report_type";
	struct db_stmt *s;
	size_t i;
	int rc;

	o->replayed = 1;
	if ((s = DB_RUN(a->db, counts, DBI(a->rid))) == NULL || (rc = db_step(a->db, s)) < 0)
		return -1;
	if (rc) {
		o->resolved = (unsigned long)db_int(s, 0);
		o->expired = (unsigned long)db_int(s, 1);
		o->late = (int)db_int(s, 2);
	}
	for (i = 0; i < o->ngroups; i++)
		if (replay_group(a, o->groups[i].group, &o->groups[i]) != 0)
			return -1;
	if ((s = DB_RUN(a->db, closed, DBI(a->rid))) == NULL)
		return -1;
	while ((rc = db_step(a->db, s)) > 0) {
		char ref[STATE_REF_MAX];

		column_ref(s, 2, ref);
		add_closed(o, db_text(s, 0), db_text(s, 1), ref);
	}
	for (i = 0; rc == 0 && i < o->nclosed; i++)
		rc = case_items(a->db, o->closed[i].reference, &o->closed[i].items, &o->closed[i].nitems);
	return rc;
}

/* applied_before - the reports row of REPORT_KEY: 1 (a->rid set), 0, -1 */
static int
applied_before(struct apply *a, const char *report_key)
{
	static const char sql[] = "SELECT id, report_date FROM reports WHERE report_key = ?1";
	struct db_stmt *s = DB_RUN(a->db, sql, DBT(report_key));
	int rc;

	if (s == NULL || (rc = db_step(a->db, s)) < 0)
		return -1;
	if (rc > 0) {
		a->rid = db_int(s, 0);
		a->date = (time_t)db_int(s, 1);
	}
	return rc;
}

int
state_apply(struct db *db, const struct state_policy *pol, const char *report_key,
    const struct report_file *rf, time_t now, struct state_outcome **out, char *err, size_t errlen)
{
	struct apply a = { db, pol, rf, now, 0, 0, 0 };
	struct state_outcome *o = xcalloc(1, sizeof(*o));
	size_t i, n = 0;
	int rc;

	*out = NULL;
	o->ngroups = rf->ngroups;
	o->groups = xcalloc(rf->ngroups + 1, sizeof(*o->groups));
	for (i = 0; i < rf->ngroups; i++)	/* one block, not one allocation per customer */
		n += rf->groups[i].nfindings;
	o->group_findings = xcalloc(n + 1, sizeof(*o->group_findings));
	for (i = 0, n = 0; i < rf->ngroups; n += rf->groups[i++].nfindings) {
		o->groups[i].group = &rf->groups[i];
		o->groups[i].findings = o->group_findings + n;
	}
	if ((rc = applied_before(&a, report_key)) > 0)
		rc = replay_report(&a, o);
	else if (rc == 0)
		rc = record_report(&a, report_key, o);
	if (rc != 0) {
		store_error(db, err, errlen);
		state_outcome_free(o);
		return -1;
	}
	o->notified_at = pol->record_notices && !o->replayed ? now : 0;
	*out = o;
	return 0;
}

/* mark_listed - the open episodes of G's findings were named by a notice at WHEN */
static int
mark_listed(struct db *db, const char *type, const struct notice_group *g, time_t when)
{
	long long *ids = xcalloc(g->nfindings + 1, sizeof(*ids));
	struct buf b = BUF_INIT;
	struct db_stmt *s;
	size_t from, to, n = 0;
	int rc = 0;

	for (from = 0; rc == 0 && from < g->nfindings; from = to) {
		to = g->nfindings - from > BATCH ? from + BATCH : g->nfindings;
		s = BATCH_RUN(db, q_lookup, DBT(keys(&b, g, from, to)), DBT(g->account->name), DBT(type));
		rc = -1;
		while (s && (rc = db_step(db, s)) > 0)
			if (n < g->nfindings)	/* one open episode per key */
				ids[n++] = db_int(s, 0);
	}
	if (rc == 0)
		rc = mark_notified(db, ids, n, when);
	buf_free(&b);
	free(ids);
	return rc;
}

int
state_notified(struct db *db, const char *type, const struct notice_group *g, time_t when, char *err,
    size_t errlen)
{
	if (when && mark_listed(db, type, g, when) != 0)
		return store_error(db, err, errlen);
	return 0;
}

/* stale_streams - is there a stream silent for ResolveAfterDays at NOW with open findings? 1, 0, -1 */
static int
stale_streams(struct apply *a)
{
	static const char sql[] = "SELECT 1 FROM streams s WHERE s.last_report + ?1 <= ?2"
	    " AND s.last_applied + ?1 <= ?2 AND EXISTS"
	    " (SELECT 1 FROM findings f WHERE f.resolved_at IS NULL AND f.report_type = s.report_type"
	    " AND f.identifier = s.identifier) LIMIT 1";
	struct db_stmt *s = DB_RUN(a->db, sql, DBI((long long)a->pol->resolve_after_days * DAY), DBI(a->date));

	return s ? db_step(a->db, s) : -1;
}

int
state_expiry_due(struct db *db, const struct state_policy *pol, time_t now, char *err, size_t errlen)
{
	struct apply a = { db, pol, NULL, now, now, 0, 0 };
	int rc;

	if (pol->resolve_after_days == 0)
		return 0;
	if ((rc = stale_streams(&a)) < 0)
		store_error(db, err, errlen);
	db_reset_all(db);
	return rc;
}

int
state_expire(struct db *db, const struct state_policy *pol, time_t now, struct state_outcome **out, char *err,
    size_t errlen)
{
	static const char add[] = "INSERT INTO reports (report_key, report_type, identifier, report_date,"
	    " applied_at) VALUES (?1, '', '', ?2, ?2) ON CONFLICT (report_key) DO NOTHING RETURNING id";
	struct apply a = { db, pol, NULL, now, now, 0, 0 };
	struct state_outcome *o = xcalloc(1, sizeof(*o));
	char key[64];
	int rc = 0;

	*out = NULL;
	if (pol->resolve_after_days > 0 && (rc = stale_streams(&a)) > 0) {
		/* the expiry is recorded like a report: what it resolved and closed points at it */
		snprintf(key, sizeof(key), "expiry:%lld", (long long)now);
		a.rid = insert_id(db, DB_RUN(db, add, DBT(key), DBI(now)));
		rc = a.rid < 0 || expire_silent(&a, 1, &o->expired) != 0 || close_cases(&a, o) != 0 ||
		    report_counts(&a, o) != 0 ? -1 : 0;
	}
	if (rc < 0) {
		store_error(db, err, errlen);
		state_outcome_free(o);
		return -1;
	}
	*out = o;
	return 0;
}

void
state_outcome_free(struct state_outcome *o)
{
	size_t i;

	if (o == NULL)
		return;
	free(o->group_findings);
	free(o->groups);
	for (i = 0; i < o->nclosed; i++) {
		free(o->closed[i].account);
		free(o->closed[i].report_type);
		state_items_free(o->closed[i].items, o->closed[i].nitems);
	}
	free(o->closed);
	free(o);
}

/* --- the ops commands' queries ------------------------------------------- */

/* query_done - the end of an ops query on a connection of its own: a failure's
 * message into ERR, the connection back to the pool; RC */
static int
query_done(struct store *st, struct db *db, int rc, char *err, size_t errlen)
{
	if (rc != 0)
		store_error(db, err, errlen);
	store_release(st, db);
	return rc;
}

int
state_items(struct store *st, const char *account, const char *ip, int open_only, struct state_item **out,
    size_t *n, char *err, size_t errlen)
{
	static const char sql[] = "SELECT " ITEM_COLUMNS " FROM findings f LEFT JOIN cases c ON c.id = f.case_id"
	    " WHERE (CAST(?1 AS TEXT) IS NULL OR f.account = ?1) AND (CAST(?2 AS TEXT) IS NULL OR f.ip = ?2)"
	    " AND (?3 = 0 OR f.resolved_at IS NULL)"
	    " ORDER BY f.first_seen, f.account, f.report_type, f.ip, f.port, f.protocol, f.id";
	struct db *db;

	*out = NULL;
	*n = 0;
	if ((db = store_acquire(st, err, errlen)) == NULL)
		return -1;
	return query_done(st, db, read_items(db, DB_RUN(db, sql, DBT(account), DBT(ip), DBI(open_only)), out, n),
	    err, errlen);
}

void
state_items_free(struct state_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(items[i].account);
		free(items[i].report_type);
		free(items[i].identifier);
		free(items[i].ip);
		free(items[i].protocol);
	}
	free(items);
}

/* read_streams - every row of S (NULL: it failed) as streams; 0, or -1 with none */
static int
read_streams(struct db *db, struct db_stmt *s, struct state_stream **out, size_t *n)
{
	int rc = -1;

	*out = NULL;
	*n = 0;
	while (s && (rc = db_step(db, s)) > 0) {
		struct state_stream *ss;

		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		ss = &(*out)[(*n)++];
		ss->report_type = db_strdup(s, 0);
		ss->identifier = db_strdup(s, 1);
		ss->last_report = (time_t)db_int(s, 2);
		ss->last_applied = (time_t)db_int(s, 3);
		ss->reports = (unsigned long)db_int(s, 4);
	}
	if (rc != 0) {
		state_streams_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
state_streams(struct store *st, struct state_stream **out, size_t *n, char *err, size_t errlen)
{
	static const char sql[] = "SELECT report_type, identifier, last_report, last_applied, reports"
	    " FROM streams ORDER BY report_type, identifier";
	struct db *db;

	*out = NULL;
	*n = 0;
	if ((db = store_acquire(st, err, errlen)) == NULL)
		return -1;
	return query_done(st, db, read_streams(db, DB_RUN0(db, sql), out, n), err, errlen);
}

void
state_streams_free(struct state_stream *streams, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(streams[i].report_type);
		free(streams[i].identifier);
	}
	free(streams);
}

/* read_withheld - every row of S (NULL: it failed) as withheld notices; 0, or -1 with none */
static int
read_withheld(struct db *db, struct db_stmt *s, struct state_withheld **out, size_t *n)
{
	int rc = -1;

	while (s && (rc = db_step(db, s)) > 0) {
		struct state_withheld *w;

		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		w = &(*out)[(*n)++];
		w->account = db_strdup(s, 0);
		w->report_type = db_strdup(s, 1);
		column_ref(s, 2, w->reference);
		w->at = (time_t)db_int(s, 3);
	}
	if (rc != 0) {
		state_withheld_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
state_withheld(struct store *st, const char *account, struct state_withheld **out, size_t *n, char *err,
    size_t errlen)
{
	static const char sql[] = "SELECT d.account, d.report_type, d.reference, r.applied_at FROM decisions d"
	    " JOIN reports r ON r.id = d.report_id WHERE d.account = ?1 AND d.kind = 3"
	    " ORDER BY r.applied_at, d.report_type, r.id";
	struct db *db;

	*out = NULL;
	*n = 0;
	if ((db = store_acquire(st, err, errlen)) == NULL)
		return -1;
	return query_done(st, db, read_withheld(db, DB_RUN(db, sql, DBT(account)), out, n), err, errlen);
}

void
state_withheld_free(struct state_withheld *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(w[i].account);
		free(w[i].report_type);
	}
	free(w);
}
