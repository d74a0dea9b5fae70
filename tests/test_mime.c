/*
 * test_mime - the streaming MIME parser: headers, multiparts, decoders,
 * chunking, caps, and the header field helpers (RFC 2231, RFC 2047).
 */
#include "test.h"
#include "testmail.h"

#include "report/mime.h"
#include "base/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- a recorder of callbacks --------------------------------------------- */

#define MAX_PARTS 64

struct rpart {
	int depth;
	char *type, *charset, *filename, *encoding;
	struct buf data;
	int ended;
};

struct rec {
	struct buf log;		/* every event; data bytes inline, so chunking can't show */
	struct buf headers;	/* "name=value\n" per top-level header */
	int headers_done;
	int nparts;
	struct rpart parts[MAX_PARTS];
	int refuse;		/* part_begin returns 0 for parts whose index is this - 1 */
	struct mime_stats stats;
	size_t line_peak;
};

static void
on_header(void *ctx, const char *name, const char *value)
{
	struct rec *r = ctx;

	buf_printf(&r->log, "H[%s][%s]\n", name, value);
	buf_printf(&r->headers, "%s=%s\n", name, value);
}

static void
on_headers_done(void *ctx)
{
	struct rec *r = ctx;

	buf_puts(&r->log, "HD\n");
	r->headers_done++;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int
on_part_begin(void *ctx, const struct mime_part *part)
{
	struct rec *r = ctx;
	struct rpart *rp;

	buf_printf(&r->log, "B[%d][%s][%s][%s][%s]\n", part->depth, part->content_type,
	    part->charset ? part->charset : "-", part->filename ? part->filename : "-",
	    part->encoding);
	if (r->nparts >= MAX_PARTS)
		return 0;
	rp = &r->parts[r->nparts++];
	rp->depth = part->depth;
	rp->type = dup_or_null(part->content_type);
	rp->charset = dup_or_null(part->charset);
	rp->filename = dup_or_null(part->filename);
	rp->encoding = dup_or_null(part->encoding);
	return r->refuse != r->nparts;
}

static void
on_part_data(void *ctx, const char *data, size_t len)
{
	struct rec *r = ctx;

	buf_append(&r->log, data, len);
	buf_append(&r->parts[r->nparts - 1].data, data, len);
}

static void
on_part_end(void *ctx)
{
	struct rec *r = ctx;

	buf_puts(&r->log, "\nE\n");
	r->parts[r->nparts - 1].ended = 1;
}

static const struct mime_callbacks rec_cb = {
	on_header, on_headers_done, on_part_begin, on_part_data, on_part_end,
};

static void
rec_free(struct rec *r)
{
	int i;

	for (i = 0; i < r->nparts; i++) {
		free(r->parts[i].type);
		free(r->parts[i].charset);
		free(r->parts[i].filename);
		free(r->parts[i].encoding);
		buf_free(&r->parts[i].data);
	}
	buf_free(&r->log);
	buf_free(&r->headers);
	memset(r, 0, sizeof(*r));
}

/* a small deterministic generator for chunk sizes */
static uint32_t
lcg(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 16;
}

#define CHUNK_RANDOM	((size_t)-1)

/* parse - MSG through a fresh parser in CHUNK-sized pieces (0: whole, CHUNK_RANDOM: 1..MAXRAND) */
static void
parse(struct rec *r, const char *msg, size_t len, size_t chunk, uint32_t seed)
{
	struct mime_parser *p = mime_parser_new(&rec_cb, r);
	size_t off = 0, n;

	while (off < len) {
		if (chunk == CHUNK_RANDOM)
			n = 1 + lcg(&seed) % (seed & 0x100 ? 7 : 300);
		else
			n = chunk ? chunk : len;
		if (n > len - off)
			n = len - off;
		mime_parser_feed(p, msg + off, n);
		off += n;
	}
	mime_parser_finish(p);
	r->stats = *mime_parser_stats(p);
	r->line_peak = mime_parser_line_peak(p);
	mime_parser_free(p);
}

static void
parse_str(struct rec *r, const char *msg, size_t chunk)
{
	parse(r, msg, strlen(msg), chunk, 1);
}

/* to_lf - MSG with every CRLF as LF (caller frees) */
static char *
to_lf(const char *msg)
{
	struct buf b = BUF_INIT;

	for (; *msg; msg++)
		if (!(msg[0] == '\r' && msg[1] == '\n'))
			buf_putc(&b, *msg);
	return buf_steal(&b);
}

static int
data_is(const struct rpart *rp, const void *want, size_t len)
{
	return rp->data.len == len && (len == 0 || memcmp(rp->data.data, want, len) == 0);
}

static int
data_str(const struct rpart *rp, const char *want)
{
	return data_is(rp, want, strlen(want));
}

/* a message of one part, and what its part must say (a NULL field is not checked) */
struct one_part {
	const char *msg, *type, *encoding, *filename, *data;
};

static void
check_one_part(const struct one_part *c)
{
	struct rec r = { 0 };

	parse_str(&r, c->msg, 0);
	CHECK_INT(r.nparts, 1);
	if (r.nparts == 1) {
		if (c->type)
			CHECK_STR(r.parts[0].type, c->type);
		if (c->encoding)
			CHECK_STR(r.parts[0].encoding, c->encoding);
		if (c->filename)
			CHECK_STR(r.parts[0].filename, c->filename);
		if (c->data)
			CHECK_STR(buf_cstr(&r.parts[0].data), c->data);
	}
	rec_free(&r);
}

/* a header field, a parameter, and its value (NULL: the field has none) */
struct param_case {
	const char *field, *param, *want;
};

static void
check_params(const struct param_case *c, size_t n)
{
	size_t i;
	char *v;

	for (i = 0; i < n; i++) {
		v = mime_header_param(c[i].field, c[i].param);
		if (c[i].want)
			CHECK_STR(v, c[i].want);
		else
			CHECK(v == NULL);
		free(v);
	}
}

/* --- single parts and headers -------------------------------------------- */

TEST(mime, single_part_headers_are_unfolded_and_body_delivered)
{
	struct rec r = { 0 };

	parse_str(&r, "From: Reports <a@example.org>\r\n"
	    "Subject: hello\r\n"
	    "   world\r\n"
	    "X-Empty:\r\n"
	    "X-Folded:\r\n"
	    "\tcontinued  \r\n"
	    "\r\n"
	    "body line\r\nsecond line\r\n", 0);
	CHECK_STR(buf_cstr(&r.headers), "From=Reports <a@example.org>\nSubject=hello   world\n"
	    "X-Empty=\nX-Folded=continued\n");
	CHECK_INT(r.headers_done, 1);
	REQUIRE(r.nparts == 1);
	CHECK_INT(r.parts[0].depth, 0);
	CHECK_STR(r.parts[0].type, "text/plain");
	CHECK_STR(r.parts[0].encoding, "7bit");
	CHECK(r.parts[0].charset == NULL);
	CHECK(r.parts[0].filename == NULL);
	CHECK(data_str(&r.parts[0], "body line\r\nsecond line\r\n"));
	CHECK(r.parts[0].ended);
	CHECK_INT(r.stats.parts, 1);
	rec_free(&r);
}

TEST(mime, line_without_colon_in_headers_is_skipped)
{
	struct rec r = { 0 };

	parse_str(&r, "From: a@b\nthis is no header\n continuation of nothing\nTo: c@d\n\nx\n", 0);
	CHECK_STR(buf_cstr(&r.headers), "From=a@b\nTo=c@d\n");
	REQUIRE(r.nparts == 1);
	CHECK(data_str(&r.parts[0], "x\n"));
	rec_free(&r);
}

TEST(mime, header_value_with_bare_cr_stays_one_header)
{
	struct rec r = { 0 };

	parse_str(&r, "Subject: a\rInjected: b\r\nTo: c@d\r\n\r\n", 0);
	CHECK_STR(buf_cstr(&r.headers), "Subject=a\rInjected: b\nTo=c@d\n");
	CHECK(strstr(buf_cstr(&r.log), "H[Injected]") == NULL);
	rec_free(&r);
}

TEST(mime, message_without_blank_line_or_body_still_ends)
{
	struct rec r = { 0 }, r2 = { 0 };

	parse_str(&r, "Subject: only headers\r\nTo: x@y\r\n", 0);
	CHECK_STR(buf_cstr(&r.headers), "Subject=only headers\nTo=x@y\n");
	CHECK_INT(r.headers_done, 1);
	REQUIRE(r.nparts == 1);
	CHECK_INT(r.parts[0].data.len, 0);
	CHECK(r.parts[0].ended);

	parse_str(&r2, "Subject: no newline at all", 0);
	CHECK_STR(buf_cstr(&r2.headers), "Subject=no newline at all\n");
	CHECK_INT(r2.headers_done, 1);
	rec_free(&r);
	rec_free(&r2);
}

TEST(mime, empty_input_calls_headers_done_once)
{
	struct rec r = { 0 };

	parse_str(&r, "", 0);
	CHECK_INT(r.headers_done, 1);
	CHECK_INT(r.stats.truncated_parts, 0);
	rec_free(&r);
}

TEST(mime, header_count_and_size_caps_drop_the_excess)
{
	struct buf m = BUF_INIT;
	struct rec r = { 0 };
	char *big = xmalloc(70 * 1024 + 1);
	int i;

	memset(big, 'x', 70 * 1024);
	big[70 * 1024] = '\0';
	buf_printf(&m, "X-Big: %s\r\n", big);			/* longer than a line */
	buf_printf(&m, "X-Folded-Big: a\r\n %s\r\n", big);	/* longer once unfolded */
	for (i = 0; i < 1500; i++)
		buf_printf(&m, "X-N: %d\r\n", i);
	buf_puts(&m, "\r\nbody\r\n");
	parse_str(&r, buf_cstr(&m), 0);
	CHECK(strstr(buf_cstr(&r.headers), "X-Big") == NULL);
	CHECK(strstr(buf_cstr(&r.headers), "X-Folded-Big") == NULL);
	CHECK(strstr(buf_cstr(&r.headers), "X-N=997\n") != NULL);
	CHECK(strstr(buf_cstr(&r.headers), "X-N=998\n") == NULL);	/* 1000 headers: 2 big + 998 */
	CHECK_INT(r.stats.dropped_headers, 2 + 502);
	CHECK(r.line_peak <= MIME_LINE_MAX);
	REQUIRE(r.nparts == 1);
	CHECK(data_str(&r.parts[0], "body\r\n"));
	free(big);
	buf_free(&m);
	rec_free(&r);
}

/* --- multiparts ---------------------------------------------------------- */

static const unsigned char attachment_bytes[] = {
	'P', 'K', 3, 4, 0, 0xff, 0xfe, '\r', '\n', '-', '-', 'b', 0x80, 0, 1, 2, 3, 4, 5, 6, 7,
	'=', '=', 0x7f, 0xc3, 0x28, 'z',
};

/* attachment_message - multipart/mixed: text, base64 attachment; line ends EOL */
static char *
attachment_message(const char *eol)
{
	struct buf m = BUF_INIT;
	unsigned char big[300];
	char *enc_small = testmail_base64_eol(attachment_bytes, sizeof(attachment_bytes), "\r\n"), *enc_big;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);
	enc_big = testmail_base64_eol(big, sizeof(big), "\r\n");
	buf_printf(&m, "From: a@b\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"=_b1 x\"\r\n"
	    "MIME-Version: 1.0\r\n\r\n"
	    "This is the preamble.\r\n--=_b1 x\r\n"
	    "Content-Type: text/plain; charset=US-ASCII\r\n\r\n"
	    "Hello,\r\nthe report is attached.\r\n\r\n"
	    "--=_b1 x\r\n"
	    "Content-Type: application/zip; name=\"r.csv.zip\"\r\n"
	    "Content-Transfer-Encoding: BASE64\r\n"
	    "Content-Disposition: attachment; filename=\"report.csv.zip\"\r\n\r\n"
	    "%s\r\n"
	    "--=_b1 x\r\n"
	    "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "%s\r\n"
	    "--=_b1 x--  \r\n"
	    "epilogue\r\n", enc_small, enc_big);
	free(enc_small);
	free(enc_big);
	if (strcmp(eol, "\n") == 0) {
		char *lf = to_lf(buf_cstr(&m));

		buf_free(&m);
		return lf;
	}
	return buf_steal(&m);
}

