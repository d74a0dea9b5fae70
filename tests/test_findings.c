/*
 * test_findings - one report file's rows into findings: parsing names and
 * times, grouping per account, merging repeats, what is skipped and why
 */
#include "test.h"
#include "testmail.h"

#include "report/csvreport.h"
#include "report/findings.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/25,acme,ops@acme.example\n"
    "192.0.2.128/25,bob,bob@bob.example\n2001:db8::/32,acme,ops@acme.example\n";

static int
add_row(void *ctx, const struct csvreport_row *row)
{
	void **a = ctx;

	return report_file_add_row(a[0], a[1], row) < 0;
}

/* read_report - CSV as report file TYPE, closed; NULL-safe to free */
static struct report_file *
read_report(const struct prefixmap *map, const char *type, const char *csv)
{
	struct report_file *rf = report_file_new("2026-11-24-x.csv", type, "2026-11-24", "");
	void *ctx[2] = { rf, (void *)map };
	struct csvreport *r = csvreport_new(add_row, ctx);
	char err[256];

	if (csvreport_feed(r, csv, strlen(csv), err, sizeof(err)) != 0 || csvreport_finish(r, err, sizeof(err)) != 0)
		report_file_set_error(rf, err);
	csvreport_free(r);
	report_file_close(rf);
	return rf;
}

TEST(findings, detection_times_in_the_forms_shadowserver_writes)
{
	time_t t;

	CHECK(parse_detection_time("2026-11-24 01:02:03", &t) == 0);
	CHECK_INT(t, 1795482123);
	CHECK(parse_detection_time("2026-11-24T01:02:03Z", &t) == 0);
	CHECK_INT(t, 1795482123);
	CHECK(parse_detection_time("2026-11-24 01:02:03+00:00", &t) == 0);
	CHECK_INT(t, 1795482123);
	CHECK(parse_detection_time("2026-13-24 01:02:03", &t) != 0);
	CHECK(parse_detection_time("2026-11-24 25:02:03", &t) != 0);
	CHECK(parse_detection_time("yesterday", &t) != 0);
	CHECK(parse_detection_time("", &t) != 0);
}

TEST(findings, report_file_names)
{
	char *date = NULL, *type = NULL, *id = NULL;

	CHECK(report_name_parse("2022-05-14-scan_portmapper-as64500.csv", &date, &type, &id) == 0);
	CHECK_STR(date, "2022-05-14");
	CHECK_STR(type, "scan_portmapper");
	CHECK_STR(id, "as64500");
	free(date);
	free(type);
	free(id);
	date = type = id = NULL;
	CHECK(report_name_parse("2022-05-14-Scan_NTP-example-net.csv.zip", &date, &type, &id) == 0);
	CHECK_STR(type, "scan_ntp");
	CHECK_STR(id, "example-net");
	free(date);
	free(type);
	free(id);
	date = type = NULL;
	CHECK(report_name_parse("invoice.pdf", &date, &type, NULL) != 0);
	CHECK(report_name_parse("2022-05-14-../../etc-x.csv", &date, &type, NULL) != 0);
	free(date);
	free(type);
}

