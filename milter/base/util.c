/*
 * util - allocators that never return NULL and a length-tracked string buffer
 *
 * See util.h. Allocation failure is not recoverable in a mail filter that
 * must answer the MTA; we abort loudly instead of limping on.
 */
#include "base/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static void
out_of_memory(size_t size)
{
	fprintf(stderr, "shadowmilter: out of memory allocating %zu bytes\n", size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(nmemb * size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);
	return xrealloc(ptr, nmemb * size);
}

/*
 * The big allocators: a table of tens of megabytes built at once (the
 * customer map's trie) is mapped with huge pages advised, which saves the
 * page faults of first touch (a quarter of a 1M-prefix map load). Under
 * AddressSanitizer they are plain calloc/realloc, so that its checks still
 * cover these tables.
 */
#if defined(__SANITIZE_ADDRESS__)
#define BIG_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_PLAIN 1
#endif
#endif

#ifdef BIG_PLAIN
void *
xbigalloc(size_t size)
{
	return xcalloc(1, size);
}

void *
xbigrealloc(void *ptr, size_t old, size_t size)
{
	char *p = xrealloc(ptr, size);

	if (size > old)
		memset(p + old, 0, size - old);
	return p;
}

void
xbigfree(void *ptr, size_t size)
{
	(void)size;
	free(ptr);
}
#else
static void
big_advise(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
	if (size >= BIG_HUGE_MIN)
		madvise(p, size, MADV_HUGEPAGE);	/* advice: without it, plain pages */
#else
	(void)p;
	(void)size;
#endif
}

void *
xbigalloc(size_t size)
{
	void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		out_of_memory(size);
	big_advise(p, size);
	return p;
}

void *
xbigrealloc(void *ptr, size_t old, size_t size)
{
	void *p;

	if (ptr == NULL)
		return xbigalloc(size);
	if ((p = mremap(ptr, old ? old : 1, size ? size : 1, MREMAP_MAYMOVE)) == MAP_FAILED)
		out_of_memory(size);
	big_advise(p, size);
	return p;
}

void
xbigfree(void *ptr, size_t size)
{
	if (ptr != NULL)
		munmap(ptr, size ? size : 1);
}
#endif

int
utc_time(int y, int mo, int d, int h, int mi, int sec, time_t *out)
{
	struct tm tm;

	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return 0;
}

const char *
log_quote(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[n++] = (c < ' ' || c == 0x7f) ? '?' : (char)c;
	}
	if (i < len && n + 3 < outlen)
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	if (outlen)
		out[n] = '\0';
	return out;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		out_of_memory(SIZE_MAX);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	if (b->cap < 64)
		b->cap = 64;
	while (b->cap < need)
		b->cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
	b->data = xrealloc(b->data, b->cap);
}

void
buf_append(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	buf_append(b, &ch, 1);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
buf_base64(struct buf *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		buf_putc(out, b64[p[i] >> 2]);
		buf_putc(out, b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		buf_putc(out, b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)]);
		buf_putc(out, b64[p[i + 2] & 63]);
	}
	if (n - i == 1) {
		buf_putc(out, b64[p[i] >> 2]);
		buf_putc(out, b64[(p[i] & 3) << 4]);
		buf_puts(out, "==");
	} else if (n - i == 2) {
		buf_putc(out, b64[p[i] >> 2]);
		buf_putc(out, b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		buf_putc(out, b64[(p[i + 1] & 15) << 2]);
		buf_putc(out, '=');
	}
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *
buf_cstr(struct buf *b)
{
	return b->data ? b->data : "";
}

char *
buf_steal(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");

	buf_init(b);
	return s;
}

void
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int
ascii_strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);

		if (ca != cb || ca == 0)
			return ca - cb;
	}
	return 0;
}

int
ascii_strcasecmp(const char *a, const char *b)
{
	return ascii_strncasecmp(a, b, SIZE_MAX);
}

char *
ascii_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

int
duration_parse(const char *value, unsigned long *out)
{
	static const struct { char unit; unsigned long seconds; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
	};
	unsigned long long v;
	char *end;
	size_t i;

	if (strcmp(value, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || v == 0 || v > 100000 || end[0] == '\0' || end[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ascii_strncasecmp(end, &units[i].unit, 1) == 0) {
			*out = (unsigned long)v * units[i].seconds;
			return 0;
		}
	return -1;
}
