/*
 * mailheader - the one place that turns untrusted text into header fields
 *
 * See mailheader.h.
 */
#include "notice/mailheader.h"
#include "base/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_VALUE_MAX 900	/* before encoding; well under 998 per line after folding */
#define FOLD_WIDTH 78

/* utf8_decode - length of the valid UTF-8 sequence at P (its code point in *CP), or 0 */
static size_t
utf8_decode(const unsigned char *p, uint32_t *cp)
{
	size_t n, i;

	*cp = p[0];
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2, *cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3, *cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4, *cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && *cp < 0x800) || (n == 4 && (*cp < 0x10000 || *cp > 0x10FFFF)) ||
	    (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return n;
}

static size_t
utf8_len(const unsigned char *p)
{
	uint32_t cp;

	return utf8_decode(p, &cp);
}

/*
 * is_line_break - characters a reader takes for the end of a line: ASCII
 * tab, CR, LF, and Unicode's NEL (U+0085), LINE and PARAGRAPH SEPARATOR
 */
static int
is_line_break(uint32_t cp)
{
	return cp == '\t' || cp == '\r' || cp == '\n' || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

/*
 * is_invisible - controls and format characters that change how the text
 * around them is shown without being seen: C0/C1 controls, soft hyphen,
 * bidi embeddings, overrides and isolates (U+202A-E, U+2066-9), marks and
 * zero-width characters (U+200B-F, U+2060-4, U+FEFF), Arabic letter mark,
 * Mongolian vowel separator, interlinear annotation and tag characters
 */
static int
is_invisible(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xAD || cp == 0x061C || cp == 0x180E ||
	    (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
	    (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) ||
	    (cp >= 0xE0000 && cp <= 0xE007F);
}

char *
text_clean(const char *value, size_t max)
{
	const unsigned char *p = (const unsigned char *)value;
	struct buf b = BUF_INIT;
	uint32_t cp;
	size_t n;

	while (*p) {
		/* a run of printable ASCII, most of any value, is copied at once */
		for (n = 0; p[n] >= ' ' && p[n] < 0x7f; n++)
			;
		if (n > 0) {
			buf_append(&b, p, b.len + n > max ? max - b.len : n);
			if (b.len == max)
				break;
			p += n;
			continue;
		}
		n = utf8_decode(p, &cp);
		if (n == 0) {
			n = 1;
			if (b.len + 1 > max)
				break;
			buf_putc(&b, '?');
		} else if (is_line_break(cp)) {
			/* line breaks become one space */
			if (b.len && b.data[b.len - 1] != ' ' && b.len + 1 <= max)
				buf_putc(&b, ' ');
		} else if (is_invisible(cp)) {
			;	/* dropped */
		} else {
			if (b.len + n > max)
				break;
			buf_append(&b, p, n);
		}
		p += n;
	}
	return buf_steal(&b);
}

static int
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* fold_ascii - break at spaces so no line passes FOLD_WIDTH where possible */
static void
fold_ascii(struct buf *out, const char *value, size_t used)
{
	const char *p = value;

	/* *p: a name longer than a line leaves nothing to fold (and p + 1 unreadable) */
	while (*p && strlen(p) + used > FOLD_WIDTH) {
		const char *cut = NULL, *q;

		for (q = p; *q && (size_t)(q - p) + used <= FOLD_WIDTH; q++)
			if (*q == ' ' && q > p)
				cut = q;
		if (cut == NULL)
			cut = strchr(p + 1, ' ');
		if (cut == NULL)
			break;
		buf_append(out, p, (size_t)(cut - p));
		buf_puts(out, "\n");	/* the space that follows starts the continuation */
		p = cut;
		used = 0;
	}
	buf_puts(out, p);
}

/* encode_words - UTF-8 B encoded words of at most 45 bytes, one per line */
static void
encode_words(struct buf *out, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	size_t chunk, n;

	while (*p) {
		for (chunk = 0; p[chunk] && chunk + (n = utf8_len(p + chunk)) <= 45; chunk += n)
			if (n == 0)
				break;
		if (chunk == 0)
			chunk = 1;
		if (out->len)
			buf_puts(out, "\n ");
		buf_puts(out, "=?UTF-8?B?");
		buf_base64(out, p, chunk);
		buf_puts(out, "?=");
		p += chunk;
	}
}

char *
header_encode(const char *name, const char *value)
{
	char *clean = text_clean(value, HEADER_VALUE_MAX);
	struct buf out = BUF_INIT;

	if (is_ascii(clean))
		fold_ascii(&out, clean, strlen(name) + 2);
	else
		encode_words(&out, clean);
	free(clean);
	return buf_steal(&out);
}

void
header_append(struct buf *msg, const char *name, const char *value)
{
	char *v = header_encode(name, value);

	buf_printf(msg, "%s: %s\n", name, v);
	free(v);
}

/*
 * header_append_list - "Name: a, b, c\n" from N items (addresses), folded
 * after a comma before FOLD_WIDTH; never cut: every item is there whole.
 * Each item is cleaned and capped like a value; an empty one is left out.
 */
void
header_append_list(struct buf *msg, const char *name, char *const *items, size_t n)
{
	size_t i, col = strlen(name) + 1, first = 1;

	buf_printf(msg, "%s:", name);
	for (i = 0; i < n; i++) {
		char *clean = text_clean(items[i], HEADER_VALUE_MAX);
		size_t len = strlen(clean);

		if (len > 0) {
			if (!first)
				buf_putc(msg, ',');
			if (!first && col + 2 + len > FOLD_WIDTH) {
				buf_puts(msg, "\n");
				col = 0;
			}
			buf_putc(msg, ' ');
			buf_append(msg, clean, len);
			col += 2 + len;
			first = 0;
		}
		free(clean);
	}
	buf_putc(msg, '\n');
}
