/*
 * test_pipeline - a report mail in, notices and the unmatched out
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "report/findings.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP =
    "prefix,account,email\n"
    "192.0.2.0/24,acme,ops@acme.example\n"
    "192.0.2.64/29,bob,bob@bob.example\n"
    "2001:db8:100::/48,acme,ops@acme.example\n";

static const char *CSV =
    "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\"\n"
    "\"2026-11-24 08:52:55\",\"192.0.2.10\",\"udp\",111,\"a.example\",\"portmapper\"\n"
    "\"2026-11-24 09:00:00\",\"192.0.2.66\",\"udp\",111,\"b.example\",\"portmapper\"\n"
    "\"2026-11-24 07:00:00\",\"192.0.2.66\",\"udp\",111,\"b.example\",\"portmapper\"\n"
    "\"2026-11-24 10:00:00\",\"2001:db8:100::5\",\"udp\",111,,\"portmapper\"\n"
    "\"2026-11-24 10:00:00\",\"203.0.113.9\",\"udp\",111,,\"portmapper\"\n"
    "\"2026-11-24 10:00:00\",\"not-an-ip\",\"udp\",111,,\"portmapper\"\n";

/* shared by the tests; results refer to the map's accounts, so it lives on */
static struct config *shared_cfg;
static struct prefixmap *shared_map;

/* run_text - MSG (freed) through the pipeline in CHUNK-sized pieces */
static struct pipeline_result *
run_text(char *msg, size_t chunk)
{
	struct pipeline_result *r;

	if (shared_cfg == NULL) {
		shared_cfg = test_config();
		shared_map = test_map(MAP);
	}
	r = test_run(shared_cfg, shared_map, msg, strlen(msg), chunk);
	free(msg);
	return r;
}

static struct pipeline_result *
run_mail(const struct testmail *tm, size_t chunk)
{
	return run_text(testmail_build(tm), chunk);
}

static const struct notice *
notice_for(const struct pipeline_result *r, const char *account)
{
	size_t i, j;

	for (i = 0; i < r->nreports; i++)
		for (j = 0; j < r->reports[i].nnotices; j++)
			if (r->reports[i].notices[j].made && strcmp(r->reports[i].notices[j].account, account) == 0)
				return &r->reports[i].notices[j];
	return NULL;
}

static const struct notice_group *
group_for(const struct pipeline_result *r, const char *account)
{
	size_t i, j;

	for (i = 0; i < r->nreports; i++)
		for (j = 0; j < r->reports[i].rf->ngroups; j++)
			if (strcmp(r->reports[i].rf->groups[j].account->name, account) == 0)
				return &r->reports[i].rf->groups[j];
	return NULL;
}

TEST(pipeline, zipped_report_gives_one_notice_per_customer)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv.zip", CSV,
	    NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL);
	CHECK(r->report);
	CHECK(r->authenticated);
	REQUIRE(r->nreports == 1);
	CHECK_STR(r->reports[0].rf->type, "scan_portmapper");
	CHECK_STR(r->reports[0].rf->file, "2026-11-24-scan_portmapper-test.csv");
	CHECK_INT(r->reports[0].rf->rows, 6);
	CHECK_INT(r->reports[0].rf->skipped_rows, 1);
	CHECK_INT(r->reports[0].nmade, 2);
	CHECK_INT(r->reports[0].rf->nunmatched, 1);
	CHECK(notice_for(r, "acme") != NULL);
	CHECK(notice_for(r, "bob") != NULL);
	pipeline_result_free(r);
}

TEST(pipeline, plain_csv_attachment_is_read)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv", CSV,
	    NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK_INT(r->reports[0].rf->rows, 6);
	CHECK_INT(r->reports[0].nmade, 2);
	pipeline_result_free(r);
}

TEST(pipeline, customer_never_sees_another_customers_addresses)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv.zip", CSV,
	    NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);
	const struct notice *acme, *bob;

	REQUIRE(r != NULL);
	acme = notice_for(r, "acme");
	bob = notice_for(r, "bob");
	REQUIRE(acme && bob);
	CHECK(strstr(acme->message, "192.0.2.10:111 (UDP)") != NULL);
	CHECK(strstr(acme->message, "[2001:db8:100::5]:111 (UDP)") != NULL);
	CHECK(strstr(acme->message, "192.0.2.66") == NULL);
	CHECK(strstr(acme->message, "203.0.113.9") == NULL);
	CHECK(strstr(bob->message, "192.0.2.66:111 (UDP)") != NULL);
	CHECK(strstr(bob->message, "192.0.2.10") == NULL);
	CHECK(strstr(bob->message, "2001:db8") == NULL);
	CHECK(strstr(bob->message, "To: bob@bob.example\n") != NULL);
	CHECK(strstr(acme->message, "To: ops@acme.example\n") != NULL);
	pipeline_result_free(r);
}

