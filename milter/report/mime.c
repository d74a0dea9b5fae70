/*
 * mime - a streaming (push) MIME parser
 *
 * Bytes arrive in chunks of any size and are cut into lines in one capped
 * buffer. Each complete line is looked at once: in a header block it is
 * unfolded into the current header, inside a multipart it may be a boundary,
 * in a leaf body it goes through the part's decoder to the caller. The line
 * break ending a body line is held back until the next line is known not to
 * be a boundary, because RFC 2046 gives the CRLF before a boundary to the
 * boundary. A line longer than the buffer can be neither a header we keep nor
 * a boundary, so it is passed on in pieces: memory never depends on the size
 * of a part or of a line.
 *
 * Also here: the header field helpers (leading token, RFC 2231 parameters,
 * RFC 2047 encoded words) and the conversion of foreign charsets to UTF-8.
 *
 * Owns: the line buffer, the boundary stack, the current entity's headers,
 * the decoder state and a small output buffer. Does not own: the callbacks'
 * context. Callbacks must not call back into the parser.
 */
#include "report/mime.h"
#include "base/util.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#define LINE_CAP	MIME_LINE_MAX	/* bytes of one line we inspect */
#define HEADER_CAP	(64 * 1024)	/* one unfolded header */
#define BLOCK_CAP	HEADER_BLOCK_MAX	/* one header block: DKIM's and the checks' limit (util.h) */
#define COUNT_CAP	1000		/* headers in one block */
#define DEPTH_CAP	32		/* nested multiparts */
#define OUT_CAP		8192		/* decoded bytes gathered for part_data */
#define QP_PEND_CAP	32		/* "=" plus whitespace awaiting a line end */
#define SECTION_CAP	64		/* RFC 2231 continuations of one parameter */
#define CHARSET_CAP	64		/* longest charset name we believe */

