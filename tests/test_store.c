/*
 * test_store - the store (history + outbox in one database), on both engines
 *
 * Every test here runs twice: on a fresh SQLite file (suite "store_sqlite")
 * and on a fresh PostgreSQL database (suite "store_pg"). The PostgreSQL half
 * needs SM_TEST_PG_URI, a libpq URI of a server where the test may create
 * databases; tests/run.sh starts a private one (tests/e2e/pg-lib.sh) and sets
 * it, so "make check" always runs both halves. Run alone without it, each PG
 * test says so on stderr and passes.
 */
#include "test.h"
#include "fakesmtp.h"
#include "testmail.h"
#include "testrig.h"

#include "config/config.h"
#include "notice/deliver.h"
#include "report/findings.h"
#include "store/claim.h"
#include "store/outbox.h"
#include "store/fileclaim.h"
#include "store/fetchjobs.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *MAP =
    "prefix,account,email\n"
    "192.0.2.0/25,acme,ops@acme.example\n"
    "192.0.2.128/25,bob,bob@bob.example\n";

/* --- a fresh database per test --------------------------------------------- */

static char *
sqlite_uri(void)
{
	char *dir = test_tmpdir();
	struct buf p = BUF_INIT;

	buf_printf(&p, "%s/store.db", dir);
	free(dir);
	return buf_steal(&p);
}

/* STORE_TEST - NAME's body runs with a fresh SQLite file, then a fresh PostgreSQL database */
#define STORE_TEST(name)						\
	static void name##_on(const char *uri);				\
	TEST(store_sqlite, name)					\
	{ char *u = sqlite_uri(); name##_on(u); free(u); }		\
	TEST(store_pg, name)						\
	{ test_on_pg("smtest", name##_on); }				\
	static void name##_on(const char *uri)

/* rig_on - the test config and MAP with the store at URI (history and outbox), as on each MX host */
static int
rig_on(struct test_rig *r, const char *uri)
{
	struct test_rig_spec spec = { .map = MAP, .history = uri, .outbox = uri, .queue_id = "QSTORE1" };

	return test_rig_init(r, &spec);
}

/* two_files_mail - one report mail whose zip holds two scan_portmapper files */
static char *
two_files_mail(void)
{
	struct testreport tr = { .message_id = "two-files@shadowserver.example", .zip = 1, .files = {
	    { "2026-11-24-scan_portmapper-net1.csv", "timestamp,ip,port,protocol\n"
		"2026-11-24 01:00:00,192.0.2.10,111,udp\n2026-11-24 01:00:00,192.0.2.130,111,udp\n" },
	    /* the same type with its columns in another order and one more: read by name */
	    { "2026-11-24-scan_portmapper-net2.csv", "ip,port,timestamp,hostname,protocol\n"
		"192.0.2.20,111,2026-11-24 02:00:00,h.example,udp\n" } } };

	return testreport_build(&tr);
}

struct claimed {
	char account[32];
	char message_id[128];
	char *message;
};

/* claim_all - every due notice, claimed at NOW; their number */
static size_t
claim_all(struct store *st, time_t now, struct claimed *out, size_t max)
{
	struct outbox_entry e;
	char err[512];
	size_t n = 0;

	while (n < max && outbox_claim(st, now, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1) {
		const char *id = strstr(e.message, "Message-ID: <");

		snprintf(out[n].account, sizeof(out[n].account), "%s", e.account);
		snprintf(out[n].message_id, sizeof(out[n].message_id), "%.*s", id ? (int)strcspn(id + 13, ">") : 0,
		    id ? id + 13 : "");
		out[n++].message = xstrdup(e.message);
		outbox_entry_free(&e);
	}
	return n;
}

static void
claimed_free(struct claimed *c, size_t n)
{
	while (n-- > 0)
		free(c[n].message);
}

/* --- one identity per notice ----------------------------------------------- */

STORE_TEST(two_same_type_files_give_each_account_one_notice_with_all_its_findings)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct claimed c[8];
	struct state_item *items;
	struct state_stream *streams;
	char *msg = two_files_mail(), err[512];
	size_t n, i, acme = 0, nitems, nstreams;

	REQUIRE(rig_on(&r, uri) == 0);
	res = test_rig_run(&r, msg, 1795000000, err, sizeof(err));
	REQUIRE(res != NULL);
	REQUIRE(res->nreports == 2);
	CHECK_INT(res->queued, 2);		/* acme once (both files' findings), bob once */
	CHECK(res->reports[1].merged_into != NULL);
	CHECK_INT(res->reports[0].nmade, 2);
	CHECK_INT(res->reports[1].nmade, 0);
	pipeline_result_free(res);
	n = claim_all(r.st, 1795000000, c, 8);
	CHECK_INT(n, 2);
	for (i = 0; i < n; i++) {
		if (strcmp(c[i].account, "acme") != 0)
			continue;
		acme++;
		CHECK(strstr(c[i].message, "192.0.2.10") != NULL);	/* net1 */
		CHECK(strstr(c[i].message, "192.0.2.20") != NULL);	/* net2 */
		CHECK(strstr(c[i].message, "192.0.2.130") == NULL);	/* bob's, never acme's */
	}
	CHECK_INT(acme, 1);
	CHECK(n == 2 && strcmp(c[0].message_id, c[1].message_id) != 0 && *c[0].message_id);
	claimed_free(c, n);
	/* the same mail again (an MTA retry): nothing new */
	res = test_rig_run(&r, msg, 1795000600, err, sizeof(err));
	REQUIRE(res != NULL);
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	/* the history keeps a stream per file, and counts both of acme's findings as notified, once */
	REQUIRE(state_streams(r.st, &streams, &nstreams, err, sizeof(err)) == 0);
	CHECK_INT(nstreams, 2);
	state_streams_free(streams, nstreams);
	REQUIRE(state_items(r.st, "acme", NULL, 0, &items, &nitems, err, sizeof(err)) == 0);
	CHECK_INT(nitems, 2);
	for (i = 0; i < nitems; i++) {
		CHECK(items[i].last_notified == 1795000000);
		CHECK_INT(items[i].times_reported, 1);
	}
	state_items_free(items, nitems);
	free(msg);
	test_rig_free(&r);
}

/* --- one identity per report file ------------------------------------------- */

/* portmapper_mail - a report mail MESSAGE_ID carrying FILE (acme's and bob's host) */
static char *
portmapper_mail(const char *message_id, const char *file)
{
	struct buf hdr = BUF_INIT;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, file, "timestamp,ip,port,protocol\n"
	    "2026-11-24 01:00:00,192.0.2.10,111,udp\n2026-11-24 01:00:00,192.0.2.130,111,udp\n", NULL, NULL };
	char *msg;

	buf_printf(&hdr, "Message-ID: <%s>\n", message_id);
	tm.extra_headers = hdr.data;
	msg = testmail_build(&tm);
	buf_free(&hdr);
	return msg;
}

/* run_as - MSG through R's pipeline as ROUTE brought it; its result */
static struct pipeline_result *
run_as(struct test_rig *r, const char *msg, const char *route, time_t now)
{
	struct pipeline *p = pipeline_new(r->cfg, r->map);
	struct pipeline_result *res = NULL;
	char err[512];

	pipeline_set_store(p, r->st, 1);
	pipeline_set_route(p, route);
	pipeline_set_now(p, now);
	pipeline_feed(p, msg, strlen(msg));
	if (pipeline_finish(p, &res, err, sizeof(err)) != 0)
		fprintf(stderr, "  pipeline: %s\n", err);
	pipeline_free(p);
	return res;
}

STORE_TEST(the_same_file_by_another_mail_or_route_makes_no_second_notice_or_history)
{
	static const char file[] = "2026-11-24-scan_portmapper-as64500.csv";
	struct test_rig r;
	struct pipeline_result *res;
	struct state_stream *streams;
	struct file_claim held;
	char *mail = portmapper_mail("first@shadowserver.example", file), err[512];
	char *again = portmapper_mail("second@shadowserver.example", "x/2026-11-24-scan_portmapper-as64500.csv.zip");
	char *link = portmapper_mail("link@shadowserver.example", file);
	struct claimed c[4];
	size_t n;

	REQUIRE(rig_on(&r, uri) == 0);
	res = run_as(&r, mail, "mail", 1795000000);
	REQUIRE(res != NULL && res->nreports == 1);
	CHECK_INT(res->queued, 2);			/* acme and bob */
	CHECK(!res->reports[0].already_applied);
	pipeline_result_free(res);
	/* the same file through a link's download, then in another mail: applied already */
	res = run_as(&r, link, "link", 1795000100);
	REQUIRE(res != NULL && res->nreports == 1);
	CHECK(res->reports[0].already_applied);
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	res = run_as(&r, again, "api", 1795000200);
	REQUIRE(res != NULL && res->nreports == 1);
	CHECK_INT(res->queued, 0);
	CHECK_INT(res->reports[0].nmade, 0);
	CHECK(res->reports[0].already_applied);
	CHECK(res->reports[0].rf->note && strstr(res->reports[0].rf->note, "already applied") &&
	    strstr(res->reports[0].rf->note, "by mail"));
	CHECK(res->reports[0].history == NULL);
	pipeline_result_free(res);
	/* the first mail again (an MTA retry) is its owner: replayed, nothing new queued */
	res = run_as(&r, mail, "mail", 1795000300);
	REQUIRE(res != NULL);
	CHECK(!res->reports[0].already_applied);
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	n = claim_all(r.st, 1795000400, c, 4);
	CHECK_INT(n, 2);				/* the first mail's two notices, no more */
	claimed_free(c, n);
	REQUIRE(state_streams(r.st, &streams, &n, err, sizeof(err)) == 0 && n == 1);
	CHECK_INT(streams[0].reports, 1);		/* one history entry */
	state_streams_free(streams, n);
	CHECK_INT(file_claim_get(r.st, "2026-11-24-scan_portmapper-as64500", &held, err, sizeof(err)), 1);
	CHECK_STR(held.route, "mail");
	file_claim_free(&held);
	CHECK_INT(file_claim_get(r.st, "2026-11-25-scan_portmapper-as64500", &held, err, sizeof(err)), 0);
	free(mail);
	free(again);
	free(link);
	test_rig_free(&r);
}

STORE_TEST(a_link_only_report_becomes_one_fetch_job_in_the_reports_transaction)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, NULL, NULL,
	    "The report content can be obtained from the following link:\n"
	    "https://dl.shadowserver.org/AbC-d_e?x=1\nFor more information: https://www.shadowserver.org/what-we-do/\n",
	    "Message-ID: <link-only@shadowserver.example>\n" };
	char *msg = testmail_build(&tm), err[512];
	long long n = -1;
	struct fetch_job j;

	REQUIRE(rig_on(&r, uri) == 0);
	res = run_as(&r, msg, "mail", 1795000000);
	REQUIRE(res != NULL && res->authenticated);
	CHECK_INT(res->nreports, 0);
	CHECK(res->fetch_queued);
	CHECK_STR(res->link, "https://dl.shadowserver.org/AbC-d_e?x=1");	/* not the documentation link */
	CHECK(strstr(res->reason, "will be fetched from https://dl.shadowserver.org/") != NULL);
	pipeline_result_free(res);
	res = run_as(&r, msg, "mail", 1795000100);	/* an MTA retry: the same job */
	REQUIRE(res != NULL);
	pipeline_result_free(res);
	CHECK(fetchjob_pending(r.st, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 1);
	REQUIRE(fetchjob_claim(r.st, 1795000200, 60, "test", &j, err, sizeof(err)) == 1);
	CHECK_STR(j.url, "https://dl.shadowserver.org/AbC-d_e?x=1");
	CHECK_STR(j.report_ref, "<link-only@shadowserver.example>");
	CHECK(fetchjob_claim(r.st, 1795000200, 60, "other", &(struct fetch_job){ 0 }, err, sizeof(err)) == 0);
	CHECK(fetchjob_retry(r.st, j.id, "test", 1795000500, "HTTP 503", err, sizeof(err)) == 0);
	CHECK(fetchjob_claim(r.st, 1795000300, 60, "other", &(struct fetch_job){ 0 }, err, sizeof(err)) == 0);
	fetch_job_free(&j);
	REQUIRE(fetchjob_claim(r.st, 1795000500, 60, "test", &j, err, sizeof(err)) == 1);
	CHECK(fetchjob_finish(r.st, j.id, "test", NULL, err, sizeof(err)) == 0);
	CHECK(fetchjob_pending(r.st, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 0);
	fetch_job_free(&j);
	free(msg);
	test_rig_free(&r);
}

/* queue_link_job - one fetch job on R, from a link-only mail taken at 1795000000 */
static int
queue_link_job(struct test_rig *r)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, NULL, NULL,
	    "The report content can be obtained from the following link:\n"
	    "https://dl.shadowserver.org/Lease-1\n", "Message-ID: <lease-1@shadowserver.example>\n" };
	char *msg = testmail_build(&tm);
	struct pipeline_result *res = run_as(r, msg, "mail", 1795000000);
	int queued = res && res->fetch_queued;

	pipeline_result_free(res);
	free(msg);
	return queued;
}

