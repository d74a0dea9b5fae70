/*
 * fuzz_headerview - libFuzzer target: one header block, the MIME walk's
 * view and DKIM's side by side (issue 17, item 2)
 *
 * The pipeline pushes the same bytes to the MIME walk (report/mime.c: the
 * fields it reads, the checks of recognise.c) and to our DKIM verification
 * (trust/dkimverify.c: the fields libopendkim hashes). Whatever the block,
 * the two must not read different headers, and must share one limit.
 *
 * Input: byte 0 picks the chunk size both are fed in; byte 1, from 240 up,
 * puts padding fields of 4,100 bytes on top, as many as fit in
 * HEADER_BLOCK_MAX less 255 - byte 1 (255: within 4,100 bytes of it), so the
 * rest of the input can take the block across it (below 240: none, most runs
 * stay small); the rest is the header block, then a blank line and a short
 * body follow. The fuzz build sets HEADER_BLOCK_MAX to 48 KiB (Makefile), so
 * a run near the limit costs 48 KiB, not 1 MiB; the rule is the same.
 * Checked for each input:
 *   - when both read the block whole (the MIME walk dropped no header and
 *     met no line that is not a field; DKIM refused nothing): the same
 *     fields in the same order, names equal, values equal once line breaks
 *     are taken out and blanks trimmed at both ends;
 *   - a block over HEADER_BLOCK_MAX, counted in bytes as they came, line
 *     ends included, is refused by both; one within it is not refused by
 *     DKIM for its size (the MIME walk has tighter limits of its own: 1,000
 *     fields, 64 KiB a field, and refuses past them);
 *   - both see the header block end.
 *
 *   make fuzz   (tests/fuzz/run.sh makes the seeds from the fixture mails)
 */
#include "fuzzutil.h"

#include "report/mime.h"
#include "trust/dkimverify.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAD_FIELD	4100		/* "X-Pad: ", 4,091 bytes, CRLF */
#define MAX_FIELDS	1100		/* the MIME walk reads at most 1,000 */

struct view {
	char *name[MAX_FIELDS];
	char *value[MAX_FIELDS];
	size_t n;
	int overflow;			/* more fields than MAX_FIELDS */
	int ended;			/* the header block ended (times) */
};

static struct dkim_keys *keys;

/* normal - VALUE without CR and LF, blanks trimmed at both ends (malloc'd) */
static char *
normal(const char *value, size_t len)
{
	char *out = xmalloc(len + 1), *p = out;
	size_t i;

	for (i = 0; i < len; i++)
		if (value[i] != '\r' && value[i] != '\n')
			*p++ = value[i];
	*p = '\0';
	while (p > out && (p[-1] == ' ' || p[-1] == '\t'))
		*--p = '\0';
	p = out + strspn(out, " \t");
	memmove(out, p, strlen(p) + 1);
	return out;
}

static void
view_add(struct view *v, char *name, char *value)
{
	if (v->n == MAX_FIELDS) {
		v->overflow = 1;
		free(name);
		free(value);
		return;
	}
	v->name[v->n] = name;
	v->value[v->n++] = value;
}

static void
view_free(struct view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->name[i]);
		free(v->value[i]);
	}
}

/* --- the MIME walk's view ---------------------------------------------- */

static void
mime_header(void *ctx, const char *name, const char *value)
{
	view_add(ctx, xstrdup(name), normal(value, strlen(value)));
}

static void
mime_done(void *ctx)
{
	((struct view *)ctx)->ended++;
}

static const struct mime_callbacks mime_cb = { mime_header, mime_done, NULL, NULL, NULL };

/* --- DKIM's view: a field's name as libopendkim takes it (up to the colon,
 * trailing blanks off), its value after the colon ------------------------- */

