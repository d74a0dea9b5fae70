/*
 * state_sqlite - the detection history in SQLite
 *
 * See state.h. Tables: reports (each applied report file: the idempotency
 * record), findings (one row per episode of a finding; at most one open per
 * finding), cases (an account's findings of one type, with the reference),
 * decisions (what a report decided per account, replayed on a retry) and
 * streams (the newest report per type and identifier). Every state_apply is
 * one BEGIN IMMEDIATE transaction: writers in other processes wait for the
 * busy timeout, then fail cleanly.
 */
#include "state.h"
#include "findings.h"
#include "prefixmap.h"
#include "util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define STMT_CACHE 40

enum { DECIDED_HELD = 0, DECIDED_NOTICE = 1, DECIDED_CLOSED = 2 };

struct state {
	sqlite3 *db;
	char *path;
	int busy_timeout_ms;
	pthread_mutex_t lock;
	struct { const char *sql; sqlite3_stmt *st; } cache[STMT_CACHE];
	size_t ncache;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS reports ("
    " id INTEGER PRIMARY KEY,"
    " report_key TEXT NOT NULL UNIQUE,"		/* report reference | file name */
    " report_type TEXT NOT NULL,"
    " identifier TEXT NOT NULL,"
    " report_date INTEGER NOT NULL,"
    " applied_at INTEGER NOT NULL,"
    " resolved INTEGER NOT NULL DEFAULT 0,"
    " expired INTEGER NOT NULL DEFAULT 0,"
    " late INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS reports_applied ON reports(applied_at);"
    "CREATE TABLE IF NOT EXISTS cases ("
    " id INTEGER PRIMARY KEY,"
    " account TEXT NOT NULL,"
    " report_type TEXT NOT NULL,"
    " reference TEXT UNIQUE,"
    " opened_at INTEGER NOT NULL,"
    " closed_at INTEGER);"
    "CREATE UNIQUE INDEX IF NOT EXISTS cases_open ON cases(account, report_type) WHERE closed_at IS NULL;"
    "CREATE TABLE IF NOT EXISTS findings ("
    " id INTEGER PRIMARY KEY,"
    " case_id INTEGER NOT NULL,"
    " account TEXT NOT NULL,"
    " ip TEXT NOT NULL,"
    " port INTEGER NOT NULL,"			/* -1: none */
    " protocol TEXT NOT NULL,"
    " report_type TEXT NOT NULL,"
    " identifier TEXT NOT NULL,"		/* the stream that last carried it */
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " times_reported INTEGER NOT NULL,"
    " last_notified INTEGER,"
    " resolved_at INTEGER,"
    " first_report INTEGER NOT NULL,"
    " last_report INTEGER NOT NULL,"
    " resolved_by INTEGER);"
    "CREATE UNIQUE INDEX IF NOT EXISTS findings_open"
    " ON findings(account, ip, port, protocol, report_type) WHERE resolved_at IS NULL;"
    "CREATE INDEX IF NOT EXISTS findings_stream ON findings(report_type, identifier) WHERE resolved_at IS NULL;"
    "CREATE INDEX IF NOT EXISTS findings_key ON findings(account, ip, port, protocol, report_type);"
    "CREATE INDEX IF NOT EXISTS findings_ip ON findings(ip);"
    "CREATE INDEX IF NOT EXISTS findings_case ON findings(case_id);"
    "CREATE INDEX IF NOT EXISTS findings_resolved ON findings(resolved_at) WHERE resolved_at IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS findings_resolved_by ON findings(resolved_by) WHERE resolved_by IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS decisions ("
    " report_id INTEGER NOT NULL,"
    " account TEXT NOT NULL,"
    " report_type TEXT NOT NULL,"
    " kind INTEGER NOT NULL,"			/* 0 held back, 1 notice, 2 case closed */
    " reference TEXT NOT NULL,"
    " PRIMARY KEY (report_id, account, report_type, kind));"
    "CREATE TABLE IF NOT EXISTS streams ("
    " report_type TEXT NOT NULL,"
    " identifier TEXT NOT NULL,"
    " last_report INTEGER NOT NULL,"
    " last_applied INTEGER NOT NULL,"
    " reports INTEGER NOT NULL,"
    " PRIMARY KEY (report_type, identifier));";

/* --- the connection ------------------------------------------------------ */

/* db_error - what went wrong, in words an operator can act on */
static void
db_error(const struct state *st, char *err, size_t errlen)
{
	int code = sqlite3_errcode(st->db) & 0xff;

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		err_set(err, errlen, "state %s: database is locked (another writer held it for over %d ms)",
		    st->path, st->busy_timeout_ms);
	else if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		err_set(err, errlen, "state %s: %s: the history database is damaged; move it aside or "
		    "restore a backup", st->path, sqlite3_errmsg(st->db));
	else
		err_set(err, errlen, "state %s: %s", st->path, sqlite3_errmsg(st->db));
}

struct state *
state_open(const char *path, int busy_timeout_ms, char *err, size_t errlen)
{
	struct state *st = xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->lock, NULL);
	st->path = xstrdup(path);
	st->busy_timeout_ms = busy_timeout_ms;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK) {
		err_set(err, errlen, "state %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
		state_close(st);
		return NULL;
	}
	sqlite3_busy_timeout(st->db, busy_timeout_ms);
	if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_error(st, err, errlen);
		state_close(st);
		return NULL;
	}
	return st;
}

