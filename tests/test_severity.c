/*
 * test_severity - severity decides the wording, the history and the resends
 *
 * Reports of an informational type (ShadowServer rates SSH info) and of an
 * action type (portmapper, medium) through the real pipeline, with a real
 * SQLite history over simulated days: ActionSeverities moves a type from one
 * wording to the other; an informational notice is not re-sent within
 * InfoRenotifyInterval while an action notice follows RenotifyInterval;
 * InfoNotices no sends none, but the history still records the findings.
 */
#include "test.h"
#include "testmail.h"
#include "testrig.h"

#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "pipeline/json.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n";

/* rig_init - the test config with SETTINGS (key, value, ..., NULL) and the catalogue; a history when HISTORY */
static void
rig_init(struct test_rig *r, int history, const char *const *settings)
{
	struct test_rig_spec spec = { .map = MAP, .settings = settings, .catalogue = 1,
	    .history = history ? TEST_RIG_SQLITE : NULL };

	test_rig_init(r, &spec);
}

/* day - a TYPE report dated DATE (port PORT/tcp) for 192.0.2.10 and .11,
 * through the pipeline at noon that day */
static struct pipeline_result *
day(struct test_rig *r, const char *type, const char *date, int port)
{
	struct buf csv = BUF_INIT, when = BUF_INIT;
	struct pipeline_result *res;
	char err[512], *msg;

	buf_printf(&csv, "timestamp,ip,port,protocol\n%s 08:52:55,192.0.2.10,%d,tcp\n%s 08:52:56,192.0.2.11,%d,tcp\n",
	    date, port, date, port);
	msg = test_rig_report(r, date, type, "as64500", csv.data);
	buf_printf(&when, "%s 12:00:00", date);
	if ((res = test_rig_run(r, msg, test_time(when.data), err, sizeof(err))) == NULL)
		fprintf(stderr, "  pipeline: %s\n", err);
	free(msg);
	buf_free(&csv);
	buf_free(&when);
	return res;
}

/* notices - how many notices R made for its one report; -1 when it has none */
static long
notices(const struct pipeline_result *r)
{
	return r && r->nreports == 1 && r->reports[0].rf->error == NULL ? (long)r->reports[0].nmade : -1;
}

static const char *
subject(const struct pipeline_result *r)
{
	return notices(r) > 0 ? r->reports[0].notices[0].subject : "";
}

TEST(severity, ssh_is_a_security_notice_and_portmapper_action_required)
{
	struct test_rig r;
	struct pipeline_result *ssh, *pm;

	rig_init(&r, 0, NULL);
	ssh = day(&r, "scan_ssh", "2026-11-24", 22);
	pm = day(&r, "scan_portmapper", "2026-11-24", 111);
	CHECK_INT(notices(ssh), 1);
	CHECK_STR(subject(ssh), "Security notice: SSH reachable from the Internet on your Example Hosting servers");
	CHECK(strstr(subject(pm), "ACTION REQUIRED: ") == subject(pm));
	if (notices(ssh) == 1) {
		const char *m = ssh->reports[0].notices[0].message;

		CHECK(strstr(m, "suspend") == NULL);
		CHECK(strstr(m, "192.0.2.10:22 (TCP) detected at 2026-11-24 08:52:55 UTC") != NULL);
		CHECK(strstr(m, "\n    ssh -o PubkeyAuthentication=no YOUR-IP-ADDRESS\n") != NULL);	/* the outside check */
		CHECK(!ssh->reports[0].notices[0].action_required);	/* what --json says */
	}
	if (notices(pm) == 1)
		CHECK(pm->reports[0].notices[0].action_required);
	if (notices(pm) == 1)		/* the first screen: deadline and hosts */
		CHECK(strstr(pm->reports[0].notices[0].message, "Please firewall off portmapper by 15 December 2026 on "
		    "these VPSes:\n    192.0.2.10:111/tcp\n    192.0.2.11:111/tcp\n") != NULL);
	pipeline_result_free(ssh);
	pipeline_result_free(pm);
	test_rig_free(&r);
}