/* --- small helpers ------------------------------------------------------- */

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static void
lowercase(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* --- charsets ------------------------------------------------------------ */

/* utf8_valid - well-formed UTF-8: no overlongs, surrogates or NULs */
static int
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k, n;
	unsigned long cp, min;

	while (i < len) {
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			n = 1, cp = s[i] & 0x1f, min = 0x80;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 2, cp = s[i] & 0x0f, min = 0x800;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 3, cp = s[i] & 0x07, min = 0x10000;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static char *
latin1_to_utf8(const char *s, size_t len)
{
	char *out = xreallocarray(NULL, len + 1, 2), *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			*o++ = (char)c;
		} else {
			*o++ = (char)(0xc0 | c >> 6);
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*o = '\0';
	return out;
}

/*
 * charset_name - CS lowercased into NAME, without an RFC 2231 "*language";
 * 0 if it is too long or has characters no charset name has, so that
 * hostile text never reaches iconv_open as options.
 */
static int
charset_name(const char *cs, char *name, size_t size)
{
	size_t n = strcspn(cs, "*"), i;

	if (n >= size)
		return 0;
	for (i = 0; i < n; i++) {
		char c = cs[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.:+", c) != NULL))
			return 0;
		name[i] = c;
	}
	name[n] = '\0';
	lowercase(name);
	return 1;
}

static int
is_utf8_name(const char *name)
{
	static const char *names[] = { "", "utf-8", "utf8", "us-ascii", "ascii",
	    "ansi_x3.4-1968", "us", NULL };
	int i;

	for (i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static int
is_latin1_name(const char *name)
{
	static const char *names[] = { "iso-8859-1", "iso8859-1", "iso_8859-1",
	    "latin1", "latin-1", "l1", "iso-ir-100", "cp819", NULL };
	int i;

	for (i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* iconv_to_utf8 - S in CHARSET via iconv; NULL if unknown or not convertible */
static char *
iconv_to_utf8(const char *charset, const char *s, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	size_t cap = len * 4 + 16, left_in = len, left_out, off;
	char *in = (char *)s, *out, *o;

	if (cd == (iconv_t)-1)
		return NULL;
	o = out = xmalloc(cap);
	left_out = cap - 1;
	for (;;) {
		if (iconv(cd, &in, &left_in, &o, &left_out) != (size_t)-1 &&
		    iconv(cd, NULL, NULL, &o, &left_out) != (size_t)-1)
			break;
		if (errno != E2BIG) {
			o = NULL;
			break;
		}
		off = (size_t)(o - out);
		out = xreallocarray(out, cap, 2);
		cap *= 2;
		o = out + off;
		left_out = cap - 1 - off;
	}
	iconv_close(cd);
	if (o == NULL || !utf8_valid(out, (size_t)(o - out))) {
		free(out);
		return NULL;
	}
	*o = '\0';
	return out;
}

/*
 * to_utf8 - LEN bytes at S in CHARSET as a UTF-8 string (caller frees), or
 * NULL when that can't be done honestly; an empty charset means "probably
 * UTF-8" and is taken only if the bytes are.
 */
static char *
to_utf8(const char *charset, const char *s, size_t len)
{
	char name[CHARSET_CAP];

	if (!charset_name(charset, name, sizeof(name)))
		return NULL;
	if (is_utf8_name(name))
		return utf8_valid(s, len) ? xstrndup(s, len) : NULL;
	if (is_latin1_name(name))	/* a NUL would cut the string short */
		return memchr(s, '\0', len) ? NULL : latin1_to_utf8(s, len);
	return iconv_to_utf8(name, s, len);	/* its output is checked for NULs */
}

/* --- structured header fields -------------------------------------------- */

/* skip_comment - past the (nested) comment at S, which is '(' */
static const char *
skip_comment(const char *s)
{
	int depth = 0;

	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return s + 1;
	}
	return s;
}

static const char *
skip_cfws(const char *s)
{
	for (;;) {
		while (is_fws(*s))
			s++;
		if (*s != '(')
			return s;
		s = skip_comment(s);
	}
}

/* unquote - the quoted string at S (which is '"') onto VAL; returns its end */
static const char *
unquote(const char *s, struct buf *val)
{
	for (s++; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1])
			s++;
		buf_putc(val, *s);
	}
	return *s ? s + 1 : s;
}

/* skip_quoted - past the quoted string at S, which is '"' */
static const char *
skip_quoted(const char *s)
{
	for (s++; *s && *s != '"'; s++)
		if (*s == '\\' && s[1])
			s++;
	return *s ? s + 1 : s;
}

/* next_semicolon - the next ';' outside quotes and comments, or the end */
static const char *
next_semicolon(const char *s)
{
	while (*s && *s != ';') {
		if (*s == '"')
			s = skip_quoted(s);
		else if (*s == '(')
			s = skip_comment(s);
		else
			s++;
	}
	return s;
}

/*
 * unquoted_value - a bare value runs to ';' so that the sloppy
 * 'filename=my report.zip' survives; a trailing "(comment)" is dropped.
 */
static const char *
unquoted_value(const char *s, struct buf *val)
{
	const char *e = s + strcspn(s, ";"), *c;

	for (c = s; c < e; c++)
		if (*c == '(' && (c == s || is_fws(c[-1])))
			break;
	while (c > s && is_fws(c[-1]))
		c--;
	buf_append(val, s, (size_t)(c - s));
	return e;
}

/*
 * parse_param - one 'attr = value' after a ';' at S into ATTR and VAL
 * (unquoted); *FOUND says whether it was one. Returns the next ';' or end.
 */
static const char *
parse_param(const char *s, struct buf *attr, struct buf *val, int *found)
{
	const char *a;

	buf_reset(attr);
	buf_reset(val);
	a = s = skip_cfws(s);
	while (*s && *s != '=' && *s != ';' && *s != '(' && *s != '"' && !is_fws(*s))
		s++;
	buf_append(attr, a, (size_t)(s - a));
	s = skip_cfws(s);
	*found = *s == '=' && attr->len > 0;
	if (!*found)
		return next_semicolon(s);
	s = skip_cfws(s + 1);
	if (*s == '"')
		s = unquote(s, val);
	else
		s = unquoted_value(s, val);
	return next_semicolon(s);
}

/* one parameter as RFC 2231 lets it arrive: plain, extended, or in sections */
struct pvalue {
	char *plain;			/* name=value */
	char *ext;			/* name*=charset'lang'%XX */
	char *sect[SECTION_CAP];	/* name*N=value or name*N*=%XX */
	unsigned char sect_ext[SECTION_CAP];
};

/*
 * attr_match - does ATTR name parameter NAME, and in which RFC 2231 form?
 * Returns -1 if not, else the section number (0 when unsectioned).
 */
static int
attr_match(const char *attr, const char *name, int *sectioned, int *ext)
{
	size_t n = strlen(name);
	const char *s = attr + n;
	int sect = 0;

	*sectioned = *ext = 0;
	if (ascii_strncasecmp(attr, name, n) != 0)
		return -1;
	if (*s == '\0')
		return 0;
	if (*s++ != '*')
		return -1;
	if (*s == '\0') {
		*ext = 1;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	*sectioned = 1;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((sect = sect * 10 + (*s - '0')) >= SECTION_CAP)
			return -1;
	if (*s == '*') {
		*ext = 1;
		s++;
	}
	return *s == '\0' ? sect : -1;
}

/* collect_param - keep VAL if ATTR is a form of NAME; the first of each wins */
static void
collect_param(struct pvalue *pv, const char *attr, const char *val, const char *name)
{
	int sectioned, ext, sect = attr_match(attr, name, &sectioned, &ext);

	if (sect < 0)
		return;
	if (sectioned) {
		if (pv->sect[sect] == NULL) {
			pv->sect[sect] = xstrdup(val);
			pv->sect_ext[sect] = (unsigned char)ext;
		}
	} else if (ext) {
		if (pv->ext == NULL)
			pv->ext = xstrdup(val);
	} else if (pv->plain == NULL) {
		pv->plain = xstrdup(val);
	}
}

/* pct_decode - RFC 2231 %XX of S onto OUT; a '%' without two hex digits stays */
static void
pct_decode(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			buf_putc(out, hexval(s[1]) << 4 | hexval(s[2]));
			s += 2;
		} else {
			buf_putc(out, *s);
		}
	}
}

/* split_charset - "charset'lang'text": the charset into CS, returns the text */
static const char *
split_charset(const char *s, char *cs, size_t size)
{
	const char *q1 = strchr(s, '\''), *q2;

	cs[0] = '\0';
	if (q1 == NULL || (q2 = strchr(q1 + 1, '\'')) == NULL)
		return s;
	if ((size_t)(q1 - s) < size) {
		memcpy(cs, s, (size_t)(q1 - s));
		cs[q1 - s] = '\0';
	} else {
		memcpy(cs, "?", 2);	/* no charset is that long */
	}
	return q2 + 1;
}

/* decode_ext - "charset'lang'%XX" to UTF-8; the text as it was if that fails */
static char *
decode_ext(const char *raw)
{
	char cs[CHARSET_CAP], *r;
	struct buf b = BUF_INIT;
	const char *text = split_charset(raw, cs, sizeof(cs));

	pct_decode(&b, text);
	r = to_utf8(cs, buf_cstr(&b), b.len);
	buf_free(&b);
	return r ? r : xstrdup(raw);
}

/* join_sections - RFC 2231 continuations 0..n, up to the first gap */
static char *
join_sections(const struct pvalue *pv)
{
	struct buf bytes = BUF_INIT, raw = BUF_INIT;
	char cs[CHARSET_CAP] = "", *r;
	const char *t;
	int i;

	for (i = 0; i < SECTION_CAP && pv->sect[i] != NULL; i++) {
		t = pv->sect[i];
		buf_puts(&raw, t);
		if (!pv->sect_ext[i]) {
			buf_puts(&bytes, t);
			continue;
		}
		if (i == 0)
			t = split_charset(t, cs, sizeof(cs));
		pct_decode(&bytes, t);
	}
	r = to_utf8(cs, buf_cstr(&bytes), bytes.len);
	buf_free(&bytes);
	if (r == NULL)
		return buf_steal(&raw);
	buf_free(&raw);
	return r;
}

static void
pvalue_free(struct pvalue *pv)
{
	int i;

	free(pv->plain);
	free(pv->ext);
	for (i = 0; i < SECTION_CAP; i++)
		free(pv->sect[i]);
}

char *
mime_header_param(const char *value, const char *name)
{
	struct buf attr = BUF_INIT, val = BUF_INIT;
	struct pvalue pv;
	const char *s = next_semicolon(value);
	char *r = NULL;
	int found;

	memset(&pv, 0, sizeof(pv));
	while (*s == ';') {
		s = parse_param(s + 1, &attr, &val, &found);
		if (found)
			collect_param(&pv, buf_cstr(&attr), buf_cstr(&val), name);
	}
	if (pv.ext)
		r = decode_ext(pv.ext);	/* RFC 2231 forms win over the plain fallback */
	else if (pv.sect[0])
		r = join_sections(&pv);
	else if (pv.plain)
		r = xstrdup(pv.plain);
	pvalue_free(&pv);
	buf_free(&attr);
	buf_free(&val);
	return r;
}

char *
mime_header_token(const char *value)
{
	const char *s = skip_cfws(value);
	size_t n = 0;
	char *tok;

	while (s[n] && s[n] != ';' && s[n] != '(' && !is_fws(s[n]))
		n++;
	tok = xstrndup(s, n);
	lowercase(tok);
	return tok;
}

/* --- RFC 2047 encoded words ---------------------------------------------- */

/* b_decode - strict base64 of an encoded word; 0 if malformed */
static int
b_decode(struct buf *out, const char *s, const char *e)
{
	unsigned long acc = 0;
	int n = 0, v;

	for (; s < e && *s != '='; s++) {
		if ((v = b64_value((unsigned char)*s)) < 0)
			return 0;
		acc = acc << 6 | (unsigned long)v;
		if (++n == 4) {
			buf_putc(out, (int)(acc >> 16 & 0xff));
			buf_putc(out, (int)(acc >> 8 & 0xff));
			buf_putc(out, (int)(acc & 0xff));
			acc = 0;
			n = 0;
		}
	}
	for (; s < e; s++)
		if (*s != '=')
			return 0;
	if (n == 1)
		return 0;
	if (n >= 2)
		buf_putc(out, (int)(acc >> (n == 2 ? 4 : 10) & 0xff));
	if (n == 3)
		buf_putc(out, (int)(acc >> 2 & 0xff));
	return 1;
}

/* q_decode - the Q encoding of an encoded word; 0 if malformed */
static int
q_decode(struct buf *out, const char *s, const char *e)
{
	for (; s < e; s++) {
		if (*s == '_') {
			buf_putc(out, ' ');
		} else if (*s != '=') {
			buf_putc(out, *s);
		} else if (e - s >= 3 && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			buf_putc(out, hexval(s[1]) << 4 | hexval(s[2]));
			s += 2;
		} else {
			return 0;
		}
	}
	return 1;
}

/*
 * word_parse - the encoded word "=?charset?E?text?=" at S: its charset into
 * CS and its decoded bytes into OUT. Returns its end, or NULL if S does not
 * start a well-formed word.
 */
static const char *
word_parse(const char *s, char *cs, struct buf *out)
{
	const char *c = s + 2, *t, *e;
	int enc;

	if (s[0] != '=' || s[1] != '?')
		return NULL;
	for (t = c; *t && *t != '?' && t - c < CHARSET_CAP; t++)
		if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 127)
			return NULL;
	if (*t != '?' || t == c || t - c >= CHARSET_CAP)
		return NULL;
	enc = t[1];
	if ((enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q') || t[2] != '?')
		return NULL;
	for (e = t + 3; *e && *e != '?'; e++)
		if ((unsigned char)*e <= ' ' || (unsigned char)*e >= 127)
			return NULL;
	if (e[0] != '?' || e[1] != '=')
		return NULL;
	memcpy(cs, c, (size_t)(t - c));
	cs[t - c] = '\0';
	buf_reset(out);
	if (!(enc == 'B' || enc == 'b' ? b_decode(out, t + 3, e) : q_decode(out, t + 3, e)))
		return NULL;
	return e + 2;
}

/*
 * Adjacent words in one charset are decoded together before conversion:
 * mailers split multi-byte characters across words.
 */
struct word_run {
	char charset[CHARSET_CAP];
	struct buf bytes;
	const char *start, *end;	/* the run as it stands in the header */
};

static void
run_flush(struct word_run *run, struct buf *out)
{
	char *u;

	if (run->start == NULL)
		return;
	u = to_utf8(run->charset, buf_cstr(&run->bytes), run->bytes.len);
	if (u)
		buf_puts(out, u);
	else
		buf_append(out, run->start, (size_t)(run->end - run->start));
	free(u);
	run->start = NULL;
	buf_reset(&run->bytes);
}

static void
run_add(struct word_run *run, struct buf *out, const char *start, const char *end,
    const char *cs, const struct buf *word)
{
	if (run->start == NULL || ascii_strcasecmp(run->charset, cs) != 0) {
		run_flush(run, out);
		memcpy(run->charset, cs, strlen(cs) + 1);
		run->start = start;
	}
	buf_append(&run->bytes, word->data, word->len);
	run->end = end;
}

char *
mime_decode_words(const char *value)
{
	struct buf out = BUF_INIT, word = BUF_INIT;
	struct word_run run;
	char cs[CHARSET_CAP];
	const char *s = value, *t, *end;

	memset(&run, 0, sizeof(run));
	while (*s) {
		t = s;
		if (run.start)		/* whitespace between encoded words goes */
			while (is_fws(*t))
				t++;
		if ((end = word_parse(t, cs, &word)) != NULL) {
			run_add(&run, &out, t, end, cs, &word);
			s = end;
			continue;
		}
		run_flush(&run, &out);
		buf_putc(&out, *s++);
	}
	run_flush(&run, &out);
	buf_free(&word);
	buf_free(&run.bytes);
	return buf_steal(&out);
}

/* --- the parser ---------------------------------------------------------- */

struct boundary {
	char *text;
	size_t len;
	int digest;		/* multipart/digest: parts default to message/rfc822 */
};

enum state {
	ST_HEADERS,		/* an entity's header block */
	ST_BODY,		/* a leaf body, wanted or not */
	ST_SKIP,		/* preamble or epilogue: only boundaries matter */
};

enum codec { CODEC_RAW, CODEC_BASE64, CODEC_QP };

struct mime_parser {
	const struct mime_callbacks *cb;
	void *ctx;
	struct mime_stats stats;
	int finished;
	int headers_done;	/* the top-level header block has ended */

	char *line;		/* the line being assembled */
	size_t line_len, line_peak;
	int long_line;		/* it outgrew the buffer; its start is gone */

	enum state state;
	int depth;		/* of the current entity: 0 = the message */
	struct boundary stack[DEPTH_CAP];
	int nstack;

	struct buf header;	/* the header being unfolded */
	int header_open, header_drop;
	size_t block_bytes;
	unsigned header_count;
	char *ctype, *cdisp, *cte;	/* the first of each, raw */

	struct mime_part part;
	char *part_type, *part_charset, *part_filename, *part_encoding;
	int in_part, wanted;
	enum codec codec;
	const char *held_eol;	/* withheld: the next line may be a boundary */
	unsigned long b64_acc;
	int b64_n;
	char qp_pend[QP_PEND_CAP];
	size_t qp_len;
	char out[OUT_CAP];
	size_t out_len;
};

/* --- decoded output ------------------------------------------------------ */

static void
out_flush(struct mime_parser *p)
{
	if (p->out_len > 0 && p->wanted && p->cb->part_data)
		p->cb->part_data(p->ctx, p->out, p->out_len);
	p->out_len = 0;
}

static void
out_put(struct mime_parser *p, const char *s, size_t n)
{
	if (p->out_len + n > OUT_CAP)
		out_flush(p);
	if (n >= OUT_CAP) {	/* big pass-through pieces go straight on */
		if (p->cb->part_data)
			p->cb->part_data(p->ctx, s, n);
		return;
	}
	memcpy(p->out + p->out_len, s, n);
	p->out_len += n;
}

static void
out_byte(struct mime_parser *p, int c)
{
	if (p->out_len == OUT_CAP)
		out_flush(p);
	p->out[p->out_len++] = (char)c;
}

/* --- base64 -------------------------------------------------------------- */

/* b64_pad - '=' or the part's end: the bits of a short quantum, if whole bytes */
static void
b64_pad(struct mime_parser *p)
{
	if (p->b64_n >= 2)
		out_byte(p, (int)(p->b64_acc >> (p->b64_n == 2 ? 4 : 10) & 0xff));
	if (p->b64_n == 3)
		out_byte(p, (int)(p->b64_acc >> 2 & 0xff));
	p->b64_acc = 0;
	p->b64_n = 0;
}

/*
 * b64_feed - decoding resumes after padding, so that bodies made of
 * separately padded pieces (some encoders do this per line) come out whole.
 */
static void
b64_feed(struct mime_parser *p, const char *s, size_t n)
{
	size_t i;
	int v;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((v = b64_value(c)) >= 0) {
			p->b64_acc = p->b64_acc << 6 | (unsigned long)v;
			if (++p->b64_n == 4) {
				out_byte(p, (int)(p->b64_acc >> 16 & 0xff));
				out_byte(p, (int)(p->b64_acc >> 8 & 0xff));
				out_byte(p, (int)(p->b64_acc & 0xff));
				p->b64_acc = 0;
				p->b64_n = 0;
			}
		} else if (c == '=') {
			b64_pad(p);
		} else if (!(is_fws(c) || c == '\v' || c == '\f')) {
			p->stats.bad_base64++;
		}
	}
}

/* --- quoted-printable ---------------------------------------------------- */

static void
qp_flush(struct mime_parser *p)
{
	out_put(p, p->qp_pend, p->qp_len);
	p->qp_len = 0;
}

/*
 * qp_step - does C continue the escape pending in qp_pend ("=", "=X", or
 * "=" with transport-added whitespace and a CR)? 0 if it breaks it.
 */
static int
qp_step(struct mime_parser *p, int c)
{
	char last = p->qp_pend[p->qp_len - 1];

	if (p->qp_len == 2 && hexval(last) >= 0) {
		if (hexval(c) < 0)
			return 0;
		out_byte(p, hexval(last) << 4 | hexval(c));
		p->qp_len = 0;
		return 1;
	}
	if (c == '\n') {	/* soft line break */
		p->qp_len = 0;
		return 1;
	}
	if (last == '\r' || p->qp_len == QP_PEND_CAP)
		return 0;
	if (c == '\r' || is_wsp(c) || (p->qp_len == 1 && hexval(c) >= 0)) {
		p->qp_pend[p->qp_len++] = (char)c;
		return 1;
	}
	return 0;
}

static void
qp_feed(struct mime_parser *p, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p->qp_len > 0 && qp_step(p, s[i]))
			continue;
		if (p->qp_len > 0)
			qp_flush(p);	/* not an escape: it stays as it was */
		if (s[i] == '=')
			p->qp_pend[p->qp_len++] = '=';
		else
			out_byte(p, s[i]);
	}
}

/* qp_finish - a trailing "=" is a soft break whose line end the boundary took */
static void
qp_finish(struct mime_parser *p)
{
	size_t i;

	for (i = 1; i < p->qp_len; i++)
		if (!is_fws(p->qp_pend[i]))
			break;
	if (p->qp_len > 0 && i < p->qp_len)
		qp_flush(p);
	p->qp_len = 0;
}

/* --- leaf bodies --------------------------------------------------------- */

/* body_bytes - raw body bytes of the current leaf through its decoder */
static void
body_bytes(struct mime_parser *p, const char *s, size_t n)
{
	if (!p->wanted || n == 0)
		return;
	if (p->codec == CODEC_BASE64)
		b64_feed(p, s, n);
	else if (p->codec == CODEC_QP)
		qp_feed(p, s, n);
	else
		out_put(p, s, n);
}

static void
emit_held(struct mime_parser *p)
{
	if (p->held_eol) {
		body_bytes(p, p->held_eol, strlen(p->held_eol));
		p->held_eol = NULL;
	}
}

/* part_filename - Content-Disposition filename, else Content-Type name, as UTF-8 */
static char *
part_filename(const struct mime_parser *p)
{
	char *fn = p->cdisp ? mime_header_param(p->cdisp, "filename") : NULL, *dec;

	if ((fn == NULL || *fn == '\0') && p->ctype) {
		free(fn);
		fn = mime_header_param(p->ctype, "name");
	}
	if (fn == NULL || *fn == '\0') {
		free(fn);
		return NULL;
	}
	if (strstr(fn, "=?") != NULL) {	/* 2047 inside quotes: wrong, common */
		dec = mime_decode_words(fn);
		free(fn);
		fn = dec;
	}
	if (!utf8_valid(fn, strlen(fn))) {	/* raw 8-bit: guess Latin-1 */
		dec = latin1_to_utf8(fn, strlen(fn));
		free(fn);
		fn = dec;
	}
	return fn;
}

static void
part_strings_free(struct mime_parser *p)
{
	free(p->part_type);
	free(p->part_charset);
	free(p->part_filename);
	free(p->part_encoding);
	p->part_type = p->part_charset = p->part_filename = p->part_encoding = NULL;
}

/* part_describe - fill p->part from the entity's headers; TYPE is taken over */
static void
part_describe(struct mime_parser *p, char *type)
{
	int digest = p->depth > 0 && p->stack[p->depth - 1].digest;

	part_strings_free(p);
	if (strchr(type, '/') == NULL || strncmp(type, "multipart/", 10) == 0) {
		free(type);	/* no type, or a multipart we can't split: text */
		type = xstrdup(digest ? "message/rfc822" : "text/plain");
	}
	p->part_type = type;
	if (p->ctype && (p->part_charset = mime_header_param(p->ctype, "charset")) != NULL)
		lowercase(p->part_charset);
	p->part_filename = part_filename(p);
	p->part_encoding = mime_header_token(p->cte ? p->cte : "");
	if (*p->part_encoding == '\0') {
		free(p->part_encoding);
		p->part_encoding = xstrdup("7bit");
	}
	p->part.depth = p->depth;
	p->part.content_type = p->part_type;
	p->part.charset = p->part_charset;
	p->part.filename = p->part_filename;
	p->part.encoding = p->part_encoding;
}

static void
leaf_begin(struct mime_parser *p, char *type)
{
	part_describe(p, type);
	if (strcmp(p->part_encoding, "base64") == 0)
		p->codec = CODEC_BASE64;
	else if (strcmp(p->part_encoding, "quoted-printable") == 0)
		p->codec = CODEC_QP;
	else
		p->codec = CODEC_RAW;
	p->b64_acc = 0;
	p->b64_n = 0;
	p->qp_len = 0;
	p->held_eol = NULL;
	p->stats.parts++;
	p->in_part = 1;
	p->wanted = p->cb->part_begin && p->cb->part_begin(p->ctx, &p->part) != 0;
	p->state = ST_BODY;
}

/* part_end - the held line break is not delivered: a boundary took it */
static void
part_end(struct mime_parser *p)
{
	if (!p->in_part)
		return;
	if (p->wanted) {
		if (p->codec == CODEC_BASE64)
			b64_pad(p);
		else if (p->codec == CODEC_QP)
			qp_finish(p);
		out_flush(p);
		if (p->cb->part_end)
			p->cb->part_end(p->ctx);
	}
	p->in_part = p->wanted = 0;
	p->held_eol = NULL;
}

/* --- entities and boundaries --------------------------------------------- */

static void
push_boundary(struct mime_parser *p, char *text, int digest)
{
	struct boundary *b = &p->stack[p->nstack++];

	b->text = text;
	b->len = strlen(text);
	b->digest = digest;
}

static void
pop_boundary(struct mime_parser *p)
{
	free(p->stack[--p->nstack].text);
	p->stack[p->nstack].text = NULL;
}

/* body_begin - the header block is over: descend into a multipart or start a leaf */
static void
body_begin(struct mime_parser *p)
{
	char *type = mime_header_token(p->ctype ? p->ctype : ""), *bnd = NULL;

	if (p->ctype && strncmp(type, "multipart/", 10) == 0)
		bnd = mime_header_param(p->ctype, "boundary");
	if (bnd && *bnd && p->nstack < DEPTH_CAP) {
		push_boundary(p, bnd, strcmp(type, "multipart/digest") == 0);
		free(type);
		p->state = ST_SKIP;	/* the preamble */
		return;
	}
	if (bnd && *bnd) {		/* too deep: a leaf nobody gets */
		free(type);
		free(bnd);
		p->state = ST_BODY;
		return;
	}
	free(bnd);
	leaf_begin(p, type);
}

static void
entity_begin(struct mime_parser *p, int depth)
{
	free(p->ctype);
	free(p->cdisp);
	free(p->cte);
	p->ctype = p->cdisp = p->cte = NULL;
	buf_reset(&p->header);
	p->header_open = p->header_drop = 0;
	p->block_bytes = 0;
	p->header_count = 0;
	p->depth = depth;
	p->state = ST_HEADERS;
}

static void
keep_first(char **slot, const char *want, const char *name, const char *value)
{
	if (*slot == NULL && ascii_strcasecmp(name, want) == 0)
		*slot = xstrdup(value);
}

/* header_name_len - length of the field name if LINE starts a header, else 0 */
static size_t
header_name_len(const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t n, i;

	if (colon == NULL)
		return 0;
	for (n = (size_t)(colon - line); n > 0 && is_wsp(line[n - 1]); n--)
		;
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] <= ' ' || (unsigned char)line[i] >= 127)
			return 0;
	return n;
}

