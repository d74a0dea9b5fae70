/*
 * prefixmap - longest-prefix map from IPv4/IPv6 addresses to customer accounts
 *
 * See prefixmap.h. Layout, chosen so that a million prefixes fit in well
 * under 150 bytes each:
 *
 *   - Trie nodes live in one array and point at each other by 32-bit index
 *     (0 means none), 32 bytes a node. A prefix costs at most two nodes: its
 *     own, and a "glue" node (no account) where it branches off an existing
 *     path. A glue node becomes a real one if that exact prefix is added later.
 *   - A prefix of 16 bits or more goes into one of 65536 tries picked by its
 *     first 16 bits, shorter ones into a trie of their own. A million random
 *     prefixes fill the top of a single trie completely, so the table saves
 *     some 16 dependent cache misses per lookup and per insert.
 *   - Accounts live in fixed-size chunks that never move, so the pointers that
 *     prefixmap_lookup hands out stay valid for the life of the map. A hash
 *     table (open addressing, index + hash per slot) interns them by name.
 *   - Names, addresses and the per-account address arrays come from an arena:
 *     nothing in a map is freed before the whole map is.
 *
 * The rows come from tablesource: a CSV file, an SQL query or a command,
 * columns by name.
 *
 * Owns: the trie nodes, the account table, the string arena.
 */
#include "customers/prefixmap.h"
#include "customers/tablesource.h"
#include "base/lang.h"
#include "base/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define ACCT_CHUNK	1024		/* accounts per chunk */
#define ARENA_BLOCK	(256 * 1024)
#define EMAIL_MAX	254		/* RFC 5321 path limit less the brackets */
#define TOP_BITS	16		/* prefixes this long are found via the table */
#define TIMED		0x80000000u	/* node.acct: an index into spans */
#define NODES_MAX	(UINT32_MAX / 32)	/* 4 GiB of nodes, some 67M prefixes */
#define ALWAYS_FROM	INT64_MIN
#define ALWAYS_UNTIL	INT64_MAX

struct node {
	uint32_t child[2];	/* node indices, 0 = none */
	uint32_t acct;		/* account index + 1; 0 = glue node, not a prefix;
				 * TIMED | span index: owners by time (struct span) */
	uint8_t plen;
	uint8_t key[16];	/* bits past plen are zero */
};

/* the memory budget per prefix rests on this */
_Static_assert(sizeof(struct node) == 32, "struct node grew");

/* one owner of a prefix for [from, until); a node's spans never overlap in time */
struct span {
	int64_t from, until;
	uint32_t acct;		/* account index + 1 */
	uint32_t next;		/* the prefix's next span + 1; 0: the last */
};

struct slot {
	uint32_t acct;		/* account index + 1; 0 = empty */
	uint32_t hash;
};

struct arena_block {
	struct arena_block *next;
	size_t used, cap;	/* data follows the header */
};

struct tree {
	uint32_t shortroot;	/* prefixes shorter than TOP_BITS */
	uint32_t *top;		/* roots by the first TOP_BITS bits, NULL until used */
};

struct prefixmap {
	struct node *nodes;	/* nodes[0] unused so that index 0 can mean none */
	uint32_t nnodes, nodes_cap;
	struct tree tree[2];	/* AF_INET, AF_INET6 */
	size_t nprefixes;
	struct span *spans;	/* of the prefixes that give valid_from/valid_until */
	uint32_t nspans, spans_cap;
	struct account **chunks;
	size_t nchunks;
	uint32_t naccounts;
	struct slot *slots;	/* power-of-two sized, at most 70% full */
	uint32_t nslots;
	struct arena_block *arena;
};

/* ---- arena ---- */

static void *
arena_alloc(struct prefixmap *map, size_t size)
{
	struct arena_block *b = map->arena;
	size_t cap;

	size = (size + 7) & ~(size_t)7;
	if (b == NULL || b->cap - b->used < size) {
		cap = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		/* an oversized block goes behind the current one so it stays in use */
		if (cap != ARENA_BLOCK && map->arena != NULL) {
			b->next = map->arena->next;
			map->arena->next = b;
		} else {
			b->next = map->arena;
			map->arena = b;
		}
	}
	b->used += size;
	return (char *)(b + 1) + b->used - size;
}

