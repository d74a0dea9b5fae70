/*
 * findings - what one report file says about whose addresses
 *
 * See findings.h.
 */
#include "report/findings.h"
#include "report/catalogue.h"
#include "report/csvreport.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct report_file *
report_file_new(const char *file, const char *type, const char *date, const char *identifier)
{
	struct report_file *rf = xcalloc(1, sizeof(*rf));

	rf->file = xstrdup(file);
	rf->type = xstrdup(type);
	rf->date = xstrdup(date ? date : "");
	rf->identifier = xstrdup(identifier ? identifier : "");
	return rf;
}

#define CHUNK_FIRST	8		/* findings in the first chunk; each next one twice */
#define CHUNK_MAX	1024		/* ... up to this many (64 KiB) */
#define CHUNK_GROWING	7		/* chunks 0..6 grow: 8 .. 512 findings */
#define SMALL_ALLOC	16		/* what malloc adds to a small allocation, as counted */
#define DICT_MAX	255		/* one-byte codes per column (0: written out) */
#define PROTOCOLS	UINT32_MAX	/* the strtab space of protocols */

/* --- strings kept once ---------------------------------------------------- */

/*
 * A file's protocols, and per column up to DICT_MAX values, each kept once
 * and found by (column, text) in one hash table. A row then stores a value
 * seen before in its column as its one-byte code; a column of values that
 * never repeat (timestamps) fills its DICT_MAX codes and then writes its
 * values out, so the table stays small however many rows there are.
 */
struct strtab_slot {
	const char *s;			/* NULL: empty */
	uint32_t hash, column;		/* column: PROTOCOLS for a protocol */
	unsigned code;			/* 1..DICT_MAX within the column */
};

struct column_dict {
	char **values;			/* code - 1 -> value */
	unsigned n, cap;
};

struct strtab {
	struct strtab_slot *slots;	/* power of two, at most half full */
	size_t nslots, nused;
	struct column_dict *dicts;	/* per column */
	size_t ncolumns;
	char **protocols;		/* the protocol strings (slots point into them) */
	size_t nprotocols;
	unsigned long long bytes;	/* allocated so far, as counted for the budget */
};

static struct strtab *
strtab_new(size_t ncolumns)
{
	struct strtab *t = xcalloc(1, sizeof(*t));

	t->nslots = 16;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	t->ncolumns = ncolumns;
	t->dicts = xcalloc(ncolumns + 1, sizeof(*t->dicts));
	t->bytes = sizeof(*t) + t->nslots * sizeof(*t->slots) + (ncolumns + 1) * sizeof(*t->dicts) + 3 * SMALL_ALLOC;
	return t;
}

static void
strtab_free(struct strtab *t)
{
	size_t i, j;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncolumns; i++) {
		for (j = 0; j < t->dicts[i].n; j++)
			free(t->dicts[i].values[j]);
		free(t->dicts[i].values);
	}
	for (i = 0; i < t->nprotocols; i++)
		free(t->protocols[i]);
	free(t->protocols);
	free(t->dicts);
	free(t->slots);
	free(t);
}