TEST(mime, multipart_base64_attachment_decodes_exactly)
{
	struct rec r = { 0 };
	char *msg = attachment_message("\r\n");
	unsigned char big[300];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);
	parse_str(&r, msg, 0);
	CHECK_INT(r.headers_done, 1);
	REQUIRE(r.nparts == 3);
	CHECK_INT(r.parts[0].depth, 1);
	CHECK_STR(r.parts[0].type, "text/plain");
	CHECK_STR(r.parts[0].charset, "us-ascii");
	CHECK(data_str(&r.parts[0], "Hello,\r\nthe report is attached.\r\n"));
	CHECK_STR(r.parts[1].type, "application/zip");
	CHECK_STR(r.parts[1].filename, "report.csv.zip");
	CHECK_STR(r.parts[1].encoding, "base64");
	CHECK(data_is(&r.parts[1], attachment_bytes, sizeof(attachment_bytes)));
	CHECK(data_is(&r.parts[2], big, sizeof(big)));
	CHECK(r.parts[0].ended && r.parts[1].ended && r.parts[2].ended);
	CHECK_INT(r.stats.bad_base64, 0);
	CHECK_INT(r.stats.truncated_parts, 0);
	CHECK_INT(r.stats.parts, 3);
	free(msg);
	rec_free(&r);
}

