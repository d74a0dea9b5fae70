/*
 * tablesource - rows with named columns from a CSV file, SQLite, PostgreSQL
 * or a command
 *
 * See tablesource.h. The CSV reader feeds libcsv one physical line at a time
 * so that it knows which line a record ended on; a record's first line is
 * that minus the newlines inside its quoted fields. Blank records and records
 * whose first field starts with '#' are skipped; a UTF-8 BOM is dropped.
 *
 * PostgreSQL streams: the query runs inside COPY (...) TO STDOUT in CSV
 * with a header line, and each row the server sends goes to the same CSV
 * reader as a file's (as "the rows of a query": errors say "row N", no
 * comment or blank records), so the server writes while the map is built.
 * A cursor's FETCH of 10,000 rows left one side idle while the other
 * worked. SQLite is read a step at a time. A million rows never sit in
 * memory twice. A command's output is read whole (poll with a deadline) and
 * then parsed as a CSV.
 *
 * Owns: the connection, the child process and the CSV parser of one read.
 */
#include "customers/tablesource.h"
#include "base/pguri.h"
#include "base/util.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIELD_MAX	(1024 * 1024)	/* a longer CSV field is a runaway quote */
#define READ_CHUNK	(64 * 1024)
#define OUTPUT_MAX	(1024UL * 1024 * 1024)	/* a command printing more is broken */
#define STDERR_KEEP	300		/* of a failed command's stderr, for the log line */
#define MAXARGS		64

enum table_kind
table_kind(const char *source)
{
	if (strncmp(source, "postgresql://", 13) == 0 || strncmp(source, "postgres://", 11) == 0)
		return TABLE_PG;
	if (strncmp(source, "sqlite:", 7) == 0)
		return TABLE_SQLITE;
	if (strncmp(source, "exec:", 5) == 0)
		return TABLE_EXEC;
	return TABLE_CSV;
}

char *
table_label(const char *source)
{
	if (table_kind(source) != TABLE_PG)
		return xstrdup(source);
	return pguri_redacted(source);
}

/* ---- columns ---- */

/* cols_find - which source column holds each wanted one (-1: none); -1 with ERR if a required one is missing */
static int
cols_find(const struct table_cols *cols, char *const *names, size_t n, long *at, char *err, size_t errlen)
{
	size_t i, k;

	for (k = 0; k < cols->n; k++)
		at[k] = -1;
	for (i = 0; i < n; i++) {
		for (k = 0; k < cols->n; k++) {
			if (ascii_strcasecmp(names[i], cols->names[k]) != 0)
				continue;
			if (at[k] >= 0) {
				err_set(err, errlen, "duplicate column \"%s\"", cols->names[k]);
				return -1;
			}
			at[k] = (long)i;
		}
	}
	for (k = 0; k < cols->nrequired; k++) {
		if (at[k] < 0) {
			err_set(err, errlen, "missing column \"%s\"", cols->names[k]);
			return -1;
		}
	}
	return 0;
}

/* ---- CSV ---- */

struct csvread {
	const struct table_cols *cols;
	table_row_fn fn;
	void *ctx;
	const char *name;
	char *err;
	size_t errlen;
	struct csv_parser parser;
	unsigned long line;	/* physical line being fed to libcsv */
	unsigned long row_nl;	/* newlines inside the current record's fields */
	size_t nfields;		/* fields of the current record so far */
	int nonblank;		/* current record has a non-space character */
	int comment;		/* current record's first field starts with '#' */
	int have_header;
	int sql;		/* rows of a query: "row N", no comments, no blank skip */
	unsigned long rows;	/* data records taken so far */
	long col[TABLE_MAXCOLS];	/* field index of each wanted column */
	struct buf val[TABLE_MAXCOLS];	/* the current record's wanted values */
	char **hdr;		/* header fields, until the header record ends */
	size_t nhdr;
	int failed;
};