/* header_complete - split the unfolded header; NULs would hide the rest, so they become spaces */
static void
header_complete(struct mime_parser *p)
{
	char *h = p->header.data, *value, *end = h + p->header.len;
	size_t n = header_name_len(h, p->header.len), i;

	value = (char *)memchr(h, ':', p->header.len) + 1;
	for (i = 0; i < p->header.len; i++)
		if (h[i] == '\0')
			h[i] = ' ';
	h[n] = '\0';
	while (value < end && is_wsp(*value))
		value++;
	while (end > value && is_wsp(end[-1]))
		end--;
	*end = '\0';
	if (p->depth == 0 && p->cb->header)
		p->cb->header(p->ctx, h, value);
	if (p->depth > 0 && ((p->ctype && !ascii_strcasecmp(h, "Content-Type")) ||
	    (p->cdisp && !ascii_strcasecmp(h, "Content-Disposition")) ||
	    (p->cte && !ascii_strcasecmp(h, "Content-Transfer-Encoding"))))
		p->stats.repeated_part_headers++;	/* the caller refuses: DKIM signs the bytes, we read the first */
	keep_first(&p->ctype, "Content-Type", h, value);
	keep_first(&p->cdisp, "Content-Disposition", h, value);
	keep_first(&p->cte, "Content-Transfer-Encoding", h, value);
}

