/*
 * outbox - the durable queue of notices between the milter and the MTA
 *
 * See outbox.h.
 */
#include "outbox.h"
#include "util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct outbox {
	sqlite3 *db;
	pthread_mutex_t lock;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS notices ("
    " id INTEGER PRIMARY KEY,"
    " idem_key TEXT NOT NULL UNIQUE,"
    " report_ref TEXT NOT NULL,"
    " report_type TEXT NOT NULL,"
    " account TEXT NOT NULL,"
    " recipients TEXT NOT NULL,"	/* newline separated */
    " message TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending',"	/* pending, sent, failed */
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL,"
    " next_attempt INTEGER NOT NULL,"
    " sent_at INTEGER,"
    " last_error TEXT,"
    " queue_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS notices_due ON notices(state, next_attempt);";

static int
db_error(struct outbox *ob, const char *what, char *err, size_t errlen)
{
	err_set(err, errlen, "outbox %s: %s", what, sqlite3_errmsg(ob->db));
	return -1;
}

struct outbox *
outbox_open(const char *path, char *err, size_t errlen)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));
	char *msg = NULL;

	pthread_mutex_init(&ob->lock, NULL);
	if (sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK) {
		err_set(err, errlen, "outbox %s: %s", path, ob->db ? sqlite3_errmsg(ob->db) : "cannot open");
		outbox_close(ob);
		return NULL;
	}
	sqlite3_busy_timeout(ob->db, 10000);
	/* outboxes made before queue ids were kept get the column; elsewhere this fails harmlessly */
	sqlite3_exec(ob->db, "ALTER TABLE notices ADD COLUMN queue_id TEXT NOT NULL DEFAULT ''", NULL, NULL, NULL);
	if (sqlite3_exec(ob->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, errlen, "outbox %s: %s", path, msg ? msg : "schema");
		sqlite3_free(msg);
		outbox_close(ob);
		return NULL;
	}
	return ob;
}

void
outbox_close(struct outbox *ob)
{
	if (ob == NULL)
		return;
	sqlite3_close(ob->db);
	pthread_mutex_destroy(&ob->lock);
	free(ob);
}

static char *
join_lines(char *const *v, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? "\n" : "", v[i]);
	return buf_steal(&b);
}

/* idempotency key: the three parts, unambiguously joined */
static char *
idem_key(const struct outbox_item *it)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%zu:%s|%zu:%s|%s", strlen(it->report_ref), it->report_ref, strlen(it->report_type),
	    it->report_type, it->account);
	return buf_steal(&b);
}

static int
insert_item(struct outbox *ob, sqlite3_stmt *st, const struct outbox_item *it, time_t now, size_t *added)
{
	char *key = idem_key(it), *rcpts = join_lines(it->recipients, it->nrecipients);
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, it->report_ref, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, it->report_type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, it->account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, rcpts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, it->message, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)now);
	sqlite3_bind_text(st, 8, it->queue_id ? it->queue_id : "", -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	free(key);
	free(rcpts);
	if (rc != SQLITE_DONE)
		return -1;
	*added += (size_t)sqlite3_changes(ob->db);
	return 0;
}

int
outbox_commit(struct outbox *ob, const struct outbox_item *items, size_t n, time_t now, size_t *added,
    char *err, size_t errlen)
{
	static const char sql[] = "INSERT OR IGNORE INTO notices (idem_key, report_ref, report_type, account,"
	    " recipients, message, created, next_attempt, queue_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)";
	sqlite3_stmt *st = NULL;
	int rc = -1;
	size_t i;

	*added = 0;
	pthread_mutex_lock(&ob->lock);
	if (sqlite3_exec(ob->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_error(ob, "begin", err, errlen);
		goto out;
	}
	if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto rollback;
	for (i = 0; i < n; i++)
		if (insert_item(ob, st, &items[i], now, added) != 0)
			goto rollback;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(ob->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	db_error(ob, "commit", err, errlen);
	sqlite3_finalize(st);
	sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
	*added = 0;
out:
	pthread_mutex_unlock(&ob->lock);
	return rc;
}

static char **
split_lines(const char *s, size_t *n)
{
	char **v = NULL, *copy = xstrdup(s), *save = NULL, *tok;

	*n = 0;
	for (tok = strtok_r(copy, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		v = xreallocarray(v, *n + 1, sizeof(char *));
		v[(*n)++] = xstrdup(tok);
	}
	free(copy);
	return v;
}

static char *
column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return xstrdup(t ? (const char *)t : "");
}

int
outbox_next_due(struct outbox *ob, time_t now, struct outbox_entry *out, char *err, size_t errlen)
{
	static const char sql[] = "SELECT id, report_ref, report_type, account, recipients, message, attempts,"
	    " created, queue_id FROM notices WHERE state = 'pending' AND next_attempt <= ?1 ORDER BY next_attempt, id LIMIT 1";
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ob->lock);
	if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_error(ob, "select", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = db_error(ob, "select", err, errlen);
		goto out;
	}
	out->id = sqlite3_column_int64(st, 0);
	out->report_ref = column_text(st, 1);
	out->report_type = column_text(st, 2);
	out->account = column_text(st, 3);
	{
		char *r = column_text(st, 4);

		out->recipients = split_lines(r, &out->nrecipients);
		free(r);
	}
	out->message = column_text(st, 5);
	out->attempts = sqlite3_column_int(st, 6);
	out->created = (time_t)sqlite3_column_int64(st, 7);
	out->queue_id = column_text(st, 8);
	rc = 1;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ob->lock);
	return rc;
}