/* libcsv grows its field buffer through this; refusing makes csv_parse fail */
static void *
capped_realloc(void *ptr, size_t size)
{
	return size > FIELD_MAX ? NULL : realloc(ptr, size);
}

/* note_field_text - newlines for the line count; blank and comment records */
static void
note_field_text(struct csvread *cr, const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		cr->row_nl++;
		p++;
	}
	for (p = s; p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'); p++)
		;
	if (p < end) {
		if (cr->nfields == 0 && *p == '#')
			cr->comment = 1;
		cr->nonblank = 1;
	}
}

static void
on_field(void *data, size_t len, void *ctx)
{
	struct csvread *cr = ctx;
	const char *s = data ? data : "";
	size_t k;

	if (cr->failed)
		return;
	if (data == NULL)
		len = 0;
	note_field_text(cr, s, len);
	if (!cr->have_header) {
		cr->hdr = xreallocarray(cr->hdr, cr->nhdr + 1, sizeof(char *));
		cr->hdr[cr->nhdr++] = xstrndup(s, len);
	} else {
		for (k = 0; k < cr->cols->n; k++) {
			if (cr->col[k] == (long)cr->nfields) {
				buf_reset(&cr->val[k]);
				buf_append(&cr->val[k], s, len);
			}
		}
	}
	cr->nfields++;
}

/* csv_fail - MSG where it happened: "NAME:LINE: ", for a query "NAME: row N: " */
static int
csv_fail(struct csvread *cr, unsigned long line, const char *msg)
{
	if (!cr->sql)
		err_set(cr->err, cr->errlen, "%s:%lu: %s", cr->name, line, msg);
	else if (cr->have_header)
		err_set(cr->err, cr->errlen, "%s: row %lu: %s", cr->name, cr->rows, msg);
	else
		err_set(cr->err, cr->errlen, "%s: %s", cr->name, msg);
	cr->failed = 1;
	return -1;
}

static int
take_header(struct csvread *cr, unsigned long line)
{
	char msg[256];
	size_t i;

	for (i = 0; i < cr->nhdr; i++)
		ascii_trim(cr->hdr[i]);
	if (cols_find(cr->cols, cr->hdr, cr->nhdr, cr->col, msg, sizeof(msg)) != 0) {
		if (cr->nhdr == 1 && strchr(cr->hdr[0], ';'))	/* a spreadsheet's "CSV" in some locales */
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (the header is separated by ';': "
			    "the fields must be separated by ',')");
		return csv_fail(cr, line, msg);
	}
	cr->have_header = 1;
	return 0;
}

static int
take_row(struct csvread *cr, unsigned long line)
{
	const char *vals[TABLE_MAXCOLS];
	char msg[512];
	size_t k;

	cr->rows++;
	/* "…,ops@x, bob@x": an unquoted list spills into columns the header never named */
	if (cr->nfields > cr->nhdr) {
		snprintf(msg, sizeof(msg), "%zu fields, the header has %zu (a list in one field must be quoted: "
		    "\"a@x, b@x\")", cr->nfields, cr->nhdr);
		return csv_fail(cr, line, msg);
	}
	for (k = 0; k < cr->cols->n; k++) {
		if (cr->col[k] < 0) {
			vals[k] = NULL;
			continue;
		}
		if ((size_t)cr->col[k] >= cr->nfields) {
			snprintf(msg, sizeof(msg), "no \"%s\" field (%zu fields)", cr->cols->names[k], cr->nfields);
			return csv_fail(cr, line, msg);
		}
		vals[k] = buf_cstr(&cr->val[k]);
	}
	msg[0] = '\0';
	if (cr->fn(cr->ctx, vals, msg, sizeof(msg)) != 0)
		return csv_fail(cr, line, msg);
	return 0;
}