TEST(mime, crlf_and_lf_messages_decode_the_same)
{
	struct rec a = { 0 }, b = { 0 };
	char *crlf = attachment_message("\r\n"), *lf = attachment_message("\n"), *text;
	int i;

	parse_str(&a, crlf, 0);
	parse_str(&b, lf, 0);
	REQUIRE(a.nparts == 3 && b.nparts == 3);
	text = to_lf(buf_cstr(&a.parts[0].data));
	CHECK_STR(buf_cstr(&b.parts[0].data), text);	/* text keeps its own line ends */
	for (i = 1; i < 3; i++) {
		CHECK_INT(a.parts[i].data.len, b.parts[i].data.len);
		CHECK(data_is(&b.parts[i], a.parts[i].data.data, a.parts[i].data.len));
		CHECK_STR(a.parts[i].filename ? a.parts[i].filename : "-",
		    b.parts[i].filename ? b.parts[i].filename : "-");
	}
	free(text);
	free(crlf);
	free(lf);
	rec_free(&a);
	rec_free(&b);
}

/* a message with something for every state: nesting, QP, base64, long line */
static char *
busy_message(void)
{
	struct buf m = BUF_INIT;
	char *enc = testmail_base64_eol(attachment_bytes, sizeof(attachment_bytes), "\r\n");
	size_t i;

	buf_printf(&m, "Subject: =?utf-8?q?caf=C3=A9?=\r\n  folded\r\n"
	    "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
	    "--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
	    "--inner\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "soft=\r\nbreak =3D =E2=82=AC=\nlf soft\r\nbad =ZZ = end=\r\n"
	    "--inner\r\nContent-Type: text/html\n\n<p>lf part</p>\n\n"
	    "--inner--\r\n"
	    "--outer\r\nContent-Type: application/octet-stream; name=x.bin\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
	    "--outer\r\nContent-Type: text/plain\r\n\r\n", enc);
	for (i = 0; i < 3 * MIME_LINE_MAX + 17; i++)
		buf_putc(&m, "abc\r"[i % 4]);
	buf_puts(&m, "\r\n--outer--\r\n");
	free(enc);
	return buf_steal(&m);
}