/*
 * w1's lease runs out while it works on the job and w2 claims it: w1's
 * finish, retry and give-up change nothing (CLAIM_LOST: no ops mail, the
 * job stays w2's), w2 ends it. A lease that ran out with nobody taking the
 * job over is still its worker's to end.
 */
STORE_TEST(a_fetch_job_another_worker_took_over_is_not_ended_by_the_first)
{
	struct test_rig r;
	struct fetch_job j1, j2, j3;
	char *to[1] = { "ops@example.net" }, err[512];
	struct outbox_item ops = { "fetch-failed:lease-1", "<lease-1@shadowserver.example>", "report-link", "ops", to,
	    1, "Subject: given up\n\nx\n", "" };
	struct outbox_entry e;
	long long n = -1;
	int told = -1;

	REQUIRE(rig_on(&r, uri) == 0);
	REQUIRE(queue_link_job(&r));
	REQUIRE(fetchjob_claim(r.st, 1795000200, 60, "w1", &j1, err, sizeof(err)) == 1);
	REQUIRE(fetchjob_claim(r.st, 1795000261, 60, "w2", &j2, err, sizeof(err)) == 1);	/* w1's lease ran out */
	CHECK(j2.id == j1.id);
	CHECK_INT(fetchjob_finish(r.st, j1.id, "w1", NULL, err, sizeof(err)), CLAIM_LOST);
	CHECK_INT(fetchjob_finish(r.st, j1.id, "w1", "HTTP 404", err, sizeof(err)), CLAIM_LOST);
	CHECK_INT(fetchjob_retry(r.st, j1.id, "w1", 1795000262, "HTTP 503", err, sizeof(err)), CLAIM_LOST);
	CHECK_INT(fetchjob_give_up(r.st, j1.id, "w1", "gone", &ops, 1795000262, &told, err, sizeof(err)), CLAIM_LOST);
	CHECK_INT(told, 0);
	CHECK_INT(outbox_claim(r.st, 1795000262, 60, "ops-reader", &e, err, sizeof(err)), 0);	/* no ops mail */
	CHECK(fetchjob_claim(r.st, 1795000262, 60, "w3", &j3, err, sizeof(err)) == 0);	/* still w2's */
	CHECK(fetchjob_pending(r.st, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 1);
	CHECK_INT(fetchjob_retry(r.st, j2.id, "w2", 1795000500, "HTTP 503", err, sizeof(err)), 0);
	CHECK_INT(fetchjob_finish(r.st, j2.id, "w2", NULL, err, sizeof(err)), CLAIM_LOST);	/* its claim ended */
	REQUIRE(fetchjob_claim(r.st, 1795000500, 60, "w3", &j3, err, sizeof(err)) == 1);
	CHECK_INT(j3.attempts, 1);					/* w2's try alone counted */
	CHECK_INT(fetchjob_finish(r.st, j3.id, "w3", NULL, err, sizeof(err)), 0);	/* lease over, nobody took it */
	CHECK_INT(fetchjob_finish(r.st, j3.id, "w3", NULL, err, sizeof(err)), CLAIM_LOST);	/* done already */
	CHECK(fetchjob_pending(r.st, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 0);
	fetch_job_free(&j1);
	fetch_job_free(&j2);
	fetch_job_free(&j3);
	test_rig_free(&r);
}

/* a refusal is recorded once: the same again is not news, another download id or limit is */
STORE_TEST(a_refused_file_is_recorded_once_per_download_and_limit)
{
	static const char key[] = "2026-11-24-scan_ntp-example-hosting";
	struct test_rig r;
	struct file_refusal got;
	struct file_claim held;
	char err[512];

	REQUIRE(rig_on(&r, uri) == 0);
	CHECK_INT(file_refusal_get(r.st, key, &got, err, sizeof(err)), 0);
	CHECK_INT(file_refusal_record(r.st, key, "big", "too large", "larger than MaxReportSize", 1048576, "L1", 1795000000,
	    err, sizeof(err)), 1);
	CHECK_INT(file_refusal_record(r.st, key, "big", "too large", "larger than MaxReportSize", 1048576, "L1", 1795000100,
	    err, sizeof(err)), 0);				/* another pull's: ops were told */
	REQUIRE(file_refusal_get(r.st, key, &got, err, sizeof(err)) == 1);
	CHECK_STR(got.api_id, "big");
	CHECK_STR(got.kind, "too large");
	CHECK_STR(got.reason, "larger than MaxReportSize");
	CHECK(got.max_size == 1048576);
	CHECK(got.refused_at == 1795000000);
	file_refusal_free(&got);
	CHECK_INT(file_refusal_record(r.st, key, "big", "too large", "larger", 2097152, "L1", 1795000200, err, sizeof(err)), 1);
	CHECK_INT(file_refusal_record(r.st, key, "big2", "too large", "larger", 2097152, "L1", 1795000300, err, sizeof(err)), 1);
	REQUIRE(file_refusal_get(r.st, key, &got, err, sizeof(err)) == 1);
	CHECK_STR(got.api_id, "big2");
	CHECK(got.refused_at == 1795000300);
	file_refusal_free(&got);
	CHECK_INT(file_claim_get(r.st, key, &held, err, sizeof(err)), 0);	/* no claim: a mail may still apply it */
	test_rig_free(&r);
}

/* a refusal over a limit keeps the limits it was made under; other limits make it news again */
STORE_TEST(a_refusal_keeps_the_limits_it_was_made_under)
{
	static const char key[] = "2026-11-24-scan_ntp-example-hosting";
	static const char lim1[] = "MaxReportSize=1048576 MaxCSVSize=4096 MaxRows=5000000";
	static const char lim2[] = "MaxReportSize=1048576 MaxCSVSize=1048576 MaxRows=5000000";
	struct test_rig r;
	struct file_refusal got;
	char err[512];

	REQUIRE(rig_on(&r, uri) == 0);
	CHECK_INT(file_refusal_record(r.st, key, "csv", "over a limit", "CSV larger than MaxCSVSize; file not used",
	    1048576, lim1, 1795000000, err, sizeof(err)), 1);
	CHECK_INT(file_refusal_record(r.st, key, "csv", "over a limit", "CSV larger than MaxCSVSize; file not used",
	    1048576, lim1, 1795000100, err, sizeof(err)), 0);
	REQUIRE(file_refusal_get(r.st, key, &got, err, sizeof(err)) == 1);
	CHECK_STR(got.kind, "over a limit");
	CHECK_STR(got.limits, lim1);
	CHECK(got.refused_at == 1795000000);
	file_refusal_free(&got);
	CHECK_INT(file_refusal_record(r.st, key, "csv", "over a limit", "more rows than MaxRows; file not used",
	    1048576, lim2, 1795000200, err, sizeof(err)), 1);	/* MaxCSVSize raised, another limit met */
	REQUIRE(file_refusal_get(r.st, key, &got, err, sizeof(err)) == 1);
	CHECK_STR(got.limits, lim2);
	CHECK_STR(got.reason, "more rows than MaxRows; file not used");
	CHECK(got.refused_at == 1795000200);
	file_refusal_free(&got);
	test_rig_free(&r);
}

/* --- a merged notice counts for every file it lists -------------------------- */

/* same_type_mail - a report mail dated DATE whose zip holds NET1 and NET2, two scan_portmapper files */
static char *
same_type_mail(const char *message_id, const char *date, const char *net1, const char *net2)
{
	struct buf name1 = BUF_INIT, name2 = BUF_INIT;
	struct testreport tr = { .message_id = message_id, .date = date, .zip = 1 };
	char *msg;

	buf_printf(&name1, "%s-scan_portmapper-net1.csv", date);
	buf_printf(&name2, "%s-scan_portmapper-net2.csv", date);
	tr.files[0] = (struct testmail_file){ name1.data, net1 };
	tr.files[1] = (struct testmail_file){ name2.data, net2 };
	msg = testreport_build(&tr);
	buf_free(&name1);
	buf_free(&name2);
	return msg;
}

/* notified_at - when a notice last named IP's open finding (0: never; -1: no such finding) */
static time_t
notified_at(struct store *st, const char *ip)
{
	struct state_item *items;
	char err[512];
	size_t n;
	time_t t = -1;

	if (state_items(st, NULL, ip, 1, &items, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "  state_items: %s\n", err);
		return -1;
	}
	if (n == 1)
		t = items[0].last_notified;
	state_items_free(items, n);
	return t;
}

/* sent_to - the due notices are sent; how many were ACCOUNT's (the last one's text in LISTING) */
static size_t
sent_to(struct store *st, time_t now, const char *account, char *listing, size_t listlen)
{
	struct outbox_entry e;
	char err[512];
	size_t mine = 0;

	*listing = '\0';
	while (outbox_claim(st, now, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1) {
		if (strcmp(e.account, account) == 0) {
			mine++;
			snprintf(listing, listlen, "%s", e.message);
		}
		if (outbox_mark_sent(st, e.id, now, err, sizeof(err)) != 0)
			fprintf(stderr, "  outbox_mark_sent: %s\n", err);
		outbox_entry_free(&e);
	}
	return mine;
}

STORE_TEST(a_merged_notice_counts_as_notified_for_every_file_it_lists)
{
	static const char net1[] = "timestamp,ip,port,protocol\n%s 01:00:00,192.0.2.10,111,udp\n"
	    "%s 01:00:00,192.0.2.130,111,udp\n";
	static const char net2[] = "timestamp,ip,port,protocol\n%s 02:00:00,192.0.2.20,111,udp\n";
	struct test_rig r;
	struct pipeline_result *res;
	struct buf a = BUF_INIT, b = BUF_INIT;
	char *msg, err[512], listing[8192];
	time_t day1 = test_time("2026-11-24 12:00:00"), day2 = test_time("2026-11-25 12:00:00");
	time_t day8 = test_time("2026-12-01 12:00:00");

	REQUIRE(rig_on(&r, uri) == 0);
	REQUIRE(config_set(r.cfg, "RenotifyInterval", "7d", err, sizeof(err)) == 0);
	/* day 1: net1 alone; acme and bob are told of their hosts */
	buf_printf(&a, net1, "2026-11-24", "2026-11-24");
	msg = test_rig_report(&r, "2026-11-24", "scan_portmapper", "net1", a.data);
	res = test_rig_run(&r, msg, day1, err, sizeof(err));
	REQUIRE(res != NULL);
	CHECK_INT(res->queued, 2);
	pipeline_result_free(res);
	free(msg);
	CHECK_INT(sent_to(r.st, day1, "acme", listing, sizeof(listing)), 1);
	/* day 2: net1 again (acme's and bob's notices held by RenotifyInterval) and net2 with a new host of
	 * acme's: acme gets one notice listing both files' hosts; bob gets none */
	buf_reset(&a);
	buf_printf(&a, net1, "2026-11-25", "2026-11-25");
	buf_printf(&b, net2, "2026-11-25");
	msg = same_type_mail("merged-day2@shadowserver.example", "2026-11-25", a.data, b.data);
	res = test_rig_run(&r, msg, day2, err, sizeof(err));
	REQUIRE(res != NULL);
	CHECK_INT(res->queued, 1);
	pipeline_result_free(res);
	CHECK_INT(sent_to(r.st, day2, "acme", listing, sizeof(listing)), 1);
	CHECK(strstr(listing, "192.0.2.10") != NULL);		/* net1's host, in the merged notice */
	CHECK(strstr(listing, "192.0.2.20") != NULL);
	CHECK(notified_at(r.st, "192.0.2.20") == day2);
	CHECK(notified_at(r.st, "192.0.2.10") == day2);		/* the notice named it: notified */
	CHECK(notified_at(r.st, "192.0.2.130") == day1);	/* bob was told nothing on day 2 */
	/* the same mail again (the MTA's retry): nothing changes */
	res = test_rig_run(&r, msg, day2 + 600, err, sizeof(err));
	REQUIRE(res != NULL);
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	free(msg);
	CHECK(notified_at(r.st, "192.0.2.10") == day2);
	/* day 8, a week after day 1: bob is reminded; acme was told on day 2, so not yet */
	buf_reset(&a);
	buf_reset(&b);
	buf_printf(&a, net1, "2026-12-01", "2026-12-01");
	buf_printf(&b, net2, "2026-12-01");
	msg = same_type_mail("merged-day8@shadowserver.example", "2026-12-01", a.data, b.data);
	res = test_rig_run(&r, msg, day8, err, sizeof(err));
	REQUIRE(res != NULL);
	CHECK_INT(res->queued, 1);
	pipeline_result_free(res);
	free(msg);
	CHECK_INT(sent_to(r.st, day8, "acme", listing, sizeof(listing)), 0);
	CHECK(notified_at(r.st, "192.0.2.10") == day2);		/* a held merged notice marks nothing */
	CHECK(notified_at(r.st, "192.0.2.20") == day2);
	CHECK(notified_at(r.st, "192.0.2.130") == day8);
	buf_free(&a);
	buf_free(&b);
	test_rig_free(&r);
}

/* --- a large report, recorded in batches ------------------------------------ */

/* ports_csv - one finding of acme's per port FIRST..LAST (192.0.2.10), detected on DATE */
static char *
ports_csv(int first, int last, const char *date)
{
	struct buf b = BUF_INIT;
	int port;

	buf_puts(&b, "timestamp,ip,port,protocol\n");
	for (port = first; port <= last; port++)
		buf_printf(&b, "%s 0%d:00:00,192.0.2.10,%d,tcp\n", date, port % 10, port);
	return buf_steal(&b);
}

/* outcome_counts - of RES's one group: findings new, and seen in two reports with DAY1's detection */
static void
outcome_counts(const struct pipeline_result *res, time_t day1, size_t *nnew, size_t *again)
{
	const struct state_group *g = &res->reports[0].history->groups[0];
	size_t j;

	*nnew = *again = 0;
	for (j = 0; j < res->reports[0].rf->groups[0].nfindings; j++) {
		*nnew += g->findings[j].is_new && g->findings[j].times_reported == 1;
		*again += !g->findings[j].is_new && g->findings[j].times_reported == 2 &&
		    g->findings[j].first_seen / 86400 == day1 / 86400;
	}
}

STORE_TEST(a_report_larger_than_a_batch_is_recorded_and_replayed_finding_by_finding)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct state_item *items;
	char *csv, *day2_msg, *msg, err[512];
	size_t nnew, again, nitems, i, notified = 0;
	time_t day1 = test_time("2026-11-24 12:00:00"), day2 = test_time("2026-11-25 12:00:00");

	REQUIRE(rig_on(&r, uri) == 0);
	/* day 1: 1,200 findings of acme, over two batches and a part */
	csv = ports_csv(1, 1200, "2026-11-24");
	msg = test_rig_report(&r, "2026-11-24", "scan_portmapper", "as64500", csv);
	res = test_rig_run(&r, msg, day1, err, sizeof(err));
	free(csv);
	free(msg);
	REQUIRE(res != NULL && res->nreports == 1 && res->reports[0].rf->ngroups == 1);
	CHECK_INT(res->reports[0].rf->groups[0].nfindings, 1200);
	outcome_counts(res, day1, &nnew, &again);
	CHECK_INT(nnew, 1200);
	CHECK_INT(res->queued, 1);
	pipeline_result_free(res);
	/* day 2: ports 601-1800: 600 seen again, 600 new, 600 gone (resolved) */
	csv = ports_csv(601, 1800, "2026-11-25");
	day2_msg = test_rig_report(&r, "2026-11-25", "scan_portmapper", "as64500", csv);
	free(csv);
	res = test_rig_run(&r, day2_msg, day2, err, sizeof(err));
	REQUIRE(res != NULL && res->reports[0].history != NULL && res->reports[0].rf->ngroups == 1);
	outcome_counts(res, day1, &nnew, &again);
	CHECK_INT(nnew, 600);
	CHECK_INT(again, 600);
	CHECK_INT(res->reports[0].history->resolved, 600);
	pipeline_result_free(res);
	/* the MTA's retry of day 2: the same outcome, read back, nothing written */
	res = test_rig_run(&r, day2_msg, day2 + 600, err, sizeof(err));
	REQUIRE(res != NULL && res->reports[0].history != NULL && res->reports[0].rf->ngroups == 1);
	CHECK(res->reports[0].history->replayed);
	outcome_counts(res, day1, &nnew, &again);
	CHECK_INT(nnew, 600);
	CHECK_INT(again, 600);
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	free(day2_msg);
	REQUIRE(state_items(r.st, "acme", NULL, 1, &items, &nitems, err, sizeof(err)) == 0);
	CHECK_INT(nitems, 1200);
	for (i = 0; i < nitems; i++)
		notified += items[i].last_notified == day2;
	CHECK_INT(notified, 1200);		/* the day-2 notice named every open finding */
	state_items_free(items, nitems);
	test_rig_free(&r);
}

/* --- one transaction ------------------------------------------------------- */

/* sql - raw SQL on the store, as another program would run it */
static int
sql(struct store *st, const char *text)
{
	char err[512];
	struct db *db = store_acquire(st, err, sizeof(err));
	int rc;

	if (db == NULL)
		return -1;
	if ((rc = db_exec(db, text)) != 0)
		fprintf(stderr, "  %s\n", db_error(db));
	store_release(st, db);
	return rc;
}

/* a store from before the limits were recorded (history 5, outbox 6) gets the column, its rows "" */
STORE_TEST(refusals_from_before_the_limits_column_are_migrated)
{
	static const char key[] = "2026-11-24-scan_ntp-example-hosting";
	struct test_rig r;
	struct file_refusal got;
	char err[512];

	REQUIRE(rig_on(&r, uri) == 0);
	REQUIRE(file_refusal_record(r.st, key, "z", "unreadable", "damaged zip", 1048576, "L", 1795000000, err,
	    sizeof(err)) == 1);
	REQUIRE(sql(r.st, "ALTER TABLE refused_files DROP COLUMN limits") == 0);
	REQUIRE(sql(r.st, "UPDATE schema_version SET version = 5 WHERE part = 'history'") == 0);
	REQUIRE(sql(r.st, "UPDATE schema_version SET version = 6 WHERE part = 'outbox'") == 0);
	store_close(r.st);
	r.st = store_open(uri, uri, 2000, err, sizeof(err));
	REQUIRE(r.st != NULL);
	REQUIRE(file_refusal_get(r.st, key, &got, err, sizeof(err)) == 1);
	CHECK_STR(got.kind, "unreadable");
	CHECK_STR(got.limits, "");		/* pull gives such a row one more try */
	file_refusal_free(&got);
	CHECK_INT(file_refusal_record(r.st, key, "z", "unreadable", "damaged zip", 1048576, "L", 1795000100, err,
	    sizeof(err)), 1);
	test_rig_free(&r);
}

STORE_TEST(history_and_notices_commit_together_or_not_at_all)
{
	struct test_rig r, other;
	struct pipeline_result *res;
	struct state_item *items;
	char *msg = two_files_mail(), err[512];
	size_t nitems;

	REQUIRE(rig_on(&r, uri) == 0);
	REQUIRE(rig_on(&other, uri) == 0);	/* another process, or host */
	REQUIRE(sql(other.st, "ALTER TABLE notices RENAME TO notices_away") == 0);
	res = test_rig_run(&r, msg, 1795000000, err, sizeof(err));
	CHECK(res == NULL);
	CHECK(strstr(err, "notices") != NULL);
	pipeline_result_free(res);
	/* the history of the failed report was rolled back with its notices */
	REQUIRE(state_items(other.st, NULL, NULL, 0, &items, &nitems, err, sizeof(err)) == 0);
	CHECK_INT(nitems, 0);
	state_items_free(items, nitems);
	REQUIRE(sql(other.st, "ALTER TABLE notices_away RENAME TO notices") == 0);
	store_close(r.st);		/* its connections knew the table gone */
	r.st = store_open(uri, uri, 2000, err, sizeof(err));
	REQUIRE(r.st != NULL);
	res = test_rig_run(&r, msg, 1795000060, err, sizeof(err));	/* the MTA's retry */
	REQUIRE(res != NULL);
	CHECK_INT(res->queued, 2);
	pipeline_result_free(res);
	REQUIRE(state_items(other.st, NULL, NULL, 0, &items, &nitems, err, sizeof(err)) == 0);
	CHECK_INT(nitems, 3);
	CHECK(nitems > 0 && items[0].times_reported == 1);
	state_items_free(items, nitems);
	free(msg);
	test_rig_free(&other);
	test_rig_free(&r);
}

/* --- claims ---------------------------------------------------------------- */

static void
queue(struct store *st, int n)
{
	static char *rcpt[] = { "ops@acme.example" };
	char err[512], key[32], account[32];
	size_t added;
	int i;

	for (i = 0; i < n; i++) {
		struct outbox_item it = { key, "<r@x>", "scan_ntp", account, rcpt, 1, "Subject: x\n\nbody\n", "Q1" };

		snprintf(key, sizeof(key), "k%d", i);
		snprintf(account, sizeof(account), "a%03d", i);
		if (outbox_commit(st, &it, 1, 1000, &added, err, sizeof(err)) != 0 || added != 1)
			fprintf(stderr, "  queue: %s\n", err);
	}
}

STORE_TEST(a_live_claim_is_never_handed_out_twice_an_expired_one_is_taken_over)
{
	struct test_rig r;
	struct outbox_entry a, b, c;
	struct outbox_counts counts;
	char err[512];

	REQUIRE(rig_on(&r, uri) == 0);
	queue(r.st, 2);
	REQUIRE(outbox_claim(r.st, 1000, 100, "worker-a", &a, err, sizeof(err)) == 1);
	REQUIRE(outbox_claim(r.st, 1000, 100, "worker-b", &b, err, sizeof(err)) == 1);
	CHECK(a.id != b.id);
	CHECK_INT(outbox_claim(r.st, 1050, 100, "worker-c", &c, err, sizeof(err)), 0);	/* both held */
	CHECK(outbox_get_counts(r.st, 1050, &counts, err, sizeof(err)) == 0);
	CHECK_INT(counts.claimed, 2);
	CHECK_INT(counts.pending, 2);
	/* worker a died; its lease runs out and worker c takes the notice over */
	CHECK(outbox_mark_sent(r.st, b.id, 1060, err, sizeof(err)) == 0);
	REQUIRE(outbox_claim(r.st, 1100, 100, "worker-c", &c, err, sizeof(err)) == 1);
	CHECK(c.id == a.id);
	CHECK(outbox_release(r.st, c.id, "worker-c", err, sizeof(err)) == 0);	/* a stop gives it back */
	outbox_entry_free(&c);
	REQUIRE(outbox_claim(r.st, 1101, 100, "worker-d", &c, err, sizeof(err)) == 1);
	CHECK(c.id == a.id);
	outbox_entry_free(&a);
	outbox_entry_free(&b);
	outbox_entry_free(&c);
	test_rig_free(&r);
}

/*
 * worker a's lease runs out while its MTA refuses the notice and worker c
 * claims it: a's retry, give-up and give-back change nothing (CLAIM_LOST),
 * so c's claim stands and no third worker is handed the notice
 */
STORE_TEST(a_notice_another_worker_took_over_is_not_retried_failed_or_released_by_the_first)
{
	struct test_rig r;
	struct outbox_entry a, c, d;
	struct outbox_counts counts;
	char err[512];

	REQUIRE(rig_on(&r, uri) == 0);
	queue(r.st, 1);
	REQUIRE(outbox_claim(r.st, 1000, 100, "worker-a", &a, err, sizeof(err)) == 1);
	REQUIRE(outbox_claim(r.st, 1100, 100, "worker-c", &c, err, sizeof(err)) == 1);	/* a's lease ran out */
	CHECK(c.id == a.id);
	CHECK_INT(outbox_mark_retry(r.st, a.id, "worker-a", 1101, "refused", err, sizeof(err)), CLAIM_LOST);
	CHECK_INT(outbox_mark_failed(r.st, a.id, "worker-a", "gave up", err, sizeof(err)), CLAIM_LOST);
	CHECK_INT(outbox_release(r.st, a.id, "worker-a", err, sizeof(err)), CLAIM_LOST);
	CHECK_INT(outbox_claim(r.st, 1101, 100, "worker-d", &d, err, sizeof(err)), 0);	/* still c's */
	CHECK(outbox_get_counts(r.st, 1101, &counts, err, sizeof(err)) == 0);
	CHECK_INT(counts.claimed, 1);
	CHECK_INT(counts.failed, 0);
	CHECK_INT(outbox_mark_retry(r.st, c.id, "worker-c", 1101, "refused", err, sizeof(err)), 0);
	REQUIRE(outbox_claim(r.st, 1101, 100, "worker-d", &d, err, sizeof(err)) == 1);
	CHECK_INT(d.attempts, 1);					/* c's try alone counted */
	outbox_entry_free(&a);
	outbox_entry_free(&c);
	outbox_entry_free(&d);
	test_rig_free(&r);
}

/* --- the sent mark around the MTA's answer to the end of DATA ----------------- */

/* an outside look at the one queued notice, from a store of its own (another worker) */
struct outside {
	struct store *st;
	int write_blocked_at_dot;	/* a write to the notice failed while the server held the dot */
	char state_at_dot[16];
	int took_over;			/* on_data: another worker took the claim over */
};

/* outside_write - touch the notice as another worker would; 0 when the write went through */
static int
outside_write(struct outside *o, const char *claimed_by)
{
	static const char sql[] = "UPDATE notices SET claimed_by = ?1";
	char err[512];
	struct db *db = store_acquire(o->st, err, sizeof(err));
	int rc;

	if (db == NULL)
		return -1;
	rc = DB_DO(db, sql, DBT(claimed_by));
	store_release(o->st, db);
	return rc;
}

/* notice_row - the one notice as committed: state, attempts, claimed_by, last_error */
static void
notice_row(struct store *st, char *state, int *attempts, char *claimed_by, char *last_error)
{
	static const char sql[] = "SELECT state, attempts, coalesce(claimed_by, ''), coalesce(last_error, '')"
	    " FROM notices";
	char err[512];
	struct db *db = store_acquire(st, err, sizeof(err));
	struct db_stmt *s;

	strcpy(state, "?");
	*attempts = -1;
	*claimed_by = *last_error = '\0';
	if (db == NULL)
		return;
	if ((s = DB_RUN0(db, sql)) != NULL && db_step(db, s) == 1) {
		snprintf(state, 16, "%s", db_text(s, 0));
		*attempts = (int)db_int(s, 1);
		snprintf(claimed_by, 64, "%s", db_text(s, 2));
		snprintf(last_error, 256, "%s", db_text(s, 3));
	}
	store_release(st, db);
}

static void
outside_at_dot(struct fakesmtp *f)
{
	struct outside *o = f->ctx;
	char by[64], last[256];
	int attempts;

	/* the mark is prepared: it holds the notice (SQLite: the write lock; PostgreSQL: the row) */
	o->write_blocked_at_dot = outside_write(o, "probe") != 0;
	notice_row(o->st, o->state_at_dot, &attempts, by, last);
}

static void
outside_takes_over(struct fakesmtp *f)
{
	struct outside *o = f->ctx;

	/* our lease ran out while the body went over; another worker claimed the notice */
	o->took_over = outside_write(o, "worker-b") == 0;
}

/* deliver_through - one queued notice, one deliver_pending through a fake server */
static void
deliver_through(const char *uri, const char *dot_reply, int take_over, struct fakesmtp *f, struct outside *o,
    struct deliver_stats *st, char *state, int *attempts, char *claimed_by, char *last_error)
{
	struct test_rig r;
	char err[512], transport[64];

	memset(f, 0, sizeof(*f));
	memset(o, 0, sizeof(*o));
	memset(st, 0, sizeof(*st));
	strcpy(state, "?");
	if (rig_on(&r, uri) != 0)
		return;
	queue(r.st, 1);
	/* a short wait for locks: the outside write must fail fast while the mark holds the notice */
	if ((o->st = store_open(uri, uri, 200, err, sizeof(err))) == NULL) {
		fprintf(stderr, "  store_open: %s\n", err);
		test_rig_free(&r);
		return;
	}
	f->dot_reply = dot_reply;
	f->on_dot = outside_at_dot;
	f->on_data = take_over ? outside_takes_over : NULL;
	f->ctx = o;
	if (fakesmtp_start(f) == 0) {
		fakesmtp_transport(f, transport, sizeof(transport));
		if (config_set(r.cfg, "Transport", transport, err, sizeof(err)) != 0 ||
		    deliver_pending(r.cfg, r.st, 1000, NULL, NULL, st, err, sizeof(err)) != 0)
			fprintf(stderr, "  deliver_pending: %s\n", err);
		fakesmtp_finish(f);
	}
	notice_row(r.st, state, attempts, claimed_by, last_error);
	store_close(o->st);
	test_rig_free(&r);
}

STORE_TEST(the_sent_mark_is_prepared_before_the_dot_and_committed_on_the_250)
{
	struct fakesmtp f;
	struct outside o;
	struct deliver_stats st;
	char state[16], by[64], last[256];
	int attempts;

	deliver_through(uri, NULL, 0, &f, &o, &st, state, &attempts, by, last);
	CHECK(fakesmtp_flag(&f.dot_seen));
	CHECK(o.write_blocked_at_dot);		/* prepared before the dot ... */
	CHECK_STR(o.state_at_dot, "pending");	/* ... but not committed until the 250 */
	CHECK_INT(st.sent, 1);
	CHECK_STR(state, "sent");
	CHECK_INT(attempts, 1);
	CHECK(fakesmtp_flag(&f.quit_seen));
}

/* refused_at_dot - the server answers the dot with REPLY: the mark rolls back, the notice is retried */
static void
refused_at_dot(const char *uri, const char *reply)
{
	struct fakesmtp f;
	struct outside o;
	struct deliver_stats st;
	char state[16], by[64], last[256];
	int attempts;

	deliver_through(uri, reply, 0, &f, &o, &st, state, &attempts, by, last);
	CHECK(fakesmtp_flag(&f.dot_seen));
	CHECK(o.write_blocked_at_dot);
	CHECK_INT(st.sent, 0);
	CHECK_INT(st.retried, 1);
	CHECK_STR(state, "pending");	/* due again after its backoff */
	CHECK_INT(attempts, 1);
	CHECK(*last != '\0');
}

STORE_TEST(a_4xx_to_the_dot_rolls_the_mark_back_and_the_notice_is_retried)
{
	refused_at_dot(uri, "451 4.3.0 try again later");
}

STORE_TEST(a_5xx_to_the_dot_rolls_the_mark_back_and_the_notice_is_retried)
{
	refused_at_dot(uri, "554 5.7.1 refused");
}

STORE_TEST(a_claim_taken_over_before_the_dot_withholds_it_and_leaves_the_notice_alone)
{
	struct fakesmtp f;
	struct outside o;
	struct deliver_stats st;
	char state[16], by[64], last[256];
	int attempts;

	deliver_through(uri, NULL, 1, &f, &o, &st, state, &attempts, by, last);
	CHECK(o.took_over);
	CHECK(!fakesmtp_flag(&f.dot_seen));	/* the mark could not be prepared: no dot, nothing accepted */
	CHECK_INT(st.sent, 0);
	CHECK_INT(st.retried, 0);
	CHECK_INT(st.released, 1);
	CHECK_STR(state, "pending");
	CHECK_INT(attempts, 0);
	CHECK_STR(by, "worker-b");		/* the other worker's claim is untouched */
}

TEST(store_sqlite, a_sent_marks_connection_goes_back_to_the_pool_with_fsyncing_commits)
{
	struct test_rig r;
	struct outbox_entry e;
	struct outbox_mark *m;
	struct db *db;
	struct db_stmt *s;
	char err[512], *uri = sqlite_uri();
	int level = -1;

	REQUIRE(rig_on(&r, uri) == 0);
	queue(r.st, 1);
	REQUIRE(outbox_claim(r.st, 1000, 100, "worker-a", &e, err, sizeof(err)) == 1);
	REQUIRE(outbox_mark_prepare(r.st, e.id, "worker-a", 1000, &m, err, sizeof(err)) == 1);
	CHECK(outbox_mark_blocks_writers(m));
	CHECK(outbox_mark_commit(m, err, sizeof(err)) == 0);
	/* the pool hands back the mark's connection: a report's commit on it must fsync (FULL = 2) */
	REQUIRE((db = store_acquire(r.st, err, sizeof(err))) != NULL);
	if ((s = DB_RUN0(db, "PRAGMA synchronous")) != NULL && db_step(db, s) == 1)
		level = (int)db_int(s, 0);
	store_release(r.st, db);
	CHECK_INT(level, 2);
	outbox_entry_free(&e);
	test_rig_free(&r);
	free(uri);
}

#define DELIVERERS 4
#define NOTICES 40

struct deliverer {
	const char *uri;
	long long got[NOTICES];
	int n, failures;
};

/* deliverer - a worker with its own store (a cron "deliver", another MX host) */
static void *
deliverer(void *arg)
{
	struct deliverer *d = arg;
	struct outbox_entry e;
	char err[512], name[32];
	struct store *st = store_open(d->uri, d->uri, 10000, err, sizeof(err));
	int rc;

	snprintf(name, sizeof(name), "worker-%p", (void *)d);
	if (st == NULL) {
		d->failures++;
		return NULL;
	}
	while ((rc = outbox_claim(st, 2000, OUTBOX_LEASE, name, &e, err, sizeof(err))) == 1) {
		if (d->n < NOTICES)
			d->got[d->n++] = e.id;
		if (outbox_mark_sent(st, e.id, 2000, err, sizeof(err)) != 0)
			d->failures++;
		outbox_entry_free(&e);
	}
	if (rc < 0) {
		fprintf(stderr, "  deliverer: %s\n", err);
		d->failures++;
	}
	store_close(st);
	return NULL;
}

STORE_TEST(deliverers_at_once_send_each_notice_exactly_once)
{
	struct test_rig r;
	struct deliverer d[DELIVERERS];
	pthread_t t[DELIVERERS];
	int seen[NOTICES + 1], i, j, total = 0, twice = 0;
	struct outbox_counts counts;
	char err[512];

	REQUIRE(rig_on(&r, uri) == 0);
	queue(r.st, NOTICES);
	memset(d, 0, sizeof(d));
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < DELIVERERS; i++) {
		d[i].uri = uri;
		CHECK(pthread_create(&t[i], NULL, deliverer, &d[i]) == 0);
	}
	for (i = 0; i < DELIVERERS; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(d[i].failures, 0);
		for (j = 0; j < d[i].n; j++) {
			total++;
			if (d[i].got[j] >= 1 && d[i].got[j] <= NOTICES)
				twice += seen[d[i].got[j]]++ > 0;
		}
	}
	CHECK_INT(total, NOTICES);
	CHECK_INT(twice, 0);
	CHECK(outbox_get_counts(r.st, 2000, &counts, err, sizeof(err)) == 0);
	CHECK_INT(counts.sent, NOTICES);
	test_rig_free(&r);
}

/* --- several hosts, one store ---------------------------------------------- */

STORE_TEST(two_hosts_share_first_detection_and_never_collide_on_references)
{
	struct test_rig mx1, mx2;
	struct pipeline_result *res;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-10-scan_portmapper-as64500.csv",
	    "timestamp,ip,port,protocol\n2026-11-10 08:00:00,192.0.2.10,111,udp\n", NULL,
	    "Message-ID: <day1@shadowserver.example>\n" };
	char *msg, err[512], ref1[STATE_REF_MAX] = "", ref2[STATE_REF_MAX] = "";
	time_t day1 = 0;

	REQUIRE(rig_on(&mx1, uri) == 0);
	REQUIRE(rig_on(&mx2, uri) == 0);
	msg = testmail_build(&tm);
	res = test_rig_run(&mx1, msg, 1794830000, err, sizeof(err));
	REQUIRE(res != NULL && res->reports[0].history != NULL);
	snprintf(ref1, sizeof(ref1), "%s", res->reports[0].history->groups[0].reference);
	pipeline_result_free(res);
	free(msg);
	/* two weeks later at the other MX: acme again, and bob for the first time */
	tm.filename = "2026-11-24-scan_portmapper-as64500.csv";
	tm.csv = "timestamp,ip,port,protocol\n2026-11-24 08:00:00,192.0.2.10,111,udp\n"
	    "2026-11-24 08:00:00,192.0.2.130,111,udp\n";
	tm.extra_headers = "Message-ID: <day15@shadowserver.example>\n";
	msg = testmail_build(&tm);
	res = test_rig_run(&mx2, msg, 1796040000, err, sizeof(err));
	REQUIRE(res != NULL && res->reports[0].history != NULL && res->reports[0].rf->ngroups == 2);
	CHECK_STR(res->reports[0].rf->groups[0].account->name, "acme");
	CHECK(parse_detection_time("2026-11-10 08:00:00", &day1) == 0);
	CHECK(res->reports[0].history->groups[0].findings[0].first_seen == day1);	/* MX1's detection */
	CHECK(!res->reports[0].history->groups[0].findings[0].is_new);
	CHECK_STR(res->reports[0].history->groups[0].reference, ref1);	/* the same case */
	snprintf(ref2, sizeof(ref2), "%s", res->reports[0].history->groups[1].reference);
	CHECK(*ref2 && strcmp(ref1, ref2) != 0);
	pipeline_result_free(res);
	free(msg);
	test_rig_free(&mx2);
	test_rig_free(&mx1);
}

