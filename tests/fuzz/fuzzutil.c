/*
 * fuzzutil - what the libFuzzer targets in tests/fuzz/ share
 *
 * See fuzzutil.h.
 */
#include "fuzzutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[4096];

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
remove_tmpdir(void)
{
	if (*tmpdir)
		nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (*tmpdir)
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s/shadowmilter-fuzz-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		abort();
	}
	atexit(remove_tmpdir);
	return tmpdir;
}

void
fuzz_path(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", fuzz_tmpdir(), name);
}

void
fuzz_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

void
fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "INVARIANT BROKEN: %s\n", what);
	if (detail)
		fprintf(stderr, "---\n%s\n---\n", detail);
	abort();
}

int
fuzz_header_value_safe(const char *value)
{
	const unsigned char *p;

	for (p = (const unsigned char *)value; *p; p++) {
		if (*p == '\n') {
			if (p[1] != ' ' && p[1] != '\t')
				return 0;
		} else if ((*p < ' ' && *p != '\t') || *p == 0x7f)
			return 0;
	}
	return 1;
}

/* a header line: a field name of printable ASCII other than ':', then ':' */
static int
field_line(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len && line[i] != ':'; i++)
		if (line[i] <= ' ' || line[i] > '~')
			return 0;
	return i > 0 && i < len;
}

int
fuzz_message_headers_safe(const char *msg)
{
	const char *line = msg, *nl;
	const unsigned char *p;

	for (;;) {
		size_t len;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (len == 0)
			return nl != NULL;	/* the blank line ends the header block */
		if (line[0] == ' ' || line[0] == '\t') {
			if (line == msg)
				return 0;	/* a continuation of nothing */
		} else if (!field_line(line, len))
			return 0;
		for (p = (const unsigned char *)line; p < (const unsigned char *)line + len; p++)
			if ((*p < ' ' && *p != '\t') || *p == 0x7f)
				return 0;
		if (nl == NULL)
			return 0;		/* no body separator */
		line = nl + 1;
	}
}