TEST(mime, chunking_does_not_change_callbacks_or_data)
{
	char *msg = busy_message();
	size_t len = strlen(msg);
	struct rec whole = { 0 }, r = { 0 };
	uint32_t seed;

	parse(&whole, msg, len, 0, 1);
	CHECK_INT(whole.nparts, 4);
	CHECK_INT(whole.stats.long_lines, 1);
	parse(&r, msg, len, 1, 1);
	CHECK_INT(r.log.len, whole.log.len);
	CHECK(r.log.len == whole.log.len && memcmp(r.log.data, whole.log.data, r.log.len) == 0);
	CHECK(memcmp(&r.stats, &whole.stats, sizeof(r.stats)) == 0);
	rec_free(&r);
	for (seed = 1; seed < 40; seed++) {
		parse(&r, msg, len, CHUNK_RANDOM, seed * 7919);
		CHECK(r.log.len == whole.log.len && memcmp(r.log.data, whole.log.data, r.log.len) == 0);
		CHECK(memcmp(&r.stats, &whole.stats, sizeof(r.stats)) == 0);
		rec_free(&r);
	}
	free(msg);
	rec_free(&whole);
}

TEST(mime, nested_multipart_reports_depths_in_order)
{
	char *msg = busy_message();
	struct rec r = { 0 };

	parse_str(&r, msg, 0);
	REQUIRE(r.nparts == 4);
	CHECK_INT(r.parts[0].depth, 2);
	CHECK_STR(r.parts[0].type, "text/plain");
	CHECK_STR(r.parts[0].encoding, "quoted-printable");
	CHECK_INT(r.parts[1].depth, 2);
	CHECK_STR(r.parts[1].type, "text/html");
	CHECK(data_str(&r.parts[1], "<p>lf part</p>\n"));
	CHECK_INT(r.parts[2].depth, 1);
	CHECK_STR(r.parts[2].filename, "x.bin");
	CHECK(data_is(&r.parts[2], attachment_bytes, sizeof(attachment_bytes)));
	CHECK_INT(r.parts[3].depth, 1);
	CHECK_INT(r.parts[3].data.len, 3 * MIME_LINE_MAX + 17);
	CHECK_INT(r.stats.truncated_parts, 0);
	free(msg);
	rec_free(&r);
}