/* --- silent streams expire by the clock -------------------------------------- */

static int
expire_at(struct test_rig *r, const char *when, struct pipeline_history *h)
{
	struct pipeline *p = pipeline_new(r->cfg, r->map);
	char err[512];
	int rc;

	pipeline_set_store(p, r->st, 1);
	pipeline_set_now(p, test_time(when));
	if ((rc = pipeline_expire(p, h, err, sizeof(err))) != 0)
		fprintf(stderr, "  pipeline_expire: %s\n", err);
	pipeline_free(p);
	return rc;
}

STORE_TEST(a_stream_that_stops_arriving_resolves_by_the_clock_and_confirms_once)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct pipeline_history h;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-10-scan_portmapper-as64500.csv",
	    "timestamp,ip,port,protocol\n2026-11-10 08:00:00,192.0.2.10,111,udp\n", NULL,
	    "Message-ID: <last-one@shadowserver.example>\n" };
	struct state_item *items;
	struct claimed c[4];
	char *msg, err[512];
	size_t n, nitems;
	time_t resolved = 0, arrived = 0;

	REQUIRE(rig_on(&r, uri) == 0);
	REQUIRE(config_set(r.cfg, "NotifyResolved", "yes", err, sizeof(err)) == 0);
	REQUIRE(config_set(r.cfg, "ResolveAfterDays", "7", err, sizeof(err)) == 0);
	msg = testmail_build(&tm);
	CHECK(parse_detection_time("2026-11-10 12:00:00", &arrived) == 0);
	res = test_rig_run(&r, msg, arrived, err, sizeof(err));	/* it arrives the day it is dated */
	REQUIRE(res != NULL && res->queued == 1);
	pipeline_result_free(res);
	free(msg);
	{	/* the notice is sent: out of the way */
		struct outbox_entry e;

		REQUIRE(outbox_claim(r.st, arrived, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1);
		CHECK(outbox_mark_sent(r.st, e.id, arrived, err, sizeof(err)) == 0);
		outbox_entry_free(&e);
	}
	/* no report ever comes again; the clock alone moves */
	REQUIRE(expire_at(&r, "2026-11-16 12:00:00", &h) == 0);
	CHECK_INT(h.expired, 0);				/* 6 days: not yet */
	REQUIRE(expire_at(&r, "2026-11-18 12:00:00", &h) == 0);
	CHECK_INT(h.expired, 1);
	CHECK_INT(h.closed, 1);
	CHECK_INT(h.queued, 1);					/* the NotifyResolved confirmation */
	REQUIRE(expire_at(&r, "2026-11-18 12:05:00", &h) == 0);	/* the next round, or another host */
	CHECK_INT(h.expired + h.closed + h.queued, 0);
	n = claim_all(r.st, 1795500000, c, 4);
	CHECK_INT(n, 1);
	CHECK(n == 1 && strcmp(c[0].account, "acme") == 0);
	claimed_free(c, n);
	REQUIRE(state_items(r.st, "acme", NULL, 0, &items, &nitems, err, sizeof(err)) == 0);
	CHECK_INT(nitems, 1);
	resolved = arrived + 7 * 86400;	/* 7 days after the last report arrived */
	CHECK(nitems == 1 && items[0].resolved_at == resolved);
	state_items_free(items, nitems);
	test_rig_free(&r);
}

