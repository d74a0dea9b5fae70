/*
 * test_reportslist - the Reports API's reports/list and reports/types answers read as
 * hostile JSON; the pull's window (the calls themselves: tests/e2e/test-pull.sh)
 */
#include "test.h"

#include "report/reportslist.h"
#include "pipeline/pull.h"

#include <stdlib.h>
#include <string.h>

static const char list_answer[] =
    "[{\"id\":\"AbC-d_e?x=1\",\"file\":\"2026-11-24-scan_ntp-example-asn.csv\",\"type\":\"scan_ntp\","
    "\"report\":\"example-asn\",\"timestamp\":\"2026-11-24 06:00:00\",\"url\":\"https://example/\"},"
    "{\"file\":\"2026-11-24-scan_dns-example-asn.csv\"},"
    "{\"id\":\"../../etc/passwd\",\"file\":\"2026-11-24-scan_dns-example-asn.csv\"},"
    "{\"id\":\"ok2\",\"file\":\"2026-11-23-scan_ntp-ex\\u0007ample.csv\"},"
    "42]";

TEST(reportslist, a_list_answer_gives_its_entries)
{
	struct api_list l;
	char why[256];

	REQUIRE(reportslist_parse(list_answer, strlen(list_answer), &l, why, sizeof(why)) == 0);
	REQUIRE(l.n == 2);
	CHECK_STR(l.v[0].id, "AbC-d_e?x=1");
	CHECK_STR(l.v[0].file, "2026-11-24-scan_ntp-example-asn.csv");
	CHECK_STR(l.v[0].type, "scan_ntp");
	CHECK_STR(l.v[0].report, "example-asn");
	CHECK_STR(l.v[0].timestamp, "2026-11-24 06:00:00");
	CHECK_STR(l.v[1].type, "");
	reportslist_free(&l);
}

TEST(reportslist, entries_without_id_or_with_an_unsafe_id_are_left_out_and_counted)
{
	struct api_list l;
	char why[256];

	REQUIRE(reportslist_parse(list_answer, strlen(list_answer), &l, why, sizeof(why)) == 0);
	CHECK(l.dropped == 3);		/* no id, "../" in the id, a number instead of an object */
	CHECK(strchr(l.v[1].file, '\a') == NULL);	/* no control character survives */
	reportslist_free(&l);
	CHECK(!reportslist_id_ok(".hidden"));
	CHECK(!reportslist_id_ok("a/b"));
	CHECK(!reportslist_id_ok(""));
	CHECK(!reportslist_id_ok("a b"));
	CHECK(reportslist_id_ok("AbCdEfGhIjKlMnOp"));
}

TEST(reportslist, a_non_json_answer_says_what_came)
{
	static const char html[] = "<html><body>maintenance</body></html>";
	struct api_list l;
	char why[256];

	CHECK(reportslist_parse(html, strlen(html), &l, why, sizeof(why)) == -1);
	CHECK(strstr(why, "reports/list: the answer is not JSON") != NULL);
	CHECK(strstr(why, "<html>") != NULL);
	CHECK(reportslist_parse("{\"error\":\"x\"}", 13, &l, why, sizeof(why)) == -1);
	CHECK(strstr(why, "not a JSON array") != NULL);
	CHECK(reportslist_parse("[1,2", 4, &l, why, sizeof(why)) == -1);
}

TEST(reportslist, types_come_as_strings_or_objects)
{
	static const char answer[] = "[\"scan_ntp\",{\"type\":\"scan_dns\"},{\"name\":\"event4_sinkhole\"},7,\"\"]";
	char **t, why[256];
	size_t n, i;

	REQUIRE(reportslist_types(answer, strlen(answer), &t, &n, why, sizeof(why)) == 0);
	REQUIRE(n == 3);
	CHECK_STR(t[0], "scan_ntp");
	CHECK_STR(t[1], "scan_dns");
	CHECK_STR(t[2], "event4_sinkhole");
	for (i = 0; i < n; i++)
		free(t[i]);
	free(t);
}

TEST(pull, the_window_is_utc_days_back_from_today)
{
	char since[11], until[11];

	pull_window(1796000000, 2 * 86400, since, until);	/* 2026-11-30 ~ 00:53 UTC */
	CHECK_STR(until, "2026-11-30");
	CHECK_STR(since, "2026-11-28");
	CHECK(pull_date_ok("2026-11-24"));
	CHECK(!pull_date_ok("2026-13-01"));
	CHECK(!pull_date_ok("2026-11-24x"));
	CHECK(!pull_date_ok("26-11-24"));
}