TEST(severity, generic_security_notice_has_an_outside_check)
{
	struct test_rig r;
	struct pipeline_result *smtp;

	rig_init(&r, 0, NULL);
	smtp = day(&r, "scan_smtp", "2026-11-24", 25);	/* info, no template of its own */
	CHECK_STR(subject(smtp), "Security notice: SMTP reachable from the Internet on your Example Hosting servers");
	if (notices(smtp) == 1) {
		const char *m = smtp->reports[0].notices[0].message;

		CHECK(strstr(m, "\n    nmap -Pn -p 25 YOUR-IP-ADDRESS\n") != NULL);
		CHECK(strstr(m, "suspend") == NULL);
		CHECK(!smtp->reports[0].notices[0].action_required);
	}
	pipeline_result_free(smtp);
	test_rig_free(&r);
}

TEST(severity, action_severities_decides_which_ratings_need_action)
{
	static const char *const settings[] = { "ActionSeverities", "critical, high", NULL };
	struct test_rig r;
	struct pipeline_result *pm, *rdp;

	rig_init(&r, 0, settings);
	pm = day(&r, "scan_portmapper", "2026-11-24", 111);	/* medium: now informational */
	rdp = day(&r, "scan_rdp", "2026-11-24", 3389);		/* high: still action */
	CHECK(strstr(subject(pm), "Security notice: ") == subject(pm));
	CHECK(strstr(subject(rdp), "ACTION REQUIRED: ") == subject(rdp));
	if (notices(pm) == 1) {
		const char *m = pm->reports[0].notices[0].message;

		/* the seed's advice and outside check stay; the threat and the deadline go */
		CHECK(strstr(m, "rpcinfo -p YOUR-IP-ADDRESS") != NULL);
		CHECK(strstr(m, "suspend") == NULL);
		CHECK(strstr(m, "December 2026") == NULL);
		CHECK(strstr(m, "All of these need to be firewalled off or shut down.") == NULL);
	}
	pipeline_result_free(pm);
	pipeline_result_free(rdp);
	test_rig_free(&r);
}

TEST(severity, informational_notices_wait_for_info_renotify_interval)
{
	static const char *const settings[] = { "RenotifyInterval", "0", NULL };	/* the default: every report */
	static const char *const dates[] = { "2026-11-01", "2026-11-02", "2026-11-30", "2026-12-01", "2026-12-02" };
	static const long ssh_want[] = { 1, 0, 0, 1, 0 };	/* 30 days (the default) after the 1st noon */
	struct test_rig r;
	size_t i;

	rig_init(&r, 1, settings);
	REQUIRE(r.st != NULL);
	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		struct pipeline_result *ssh = day(&r, "scan_ssh", dates[i], 22);
		struct pipeline_result *pm = day(&r, "scan_portmapper", dates[i], 111);

		if (notices(ssh) != ssh_want[i])
			fprintf(stderr, "  %s: %ld SSH notices, want %ld\n", dates[i], notices(ssh), ssh_want[i]);
		CHECK_INT(notices(ssh), ssh_want[i]);
		CHECK_INT(notices(pm), 1);	/* action notices follow RenotifyInterval 0 */
		/* the history records the SSH findings every day, notified or not */
		if (notices(ssh) >= 0 && ssh->reports[0].history)
			CHECK_INT(ssh->reports[0].history->groups[0].findings[0].times_reported, i + 1);
		pipeline_result_free(ssh);
		pipeline_result_free(pm);
	}
	test_rig_free(&r);
}