static uint32_t
strtab_hash(uint32_t column, const char *s)
{
	uint32_t h = 2166136261u ^ column;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* strtab_slot - the slot of (COLUMN, S), or the empty one where it would go */
static struct strtab_slot *
strtab_slot(const struct strtab *t, uint32_t column, const char *s, uint32_t hash)
{
	size_t i = hash & (t->nslots - 1);

	for (; t->slots[i].s; i = (i + 1) & (t->nslots - 1))
		if (t->slots[i].hash == hash && t->slots[i].column == column && strcmp(t->slots[i].s, s) == 0)
			break;
	return &t->slots[i];
}

static struct strtab_slot *
strtab_insert(struct strtab *t, uint32_t column, const char *s, uint32_t hash, unsigned code)
{
	struct strtab_slot *slot;

	if ((t->nused + 1) * 2 > t->nslots) {
		struct strtab_slot *old = t->slots;
		size_t i, n = t->nslots;

		t->nslots *= 2;
		t->slots = xcalloc(t->nslots, sizeof(*t->slots));
		t->bytes += t->nslots * sizeof(*t->slots);
		for (i = 0; i < n; i++)
			if (old[i].s)
				*strtab_slot(t, old[i].column, old[i].s, old[i].hash) = old[i];
		free(old);
	}
	slot = strtab_slot(t, column, s, hash);
	*slot = (struct strtab_slot){ s, hash, column, code };
	t->nused++;
	return slot;
}

/* strtab_protocol - S kept once */
static const char *
strtab_protocol(struct strtab *t, const char *s)
{
	uint32_t hash = strtab_hash(PROTOCOLS, s);
	struct strtab_slot *slot = strtab_slot(t, PROTOCOLS, s, hash);
	char *copy;

	if (slot->s)
		return slot->s;
	copy = xstrdup(s);
	t->bytes += strlen(s) + 1 + SMALL_ALLOC + sizeof(*t->protocols);
	t->protocols = xreallocarray(t->protocols, t->nprotocols + 1, sizeof(*t->protocols));
	t->protocols[t->nprotocols++] = copy;
	return strtab_insert(t, PROTOCOLS, copy, hash, 0)->s;
}

/* strtab_code - the code of value S in COLUMN, given one if there is room; 0: none */
static unsigned
strtab_code(struct strtab *t, size_t column, const char *s)
{
	struct column_dict *d = &t->dicts[column];
	uint32_t hash = strtab_hash((uint32_t)column, s);
	struct strtab_slot *slot = strtab_slot(t, (uint32_t)column, s, hash);

	if (slot->s)
		return slot->code;
	if (d->n == DICT_MAX)
		return 0;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 4;
		d->values = xreallocarray(d->values, d->cap, sizeof(*d->values));
		t->bytes += d->cap * sizeof(*d->values) + SMALL_ALLOC;
	}
	d->values[d->n] = xstrdup(s);
	t->bytes += strlen(s) + 1 + SMALL_ALLOC;
	d->n++;
	return strtab_insert(t, (uint32_t)column, d->values[d->n - 1], hash, d->n)->code;
}

/* --- a finding's row --------------------------------------------------------
 *
 * One block: the network the report listed, when it is larger than the
 * finding's part (the address's 16 bytes, its family and length: LISTED_SIZE
 * bytes), then per column a code byte: 1..DICT_MAX is a value kept in the
 * strtab, 0 is followed by the value written out with its NUL.
 */
#define LISTED_SIZE	18
#define ROW_BLOCK_FIRST	512		/* a file's first row block; each next one twice */
#define ROW_BLOCK	(64 * 1024)	/* ... up to this */

struct row_block {
	struct row_block *next;
	size_t used, cap;		/* the rows follow the header */
};

/* row_size - the bytes of VALUES' row (and RF's codes for them) */
static size_t
row_size(struct report_file *rf, const char *const *values, int listed)
{
	size_t i, size = listed ? LISTED_SIZE : 0;

	for (i = 0; i < rf->ncolumns; i++) {
		const char *v = values[i] ? values[i] : "";

		rf->codes[i] = (unsigned char)strtab_code(rf->strings, i, v);
		size += 1 + (rf->codes[i] ? 0 : strlen(v) + 1);
	}
	return size;
}

/* row_write - the row at P, with the codes row_size left in RF */
static void
row_write(const struct report_file *rf, unsigned char *p, const char *const *values, const struct ipaddr *listed,
    unsigned listed_len)
{
	size_t i;

	if (listed) {
		memcpy(p, listed->bytes, 16);
		p[16] = listed->family == AF_INET6;
		p[17] = (unsigned char)listed_len;
		p += LISTED_SIZE;
	}
	for (i = 0; i < rf->ncolumns; i++) {
		*p++ = rf->codes[i];
		if (rf->codes[i] == 0) {
			const char *v = values[i] ? values[i] : "";
			size_t len = strlen(v) + 1;

			memcpy(p, v, len);
			p += len;
		}
	}
}

/* row_length - the bytes of F's row */
static size_t
row_length(const struct report_file *rf, const struct finding *f)
{
	const unsigned char *p = f->row + (f->listed_in_row ? LISTED_SIZE : 0);
	size_t i;

	for (i = 0; i < rf->ncolumns; i++)
		p += *p ? 1 : 2 + strlen((const char *)p + 1);
	return (size_t)(p - f->row);
}

/*
 * row_alloc - SIZE bytes for a new finding's row from the file's row blocks
 * (no allocation per row; the blocks grow from 1 KiB to 64 KiB, so a small
 * file stays small); a row that grows later gets its own allocation
 */
