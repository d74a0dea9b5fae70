/*
 * fetchjobs - the links of link-only report mails, until their files are read
 *
 * The fetch_jobs table of the store (schema.c, the outbox's half). The milter
 * adds a job for an authenticated link-only report mail inside the mail's one
 * store transaction, BEFORE it answers the MTA: once the MTA has its answer
 * the link cannot be lost. One job per report (its reference), so a mail
 * delivered twice, or at two MX hosts, makes one job.
 *
 * Delivery workers (the daemon's thread, "shadowmilter deliver", other MX
 * hosts) claim a due job with a lease, as they claim notices (claim.h: a
 * dead process's jobs are taken back at once by the next process of its
 * host, as its notices are), fetch the link and run the file through the
 * pipeline (linkfetch.h); then the job is done, failed for good (with the
 * reason) or due again later (a 5xx, a timeout: backing off). Implemented
 * in store/fetchjobs.c.
 *
 * Owns: the strings of the jobs it returns.
 */
#ifndef SM_FETCHJOBS_H
#define SM_FETCHJOBS_H

#include <stddef.h>
#include <time.h>

struct db;
struct store;

struct fetch_job {
	long long id;
	char *report_ref;
	char *url;
	char *message_id;
	char *subject;
	char *auth;
	char *queue_id;			/* the report mail's, for the log; "" when unknown */
	int attempts;			/* tries before this one */
	time_t created;
};

/* fetchjob_add - JOB's link (its id ignored), inside the store transaction DB;
 * *ADDED is 1, or 0 when the report has one already */
int fetchjob_add(struct db *db, const struct fetch_job *job, time_t now, int *added, char *err, size_t errlen);

/* fetchjob_claim - a due job nobody holds, for WORKER until NOW + LEASE: 1 (*OUT), 0 none, -1 */
int fetchjob_claim(struct store *st, time_t now, long lease, const char *worker, struct fetch_job *out,
    char *err, size_t errlen);

/*
 * Ending a job: only the worker that still holds its claim ends it
 * (claim.h's claim_end). A worker whose lease ran out and whose job another
 * worker claimed meanwhile (or ended) gets CLAIM_LOST and changes nothing:
 * the job is the other worker's.
 */

/* fetchjob_finish - ID done (ERROR NULL) or failed for good (ERROR its reason): 0, CLAIM_LOST, -1 */
int fetchjob_finish(struct store *st, long long id, const char *worker, const char *error, char *err,
    size_t errlen);

/* fetchjob_retry - ID due again at NEXT_ATTEMPT (the claim ends), ERROR why it failed now: 0, CLAIM_LOST, -1 */
int fetchjob_retry(struct store *st, long long id, const char *worker, time_t next_attempt, const char *error,
    char *err, size_t errlen);

/* fetchjob_pending - jobs not yet done or failed (status, tests) */
int fetchjob_pending(struct store *st, long long *n, char *err, size_t errlen);

/*
 * fetchjob_give_up - ID failed for good (ERROR its reason) and, in the same
 * transaction, OPS (the mail that tells OpsAddress, or NULL) queued in the
 * outbox: only while WORKER still holds the claim, so ops hear of a job
 * once, from the worker that ended it. 0 (*TOLD is 1 when OPS was queued),
 * CLAIM_LOST (nothing changed, nothing queued), -1.
 */
struct outbox_item;
int fetchjob_give_up(struct store *st, long long id, const char *worker, const char *error,
    const struct outbox_item *ops, time_t now, int *told, char *err, size_t errlen);

void fetch_job_free(struct fetch_job *j);

#endif
