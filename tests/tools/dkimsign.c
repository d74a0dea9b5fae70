/*
 * dkimsign - sign a mail for the tests and the demo
 *
 *	dkimsign -k KEY [-d DOMAIN] [-s SELECTOR] [-a rsa-sha256|rsa-sha1] [-l] [-S] < in > out
 *
 * Reads a message on stdin and writes it with a DKIM-Signature header on
 * top (libopendkim, through tests/testsign.c): -l adds l= for the whole
 * body, -S uses simple/simple canonicalization instead of relaxed/relaxed.
 * The shell suites and `make demo` sign their fixtures with it and the
 * throwaway key in tests/fixtures/dkim/, so shadowmilter verifies them with
 * its defaults (VerifyDKIM yes) and TestPublicKeys tests/fixtures/dkim/keys.
 */
#include "testsign.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct testsign opt = { 0 };
	struct buf in = BUF_INIT;
	char chunk[65536], err[512], *out;
	size_t n;
	int c;

	while ((c = getopt(argc, argv, "k:d:s:a:lS")) != -1)
		switch (c) {
		case 'k': opt.key_file = optarg; break;
		case 'd': opt.domain = optarg; break;
		case 's': opt.selector = optarg; break;
		case 'a': opt.algorithm = optarg; break;
		case 'l': opt.body_length = -1; break;
		case 'S': opt.simple = 1; break;
		default:
			fprintf(stderr, "usage: dkimsign -k KEY [-d DOMAIN] [-s SELECTOR] [-a ALG] [-l] [-S] < in > out\n");
			return 2;
		}
	if (opt.key_file == NULL) {
		fprintf(stderr, "dkimsign: -k KEY is required\n");
		return 2;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_append(&in, chunk, n);
	if ((out = testsign(buf_cstr(&in), in.len, &opt, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dkimsign: %s\n", err);
		return 1;
	}
	fputs(out, stdout);
	free(out);
	buf_free(&in);
	return fflush(stdout) == 0 ? 0 : 1;
}
