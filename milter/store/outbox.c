/*
 * outbox - the durable queue of notices between the milter and the MTA
 *
 * See outbox.h. The notices table is schema.c's; the SQL here is written once
 * for both engines. The claim is claim.c's, shared with the fetch jobs; the
 * notice it picked is then read on the same connection.
 */
#include "store/outbox.h"
#include "store/claim.h"
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
join_lines(char *const *v, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? "\n" : "", v[i]);
	return buf_steal(&b);
}

int
outbox_add(struct db *db, const struct outbox_item *it, time_t now, int *added, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO notices (idem_key, report_ref, report_type, account,"
	    " recipients, message, created, next_attempt, queue_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)"
	    " ON CONFLICT (idem_key) DO NOTHING";
	char *rcpts = join_lines(it->recipients, it->nrecipients);
	struct db_stmt *s = DB_RUN(db, sql, DBT(it->key), DBT(it->report_ref), DBT(it->report_type),
	    DBT(it->account), DBT(rcpts), DBT(it->message), DBI(now), DBT(it->queue_id ? it->queue_id : ""));

	free(rcpts);
	*added = 0;
	if (s == NULL)
		return store_error(db, err, errlen);
	*added = db_changes(s) > 0;
	return 0;
}

int
outbox_commit(struct store *st, const struct outbox_item *items, size_t n, time_t now, size_t *added,
    char *err, size_t errlen)
{
	struct db *db = store_begin(st, err, errlen);
	size_t i;
	int one;

	*added = 0;
	if (db == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (outbox_add(db, &items[i], now, &one, err, errlen) != 0) {
			store_abort(st, db);
			*added = 0;
			return -1;
		}
		*added += (size_t)one;
	}
	if (store_commit(st, db, err, errlen) != 0) {
		*added = 0;
		return -1;
	}
	return 0;
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

/* read_entry - notice ID, claimed on DB just now, into OUT: 1, or -1 */
static int
read_entry(struct db *db, long long id, struct outbox_entry *out)
{
	static const char sql[] = "SELECT id, report_ref, report_type, account, recipients, message, attempts,"
	    " created, queue_id FROM notices WHERE id = ?1";
	struct db_stmt *s = DB_RUN(db, sql, DBI(id));
	int rc;

	if (s == NULL || (rc = db_step(db, s)) < 0)
		return -1;
	if (rc == 0) {
		db_set_error(db, "notice %lld vanished as it was claimed", id);
		return -1;
	}
	out->id = db_int(s, 0);
	out->report_ref = db_strdup(s, 1);
	out->report_type = db_strdup(s, 2);
	out->account = db_strdup(s, 3);
	out->recipients = split_lines(db_text(s, 4), &out->nrecipients);
	out->message = db_strdup(s, 5);
	out->attempts = (int)db_int(s, 6);
	out->created = (time_t)db_int(s, 7);
	out->queue_id = db_strdup(s, 8);
	return 1;
}

int
outbox_claim(struct store *st, time_t now, long lease, const char *worker, struct outbox_entry *out,
    char *err, size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	long long id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (db == NULL)
		return -1;
	if ((rc = claim_next(db, CLAIM_NOTICES, now, lease, worker, &id)) == 1)
		rc = read_entry(db, id, out);
	if (rc < 0)
		store_error(db, err, errlen);
	store_release(st, db);
	if (rc < 0)
		outbox_entry_free(out);
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

/* update - one UPDATE of a notice, on a connection of its own */
static int
update(struct store *st, const char *sql, const struct db_val *params, size_t n, char *err, size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	int rc = 0;

	if (db == NULL)
		return -1;
	if (db_run(db, sql, params, n) == NULL)
		rc = store_error(db, err, errlen);
	store_release(st, db);
	return rc;
}

#define UPDATE(st, sql, err, errlen, ...) update((st), (sql), (const struct db_val[]){ __VA_ARGS__ }, \
    sizeof((const struct db_val[]){ __VA_ARGS__ }) / sizeof(struct db_val), (err), (errlen))

int
outbox_mark_sent(struct store *st, long long id, time_t now, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE notices SET state = 'sent', sent_at = ?2, attempts = attempts + 1,"
	    " last_error = NULL, claimed_until = NULL WHERE id = ?1";

	return UPDATE(st, sql, err, errlen, DBI(id), DBI(now));
}

/* --- the mark prepared before the end of the message ------------------------ */

struct outbox_mark {
	struct store *st;
	struct db *db;
};

#define SQLITE_SCHEMAS_MAX 8

/*
 * sqlite_sync - PRAGMA synchronous for every file of the connection (an old
 * two-file configuration has the notices in an attached one); outside any
 * transaction, and for this connection only
 */
static int
sqlite_sync(struct db *db, const char *level)
{
	char names[SQLITE_SCHEMAS_MAX][64], sql[128];
	struct db_stmt *s = DB_RUN0(db, "PRAGMA database_list");
	size_t n = 0, i;

	if (s == NULL)
		return -1;
	while (n < SQLITE_SCHEMAS_MAX && db_step(db, s) == 1)
		if (strcmp(db_text(s, 1), "temp") != 0)
			snprintf(names[n++], sizeof(names[0]), "%s", db_text(s, 1));
	db_reset_all(db);
	for (i = 0; i < n; i++) {
		if (strspn(names[i], "abcdefghijklmnopqrstuvwxyz_0123456789") != strlen(names[i]))
			continue;	/* not a schema name of ours */
		snprintf(sql, sizeof(sql), "PRAGMA %s.synchronous=%s", names[i], level);
		if (db_exec(db, sql) != 0)
			return -1;
	}
	return 0;
}

/* mark_done - the mark's transaction is over: back to commits that wait for the disk, and to the pool */
static void
mark_done(struct store *st, struct db *db)
{
	db_rollback(db);	/* if still open */
	if (db_engine(db) == DB_SQLITE && sqlite_sync(db, "FULL") != 0)
		store_discard(st, db);	/* never pool a connection that would not fsync */
	else
		store_release(st, db);
}

int
outbox_mark_prepare(struct store *st, long long id, const char *worker, time_t now, struct outbox_mark **out,
    char *err, size_t errlen)
{
	static const char sql[] = "UPDATE notices SET state = 'sent', sent_at = ?3, attempts = attempts + 1,"
	    " last_error = NULL, claimed_until = NULL WHERE id = ?1 AND " CLAIM_HELD;
	struct db_val v[] = { DBI(now) };
	struct db *db = store_acquire(st, err, errlen);
	int sqlite, rc = -1;

	*out = NULL;
	if (db == NULL)
		return -1;
	sqlite = db_engine(db) == DB_SQLITE;
	/*
	 * SQLite: BEGIN IMMEDIATE takes the write lock now, so waiting for it
	 * delays the end of the message instead of the mark's commit.
	 * PostgreSQL: the UPDATE's row lock is enough; the store's advisory lock
	 * (store_begin) would stop the reports of every host while the MTA answers.
	 */
	if ((sqlite && sqlite_sync(db, "NORMAL") != 0) || db_begin(db, sqlite) != 0 ||
	    (!sqlite && db_exec(db, "SET LOCAL synchronous_commit = off") != 0) ||
	    (rc = claim_end(db, sql, id, worker, v, 1)) < 0) {
		store_error(db, err, errlen);
		mark_done(st, db);
		return -1;
	}
	if (rc == CLAIM_LOST) {		/* sent, or claimed by another worker after our lease ran out */
		mark_done(st, db);
		return 0;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->st = st;
	(*out)->db = db;
	return 1;
}

int
outbox_mark_commit(struct outbox_mark *m, char *err, size_t errlen)
{
	int rc = 0;

	if (db_commit(m->db) != 0) {
		rc = store_error(m->db, err, errlen);
		m->db->in_txn = 1;	/* roll back what the failed commit left */
	}
	mark_done(m->st, m->db);
	free(m);
	return rc;
}

void
outbox_mark_abort(struct outbox_mark *m)
{
	if (m == NULL)
		return;
	mark_done(m->st, m->db);
	free(m);
}

int
outbox_mark_blocks_writers(const struct outbox_mark *m)
{
	return db_engine(m->db) == DB_SQLITE;
}

int
outbox_mark_retry(struct store *st, long long id, const char *worker, time_t next_attempt, const char *error,
    char *err, size_t errlen)
{
	static const char sql[] = "UPDATE notices SET attempts = attempts + 1, next_attempt = ?3, last_error = ?4,"
	    " claimed_until = NULL WHERE id = ?1 AND " CLAIM_HELD;
	struct db_val v[] = { DBI(next_attempt), DBT(error ? error : "") };

	return claim_end_pooled(st, sql, id, worker, v, 2, err, errlen);
}

int
outbox_mark_failed(struct store *st, long long id, const char *worker, const char *error, char *err,
    size_t errlen)
{
	static const char sql[] = "UPDATE notices SET state = 'failed', attempts = attempts + 1, last_error = ?3,"
	    " claimed_until = NULL WHERE id = ?1 AND " CLAIM_HELD;
	struct db_val v[] = { DBT(error ? error : "") };

	return claim_end_pooled(st, sql, id, worker, v, 1, err, errlen);
}

int
outbox_release(struct store *st, long long id, const char *worker, char *err, size_t errlen)
{
	return claim_release(st, CLAIM_NOTICES, id, worker, err, errlen);
}

int
outbox_get_counts(struct store *st, time_t now, struct outbox_counts *c, char *err, size_t errlen)
{
	static const char sql[] = "SELECT"
	    " (SELECT count(*) FROM notices WHERE state = 'pending'),"
	    " (SELECT count(*) FROM notices WHERE state = 'sent'),"
	    " (SELECT count(*) FROM notices WHERE state = 'failed'),"
	    " (SELECT coalesce(min(created), 0) FROM notices WHERE state = 'pending'),"
	    " (SELECT count(*) FROM notices WHERE state = 'pending' AND claimed_until > ?1)";
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (db == NULL)
		return -1;
	if ((s = DB_RUN(db, sql, DBI(now))) == NULL || db_step(db, s) != 1)
		rc = store_error(db, err, errlen);
	else {
		c->pending = db_int(s, 0);
		c->sent = db_int(s, 1);
		c->failed = db_int(s, 2);
		c->oldest_pending = (time_t)db_int(s, 3);
		c->claimed = db_int(s, 4);
	}
	store_release(st, db);
	return rc;
}

int
outbox_list_pending(struct store *st, void (*fn)(void *ctx, const struct outbox_entry *e, time_t next_attempt),
    void *ctx, char *err, size_t errlen)
{
	static const char sql[] = "SELECT id, report_ref, report_type, account, recipients, message, attempts,"
	    " created, queue_id, next_attempt FROM notices WHERE state = 'pending' ORDER BY next_attempt, id";
	struct db *db = store_acquire(st, err, errlen);
	struct outbox_entry e;
	struct db_stmt *s;
	int rc = 0, row = 0;

	if (db == NULL)
		return -1;
	if ((s = db_run(db, sql, NULL, 0)) == NULL)
		rc = store_error(db, err, errlen);
	while (s && (row = db_step(db, s)) == 1) {
		e.id = db_int(s, 0);
		e.report_ref = db_strdup(s, 1);
		e.report_type = db_strdup(s, 2);
		e.account = db_strdup(s, 3);
		e.recipients = split_lines(db_text(s, 4), &e.nrecipients);
		e.message = db_strdup(s, 5);
		e.attempts = (int)db_int(s, 6);
		e.created = (time_t)db_int(s, 7);
		e.queue_id = db_strdup(s, 8);
		fn(ctx, &e, (time_t)db_int(s, 9));
		outbox_entry_free(&e);
	}
	if (s && row < 0)
		rc = store_error(db, err, errlen);
	store_release(st, db);
	return rc;
}

int
outbox_prune(struct store *st, time_t before, long long *removed, char *err, size_t errlen)
{
	return store_prune(st, "DELETE FROM notices WHERE state = 'sent' AND sent_at < ?1", before, removed, err, errlen);
}
