/*
 * test_recognise - report senders, the envelope, and the strict
 * Authentication-Results parser of VerifyDKIM no
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "trust/recognise.h"
#include "base/util.h"

#include <stdlib.h>

static int
dkim_pass(const char *value, const char *expect_id)
{
	char *id = NULL, why[128];
	int rc = authres_dkim_pass(value, "shadowserver.org", &id, why, sizeof(why));

	if (expect_id)
		CHECK_STR(id, expect_id);
	free(id);
	return rc;
}

TEST(authres, plain_pass)
{
	CHECK_INT(dkim_pass("mx.example.net; dkim=pass header.d=shadowserver.org", "mx.example.net"), 1);
}

TEST(authres, version_comments_and_spacing)
{
	CHECK_INT(dkim_pass("mx.example.net 1; dkim = pass (2048-bit key; secure) header.d = \"shadowserver.org\" "
	    "header.s=mail", "mx.example.net"), 1);
	CHECK_INT(dkim_pass("mx.example.net;\n\tspf=pass smtp.mailfrom=x;\n\tdkim=pass header.i=@ShadowServer.org",
	    "mx.example.net"), 1);
}

TEST(authres, fail_neutral_and_other_domains_do_not_pass)
{
	CHECK_INT(dkim_pass("mx.example.net; dkim=fail header.d=shadowserver.org", NULL), 0);
	CHECK_INT(dkim_pass("mx.example.net; dkim=neutral header.d=shadowserver.org", NULL), 0);
	CHECK_INT(dkim_pass("mx.example.net; dkim=pass header.d=shadowserver.org.evil.example", NULL), 0);
	CHECK_INT(dkim_pass("mx.example.net; spf=pass smtp.mailfrom=shadowserver.org", NULL), 0);
	CHECK_INT(dkim_pass("mx.example.net; none", NULL), 0);
}

TEST(authres, a_comment_cannot_smuggle_a_pass)
{
	CHECK_INT(dkim_pass("mx.example.net; dkim=fail (dkim=pass header.d=shadowserver.org) "
	    "header.d=shadowserver.org", NULL), 0);
}

TEST(authres, empty_is_unparsable)
{
	CHECK_INT(dkim_pass("", NULL), -1);
	CHECK_INT(dkim_pass("  ;dkim=pass", NULL), -1);
}

TEST(authres, what_opendkim_cannot_parse_is_refused)
{
	char *id = NULL, why[128], *longone = forged_authres_long();
	int i;

	for (i = 0; i < 3; i++) {
		CHECK_INT(authres_dkim_pass(forged_authres[i], "shadowserver.org", &id, why, sizeof(why)), -1);
		CHECK_STR(id, "mx.test.example");	/* it still claims our verifier's name */
		CHECK(why[0] != '\0');
		free(id);
	}
	CHECK_INT(authres_dkim_pass(longone, "shadowserver.org", &id, why, sizeof(why)), -1);
	CHECK(strstr(why, "over 2048 bytes") != NULL);
	free(id);
	free(longone);
	CHECK_INT(dkim_pass("mx.test.example; dkim=pass (unclosed header.d=shadowserver.org", NULL), -1);
	CHECK_INT(dkim_pass("mx.test.example; dkim=pass header.d=\"shadowserver.org", NULL), -1);
	CHECK_INT(dkim_pass("mx.test.example; dkim=pass header.d=shadowserver.org;", NULL), -1);
	CHECK_INT(dkim_pass("mx.test.example dkim=pass header.d=shadowserver.org", NULL), -1);
	/* what a real OpenDKIM writes still parses */
	CHECK_INT(dkim_pass("mx.test.example;\r\n\tdkim=pass (2048-bit key; secure) header.d=shadowserver.org "
	    "header.i=@shadowserver.org header.a=rsa-sha256 header.s=mail header.b=Ab+/Cd=1", "mx.test.example"), 1);
	CHECK_INT(dkim_pass("mx.test.example; dkim=fail reason=\"signature verification failed\" "
	    "header.d=shadowserver.org", "mx.test.example"), 0);
	CHECK_INT(dkim_pass("mx.test.example; none", "mx.test.example"), 0);
}