static void
header_flush(struct mime_parser *p)
{
	if (p->header_open) {
		if (p->header_drop)
			p->stats.dropped_headers++;
		else
			header_complete(p);
	}
	p->header_open = p->header_drop = 0;
	buf_reset(&p->header);
}

/* header_line - a non-empty line of a header block (already counted in block_bytes) */
static void
header_line(struct mime_parser *p, const char *s, size_t len)
{
	if (is_wsp(s[0])) {	/* continuation: unfolding drops the line break */
		if (!p->header_open && p->depth == 0)
			p->stats.malformed_headers++;	/* continues nothing */
		if (!p->header_open || p->header_drop)
			return;
		if (p->block_bytes > BLOCK_CAP || p->header.len + len > HEADER_CAP)
			p->header_drop = 1;
		else
			buf_append(&p->header, s, len);
		return;
	}
	header_flush(p);
	if (header_name_len(s, len) == 0) {
		if (p->depth == 0)
			p->stats.malformed_headers++;
		return;		/* not a header: skipped, ends nothing */
	}
	p->header_open = 1;
	if (++p->header_count > COUNT_CAP || p->block_bytes > BLOCK_CAP || len > HEADER_CAP)
		p->header_drop = 1;
	else
		buf_append(&p->header, s, len);
}

