/*
 * test_state - detection history over simulated days, on real SQLite files
 *
 * Each test feeds report mails dated day by day through the real pipeline
 * with a state database (as the milter does) and checks what the customer
 * would read: first detection, the deadline date, overdue marking, notices
 * held back by RenotifyInterval, resolution and the case reference. Then the
 * hard cases: an MTA retry, a late report, two writers at once (threads and
 * another process), a damaged and a locked database.
 */
#include "test.h"
#include "fakemta.h"
#include "testmail.h"
#include "testrig.h"

#include "config/config.h"
#include "pipeline/filter.h"
#include "report/findings.h"
#include "notice/notice.h"
#include "store/outbox.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "store/store.h"
#include "base/util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *MAP =
    "prefix,account,email\n"
    "192.0.2.0/25,acme,ops@acme.example\n"
    "192.0.2.128/25,bob,bob@bob.example\n";

/* rig_init - the test config with SETTINGS (key, value, ..., NULL) and the catalogue; a history in a fresh file */
static void
rig_init(struct test_rig *r, const char *const *settings)
{
	struct test_rig_spec spec = { .map = MAP, .settings = settings, .catalogue = 1, .history = TEST_RIG_SQLITE };

	test_rig_init(r, &spec);
}

/* report - the mail of a TYPE report for IDENTIFIER dated DATE, listing IPS
 * (space separated) detected that day at 08:52:55 plus one second each */
static char *
report(struct test_rig *r, const char *date, const char *type, const char *identifier, const char *ips)
{
	struct buf csv = BUF_INIT;
	char *copy = xstrdup(ips), *save = NULL, *ip, *msg;
	int sec = 55;

	buf_puts(&csv, "timestamp,ip,port,protocol\n");
	for (ip = strtok_r(copy, " ", &save); ip; ip = strtok_r(NULL, " ", &save))
		buf_printf(&csv, "%s 08:52:%02d,%s,111,udp\n", date, sec++ % 60, ip);
	msg = test_rig_report(r, date, type, identifier, csv.data);
	free(copy);
	buf_free(&csv);
	return msg;
}

/* day - a portmapper report for as64500 on DATE, processed at noon */
static struct pipeline_result *
day(struct test_rig *r, const char *date, const char *ips)
{
	char *msg = report(r, date, "scan_portmapper", "as64500", ips), when[32], err[512];
	struct pipeline_result *res;

	snprintf(when, sizeof(when), "%s 12:00:00", date);
	res = test_rig_run(r, msg, test_time(when), err, sizeof(err));
	if (res == NULL)
		fprintf(stderr, "  pipeline: %s\n", err);
	free(msg);
	return res;
}

static const struct notice *
notice_for(const struct pipeline_result *res, const char *account)
{
	size_t i, j;

	for (i = 0; res && i < res->nreports; i++)
		for (j = 0; j < res->reports[i].nnotices; j++)
			if (res->reports[i].notices[j].made && strcmp(res->reports[i].notices[j].account, account) == 0)
				return &res->reports[i].notices[j];
	return NULL;
}

static const struct notice *
confirmation_for(const struct pipeline_result *res, const char *account)
{
	size_t i, j;

	for (i = 0; res && i < res->nreports; i++)
		for (j = 0; j < res->reports[i].nconfirmations; j++)
			if (strcmp(res->reports[i].confirmations[j].account, account) == 0)
				return &res->reports[i].confirmations[j];
	return NULL;
}

static const struct state_outcome *
outcome(const struct pipeline_result *res)
{
	return res && res->nreports == 1 ? res->reports[0].history : NULL;
}

/* item - the newest stored episode of ACCOUNT's finding on IP */
static int
item(struct test_rig *r, const char *account, const char *ip, struct state_item *out)
{
	struct state_item *items;
	size_t n, i, newest = 0;
	char err[256];

	if (state_items(r->st, account, ip, 0, &items, &n, err, sizeof(err)) != 0 || n == 0) {
		if (n == 0)
			state_items_free(items, n);
		return 0;
	}
	for (i = 1; i < n; i++)
		if (items[i].first_seen >= items[newest].first_seen)
			newest = i;
	*out = items[newest];
	out->account = xstrdup(items[newest].account);
	out->report_type = xstrdup(items[newest].report_type);
	out->identifier = xstrdup(items[newest].identifier);
	out->ip = xstrdup(items[newest].ip);
	out->protocol = xstrdup(items[newest].protocol);
	state_items_free(items, n);
	return 1;
}

