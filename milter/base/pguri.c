/*
 * pguri - a libpq connection URI as it may be shown
 *
 * See pguri.h. The URI is parsed by libpq itself, not by us, so what is
 * hidden is exactly what libpq would use as a password, however the URI
 * spells it ("pass%77ord=", "user:secret@", "?sslpassword=").
 */
#include "base/pguri.h"
#include "base/util.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

int
pguri_is_pg(const char *uri)
{
	return uri && (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0);
}

/* uri_escape - VALUE percent-encoded for a URI; KEEP are the reserved
 * characters that may stay as they are in this part */
static void
uri_escape(struct buf *b, const char *value, const char *keep)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p) || (*p && strchr(keep, *p)))
			buf_putc(b, (char)*p);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

/* secret - a connection option never shown: libpq marks passwords with
 * dispchar "*"; the names are checked too, whatever this libpq says */
static int
secret(const PQconninfoOption *o)
{
	return (o->dispchar && strchr(o->dispchar, '*')) || strcmp(o->keyword, "password") == 0 ||
	    strcmp(o->keyword, "sslpassword") == 0;
}

/* simple_host - a host that fits in the authority as is (one name or
 * address, not a socket directory nor a list) */
static int
simple_host(const char *h)
{
	return h && *h && h[0] != '/' && h[0] != '@' && strpbrk(h, ",/%") == NULL;
}

/* uri_authority - "user@host:port" of the options O */
static void
uri_authority(struct buf *b, const PQconninfoOption *user, const PQconninfoOption *host,
    const PQconninfoOption *port)
{
	if (user && user->val) {
		uri_escape(b, user->val, "");
		buf_putc(b, '@');
	}
	if (simple_host(host->val)) {
		if (strchr(host->val, ':'))
			buf_printf(b, "[%s]", host->val);	/* an IPv6 address */
		else
			uri_escape(b, host->val, "");
		if (port && port->val && strspn(port->val, "0123456789") == strlen(port->val) && *port->val)
			buf_printf(b, ":%s", port->val);
	}
}

/* pguri_redacted - URI parsed by libpq (so "pass%77ord" is "password"
 * here as it is there) and written back without its secrets */
char *
pguri_redacted(const char *uri)
{
	PQconninfoOption *opts = PQconninfoParse(uri, NULL), *o, *user = NULL, *host = NULL, *port = NULL;
	struct buf b = BUF_INIT;
	char sep = '?';

	buf_append(&b, uri, (size_t)(strstr(uri, "://") + 3 - uri));
	if (opts == NULL) {
		buf_puts(&b, "(a connection libpq cannot parse)");
		return buf_steal(&b);
	}
	for (o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "user") == 0)
			user = o;
		else if (strcmp(o->keyword, "host") == 0)
			host = o;
		else if (strcmp(o->keyword, "port") == 0)
			port = o;
	}
	uri_authority(&b, user, host, port);
	for (o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val) {
			buf_putc(&b, '/');
			uri_escape(&b, o->val, "");
		}
	for (o = opts; o->keyword; o++) {
		if (o->val == NULL || secret(o) || o == user || strcmp(o->keyword, "dbname") == 0 ||
		    ((o == host || o == port) && simple_host(host->val)))
			continue;
		buf_printf(&b, "%c%s=", sep, o->keyword);
		uri_escape(&b, o->val, "/:");
		sep = '&';
	}
	PQconninfoFree(opts);
	return buf_steal(&b);
}