static void
headers_end(struct mime_parser *p)
{
	header_flush(p);
	if (p->depth == 0 && !p->headers_done) {
		p->headers_done = 1;
		if (p->cb->headers_done)
			p->cb->headers_done(p->ctx);
	}
	body_begin(p);
}

/* boundary_rest - after "--boundary": "--" for the close, then only whitespace */
static int
boundary_rest(const char *s, size_t len, int *closing)
{
	size_t i = 0;

	*closing = len >= 2 && s[0] == '-' && s[1] == '-';
	if (*closing)
		i = 2;
	for (; i < len; i++)
		if (!is_wsp(s[i]) && s[i] != '\r')
			return 0;
	return 1;
}

/* boundary_match - stack index of the boundary LINE is, innermost first; -1 if none */
static int
boundary_match(const struct mime_parser *p, const char *s, size_t len, int *closing)
{
	const struct boundary *b;
	int i;

	if (len < 2 || s[0] != '-' || s[1] != '-')
		return -1;
	for (i = p->nstack - 1; i >= 0; i--) {
		b = &p->stack[i];
		if (len - 2 >= b->len && memcmp(s + 2, b->text, b->len) == 0 &&
		    boundary_rest(s + 2 + b->len, len - 2 - b->len, closing))
			return i;
	}
	return -1;
}