static unsigned char *
row_alloc(struct report_file *rf, size_t size)
{
	struct row_block *b = rf->row_blocks;
	size_t cap, next = rf->row_block_next ? rf->row_block_next : ROW_BLOCK_FIRST;

	if (b == NULL || b->cap - b->used < size) {
		cap = size > next / 4 ? size : next;
		if (cap == next)
			rf->row_block_next = next * 2 > ROW_BLOCK ? ROW_BLOCK : next * 2;
		b = xmalloc(sizeof(*b) + cap);
		rf->bytes += sizeof(*b) + cap + SMALL_ALLOC;
		b->used = 0;
		b->cap = cap;
		if (cap != next && rf->row_blocks != NULL) {	/* the current block stays in use */
			b->next = rf->row_blocks->next;
			rf->row_blocks->next = b;
		} else {
			b->next = rf->row_blocks;
			rf->row_blocks = b;
		}
	}
	b->used += size;
	return (unsigned char *)(b + 1) + b->used - size;
}

/* row_column - column I of F's row */
static const char *
row_column(const struct report_file *rf, const struct finding *f, size_t column)
{
	const unsigned char *p = f->row + (f->listed_in_row ? LISTED_SIZE : 0);
	size_t i;

	for (i = 0; i < column; i++)
		p += *p ? 1 : 2 + strlen((const char *)p + 1);
	return *p ? rf->strings->dicts[column].values[*p - 1] : (const char *)p + 1;
}

/* set_row - F's row and listed network, from VALUES (under RF's columns): in
 * the place of its old row when it fits, so that memory follows findings, not
 * the rows that repeat them */
static void
set_row(struct report_file *rf, struct finding *f, const char *const *values, const struct ipaddr *listed,
    unsigned listed_len)
{
	int network = listed && listed_len < f->len && listed->family == f->ip.family;
	size_t size = row_size(rf, values, network);

	if (f->row == NULL)
		f->row = row_alloc(rf, size);
	else if (size > row_length(rf, f)) {
		if (f->row_own)
			free(f->row);
		f->row = xmalloc(size);
		rf->bytes += size + SMALL_ALLOC;
		f->row_own = 1;
	}
	row_write(rf, f->row, values, network ? listed : NULL, listed_len);
	f->listed_in_row = (unsigned char)network;
}

/* --- the findings ---------------------------------------------------------- */

/* chunk_of - the chunk that holds finding I, and I's place in it: chunk k
 * < CHUNK_GROWING holds CHUNK_FIRST << k findings, every later one CHUNK_MAX */
static size_t
chunk_of(size_t i, size_t *offset)
{
	size_t grown = CHUNK_FIRST * ((1u << CHUNK_GROWING) - 1), k;

	if (i >= grown) {
		*offset = (i - grown) % CHUNK_MAX;
		return CHUNK_GROWING + (i - grown) / CHUNK_MAX;
	}
	k = (size_t)(8 * sizeof(unsigned long) - 1 - (size_t)__builtin_clzl(i / CHUNK_FIRST + 1));
	*offset = i - CHUNK_FIRST * (((size_t)1 << k) - 1);
	return k;
}

static struct finding *
finding_at(const struct report_file *rf, size_t i)
{
	size_t off, k = chunk_of(i, &off);

	return &rf->chunks[k][off];
}

/* new_finding - room for one more finding; they never move */
static struct finding *
new_finding(struct report_file *rf)
{
	size_t off, k = chunk_of(rf->nfindings, &off), n;

	if (off == 0) {
		n = k < CHUNK_GROWING ? (size_t)CHUNK_FIRST << k : CHUNK_MAX;
		rf->chunks = xreallocarray(rf->chunks, k + 1, sizeof(*rf->chunks));
		rf->chunks[k] = xcalloc(n, sizeof(struct finding));
		rf->bytes += n * sizeof(struct finding) + sizeof(*rf->chunks) + SMALL_ALLOC;
	}
	return finding_at(rf, rf->nfindings++);
}