static char *
arena_strndup(struct prefixmap *map, const char *s, size_t len)
{
	char *p = arena_alloc(map, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* ---- map ---- */

struct prefixmap *
prefixmap_new(void)
{
	struct prefixmap *map = xcalloc(1, sizeof(*map));

	map->nnodes = 1;	/* reserve index 0 */
	return map;
}

void
prefixmap_free(struct prefixmap *map)
{
	struct arena_block *b, *next;
	size_t i;

	if (map == NULL)
		return;
	for (b = map->arena; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	for (i = 0; i < map->nchunks; i++)
		free(map->chunks[i]);
	free(map->chunks);
	xbigfree(map->slots, (size_t)map->nslots * sizeof(*map->slots));
	xbigfree(map->nodes, (size_t)map->nodes_cap * sizeof(*map->nodes));
	free(map->spans);
	free(map->tree[0].top);
	free(map->tree[1].top);
	free(map);
}

size_t
prefixmap_prefix_count(const struct prefixmap *map)
{
	return map->nprefixes;
}

size_t
prefixmap_account_count(const struct prefixmap *map)
{
	return map->naccounts;
}

/* ---- account table ---- */

static struct account *
acct_at(const struct prefixmap *map, uint32_t idx)
{
	return &map->chunks[idx / ACCT_CHUNK][idx % ACCT_CHUNK];
}

static uint32_t
name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static int
name_equal(const char *name, const char *s, size_t len)
{
	return strncmp(name, s, len) == 0 && name[len] == '\0';
}

/* acct_slot - the slot holding NAME, or the empty slot where it would go */
static struct slot *
acct_slot(const struct prefixmap *map, const char *name, size_t len, uint32_t hash)
{
	uint32_t mask = map->nslots - 1, i = hash & mask;
	struct slot *s;

	for (;; i = (i + 1) & mask) {
		s = &map->slots[i];
		if (s->acct == 0)
			return s;
		if (s->hash == hash && name_equal(acct_at(map, s->acct - 1)->name, name, len))
			return s;
	}
}

static void
acct_rehash(struct prefixmap *map)
{
	struct slot *old = map->slots;
	uint32_t i, nold = map->nslots;
	struct slot *s;

	map->nslots = nold ? nold * 2 : 1024;
	map->slots = xbigalloc((size_t)map->nslots * sizeof(*map->slots));
	for (i = 0; i < nold; i++) {
		if (old[i].acct == 0)
			continue;
		for (s = &map->slots[old[i].hash & (map->nslots - 1)]; s->acct != 0;)
			s = s + 1 == map->slots + map->nslots ? map->slots : s + 1;
		*s = old[i];
	}
	xbigfree(old, (size_t)nold * sizeof(*old));
}

static uint32_t
acct_new(struct prefixmap *map, const char *name, size_t len)
{
	uint32_t idx = map->naccounts++;
	struct account *a;

	if (idx % ACCT_CHUNK == 0) {
		map->chunks = xreallocarray(map->chunks, map->nchunks + 1, sizeof(*map->chunks));
		map->chunks[map->nchunks++] = xmalloc(ACCT_CHUNK * sizeof(struct account));
	}
	a = acct_at(map, idx);
	a->name = arena_strndup(map, name, len);
	a->emails = NULL;
	a->nemails = 0;
	a->language = NULL;
	return idx;
}

/* acct_intern - index of the account called NAME, created on first use */
static uint32_t
acct_intern(struct prefixmap *map, const char *name, size_t len)
{
	uint32_t hash = name_hash(name, len);
	struct slot *s;

	if ((uint64_t)(map->naccounts + 1) * 10 > (uint64_t)map->nslots * 7)
		acct_rehash(map);
	s = acct_slot(map, name, len, hash);
	if (s->acct == 0) {
		s->acct = acct_new(map, name, len) + 1;
		s->hash = hash;
	}
	return s->acct - 1;
}

/* ---- email lists ---- */

static int
domain_plausible(const char *s, size_t len)
{
	size_t i, label = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return 0;	/* leading dot or ".." */
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			label++;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/*
 * prefixmap_email_plausible - a bare addr-spec that cannot break a header or an SMTP
 * command: one '@', no space, control, quote, comment or list characters,
 * ASCII only (an 8-bit local part would need SMTPUTF8 all the way, and the
 * notice's To: header would not carry it). Full RFC 5322 quoting is
 * deliberately not accepted.
 */
int
prefixmap_email_plausible(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t i, local;

	if (len == 0 || len > EMAIL_MAX || at == NULL)
		return 0;
	local = (size_t)(at - s);
	if (local == 0 || local == len - 1)
		return 0;
	for (i = 0; i < local; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr(",<>\"()\\;@[]:", c) != NULL)
			return 0;
	}
	return domain_plausible(at + 1, len - local - 1);
}

/* prefixmap_email_next - the next item of *LIST, split at ';', ',' or white space
 * (every address is a recipient: none is dropped); 0 at the end */
int
prefixmap_email_next(const char **list, const char **item, size_t *len)
{
	const char *p = *list + strspn(*list, "; ,\t"), *end;

	if (*p == '\0')
		return 0;
	end = p + strcspn(p, "; ,\t");
	*list = end;
	*item = p;
	*len = (size_t)(end - p);
	return 1;
}

/* emails_check - validate every address before the map is touched */
static int
emails_check(const char *list, char *err, size_t errlen)
{
	const char *item;
	size_t len, good = 0;
	char q[80];

	while (prefixmap_email_next(&list, &item, &len)) {
		if (len == 0)
			continue;	/* "a@b;" and "a@b; ;c@d" are harmless */
		if (!prefixmap_email_plausible(item, len)) {
			err_set(err, errlen, "bad email \"%s\"", log_quote(item, len, q, sizeof(q)));
			return -1;
		}
		good++;
	}
	if (good == 0) {
		err_set(err, errlen, "no email address");
		return -1;
	}
	return 0;
}

static void
email_merge(struct prefixmap *map, struct account *a, const char *s, size_t len)
{
	char **grown;
	size_t i;

	for (i = 0; i < a->nemails; i++)
		if (ascii_strncasecmp(a->emails[i], s, len) == 0 && a->emails[i][len] == '\0')
			return;
	/* capacity doubles at powers of two, so the arena wastes at most half */
	if ((a->nemails & (a->nemails - 1)) == 0) {
		grown = arena_alloc(map, (a->nemails ? a->nemails * 2 : 1) * sizeof(char *));
		if (a->nemails)
			memcpy(grown, a->emails, a->nemails * sizeof(char *));
		a->emails = grown;
	}
	a->emails[a->nemails++] = arena_strndup(map, s, len);
}

static void
emails_merge(struct prefixmap *map, struct account *a, const char *list)
{
	const char *item;
	size_t len;

	while (prefixmap_email_next(&list, &item, &len))
		if (len > 0)
			email_merge(map, a, item, len);
}

/* ---- trie ---- */

static int
key_bit(const uint8_t *key, unsigned i)
{
	return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

/* key_matches - whether the first PLEN bits of KEY and ADDR agree */
static int
key_matches(const uint8_t *key, const uint8_t *addr, unsigned plen)
{
	unsigned whole = plen >> 3, rest = plen & 7;

	if (memcmp(key, addr, whole) != 0)
		return 0;
	return rest == 0 || ((key[whole] ^ addr[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

/* common_bits - length of the common leading run of A and B, at most MAX */
static unsigned
common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned i, n;

	for (i = 0; i * 8 < max; i++) {
		unsigned x = a[i] ^ b[i];

		if (x != 0) {
			n = i * 8 + (unsigned)__builtin_clz(x) - 24;
			return n < max ? n : max;
		}
	}
	return max;
}

static void
key_mask(uint8_t *dst, const uint8_t *src, unsigned plen)
{
	unsigned whole = plen >> 3, rest = plen & 7;

	memset(dst, 0, 16);
	memcpy(dst, src, whole);
	if (rest)
		dst[whole] = src[whole] & (uint8_t)(0xff00u >> rest);
}

static void
node_reserve(struct prefixmap *map, uint32_t extra)
{
	uint32_t old = map->nodes_cap;

	if ((uint64_t)map->nnodes + extra <= map->nodes_cap)
		return;	/* nnodes starts at 1, so cap - nnodes could wrap */
	if (map->nodes_cap == 0)
		map->nodes_cap = 1024;
	else
		map->nodes_cap = map->nodes_cap > NODES_MAX / 2 ? NODES_MAX : map->nodes_cap * 2;
	map->nodes = xbigrealloc(map->nodes, (size_t)old * sizeof(*map->nodes),
	    (size_t)map->nodes_cap * sizeof(*map->nodes));
}

/* node_new - caller has reserved room, so no index or pointer moves */
static uint32_t
node_new(struct prefixmap *map, const uint8_t *key, unsigned plen, uint32_t acct)
{
	struct node *n = &map->nodes[map->nnodes];

	n->child[0] = n->child[1] = 0;
	n->acct = acct;
	n->plen = (uint8_t)plen;
	key_mask(n->key, key, plen);
	return map->nnodes++;
}

static unsigned
top_index(const uint8_t *key)
{
	return (unsigned)key[0] << 8 | key[1];
}

/* root_of - the root of the trie that holds KEY/PLEN, or 0 */
static uint32_t
root_of(const struct prefixmap *map, int fam, const uint8_t *key, unsigned plen)
{
	const struct tree *t = &map->tree[fam];

	if (plen < TOP_BITS)
		return t->shortroot;
	return t->top ? t->top[top_index(key)] : 0;
}

static uint32_t *
root_slot(struct prefixmap *map, int fam, const uint8_t *key, unsigned plen)
{
	struct tree *t = &map->tree[fam];

	if (plen < TOP_BITS)
		return &t->shortroot;
	if (t->top == NULL)
		t->top = xcalloc((size_t)1 << TOP_BITS, sizeof(uint32_t));
	return &t->top[top_index(key)];
}

/* trie_find_exact - node for exactly KEY/PLEN (possibly glue), or 0 */
static uint32_t
trie_find_exact(const struct prefixmap *map, int fam, const uint8_t *key, unsigned plen)
{
	uint32_t n = root_of(map, fam, key, plen);

	while (n != 0) {
		const struct node *nd = &map->nodes[n];

		if (nd->plen > plen || !key_matches(nd->key, key, nd->plen))
			return 0;
		if (nd->plen == plen)
			return n;
		n = nd->child[key_bit(key, nd->plen)];
	}
	return 0;
}

/*
 * trie_split - put KEY/PLEN in *SLOT, which holds node N sharing only the
 * first M bits with it: either the new node becomes N's parent, or a glue
 * node at M parents both.
 */
static void
trie_split(struct prefixmap *map, uint32_t *slot, uint32_t n, unsigned m,
    const uint8_t *key, unsigned plen, uint32_t acct)
{
	uint32_t leaf = node_new(map, key, plen, acct), glue;
	struct node *nodes = map->nodes;

	if (m == plen) {
		nodes[leaf].child[key_bit(nodes[n].key, plen)] = n;
		*slot = leaf;
		return;
	}
	glue = node_new(map, key, m, 0);
	nodes[glue].child[key_bit(key, m)] = leaf;
	nodes[glue].child[key_bit(nodes[n].key, m)] = n;
	*slot = glue;
}

static void
trie_insert(struct prefixmap *map, int fam, const uint8_t *key, unsigned plen, uint32_t acct)
{
	uint32_t *slot = root_slot(map, fam, key, plen), n;
	unsigned m;

	node_reserve(map, 2);
	while ((n = *slot) != 0) {
		struct node *nd = &map->nodes[n];

		m = common_bits(nd->key, key, nd->plen < plen ? nd->plen : plen);
		if (m < nd->plen) {
			trie_split(map, slot, n, m, key, plen, acct);
			return;
		}
		if (nd->plen == plen) {
			nd->acct = acct;	/* was a glue node */
			return;
		}
		slot = &nd->child[key_bit(key, nd->plen)];
	}
	*slot = node_new(map, key, plen, acct);
}

/* owner_at - account index + 1 that a node's ACCT gives at WHEN; 0: none then (or glue) */
static uint32_t
owner_at(const struct prefixmap *map, uint32_t acct, int64_t when)
{
	const struct span *sp;
	uint32_t i;

	if (!(acct & TIMED))
		return acct;
	for (i = (acct & ~TIMED) + 1; i != 0; i = sp->next) {
		sp = &map->spans[i - 1];
		if (sp->from <= when && when < sp->until)
			return sp->acct;
	}
	return 0;
}

/* trie_best - account index + 1 of the longest prefix under N holding ADDR at WHEN */
static uint32_t
trie_best(const struct prefixmap *map, uint32_t n, const uint8_t *addr, unsigned bits, int64_t when)
{
	uint32_t best = 0, a;

	while (n != 0) {
		const struct node *nd = &map->nodes[n];

		if (!key_matches(nd->key, addr, nd->plen))
			break;
		if (nd->acct != 0 && (a = owner_at(map, nd->acct, when)) != 0)
			best = a;
		if (nd->plen >= bits)
			break;
		n = nd->child[key_bit(addr, nd->plen)];
	}
	return best;
}

const struct account *
prefixmap_lookup(const struct prefixmap *map, const struct ipaddr *addr)
{
	return prefixmap_lookup_at(map, addr, map->nspans ? time(NULL) : 0);
}

const struct account *
prefixmap_lookup_at(const struct prefixmap *map, const struct ipaddr *addr, time_t when)
{
	int fam = addr->family == AF_INET6;
	unsigned bits = fam ? 128 : 32;
	uint32_t best;

	if (addr->family != AF_INET && addr->family != AF_INET6)
		return NULL;
	/* anything found via the table is longer than every short prefix */
	best = trie_best(map, root_of(map, fam, addr->bytes, bits), addr->bytes, bits, when);
	if (best == 0)
		best = trie_best(map, map->tree[fam].shortroot, addr->bytes, bits, when);
	return best ? acct_at(map, best - 1) : NULL;
}

/* ---- overlaps: the customers inside a listed network ---- */

struct overlap {
	const struct prefixmap *map;
	int fam;
	unsigned len;			/* the listed network's length */
	int64_t when;			/* the map as it stood then */
	prefixmap_part_fn fn;
	void *ctx;
	size_t parts;
};

static void
overlap_emit(struct overlap *o, uint32_t acct, const uint8_t *key, unsigned plen)
{
	struct ipaddr part;

	memset(&part, 0, sizeof(part));
	part.family = o->fam ? AF_INET6 : AF_INET;
	memcpy(part.bytes, key, 16);
	o->fn(o->ctx, acct_at(o->map, acct - 1), &part, plen);
	o->parts++;
}

/*
 * overlap_walk - report every prefix in the subtree N (all inside the listed
 * network), in address order; ENCLOSING is the account of the nearest
 * enclosing prefix already reported, so nested prefixes of one account
 * count once. The depth is bounded by the address length.
 */
static void
overlap_walk(struct overlap *o, uint32_t n, uint32_t enclosing)
{
	const struct node *nd;
	uint32_t a;

	if (n == 0)
		return;
	nd = &o->map->nodes[n];
	if (nd->acct != 0 && nd->plen > o->len && (a = owner_at(o->map, nd->acct, o->when)) != 0) {
		if (a != enclosing)
			overlap_emit(o, a, nd->key, nd->plen);
		enclosing = a;
	}
	overlap_walk(o, nd->child[0], enclosing);
	overlap_walk(o, nd->child[1], enclosing);
}

/* overlap_subtree - the node under N whose prefixes are all inside KEY/LEN, or 0 */
static uint32_t
overlap_subtree(const struct prefixmap *map, uint32_t n, const uint8_t *key, unsigned len)
{
	while (n != 0) {
		const struct node *nd = &map->nodes[n];

		if (nd->plen >= len)
			return key_matches(nd->key, key, len) ? n : 0;
		if (!key_matches(nd->key, key, nd->plen))
			return 0;
		n = nd->child[key_bit(key, nd->plen)];
	}
	return 0;
}

/* covering - account index + 1 of the longest prefix under N holding all of KEY/LEN at WHEN */
static uint32_t
covering(const struct prefixmap *map, uint32_t n, const uint8_t *key, unsigned len, int64_t when)
{
	uint32_t best = 0, a;

	while (n != 0) {
		const struct node *nd = &map->nodes[n];

		if (nd->plen > len || !key_matches(nd->key, key, nd->plen))
			break;
		if (nd->acct != 0 && (a = owner_at(map, nd->acct, when)) != 0)
			best = a;
		if (nd->plen == len)
			break;
		n = nd->child[key_bit(key, nd->plen)];
	}
	return best;
}

size_t
prefixmap_overlaps(const struct prefixmap *map, const struct ipaddr *net, unsigned len,
    prefixmap_part_fn fn, void *ctx)
{
	return prefixmap_overlaps_at(map, net, len, map->nspans ? time(NULL) : 0, fn, ctx);
}

size_t
prefixmap_overlaps_at(const struct prefixmap *map, const struct ipaddr *net, unsigned len, time_t when,
    prefixmap_part_fn fn, void *ctx)
{
	struct overlap o = { map, net->family == AF_INET6, 0, when, fn, ctx, 0 };
	const struct tree *t = &map->tree[o.fam];
	uint8_t key[16];
	uint32_t outer, enclosing, i, first, count;

	if ((net->family != AF_INET && net->family != AF_INET6) || len > ipaddr_bits(net))
		return 0;
	o.len = len;
	key_mask(key, net->bytes, len);
	outer = 0;
	if (len >= TOP_BITS && t->top)
		outer = covering(map, t->top[top_index(key)], key, len, o.when);
	if (outer == 0)
		outer = covering(map, t->shortroot, key, len, o.when);
	if (outer != 0)
		overlap_emit(&o, outer, key, len);
	if (len < TOP_BITS)
		overlap_walk(&o, overlap_subtree(map, t->shortroot, key, len), outer);
	if (t->top == NULL)
		return o.parts;
	/* the tries picked by the first TOP_BITS bits that lie inside the network */
	first = top_index(key);
	count = len >= TOP_BITS ? 1 : (uint32_t)1 << (TOP_BITS - len);
	for (i = first; i < first + count; i++) {
		uint8_t at[16];

		if (t->top[i] == 0)
			continue;
		memcpy(at, key, 16);
		at[0] = (uint8_t)(i >> 8);
		at[1] = (uint8_t)i;
		enclosing = len >= TOP_BITS ? outer : trie_best(map, t->shortroot, at, TOP_BITS, o.when);
		overlap_walk(&o, len >= TOP_BITS ? overlap_subtree(map, t->top[i], key, len) : t->top[i],
		    enclosing ? enclosing : outer);
	}
	return o.parts;
}

/* ---- adding ---- */

static int
prefix_check(const struct ipaddr *prefix, unsigned plen, uint8_t *key, char *err, size_t errlen)
{
	char text[IPADDR_STRLEN];

	if (prefix->family != AF_INET && prefix->family != AF_INET6) {
		err_set(err, errlen, "bad address family %d", prefix->family);
		return -1;
	}
	if (plen > ipaddr_bits(prefix)) {
		ipaddr_format(prefix, text, sizeof(text));
		err_set(err, errlen, "bad prefix length %s/%u", text, plen);
		return -1;
	}
	key_mask(key, prefix->bytes, plen);
	if (memcmp(key, prefix->bytes, prefix->family == AF_INET6 ? 16 : 4) != 0) {
		ipaddr_format(prefix, text, sizeof(text));
		err_set(err, errlen, "host bits set in %s/%u", text, plen);
		return -1;
	}
	return 0;
}

/* account_span - ACCOUNT trimmed; it names a notice's recipient, so no controls */
static int
account_span(const char *account, const char **name, size_t *len, char *err, size_t errlen)
{
	const char *p = account ? account : "", *end;
	char q[80];

	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*name = p;
	*len = (size_t)(end - p);
	if (*len == 0) {
		err_set(err, errlen, "empty account name");
		return -1;
	}
	for (; p < end; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f) {
			err_set(err, errlen, "control character in account name \"%s\"",
			    log_quote(*name, *len, q, sizeof(q)));
			return -1;
		}
	}
	return 0;
}

static int
conflict(const struct ipaddr *prefix, unsigned plen, const struct account *owner, int timed,
    char *err, size_t errlen)
{
	char text[IPADDR_STRLEN], q[80];

	ipaddr_format(prefix, text, sizeof(text));
	err_set(err, errlen, "prefix %s/%u already belongs to account \"%s\"%s", text, plen,
	    log_quote(owner->name, strlen(owner->name), q, sizeof(q)),
	    timed ? " for part of that time (valid_from/valid_until overlap)" : "");
	return -1;
}

/* span_new - index of a new span, the first of a list that goes on with NEXT (a span index + 1, or 0) */
static uint32_t
span_new(struct prefixmap *map, uint32_t acct, int64_t from, int64_t until, uint32_t next)
{
	struct span *sp;

	if (map->nspans == map->spans_cap) {
		map->spans_cap = map->spans_cap ? map->spans_cap * 2 : 64;
		map->spans = xreallocarray(map->spans, map->spans_cap, sizeof(*map->spans));
	}
	sp = &map->spans[map->nspans];
	sp->from = from;
	sp->until = until;
	sp->acct = acct;
	sp->next = next;
	return map->nspans++;
}

/* owner_clash - the account (index + 1) other than NAME that node ACCT gives for part of [FROM, UNTIL), or 0 */
static uint32_t
owner_clash(const struct prefixmap *map, uint32_t acct, const char *name, size_t len, int64_t from,
    int64_t until)
{
	const struct span *sp;
	uint32_t i;

	if (!(acct & TIMED))
		return name_equal(acct_at(map, acct - 1)->name, name, len) ? 0 : acct;
	for (i = (acct & ~TIMED) + 1; i != 0; i = sp->next) {
		sp = &map->spans[i - 1];
		if (sp->from < until && from < sp->until && !name_equal(acct_at(map, sp->acct - 1)->name, name, len))
			return sp->acct;
	}
	return 0;
}

/*
 * add_owner - one more row for the prefix of node N, which has an owner
 * already: the same account merges its addresses; another account may own it
 * only at other times. An untimed owner holds it at all times.
 */
static int
add_owner(struct prefixmap *map, uint32_t n, const struct ipaddr *prefix, unsigned plen, const char *name,
    size_t len, const char *emails, int64_t from, int64_t until, char *err, size_t errlen)
{
	uint32_t have = map->nodes[n].acct, clash, a;

	if ((clash = owner_clash(map, have, name, len, from, until)) != 0)
		return conflict(prefix, plen, acct_at(map, clash - 1), (have & TIMED) || from != ALWAYS_FROM ||
		    until != ALWAYS_UNTIL, err, errlen);
	a = acct_intern(map, name, len);
	emails_merge(map, acct_at(map, a), emails);
	if (!(have & TIMED))
		return 0;	/* the same account at all times */
	map->nodes[n].acct = TIMED | span_new(map, a + 1, from, until, (have & ~TIMED) + 1);
	return 0;
}

/* map_add - prefixmap_add for the time [FROM, UNTIL) */
static int
map_add(struct prefixmap *map, const struct ipaddr *prefix, unsigned plen, const char *account,
    const char *emails, int64_t from, int64_t until, char *err, size_t errlen)
{
	int fam = prefix->family == AF_INET6;
	const char *name;
	size_t len;
	uint8_t key[16];
	uint32_t n, owner;

	if (prefix_check(prefix, plen, key, err, errlen) != 0 ||
	    account_span(account, &name, &len, err, errlen) != 0 ||
	    emails_check(emails ? emails : "", err, errlen) != 0)
		return -1;
	if (map->nnodes > NODES_MAX - 4 || map->naccounts >= UINT32_MAX / 4 || map->nspans >= UINT32_MAX / 4) {
		err_set(err, errlen, "too many prefixes");
		return -1;
	}
	if (map->nslots != 0)	/* the account's slot is a cache miss: fetch it while the trie is walked */
		__builtin_prefetch(&map->slots[name_hash(name, len) & (map->nslots - 1)]);
	n = trie_find_exact(map, fam, key, plen);
	if (n != 0 && map->nodes[n].acct != 0)
		return add_owner(map, n, prefix, plen, name, len, emails, from, until, err, errlen);
	owner = acct_intern(map, name, len);
	emails_merge(map, acct_at(map, owner), emails);
	owner++;
	if (from != ALWAYS_FROM || until != ALWAYS_UNTIL)
		owner = TIMED | span_new(map, owner, from, until, 0);
	trie_insert(map, fam, key, plen, owner);
	map->nprefixes++;
	return 0;
}

int
prefixmap_add(struct prefixmap *map, const struct ipaddr *prefix, unsigned plen,
    const char *account, const char *emails, char *err, size_t errlen)
{
	return map_add(map, prefix, plen, account, emails, ALWAYS_FROM, ALWAYS_UNTIL, err, errlen);
}

/* ---- loading ---- */

static const char *const col_names[] = { "prefix", "account", "email", "valid_from", "valid_until", "language" };
static const struct table_cols map_cols = { col_names, 6, 3 };

/* language_of - ACCOUNT (NAME, LEN) gets language tag CODE: the first row's, and no other */
static int
language_of(struct prefixmap *map, const char *name, size_t len, const char *code, char *err, size_t errlen)
{
	struct slot *s = acct_slot(map, name, len, name_hash(name, len));
	struct account *a;
	char q[80];

	if (s == NULL || s->acct == 0) {
		err_set(err, errlen, "no account \"%s\" for its language", log_quote(name, len, q, sizeof(q)));
		return -1;
	}
	a = acct_at(map, s->acct - 1);
	if (a->language && strcmp(a->language, code) != 0) {
		err_set(err, errlen, "account \"%s\" has language \"%s\" in another row, \"%s\" here",
		    log_quote(name, len, q, sizeof(q)), a->language, code);
		return -1;
	}
	if (a->language == NULL)
		a->language = arena_strndup(map, code, strlen(code));
	return 0;
}

int
prefixmap_set_language(struct prefixmap *map, const char *account, const char *language, char *err,
    size_t errlen)
{
	char *copy, *t, code[16], q[80];
	const char *name;
	size_t len;
	int rc = 0;

	if (language == NULL || *language == '\0')	/* most rows of most maps: no copy */
		return 0;
	t = ascii_trim(copy = xstrdup(language));
	lang_normalise(t, code, sizeof(code));
	if (*t == '\0')
		rc = 0;
	else if (*code == '\0') {
		err_set(err, errlen, "bad language \"%s\" (a tag such as de or de-AT)", log_quote(t, strlen(t), q,
		    sizeof(q)));
		rc = -1;
	} else if ((rc = account_span(account, &name, &len, err, errlen)) == 0)
		rc = language_of(map, name, len, code, err, errlen);
	free(copy);
	return rc;
}


/* zone_offset - seconds east of UTC that S ("", "Z", " UTC", "+02", "-05:30", "+0100") says; -1 if bad */
static int
zone_offset(const char *s, long *off)
{
	int h, m = 0, n = 0;

	*off = 0;
	if (*s == '\0' || strcmp(s, "Z") == 0 || strcmp(s, " UTC") == 0)
		return 0;
	if ((*s != '+' && *s != '-') || !(sscanf(s + 1, "%2d:%2d%n", &h, &m, &n) == 2 ||
	    sscanf(s + 1, "%2d%2d%n", &h, &m, &n) == 2 || sscanf(s + 1, "%2d%n", &h, &n) == 1) ||
	    s[1 + n] != '\0' || n < 2 || h > 14 || m > 59)
		return -1;
	*off = (*s == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return 0;
}

/*
 * parse_moment - a valid_from/valid_until value: "2026-06-01" (midnight UTC),
 * "2026-06-01 12:00[:00[.frac]]" or with 'T', and a zone as in zone_offset
 * (none: UTC). Empty: DFLT (no bound). 0, or -1.
 */
static int
parse_moment(const char *text, int64_t dflt, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, k = 0;
	char copy[64], *p;
	time_t t;
	long off;

	if (text == NULL || strlen(text) >= sizeof(copy))
		return text == NULL ? (*out = dflt, 0) : -1;
	p = ascii_trim(strcpy(copy, text));
	if (*p == '\0') {
		*out = dflt;
		return 0;
	}
	if (sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	p += n;
	if ((*p == ' ' || *p == 'T') && sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) == 2 && k == 5) {
		p += 1 + k;
		if (*p == ':' && sscanf(p + 1, "%2d%n", &sec, &k) == 1 && k == 2)
			p += 3;
		if (*p == '.')
			p += 1 + strspn(p + 1, "0123456789");
	}
	if (zone_offset(p, &off) != 0 || utc_time(y, mo, d, h, mi, sec, &t) != 0)
		return -1;
	*out = (int64_t)t - off;
	return 0;
}

/* row_window - the row's [FROM, UNTIL) from its valid_from and valid_until (NULL: no such column) */
static int
row_window(const char *from_text, const char *until_text, int64_t *from, int64_t *until, char *err,
    size_t errlen)
{
	char q[80];

	if (parse_moment(from_text, ALWAYS_FROM, from) != 0) {
		err_set(err, errlen, "bad valid_from \"%s\"", log_quote(from_text, strlen(from_text), q, sizeof(q)));
		return -1;
	}
	if (parse_moment(until_text, ALWAYS_UNTIL, until) != 0) {
		err_set(err, errlen, "bad valid_until \"%s\"", log_quote(until_text, strlen(until_text), q,
		    sizeof(q)));
		return -1;
	}
	if (*from >= *until) {
		err_set(err, errlen, "valid_from is not before valid_until");
		return -1;
	}
	return 0;
}

int
prefixmap_add_row(struct prefixmap *map, const struct prefixmap_row *row, char *err, size_t errlen)
{
	struct ipaddr prefix;
	unsigned plen;
	char text[IPADDR_STRLEN + 8], q[80];
	const char *t = row->prefix ? row->prefix : "";
	size_t len;
	int64_t from, until;

	t += strspn(t, " \t");
	for (len = strlen(t); len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'); len--)
		;
	if (len >= sizeof(text) || (memcpy(text, t, len), text[len] = '\0',
	    ipaddr_parse_prefix(text, &prefix, &plen) != 0)) {
		err_set(err, errlen, "bad prefix \"%s\"", log_quote(t, len, q, sizeof(q)));
		return -1;
	}
	if (row_window(row->valid_from, row->valid_until, &from, &until, err, errlen) != 0)
		return -1;
	return map_add(map, &prefix, plen, row->account, row->emails, from, until, err, errlen);
}

static int
on_map_row(void *ctx, const char *const *vals, char *err, size_t errlen)
{
	struct prefixmap_row row = { vals[0], vals[1], vals[2], vals[3], vals[4] };

	if (prefixmap_add_row(ctx, &row, err, errlen) != 0)
		return -1;
	return prefixmap_set_language(ctx, vals[1], vals[5], err, errlen);
}

int
prefixmap_load_source(struct prefixmap *map, const struct table_source *src, char *err, size_t errlen)
{
	return table_read(src, &map_cols, on_map_row, map, err, errlen);
}

int
prefixmap_load(struct prefixmap *map, const char *path, char *err, size_t errlen)
{
	struct table_source src = { path, NULL, NULL, 0 };

	if (table_kind(path) != TABLE_CSV) {
		err_set(err, errlen, "%s: not a CSV file name", path);
		return -1;
	}
	return prefixmap_load_source(map, &src, err, errlen);
}
