/*
 * db - one connection to the store's database, whatever the engine
 *
 * See db.h. This file is what the engines share: the statement cache, the
 * error text, the display form of a connection, transactions.
 */
#include "store/db.h"
#include "base/pguri.h"
#include "base/util.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct db_backend db_sqlite_backend;
extern const struct db_backend db_pg_backend;

int
db_is_pg_uri(const char *uri)
{
	return pguri_is_pg(uri);
}

/* db_where - a file as it is; a URI as libpq reads it, without its password */
char *
db_where(const char *uri)
{
	if (!db_is_pg_uri(uri))
		return xstrdup(uri);
	return pguri_redacted(uri);
}

struct db *
db_connect(const char *uri, const char *attach_as, const char *attach_uri, int busy_timeout_ms, char *err,
    size_t errlen)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->be = db_is_pg_uri(uri) ? &db_pg_backend : &db_sqlite_backend;
	db->where = db_where(uri);
	db->busy_timeout_ms = busy_timeout_ms;
	if (attach_uri && db->be->engine != DB_SQLITE) {
		err_set(err, errlen, "%s: a PostgreSQL store holds history and outbox together: give StateDB and "
		    "OutboxDB the same value", db->where);
		db_close(db);
		return NULL;
	}
	if (db->be->connect(db, uri, attach_as, attach_uri) != 0) {
		err_set(err, errlen, "%s", db->error);
		db_close(db);
		return NULL;
	}
	return db;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->ncache; i++)
		db->be->finalize(&db->cache[i]);
	if (db->conn)
		db->be->disconnect(db);
	free(db->where);
	free(db);
}

enum db_engine
db_engine(const struct db *db)
{
	return db->be->engine;
}

const char *
db_error(const struct db *db)
{
	return db->error;
}

void
db_set_error(struct db *db, const char *fmt, ...)
{
	char msg[DB_ERR_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(db->error, sizeof(db->error), "%s: %s", db->where, msg);
}

static struct db_stmt *
cached(struct db *db, const char *sql)
{
	struct db_stmt *s;
	size_t i;

	for (i = 0; i < db->ncache; i++)
		if (db->cache[i].sql == sql)
			return &db->cache[i];
	if (db->ncache == DB_STMT_CACHE)
		abort();	/* a programming error: raise DB_STMT_CACHE */
	s = &db->cache[db->ncache];
	memset(s, 0, sizeof(*s));
	s->sql = sql;
	s->be = db->be;
	snprintf(s->name, sizeof(s->name), "sm%zu", db->ncache);
	if (db->be->prepare(db, s) != 0)
		return NULL;
	db->ncache++;
	return s;
}

struct db_stmt *
db_run(struct db *db, const char *sql, const struct db_val *params, size_t n)
{
	struct db_stmt *s;

	if (db->broken) {
		db_set_error(db, "the connection was lost");
		return NULL;
	}
	if ((s = cached(db, sql)) == NULL)
		return NULL;
	db->be->reset(s);
	if (db->be->execute(db, s, params, n) != 0) {
		db->be->reset(s);
		return NULL;
	}
	return s;
}

struct db_stmt *
db_run_indexed(struct db *db, const char *sql, const struct db_val *params, size_t n)
{
	if (db->in_txn && !db->index_only && db->be->index_only && !db->broken) {
		if (db->be->index_only(db) != 0)
			return NULL;
		db->index_only = 1;
	}
	return db_run(db, sql, params, n);
}

int
db_step(struct db *db, struct db_stmt *s)
{
	return db->be->step(db, s);
}

int
db_done(struct db_stmt *s)
{
	return s ? 0 : -1;
}

/* the engine of a statement: every statement lives in its connection's cache */
static const struct db_backend *
backend_of(const struct db_stmt *s)
{
	return s->be;
}

long long
db_int(struct db_stmt *s, int col)
{
	return backend_of(s)->integer(s, col);
}

const char *
db_text(struct db_stmt *s, int col)
{
	const char *t = backend_of(s)->text(s, col);

	return t ? t : "";
}

char *
db_strdup(struct db_stmt *s, int col)
{
	return xstrdup(db_text(s, col));
}

int
db_is_null(struct db_stmt *s, int col)
{
	return backend_of(s)->text(s, col) == NULL;
}

long long
db_changes(struct db_stmt *s)
{
	return s->changes;
}

int
db_exec(struct db *db, const char *sql)
{
	if (db->broken) {
		db_set_error(db, "the connection was lost");
		return -1;
	}
	return db->be->exec(db, sql);
}

void
db_reset_all(struct db *db)
{
	size_t i;

	for (i = 0; i < db->ncache; i++)
		db->be->reset(&db->cache[i]);
}

int
db_begin(struct db *db, int write)
{
	if (db_exec(db, write ? db->be->begin_write : "BEGIN") != 0)
		return -1;
	db->in_txn = 1;
	db->index_only = 0;
	return 0;
}

int
db_commit(struct db *db)
{
	db->in_txn = 0;
	db->index_only = 0;
	db_reset_all(db);	/* no statement keeps a read open past the transaction */
	return db_exec(db, "COMMIT");
}

void
db_rollback(struct db *db)
{
	char keep[DB_ERR_MAX];

	if (!db->in_txn)
		return;
	db->in_txn = 0;
	db->index_only = 0;
	memcpy(keep, db->error, sizeof(keep));	/* the error that made us roll back is the one to report */
	db_reset_all(db);
	if (!db->broken)
		db->be->exec(db, "ROLLBACK");
	memcpy(db->error, keep, sizeof(keep));
}