STORE_TEST(an_old_report_that_arrives_late_is_not_resolved_by_the_clock_at_once)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct pipeline_history h;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-10-scan_portmapper-as64500.csv",
	    "timestamp,ip,port,protocol\n2026-11-10 08:00:00,192.0.2.10,111,udp\n", NULL,
	    "Message-ID: <late@shadowserver.example>\n" };
	char *msg, err[512];
	time_t now = 0;

	REQUIRE(rig_on(&r, uri) == 0);
	REQUIRE(config_set(r.cfg, "ResolveAfterDays", "7", err, sizeof(err)) == 0);
	msg = testmail_build(&tm);
	CHECK(parse_detection_time("2026-11-29 12:00:00", &now) == 0);	/* 19 days after its date */
	res = test_rig_run(&r, msg, now, err, sizeof(err));
	REQUIRE(res != NULL);
	pipeline_result_free(res);
	free(msg);
	REQUIRE(expire_at(&r, "2026-11-29 12:05:00", &h) == 0);
	CHECK_INT(h.expired, 0);	/* it arrived just now */
	REQUIRE(expire_at(&r, "2026-12-06 12:05:00", &h) == 0);
	CHECK_INT(h.expired, 1);	/* a week of silence since it arrived */
	test_rig_free(&r);
}

