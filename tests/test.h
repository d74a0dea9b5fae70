/*
 * test - a small self-registering unit test harness
 *
 * TEST(suite, name) defines a test; CHECK(cond) records a failure with file
 * and line and carries on; REQUIRE(cond) fails and leaves the test; SKIP(why)
 * leaves a test that cannot run here (what it needs is missing), which then
 * counts as skipped, not passed (a failure recorded before it still fails).
 * The runner (tests/unit_main.c) runs every test, or those whose "suite.name"
 * contains argv[1], and ends with "N passed, N failed, N skipped".
 */
#ifndef SM_TEST_H
#define SM_TEST_H

#include <stdio.h>
#include <string.h>

struct test_case {
	const char *suite;
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *tc);
void test_fail(const char *file, int line, const char *expr);
void test_skip(const char *why);
extern int test_current_failed;

#define TEST(suite, name)						\
	static void test_##suite##_##name(void);			\
	static struct test_case tc_##suite##_##name =			\
	    { #suite, #name, test_##suite##_##name, NULL };		\
	__attribute__((constructor)) static void			\
	reg_##suite##_##name(void)					\
	{ test_register(&tc_##suite##_##name); }			\
	static void test_##suite##_##name(void)

#define CHECK(cond)							\
	do { if (!(cond)) test_fail(__FILE__, __LINE__, #cond); } while (0)
#define REQUIRE(cond)							\
	do { if (!(cond)) { test_fail(__FILE__, __LINE__, #cond); return; } } while (0)
#define SKIP(why)							\
	do { test_skip(why); return; } while (0)
#define CHECK_STR(a, b)							\
	do { const char *a_ = (a), *b_ = (b);				\
	     if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {	\
		test_fail(__FILE__, __LINE__, #a " == " #b);		\
		fprintf(stderr, "    got: \"%s\"\n    want: \"%s\"\n",	\
		    a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } } while (0)
#define CHECK_INT(a, b)							\
	do { long long a_ = (long long)(a), b_ = (long long)(b);	\
	     if (a_ != b_) { test_fail(__FILE__, __LINE__, #a " == " #b); \
		fprintf(stderr, "    got: %lld want: %lld\n", a_, b_); } } while (0)

/* helpers for tests */
const char *test_srcdir(void);		/* the tests/ directory */
const char *test_shared_dir(void);	/* ../shared/reference/shadowserver or NULL */
char *test_tmpdir(void);		/* fresh directory, removed at exit */
char *test_read_file(const char *path, size_t *len);	/* NULL if missing */
void test_write_file(const char *path, const char *data);

#endif
