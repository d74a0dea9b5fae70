/*
 * test_recognise - report senders and Authentication-Results
 */
#include "test.h"
#include "testmail.h"

#include "config.h"
#include "recognise.h"
#include "util.h"

#include <stdlib.h>

static int
dkim_pass(const char *value, const char *expect_id)
{
	char *id = NULL;
	int rc = authres_dkim_pass(value, "shadowserver.org", &id);

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

TEST(recognise, two_from_headers_are_not_a_report)
{
	struct config *cfg = test_config();
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
	struct config *cfg = test_config();
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
