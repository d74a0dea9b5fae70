/*
 * test_identity - which report a mail is comes only from what its DKIM
 * signature covers (issue 17, item 3, finding 3)
 *
 * A Message-ID, Subject or Date the signature does not cover is the
 * sender's to change: the reference is then the signed body's digest plus
 * the report file names, and an unsigned Subject types no file. So the same
 * report replayed under a fresh, added or changed Message-ID, Subject or
 * Date is the same report. The store's side (no new notices) is in
 * test_store.c.
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "report/findings.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n";
static const char *CSV = "timestamp,ip,port\n2026-11-24 10:00:00,192.0.2.1,111\n";
static const char *CSV2 = "timestamp,ip,port\n2026-11-24 10:00:00,192.0.2.2,111\n";

/* h= of a signer that signs none of Message-ID, Subject and Date */
static const char *const NO_IDENTITY[] = { "from", "to", "mime-version", "content-type", NULL };

static const char *HEADERS = "Subject: [Example] Shadowserver Example Open Portmapper Report: 2026-11-24\n"
    "Date: Tue, 24 Nov 2026 06:00:00 +0000\nMessage-ID: <orig.1@shadowserver.org>\n";

static struct pipeline_result *
run_with(const char *const *settings, const char *msg)
{
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	struct pipeline_result *r;
	char err[256];

	for (; settings && *settings; settings += 2)
		if (config_set(cfg, settings[0], settings[1], err, sizeof(err)) != 0)
			abort();
	r = test_run(cfg, map, msg, strlen(msg), 977);
	prefixmap_free(map);
	config_free(cfg);
	return r;
}

/* run - MSG through the pipeline (VerifyDKIM yes); MSG is freed */
static struct pipeline_result *
run(char *msg)
{
	struct pipeline_result *r = run_with(NULL, msg);

	free(msg);
	return r;
}

/* disguised - the signed MSG with NAME's line made LINE (added when MSG has none) */
static char *
disguised(const char *msg, const char *name, const char *line)
{
	return testmail_disguise(msg, name, line);
}

/* same_report - both authenticated, one report each, the same reference */
static int
same_report(const struct pipeline_result *a, const struct pipeline_result *b)
{
	return a && b && a->authenticated && b->authenticated && a->nreports == 1 && b->nreports == 1 &&
	    strcmp(a->report_ref, b->report_ref) == 0;
}

/* same_when_disguised - a report signed without its identity headers (HEADERS its own)
 * and the same mail with NAME's line made LINE are the same report; the disguised
 * mail's result (caller frees) */
static struct pipeline_result *
same_when_disguised(const char *headers, const char *name, const char *line)
{
	char *msg = testmail_signed_report(headers, "2026-11-24-scan_portmapper-x.csv", CSV, NO_IDENTITY);
	struct pipeline_result *a = run(xstrdup(msg)), *b = run(disguised(msg, name, line));

	CHECK(same_report(a, b));
	pipeline_result_free(a);
	free(msg);
	return b;
}

TEST(identity, a_signed_message_id_is_the_reference)
{
	struct pipeline_result *r = run(testmail_signed_report(HEADERS, "2026-11-24-scan_portmapper-x.csv", CSV,
	    NULL));

	REQUIRE(r != NULL && r->authenticated);
	CHECK_STR(r->report_ref, "<orig.1@shadowserver.org>");
	CHECK_STR(r->message_id, "<orig.1@shadowserver.org>");
	pipeline_result_free(r);
}

TEST(identity, a_changed_message_id_the_signature_does_not_cover_is_the_same_report)
{
	struct pipeline_result *b = same_when_disguised(HEADERS, "Message-ID", "Message-ID: <fresh.2@evil.example>\n");

	REQUIRE(b != NULL);
	CHECK(strstr(b->report_ref, "fresh") == NULL);
	CHECK_STR(b->message_id, "");	/* not the report's: the signature does not say so */
	pipeline_result_free(b);
}

TEST(identity, a_message_id_added_to_a_report_without_one_is_the_same_report)
{
	pipeline_result_free(same_when_disguised("Subject: Shadowserver Open Portmapper Report\n", "Message-ID",
	    "Message-ID: <fresh.3@evil.example>\n"));
}

TEST(identity, a_changed_date_the_signature_does_not_cover_is_the_same_report)
{
	pipeline_result_free(same_when_disguised("Date: Tue, 24 Nov 2026 06:00:00 +0000\n", "Date",
	    "Date: Thu, 1 Jan 2032 00:00:00 +0000\n"));
}

