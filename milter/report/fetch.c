/*
 * fetch - a report file downloaded from ShadowServer, and nothing else
 *
 * See fetch.h. libcurl does the HTTP; this file decides what may be asked
 * for. Redirects are not followed by libcurl (CURLOPT_FOLLOWLOCATION off):
 * each Location is checked against the allowed hosts here and only then
 * asked for, at most FETCH_HOPS times, and CURLOPT_PROTOCOLS_STR and
 * CURLOPT_REDIR_PROTOCOLS_STR keep libcurl to http and https whatever it is
 * handed.
 */
#include "report/fetch.h"
#include "report/mime.h"
#include "base/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FETCH_HOPS 5			/* redirects followed at most */

struct transfer {
	const struct fetch_opts *o;
	struct fetch_result *res;
	int too_large;
	int write_failed;
	char *disposition;		/* the last Content-Disposition header's value */
};

int
fetch_url_allowed(const struct fetch_opts *o, const char *url, char *why, size_t whylen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ok = 0;
	size_t i;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		err_set(why, whylen, "not a URL: %.200s", url);
	else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
		err_set(why, whylen, "%.200s: only http and https links are fetched", url);
	else {
		for (i = 0; i < o->nhosts && !ok; i++)
			ok = ascii_strcasecmp(host, o->hosts[i]) == 0;
		if (!ok)
			err_set(why, whylen, "%.200s: host %.100s is not in ReportLinkHosts", url, host);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* clean_name - a file name made plain: letters, digits, "._-" kept, anything else "_", 255 at most */
static char *
clean_name(const char *name)
{
	char *c, *out = xstrndup(name, strnlen(name, 255));

	for (c = out; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr("._-", *c)))
			*c = '_';
	return out;
}

char *
fetch_disposition_name(const char *value)
{
	char *name = mime_header_param(value, "filename"), *base, *clean = NULL;

	if (name == NULL)
		return NULL;
	base = strrchr(name, '/');
	if (base == NULL)
		base = strrchr(name, '\\');
	base = base ? base + 1 : name;
	if (*base && strcmp(base, ".") != 0 && strcmp(base, "..") != 0)
		clean = clean_name(base);
	free(name);
	return clean;
}

/* on_header - keep the Content-Disposition of the answer */
static size_t
on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;
	size_t len = size * n;
	static const char name[] = "content-disposition:";

	if (len > sizeof(name) - 1 && ascii_strncasecmp(data, name, sizeof(name) - 1) == 0) {
		free(t->disposition);
		t->disposition = xstrndup(data + sizeof(name) - 1, len - (sizeof(name) - 1));
	}
	return len;
}

/* on_body - the body into the spool file, never past MaxReportSize */
static size_t
on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;
	size_t len = size * n, off = 0;
	ssize_t w;

	if (t->res->size + len > t->o->max_size) {
		t->too_large = 1;
		return 0;
	}
	while (off < len) {
		if ((w = write(t->res->fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			t->write_failed = errno;
			return 0;
		}
		off += (size_t)w;
	}
	t->res->size += len;
	return len;
}

static CURL *
easy_for(const struct fetch_opts *o, const char *url, struct transfer *t)
{
	CURL *c = curl_easy_init();

	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);	/* each hop is checked here */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->timeout < 30 ? o->timeout : 30L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "shadowmilter");
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	if (o->ca_file && *o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	return c;
}

/* spool_reset - an empty spool for the next hop's body */
static int
spool_reset(struct fetch_result *res)
{
	res->size = 0;
	return ftruncate(res->fd, 0) == 0 && lseek(res->fd, 0, SEEK_SET) == 0 ? 0 : -1;
}

static int
spool_new(const struct fetch_opts *o, char *why, size_t whylen)
{
	struct buf path = BUF_INIT;
	int fd;

	buf_printf(&path, "%s/shadowmilter-fetch.XXXXXX", o->tmp_dir ? o->tmp_dir : "/tmp");
	if ((fd = mkstemp(path.data)) < 0)
		err_set(why, whylen, "cannot create a spool file in %s: %s", o->tmp_dir, strerror(errno));
	else
		unlink(path.data);
	buf_free(&path);
	return fd;
}

/* sniff - the body is a zip ("PK\3\4"), or CSV text (a first line of printable text with a comma): 0, else -1 */
static int
sniff(struct fetch_result *res)
{
	char head[4096];
	ssize_t n = pread(res->fd, head, sizeof(head), 0);
	ssize_t i;
	int comma = 0;

	if (n >= 4 && memcmp(head, "PK\3\4", 4) == 0) {
		res->zip = 1;
		return 0;
	}
	for (i = 0; i < n && head[i] != '\n'; i++) {
		unsigned char ch = (unsigned char)head[i];

		if (ch < 0x20 && ch != '\t' && ch != '\r')
			return -1;
		comma |= ch == ',';
	}
	return comma ? 0 : -1;
}

