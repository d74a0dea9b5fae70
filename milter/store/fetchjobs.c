/*
 * fetchjobs - the links of link-only report mails, until their files are read
 *
 * See fetchjobs.h. The claim is outbox.c's: PostgreSQL locks the row it
 * picks (FOR UPDATE SKIP LOCKED), SQLite's UPDATE holds the write lock.
 */
#include "store/fetchjobs.h"
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

int
fetchjob_add(struct db *db, const struct fetch_job *job, time_t now, int *added, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO fetch_jobs (report_ref, url, message_id, subject, auth, queue_id,"
	    " created, next_attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT (report_ref) DO NOTHING";
	struct db_stmt *s = DB_RUN(db, sql, DBT(job->report_ref), DBT(job->url), DBT(job->message_id),
	    DBT(job->subject), DBT(job->auth), DBT(job->queue_id ? job->queue_id : ""), DBI(now));

	*added = 0;
	if (s == NULL)
		return store_error(db, err, errlen);
	*added = db_changes(s) > 0;
	return 0;
}

#define CLAIM_SET "UPDATE fetch_jobs SET claimed_until = ?2, claimed_by = ?3 WHERE id = (SELECT id" \
    " FROM fetch_jobs WHERE state = 'pending' AND next_attempt <= ?1" \
    " AND (claimed_until IS NULL OR claimed_until <= ?1) ORDER BY next_attempt, id LIMIT 1"
#define CLAIM_RETURNING ") RETURNING id, report_ref, url, message_id, subject, auth, queue_id, attempts, created"

int
fetchjob_claim(struct store *st, time_t now, long lease, const char *worker, struct fetch_job *out, char *err,
    size_t errlen)
{
	static const char sqlite_sql[] = CLAIM_SET CLAIM_RETURNING;
	static const char pg_sql[] = CLAIM_SET " FOR UPDATE SKIP LOCKED" CLAIM_RETURNING;
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (db == NULL)
		return -1;
	s = DB_RUN(db, db_engine(db) == DB_PG ? pg_sql : sqlite_sql, DBI(now), DBI(now + lease), DBT(worker));
	if (s == NULL || (rc = db_step(db, s)) < 0) {
		rc = store_error(db, err, errlen);
		goto out;
	}
	if (rc == 0)
		goto out;
	out->id = db_int(s, 0);
	out->report_ref = db_strdup(s, 1);
	out->url = db_strdup(s, 2);
	out->message_id = db_strdup(s, 3);
	out->subject = db_strdup(s, 4);
	out->auth = db_strdup(s, 5);
	out->queue_id = db_strdup(s, 6);
	out->attempts = (int)db_int(s, 7);
	out->created = (time_t)db_int(s, 8);
	if (db_step(db, s) < 0)		/* SQLite finishes the UPDATE here */
		rc = store_error(db, err, errlen);
out:
	store_release(st, db);
	if (rc < 0)
		fetch_job_free(out);
	return rc;
}

/* run_one - one statement on a pooled connection of its own */
static int
run_one(struct store *st, const char *sql, const struct db_val *v, size_t n, char *err, size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	int rc = 0;

	if (db == NULL)
		return -1;
	if (db_run(db, sql, v, n) == NULL)
		rc = store_error(db, err, errlen);
	store_release(st, db);
	return rc;
}

int
fetchjob_finish(struct store *st, long long id, const char *error, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE fetch_jobs SET state = ?2, last_error = ?3, attempts = attempts + 1,"
	    " claimed_until = NULL, claimed_by = NULL WHERE id = ?1";
	struct db_val v[] = { DBI(id), DBT(error ? "failed" : "done"), DBT(error) };

	return run_one(st, sql, v, 3, err, errlen);
}

int
fetchjob_retry(struct store *st, long long id, time_t next_attempt, const char *error, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE fetch_jobs SET next_attempt = ?2, last_error = ?3,"
	    " attempts = attempts + 1, claimed_until = NULL, claimed_by = NULL WHERE id = ?1";
	struct db_val v[] = { DBI(id), DBI(next_attempt), DBT(error) };

	return run_one(st, sql, v, 3, err, errlen);
}

int
fetchjob_pending(struct store *st, long long *n, char *err, size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc = 0;

	*n = 0;
	if (db == NULL)
		return -1;
	if ((s = DB_RUN0(db, "SELECT count(*) FROM fetch_jobs WHERE state = 'pending'")) == NULL ||
	    db_step(db, s) < 0)
		rc = store_error(db, err, errlen);
	else
		*n = db_int(s, 0);
	db_reset_all(db);
	store_release(st, db);
	return rc;
}

void
fetch_job_free(struct fetch_job *j)
{
	free(j->report_ref);
	free(j->url);
	free(j->message_id);
	free(j->subject);
	free(j->auth);
	free(j->queue_id);
	memset(j, 0, sizeof(*j));
}
