/*
 * test_csvreport - CSV records aligned to the header, whatever the layout
 */
#include "test.h"

#include "report/csvreport.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

struct collected {
	struct buf text;	/* "name=value|...;" per record */
	unsigned long records;
	int stop_after;
};

static int
collect(void *ctx, const struct csvreport_row *row)
{
	struct collected *c = ctx;
	size_t i;

	c->records++;
	for (i = 0; i < row->ncols; i++)
		buf_printf(&c->text, "%s=%s|", row->names[i], row->values[i]);
	buf_puts(&c->text, ";");
	return c->stop_after && c->records >= (unsigned long)c->stop_after;
}

static char *
parse(const char *csv, size_t chunk, unsigned long *records)
{
	struct collected c = { BUF_INIT, 0, 0 };
	struct csvreport *r = csvreport_new(collect, &c);
	char err[256];
	size_t len = strlen(csv), off;

	if (chunk == 0)
		chunk = len;
	for (off = 0; off < len; off += chunk)
		CHECK(csvreport_feed(r, csv + off, len - off < chunk ? len - off : chunk, err, sizeof(err)) == 0);
	CHECK(csvreport_finish(r, err, sizeof(err)) == 0);
	csvreport_free(r);
	if (records)
		*records = c.records;
	return buf_steal(&c.text);
}

TEST(csvreport, columns_are_found_by_name_not_position)
{
	char *a = parse("ip,timestamp\n192.0.2.1,2026-01-01 00:00:00\n", 0, NULL);
	char *b = parse("timestamp,ip\n2026-01-01 00:00:00,192.0.2.1\n", 0, NULL);

	CHECK_STR(a, "ip=192.0.2.1|timestamp=2026-01-01 00:00:00|;");
	CHECK_STR(b, "timestamp=2026-01-01 00:00:00|ip=192.0.2.1|;");
	free(a);
	free(b);
}

TEST(csvreport, bom_crlf_and_header_case_are_normalised)
{
	char *s = parse("\xEF\xBB\xBF\"IP\", Timestamp \r\n192.0.2.1,x\r\n", 0, NULL);

	CHECK_STR(s, "ip=192.0.2.1|timestamp=x|;");
	free(s);
}

TEST(csvreport, quoted_fields_hold_commas_quotes_and_newlines)
{
	char *s = parse("ip,note\n192.0.2.1,\"a, \"\"b\"\"\nc\"\n", 0, NULL);

	CHECK_STR(s, "ip=192.0.2.1|note=a, \"b\"\nc|;");
	free(s);
}

TEST(csvreport, short_rows_get_empty_values_and_long_rows_are_cut)
{
	unsigned long n;
	char *s = parse("a,b,c\n1\n1,2,3,4,5\n", 0, &n);

	CHECK_INT(n, 2);
	CHECK_STR(s, "a=1|b=|c=|;a=1|b=2|c=3|;");
	free(s);
}

TEST(csvreport, blank_lines_are_ignored_and_last_line_needs_no_newline)
{
	unsigned long n;
	char *s = parse("a\n\n1\n\n2", 0, &n);

	CHECK_INT(n, 2);
	CHECK_STR(s, "a=1|;a=2|;");
	free(s);
}

TEST(csvreport, byte_at_a_time_equals_whole)
{
	const char *csv = "\xEF\xBB\xBFip,\"q\"\r\n1,\"x\r\ny,\"\"z\"\"\"\r\n2,3\r\n";
	char *a = parse(csv, 0, NULL), *b = parse(csv, 1, NULL);

	CHECK_STR(b, a);
	free(a);
	free(b);
}

TEST(csvreport, runaway_quoted_field_is_an_error_not_unbounded_memory)
{
	struct collected c = { BUF_INIT, 0, 0 };
	struct csvreport *r = csvreport_new(collect, &c);
	char chunk[65536], err[256];
	int i, failed = 0;

	memset(chunk, 'x', sizeof(chunk));
	CHECK(csvreport_feed(r, "ip\n\"", 4, err, sizeof(err)) == 0);
	for (i = 0; i < 64 && !failed; i++)	/* 4 MiB inside one open quote */
		failed = csvreport_feed(r, chunk, sizeof(chunk), err, sizeof(err)) != 0;
	CHECK(failed);
	CHECK(strstr(err, "longer than") != NULL);
	csvreport_free(r);
	buf_free(&c.text);
}

TEST(csvreport, callback_can_stop_the_parse)
{
	struct collected c = { BUF_INIT, 0, 1 };
	struct csvreport *r = csvreport_new(collect, &c);
	char err[256];

	CHECK(csvreport_feed(r, "a\n1\n2\n3\n", 8, err, sizeof(err)) == 0);
	CHECK(csvreport_finish(r, err, sizeof(err)) == 0);
	CHECK_INT(c.records, 1);
	csvreport_free(r);
	buf_free(&c.text);
}
