/*
 * linkfetch - the report behind a link-only mail, through the same pipeline
 *
 * An authenticated report mail that carries only a link (pipeline_result's
 * link) is read by fetching the link (report/fetch.h, under ReportLinkHosts,
 * MaxReportSize, FetchTimeout and CAFile) and running the file through a
 * pipeline of its own as that mail's report: the same history, claims and
 * notices as if the file had been attached. Used by replay (unless
 * --offline) and by the delivery worker's fetch jobs.
 *
 * Owns: nothing.
 */
#ifndef SM_LINKFETCH_H
#define SM_LINKFETCH_H

#include <stddef.h>
#include <time.h>

#include "report/fetch.h"

struct config;
struct fetch_job;
struct pipeline;
struct pipeline_result;
struct prefixmap;
struct store;
struct template_set;

/* what a fetched file is read with: the daemon's runtime, or a command's */
struct linkfetch_env {
	const struct config *cfg;
	const struct prefixmap *map;
	const struct template_set *templates;
	struct store *store;
	const struct account_table *accounts;	/* AccountSettings, or NULL */
};

/* linkfetch_opts - the fetch limits CFG sets */
struct fetch_opts linkfetch_opts(const struct config *cfg);

/*
 * linkfetch_into - fetch the link of MAIL (an authenticated link-only
 * report mail's result) into P (new, set up by the caller, not fed):
 * FETCH_OK and P holds the file as MAIL's report (pipeline_finish next);
 * else the reason in WHY
 */
enum fetch_outcome linkfetch_into(struct pipeline *p, const struct config *cfg, const struct pipeline_result *mail,
    char *why, size_t whylen);

/*
 * linkfetch_round - the due fetch jobs of ST (store/fetchjobs.h), one after
 * the other, as WORKER: each link fetched and its file run through the
 * pipeline as the milter runs a mail (history, claims, notices queued in the
 * outbox), then the job is done; a 5xx or a timeout is due again later
 * (backing off from RetryInterval), a 404/410 too for its first tries; a
 * refused link, a file too large or neither CSV nor zip, or a job older than
 * MaxRetryDays, fails for good. A job another worker claimed meanwhile (our
 * lease ran out) is left to it as it is (fetchjobs.h: CLAIM_LOST), counted
 * in lost. LOG gets one line per job. -1 with ERR when the store failed
 * (what was done is kept).
 */
struct linkfetch_stats {
	unsigned long fetched, retried, failed;
	unsigned long lost;		/* jobs another worker took over meanwhile (our lease ran out): left alone */
};
typedef void (*linkfetch_log_fn)(void *ctx, const struct fetch_job *job, int failed, const char *outcome,
    const char *detail);
int linkfetch_round(const struct linkfetch_env *env, time_t now, const char *worker, linkfetch_log_fn log,
    void *ctx, struct linkfetch_stats *stats, char *err, size_t errlen);

#endif
