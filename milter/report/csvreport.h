/*
 * csvreport - ShadowServer CSV files, streamed through libcsv
 *
 * Bytes are pushed in as they are decoded from the mail or the zip. The first
 * record is the header; columns are found by name (lowercased, trimmed, BOM
 * removed), never by position, since ShadowServer changes layouts. Each data
 * record reaches the caller with values aligned to the header: missing
 * trailing fields are "", extra fields are dropped. Quoted fields may hold
 * commas, quotes and newlines; CRLF and LF both end records.
 *
 * Owns: the libcsv parser, the header, the current record.
 */
#ifndef SM_CSVREPORT_H
#define SM_CSVREPORT_H

#include <stddef.h>

/* no single field may exceed this: a runaway quote must not eat memory */
#define CSVREPORT_MAX_FIELD (1u << 20)
/* nor a whole record (its fields as held, pointers included) */
#define CSVREPORT_MAX_RECORD (4u << 20)

struct csvreport_row {
	size_t ncols;
	char *const *names;	/* header names, lowercased */
	char *const *values;	/* this record's values, "" when missing */
	unsigned long record;	/* 1-based data record number */
	size_t nfields;		/* fields actually present in the record */
};

/* called for each data record; return non-zero to stop the parse */
typedef int (*csvreport_row_fn)(void *ctx, const struct csvreport_row *row);

struct csvreport;

struct csvreport *csvreport_new(csvreport_row_fn fn, void *ctx);
void csvreport_free(struct csvreport *r);

/* csvreport_feed - push LEN bytes; -1 with a message on a parse error */
int csvreport_feed(struct csvreport *r, const char *data, size_t len, char *err, size_t errlen);

/* csvreport_finish - end of file: flush the last record */
int csvreport_finish(struct csvreport *r, char *err, size_t errlen);

/*
 * csvreport_set_max_columns - a record of more than N fields (the header
 * too, and it is held whole before it is a header) stops the parse: the
 * next csvreport_feed fails, and csvreport_over_limit says why. Default: no
 * limit but CSVREPORT_MAX_RECORD.
 */
void csvreport_set_max_columns(struct csvreport *r, size_t n);

/* csvreport_over_limit - why the parse stopped: CSVREPORT_TOO_WIDE (more
 * than the columns allowed), CSVREPORT_TOO_LONG (a record over
 * CSVREPORT_MAX_RECORD), or 0: it did not stop for a limit */
enum { CSVREPORT_TOO_WIDE = 1, CSVREPORT_TOO_LONG };
int csvreport_over_limit(const struct csvreport *r);

/* csvreport_column - index of header NAME, or -1; valid once the header is read */
int csvreport_column(const struct csvreport *r, const char *name);

/* csvreport_has_header - the header record has been seen */
int csvreport_has_header(const struct csvreport *r);

#endif
