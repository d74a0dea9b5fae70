/*
 * regex - a thin owner of compiled pcre2 patterns
 *
 * Each match allocates its own match data, so one compiled pattern can be
 * shared by the daemon's threads.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "base/regex.h"
#include "base/util.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

struct regex {
	pcre2_code *code;
	pcre2_match_context *mctx;
	char *pattern;
};

struct regex *
regex_compile(const char *pattern, char *err, size_t errlen)
{
	struct regex *re;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE offset;
	int code;
	pcre2_code *c;

	c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
	    &code, &offset, NULL);
	if (c == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		err_set(err, errlen, "bad regular expression \"%s\" at offset %zu: %s",
		    pattern, (size_t)offset, (char *)msg);
		return NULL;
	}
	re = xcalloc(1, sizeof(*re));
	re->code = c;
	re->pattern = xstrdup(pattern);
	re->mctx = pcre2_match_context_create(NULL);
	if (re->mctx == NULL)
		abort();
	/* hostile subjects must not make a pattern run away */
	pcre2_set_match_limit(re->mctx, 100000);
	pcre2_set_depth_limit(re->mctx, 1000);
	return re;
}

void
regex_free(struct regex *re)
{
	if (re == NULL)
		return;
	pcre2_code_free(re->code);
	pcre2_match_context_free(re->mctx);
	free(re->pattern);
	free(re);
}

const char *
regex_pattern(const struct regex *re)
{
	return re->pattern;
}

int
regex_match(const struct regex *re, const char *subject, char **capture)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	PCRE2_SIZE *ov;
	int rc;

	if (md == NULL)
		abort();
	rc = pcre2_match(re->code, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, re->mctx);
	if (rc < 0) {
		pcre2_match_data_free(md);
		return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
	}
	if (capture) {
		*capture = NULL;
		ov = pcre2_get_ovector_pointer(md);
		if (rc >= 2 && ov[2] != PCRE2_UNSET)
			*capture = xstrndup(subject + ov[2], ov[3] - ov[2]);
	}
	pcre2_match_data_free(md);
	return 1;
}
