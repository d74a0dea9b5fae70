/*
 * dkimverify - our own DKIM verification of report mail, with libopendkim
 *
 * See dkimverify.h. libopendkim does the cryptography, the canonicalization
 * and the key lookups; this file decides which signatures may count and
 * says, for the log and the ops copy, which one was checked and why it failed.
 */
#include "trust/dkimverify.h"
#include "base/util.h"

#include <dkim.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MAX_CANDIDATES	4		/* signatures of the report domain we fetch keys for */
#define SIGNED_FIELDS_MAX 64		/* h= entries of a passing signature we look at */
#define SIGNED_FIELD_MAX 4096		/* ... and the bytes of each field we keep */
#define BODY_CHUNK	8192

struct dkim_keys {
	DKIM_LIB *lib;
};

struct dkim_check {
	const struct dkim_keys *keys;
	char *domain;
	char *id;
	DKIM *dkim;			/* NULL until the header block ends, or when it failed */

	/* the header block: fields with their folding, CRLF line ends */
	struct buf line;		/* the line being read */
	size_t line_bytes;		/* ... and its length, even when too long to keep */
	struct buf fields;		/* complete fields, each ended by a NUL */
	struct buf field;		/* the field being read */
	size_t block_bytes;
	int headers_done;
	char header_error[160];		/* the header block could not be handed over: why */
	int eoh_status;

	/* the body, CRLF normalised */
	int last_cr;
	unsigned long long body_len;
	char out[BODY_CHUNK];
	size_t nout;

	int ncandidates;		/* signatures of the domain not ignored */
	int nsigs;			/* all signatures */
	int finished;
	struct dkim_verdict final;
	char *signed_fields;		/* the final pass: the fields it hashed, SIGNED_FIELD_MAX apart */
	unsigned nsigned;
	dkim_field_fn field_hook;	/* dkim_check_set_field_hook, or NULL */
	void *field_ctx;
};

/* --- the library --------------------------------------------------------- */

/* prescreen - before any key is fetched: only the report domain's signatures, and few of them */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct dkim_check *c = dkim_get_user_context(dkim);
	int i;

	c->nsigs = nsigs;
	for (i = 0; i < nsigs; i++) {
		const char *d = (const char *)dkim_sig_getdomain(sigs[i]);

		if (d == NULL || ascii_strcasecmp(d, c->domain) != 0 || c->ncandidates >= MAX_CANDIDATES)
			dkim_sig_ignore(sigs[i]);
		else
			c->ncandidates++;
	}
	return DKIM_CBSTAT_CONTINUE;
}

struct dkim_keys *
dkim_keys_new(const char *test_keys, unsigned dns_timeout, char *err, size_t errlen)
{
	struct dkim_keys *keys;
	unsigned int timeout = dns_timeout;
	uint32_t flags = 0;
	FILE *f;

	if (test_keys && (f = fopen(test_keys, "r")) == NULL) {
		err_set(err, errlen, "TestPublicKeys %s: %s", test_keys, strerror(errno));
		return NULL;
	}
	if (test_keys)
		fclose(f);
	keys = xcalloc(1, sizeof(*keys));
	if ((keys->lib = dkim_init(NULL, NULL)) == NULL) {
		err_set(err, errlen, "libopendkim could not start (dkim_init failed)");
		free(keys);
		return NULL;
	}
	/* a malformed signature still gets a handle, so its error can be told */
	(void)dkim_options(keys->lib, DKIM_OP_GETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags));
	flags |= DKIM_LIBFLAGS_BADSIGHANDLES;
	(void)dkim_options(keys->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags));
	(void)dkim_options(keys->lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout, sizeof(timeout));
	if (test_keys) {
		dkim_query_t q = DKIM_QUERY_FILE;

		(void)dkim_options(keys->lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &q, sizeof(q));
		(void)dkim_options(keys->lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, (void *)test_keys,
		    strlen(test_keys));
	}
	dkim_set_prescreen(keys->lib, prescreen);
	return keys;
}