static void
item_clear(struct state_item *it)
{
	free(it->account);
	free(it->report_type);
	free(it->identifier);
	free(it->ip);
	free(it->protocol);
	memset(it, 0, sizeof(*it));
}

/* --- what the customer reads --------------------------------------------- */

TEST(state, a_later_report_names_the_first_detection_and_the_deadline_date)
{
	struct test_rig r;
	struct pipeline_result *d1, *d15;
	const struct notice *n;
	struct state_item it = { 0 };

	rig_init(&r, NULL);
	REQUIRE(r.st != NULL);
	d1 = day(&r, "2026-11-10", "192.0.2.10");
	d15 = day(&r, "2026-11-24", "192.0.2.10 192.0.2.11");
	REQUIRE(d1 && d15);
	REQUIRE((n = notice_for(d15, "acme")) != NULL);
	CHECK(strstr(n->message, "\n192.0.2.10:111 (UDP) detected at 2026-11-24 08:52:55 UTC "
	    "(first detected 2026-11-10)\n") != NULL);
	CHECK(strstr(n->message, "\n192.0.2.11:111 (UDP) detected at 2026-11-24 08:52:56 UTC "
	    "(first detected 2026-11-24)\n") != NULL);
	/* 2026-11-10 08:52:55 + 21 days; the earliest deadline is the one named */
	CHECK(strstr(n->message, "unless this is fixed by 1 December 2026 (21 days\n") != NULL);
	CHECK(strstr(n->message, "if it is not resolved within") == NULL);
	CHECK(strstr(n->message, "OVERDUE") == NULL);
	REQUIRE(item(&r, "acme", "192.0.2.10", &it));
	CHECK_INT(it.first_seen, test_time("2026-11-10 08:52:55"));
	CHECK_INT(it.last_seen, test_time("2026-11-24 08:52:55"));
	CHECK_INT(it.times_reported, 2);
	CHECK_INT(it.last_notified, test_time("2026-11-24 12:00:00"));
	CHECK_INT(it.resolved_at, 0);
	CHECK_INT(outcome(d15)->groups[0].findings[0].deadline, test_time("2026-12-01 08:52:55"));
	item_clear(&it);
	pipeline_result_free(d1);
	pipeline_result_free(d15);
	test_rig_free(&r);
}

TEST(state, findings_past_their_deadline_are_marked_overdue_and_said_first)
{
	struct test_rig r;
	struct pipeline_result *d1, *d2;
	const struct notice *n;
	const char *overdue, *regular;

	rig_init(&r, NULL);
	d1 = day(&r, "2026-11-10", "192.0.2.10");
	d2 = day(&r, "2026-12-02", "192.0.2.10 192.0.2.20");
	REQUIRE(d1 && d2 && (n = notice_for(d2, "acme")) != NULL);
	CHECK(strstr(n->message, "\n192.0.2.10:111 (UDP) detected at 2026-12-02 08:52:55 UTC "
	    "(first detected 2026-11-10, OVERDUE)\n") != NULL);
	CHECK(strstr(n->message, "\n192.0.2.20:111 (UDP) detected at 2026-12-02 08:52:56 UTC "
	    "(first detected 2026-12-02)\n") != NULL);
	overdue = strstr(n->message, "OVERDUE: 1 of the services listed below");
	regular = strstr(n->message, "Regular security scans");
	CHECK(overdue && regular && overdue < regular);
	CHECK(strstr(n->message, "\n\nDear customer,\n\nOVERDUE: ") != NULL);
	CHECK(outcome(d2)->groups[0].findings[0].overdue);
	CHECK(!outcome(d2)->groups[0].findings[1].overdue);
	/* not overdue the day before the deadline */
	CHECK(!outcome(d1)->groups[0].findings[0].overdue);
	pipeline_result_free(d1);
	pipeline_result_free(d2);
	test_rig_free(&r);
}