void
outbox_entry_free(struct outbox_entry *e)
{
	size_t i;

	for (i = 0; i < e->nrecipients; i++)
		free(e->recipients[i]);
	free(e->recipients);
	free(e->queue_id);
	free(e->report_ref);
	free(e->report_type);
	free(e->account);
	free(e->message);
	memset(e, 0, sizeof(*e));
}

/* update - one UPDATE with up to two bound values */
static int
update(struct outbox *ob, const char *sql, long long id, sqlite3_int64 when, const char *text,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	pthread_mutex_lock(&ob->lock);
	if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_error(ob, "update", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, when);
	sqlite3_bind_text(st, 3, text ? text : "", -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(ob, "update", err, errlen);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ob->lock);
	return rc;
}

int
outbox_mark_sent(struct outbox *ob, long long id, time_t now, char *err, size_t errlen)
{
	return update(ob, "UPDATE notices SET state = 'sent', sent_at = ?2, attempts = attempts + 1,"
	    " last_error = NULLIF(?3, '') WHERE id = ?1", id, (sqlite3_int64)now, NULL, err, errlen);
}

int
outbox_mark_retry(struct outbox *ob, long long id, time_t next_attempt, const char *error, char *err,
    size_t errlen)
{
	return update(ob, "UPDATE notices SET attempts = attempts + 1, next_attempt = ?2, last_error = ?3"
	    " WHERE id = ?1", id, (sqlite3_int64)next_attempt, error, err, errlen);
}

int
outbox_mark_failed(struct outbox *ob, long long id, const char *error, char *err, size_t errlen)
{
	return update(ob, "UPDATE notices SET state = 'failed', attempts = attempts + 1, last_error = ?3"
	    " WHERE id = ?1", id, 0, error, err, errlen);
}

int
outbox_get_counts(struct outbox *ob, struct outbox_counts *c, char *err, size_t errlen)
{
	static const char sql[] = "SELECT"
	    " (SELECT count(*) FROM notices WHERE state = 'pending'),"
	    " (SELECT count(*) FROM notices WHERE state = 'sent'),"
	    " (SELECT count(*) FROM notices WHERE state = 'failed'),"
	    " (SELECT coalesce(min(created), 0) FROM notices WHERE state = 'pending')";
	sqlite3_stmt *st = NULL;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&ob->lock);
	if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = db_error(ob, "counts", err, errlen);
	} else {
		c->pending = sqlite3_column_int64(st, 0);
		c->sent = sqlite3_column_int64(st, 1);
		c->failed = sqlite3_column_int64(st, 2);
		c->oldest_pending = (time_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ob->lock);
	return rc;
}

int
outbox_prune(struct outbox *ob, time_t before, long long *removed, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	*removed = 0;
	pthread_mutex_lock(&ob->lock);
	if (sqlite3_prepare_v2(ob->db, "DELETE FROM notices WHERE state = 'sent' AND sent_at < ?1", -1, &st,
	    NULL) != SQLITE_OK) {
		rc = db_error(ob, "prune", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(ob, "prune", err, errlen);
	else
		*removed = sqlite3_changes(ob->db);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ob->lock);
	return rc;
}
