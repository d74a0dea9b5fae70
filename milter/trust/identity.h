/*
 * identity - which report a mail is, from what its signature covers
 *
 * SYNOPSIS
 *	struct identity *id = identity_new();
 *	identity_feed(id, bytes, len);		... the whole message, as it comes
 *	char *ref = identity_ref(id, files, nfiles);
 *	identity_free(id);
 *
 * DESCRIPTION
 *	A report's reference is its Message-ID only when the DKIM signature
 *	covers it (the caller decides that, dkimverify.h). Otherwise it is
 *	this: a digest of the body, canonicalized as DKIM's "relaxed" body
 *	canonicalization does (line ends as CRLF, runs of spaces and tabs as
 *	one space, none at a line end, no empty lines at the end), then of the
 *	report file names in order. Whatever a signature tolerates (relaxed is
 *	the loosest canonicalization), and any header, leaves the digest as it
 *	was: the same report replayed under a fresh Message-ID, Subject or
 *	Date, with LF or CRLF line ends, in any chunking, is the same report.
 *	A changed body is another report, and fails its body hash anyway.
 *
 *	The header block is skipped up to its first empty line, found here
 *	(a line of nothing or of a CR alone), as the MIME walk and DKIM find it.
 *
 * Owns: the running SHA-256 (OpenSSL's libcrypto) and the canonicalizer's state.
 */
#ifndef SM_IDENTITY_H
#define SM_IDENTITY_H

#include <stddef.h>

struct identity;

struct identity *identity_new(void);
void identity_free(struct identity *id);

/* identity_feed - message bytes in order, any chunking: header block, blank line, body */
void identity_feed(struct identity *id, const char *data, size_t len);

/* identity_ref - "sha256:" and 32 hex digits: the body as fed, then FILES[0..N)
 * (the report file names, in the mail's order); caller frees. Ends the feed. */
char *identity_ref(struct identity *id, const char *const *files, size_t n);

#endif
