/*
 * test_fetch - what a report link may fetch, and the file name its answer gives
 * (the transfers themselves run against the test ShadowServer: tests/e2e/test-fetch.sh)
 */
#include "test.h"

#include "report/fetch.h"

#include <stdlib.h>

TEST(fetch, content_disposition_file_names)
{
	static const struct { const char *value, *name; } cases[] = {
		{ "attachment; filename=\"2026-11-24-scan_ntp-as64500.csv\"", "2026-11-24-scan_ntp-as64500.csv" },
		{ " attachment; filename=2026-11-24-scan_ntp-as64500.csv.zip\r\n", "2026-11-24-scan_ntp-as64500.csv.zip" },
		{ "attachment; filename*=UTF-8''2026-11-24-scan_ntp-as64500.csv", "2026-11-24-scan_ntp-as64500.csv" },
		{ "attachment; filename=\"../../etc/2026-11-24-scan_ntp-x.csv\"", "2026-11-24-scan_ntp-x.csv" },
		{ "attachment; filename=\"a\\\\b\\\\c.csv\"", "c.csv" },
		{ "attachment; filename=\"evil\r\nname.csv\"", "evil__name.csv" },
		{ "attachment; filename=\"..\"", NULL },
		{ "attachment", NULL },
		{ "inline; name=\"x.csv\"", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = fetch_disposition_name(cases[i].value);

		if (cases[i].name == NULL)
			CHECK(got == NULL);
		else
			CHECK_STR(got, cases[i].name);
		free(got);
	}
}

TEST(fetch, only_http_and_https_urls_on_listed_hosts_are_fetched)
{
	static char *const hosts[] = { "dl.shadowserver.org" };
	struct fetch_opts o = { hosts, 1, 1 << 20, 10, NULL, "/tmp" };
	static const char *const refused[] = {
		"https://dl.shadowserver.org.evil.example/x", "https://evil.example/dl.shadowserver.org/x",
		"https://127.0.0.1/x", "http://[::1]/x", "ftp://dl.shadowserver.org/x", "file:///etc/passwd",
		"gopher://dl.shadowserver.org/x", "https://dl.shadowserver.org@evil.example/x", "not a url", "",
	};
	char why[256];
	size_t i;

	CHECK(fetch_url_allowed(&o, "https://dl.shadowserver.org/AbC-d_e?f=1", why, sizeof(why)));
	CHECK(fetch_url_allowed(&o, "http://dl.shadowserver.org/AbC", why, sizeof(why)));	/* older mails */
	CHECK(fetch_url_allowed(&o, "https://DL.ShadowServer.org/AbC", why, sizeof(why)));
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		why[0] = '\0';
		CHECK(!fetch_url_allowed(&o, refused[i], why, sizeof(why)));
		CHECK(why[0] != '\0');
	}
}
