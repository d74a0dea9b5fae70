/*
 * schema - the store's tables, created and migrated by the program
 *
 * Each half of the store (history, outbox) has numbered steps; the
 * schema_version table records how far each half of a database has come, and
 * store_migrate runs the missing steps in one transaction that has the store
 * to itself (so two hosts starting at once migrate once). A database from a
 * newer shadowmilter is refused, not downgraded. Files made before versions
 * were kept are at step 0: step 1 is their schema, written so that it leaves
 * an existing table as it is.
 *
 * The DDL is written once for both engines with three tokens: {id} (the
 * row id column), {int} (a 64-bit integer) and {s} (the schema of an
 * attached outbox file, or nothing).
 *
 * Owns: nothing.
 */
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum part { HISTORY, OUTBOX };

struct step {
	enum part part;
	int version;
	const char *sql;		/* one statement */
};

#define REPORT_FILES "CREATE TABLE IF NOT EXISTS {s}report_files (" \
	" file_id TEXT PRIMARY KEY," \
	" owner TEXT NOT NULL," \
	" route TEXT NOT NULL," \
	" claimed_at {int} NOT NULL)"

#define REFUSED_FILES "CREATE TABLE IF NOT EXISTS {s}refused_files (" \
	" file_id TEXT PRIMARY KEY," \
	" api_id TEXT NOT NULL," \
	" kind TEXT NOT NULL," \
	" reason TEXT NOT NULL," \
	" max_size {int} NOT NULL," \
	" refused_at {int} NOT NULL)"

