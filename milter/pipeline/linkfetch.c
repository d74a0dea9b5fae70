/*
 * linkfetch - the report behind a link-only mail, through the same pipeline
 *
 * See linkfetch.h.
 */
#include "pipeline/linkfetch.h"
#include "pipeline/pipeline.h"
#include "config/config.h"
#include "store/claim.h"
#include "store/fetchjobs.h"
#include "store/outbox.h"
#include "notice/mailheader.h"
#include "report/findings.h"
#include "base/util.h"

#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fetch_opts
linkfetch_opts(const struct config *cfg)
{
	struct fetch_opts o = { cfg->link_hosts, cfg->nlink_hosts, cfg->max_report_size, (long)cfg->fetch_timeout,
	    *cfg->ca_file ? cfg->ca_file : NULL, cfg->tmp_dir };

	return o;
}

enum fetch_outcome
linkfetch_into(struct pipeline *p, const struct config *cfg, const struct pipeline_result *mail, char *why,
    size_t whylen)
{
	struct fetch_opts o = linkfetch_opts(cfg);
	struct fetch_result res;
	struct buf vouch = BUF_INIT, reason = BUF_INIT;
	enum fetch_outcome out;

	if ((out = fetch_report(&o, mail->link, &res, why, whylen)) != FETCH_OK)
		return out;
	buf_printf(&vouch, "link of a report mail (%s)", mail->auth ? mail->auth : "authenticated");
	buf_printf(&reason, "link only: the report data was fetched from %s", mail->link);
	{
		struct pipeline_origin origin = { mail->report_ref, mail->message_id, mail->subject, mail->link,
		    "link", vouch.data, reason.data };

		pipeline_set_fetched(p, &origin);
	}
	if (pipeline_add_file(p, res.file, res.fd, res.zip) != 0) {
		err_set(why, whylen, "%.200s: the fetched file could not be read back", mail->link);
		out = FETCH_RETRY;
	}
	buf_free(&vouch);
	buf_free(&reason);
	fetch_result_free(&res);
	return out;
}

#define GONE_TRIES 3			/* a 404/410 is tried this often: the file may come late */

/* job_mail - the link-only mail as the job remembers it */
static struct pipeline_result
job_mail(const struct fetch_job *j)
{
	struct pipeline_result m;

	memset(&m, 0, sizeof(m));
	m.report = m.authenticated = 1;
	m.report_ref = j->report_ref;
	m.message_id = j->message_id;
	m.subject = j->subject;
	m.link = j->url;
	m.auth = j->auth;
	return m;
}

/* run_job - fetch J's link and run its file through a pipeline that queues notices */
static enum fetch_outcome
run_job(const struct linkfetch_env *env, const struct fetch_job *j, time_t now, struct buf *detail)
{
	struct pipeline *p = pipeline_new(env->cfg, env->map);
	struct pipeline_result mail = job_mail(j), *r = NULL;
	enum fetch_outcome out;
	char why[600];
	size_t notices, unmatched;
	unsigned long skipped;

	pipeline_set_accounts(p, env->accounts);
	pipeline_set_templates(p, env->templates);
	pipeline_set_store(p, env->store, 1);
	pipeline_set_now(p, now);
	pipeline_set_queue_id(p, *j->queue_id ? j->queue_id : NULL);
	if ((out = linkfetch_into(p, env->cfg, &mail, why, sizeof(why))) == FETCH_OK &&
	    pipeline_finish(p, &r, why, sizeof(why)) != 0)
		out = FETCH_RETRY;	/* the store: the file is fetched again next time */
	if (out == FETCH_OK) {
		pipeline_counts(r, &notices, &unmatched, &skipped);
		buf_printf(detail, "notices=%zu queued=%zu unmatched=%zu files=%zu", notices, r->queued, unmatched,
		    r->nreports);
		for (size_t i = 0; i < r->nreports; i++) {
			const struct report_file *rf = r->reports[i].rf;

			buf_printf(detail, "%s%s%s%s", i ? "; " : " file=", rf->file, rf->error ? ": " : rf->note ? ": " : "",
			    rf->error ? rf->error : rf->note ? rf->note : "");
		}
	} else
		buf_puts(detail, why);
	pipeline_result_free(r);
	pipeline_free(p);
	return out;
}

