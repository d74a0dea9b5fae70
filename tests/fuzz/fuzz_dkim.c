/*
 * fuzz_dkim - libFuzzer target: our DKIM glue (dkimverify.c) over libopendkim
 *
 * The message is hostile from its first byte: the header splitting and
 * folding, the CRLF conversion, the choice of signatures by d=, the rules
 * on a=, h=, l=, t=/x=, the reasons. Keys come from the committed test
 * key file (TestPublicKeys format, tests/fixtures/dkim/keys, or
 * FUZZ_DKIM_KEYS), so a seed signed with the test key verifies and every
 * mutation of it runs the whole path, with no DNS.
 *
 * Input: byte 0 picks the chunk size the message is fed in; the rest is
 * the message. Checked for each input:
 *   - the verdict does not depend on how the bytes were chunked (fed at
 *     once and in chunks: the same outcome, d=, s=, a= and reason);
 *   - an outcome the header block made final (FAIL, NONE, TEMPFAIL) is the
 *     outcome at the end of the message;
 *   - PASS names the report domain and an algorithm we accept, and the
 *     message has a DKIM-Signature field;
 *   - no part of a verdict, nor its description, carries a control
 *     character: they go into a header of the ops copy and into the log.
 *
 *   make fuzz   (tests/fuzz/run.sh signs the fixture mails as seeds)
 */
#include "fuzzutil.h"

#include "trust/dkimverify.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "shadowserver.org"

static struct dkim_keys *keys;

static void
setup(void)
{
	const char *file = getenv("FUZZ_DKIM_KEYS");
	char err[512];

	if ((keys = dkim_keys_new(file ? file : "tests/fixtures/dkim/keys", 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_dkim setup: %s (run from the top of the tree, or set FUZZ_DKIM_KEYS)\n", err);
		abort();
	}
}

/* verify - MSG fed in CHUNK-sized pieces: the final verdict in V, and
 * whether the header block gave a verdict early (in EARLY) */
static int
verify(const char *msg, size_t len, size_t chunk, struct dkim_verdict *v, struct dkim_verdict *early)
{
	struct dkim_check *c = dkim_check_new(keys, DOMAIN, "FUZZ");
	int had_early = 0;
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		dkim_check_feed(c, msg + off, n);
		if (!had_early && dkim_check_headers(c, early))
			had_early = 1;
	}
	dkim_check_finish(c, v);
	dkim_check_free(c);
	return had_early;
}

static void
check_text(const char *what, const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fuzz_fail("a control character in a DKIM verdict", what);
}

/* has_signature - a DKIM-Signature field name anywhere (any case) */
static int
has_signature(const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i + 14 <= len; i++)
		if (ascii_strncasecmp(msg + i, "DKIM-Signature", 14) == 0)
			return 1;
	return 0;
}

static int
same_verdict(const struct dkim_verdict *a, const struct dkim_verdict *b)
{
	return a->outcome == b->outcome && strcmp(a->domain, b->domain) == 0 &&
	    strcmp(a->selector, b->selector) == 0 && strcmp(a->algorithm, b->algorithm) == 0 &&
	    strcmp(a->reason, b->reason) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_verdict whole, chunked, early;
	const char *msg = (const char *)data + 1;
	char described[1024];
	size_t len, chunk;
	int had_early;

	if (keys == NULL)
		setup();
	if (size < 1)
		return 0;
	len = size - 1;
	chunk = (size_t)data[0] * 7 + 1;
	verify(msg, len, len ? len : 1, &whole, &early);
	had_early = verify(msg, len, chunk, &chunked, &early);
	if (getenv("FUZZ_DKIM_LOG"))	/* to see what an input reaches: FUZZ_DKIM_LOG=1 fuzz_dkim FILE */
		fprintf(stderr, "whole %d %s | chunked %d %s | early(%d) %d %s\n", whole.outcome, whole.reason,
		    chunked.outcome, chunked.reason, had_early, early.outcome, early.reason);
	if (!same_verdict(&whole, &chunked))
		fuzz_fail("the verdict depends on how the message was chunked", chunked.reason);
	/* the outcome is final; the body may add detail to a failure's reason */
	if (had_early && early.outcome != DKIM_PASS && early.outcome != chunked.outcome)
		fuzz_fail("a verdict final at the end of the header block changed by the end", early.reason);
	if (whole.outcome == DKIM_PASS && (strcmp(whole.domain, DOMAIN) != 0 ||
	    (strcmp(whole.algorithm, "rsa-sha256") != 0 && strcmp(whole.algorithm, "ed25519-sha256") != 0) ||
	    !has_signature(msg, len)))
		fuzz_fail("a PASS for another domain, a refused algorithm or no signature", whole.algorithm);
	check_text("domain", whole.domain);
	check_text("selector", whole.selector);
	check_text("algorithm", whole.algorithm);
	check_text("reason", whole.reason);
	dkim_verdict_describe(&whole, described, sizeof(described));
	check_text("description", described);
	return 0;
}