TEST(pipeline, duplicate_findings_keep_the_earliest_detection)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv", CSV, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);
	const struct notice_group *g;

	REQUIRE(r != NULL);
	g = group_for(r, "bob");
	REQUIRE(g != NULL);
	CHECK_INT(g->nfindings, 1);
	CHECK(strstr(notice_for(r, "bob")->message, "detected at 2026-11-24 07:00:00 UTC") != NULL);
	pipeline_result_free(r);
}

TEST(pipeline, findings_are_sorted_by_address_ipv4_first)
{
	const char *csv = "timestamp,ip,port,protocol\n"
	    "2026-11-24 01:00:00,2001:db8:100::1,111,udp\n"
	    "2026-11-24 01:00:00,192.0.2.200,111,udp\n"
	    "2026-11-24 01:00:00,192.0.2.9,111,udp\n"
	    "2026-11-24 01:00:00,192.0.2.9,111,tcp\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", csv, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);
	const char *m, *a, *b, *c, *d;

	REQUIRE(r != NULL && notice_for(r, "acme"));
	m = notice_for(r, "acme")->message;
	a = strstr(m, "192.0.2.9:111 (TCP)");
	b = strstr(m, "192.0.2.9:111 (UDP)");
	c = strstr(m, "192.0.2.200:111 (UDP)");
	d = strstr(m, "[2001:db8:100::1]:111 (UDP)");
	CHECK(a && b && c && d && a < b && b < c && c < d);
	pipeline_result_free(r);
}

TEST(pipeline, report_file_name_gives_date_type_and_what_it_covers)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-as64500-sub.csv.zip", CSV,
	    NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);
	char *date = NULL, *type = NULL, *id = NULL;

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK_STR(r->reports[0].rf->date, "2026-11-24");
	CHECK_STR(r->reports[0].rf->type, "scan_portmapper");
	CHECK_STR(r->reports[0].rf->identifier, "as64500-sub");
	pipeline_result_free(r);
	REQUIRE(report_name_parse("x/2026-11-24-scan_ntp-192.0.2.0_24 a.csv", &date, &type, &id) == 0);
	CHECK_STR(id, "192.0.2.0_24_a");
	free(date);
	free(type);
	free(id);
}

TEST(pipeline, chunking_does_not_change_the_result)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv.zip", CSV,
	    NULL, NULL };
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	char *msg = testmail_build(&tm);
	struct pipeline_result *whole = test_run(cfg, map, msg, strlen(msg), 0);
	size_t chunks[] = { 1, 2, 3, 7, 64, 1000 }, i;

	REQUIRE(whole != NULL && whole->nreports == 1);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct pipeline_result *r = test_run(cfg, map, msg, strlen(msg), chunks[i]);

		REQUIRE(r != NULL && r->nreports == 1 && r->reports[0].nmade == 2);
		CHECK_STR(r->reports[0].notices[0].message, whole->reports[0].notices[0].message);
		CHECK_STR(r->reports[0].notices[1].message, whole->reports[0].notices[1].message);
		pipeline_result_free(r);
	}
	pipeline_result_free(whole);
	free(msg);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(pipeline, unauthenticated_report_gets_no_notices)
{
	struct testmail tm = { NULL, NULL, NULL, "2026-11-24-scan_portmapper-test.csv", CSV, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL);
	CHECK(r->report);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	CHECK(strstr(r->reason, "unauthenticated") != NULL);
	pipeline_result_free(r);
}

