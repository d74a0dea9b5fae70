/*
 * recognise - is this mail a ShadowServer report, and is it authenticated?
 *
 * See recognise.h. Both parsers here read attacker-controlled header text:
 * they copy, strip comments outside quoted strings, and give up (NULL, -1)
 * rather than guess.
 */
#include "trust/recognise.h"
#include "config/config.h"
#include "base/regex.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
recognise_init(struct recognise *rc, const struct config *cfg)
{
	memset(rc, 0, sizeof(*rc));
	rc->cfg = cfg;
}

void
recognise_free(struct recognise *rc)
{
	free(rc->from_address);
	free(rc->envelope_sender);
	free(rc->authres_detail);
	memset(rc, 0, sizeof(*rc));
}

/* blank_comments - (comments) outside "quotes" become spaces, in place;
 * 0, or -1 when comments or quotes do not balance */
static int
blank_comments(char *s)
{
	char *p;
	int depth = 0, quoted = 0, stray = 0;

	for (p = s; *p; p++) {
		if (*p == '\\' && p[1] && (quoted || depth)) {
			if (depth)
				*p = p[1] = ' ';
			p++;
		} else if (!depth && *p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '(') {
			depth++;
			*p = ' ';
		} else if (!quoted && depth && *p == ')') {
			depth--;
			*p = ' ';
		} else if (depth)
			*p = ' ';
		else if (!quoted && *p == ')')
			stray = 1;
	}
	return depth || quoted || stray ? -1 : 0;
}

/* strip_comments - copy of S with (comments) outside "quotes" turned to spaces */
static char *
strip_comments(const char *s)
{
	char *out = xstrdup(s);

	(void)blank_comments(out);
	return out;
}

static int
plausible_address(const char *a)
{
	const char *at = strchr(a, '@');
	const unsigned char *p;

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == ',')
			return 0;
	return 1;
}

/* count_unquoted - occurrences of C outside "quoted strings" */
static int
count_unquoted(const char *s, int c, const char **first)
{
	int n = 0, quoted = 0;

	for (; *s; s++) {
		if (*s == '\\' && quoted && s[1])
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == c && n++ == 0 && first)
			*first = s;
	}
	return n;
}

char *
mail_address_extract(const char *value)
{
	char *copy = strip_comments(value), *addr = NULL, *trimmed;
	const char *lt = NULL, *gt;

	if (count_unquoted(copy, '<', &lt) == 1) {
		gt = strchr(lt, '>');
		if (gt && count_unquoted(gt + 1, ',', NULL) == 0)
			addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	} else if (lt == NULL && count_unquoted(copy, ',', NULL) == 0) {
		trimmed = ascii_trim(copy);
		addr = xstrdup(trimmed);
	}
	free(copy);
	if (addr && !plausible_address(ascii_trim(addr))) {
		free(addr);
		return NULL;
	}
	if (addr)
		memmove(addr, ascii_trim(addr), strlen(ascii_trim(addr)) + 1);
	return addr;
}

/*
 * The Authentication-Results parser (VerifyDKIM no). Strict RFC 8601, and
 * no more than OpenDKIM itself parses: OpenDKIM deletes a header claiming
 * its own authserv-id when it can parse it, and leaves it in place when it
 * cannot ("failed to parse Authentication-Results"), so anything it cannot
 * read must not count here either. Refused: a method version ("dkim/1"),
 * "none" next to results, a word that is not a property, an unbalanced
 * comment or quote, and a header over AUTHRES_MAX bytes.
 */
#define AUTHRES_MAX	2048

struct ar_scan {
	const char *s;		/* comments already blanked out */
	const char *why;	/* the first thing wrong */
};

static void
ar_ws(struct ar_scan *a)
{
	while (*a->s == ' ' || *a->s == '\t' || *a->s == '\r' || *a->s == '\n')
		a->s++;
}

static int
ar_keyword_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* ar_keyword - a Keyword (letters, digits, hyphens) into OUT; 0 if none */
static int
ar_keyword(struct ar_scan *a, char *out, size_t outlen)
{
	size_t n = 0;

	while (ar_keyword_char((unsigned char)a->s[n]))
		n++;
	if (n == 0 || n >= outlen)
		return 0;
	memcpy(out, a->s, n);
	out[n] = '\0';
	a->s += n;
	return 1;
}

