/*
 * lang - what a notice's language changes besides its templates: how its
 * dates are written, and the few words the program itself puts into it
 *
 * A language is a tag as a customer's data gives it ("de", "DE", "de-AT",
 * "de_DE"); lang_get takes the table's entry for its primary subtag, else
 * English words with ISO 8601 dates (a site may ship templates in a language
 * this table does not know: its dates then read the same in every language).
 *
 * Dates come from a table of month names per language, never from
 * strftime(3) and setlocale(3): a locale must be installed to be used (a
 * stock Debian has C.UTF-8 only), and setlocale is global to a threaded
 * milter. The same notice renders the same on every host.
 *
 * Owns: the static tables.
 */
#ifndef SM_LANG_H
#define SM_LANG_H

#include <stddef.h>
#include <time.h>

struct buf;

/* a word the program writes into a notice (not a template's) */
enum lang_word {
	LANG_FROM_PORT,		/* "192.0.2.5 (from port 49431/TCP)" */
	LANG_LISTED_PART,	/* "198.51.100.8/29 (your part of the listed network ...)" */
	LANG_CONNECTIONS,	/* "192.0.2.5 (3 connections between 09:14 and 09:16 UTC)" */
	LANG_AND,
	LANG_PORTS,		/* "192.0.2.10 (ports 111/udp, 2049/tcp)" */
	LANG_WAS, LANG_WERE,	/* the overdue paragraph: one service, several */
	LANG_IS, LANG_ARE,
	LANG_HAS, LANG_HAVE,
	LANG_IT, LANG_THEM,
	LANG_REPORT,		/* a type nobody knows: 'Shadowserver report "x"' */
	LANG_NWORDS
};

struct lang;

/* lang_code_ok - TAG is a language tag we take: 2-3 letters, then an
 * optional "-" or "_" and 2-8 letters or digits ("de", "de-AT") */
int lang_code_ok(const char *tag);

/* lang_normalise - TAG lowercased with "_" as "-" into OUT ("" when not
 * lang_code_ok or too long for OUT): the form directory names use */
void lang_normalise(const char *tag, char *out, size_t outlen);

/* lang_get - TAG's entry (NULL or "" for English) */
const struct lang *lang_get(const char *tag);

/* lang_code - the entry's code: "en", "de", or "" for the fallback */
const char *lang_code(const struct lang *l);

const char *lang_word(const struct lang *l, enum lang_word w);

/* lang_severity - a catalogue severity ("high") as the language says it
 * ("hoch"); any other text as it is */
const char *lang_severity(const struct lang *l, const char *severity);

/* lang_column - the heading a notice prints for report column COLUMN (an
 * event's evidence, "infection: ..."): the language's word from the one
 * table of column headings ("Infektion"), else COLUMN as the report names it
 * (always so in English) */
const char *lang_column(const struct lang *l, const char *column);

/* lang_date - T's UTC date: "2026-12-07" (English), "07.12.2026" (German) */
void lang_date(const struct lang *l, time_t t, struct buf *out);

/* lang_long_date - "7 December 2026", "7. Dezember 2026"; ISO without a month table */
void lang_long_date(const struct lang *l, time_t t, struct buf *out);

/* lang_time - "2026-12-07 09:14:00 UTC", "07.12.2026 09:14:00 UTC" */
void lang_time(const struct lang *l, time_t t, struct buf *out);

/* lang_date_minute - lang_time to the minute, without "UTC" */
void lang_date_minute(const struct lang *l, time_t t, struct buf *out);

#endif
