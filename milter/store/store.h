/*
 * store - the detection history and the outbox, in one database
 *
 * One store holds both halves of what shadowmilter remembers: the detection
 * history (state.h) and the outbox of notices (outbox.h). The history update
 * of a report and its notices commit in ONE transaction (store_begin ...
 * store_commit), so a report is either wholly recorded and queued or not at
 * all, and the MTA is answered only after that commit.
 *
 * The database is a SQLite file (the embedded default) or a PostgreSQL
 * database named by any libpq URI (several MX hosts share one). StateDB and
 * OutboxDB name it; the same value for both is the recommended shape. Two
 * different SQLite files (an old configuration) still work: the outbox file
 * is attached to the history's connection, but SQLite in WAL mode commits
 * each file on its own, so only one file gives the one-transaction promise.
 *
 * The program creates and migrates the schema itself (schema.c, with a
 * schema_version table). Connections come from a small pool: each caller
 * (a message's thread, the delivery worker, a command) takes one and gives it
 * back; a connection that broke (PostgreSQL restarted) is dropped and the
 * next caller opens a fresh one, so the daemon reconnects by itself.
 *
 * Owns: the pool of connections, the URIs.
 */
#ifndef SM_STORE_H
#define SM_STORE_H

#include <stddef.h>
#include <time.h>

struct db;
struct store;

#define STORE_BUSY_TIMEOUT_MS 10000	/* how long a writer waits for another */

/*
 * store_new - a store over HISTORY (StateDB) and OUTBOX (OutboxDB); either
 * may be NULL (that half is not kept). Nothing is opened yet: a database that
 * is down does not stop a daemon. NULL with ERR for a shape that cannot work
 * (a PostgreSQL store with two different URIs, SQLite mixed with PostgreSQL).
 */
struct store *store_new(const char *history, const char *outbox, int busy_timeout_ms, char *err, size_t errlen);

/* store_open - store_new, then a connection (creating or migrating the schema) */
struct store *store_open(const char *history, const char *outbox, int busy_timeout_ms, char *err,
    size_t errlen);

/* store_check - can a connection be had now? 0, or -1 with ERR */
int store_check(struct store *s, char *err, size_t errlen);
void store_close(struct store *s);

int store_has_history(const struct store *s);
int store_has_outbox(const struct store *s);

/* store_where - the database as it may be shown (no password) */
const char *store_where(const struct store *s);

/* store_is_pg_uri - is URI (StateDB, OutboxDB) a PostgreSQL database rather than a SQLite file? */
int store_is_pg_uri(const char *uri);
/* store_uri_where - URI as it may be shown: a libpq URI loses its password (malloc'd) */
char *store_uri_where(const char *uri);

/* store_acquire - a connection of the pool, opened (and the schema made current) when none is idle */
struct db *store_acquire(struct store *s, char *err, size_t errlen);
void store_release(struct store *s, struct db *db);
/* store_discard - DB is closed instead of pooled (a setting of it could not be restored) */
void store_discard(struct store *s, struct db *db);

/* store_begin - a connection in a transaction that has the store to itself */
struct db *store_begin(struct store *s, char *err, size_t errlen);
/* store_begin_on - the same on DB, a connection already acquired: 0, or -1 with ERR (DB stays acquired) */
int store_begin_on(struct db *db, char *err, size_t errlen);
int store_commit(struct store *s, struct db *db, char *err, size_t errlen);	/* releases DB */
void store_abort(struct store *s, struct db *db);				/* releases DB */

/* store_prune - SQL, a DELETE of what is older than ?1, run with BEFORE on a
 * connection of its own; *REMOVED the rows it deleted. 0, or -1 with ERR */
int store_prune(struct store *s, const char *sql, time_t before, long long *removed, char *err, size_t errlen);

/* store_error - DB's last error in ERR; returns -1 */
int store_error(const struct db *db, char *err, size_t errlen);

/* store_migrate - create or upgrade the schema on a fresh connection (schema.c) */
int store_migrate(struct db *db, int history, int outbox, const char *outbox_schema);

#endif