static void
row_reset(struct csvread *cr)
{
	size_t i, k;

	for (i = 0; i < cr->nhdr && !cr->have_header; i++)
		free(cr->hdr[i]);
	if (!cr->have_header)
		cr->nhdr = 0;
	for (k = 0; k < cr->cols->n; k++)
		buf_reset(&cr->val[k]);
	cr->nfields = 0;
	cr->row_nl = 0;
	cr->nonblank = cr->comment = 0;
}

static void
on_row(int c, void *ctx)
{
	struct csvread *cr = ctx;
	unsigned long line = cr->line - cr->row_nl;

	(void)c;
	if (!cr->failed && (cr->sql || (cr->nonblank && !cr->comment))) {
		if (!cr->have_header)
			take_header(cr, line);
		else
			take_row(cr, line);
	}
	row_reset(cr);
}

static int
parse_error(struct csvread *cr)
{
	int code = csv_error(&cr->parser);

	if (code == CSV_ETOOBIG || code == CSV_ENOMEM)
		return csv_fail(cr, cr->line, "field too long (unbalanced quote?)");
	return csv_fail(cr, cr->line, csv_strerror(code));
}

/* feed - hand DATA to libcsv one line at a time, so we know the line number */
static int
feed(struct csvread *cr, const char *data, size_t len)
{
	const char *nl;
	size_t seg;

	while (len > 0 && !cr->failed) {
		nl = memchr(data, '\n', len);
		seg = nl ? (size_t)(nl - data) + 1 : len;
		if (csv_parse(&cr->parser, data, seg, on_field, on_row, cr) != seg)
			return parse_error(cr);
		if (nl)
			cr->line++;
		data += seg;
		len -= seg;
	}
	return cr->failed ? -1 : 0;
}