void
report_file_free(struct report_file *rf)
{
	struct row_block *b, *next;
	size_t i, n, off;

	if (rf == NULL)
		return;
	for (i = 0; i < rf->nfindings; i++)
		if (finding_at(rf, i)->row_own)
			free(finding_at(rf, i)->row);
	for (b = rf->row_blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	if (rf->nfindings > 0)
		for (i = 0, n = chunk_of(rf->nfindings - 1, &off); i <= n; i++)
			free(rf->chunks[i]);
	free(rf->chunks);
	for (i = 0; i < rf->ncolumns; i++)
		free(rf->columns[i]);
	free(rf->groups);
	free(rf->grouped);
	free(rf->unmatched);
	free(rf->columns);
	free(rf->slots);
	strtab_free(rf->strings);
	free(rf->codes);
	free(rf->file);
	free(rf->type);
	free(rf->date);
	free(rf->identifier);
	free(rf->first_skip);
	free(rf->error);
	free(rf->note);
	free(rf);
}

int
report_budget_exceeded(const struct report_budget *b)
{
	return b->limit > 0 && b->used > b->limit;
}

/* charge - tell the budget what RF allocated since last time; 1 when the
 * total is over it */
static int
charge(struct report_file *rf)
{
	unsigned long long now = rf->bytes + (rf->strings ? rf->strings->bytes : 0);

	if (rf->budget == NULL)
		return 0;
	rf->budget->used += now - rf->charged;
	rf->charged = now;
	return report_budget_exceeded(rf->budget);
}

void
report_file_set_budget(struct report_file *rf, struct report_budget *b)
{
	rf->budget = b;
	rf->charged = 0;
	if (rf->bytes == 0)	/* the file itself, its names and its parser */
		rf->bytes = sizeof(*rf) + strlen(rf->file) + strlen(rf->type) + strlen(rf->date) +
		    strlen(rf->identifier) + 4 * (1 + SMALL_ALLOC) + 512;
	charge(rf);
}

void
report_file_set_error(struct report_file *rf, const char *error)
{
	report_file_set_error_kind(rf, REPORT_ERROR_FORMAT, error);
}

void
report_file_set_error_kind(struct report_file *rf, enum report_error kind, const char *error)
{
	if (rf->error)
		return;
	rf->error = xstrdup(error);
	rf->error_kind = kind;
}

void
report_file_set_entry(struct report_file *rf, const struct catalogue_entry *e)
{
	size_t i;

	rf->known_type = e != NULL;
	rf->transport[0] = '\0';
	for (i = 0; e && e->protocol[i] && i + 1 < sizeof(rf->transport); i++) {
		char c = e->protocol[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
			i = 0;	/* "TCP/UDP" names no one transport */
			break;
		}
		rf->transport[i] = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	}
	rf->transport[i] = '\0';
}

int
parse_detection_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, sec, n = 0;
	const char *rest;

	if (sscanf(s, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n == 0)
		return -1;
	rest = s + n;
	if (*rest == '.')	/* fractional seconds */
		rest += 1 + strspn(rest + 1, "0123456789");
	if (strcmp(rest, "") && strcmp(rest, "Z") && strcmp(rest, "+00") && strcmp(rest, "+00:00") &&
	    strcmp(rest, " UTC") && strcmp(rest, "+0000"))
		return -1;
	if (y < 1990 || y > 2200)
		return -1;
	return utc_time(y, mo, d, h, mi, sec, out);
}

/* name_identifier - the part after "<type>-" up to ".csv", made a plain token */
static char *
name_identifier(const char *p)
{
	size_t len = strcspn(p, "/");
	char *id, *c;

	if (len >= 4 && strncmp(p + len - 4, ".zip", 4) == 0)
		len -= 4;
	if (len >= 4 && strncmp(p + len - 4, ".csv", 4) == 0)
		len -= 4;
	id = xstrndup(p, len > 128 ? 128 : len);
	for (c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr("-_.:", *c)))
			*c = '_';
	return id;
}

int
report_name_parse(const char *name, char **date, char **type, char **identifier)
{
	const char *base = strrchr(name, '/'), *p, *dash;
	int y, m, d, n = 0;

	base = base ? base + 1 : name;
	if (sscanf(base, "%4d-%2d-%2d-%n", &y, &m, &d, &n) != 3 || n != 11)
		return -1;
	p = base + n;
	dash = strchr(p, '-');
	if (dash == NULL || dash == p || (size_t)(dash - p) > 64)
		return -1;
	for (const char *c = p; c < dash; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		    (*c >= 'A' && *c <= 'Z')))
			return -1;
	*date = xstrndup(base, 10);
	*type = xstrndup(p, (size_t)(dash - p));
	if (identifier)
		*identifier = name_identifier(dash + 1);
	for (char *c = *type; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	return 0;
}

/* --- the dedup table ------------------------------------------------------ */