void
state_close(struct state *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->ncache; i++)
		sqlite3_finalize(st->cache[i].st);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

/* stmt - the prepared statement for SQL (a string literal: cached by address), reset */
static sqlite3_stmt *
stmt(struct state *st, const char *sql)
{
	sqlite3_stmt *s;
	size_t i;

	for (i = 0; i < st->ncache; i++)
		if (st->cache[i].sql == sql) {
			sqlite3_reset(st->cache[i].st);
			sqlite3_clear_bindings(st->cache[i].st);
			return st->cache[i].st;
		}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return NULL;
	if (st->ncache == STMT_CACHE)
		abort();	/* a programming error: raise STMT_CACHE */
	st->cache[st->ncache].sql = sql;
	st->cache[st->ncache++].st = s;
	return s;
}

/* reset_all - no statement keeps a read open past a transaction */
static void
reset_all(struct state *st)
{
	size_t i;

	for (i = 0; i < st->ncache; i++)
		sqlite3_reset(st->cache[i].st);
}

/* step - 1 for a row, 0 when done, -1 on error */
static int
step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static char *
column_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return xstrdup(t ? (const char *)t : "");
}

static void
column_ref(sqlite3_stmt *s, int col, char *out)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(out, STATE_REF_MAX, "%s", t ? (const char *)t : "");
}

/* --- one report ---------------------------------------------------------- */

