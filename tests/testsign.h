/*
 * testsign - DKIM-signs a message with libopendkim, as a report sender would
 *
 * For the tests only: the unit tests sign the mails they build, and
 * build/dkimsign (tests/tools/dkimsign.c) signs fixtures for the shell
 * suites and the demo at run time, with the throwaway key in
 * tests/fixtures/dkim/ whose public half is in tests/fixtures/dkim/keys
 * (a TestPublicKeys file). No libmilter, no test harness: linkable anywhere.
 */
#ifndef SM_TESTSIGN_H
#define SM_TESTSIGN_H

#include <stddef.h>
#include <time.h>

struct testsign {
	const char *key_file;	/* PEM private key (required) */
	const char *domain;	/* d=, default shadowserver.org */
	const char *selector;	/* s=, default test */
	const char *algorithm;	/* "rsa-sha256" (default), "rsa-sha1" or "ed25519-sha256" */
	int simple;		/* c=simple/simple instead of relaxed/relaxed */
	long body_length;	/* l=: 0 none, -1 the whole body, else that many bytes */
	time_t when;		/* t= (0: now) */
	unsigned long ttl;	/* x= t + ttl (0: no x=) */
	const char *const *headers;	/* h=: the names a signer signs, NULL-ended, lowercase
					 * (NULL: From, To, Cc, Reply-To, Subject, Date, Message-ID,
					 * MIME-Version, Content-Type, Content-Transfer-Encoding) */
};

/*
 * testsign - MSG (LF or CRLF line ends) with a DKIM-Signature header put on
 * top, in MSG's line ends; caller frees. NULL with ERR on failure.
 */
char *testsign(const char *msg, size_t len, const struct testsign *opt, char *err, size_t errlen);

#endif