TEST(address, extraction)
{
	char *a;

	a = mail_address_extract("Root User <autoreports@shadowserver.org>");
	CHECK_STR(a, "autoreports@shadowserver.org");
	free(a);
	a = mail_address_extract("autoreports@shadowserver.org (Shadowserver)");
	CHECK_STR(a, "autoreports@shadowserver.org");
	free(a);
	a = mail_address_extract("\"Doe, <autoreports@shadowserver.org>\" <x@evil.example>");
	CHECK_STR(a, "x@evil.example");
	free(a);
	CHECK(mail_address_extract("a@b.example, autoreports@shadowserver.org") == NULL);
	CHECK(mail_address_extract("<a@b.example>, <autoreports@shadowserver.org>") == NULL);
	CHECK(mail_address_extract("undisclosed") == NULL);
}

static struct config *
authres_config(void)
{
	struct config *cfg = test_config();
	char err[256];

	if (config_set(cfg, "VerifyDKIM", "no", err, sizeof(err)) != 0)
		abort();
	return cfg;
}

TEST(recognise, two_from_headers_are_not_a_report)
{
	struct config *cfg = authres_config();
	struct recognise rc;
	char reason[256];

	recognise_init(&rc, cfg);
	recognise_header(&rc, "Authentication-Results", TRUSTED_AUTHRES);
	recognise_header(&rc, "From", "autoreports@shadowserver.org");
	recognise_header(&rc, "From", "evil@evil.example");
	CHECK_INT(recognise_verdict(&rc, reason, sizeof(reason)), 0);
	recognise_free(&rc);
	config_free(cfg);
}

TEST(recognise, authenticated_report)
{
	struct config *cfg = authres_config();
	struct recognise rc;
	char reason[256];

	recognise_init(&rc, cfg);
	recognise_envelope_sender(&rc, "<autoreports@shadowserver.org>");
	recognise_header(&rc, "Authentication-Results", TRUSTED_AUTHRES);
	recognise_header(&rc, "From", "Shadowserver <AutoReports@Shadowserver.org>");
	CHECK_INT(recognise_verdict(&rc, reason, sizeof(reason)), 1);
	recognise_free(&rc);
	config_free(cfg);
}

TEST(recognise, the_envelope_sender_decides_nothing_by_default)
{
	struct config *cfg = authres_config();
	struct recognise rc;
	char reason[256], err[256];

	recognise_init(&rc, cfg);
	recognise_envelope_sender(&rc, "<SRS0=AbCd=XY=shadowserver.org=autoreports@forwarder.example>");
	recognise_header(&rc, "Authentication-Results", TRUSTED_AUTHRES);
	recognise_header(&rc, "From", "Shadowserver <autoreports@shadowserver.org>");
	CHECK_INT(recognise_verdict(&rc, reason, sizeof(reason)), 1);
	/* a site that wants it sets ReportEnvelopeSenders */
	REQUIRE(config_set(cfg, "ReportEnvelopeSenders", "(?i)^autoreports@shadowserver\\.org$", err,
	    sizeof(err)) == 0);
	CHECK_INT(recognise_verdict(&rc, reason, sizeof(reason)), 0);
	CHECK(strstr(reason, "ReportEnvelopeSenders") != NULL);
	recognise_free(&rc);
	config_free(cfg);
}

TEST(recognise, a_forged_authres_on_top_is_refused)
{
	struct config *cfg = authres_config();
	char reason[256], *longone = forged_authres_long();
	int i;

	for (i = 0; i < 4; i++) {
		struct recognise rc;

		recognise_init(&rc, cfg);
		recognise_header(&rc, "Authentication-Results", i < 3 ? forged_authres[i] : longone);
		recognise_header(&rc, "Authentication-Results", TRUSTED_AUTHRES);	/* lower: not ours */
		recognise_header(&rc, "From", "Shadowserver <autoreports@shadowserver.org>");
		CHECK_INT(recognise_verdict(&rc, reason, sizeof(reason)), 0);
		CHECK(strstr(reason, "refused") != NULL);
		recognise_free(&rc);
	}
	free(longone);
	config_free(cfg);
}
