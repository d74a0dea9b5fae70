/*
 * tablesource - rows with named columns from the provider's own data: a CSV
 * file, an SQL query (SQLite or PostgreSQL) or a command printing a CSV
 *
 * One source string says where the rows are:
 *
 *   PATH                     a CSV file with a header line
 *   sqlite:PATH              QUERY run on that SQLite file, read-only
 *   postgresql://...         QUERY run through libpq (postgres:// too)
 *   exec:/PATH [ARGS...]     the command, run without a shell (ARGS split on
 *                            blanks), as USER when we are root, prints a CSV
 *                            with a header line on stdout; a non-zero exit,
 *                            a signal or TIMEOUT seconds passing is a failure
 *
 * Whatever the source, columns are found by name (case-insensitive): the
 * caller lists the names it wants, the first NREQUIRED of them must be
 * there, and each row reaches the callback as the wanted values in that
 * order (NULL for an optional column the source does not have; an SQL NULL
 * is ""). Errors name the source (a URI without its password) and the line
 * or row: "customers.csv:12: bad prefix ...", "sqlite:/x.db: row 3: ...".
 *
 * Owns: the connection, the child process and the CSV parser of one read.
 */
#ifndef SM_TABLESOURCE_H
#define SM_TABLESOURCE_H

#include <stddef.h>
#include <stdio.h>

#define TABLE_MAXCOLS 16

enum table_kind { TABLE_CSV, TABLE_SQLITE, TABLE_PG, TABLE_EXEC };

struct table_source {
	const char *source;	/* as above */
	const char *query;	/* for sqlite: and postgresql:, else NULL */
	const char *user;	/* "user[:group]" the command runs as when we are root, or NULL */
	unsigned timeout;	/* seconds a command, a connection or a query may take; 0: 60 */
};

struct table_cols {
	const char *const *names;	/* wanted columns */
	size_t n;			/* at most TABLE_MAXCOLS */
	size_t nrequired;		/* names[0..nrequired-1] must exist */
};

/* one row: VALS[i] for COLS->names[i]; 0, or -1 with a message in ERR (the reader adds where) */
typedef int (*table_row_fn)(void *ctx, const char *const *vals, char *err, size_t errlen);

enum table_kind table_kind(const char *source);

/* table_label - SOURCE as it may be shown: a URI without its password (base/pguri) */
char *table_label(const char *source);

/* table_read - every row of SRC through FN; 0, or -1 with ERR */
int table_read(const struct table_source *src, const struct table_cols *cols, table_row_fn fn, void *ctx,
    char *err, size_t errlen);

/* table_read_csv - the CSV on F; errors say "NAME:LINE: ..." */
int table_read_csv(FILE *f, const char *name, const struct table_cols *cols, table_row_fn fn, void *ctx,
    char *err, size_t errlen);

#endif