TEST(pipeline, authres_from_an_untrusted_authserv_id_is_ignored)
{
	struct testmail tm = { "evil.example; dkim=pass header.d=shadowserver.org", NULL, NULL,
	    "2026-11-24-scan_portmapper-test.csv", CSV, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	pipeline_result_free(r);
}

TEST(pipeline, planted_trusted_authres_below_the_real_one_does_not_count)
{
	/* the top header is our verifier's fail; the sender planted a "pass" lower down */
	struct testmail tm = { "mx.test.example; dkim=fail header.d=shadowserver.org", NULL, NULL,
	    "2026-11-24-scan_portmapper-test.csv", CSV, NULL,
	    "Authentication-Results: mx.test.example; dkim=pass header.d=shadowserver.org\n" };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	pipeline_result_free(r);
}

TEST(pipeline, dkim_pass_for_another_domain_is_not_enough)
{
	struct testmail tm = { "mx.test.example; dkim=pass header.d=evil.example", NULL, NULL,
	    "2026-11-24-scan_portmapper-test.csv", CSV, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	pipeline_result_free(r);
}

TEST(pipeline, forged_sender_is_not_a_report)
{
	struct testmail tm = { TRUSTED_AUTHRES, "Shadowserver <autoreports@shadowserver.org.evil.example>", NULL,
	    "2026-11-24-scan_portmapper-test.csv", CSV, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL);
	CHECK(!r->report);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	pipeline_result_free(r);
}

TEST(pipeline, display_name_holding_the_report_address_is_not_the_sender)
{
	struct testmail tm = { TRUSTED_AUTHRES, "\"<autoreports@shadowserver.org>\" <evil@evil.example>", NULL,
	    "2026-11-24-scan_portmapper-test.csv", CSV, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL);
	CHECK(!r->report);
	pipeline_result_free(r);
}

TEST(pipeline, the_envelope_sender_decides_nothing_unless_configured)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv", CSV, NULL,
	    "Return-Path: <bounce@evil.example>\n" };
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	char *msg = testmail_build(&tm), err[256];
	struct pipeline_result *r = test_run(cfg, map, msg, strlen(msg), 0);

	REQUIRE(r != NULL);
	CHECK(r->authenticated);	/* DKIM survives forwarding; the envelope proves nothing */
	pipeline_result_free(r);
	REQUIRE(config_set(cfg, "ReportEnvelopeSenders", "(?i)^autoreports@shadowserver\\.org$", err,
	    sizeof(err)) == 0);
	r = test_run(cfg, map, msg, strlen(msg), 0);
	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK(strstr(r->reason, "envelope sender <bounce@evil.example> does not match ReportEnvelopeSenders") != NULL);
	CHECK_INT(r->nreports, 0);
	pipeline_result_free(r);
	free(msg);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(pipeline, link_only_report_says_so)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, NULL, NULL,
	    "The report content can be obtained from the following link:\n"
	    "https://dl.shadowserver.org/AbCdEf123\nThanks.", NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL);
	CHECK(r->authenticated);
	CHECK_INT(r->nreports, 0);
	CHECK_STR(r->link, "https://dl.shadowserver.org/AbCdEf123");
	CHECK(strstr(r->reason, "link only") != NULL);
	pipeline_result_free(r);
}

TEST(pipeline, hostname_cannot_inject_a_header)
{
	const char *csv = "timestamp,ip,port,protocol,hostname\n"
	    "2026-11-24 01:00:00,192.0.2.10,111,udp,\"x\r\nBcc: victim@evil.example\"\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", csv, NULL, NULL };
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	char *msg = testmail_build(&tm), *dir = test_tmpdir(), path[4096], err[256];
	struct pipeline_result *r;
	const char *m;

	/* a site template that puts the hostname in the subject and the body */
	snprintf(path, sizeof(path), "%s/scan_portmapper.tmpl", dir);
	test_write_file(path, "Subject: ACTION REQUIRED: {{#findings}}{{hostname}}{{/findings}}\n\n"
	    "{{#findings}}{{hostname}}\n{{/findings}}");
	REQUIRE(config_set(cfg, "TemplateDir", dir, err, sizeof(err)) == 0);
	r = test_run(cfg, map, msg, strlen(msg), 0);
	REQUIRE(r != NULL && notice_for(r, "acme"));
	m = notice_for(r, "acme")->message;
	CHECK(strstr(m, "\nBcc:") == NULL);
	CHECK(strstr(m, "\r") == NULL);
	CHECK(strstr(m, "Subject: ACTION REQUIRED: x Bcc: victim@evil.example\n") != NULL);
	pipeline_result_free(r);
	free(msg);
	free(dir);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(pipeline, missing_ip_column_is_a_file_error_without_notices)
{
	const char *csv = "timestamp,addr,port\n2026-11-24 01:00:00,192.0.2.10,111\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", csv, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK(r->reports[0].rf->error != NULL);
	CHECK_INT(r->reports[0].nmade, 0);
	pipeline_result_free(r);
}