/* the digest is of the report, not a constant: two reports are two */
TEST(identity, two_different_reports_without_a_signed_message_id_are_two)
{
	struct pipeline_result *a = run(testmail_signed_report("", "2026-11-24-scan_portmapper-x.csv", CSV,
	    NO_IDENTITY));
	struct pipeline_result *b = run(testmail_signed_report("", "2026-11-24-scan_portmapper-x.csv", CSV2,
	    NO_IDENTITY));
	struct pipeline_result *c = run(testmail_signed_report("", "2026-11-24-scan_portmapper-y.csv", CSV,
	    NO_IDENTITY));

	REQUIRE(a != NULL && b != NULL && c != NULL);
	CHECK(a->authenticated && b->authenticated && c->authenticated);
	CHECK(strcmp(a->report_ref, b->report_ref) != 0);
	CHECK(strcmp(a->report_ref, c->report_ref) != 0);
	pipeline_result_free(a);
	pipeline_result_free(b);
	pipeline_result_free(c);
}

/* a saved copy (LF line ends) and the mail as the MTA handed it (CRLF) are one report */
TEST(identity, the_reference_does_not_depend_on_line_ends)
{
	char *msg = testmail_signed_report("", "2026-11-24-scan_portmapper-x.csv", CSV, NO_IDENTITY);
	struct buf crlf = BUF_INIT;
	const char *p;
	struct pipeline_result *a, *b;

	for (p = msg; *p; p++) {
		if (*p == '\n')
			buf_putc(&crlf, '\r');
		buf_putc(&crlf, *p);
	}
	a = run(msg);
	b = run(buf_steal(&crlf));
	CHECK(same_report(a, b));
	pipeline_result_free(a);
	pipeline_result_free(b);
}

TEST(identity, a_signed_subject_types_a_file_whose_name_has_no_type)
{
	struct pipeline_result *r = run(testmail_signed_report(HEADERS, "report.csv", CSV, NULL));

	REQUIRE(r != NULL && r->authenticated && r->nreports == 1);
	CHECK_STR(r->reports[0].rf->type, "scan_portmapper");
	pipeline_result_free(r);
}

TEST(identity, an_unsigned_subject_types_no_file)
{
	char *msg = testmail_signed_report(HEADERS, "report.csv", CSV, NO_IDENTITY);
	struct pipeline_result *a = run(xstrdup(msg));
	struct pipeline_result *b = run(disguised(msg, "Subject",
	    "Subject: [Example] Shadowserver Example Open Memcached Report: 2026-11-24\n"));

	REQUIRE(a != NULL && a->authenticated && a->nreports == 1);
	REQUIRE(b != NULL && b->authenticated && b->nreports == 1);
	CHECK_STR(a->reports[0].rf->type, "unknown");
	CHECK_STR(b->reports[0].rf->type, "unknown");
	CHECK_STR(b->subject, "");
	CHECK(same_report(a, b));
	pipeline_result_free(a);
	pipeline_result_free(b);
	free(msg);
}

TEST(identity, a_subject_added_to_a_report_without_one_types_no_file)
{
	char *msg = testmail_signed_report("", "report.csv", CSV, NO_IDENTITY);
	struct pipeline_result *r = run(disguised(msg, "Subject",
	    "Subject: [Example] Shadowserver Example Open Memcached Report: 2026-11-24\n"));

	REQUIRE(r != NULL && r->authenticated && r->nreports == 1);
	CHECK_STR(r->reports[0].rf->type, "unknown");
	pipeline_result_free(r);
	free(msg);
}

/* VerifyDKIM no: nothing says what the signature covered, so no header is the identity */
TEST(identity, with_verifydkim_no_the_reference_is_the_report_itself)
{
	static const char *const no[] = { "VerifyDKIM", "no", NULL };
	char *msg = testmail_signed_report(HEADERS, "report.csv", CSV, NULL);
	char *a_msg = testmail_disguise(msg, "X-None", "Authentication-Results: " TRUSTED_AUTHRES "\n");
	char *b_msg = testmail_disguise(a_msg, "Message-ID", "Message-ID: <fresh.4@evil.example>\n");
	struct pipeline_result *a = run_with(no, a_msg), *b = run_with(no, b_msg);

	CHECK(same_report(a, b));
	REQUIRE(a != NULL);
	CHECK(strstr(a->report_ref, "orig.1") == NULL);
	CHECK(a->nreports == 1 && strcmp(a->reports[0].rf->type, "unknown") == 0);
	pipeline_result_free(a);
	pipeline_result_free(b);
	free(msg);
	free(a_msg);
	free(b_msg);
}
