/*
 * csvreport - ShadowServer CSV files, streamed through libcsv
 *
 * libcsv calls us once per field and once per record end; we collect the
 * fields of one record, then either take them as the header or hand them to
 * the caller. Nothing beyond one record is kept, and a record is held only
 * up to the column limit and CSVREPORT_MAX_RECORD bytes.
 */
#include "report/csvreport.h"
#include "base/util.h"

#include <csv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct csvreport {
	struct csv_parser parser;
	csvreport_row_fn fn;
	void *ctx;
	char **names;		/* header */
	size_t ncols;
	char **fields;		/* current record, grown as needed */
	size_t nfields, fields_cap;
	char **aligned;		/* values aligned to the header */
	unsigned long records;
	int stopped;
	size_t max_columns;	/* fields a record may have */
	size_t record_bytes;	/* what the current record holds */
	int over;		/* CSVREPORT_TOO_WIDE, CSVREPORT_TOO_LONG, or 0 */
	char head[3];		/* the first bytes, held back until we know if they are a BOM */
	size_t nhead;
	int past_head;
};

/* libcsv grows its field buffer through this; refusing makes csv_parse fail */
static void *
capped_realloc(void *ptr, size_t size)
{
	if (size > CSVREPORT_MAX_FIELD + 64)
		return NULL;
	return realloc(ptr, size);
}

struct csvreport *
csvreport_new(csvreport_row_fn fn, void *ctx)
{
	struct csvreport *r = xcalloc(1, sizeof(*r));

	if (csv_init(&r->parser, CSV_APPEND_NULL) != 0)
		abort();
	csv_set_realloc_func(&r->parser, capped_realloc);
	r->fn = fn;
	r->ctx = ctx;
	r->max_columns = SIZE_MAX;
	return r;
}

void
csvreport_set_max_columns(struct csvreport *r, size_t n)
{
	r->max_columns = n;
}

int
csvreport_over_limit(const struct csvreport *r)
{
	return r->over;
}

static void
free_fields(struct csvreport *r)
{
	size_t i;

	for (i = 0; i < r->nfields; i++)
		free(r->fields[i]);
	r->nfields = 0;
	r->record_bytes = 0;
}

void
csvreport_free(struct csvreport *r)
{
	size_t i;

	if (r == NULL)
		return;
	csv_free(&r->parser);
	free_fields(r);
	free(r->fields);
	for (i = 0; i < r->ncols; i++)
		free(r->names[i]);
	free(r->names);
	free(r->aligned);
	free(r);
}

static void
on_field(void *s, size_t len, void *data)
{
	struct csvreport *r = data;

	if (r->over)
		return;
	if (r->nfields >= r->max_columns) {
		r->over = CSVREPORT_TOO_WIDE;
		return;
	}
	if ((r->record_bytes += len + 1 + 2 * sizeof(char *)) > CSVREPORT_MAX_RECORD) {
		r->over = CSVREPORT_TOO_LONG;
		return;
	}
	if (r->nfields == r->fields_cap) {
		r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 32;
		r->fields = xreallocarray(r->fields, r->fields_cap, sizeof(char *));
	}
	r->fields[r->nfields++] = xstrndup(s ? s : "", s ? len : 0);
}

/* header names: lowercase, trimmed */
static void
take_header(struct csvreport *r)
{
	size_t i;
	char *p;

	r->names = r->fields;
	r->ncols = r->nfields;
	r->fields = NULL;
	r->nfields = r->fields_cap = 0;
	for (i = 0; i < r->ncols; i++) {
		p = r->names[i];
		memmove(p, ascii_trim(p), strlen(ascii_trim(p)) + 1);
		for (; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
	}
	r->aligned = xcalloc(r->ncols ? r->ncols : 1, sizeof(char *));
}

static int
record_is_blank(const struct csvreport *r)
{
	return r->nfields == 0 || (r->nfields == 1 && r->fields[0][0] == '\0');
}

static void
on_record(int c, void *data)
{
	struct csvreport *r = data;
	struct csvreport_row row;
	size_t i;

	(void)c;
	if (r->stopped || r->over || record_is_blank(r)) {
		free_fields(r);
		return;
	}
	if (r->names == NULL) {
		take_header(r);
		return;
	}
	for (i = 0; i < r->ncols; i++)
		r->aligned[i] = i < r->nfields ? r->fields[i] : "";
	row.ncols = r->ncols;
	row.names = r->names;
	row.values = r->aligned;
	row.record = ++r->records;
	row.nfields = r->nfields;
	if (r->fn(r->ctx, &row) != 0)
		r->stopped = 1;
	free_fields(r);
}

static int
parse_error(struct csvreport *r, char *err, size_t errlen)
{
	int code = csv_error(&r->parser);

	if (code == CSV_ETOOBIG || code == CSV_ENOMEM)
		err_set(err, errlen, "CSV field longer than %u bytes after record %lu",
		    CSVREPORT_MAX_FIELD, r->records);
	else
		err_set(err, errlen, "CSV error after record %lu: %s", r->records, csv_strerror(code));
	return -1;
}

static int
limit_error(struct csvreport *r, char *err, size_t errlen)
{
	if (r->over == CSVREPORT_TOO_WIDE)
		err_set(err, errlen, "CSV record %lu has more than %zu columns", r->records + 1, r->max_columns);
	else
		err_set(err, errlen, "CSV record %lu is longer than %u bytes", r->records + 1, CSVREPORT_MAX_RECORD);
	return -1;
}

static int
parse(struct csvreport *r, const char *data, size_t len, char *err, size_t errlen)
{
	if (r->over)
		return limit_error(r, err, errlen);
	if (csv_parse(&r->parser, data, len, on_field, on_record, r) != len)
		return parse_error(r, err, errlen);
	return r->over ? limit_error(r, err, errlen) : 0;
}

/* skip_bom - a UTF-8 BOM must go before libcsv sees it, or a quoted first
 * header name would not be recognised as quoted */
static int
skip_bom(struct csvreport *r, const char **data, size_t *len, char *err, size_t errlen)
{
	while (!r->past_head && *len > 0) {
		r->head[r->nhead++] = **data;
		(*data)++;
		(*len)--;
		if (memcmp(r->head, "\xEF\xBB\xBF", r->nhead) != 0) {
			r->past_head = 1;
			return parse(r, r->head, r->nhead, err, errlen);
		}
		if (r->nhead == 3)
			r->past_head = 1;	/* a whole BOM: dropped */
	}
	return 0;
}

int
csvreport_feed(struct csvreport *r, const char *data, size_t len, char *err, size_t errlen)
{
	if (r->stopped)
		return 0;
	if (skip_bom(r, &data, &len, err, errlen) != 0)
		return -1;
	return parse(r, data, len, err, errlen);
}

int
csvreport_finish(struct csvreport *r, char *err, size_t errlen)
{
	if (!r->past_head && r->nhead > 0 && memcmp(r->head, "\xEF\xBB\xBF", r->nhead) != 0 &&
	    parse(r, r->head, r->nhead, err, errlen) != 0)
		return -1;
	if (!r->over && csv_fini(&r->parser, on_field, on_record, r) != 0)
		return parse_error(r, err, errlen);
	return r->over ? limit_error(r, err, errlen) : 0;
}

int
csvreport_column(const struct csvreport *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->ncols; i++)
		if (strcmp(r->names[i], name) == 0)
			return (int)i;
	return -1;
}

int
csvreport_has_header(const struct csvreport *r)
{
	return r->names != NULL;
}