/* ar_value - a token, quoted-string or [local-part]@domain, unquoted into OUT */
static int
ar_value(struct ar_scan *a, char *out, size_t outlen)
{
	size_t n = 0;

	if (*a->s == '"') {
		for (a->s++; *a->s && *a->s != '"'; a->s++) {
			if (*a->s == '\\' && a->s[1])
				a->s++;
			if (n + 1 < outlen)
				out[n++] = *a->s;
		}
		if (*a->s != '"')
			return 0;
		a->s++;
	} else
		for (; *a->s > ' ' && *a->s < 0x7f && !strchr(";()\"\\", *a->s); a->s++)
			if (n + 1 < outlen)
				out[n++] = *a->s;
	out[n] = '\0';
	return n > 0;
}

static int
ar_fail(struct ar_scan *a, const char *why)
{
	if (a->why == NULL)
		a->why = why;
	return -1;
}

/* ar_resinfo - "method=result [reason=...] [ptype.property=value ...]"; 1 for a dkim pass of DOMAIN */
static int
ar_resinfo(struct ar_scan *a, const char *domain)
{
	char method[64], result[64], ptype[64], prop[64], value[512], *at;
	int pass = 0;

	ar_ws(a);
	if (!ar_keyword(a, method, sizeof(method)))
		return ar_fail(a, "a result without a method");
	ar_ws(a);
	if (*a->s == '/')
		return ar_fail(a, "a method version (\"method/1\"), which OpenDKIM cannot parse");
	if (!ascii_strcasecmp(method, "none"))
		return ar_fail(a, "\"none\" next to other results");
	if (*a->s != '=')
		return ar_fail(a, "a method without \"=result\"");
	a->s++;
	ar_ws(a);
	if (!ar_keyword(a, result, sizeof(result)))
		return ar_fail(a, "a method without a result");
	for (;;) {
		ar_ws(a);
		if (*a->s == '\0' || *a->s == ';')
			break;
		if (!ar_keyword(a, ptype, sizeof(ptype)))
			return ar_fail(a, "something that is not a property");
		ar_ws(a);
		if (!ascii_strcasecmp(ptype, "reason") && *a->s == '=') {
			a->s++;
			ar_ws(a);
			if (!ar_value(a, value, sizeof(value)))
				return ar_fail(a, "a reason without a value");
			continue;
		}
		if (*a->s != '.')
			return ar_fail(a, "a word that is not a property (ptype.property=value)");
		a->s++;
		ar_ws(a);
		if (!ar_keyword(a, prop, sizeof(prop)))
			return ar_fail(a, "a property without a name");
		ar_ws(a);
		if (*a->s != '=')
			return ar_fail(a, "a property without a value");
		a->s++;
		ar_ws(a);
		if (!ar_value(a, value, sizeof(value)))
			return ar_fail(a, "a property without a value");
		if (ascii_strcasecmp(method, "dkim") || ascii_strcasecmp(result, "pass") ||
		    ascii_strcasecmp(ptype, "header"))
			continue;
		if (!ascii_strcasecmp(prop, "d") && !ascii_strcasecmp(value, domain))
			pass = 1;
		if (!ascii_strcasecmp(prop, "i") && (at = strrchr(value, '@')) != NULL &&
		    !ascii_strcasecmp(at + 1, domain))
			pass = 1;
	}
	return pass;
}

int
authres_dkim_pass(const char *value, const char *domain, char **authserv_id, char *why, size_t whylen)
{
	char *copy, id[256];
	struct ar_scan a = { NULL, NULL };
	int pass = 0;

	*authserv_id = NULL;
	err_set(why, whylen, "%s", "");
	if (strlen(value) > AUTHRES_MAX) {
		err_set(why, whylen, "over %d bytes", AUTHRES_MAX);
		copy = xstrndup(value, 255);	/* still say whose it claims to be */
	} else
		copy = xstrdup(value);
	if (blank_comments(copy) != 0 && !*why)
		err_set(why, whylen, "an unbalanced comment or quote");
	a.s = copy;
	ar_ws(&a);
	if (!ar_value(&a, id, sizeof(id))) {
		free(copy);
		if (!*why)
			err_set(why, whylen, "no authserv-id");
		return -1;
	}
	*authserv_id = xstrdup(id);
	if (*why) {
		free(copy);
		return -1;
	}
	ar_ws(&a);
	while (*a.s >= '0' && *a.s <= '9')	/* authres-version */
		a.s++;
	ar_ws(&a);
	if (*a.s != ';')
		ar_fail(&a, "no \";\" after the authserv-id");
	else {
		const char *after = a.s + 1;

		a.s = after;
		ar_ws(&a);
		if (!ascii_strncasecmp(a.s, "none", 4) && !ar_keyword_char((unsigned char)a.s[4])) {
			a.s += 4;
			ar_ws(&a);
			if (*a.s != '\0')
				ar_fail(&a, "\"none\" next to other results");
		} else
			for (a.s = after; a.why == NULL; ) {
				if (ar_resinfo(&a, domain) > 0)
					pass = 1;
				if (a.why || *a.s == '\0')
					break;
				a.s++;		/* the ';' */
			}
	}
	free(copy);
	if (a.why) {
		err_set(why, whylen, "%s", a.why);
		return -1;
	}
	return pass;
}