/* --- a server that restarts ------------------------------------------------------ */

TEST(store_pg, connections_the_server_dropped_are_replaced_without_a_tempfail)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-10-scan_portmapper-as64500.csv",
	    "timestamp,ip,port,protocol\n2026-11-10 08:00:00,192.0.2.10,111,udp\n", NULL,
	    "Message-ID: <before@shadowserver.example>\n" };
	char *uri = test_pg_database("smtest"), *msg, err[512];

	if (uri == NULL) {
		REQUIRE(getenv("SM_TEST_PG_URI") == NULL);
		SKIP("no SM_TEST_PG_URI: the PostgreSQL half did not run");
	}
	REQUIRE(rig_on(&r, uri) == 0);
	msg = testmail_build(&tm);
	res = test_rig_run(&r, msg, 1794830000, err, sizeof(err));	/* leaves a connection in the pool */
	CHECK(res != NULL && res->queued == 1);
	pipeline_result_free(res);
	free(msg);
	/* the server drops every connection to the database, as a restart would */
	CHECK(test_pg_admin(uri, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE datname = current_database() AND pid <> pg_backend_pid()") == 0);
	tm.extra_headers = "Message-ID: <after@shadowserver.example>\n";
	tm.filename = "2026-11-11-scan_portmapper-as64500.csv";	/* a file of its own */
	msg = testmail_build(&tm);
	res = test_rig_run(&r, msg, 1794830060, err, sizeof(err));
	CHECK(res != NULL);
	if (res == NULL)
		fprintf(stderr, "  %s\n", err);
	CHECK(res != NULL && res->queued == 1);
	pipeline_result_free(res);
	free(msg);
	test_rig_free(&r);
	free(uri);
}

/* --- errors ---------------------------------------------------------------- */

TEST(store_sqlite, errors_name_the_file_and_the_cause)
{
	char err[512];

	CHECK(store_open("/nonexistent-dir/history.db", NULL, 100, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent-dir/history.db: unable to open database file") != NULL);
	CHECK(strstr(err, "No such file or directory") != NULL);	/* the OS error */
}

TEST(store_pg, errors_name_the_connection_but_never_its_password)
{
	char err[512];

	CHECK(store_open("postgresql://sm:s3cret@127.0.0.1:1/nodb?password=s3cret&connect_timeout=2", NULL, 100, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "postgresql://sm@127.0.0.1:1/nodb?connect_timeout=2: ") != NULL);
	CHECK(strstr(err, "s3cret") == NULL);
	CHECK(strstr(err, "onnection refused") != NULL || strstr(err, "connect") != NULL);
}

TEST(store_pg, two_different_databases_for_history_and_outbox_are_refused)
{
	char err[512];

	CHECK(store_new("postgresql:///a", "postgresql:///b", 100, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "the same value") != NULL);
}

TEST(store_sqlite, a_connection_is_shown_without_its_password)
{
	static const char *const cases[][2] = {
		{ "/var/lib/shadowmilter/store.db", "/var/lib/shadowmilter/store.db" },
		{ "postgresql:///sm?host=/run/postgresql", "postgresql:///sm?host=/run/postgresql" },
		{ "postgresql://sm:pw@db.example/sm", "postgresql://sm@db.example/sm" },
		{ "postgres://db.example/sm?password=pw&port=5433", "postgres://db.example:5433/sm" },
		{ "postgresql://db.example/sm?port=5433&password=pw", "postgresql://db.example:5433/sm" },
		/* libpq decodes the keyword: so does the redaction */
		{ "postgresql://127.0.0.1:1/sm?pass%77ord=S3CRETPW", "postgresql://127.0.0.1:1/sm" },
		{ "postgresql://u%3Ax:p%40ss@[::1]:5432/s%20m?sslpassword=k&sslmode=require&application_name=a%26b",
		    "postgresql://u%3Ax@[::1]:5432/s%20m?application_name=a%26b&sslmode=require" },
		{ "postgresql:///sm?host=/run/postgresql&port=5433&password=pw",
		    "postgresql:///sm?host=/run/postgresql&port=5433" },
		{ "postgresql://h1:5432,h2:5433/sm?user=me&password=pw", "postgresql://me@/sm?host=h1%2Ch2&port=5432%2C5433" },
		{ "postgresql://db.example/sm?password=pw&bogus=1", "postgresql://(a connection libpq cannot parse)" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *w = db_where(cases[i][0]);

		CHECK_STR(w, cases[i][1]);
		free(w);
	}
}

/* private_mode - PATH exists and no one but its owner and group may read it,
 * nor its group write it */
static int
private_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "    %s: missing\n", path);
		return 0;
	}
	if (st.st_mode & 0027)
		fprintf(stderr, "    %s: mode %o\n", path, (unsigned)(st.st_mode & 07777));
	return (st.st_mode & 0027) == 0;
}

TEST(store_sqlite, the_database_and_its_wal_and_shm_are_not_world_readable_whatever_the_umask)
{
	char *dir = test_tmpdir(), path[4096], side[4200], err[512];
	mode_t old = umask(022);	/* a library user that set none */
	struct store *st;

	snprintf(path, sizeof(path), "%s/store.db", dir);
	st = store_open(path, path, 100, err, sizeof(err));
	umask(old);
	REQUIRE(st != NULL);
	CHECK(private_mode(path));
	snprintf(side, sizeof(side), "%s-wal", path);
	CHECK(private_mode(side));
	snprintf(side, sizeof(side), "%s-shm", path);
	CHECK(private_mode(side));
	store_close(st);
	/* one made 0644 by an older version is tightened when opened */
	CHECK(chmod(path, 0644) == 0);
	REQUIRE((st = store_open(path, path, 100, err, sizeof(err))) != NULL);
	CHECK(private_mode(path));
	store_close(st);
	free(dir);
}

/* --- claims of a process that is gone ----------------------------------- */

/* dead_worker - the owner name a process of this host had, the process gone */
static int
dead_worker(char *name, size_t len)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		pause();
		_exit(0);
	}
	if (claim_owner(pid, name, len) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid ? 0 : -1;
}