struct apply {
	struct state *st;
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

/* open_case - the account's open case of the report's type, opened now if none */
static long long
open_case(struct apply *a, const char *account)
{
	static const char find[] = "SELECT id FROM cases WHERE account = ?1 AND report_type = ?2 AND closed_at IS NULL";
	static const char add[] = "INSERT INTO cases (account, report_type, opened_at) VALUES (?1, ?2, ?3)";
	static const char name[] = "UPDATE cases SET reference = ?2 WHERE id = ?1";
	sqlite3_stmt *s;
	char ref[STATE_REF_MAX];
	long long id;
	int rc;

	if ((s = stmt(a->st, find)) == NULL)
		return -1;
	bind_text(s, 1, account);
	bind_text(s, 2, a->rf->type);
	if ((rc = step(s)) != 0)
		return rc < 0 ? -1 : sqlite3_column_int64(s, 0);
	if ((s = stmt(a->st, add)) == NULL)
		return -1;
	bind_text(s, 1, account);
	bind_text(s, 2, a->rf->type);
	sqlite3_bind_int64(s, 3, a->date);
	if (step(s) != 0)
		return -1;
	id = sqlite3_last_insert_rowid(a->st->db);
	format_reference(id, a->date, ref);
	if ((s = stmt(a->st, name)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, ref);
	return step(s) == 0 ? id : -1;
}

/* case_reference - the account's open case's reference, "" when none */
static int
case_reference(struct apply *a, const char *account, char *out)
{
	static const char sql[] = "SELECT reference FROM cases WHERE account = ?1 AND report_type = ?2"
	    " AND closed_at IS NULL";
	sqlite3_stmt *s = stmt(a->st, sql);
	int rc;

	*out = '\0';
	if (s == NULL)
		return -1;
	bind_text(s, 1, account);
	bind_text(s, 2, a->rf->type);
	if ((rc = step(s)) > 0)
		column_ref(s, 0, out);
	return rc < 0 ? -1 : 0;
}

static void
set_deadline(const struct apply *a, const struct finding *f, struct state_finding *sf)
{
	sf->deadline = sf->first_seen + (time_t)a->pol->grace_days * DAY;
	sf->overdue = f->detected >= sf->deadline;
}

/* seen_again - F was in an open episode, row ID of S: update it */
static long long
seen_again(struct apply *a, sqlite3_stmt *s, const struct finding *f, struct state_finding *sf, int *recent)
{
	static const char sql[] = "UPDATE findings SET first_seen = min(first_seen, ?2),"
	    " last_seen = max(last_seen, ?2), times_reported = times_reported + 1, identifier = ?3,"
	    " last_report = ?4 WHERE id = ?1";
	long long id = sqlite3_column_int64(s, 0);

	if (sqlite3_column_int64(s, 1) < f->detected)
		sf->first_seen = (time_t)sqlite3_column_int64(s, 1);
	sf->times_reported = (unsigned long)sqlite3_column_int64(s, 2) + 1;
	if (sqlite3_column_type(s, 3) == SQLITE_NULL ||
	    a->now - (time_t)sqlite3_column_int64(s, 3) >= (time_t)a->pol->renotify_interval)
		*recent = 0;
	if ((s = stmt(a->st, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, f->detected);
	bind_text(s, 3, a->rf->identifier);
	sqlite3_bind_int64(s, 4, a->rid);
	return step(s) == 0 ? id : -1;
}

/* first_sighting - a new episode of F in CASE_ID */
static long long
first_sighting(struct apply *a, const char *account, const char *ip, const struct finding *f, long long case_id)
{
	static const char sql[] = "INSERT INTO findings (case_id, account, ip, port, protocol, report_type,"
	    " identifier, first_seen, last_seen, times_reported, first_report, last_report)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 1, ?9, ?9)";
	sqlite3_stmt *s = stmt(a->st, sql);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, case_id);
	bind_text(s, 2, account);
	bind_text(s, 3, ip);
	sqlite3_bind_int(s, 4, f->port);
	bind_text(s, 5, f->protocol);
	bind_text(s, 6, a->rf->type);
	bind_text(s, 7, a->rf->identifier);
	sqlite3_bind_int64(s, 8, f->detected);
	sqlite3_bind_int64(s, 9, a->rid);
	return step(s) == 0 ? sqlite3_last_insert_rowid(a->st->db) : -1;
}

/*
 * record_finding - F into its open episode, or a new one (not for a late
 * report). *RECENT stays set while every finding seen before was notified
 * within RenotifyInterval. Returns the row id, 0 when not recorded, -1.
 */
static long long
record_finding(struct apply *a, const char *account, const struct finding *f, struct state_finding *sf,
    long long *case_id, int *recent)
{
	static const char find[] = "SELECT id, first_seen, times_reported, last_notified FROM findings"
	    " WHERE account = ?1 AND ip = ?2 AND port = ?3 AND protocol = ?4 AND report_type = ?5"
	    " AND resolved_at IS NULL";
	char ip[FINDING_ADDRSTRLEN];
	sqlite3_stmt *s;
	int rc;

	finding_address(f, ip, sizeof(ip));	/* a network keeps its length: "198.51.100.8/29" */
	sf->first_seen = f->detected;
	sf->times_reported = 1;
	if ((s = stmt(a->st, find)) == NULL)
		return -1;
	bind_text(s, 1, account);
	bind_text(s, 2, ip);
	sqlite3_bind_int(s, 3, f->port);
	bind_text(s, 4, f->protocol);
	bind_text(s, 5, a->rf->type);
	if ((rc = step(s)) != 0)
		return rc < 0 ? -1 : seen_again(a, s, f, sf, recent);
	if (a->late)
		return 0;
	if (*case_id == 0 && (*case_id = open_case(a, account)) < 0)
		return -1;
	sf->is_new = 1;
	return first_sighting(a, account, ip, f, *case_id);
}

static int
decide(struct apply *a, const char *account, const char *type, int kind, const char *reference)
{
	static const char sql[] = "INSERT OR REPLACE INTO decisions (report_id, account, report_type, kind,"
	    " reference) VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *s = stmt(a->st, sql);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->rid);
	bind_text(s, 2, account);
	bind_text(s, 3, type);
	sqlite3_bind_int(s, 4, kind);
	bind_text(s, 5, reference);
	return step(s);
}

static int
mark_notified(struct apply *a, const long long *ids, size_t n)
{
	static const char sql[] = "UPDATE findings SET last_notified = ?2 WHERE id = ?1";
	sqlite3_stmt *s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ids[i] <= 0)
			continue;
		if ((s = stmt(a->st, sql)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, ids[i]);
		sqlite3_bind_int64(s, 2, a->now);
		if (step(s) != 0)
			return -1;
	}
	return 0;
}

/* record_group - one account's findings; then whether it gets a notice */
static int
record_group(struct apply *a, const struct notice_group *g, struct state_group *out)
{
	long long *ids = xcalloc(g->nfindings + 1, sizeof(*ids)), case_id = 0;
	int recent = 1, any_new = 0, rc = -1;
	size_t j;

	out->findings = xcalloc(g->nfindings + 1, sizeof(*out->findings));
	for (j = 0; j < g->nfindings; j++) {
		if ((ids[j] = record_finding(a, g->account->name, g->findings[j], &out->findings[j], &case_id,
		    &recent)) < 0)
			goto done;
		set_deadline(a, g->findings[j], &out->findings[j]);
		any_new |= out->findings[j].is_new;
	}
	out->notify = !a->late && (any_new || a->pol->renotify_interval == 0 || !recent);
	if (out->notify && a->pol->record_notices && mark_notified(a, ids, g->nfindings) != 0)
		goto done;
	if (case_reference(a, g->account->name, out->reference) != 0 ||
	    decide(a, g->account->name, a->rf->type, out->notify ? DECIDED_NOTICE : DECIDED_HELD,
	    out->reference) != 0)
		goto done;
	rc = 0;
done:
	free(ids);
	return rc;
}

/* resolve_absent - the stream's open findings this report does not carry */
static int
resolve_absent(struct apply *a, unsigned long *resolved)
{
	static const char sql[] = "UPDATE findings SET resolved_at = ?4, resolved_by = ?3"
	    " WHERE resolved_at IS NULL AND report_type = ?1 AND identifier = ?2 AND last_report != ?3"
	    " AND last_seen < ?4";
	sqlite3_stmt *s = stmt(a->st, sql);

	if (s == NULL)
		return -1;
	bind_text(s, 1, a->rf->type);
	bind_text(s, 2, a->rf->identifier);
	sqlite3_bind_int64(s, 3, a->rid);
	sqlite3_bind_int64(s, 4, a->date);
	if (step(s) != 0)
		return -1;
	*resolved = (unsigned long)sqlite3_changes(a->st->db);
	return 0;
}

/* stream_seen - note this report in its stream; *NEWEST is the stream's newest before it */
static int
stream_seen(struct apply *a, time_t *newest)
{
	static const char find[] = "SELECT last_report FROM streams WHERE report_type = ?1 AND identifier = ?2";
	static const char upsert[] = "INSERT INTO streams (report_type, identifier, last_report, last_applied,"
	    " reports) VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT (report_type, identifier) DO UPDATE SET"
	    " last_report = max(last_report, excluded.last_report), last_applied = excluded.last_applied,"
	    " reports = reports + 1";
	sqlite3_stmt *s = stmt(a->st, find);
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, a->rf->type);
	bind_text(s, 2, a->rf->identifier);
	if ((rc = step(s)) < 0)
		return -1;
	*newest = rc ? (time_t)sqlite3_column_int64(s, 0) : 0;
	if ((s = stmt(a->st, upsert)) == NULL)
		return -1;
	bind_text(s, 1, a->rf->type);
	bind_text(s, 2, a->rf->identifier);
	sqlite3_bind_int64(s, 3, a->date);
	sqlite3_bind_int64(s, 4, a->now);
	return step(s);
}

/* expire_silent - open findings of streams without a report for ResolveAfterDays */
static int
expire_silent(struct apply *a, unsigned long *expired)
{
	static const char stale[] = "SELECT report_type, identifier, last_report FROM streams"
	    " WHERE last_report + ?1 <= ?2";
	static const char expire[] = "UPDATE findings SET resolved_at = ?3, resolved_by = ?4"
	    " WHERE resolved_at IS NULL AND report_type = ?1 AND identifier = ?2";
	sqlite3_int64 window = (sqlite3_int64)a->pol->resolve_after_days * DAY;
	struct state_stream *streams = NULL;
	size_t n = 0, i;
	sqlite3_stmt *s;
	int rc = -1;

	*expired = 0;
	if (a->pol->resolve_after_days == 0)
		return 0;
	if ((s = stmt(a->st, stale)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, window);
	sqlite3_bind_int64(s, 2, a->date);
	while ((rc = step(s)) > 0) {
		streams = xreallocarray(streams, n + 1, sizeof(*streams));
		memset(&streams[n], 0, sizeof(*streams));
		streams[n].report_type = column_text(s, 0);
		streams[n].identifier = column_text(s, 1);
		streams[n++].last_report = (time_t)sqlite3_column_int64(s, 2);
	}
	for (i = 0; rc == 0 && i < n; i++) {
		if ((s = stmt(a->st, expire)) == NULL) {
			rc = -1;
			break;
		}
		bind_text(s, 1, streams[i].report_type);
		bind_text(s, 2, streams[i].identifier);
		sqlite3_bind_int64(s, 3, streams[i].last_report + window);
		sqlite3_bind_int64(s, 4, a->rid);
		if ((rc = step(s)) == 0)
			*expired += (unsigned long)sqlite3_changes(a->st->db);
	}
	state_streams_free(streams, n);
	return rc;
}

#define ITEM_COLUMNS "f.account, f.report_type, f.identifier, f.ip, f.port, f.protocol, c.reference," \
    " f.first_seen, f.last_seen, f.last_notified, f.resolved_at, f.times_reported"

static void
read_item(sqlite3_stmt *s, struct state_item *it)
{
	it->account = column_text(s, 0);
	it->report_type = column_text(s, 1);
	it->identifier = column_text(s, 2);
	it->ip = column_text(s, 3);
	it->port = sqlite3_column_int(s, 4);
	it->protocol = column_text(s, 5);
	column_ref(s, 6, it->reference);
	it->first_seen = (time_t)sqlite3_column_int64(s, 7);
	it->last_seen = (time_t)sqlite3_column_int64(s, 8);
	it->last_notified = (time_t)sqlite3_column_int64(s, 9);
	it->resolved_at = (time_t)sqlite3_column_int64(s, 10);
	it->times_reported = (unsigned long)sqlite3_column_int64(s, 11);
}

/* read_items - every row of S as items */
static int
read_items(sqlite3_stmt *s, struct state_item **out, size_t *n)
{
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = step(s)) > 0) {
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		memset(&(*out)[*n], 0, sizeof(**out));
		read_item(s, &(*out)[(*n)++]);
	}
	return rc;
}