TEST(findings, rows_are_grouped_per_account_sorted_and_repeats_merged)
{
	struct prefixmap *map = test_map(MAP);
	struct report_file *rf = read_report(map, "scan_portmapper",
	    "timestamp,ip,port,protocol\n"
	    "2026-11-24 03:00:00,192.0.2.20,111,udp\n"
	    "2026-11-24 02:00:00,192.0.2.200,111,udp\n"
	    "2026-11-24 01:00:00,192.0.2.20,111,udp\n"	/* the same service, seen earlier */
	    "2026-11-24 01:00:00,192.0.2.5,111,udp\n"
	    "2026-11-24 01:00:00,2001:db8::25,111,udp\n"
	    "2026-11-24 01:00:00,203.0.113.9,111,udp\n");
	char ep[64];

	REQUIRE(rf->error == NULL);
	CHECK_INT(rf->rows, 6);
	REQUIRE(rf->ngroups == 2);
	CHECK_STR(rf->groups[0].account->name, "acme");
	REQUIRE(rf->groups[0].nfindings == 3);
	finding_endpoint(rf->groups[0].findings[0], ep, sizeof(ep));
	CHECK_STR(ep, "192.0.2.5:111");
	finding_endpoint(rf->groups[0].findings[1], ep, sizeof(ep));
	CHECK_STR(ep, "192.0.2.20:111");
	CHECK_INT(rf->groups[0].findings[1]->detected, 1795482000);	/* the earliest of the two */
	finding_endpoint(rf->groups[0].findings[2], ep, sizeof(ep));
	CHECK_STR(ep, "[2001:db8::25]:111");
	CHECK_STR(rf->groups[1].account->name, "bob");
	CHECK_INT(rf->groups[1].nfindings, 1);
	REQUIRE(rf->nunmatched == 1);
	finding_address(rf->unmatched[0], ep, sizeof(ep));
	CHECK_STR(ep, "203.0.113.9");
	report_file_free(rf);
	prefixmap_free(map);
}

TEST(findings, bad_addresses_and_times_are_skipped_counted_and_explained)
{
	struct prefixmap *map = test_map(MAP);
	struct report_file *rf = read_report(map, "scan_portmapper",
	    "timestamp,ip,port,protocol\n"
	    "2026-11-24 01:00:00,192.0.2.999,111,udp\n"
	    "not a time,192.0.2.10,111,udp\n"
	    "2026-11-24 01:00:00,192.0.2.10,111,udp\n");

	REQUIRE(rf->error == NULL);
	CHECK_INT(rf->rows, 3);
	CHECK_INT(rf->skipped_rows, 2);
	REQUIRE(rf->first_skip != NULL);
	CHECK(strstr(rf->first_skip, "192.0.2.999") != NULL);
	CHECK_INT(rf->ngroups, 1);
	report_file_free(rf);
	prefixmap_free(map);
}

TEST(findings, a_file_without_a_timestamp_column_is_an_error_not_findings)
{
	struct prefixmap *map = test_map(MAP);
	struct report_file *rf = read_report(map, "scan_portmapper", "ip,port\n192.0.2.10,111\n");

	REQUIRE(rf->error != NULL);
	CHECK(strstr(rf->error, "timestamp") != NULL);
	CHECK_INT(rf->ngroups, 0);
	report_file_free(rf);
	prefixmap_free(map);
}

TEST(findings, the_first_error_is_kept)
{
	struct report_file *rf = report_file_new("x.csv", "scan_ntp", "", "");

	report_file_set_error(rf, "first");
	report_file_set_error(rf, "second");
	CHECK_STR(rf->error, "first");
	report_file_free(rf);
}

/* a finding's row is encoded (values a column repeats are kept once per
 * file, up to 255 a column): every value must read back as its row had it */
