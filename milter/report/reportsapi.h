/*
 * reportsapi - ShadowServer's Reports API: signed calls over HTTPS
 *
 * Every call is an HTTPS POST to ReportsAPIURL + method ("test/ping",
 * "reports/list", ...) with a JSON body that carries "apikey"; the HMAC2
 * header is the hex HMAC-SHA256 of the exact body bytes, keyed with the
 * secret. An error comes back as a non-200 status with a JSON "error".
 *
 * The HMAC is OpenSSL's (libcrypto): libcurl is linked against the same
 * library already (libcurl4-openssl-dev), so this adds no new dependency,
 * only its name on the link line.
 *
 * Owns: the answer it returns.
 */
#ifndef SM_REPORTSAPI_H
#define SM_REPORTSAPI_H

#include <stddef.h>

struct reportsapi {
	const char *url;		/* ReportsAPIURL, ending in "/" */
	const char *key;		/* ReportsAPIKey */
	const char *secret;		/* the contents of ReportsAPISecretFile */
	const char *ca_file;		/* CAFile, or NULL */
	long timeout;			/* FetchTimeout, seconds */
	size_t max_answer;		/* bytes of an answer kept at most */
};

/* reportsapi_hmac2 - HEX (65 bytes) = hex HMAC-SHA256 of BODY[0..LEN) keyed with SECRET */
void reportsapi_hmac2(const char *secret, const char *body, size_t len, char hex[65]);

/*
 * reportsapi_call - POST METHOD with the JSON object members FIELDS (without
 * braces, e.g. "\"date\":\"2026-11-24\"", or "" for none; "apikey" is added):
 * 0 with the answer's body in *ANSWER (caller frees), or -1 with WHY - the
 * transfer's failure, or the HTTP status and the answer's "error" text.
 */
int reportsapi_call(const struct reportsapi *api, const char *method, const char *fields, char **answer,
    char *why, size_t whylen);

/* reportsapi_read_secret - the secret in PATH (mode 0600 or 0640, a regular file, not a
 * symlink), trailing newline dropped: 0 with *SECRET (caller frees), or -1 with WHY */
int reportsapi_read_secret(const char *path, char **secret, char *why, size_t whylen);

#endif