/* boundary_seen - ends what is open below multipart IDX; inner multiparts were truncated */
static void
boundary_seen(struct mime_parser *p, int idx, int closing)
{
	if (p->state == ST_HEADERS)
		headers_end(p);	/* a part with no blank line: an empty body */
	part_end(p);
	while (p->nstack > idx + 1) {
		pop_boundary(p);
		p->stats.truncated_parts++;
	}
	if (closing) {
		pop_boundary(p);
		p->state = ST_SKIP;	/* the epilogue */
	} else {
		entity_begin(p, idx + 1);
	}
}

/* --- lines --------------------------------------------------------------- */

/* line_dispatch - one whole line: content S of LEN bytes, then EOL ("" at the end) */
static void
line_dispatch(struct mime_parser *p, const char *s, size_t len, const char *eol)
{
	int idx, closing;

	if (p->nstack > 0 && (idx = boundary_match(p, s, len, &closing)) >= 0) {
		boundary_seen(p, idx, closing);
		return;
	}
	switch (p->state) {
	case ST_HEADERS:
		p->block_bytes += len + strlen(eol);
		if (len == 0)
			headers_end(p);
		else
			header_line(p, s, len);
		break;
	case ST_BODY:
		emit_held(p);
		body_bytes(p, s, len);
		p->held_eol = *eol ? eol : NULL;
		break;
	case ST_SKIP:
		break;
	}
}

