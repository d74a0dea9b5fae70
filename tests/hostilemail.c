/*
 * hostilemail - the memory-exhaustion mails of issue 17, built at run time
 *
 * See hostilemail.h.
 */
#include "hostilemail.h"
#include "testsign.h"

#include "base/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADERS								\
	"From: Shadowserver <autoreports@shadowserver.org>\r\n"		\
	"To: abuse@example.net\r\n"					\
	"Subject: [Example] Shadowserver Example Report: 2026-11-24\r\n"	\
	"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"			\
	"Message-ID: <hostile.1@shadowserver.org>\r\n"			\
	"MIME-Version: 1.0\r\n"						\
	"Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n"
#define TEXT_PART "--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nReports attached.\r\n"

/* base64_part - an attachment NAME holding DATA, base64 in 76 columns */
static void
base64_part(struct buf *b, const char *name, const void *data, size_t len)
{
	const char *p = data;
	size_t i, n;

	buf_printf(b, "--BOUNDARY\r\nContent-Type: application/octet-stream; name=\"%s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"%s\"\r\n\r\n",
	    name, name);
	for (i = 0; i < len; i += n) {
		n = len - i < 57 ? len - i : 57;
		buf_base64(b, p + i, n);
		buf_puts(b, "\r\n");
	}
}

/* zip_open - a zip written to memory of CAP bytes */
static struct archive *
zip_open(char *out, size_t cap, size_t *used)
{
	struct archive *a = archive_write_new();

	if (a == NULL || archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_open_memory(a, out, cap, used) != ARCHIVE_OK)
		abort();
	return a;
}

static void
zip_entry(struct archive *a, const char *name, size_t size)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		fprintf(stderr, "hostilemail: zip: %s\n", archive_error_string(a));
		abort();
	}
	archive_entry_free(e);
}

static void
zip_data(struct archive *a, const char *data, size_t len)
{
	if (archive_write_data(a, data, len) != (la_ssize_t)len) {
		fprintf(stderr, "hostilemail: zip: %s\n", archive_error_string(a));
		abort();
	}
}

static void
zip_close(struct archive *a)
{
	if (archive_write_close(a) != ARCHIVE_OK) {
		fprintf(stderr, "hostilemail: zip: %s\n", archive_error_string(a));
		abort();
	}
	archive_write_free(a);
}

/* member - the name and two-line CSV of member I */
static void
member(unsigned i, char *name, size_t namelen, char *csv, size_t csvlen)
{
	snprintf(name, namelen, "2026-11-24-scan_portmapper-m%u.csv", i);
	snprintf(csv, csvlen, "timestamp,ip,port\n2026-11-24 10:00:00,192.0.2.%u,111\n", i % 256);
}

static void
members_body(struct buf *b, unsigned members, int zipped)
{
	size_t cap = 65536 + (size_t)members * 512, used = 0;
	char name[64], csv[64], *zip;
	struct archive *a;
	unsigned i;

	buf_puts(b, TEXT_PART);
	if (!zipped) {
		for (i = 0; i < members; i++) {
			member(i, name, sizeof(name), csv, sizeof(csv));
			base64_part(b, name, csv, strlen(csv));
		}
		return;
	}
	a = zip_open(zip = xmalloc(cap), cap, &used);
	archive_write_zip_set_compression_store(a);	/* deflate's set-up per member is slow */
	for (i = 0; i < members; i++) {
		member(i, name, sizeof(name), csv, sizeof(csv));
		zip_entry(a, name, strlen(csv));
		zip_data(a, csv, strlen(csv));
	}
	zip_close(a);
	base64_part(b, "2026-11-24-reports.csv.zip", zip, used);
	free(zip);
}

#define PREFIX_LEN 31	/* "2026-11-24 10:00:00,192.0.2.NNN" */

static void
wide_body(struct buf *b, unsigned columns, unsigned rows)
{
	size_t rowlen = 40 + columns, size, cap, used = 0;
	char *line = xmalloc(rowlen + 1), *zip;
	struct buf head = BUF_INIT;
	struct archive *a;
	unsigned i;
	int n;

	buf_puts(&head, "timestamp,ip");
	for (i = 2; i < columns; i++)
		buf_printf(&head, ",c%u", i);
	buf_puts(&head, "\n");
	size = head.len + (size_t)rows * (PREFIX_LEN + (columns - 2) + 1);
	cap = size / 64 + (1 << 20);
	a = zip_open(zip = xmalloc(cap), cap, &used);
	zip_entry(a, "2026-11-24-scan_portmapper-wide.csv", size);
	zip_data(a, head.data, head.len);
	memset(line, ',', rowlen);
	for (i = 0; i < rows; i++) {
		n = snprintf(line, rowlen, "2026-11-24 10:00:00,192.0.2.%03u", i % 256);
		line[n] = ',';
		line[PREFIX_LEN + (columns - 2)] = '\n';
		zip_data(a, line, PREFIX_LEN + (columns - 2) + 1);
	}
	zip_close(a);
	buf_puts(b, TEXT_PART);
	base64_part(b, "2026-11-24-scan_portmapper-wide.csv.zip", zip, used);
	free(zip);
	free(line);
	buf_free(&head);
}

/* finish - HOSTILE's body under signed headers: the genuine small report's
 * signature kept (SWAP_BODY), or its own */
static char *
finish(struct buf *hostile, const char *key_file, int swap_body, size_t *len)
{
	struct testsign opt = { .key_file = key_file };
	struct buf genuine = BUF_INIT, out = BUF_INIT;
	char err[256], *signed_msg, *end;

	buf_puts(hostile, "--BOUNDARY--\r\n");
	if (swap_body) {
		buf_puts(&genuine, HEADERS "\r\n" TEXT_PART);
		base64_part(&genuine, "2026-11-24-scan_portmapper-one.csv", "ip,port\n192.0.2.1,111\n", 22);
		buf_puts(&genuine, "--BOUNDARY--\r\n");
	} else
		buf_puts(&genuine, buf_cstr(hostile));
	if ((signed_msg = testsign(genuine.data, genuine.len, &opt, err, sizeof(err))) == NULL) {
		fprintf(stderr, "hostilemail: %s\n", err);
		abort();
	}
	if (swap_body) {
		end = strstr(signed_msg, "\r\n\r\n") + 4;
		buf_append(&out, signed_msg, (size_t)(end - signed_msg));
		buf_append(&out, hostile->data + strlen(HEADERS) + 2, hostile->len - strlen(HEADERS) - 2);
		free(signed_msg);
		signed_msg = buf_steal(&out);
	}
	*len = strlen(signed_msg);
	buf_free(&genuine);
	buf_free(hostile);
	return signed_msg;
}

char *
hostile_members_mail(unsigned members, int zipped, const char *key_file, int swap_body, size_t *len)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, HEADERS "\r\n");
	members_body(&b, members, zipped);
	return finish(&b, key_file, swap_body, len);
}

char *
hostile_wide_mail(unsigned columns, unsigned rows, const char *key_file, int swap_body, size_t *len)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, HEADERS "\r\n");
	wide_body(&b, columns, rows);
	return finish(&b, key_file, swap_body, len);
}
