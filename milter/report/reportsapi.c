/*
 * reportsapi - ShadowServer's Reports API: signed calls over HTTPS
 *
 * See reportsapi.h.
 */
#include "report/reportsapi.h"
#include "base/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
reportsapi_hmac2(const char *secret, const char *body, size_t len, char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &n);
	for (i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[64] = '\0';
}

struct answer {
	struct buf b;
	size_t max;
	int too_large;
};

static size_t
on_answer(char *data, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;

	if (a->b.len + size * n > a->max) {
		a->too_large = 1;
		return 0;
	}
	buf_append(&a->b, data, size * n);
	return size * n;
}

/* json_escape_into - S as a JSON string's contents */
static void
json_escape_into(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
}

/* error_text - the "error" string of a JSON answer (its first 200 bytes, unescaped only of \"), or the answer */
static void
error_text(const char *answer, char *out, size_t outlen)
{
	const char *e = strstr(answer, "\"error\""), *v;
	size_t n = 0;

	if (e == NULL || (v = strchr(e + 7, '"')) == NULL) {
		snprintf(out, outlen, "%.200s", answer);
		return;
	}
	for (v++; *v && *v != '"' && n + 1 < outlen && n < 200; v++)
		out[n++] = (*v == '\\' && v[1]) ? *++v : (*v >= 0x20 ? *v : ' ');
	out[n] = '\0';
}

int
reportsapi_call(const struct reportsapi *api, const char *method, const char *fields, char **answer, char *why,
    size_t whylen)
{
	struct buf body = BUF_INIT, url = BUF_INIT, sig = BUF_INIT;
	struct answer a = { BUF_INIT, api->max_answer, 0 };
	struct curl_slist *hdrs = NULL;
	CURL *c = curl_easy_init();
	char hex[65], text[256];
	long status = 0;
	CURLcode rc;
	int ret = -1;

	*answer = NULL;
	buf_puts(&body, "{\"apikey\":\"");
	json_escape_into(&body, api->key);
	buf_printf(&body, "\"%s%s}", *fields ? "," : "", fields);
	reportsapi_hmac2(api->secret, body.data, body.len, hex);
	buf_printf(&sig, "HMAC2: %s", hex);
	buf_printf(&url, "%s%s", api->url, method);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, sig.data);
	if (c == NULL) {
		err_set(why, whylen, "cannot start a transfer");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, api->timeout);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body.len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "shadowmilter");
	if (api->ca_file && *api->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, api->ca_file);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (a.too_large)
		err_set(why, whylen, "%s: the answer is larger than %zu bytes", method, api->max_answer);
	else if (rc != CURLE_OK)
		err_set(why, whylen, "%s: %s", method, curl_easy_strerror(rc));
	else if (status != 200) {
		error_text(buf_cstr(&a.b), text, sizeof(text));
		err_set(why, whylen, "%s: HTTP %ld: %s", method, status, text);
	} else {
		*answer = buf_steal(&a.b);
		ret = 0;
	}
out:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	buf_free(&a.b);
	buf_free(&body);
	buf_free(&url);
	buf_free(&sig);
	return ret;
}

int
reportsapi_read_secret(const char *path, char **secret, char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char data[1024];
	ssize_t n;

	*secret = NULL;
	if (fd < 0) {
		err_set(why, whylen, "ReportsAPISecretFile %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || ((st.st_mode & 07777) != 0600 &&
	    (st.st_mode & 07777) != 0640)) {
		err_set(why, whylen, "ReportsAPISecretFile %s: not a regular file of mode 0600 or 0640", path);
		close(fd);
		return -1;
	}
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n <= 0) {
		err_set(why, whylen, "ReportsAPISecretFile %s: empty or unreadable", path);
		return -1;
	}
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	*secret = xstrndup(data, (size_t)n);
	return 0;
}
