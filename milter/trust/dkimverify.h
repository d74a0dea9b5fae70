/*
 * dkimverify - our own DKIM verification of report mail, with libopendkim
 *
 * SYNOPSIS
 *	struct dkim_keys *keys = dkim_keys_new(test_keys_file_or_NULL, dns_timeout, err, errlen);
 *	struct dkim_check *c = dkim_check_new(keys, "shadowserver.org", queue_id);
 *	dkim_check_feed(c, bytes, len);	... the message as it arrives
 *	dkim_check_finish(c, &verdict);	... PASS, FAIL, NONE or TEMPFAIL, with d=, s= and why
 *
 * DESCRIPTION
 *	The pipeline pushes every byte of a message through here exactly as
 *	the MTA handed it to the milter (or replay read it from a file): the
 *	header block, the blank line, the body. This module splits the header
 *	block into fields itself, keeping their folding (bare LF becomes CRLF,
 *	as libopendkim wants it), gives them to libopendkim, and streams the
 *	body after them. Nothing is decoded or unfolded on the way, so what is
 *	verified is what the MIME walk reads.
 *
 *	Only signatures whose d= is the report domain are looked at (at most a
 *	few; the others are ignored before any key is fetched, so a message
 *	cannot make us query DNS for strangers' keys). A signature counts only
 *	when all of these hold:
 *	  - it verifies (header and body hash) with a key from DNS or the
 *	    TestPublicKeys file, and is not expired or dated in the future;
 *	  - its algorithm is rsa-sha256 or ed25519-sha256 (rsa-sha1 is refused);
 *	  - its h= covers From;
 *	  - it has no l=, or an l= that covers the whole body: bytes past l=
 *	    are unsigned, and a signature that leaves any of the body unsigned
 *	    proves nothing about the attachment.
 *	A key lookup that failed (DNS timeout, SERVFAIL) is TEMPFAIL: the
 *	caller defers report mail rather than dropping a real report.
 *
 *	The caller decides whether the mail is a report (its one From address
 *	matches ReportSenders); this module says only who signed what.
 *
 * Owns: the libopendkim library handle (dkim_keys, shared by every message
 *	of one configuration, thread-safe as libopendkim is), the per-message
 *	verification handle and the header block held until it ends.
 */
#ifndef SM_DKIMVERIFY_H
#define SM_DKIMVERIFY_H

#include <stddef.h>

struct dkim_keys;
struct dkim_check;

enum dkim_outcome {
	DKIM_NONE,		/* no signature of the report domain */
	DKIM_PASS,		/* one signature of the domain meets every rule */
	DKIM_FAIL,		/* signatures of the domain, none good */
	DKIM_TEMPFAIL,		/* a key could not be fetched: try again later */
};

/* what a passing signature's h= covers of the headers that name a report */
#define DKIM_COVERS_MESSAGE_ID	0x1
#define DKIM_COVERS_SUBJECT	0x2
#define DKIM_COVERS_DATE	0x4

struct dkim_verdict {
	enum dkim_outcome outcome;
	unsigned covers;	/* PASS: DKIM_COVERS_* its h= lists, else 0 */
	char domain[128];	/* d= of the signature the verdict is about, or "" */
	char selector[128];	/* s= */
	char algorithm[32];	/* a= */
	char reason[256];	/* why it failed, or "" */
};

/*
 * dkim_keys_new - where public keys come from: TEST_KEYS (OpenDKIM's
 * TestPublicKeys format, "selector._domainkey.domain TXT-record" lines) or,
 * when NULL, DNS with a timeout of DNS_TIMEOUT seconds. NULL with ERR when
 * libopendkim cannot start or the file cannot be read.
 */
struct dkim_keys *dkim_keys_new(const char *test_keys, unsigned dns_timeout, char *err, size_t errlen);
void dkim_keys_free(struct dkim_keys *keys);

/* dkim_check_new - verify one message for signatures of DOMAIN; ID names it in libopendkim's errors */
struct dkim_check *dkim_check_new(const struct dkim_keys *keys, const char *domain, const char *id);
void dkim_check_free(struct dkim_check *c);

/* dkim_check_feed - message bytes in order, any chunking: header block, blank line, body */
void dkim_check_feed(struct dkim_check *c, const char *data, size_t len);

/*
 * dkim_check_headers - once the header block has ended: the verdict so far.
 * Keys are fetched and the header hashes checked at the end of the header
 * block, so a FAIL, NONE or TEMPFAIL here is final and the body need not be
 * read; a PASS still waits for the body hash. Returns 0 while the header
 * block has not ended yet.
 */
int dkim_check_headers(const struct dkim_check *c, struct dkim_verdict *v);

/* dkim_check_finish - end of message: the verdict */
void dkim_check_finish(struct dkim_check *c, struct dkim_verdict *v);

/*
 * dkim_check_signed_value - after dkim_check_finish gave a PASS: the value
 * of the NAME field that signature hashed (of several, the one DKIM took:
 * the last), unfolded and trimmed as the MIME walk reads a value; caller
 * frees. NULL when the signature does not cover a NAME field, or it was too
 * long to be told (over 4,000 bytes).
 */
char *dkim_check_signed_value(const struct dkim_check *c, const char *name);

/*
 * dkim_check_set_field_hook - before the first byte: FN gets each header
 * field as it is handed to libopendkim (folding kept as CRLF, no line end),
 * in order, when the header block ends. For the tests and the fuzz target
 * that hold DKIM's view of the block against the MIME walk's.
 */
typedef void (*dkim_field_fn)(void *ctx, const char *field, size_t len);
void dkim_check_set_field_hook(struct dkim_check *c, dkim_field_fn fn, void *ctx);

/* dkim_check_block_refused - the header block could not be handed over whole
 * (over HEADER_BLOCK_MAX, a NUL, a field libopendkim does not take): DKIM fails */
int dkim_check_block_refused(const struct dkim_check *c);

/* dkim_verdict_describe - "d=shadowserver.org s=mail a=rsa-sha256: body hash mismatch" */
void dkim_verdict_describe(const struct dkim_verdict *v, char *out, size_t outlen);

#endif