/* a queue under test: N rows due at 1000, and one claim of a row (its id, 0 none, -1 error) */
struct claim_queue_ops {
	enum claim_queue q;
	void (*fill)(struct store *st, int n);
	long long (*claim)(struct store *st, time_t now, const char *owner);
};

static long long
claim_notice(struct store *st, time_t now, const char *owner)
{
	struct outbox_entry e;
	char err[512];
	int rc = outbox_claim(st, now, 900, owner, &e, err, sizeof(err));
	long long id = rc == 1 ? e.id : rc;

	if (rc < 0)
		fprintf(stderr, "  outbox_claim: %s\n", err);
	outbox_entry_free(&e);
	return id;
}

static void
queue_jobs(struct store *st, int n)
{
	char err[512], ref[32];
	struct db *db = store_begin(st, err, sizeof(err));
	int i, added;

	for (i = 0; db && i < n; i++) {
		struct fetch_job j = { 0, ref, "https://dl.shadowserver.org/x", "<m@x>", "s", "dkim", "Q1", 0, 0 };

		snprintf(ref, sizeof(ref), "<r%d@x>", i);
		if (fetchjob_add(db, &j, 1000, &added, err, sizeof(err)) != 0 || added != 1)
			fprintf(stderr, "  queue_jobs: %s\n", err);
	}
	if (db == NULL || store_commit(st, db, err, sizeof(err)) != 0)
		fprintf(stderr, "  queue_jobs: %s\n", err);
}

