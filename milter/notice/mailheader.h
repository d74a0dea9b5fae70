/*
 * mailheader - the one place that turns untrusted text into header fields
 *
 * Report fields (hostnames, account names, subjects) reach notice headers and
 * the tagged original. Everything headed for a header goes through here:
 * CR, LF and other control characters, Unicode line separators and the
 * invisible format characters (bidi controls, zero-width characters) are
 * dropped or become a space, invalid UTF-8 becomes '?',
 * non-ASCII is RFC 2047 encoded, and long lines are folded. Body values take
 * the same cleaning without the encoding.
 *
 * Owns: nothing.
 */
#ifndef SM_MAILHEADER_H
#define SM_MAILHEADER_H

#include <stddef.h>

struct buf;

/* text_clean - VALUE on one line: line breaks (also U+0085, U+2028/9) as one
 * space, without control and invisible format characters (bidi overrides and
 * isolates, zero-width characters), invalid UTF-8 as '?', at most MAX bytes
 * (cut on a character boundary); caller frees */
char *text_clean(const char *value, size_t max);

/* header_encode - a cleaned, RFC 2047 encoded (when needed) and folded value
 * for header NAME, without the "Name: " prefix and final newline; caller frees */
char *header_encode(const char *name, const char *value);

/* header_append - "Name: value\n" into MSG; NAME must be a literal token */
void header_append(struct buf *msg, const char *name, const char *value);

/* header_append_list - "Name: a, b\n" of N ITEMS (addresses) into MSG, folded
 * between items, never cut however many there are */
void header_append_list(struct buf *msg, const char *name, char *const *items, size_t n);

#endif
