/*
 * test_dkimverify - our own DKIM verification, over mails really signed here
 *
 * Every mail is signed with libopendkim and the throwaway key in
 * tests/fixtures/dkim/ (tests/testsign.c); the public keys come from the
 * TestPublicKeys file next to it, so nothing touches DNS.
 */
#include "test.h"
#include "testmail.h"
#include "testsign.h"

#include "trust/dkimverify.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *MSG =
    "From: Shadowserver <autoreports@shadowserver.org>\n"
    "To: abuse@example.net\n"
    "Subject: [Test] Shadowserver Test Open Portmapper Report:\n"
    "\t2026-11-24\n"
    "Message-ID: <dkim-test@reports.shadowserver.org>\n"
    "\n"
    "timestamp,ip,port\n"
    "2026-11-24 01:00:00,192.0.2.10,111\n";

static char *
sign(const char *msg, struct testsign *opt)
{
	char err[256], *out;

	opt->key_file = test_key_file();
	out = testsign(msg, strlen(msg), opt, err, sizeof(err));
	if (out == NULL)
		fprintf(stderr, "    sign: %s\n", err);
	return out;
}

/* verify_bytes - LEN bytes of MSG through a dkim_check in CHUNK-byte pieces; the verdict */
static struct dkim_verdict
verify_bytes(const char *msg, size_t len, size_t chunk)
{
	char err[256];
	struct dkim_keys *keys = dkim_keys_new(test_public_keys(), 5, err, sizeof(err));
	struct dkim_check *c;
	struct dkim_verdict v;
	size_t off;

	memset(&v, 0, sizeof(v));
	v.outcome = -1;
	if (keys == NULL) {
		fprintf(stderr, "    keys: %s\n", err);
		return v;
	}
	c = dkim_check_new(keys, "shadowserver.org", "test");
	if (chunk == 0)
		chunk = len ? len : 1;
	for (off = 0; off < len; off += chunk)
		dkim_check_feed(c, msg + off, len - off < chunk ? len - off : chunk);
	dkim_check_finish(c, &v);
	dkim_check_free(c);
	dkim_keys_free(keys);
	return v;
}

/* verify - the C string MSG, as verify_bytes */
static struct dkim_verdict
verify(const char *msg, size_t chunk)
{
	return verify_bytes(msg, msg ? strlen(msg) : 0, chunk);
}

/* signed_verdict - MSG signed with OPT, then verified; outcome -1 when it could not be signed */
static struct dkim_verdict
signed_verdict(struct testsign *opt)
{
	char *m = sign(MSG, opt);
	struct dkim_verdict v;

	CHECK(m != NULL);
	if (m == NULL) {
		memset(&v, 0, sizeof(v));
		v.outcome = -1;
		return v;
	}
	v = verify(m, 0);
	free(m);
	return v;
}

TEST(dkimverify, a_signed_mail_passes_in_any_chunking)
{
	struct testsign opt = { 0 };
	char *m = sign(MSG, &opt);
	size_t chunks[] = { 0, 1, 7, 64 }, i;

	REQUIRE(m != NULL);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct dkim_verdict v = verify(m, chunks[i]);

		CHECK_INT(v.outcome, DKIM_PASS);
		CHECK_STR(v.domain, "shadowserver.org");
		CHECK_STR(v.selector, "test");
		CHECK_STR(v.algorithm, "rsa-sha256");
	}
	free(m);
}

TEST(dkimverify, simple_canonicalization_with_crlf_passes)
{
	struct testsign opt = { 0 };
	struct buf crlf = BUF_INIT;
	const char *p;
	char *m;

	for (p = MSG; *p; p++) {
		if (*p == '\n')
			buf_putc(&crlf, '\r');
		buf_putc(&crlf, *p);
	}
	opt.simple = 1;
	m = sign(buf_cstr(&crlf), &opt);
	REQUIRE(m != NULL);
	CHECK_INT(verify(m, 5).outcome, DKIM_PASS);
	free(m);
	buf_free(&crlf);
}

TEST(dkimverify, one_byte_changed_in_the_body_fails)
{
	struct testsign opt = { 0 };
	char *m = sign(MSG, &opt), *p;
	struct dkim_verdict v;

	REQUIRE(m != NULL);
	p = strstr(m, "192.0.2.10");
	REQUIRE(p != NULL);
	p[8] = '9';	/* 192.0.2.90 */
	v = verify(m, 0);
	CHECK_INT(v.outcome, DKIM_FAIL);
	CHECK(strstr(v.reason, "body hash") != NULL);
	free(m);
}

TEST(dkimverify, one_byte_changed_in_a_signed_header_fails)
{
	struct testsign opt = { 0 };
	char *m = sign(MSG, &opt), *p;

	REQUIRE(m != NULL);
	p = strstr(m, "Portmapper");
	REQUIRE(p != NULL);
	p[0] = 'p';
	CHECK_INT(verify(m, 0).outcome, DKIM_FAIL);
	free(m);
}