static long long
claim_job(struct store *st, time_t now, const char *owner)
{
	struct fetch_job j;
	char err[512];
	int rc = fetchjob_claim(st, now, 900, owner, &j, err, sizeof(err));
	long long id = rc == 1 ? j.id : rc;

	if (rc < 0)
		fprintf(stderr, "  fetchjob_claim: %s\n", err);
	fetch_job_free(&j);
	return id;
}

static const struct claim_queue_ops notices_ops = { CLAIM_NOTICES, queue, claim_notice };
static const struct claim_queue_ops jobs_ops = { CLAIM_FETCH_JOBS, queue_jobs, claim_job };

/*
 * dead_claims_come_back_at_once - on queue OPS: five rows claimed at 1000
 * until 1900 by a dead process of this host, our pid with another start
 * time (reused), ourselves (live), another host, and a dead process from
 * before the last boot. Taken back at 1010: the three dead ones are due at
 * once, in order; the live one and the other host's wait for their lease.
 */
static void
dead_claims_come_back_at_once(const char *uri, const struct claim_queue_ops *ops)
{
	struct test_rig r;
	char err[512], dead[CLAIM_OWNER_MAX], live[CLAIM_OWNER_MAX], reused[CLAIM_OWNER_MAX], *colon;
	long long id[5], released[CLAIM_QUEUES];
	int i;

	if (claim_owner(getpid(), live, sizeof(live)) != 0)
		SKIP("no /proc: a process's start time is unknown here");
	REQUIRE(dead_worker(dead, sizeof(dead)) == 0);
	CHECK(claim_owner_is_dead(dead) && !claim_owner_is_dead(live));
	/* our own pid, but a process that started at another time: the pid was reused */
	colon = strchr(strchr(live, ':') + 1, ':');
	snprintf(reused, sizeof(reused), "%.*s:1:%s", (int)(colon - live), live, strrchr(live, ':') + 1);
	REQUIRE(rig_on(&r, uri) == 0);
	ops->fill(r.st, 5);
	REQUIRE((id[0] = ops->claim(r.st, 1000, dead)) > 0);
	REQUIRE((id[1] = ops->claim(r.st, 1000, reused)) > 0);
	REQUIRE((id[2] = ops->claim(r.st, 1000, live)) > 0);
	REQUIRE((id[3] = ops->claim(r.st, 1000, "mx2.example:4242:100:0123abcd")) > 0);
	memcpy(dead + strlen(dead) - 8, "00000000", 8);	/* a claim from before the last boot */
	REQUIRE((id[4] = ops->claim(r.st, 1000, dead)) > 0);
	REQUIRE(claim_take_back_dead(r.st, 1010, released, err, sizeof(err)) == 0);
	CHECK_INT(released[ops->q], 3);
	CHECK_INT(released[ops->q == CLAIM_NOTICES ? CLAIM_FETCH_JOBS : CLAIM_NOTICES], 0);
	for (i = 0; i < 5; i++)
		if (i != 2 && i != 3)
			CHECK(ops->claim(r.st, 1010, "worker-new") == id[i]);
	CHECK_INT(ops->claim(r.st, 1010, "worker-new"), 0);
	CHECK(claim_take_back_dead(r.st, 1011, released, err, sizeof(err)) == 0 && released[ops->q] == 0);
	/* the live one and the other host's are held to the end of their lease, then anyone's */
	CHECK_INT(ops->claim(r.st, 1899, "worker-new"), 0);
	CHECK(ops->claim(r.st, 1900, "worker-new") == id[2]);
	CHECK(ops->claim(r.st, 1900, "worker-new") == id[3]);
	test_rig_free(&r);
}

