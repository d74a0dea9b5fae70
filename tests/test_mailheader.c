/*
 * test_mailheader - header lines built from untrusted text: no CR/LF or
 * controls get through, non-ASCII is RFC 2047 encoded, long ones fold
 */
#include "test.h"

#include "notice/mailheader.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

TEST(mailheader, control_characters_never_reach_a_header)
{
	struct buf b = BUF_INIT;

	header_append(&b, "Subject", "hello\r\nBcc: victim@evil.example\x01\x7f");
	CHECK_STR(buf_cstr(&b), "Subject: hello Bcc: victim@evil.example\n");
	buf_free(&b);
}

TEST(mailheader, non_ascii_is_rfc2047_encoded)
{
	struct buf b = BUF_INIT;

	header_append(&b, "Subject", "Caf\xC3\xA9");
	CHECK_STR(buf_cstr(&b), "Subject: =?UTF-8?B?Q2Fmw6k=?=\n");
	buf_free(&b);
}

TEST(mailheader, invalid_utf8_becomes_question_marks)
{
	char *s = text_clean("a\xC3(b\xFF", 100);

	CHECK_STR(s, "a?(b?");
	free(s);
}

TEST(mailheader, long_subjects_fold_at_spaces)
{
	struct buf b = BUF_INIT;
	const char *p;
	size_t longest = 0, len;

	header_append(&b, "Subject", "ACTION REQUIRED: One or more of your Example Hosting VPSes has an open "
	    "portmapper service and several other words to make it long");
	for (p = b.data; *p; p += len + 1) {
		len = strcspn(p, "\n");
		if (len > longest)
			longest = len;
		if (p[len] == '\0')
			break;
	}
	CHECK(longest <= 78);
	CHECK(strstr(b.data, "\n ") != NULL);
	buf_free(&b);
}
