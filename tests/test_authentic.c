/*
 * test_authentic - only what ShadowServer really signed makes notices
 *
 * Reports really DKIM-signed here (libopendkim, the throwaway key in
 * tests/fixtures/dkim/, TestPublicKeys instead of DNS) through the whole
 * pipeline, as the milter and replay run it: a valid signature gives
 * notices; a changed byte, another domain, a second From, data past l=, a
 * forged Authentication-Results (in both modes) give none; a forwarded
 * report (SRS envelope sender) still gives them.
 */
#include "test.h"
#include "testmail.h"
#include "testrig.h"
#include "testsign.h"

#include "config/config.h"
#include "trust/dkimverify.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n"
    "192.0.2.64/29,bob,bob@bob.example\n";
static const char *CSV = "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,111,udp\n"
    "2026-11-24 01:00:00,192.0.2.20,111,udp\n";

/* rig_init - the test config (VerifyDKIM yes unless VERIFY_DKIM is 0) and MAP */
static void
rig_init(struct test_rig *r, int verify_dkim)
{
	static const char *const verify_no[] = { "VerifyDKIM", "no", NULL };
	struct test_rig_spec spec = { .map = MAP, .settings = verify_dkim ? NULL : verify_no };

	test_rig_init(r, &spec);
}

/* report - a report mail, DKIM-signed for DOMAIN (NULL: unsigned) */
static char *
report(const char *domain, const char *extra_headers)
{
	struct testmail tm = { NULL, NULL, NULL, "2026-11-24-scan_portmapper-x.csv.zip", CSV, NULL, extra_headers };
	char *msg = testmail_build(&tm), *s;

	if (domain == NULL)
		return msg;
	s = testmail_sign(msg, domain);
	free(msg);
	return s;
}

/* a test: the rig (VerifyDKIM yes), a report mail and the reason of the last run */
struct acase {
	struct test_rig rg;
	char *m;
	char reason[512];
};

/* begin - C with a report mail signed for DOMAIN (NULL: unsigned), EXTRA_HEADERS on top */
static void
begin(struct acase *c, const char *domain, const char *extra_headers)
{
	rig_init(&c->rg, 1);
	c->m = report(domain, extra_headers);
	c->reason[0] = '\0';
}

static void
end(struct acase *c)
{
	free(c->m);
	test_rig_free(&c->rg);
}

/* notices - how many notices MSG makes (-1: the pipeline failed); REASON gets the reason */
static int
notices(const struct test_rig *rg, const char *msg, const char *envelope, char *reason, size_t reasonlen)
{
	struct pipeline *p = pipeline_new(rg->cfg, rg->map);
	struct pipeline_result *r = NULL;
	char err[512];
	size_t i, n = 0, off, len = strlen(msg);

	pipeline_set_now(p, 1795000000);
	if (envelope)
		pipeline_set_envelope_sender(p, envelope);
	for (off = 0; off < len; off += 61)	/* chunked as an MTA would */
		pipeline_feed(p, msg + off, len - off < 61 ? len - off : 61);
	if (pipeline_finish(p, &r, err, sizeof(err)) != 0) {
		snprintf(reason, reasonlen, "%s", err);
		pipeline_free(p);
		return -1;
	}
	for (i = 0; i < r->nreports; i++)
		n += r->reports[i].nmade;
	snprintf(reason, reasonlen, "%s", r->reason);
	if (n > 0 && !r->authenticated)
		n = 1000;	/* never */
	pipeline_result_free(r);
	pipeline_free(p);
	return (int)n;
}

/* notices_of - notices(C's rig, MSG, ENVELOPE), the reason in C */
static int
notices_of(struct acase *c, const char *msg, const char *envelope)
{
	return notices(&c->rg, msg, envelope, c->reason, sizeof(c->reason));
}

TEST(authentic, a_valid_signature_gives_notices)
{
	struct acase c;

	begin(&c, "shadowserver.org", NULL);
	CHECK_INT(notices_of(&c, c.m, "<autoreports@shadowserver.org>"), 1);
	CHECK(strstr(c.reason, "authenticated report: DKIM d=shadowserver.org s=test a=rsa-sha256") != NULL);
	end(&c);
}

