/*
 * identity - which report a mail is, from what its signature covers
 *
 * See identity.h. The relaxed body canonicalization (RFC 6376 3.4.4) is
 * hand-rolled here (about 40 lines) rather than asked of libopendkim: the
 * library computes a body hash only for a signature it is verifying or
 * making, and the reference must be the same with VerifyDKIM no and with
 * replay --trust-saved, where no signature is verified.
 */
#include "trust/identity.h"
#include "base/util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct identity {
	EVP_MD_CTX *md;
	int in_body;			/* the header block's empty line was seen */
	int line_empty;			/* header block: nothing but a CR on this line so far */
	int line_started;		/* body: the line has a byte other than space or tab */
	int wsp;			/* body: spaces or tabs wait for the next byte */
	unsigned long empty_lines;	/* body: empty lines wait for a non-empty one */
	int finished;
};

struct identity *
identity_new(void)
{
	struct identity *id = xcalloc(1, sizeof(*id));

	if ((id->md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(id->md, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "shadowmilter: libcrypto cannot start SHA-256 (out of memory)\n");
		abort();	/* as util.c's allocators: nothing sensible goes on */
	}
	id->line_empty = 1;
	return id;
}

void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	EVP_MD_CTX_free(id->md);
	free(id);
}

static void
put(struct identity *id, const void *data, size_t len)
{
	EVP_DigestUpdate(id->md, data, len);
}

/* header_bytes - up to and past the empty line; the rest of DATA's LEN is the body's */
static size_t
header_bytes(struct identity *id, const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && !id->in_body; i++) {
		if (data[i] == '\n') {
			id->in_body = id->line_empty;
			id->line_empty = 1;
		} else if (data[i] != '\r')
			id->line_empty = 0;
	}
	return i;
}

/* body_byte - one byte of the body, canonicalized as it goes */
static void
body_byte(struct identity *id, char c)
{
	if (c == '\r')
		return;		/* line ends are CRLF however they came */
	if (c == '\n') {
		if (id->line_started)
			put(id, "\r\n", 2);
		else
			id->empty_lines++;	/* dropped if no other line follows */
		id->line_started = id->wsp = 0;
		return;
	}
	if (c == ' ' || c == '\t') {
		id->wsp = 1;
		return;
	}
	for (; id->empty_lines > 0; id->empty_lines--)
		put(id, "\r\n", 2);
	if (id->wsp)
		put(id, " ", 1);
	put(id, &c, 1);
	id->line_started = 1;
	id->wsp = 0;
}

void
identity_feed(struct identity *id, const char *data, size_t len)
{
	size_t i = id->in_body ? 0 : header_bytes(id, data, len);

	if (id->finished)
		return;
	for (; i < len; i++)
		body_byte(id, data[i]);
}

char *
identity_ref(struct identity *id, const char *const *files, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, k;
	struct buf b = BUF_INIT;
	size_t i;

	if (!id->finished && id->line_started)
		put(id, "\r\n", 2);	/* a last line without its line end */
	id->finished = 1;
	put(id, "\0files", 6);		/* no canonical body holds a NUL before a CRLF end */
	for (i = 0; i < n; i++) {
		char len[24];

		snprintf(len, sizeof(len), "\n%zu:", strlen(files[i]));
		put(id, len, strlen(len));
		put(id, files[i], strlen(files[i]));
	}
	EVP_DigestFinal_ex(id->md, md, &mdlen);
	buf_puts(&b, "sha256:");
	for (k = 0; k < 16 && k < mdlen; k++)
		buf_printf(&b, "%02x", md[k]);
	return buf_steal(&b);
}
