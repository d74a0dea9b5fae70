/*
 * pg - the store in PostgreSQL, through libpq: several MX hosts, one store
 *
 * The connection string is any libpq URI. Statements are prepared once per
 * connection (their ?N parameters become $N) and run with text parameters;
 * results are read whole. A report's batches (db_run_indexed) turn
 * sequential scans off for the rest of their transaction. A writer that needs the store to itself (a report's
 * transaction, a schema migration) takes a transaction-scoped advisory lock,
 * the PostgreSQL twin of SQLite's BEGIN IMMEDIATE; lock_timeout bounds the
 * wait like SQLite's busy timeout. A connection that breaks is marked so and
 * the store opens a new one for the next caller: the daemon reconnects by
 * itself. Errors name the connection (never its password) and carry the
 * server's message.
 *
 * Owns: the PGconn, its prepared statements and their last results.
 */
#include "store/db.h"
#include "base/util.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_PARAMS_MAX 16
#define STORE_LOCK_KEY 1397247308	/* "SHML": the store's advisory lock */

/* engine_error - the server's or libpq's message, one line */
static void
engine_error(struct db *db, const PGresult *res)
{
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	char line[DB_ERR_MAX - 64];
	size_t len;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(db->conn);
	snprintf(line, sizeof(line), "%s", msg && *msg ? msg : "unknown error");
	for (len = strlen(line); len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '); len--)
		line[len - 1] = '\0';
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	if (PQstatus(db->conn) != CONNECTION_OK)
		db->broken = 1;
	db_set_error(db, "%s", line);
}

static int
pg_exec(struct db *db, const char *sql)
{
	PGresult *res = PQexec(db->conn, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		engine_error(db, res);
	PQclear(res);
	return ok ? 0 : -1;
}

static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;	/* notices ("relation already exists, skipping") are not errors */
}

static int
pg_connect(struct db *db, const char *uri, const char *attach_as, const char *attach_uri)
{
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { "10", "shadowmilter", uri, NULL };
	char sql[128];

	(void)attach_as;
	(void)attach_uri;
	db->conn = PQconnectdbParams(keys, vals, 1);	/* the URI's own settings win */
	if (db->conn == NULL) {
		db_set_error(db, "cannot connect: out of memory");
		return -1;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		engine_error(db, NULL);
		return -1;
	}
	PQsetNoticeProcessor(db->conn, quiet, NULL);
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d; SET client_min_messages = warning; SET TIME ZONE 'UTC'",
	    db->busy_timeout_ms);
	return pg_exec(db, sql);
}

static void
pg_disconnect(struct db *db)
{
	PQfinish(db->conn);
	db->conn = NULL;
}

/* dollar_params - "?1" becomes "$1" outside quoted text */
static char *
dollar_params(const char *sql)
{
	struct buf b = BUF_INIT;
	int quoted = 0;

	for (; *sql; sql++) {
		if (*sql == '\'')
			quoted = !quoted;
		buf_putc(&b, !quoted && *sql == '?' && sql[1] >= '0' && sql[1] <= '9' ? '$' : *sql);
	}
	return buf_steal(&b);
}

static int
pg_prepare(struct db *db, struct db_stmt *s)
{
	char *sql = dollar_params(s->sql);
	PGresult *res = PQprepare(db->conn, s->name, sql, 0, NULL);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		engine_error(db, res);
	PQclear(res);
	free(sql);
	return ok ? 0 : -1;
}

static int
pg_execute(struct db *db, struct db_stmt *s, const struct db_val *params, size_t n)
{
	char nums[PG_PARAMS_MAX][24];
	const char *values[PG_PARAMS_MAX];
	PGresult *res;
	ExecStatusType st;
	size_t i;

	if (n > PG_PARAMS_MAX)
		abort();	/* a programming error */
	for (i = 0; i < n; i++) {
		if (params[i].type == DB_INT) {
			snprintf(nums[i], sizeof(nums[i]), "%lld", params[i].i);
			values[i] = nums[i];
		} else
			values[i] = params[i].type == DB_TEXT ? params[i].s : NULL;
	}
	res = PQexecPrepared(db->conn, s->name, (int)n, values, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		engine_error(db, res);
		PQclear(res);
		return -1;
	}
	s->handle = res;
	s->row = -1;
	s->nrows = PQntuples(res);
	s->changes = *PQcmdTuples(res) ? atoll(PQcmdTuples(res)) : 0;
	return 0;
}

static int
pg_step(struct db *db, struct db_stmt *s)
{
	(void)db;
	if (s->handle == NULL || s->row + 1 >= s->nrows)
		return 0;
	s->row++;
	return 1;
}

static void
pg_reset(struct db_stmt *s)
{
	PQclear(s->handle);
	s->handle = NULL;
	s->row = -1;
	s->nrows = 0;
}

static void
pg_finalize(struct db_stmt *s)
{
	pg_reset(s);	/* the prepared statement goes with its connection */
}

/*
 * pg_index_only - sequential scans off until the transaction ends: a report
 * that writes tens of thousands of findings looks them up while the planner,
 * without statistics for them, believes the table small (a plan made now and
 * kept by a prepared statement is an index plan, which stays a good one)
 */
static int
pg_index_only(struct db *db)
{
	return pg_exec(db, "SET LOCAL enable_seqscan = off");
}

static const char *
pg_text(struct db_stmt *s, int col)
{
	if (s->handle == NULL || s->row < 0 || PQgetisnull(s->handle, s->row, col))
		return NULL;
	return PQgetvalue(s->handle, s->row, col);
}

static long long
pg_integer(struct db_stmt *s, int col)
{
	const char *t = pg_text(s, col);

	return t ? strtoll(t, NULL, 10) : 0;
}

static long long
pg_changes(struct db *db, struct db_stmt *s)
{
	(void)db;
	return s->changes;
}

#define STR_(x) #x
#define STR(x) STR_(x)

const struct db_backend db_pg_backend = {
	DB_PG, pg_connect, pg_disconnect, pg_prepare, pg_execute, pg_step, pg_reset, pg_finalize,
	pg_text, pg_integer, pg_changes, pg_exec,
	"BEGIN; SELECT pg_advisory_xact_lock(" STR(STORE_LOCK_KEY) ")", pg_index_only,
};
