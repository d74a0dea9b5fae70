/*
 * test_reportsapi - the Reports API's HMAC2 over known bytes, and its secret file
 * (the calls themselves run against the test ShadowServer: tests/e2e/test-fetch.sh)
 */
#include "test.h"

#include "report/reportsapi.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TEST(reportsapi, hmac2_is_hex_hmac_sha256_of_the_exact_body)
{
	static const char body[] = "{\"apikey\":\"KEY\",\"date\":\"2024-07-04\"}";
	char hex[65];

	/* RFC 4231 test case 2 */
	reportsapi_hmac2("Jefe", "what do ya want for nothing?", 28, hex);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* a body as the API gets it (the value Python's hmac module gives); one byte less, another */
	reportsapi_hmac2("secret", body, strlen(body), hex);
	CHECK_STR(hex, "1c4872659446baa6509ecbeb4057ab7002d76a538fe4588010290d5e0fea6179");
	reportsapi_hmac2("secret", body, strlen(body) - 1, hex);
	CHECK(strcmp(hex, "1c4872659446baa6509ecbeb4057ab7002d76a538fe4588010290d5e0fea6179") != 0);
}

TEST(reportsapi, the_secret_file_must_be_0600_or_0640)
{
	char *dir = test_tmpdir(), path[512], *secret = NULL, why[256];

	snprintf(path, sizeof(path), "%s/secret", dir);
	test_write_file(path, "s3cret\n");
	chmod(path, 0600);
	REQUIRE(reportsapi_read_secret(path, &secret, why, sizeof(why)) == 0);
	CHECK_STR(secret, "s3cret");
	free(secret);
	chmod(path, 0640);
	CHECK(reportsapi_read_secret(path, &secret, why, sizeof(why)) == 0);
	free(secret);
	chmod(path, 0644);
	CHECK(reportsapi_read_secret(path, &secret, why, sizeof(why)) != 0);
	CHECK(strstr(why, "0600 or 0640") != NULL);
	free(dir);
}
