/*
 * reportslist - what the Reports API offers: the answers of reports/list and
 * reports/types read
 *
 * reports/list answers a JSON array of objects {"id", "file", "type",
 * "report", "timestamp", "url"}; reports/types an array of type names. The
 * answer comes from the network, so it is read as hostile: anything but an
 * array is an error that says what came instead; an entry without a usable
 * id or file, or with an id that could not be part of a download URL, is
 * left out and counted, never fetched. Parsed with jansson (libjansson).
 *
 * Owns: the entries it returns.
 */
#ifndef SM_REPORTSLIST_H
#define SM_REPORTSLIST_H

#include <stddef.h>

struct api_report {
	char *id;			/* the download's id: GET ReportDownloadURL + id */
	char *file;			/* "2026-11-24-scan_ntp-example-asn.csv" */
	char *type;			/* "scan_ntp", or "" when the entry has none */
	char *report;			/* the report list's name, or "" */
	char *timestamp;		/* as the API gives it, or "" */
};

struct api_list {
	struct api_report *v;
	size_t n;
	size_t dropped;			/* entries left out: no id or file, or an unsafe id */
};

/* reportslist_parse - ANSWER (LEN bytes) of reports/list into *LIST: 0, or -1 with WHY */
int reportslist_parse(const char *answer, size_t len, struct api_list *list, char *why, size_t whylen);
void reportslist_free(struct api_list *list);

/* reportslist_types - ANSWER of reports/types: the type names (an array of strings, or of
 * objects with "type" or "name"), *N of them (free each and the array), or -1 with WHY */
int reportslist_types(const char *answer, size_t len, char ***types, size_t *n, char *why, size_t whylen);

/* reportslist_id_ok - may ID be appended to a download URL as it is? (letters, digits, "-_.~?=&%+") */
int reportslist_id_ok(const char *id);

#endif
