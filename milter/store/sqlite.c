/*
 * sqlite - the store in a SQLite file: the embedded default
 *
 * WAL, synchronous FULL, a busy timeout; a writer takes the database with
 * BEGIN IMMEDIATE, so writers in other processes wait for the busy timeout,
 * then fail cleanly. An old two-file configuration (StateDB and OutboxDB
 * different files) keeps its outbox in a second file ATTACHed to the same
 * connection. Errors name the file and, for I/O errors, the OS error.
 *
 * Owns: the sqlite3 connection and its statements.
 */
#include "store/db.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* engine_error - SQLite's message, the OS error when there is one, and what to do */
static void
engine_error(struct db *db)
{
	sqlite3 *h = db->conn;
	int code = sqlite3_errcode(h) & 0xff, os = sqlite3_system_errno(h);

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		db_set_error(db, "database is locked (another writer held it for over %d ms)", db->busy_timeout_ms);
	else if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		db_set_error(db, "%s: the database is damaged; move it aside or restore a backup", sqlite3_errmsg(h));
	else if (os != 0 && (code == SQLITE_IOERR || code == SQLITE_CANTOPEN || code == SQLITE_FULL ||
	    code == SQLITE_READONLY))
		db_set_error(db, "%s (%s)", sqlite3_errmsg(h), strerror(os));
	else
		db_set_error(db, "%s", sqlite3_errmsg(h));
}

static int
sq_exec(struct db *db, const char *sql)
{
	if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK) {
		engine_error(db);
		return -1;
	}
	return 0;
}

/*
 * keep_private - PATH and its -wal and -shm readable by owner and group at
 * most: a missing database is created 0640 here (SQLite gives its -wal and
 * -shm the database's mode), an existing one of ours loses the group's
 * write and every other user's bits. The store holds customer addresses
 * and notices.
 */
static void
keep_private(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct stat st;
	size_t i;
	int fd;

	if (*path == '\0' || strcmp(path, ":memory:") == 0)
		return;
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) >= 0)
		close(fd);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char *p = sqlite3_mprintf("%s%s", path, suffix[i]);

		if (p && lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 0027))
			(void)chmod(p, st.st_mode & 0740);
		sqlite3_free(p);
	}
}

static int
sq_connect(struct db *db, const char *uri, const char *attach_as, const char *attach_uri)
{
	sqlite3 *h = NULL;
	char *sql;
	int rc;

	keep_private(uri);
	if (attach_uri)
		keep_private(attach_uri);
	rc = sqlite3_open_v2(uri, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	db->conn = h;
	if (rc != SQLITE_OK) {
		if (h == NULL)
			db_set_error(db, "cannot open: out of memory");
		else
			engine_error(db);
		return -1;
	}
	sqlite3_busy_timeout(h, db->busy_timeout_ms);
	sqlite3_extended_result_codes(h, 1);
	if (sq_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY") != 0)
		return -1;
	if (attach_uri == NULL)
		return 0;
	sql = sqlite3_mprintf("ATTACH DATABASE %Q AS %s; PRAGMA %s.journal_mode=WAL; PRAGMA %s.synchronous=FULL",
	    attach_uri, attach_as, attach_as, attach_as);
	rc = sq_exec(db, sql);
	sqlite3_free(sql);
	if (rc != 0) {
		char *where = db->where;	/* the attached file is the one to name */

		db->where = xstrdup(attach_uri);
		engine_error(db);
		free(db->where);
		db->where = where;
	}
	return rc;
}

static void
sq_disconnect(struct db *db)
{
	sqlite3_close(db->conn);
	db->conn = NULL;
}

static int
sq_prepare(struct db *db, struct db_stmt *s)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v3(db->conn, s->sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		engine_error(db);
		return -1;
	}
	s->handle = st;
	return 0;
}

static int
sq_execute(struct db *db, struct db_stmt *s, const struct db_val *params, size_t n)
{
	sqlite3_stmt *st = s->handle;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		int k = (int)i + 1;

		if (params[i].type == DB_INT)
			sqlite3_bind_int64(st, k, params[i].i);
		else if (params[i].type == DB_TEXT)
			sqlite3_bind_text(st, k, params[i].s, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, k);
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		engine_error(db);
		return -1;
	}
	s->first = rc == SQLITE_ROW ? 1 : 0;
	s->row = -1;
	s->changes = sqlite3_changes(db->conn);
	return 0;
}

static int
sq_step(struct db *db, struct db_stmt *s)
{
	int rc;

	if (s->row == -1) {	/* execute took the first step */
		s->row = 0;
		return s->first;
	}
	if (!s->first)
		return 0;
	rc = sqlite3_step(s->handle);
	if (rc == SQLITE_ROW)
		return 1;
	s->first = 0;
	s->changes = sqlite3_changes(db->conn);
	if (rc == SQLITE_DONE)
		return 0;
	engine_error(db);
	return -1;
}

static void
sq_reset(struct db_stmt *s)
{
	if (s->handle) {
		sqlite3_reset(s->handle);
		sqlite3_clear_bindings(s->handle);
	}
	s->first = 0;
	s->row = -1;
}

static void
sq_finalize(struct db_stmt *s)
{
	sqlite3_finalize(s->handle);
	s->handle = NULL;
}

static const char *
sq_text(struct db_stmt *s, int col)
{
	if (sqlite3_column_type(s->handle, col) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(s->handle, col);
}

static long long
sq_integer(struct db_stmt *s, int col)
{
	return sqlite3_column_int64(s->handle, col);
}

static long long
sq_changes(struct db *db, struct db_stmt *s)
{
	(void)db;
	return s->changes;
}

const struct db_backend db_sqlite_backend = {
	DB_SQLITE, sq_connect, sq_disconnect, sq_prepare, sq_execute, sq_step, sq_reset, sq_finalize,
	sq_text, sq_integer, sq_changes, sq_exec, "BEGIN IMMEDIATE", NULL,
};
