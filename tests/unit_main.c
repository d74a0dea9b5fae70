/*
 * unit_main - runs every registered unit test and prints "N passed, N failed, N skipped"
 */
#include "test.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct test_case *tests, **tail = &tests;
int test_current_failed;
static const char *test_current_skipped;	/* SKIP's reason, or NULL */

void
test_register(struct test_case *tc)
{
	*tail = tc;
	tail = &tc->next;
}

void
test_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "  %s:%d: CHECK failed: %s\n", file, line, expr);
	test_current_failed = 1;
}

void
test_skip(const char *why)
{
	test_current_skipped = why;
}

const char *
test_srcdir(void)
{
	const char *d = getenv("SM_TEST_SRCDIR");

	return d ? d : "tests";
}

const char *
test_shared_dir(void)
{
	static char path[PATH_MAX];
	const char *d = getenv("SM_SHARED_DIR");
	struct stat st;

	snprintf(path, sizeof(path), "%s/reference/shadowserver", d ? d : "../shared");
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? path : NULL;
}

static char *tmproot;

static void
remove_tmproot(void)
{
	char cmd[PATH_MAX + 16];

	if (tmproot && getenv("SM_KEEP_TMP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmproot);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmproot);
	}
}

char *
test_tmpdir(void)
{
	static int seq;
	char *p;

	if (tmproot == NULL) {
		char tmpl[] = "/tmp/sm-unit-XXXXXX";

		if (mkdtemp(tmpl) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
		tmproot = strdup(tmpl);
		atexit(remove_tmproot);
	}
	p = malloc(strlen(tmproot) + 32);
	sprintf(p, "%s/t%d", tmproot, ++seq);
	if (mkdir(p, 0700) != 0) {
		perror("mkdir");
		exit(2);
	}
	return p;
}

char *
test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			data = realloc(data, cap + 1);
		}
		got = fread(data + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	data[n] = '\0';
	if (len)
		*len = n;
	return data;
}

void
test_write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fputs(data, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct test_case *tc;
	int passed = 0, failed = 0, skipped = 0;

	for (tc = tests; tc; tc = tc->next) {
		char full[256];

		snprintf(full, sizeof(full), "%s.%s", tc->suite, tc->name);
		if (argc > 1 && strstr(full, argv[1]) == NULL)
			continue;
		test_current_failed = 0;
		test_current_skipped = NULL;
		tc->fn();
		if (test_current_failed) {
			printf("FAIL %s\n", full);
			failed++;
		} else if (test_current_skipped) {
			printf("SKIP %s (%s)\n", full, test_current_skipped);
			skipped++;
		} else {
			printf("ok   %s\n", full);
			passed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