TEST(mime, outer_boundary_closes_inner_multipart)
{
	struct rec r = { 0 };

	parse_str(&r, "Content-Type: multipart/mixed; boundary=a\n\n"
	    "--a\nContent-Type: multipart/related; boundary=ab\n\n"
	    "--ab\n\ninner text\n"
	    "--a\nContent-Type: text/csv\n\nlast\n--a--\n", 0);
	REQUIRE(r.nparts == 2);
	CHECK(data_str(&r.parts[0], "inner text"));
	CHECK(data_str(&r.parts[1], "last"));
	CHECK_INT(r.stats.truncated_parts, 1);
	rec_free(&r);
}

TEST(mime, crlf_before_boundary_belongs_to_the_boundary)
{
	struct rec r = { 0 };

	parse_str(&r, "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\n\r\nhello\r\n\r\n--b\r\n\r\nx\r\n--b\r\n\r\n--b--\r\n", 0);
	REQUIRE(r.nparts == 3);
	CHECK(data_str(&r.parts[0], "hello\r\n"));
	CHECK(data_str(&r.parts[1], "x"));
	CHECK_INT(r.parts[2].data.len, 0);
	rec_free(&r);
}

TEST(mime, missing_closing_boundary_counts_truncated)
{
	struct rec r = { 0 };

	parse_str(&r, "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\nREVG", 0);
	REQUIRE(r.nparts == 1);
	CHECK(data_str(&r.parts[0], "ABCDEF"));
	CHECK(r.parts[0].ended);
	CHECK_INT(r.stats.truncated_parts, 1);
	rec_free(&r);
}

TEST(mime, multipart_without_boundary_is_leaf_text)
{
	struct rec r = { 0 };

	parse_str(&r, "Content-Type: multipart/mixed\r\n\r\n--x\r\nbody\r\n", 0);
	REQUIRE(r.nparts == 1);
	CHECK_STR(r.parts[0].type, "text/plain");
	CHECK(data_str(&r.parts[0], "--x\r\nbody\r\n"));
	CHECK_INT(r.stats.truncated_parts, 0);
	rec_free(&r);
}

TEST(mime, boundary_not_at_line_start_is_data)
{
	struct rec r = { 0 };

	parse_str(&r, "Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
	    "--b1\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "QUJD--b1\r\n --b1\r\nREVG\r\n--b1x\r\n--b1\r\n\r\n"
	    "text --b1 inline\r\n --b1\r\n--b1--\r\n", 0);
	REQUIRE(r.nparts == 2);
	/* '-' is no base64; "b1b1" and "b1x" are */
	CHECK(data_is(&r.parts[0], "ABCoV\xf5" "DEFo\\", 11));
	CHECK_INT(r.stats.bad_base64, 6);
	CHECK(data_str(&r.parts[1], "text --b1 inline\r\n --b1"));
	CHECK_INT(r.stats.truncated_parts, 0);
	rec_free(&r);
}