void
recognise_envelope_sender(struct recognise *rc, const char *sender)
{
	free(rc->envelope_sender);
	rc->envelope_sender = mail_address_extract(sender);
	if (rc->envelope_sender == NULL)
		rc->envelope_sender = xstrdup("");	/* null sender: known, matches nothing */
}

static void
note_authres(struct recognise *rc, const char *value)
{
	char *id = NULL;
	int rcode;

	if (rc->authres_seen)
		return;		/* only the topmost trusted header counts */
	rcode = authres_dkim_pass(value, rc->cfg->report_dkim_domain, &id, rc->authres_why,
	    sizeof(rc->authres_why));
	if (id && config_is_trusted_authserv(rc->cfg, id)) {
		rc->authres_seen = 1;
		rc->dkim_pass = rcode == 1;
		rc->authres_detail = xstrdup(id);
	}
	free(id);
}

void
recognise_dkim(struct recognise *rc, const struct dkim_verdict *v)
{
	rc->dkim = *v;
	rc->dkim_known = 1;
}

/* note_deciding - a header that decides the report's identity or reading:
 * we read the first, DKIM signs the last, so a second one is refused */
static void
note_deciding(struct recognise *rc, const char *name)
{
	static const char *const names[] = { "Message-ID", "Subject", "Date", "MIME-Version" };
	int *seen[] = { &rc->seen_id, &rc->seen_subject, &rc->seen_date, &rc->seen_version };
	size_t i;

	for (i = 0; i < 4; i++)
		if (!ascii_strcasecmp(name, names[i]) && (*seen[i])++ && rc->repeated == NULL)
			rc->repeated = names[i];
}

void
recognise_block_too_large(struct recognise *rc)
{
	rc->block_too_large = 1;
}

void
recognise_block_malformed(struct recognise *rc)
{
	rc->block_malformed = 1;
}

void
recognise_header(struct recognise *rc, const char *name, const char *value)
{
	if (!ascii_strcasecmp(name, "From")) {
		if (rc->from_count++ == 0)
			rc->from_address = mail_address_extract(value);
		if (rc->from_address == NULL || rc->from_count > 1)
			rc->from_malformed = 1;
	} else if (!ascii_strcasecmp(name, "Content-Type") || !ascii_strcasecmp(name, "Content-Transfer-Encoding")) {
		/* the MIME walk reads the first, a DKIM verifier hashes the last:
		 * with two, a signed body could be read as something else */
		if (!ascii_strcasecmp(name, "Content-Type") ? rc->seen_ctype++ : rc->seen_cte++)
			rc->mime_headers_repeated = 1;
	} else if (!ascii_strcasecmp(name, "Message-ID") || !ascii_strcasecmp(name, "Subject") ||
	    !ascii_strcasecmp(name, "Date") || !ascii_strcasecmp(name, "MIME-Version"))
		note_deciding(rc, name);
	else if (!ascii_strcasecmp(name, "Return-Path") && rc->envelope_sender == NULL)
		recognise_envelope_sender(rc, value);
	else if (!ascii_strcasecmp(name, "Authentication-Results"))
		note_authres(rc, value);
}

static int
sender_matches(const struct config *cfg, const char *address)
{
	return address != NULL && regex_match(cfg->report_senders, address, NULL) == 1;
}

int
recognise_from_matches(const struct config *cfg, const char *from_value)
{
	char *addr = mail_address_extract(from_value);
	int yes = sender_matches(cfg, addr);

	free(addr);
	return yes;
}

int
recognise_is_report(const struct recognise *rc)
{
	return rc->from_count == 1 && sender_matches(rc->cfg, rc->from_address);
}