TEST(severity, an_informational_finding_is_never_overdue)
{
	static const char *const settings[] = { "InfoRenotifyInterval", "0", NULL };
	struct test_rig r;
	struct pipeline_result *first, *late;
	struct buf json = BUF_INIT;

	rig_init(&r, 1, settings);
	REQUIRE(r.st != NULL);
	first = day(&r, "scan_ssh", "2026-11-01", 22);
	late = day(&r, "scan_ssh", "2026-11-30", 22);	/* past GraceDays 21: the history says overdue */
	REQUIRE(notices(late) == 1);
	CHECK(late->reports[0].history->groups[0].findings[0].overdue);
	CHECK(strstr(late->reports[0].notices[0].message, "OVERDUE") == NULL);
	CHECK(strstr(late->reports[0].notices[0].message, "(first detected 2026-11-01)\n") != NULL);
	json_result(&json, "late.eml", late, NULL);
	CHECK(strstr(json.data, "\"overdue\":true") == NULL);
	CHECK(strstr(json.data, "\"first_seen\":\"2026-11-01T08:52:55Z\"") != NULL);
	CHECK(strstr(json.data, "\"action_required\":false") != NULL);
	buf_free(&json);
	pipeline_result_free(first);
	pipeline_result_free(late);
	test_rig_free(&r);
}

TEST(severity, info_notices_no_sends_none_but_the_history_records_them)
{
	static const char *const settings[] = { "InfoNotices", "no", NULL };
	struct test_rig r;
	struct pipeline_result *ssh, *pm;
	struct state_item *items = NULL;
	size_t n = 0, i, ssh_items = 0;
	char err[512];

	rig_init(&r, 1, settings);
	REQUIRE(r.st != NULL);
	ssh = day(&r, "scan_ssh", "2026-11-24", 22);
	pm = day(&r, "scan_portmapper", "2026-11-24", 111);
	CHECK_INT(notices(ssh), 0);
	CHECK_INT(notices(pm), 1);
	REQUIRE(state_items(r.st, "acme", NULL, 1, &items, &n, err, sizeof(err)) == 0);
	for (i = 0; i < n; i++)
		ssh_items += strcmp(items[i].report_type, "scan_ssh") == 0;
	CHECK_INT(ssh_items, 2);
	for (i = 0; i < n; i++)		/* nobody was told, so nothing counts as notified */
		if (strcmp(items[i].report_type, "scan_ssh") == 0)
			CHECK_INT(items[i].last_notified, 0);
	state_items_free(items, n);
	pipeline_result_free(ssh);
	pipeline_result_free(pm);
	test_rig_free(&r);
}

TEST(severity, config_keys_take_severities_durations_and_yes_no)
{
	struct config *cfg = config_new();
	char err[512];

	/* the defaults */
	CHECK(cfg->info_notices);
	CHECK_INT(cfg->info_renotify_interval, 30 * 86400);
	CHECK_INT(cfg->action_severities, catalogue_severity_bit("critical") | catalogue_severity_bit("high") |
	    catalogue_severity_bit("medium"));
	CHECK_INT(config_set(cfg, "ActionSeverities", "critical high medium low", err, sizeof(err)), 0);
	CHECK(cfg->action_severities & catalogue_severity_bit("low"));
	CHECK(!(cfg->action_severities & catalogue_severity_bit("info")));
	CHECK_INT(config_set(cfg, "ActionSeverities", "critical urgent", err, sizeof(err)), -1);
	CHECK_STR(err, "ActionSeverities: \"critical urgent\" is not a list of one or more of critical, high, "
	    "medium, low and info");
	CHECK_INT(config_set(cfg, "ActionSeverities", ",", err, sizeof(err)), -1);
	CHECK_INT(config_set(cfg, "InfoRenotifyInterval", "4w", err, sizeof(err)), 0);
	CHECK_INT(cfg->info_renotify_interval, 28 * 86400);
	CHECK_INT(config_set(cfg, "InfoRenotifyInterval", "monthly", err, sizeof(err)), -1);
	CHECK(strstr(err, "InfoRenotifyInterval: \"monthly\" is not 0 or a duration") == err);
	CHECK_INT(config_set(cfg, "InfoNotices", "no", err, sizeof(err)), 0);
	CHECK(!cfg->info_notices);
	CHECK_INT(config_set(cfg, "InfoNotices", "maybe", err, sizeof(err)), -1);
	config_free(cfg);
}