void
dkim_keys_free(struct dkim_keys *keys)
{
	if (keys == NULL)
		return;
	dkim_close(keys->lib);
	free(keys);
}

/* --- one message --------------------------------------------------------- */

struct dkim_check *
dkim_check_new(const struct dkim_keys *keys, const char *domain, const char *id)
{
	struct dkim_check *c = xcalloc(1, sizeof(*c));

	c->keys = keys;
	c->domain = xstrdup(domain);
	c->id = xstrdup(id && *id ? id : "shadowmilter");
	buf_init(&c->line);
	buf_init(&c->fields);
	buf_init(&c->field);
	return c;
}

void
dkim_check_set_field_hook(struct dkim_check *c, dkim_field_fn fn, void *ctx)
{
	c->field_hook = fn;
	c->field_ctx = ctx;
}

int
dkim_check_block_refused(const struct dkim_check *c)
{
	return c->header_error[0] != '\0';
}

void
dkim_check_free(struct dkim_check *c)
{
	if (c == NULL)
		return;
	if (c->dkim)
		dkim_free(c->dkim);
	buf_free(&c->line);
	buf_free(&c->fields);
	buf_free(&c->field);
	free(c->signed_fields);
	free(c->domain);
	free(c->id);
	free(c);
}

static void
field_end(struct dkim_check *c)
{
	if (c->field.len == 0)
		return;
	buf_append(&c->fields, c->field.data, c->field.len);
	buf_putc(&c->fields, '\0');
	buf_reset(&c->field);
}

/* headers_end - hand the fields to libopendkim; keys are fetched here */
static void
headers_end(struct dkim_check *c)
{
	DKIM_STAT st;
	size_t off;

	field_end(c);
	c->headers_done = 1;
	if (c->header_error[0])
		return;
	c->dkim = dkim_verify(c->keys->lib, (const unsigned char *)c->id, NULL, &st);
	if (c->dkim == NULL) {
		snprintf(c->header_error, sizeof(c->header_error), "libopendkim: %s", dkim_getresultstr(st));
		return;
	}
	dkim_set_user_context(c->dkim, c);
	for (off = 0; off < c->fields.len; off += strlen(c->fields.data + off) + 1) {
		char *f = c->fields.data + off;

		if ((st = dkim_header(c->dkim, (unsigned char *)f, strlen(f))) != DKIM_STAT_OK) {
			snprintf(c->header_error, sizeof(c->header_error), "header field not accepted by libopendkim: %s",
			    dkim_getresultstr(st));
			break;
		}
		if (c->field_hook)
			c->field_hook(c->field_ctx, f, strlen(f));
	}
	buf_free(&c->fields);
	if (c->header_error[0] == '\0')
		c->eoh_status = dkim_eoh(c->dkim);
}

/* header_line - one non-blank line of the header block, without its line end;
 * RAW: its bytes as they came, line end included (the MIME walk counts the same) */
static void
header_line(struct dkim_check *c, const char *s, size_t len, size_t raw)
{
	if ((c->block_bytes += raw) > HEADER_BLOCK_MAX) {
		snprintf(c->header_error, sizeof(c->header_error), "header block over %d bytes", HEADER_BLOCK_MAX);
		return;
	}
	/* RFC 5322 has no NUL in a header; the fields are kept NUL-separated, and
	 * libopendkim aborts the process on an empty one (assert in dkim_header) */
	if (memchr(s, '\0', len) != NULL) {
		snprintf(c->header_error, sizeof(c->header_error), "a NUL byte in the header block");
		return;
	}
	if (s[0] == ' ' || s[0] == '\t')
		buf_puts(&c->field, "\r\n");	/* folding kept as it came */
	else
		field_end(c);
	buf_append(&c->field, s, len);
}

static void
body_flush(struct dkim_check *c)
{
	if (c->nout && c->dkim && c->eoh_status == DKIM_STAT_OK)
		(void)dkim_body(c->dkim, (unsigned char *)c->out, c->nout);
	c->nout = 0;
}

static void
body_put(struct dkim_check *c, char ch)
{
	if (c->nout == sizeof(c->out))
		body_flush(c);
	c->out[c->nout++] = ch;
	c->body_len++;
}

