/*
 * test_fuzzfound - one regression test per bug the fuzz targets found
 *
 * Each test names the target that found the bug and replays the smallest
 * input that showed it, through the same function; the ASan pass of make
 * check turns a relapse into a failure even where the plain build would not
 * notice.
 */
#include "test.h"

#include "mailheader.h"

#include <stdlib.h>
#include <string.h>

/* fuzz_headers: a header name longer than a folded line made fold_ascii read
 * past the end of an empty value (strchr(p + 1)) */
TEST(fuzzfound, header_encode_with_a_name_longer_than_a_line)
{
	char name[100], *v;

	memset(name, 'z', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	v = header_encode(name, "");
	CHECK_STR(v, "");
	free(v);
	v = header_encode(name, "x");
	CHECK_STR(v, "x");
	free(v);
	v = header_encode(name, "a b");
	CHECK(v != NULL && strstr(v, "a") != NULL && strchr(v, '\r') == NULL);
	free(v);
}
