/*
 * util - allocators that never return NULL and a length-tracked string buffer
 *
 * Every module assembles text from hostile input; `struct buf` is the one
 * growable buffer they use instead of strcat/sprintf into fixed arrays.
 * The x* allocators abort with a message on exhaustion so callers never check
 * for NULL.
 *
 * Owns: nothing global.
 */
#ifndef SM_UTIL_H
#define SM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);

/* xbigalloc - SIZE zeroed bytes of their own mapping, huge pages advised
 * from BIG_HUGE_MIN; grown with xbigrealloc (the old size given), freed
 * with xbigfree (the size given) */
#define BIG_HUGE_MIN (2 * 1024 * 1024)
void *xbigalloc(size_t size);
void *xbigrealloc(void *ptr, size_t old, size_t size);
void xbigfree(void *ptr, size_t size);
char *xstrndup(const char *s, size_t n);

struct buf {
	char *data;	/* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/*
 * HEADER_BLOCK_MAX - the one limit on a message's header block that the
 * MIME walk (report/mime.c), the report checks and DKIM (trust/dkimverify.c)
 * share, the milter's MaxHeaderBytes default too: a block over it is "not a
 * report (header block too large)", never a partial view.
 */
#ifndef HEADER_BLOCK_MAX
#define HEADER_BLOCK_MAX (1024 * 1024)	/* the fuzz build takes a small one (Makefile) */
#endif

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
const char *buf_cstr(struct buf *b);	/* "" for an empty buffer */
char *buf_steal(struct buf *b);		/* caller frees; buffer is reset */
/* buf_base64 - DATA as base64 (RFC 4648, padded), no line breaks: the one encoder */
void buf_base64(struct buf *b, const void *data, size_t len);

/* err_set - format an error message into a caller-owned buffer (may be NULL) */
void err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* log_quote - S (LEN bytes) shortened to fit OUT ("..."), control bytes as '?': safe in a log line */
const char *log_quote(const char *s, size_t len, char *out, size_t outlen);

/* utc_time - the moment Y-MO-D H:MI:SEC UTC (years 1970 to 9999, a leap second allowed); 0, or -1 */
int utc_time(int y, int mo, int d, int h, int mi, int sec, time_t *out);

/* ascii helpers that ignore the locale */
int ascii_strcasecmp(const char *a, const char *b);
int ascii_strncasecmp(const char *a, const char *b, size_t n);
char *ascii_trim(char *s);	/* strips leading/trailing space and tab in place */

/* duration_parse - "0", or a number from 1 to 100000 with s, m, h, d or w ("12h",
 * "7d") into seconds; 0, or -1 for anything else */
int duration_parse(const char *value, unsigned long *out);

#endif