/* ops_mail - the mail that tells OpsAddress a report link was given up, and why */
static void
ops_mail(const struct config *cfg, const struct fetch_job *j, const char *why, struct buf *msg)
{
	struct tm tm;
	char when[64];

	gmtime_r(&j->created, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	header_append(msg, "From", cfg->notice_from);
	header_append(msg, "To", cfg->ops_address);
	header_append(msg, "Subject", "shadowmilter: a report link could not be fetched; no notices were sent for it");
	header_append(msg, "Auto-Submitted", "auto-generated");
	header_append(msg, "Content-Type", "text/plain; charset=utf-8");
	buf_puts(msg, "\nshadowmilter gave up fetching the report behind a link-only report mail, so the\n"
	    "customers in that report have not been told.\n\n");
	buf_printf(msg, "Reason:     %s\n", why);
	buf_printf(msg, "Link:       %s\n", j->url);
	buf_printf(msg, "Tries:      %d\n", j->attempts + 1);
	buf_printf(msg, "Report mail: %s, queue id %s, taken %s\n", *j->message_id ? j->message_id : "(no Message-ID)",
	    *j->queue_id ? j->queue_id : "unknown", when);
	buf_printf(msg, "Subject:    %s\n", j->subject);
	buf_printf(msg, "Reference:  %s (fetch job %lld)\n\n", j->report_ref, j->id);
	buf_puts(msg, "If ShadowServer still has the file, ask them to send the report again (attached or as a\n"
	    "new link); the log has this job's lines under the queue id. This mail is sent once per job.\n");
}

/* give_up - J fails for good with WHY; OpsAddress is told in the same transaction, once: 0, CLAIM_LOST, -1 */
static int
give_up(const struct linkfetch_env *env, const struct fetch_job *j, const char *worker, const char *why,
    time_t now, char *err, size_t errlen)
{
	const struct config *cfg = env->cfg;
	struct buf msg = BUF_INIT, key = BUF_INIT;
	char *to[1] = { cfg->ops_address };
	struct outbox_item it = { NULL, j->report_ref, "report-link", "ops", to, 1, NULL, j->queue_id };
	int told, rc;

	if (cfg->ops_address) {
		ops_mail(cfg, j, why, &msg);
		buf_printf(&key, "fetch-failed:%s", j->report_ref);
		it.key = buf_cstr(&key);
		it.message = buf_cstr(&msg);
	}
	rc = fetchjob_give_up(env->store, j->id, worker, why, cfg->ops_address ? &it : NULL, now, &told, err,
	    errlen);
	buf_free(&msg);
	buf_free(&key);
	return rc;
}

/* end_job - job J ended after OUT, as WORKER: done, failed, or due again (*COUNT, of STATS, says which);
 * 0, CLAIM_LOST, -1 */
static int
end_job(const struct linkfetch_env *env, const struct fetch_job *j, const char *worker, enum fetch_outcome out,
    const char *detail, time_t now, struct linkfetch_stats *stats, unsigned long **count, const char **outcome,
    char *err, size_t errlen)
{
	const struct config *cfg = env->cfg;
	long delay = (long)cfg->retry_interval << (j->attempts < 6 ? j->attempts : 6);
	int expired = cfg->max_retry_days && now - j->created > (time_t)cfg->max_retry_days * 86400;

	if (out == FETCH_OK) {
		*outcome = "fetched";
		*count = &stats->fetched;
		return fetchjob_finish(env->store, j->id, worker, NULL, err, errlen);
	}
	if (out == FETCH_FAILED || expired || (out == FETCH_GONE && j->attempts + 1 >= GONE_TRIES)) {
		*outcome = cfg->ops_address ? "not fetched, given up, OpsAddress told" : "not fetched, given up";
		*count = &stats->failed;
		return give_up(env, j, worker, detail, now, err, errlen);
	}
	*outcome = "not fetched, will try again";
	*count = &stats->retried;
	return fetchjob_retry(env->store, j->id, worker, now + (delay < 3600 ? delay : 3600), detail, err, errlen);
}

/*
 * settle - what becomes of job J after OUT, counted in STATS. A claim lost
 * meanwhile (our lease ran out and another worker took the job) changes
 * nothing: the job is the other worker's, and OUTCOME says so.
 */
static int
settle(const struct linkfetch_env *env, const struct fetch_job *j, const char *worker, enum fetch_outcome out,
    const char *detail, time_t now, struct linkfetch_stats *stats, const char **outcome, char *err,
    size_t errlen)
{
	unsigned long *count;
	int rc = end_job(env, j, worker, out, detail, now, stats, &count, outcome, err, errlen);

	if (rc == CLAIM_LOST) {
		stats->lost++;
		*outcome = out == FETCH_OK ? "fetched, but the claim was lost (the lease ran out and another worker"
		    " took the job): left to it" : "not fetched, and the claim was lost (the lease ran out and another"
		    " worker took the job): left to it";
		return 0;
	}
	if (rc == 0)
		(*count)++;
	return rc;
}

int
linkfetch_round(const struct linkfetch_env *env, time_t now, const char *worker, linkfetch_log_fn log, void *ctx,
    struct linkfetch_stats *stats, char *err, size_t errlen)
{
	struct fetch_job j;
	int rc;

	memset(stats, 0, sizeof(*stats));
	if (env->store == NULL || !store_has_outbox(env->store))
		return 0;
	while ((rc = fetchjob_claim(env->store, now, (long)env->cfg->delivery_lease, worker, &j, err, errlen)) == 1) {
		struct buf detail = BUF_INIT;
		enum fetch_outcome out = run_job(env, &j, now, &detail);
		const char *outcome = "";

		rc = settle(env, &j, worker, out, buf_cstr(&detail), now, stats, &outcome, err, errlen);
		if (log)
			log(ctx, &j, out != FETCH_OK, outcome, buf_cstr(&detail));
		buf_free(&detail);
		fetch_job_free(&j);
		if (rc != 0)
			return -1;
	}
	return rc < 0 ? -1 : 0;
}
