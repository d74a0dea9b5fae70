/*
 * regex - a thin owner of compiled pcre2 patterns
 *
 * Patterns come from the config; matching runs on hostile header text, so a
 * match limit bounds backtracking.
 *
 * Owns: the pcre2 code and a match context (the limits) per pattern. Each
 * match allocates its own match data, so the daemon's threads share one
 * compiled pattern.
 */
#ifndef SM_REGEX_H
#define SM_REGEX_H

#include <stddef.h>

struct regex;

/* regex_compile - NULL with the pcre2 message and offset in ERR */
struct regex *regex_compile(const char *pattern, char *err, size_t errlen);
void regex_free(struct regex *re);
const char *regex_pattern(const struct regex *re);

/*
 * regex_match - 1 if SUBJECT matches, 0 if not, -1 on a matching error
 * (limit hit). When CAPTURE is non-NULL and the pattern has a group 1, its
 * text (malloc'd) is stored there.
 */
int regex_match(const struct regex *re, const char *subject, char **capture);

#endif
