/*
 * findings - what one report file says about whose addresses
 *
 * Turns CSV records into findings (host, port, protocol, detection time plus
 * the record's other columns for the templates), deduplicated by
 * (host, port, protocol) keeping the earliest detection with that row's
 * columns, each attributed to the customer owning the address. The columns
 * come from hostcols: ip/port in scan reports, src_ip/src_port in event
 * reports (so each connection of a host is a finding of its own), and the
 * type's transport from the catalogue when a row has no protocol.
 *
 * A network in the host column ("198.51.100.0/24") gives a finding to every
 * customer whose prefix overlaps it, naming the part that is theirs; the
 * prefix map answers that without enumerating the network. Closing the file
 * groups findings per account, sorted by address, and lists the unmatched
 * ones for ops. A record with a bad address or time is skipped and counted,
 * never fatal. A type the catalogue knows whose header names no host (e.g.
 * sandbox_dns) reads as a report about nobody, with a note saying so.
 *
 * Memory grows with distinct findings, not with rows: a report repeating the
 * same services costs the same however long it is.
 *
 * A finding is kept small, since a report can name a hundred thousand
 * customers: the fixed fields, and its row as one block of bytes in which a
 * value the file repeats (the ASN, the country, "udp") is a one-byte code
 * for a string kept once per file, and any other value is written out.
 *
 * What a file holds is counted as it is allocated (findings, rows, column
 * names, the strings kept once, the dedup table, the groups) against a
 * budget that all the files of one message share (MaxReportMemory): a row
 * that takes the total over it makes the file fail with "report too large",
 * and the caller refuses the message. Nothing is allocated ahead of need: a
 * file of one row costs about 2 KiB, not the 64 KiB blocks it once did.
 *
 * Owns: the findings and their rows, the dedup hash table, the strings kept
 * once, the groups. Not the budget: the caller's.
 */
#ifndef SM_FINDINGS_H
#define SM_FINDINGS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "report/hostcols.h"
#include "base/ipaddr.h"

/* longest text of a finding's address: "2001:db8::/48" */
#define FINDING_ADDRSTRLEN (IPADDR_STRLEN + 4)

struct account;
struct catalogue_entry;
struct prefixmap;
struct csvreport_row;
struct strtab;
struct row_block;

struct finding {
	struct ipaddr ip;		/* the host; for a listed network, the part of it
					 * that is the account's (or the whole network) */
	unsigned len;			/* prefix length of ip: 32/128 for a host */
	int port;			/* -1 when the report has none */
	unsigned char source_port;	/* port is the port the host connected from
					 * (src_port of an event report) */
	unsigned char listed_in_row;	/* private: row starts with the listed network */
	unsigned char row_own;		/* private: row is an allocation of its own */
	time_t detected;		/* earliest detection time seen (row is that row's) */
	const char *protocol;		/* lowercased, "" when none; kept once per file */
	const struct account *account;	/* NULL: nobody's */
	unsigned char *row;		/* private: the record it came from, encoded
					 * (matched findings only; else NULL): read it
					 * with report_file_value and finding_listed */
};

struct notice_group {
	const struct account *account;
	struct finding **findings;	/* sorted by address, port, protocol; a slice
					 * of report_file.grouped */
	size_t nfindings;
};

/* what stopped a file being read: its form (it stays so), a configured limit
 * (MaxCSVSize, MaxRows, MaxAttachmentSize: another limit may read it), or an
 * I/O failure here (reading it again may work) */
enum report_error {
	REPORT_ERROR_FORMAT,
	REPORT_ERROR_LIMIT,
	REPORT_ERROR_IO
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
	enum report_error error_kind;	/* ... and what stopped it (with error) */
	char *note;			/* why a readable file gave no findings, or NULL */
	char **columns;			/* header names */
	struct hostcols cols;		/* host, port and protocol columns */
	size_t ncolumns;
	int known_type;			/* the catalogue knows the type */
	char transport[16];		/* the catalogue's transport for the type, lowercase, or "" */
	struct notice_group *groups;	/* after report_file_close */
	size_t ngroups;
	struct finding **grouped;	/* the groups' findings, one block (owned) */
	struct finding **unmatched;	/* after report_file_close, sorted */
	size_t nunmatched;
	/* private */
	struct finding **chunks;	/* the findings, in chunks of 8, 16, ... 1024: they never move */
	size_t nfindings;
	uint32_t *slots;		/* dedup: open addressing of finding indices + 1 */
	size_t nslots;
	struct strtab *strings;		/* protocols and the rows' common values, kept once */
	struct row_block *row_blocks;	/* where the rows are */
	unsigned char *codes;		/* scratch: a row's value codes while it is encoded */
	size_t row_block_next;		/* the size of the next row block (they grow to 64 KiB) */
	struct report_budget *budget;	/* or NULL */
	unsigned long long bytes;	/* allocated so far, as counted */
	unsigned long long charged;	/* ... of which the budget was told */
};

/* what the report files of one message may hold between them */
struct report_budget {
	unsigned long long limit;	/* bytes; 0: no limit */
	unsigned long long used;	/* bytes allocated by the files, as counted */
};

/* report_budget_exceeded - a file took the total over the limit */
int report_budget_exceeded(const struct report_budget *b);

struct report_file *report_file_new(const char *file, const char *type, const char *date,
    const char *identifier);
void report_file_free(struct report_file *rf);
void report_file_set_error(struct report_file *rf, const char *error);

/* report_file_set_error_kind - ERROR (the first stands) of KIND: a limit of
 * the configuration, or an I/O failure here rather than the file's form */
void report_file_set_error_kind(struct report_file *rf, enum report_error kind, const char *error);

/* report_file_set_budget - RF counts what it holds against B (shared by the
 * files of one message, kept by the caller) until set again with NULL */
void report_file_set_budget(struct report_file *rf, struct report_budget *b);

/* report_file_set_entry - what the catalogue says of the type (E may be NULL),
 * before the first row: a known type may name no host, and its transport
 * stands in for an empty protocol */
void report_file_set_entry(struct report_file *rf, const struct catalogue_entry *e);

/*
 * report_file_add_row - one CSV record; the first call also records the
 * header. Returns 0 when taken, 1 when skipped (counted), -1 when the header
 * lacks a required column or the budget is exceeded (the file's error is set).
 */
int report_file_add_row(struct report_file *rf, const struct prefixmap *map,
    const struct csvreport_row *row);

/* report_file_close - group by account, sort, list unmatched */
void report_file_close(struct report_file *rf);

/* finding_address - "192.0.2.1", or "198.51.100.8/29" for (part of) a network */
void finding_address(const struct finding *f, char *out, size_t outlen);

/* finding_endpoint - "192.0.2.1:111", "[2001:db8::1]:111", "192.0.2.1" without
 * a port, "198.51.100.8/29" for (part of) a network */
void finding_endpoint(const struct finding *f, char *out, size_t outlen);

/* finding_listed - the network the report listed ("198.51.100.0/24"), when it
 * is larger than the finding's part; "" otherwise */
void finding_listed(const struct finding *f, char *out, size_t outlen);

/* finding_compare - the order of a group's findings: address, prefix length,
 * port, protocol (0: the same finding) */
int finding_compare(const struct finding *a, const struct finding *b);

/*
 * report_file_adopt - a copy of F, a finding of FROM, owned by RF and with
 * its row's values under RF's columns (a column RF has and FROM lacks reads
 * ""): how one file's findings join another's groups
 */
struct finding *report_file_adopt(struct report_file *rf, const struct report_file *from,
    const struct finding *f);

/* report_file_value - column NAME of finding F (one of RF's), or NULL */
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