/* status_outcome - what an HTTP status other than 2xx and 3xx means */
static enum fetch_outcome
status_outcome(const char *url, long status, char *why, size_t whylen)
{
	err_set(why, whylen, "%.200s: HTTP %ld", url, status);
	if (status >= 500 || status == 429 || status == 408)
		return FETCH_RETRY;
	if (status == 404 || status == 410)
		return FETCH_GONE;
	return FETCH_FAILED;
}

/* one_hop - GET URL; *NEXT is the redirect's target when the answer is one */
static enum fetch_outcome
one_hop(const struct fetch_opts *o, const char *url, struct transfer *t, char **next, char *why, size_t whylen)
{
	CURL *c = easy_for(o, url, t);
	char *location = NULL;
	CURLcode rc;
	enum fetch_outcome out = FETCH_OK;

	*next = NULL;
	free(t->disposition);		/* a hop's own answer names the file */
	t->disposition = NULL;
	if (c == NULL || spool_reset(t->res) != 0) {
		err_set(why, whylen, "cannot start a transfer");
		if (c)
			curl_easy_cleanup(c);
		return FETCH_RETRY;
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t->res->status);
	if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		t->too_large = 1;
		err_set(why, whylen, "%.200s: larger than MaxReportSize (%llu bytes); not fetched", url, o->max_size);
		out = FETCH_FAILED;
	} else if (t->write_failed) {
		err_set(why, whylen, "cannot write the spool file: %s", strerror(t->write_failed));
		out = FETCH_RETRY;
	} else if (rc != CURLE_OK) {
		err_set(why, whylen, "%.200s: %s", url, curl_easy_strerror(rc));
		out = FETCH_RETRY;	/* a timeout, a refused or broken connection, TLS */
	} else if (t->res->status >= 300 && t->res->status < 400 &&
	    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
		*next = xstrdup(location);
	else if (t->res->status < 200 || t->res->status >= 300)
		out = status_outcome(url, t->res->status, why, whylen);
	curl_easy_cleanup(c);
	return out;
}

/* fetch - URL under O; a report's body must be CSV or zip (REPORT) */
static enum fetch_outcome
fetch(const struct fetch_opts *o, const char *url, int report, struct fetch_result *res, char *why, size_t whylen)
{
	struct transfer t = { o, res, 0, 0, NULL };
	char *cur = xstrdup(url), *next = NULL;
	enum fetch_outcome out = FETCH_FAILED;
	enum fetch_refusal refused = FETCH_NOT_REFUSED;
	int hop;

	memset(res, 0, sizeof(*res));
	if ((res->fd = spool_new(o, why, whylen)) < 0) {
		free(cur);
		return FETCH_RETRY;
	}
	for (hop = 0; hop <= FETCH_HOPS; hop++) {
		if (!fetch_url_allowed(o, cur, why, whylen)) {
			out = FETCH_FAILED;
			break;
		}
		if ((out = one_hop(o, cur, &t, &next, why, whylen)) != FETCH_OK || next == NULL)
			break;
		free(cur);
		cur = next;
		next = NULL;
		out = FETCH_FAILED;
		err_set(why, whylen, "%.200s: more than %d redirects", url, FETCH_HOPS);
	}
	if (out == FETCH_OK && next == NULL && report && sniff(res) != 0) {
		err_set(why, whylen, "%.200s: the answer is neither CSV nor zip", cur);
		out = FETCH_FAILED;
		refused = FETCH_NOT_A_REPORT;
	}
	if (out == FETCH_FAILED && t.too_large)
		refused = FETCH_TOO_LARGE;
	if (out == FETCH_OK && t.disposition)
		res->file = fetch_disposition_name(t.disposition);
	if (out == FETCH_OK)
		lseek(res->fd, 0, SEEK_SET);
	free(t.disposition);
	free(cur);
	free(next);
	if (out != FETCH_OK)
		fetch_result_free(res);
	res->refused = refused;
	return out;
}

enum fetch_outcome
fetch_report(const struct fetch_opts *o, const char *url, struct fetch_result *res, char *why, size_t whylen)
{
	return fetch(o, url, 1, res, why, whylen);
}

enum fetch_outcome
fetch_document(const struct fetch_opts *o, const char *url, struct fetch_result *res, char *why, size_t whylen)
{
	return fetch(o, url, 0, res, why, whylen);
}

void
fetch_result_free(struct fetch_result *res)
{
	if (res->fd >= 0)
		close(res->fd);
	free(res->file);
	memset(res, 0, sizeof(*res));
	res->fd = -1;
}
