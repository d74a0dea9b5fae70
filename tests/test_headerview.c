/*
 * test_headerview - the MIME walk, the report checks and DKIM see one header
 * block (issue 17, findings 2 and 3): a block over the one limit is "not a
 * report (header block too large)", and a deciding header given twice is
 * refused, however far down the second one is.
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n";
static const char *CSV = "timestamp,ip,port\n2026-11-24 10:00:00,192.0.2.1,111\n";

/* signed_from_jane - a mail shadowserver.org signed for jane@, with a CSV,
 * CRLF line ends, and PREPEND put above its signature */
static char *
signed_with_prepended(const char *from, const char *prepend, unsigned pad, size_t padlen)
{
	struct testmail tm = { NULL, from, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	char *msg = testmail_build(&tm), *sig = testmail_sign(msg, NULL);
	struct buf b = BUF_INIT;
	unsigned i;
	size_t j;

	buf_puts(&b, prepend);
	for (i = 0; i < pad; i++) {
		buf_printf(&b, "X-Pad-%u: ", i);
		for (j = 0; j < padlen; j++)
			buf_putc(&b, 'a' + (char)(j % 26));
		buf_puts(&b, "\n");
	}
	buf_puts(&b, sig);
	free(msg);
	free(sig);
	return buf_steal(&b);
}

static struct pipeline_result *
run(char *msg)
{
	static struct config *cfg;
	static struct prefixmap *map;
	struct pipeline_result *r;

	if (cfg == NULL) {
		cfg = test_config();
		map = test_map(MAP);
	}
	r = test_run(cfg, map, msg, strlen(msg), 4096);
	free(msg);
	return r;
}

/* the review's mail: a second From and Content-Type on top, 280 x 950 bytes of padding */
TEST(headerview, padded_block_with_a_prepended_from_is_refused)
{
	struct pipeline_result *r = run(signed_with_prepended("Jane <jane@shadowserver.org>",
	    "From: Shadowserver <autoreports@shadowserver.org>\nContent-Type: multipart/mixed; boundary=\"X\"\n",
	    280, 950));

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	CHECK(strstr(r->reason, "not a report") != NULL);
	pipeline_result_free(r);
}

/* over the one limit: no partial view, whatever the rest says */
TEST(headerview, block_over_the_limit_is_not_a_report)
{
	struct pipeline_result *r = run(signed_with_prepended(NULL, "", 1200, 950));

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	CHECK_STR(r->reason, "not a report (header block too large)");
	pipeline_result_free(r);
}

/* a genuine report under a padded block within the limit is still read */
TEST(headerview, padded_block_within_the_limit_is_read)
{
	struct pipeline_result *r = run(signed_with_prepended(NULL, "", 280, 950));

	REQUIRE(r != NULL);
	CHECK(r->authenticated);
	CHECK_INT(r->nreports, 1);
	pipeline_result_free(r);
}

TEST(headerview, prepended_subject_is_refused)
{
	struct pipeline_result *r = run(signed_with_prepended(NULL,
	    "Subject: [Example] Shadowserver Example Open Memcached Report: 2026-11-24\n", 0, 0));

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	CHECK(strstr(r->reason, "a second Subject header") != NULL);
	pipeline_result_free(r);
}

TEST(headerview, prepended_message_id_is_refused)
{
	struct pipeline_result *r = run(signed_with_prepended(NULL, "Message-ID: <fresh.1@evil.example>\n", 0, 0));

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	CHECK(strstr(r->reason, "a second Message-ID header") != NULL);
	pipeline_result_free(r);
}

TEST(headerview, prepended_date_and_mime_version_are_refused)
{
	struct pipeline_result *r = run(signed_with_prepended(NULL, "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "Date: Tue, 2 Jan 2024 00:00:00 +0000\n", 0, 0));

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK(strstr(r->reason, "a second Date header") != NULL);
	pipeline_result_free(r);
	r = run(signed_with_prepended(NULL, "MIME-Version: 1.0\n", 0, 0));
	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK(strstr(r->reason, "a second MIME-Version header") != NULL);
	pipeline_result_free(r);
}

/* the same rule in the part that carries the report */
TEST(headerview, part_with_a_second_content_type_is_refused)
{
	struct testmail tm = { NULL, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	char *msg = testmail_build(&tm), *at = strstr(msg, "Content-Transfer-Encoding: base64\n");
	struct buf b = BUF_INIT;
	struct pipeline_result *r;

	REQUIRE(at != NULL);
	buf_append(&b, msg, (size_t)(at - msg));
	buf_puts(&b, "Content-Type: text/plain\n");
	buf_puts(&b, at);
	r = run(testmail_sign(buf_cstr(&b), NULL));
	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	CHECK(strstr(r->reason, "a part gives Content-Type") != NULL);
	pipeline_result_free(r);
	buf_free(&b);
	free(msg);
}

/* a line that is no header field: DKIM takes "X Pad: 1" as a field, the MIME
 * walk would skip it; the two views of the block would differ, so neither is read */
TEST(headerview, a_line_that_is_not_a_header_field_is_refused)
{
	struct pipeline_result *r = run(signed_with_prepended(NULL, "X Pad: 1\n", 0, 0));

	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	CHECK_STR(r->reason, "not a report (a line in the header block is not a header field)");
	pipeline_result_free(r);
}

/* block_of - the signed mail under N padding fields, its header block BYTES long (LF line ends) */
static char *
block_of(size_t bytes, unsigned n)
{
	char *msg = signed_with_prepended(NULL, "", 0, 0);
	size_t own = (size_t)(strstr(msg, "\n\n") + 1 - msg), pad = bytes - own, each = pad / n, i, len;
	struct buf b = BUF_INIT;

	for (i = 0; i < n; i++) {
		len = i + 1 < n ? each : pad - each * (n - 1);	/* the last takes the rest */
		buf_puts(&b, "X-Pad: ");
		for (len -= strlen("X-Pad: ") + 1; len > 0; len--)
			buf_putc(&b, 'p');
		buf_putc(&b, '\n');
	}
	buf_puts(&b, msg);
	free(msg);
	return buf_steal(&b);
}

/* one limit in bytes as they came: a block of LF lines just within it is read
 * by both (DKIM counted two bytes a line end and refused it), one byte over by neither */
TEST(headerview, the_limit_counts_line_ends_as_they_came_in_both_views)
{
	struct pipeline_result *r = run(block_of(HEADER_BLOCK_MAX, 900));

	REQUIRE(r != NULL);
	CHECK(r->authenticated);
	CHECK_INT(r->nreports, 1);
	pipeline_result_free(r);
	r = run(block_of(HEADER_BLOCK_MAX + 1, 900));
	REQUIRE(r != NULL);
	CHECK(!r->authenticated);
	CHECK_STR(r->reason, "not a report (header block too large)");
	pipeline_result_free(r);
}