TEST(dkimverify, another_domain_is_no_signature_of_ours)
{
	struct testsign opt = { 0 };
	struct dkim_verdict v;

	opt.domain = "evil.example";
	v = signed_verdict(&opt);
	CHECK_INT(v.outcome, DKIM_NONE);
	CHECK(strstr(v.reason, "no DKIM signature with d=shadowserver.org (1 from other domains)") != NULL);
	CHECK_INT(verify(MSG, 0).outcome, DKIM_NONE);	/* unsigned */
}

TEST(dkimverify, rsa_sha1_is_refused)
{
	struct testsign opt = { 0 };
	struct dkim_verdict v;

	opt.algorithm = "rsa-sha1";
	v = signed_verdict(&opt);
	CHECK_INT(v.outcome, DKIM_FAIL);
	CHECK_STR(v.algorithm, "rsa-sha1");
	CHECK(strstr(v.reason, "algorithm") != NULL);
}

TEST(dkimverify, an_expired_signature_fails)
{
	struct testsign opt = { 0 };
	struct dkim_verdict v;

	opt.when = time(NULL) - 7 * 86400;
	opt.ttl = 86400;
	v = signed_verdict(&opt);
	CHECK_INT(v.outcome, DKIM_FAIL);
	CHECK(strstr(v.reason, "expired") != NULL);
	CHECK_STR(v.algorithm, "rsa-sha256");	/* as signed, not libopendkim's default */
	opt.when = 0;		/* the same, not yet expired */
	CHECK_INT(signed_verdict(&opt).outcome, DKIM_PASS);
}

TEST(dkimverify, a_key_in_testing_mode_counts_as_unsigned)
{
	struct testsign opt = { 0 };
	struct dkim_verdict v;

	opt.selector = "testing";	/* its key record says t=y */
	v = signed_verdict(&opt);
	CHECK_INT(v.outcome, DKIM_FAIL);
	CHECK(strstr(v.reason, "t=y") != NULL);
}

TEST(dkimverify, a_selector_without_a_key_fails)
{
	struct testsign opt = { 0 };
	struct dkim_verdict v;

	opt.selector = "nokey";
	v = signed_verdict(&opt);
	CHECK_INT(v.outcome, DKIM_FAIL);
	CHECK_STR(v.selector, "nokey");
}

TEST(dkimverify, l_covering_the_whole_body_passes_data_past_it_fails)
{
	struct testsign opt = { 0 };
	struct buf more = BUF_INIT;
	struct dkim_verdict v;
	char *m;

	opt.body_length = -1;
	m = sign(MSG, &opt);
	REQUIRE(m != NULL);
	CHECK(strstr(m, " l=") != NULL || strstr(m, ";l=") != NULL || strstr(m, "\tl=") != NULL);
	CHECK_INT(verify(m, 0).outcome, DKIM_PASS);
	buf_printf(&more, "%s2026-11-24 01:00:00,192.0.2.99,111\n", m);
	v = verify(buf_cstr(&more), 3);
	CHECK_INT(v.outcome, DKIM_FAIL);
	CHECK(strstr(v.reason, "unsigned") != NULL);
	free(m);
	buf_free(&more);
}

TEST(dkimverify, from_not_signed_fails)
{
	struct testsign opt = { 0 };
	struct buf b = BUF_INIT;
	char *m, *p;

	/* libopendkim will not sign without From; a signature whose h= lacks
	 * it is made by signing with From, then renaming the header in h= */
	m = sign(MSG, &opt);
	REQUIRE(m != NULL);
	p = strstr(m, "h=");
	REQUIRE(p != NULL);
	p = strcasestr(p, "from");
	REQUIRE(p != NULL && p < strstr(m, "\n\n"));
	memcpy(p, "xrom", 4);
	buf_puts(&b, m);
	CHECK_INT(verify(buf_cstr(&b), 0).outcome, DKIM_FAIL);
	free(m);
	buf_free(&b);
}

TEST(dkimverify, headers_verdict_comes_before_the_body)
{
	char err[256];
	struct dkim_keys *keys = dkim_keys_new(test_public_keys(), 5, err, sizeof(err));
	struct testsign opt = { 0 };
	struct dkim_check *c;
	struct dkim_verdict v;
	char *m = sign(MSG, &opt), *body;

	REQUIRE(keys != NULL && m != NULL);
	body = strstr(m, "\n\n") + 2;
	c = dkim_check_new(keys, "shadowserver.org", "t");
	dkim_check_feed(c, m, (size_t)(body - m) - 1);
	CHECK_INT(dkim_check_headers(c, &v), 0);	/* the blank line has not come */
	dkim_check_feed(c, body - 1, 1);
	CHECK_INT(dkim_check_headers(c, &v), 1);
	CHECK_INT(v.outcome, DKIM_PASS);
	dkim_check_feed(c, body, strlen(body));
	dkim_check_finish(c, &v);
	CHECK_INT(v.outcome, DKIM_PASS);
	dkim_check_free(c);
	dkim_keys_free(keys);
	free(m);
}

