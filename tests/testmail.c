/*
 * testmail - builds report mails for the tests.
 */
#include "testmail.h"
#include "test.h"
#include "testsign.h"

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

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

/* attach - an attachment NAME holding DATA, base64 */
static void
attach(struct buf *b, const char *name, const char *data, size_t len)
{
	char *b64 = testmail_base64(data, len);

	buf_printf(b, "--BOUNDARY\nContent-Type: application/octet-stream; name=\"%s\"\n"
	    "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"%s\"\n\n", name, name);
	buf_puts(b, b64);
	free(b64);
}

/* attach_zip - an attachment NAME: a zip of FILES[i], i < N */
static void
attach_zip(struct buf *b, const char *name, const struct testmail_file *files, int n)
{
	const char *names[TESTREPORT_FILES], *data[TESTREPORT_FILES];
	size_t ziplen;
	char *zip;
	int i;

	for (i = 0; i < n; i++) {
		names[i] = files[i].name;
		data[i] = files[i].csv;
	}
	zip = zip_of(names, data, n, &ziplen);
	attach(b, name, zip, ziplen);
	free(zip);
}

/* head - the header and the text part, up to the attachments */
static void
head(struct buf *b, const char *authres, const char *extra_headers, const char *from, const char *subject,
    const char *message_id, const char *text)
{
	if (authres)
		buf_printf(b, "Authentication-Results: %s\n", authres);
	if (extra_headers)
		buf_puts(b, extra_headers);
	buf_printf(b, "From: %s\nTo: abuse@example.net\nSubject: %s\n",
	    from ? from : "Shadowserver <autoreports@shadowserver.org>", subject);
	if (message_id)
		buf_printf(b, "Message-ID: <%s>\n", message_id);
	buf_printf(b, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n"
	    "--BOUNDARY\nContent-Type: text/plain\n\n%s\n", text ? text : "Report attached.");
}

char *
testmail_build(const struct testmail *tm)
{
	struct buf b = BUF_INIT, id = BUF_INIT;

	buf_printf(&id, "test.%p@shadowserver.org", (const void *)tm);
	/* a Message-ID among the extra headers is the mail's one: a second is refused */
	head(&b, tm->authres, tm->extra_headers, tm->from,
	    tm->subject ? tm->subject : "[Test] Shadowserver Test Open Portmapper Report: 2026-11-24",
	    tm->extra_headers && strcasestr(tm->extra_headers, "Message-ID:") ? NULL : id.data, tm->text);
	buf_free(&id);
	if (tm->csv && tm->filename) {
		size_t n = strlen(tm->filename);

		if (n > 4 && strcmp(tm->filename + n - 4, ".zip") == 0) {	/* NAME.zip holds NAME */
			char *member = xstrndup(tm->filename, n - 4);
			struct testmail_file f = { member, tm->csv };

			attach_zip(&b, tm->filename, &f, 1);
			free(member);
		} else
			attach(&b, tm->filename, tm->csv, strlen(tm->csv));
	}
	buf_puts(&b, "--BOUNDARY--\n");
	if (tm->authres && strcmp(tm->authres, TRUSTED_AUTHRES) == 0) {
		char *signed_msg = testmail_sign(buf_cstr(&b), NULL);

		buf_free(&b);
		return signed_msg;
	}
	return buf_steal(&b);
}

char *
testreport_build(const struct testreport *tr)
{
	const char *date = tr->date ? tr->date : "2026-11-24";
	struct buf b = BUF_INIT, subject = BUF_INIT, zip = BUF_INIT, crlf = BUF_INIT;
	const char *p;
	char *signed_msg;
	int n = 0, i;

	while (n < TESTREPORT_FILES && tr->files[n].name)
		n++;
	buf_printf(&subject, "[Example] Shadowserver Example Report: %s", date);
	head(&b, TRUSTED_AUTHRES, NULL, tr->from, subject.data, tr->message_id, NULL);
	if (tr->zip) {
		buf_printf(&zip, "%s-reports.csv.zip", date);
		attach_zip(&b, zip.data, tr->files, n);
	} else
		for (i = 0; i < n; i++)
			attach(&b, tr->files[i].name, tr->files[i].csv, strlen(tr->files[i].csv));
	buf_puts(&b, "--BOUNDARY--\n");
	for (p = buf_cstr(&b); *p; p++) {	/* as the MTA hands it over */
		if (*p == '\n')
			buf_putc(&crlf, '\r');
		buf_putc(&crlf, *p);
	}
	signed_msg = testmail_sign(buf_cstr(&crlf), NULL);
	buf_free(&b);
	buf_free(&subject);
	buf_free(&zip);
	buf_free(&crlf);
	return signed_msg;
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
	struct testsign opt = { .key_file = test_key_file(), .domain = domain };
	char err[256], *out = testsign(msg, strlen(msg), &opt, err, sizeof(err));

	if (out == NULL) {
		fprintf(stderr, "testmail_sign: %s\n", err);
		abort();
	}
	return out;
}

char *
testmail_sign_headers(const char *msg, const char *const *headers)
{
	struct testsign opt = { .key_file = test_key_file(), .headers = headers };
	char err[256], *out = testsign(msg, strlen(msg), &opt, err, sizeof(err));

	if (out == NULL) {
		fprintf(stderr, "testmail_sign_headers: %s\n", err);
		abort();
	}
	return out;
}

char *
testmail_signed_report(const char *headers, const char *name, const char *csv, const char *const *signed_headers)
{
	struct buf b = BUF_INIT;
	char *out;

	buf_printf(&b, "From: Shadowserver <autoreports@shadowserver.org>\nTo: abuse@example.net\n%s", headers);
	buf_puts(&b, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n"
	    "--BOUNDARY\nContent-Type: text/plain\n\nReport attached.\n");
	attach(&b, name, csv, strlen(csv));
	buf_puts(&b, "--BOUNDARY--\n");
	out = signed_headers ? testmail_sign_headers(buf_cstr(&b), signed_headers) : testmail_sign(buf_cstr(&b), NULL);
	buf_free(&b);
	return out;
}

char *
testmail_disguise(const char *msg, const char *name, const char *line)
{
	const char *end = strstr(msg, "\n\n"), *at = msg, *eol;
	size_t n = strlen(name);
	struct buf b = BUF_INIT;

	for (; at && at < end; at = strchr(at, '\n') ? strchr(at, '\n') + 1 : NULL)
		if (ascii_strncasecmp(at, name, n) == 0 && at[n] == ':')
			break;
	if (at == NULL || at >= end) {
		buf_puts(&b, line);
		buf_puts(&b, msg);
		return buf_steal(&b);
	}
	eol = strchr(at, '\n');
	buf_append(&b, msg, (size_t)(at - msg));
	buf_puts(&b, line);
	buf_puts(&b, eol + 1);
	return buf_steal(&b);
}

struct config *
test_config(void)
{
	struct config *cfg = config_new();
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