TEST(pipeline, broken_zip_is_reported_not_fatal)
{
	struct testmail tm = { "x", NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	char *msg = testmail_build(&tm), *fake, *signed_msg;
	struct pipeline_result *r;

	/* the same bytes, named as a zip: not a zip at all (signed as such) */
	fake = strstr(msg, "filename=\"2026-11-24-scan_portmapper-x.csv\"");
	REQUIRE(fake != NULL);
	{
		struct buf b = BUF_INIT;

		buf_append(&b, msg, (size_t)(fake - msg));
		buf_puts(&b, "filename=\"2026-11-24-scan_portmapper-x.csv.zip\"");
		buf_puts(&b, fake + strlen("filename=\"2026-11-24-scan_portmapper-x.csv\""));
		free(msg);
		signed_msg = testmail_sign(buf_cstr(&b), NULL);
		msg = signed_msg;
		buf_free(&b);
	}
	r = test_run(cfg, map, msg, strlen(msg), 0);
	REQUIRE(r != NULL && r->nreports == 1);
	CHECK(r->reports[0].rf->error != NULL);
	CHECK_INT(r->reports[0].nmade, 0);
	pipeline_result_free(r);
	free(msg);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(pipeline, bad_base64_does_not_crash)
{
	char *msg = testmail_sign(
	    "From: autoreports@shadowserver.org\nSubject: x\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=B\n\n--B\n"
	    "Content-Type: text/csv; name=2026-11-24-scan_portmapper-x.csv\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "dGltZXN0YW1wLGlwLHBvcnQ!!!@@@\x01\x02sKMjAyNi0xMS0yNCAwMTowMDowMCwxOTIuMC4yLjEwLDExMQo=\n--B--\n",
	    NULL);
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	struct pipeline_result *r = test_run(cfg, map, msg, strlen(msg), 0);

	REQUIRE(r != NULL);
	CHECK(r->authenticated);
	CHECK(r->bad_base64 > 0);
	pipeline_result_free(r);
	free(msg);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(pipeline, type_comes_from_subject_when_the_name_has_none)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, "[X] Shadowserver X Open Portmapper Report: 2026-11-24",
	    "report.csv", CSV, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK_STR(r->reports[0].rf->type, "scan_portmapper");
	pipeline_result_free(r);
}

TEST(pipeline, unknown_type_gets_the_generic_template)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, "whatever", "2026-11-24-scan_wibble-x.csv", CSV, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL && r->nreports == 1 && r->reports[0].nmade == 2);
	CHECK(strstr(r->reports[0].notices[0].subject, "ACTION REQUIRED:") == r->reports[0].notices[0].subject);
	CHECK(strstr(r->reports[0].notices[0].message, "scan_wibble") != NULL);
	pipeline_result_free(r);
}

TEST(pipeline, notice_message_id_is_stable_for_the_same_report)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv", CSV, NULL, NULL };
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	char *msg = testmail_build(&tm);
	struct pipeline_result *a = test_run(cfg, map, msg, strlen(msg), 0);
	struct pipeline_result *b = test_run(cfg, map, msg, strlen(msg), 0);

	REQUIRE(a && b && a->nreports == 1 && b->nreports == 1);
	CHECK_STR(a->reports[0].notices[0].message_id, b->reports[0].notices[0].message_id);
	CHECK(strcmp(a->reports[0].notices[0].message_id, a->reports[0].notices[1].message_id) != 0);
	pipeline_result_free(a);
	pipeline_result_free(b);
	free(msg);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(pipeline, event_reports_name_the_host_in_src_ip)
{
	const char *csv = "timestamp,src_ip,src_port,dst_ip,infection\n"
	    "2026-11-24 01:00:00,192.0.2.66,51234,198.18.0.1,mirai\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-event4_sinkhole-x.csv", csv, NULL, NULL };
	struct pipeline_result *r = run_mail(&tm, 0);

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK(r->reports[0].rf->error == NULL);
	CHECK_INT(r->reports[0].nmade, 1);
	CHECK(notice_for(r, "bob") != NULL);
	pipeline_result_free(r);
}