TEST(dkimverify, missing_test_keys_file_is_an_error)
{
	char err[256];

	CHECK(dkim_keys_new("/nonexistent/keys", 5, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent/keys") != NULL);
}

/* signed once with a throwaway ed25519 key (libopendkim leaks when it signs with one, so the
 * signed mail is kept rather than its private key); its public half is in the keys file */
TEST(dkimverify, ed25519_sha256_passes)
{
	char path[1024], *m;
	struct dkim_verdict v;

	snprintf(path, sizeof(path), "%s/fixtures/dkim/ed25519-signed.eml", test_srcdir());
	REQUIRE((m = test_read_file(path, NULL)) != NULL);
	v = verify(m, 0);
	CHECK_INT(v.outcome, DKIM_PASS);
	CHECK_STR(v.algorithm, "ed25519-sha256");
	CHECK_STR(v.selector, "ed");
	m[strlen(m) - 3] = '2';	/* 111 -> 121: one byte changed */
	CHECK_INT(verify(m, 0).outcome, DKIM_FAIL);
	free(m);
}

/* a saved message can carry NUL bytes in a header (found by fuzz_dkim):
 * libopendkim asserts on an empty header field, so the NUL must never reach it */
TEST(dkimverify, a_nul_byte_in_a_header_fails_cleanly)
{
	struct testsign opt = { 0 };
	char *m = sign(MSG, &opt);
	struct buf b = BUF_INIT;
	static const char junk[] = "X-Mailer: PHPMailer\0\0\0 5.2\n";
	struct dkim_verdict v;
	size_t chunks[] = { 0, 1, 13 }, i;

	REQUIRE(m != NULL);
	buf_append(&b, junk, sizeof(junk) - 1);
	buf_puts(&b, m);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		v = verify_bytes(b.data, b.len, chunks[i] ? chunks[i] : b.len);
		CHECK_INT(v.outcome, DKIM_FAIL);
		CHECK(strstr(v.reason, "NUL") != NULL);
	}
	buf_free(&b);
	free(m);
}

/* signed_values - MSG (signed) verified whole: the verdict, and the values of
 * Subject and Message-ID the passing signature hashed (each NULL when none) */
static struct dkim_verdict
signed_values(const char *msg, char **subject, char **message_id)
{
	char err[256];
	struct dkim_keys *keys = dkim_keys_new(test_public_keys(), 5, err, sizeof(err));
	struct dkim_check *c = dkim_check_new(keys, "shadowserver.org", "test");
	struct dkim_verdict v;

	dkim_check_feed(c, msg, strlen(msg));
	dkim_check_finish(c, &v);
	*subject = dkim_check_signed_value(c, "Subject");
	*message_id = dkim_check_signed_value(c, "Message-ID");
	dkim_check_free(c);
	dkim_keys_free(keys);
	return v;
}

/* DKIM takes a signed name's fields bottom-up: of two Subjects, the last is the one
 * hashed; its value comes unfolded and trimmed, as the MIME walk reads one */
TEST(dkimverify, the_signed_value_is_the_field_dkim_hashed_the_last_of_its_name)
{
	static const char two[] = "From: Shadowserver <autoreports@shadowserver.org>\n"
	    "Subject: the first\nSubject:  the last,\n\tfolded  \nMessage-ID: <one@shadowserver.org>\n\nbody\n";
	struct testsign opt = { 0 };
	char *m = sign(two, &opt), *subject, *id;
	struct dkim_verdict v;

	REQUIRE(m != NULL);
	v = signed_values(m, &subject, &id);
	CHECK_INT(v.outcome, DKIM_PASS);
	CHECK(v.covers == (DKIM_COVERS_SUBJECT | DKIM_COVERS_MESSAGE_ID));
	CHECK(subject != NULL && strcmp(subject, "the last,\tfolded") == 0);
	CHECK(id != NULL && strcmp(id, "<one@shadowserver.org>") == 0);
	free(subject);
	free(id);
	free(m);
}

TEST(dkimverify, a_field_the_signature_does_not_cover_has_no_signed_value)
{
	static const char *const h[] = { "from", NULL };
	struct testsign opt = { .headers = h };
	char *m = sign(MSG, &opt), *subject, *id;
	struct dkim_verdict v;

	REQUIRE(m != NULL);
	v = signed_values(m, &subject, &id);
	CHECK_INT(v.outcome, DKIM_PASS);
	CHECK_INT(v.covers, 0);
	CHECK(subject == NULL);
	CHECK(id == NULL);
	free(m);
}
