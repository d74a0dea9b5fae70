/*
 * db - one connection to the store's database, whatever the engine
 *
 * The store's logic (history.c, outbox.c, schema.c) is written once against
 * this interface; sqlite.c and pg.c are the two engines behind it. SQL is
 * written once too: parameters are ?1, ?2 ... (pg.c turns them into $1, $2),
 * and the few places where the engines differ (ids, claims) choose between
 * two literals with db_engine(). Statements are prepared once per
 * connection and cached by the address of their SQL text, so SQL must be a
 * string literal (or otherwise live as long as the connection).
 *
 * Errors: a failed call returns NULL or -1 and keeps the message in the
 * connection; db_error() gives it as "WHERE: ENGINE MESSAGE (OS error)",
 * WHERE being the SQLite file or the PostgreSQL connection without its
 * password. Nothing here logs.
 *
 * Owns: the engine connection, its prepared statements and their results.
 */
#ifndef SM_STORE_DB_H
#define SM_STORE_DB_H

#include <stddef.h>

enum db_engine { DB_SQLITE, DB_PG };
enum db_type { DB_NULL, DB_INT, DB_TEXT };

struct db_val {
	enum db_type type;
	long long i;
	const char *s;
};

static inline struct db_val
db_val_text(const char *s)	/* NULL is SQL NULL */
{
	struct db_val v = { s ? DB_TEXT : DB_NULL, 0, s };

	return v;
}

#define DBI(v) ((struct db_val){ DB_INT, (long long)(v), NULL })
#define DBT(v) db_val_text(v)
#define DBNULL ((struct db_val){ DB_NULL, 0, NULL })

struct db;
struct db_stmt;

/* the engine's side; sqlite.c and pg.c each fill one in */
struct db_backend {
	enum db_engine engine;
	/* connect: set db->conn; 0, or -1 with the error set (db_set_error) */
	int (*connect)(struct db *db, const char *uri, const char *attach_as, const char *attach_uri);
	void (*disconnect)(struct db *db);
	int (*prepare)(struct db *db, struct db_stmt *s);
	/* execute: bind PARAMS and run until the first row (or the end) */
	int (*execute)(struct db *db, struct db_stmt *s, const struct db_val *params, size_t n);
	int (*step)(struct db *db, struct db_stmt *s);	/* 1 row, 0 done, -1 error */
	void (*reset)(struct db_stmt *s);
	void (*finalize)(struct db_stmt *s);
	const char *(*text)(struct db_stmt *s, int col);	/* NULL for SQL NULL */
	long long (*integer)(struct db_stmt *s, int col);	/* 0 for SQL NULL */
	long long (*changes)(struct db *db, struct db_stmt *s);
	int (*exec)(struct db *db, const char *sql);	/* no parameters, no rows */
	const char *begin_write;	/* a transaction that has the store to itself */
	/* index_only: the rest of the transaction reaches tables through indexes (NULL: nothing to do) */
	int (*index_only)(struct db *db);
};

#define DB_ERR_MAX 600
#define DB_STMT_CACHE 64

struct db_stmt {
	const struct db_backend *be;
	const char *sql;
	void *handle;			/* sqlite3_stmt, or the PGresult of the last run */
	char name[16];			/* pg: the prepared statement's name */
	int row, nrows, first;		/* pg: the current row; sqlite: first step's result */
	long long changes;
};

struct db {
	const struct db_backend *be;
	void *conn;			/* sqlite3 *, PGconn * */
	char *where;			/* the file, or the connection without password */
	int busy_timeout_ms;
	int broken;			/* the connection is lost: close it, open another */
	int in_txn;
	int index_only;			/* db_run_indexed ran in this transaction */
	char error[DB_ERR_MAX];
	struct db_stmt cache[DB_STMT_CACHE];
	size_t ncache;
};

/*
 * db_connect - URI is a SQLite file or a libpq URI ("postgresql://...",
 * "postgres://..."); ATTACH_URI, if not NULL, is a second SQLite file seen
 * through the same connection under the schema name ATTACH_AS (the outbox of
 * an old two-file configuration). NULL with ERR.
 */
struct db *db_connect(const char *uri, const char *attach_as, const char *attach_uri, int busy_timeout_ms,
    char *err, size_t errlen);
void db_close(struct db *db);

/* db_is_pg_uri - is URI a PostgreSQL connection rather than a file? */
int db_is_pg_uri(const char *uri);

/* db_where - URI as it may be shown: a libpq URI loses its password */
char *db_where(const char *uri);

enum db_engine db_engine(const struct db *db);
const char *db_error(const struct db *db);
void db_set_error(struct db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* db_run - SQL with PARAMS: the statement, positioned before its first row; NULL on error */
struct db_stmt *db_run(struct db *db, const char *sql, const struct db_val *params, size_t n);
#define DB_RUN(db, sql, ...) db_run((db), (sql), (const struct db_val[]){ __VA_ARGS__ }, \
    sizeof((const struct db_val[]){ __VA_ARGS__ }) / sizeof(struct db_val))
#define DB_RUN0(db, sql) db_run((db), (sql), NULL, 0)

/*
 * db_run_indexed - db_run for a statement of a transaction that writes many
 * rows (a report's batches), which must reach its tables through their
 * indexes: PostgreSQL, which has no statistics yet for the rows the
 * transaction wrote and believes the tables small, could plan a scan of a
 * whole table per key, or a hash of it per batch. From the first such
 * statement to the end of the transaction, PostgreSQL plans with sequential
 * scans off (SET LOCAL; one round trip per transaction). SQLite, which keeps
 * no statistics, runs it as db_run does.
 */
struct db_stmt *db_run_indexed(struct db *db, const char *sql, const struct db_val *params, size_t n);

/* DB_DO - run a statement that returns no rows: 0, or -1 (db_done ends one DB_RUN started) */
#define DB_DO(db, sql, ...) (db_done(DB_RUN((db), (sql), __VA_ARGS__)))
int db_done(struct db_stmt *s);

int db_step(struct db *db, struct db_stmt *s);	/* 1 row, 0 done, -1 error */
long long db_int(struct db_stmt *s, int col);	/* 0 for NULL */
const char *db_text(struct db_stmt *s, int col);	/* "" for NULL */
char *db_strdup(struct db_stmt *s, int col);
int db_is_null(struct db_stmt *s, int col);
long long db_changes(struct db_stmt *s);	/* rows changed by the statement's run */

/* db_exec - SQL without parameters or rows (DDL, several statements) */
int db_exec(struct db *db, const char *sql);

/* db_reset_all - every statement done: no read stays open (a pooled connection) */
void db_reset_all(struct db *db);

/* transactions: db_begin(WRITE: the store to itself until commit), db_commit, db_rollback */
int db_begin(struct db *db, int write);
int db_commit(struct db *db);
void db_rollback(struct db *db);

#endif
