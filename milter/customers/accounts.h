/*
 * accounts - each customer account's own choices: language, Cc, what to
 * notify, how often, digest
 *
 * AccountSettings names a table (tablesource.h: a CSV file, sqlite:PATH or
 * postgresql://... with AccountSettingsQuery, exec:/PATH ARGS) keyed by the
 * column account. Every other column is optional, and so is every value
 * (empty: the default):
 *
 *   language   the notices' language, "de" (letters, digits, '-', '_';
 *              stored lower case); empty: the default (English)
 *   cc         extra recipients in Cc (a reseller), separated by ';', ','
 *              or blanks; each a bare addr-spec, as the map's email
 *   notify     all (default), action (only what needs action), none, or a
 *              list of report types and severities (critical, high,
 *              medium, low, info) whose notices are withheld
 *   renotify   an interval ("12h", "7d", "0", or "never") that overrides
 *              RenotifyInterval for this account
 *   digest     per-type (default) or daily
 *
 * A bad value or an account given twice fails the whole load, naming the
 * line or row, as a bad row of the map does: the caller keeps what it has.
 * An account without a row has every default (accounts_lookup: NULL).
 *
 * A loaded table is immutable; lookups need no locking. A refresh builds a
 * new table and the caller swaps it in (cmd/runtime.c).
 *
 * Library code: nothing here logs. Owns: the settings and their strings.
 */
#ifndef SM_ACCOUNTS_H
#define SM_ACCOUNTS_H

#include <stddef.h>
#include <time.h>

enum account_notify {
	ACCOUNT_NOTIFY_ALL,		/* every notice (the default) */
	ACCOUNT_NOTIFY_ACTION,		/* only ACTION REQUIRED notices */
	ACCOUNT_NOTIFY_NONE,		/* none */
	ACCOUNT_NOTIFY_LIST,		/* all but those of the listed types and severities */
};

enum account_digest {
	ACCOUNT_DIGEST_PER_TYPE,	/* a notice per report type (the default) */
	ACCOUNT_DIGEST_DAILY,		/* the day's notices as one mail */
};

#define ACCOUNT_RENOTIFY_NEVER ((unsigned long)-1)	/* renotify "never": only new findings notify */

struct account_settings {
	char *account;
	char *language;			/* lower case, or NULL: the default language */
	char **cc;			/* validated addr-specs, deduplicated */
	size_t ncc;
	enum account_notify notify;
	char **withhold;		/* ACCOUNT_NOTIFY_LIST: report types and severities, lower case */
	size_t nwithhold;
	int has_renotify;		/* renotify was given: it overrides RenotifyInterval */
	unsigned long renotify;		/* seconds; ACCOUNT_RENOTIFY_NEVER */
	enum account_digest digest;
};

struct account_table;
struct table_source;
struct mapwatch;

struct account_table *accounts_new(void);
void accounts_free(struct account_table *t);

/* accounts_load_source - every row of SRC; 0, or -1 with ERR ("file.csv:3: bad notify ...") */
int accounts_load_source(struct account_table *t, const struct table_source *src, char *err, size_t errlen);

/* accounts_count - accounts with a row */
size_t accounts_count(const struct account_table *t);

/* accounts_lookup - ACCOUNT's settings, or NULL: no row (T NULL: no AccountSettings), every default */
const struct account_settings *accounts_lookup(const struct account_table *t, const char *account);

/* accounts_language - the account's language ("de"), or NULL for the default */
const char *accounts_language(const struct account_table *t, const char *account);

/* accounts_digest - ACCOUNT_DIGEST_PER_TYPE unless the account asked for daily */
enum account_digest accounts_digest(const struct account_table *t, const char *account);

/* accounts_renotify - the account's renotify interval, else DEFAULT_INTERVAL */
unsigned long accounts_renotify(const struct account_table *t, const char *account, unsigned long default_interval);

/*
 * accounts_withholds - does the account's notify setting withhold a notice
 * of report TYPE whose severity is SEVERITY (NULL or "": unknown) and which
 * does (ACTION 1) or does not need action? 0 for an account without settings.
 */
int accounts_withholds(const struct account_settings *s, const char *type, const char *severity, int action);

/* account_notify_text - "all", "action", "none", or the list ("scan_ntp info") into OUT */
const char *account_notify_text(const struct account_settings *s, char *out, size_t outlen);

/*
 * accounts_refresh - read W's source again (mapwatch.h: the watch keeps the
 * record status shows); CURRENT is the table in use (NULL: none). As
 * mapwatch_refresh: MAPWATCH_NEW with *FRESH, or MAPWATCH_REFUSED with ERR
 * (a failed read, or more than CustomerMapMaxShrink percent of the accounts
 * gone) and *TELL_OPS 1 on the first refusal after a good read.
 */
int accounts_refresh(struct mapwatch *w, const struct account_table *current, time_t now,
    struct account_table **fresh, int *tell_ops, char *err, size_t errlen);

#endif
