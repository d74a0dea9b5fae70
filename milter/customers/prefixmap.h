/*
 * prefixmap - longest-prefix map from IPv4/IPv6 addresses to customer accounts
 *
 * Loads the CustomerMap (columns prefix, account, email by name, an
 * optional language, and optional valid_from and valid_until that say when
 * a row holds; from a CSV file, an SQL query or a command: tablesource.h;
 * other columns ignored; emails separated by ';') into a
 * path-compressed binary
 * trie, one per address family. The most specific prefix wins: a /29 inside
 * a customer's /24 belongs to the /29's owner. Holds 1M prefixes.
 *
 * Prefix moves: a row with valid_from and/or valid_until owns its prefix
 * only from valid_from (inclusive) until valid_until (exclusive), so one
 * prefix may have several owners, one at a time. The _at lookups see the map
 * as it stood at a moment (a report's timestamp); the others see it now. A
 * row without these values holds at all times.
 *
 * A loaded map is immutable; lookups need no locking. A reload builds a new
 * map and swaps it in.
 *
 * Owns: the trie nodes and the account table.
 */
#ifndef SM_PREFIXMAP_H
#define SM_PREFIXMAP_H

#include <stddef.h>
#include <time.h>
#include "base/ipaddr.h"

struct account {
	char *name;		/* account name as in the map */
	char **emails;		/* validated addr-specs, deduplicated */
	size_t nemails;
	char *language;		/* the map's optional language column ("de", lower case), or NULL */
};

struct prefixmap;

struct prefixmap *prefixmap_new(void);
void prefixmap_free(struct prefixmap *map);

/*
 * prefixmap_add - map PREFIX/PLEN to ACCOUNT, whose notice goes to EMAILS
 * (';'-separated). Rows for the same account share one struct account and the
 * union of their addresses. Returns 0, or -1 with a message in ERR: bad
 * address, the same prefix given to two different accounts.
 */
int prefixmap_add(struct prefixmap *map, const struct ipaddr *prefix, unsigned plen,
    const char *account, const char *emails, char *err, size_t errlen);

/*
 * prefixmap_load - add every row of the CSV file PATH. Errors name the file
 * and line ("customers.csv:12: bad prefix \"10.0.0.1/33\"").
 */
int prefixmap_load(struct prefixmap *map, const char *path, char *err, size_t errlen);

/*
 * prefixmap_load_source - every row of SRC (tablesource.h: a CSV file,
 * sqlite:, postgresql:// with a query, or exec: a command printing the CSV),
 * columns prefix, account and email by name
 */
struct table_source;
int prefixmap_load_source(struct prefixmap *map, const struct table_source *src, char *err, size_t errlen);

/* one row as text, the way every map source hands it over */
struct prefixmap_row {
	const char *prefix;	/* "192.0.2.0/24", spaces trimmed */
	const char *account;
	const char *emails;
	const char *valid_from;	/* "2026-06-01[ 12:00[:00]][zone]" (UTC if none); NULL or "": always */
	const char *valid_until;	/* the same; the row ends just before it */
};

/*
 * prefixmap_add_row - ROW into MAP. As prefixmap_add, with "bad prefix",
 * "bad valid_from" and "bad valid_until" for text that is none; the same
 * prefix may go to another account at a time the first one does not hold it.
 */
int prefixmap_add_row(struct prefixmap *map, const struct prefixmap_row *row, char *err, size_t errlen);

/*
 * prefixmap_set_language - ACCOUNT's notices are in LANGUAGE (a language
 * tag, base/lang.h: "de", "de-AT"; "" or NULL: not given). The map's
 * language column, row by row: -1 with ERR for a bad tag, for an account the
 * map does not have, or for two rows of one account with different ones.
 */
int prefixmap_set_language(struct prefixmap *map, const char *account, const char *language, char *err,
    size_t errlen);

/* prefixmap_lookup - account owning ADDR now, or NULL; the most specific prefix wins */
const struct account *prefixmap_lookup(const struct prefixmap *map, const struct ipaddr *addr);

/* prefixmap_lookup_at - the same in the map as it stood at WHEN */
const struct account *prefixmap_lookup_at(const struct prefixmap *map, const struct ipaddr *addr, time_t when);

/* called once per part of a listed network that belongs to ACCOUNT */
typedef void (*prefixmap_part_fn)(void *ctx, const struct account *account, const struct ipaddr *part,
    unsigned part_len);

/*
 * prefixmap_overlaps - every customer whose prefix overlaps the network
 * NET/LEN: the owner of the longest prefix holding the whole network (its
 * part is the network itself), then each prefix inside the network (its part
 * is that prefix), in no particular order. A prefix inside another one of the same
 * account is not reported again. Returns the number of parts.
 *
 * The cost is a walk of the trie below the network: it grows with the
 * customer prefixes inside the network, never with its size, so a /8 costs
 * what the prefixes under it cost, not 16 million lookups.
 */
size_t prefixmap_overlaps(const struct prefixmap *map, const struct ipaddr *net, unsigned len,
    prefixmap_part_fn fn, void *ctx);

/*
 * prefixmap_email_next - the next item of *LIST, split at ';', ',' or white
 * space; 0 at the end. prefixmap_email_plausible - ITEM is a bare ASCII
 * addr-spec that cannot break a header or an SMTP command. The map's
 * checks, for other lists of addresses (AccountSettings' cc).
 */
int prefixmap_email_next(const char **list, const char **item, size_t *len);
int prefixmap_email_plausible(const char *item, size_t len);

/* prefixmap_overlaps_at - the same in the map as it stood at WHEN */
size_t prefixmap_overlaps_at(const struct prefixmap *map, const struct ipaddr *net, unsigned len, time_t when,
    prefixmap_part_fn fn, void *ctx);

size_t prefixmap_prefix_count(const struct prefixmap *map);
size_t prefixmap_account_count(const struct prefixmap *map);

#endif
