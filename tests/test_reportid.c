/*
 * test_reportid - the identity of a report file from ShadowServer's file name
 * (^(\d{4}-\d{2}-\d{2})-([^-]+)-(.+)\.csv$), whatever route brought it
 */
#include "test.h"

#include "report/reportid.h"

TEST(reportid, the_three_parts_of_shadowservers_file_name)
{
	struct report_id id;

	REQUIRE(report_id_parse("2024-07-04-dns_openresolver-example_com-asn.csv", &id) == 0);
	CHECK_STR(id.date, "2024-07-04");
	CHECK_STR(id.type, "dns_openresolver");
	CHECK_STR(id.list, "example_com-asn");	/* (.+) keeps every later dash */
	CHECK_STR(id.key, "2024-07-04-dns_openresolver-example_com-asn");
	report_id_free(&id);
}

TEST(reportid, the_same_file_by_attachment_zip_member_download_or_api_has_one_identity)
{
	static const char *const names[] = {
		"2026-11-24-scan_ntp-as64500.csv",		/* an attachment; the API's "file" */
		"2026-11-24-scan_ntp-as64500.csv.zip",		/* a zipped attachment */
		"reports/2026-11-24-scan_ntp-as64500.csv",	/* a zip member in a folder */
		"2026-11-24-Scan_NTP-as64500.csv",		/* a type in capitals */
	};
	struct report_id id;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		REQUIRE(report_id_parse(names[i], &id) == 0);
		CHECK_STR(id.key, "2026-11-24-scan_ntp-as64500");
		report_id_free(&id);
	}
}

TEST(reportid, names_outside_the_rule_have_no_identity)
{
	static const char *const names[] = {
		"invoice.pdf", "2026-11-24-scan_ntp-as64500.txt", "2026-11-24-scan_ntp.csv",
		"2026-11-24--as64500.csv", "2026-11-24-scan_ntp-.csv", "26-11-24-scan_ntp-as64500.csv",
		"2026-1a-24-scan_ntp-as64500.csv", "2026-11-24_scan_ntp-as64500.csv", "",
		"2026-11-24-scan_ntp-as\n64500.csv", ".csv",
	};
	struct report_id id;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK(report_id_parse(names[i], &id) != 0);
		CHECK(id.key == NULL);
	}
}