TEST(state, every_line_of_a_notice_with_history_fits_except_the_finding_lines)
{
	struct test_rig r;
	struct pipeline_result *d1, *d2;
	const struct notice *n;
	const char *line, *body;

	rig_init(&r, NULL);
	d1 = day(&r, "2026-09-10", "192.0.2.10");
	d2 = day(&r, "2026-09-30", "192.0.2.10");
	REQUIRE(d1 && d2 && (n = notice_for(d2, "acme")) != NULL);
	body = strstr(n->message, "\n\n");
	REQUIRE(body != NULL);
	for (line = body + 2; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n')) {
		size_t len = strcspn(line, "\n");

		if (len > 78 && strncmp(line, "192.0.2.", 8) != 0 && memmem(line, len, "http", 4) == NULL) {
			fprintf(stderr, "  %zu columns: %.*s\n", len, (int)len, line);
			CHECK(len <= 78);
		}
	}
	CHECK(strstr(n->message, "unless this is fixed by 1 October 2026") != NULL);
	pipeline_result_free(d1);
	pipeline_result_free(d2);
	test_rig_free(&r);
}

/* --- re-notification ------------------------------------------------------ */

TEST(state, renotify_interval_holds_back_repeats_but_not_new_findings)
{
	static const char *const settings[] = { "RenotifyInterval", "7d", NULL };
	struct test_rig r;
	struct pipeline_result *d1, *d2, *d3, *d4, *d10;
	struct pipeline_history h;

	rig_init(&r, settings);
	d1 = day(&r, "2026-11-01", "192.0.2.10 192.0.2.130");
	d2 = day(&r, "2026-11-02", "192.0.2.10 192.0.2.130");
	d3 = day(&r, "2026-11-03", "192.0.2.10 192.0.2.11 192.0.2.130");
	d4 = day(&r, "2026-11-04", "192.0.2.10 192.0.2.11 192.0.2.130");
	d10 = day(&r, "2026-11-10", "192.0.2.10 192.0.2.11 192.0.2.130");
	REQUIRE(d1 && d2 && d3 && d4 && d10);
	CHECK(notice_for(d1, "acme") && notice_for(d1, "bob"));
	/* day 2: nothing new, everything told a day ago */
	CHECK(notice_for(d2, "acme") == NULL);
	CHECK(notice_for(d2, "bob") == NULL);
	pipeline_history_counts(d2, &h);
	CHECK_INT(h.held, 2);
	CHECK_INT(d2->reports[0].nmade, 0);
	/* day 3: a new finding for acme brings acme's whole list; bob stays quiet */
	CHECK(notice_for(d3, "acme") != NULL);
	CHECK(notice_for(d3, "acme") && strstr(notice_for(d3, "acme")->message, "192.0.2.10:111") != NULL);
	CHECK(notice_for(d3, "bob") == NULL);
	CHECK(notice_for(d4, "acme") == NULL);
	/* day 10: bob's last notice was on day 1, acme's on day 3 (7 days before noon day 10) */
	CHECK(notice_for(d10, "bob") != NULL);
	CHECK(notice_for(d10, "acme") != NULL);
	pipeline_result_free(d1);
	pipeline_result_free(d2);
	pipeline_result_free(d3);
	pipeline_result_free(d4);
	pipeline_result_free(d10);
	test_rig_free(&r);
}

TEST(state, without_renotify_interval_every_report_notifies)
{
	struct test_rig r;
	struct pipeline_result *d1, *d2;

	rig_init(&r, NULL);
	d1 = day(&r, "2026-11-01", "192.0.2.10");
	d2 = day(&r, "2026-11-02", "192.0.2.10");
	CHECK(notice_for(d1, "acme") && notice_for(d2, "acme"));
	pipeline_result_free(d1);
	pipeline_result_free(d2);
	test_rig_free(&r);
}

/* --- resolution and references ------------------------------------------- */

