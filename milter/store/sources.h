/*
 * sources - what each daemon last read from its customer data sources
 *
 * The daemon records, per source and host ("CustomerMap@mx1"), the map it
 * uses: where it came from (no password), when it was read, its size, and
 * the last refresh error; the status command shows them. One row per name,
 * replaced at each refresh attempt. Kept in the history half of the store.
 *
 * Owns: nothing.
 */
#ifndef SM_SOURCES_H
#define SM_SOURCES_H

#include <stddef.h>
#include <time.h>

struct store;

struct source_status {
	char *name;		/* "CustomerMap@HOST" */
	char *label;		/* the source as it may be shown */
	time_t loaded_at;	/* the data in use was read then */
	long long entries, accounts;	/* its size: prefixes (settings: rows) and accounts */
	time_t checked_at;	/* the last attempt */
	char *last_error;	/* "" when the last attempt was good */
	time_t error_at;
};

/* sources_put - S replaces the row of its name; 0, or -1 with ERR */
int sources_put(struct store *st, const struct source_status *s, char *err, size_t errlen);

/* sources_list - every row, by name; 0, or -1 with ERR */
int sources_list(struct store *st, struct source_status **out, size_t *n, char *err, size_t errlen);
void sources_free(struct source_status *v, size_t n);

#endif
