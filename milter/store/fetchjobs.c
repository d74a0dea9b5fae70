/*
 * fetchjobs - the links of link-only report mails, until their files are read
 *
 * See fetchjobs.h. The claim is claim.c's, shared with the outbox; the job
 * it picked is then read on the same connection, and a job's end is
 * claim_end's: only while the claim is still the worker's.
 */
#include "store/fetchjobs.h"
#include "store/claim.h"
#include "store/db.h"
#include "store/outbox.h"
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

/* read_job - job ID, claimed on DB just now, into OUT: 1, or -1 */
static int
read_job(struct db *db, long long id, struct fetch_job *out)
{
	static const char sql[] = "SELECT id, report_ref, url, message_id, subject, auth, queue_id, attempts,"
	    " created FROM fetch_jobs WHERE id = ?1";
	struct db_stmt *s = DB_RUN(db, sql, DBI(id));
	int rc;

	if (s == NULL || (rc = db_step(db, s)) < 0)
		return -1;
	if (rc == 0) {
		db_set_error(db, "fetch job %lld vanished as it was claimed", id);
		return -1;
	}
	out->id = db_int(s, 0);
	out->report_ref = db_strdup(s, 1);
	out->url = db_strdup(s, 2);
	out->message_id = db_strdup(s, 3);
	out->subject = db_strdup(s, 4);
	out->auth = db_strdup(s, 5);
	out->queue_id = db_strdup(s, 6);
	out->attempts = (int)db_int(s, 7);
	out->created = (time_t)db_int(s, 8);
	return 1;
}

int
fetchjob_claim(struct store *st, time_t now, long lease, const char *worker, struct fetch_job *out, char *err,
    size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	long long id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (db == NULL)
		return -1;
	if ((rc = claim_next(db, CLAIM_FETCH_JOBS, now, lease, worker, &id)) == 1)
		rc = read_job(db, id, out);
	if (rc < 0)
		store_error(db, err, errlen);
	store_release(st, db);
	if (rc < 0)
		fetch_job_free(out);
	return rc;
}

int
fetchjob_finish(struct store *st, long long id, const char *worker, const char *error, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE fetch_jobs SET state = ?3, last_error = ?4, attempts = attempts + 1,"
	    " claimed_until = NULL, claimed_by = NULL WHERE id = ?1 AND " CLAIM_HELD;
	struct db_val v[] = { DBT(error ? "failed" : "done"), DBT(error) };

	return claim_end_pooled(st, sql, id, worker, v, 2, err, errlen);
}

int
fetchjob_retry(struct store *st, long long id, const char *worker, time_t next_attempt, const char *error,
    char *err, size_t errlen)
{
	static const char sql[] = "UPDATE fetch_jobs SET next_attempt = ?3, last_error = ?4,"
	    " attempts = attempts + 1, claimed_until = NULL, claimed_by = NULL WHERE id = ?1 AND " CLAIM_HELD;
	struct db_val v[] = { DBI(next_attempt), DBT(error) };

	return claim_end_pooled(st, sql, id, worker, v, 2, err, errlen);
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

int
fetchjob_give_up(struct store *st, long long id, const char *worker, const char *error,
    const struct outbox_item *ops, time_t now, int *told, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE fetch_jobs SET state = 'failed', last_error = ?3, attempts = attempts + 1,"
	    " claimed_until = NULL, claimed_by = NULL WHERE id = ?1 AND " CLAIM_HELD;
	struct db_val v[] = { DBT(error) };
	struct db *db = store_begin(st, err, errlen);
	int rc;

	*told = 0;
	if (db == NULL)
		return -1;
	if ((rc = claim_end(db, sql, id, worker, v, 1)) < 0) {
		store_error(db, err, errlen);
		store_abort(st, db);
		return -1;
	}
	if (rc == 0 && ops && outbox_add(db, ops, now, told, err, errlen) != 0) {
		store_abort(st, db);
		*told = 0;
		return -1;
	}
	if (store_commit(st, db, err, errlen) != 0) {
		*told = 0;
		return -1;
	}
	return rc;
}