TEST(state, a_finding_absent_from_the_next_report_of_its_network_is_resolved)
{
	static const char *const settings[] = { "NotifyResolved", "yes", NULL };
	struct test_rig r;
	struct pipeline_result *d1, *other, *d2;
	const struct notice *bob;
	struct state_item it = { 0 };
	char *msg, err[256];

	rig_init(&r, settings);
	d1 = day(&r, "2026-11-01", "192.0.2.10 192.0.2.11 192.0.2.130");
	/* another network's report says nothing about as64500's findings */
	msg = report(&r, "2026-11-02", "scan_portmapper", "as64501", "192.0.2.99");
	other = test_rig_run(&r, msg, test_time("2026-11-02 12:00:00"), err, sizeof(err));
	free(msg);
	REQUIRE(other && outcome(other));
	CHECK_INT(outcome(other)->resolved, 0);
	d2 = day(&r, "2026-11-03", "192.0.2.10");
	REQUIRE(d1 && d2 && outcome(d2));
	CHECK_INT(outcome(d2)->resolved, 2);
	REQUIRE(item(&r, "acme", "192.0.2.11", &it));
	CHECK_INT(it.resolved_at, test_time("2026-11-03 00:00:00"));
	item_clear(&it);
	REQUIRE(item(&r, "acme", "192.0.2.10", &it));
	CHECK_INT(it.resolved_at, 0);
	item_clear(&it);
	/* bob has nothing open any more: his case closes and he hears so */
	REQUIRE(outcome(d2)->nclosed == 1);
	CHECK_STR(outcome(d2)->closed[0].account, "bob");
	CHECK_STR(outcome(d2)->closed[0].reference, outcome(d1)->groups[1].reference);
	REQUIRE((bob = confirmation_for(d2, "bob")) != NULL);
	CHECK(strncmp(bob->subject, "Resolved: ", 10) == 0);
	CHECK(strstr(bob->subject, outcome(d1)->groups[1].reference) != NULL);
	CHECK(strstr(bob->message, "To: bob@bob.example\n") != NULL);
	CHECK(strstr(bob->message, "\n192.0.2.130:111 (UDP) first detected 2026-11-01, last detected 2026-11-01\n")
	    != NULL);
	CHECK(confirmation_for(d2, "acme") == NULL);
	CHECK(notice_for(d2, "bob") == NULL);
	CHECK(strcmp(bob->message_id, notice_for(d1, "bob")->message_id) != 0);
	pipeline_result_free(d1);
	pipeline_result_free(other);
	pipeline_result_free(d2);
	test_rig_free(&r);
}

TEST(state, the_reference_is_stable_until_everything_is_resolved)
{
	struct test_rig r;
	struct pipeline_result *d1, *d2, *d3, *d4;
	const struct notice *n1, *n2, *n4;
	char ref1[STATE_REF_MAX];

	rig_init(&r, NULL);
	d1 = day(&r, "2026-11-01", "192.0.2.10 192.0.2.130");
	d2 = day(&r, "2026-11-02", "192.0.2.10 192.0.2.11 192.0.2.130");
	d3 = day(&r, "2026-11-03", "192.0.2.130");		/* acme all fixed */
	d4 = day(&r, "2026-11-04", "192.0.2.10 192.0.2.130");	/* and back again */
	REQUIRE(d1 && d2 && d3 && d4);
	REQUIRE((n1 = notice_for(d1, "acme")) && (n2 = notice_for(d2, "acme")) && (n4 = notice_for(d4, "acme")));
	snprintf(ref1, sizeof(ref1), "%s", n1->reference);
	CHECK(strncmp(ref1, "SM-20261101-", 12) == 0 && strlen(ref1) == 18);
	CHECK_STR(n2->reference, ref1);
	CHECK(strstr(n1->subject, ref1) != NULL);
	CHECK(strstr(n1->message, "\nX-Shadowmilter-Reference: ") != NULL);
	CHECK(strstr(n1->message, ref1) != NULL);
	REQUIRE(outcome(d3)->nclosed == 1);
	CHECK_STR(outcome(d3)->closed[0].reference, ref1);
	CHECK(confirmation_for(d3, "acme") == NULL);	/* NotifyResolved is off */
	CHECK(strncmp(n4->reference, "SM-20261104-", 12) == 0);
	CHECK(strcmp(n4->reference, ref1) != 0);
	CHECK(strstr(n4->message, "(first detected 2026-11-04)") != NULL);
	/* bob's case was never closed: same reference all along */
	CHECK_STR(notice_for(d4, "bob")->reference, notice_for(d1, "bob")->reference);
	pipeline_result_free(d1);
	pipeline_result_free(d2);
	pipeline_result_free(d3);
	pipeline_result_free(d4);
	test_rig_free(&r);
}