/* case_items - the findings of the case named REFERENCE */
static int
case_items(struct state *st, const char *reference, struct state_item **out, size_t *n)
{
	static const char sql[] = "SELECT " ITEM_COLUMNS " FROM cases c JOIN findings f ON f.case_id = c.id"
	    " WHERE c.reference = ?1 ORDER BY f.ip, f.port, f.protocol";
	sqlite3_stmt *s = stmt(st, sql);

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	bind_text(s, 1, reference);
	return read_items(s, out, n);
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
	    " AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.case_id = cases.id AND f.resolved_at IS NULL)";
	static const char close_sql[] = "UPDATE cases SET closed_at = ?2 WHERE id = ?1";
	sqlite3_stmt *s = stmt(a->st, sql);
	long long *ids = NULL;
	size_t i, first = o->nclosed;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->rid);
	while ((rc = step(s)) > 0) {
		char ref[STATE_REF_MAX], *account = column_text(s, 1), *type = column_text(s, 2);

		column_ref(s, 3, ref);
		ids = xreallocarray(ids, o->nclosed - first + 1, sizeof(*ids));
		ids[o->nclosed - first] = sqlite3_column_int64(s, 0);
		add_closed(o, account, type, ref);
		free(account);
		free(type);
	}
	for (i = first; rc == 0 && i < o->nclosed; i++) {
		struct state_closed *c = &o->closed[i];

		if ((s = stmt(a->st, close_sql)) == NULL) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(s, 1, ids[i - first]);
		sqlite3_bind_int64(s, 2, a->date);
		if ((rc = step(s)) == 0)
			rc = decide(a, c->account, c->report_type, DECIDED_CLOSED, c->reference);
		if (rc == 0)
			rc = case_items(a->st, c->reference, &c->items, &c->nitems);
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
	sqlite3_int64 cut = (sqlite3_int64)a->now - (sqlite3_int64)a->pol->retain_days * DAY;
	sqlite3_stmt *s;
	size_t i;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((s = stmt(a->st, sql[i])) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, cut);
		if (step(s) != 0)
			return -1;
	}
	return 0;
}