/* ReportEnvelopeSenders, when set: a known envelope sender must match it */
static int
envelope_mismatch(const struct recognise *rc)
{
	return rc->cfg->report_envelope_senders != NULL && rc->envelope_sender != NULL &&
	    regex_match(rc->cfg->report_envelope_senders, rc->envelope_sender, NULL) != 1;
}

/* dkim_verdict - VerifyDKIM yes: what our own verification found */
static int
dkim_verdict(const struct recognise *rc, char *reason, size_t reasonlen)
{
	char d[512];

	if (!rc->dkim_known) {
		err_set(reason, reasonlen, "unauthenticated: DKIM not verified (the header block never ended)");
		return 0;
	}
	dkim_verdict_describe(&rc->dkim, d, sizeof(d));
	switch (rc->dkim.outcome) {
	case DKIM_PASS:
		err_set(reason, reasonlen, "authenticated report: DKIM %s", d);
		return 1;
	case DKIM_TEMPFAIL:
		err_set(reason, reasonlen, "DKIM %s", d);
		return -1;
	case DKIM_NONE:
	case DKIM_FAIL:
		break;
	}
	err_set(reason, reasonlen, "unauthenticated: DKIM %s", d);
	return 0;
}

/* authres_verdict - VerifyDKIM no: what the topmost trusted Authentication-Results says */
static int
authres_verdict(const struct recognise *rc, char *reason, size_t reasonlen)
{
	if (!rc->authres_seen) {
		err_set(reason, reasonlen, "unauthenticated: no Authentication-Results from a trusted authserv-id");
		return 0;
	}
	if (!rc->dkim_pass && rc->authres_why[0]) {
		err_set(reason, reasonlen, "unauthenticated: Authentication-Results from %s refused: %s",
		    rc->authres_detail, rc->authres_why);
		return 0;
	}
	if (!rc->dkim_pass) {
		err_set(reason, reasonlen, "unauthenticated: Authentication-Results from %s has no dkim=pass "
		    "for header.d=%s", rc->authres_detail, rc->cfg->report_dkim_domain);
		return 0;
	}
	err_set(reason, reasonlen, "authenticated report: dkim=pass header.d=%s (%s)",
	    rc->cfg->report_dkim_domain, rc->authres_detail);
	return 1;
}

/* from_verdict - 1 when the headers name ShadowServer once, else 0 with a reason */
static int
from_verdict(const struct recognise *rc, char *reason, size_t reasonlen)
{
	if (rc->block_too_large) {
		err_set(reason, reasonlen, "not a report (header block too large)");
		return 0;
	}
	if (rc->block_malformed) {
		err_set(reason, reasonlen, "not a report (a line in the header block is not a header field)");
		return 0;
	}
	if (rc->from_count > 1) {
		err_set(reason, reasonlen, "not a report: %d From headers", rc->from_count);
		return 0;
	}
	if (!recognise_is_report(rc)) {
		err_set(reason, reasonlen, "not a report: From address does not match ReportSenders");
		return 0;
	}
	if (rc->mime_headers_repeated) {
		err_set(reason, reasonlen, "unauthenticated: a second Content-Type or Content-Transfer-Encoding header");
		return 0;
	}
	if (rc->repeated) {
		err_set(reason, reasonlen, "not a report: a second %s header", rc->repeated);
		return 0;
	}
	return 1;
}

int
recognise_verdict_trusted(const struct recognise *rc, char *reason, size_t reasonlen)
{
	if (!from_verdict(rc, reason, reasonlen))
		return 0;
	err_set(reason, reasonlen, "trusted by the operator (--trust-saved): signature not checked");
	return 1;
}

int
recognise_verdict(const struct recognise *rc, char *reason, size_t reasonlen)
{
	if (!from_verdict(rc, reason, reasonlen))
		return 0;
	if (envelope_mismatch(rc)) {
		err_set(reason, reasonlen, "unauthenticated: envelope sender <%s> does not match ReportEnvelopeSenders",
		    rc->envelope_sender);
		return 0;
	}
	return rc->cfg->verify_dkim ? dkim_verdict(rc, reason, reasonlen) : authres_verdict(rc, reason, reasonlen);
}

void
recognise_auth(const struct recognise *rc, char *out, size_t outlen)
{
	if (rc->cfg->verify_dkim)
		snprintf(out, outlen, "dkim d=%s s=%s a=%s", rc->dkim.domain, rc->dkim.selector, rc->dkim.algorithm);
	else
		snprintf(out, outlen, "authres %s", rc->authres_detail ? rc->authres_detail : "");
}