TEST(mime, refused_part_gets_no_data_but_others_do)
{
	struct rec r = { 0 };

	r.refuse = 1;
	parse_str(&r, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\nnot wanted\n--b\n\nwanted\n--b--\n", 0);
	REQUIRE(r.nparts == 2);
	CHECK_INT(r.parts[0].data.len, 0);
	CHECK(!r.parts[0].ended);
	CHECK(data_str(&r.parts[1], "wanted"));
	rec_free(&r);
}

TEST(mime, nesting_beyond_the_cap_is_not_delivered)
{
	struct buf m = BUF_INIT;
	struct rec r = { 0 };
	int i;

	for (i = 0; i < 100; i++)
		buf_printf(&m, "Content-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n--d%d\r\n", i, i);
	buf_puts(&m, "\r\ndeep\r\n--d0\r\n\r\nshallow\r\n--d0--\r\n");
	parse_str(&r, buf_cstr(&m), 0);
	REQUIRE(r.nparts == 1);
	CHECK_INT(r.parts[0].depth, 1);
	CHECK(data_str(&r.parts[0], "shallow"));
	CHECK(r.stats.truncated_parts > 0);
	buf_free(&m);
	rec_free(&r);
}

TEST(mime, part_headers_cut_by_a_boundary_make_an_empty_part)
{
	struct rec r = { 0 };

	parse_str(&r, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/csv; name=a.csv\n--b\n\nok\n--b--\n", 0);
	REQUIRE(r.nparts == 2);
	CHECK_STR(r.parts[0].filename, "a.csv");
	CHECK_INT(r.parts[0].data.len, 0);
	CHECK(r.parts[0].ended);
	CHECK(data_str(&r.parts[1], "ok"));
	rec_free(&r);
}

TEST(mime, digest_parts_default_to_message_rfc822)
{
	check_one_part(&(struct one_part){
	    .msg = "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: x\n\ny\n--d--\n",
	    .type = "message/rfc822" });
}

/* --- decoders ------------------------------------------------------------ */

TEST(mime, quoted_printable_soft_breaks_survive_every_split)
{
	const char *msg = "Content-Transfer-Encoding: Quoted-Printable\r\n\r\n"
	    "line one is soft=\r\nly broken; equals =3D and euro =E2=82=ac\r\n"
	    "lf soft=\nbreak, spaced soft=  \r\nbreak, bad =ZZ, lone = end, =4\r\n"
	    "last=";
	const char *want = "line one is softly broken; equals = and euro \xe2\x82\xac\r\n"
	    "lf softbreak, spaced softbreak, bad =ZZ, lone = end, =4\r\nlast";
	size_t len = strlen(msg), cut;
	struct rec r = { 0 };

	for (cut = 0; cut <= len; cut++) {
		struct mime_parser *p = mime_parser_new(&rec_cb, &r);

		mime_parser_feed(p, msg, cut);
		mime_parser_feed(p, msg + cut, len - cut);
		mime_parser_finish(p);
		mime_parser_free(p);
		REQUIRE(r.nparts == 1);
		if (!data_is(&r.parts[0], want, strlen(want))) {
			fprintf(stderr, "    cut at %zu: \"%s\"\n", cut, buf_cstr(&r.parts[0].data));
			CHECK(0);
		}
		rec_free(&r);
	}
}

TEST(mime, bad_base64_is_counted_and_skipped)
{
	struct rec r = { 0 };

	parse_str(&r, "Content-Transfer-Encoding: base64\n\nQU*JD\n\x01\xff!REVG\nR0g=\nSUo\n", 0);
	REQUIRE(r.nparts == 1);
	CHECK(data_str(&r.parts[0], "ABCDEFGHIJ"));
	CHECK_INT(r.stats.bad_base64, 4);
	rec_free(&r);
}

TEST(mime, unknown_encoding_passes_through_raw)
{
	check_one_part(&(struct one_part){
	    .msg = "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n=41\n",
	    .encoding = "x-uuencode", .data = "begin 644 x\n=41\n" });
}

TEST(mime, ten_megabyte_line_is_delivered_with_bounded_memory)
{
	const size_t n = 10 * 1024 * 1024;
	const char *head = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n";
	const char *tail = "\r\n--b--\r\n";
	size_t hl = strlen(head), tl = strlen(tail), i;
	char *msg = xmalloc(hl + n + tl);
	struct rec r = { 0 };

	memcpy(msg, head, hl);
	for (i = 0; i < n; i++)
		msg[hl + i] = (char)('a' + i % 26);
	memcpy(msg + hl + n, tail, tl);
	parse(&r, msg, hl + n + tl, 65536, 1);
	REQUIRE(r.nparts == 1);
	CHECK(data_is(&r.parts[0], msg + hl, n));
	CHECK(r.parts[0].ended);
	CHECK_INT(r.stats.long_lines, 1);
	CHECK_INT(r.stats.truncated_parts, 0);
	CHECK(r.line_peak <= MIME_LINE_MAX);
	rec_free(&r);
	parse(&r, msg, hl + n + tl, 999983, 1);
	CHECK(data_is(&r.parts[0], msg + hl, n));
	CHECK(r.line_peak <= MIME_LINE_MAX);
	rec_free(&r);
	free(msg);
}

/* --- header fields ------------------------------------------------------- */

TEST(mime, header_token_is_lowercased_without_parameters)
{
	char *t = mime_header_token("  (comment) Multipart/Mixed (x); boundary=y");

	CHECK_STR(t, "multipart/mixed");
	free(t);
	t = mime_header_token("");
	CHECK_STR(t, "");
	free(t);
}

TEST(mime, header_param_handles_quotes_comments_and_case)
{
	static const struct param_case cases[] = {
		{ "attachment; (c; x) FileName = \"a \\\"q\\\" ;b.csv\" (trailing); size=3", "filename",
		  "a \"q\" ;b.csv" },
		{ "text/plain; charset=us-ascii (Plain text)", "charset", "us-ascii" },
		{ "attachment; filename=my report.csv", "filename", "my report.csv" },
		{ "attachment; filenames=x; name=y", "filename", NULL },
		{ "text/plain", "charset", NULL },
	};

	check_params(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(mime, rfc2231_continuations_decode_to_utf8)
{
	static const struct param_case cases[] = {
		{ "attachment;\r\n filename*0*=utf-8''%E2%82%AC%20rates;\r\n"
		  " filename*2=\".csv\"; filename*1*=%2D2015; filename=\"fallback.csv\"", "filename",
		  "\xe2\x82\xac rates-2015.csv" },
		{ "attachment; filename*=iso-8859-1'de'caf%E9.csv", "filename", "caf\xc3\xa9.csv" },
		/* not UTF-8: left as it was */
		{ "attachment; filename*=utf-8''%FF%FE.csv", "filename", "utf-8''%FF%FE.csv" },
		{ "attachment; filename*=windows-1252''%80.csv", "filename", "\xe2\x82\xac.csv" },
	};

	check_params(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(mime, rfc2231_filename_reaches_the_part)
{
	check_one_part(&(struct one_part){
	    .msg = "Content-Type: application/zip\r\n"
	    "Content-Disposition: attachment;\r\n\tfilename*0*=utf-8''%E2%82%AC;\r\n"
	    "\tfilename*1=\"-report.csv.zip\"\r\n\r\n",
	    .filename = "\xe2\x82\xac-report.csv.zip" });
}

TEST(mime, filename_falls_back_to_content_type_name)
{
	check_one_part(&(struct one_part){
	    .msg = "Content-Type: Application/Octet-Stream; name=\"2015-01-01-x.csv.zip\"\r\n"
	    "Content-Disposition: attachment\r\n\r\n",
	    .type = "application/octet-stream", .filename = "2015-01-01-x.csv.zip" });
}

TEST(mime, rfc2047_words_decode_and_join)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "=?UTF-8?B?4oKsIHJhdGVz?=", "\xe2\x82\xac rates" },
		{ "=?iso-8859-1?Q?caf=E9_cr=E8me?=", "caf\xc3\xa9 cr\xc3\xa8me" },
		{ "[x] =?utf-8?q?a?= \r\n =?utf-8?q?b?= c", "[x] ab c" },
		{ "=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\xe2\x82\xac" },	/* split character */
		{ "=?utf-8?q?a?= =?iso-8859-1?q?=E9?=", "a\xc3\xa9" },
		{ "=?utf-8*en?q?lang?=", "lang" },
		{ "=?utf-8?B?***?=", "=?utf-8?B?***?=" },
		{ "=?utf-8?Q?=FF?=", "=?utf-8?Q?=FF?=" },
		{ "=?x-no-such-charset?Q?a?=", "=?x-no-such-charset?Q?a?=" },
		{ "=?utf-8?X?a?= =?utf-8?q?a b?= =?", "=?utf-8?X?a?= =?utf-8?q?a b?= =?" },
		{ "=?utf-8?q?=00?=", "=?utf-8?q?=00?=" },
		{ "plain =? text", "plain =? text" },
		{ "=?utf-16be?B?AGEAYg==?=", "ab" },	/* NULs in the bytes, not the result */
		{ "=?koi8-r?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	};
	size_t i;
	char *d;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = mime_decode_words(cases[i].in);
		CHECK_STR(d, cases[i].want);
		free(d);
	}
}

TEST(mime, rfc2047_filename_and_subject)
{
	struct rec r = { 0 };
	char *subject;

	parse_str(&r, "Subject: =?UTF-8?B?UmVwb3J0IOKCrA==?=\r\n"
	    "Content-Type: application/zip; name=\"=?iso-8859-1?Q?r=E9sum=E9.csv.zip?=\"\r\n\r\n", 0);
	CHECK_STR(buf_cstr(&r.headers), "Subject==?UTF-8?B?UmVwb3J0IOKCrA==?=\n"
	    "Content-Type=application/zip; name=\"=?iso-8859-1?Q?r=E9sum=E9.csv.zip?=\"\n");
	subject = mime_decode_words("=?UTF-8?B?UmVwb3J0IOKCrA==?=");
	CHECK_STR(subject, "Report \xe2\x82\xac");
	free(subject);
	REQUIRE(r.nparts == 1);
	CHECK_STR(r.parts[0].filename, "r\xc3\xa9sum\xc3\xa9.csv.zip");
	rec_free(&r);
}

TEST(mime, raw_latin1_filename_becomes_utf8)
{
	check_one_part(&(struct one_part){ .msg = "Content-Type: text/csv; name=\"caf\xe9.csv\"\n\n",
	    .filename = "caf\xc3\xa9.csv" });
}

/* --- the real thing ------------------------------------------------------ */

TEST(mime, shadowserver_sample_yields_the_zip)
{
	const char *dir = test_shared_dir();
	char path[4096];
	struct rec r = { 0 }, bytewise = { 0 };
	size_t len;
	char *msg;
	int i, found = 0;

	if (dir == NULL)
		SKIP("../shared/reference/shadowserver not present");
	snprintf(path, sizeof(path), "%s/eml/2015-01-01-scan_ntp-sample-asn.csv.zip.eml", dir);
	REQUIRE((msg = test_read_file(path, &len)) != NULL);
	parse(&r, msg, len, 65536, 1);
	CHECK_INT(r.headers_done, 1);
	CHECK(strstr(buf_cstr(&r.headers), "From=Root User <autoreports@shadowserver.org>\n") != NULL);
	for (i = 0; i < r.nparts; i++) {
		if (r.parts[i].filename == NULL ||
		    strcmp(r.parts[i].filename, "2015-01-01-scan_ntp-sample-asn.csv.zip") != 0)
			continue;
		found = 1;
		CHECK_INT(r.parts[i].depth, 1);
		CHECK(r.parts[i].data.len > 4 && memcmp(r.parts[i].data.data, "PK\x03\x04", 4) == 0);
	}
	CHECK(found);
	CHECK_INT(r.stats.bad_base64, 0);
	CHECK_INT(r.stats.truncated_parts, 0);
	parse(&bytewise, msg, len, 1, 1);
	CHECK(bytewise.log.len == r.log.len && memcmp(bytewise.log.data, r.log.data, r.log.len) == 0);
	rec_free(&r);
	rec_free(&bytewise);
	free(msg);
}

TEST(mime, free_without_finish_is_safe)
{
	struct rec r = { 0 };
	struct mime_parser *p = mime_parser_new(&rec_cb, &r);
	const char *msg = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\npart";

	mime_parser_feed(p, msg, strlen(msg));
	mime_parser_free(p);
	mime_parser_free(NULL);
	CHECK_INT(r.nparts, 1);
	rec_free(&r);
}
