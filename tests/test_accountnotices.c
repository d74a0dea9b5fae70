/*
 * test_accountnotices - what an account's AccountSettings do to its notices,
 * through the real pipeline and store: notify (all, action, none, a list)
 * withholds a notice but the history records it, cc adds recipients in Cc,
 * renotify overrides RenotifyInterval for the account, and the milter's
 * summary (X-Shadowmilter-Result) lists what was withheld.
 *
 * Each history test runs on a fresh SQLite file, then on a fresh PostgreSQL
 * database when SM_TEST_PG_URI names a server (tests/e2e/with-pg.sh).
 */
#include "test.h"
#include "fakemta.h"
#include "testrig.h"

#include "customers/accounts.h"
#include "customers/prefixmap.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "store/outbox.h"
#include "store/state.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP =
    "prefix,account,email\n"
    "192.0.2.0/25,acme,ops@acme.example\n"
    "192.0.2.128/25,bob,bob@bob.example\n";

/* BOTH_STORES - NAME's body with a history in a fresh SQLite file, then in a fresh PostgreSQL database */
#define BOTH_STORES(name)						\
	static void name##_on(const char *uri);				\
	TEST(accounts_sqlite, name)					\
	{ name##_on(TEST_RIG_SQLITE); }					\
	TEST(accounts_pg, name)						\
	{ test_on_pg("smacct", name##_on); }				\
	static void name##_on(const char *uri)

/* rig - MAP, ACCOUNTS (CSV text), the SETTINGS (key, value, ..., NULL) and the catalogue; history and outbox at URI */
static void
rig(struct test_rig *r, const char *uri, const char *accounts, const char *const *settings)
{
	struct test_rig_spec spec = { .map = MAP, .settings = settings, .catalogue = 1, .history = uri,
	    .outbox = uri, .accounts = accounts };

	if (test_rig_init(r, &spec) != 0)
		abort();
}

/* run - a TYPE report on DATE naming IPS (space separated), processed at noon */
static struct pipeline_result *
run(struct test_rig *r, const char *date, const char *type, const char *ips)
{
	char when[32];

	snprintf(when, sizeof(when), "%s 12:00:00", date);
	return test_rig_run_hosts(r, date, when, type, "udp", ips);
}

/* sent - did RES make ACCOUNT a notice? */
static int
sent(const struct pipeline_result *res, const char *account)
{
	const struct notice *n = test_notice_of(res, account);

	return n && n->made;
}

static int
withheld(const struct pipeline_result *res, const char *account)
{
	const struct notice *n = test_notice_of(res, account);

	return n && n->withheld && !n->made;
}

/* open_unnotified - ACCOUNT's open findings, and how many of them count as notified */
static size_t
open_findings(struct test_rig *r, const char *account, size_t *notified)
{
	struct state_item *items;
	size_t n = 0, i;
	char err[512];

	*notified = 0;
	if (state_items(r->st, account, NULL, 1, &items, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s\n", err);
		return 0;
	}
	for (i = 0; i < n; i++)
		*notified += items[i].last_notified != 0;
	state_items_free(items, n);
	return n;
}

static size_t
withheld_recorded(struct test_rig *r, const char *account, const char *type)
{
	struct state_withheld *w;
	size_t n = 0, i, k = 0;
	char err[512];

	if (state_withheld(r->st, account, &w, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s\n", err);
		return 0;
	}
	for (i = 0; i < n; i++)
		k += strcmp(w[i].report_type, type) == 0 && strcmp(w[i].account, account) == 0;
	state_withheld_free(w, n);
	return k;
}

BOTH_STORES(notify_none_withholds_the_notice_and_the_history_records_it)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct pipeline_history h;
	size_t notified;

	rig(&r, uri, "account,notify\nacme,none\n", NULL);
	res = run(&r, "2026-11-01", "scan_portmapper", "192.0.2.10 192.0.2.11 192.0.2.200");
	REQUIRE(res != NULL);
	CHECK(withheld(res, "acme"));
	CHECK(sent(res, "bob"));
	CHECK_INT(res->queued, 1);		/* bob's only */
	pipeline_history_counts(res, &h);
	CHECK_INT(h.withheld, 1);
	CHECK_INT(h.held, 0);
	CHECK_INT(open_findings(&r, "acme", &notified), 2);	/* overdue still sees them */
	CHECK_INT(notified, 0);			/* nobody was told */
	CHECK_INT(withheld_recorded(&r, "acme", "scan_portmapper"), 1);
	CHECK_INT(withheld_recorded(&r, "bob", "scan_portmapper"), 0);
	pipeline_result_free(res);
	res = run(&r, "2026-11-02", "scan_portmapper", "192.0.2.10");	/* withheld again, recorded again */
	CHECK(withheld(res, "acme"));
	CHECK_INT(withheld_recorded(&r, "acme", "scan_portmapper"), 2);
	pipeline_result_free(res);
	test_rig_free(&r);
}

BOTH_STORES(notify_all_and_no_row_send_as_before)
{
	struct test_rig r;
	struct pipeline_result *res;
	size_t notified;

	rig(&r, uri, "account,notify\nacme,all\n", NULL);
	res = run(&r, "2026-11-01", "scan_portmapper", "192.0.2.10 192.0.2.200");
	CHECK(sent(res, "acme"));
	CHECK(sent(res, "bob"));	/* no row: every default */
	CHECK_INT(open_findings(&r, "acme", &notified), 1);
	CHECK_INT(notified, 1);
	CHECK_INT(withheld_recorded(&r, "acme", "scan_portmapper"), 0);
	pipeline_result_free(res);
	test_rig_free(&r);
}

BOTH_STORES(notify_action_withholds_only_informational_notices)
{
	static const char *const settings[] = { "ActionSeverities", "critical high medium", NULL };
	struct test_rig r;
	struct pipeline_result *res;

	rig(&r, uri, "account,notify\nacme,action\n", settings);
	res = run(&r, "2026-11-01", "scan_portmapper", "192.0.2.10 192.0.2.200");	/* medium: action */
	CHECK(sent(res, "acme"));
	pipeline_result_free(res);
	res = run(&r, "2026-11-01", "device_id", "192.0.2.10 192.0.2.200");	/* info */
	CHECK(withheld(res, "acme"));
	CHECK(sent(res, "bob"));
	CHECK_INT(withheld_recorded(&r, "acme", "device_id"), 1);
	CHECK_INT(withheld_recorded(&r, "acme", "scan_portmapper"), 0);
	pipeline_result_free(res);
	test_rig_free(&r);
}

BOTH_STORES(a_notify_list_withholds_its_types_and_severities_only)
{
	struct test_rig r;
	struct pipeline_result *res;

	rig(&r, uri, "account,notify\nacme,\"scan_ntp; info\"\n", NULL);
	res = run(&r, "2026-11-01", "scan_ntp", "192.0.2.10");
	CHECK(withheld(res, "acme"));
	pipeline_result_free(res);
	res = run(&r, "2026-11-01", "device_id", "192.0.2.10");	/* severity info */
	CHECK(withheld(res, "acme"));
	pipeline_result_free(res);
	res = run(&r, "2026-11-01", "scan_portmapper", "192.0.2.10");	/* medium, not listed */
	CHECK(sent(res, "acme"));
	pipeline_result_free(res);
	test_rig_free(&r);
}

BOTH_STORES(renotify_overrides_renotifyinterval_for_the_account)
{
	static const char *const settings[] = { "RenotifyInterval", "7d", NULL };
	struct test_rig r;
	struct pipeline_result *res;
	const char *ips = "192.0.2.10 192.0.2.200";

	rig(&r, uri, "account,renotify\nacme,1d\nbob,never\n", settings);
	res = run(&r, "2026-11-01", "scan_portmapper", ips);	/* new findings: both told */
	CHECK(sent(res, "acme") && sent(res, "bob"));
	pipeline_result_free(res);
	res = run(&r, "2026-11-02", "scan_portmapper", ips);	/* a day on: acme's 1d passed */
	CHECK(sent(res, "acme"));
	CHECK(!sent(res, "bob") && test_notice_of(res, "bob")->held);
	pipeline_result_free(res);
	res = run(&r, "2026-11-09", "scan_portmapper", ips);	/* 8 days on: RenotifyInterval passed, bob: never */
	CHECK(sent(res, "acme"));
	CHECK(!sent(res, "bob"));
	pipeline_result_free(res);
	res = run(&r, "2026-11-10", "scan_portmapper", "192.0.2.10 192.0.2.200 192.0.2.201");	/* a new finding */
	CHECK(sent(res, "bob"));
	pipeline_result_free(res);
	test_rig_free(&r);
}

/* header_block - the headers of M (up to the blank line) */
static char *
header_block(const char *m)
{
	const char *end = strstr(m, "\n\n");

	return xstrndup(m, end ? (size_t)(end - m) + 1 : strlen(m));
}

/* queued - what the outbox holds for one account: its recipients and headers */
struct queued {
	const char *account;
	struct buf rcpts;	/* "a b " */
	char *headers;
	int found;
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
	for (i = 0; i < e->nrecipients; i++)
		buf_printf(&q->rcpts, "%s ", e->recipients[i]);
	free(q->headers);
	q->headers = header_block(e->message);
}

/* queued_for - ACCOUNT's queued notice in R's outbox */
static void
queued_for(struct test_rig *r, const char *account, struct queued *q)
{
	char err[512];

	memset(q, 0, sizeof(*q));
	q->account = account;
	if (outbox_list_pending(r->st, on_pending, q, err, sizeof(err)) != 0)
		fprintf(stderr, "  %s\n", err);
}

static void
queued_free(struct queued *q)
{
	buf_free(&q->rcpts);
	free(q->headers);
}

BOTH_STORES(cc_adds_the_accounts_extra_recipients_in_cc)
{
	struct test_rig r;
	struct pipeline_result *res;
	struct queued q;

	rig(&r, uri, "account,cc\nacme,\"reseller@partner.example; OPS@acme.example\"\n", NULL);
	res = run(&r, "2026-11-01", "scan_portmapper", "192.0.2.10 192.0.2.200");
	CHECK(sent(res, "acme"));
	queued_for(&r, "acme", &q);
	REQUIRE(q.found == 1);
	CHECK(strstr(q.headers, "\nTo: ops@acme.example\n") != NULL);
	CHECK(strstr(q.headers, "\nCc: reseller@partner.example\n") != NULL);	/* To's address is not copied again */
	CHECK_STR(buf_cstr(&q.rcpts), "ops@acme.example reseller@partner.example ");
	queued_free(&q);
	queued_for(&r, "bob", &q);
	REQUIRE(q.found == 1);
	CHECK(strstr(q.headers, "\nCc:") == NULL);
	CHECK_STR(buf_cstr(&q.rcpts), "bob@bob.example ");
	queued_free(&q);
	pipeline_result_free(res);
	test_rig_free(&r);
}

TEST(accounts, a_long_cc_list_is_folded_never_cut)
{
	struct buf csv = BUF_INIT;
	struct test_rig r;
	struct pipeline_result *res;
	const struct notice *n;
	char *h, *line, *save = NULL, addr[64];
	int i, longest = 0;

	buf_puts(&csv, "account,cc\nacme,\"");
	for (i = 0; i < 12; i++)
		buf_printf(&csv, "%sreseller-number-%02d@partner-with-a-long-name.example", i ? ", " : "", i);
	buf_puts(&csv, "\"\n");
	rig(&r, NULL, csv.data, NULL);
	res = run(&r, "2026-11-01", "scan_portmapper", "192.0.2.10");
	REQUIRE((n = test_notice_of(res, "acme")) != NULL && n->made);
	CHECK_INT(n->ncc, 12);
	h = header_block(n->message);
	for (i = 0; i < 12; i++) {
		snprintf(addr, sizeof(addr), "reseller-number-%02d@partner-with-a-long-name.example", i);
		CHECK(strstr(h, addr) != NULL);
	}
	for (line = strtok_r(h, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if ((int)strlen(line) > longest)
			longest = (int)strlen(line);
	CHECK(longest <= 78);
	free(h);
	pipeline_result_free(res);
	test_rig_free(&r);
	buf_free(&csv);
}

TEST(accounts, without_a_history_notify_none_still_withholds)
{
	struct test_rig r;
	struct pipeline_result *res;

	rig(&r, NULL, "account,notify\nacme,none\n", NULL);
	res = run(&r, "2026-11-01", "scan_portmapper", "192.0.2.10 192.0.2.200");
	CHECK(withheld(res, "acme"));
	CHECK(sent(res, "bob"));
	pipeline_result_free(res);
	test_rig_free(&r);
}

TEST(accounts, the_milter_summary_lists_a_withheld_notice)
{
	struct test_rig r;
	struct fake_mta mta = FAKE_MTA_INIT;
	struct filter_env env;
	char *msg;

	rig(&r, TEST_RIG_SQLITE, "account,notify\nacme,none\n", NULL);
	env = test_rig_env(&r);
	msg = test_rig_report(&r, "2026-11-01", "scan_portmapper", "as64500",
	    "timestamp,ip,port,protocol\n2026-11-01 08:52:10,192.0.2.10,111,udp\n2026-11-01 08:52:11,192.0.2.200,111,udp\n");
	CHECK(fake_mta_run(&mta, &env, "QACCT1", msg, test_time("2026-11-01 12:00:00")) == FILTER_ACCEPT);
	CHECK(strstr(buf_cstr(&mta.added), "X-Shadowmilter-Result: notices=1 ") != NULL);
	CHECK(strstr(buf_cstr(&mta.added), " withheld=1 ") != NULL);
	CHECK(strstr(buf_cstr(&mta.added), "; withheld=\"acme scan_portmapper: account setting\"") != NULL);
	CHECK(strstr(buf_cstr(&mta.log), "withheld=\"acme scan_portmapper: account setting\"") != NULL);
	fake_mta_free(&mta);
	free(msg);
	test_rig_free(&r);
}

TEST(accounts, the_settings_language_picks_the_notices_templates)
{
	struct test_rig r;
	struct pipeline_result *res;
	const struct notice *n;

	rig(&r, NULL, "account,language\nacme,de\n", NULL);
	res = run(&r, "2026-11-01", "scan_portmapper", "192.0.2.10 192.0.2.200");
	REQUIRE((n = test_notice_of(res, "acme")) != NULL && n->made && n->message);
	CHECK(strstr(n->message, "\nContent-Language: de\n") != NULL);
	REQUIRE((n = test_notice_of(res, "bob")) != NULL && n->made && n->message);
	CHECK(strstr(n->message, "\nContent-Language:") == NULL);	/* no row: English */
	pipeline_result_free(res);
	test_rig_free(&r);
}