/* body_bytes - the body, a bare LF made CRLF (a saved file may have LF line ends) */
static void
body_bytes(struct dkim_check *c, const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] == '\n' && !c->last_cr)
			body_put(c, '\r');
		body_put(c, data[i]);
		c->last_cr = data[i] == '\r';
	}
	body_flush(c);
}

void
dkim_check_feed(struct dkim_check *c, const char *data, size_t len)
{
	const char *nl;
	size_t n;
	int blank;

	while (len > 0 && !c->headers_done) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) + 1 : len;
		c->line_bytes += n;
		if (c->line.len + n <= HEADER_BLOCK_MAX)
			buf_append(&c->line, data, n);
		else if (c->header_error[0] == '\0')
			snprintf(c->header_error, sizeof(c->header_error), "header line over %d bytes",
			    HEADER_BLOCK_MAX);
		data += n;
		len -= n;
		if (nl == NULL)
			break;
		blank = c->line_bytes == 1 || (c->line_bytes == 2 && c->line.data[0] == '\r');
		if (blank)
			headers_end(c);
		else if (c->header_error[0] == '\0') {
			c->line.len--;				/* the LF */
			if (c->line.len > 0 && c->line.data[c->line.len - 1] == '\r')
				c->line.len--;
			header_line(c, c->line.data, c->line.len, c->line_bytes);
		}
		buf_reset(&c->line);
		c->line_bytes = 0;
	}
	if (len > 0 && c->headers_done)
		body_bytes(c, data, len);
}

/* --- the verdict --------------------------------------------------------- */

/*
 * sig_algorithm - the signature's a= as written: libopendkim fills in the
 * algorithm only when it processes a signature, so one that failed early
 * (expired x=, foreign i=) would read as its default, rsa-sha1. Only
 * letters, digits and '-' are kept (the tag is the sender's text).
 */