static int
add_report(struct apply *a, const char *report_key)
{
	static const char sql[] = "INSERT INTO reports (report_key, report_type, identifier, report_date,"
	    " applied_at) VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *s = stmt(a->st, sql);

	if (s == NULL)
		return -1;
	bind_text(s, 1, report_key);
	bind_text(s, 2, a->rf->type);
	bind_text(s, 3, a->rf->identifier);
	sqlite3_bind_int64(s, 4, a->date);
	sqlite3_bind_int64(s, 5, a->now);
	if (step(s) != 0)
		return -1;
	a->rid = sqlite3_last_insert_rowid(a->st->db);
	return 0;
}

static int
report_counts(struct apply *a, const struct state_outcome *o)
{
	static const char sql[] = "UPDATE reports SET resolved = ?2, expired = ?3, late = ?4 WHERE id = ?1";
	sqlite3_stmt *s = stmt(a->st, sql);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->rid);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)o->resolved);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)o->expired);
	sqlite3_bind_int(s, 4, o->late);
	return step(s);
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
	for (i = 0; i < a->rf->ngroups; i++)
		if (record_group(a, &a->rf->groups[i], &o->groups[i]) != 0)
			return -1;
	if (!a->late && resolve_absent(a, &o->resolved) != 0)
		return -1;
	if (expire_silent(a, &o->expired) != 0 || close_cases(a, o) != 0 || report_counts(a, o) != 0)
		return -1;
	return prune(a);
}

