/*
 * testsign - DKIM-signs a message with libopendkim, as a report sender would
 *
 * See testsign.h. The message is split into header fields and body here,
 * line ends made CRLF for libopendkim; the signature header it returns is
 * put on top of the message with the message's own line ends.
 */
#include "testsign.h"
#include "base/util.h"

#include <dkim.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
read_key(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_steal(&b);
}

/* crlf - a copy of S[0..LEN) with bare LF made CRLF */
static void
crlf(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			buf_putc(out, '\r');
		buf_putc(out, s[i]);
	}
}

/* feed - header fields (folding kept), end of headers, body */
static DKIM_STAT
feed(DKIM *dkim, const char *msg, size_t len)
{
	struct buf m = BUF_INIT;
	char *p, *q, *field, *block_end, *body;
	DKIM_STAT st = DKIM_STAT_OK;

	crlf(&m, msg, len);
	buf_putc(&m, '\0');
	m.len--;
	if ((q = strstr(m.data, "\r\n\r\n")) != NULL) {
		block_end = q + 2;
		body = q + 4;
	} else
		block_end = body = m.data + m.len;
	for (p = field = m.data; p < block_end && st == DKIM_STAT_OK; ) {
		if ((q = strstr(p, "\r\n")) == NULL || q >= block_end)
			q = block_end;
		p = q + 2;
		if (p < block_end && (*p == ' ' || *p == '\t'))
			continue;	/* folded: the field goes on */
		st = dkim_header(dkim, (unsigned char *)field, (size_t)(q - field));
		field = p;
	}
	if (st == DKIM_STAT_OK)
		st = dkim_eoh(dkim);
	if (st == DKIM_STAT_OK && body < m.data + m.len)
		st = dkim_body(dkim, (unsigned char *)body, (size_t)(m.data + m.len - body));
	buf_free(&m);
	return st;
}

static int
set_lib_options(DKIM_LIB *lib, const struct testsign *opt)
{
	uint64_t when = (uint64_t)opt->when, ttl = opt->ttl;
	uint32_t flags = 0;

	/* the headers a report sender signs; never Return-Path or Received,
	 * which change in transit */
	static const char *signed_headers[] = { "from", "to", "cc", "reply-to", "subject", "date", "message-id",
	    "mime-version", "content-type", "content-transfer-encoding", NULL };

	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    (void *)(opt->headers ? (const char **)opt->headers : signed_headers),
	    sizeof(unsigned char **)) != DKIM_STAT_OK)
		return -1;
	if (opt->when && dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &when, sizeof(when)) != DKIM_STAT_OK)
		return -1;
	if (opt->ttl && dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL, &ttl, sizeof(ttl)) != DKIM_STAT_OK)
		return -1;
	if (opt->body_length < 0) {	/* l= the whole body */
		(void)dkim_options(lib, DKIM_OP_GETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags));
		flags |= DKIM_LIBFLAGS_SIGNLEN;
		(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags));
	}
	return 0;
}

/* sighdr - the signature header, line ends as in MSG */
static void
sighdr(struct buf *out, const char *value, int lf)
{
	const char *v;

	buf_puts(out, "DKIM-Signature: ");
	for (v = value; *v; v++)
		if (!(lf && v[0] == '\r' && v[1] == '\n'))
			buf_putc(out, *v);
	buf_puts(out, lf ? "\n" : "\r\n");
}

char *
testsign(const char *msg, size_t len, const struct testsign *opt, char *err, size_t errlen)
{
	const char *alg = opt->algorithm ? opt->algorithm : "rsa-sha256";
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM *dkim = NULL;
	DKIM_STAT st;
	unsigned char *hdr = NULL;
	size_t hdrlen = 0;
	char *key = NULL, *nl;
	struct buf out = BUF_INIT;
	int canon = opt->simple ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;

	if (lib == NULL || set_lib_options(lib, opt) != 0) {
		err_set(err, errlen, "libopendkim would not start");
		goto fail;
	}
	if ((key = read_key(opt->key_file, err, errlen)) == NULL)
		goto fail;
	dkim = dkim_sign(lib, (const unsigned char *)"testsign", NULL, (dkim_sigkey_t)key,
	    (const unsigned char *)(opt->selector ? opt->selector : "test"),
	    (const unsigned char *)(opt->domain ? opt->domain : "shadowserver.org"), canon, canon,
	    strcmp(alg, "rsa-sha1") == 0 ? DKIM_SIGN_RSASHA1 :
	    strcmp(alg, "ed25519-sha256") == 0 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256,
	    opt->body_length > 0 ? (ssize_t)opt->body_length : -1, &st);
	if (dkim == NULL) {
		err_set(err, errlen, "dkim_sign: %s", dkim_getresultstr(st));
		goto fail;
	}
	if ((st = feed(dkim, msg, len)) != DKIM_STAT_OK || (st = dkim_eom(dkim, NULL)) != DKIM_STAT_OK ||
	    (st = dkim_getsighdr_d(dkim, strlen("DKIM-Signature: "), &hdr, &hdrlen)) != DKIM_STAT_OK) {
		err_set(err, errlen, "signing failed: %s (%s)", dkim_getresultstr(st), dkim_geterror(dkim));
		goto fail;
	}
	nl = memchr(msg, '\n', len);
	sighdr(&out, (const char *)hdr, nl && (nl == msg || nl[-1] != '\r'));
	buf_append(&out, msg, len);
	dkim_free(dkim);
	dkim_close(lib);
	free(key);
	return buf_steal(&out);
fail:
	if (dkim)
		dkim_free(dkim);
	if (lib)
		dkim_close(lib);
	free(key);
	buf_free(&out);
	return NULL;
}