TEST(findings, every_value_of_a_row_reads_back_past_the_kept_ones)
{
	struct prefixmap *map = test_map("prefix,account,email\n10.0.0.0/8,acme,ops@acme.example\n");
	struct buf csv = BUF_INIT;
	struct report_file *rf;
	char want[64];
	size_t i, bad = 0;

	/* 700 hosts: a unique hostname each, a tag out of 3, an empty column,
	 * and the first 300 seen again later with an earlier time and new values
	 * (a longer row for the even ones, a shorter one in its place for the odd) */
	buf_puts(&csv, "timestamp,ip,port,protocol,hostname,tag,empty\n");
	for (i = 0; i < 700; i++)
		buf_printf(&csv, "2026-11-24 02:%02zu:%02zu,10.0.%zu.%zu,111,udp,host-%zu.example,tag%zu,\n", i / 60 % 60,
		    i % 60, i / 256, i % 256, i, i % 3);
	for (i = 0; i < 300; i++)
		buf_printf(&csv, "2026-11-24 01:00:00,10.0.%zu.%zu,111,UDP,%s%zu%s,tag%zu,x\n", i / 256, i % 256,
		    i % 2 ? "e" : "early-", i, i % 2 ? "" : ".example", i % 3 + 10);
	rf = read_report(map, "scan_portmapper", csv.data);
	REQUIRE(rf->error == NULL);
	REQUIRE(rf->ngroups == 1);
	REQUIRE(rf->groups[0].nfindings == 700);
	for (i = 0; i < 700; i++) {
		const struct finding *f = rf->groups[0].findings[i];	/* sorted by address: row order */
		int early = i < 300;

		if (early)
			snprintf(want, sizeof(want), i % 2 ? "e%zu" : "early-%zu.example", i);
		else
			snprintf(want, sizeof(want), "host-%zu.example", i);
		bad += strcmp(report_file_value(rf, f, "hostname"), want) != 0;
		snprintf(want, sizeof(want), "tag%zu", early ? i % 3 + 10 : i % 3);
		bad += strcmp(report_file_value(rf, f, "tag"), want) != 0;
		bad += strcmp(report_file_value(rf, f, "empty"), early ? "x" : "") != 0;
		bad += strcmp(report_file_value(rf, f, "protocol"), early ? "UDP" : "udp") != 0;
		bad += strcmp(f->protocol, "udp") != 0;
		snprintf(want, sizeof(want), "10.0.%zu.%zu", i / 256, i % 256);
		bad += strcmp(report_file_value(rf, f, "ip"), want) != 0;
	}
	CHECK_INT(bad, 0);
	CHECK(report_file_value(rf, rf->groups[0].findings[0], "no_such_column") == NULL);
	report_file_free(rf);
	buf_free(&csv);
	prefixmap_free(map);
}

TEST(findings, a_listed_network_is_kept_with_its_row)
{
	struct prefixmap *map = test_map("prefix,account,email\n198.51.100.8/29,acme,ops@acme.example\n"
	    "198.51.100.64/26,bob,bob@bob.example\n");
	struct report_file *rf = read_report(map, "scan_portmapper",
	    "timestamp,ip,port,protocol,tag\n"
	    "2026-11-24 01:00:00,198.51.100.0/24,111,udp,net\n"
	    "2026-11-24 01:00:00,198.51.100.70,111,udp,host\n");
	char s[64];

	REQUIRE(rf->error == NULL);
	REQUIRE(rf->ngroups == 2);
	REQUIRE(rf->groups[0].nfindings == 1);
	finding_address(rf->groups[0].findings[0], s, sizeof(s));
	CHECK_STR(s, "198.51.100.8/29");
	finding_listed(rf->groups[0].findings[0], s, sizeof(s));
	CHECK_STR(s, "198.51.100.0/24");
	CHECK_STR(report_file_value(rf, rf->groups[0].findings[0], "tag"), "net");
	REQUIRE(rf->groups[1].nfindings == 2);	/* bob: his /26 of the network, and a host in it */
	finding_listed(rf->groups[1].findings[0], s, sizeof(s));
	CHECK_STR(s, "198.51.100.0/24");
	finding_listed(rf->groups[1].findings[1], s, sizeof(s));
	CHECK_STR(s, "");
	CHECK_STR(report_file_value(rf, rf->groups[1].findings[1], "tag"), "host");
	report_file_free(rf);
	prefixmap_free(map);
}