TEST(state, a_report_type_that_stops_arriving_resolves_after_resolve_after_days)
{
	static const char *const settings[] = { "ResolveAfterDays", "7", "NotifyResolved", "yes", NULL };
	struct test_rig r;
	struct pipeline_result *d1, *ntp6, *ntp8;
	char *msg, err[256];

	rig_init(&r, settings);
	d1 = day(&r, "2026-11-01", "192.0.2.10");
	msg = report(&r, "2026-11-07", "scan_ntp", "as64500", "192.0.2.130");
	ntp6 = test_rig_run(&r, msg, test_time("2026-11-07 12:00:00"), err, sizeof(err));
	free(msg);
	msg = report(&r, "2026-11-08", "scan_ntp", "as64500", "192.0.2.130");
	ntp8 = test_rig_run(&r, msg, test_time("2026-11-08 12:00:00"), err, sizeof(err));
	free(msg);
	REQUIRE(d1 && ntp6 && ntp8);
	CHECK_INT(outcome(ntp6)->expired, 0);	/* six days without a portmapper report */
	CHECK_INT(outcome(ntp8)->expired, 1);	/* seven */
	REQUIRE(outcome(ntp8)->nclosed == 1);
	CHECK_STR(outcome(ntp8)->closed[0].report_type, "scan_portmapper");
	REQUIRE(confirmation_for(ntp8, "acme") != NULL);
	CHECK_STR(confirmation_for(ntp8, "acme")->report_type, "scan_portmapper");
	CHECK(strstr(confirmation_for(ntp8, "acme")->message, "Open Portmapper") != NULL);
	pipeline_result_free(d1);
	pipeline_result_free(ntp6);
	pipeline_result_free(ntp8);
	test_rig_free(&r);
}

