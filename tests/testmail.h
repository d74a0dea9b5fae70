/*
 * testmail - builds report mails for the tests: headers, a CSV attachment
 * (plain or zipped with libarchive, base64 encoded), and runs the pipeline.
 */
#ifndef SM_TESTMAIL_H
#define SM_TESTMAIL_H

#include <stddef.h>

struct config;
struct prefixmap;
struct pipeline_result;

struct testmail {
	const char *authres;	/* Authentication-Results value, or NULL; TRUSTED_AUTHRES
				 * also DKIM-signs the mail (d=shadowserver.org, the throwaway
				 * test key), so an authentic test mail is authentic in both
				 * modes: VerifyDKIM yes (the default) and no */
	const char *from;	/* default "Shadowserver <autoreports@shadowserver.org>" */
	const char *subject;	/* default a portmapper subject */
	const char *filename;	/* attachment name; ".zip" suffix zips it */
	const char *csv;	/* attachment content (NULL: no attachment) */
	const char *text;	/* text part; default a short note */
	const char *extra_headers;	/* verbatim lines, each ending "\n" */
};

#define TRUSTED_AUTHRES "mx.test.example; dkim=pass header.d=shadowserver.org header.s=mail"

/* the forged Authentication-Results of issue 9, all claiming mx.test.example:
 * "dkim/1=pass", "none; dkim=pass", "... foo"; and (built) a pass with a
 * 5,000-character comment. OpenDKIM cannot parse them and leaves them in place. */
extern const char *const forged_authres[3];
char *forged_authres_long(void);	/* caller frees */

/* testmail_build - the message as text (caller frees) */
char *testmail_build(const struct testmail *tm);

/* a file of a report: its name (as ShadowServer names it) and its CSV text */
struct testmail_file {
	const char *name;
	const char *csv;
};

#define TESTREPORT_FILES 4

/*
 * testreport - a report mail as it comes from ShadowServer through the MTA:
 * CRLF line ends, DKIM-signed with the test key (d=shadowserver.org) and
 * TRUSTED_AUTHRES on top, so it is authentic with VerifyDKIM yes and no.
 * Set the fields by name; what is left out takes the default.
 */
struct testreport {
	const char *from;	/* default "Shadowserver <autoreports@shadowserver.org>" */
	const char *date;	/* YYYY-MM-DD, in the subject and the zip's name; default 2026-11-24 */
	const char *message_id;	/* without the <>; NULL: no Message-ID */
	int zip;		/* all files in one zip ("DATE-reports.csv.zip"); else each attached as it is */
	struct testmail_file files[TESTREPORT_FILES];	/* up to the first without a name */
};

/* testreport_build - the message as text (caller frees) */
char *testreport_build(const struct testreport *tr);

/* testmail_base64_eol - base64 (util's buf_base64) in lines of 76 columns,
 * each ended by EOL ("\n" or "\r\n"); caller frees */
char *testmail_base64_eol(const void *data, size_t len, const char *eol);

/* testmail_base64 - the same with "\n" */
char *testmail_base64(const char *data, size_t len);

/* testmail_sign - MSG DKIM-signed with the test key for DOMAIN (NULL: shadowserver.org); caller frees */
char *testmail_sign(const char *msg, const char *domain);

/* testmail_sign_headers - MSG signed with the test key for shadowserver.org with
 * h= the NULL-ended lowercase HEADERS (what a signer may leave unsigned); caller frees */
char *testmail_sign_headers(const char *msg, const char *const *headers);

/*
 * testmail_signed_report - a report mail from autoreports@shadowserver.org,
 * LF line ends: HEADERS (lines ending "\n", e.g. its Subject, Date and
 * Message-ID, as the test wants them), a text part and the CSV attachment
 * NAME, DKIM-signed with h= SIGNED (NULL: testsign's default list); caller frees
 */
char *testmail_signed_report(const char *headers, const char *name, const char *csv,
    const char *const *signed_headers);

/* testmail_disguise - MSG with its first NAME header line replaced by LINE
 * ("Name: value\n"), or LINE put on top when MSG has no NAME line: the
 * replay of a signed mail under another header; caller frees */
char *testmail_disguise(const char *msg, const char *name, const char *line);

/* test_key_file, test_public_keys - the throwaway key pair in tests/fixtures/dkim/ */
const char *test_key_file(void);
const char *test_public_keys(void);

/* test_config - defaults (VerifyDKIM yes) + TestPublicKeys tests/fixtures/dkim/keys +
 * TrustedAuthservIDs mx.test.example + the shipped templates */
struct config *test_config(void);

/* test_catalogue_config - test_config with the shipped catalogue loaded */
struct config *test_catalogue_config(void);

/* test_map - a prefixmap from CSV text (header included) */
struct prefixmap *test_map(const char *csv);

/* test_run - the pipeline over MSG fed in CHUNK-sized pieces (0: whole) */
struct pipeline_result *test_run(const struct config *cfg, const struct prefixmap *map, const char *msg,
    size_t len, size_t chunk);

#endif
