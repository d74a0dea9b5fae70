/*
 * mapwatch - when to read the CustomerMap again, and whether to believe it
 *
 * See mapwatch.h. The shrink rule counts prefixes: a refresh that loses more
 * than MAX_SHRINK percent of them is far likelier a half-finished export or a
 * broken query than half the customers leaving at once, and a map that lost
 * a prefix sends that customer's findings nowhere.
 *
 * Owns: the source's description, the refresh record.
 */
#include "customers/mapwatch.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct mapwatch {
	struct table_source src;	/* strings owned */
	char *label;
	unsigned long refresh;
	unsigned max_shrink;
	time_t loaded_at, checked_at, error_at;
	struct timespec mtime;		/* CSV: of the file read */
	size_t prefixes, accounts;
	char last_error[512];
	int refusing;			/* refusals since the last good read: ops were told */
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct mapwatch *
mapwatch_new(const struct table_source *src, unsigned long refresh, unsigned max_shrink)
{
	struct mapwatch *w = xcalloc(1, sizeof(*w));

	w->src.source = xstrdup(src->source);
	w->src.query = dup_or_null(src->query);
	w->src.user = dup_or_null(src->user);
	w->src.timeout = src->timeout;
	w->label = table_label(src->source);
	w->refresh = refresh;
	w->max_shrink = max_shrink;
	return w;
}

void
mapwatch_free(struct mapwatch *w)
{
	if (w == NULL)
		return;
	free((char *)w->src.source);
	free((char *)w->src.query);
	free((char *)w->src.user);
	free(w->label);
	free(w);
}

static int
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int
mapwatch_same_source(const struct mapwatch *w, const struct table_source *src)
{
	return same_string(w->src.source, src->source) && same_string(w->src.query, src->query);
}

/* file_mtime - the CSV's modification time; zero when it cannot be read */
static struct timespec
file_mtime(const struct mapwatch *w)
{
	struct stat st;
	struct timespec none = { 0, 0 };

	if (table_kind(w->src.source) != TABLE_CSV || stat(w->src.source, &st) != 0)
		return none;
	return st.st_mtim;
}

void
mapwatch_took(struct mapwatch *w, size_t entries, size_t accounts, time_t now)
{
	w->loaded_at = w->checked_at = now;
	w->prefixes = entries;
	w->accounts = accounts;
	w->last_error[0] = '\0';
	w->refusing = 0;
}

void
mapwatch_loaded(struct mapwatch *w, const struct prefixmap *map, time_t now)
{
	mapwatch_took(w, prefixmap_prefix_count(map), prefixmap_account_count(map), now);
}

int
mapwatch_due(const struct mapwatch *w, time_t now)
{
	struct timespec m;

	if (table_kind(w->src.source) == TABLE_CSV) {
		m = file_mtime(w);
		return m.tv_sec != w->mtime.tv_sec || m.tv_nsec != w->mtime.tv_nsec;
	}
	/* a refused refresh is tried again after the same interval, not at every check */
	return w->refresh > 0 && now - (w->checked_at ? w->checked_at : w->loaded_at) >= (time_t)w->refresh;
}

int
mapwatch_refused(struct mapwatch *w, time_t now, const char *why, int *tell_ops)
{
	snprintf(w->last_error, sizeof(w->last_error), "%s", why);
	w->error_at = now;
	*tell_ops = !w->refusing;
	w->refusing = 1;
	return MAPWATCH_REFUSED;
}

void
mapwatch_checking(struct mapwatch *w, time_t now)
{
	w->checked_at = now;
	w->mtime = file_mtime(w);	/* a file that failed is not read again until it changes */
}

const struct table_source *
mapwatch_source(const struct mapwatch *w)
{
	return &w->src;
}

int
mapwatch_shrinks(const struct mapwatch *w, size_t have, size_t got, const char *has, const char *what, char *err,
    size_t errlen)
{
	if (have == 0 || got >= have || (have - got) * 100 <= (size_t)w->max_shrink * have)
		return 0;
	err_set(err, errlen, "%s: the new %s %zu %s, %zu%% fewer than the %zu in use (CustomerMapMaxShrink %u%%)",
	    w->label, has, got, what, (have - got) * 100 / have, have, w->max_shrink);
	return 1;
}

int
mapwatch_refresh(struct mapwatch *w, const struct prefixmap *current, time_t now, struct prefixmap **fresh,
    int *tell_ops, char *err, size_t errlen)
{
	struct prefixmap *map = prefixmap_new();

	*fresh = NULL;
	*tell_ops = 0;
	mapwatch_checking(w, now);
	if (prefixmap_load_source(map, &w->src, err, errlen) != 0 ||
	    (current && mapwatch_shrinks(w, prefixmap_prefix_count(current), prefixmap_prefix_count(map),
	    "map has", "prefixes", err, errlen))) {
		prefixmap_free(map);
		return mapwatch_refused(w, now, err, tell_ops);
	}
	mapwatch_loaded(w, map, now);
	*fresh = map;
	return MAPWATCH_NEW;
}

void
mapwatch_status(const struct mapwatch *w, struct mapwatch_status *st)
{
	st->label = w->label;
	st->loaded_at = w->loaded_at;
	st->prefixes = w->prefixes;
	st->accounts = w->accounts;
	st->checked_at = w->checked_at;
	st->last_error = w->last_error;
	st->error_at = w->error_at;
}
