/*
 * testmail - builds report mails for the tests.
 */
#include "testmail.h"
#include "test.h"
#include "testsign.h"

#include "config.h"
#include "pipeline.h"
#include "prefixmap.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

const char *const forged_authres[3] = {
	"mx.test.example; dkim/1=pass header.d=shadowserver.org",
	"mx.test.example; none; dkim=pass header.d=shadowserver.org",
	"mx.test.example; dkim=pass header.d=shadowserver.org foo",
};

char *
forged_authres_long(void)
{
	struct buf b = BUF_INIT;
	int i;

	buf_puts(&b, "mx.test.example; dkim=pass (");
	for (i = 0; i < 5000; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, ") header.d=shadowserver.org");
	return buf_steal(&b);
}

char *
testmail_base64_eol(const void *data, size_t len, const char *eol)
{
	const char *p = data;
	struct buf b = BUF_INIT;
	size_t i, n;

	for (i = 0; i < len; i += n) {	/* 57 bytes make a 76-column line */
		n = len - i < 57 ? len - i : 57;
		buf_base64(&b, p + i, n);
		buf_puts(&b, eol);
	}
	return buf_steal(&b);
}

char *
testmail_base64(const char *data, size_t len)
{
	return testmail_base64_eol(data, len, "\n");
}

static void
zip_member(struct archive *a, const char *name, const char *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_write_header(a, e);
	archive_write_data(a, data, len);
	archive_entry_free(e);
}

/* zip_of - NAMES[i] holding DATA[i], i < N */
static char *
zip_of(const char *const *names, const char *const *data, int n, size_t *ziplen)
{
	size_t cap = 4096, used = 0;
	struct archive *a = archive_write_new();
	char *out;
	int i;

	for (i = 0; i < n; i++)
		cap += strlen(data[i]) + 512;
	out = xmalloc(cap);
	archive_write_set_format_zip(a);
	archive_write_open_memory(a, out, cap, &used);
	for (i = 0; i < n; i++)
		zip_member(a, names[i], data[i], strlen(data[i]));
	archive_write_close(a);
	archive_write_free(a);
	*ziplen = used;
	return out;
}

char *
testmail_zip(const char *name, const char *data, size_t len, size_t *ziplen)
{
	char *copy = xstrndup(data, len), *zip;
	const char *names[1] = { name }, *datas[1] = { copy };

	zip = zip_of(names, datas, 1, ziplen);
	free(copy);
	return zip;
}

char *
testmail_zip2(const char *name1, const char *data1, const char *name2, const char *data2, size_t *ziplen)
{
	const char *names[2] = { name1, name2 }, *datas[2] = { data1, data2 };

	return zip_of(names, datas, 2, ziplen);
}

static void
add_attachment(struct buf *b, const struct testmail *tm)
{
	size_t n = strlen(tm->filename), ziplen;
	char *b64, *zip, *member;

	buf_printf(b, "--BOUNDARY\nContent-Type: application/octet-stream; name=\"%s\"\n"
	    "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"%s\"\n\n",
	    tm->filename, tm->filename);
	if (n > 4 && strcmp(tm->filename + n - 4, ".zip") == 0) {
		member = xstrndup(tm->filename, n - 4);
		zip = testmail_zip(member, tm->csv, strlen(tm->csv), &ziplen);
		b64 = testmail_base64(zip, ziplen);
		free(zip);
		free(member);
	} else
		b64 = testmail_base64(tm->csv, strlen(tm->csv));
	buf_puts(b, b64);
	free(b64);
}

char *
testmail_build(const struct testmail *tm)
{
	struct buf b = BUF_INIT;

	if (tm->authres)
		buf_printf(&b, "Authentication-Results: %s\n", tm->authres);
	if (tm->extra_headers)
		buf_puts(&b, tm->extra_headers);
	buf_printf(&b, "From: %s\nTo: abuse@example.net\nSubject: %s\n"
	    "Message-ID: <test.%p@shadowserver.org>\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n",
	    tm->from ? tm->from : "Shadowserver <autoreports@shadowserver.org>",
	    tm->subject ? tm->subject : "[Test] Shadowserver Test Open Portmapper Report: 2026-11-24",
	    (const void *)tm);
	buf_printf(&b, "--BOUNDARY\nContent-Type: text/plain\n\n%s\n",
	    tm->text ? tm->text : "Report attached.");
	if (tm->csv && tm->filename)
		add_attachment(&b, tm);
	buf_puts(&b, "--BOUNDARY--\n");
	if (tm->authres && strcmp(tm->authres, TRUSTED_AUTHRES) == 0) {
		char *signed_msg = testmail_sign(buf_cstr(&b), NULL);

		buf_free(&b);
		return signed_msg;
	}
	return buf_steal(&b);
}

const char *
test_key_file(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/fixtures/dkim/test.private", test_srcdir());
	return path;
}

const char *
test_public_keys(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/fixtures/dkim/keys", test_srcdir());
	return path;
}

char *
testmail_sign(const char *msg, const char *domain)
{
	struct testsign opt = { test_key_file(), domain, NULL, NULL, 0, 0, 0, 0 };
	char err[256], *out = testsign(msg, strlen(msg), &opt, err, sizeof(err));

	if (out == NULL) {
		fprintf(stderr, "testmail_sign: %s\n", err);
		abort();
	}
	return out;
}

struct config *
test_config(void)
{
	struct config *cfg = config_defaults();
	char err[256];

	if (config_set(cfg, "TrustedAuthservIDs", "mx.test.example", err, sizeof(err)) != 0 ||
	    config_set(cfg, "TestPublicKeys", test_public_keys(), err, sizeof(err)) != 0)
		abort();
	return cfg;
}

struct config *
test_catalogue_config(void)
{
	struct config *cfg = test_config();
	char err[512];

	if (config_load_catalogue(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s\n", err);
		abort();
	}
	return cfg;
}

struct prefixmap *
test_map(const char *csv)
{
	char *dir = test_tmpdir(), path[4096], err[512];
	struct prefixmap *map = prefixmap_new();

	snprintf(path, sizeof(path), "%s/customers.csv", dir);
	test_write_file(path, csv);
	if (prefixmap_load(map, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "test_map: %s\n", err);
		abort();
	}
	free(dir);
	return map;
}

struct pipeline_result *
test_run(const struct config *cfg, const struct prefixmap *map, const char *msg, size_t len, size_t chunk)
{
	struct pipeline *p = pipeline_new(cfg, map);
	struct pipeline_result *r = NULL;
	char err[512];
	size_t off;

	pipeline_set_now(p, 1795000000);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (off = 0; off < len; off += chunk)
		pipeline_feed(p, msg + off, len - off < chunk ? len - off : chunk);
	if (pipeline_finish(p, &r, err, sizeof(err)) != 0)
		fprintf(stderr, "test_run: %s\n", err);
	pipeline_free(p);
	return r;
}
