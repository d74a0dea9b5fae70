/*
 * findings - what one report file says about whose addresses
 *
 * Turns CSV records into findings (ip, port, protocol, detection time plus
 * the record's other columns for the templates), deduplicated by
 * (ip, port, protocol) keeping the earliest detection, each attributed to the
 * customer owning the address. Closing the file groups findings per account,
 * sorted by address, and lists the unmatched ones for ops. A record with a bad
 * address or time is skipped and counted, never fatal.
 *
 * Memory grows with distinct findings, not with rows: a report repeating the
 * same services costs the same however long it is.
 *
 * Owns: the findings, the dedup hash table, the groups.
 */
#ifndef SM_FINDINGS_H
#define SM_FINDINGS_H

#include <stddef.h>
#include <time.h>

#include "ipaddr.h"

struct account;
struct prefixmap;
struct csvreport_row;

struct finding {
	struct ipaddr ip;
	int port;			/* -1 when the report has none */
	char protocol[16];		/* lowercased; "" when none */
	time_t detected;		/* earliest detection time seen */
	const struct account *account;	/* NULL: nobody's */
	char **values;			/* the record's values, aligned to report_file.columns
					 * (matched findings only; else NULL) */
};

struct notice_group {
	const struct account *account;
	struct finding **findings;	/* sorted by address, port, protocol */
	size_t nfindings;
};

struct report_file {
	char *file;			/* attachment or zip member name */
	char *type;			/* report type, e.g. scan_portmapper */
	char *date;			/* YYYY-MM-DD from the file name, or "" */
	char *identifier;		/* what the report covers (the file name's third part:
					 * an ASN, a netblock, a name), or "" */
	unsigned long rows;		/* data records read */
	unsigned long skipped_rows;	/* records with a bad address or time */
	char *first_skip;		/* why the first skipped record was skipped */
	char *error;			/* why the file could not be read, or NULL */
	char **columns;			/* header names */
	const char *address_column;	/* "ip", or "src_ip" in event reports */
	size_t ncolumns;
	struct notice_group *groups;	/* after report_file_close */
	size_t ngroups;
	struct finding **unmatched;	/* after report_file_close, sorted */
	size_t nunmatched;
	/* private */
	struct finding **all;
	size_t nall, allcap;
	size_t *slots;			/* open-addressing table of all[] indices + 1 */
	size_t nslots;
};

struct report_file *report_file_new(const char *file, const char *type, const char *date,
    const char *identifier);
void report_file_free(struct report_file *rf);
void report_file_set_error(struct report_file *rf, const char *error);

/*
 * report_file_add_row - one CSV record; the first call also records the
 * header. Returns 0 when taken, 1 when skipped (counted), -1 when the header
 * lacks a required column (the file's error is set).
 */
int report_file_add_row(struct report_file *rf, const struct prefixmap *map,
    const struct csvreport_row *row);

/* report_file_close - group by account, sort, list unmatched */
void report_file_close(struct report_file *rf);

/* report_file_value - column NAME of finding F, or NULL */
const char *report_file_value(const struct report_file *rf, const struct finding *f, const char *name);

/* parse_detection_time - "YYYY-MM-DD HH:MM:SS" UTC (also T, Z, +00:00); -1 if bad */
int parse_detection_time(const char *s, time_t *out);

/*
 * report_name_parse - "2022-05-14-scan_portmapper-as64500.csv[.zip]" -> date
 * "2022-05-14", type "scan_portmapper", identifier "as64500" (what the report
 * covers: "" when the name has no third part). IDENTIFIER may be NULL.
 */
int report_name_parse(const char *name, char **date, char **type, char **identifier);

#endif
