/*
 * mime - a streaming (push) MIME parser
 *
 * The milter receives a message in chunks and the replay command reads files;
 * both push bytes into one parser, which walks headers and nested multiparts
 * and hands each leaf part's decoded body (base64, quoted-printable, 7bit,
 * 8bit, binary) to the caller chunk by chunk. Memory is bounded by the longest
 * line it must inspect (capped), never by the size of a part.
 *
 * Owns: the part stack, the boundary list, the decoder state.
 */
#ifndef SM_MIME_H
#define SM_MIME_H

#include <stddef.h>

struct mime_part {
	int depth;			/* 0 = the message itself */
	const char *content_type;	/* lowercased "type/subtype", default text/plain */
	const char *charset;		/* lowercased, or NULL */
	const char *filename;		/* from Content-Disposition filename or
					 * Content-Type name (RFC 2231 and 2047
					 * decoded, UTF-8), or NULL */
	const char *encoding;		/* lowercased Content-Transfer-Encoding or "7bit" */
};

struct mime_callbacks {
	/* each header of the top-level message, unfolded, value raw (not 2047-decoded) */
	void (*header)(void *ctx, const char *name, const char *value);
	/* end of the top-level header block */
	void (*headers_done)(void *ctx);
	/* a leaf (non-multipart) part begins; return non-zero to receive its body */
	int (*part_begin)(void *ctx, const struct mime_part *part);
	/* decoded body bytes of the current wanted part; not NUL-terminated */
	void (*part_data)(void *ctx, const char *data, size_t len);
	/* the current wanted part ended */
	void (*part_end)(void *ctx);
};

/* counts of damage seen, for the log and the result */
struct mime_stats {
	unsigned long bad_base64;	/* characters outside the base64 alphabet */
	unsigned long long_lines;	/* lines longer than the inspection cap */
	unsigned long truncated_parts;	/* multiparts without a closing boundary */
	unsigned long dropped_headers;	/* headers beyond the count/size caps */
	unsigned long parts;		/* leaf parts seen */
	unsigned long repeated_part_headers;	/* a part's Content-Type, -Disposition or
					 * -Transfer-Encoding given twice (the first is read) */
	unsigned long malformed_headers;	/* lines of the message's own header block that are
					 * neither a field ("Name: value") nor a continuation of
					 * one: skipped here, a field or an error to DKIM */
};

struct mime_parser;

/* the longest line the parser holds to look at; longer ones pass through in pieces */
#ifndef MIME_LINE_MAX
#define MIME_LINE_MAX	(64 * 1024)	/* a fuzzer may build with a small one */
#endif

struct mime_parser *mime_parser_new(const struct mime_callbacks *cb, void *ctx);
void mime_parser_feed(struct mime_parser *p, const char *data, size_t len);
void mime_parser_finish(struct mime_parser *p);	/* flushes, ends open parts */
const struct mime_stats *mime_parser_stats(const struct mime_parser *p);
void mime_parser_free(struct mime_parser *p);

/* mime_parser_line_peak - the most bytes the line buffer ever held (<= MIME_LINE_MAX); for tests */
size_t mime_parser_line_peak(const struct mime_parser *p);

/*
 * mime_decode_words - RFC 2047 decode of a header value into UTF-8 (caller
 * frees). Unknown charsets and malformed words are left as they are.
 */
char *mime_decode_words(const char *value);

/*
 * mime_header_param - value of parameter NAME in a structured header value
 * such as 'attachment; filename="x.csv"', with RFC 2231 continuations and
 * charset'lang'%XX encoding decoded to UTF-8, quotes removed. Caller frees;
 * NULL if absent.
 */
char *mime_header_param(const char *value, const char *name);

/* mime_header_token - the leading token ("multipart/mixed"), lowercased; caller frees */
char *mime_header_token(const char *value);

#endif