static uint64_t
finding_hash(const struct finding *key)
{
	uint64_t h = 1469598103934665603ULL;
	const char *proto = key->protocol;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ key->ip.bytes[i]) * 1099511628211ULL;
	h = (h ^ key->len) * 1099511628211ULL;
	h = (h ^ (uint64_t)(key->port + 1)) * 1099511628211ULL;
	for (; *proto; proto++)
		h = (h ^ (unsigned char)*proto) * 1099511628211ULL;
	return h ^ (h >> 29);
}

/* protocols are kept once per file: the same protocol is the same pointer */
static int
finding_same(const struct finding *f, const struct finding *key)
{
	return f->ip.family == key->ip.family && memcmp(f->ip.bytes, key->ip.bytes, 16) == 0 &&
	    f->len == key->len && f->port == key->port && f->protocol == key->protocol &&
	    f->account == key->account;	/* a host that moved within the report is two findings */
}

static void
table_insert(struct report_file *rf, size_t index)
{
	size_t i = finding_hash(finding_at(rf, index)) & (rf->nslots - 1);

	while (rf->slots[i])
		i = (i + 1) & (rf->nslots - 1);
	rf->slots[i] = (uint32_t)index + 1;
}

static void
table_grow(struct report_file *rf)
{
	size_t i;

	free(rf->slots);
	rf->nslots = rf->nslots ? rf->nslots * 2 : 32;
	rf->slots = xcalloc(rf->nslots, sizeof(*rf->slots));
	rf->bytes += rf->nslots * sizeof(*rf->slots);
	for (i = 0; i < rf->nfindings; i++)
		table_insert(rf, i);
}

static struct finding *
table_find(const struct report_file *rf, const struct finding *key)
{
	size_t i;

	if (rf->nslots == 0)
		return NULL;
	i = finding_hash(key) & (rf->nslots - 1);
	for (; rf->slots[i]; i = (i + 1) & (rf->nslots - 1))
		if (finding_same(finding_at(rf, rf->slots[i] - 1), key))
			return finding_at(rf, rf->slots[i] - 1);
	return NULL;
}

/* add_finding - a new finding like KEY, in the dedup table */
static struct finding *
add_finding(struct report_file *rf, const struct finding *key)
{
	struct finding *f;

	if ((rf->nfindings + 1) * 2 > rf->nslots)
		table_grow(rf);
	f = new_finding(rf);
	*f = *key;
	f->row = NULL;
	f->listed_in_row = f->row_own = 0;
	table_insert(rf, rf->nfindings - 1);
	return f;
}

/* --- records ------------------------------------------------------------- */

static int
take_columns(struct report_file *rf, const struct csvreport_row *row)
{
	size_t i;

	rf->ncolumns = row->ncols;
	rf->columns = xcalloc(row->ncols ? row->ncols : 1, sizeof(char *));
	for (i = 0; i < row->ncols; i++) {
		rf->columns[i] = xstrdup(row->names[i]);
		rf->bytes += sizeof(char *) + strlen(row->names[i]) + 1 + SMALL_ALLOC + 1;	/* + its code */
	}
	strtab_free(rf->strings);
	rf->strings = strtab_new(rf->ncolumns);
	rf->codes = xcalloc(rf->ncolumns + 1, 1);
	return 0;
}

static int
column_index(const struct report_file *rf, const char *name)
{
	size_t i;

	for (i = 0; i < rf->ncolumns; i++)
		if (strcmp(rf->columns[i], name) == 0)
			return (int)i;
	return -1;
}

static const char *
row_value(const struct report_file *rf, const struct csvreport_row *row, const char *name)
{
	int i = column_index(rf, name);

	return i < 0 ? "" : row->values[i];
}

static int
skip_row(struct report_file *rf, const struct csvreport_row *row, const char *what, const char *value)
{
	struct buf b = BUF_INIT;
	size_t i;

	rf->skipped_rows++;
	if (rf->first_skip)
		return 1;
	buf_printf(&b, "record %lu: bad %s \"", row->record, what);
	for (i = 0; value[i] && i < 64; i++)	/* a hostile value is shortened and made printable */
		buf_putc(&b, (unsigned char)value[i] < ' ' || value[i] == 0x7f ? '?' : value[i]);
	buf_puts(&b, "\"");
	rf->first_skip = buf_steal(&b);
	return 1;
}

