/*
 * store - the detection history and the outbox, in one database
 *
 * See store.h.
 */
#include "store/store.h"
#include "store/db.h"
#include "base/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 8			/* idle connections kept */
#define OUTBOX_SCHEMA "outbox"		/* the attached outbox file of a two-file config */

struct store {
	char *uri;			/* the database (the history's, when two files) */
	char *attach;			/* a separate outbox file, or NULL */
	char *where;
	int history, outbox;		/* which halves are kept */
	int busy_timeout_ms;
	pthread_mutex_t lock;
	struct db *idle[POOL_MAX];
	size_t nidle;
};

struct store *
store_new(const char *history, const char *outbox, int busy_timeout_ms, char *err, size_t errlen)
{
	struct store *s;
	const char *main_uri = history ? history : outbox;

	if (main_uri == NULL) {
		err_set(err, errlen, "no database: set StateDB or OutboxDB");
		return NULL;
	}
	if (history && outbox && strcmp(history, outbox) != 0 && (db_is_pg_uri(history) || db_is_pg_uri(outbox))) {
		char *h = db_where(history), *o = db_where(outbox);

		err_set(err, errlen, "StateDB %s and OutboxDB %s: a PostgreSQL store holds the history and the "
		    "outbox together: give both the same value", h, o);
		free(h);
		free(o);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->uri = xstrdup(main_uri);
	if (history && outbox && strcmp(history, outbox) != 0)
		s->attach = xstrdup(outbox);
	s->where = db_where(main_uri);
	s->history = history != NULL;
	s->outbox = outbox != NULL;
	s->busy_timeout_ms = busy_timeout_ms;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

struct store *
store_open(const char *history, const char *outbox, int busy_timeout_ms, char *err, size_t errlen)
{
	struct store *s = store_new(history, outbox, busy_timeout_ms, err, errlen);

	if (s && store_check(s, err, errlen) != 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

int
store_check(struct store *s, char *err, size_t errlen)
{
	struct db *db = store_acquire(s, err, errlen);

	if (db == NULL)
		return -1;
	store_release(s, db);
	return 0;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nidle; i++)
		db_close(s->idle[i]);
	pthread_mutex_destroy(&s->lock);
	free(s->uri);
	free(s->attach);
	free(s->where);
	free(s);
}

int
store_has_history(const struct store *s)
{
	return s->history;
}

int
store_has_outbox(const struct store *s)
{
	return s->outbox;
}

const char *
store_where(const struct store *s)
{
	return s->where;
}

int
store_error(const struct db *db, char *err, size_t errlen)
{
	err_set(err, errlen, "%s", db_error(db));
	return -1;
}

struct db *
store_acquire(struct store *s, char *err, size_t errlen)
{
	struct db *db = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->nidle > 0)
		db = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->lock);
	if (db)
		return db;
	if ((db = db_connect(s->uri, s->attach ? OUTBOX_SCHEMA : NULL, s->attach, s->busy_timeout_ms, err,
	    errlen)) == NULL)
		return NULL;
	if (store_migrate(db, s->history, s->outbox, s->attach ? OUTBOX_SCHEMA : NULL) != 0) {
		store_error(db, err, errlen);
		db_close(db);
		return NULL;
	}
	return db;
}

void
store_release(struct store *s, struct db *db)
{
	if (db == NULL)
		return;
	if (db->in_txn)
		db_rollback(db);
	db_reset_all(db);
	pthread_mutex_lock(&s->lock);
	if (db->broken) {	/* the server went away: the idle ones went with it */
		while (s->nidle > 0)
			db_close(s->idle[--s->nidle]);
	} else if (s->nidle < POOL_MAX) {
		s->idle[s->nidle++] = db;
		db = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	db_close(db);	/* broken, or the pool is full */
}

void
store_discard(struct store *s, struct db *db)
{
	(void)s;
	if (db && db->in_txn)
		db_rollback(db);
	db_close(db);
}

/*
 * store_begin - a pooled connection that broke (the server restarted) is
 * found out here, by its BEGIN; the report then gets a fresh connection
 * instead of a TEMPFAIL
 */
struct db *
store_begin(struct store *s, char *err, size_t errlen)
{
	struct db *db;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if ((db = store_acquire(s, err, errlen)) == NULL)
			return NULL;
		if (db_begin(db, 1) == 0)
			return db;
		store_error(db, err, errlen);
		tries += !db->broken;	/* only a lost connection is worth another try */
		store_release(s, db);
	}
	return NULL;
}

int
store_begin_on(struct db *db, char *err, size_t errlen)
{
	return db_begin(db, 1) == 0 ? 0 : store_error(db, err, errlen);
}

int
store_is_pg_uri(const char *uri)
{
	return db_is_pg_uri(uri);
}

char *
store_uri_where(const char *uri)
{
	return db_where(uri);
}

int
store_commit(struct store *s, struct db *db, char *err, size_t errlen)
{
	int rc = 0;

	if (db_commit(db) != 0) {
		rc = store_error(db, err, errlen);
		db->in_txn = 1;		/* roll back what the failed commit left */
	}
	store_release(s, db);
	return rc;
}

void
store_abort(struct store *s, struct db *db)
{
	if (db == NULL)
		return;
	db_rollback(db);
	store_release(s, db);
}

int
store_prune(struct store *s, const char *sql, time_t before, long long *removed, char *err, size_t errlen)
{
	struct db *db = store_acquire(s, err, errlen);
	struct db_stmt *st;
	int rc = 0;

	*removed = 0;
	if (db == NULL)
		return -1;
	if ((st = DB_RUN(db, sql, DBI(before))) == NULL)
		rc = store_error(db, err, errlen);
	else
		*removed = db_changes(st);
	store_release(s, db);
	return rc;
}
