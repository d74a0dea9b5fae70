/*
 * fetch - a report file downloaded from ShadowServer, and nothing else
 *
 * A report mail may carry only a link (https://dl.shadowserver.org/<id>),
 * and the Reports API's files are downloaded the same way: a plain GET. The
 * link comes from mail, so the URL is hostile: only http and https URLs on a
 * host of the allowed list (ReportLinkHosts) are fetched, and a redirect is
 * followed only to such a URL, each hop checked before it is asked for
 * (libcurl never follows one by itself). The body goes to an unlinked
 * temporary file, never past MaxReportSize, and the whole fetch ends at
 * FetchTimeout.
 *
 * The outcome says what the caller does next: a file to read, a failure to
 * try again later (a 5xx answer, a timeout, a connection that failed), or
 * one that ends the fetch (refused URL, 404/410, too large, neither CSV nor
 * zip), each with its reason.
 *
 * Owns: the body's file descriptor and the file name in a result.
 */
#ifndef SM_FETCH_H
#define SM_FETCH_H

#include <stddef.h>

enum fetch_outcome {
	FETCH_OK,
	FETCH_RETRY,			/* a 5xx, 408 or 429, a timeout, a failed connection */
	FETCH_GONE,			/* 404 or 410: not there (yet); given up after a few tries */
	FETCH_FAILED			/* refused URL, too large, neither CSV nor zip, another 4xx */
};

struct fetch_opts {
	char *const *hosts;		/* ReportLinkHosts: the only hosts fetched from */
	size_t nhosts;
	unsigned long long max_size;	/* MaxReportSize */
	long timeout;			/* FetchTimeout, seconds, the whole fetch */
	const char *ca_file;		/* CAFile, or NULL: the system's */
	const char *tmp_dir;		/* where the body is spooled */
};

/* why a FETCH_FAILED refused the file itself (the same file is refused again, wherever it comes from) */
enum fetch_refusal {
	FETCH_NOT_REFUSED,		/* not the file's fault (the URL, the answer's status), or no failure */
	FETCH_TOO_LARGE,		/* larger than MaxReportSize */
	FETCH_NOT_A_REPORT		/* neither CSV nor zip */
};

struct fetch_result {
	int fd;				/* the body (unlinked file, at offset 0), or -1 */
	unsigned long long size;
	char *file;			/* the Content-Disposition file name, cleaned, or NULL */
	int zip;			/* the body is a zip (else CSV text) */
	long status;			/* the last HTTP status, 0 when none came */
	enum fetch_refusal refused;	/* kept after a failure (the rest is freed) */
};

/* fetch_url_allowed - may URL be fetched under O (scheme http/https, host listed)? 1, or 0 with WHY */
int fetch_url_allowed(const struct fetch_opts *o, const char *url, char *why, size_t whylen);

/*
 * fetch_report - GET URL under O into *RES (free with fetch_result_free):
 * FETCH_OK with the body; FETCH_RETRY or FETCH_FAILED with the reason in WHY
 */
enum fetch_outcome fetch_report(const struct fetch_opts *o, const char *url, struct fetch_result *res,
    char *why, size_t whylen);
/* fetch_document - fetch_report for a file that is not a report (ShadowServer's
 * schema): the same rules, but the body is not required to be CSV or zip */
enum fetch_outcome fetch_document(const struct fetch_opts *o, const char *url, struct fetch_result *res,
    char *why, size_t whylen);
void fetch_result_free(struct fetch_result *res);

/* fetch_disposition_name - the file name of a Content-Disposition value (filename= or
 * RFC 6266's filename*=UTF-8''...), path parts dropped; NULL when none (caller frees) */
char *fetch_disposition_name(const char *value);

#endif