/* parse_port - "" is no port; otherwise 0..65535 */
static int
parse_port(const char *s, int *port)
{
	long v = 0;

	if (*s == '\0') {
		*port = -1;
		return 0;
	}
	if (strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
		return -1;
	v = strtol(s, NULL, 10);
	if (v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* parse_protocol - a short token of letters and digits, lowercased */
static int
parse_protocol(const char *s, char *out, size_t outlen)
{
	size_t i, n = strlen(s);

	if (n >= outlen)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return -1;
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

/* record_finding - KEY (owned by ACCOUNT, or nobody; a part of the network
 * LISTED/LISTED_LEN) from ROW; a repeat keeps the earliest detection, and the
 * columns of the row it was seen in */
static void
record_finding(struct report_file *rf, const struct csvreport_row *row, const struct finding *key_in,
    const struct ipaddr *listed, unsigned listed_len, const struct account *account)
{
	struct finding owned = *key_in, *key = &owned, *f;

	owned.account = account;
	f = table_find(rf, key);

	if (f != NULL) {
		if (key->detected < f->detected) {
			f->detected = key->detected;
			if (f->row)
				set_row(rf, f, (const char *const *)row->values, listed, listed_len);
		}
		return;
	}
	f = add_finding(rf, key);
	if (account)
		set_row(rf, f, (const char *const *)row->values, listed, listed_len);
}

/* what record_part needs for each part of a listed network */
struct parts {
	struct report_file *rf;
	const struct csvreport_row *row;
	const struct finding *key;
};

static void
record_part(void *ctx, const struct account *account, const struct ipaddr *part, unsigned part_len)
{
	struct parts *p = ctx;
	struct finding k = *p->key;

	k.ip = *part;
	k.len = part_len;
	record_finding(p->rf, p->row, &k, &p->key->ip, p->key->len, account);
}

/* record_network - a finding for each customer inside KEY's network (the
 * map as it stood at the detection), or an unmatched one for the network
 * when it overlaps nobody */
static void
record_network(struct report_file *rf, const struct prefixmap *map, const struct csvreport_row *row,
    const struct finding *key)
{
	struct parts p = { rf, row, key };

	if (prefixmap_overlaps_at(map, &key->ip, key->len, key->detected, record_part, &p) == 0)
		record_finding(rf, row, key, NULL, 0, NULL);
}

static void
count_part(void *ctx, const struct account *account, const struct ipaddr *part, unsigned part_len)
{
	(void)account;
	(void)part;
	(void)part_len;
	(*(size_t *)ctx)++;
}

/* is_ours - some customer owns the host or a part of the network at WHEN */
static int
is_ours(const struct prefixmap *map, const struct ipaddr *ip, unsigned len, time_t when)
{
	size_t n = 0;

	if (len == ipaddr_bits(ip))
		return prefixmap_lookup_at(map, ip, when) != NULL;
	prefixmap_overlaps_at(map, ip, len, when, count_part, &n);
	return n > 0;
}

/*
 * parse_host - an address, or a network "198.51.100.0/24" (ShadowServer
 * documents that ip can hold one). A network wider than /8 (IPv4) or /16
 * (IPv6) is no report about a customer: it would name every one of them.
 */
static int
parse_host(const char *s, struct ipaddr *ip, unsigned *len)
{
	if (ipaddr_parse_prefix(s, ip, len) != 0)
		return -1;
	return *len < (ip->family == AF_INET6 ? 16u : 8u) ? -1 : 0;
}

/*
 * choose_host - the row's host: the first candidate column whose value lies
 * in our network (at KEY->detected), else the first with a value (it will be unmatched).
 * Returns the candidate's index, or -1 with *BAD the value that is no
 * address (or "" when the row names no host at all).
 */
static int
choose_host(const struct report_file *rf, const struct prefixmap *map, const struct csvreport_row *row,
    struct finding *key, const char **bad)
{
	struct ipaddr ip;
	unsigned len;
	size_t i;
	int first = -1;

	*bad = NULL;
	for (i = 0; i < rf->cols.nhost; i++) {
		const char *v = row->values[rf->cols.host[i].address];

		if (*v == '\0')
			continue;
		if (parse_host(v, &ip, &len) != 0) {
			if (*bad == NULL)
				*bad = v;
			continue;
		}
		if (first < 0) {
			first = (int)i;
			key->ip = ip;
			key->len = len;
		}
		if (rf->cols.nhost == 1)
			break;
		if (is_ours(map, &ip, len, key->detected)) {
			key->ip = ip;
			key->len = len;
			return (int)i;
		}
	}
	if (first < 0 && *bad == NULL)
		*bad = "";
	return first;
}

static int
check_header(struct report_file *rf, const struct csvreport_row *row)
{
	struct buf b = BUF_INIT;

	take_columns(rf, row);
	hostcols_find(&rf->cols, rf->type, rf->columns, rf->ncolumns);
	if (rf->cols.nhost == 0 && rf->known_type) {
		buf_printf(&b, "%s reports name no host (no %s column): nobody to notify", rf->type,
		    hostcols_names());
		rf->note = buf_steal(&b);
		return 0;
	}
	if (rf->cols.nhost == 0) {
		buf_printf(&b, "CSV header has no host column (%s) and the type is not in the catalogue",
		    hostcols_names());
		report_file_set_error(rf, b.data);
		buf_free(&b);
		return -1;
	}
	if (column_index(rf, "timestamp") < 0) {
		report_file_set_error(rf, "CSV header has no \"timestamp\" column");
		return -1;
	}
	return 0;
}

static const char *
value_at(const struct csvreport_row *row, int column)
{
	return column < 0 ? "" : row->values[column];
}

static int
add_row(struct report_file *rf, const struct prefixmap *map, const struct csvreport_row *row)
{
	struct finding key;
	const char *bad, *port, *proto;
	char protocol[16];
	int host, timed;

	if (rf->columns == NULL && check_header(rf, row) != 0)
		return -1;
	rf->rows++;
	if (rf->cols.nhost == 0)
		return 0;	/* a report about nobody (see the note) */
	memset(&key, 0, sizeof(key));
	/* the map as it stood at the detection: read first, judged after the host as before */
	timed = parse_detection_time(row_value(rf, row, "timestamp"), &key.detected) == 0;
	if ((host = choose_host(rf, map, row, &key, &bad)) < 0)
		return skip_row(rf, row, "ip", bad);
	if (!timed)
		return skip_row(rf, row, "timestamp", row_value(rf, row, "timestamp"));
	port = value_at(row, rf->cols.host[host].port);
	if (parse_port(port, &key.port) != 0)
		return skip_row(rf, row, "port", port);
	key.source_port = rf->cols.host[host].port_is_source;
	proto = value_at(row, rf->cols.protocol);
	if (*proto == '\0')
		proto = rf->transport;
	if (parse_protocol(proto, protocol, sizeof(protocol)) != 0)
		return skip_row(rf, row, "protocol", proto);
	key.protocol = strtab_protocol(rf->strings, protocol);
	if (key.len < ipaddr_bits(&key.ip))
		record_network(rf, map, row, &key);
	else
		record_finding(rf, row, &key, NULL, 0, prefixmap_lookup_at(map, &key.ip, key.detected));
	return 0;
}

int
report_file_add_row(struct report_file *rf, const struct prefixmap *map, const struct csvreport_row *row)
{
	int rc = add_row(rf, map, row);
	struct buf b = BUF_INIT;

	if (!charge(rf))
		return rc;
	buf_printf(&b, "report too large: findings and rows over MaxReportMemory (%llu bytes)", rf->budget->limit);
	report_file_set_error(rf, b.data);
	buf_free(&b);
	return -1;
}

/* --- grouping ------------------------------------------------------------ */

int
finding_compare(const struct finding *a, const struct finding *b)
{
	int c = ipaddr_compare(&a->ip, &b->ip);

	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return a->protocol == b->protocol ? 0 : strcmp(a->protocol, b->protocol);
}

static int
finding_order(const void *a, const void *b)
{
	return finding_compare(*(struct finding *const *)a, *(struct finding *const *)b);
}

/* matched findings by account name, then address: groups become runs */
static int
account_then_address(const void *a, const void *b)
{
	const struct finding *fa = *(struct finding *const *)a, *fb = *(struct finding *const *)b;
	int c = fa->account == fb->account ? 0 : strcmp(fa->account->name, fb->account->name);

	return c ? c : finding_compare(fa, fb);
}

/* build_groups - the runs of one account in rf->grouped, sorted, as groups */
static void
build_groups(struct report_file *rf, size_t n)
{
	struct finding **m = rf->grouped;
	size_t i, start, ngroups = 0;

	qsort(m, n, sizeof(*m), account_then_address);
	for (i = 0; i < n; i++)
		ngroups += i == 0 || m[i]->account != m[i - 1]->account;
	rf->groups = xcalloc(ngroups + 1, sizeof(*rf->groups));
	for (start = 0; start < n; start = i) {
		for (i = start; i < n && m[i]->account == m[start]->account; i++)
			;
		rf->groups[rf->ngroups++] = (struct notice_group){ m[start]->account, m + start, i - start };
	}
}

void
report_file_close(struct report_file *rf)
{
	size_t i, nmatched = 0, nunmatched = 0;

	free(rf->slots);	/* no more rows */
	rf->slots = NULL;
	rf->nslots = 0;
	for (i = 0; i < rf->nfindings; i++)
		nunmatched += finding_at(rf, i)->account == NULL;
	rf->grouped = xcalloc(rf->nfindings - nunmatched + 1, sizeof(*rf->grouped));
	rf->unmatched = xcalloc(nunmatched + 1, sizeof(*rf->unmatched));
	rf->bytes += (rf->nfindings + 2) * sizeof(struct finding *) + 2 * SMALL_ALLOC;
	for (i = 0; i < rf->nfindings; i++) {
		struct finding *f = finding_at(rf, i);

		if (f->account == NULL)
			rf->unmatched[rf->nunmatched++] = f;
		else
			rf->grouped[nmatched++] = f;
	}
	if (rf->nunmatched > 1)
		qsort(rf->unmatched, rf->nunmatched, sizeof(*rf->unmatched), finding_order);
	build_groups(rf, nmatched);
	rf->bytes += (rf->ngroups + 1) * sizeof(*rf->groups) + SMALL_ALLOC;
	charge(rf);	/* counted; the rows were the limit, the grouping follows them */
}

struct finding *
report_file_adopt(struct report_file *rf, const struct report_file *from, const struct finding *f)
{
	struct finding *copy = new_finding(rf);
	const char **values;
	struct ipaddr listed;
	unsigned listed_len = 0;
	size_t i, j;

	*copy = *f;
	copy->row = NULL;
	copy->listed_in_row = copy->row_own = 0;
	if (rf->strings == NULL) {	/* a file without a header yet */
		rf->strings = strtab_new(rf->ncolumns);
		rf->codes = xcalloc(rf->ncolumns + 1, 1);
	}
	copy->protocol = strtab_protocol(rf->strings, f->protocol);
	if (f->row == NULL)
		return copy;
	values = xcalloc(rf->ncolumns + 1, sizeof(*values));
	for (i = 0; i < rf->ncolumns; i++) {
		for (j = 0; j < from->ncolumns && strcmp(from->columns[j], rf->columns[i]) != 0; j++)
			;
		values[i] = j < from->ncolumns ? row_column(from, f, j) : "";
	}
	if (f->listed_in_row) {
		memcpy(listed.bytes, f->row, 16);
		listed.family = f->row[16] ? AF_INET6 : AF_INET;
		listed_len = f->row[17];
	}
	set_row(rf, copy, values, f->listed_in_row ? &listed : NULL, f->listed_in_row ? listed_len : 0);
	free(values);
	return copy;
}

void
finding_address(const struct finding *f, char *out, size_t outlen)
{
	char addr[IPADDR_STRLEN];

	ipaddr_format(&f->ip, addr, sizeof(addr));
	if (f->len < ipaddr_bits(&f->ip))
		snprintf(out, outlen, "%s/%u", addr, f->len);
	else
		snprintf(out, outlen, "%s", addr);
}

void
finding_endpoint(const struct finding *f, char *out, size_t outlen)
{
	char addr[FINDING_ADDRSTRLEN];

	finding_address(f, addr, sizeof(addr));
	if (f->port < 0 || f->len < ipaddr_bits(&f->ip))
		snprintf(out, outlen, "%s", addr);
	else if (f->ip.family == AF_INET6)
		snprintf(out, outlen, "[%s]:%d", addr, f->port);
	else
		snprintf(out, outlen, "%s:%d", addr, f->port);
}

void
finding_listed(const struct finding *f, char *out, size_t outlen)
{
	char addr[IPADDR_STRLEN];
	struct ipaddr listed;

	if (!f->listed_in_row) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	memcpy(listed.bytes, f->row, 16);
	listed.family = f->row[16] ? AF_INET6 : AF_INET;
	ipaddr_format(&listed, addr, sizeof(addr));
	snprintf(out, outlen, "%s/%u", addr, f->row[17]);
}

const char *
report_file_value(const struct report_file *rf, const struct finding *f, const char *name)
{
	int i = column_index(rf, name);

	return i < 0 || f->row == NULL ? NULL : row_column(rf, f, (size_t)i);
}