/* --- a report applied before: its recorded outcome ----------------------- */

static int
replay_finding(struct apply *a, const char *account, const struct finding *f, struct state_finding *sf)
{
	static const char sql[] = "SELECT first_seen, times_reported, first_report FROM findings"
	    " WHERE account = ?1 AND ip = ?2 AND port = ?3 AND protocol = ?4 AND report_type = ?5"
	    " AND first_report <= ?6 ORDER BY id DESC LIMIT 1";
	char ip[FINDING_ADDRSTRLEN];
	sqlite3_stmt *s = stmt(a->st, sql);
	int rc;

	if (s == NULL)
		return -1;
	finding_address(f, ip, sizeof(ip));
	bind_text(s, 1, account);
	bind_text(s, 2, ip);
	sqlite3_bind_int(s, 3, f->port);
	bind_text(s, 4, f->protocol);
	bind_text(s, 5, a->rf->type);
	sqlite3_bind_int64(s, 6, a->rid);
	if ((rc = step(s)) < 0)
		return -1;
	sf->first_seen = rc ? (time_t)sqlite3_column_int64(s, 0) : f->detected;
	sf->times_reported = rc ? (unsigned long)sqlite3_column_int64(s, 1) : 1;
	sf->is_new = rc ? sqlite3_column_int64(s, 2) == a->rid : 1;
	set_deadline(a, f, sf);
	return 0;
}