static void
sig_algorithm(DKIM_SIGINFO *sig, char *out, size_t outlen)
{
	const char *a = (const char *)dkim_sig_gettagvalue(sig, 0, (u_char *)"a");
	size_t n = 0;

	if (a == NULL)
		a = (const char *)dkim_sig_getalgorithm(sig);
	for (; a && *a && n + 1 < outlen; a++)
		if ((*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z') || (*a >= '0' && *a <= '9') || *a == '-')
			out[n++] = *a;
	out[n] = '\0';
}

static void
verdict_sig(struct dkim_verdict *v, DKIM_SIGINFO *sig)
{
	const char *d = (const char *)dkim_sig_getdomain(sig);
	const char *s = (const char *)dkim_sig_getselector(sig);

	snprintf(v->domain, sizeof(v->domain), "%s", d ? d : "");
	snprintf(v->selector, sizeof(v->selector), "%s", s ? s : "");
	sig_algorithm(sig, v->algorithm, sizeof(v->algorithm));
}

/*
 * judge - one signature of the domain against the rules; FINAL: the body
 * has been read too. Returns the outcome, with the reason when not a pass.
 */
static enum dkim_outcome
judge(const struct dkim_check *c, DKIM_SIGINFO *sig, int final, char *reason, size_t reasonlen)
{
	int err = dkim_sig_geterror(sig);
	unsigned flags = dkim_sig_getflags(sig);
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
	ssize_t signlen = -1;
	const char *es;

	if (err == DKIM_SIGERROR_KEYFAIL) {
		err_set(reason, reasonlen, "key lookup failed (DNS), try again later");
		return DKIM_TEMPFAIL;
	}
	if (final && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
		err_set(reason, reasonlen, "body hash mismatch (the body was changed)");
		return DKIM_FAIL;
	}
	if (err != DKIM_SIGERROR_OK && err != DKIM_SIGERROR_UNKNOWN) {
		es = dkim_sig_geterrorstr(err);
		err_set(reason, reasonlen, "%s", es ? es : "signature error");
		return DKIM_FAIL;
	}
	if (dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK ||
	    (alg != DKIM_SIGN_RSASHA256 && alg != DKIM_SIGN_ED25519SHA256)) {
		err_set(reason, reasonlen, "algorithm not accepted (rsa-sha256 or ed25519-sha256 only)");
		return DKIM_FAIL;
	}
	if (!(flags & DKIM_SIGFLAG_PROCESSED) || !(flags & DKIM_SIGFLAG_PASSED)) {
		err_set(reason, reasonlen, "signature did not verify");
		return DKIM_FAIL;
	}
	if (flags & DKIM_SIGFLAG_TESTKEY) {	/* RFC 6376 3.6.1: treat as unsigned */
		err_set(reason, reasonlen, "the key is in testing mode (t=y)");
		return DKIM_FAIL;
	}
	if (!dkim_sig_hdrsigned(sig, (unsigned char *)"from")) {
		err_set(reason, reasonlen, "From is not signed");
		return DKIM_FAIL;
	}
	if (!final)
		return DKIM_PASS;
	if (dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH) {
		err_set(reason, reasonlen, "the body hash was not checked");
		return DKIM_FAIL;
	}
	if (dkim_sig_getcanonlen(c->dkim, sig, NULL, NULL, &signlen) != DKIM_STAT_OK ||
	    (signlen >= 0 && (unsigned long long)signlen < c->body_len)) {
		err_set(reason, reasonlen, "l=%lld covers %lld of %llu body bytes; the rest is unsigned",
		    (long long)signlen, (long long)signlen, c->body_len);
		return DKIM_FAIL;
	}
	return DKIM_PASS;
}

/* covers - DKIM_COVERS_* of what SIG's h= lists */
static unsigned
covers(DKIM_SIGINFO *sig)
{
	return (dkim_sig_hdrsigned(sig, (u_char *)"message-id") ? DKIM_COVERS_MESSAGE_ID : 0) |
	    (dkim_sig_hdrsigned(sig, (u_char *)"subject") ? DKIM_COVERS_SUBJECT : 0) |
	    (dkim_sig_hdrsigned(sig, (u_char *)"date") ? DKIM_COVERS_DATE : 0);
}

/* decide - the best signature of the domain: a pass (in *PASSED), else a lookup to retry, else the first failure */
static void
decide(const struct dkim_check *c, int final, struct dkim_verdict *v, DKIM_SIGINFO **passed)
{
	DKIM_SIGINFO **sigs = NULL;
	struct dkim_verdict first, temp;
	int nsigs = 0, i, have_first = 0, have_temp = 0;

	memset(v, 0, sizeof(*v));
	memset(&first, 0, sizeof(first));
	memset(&temp, 0, sizeof(temp));
	if (c->header_error[0]) {
		v->outcome = DKIM_FAIL;
		err_set(v->reason, sizeof(v->reason), "%s", c->header_error);
		return;
	}
	if (c->ncandidates == 0 || dkim_getsiglist(c->dkim, &sigs, &nsigs) != DKIM_STAT_OK) {
		v->outcome = DKIM_NONE;
		err_set(v->reason, sizeof(v->reason), "no DKIM signature with d=%s", c->domain);
		if (c->nsigs > 0)
			snprintf(v->reason + strlen(v->reason), sizeof(v->reason) - strlen(v->reason),
			    " (%d from other domains)", c->nsigs);
		return;
	}
	for (i = 0; i < nsigs; i++) {
		struct dkim_verdict one;

		if (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE)
			continue;
		memset(&one, 0, sizeof(one));
		verdict_sig(&one, sigs[i]);
		one.outcome = judge(c, sigs[i], final, one.reason, sizeof(one.reason));
		if (one.outcome == DKIM_PASS) {
			one.covers = covers(sigs[i]);
			*v = one;
			if (passed)
				*passed = sigs[i];
			return;
		}
		if (one.outcome == DKIM_TEMPFAIL && !have_temp++)
			temp = one;
		if (one.outcome == DKIM_FAIL && !have_first++)
			first = one;
	}
	*v = have_temp ? temp : first;
	if (!have_temp && !have_first) {
		v->outcome = DKIM_FAIL;
		err_set(v->reason, sizeof(v->reason), "no usable signature with d=%s", c->domain);
	}
}

int
dkim_check_headers(const struct dkim_check *c, struct dkim_verdict *v)
{
	if (!c->headers_done)
		return 0;
	decide(c, 0, v, NULL);
	return 1;
}

/* keep_signed_fields - the fields the passing SIG hashed, for dkim_check_signed_value */
static void
keep_signed_fields(struct dkim_check *c, DKIM_SIGINFO *sig)
{
	u_int n = 0;

	if (dkim_sig_getsignedhdrs(c->dkim, sig, NULL, 0, &n) != DKIM_STAT_NORESOURCE || n == 0 ||
	    n > SIGNED_FIELDS_MAX)
		return;		/* none, or more than a sender signs: nothing is taken as signed */
	c->signed_fields = xcalloc(n, SIGNED_FIELD_MAX);
	if (dkim_sig_getsignedhdrs(c->dkim, sig, (u_char *)c->signed_fields, SIGNED_FIELD_MAX, &n) != DKIM_STAT_OK)
		n = 0;
	c->nsigned = n;
}

void
dkim_check_finish(struct dkim_check *c, struct dkim_verdict *v)
{
	DKIM_SIGINFO *passed = NULL;
	_Bool testkey = 0;

	if (c->finished) {
		*v = c->final;
		return;
	}
	c->finished = 1;
	if (!c->headers_done) {		/* no blank line: a message without a body */
		if (c->line.len > 0 && c->header_error[0] == '\0') {
			if (c->line.data[c->line.len - 1] == '\r')
				c->line.len--;
			if (c->line.len > 0)
				header_line(c, c->line.data, c->line.len, c->line_bytes);
		}
		headers_end(c);
	}
	body_flush(c);
	if (c->dkim && c->header_error[0] == '\0' && c->eoh_status == DKIM_STAT_OK)
		(void)dkim_eom(c->dkim, &testkey);
	decide(c, 1, &c->final, &passed);
	if (passed)
		keep_signed_fields(c, passed);
	*v = c->final;
}

/* field_value - the value of FIELD ("Name: value", folded) if its name is NAME, unfolded and trimmed */
static char *
field_value(const char *field, const char *name)
{
	const char *colon = strchr(field, ':'), *end = colon;
	struct buf b = BUF_INIT;
	size_t len;

	if (colon == NULL)
		return NULL;
	while (end > field && (end[-1] == ' ' || end[-1] == '\t'))
		end--;		/* libopendkim's name: up to the colon, less trailing blanks */
	if ((size_t)(end - field) != strlen(name) || ascii_strncasecmp(field, name, strlen(name)) != 0)
		return NULL;
	for (colon++; *colon; colon++)
		if (*colon != '\r' && *colon != '\n')
			buf_putc(&b, *colon);
	buf_putc(&b, '\0');
	for (len = strlen(b.data); len > 0 && (b.data[len - 1] == ' ' || b.data[len - 1] == '\t'); len--)
		b.data[len - 1] = '\0';
	len = strspn(b.data, " \t");
	memmove(b.data, b.data + len, strlen(b.data + len) + 1);
	return buf_steal(&b);
}

char *
dkim_check_signed_value(const struct dkim_check *c, const char *name)
{
	unsigned i;
	char *v;

	for (i = 0; i < c->nsigned; i++) {
		const char *f = c->signed_fields + (size_t)i * SIGNED_FIELD_MAX;

		if (strlen(f) < SIGNED_FIELD_MAX - 1 && (v = field_value(f, name)) != NULL)
			return v;	/* h= lists a name bottom-up: its first is the last field */
	}
	return NULL;
}

void
dkim_verdict_describe(const struct dkim_verdict *v, char *out, size_t outlen)
{
	if (v->domain[0])
		snprintf(out, outlen, "d=%s s=%s a=%s%s%s", v->domain, v->selector, v->algorithm,
		    v->reason[0] ? ": " : "", v->reason);
	else
		snprintf(out, outlen, "%s", v->reason);
}
