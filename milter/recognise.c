/*
 * recognise - is this mail a ShadowServer report, and is it authenticated?
 *
 * See recognise.h. Both parsers here read attacker-controlled header text:
 * they copy, strip comments outside quoted strings, and give up (NULL, -1)
 * rather than guess.
 */
#include "recognise.h"
#include "config.h"
#include "regex.h"
#include "util.h"

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

/* strip_comments - copy of S with (comments) outside "quotes" turned to spaces */
static char *
strip_comments(const char *s)
{
	char *out = xstrdup(s), *p;
	int depth = 0, quoted = 0;

	for (p = out; *p; p++) {
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
	}
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

/* squeeze_equals - "dkim = pass" is legal CFWS; make it "dkim=pass" */
static void
squeeze_equals(char *s)
{
	char *r = s, *w = s;

	for (; *r; r++) {
		if (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n') {
			const char *n = r + strspn(r, " \t\r\n");

			if (*n == '=' || (w > s && w[-1] == '='))
				continue;
			*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
}

static void
unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		memmove(v, v + 1, n - 2);
		v[n - 2] = '\0';
	}
}

/* property_matches - header.d=DOMAIN, or header.i=...@DOMAIN */
static int
property_matches(char *prop, const char *domain)
{
	char *eq = strchr(prop, '='), *v, *at;

	if (eq == NULL)
		return 0;
	*eq = '\0';
	v = eq + 1;
	unquote(v);
	if (!ascii_strcasecmp(prop, "header.d"))
		return !ascii_strcasecmp(v, domain);
	if (!ascii_strcasecmp(prop, "header.i") && (at = strrchr(v, '@')) != NULL)
		return !ascii_strcasecmp(at + 1, domain);
	return 0;
}

/* resinfo_dkim_pass - one "dkim=pass header.d=..." clause */
static int
resinfo_dkim_pass(char *resinfo, const char *domain)
{
	char *save = NULL, *tok, *slash;
	int pass = 0;

	tok = strtok_r(resinfo, " ", &save);
	if (tok == NULL)
		return 0;
	if ((slash = strchr(tok, '/')) != NULL)	/* method/version */
		memmove(slash, slash + strcspn(slash, "="), strlen(slash + strcspn(slash, "=")) + 1);
	if (ascii_strcasecmp(tok, "dkim=pass") != 0)
		return 0;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL)
		if (property_matches(tok, domain))
			pass = 1;
	return pass;
}

int
authres_dkim_pass(const char *value, const char *domain, char **authserv_id)
{
	char *copy = strip_comments(value), *save = NULL, *part, *id;
	int pass = 0;

	*authserv_id = NULL;
	squeeze_equals(copy);
	part = strtok_r(copy, ";", &save);
	if (part == NULL || *(id = ascii_trim(part)) == '\0') {
		free(copy);
		return -1;
	}
	id[strcspn(id, " ")] = '\0';	/* an authres-version may follow */
	*authserv_id = xstrdup(id);
	while ((part = strtok_r(NULL, ";", &save)) != NULL)
		if (resinfo_dkim_pass(ascii_trim(part), domain))
			pass = 1;
	free(copy);
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
	rcode = authres_dkim_pass(value, rc->cfg->report_dkim_domain, &id);
	if (id && config_is_trusted_authserv(rc->cfg, id)) {
		rc->authres_seen = 1;
		rc->dkim_pass = rcode == 1;
		rc->authres_detail = xstrdup(id);
	}
	free(id);
}

void
recognise_header(struct recognise *rc, const char *name, const char *value)
{
	if (!ascii_strcasecmp(name, "From")) {
		if (rc->from_count++ == 0)
			rc->from_address = mail_address_extract(value);
		if (rc->from_address == NULL || rc->from_count > 1)
			rc->from_malformed = 1;
	} else if (!ascii_strcasecmp(name, "Return-Path") && rc->envelope_sender == NULL)
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

/* a From that looks like a report but an envelope that does not is forged */
static int
envelope_mismatch(const struct recognise *rc)
{
	return rc->envelope_sender != NULL && !sender_matches(rc->cfg, rc->envelope_sender);
}

int
recognise_verdict(const struct recognise *rc, char *reason, size_t reasonlen)
{
	if (rc->from_count > 1) {
		err_set(reason, reasonlen, "not a report: %d From headers", rc->from_count);
		return 0;
	}
	if (!recognise_is_report(rc)) {
		err_set(reason, reasonlen, "not a report: From address does not match ReportSenders");
		return 0;
	}
	if (envelope_mismatch(rc)) {
		err_set(reason, reasonlen, "unauthenticated: envelope sender <%s> does not match ReportSenders",
		    rc->envelope_sender);
		return 0;
	}
	if (!rc->authres_seen) {
		err_set(reason, reasonlen, "unauthenticated: no Authentication-Results from a trusted authserv-id");
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
