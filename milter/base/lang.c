/*
 * lang - what a notice's language changes besides its templates
 *
 * See lang.h. One row per language; a language without a row gets the
 * fallback row: English words, ISO 8601 dates.
 */
#include "base/lang.h"
#include "base/util.h"

#include <string.h>

enum date_style { DATES_ISO, DATES_DOTS };	/* 2026-12-07; 07.12.2026 */

struct lang {
	const char *code;
	enum date_style style;
	const char *months[12];		/* NULL: long dates are ISO too */
	const char *long_day_suffix;	/* "7. Dezember": "." */
	const char *words[LANG_NWORDS];
	const char *severities[5];	/* critical, high, medium, low, info; NULL: as the catalogue has them */
};

static const char *const severity_names[5] = { "critical", "high", "medium", "low", "info" };

#define ENGLISH_WORDS { "from port", "your part of the listed network", "connections between", "and", \
	"ports", "was", "were", "is", "are", "has", "have", "it", "them", "Shadowserver report" }

static const struct lang langs[] = {
	{ "en", DATES_ISO, { "January", "February", "March", "April", "May", "June", "July", "August",
	    "September", "October", "November", "December" }, "", ENGLISH_WORDS, { NULL } },
	{ "de", DATES_DOTS, { "Januar", "Februar", "M\xc3\xa4rz", "April", "Mai", "Juni", "Juli", "August",
	    "September", "Oktober", "November", "Dezember" }, ".",
	    { "Quellport", "Ihr Teil des gemeldeten Netzes", "Verbindungen zwischen", "und", "Ports",
	    "wurde", "wurden", "ist", "sind", "hat", "haben", "ihn", "sie", "Shadowserver-Bericht" },
	    { "kritisch", "hoch", "mittel", "niedrig", "Info" } },
};

static const struct lang fallback = { "", DATES_ISO, { NULL }, "", ENGLISH_WORDS, { NULL } };

#define NLANGS (sizeof(langs) / sizeof(langs[0]))

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_alnum(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

int
lang_code_ok(const char *tag)
{
	size_t n = 0, m = 0;

	if (tag == NULL)
		return 0;
	while (is_alpha((unsigned char)tag[n]))
		n++;
	if (n < 2 || n > 3)
		return 0;
	if (tag[n] == '\0')
		return 1;
	if (tag[n] != '-' && tag[n] != '_')
		return 0;
	tag += n + 1;
	while (is_alnum((unsigned char)tag[m]))
		m++;
	return m >= 2 && m <= 8 && tag[m] == '\0';
}

void
lang_normalise(const char *tag, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	*out = '\0';
	if (!lang_code_ok(tag) || strlen(tag) >= outlen)
		return;
	for (i = 0; tag[i]; i++)
		out[i] = tag[i] == '_' ? '-' : (tag[i] >= 'A' && tag[i] <= 'Z') ? (char)(tag[i] + 32) : tag[i];
	out[i] = '\0';
}

const struct lang *
lang_get(const char *tag)
{
	char code[16];
	size_t i, primary;

	if (tag == NULL || *tag == '\0')
		return &langs[0];
	lang_normalise(tag, code, sizeof(code));
	primary = strcspn(code, "-");
	for (i = 0; primary && i < NLANGS; i++)
		if (strlen(langs[i].code) == primary && strncmp(langs[i].code, code, primary) == 0)
			return &langs[i];
	return &fallback;
}

const char *
lang_code(const struct lang *l)
{
	return l->code;
}

const char *
lang_word(const struct lang *l, enum lang_word w)
{
	return w < LANG_NWORDS ? l->words[w] : "";
}

const char *
lang_severity(const struct lang *l, const char *severity)
{
	size_t i;

	for (i = 0; l->severities[0] && i < 5; i++)
		if (ascii_strcasecmp(severity, severity_names[i]) == 0)
			return l->severities[i];
	return severity;
}

static void
utc(time_t t, struct tm *tm)
{
	gmtime_r(&t, tm);
}

static void
date_of(const struct lang *l, const struct tm *tm, struct buf *out)
{
	if (l->style == DATES_DOTS)
		buf_printf(out, "%02d.%02d.%04d", tm->tm_mday, tm->tm_mon + 1, tm->tm_year + 1900);
	else
		buf_printf(out, "%04d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
}

void
lang_date(const struct lang *l, time_t t, struct buf *out)
{
	struct tm tm;

	utc(t, &tm);
	date_of(l, &tm, out);
}

void
lang_long_date(const struct lang *l, time_t t, struct buf *out)
{
	struct tm tm;

	utc(t, &tm);
	if (l->months[0] == NULL)
		date_of(l, &tm, out);
	else
		buf_printf(out, "%d%s %s %d", tm.tm_mday, l->long_day_suffix, l->months[tm.tm_mon],
		    tm.tm_year + 1900);
}

void
lang_date_minute(const struct lang *l, time_t t, struct buf *out)
{
	struct tm tm;

	utc(t, &tm);
	date_of(l, &tm, out);
	buf_printf(out, " %02d:%02d", tm.tm_hour, tm.tm_min);
}

void
lang_time(const struct lang *l, time_t t, struct buf *out)
{
	struct tm tm;

	utc(t, &tm);
	date_of(l, &tm, out);
	buf_printf(out, " %02d:%02d:%02d UTC", tm.tm_hour, tm.tm_min, tm.tm_sec);
}