TEST(pipeline, an_event_value_is_quoted_data_without_bidi_or_line_separators)
{
	const char *csv = "timestamp,src_ip,src_port,dst_ip,infection\n"
	    "2026-11-24 01:00:00,192.0.2.66,51234,198.18.0.1,"
	    "\"evil\xE2\x80\xAE" "gpj.exe\xE2\x80\xA8" "Bcc: victim@evil.example\xC2\x85" "FAKE \"\"BODY\"\"\"\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-event4_sinkhole-x.csv", csv, NULL, NULL };
	struct config *cfg = test_catalogue_config();	/* the catalogue names the evidence columns */
	struct prefixmap *map = test_map(MAP);
	char *msg = testmail_build(&tm);
	struct pipeline_result *r = test_run(cfg, map, msg, strlen(msg), 0);
	const struct notice *n;

	free(msg);
	REQUIRE(r != NULL && r->nreports == 1);
	REQUIRE((n = notice_for(r, "bob")) != NULL);
	CHECK(strstr(n->message, "infection: \"evilgpj.exe Bcc: victim@evil.example FAKE \\\"BODY\\\"\"") != NULL);
	CHECK(strstr(n->message, "\xE2\x80\xAE") == NULL);
	CHECK(strstr(n->message, "\xE2\x80\xA8") == NULL);
	CHECK(strstr(n->message, "\xC2\x85") == NULL);
	pipeline_result_free(r);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(pipeline, a_zip_with_two_csvs_gives_two_reports)
{
	struct testreport tr = { .zip = 1, .files = { { "2026-11-24-scan_portmapper-x.csv", CSV },
	    { "2026-11-24-scan_ntp-x.csv", "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,123,udp\n" } } };
	struct pipeline_result *r = run_text(testreport_build(&tr), 333);

	REQUIRE(r != NULL && r->nreports == 2);
	CHECK_STR(r->reports[0].rf->type, "scan_portmapper");
	CHECK_STR(r->reports[1].rf->type, "scan_ntp");
	CHECK_INT(r->reports[0].nmade, 2);
	CHECK_INT(r->reports[1].nmade, 1);
	CHECK(strstr(r->reports[1].notices[0].message, "192.0.2.10:123 (UDP)") != NULL);
	pipeline_result_free(r);
}

/* run_limited - TM through a pipeline whose KEY is VALUE: the one report file's error and its kind */
static int
run_limited(const struct testmail *tm, const char *key, const char *value, char *error, size_t errlen)
{
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	struct pipeline_result *r;
	char *msg = testmail_build(tm), err[256];
	int kind = -1;

	if (key && config_set(cfg, key, value, err, sizeof(err)) != 0)
		abort();
	r = test_run(cfg, map, msg, strlen(msg), 0);
	snprintf(error, errlen, "%s", "");
	if (r && r->nreports == 1 && r->reports[0].rf->error) {
		snprintf(error, errlen, "%s", r->reports[0].rf->error);
		kind = (int)r->reports[0].rf->error_kind;
	}
	pipeline_result_free(r);
	prefixmap_free(map);
	config_free(cfg);
	free(msg);
	return kind;
}

/* a file stopped by a configured limit says so (a pull refuses it only while the limits stay);
 * one stopped by its form is unreadable whatever the limits */
TEST(pipeline, a_file_over_a_limit_is_told_from_a_broken_one)
{
	struct testmail zip = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv.zip", CSV,
	    NULL, NULL };
	struct testmail csv = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv", CSV, NULL, NULL };
	struct testmail broken = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-test.csv",
	    "\"ip\",\"port\"\n\"192.0.2.10\",111\n", NULL, NULL };
	char error[256];

	CHECK_INT(run_limited(&zip, "MaxCSVSize", "100", error, sizeof(error)), REPORT_ERROR_LIMIT);
	CHECK(strstr(error, "(MaxCSVSize)") != NULL);
	CHECK_INT(run_limited(&csv, "MaxCSVSize", "100", error, sizeof(error)), REPORT_ERROR_LIMIT);
	CHECK(strstr(error, "MaxCSVSize") != NULL);
	CHECK_INT(run_limited(&csv, "MaxRows", "1", error, sizeof(error)), REPORT_ERROR_LIMIT);
	CHECK(strstr(error, "MaxRows") != NULL);
	CHECK_INT(run_limited(&broken, NULL, NULL, error, sizeof(error)), REPORT_ERROR_FORMAT);
	CHECK(strstr(error, "timestamp") != NULL);
	CHECK_INT(run_limited(&csv, NULL, NULL, error, sizeof(error)), -1);	/* read: no error */
}