static const struct step steps[] = {
	{ HISTORY, 1, "CREATE TABLE IF NOT EXISTS reports ("
	    " id {id},"
	    " report_key TEXT NOT NULL UNIQUE,"		/* report reference | file name */
	    " report_type TEXT NOT NULL,"
	    " identifier TEXT NOT NULL,"
	    " report_date {int} NOT NULL,"
	    " applied_at {int} NOT NULL,"
	    " resolved {int} NOT NULL DEFAULT 0,"
	    " expired {int} NOT NULL DEFAULT 0,"
	    " late {int} NOT NULL DEFAULT 0)" },
	{ HISTORY, 1, "CREATE INDEX IF NOT EXISTS reports_applied ON reports(applied_at)" },
	{ HISTORY, 1, "CREATE TABLE IF NOT EXISTS cases ("
	    " id {id},"
	    " account TEXT NOT NULL,"
	    " report_type TEXT NOT NULL,"
	    " reference TEXT UNIQUE,"
	    " opened_at {int} NOT NULL,"
	    " closed_at {int})" },
	{ HISTORY, 1, "CREATE UNIQUE INDEX IF NOT EXISTS cases_open ON cases(account, report_type)"
	    " WHERE closed_at IS NULL" },
	{ HISTORY, 1, "CREATE TABLE IF NOT EXISTS findings ("
	    " id {id},"
	    " case_id {int} NOT NULL,"
	    " account TEXT NOT NULL,"
	    " ip TEXT NOT NULL,"
	    " port {int} NOT NULL,"			/* -1: none */
	    " protocol TEXT NOT NULL,"
	    " report_type TEXT NOT NULL,"
	    " identifier TEXT NOT NULL,"		/* the stream that last carried it */
	    " first_seen {int} NOT NULL,"
	    " last_seen {int} NOT NULL,"
	    " times_reported {int} NOT NULL,"
	    " last_notified {int},"
	    " resolved_at {int},"
	    " first_report {int} NOT NULL,"
	    " last_report {int} NOT NULL,"
	    " resolved_by {int})" },
	{ HISTORY, 1, "CREATE UNIQUE INDEX IF NOT EXISTS findings_open"
	    " ON findings(account, ip, port, protocol, report_type) WHERE resolved_at IS NULL" },
	{ HISTORY, 1, "CREATE INDEX IF NOT EXISTS findings_stream ON findings(report_type, identifier)"
	    " WHERE resolved_at IS NULL" },	/* replaced in step 2 */
	{ HISTORY, 1, "CREATE INDEX IF NOT EXISTS findings_key ON findings(account, ip, port, protocol, report_type)" },
	{ HISTORY, 1, "CREATE INDEX IF NOT EXISTS findings_ip ON findings(ip)" },
	{ HISTORY, 1, "CREATE INDEX IF NOT EXISTS findings_case ON findings(case_id)" },
	{ HISTORY, 1, "CREATE INDEX IF NOT EXISTS findings_resolved ON findings(resolved_at)"
	    " WHERE resolved_at IS NOT NULL" },
	{ HISTORY, 1, "CREATE INDEX IF NOT EXISTS findings_resolved_by ON findings(resolved_by)"
	    " WHERE resolved_by IS NOT NULL" },
	{ HISTORY, 1, "CREATE TABLE IF NOT EXISTS decisions ("
	    " report_id {int} NOT NULL,"
	    " account TEXT NOT NULL,"
	    " report_type TEXT NOT NULL,"
	    " kind {int} NOT NULL,"			/* 0 held back, 1 notice, 2 case closed, 3 withheld (AccountSettings) */
	    " reference TEXT NOT NULL,"
	    " PRIMARY KEY (report_id, account, report_type, kind))" },
	{ HISTORY, 1, "CREATE TABLE IF NOT EXISTS streams ("
	    " report_type TEXT NOT NULL,"
	    " identifier TEXT NOT NULL,"
	    " last_report {int} NOT NULL,"
	    " last_applied {int} NOT NULL,"
	    " reports {int} NOT NULL,"
	    " PRIMARY KEY (report_type, identifier))" },
	{ OUTBOX, 1, "CREATE TABLE IF NOT EXISTS {s}notices ("
	    " id {id},"
	    " idem_key TEXT NOT NULL UNIQUE,"
	    " report_ref TEXT NOT NULL,"
	    " report_type TEXT NOT NULL,"
	    " account TEXT NOT NULL,"
	    " recipients TEXT NOT NULL,"		/* newline separated */
	    " message TEXT NOT NULL,"
	    " state TEXT NOT NULL DEFAULT 'pending',"	/* pending, sent, failed */
	    " attempts {int} NOT NULL DEFAULT 0,"
	    " created {int} NOT NULL,"
	    " next_attempt {int} NOT NULL,"
	    " sent_at {int},"
	    " last_error TEXT,"
	    " queue_id TEXT NOT NULL DEFAULT '')" },
	{ OUTBOX, 1, "CREATE INDEX IF NOT EXISTS {s}notices_due ON notices(state, next_attempt)" },
	/* 2: claims with a lease; the worker that holds one */
	/*
	 * 2: the stream index leads with the identifier. Led by report_type it
	 * also matched the per-finding lookup (account, ip, port, protocol,
	 * report_type); inside a report's transaction PostgreSQL has no
	 * statistics for the rows it just wrote and chose it over findings_open,
	 * scanning every open finding of the type per finding: a 50k-finding
	 * report took minutes. Now only findings_open fits that lookup.
	 */
	{ HISTORY, 2, "DROP INDEX IF EXISTS findings_stream" },
	{ HISTORY, 2, "CREATE INDEX IF NOT EXISTS findings_by_stream ON findings(identifier, report_type)"
	    " WHERE resolved_at IS NULL" },
	{ OUTBOX, 2, "ALTER TABLE {s}notices ADD COLUMN claimed_until {int}" },
	{ OUTBOX, 2, "ALTER TABLE {s}notices ADD COLUMN claimed_by TEXT" },
	/*
	 * 3: one claim per report file identity (fileclaim.h), in whichever
	 * half the store keeps: a store of both halves in one database reads
	 * the history's (an unqualified name finds the main schema first)
	 */
	{ HISTORY, 3, REPORT_FILES },
	{ OUTBOX, 3, REPORT_FILES },
	/* 4: the links of link-only report mails, fetched by the delivery workers (fetchjobs.h) */
	{ OUTBOX, 4, "CREATE TABLE IF NOT EXISTS {s}fetch_jobs ("
	    " id {id},"
	    " report_ref TEXT NOT NULL UNIQUE,"		/* one job per report mail */
	    " url TEXT NOT NULL,"
	    " message_id TEXT NOT NULL,"
	    " subject TEXT NOT NULL,"
	    " auth TEXT NOT NULL,"
	    " queue_id TEXT NOT NULL,"
	    " state TEXT NOT NULL DEFAULT 'pending',"	/* pending, done, failed */
	    " attempts {int} NOT NULL DEFAULT 0,"
	    " created {int} NOT NULL,"
	    " next_attempt {int} NOT NULL,"
	    " claimed_until {int},"
	    " claimed_by TEXT,"
	    " last_error TEXT)" },
	{ OUTBOX, 4, "CREATE INDEX IF NOT EXISTS {s}fetch_jobs_due ON fetch_jobs(state, next_attempt)" },
	/* 4: what each daemon last read from its customer data sources (sources.c) */
	{ HISTORY, 4, "CREATE TABLE IF NOT EXISTS sources ("
	    " name TEXT PRIMARY KEY,"			/* "CustomerMap@HOST" */
	    " label TEXT NOT NULL,"
	    " loaded_at {int} NOT NULL,"
	    " entries {int} NOT NULL,"
	    " accounts {int} NOT NULL,"
	    " checked_at {int} NOT NULL,"
	    " last_error TEXT NOT NULL,"
	    " error_at {int} NOT NULL)" },
	/*
	 * 5: the notices of daily-digest accounts (AccountSettings digest),
	 * each kept under its notice's key until the day's digest takes it
	 * (digestparts.h): digest_key is that digest's outbox key, NULL while
	 * it waits
	 */
	{ OUTBOX, 5, "CREATE TABLE IF NOT EXISTS {s}digest_parts ("
	    " id {id},"
	    " idem_key TEXT NOT NULL UNIQUE,"		/* the notice's own (notice_key_text) */
	    " report_ref TEXT NOT NULL,"
	    " report_type TEXT NOT NULL,"
	    " account TEXT NOT NULL,"
	    " action {int} NOT NULL,"			/* 1: ACTION REQUIRED */
	    " lang TEXT NOT NULL,"			/* the section's language, "" English */
	    " mail_to TEXT NOT NULL,"			/* newline separated */
	    " mail_cc TEXT NOT NULL,"
	    " title TEXT NOT NULL,"
	    " section TEXT NOT NULL,"
	    " created {int} NOT NULL,"
	    " queue_id TEXT NOT NULL,"
	    " digest_key TEXT)" },
	{ OUTBOX, 5, "CREATE INDEX IF NOT EXISTS {s}digest_parts_waiting ON digest_parts(digest_key, created)" },
	/*
	 * the Reports API's files refused (too large, unreadable), beside the
	 * file claims (fileclaim.h): history 5, outbox 6
	 */
	{ HISTORY, 5, REFUSED_FILES },
	{ OUTBOX, 6, REFUSED_FILES },
	/* history 6, outbox 7: refused_files.limits, by refused_limits_column (one table may be both halves') */
};