static int
replay_group(struct apply *a, const struct notice_group *g, struct state_group *out)
{
	static const char sql[] = "SELECT kind, reference FROM decisions WHERE report_id = ?1 AND account = ?2"
	    " AND report_type = ?3 AND kind IN (0, 1)";
	sqlite3_stmt *s = stmt(a->st, sql);
	size_t j;
	int rc;

	out->findings = xcalloc(g->nfindings + 1, sizeof(*out->findings));
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->rid);
	bind_text(s, 2, g->account->name);
	bind_text(s, 3, a->rf->type);
	if ((rc = step(s)) < 0)
		return -1;
	out->notify = rc == 0 || sqlite3_column_int(s, 0) == DECIDED_NOTICE;	/* none: a new account */
	if (rc)
		column_ref(s, 1, out->reference);
	else if (case_reference(a, g->account->name, out->reference) != 0)
		return -1;
	for (j = 0; j < g->nfindings; j++)
		if (replay_finding(a, g->account->name, g->findings[j], &out->findings[j]) != 0)
			return -1;
	return 0;
}

static int
replay_report(struct apply *a, struct state_outcome *o)
{
	static const char counts[] = "SELECT resolved, expired, late FROM reports WHERE id = ?1";
	static const char closed[] = "SELECT account, report_type, reference FROM decisions"
	    " WHERE report_id = ?1 AND kind = 2";
	sqlite3_stmt *s;
	size_t i;
	int rc;

	o->replayed = 1;
	if ((s = stmt(a->st, counts)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->rid);
	if ((rc = step(s)) < 0)
		return -1;
	if (rc) {
		o->resolved = (unsigned long)sqlite3_column_int64(s, 0);
		o->expired = (unsigned long)sqlite3_column_int64(s, 1);
		o->late = sqlite3_column_int(s, 2);
	}
	for (i = 0; i < a->rf->ngroups; i++)
		if (replay_group(a, &a->rf->groups[i], &o->groups[i]) != 0)
			return -1;
	if ((s = stmt(a->st, closed)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->rid);
	while ((rc = step(s)) > 0) {
		char ref[STATE_REF_MAX], *account = column_text(s, 0), *type = column_text(s, 1);

		column_ref(s, 2, ref);
		add_closed(o, account, type, ref);
		free(account);
		free(type);
	}
	for (i = 0; rc == 0 && i < o->nclosed; i++)
		rc = case_items(a->st, o->closed[i].reference, &o->closed[i].items, &o->closed[i].nitems);
	return rc;
}

/* applied_before - the reports row of REPORT_KEY: 1 (a->rid set), 0, -1 */
static int
applied_before(struct apply *a, const char *report_key)
{
	static const char sql[] = "SELECT id, report_date FROM reports WHERE report_key = ?1";
	sqlite3_stmt *s = stmt(a->st, sql);
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, report_key);
	if ((rc = step(s)) > 0) {
		a->rid = sqlite3_column_int64(s, 0);
		a->date = (time_t)sqlite3_column_int64(s, 1);
	}
	return rc;
}

int
state_apply(struct state *st, const struct state_policy *pol, const char *report_key,
    const struct report_file *rf, time_t now, struct state_outcome **out, char *err, size_t errlen)
{
	struct apply a = { st, pol, rf, now, 0, 0, 0 };
	struct state_outcome *o = xcalloc(1, sizeof(*o));
	int rc;

	*out = NULL;
	o->ngroups = rf->ngroups;
	o->groups = xcalloc(rf->ngroups + 1, sizeof(*o->groups));
	pthread_mutex_lock(&st->lock);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_error(st, err, errlen);
		rc = -1;
		goto out;
	}
	if ((rc = applied_before(&a, report_key)) > 0)
		rc = replay_report(&a, o);
	else if (rc == 0)
		rc = record_report(&a, report_key, o);
	reset_all(st);
	if (rc == 0 && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	if (rc != 0) {
		db_error(st, err, errlen);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
out:
	pthread_mutex_unlock(&st->lock);
	if (rc != 0) {
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
	for (i = 0; i < o->ngroups; i++)
		free(o->groups[i].findings);
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

int
state_items(struct state *st, const char *account, const char *ip, int open_only, struct state_item **out,
    size_t *n, char *err, size_t errlen)
{
	static const char sql[] = "SELECT " ITEM_COLUMNS " FROM findings f LEFT JOIN cases c ON c.id = f.case_id"
	    " WHERE (?1 IS NULL OR f.account = ?1) AND (?2 IS NULL OR f.ip = ?2)"
	    " AND (?3 = 0 OR f.resolved_at IS NULL)"
	    " ORDER BY f.first_seen, f.account, f.report_type, f.ip, f.port, f.protocol, f.id";
	sqlite3_stmt *s;
	int rc = -1;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->lock);
	if ((s = stmt(st, sql)) != NULL) {
		if (account)
			bind_text(s, 1, account);
		if (ip)
			bind_text(s, 2, ip);
		sqlite3_bind_int(s, 3, open_only);
		rc = read_items(s, out, n);
	}
	if (rc != 0) {
		db_error(st, err, errlen);
		state_items_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	if (s)
		sqlite3_reset(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
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

int
state_streams(struct state *st, struct state_stream **out, size_t *n, char *err, size_t errlen)
{
	static const char sql[] = "SELECT report_type, identifier, last_report, last_applied, reports"
	    " FROM streams ORDER BY report_type, identifier";
	sqlite3_stmt *s;
	int rc = -1;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->lock);
	if ((s = stmt(st, sql)) != NULL) {
		while ((rc = step(s)) > 0) {
			struct state_stream *ss;

			*out = xreallocarray(*out, *n + 1, sizeof(**out));
			ss = &(*out)[(*n)++];
			ss->report_type = column_text(s, 0);
			ss->identifier = column_text(s, 1);
			ss->last_report = (time_t)sqlite3_column_int64(s, 2);
			ss->last_applied = (time_t)sqlite3_column_int64(s, 3);
			ss->reports = (unsigned long)sqlite3_column_int64(s, 4);
		}
		sqlite3_reset(s);
	}
	if (rc != 0) {
		db_error(st, err, errlen);
		state_streams_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
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
