/*
 * test_digest - an account that takes a daily digest (AccountSettings digest
 * daily) gets its day's notices as ONE mail at DigestTime, through the real
 * pipeline and store: its notices are kept, not queued; the digest groups
 * them by type (what needs action first, each section with its own deadline
 * and hosts), says ACTION REQUIRED when one section does, goes to the
 * account's To and Cc, and is built once, also by two builders at once.
 *
 * Each test runs on a fresh SQLite file, then on a fresh PostgreSQL
 * database when SM_TEST_PG_URI names a server (tests/e2e/with-pg.sh).
 */
#include "test.h"
#include "testrig.h"

#include "config/config.h"
#include "customers/prefixmap.h"
#include "notice/digest.h"
#include "notice/notice.h"
#include "notice/template.h"
#include "pipeline/pipeline.h"
#include "store/digestparts.h"
#include "store/outbox.h"
#include "store/store.h"
#include "base/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Central European time as a POSIX TZ rule: no tzdata needed on the test machine */
#define BERLIN "CET-1CEST,M3.5.0,M10.5.0/3"

static const char *MAP =
    "prefix,account,email\n"
    "192.0.2.0/25,acme,ops@acme.example\n"
    "192.0.2.128/25,bob,bob@bob.example\n";

/* BOTH_STORES - NAME's body with a store in a fresh SQLite file, then in a fresh PostgreSQL database */
#define BOTH_STORES(name)						\
	static void name##_on(const char *uri);				\
	TEST(digest_sqlite, name)					\
	{ name##_on(TEST_RIG_SQLITE); }					\
	TEST(digest_pg, name)						\
	{ test_on_pg("smdigest", name##_on); }				\
	static void name##_on(const char *uri)

/* rig - MAP with ACCOUNTS (CSV text), the catalogue, the store at URI; the
 * digest's local time is UTC here, so the cut-offs below read as written */
static void
rig(struct test_rig *r, const char *uri, const char *accounts)
{
	struct test_rig_spec spec = { .map = MAP, .catalogue = 1, .history = uri, .outbox = uri,
	    .accounts = accounts };

	setenv("TZ", "UTC", 1);
	tzset();
	if (test_rig_init(r, &spec) != 0)
		abort();
}

/* run - a TYPE report dated DATE naming IPS (space separated), processed at WHEN */
static struct pipeline_result *
run(struct test_rig *r, const char *date, const char *when, const char *type, const char *ips)
{
	return test_rig_run_hosts(r, date, when, type, "tcp", ips);
}

/* queued - ACCOUNT's pending outbox rows: how many, the last one's message and recipients */
struct queued {
	const char *account;
	int found;
	char *message;
	struct buf rcpts;
	struct buf all;			/* every message, one after another */
};

static void
on_pending(void *ctx, const struct outbox_entry *e, time_t next_attempt)
{
	struct queued *q = ctx;
	size_t i;

	(void)next_attempt;
	if (strcmp(e->account, q->account) != 0)
		return;
	q->found++;
	free(q->message);
	q->message = xstrdup(e->message);
	buf_puts(&q->all, e->message);
	buf_reset(&q->rcpts);
	for (i = 0; i < e->nrecipients; i++)
		buf_printf(&q->rcpts, "%s ", e->recipients[i]);
}

static void
queued_for(struct test_rig *r, const char *account, struct queued *q)
{
	char err[512];

	free(q->message);
	buf_free(&q->rcpts);
	buf_free(&q->all);
	memset(q, 0, sizeof(*q));
	q->account = account;
	if (outbox_list_pending(r->st, on_pending, q, err, sizeof(err)) != 0)
		fprintf(stderr, "  %s\n", err);
}

static void
count_part(void *ctx, const struct digest_part *p)
{
	CHECK(*p->title != '\0');		/* a listing has the title, type and time */
	CHECK(*p->report_type != '\0');
	CHECK_STR(p->section, "");		/* not the section's text (history ACCOUNT shows none) */
	CHECK_INT(p->nto, 0);
	(*(size_t *)ctx)++;
}

/* waiting - ACCOUNT's parts waiting for a digest */
static size_t
waiting(struct test_rig *r, const char *account)
{
	size_t n = 0;
	char err[512];

	if (digest_parts_list(r->st, account, count_part, &n, err, sizeof(err)) != 0)
		fprintf(stderr, "  %s\n", err);
	return n;
}

/* parts_kept - every part in the store, waiting or in a digest */
static long long
parts_kept(struct test_rig *r)
{
	long long waiting_n, in_digest;
	char err[512];

	if (digest_parts_count(r->st, &waiting_n, &in_digest, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s\n", err);
		return -1;
	}
	return waiting_n + in_digest;
}

/* build - the digests due at WHEN; how many were built (-1: failed) */
static long
build(struct test_rig *r, const char *when)
{
	size_t built;
	char err[512];

	if (digest_build_due(r->cfg, r->st, test_time(when), 0, &built, NULL, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "  digest: %s\n", err);
		return -1;
	}
	return (long)built;
}

/* kept - RES made ACCOUNT's notice and kept it for the digest, not queued */
static int
kept(const struct pipeline_result *res, const char *account)
{
	const struct notice *n = test_notice_of(res, account);

	return n && n->made && n->digest && res->digest_kept == 1;
}

/* three_reports - on 2026-11-01: scan_docker (critical) for acme and bob,
 * scan_ssh and scan_ftp (info) for acme only */
static void
three_reports(struct test_rig *r)
{
	struct pipeline_result *res;
	struct pipeline_history h;

	res = run(r, "2026-11-01", "2026-11-01 10:00:00", "scan_docker", "192.0.2.10 192.0.2.200");
	REQUIRE(res != NULL);
	CHECK(kept(res, "acme"));
	CHECK(!test_notice_of(res, "bob")->digest);
	CHECK_INT(res->queued, 1);	/* bob's, per type as before */
	pipeline_history_counts(res, &h);
	CHECK_INT(h.digest, 1);
	pipeline_result_free(res);
	res = run(r, "2026-11-01", "2026-11-01 11:00:00", "scan_ssh", "192.0.2.11");
	CHECK(kept(res, "acme"));
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
	res = run(r, "2026-11-01", "2026-11-01 12:00:00", "scan_ftp", "192.0.2.12 192.0.2.13");
	CHECK(kept(res, "acme"));
	CHECK_INT(res->queued, 0);
	pipeline_result_free(res);
}

/* before - does A occur in S, and before B? */
static int
before(const char *s, const char *a, const char *b)
{
	const char *pa = strstr(s, a), *pb = strstr(s, b);

	return pa && pb && pa < pb;
}

BOTH_STORES(a_daily_digest_with_three_types_one_critical_and_two_info)
{
	struct test_rig r;
	struct queued q = { 0 };
	const char *m;

	rig(&r, uri, "account,digest,cc\nacme,daily,reseller@partner.example\n");
	three_reports(&r);
	queued_for(&r, "acme", &q);
	CHECK_INT(q.found, 0);			/* nothing of acme's goes out on its own */
	CHECK_INT(waiting(&r, "acme"), 3);
	CHECK_INT(build(&r, "2026-11-02 07:59:59"), 0);	/* DigestTime 08:00 not yet */
	CHECK_INT(build(&r, "2026-11-02 08:00:00"), 1);
	CHECK_INT(build(&r, "2026-11-02 08:00:30"), 0);	/* once */
	CHECK_INT(waiting(&r, "acme"), 0);
	CHECK_INT(parts_kept(&r), 3);		/* in the digest, kept RetainDays (365) */
	CHECK_INT(build(&r, "2027-11-02 08:00:00"), 0);
	CHECK_INT(parts_kept(&r), 0);
	queued_for(&r, "acme", &q);
	REQUIRE(q.found == 1);
	m = q.message;
	if (getenv("SM_TEST_SHOW_DIGEST"))
		fputs(m, stderr);
	CHECK(strstr(m, "\nSubject: [ACTION REQUIRED] Security digest for ") != NULL);
	CHECK(strstr(m, ": 3 reports\n") != NULL);
	CHECK(strstr(m, "\nTo: ops@acme.example\n") != NULL);
	CHECK(strstr(m, "\nCc: reseller@partner.example\n") != NULL);
	CHECK_STR(buf_cstr(&q.rcpts), "ops@acme.example reseller@partner.example ");
	CHECK(strstr(m, "\nX-Shadowmilter-Report-Type: digest\n") != NULL);
	CHECK(strstr(m, "\nMessage-ID: <shadowmilter.") != NULL);
	/* three sections, the critical one first with its deadline, each with its own hosts */
	CHECK(before(m, "ACTION REQUIRED: Accessible Docker Service", "Accessible FTP Service"));
	CHECK(before(m, "Accessible FTP Service", "Accessible SSH"));
	CHECK(strstr(m, "Please fix this by ") != NULL);
	CHECK(before(m, "192.0.2.10:111", "Accessible FTP Service"));
	CHECK(before(m, "Accessible FTP Service", "192.0.2.12:111"));
	CHECK(before(m, "192.0.2.13:111", "Accessible SSH"));
	CHECK(before(m, "Accessible SSH", "192.0.2.11:111"));
	CHECK(strstr(m, "192.0.2.200") == NULL);	/* bob's host is bob's */
	CHECK(strstr(m, "Dear customer,") != NULL && strstr(strstr(m, "Dear customer,") + 1, "Dear customer,") == NULL);
	CHECK(strstr(m, "Best regards,") != NULL && strstr(strstr(m, "Best regards,") + 1, "Best regards,") == NULL);
	free(q.message);
	buf_free(&q.rcpts);
	buf_free(&q.all);
	test_rig_free(&r);
}

BOTH_STORES(a_notice_after_the_cutoff_waits_for_the_next_days_digest)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct queued q = { 0 };

	rig(&r, uri, "account,digest\nacme,daily\n");
	three_reports(&r);
	CHECK_INT(build(&r, "2026-11-02 08:00:00"), 1);
	res = run(&r, "2026-11-02", "2026-11-02 09:00:00", "scan_ssh", "192.0.2.20");
	CHECK(kept(res, "acme"));
	pipeline_result_free(res);
	CHECK_INT(build(&r, "2026-11-02 23:59:59"), 0);
	CHECK_INT(waiting(&r, "acme"), 1);
	CHECK_INT(build(&r, "2026-11-03 08:00:00"), 1);
	queued_for(&r, "acme", &q);
	CHECK_INT(q.found, 2);
	REQUIRE(q.message != NULL);
	/* the second digest: one informational report, no ACTION REQUIRED */
	CHECK(strstr(q.message, "\nSubject: Security digest for ") != NULL);
	CHECK(strstr(q.message, ": 1 report\n") != NULL);
	CHECK(strstr(q.message, "192.0.2.20:111") != NULL);
	CHECK(strstr(q.message, "ACTION REQUIRED") == NULL);
	free(q.message);
	buf_free(&q.rcpts);
	buf_free(&q.all);
	test_rig_free(&r);
}

BOTH_STORES(a_german_account_gets_a_german_digest)
{
	struct test_rig r;
	struct queued q = { 0 };

	rig(&r, uri, "account,digest,language\nacme,daily,de\n");
	three_reports(&r);
	CHECK_INT(build(&r, "2026-11-02 08:00:00"), 1);
	queued_for(&r, "acme", &q);
	REQUIRE(q.found == 1);
	if (getenv("SM_TEST_SHOW_DIGEST"))
		fputs(q.message, stderr);
	/* "[HANDLUNGSBEDARF] Sicherheits...", RFC 2047 encoded (it has an umlaut) */
	CHECK(strstr(q.message, "\nSubject: =?UTF-8?B?W0hBTkRMVU5HU0JFREFSRl0gU2ljaGVyaGVpdHP") != NULL);
	CHECK(strstr(q.message, "\nContent-Language: de\n") != NULL);
	CHECK(strstr(q.message, "2. November 2026") != NULL);
	CHECK(strstr(q.message, "Bitte beheben Sie das Problem bis zum ") != NULL);
	free(q.message);
	buf_free(&q.rcpts);
	buf_free(&q.all);
	test_rig_free(&r);
}

/* two builders on stores of their own, started together */
struct builder {
	const char *uri;
	const struct config *cfg;
	time_t now;
	pthread_barrier_t *go;
	size_t built;
	int rc;
};

static void *
builder_run(void *arg)
{
	struct builder *b = arg;
	char err[512];
	struct store *st = store_open(b->uri, b->uri, 5000, err, sizeof(err));

	b->rc = -1;
	pthread_barrier_wait(b->go);
	if (st == NULL)
		fprintf(stderr, "  store: %s\n", err);
	else if ((b->rc = digest_build_due(b->cfg, st, b->now, 0, &b->built, NULL, NULL, err, sizeof(err))) != 0)
		fprintf(stderr, "  digest: %s\n", err);
	if (st)
		store_close(st);
	return NULL;
}

BOTH_STORES(two_hosts_building_at_once_make_one_digest)
{
	struct test_rig r;
	struct queued q = { 0 };
	pthread_barrier_t go;
	pthread_t t[2];
	struct builder b[2];
	int i;

	rig(&r, uri, "account,digest\nacme,daily\n");
	three_reports(&r);
	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < 2; i++) {
		b[i] = (struct builder){ r.db ? r.db : uri, r.cfg, test_time("2026-11-02 09:00:00"), &go, 0, 0 };
		pthread_create(&t[i], NULL, builder_run, &b[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	CHECK_INT(b[0].rc, 0);
	CHECK_INT(b[1].rc, 0);
	CHECK_INT(b[0].built + b[1].built, 1);
	queued_for(&r, "acme", &q);
	CHECK_INT(q.found, 1);
	CHECK_INT(waiting(&r, "acme"), 0);
	free(q.message);
	buf_free(&q.rcpts);
	buf_free(&q.all);
	test_rig_free(&r);
}

/* full_size - the size of ACCOUNT's digest of all its waiting parts, were it built at WHEN */
static size_t
full_size(struct test_rig *r, const char *account, const char *when)
{
	struct digest_part *parts = NULL;
	struct notice m;
	char err[512], day[48];
	struct db *db = store_begin(r->st, err, sizeof(err));
	size_t n = 0, size = 0;

	memset(&m, 0, sizeof(m));
	digest_cutoff(r->cfg, test_time(when), day, sizeof(day));
	if (db && digest_parts_waiting(db, account, test_time(when), &parts, &n, err, sizeof(err)) == 0 && n > 0 &&
	    digest_render(r->cfg, account, day, parts, n, test_time(when), &m, err, sizeof(err)) == 0)
		size = strlen(m.message);
	if (db)
		store_abort(r->st, db);
	digest_parts_free(parts, n);
	notice_free(&m);
	return size;
}

/* occurs - how many times NEEDLE is in S */
static int
occurs(const char *s, const char *needle)
{
	int k = 0;

	while ((s = strstr(s, needle)) != NULL) {
		k++;
		s += strlen(needle);
	}
	return k;
}

BOTH_STORES(a_day_over_digestmaxsize_makes_two_digests_none_lost_none_twice)
{
	struct test_rig r;
	struct queued q = { 0 };
	const char *all;
	size_t size;

	rig(&r, uri, "account,digest\nacme,daily\n");
	three_reports(&r);
	REQUIRE((size = full_size(&r, "acme", "2026-11-02 08:00:00")) > 0);
	r.cfg->digest_max_size = size - 1;	/* the three sections are a byte too many for one mail */
	CHECK_INT(build(&r, "2026-11-02 08:00:00"), 2);	/* in the same round */
	CHECK_INT(build(&r, "2026-11-02 08:00:30"), 0);
	CHECK_INT(waiting(&r, "acme"), 0);
	CHECK_INT(parts_kept(&r), 3);
	queued_for(&r, "acme", &q);
	CHECK_INT(q.found, 2);
	all = buf_cstr(&q.all);
	CHECK_INT(occurs(all, "\nSubject: "), 2);
	CHECK_INT(occurs(all, "192.0.2.10:111"), 1);	/* each host in one digest, once */
	CHECK_INT(occurs(all, "192.0.2.11:111"), 1);
	CHECK_INT(occurs(all, "192.0.2.12:111"), 1);
	CHECK_INT(occurs(all, "192.0.2.13:111"), 1);
	CHECK_INT(occurs(all, ": 2 reports\n") + occurs(all, ": 1 report\n"), 2);
	free(q.message);
	buf_free(&q.rcpts);
	buf_free(&q.all);
	test_rig_free(&r);
}

BOTH_STORES(a_digestmaxsize_below_one_section_makes_a_digest_per_part)
{
	struct test_rig r;
	struct queued q = { 0 };

	rig(&r, uri, "account,digest\nacme,daily\n");
	three_reports(&r);
	r.cfg->digest_max_size = 1;	/* one part always goes */
	CHECK_INT(build(&r, "2026-11-02 08:00:00"), 3);
	CHECK_INT(waiting(&r, "acme"), 0);
	queued_for(&r, "acme", &q);
	CHECK_INT(q.found, 3);
	CHECK_INT(occurs(buf_cstr(&q.all), ": 1 report\n"), 3);
	free(q.message);
	buf_free(&q.rcpts);
	buf_free(&q.all);
	test_rig_free(&r);
}

/* failures - the accounts digest_build_due said failed, and why */
static void
on_failed(void *ctx, const char *account, const char *why)
{
	buf_printf(ctx, "%s: %s\n", account, why);
}

BOTH_STORES(every_accounts_failed_digest_is_reported_and_its_parts_wait)
{
	struct test_rig r;
	struct buf failed = BUF_INIT;
	char err[512], path[512], *dir = test_tmpdir();
	size_t built;
	FILE *f;

	rig(&r, uri, "account,digest\nacme,daily\nbob,daily\n");
	pipeline_result_free(run(&r, "2026-11-01", "2026-11-01 10:00:00", "scan_docker", "192.0.2.10 192.0.2.200"));
	snprintf(path, sizeof(path), "%s/digest.txt", dir);
	REQUIRE((f = fopen(path, "w")) != NULL);
	fputs("Subject: {{date}}\n\n{{no_such_variable}}\n", f);
	fclose(f);
	free(r.cfg->template_dir);
	r.cfg->template_dir = xstrdup(dir);
	CHECK_INT(digest_build_due(r.cfg, r.st, test_time("2026-11-02 08:00:00"), 0, &built, on_failed, &failed,
	    err, sizeof(err)), 1);
	CHECK_INT(built, 0);
	CHECK(strstr(buf_cstr(&failed), "acme: ") != NULL && strstr(buf_cstr(&failed), "digest.txt") != NULL);
	CHECK(strstr(buf_cstr(&failed), "bob: ") != NULL);	/* the second account's too, not only the first's */
	CHECK_INT(waiting(&r, "acme"), 1);
	CHECK_INT(waiting(&r, "bob"), 1);
	buf_free(&failed);
	test_rig_free(&r);
	free(dir);
}

TEST(digest, digesttime_is_hh_mm_and_the_cutoff_is_the_last_one_passed)
{
	struct config *cfg = config_new();
	char err[256], day[48];

	setenv("TZ", "UTC", 1);
	tzset();
	CHECK_INT(cfg->digest_minute, 8 * 60);
	CHECK(cfg->digest_max_size == 4ULL << 20);
	CHECK(config_set(cfg, "DigestMaxSize", "64K", err, sizeof(err)) == 0 && cfg->digest_max_size == 64 << 10);
	CHECK(config_set(cfg, "DigestTime", "17:45", err, sizeof(err)) == 0);
	CHECK_INT(cfg->digest_minute, 17 * 60 + 45);
	CHECK(config_set(cfg, "DigestTime", "24:00", err, sizeof(err)) != 0);
	CHECK(config_set(cfg, "DigestTime", "7:00", err, sizeof(err)) != 0);
	CHECK(config_set(cfg, "DigestTime", "07:60", err, sizeof(err)) != 0);
	CHECK(digest_cutoff(cfg, test_time("2026-11-02 17:44:59"), day, sizeof(day)) ==
	    test_time("2026-11-01 17:45:00"));
	CHECK_STR(day, "2026-11-01");
	CHECK(digest_cutoff(cfg, test_time("2026-11-02 17:45:00"), day, sizeof(day)) ==
	    test_time("2026-11-02 17:45:00"));
	CHECK_STR(day, "2026-11-02");
	setenv("TZ", BERLIN, 1);	/* local time: 17:45 CET is 16:45 UTC */
	tzset();
	CHECK(digest_cutoff(cfg, test_time("2026-11-02 17:00:00"), day, sizeof(day)) ==
	    test_time("2026-11-02 16:45:00"));
	setenv("TZ", "UTC", 1);
	tzset();
	config_free(cfg);
}

/* cut_at - digest_cutoff at NOW (UTC) is CUT (UTC) of DAY */
static int
cut_at(const struct config *cfg, const char *now, const char *cut, const char *day)
{
	char got[48];
	time_t t = digest_cutoff(cfg, test_time(now), got, sizeof(got));

	if (t == test_time(cut) && strcmp(got, day) == 0)
		return 1;
	fprintf(stderr, "  at %s: cut-off %lld of %s, expected %s of %s\n", now, (long long)t, got, cut, day);
	return 0;
}

/* the day the clocks go back, 2026-10-25 in Berlin (03:00 CEST -> 02:00 CET, 01:00 UTC),
 * and the day they skip 02:00-03:00, 2026-03-29: the same cut-off whatever was asked before */
TEST(digest, a_digesttime_the_clocks_repeat_or_skip_gives_one_cutoff_in_every_process)
{
	struct config *cfg = config_new();
	char err[256];

	REQUIRE(config_set(cfg, "DigestTime", "02:30", err, sizeof(err)) == 0);
	setenv("TZ", BERLIN, 1);
	tzset();
	/* 02:30 comes twice on 10-25: at 00:30 UTC (CEST) and 01:30 UTC (CET); the first counts */
	CHECK(cut_at(cfg, "2026-10-25 00:40:00", "2026-10-25 00:30:00", "2026-10-25"));
	CHECK(cut_at(cfg, "2026-10-25 23:00:00", "2026-10-25 00:30:00", "2026-10-25"));	/* after midnight CET */
	CHECK(cut_at(cfg, "2026-10-25 01:40:00", "2026-10-25 00:30:00", "2026-10-25"));
	CHECK(cut_at(cfg, "2026-10-25 00:20:00", "2026-10-24 00:30:00", "2026-10-24"));
	CHECK(cut_at(cfg, "2026-10-26 00:00:00", "2026-10-25 00:30:00", "2026-10-25"));
	CHECK(cut_at(cfg, "2026-10-26 01:30:00", "2026-10-26 01:30:00", "2026-10-26"));
	/* 02:30 never shows on 03-29: the earlier reading, 02:30 CEST = 00:30 UTC */
	CHECK(cut_at(cfg, "2026-03-29 01:10:00", "2026-03-29 00:30:00", "2026-03-29"));
	CHECK(cut_at(cfg, "2026-03-29 00:20:00", "2026-03-28 01:30:00", "2026-03-28"));
	CHECK(cut_at(cfg, "2026-03-30 00:40:00", "2026-03-30 00:30:00", "2026-03-30"));
	setenv("TZ", "UTC", 1);
	tzset();
	config_free(cfg);
}

/* write_file - TEXT into DIR/NAME */
static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	REQUIRE((f = fopen(path, "w")) != NULL);
	fputs(text, f);
	fclose(f);
}

TEST(digest, a_site_digest_template_with_a_typo_fails_the_load_naming_its_file)
{
	struct config *cfg = config_new();
	struct template_set *set;
	char err[512], *dir = test_tmpdir();

	REQUIRE((set = notice_templates_load(cfg, err, sizeof(err))) != NULL);
	CHECK(digest_templates_check(cfg, set, err, sizeof(err)) == 0);	/* the shipped ones, English and de */
	template_set_free(set);
	free(cfg->template_dir);
	cfg->template_dir = xstrdup(dir);
	write_file(dir, "digest.txt", "Subject: {{date}}\n\n{{#sections}}{{section_titel}}{{/sections}}\n");
	REQUIRE((set = notice_templates_load(cfg, err, sizeof(err))) != NULL);
	CHECK(digest_templates_check(cfg, set, err, sizeof(err)) != 0);
	CHECK(strstr(err, "digest.txt") != NULL && strstr(err, "section_titel") != NULL);
	write_file(dir, "digest.txt", "Subject: {{date}}\n\nOurs: {{#sections}}{{section_title}}{{/sections}}\n");
	CHECK(digest_templates_check(cfg, set, err, sizeof(err)) == 0);
	template_set_free(set);
	config_free(cfg);
	free(dir);
}

/* "preview --digest" sorts its sample parts with digest_parts_order: the
 * order digest_parts_waiting's ORDER BY reads a store's parts in */
TEST(digest, digest_parts_order_is_the_stores_order)
{
	struct digest_part p[5];
	static const struct { const char *type; int action; time_t created; long long id; } in[5] = {
		{ "scan_ssh", 0, 100, 1 }, { "scan_portmapper", 1, 300, 2 }, { "scan_http", 0, 200, 3 },
		{ "scan_ntp", 1, 50, 4 }, { "scan_http", 0, 100, 5 },
	};
	static const long long want[5] = { 4, 2, 5, 3, 1 };	/* action first, then type, then age */
	size_t i;

	memset(p, 0, sizeof(p));
	for (i = 0; i < 5; i++) {
		p[i].report_type = (char *)in[i].type;
		p[i].action = in[i].action;
		p[i].created = in[i].created;
		p[i].id = in[i].id;
	}
	digest_parts_order(p, 5);
	for (i = 0; i < 5; i++)
		CHECK(p[i].id == want[i]);
}