#define HISTORY_VERSION 6
#define OUTBOX_VERSION 7
#define LIMITS_VERSION(part) ((part) == HISTORY ? 6 : 7)

/* expand - the engine's words for the tokens */
static char *
expand(const struct db *db, const char *sql, const char *schema)
{
	int pg = db_engine(db) == DB_PG;
	struct buf b = BUF_INIT;

	while (*sql) {
		if (strncmp(sql, "{id}", 4) == 0) {
			buf_puts(&b, pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY");
			sql += 4;
		} else if (strncmp(sql, "{int}", 5) == 0) {
			buf_puts(&b, pg ? "BIGINT" : "INTEGER");
			sql += 5;
		} else if (strncmp(sql, "{s}", 3) == 0) {
			if (schema)
				buf_printf(&b, "%s.", schema);
			sql += 3;
		} else
			buf_putc(&b, *sql++);
	}
	return buf_steal(&b);
}

static int
run(struct db *db, const char *sql, const char *schema)
{
	char *x = expand(db, sql, schema);
	int rc = db_exec(db, x);

	free(x);
	return rc;
}

/* version - how far PART has come in this database (the version table exists) */
static int
version(struct db *db, enum part part, const char *schema, long long *v)
{
	static const char q_main[] = "SELECT version FROM schema_version WHERE part = ?1";
	static const char q_outbox[] = "SELECT version FROM outbox.schema_version WHERE part = ?1";
	struct db_stmt *s = DB_RUN(db, schema ? q_outbox : q_main, DBT(part == HISTORY ? "history" : "outbox"));
	int rc;

	if (s == NULL || (rc = db_step(db, s)) < 0)
		return -1;
	*v = rc ? db_int(s, 0) : 0;
	return 0;
}

static int
set_version(struct db *db, enum part part, const char *schema, int v)
{
	static const char q_main[] = "INSERT INTO schema_version (part, version) VALUES (?1, ?2)"
	    " ON CONFLICT (part) DO UPDATE SET version = excluded.version";
	static const char q_outbox[] = "INSERT INTO outbox.schema_version (part, version) VALUES (?1, ?2)"
	    " ON CONFLICT (part) DO UPDATE SET version = excluded.version";

	return DB_DO(db, schema ? q_outbox : q_main, DBT(part == HISTORY ? "history" : "outbox"), DBI(v));
}

/* queue_id_column - outboxes made before queue ids were kept get the column */
static int
queue_id_column(struct db *db, const char *schema)
{
	if (db_engine(db) != DB_SQLITE || run(db, "SELECT queue_id FROM {s}notices LIMIT 0", schema) == 0)
		return 0;
	return run(db, "ALTER TABLE {s}notices ADD COLUMN queue_id TEXT NOT NULL DEFAULT ''", schema);
}

/*
 * refused_limits_column - every size limit a refusal was made under
 * (pipeline/pull.h), "" in the rows from before. Added once: a store of
 * both halves in one database has one refused_files for both steps
 */
static int
refused_limits_column(struct db *db, const char *schema)
{
	if (db_engine(db) == DB_PG)
		return run(db, "ALTER TABLE {s}refused_files ADD COLUMN IF NOT EXISTS limits TEXT NOT NULL DEFAULT ''",
		    schema);
	if (run(db, "SELECT limits FROM {s}refused_files LIMIT 0", schema) == 0)
		return 0;
	return run(db, "ALTER TABLE {s}refused_files ADD COLUMN limits TEXT NOT NULL DEFAULT ''", schema);
}

static int
migrate_part(struct db *db, enum part part, int target, const char *schema)
{
	long long have;
	size_t i;

	if (run(db, "CREATE TABLE IF NOT EXISTS {s}schema_version (part TEXT PRIMARY KEY, version {int} NOT NULL)",
	    schema) != 0 || version(db, part, schema, &have) != 0)
		return -1;
	if (have > target) {
		db_set_error(db, "the %s schema is version %lld, newer than this shadowmilter knows (%d): "
		    "upgrade shadowmilter", part == HISTORY ? "history" : "outbox", have, target);
		return -1;
	}
	if (have == target)
		return 0;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i].part == part && steps[i].version > have && run(db, steps[i].sql, schema) != 0)
			return -1;
	if (part == OUTBOX && have < 1 && queue_id_column(db, schema) != 0)
		return -1;
	if (have < LIMITS_VERSION(part) && refused_limits_column(db, schema) != 0)
		return -1;
	return set_version(db, part, schema, target);
}

/* current - is every half this connection keeps at its version? (no lock taken) */
static int
current(struct db *db, int history, int outbox, const char *outbox_schema)
{
	long long v;
	int ok = 1;

	if (history && (version(db, HISTORY, NULL, &v) != 0 || v != HISTORY_VERSION))
		ok = 0;
	if (ok && outbox && (version(db, OUTBOX, outbox_schema, &v) != 0 || v != OUTBOX_VERSION))
		ok = 0;
	db_reset_all(db);	/* no read stays open: it would stop this connection from writing */
	return ok;
}

int
store_migrate(struct db *db, int history, int outbox, const char *outbox_schema)
{
	if (current(db, history, outbox, outbox_schema))
		return 0;
	if (db_begin(db, 1) != 0)
		return -1;
	if ((history && migrate_part(db, HISTORY, HISTORY_VERSION, NULL) != 0) ||
	    (outbox && migrate_part(db, OUTBOX, OUTBOX_VERSION, outbox_schema) != 0)) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}