static void
dkim_field(void *ctx, const char *field, size_t len)
{
	const char *colon = memchr(field, ':', len), *end = colon;

	if (colon == NULL)
		fuzz_fail("DKIM handed libopendkim a field without a colon, and it took it", field);
	while (end > field && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	view_add(ctx, xstrndup(field, (size_t)(end - field)), normal(colon + 1, len - (size_t)(colon + 1 - field)));
}

/* --- the input ---------------------------------------------------------- */

/* block_bytes - the header block's bytes as they came, up to its empty line */
static size_t
block_bytes(const char *msg, size_t len)
{
	size_t off = 0, n;
	const char *nl;

	while (off < len && (nl = memchr(msg + off, '\n', len - off)) != NULL) {
		n = (size_t)(nl - (msg + off)) + 1;
		if (n == 1 || (n == 2 && msg[off] == '\r'))
			break;
		off += n;
	}
	return off;
}

static char *
build(const uint8_t *data, size_t size, size_t *len)
{
	static char field[PAD_FIELD];
	struct buf b = BUF_INIT;
	long i, fields = data[1] >= 240 ? (long)(HEADER_BLOCK_MAX / PAD_FIELD) - (255 - data[1]) : 0;

	if (field[0] == '\0') {
		memset(field, 'p', sizeof(field));
		memcpy(field, "X-Pad: ", 7);
		memcpy(field + PAD_FIELD - 2, "\r\n", 2);
	}
	for (i = 0; i < fields; i++)
		buf_append(&b, field, PAD_FIELD);
	buf_append(&b, (const char *)data + 2, size - 2);
	buf_puts(&b, "\r\n\r\nbody\r\n");
	*len = b.len;
	return buf_steal(&b);
}

static void
compare(const struct view *m, const struct view *d)
{
	size_t i;

	if (m->n != d->n)
		fuzz_fail("both read the block whole, but not the same number of fields", m->n > d->n ?
		    "the MIME walk read more" : "DKIM read more");
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->name[i], d->name[i]) != 0)
			fuzz_fail("a field's name differs between the MIME walk and DKIM", m->name[i]);
		if (strcmp(m->value[i], d->value[i]) != 0)
			fuzz_fail("a field's value differs between the MIME walk and DKIM", m->name[i]);
	}
}

static void
setup(void)
{
	char path[1024], err[512];

	fuzz_path(path, sizeof(path), "keys");	/* no key at all: a signature's lookup fails, no DNS */
	fuzz_write_file(path, "", 0);
	if ((keys = dkim_keys_new(path, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_headerview setup: %s\n", err);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct view m = { .n = 0 }, d = { .n = 0 };
	struct mime_parser *mp;
	struct dkim_check *dc;
	struct dkim_verdict v;
	size_t len, off, n, chunk, bytes;
	char *msg;
	int mime_whole, dkim_whole;

	if (size < 2)
		return 0;
	if (keys == NULL)
		setup();
	chunk = 1 + (size_t)data[0] * 37;
	msg = build(data, size, &len);
	bytes = block_bytes(msg, len);
	mp = mime_parser_new(&mime_cb, &m);
	dc = dkim_check_new(keys, "shadowserver.org", "FUZZ");
	dkim_check_set_field_hook(dc, dkim_field, &d);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		mime_parser_feed(mp, msg + off, n);
		dkim_check_feed(dc, msg + off, n);
	}
	mime_parser_finish(mp);
	if (!dkim_check_headers(dc, &v) || m.ended != 1)
		fuzz_fail("a view did not see the header block end", m.ended ? "DKIM" : "the MIME walk");
	mime_whole = mime_parser_stats(mp)->dropped_headers == 0 && mime_parser_stats(mp)->malformed_headers == 0;
	dkim_whole = !dkim_check_block_refused(dc);
	if (bytes > HEADER_BLOCK_MAX && (mime_whole || dkim_whole))
		fuzz_fail("a header block over HEADER_BLOCK_MAX was read whole", mime_whole ? "by the MIME walk" : "by DKIM");
	if (bytes <= HEADER_BLOCK_MAX && !dkim_whole && strstr(v.reason, " over ") != NULL)
		fuzz_fail("DKIM refused a header block within HEADER_BLOCK_MAX for its size", v.reason);
	if (mime_whole && dkim_whole && !m.overflow && !d.overflow)
		compare(&m, &d);
	dkim_check_free(dc);
	mime_parser_free(mp);
	view_free(&m);
	view_free(&d);
	free(msg);
	return 0;
}