/* one file's finding joins another's groups: its values follow the other's columns */
TEST(findings, an_adopted_finding_reads_through_the_adopting_files_columns)
{
	struct prefixmap *map = test_map(MAP);
	struct report_file *a = read_report(map, "scan_portmapper",
	    "timestamp,ip,port,protocol,hostname\n2026-11-24 01:00:00,192.0.2.5,111,udp,a.example\n");
	struct report_file *b = read_report(map, "scan_portmapper",
	    "timestamp,tag,ip,port,protocol\n2026-11-24 02:00:00,bee,192.0.2.0/24,111,tcp\n");
	struct finding *copy;
	char s[64];

	REQUIRE(a->error == NULL && b->error == NULL);
	REQUIRE(b->ngroups == 2 && b->groups[0].nfindings == 1);
	copy = report_file_adopt(a, b, b->groups[0].findings[0]);
	CHECK_STR(copy->protocol, "tcp");
	CHECK_INT(copy->detected, b->groups[0].findings[0]->detected);
	CHECK_STR(report_file_value(a, copy, "ip"), "192.0.2.0/24");
	CHECK_STR(report_file_value(a, copy, "hostname"), "");
	CHECK(report_file_value(a, copy, "tag") == NULL);	/* not one of a's columns */
	finding_listed(copy, s, sizeof(s));
	CHECK_STR(s, "192.0.2.0/24");
	finding_address(copy, s, sizeof(s));
	CHECK_STR(s, "192.0.2.0/25");
	CHECK(finding_compare(copy, b->groups[0].findings[0]) == 0);
	CHECK(finding_compare(copy, a->groups[0].findings[0]) < 0);
	report_file_free(b);	/* the copy is a's: nothing of it is b's */
	CHECK_STR(report_file_value(a, copy, "ip"), "192.0.2.0/24");
	CHECK_STR(copy->protocol, "tcp");
	report_file_free(a);
	prefixmap_free(map);
}

/* a prefix that moved from acme to bob on 2026-11-24 12:00 UTC */
static const char *MOVED = "prefix,account,email,valid_from,valid_until\n"
    "192.0.2.0/24,acme,ops@acme.example,,2026-11-24 12:00\n"
    "192.0.2.0/24,bob,bob@bob.example,2026-11-24T12:00:00Z,\n";

TEST(findings, a_prefix_that_moved_is_matched_as_the_map_stood_at_each_detection)
{
	struct prefixmap *map = test_map(MOVED);
	struct report_file *rf = read_report(map, "scan_portmapper",
	    "timestamp,ip,port,protocol\n"
	    "2026-11-24 11:59:59,192.0.2.20,111,udp\n"	/* before the move: acme's */
	    "2026-11-24 12:00:00,192.0.2.21,111,udp\n"	/* at it: bob's */
	    "2026-11-24 13:00:00,192.0.2.20,111,udp\n"	/* the same host again, after: bob's */
	    "2026-11-24 10:00:00,192.0.2.0/28,111,udp\n");	/* a listed network, before */
	char ep[64];

	REQUIRE(rf->error == NULL);
	REQUIRE(rf->ngroups == 2);
	CHECK_STR(rf->groups[0].account->name, "acme");
	REQUIRE(rf->groups[0].nfindings == 2);
	finding_address(rf->groups[0].findings[0], ep, sizeof(ep));
	CHECK_STR(ep, "192.0.2.0/28");
	finding_endpoint(rf->groups[0].findings[1], ep, sizeof(ep));
	CHECK_STR(ep, "192.0.2.20:111");
	CHECK_INT(rf->groups[0].findings[1]->detected, 1795521599);
	CHECK_STR(rf->groups[1].account->name, "bob");
	REQUIRE(rf->groups[1].nfindings == 2);
	finding_endpoint(rf->groups[1].findings[0], ep, sizeof(ep));
	CHECK_STR(ep, "192.0.2.20:111");
	CHECK_INT(rf->groups[1].findings[0]->detected, 1795525200);
	finding_endpoint(rf->groups[1].findings[1], ep, sizeof(ep));
	CHECK_STR(ep, "192.0.2.21:111");
	CHECK_INT(rf->nunmatched, 0);
	report_file_free(rf);
	prefixmap_free(map);
}

TEST(findings, without_validity_columns_the_current_map_decides)
{
	struct prefixmap *map = test_map(MAP);
	struct report_file *rf = read_report(map, "scan_portmapper",
	    "timestamp,ip,port,protocol\n"
	    "1999-01-01 00:00:00,192.0.2.200,111,udp\n");

	REQUIRE(rf->error == NULL);
	REQUIRE(rf->ngroups == 1);
	CHECK_STR(rf->groups[0].account->name, "bob");
	report_file_free(rf);
	prefixmap_free(map);
}