/* --- the report's identity: only what its signature covers (issue 17, item 3) --- */

/* unsigned_identity_mail - a signed report of acme's and bob's hosts in a file
 * outside ShadowServer's naming (no file claim guards it), whose h= covers
 * none of Message-ID, Subject and Date */
static char *
unsigned_identity_mail(void)
{
	static const char *const h[] = { "from", "to", "mime-version", "content-type", NULL };

	return testmail_signed_report("Subject: Shadowserver Open Portmapper Report\n"
	    "Date: Tue, 24 Nov 2026 06:00:00 +0000\nMessage-ID: <orig.1@shadowserver.org>\n", "portmapper.csv",
	    "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,111,udp\n"
	    "2026-11-24 01:00:00,192.0.2.130,111,udp\n", h);
}

STORE_TEST(a_report_replayed_under_another_message_id_or_date_queues_no_new_notice)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct claimed c[8];
	char *msg = unsigned_identity_mail();
	char *fresh = testmail_disguise(msg, "Message-ID", "Message-ID: <fresh.1@evil.example>\n");
	char *dated = testmail_disguise(fresh, "Date", "Date: Thu, 1 Jan 2032 00:00:00 +0000\n");
	size_t n;

	REQUIRE(rig_on(&r, uri) == 0);
	res = run_as(&r, msg, "mail", 1795000000);
	REQUIRE(res != NULL && res->authenticated && res->nreports == 1);
	CHECK_INT(res->queued, 2);			/* acme and bob */
	pipeline_result_free(res);
	res = run_as(&r, fresh, "mail", 1795000100);
	REQUIRE(res != NULL && res->authenticated && res->nreports == 1);
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	res = run_as(&r, dated, "mail", 1795000200);
	REQUIRE(res != NULL && res->authenticated && res->nreports == 1);
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	n = claim_all(r.st, 1795000300, c, 8);
	CHECK_INT(n, 2);				/* the first mail's two notices, no more */
	claimed_free(c, n);
	free(msg);
	free(fresh);
	free(dated);
	test_rig_free(&r);
}

/* with no history kept, the outbox alone knows a notice by the report's identity */
STORE_TEST(an_outbox_without_history_knows_a_replayed_report_by_its_signed_content)
{
	struct test_rig_spec spec = { .map = MAP, .outbox = uri, .queue_id = "QSTORE2" };
	struct test_rig r;
	struct pipeline_result *res;
	char *msg = unsigned_identity_mail();
	char *fresh = testmail_disguise(msg, "Message-ID", "Message-ID: <fresh.2@evil.example>\n");
	struct claimed c[8];
	size_t n;

	REQUIRE(test_rig_init(&r, &spec) == 0);
	res = run_as(&r, msg, "mail", 1795000000);
	REQUIRE(res != NULL && res->nreports == 1);
	CHECK_INT(res->queued, 2);
	pipeline_result_free(res);
	res = run_as(&r, fresh, "mail", 1795000100);
	REQUIRE(res != NULL && res->nreports == 1);
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	n = claim_all(r.st, 1795000300, c, 8);
	CHECK_INT(n, 2);
	claimed_free(c, n);
	free(msg);
	free(fresh);
	test_rig_free(&r);
}

STORE_TEST(a_restarted_daemon_takes_back_its_dead_processes_notices_at_once_other_hosts_keep_theirs)
{
	dead_claims_come_back_at_once(uri, &notices_ops);
}

STORE_TEST(a_restarted_daemon_takes_back_its_dead_processes_fetch_jobs_at_once_other_hosts_keep_theirs)
{
	dead_claims_come_back_at_once(uri, &jobs_ops);
}