TEST(authentic, one_byte_changed_gives_none)
{
	struct acase c;
	char *p;

	begin(&c, "shadowserver.org", NULL);
	p = strstr(c.m, "Content-Disposition: attachment");	/* then the zip, base64 */
	REQUIRE(p != NULL && (p = strstr(p, "\n\n")) != NULL);
	p += 12;
	*p = *p == 'A' ? 'B' : 'A';
	CHECK_INT(notices_of(&c, c.m, NULL), 0);
	CHECK(strstr(c.reason, "unauthenticated: DKIM d=shadowserver.org s=test a=rsa-sha256: body hash mismatch") != NULL);
	end(&c);
}

TEST(authentic, a_changed_subject_gives_none)
{
	struct acase c;
	char *p;

	begin(&c, "shadowserver.org", NULL);
	p = strstr(c.m, "Subject: [Test]");
	REQUIRE(p != NULL);
	p[10] = 'X';
	CHECK_INT(notices_of(&c, c.m, NULL), 0);
	CHECK(strstr(c.reason, "unauthenticated: DKIM d=shadowserver.org s=test") != NULL);
	end(&c);
}

TEST(authentic, signed_by_another_domain_gives_none)
{
	struct acase c;

	begin(&c, "evil.example", NULL);
	CHECK_INT(notices_of(&c, c.m, NULL), 0);
	CHECK(strstr(c.reason, "unauthenticated: DKIM no DKIM signature with d=shadowserver.org") != NULL);
	end(&c);
}

TEST(authentic, unsigned_gives_none)
{
	struct acase c;

	begin(&c, NULL, NULL);
	CHECK_INT(notices_of(&c, c.m, NULL), 0);
	end(&c);
}

TEST(authentic, a_second_from_header_gives_none)
{
	struct acase c;
	struct buf b = BUF_INIT;
	struct testmail tm = { NULL, NULL, NULL, "2026-11-24-scan_portmapper-x.csv.zip", CSV, NULL,
	    "From: Evil <evil@evil.example>\n" };
	char *two = testmail_build(&tm), *signed2;

	begin(&c, "shadowserver.org", NULL);
	/* added after signing, on top */
	buf_printf(&b, "From: Shadowserver <autoreports@shadowserver.org>\n%s", c.m);
	CHECK_INT(notices_of(&c, buf_cstr(&b), NULL), 0);
	CHECK(strstr(c.reason, "2 From headers") != NULL);
	/* and signed with both */
	signed2 = testmail_sign(two, NULL);
	CHECK_INT(notices_of(&c, signed2, NULL), 0);
	CHECK(strstr(c.reason, "2 From headers") != NULL);
	free(signed2);
	free(two);
	buf_free(&b);
	end(&c);
}

TEST(authentic, data_appended_past_l_gives_nothing_for_the_appended_host)
{
	/* a plain CSV as the whole body, so appended rows would be read */
	const char *msg = "From: Shadowserver <autoreports@shadowserver.org>\nTo: abuse@example.net\n"
	    "Subject: [Test] Shadowserver Test Open Portmapper Report: 2026-11-24\n"
	    "Message-ID: <l-test@reports.shadowserver.org>\nMIME-Version: 1.0\n"
	    "Content-Type: text/csv; name=\"2026-11-24-scan_portmapper-x.csv\"\n"
	    "Content-Disposition: attachment; filename=\"2026-11-24-scan_portmapper-x.csv\"\n\n"
	    "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,111,udp\n";
	struct testsign opt = { .key_file = test_key_file(), .body_length = -1 };
	struct test_rig rg;
	struct buf b = BUF_INIT;
	char reason[512], err[256], *m = testsign(msg, strlen(msg), &opt, err, sizeof(err));

	REQUIRE(m != NULL);
	rig_init(&rg, 1);
	CHECK_INT(notices(&rg, m, NULL, reason, sizeof(reason)), 1);	/* l= the whole body: fine */
	buf_printf(&b, "%s2026-11-24 01:00:00,192.0.2.66,111,udp\n", m);	/* bob's host */
	CHECK_INT(notices(&rg, buf_cstr(&b), NULL, reason, sizeof(reason)), 0);
	CHECK(strstr(reason, "the rest is unsigned") != NULL);
	buf_free(&b);
	free(m);
	test_rig_free(&rg);
}