static int
read_all(struct csvread *cr, FILE *f)
{
	char *chunk = xmalloc(READ_CHUNK);
	size_t n, skip;
	int first = 1, rc = 0;

	while (rc == 0 && (n = fread(chunk, 1, READ_CHUNK, f)) > 0) {
		skip = first && n >= 3 && memcmp(chunk, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
		first = 0;
		rc = feed(cr, chunk + skip, n - skip);
	}
	free(chunk);
	if (rc == 0 && ferror(f)) {
		err_set(cr->err, cr->errlen, "%s: read error: %s", cr->name, strerror(errno));
		return -1;
	}
	return rc != 0 || cr->failed ? -1 : 0;
}

/* no_header - "no header line (prefix,account,email)": the required columns */
static int
no_header(struct csvread *cr)
{
	struct buf b = BUF_INIT;
	size_t k;

	buf_puts(&b, "no header line (");
	for (k = 0; k < cr->cols->nrequired; k++)
		buf_printf(&b, "%s%s", k ? "," : "", cr->cols->names[k]);
	buf_puts(&b, ")");
	csv_fail(cr, cr->line, buf_cstr(&b));
	buf_free(&b);
	return -1;
}

/* csvread_begin - CR ready for the first byte; SQL: the rows of a query (see struct csvread) */
static void
csvread_begin(struct csvread *cr, const char *name, int sql, const struct table_cols *cols, table_row_fn fn,
    void *ctx, char *err, size_t errlen)
{
	memset(cr, 0, sizeof(*cr));
	cr->cols = cols;
	cr->fn = fn;
	cr->ctx = ctx;
	cr->name = name;
	cr->sql = sql;
	cr->err = err;
	cr->errlen = errlen;
	cr->line = 1;
	if (csv_init(&cr->parser, 0) != 0)
		abort();	/* only fails on bad options */
	csv_set_realloc_func(&cr->parser, capped_realloc);
}

/* csvread_end - the last record and the header check, then free CR; RC is the reading's so far */
static int
csvread_end(struct csvread *cr, int rc)
{
	size_t i, k;

	if (rc == 0 && !cr->failed && csv_fini(&cr->parser, on_field, on_row, cr) != 0)
		rc = parse_error(cr);
	if (rc == 0 && cr->failed)
		rc = -1;
	if (rc == 0 && !cr->have_header)
		rc = no_header(cr);
	csv_free(&cr->parser);
	for (i = 0; i < cr->nhdr; i++)
		free(cr->hdr[i]);
	free(cr->hdr);
	for (k = 0; k < TABLE_MAXCOLS; k++)
		buf_free(&cr->val[k]);
	return rc;
}

int
table_read_csv(FILE *f, const char *name, const struct table_cols *cols, table_row_fn fn, void *ctx,
    char *err, size_t errlen)
{
	struct csvread cr;

	csvread_begin(&cr, name, 0, cols, fn, ctx, err, errlen);
	return csvread_end(&cr, read_all(&cr, f));
}

static int
read_csv_file(const char *path, const struct table_cols *cols, table_row_fn fn, void *ctx, char *err,
    size_t errlen)
{
	FILE *f;
	int rc;

	if ((f = fopen(path, "rb")) == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = table_read_csv(f, path, cols, fn, ctx, err, errlen);
	fclose(f);
	return rc;
}

/* ---- SQL ---- */

/* sql_row - hand one result row over; GET(res, i) is column I's text or NULL */
static int
sql_row(const char *label, unsigned long row, const struct table_cols *cols, const long *at,
    const char *(*get)(void *, int), void *res, table_row_fn fn, void *ctx, char *err, size_t errlen)
{
	const char *vals[TABLE_MAXCOLS], *v;
	char msg[512];
	size_t k;

	for (k = 0; k < cols->n; k++) {
		v = at[k] < 0 ? NULL : get(res, (int)at[k]);
		vals[k] = at[k] < 0 ? NULL : v ? v : "";
	}
	msg[0] = '\0';
	if (fn(ctx, vals, msg, sizeof(msg)) != 0) {
		err_set(err, errlen, "%s: row %lu: %s", label, row, msg);
		return -1;
	}
	return 0;
}

static const char *
sqlite_get(void *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

static int
sqlite_columns(sqlite3_stmt *st, const char *label, const struct table_cols *cols, long *at, char *err,
    size_t errlen)
{
	int i, n = sqlite3_column_count(st), rc;
	char **names = xcalloc((size_t)n + 1, sizeof(char *)), msg[256];

	for (i = 0; i < n; i++)
		names[i] = xstrdup(sqlite3_column_name(st, i) ? sqlite3_column_name(st, i) : "");
	rc = cols_find(cols, names, (size_t)n, at, msg, sizeof(msg));
	if (rc != 0)
		err_set(err, errlen, "%s: %s", label, msg);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int
read_sqlite(const struct table_source *src, const char *label, const struct table_cols *cols, table_row_fn fn,
    void *ctx, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long at[TABLE_MAXCOLS];
	unsigned long row = 0;
	int rc = -1, step;

	if (sqlite3_open_v2(src->source + 7, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		err_set(err, errlen, "%s: %s", label, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, (int)(src->timeout ? src->timeout : 60) * 1000);
	if (sqlite3_prepare_v2(db, src->query, -1, &st, NULL) != SQLITE_OK) {
		err_set(err, errlen, "%s: %s", label, sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite_columns(st, label, cols, at, err, errlen) != 0)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (sql_row(label, ++row, cols, at, sqlite_get, st, fn, ctx, err, errlen) != 0)
			goto out;
	if (step != SQLITE_DONE) {
		err_set(err, errlen, "%s: %s", label, sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* pg_error - libpq's message on one line */
static void
pg_error(const char *label, PGconn *c, const PGresult *res, char *err, size_t errlen)
{
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	char line[400];
	size_t len;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(c);
	snprintf(line, sizeof(line), "%s", msg && *msg ? msg : "unknown error");
	for (len = strlen(line); len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '); len--)
		line[len - 1] = '\0';
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	err_set(err, errlen, "%s: %s", label, line);
}

/* the server's NOTICEs are not ours to print */
static void
pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *
pg_connect(const struct table_source *src, const char *label, char *err, size_t errlen)
{
	const char *keys[] = { "dbname", "connect_timeout", NULL };
	char timeout[24], sql[64];
	const char *vals[3];
	PGconn *c;
	PGresult *res;

	snprintf(timeout, sizeof(timeout), "%u", src->timeout ? src->timeout : 60);
	vals[0] = src->source;
	vals[1] = timeout;
	vals[2] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		pg_error(label, c, NULL, err, errlen);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pg_quiet, NULL);
	snprintf(sql, sizeof(sql), "SET statement_timeout = %lu", (unsigned long)(src->timeout ? src->timeout : 60) * 1000);
	res = PQexec(c, sql);
	PQclear(res);
	/* times (valid_from, valid_until) as "2026-06-01 12:00:00+00", whatever the server's defaults */
	res = PQexec(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'");
	PQclear(res);
	return c;
}

/* pg_command - SQL that returns no rows; 0, or -1 with ERR */
static int
pg_command(PGconn *c, const char *label, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		pg_error(label, c, res, err, errlen);
	PQclear(res);
	return ok ? 0 : -1;
}

/* copy_sql - "COPY (QUERY) TO STDOUT ..." for the query as written (a trailing ';' dropped) */
static char *
copy_sql(const char *query)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(query);

	while (len > 0 && strchr(" \t\r\n;", query[len - 1]) != NULL)
		len--;
	buf_puts(&b, "COPY (");
	buf_append(&b, query, len);
	buf_puts(&b, "\n) TO STDOUT WITH (FORMAT csv, HEADER)");
	return buf_steal(&b);
}

/* pg_copy - the COPY's rows into CR as they arrive; 0, or -1 with ERR */
static int
pg_copy(PGconn *c, const char *label, const char *query, struct csvread *cr, char *err, size_t errlen)
{
	char *sql = copy_sql(query), *data;
	PGresult *res = PQexec(c, sql);
	int n, rc = 0;

	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		pg_error(label, c, res, err, errlen);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	/* a row a message; a failed row still drains the rest, so the connection ends clean */
	while ((n = PQgetCopyData(c, &data, 0)) > 0) {
		if (rc == 0)
			rc = feed(cr, data, (size_t)n);
		PQfreemem(data);
	}
	res = PQgetResult(c);
	if (n == -2 || PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (rc == 0)
			pg_error(label, c, res, err, errlen);
		rc = -1;
	}
	PQclear(res);
	while ((res = PQgetResult(c)) != NULL)
		PQclear(res);
	return rc;
}

/*
 * read_pg - the query's rows as the server's COPY streams them in CSV with
 * a header line, parsed by the same reader as a CSV file: the server writes
 * while we build the map (a cursor's FETCH of 10,000 rows at a time left one
 * side idle while the other worked, and libpq's per-row values cost more).
 */
static int
read_pg(const struct table_source *src, const char *label, const struct table_cols *cols, table_row_fn fn,
    void *ctx, char *err, size_t errlen)
{
	struct csvread cr;
	PGconn *c;
	int rc;

	if ((c = pg_connect(src, label, err, errlen)) == NULL)
		return -1;
	csvread_begin(&cr, label, 1, cols, fn, ctx, err, errlen);
	rc = pg_command(c, label, "BEGIN READ ONLY", err, errlen);
	if (rc == 0)
		rc = pg_copy(c, label, src->query, &cr, err, errlen);
	rc = csvread_end(&cr, rc);
	PQfinish(c);	/* the read-only transaction ends with the connection */
	return rc;
}

/* ---- a command ---- */

struct child {
	char *argv[MAXARGS + 1];
	char *words;		/* the command line, cut into argv */
	uid_t uid;
	gid_t gid;
	int setid;		/* become uid/gid before exec */
};

/* split_command - "exec:/PATH ARGS" into argv; the program must be an absolute path */
static int
split_command(const char *spec, struct child *ch, const char *label, char *err, size_t errlen)
{
	char *save = NULL, *w;
	size_t n = 0;

	ch->words = xstrdup(spec + 5);
	for (w = strtok_r(ch->words, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == MAXARGS) {
			err_set(err, errlen, "%s: more than %d arguments", label, MAXARGS);
			return -1;
		}
		ch->argv[n++] = w;
	}
	ch->argv[n] = NULL;
	if (n == 0 || ch->argv[0][0] != '/') {
		err_set(err, errlen, "%s: the command must be an absolute path", label);
		return -1;
	}
	return 0;
}

/* child_user - USER[:GROUP] resolved now: after fork only async-signal-safe calls are made */
static int
child_user(const char *spec, struct child *ch, const char *label, char *err, size_t errlen)
{
	char *copy, *group;
	struct passwd *pw;
	struct group *gr;
	int rc = 0;

	if (spec == NULL || *spec == '\0' || geteuid() != 0)
		return 0;
	copy = xstrdup(spec);
	if ((group = strchr(copy, ':')) != NULL)
		*group++ = '\0';
	if ((pw = getpwnam(copy)) == NULL) {
		err_set(err, errlen, "%s: no user \"%s\" to run as", label, copy);
		rc = -1;
	} else {
		ch->uid = pw->pw_uid;
		ch->gid = pw->pw_gid;
		ch->setid = 1;
		if (group && (gr = getgrnam(group)) == NULL) {
			err_set(err, errlen, "%s: no group \"%s\"", label, group);
			rc = -1;
		} else if (group)
			ch->gid = gr->gr_gid;
	}
	free(copy);
	return rc;
}

/* child_exec - in the child: stdout and stderr to the pipes, no other descriptor, UserID, exec */
static void
child_exec(const struct child *ch, int out, int errfd)
{
	int devnull = open("/dev/null", O_RDONLY);

	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	setpgid(0, 0);		/* its own group: a timeout kills what it started too */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	if (ch->setid && (setgroups(1, &ch->gid) != 0 || setgid(ch->gid) != 0 || setuid(ch->uid) != 0))
		_exit(126);
	execv(ch->argv[0], ch->argv);
	{
		static const char msg[] = "cannot execute the command\n";
		ssize_t w = write(2, msg, sizeof(msg) - 1);

		(void)w;
	}
	_exit(127);
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* drain - read both pipes until both close or the deadline; 0, 1 timed out, -1 too much output */
static int
drain(int out, int errfd, struct buf *stdout_buf, struct buf *stderr_buf, unsigned timeout)
{
	struct pollfd p[2] = { { out, POLLIN, 0 }, { errfd, POLLIN, 0 } };
	struct timespec deadline;
	char chunk[READ_CHUNK];
	long left;
	ssize_t n;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout;
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if ((left = ms_left(&deadline)) <= 0)
			return 1;
		if (poll(p, 2, (int)(left > 60000 ? 60000 : left)) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			if ((n = read(p[i].fd, chunk, sizeof(chunk))) <= 0) {
				if (n == 0 || (errno != EINTR && errno != EAGAIN))
					p[i].fd = -1;
				continue;
			}
			if (i == 1 && stderr_buf->len < STDERR_KEEP)
				buf_append(stderr_buf, chunk, (size_t)n);
			if (i == 0)
				buf_append(stdout_buf, chunk, (size_t)n);
			if (stdout_buf->len > OUTPUT_MAX)
				return -1;
		}
	}
	return 0;
}

/* last_line - the last non-empty line of a command's stderr, cleaned for a log line */
static const char *
last_line(struct buf *b, char *out, size_t outlen)
{
	char *s = (char *)buf_cstr(b), *end = s + strlen(s), *start;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(s, '\n');
	start = start ? start + 1 : s;
	return log_quote(start, strlen(start), out, outlen);
}

/* reap - the child's end: 0 for exit status 0, else -1 with ERR */
static int
reap(pid_t pid, int drained, struct buf *errb, const char *label, unsigned timeout, char *err, size_t errlen)
{
	char why[STDERR_KEEP + 8];
	int status;

	if (drained != 0)
		kill(-pid, SIGKILL), kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			err_set(err, errlen, "%s: waitpid: %s", label, strerror(errno));
			return -1;
		}
	last_line(errb, why, sizeof(why));
	if (drained > 0)
		err_set(err, errlen, "%s: no answer within %u s, killed", label, timeout);
	else if (drained < 0)
		err_set(err, errlen, "%s: printed more than %lu bytes, killed", label, OUTPUT_MAX);
	else if (WIFSIGNALED(status))
		err_set(err, errlen, "%s: killed by signal %d%s%s", label, WTERMSIG(status), *why ? ": " : "", why);
	else if (WEXITSTATUS(status) != 0)
		err_set(err, errlen, "%s: exit status %d%s%s", label, WEXITSTATUS(status), *why ? ": " : "", why);
	else
		return 0;
	return -1;
}

/* run_command - the command's stdout in OUT; -1 with ERR if it failed */
static int
run_command(const struct table_source *src, const char *label, struct buf *out, char *err, size_t errlen)
{
	struct child ch;
	struct buf errb = BUF_INIT;
	unsigned timeout = src->timeout ? src->timeout : 60;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, rc = -1, drained;
	pid_t pid;

	memset(&ch, 0, sizeof(ch));
	if (split_command(src->source, &ch, label, err, errlen) != 0 ||
	    child_user(src->user, &ch, label, err, errlen) != 0)
		goto out;
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		err_set(err, errlen, "%s: %s", label, strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(&ch, po[1], pe[1]);
	setpgid(pid, pid);	/* as the child does: no race with a kill of the group */
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	drained = drain(po[0], pe[0], out, &errb, timeout);
	rc = reap(pid, drained, &errb, label, timeout, err, errlen);
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	buf_free(&errb);
	free(ch.words);
	return rc;
}

static int
read_exec(const struct table_source *src, const char *label, const struct table_cols *cols, table_row_fn fn,
    void *ctx, char *err, size_t errlen)
{
	struct buf out = BUF_INIT;
	FILE *f;
	int rc = -1;

	if (run_command(src, label, &out, err, errlen) != 0)
		goto done;
	if (out.len == 0) {
		err_set(err, errlen, "%s: printed nothing", label);
		goto done;
	}
	if ((f = fmemopen(out.data, out.len, "rb")) == NULL) {
		err_set(err, errlen, "%s: %s", label, strerror(errno));
		goto done;
	}
	rc = table_read_csv(f, label, cols, fn, ctx, err, errlen);
	fclose(f);
done:
	buf_free(&out);
	return rc;
}

int
table_read(const struct table_source *src, const struct table_cols *cols, table_row_fn fn, void *ctx,
    char *err, size_t errlen)
{
	enum table_kind kind = table_kind(src->source);
	char *label = table_label(src->source);
	int rc;

	if ((kind == TABLE_SQLITE || kind == TABLE_PG) && (src->query == NULL || *src->query == '\0')) {
		err_set(err, errlen, "%s: an SQL source needs a query", label);
		rc = -1;
	} else if (kind == TABLE_SQLITE)
		rc = read_sqlite(src, label, cols, fn, ctx, err, errlen);
	else if (kind == TABLE_PG)
		rc = read_pg(src, label, cols, fn, ctx, err, errlen);
	else if (kind == TABLE_EXEC)
		rc = read_exec(src, label, cols, fn, ctx, err, errlen);
	else
		rc = read_csv_file(src->source, cols, fn, ctx, err, errlen);
	free(label);
	return rc;
}
