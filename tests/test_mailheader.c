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

TEST(mailheader, bidi_zero_width_and_unicode_line_breaks_never_reach_the_text)
{
	/* U+202E RLO, U+2066 LRI, U+2069 PDI, U+200B ZWSP, U+FEFF BOM, U+2060 WJ,
	 * U+0085 NEL, U+2028 LS, U+2029 PS */
	char *s = text_clean("a\xE2\x80\xAE" "b\xE2\x81\xA6" "c\xE2\x81\xA9" "d\xE2\x80\x8B" "e\xEF\xBB\xBF"
	    "f\xE2\x81\xA0" "g\xC2\x85" "h\xE2\x80\xA8" "i\xE2\x80\xA9" "j", 100);

	CHECK_STR(s, "abcdefg h i j");
	free(s);
}

TEST(mailheader, a_right_to_left_override_is_not_encoded_into_a_header)
{
	char *v = header_encode("Subject", "exe.\xE2\x80\xAEgpj");

	CHECK_STR(v, "exe.gpj");
	free(v);
}