TEST(authentic, forwarded_with_an_srs_envelope_sender_gives_notices)
{
	struct acase c;

	begin(&c, "shadowserver.org", "Return-Path: <SRS0=HhJk=XY=shadowserver.org=autoreports@forwarder.example>\n");
	CHECK_INT(notices_of(&c, c.m, "<SRS0=HhJk=XY=shadowserver.org=autoreports@forwarder.example>"), 1);
	CHECK_INT(notices_of(&c, c.m, "<>"), 1);	/* a bounce address */
	end(&c);
}

/* every forged Authentication-Results of issue 9, with the mail unsigned: none, in both modes */
TEST(authentic, forged_authentication_results_give_none_in_both_modes)
{
	char *longone = forged_authres_long(), reason[512];
	int mode, i;

	for (mode = 0; mode < 2; mode++) {
		struct test_rig rg;

		rig_init(&rg, mode);
		for (i = 0; i < 4; i++) {
			struct buf h = BUF_INIT;
			char *m;

			buf_printf(&h, "Authentication-Results: %s\n", i < 3 ? forged_authres[i] : longone);
			m = report(NULL, buf_cstr(&h));
			CHECK_INT(notices(&rg, m, NULL, reason, sizeof(reason)), 0);
			CHECK(strstr(reason, "unauthenticated") != NULL);
			if (!mode)
				CHECK(strstr(reason, "refused") != NULL);
			free(m);
			buf_free(&h);
		}
		test_rig_free(&rg);
	}
	free(longone);
}

/* with VerifyDKIM no, a verifier's own well-formed header is still believed */
TEST(authentic, verify_dkim_no_trusts_the_verifiers_header)
{
	struct test_rig rg;
	char reason[512], *m = report(NULL, "Authentication-Results: " TRUSTED_AUTHRES "\n");

	rig_init(&rg, 0);
	CHECK_INT(notices(&rg, m, NULL, reason, sizeof(reason)), 1);
	test_rig_free(&rg);
	rig_init(&rg, 1);	/* our own verification does not care what a header claims */
	CHECK_INT(notices(&rg, m, NULL, reason, sizeof(reason)), 0);
	test_rig_free(&rg);
	free(m);
}

TEST(authentic, a_key_lookup_failure_is_a_retry_for_report_mail)
{
	struct acase c;
	char err[256], *dir = test_tmpdir(), path[4096], *keys;

	begin(&c, "shadowserver.org", NULL);
	snprintf(path, sizeof(path), "%s/keys", dir);
	REQUIRE((keys = test_read_file(test_public_keys(), NULL)) != NULL);
	test_write_file(path, keys);
	REQUIRE(config_set(c.rg.cfg, "TestPublicKeys", path, err, sizeof(err)) == 0);
	/* opened once, as config_load does for the daemon */
	REQUIRE((c.rg.cfg->dkim_keys = dkim_keys_new(path, 5, err, sizeof(err))) != NULL);
	CHECK_INT(notices_of(&c, c.m, NULL), 1);
	remove(path);	/* the key source goes away: as a DNS timeout, the lookup fails */
	CHECK_INT(notices_of(&c, c.m, NULL), -1);
	CHECK(strstr(c.reason, "key lookup failed") != NULL);
	CHECK(strstr(c.reason, "d=shadowserver.org s=test") != NULL);
	free(keys);
	free(dir);
	end(&c);
}

TEST(authentic, a_second_content_type_gives_none)
{
	struct acase c;
	struct buf b = BUF_INIT;

	begin(&c, "shadowserver.org", NULL);
	/* added on top after signing: the MIME walk would read it, DKIM would hash the signed one */
	buf_printf(&b, "Content-Type: text/csv; name=\"2026-11-24-scan_portmapper-evil.csv\"\n%s", c.m);
	CHECK_INT(notices_of(&c, buf_cstr(&b), NULL), 0);
	CHECK(strstr(c.reason, "a second Content-Type") != NULL);
	CHECK_INT(notices_of(&c, c.m, NULL), 1);	/* the mail as signed */
	buf_free(&b);
	end(&c);
}
