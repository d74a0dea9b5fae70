/*
 * catalogueupdate - the site's catalogue of the types ShadowServer added
 *
 * "shadowmilter catalogue --update" reads ShadowServer's published schema
 * (schema.h) and writes the UpdatedCatalogue file: a catalogue CSV
 * (catalogue.h) holding a row for every type of the schema that the shipped
 * catalogue and the site's Catalogue do not know, with the schema's title
 * and page and its severity where it has one (else medium). The file is the
 * site's to edit: a row it already has is kept as it is, whatever the
 * schema says now, so a type the site has re-rated is never re-rated back,
 * and a type the schema no longer lists is not dropped. The daemon and
 * replay load it after the shipped catalogue and the site's Catalogue, and
 * its rows only ever add types (catalogue_load_new).
 *
 * A comment row "# updated YYYY-MM-DD HH:MM:SS UTC from SOURCE" says when.
 * The file is written whole to a new file beside it (never through a
 * symlink, mode 0640), read back by the catalogue's own loader, and only
 * then renamed over the old one: a failed update leaves the old file.
 *
 * Owns: nothing past the call.
 */
#ifndef SM_CATALOGUEUPDATE_H
#define SM_CATALOGUEUPDATE_H

#include <stddef.h>
#include <time.h>

struct catalogue;
struct schema;

struct catalogue_update_stats {
	size_t added;		/* types new to this site, written now */
	size_t kept;		/* rows the file had (kept as they were) */
	size_t known;		/* schema types the shipped catalogue or Catalogue has */
	char **added_types;	/* the added types' names (catalogue_update_stats_free) */
};

/*
 * catalogue_update - write PATH from its old rows and the types of S that
 * KNOWN (the catalogue in use) lacks; SOURCE and NOW go into the comment
 * row. 0, or -1 with ERR (PATH is left as it was)
 */
int catalogue_update(const struct catalogue *known, const char *path, const struct schema *s, const char *source,
    time_t now, struct catalogue_update_stats *st, char *err, size_t errlen);

void catalogue_update_stats_free(struct catalogue_update_stats *st);

/*
 * catalogue_update_info - when PATH was last written by catalogue_update
 * (its comment row; else the file's modification time) and how many types it
 * holds: 1, 0 when there is no such file, -1 with ERR when it cannot be read
 */
int catalogue_update_info(const char *path, time_t *when, size_t *ntypes, char *err, size_t errlen);

#endif
