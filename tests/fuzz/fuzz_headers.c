/*
 * fuzz_headers - libFuzzer target: every parser of hostile header text
 *
 * The input is a header block ("Name: value" lines, folded lines joined);
 * each value goes through Authentication-Results parsing, From address
 * extraction, RFC 2047 decoding, MIME parameters (RFC 2231), the cleaning
 * and encoding that makes text safe for a header, the report file name and
 * the IP address parsers; the block as a whole goes through recognise, the
 * report/authentication verdict.
 *
 * Checked: encoded header values cannot carry a line break or a control
 * character; cleaned text is control-free UTF-8 within its cap; an address
 * round-trips through its canonical form; an "authenticated" verdict needs
 * one From and a trusted Authentication-Results saying dkim=pass.
 *
 *   make fuzz   (tests/fuzz/run.sh builds the seeds from tests/fixtures)
 */
#include "fuzzutil.h"

#include "config/config.h"
#include "report/findings.h"
#include "base/ipaddr.h"
#include "notice/mailheader.h"
#include "report/mime.h"
#include "trust/recognise.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLEAN_CAP 40
#define TRUSTED_ID "mx.example.net"

static struct config *cfg;

static int
utf8_valid(const unsigned char *p)
{
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 :
		    (*p & 0xF8) == 0xF0 ? 4 : 0;
		size_t i;

		if (n == 0)
			return 0;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

static void
check_clean(const char *value)
{
	char *c = text_clean(value, CLEAN_CAP);
	const unsigned char *p;

	if (strlen(c) > CLEAN_CAP || !utf8_valid((const unsigned char *)c))
		fuzz_fail("text_clean: over its cap or not UTF-8", c);
	for (p = (const unsigned char *)c; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			fuzz_fail("text_clean left a control character", c);
	free(c);
}

static void
check_encoded(const char *name, const char *value)
{
	char *e = header_encode(name, value);
	const unsigned char *p;

	if (!fuzz_header_value_safe(e))
		fuzz_fail("header_encode: a line break or control character survived", e);
	for (p = (const unsigned char *)e; *p; p++)
		if (*p >= 0x80)
			fuzz_fail("header_encode: 8-bit byte in an encoded header", e);
	free(e);
}

static void
check_address(const char *value)
{
	struct ipaddr a, b;
	unsigned plen;
	char text[IPADDR_STRLEN];

	if (ipaddr_parse(value, &a) == 0) {
		ipaddr_format(&a, text, sizeof(text));
		if (ipaddr_parse(text, &b) != 0 || ipaddr_compare(&a, &b) != 0)
			fuzz_fail("an address does not round-trip through its canonical form", value);
	}
	ipaddr_parse_prefix(value, &a, &plen);
}

static void
one_value(const char *name, const char *value)
{
	char *s, *id = NULL, *date, *type, *ident, why[128];
	int rc;

	rc = authres_dkim_pass(value, "shadowserver.org", &id, why, sizeof(why));
	if (rc < -1 || rc > 1 || (rc >= 0 && id == NULL))
		fuzz_fail("authres_dkim_pass: a result without an authserv-id", value);
	if (rc == -1 && why[0] == '\0')
		fuzz_fail("authres_dkim_pass: refused without saying why", value);
	free(id);
	if ((s = mail_address_extract(value)) != NULL) {
		if (strchr(s, '@') == NULL || strpbrk(s, " \t\r\n<>,"))
			fuzz_fail("mail_address_extract: not a bare addr-spec", s);
		free(s);
	}
	recognise_from_matches(cfg, value);
	s = mime_decode_words(value);
	check_clean(s);
	check_encoded("Subject", s);
	free(s);
	free(mime_header_param(value, "filename"));
	free(mime_header_param(value, "boundary"));
	free(mime_header_token(value));
	check_clean(value);
	check_encoded(name, value);
	if (report_name_parse(value, &date, &type, &ident) == 0) {
		if (strlen(date) != 10 || *type == '\0')
			fuzz_fail("report_name_parse: a bad date or an empty type", value);
		free(date);
		free(type);
		free(ident);
	}
	check_address(value);
}

/* what the verdict may rest on: the From headers and the topmost trusted
 * Authentication-Results, as the harness itself sees them */
struct evidence {
	int from_headers;
	int trusted_seen, trusted_pass;
};

static void
flush_header(struct recognise *rc, struct evidence *ev, struct buf *name, struct buf *value)
{
	const char *n = buf_cstr(name), *v = buf_cstr(value);
	char *id = NULL, why[128];
	int pass;

	one_value(n, v);
	recognise_header(rc, n, v);
	ev->from_headers += !ascii_strcasecmp(n, "From");
	if (!ascii_strcasecmp(n, "Authentication-Results") && !ev->trusted_seen) {
		pass = authres_dkim_pass(v, cfg->report_dkim_domain, &id, why, sizeof(why));
		if (id && config_is_trusted_authserv(cfg, id)) {
			ev->trusted_seen = 1;
			ev->trusted_pass = pass == 1;
		}
		free(id);
	}
	buf_reset(name);
	buf_reset(value);
}

/* the verdict may say "authenticated" only with evidence for it */
static void
check_verdict(const struct recognise *rc, const struct evidence *ev)
{
	char reason[512];

	if (recognise_verdict(rc, reason, sizeof(reason)) == 1 && (ev->from_headers != 1 || !ev->trusted_pass))
		fuzz_fail("authenticated without one From and a topmost trusted dkim=pass", reason);
	if (strpbrk(reason, "\r\n"))
		fuzz_fail("a line break in the verdict's reason (it goes to a header)", reason);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *line, *next, *colon;
	struct buf name = BUF_INIT, value = BUF_INIT;
	struct evidence ev = { 0, 0, 0 };
	struct recognise rc;
	char err[256];

	if (cfg == NULL) {
		cfg = config_new();
		/* the Authentication-Results verdict (VerifyDKIM no): DKIM itself needs a body */
		if (config_set(cfg, "TrustedAuthservIDs", TRUSTED_ID, err, sizeof(err)) != 0 ||
		    config_set(cfg, "VerifyDKIM", "no", err, sizeof(err)) != 0)
			abort();
	}
	recognise_init(&rc, cfg);
	for (line = text; line; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((*line == ' ' || *line == '\t') && name.len) {	/* folded */
			buf_putc(&value, '\n');
			buf_puts(&value, line);
			continue;
		}
		if (name.len)
			flush_header(&rc, &ev, &name, &value);
		if ((colon = strchr(line, ':')) != NULL && colon > line) {
			buf_append(&name, line, (size_t)(colon - line));
			buf_puts(&value, colon + 1 + strspn(colon + 1, " \t"));
		} else if (*line)
			one_value("X-Line", line);
	}
	if (name.len)
		flush_header(&rc, &ev, &name, &value);
	check_verdict(&rc, &ev);
	recognise_free(&rc);
	buf_free(&name);
	buf_free(&value);
	free(text);
	return 0;
}