/* long_piece - N bytes of a line too long to inspect; FIRST if its start */
static void
long_piece(struct mime_parser *p, const char *s, size_t n, int first)
{
	if (p->state == ST_BODY) {
		if (first)
			emit_held(p);
		body_bytes(p, s, n);
	} else if (p->state == ST_HEADERS) {
		if (first && !(is_wsp(s[0]) && p->header_open)) {
			header_flush(p);
			p->header_open = 1;	/* counted as dropped when it ends */
			p->header_count++;
		}
		p->header_drop = 1;
		p->block_bytes += n;
	}
}

/* long_tail - the end of a long line: content S of LEN bytes, then EOL */
static void
long_tail(struct mime_parser *p, const char *s, size_t len, const char *eol)
{
	if (p->state == ST_BODY) {
		body_bytes(p, s, len);
		p->held_eol = *eol ? eol : NULL;
	} else if (p->state == ST_HEADERS) {
		p->block_bytes += len;
	}
}

/* line_overflow - the buffer is full and no line end: pass it on, keep a CR that may pair with LF */
static void
line_overflow(struct mime_parser *p)
{
	size_t keep = p->line[p->line_len - 1] == '\r';
	size_t n = p->line_len - keep;

	if (!p->long_line)
		p->stats.long_lines++;
	long_piece(p, p->line, n, !p->long_line);
	p->long_line = 1;
	memmove(p->line, p->line + n, keep);
	p->line_len = keep;
}

