/*
 * test_linkfetch - a fetch job that ends in failure tells OpsAddress, once
 *
 * The job comes from a signed link-only mail run through the pipeline as the
 * milter runs it; the worker's round then cannot fetch it (its host is no
 * longer in ReportLinkHosts: refused before anything is asked), so the job
 * fails for good and the ops mail is queued in the outbox in the same
 * transaction. A second round, or a second worker ending the same job, tells
 * nobody again.
 */
#include "test.h"
#include "testmail.h"
#include "testrig.h"

#include "config/config.h"
#include "pipeline/linkfetch.h"
#include "pipeline/pipeline.h"
#include "store/claim.h"
#include "store/fetchjobs.h"
#include "store/outbox.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n";

/* queue_job - a link-only report mail through R's pipeline: one fetch job */
static int
queue_job(struct test_rig *r)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, NULL, NULL,
	    "The report content can be obtained from the following link:\n"
	    "https://dl.shadowserver.org/Gone-42\nThe report is 812 bytes and contains 4 events.\n",
	    "Message-ID: <gone-42@shadowserver.example>\n" };
	char *msg = testmail_build(&tm), err[512];
	struct pipeline_result *res = test_rig_run(r, msg, 1795000000, err, sizeof(err));
	int queued = res && res->fetch_queued;

	pipeline_result_free(res);
	free(msg);
	return queued;
}

/* round - one worker's round with the link's host taken out of ReportLinkHosts */
static struct linkfetch_stats
round_without_host(struct test_rig *r, time_t now, const char *worker)
{
	struct linkfetch_env env = { r->cfg, r->map, NULL, r->st, NULL };
	struct linkfetch_stats st;
	char *other[1] = { "elsewhere.example" }, **hosts = r->cfg->link_hosts, err[512];
	size_t nhosts = r->cfg->nlink_hosts;

	r->cfg->link_hosts = other;
	r->cfg->nlink_hosts = 1;
	if (linkfetch_round(&env, now, worker, NULL, NULL, &st, err, sizeof(err)) != 0)
		fprintf(stderr, "    linkfetch_round: %s\n", err);
	r->cfg->link_hosts = hosts;
	r->cfg->nlink_hosts = nhosts;
	return st;
}

/* ops_mails - the ops mails queued (claimed and counted), the last one's text in LAST */
static int
ops_mails(struct store *st, time_t now, char **last)
{
	struct outbox_entry e;
	char err[512];
	int n = 0;

	while (outbox_claim(st, now, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1) {
		if (strcmp(e.account, "ops") == 0 && e.nrecipients == 1 && strcmp(e.recipients[0], "ops@example.net") == 0) {
			n++;
			free(*last);
			*last = xstrdup(e.message);
		}
		outbox_entry_free(&e);
	}
	return n;
}

TEST(linkfetch, a_job_given_up_tells_opsaddress_once_with_the_reason)
{
	static const char *const settings[] = { "OpsAddress", "ops@example.net", NULL };
	struct test_rig_spec spec = { .map = MAP, .settings = settings, .catalogue = 1, .history = TEST_RIG_SQLITE,
	    .outbox = TEST_RIG_SQLITE, .queue_id = "QLINK1" };
	struct test_rig r;
	struct linkfetch_stats st;
	char *last = NULL, err[512];
	long long pending = -1;
	int told = -1;

	REQUIRE(test_rig_init(&r, &spec) == 0);
	REQUIRE(queue_job(&r));
	st = round_without_host(&r, 1795000100, "w1");
	CHECK_INT(st.failed, 1);
	CHECK(fetchjob_pending(r.st, &pending, err, sizeof(err)) == 0);
	CHECK_INT(pending, 0);
	CHECK_INT(ops_mails(r.st, 1795000100, &last), 1);
	REQUIRE(last != NULL);
	CHECK(strstr(last, "Subject: shadowmilter: a report link could not be fetched") != NULL);
	CHECK(strstr(last, "host dl.shadowserver.org is not in ReportLinkHosts") != NULL);
	CHECK(strstr(last, "Link:       https://dl.shadowserver.org/Gone-42") != NULL);
	CHECK(strstr(last, "queue id QLINK1") != NULL);
	CHECK(strstr(last, "<gone-42@shadowserver.example>") != NULL);
	st = round_without_host(&r, 1795000200, "w2");		/* nothing due any more */
	CHECK_INT(st.failed, 0);
	CHECK_INT(fetchjob_give_up(r.st, 1, "w1", "again", NULL, 1795000300, &told, err, sizeof(err)), CLAIM_LOST);
	CHECK_INT(told, 0);
	CHECK_INT(ops_mails(r.st, 1795000300, &last), 0);
	free(last);
	test_rig_free(&r);
}

TEST(linkfetch, without_opsaddress_a_job_given_up_queues_nothing)
{
	struct test_rig_spec spec = { .map = MAP, .catalogue = 1, .history = TEST_RIG_SQLITE,
	    .outbox = TEST_RIG_SQLITE, .queue_id = "QLINK2" };
	struct test_rig r;
	struct linkfetch_stats st;
	char *last = NULL;

	REQUIRE(test_rig_init(&r, &spec) == 0);
	REQUIRE(queue_job(&r));
	st = round_without_host(&r, 1795000100, "w1");
	CHECK_INT(st.failed, 1);
	CHECK_INT(ops_mails(r.st, 1795000100, &last), 0);
	free(last);
	test_rig_free(&r);
}
