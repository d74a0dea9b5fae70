/*
 * mapwatch - when to read the CustomerMap again, and whether to believe it
 *
 * A CSV file is read again when its modification time changes; an SQL or
 * command source every REFRESH seconds (0: only when asked, e.g. SIGHUP).
 * A new map that failed to load, or that holds fewer prefixes than
 * MAX_SHRINK percent below the current one, is refused: the caller keeps
 * the map it has. The watch remembers the last error and says once per run
 * of refusals that ops should be told (mapwatch_refresh's TELL_OPS).
 *
 * Library code: nothing here logs; the caller (cmd/runtime.c) logs, mails
 * ops and swaps the map in.
 *
 * Owns: the source's description, the refresh record.
 */
#ifndef SM_MAPWATCH_H
#define SM_MAPWATCH_H

#include <stddef.h>
#include <time.h>

#include "customers/tablesource.h"

struct prefixmap;
struct mapwatch;

struct mapwatch_status {
	const char *label;	/* the source as it may be shown (no password) */
	time_t loaded_at;	/* when the map in use was read (0: never) */
	size_t prefixes, accounts;	/* of the map in use */
	time_t checked_at;	/* the last attempt, good or bad */
	const char *last_error;	/* of the last attempt, "" when it was good */
	time_t error_at;
};

/* mapwatch_new - SRC is copied; REFRESH seconds (SQL, command), MAX_SHRINK percent */
struct mapwatch *mapwatch_new(const struct table_source *src, unsigned long refresh, unsigned max_shrink);
void mapwatch_free(struct mapwatch *w);

/* mapwatch_same_source - does W read SRC (same source and query)? */
int mapwatch_same_source(const struct mapwatch *w, const struct table_source *src);

/* mapwatch_loaded - MAP (read at NOW, by the caller) is the one in use */
void mapwatch_loaded(struct mapwatch *w, const struct prefixmap *map, time_t now);

/* mapwatch_due - is a refresh due at NOW (CSV: the file changed; else REFRESH passed)? */
int mapwatch_due(const struct mapwatch *w, time_t now);

enum { MAPWATCH_NEW = 0, MAPWATCH_REFUSED = -1 };

/*
 * mapwatch_refresh - read the source again; CURRENT is the map in use (NULL:
 * none). MAPWATCH_NEW with *FRESH (the caller's now; mapwatch_loaded is done)
 * or MAPWATCH_REFUSED with ERR saying why (*FRESH NULL, the caller keeps
 * CURRENT). *TELL_OPS is 1 on the first refusal after a good read.
 */
int mapwatch_refresh(struct mapwatch *w, const struct prefixmap *current, time_t now, struct prefixmap **fresh,
    int *tell_ops, char *err, size_t errlen);

/*
 * The same record for a table other than the map (AccountSettings), read by
 * its own loader: mapwatch_checking when an attempt begins, then
 * mapwatch_took (ENTRIES, ACCOUNTS in use) or mapwatch_refused (WHY; returns
 * MAPWATCH_REFUSED, *TELL_OPS as mapwatch_refresh). mapwatch_shrinks: 1 with
 * ERR ("LABEL: the new HAS GOT WHAT, N% fewer ...") when GOT is more than
 * MAX_SHRINK percent below HAVE.
 */
void mapwatch_checking(struct mapwatch *w, time_t now);
void mapwatch_took(struct mapwatch *w, size_t entries, size_t accounts, time_t now);
int mapwatch_refused(struct mapwatch *w, time_t now, const char *why, int *tell_ops);
int mapwatch_shrinks(const struct mapwatch *w, size_t have, size_t got, const char *has, const char *what, char *err,
    size_t errlen);
const struct table_source *mapwatch_source(const struct mapwatch *w);

/* mapwatch_status - what status shows; valid until the next call on W */
void mapwatch_status(const struct mapwatch *w, struct mapwatch_status *st);

#endif