static void
line_end(struct mime_parser *p)
{
	size_t len = p->line_len - 1;
	const char *eol = "\n";

	if (len > 0 && p->line[len - 1] == '\r') {
		len--;
		eol = "\r\n";
	}
	if (p->long_line)
		long_tail(p, p->line, len, eol);
	else
		line_dispatch(p, p->line, len, eol);
	p->long_line = 0;
	p->line_len = 0;
}

/* --- the public face ----------------------------------------------------- */

struct mime_parser *
mime_parser_new(const struct mime_callbacks *cb, void *ctx)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));

	p->cb = cb;
	p->ctx = ctx;
	p->line = xmalloc(LINE_CAP);
	buf_init(&p->header);
	entity_begin(p, 0);
	return p;
}

void
mime_parser_feed(struct mime_parser *p, const char *data, size_t len)
{
	const char *nl;
	size_t n, room;

	if (p->finished)
		return;
	while (len > 0) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) + 1 : len;
		room = LINE_CAP - p->line_len;
		if (n > room)
			n = room;
		memcpy(p->line + p->line_len, data, n);
		p->line_len += n;
		data += n;
		len -= n;
		if (p->line_len > p->line_peak)
			p->line_peak = p->line_len;
		if (p->line[p->line_len - 1] == '\n')
			line_end(p);
		else if (p->line_len == LINE_CAP)
			line_overflow(p);
	}
	out_flush(p);		/* what arrived is delivered now */
}

void
mime_parser_finish(struct mime_parser *p)
{
	if (p->finished)
		return;
	if (p->long_line)
		long_tail(p, p->line, p->line_len, "");
	else if (p->line_len > 0)
		line_dispatch(p, p->line, p->line_len, "");
	p->line_len = 0;
	p->long_line = 0;
	if (p->state == ST_HEADERS)
		headers_end(p);
	if (p->in_part)
		emit_held(p);	/* no boundary came to claim it */
	part_end(p);
	while (p->nstack > 0) {
		pop_boundary(p);
		p->stats.truncated_parts++;
	}
	p->state = ST_SKIP;
	p->finished = 1;
}

const struct mime_stats *
mime_parser_stats(const struct mime_parser *p)
{
	return &p->stats;
}

size_t
mime_parser_line_peak(const struct mime_parser *p)
{
	return p->line_peak;
}

void
mime_parser_free(struct mime_parser *p)
{
	if (p == NULL)
		return;
	while (p->nstack > 0)
		pop_boundary(p);
	part_strings_free(p);
	free(p->ctype);
	free(p->cdisp);
	free(p->cte);
	buf_free(&p->header);
	free(p->line);
	free(p);
}