TEST(state, resolved_history_older_than_retain_days_is_pruned)
{
	static const char *const settings[] = { "RetainDays", "30", NULL };
	struct test_rig r;
	struct pipeline_result *d1, *d2, *d20, *d40;
	struct state_item *items;
	size_t n;
	char err[256];

	rig_init(&r, settings);
	d1 = day(&r, "2026-11-01", "192.0.2.10 192.0.2.130");
	d2 = day(&r, "2026-11-02", "192.0.2.130");		/* 192.0.2.10 resolved */
	d20 = day(&r, "2026-11-20", "192.0.2.130");
	REQUIRE(state_items(r.st, "acme", NULL, 0, &items, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 1);					/* 18 days: kept */
	state_items_free(items, n);
	d40 = day(&r, "2026-12-10", "192.0.2.130");		/* 38 days after resolution */
	REQUIRE(d1 && d2 && d20 && d40);
	REQUIRE(state_items(r.st, "acme", NULL, 0, &items, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 0);
	state_items_free(items, n);
	REQUIRE(state_items(r.st, "bob", NULL, 1, &items, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 1);					/* open history is never pruned */
	CHECK_INT(n ? items[0].times_reported : 0, 4);
	state_items_free(items, n);
	pipeline_result_free(d1);
	pipeline_result_free(d2);
	pipeline_result_free(d20);
	pipeline_result_free(d40);
	test_rig_free(&r);
}

/* --- retries and late reports -------------------------------------------- */

TEST(state, the_same_report_twice_changes_nothing_and_renders_the_same_notices)
{
	static const char *const settings[] = { "RenotifyInterval", "7d", NULL };
	struct test_rig r;
	struct pipeline_result *a, *b;
	struct state_item it = { 0 };
	char *msg = NULL, err[256];

	rig_init(&r, settings);
	msg = report(&r, "2026-11-01", "scan_portmapper", "as64500", "192.0.2.10 192.0.2.130");
	a = test_rig_run(&r, msg, test_time("2026-11-01 12:00:00"), err, sizeof(err));
	b = test_rig_run(&r, msg, test_time("2026-11-01 12:10:00"), err, sizeof(err));	/* MTA retry */
	REQUIRE(a && b && outcome(a) && outcome(b));
	CHECK(!outcome(a)->replayed);
	CHECK(outcome(b)->replayed);
	/* RenotifyInterval would hold a second report back; a retry is not one */
	REQUIRE(notice_for(b, "acme") != NULL);
	CHECK_STR(notice_for(b, "acme")->subject, notice_for(a, "acme")->subject);
	CHECK_STR(notice_for(b, "acme")->reference, notice_for(a, "acme")->reference);
	CHECK(outcome(b)->groups[0].findings[0].is_new);
	REQUIRE(item(&r, "acme", "192.0.2.10", &it));
	CHECK_INT(it.times_reported, 1);
	item_clear(&it);
	free(msg);
	pipeline_result_free(a);
	pipeline_result_free(b);
	test_rig_free(&r);
}

TEST(state, a_report_older_than_its_streams_newest_only_fills_in_history)
{
	struct test_rig r;
	struct pipeline_result *d2, *d1;
	struct state_item it = { 0 };
	char *msg, err[256];

	rig_init(&r, NULL);
	d2 = day(&r, "2026-11-02", "192.0.2.10");
	msg = report(&r, "2026-11-01", "scan_portmapper", "as64500", "192.0.2.10 192.0.2.11");
	d1 = test_rig_run(&r, msg, test_time("2026-11-02 13:00:00"), err, sizeof(err));
	free(msg);
	REQUIRE(d2 && d1 && outcome(d1));
	CHECK(outcome(d1)->late);
	CHECK_INT(d1->reports[0].nmade, 0);
	CHECK_INT(outcome(d1)->resolved, 0);
	REQUIRE(item(&r, "acme", "192.0.2.10", &it));
	CHECK_INT(it.first_seen, test_time("2026-11-01 08:52:55"));
	CHECK_INT(it.times_reported, 2);
	item_clear(&it);
	CHECK(!item(&r, "acme", "192.0.2.11", &it));	/* gone by the newer report */
	pipeline_result_free(d2);
	pipeline_result_free(d1);
	test_rig_free(&r);
}

/* --- two writers ------------------------------------------------------------ */

#define WRITERS 4
#define REPORTS_EACH 15

struct writer {
	struct test_rig *r;
	int id;
	int failures;
};

/* write_reports - REPORTS_EACH reports (distinct Message-IDs, a day and a file each) through ST */
static int
write_reports(const struct test_rig *r, struct store *st, int id)
{
	struct test_rig mine = *r;	/* the same config and map, this writer's store */
	int i, failures = 0;

	mine.st = st;

	for (i = 0; i < REPORTS_EACH; i++) {
		struct buf hdr = BUF_INIT;
		const char *csv = "timestamp,ip,port,protocol\n2026-11-01 08:00:00,192.0.2.10,111,udp\n"
		    "2026-11-01 08:00:00,192.0.2.130,111,udp\n";
		struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, NULL, csv, NULL, NULL };
		struct pipeline_result *res;
		char *msg, err[512], name[64];
		/* a file of its own per report (one identity is applied once): one day each */
		time_t date = test_time("2026-08-01 00:00:00") + 86400L * ((id == 99 ? WRITERS : id) * REPORTS_EACH + i);
		struct tm tm_date;

		gmtime_r(&date, &tm_date);
		strftime(name, sizeof(name), "%Y-%m-%d-scan_portmapper-as64500.csv", &tm_date);
		tm.filename = name;
		buf_printf(&hdr, "Message-ID: <w%d.%d@shadowserver.example>\n", id, i);
		tm.extra_headers = hdr.data;
		msg = testmail_build(&tm);
		if ((res = test_rig_run(&mine, msg, test_time("2026-11-01 12:00:00"), err, sizeof(err))) == NULL) {
			fprintf(stderr, "  writer %d: %s\n", id, err);
			failures++;
		}
		pipeline_result_free(res);
		free(msg);
		buf_free(&hdr);
	}
	return failures;
}

static void *
writer_thread(void *arg)
{
	struct writer *w = arg;

	w->failures = write_reports(w->r, w->r->st, w->id);
	return NULL;
}

TEST(state, milter_threads_and_a_replay_process_at_once_lose_no_update)
{
	struct test_rig r;
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	struct state_stream *streams;
	struct state_item it = { 0 };
	int go[2], i, status = -1;
	size_t n;
	char c = 0, err[256];
	pid_t pid;

	rig_init(&r, NULL);
	REQUIRE(r.st != NULL && pipe(go) == 0);
	store_close(r.st);	/* a process forked with an open connection is not another process */
	r.st = NULL;
	if ((pid = fork()) == 0) {	/* the replay: its own connection */
		struct store *st;
		int failures;

		close(go[1]);
		if (read(go[0], &c, 1) != 1 || (st = store_open(r.db, NULL, 10000, err, sizeof(err))) == NULL)
			_exit(2);
		failures = write_reports(&r, st, 99);
		store_close(st);
		_exit(failures ? 1 : 0);
	}
	REQUIRE(pid > 0);
	close(go[0]);
	r.st = store_open(r.db, NULL, 10000, err, sizeof(err));	/* the milter's, shared by its threads */
	REQUIRE(r.st != NULL);
	for (i = 0; i < WRITERS; i++) {
		w[i].r = &r;
		w[i].id = i;
		w[i].failures = 0;
	}
	CHECK(write(go[1], "x", 1) == 1);
	for (i = 0; i < WRITERS; i++)
		CHECK(pthread_create(&t[i], NULL, writer_thread, &w[i]) == 0);
	for (i = 0; i < WRITERS; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(w[i].failures, 0);
	}
	close(go[1]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	REQUIRE(item(&r, "acme", "192.0.2.10", &it));
	CHECK_INT(it.times_reported, (WRITERS + 1) * REPORTS_EACH);
	item_clear(&it);
	REQUIRE(item(&r, "bob", "192.0.2.130", &it));
	CHECK_INT(it.times_reported, (WRITERS + 1) * REPORTS_EACH);
	item_clear(&it);
	REQUIRE(state_streams(r.st, &streams, &n, err, sizeof(err)) == 0 && n == 1);
	CHECK_INT(streams[0].reports, (WRITERS + 1) * REPORTS_EACH);
	state_streams_free(streams, n);
	test_rig_free(&r);
}

/* --- a damaged or locked database ------------------------------------------- */

TEST(state, a_damaged_database_is_an_error_that_names_it)
{
	struct test_rig r;
	struct store *st;
	char *msg, err[512] = "";
	struct pipeline_result *res;
	FILE *f;
	int i;

	rig_init(&r, NULL);
	store_close(r.st);
	r.st = NULL;
	REQUIRE((f = fopen(r.db, "wb")) != NULL);
	for (i = 0; i < 4096; i++)
		fputc("not a database "[i % 15], f);
	fclose(f);
	CHECK((st = store_open(r.db, NULL, 200, err, sizeof(err))) == NULL);
	CHECK(strstr(err, r.db) != NULL);
	CHECK(strstr(err, "damaged") != NULL);
	store_close(st);
	test_rig_free(&r);

	/* damaged under a running milter: the next report fails, it is not skipped */
	rig_init(&r, NULL);
	REQUIRE(r.st != NULL);
	res = day(&r, "2026-11-01", "192.0.2.10");
	pipeline_result_free(res);
	store_close(r.st);
	{
		sqlite3 *db;

		REQUIRE(sqlite3_open(r.db, &db) == SQLITE_OK);
		CHECK(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) == SQLITE_OK);
		sqlite3_close(db);
	}
	REQUIRE((r.st = store_open(r.db, NULL, 200, err, sizeof(err))) != NULL);
	REQUIRE((f = fopen(r.db, "r+b")) != NULL);
	fseek(f, 100, SEEK_SET);	/* the header stays: the damage is in the tables */
	for (i = 0; i < 64 * 1024; i++)
		fputc(0x5a, f);
	fclose(f);
	msg = report(&r, "2026-11-02", "scan_portmapper", "as64500", "192.0.2.10");
	res = test_rig_run(&r, msg, test_time("2026-11-02 12:00:00"), err, sizeof(err));
	CHECK(res == NULL);
	CHECK(strstr(err, r.db) != NULL);
	CHECK(strstr(err, "damaged") != NULL);
	pipeline_result_free(res);
	free(msg);
	test_rig_free(&r);
}

TEST(state, a_database_locked_past_the_busy_timeout_fails_the_report)
{
	struct test_rig r;
	sqlite3 *other;
	char *msg, err[512] = "";
	struct pipeline_result *res;

	rig_init(&r, NULL);
	store_close(r.st);
	r.st = store_open(r.db, NULL, 150, err, sizeof(err));
	REQUIRE(r.st != NULL);
	REQUIRE(sqlite3_open(r.db, &other) == SQLITE_OK);
	REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
	msg = report(&r, "2026-11-01", "scan_portmapper", "as64500", "192.0.2.10");
	res = test_rig_run(&r, msg, test_time("2026-11-01 12:00:00"), err, sizeof(err));
	CHECK(res == NULL);
	CHECK(strstr(err, "locked") != NULL);
	CHECK(strstr(err, r.db) != NULL);
	pipeline_result_free(res);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	/* the retry, once the lock is gone, goes through */
	res = test_rig_run(&r, msg, test_time("2026-11-01 12:10:00"), err, sizeof(err));
	CHECK(res != NULL && notice_for(res, "acme") != NULL);
	pipeline_result_free(res);
	free(msg);
	test_rig_free(&r);
}

/* the milter's side: TEMPFAIL and one clear log line */

/* eom - MSG through the filter stages (queue id QSTATE1) with R's store; the action at the end */
static enum filter_action
eom(const struct test_rig *r, struct fake_mta *mta, const char *msg, time_t now)
{
	struct filter_env env = test_rig_env(r);

	return fake_mta_run(mta, &env, "QSTATE1", msg, now);
}

TEST(state, the_milter_tempfails_with_a_clear_log_line_when_the_database_is_locked)
{
	struct test_rig r;
	struct fake_mta mta = FAKE_MTA_INIT;
	struct buf ob = BUF_INIT, want = BUF_INIT;
	struct outbox_counts counts;
	sqlite3 *other;
	char *msg, err[512];

	rig_init(&r, NULL);
	store_close(r.st);
	buf_printf(&ob, "%s.outbox", r.db);	/* an old two-file configuration */
	r.st = store_open(r.db, ob.data, 150, err, sizeof(err));
	REQUIRE(r.st != NULL);
	msg = report(&r, "2026-11-01", "scan_portmapper", "as64500", "192.0.2.10");
	REQUIRE(sqlite3_open(r.db, &other) == SQLITE_OK);
	REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(eom(&r, &mta, msg, test_time("2026-11-01 12:00:00")) == FILTER_TEMPFAIL);
	buf_printf(&want, "QSTATE1: report not handled, sender must retry: %s: database is locked", r.db);
	CHECK(strstr(buf_cstr(&mta.log), want.data) != NULL);
	CHECK(outbox_get_counts(r.st, 0, &counts, err, sizeof(err)) == 0 && counts.pending == 0);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	buf_reset(&mta.log);
	CHECK(eom(&r, &mta, msg, test_time("2026-11-01 12:10:00")) == FILTER_ACCEPT);
	CHECK(strstr(buf_cstr(&mta.log), "renotify_skipped=0 resolved=0") != NULL);
	CHECK(outbox_get_counts(r.st, 0, &counts, err, sizeof(err)) == 0 && counts.pending == 1);
	fake_mta_free(&mta);
	buf_free(&ob);
	buf_free(&want);
	free(msg);
	test_rig_free(&r);
}

TEST(state, the_milter_tempfails_reports_while_the_database_cannot_be_opened)
{
	struct test_rig r;
	struct fake_mta mta = FAKE_MTA_INIT;
	struct buf want = BUF_INIT;
	char *msg, err[512];

	rig_init(&r, NULL);
	store_close(r.st);
	test_write_file(r.db, "this is not a database, it is a text file that is long enough to be read as one");
	/* as the daemon: the store is reached when a report needs it */
	REQUIRE((r.st = store_new(r.db, r.db, 150, err, sizeof(err))) != NULL);
	msg = report(&r, "2026-11-01", "scan_portmapper", "as64500", "192.0.2.10");
	CHECK(eom(&r, &mta, msg, test_time("2026-11-01 12:00:00")) == FILTER_TEMPFAIL);
	buf_printf(&want, "QSTATE1: report not handled, sender must retry: %s: file is not a database", r.db);
	CHECK(strstr(buf_cstr(&mta.log), want.data) != NULL);
	fake_mta_free(&mta);
	buf_free(&want);
	free(msg);
	test_rig_free(&r);
}
