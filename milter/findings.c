/*
 * findings - what one report file says about whose addresses
 *
 * See findings.h.
 */
#include "findings.h"
#include "catalogue.h"
#include "csvreport.h"
#include "prefixmap.h"
#include "util.h"

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

static void
finding_free(struct finding *f, size_t ncolumns)
{
	(void)ncolumns;
	free(f->values);	/* one block: the pointers, then the strings */
	free(f);
}

void
report_file_free(struct report_file *rf)
{
	size_t i;

	if (rf == NULL)
		return;
	for (i = 0; i < rf->nall; i++)
		finding_free(rf->all[i], rf->ncolumns);
	for (i = 0; i < rf->ncolumns; i++)
		free(rf->columns[i]);
	for (i = 0; i < rf->ngroups; i++)
		free(rf->groups[i].findings);
	free(rf->groups);
	free(rf->unmatched);
	free(rf->columns);
	free(rf->all);
	free(rf->slots);
	free(rf->file);
	free(rf->type);
	free(rf->date);
	free(rf->identifier);
	free(rf->first_skip);
	free(rf->error);
	free(rf->note);
	free(rf);
}

void
report_file_set_error(struct report_file *rf, const char *error)
{
	if (rf->error == NULL)
		rf->error = xstrdup(error);
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
	struct tm tm;
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
	if (y < 1990 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    h < 0 || mi < 0 || sec < 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return 0;
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

static int
finding_same(const struct finding *f, const struct finding *key)
{
	return f->ip.family == key->ip.family && memcmp(f->ip.bytes, key->ip.bytes, 16) == 0 &&
	    f->len == key->len && f->port == key->port && strcmp(f->protocol, key->protocol) == 0;
}

static void
table_insert(struct report_file *rf, size_t index)
{
	const struct finding *f = rf->all[index];
	size_t i = finding_hash(f) & (rf->nslots - 1);

	while (rf->slots[i])
		i = (i + 1) & (rf->nslots - 1);
	rf->slots[i] = index + 1;
}

static void
table_grow(struct report_file *rf)
{
	size_t i;

	free(rf->slots);
	rf->nslots = rf->nslots ? rf->nslots * 2 : 1024;
	rf->slots = xcalloc(rf->nslots, sizeof(size_t));
	for (i = 0; i < rf->nall; i++)
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
		if (finding_same(rf->all[rf->slots[i] - 1], key))
			return rf->all[rf->slots[i] - 1];
	return NULL;
}

static void
append_finding(struct report_file *rf, struct finding *f)
{
	if ((rf->nall + 1) * 2 > rf->nslots)
		table_grow(rf);
	if (rf->nall == rf->allcap) {
		rf->allcap = rf->allcap ? rf->allcap * 2 : 256;
		rf->all = xreallocarray(rf->all, rf->allcap, sizeof(*rf->all));
	}
	rf->all[rf->nall] = f;
	table_insert(rf, rf->nall++);
}

/* --- records ------------------------------------------------------------- */

static int
take_columns(struct report_file *rf, const struct csvreport_row *row)
{
	size_t i;

	rf->ncolumns = row->ncols;
	rf->columns = xcalloc(row->ncols ? row->ncols : 1, sizeof(char *));
	for (i = 0; i < row->ncols; i++)
		rf->columns[i] = xstrdup(row->names[i]);
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

/*
 * finding_values_copy - N strings in ONE allocation, the pointers first: a
 * report naming 100,000 customers keeps 100,000 of these, not a million
 * small ones (free it with free())
 */
char **
finding_values_copy(const char *const *src, size_t n)
{
	size_t i, bytes = (n + 1) * sizeof(char *);
	char **values, *p;

	for (i = 0; i < n; i++)
		bytes += strlen(src[i] ? src[i] : "") + 1;
	values = xmalloc(bytes);
	p = (char *)(values + n + 1);
	for (i = 0; i < n; i++) {
		size_t len = strlen(src[i] ? src[i] : "") + 1;

		memcpy(p, src[i] ? src[i] : "", len);
		values[i] = p;
		p += len;
	}
	values[n] = NULL;
	return values;
}

static char **
copy_values(const struct csvreport_row *row)
{
	return finding_values_copy((const char *const *)row->values, row->ncols);
}

static void
free_values(char **values, size_t n)
{
	(void)n;
	free(values);
}

/* record_finding - KEY (owned by ACCOUNT, or nobody) from ROW; a repeat keeps
 * the earliest detection, and the columns of the row it was seen in */
static void
record_finding(struct report_file *rf, const struct csvreport_row *row, const struct finding *key,
    const struct account *account)
{
	struct finding *f = table_find(rf, key);

	if (f != NULL) {
		if (key->detected < f->detected) {
			f->detected = key->detected;
			f->listed = key->listed;
			f->listed_len = key->listed_len;
			if (f->values) {
				free_values(f->values, rf->ncolumns);
				f->values = copy_values(row);
			}
		}
		return;
	}
	f = xmalloc(sizeof(*f));
	*f = *key;
	f->account = account;
	f->values = account ? copy_values(row) : NULL;
	append_finding(rf, f);
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
	record_finding(p->rf, p->row, &k, account);
}

/* record_network - a finding for each customer inside KEY's network, or an
 * unmatched one for the network when it overlaps nobody */
static void
record_network(struct report_file *rf, const struct prefixmap *map, const struct csvreport_row *row,
    const struct finding *key)
{
	struct parts p = { rf, row, key };

	if (prefixmap_overlaps(map, &key->ip, key->len, record_part, &p) == 0)
		record_finding(rf, row, key, NULL);
}

static void
count_part(void *ctx, const struct account *account, const struct ipaddr *part, unsigned part_len)
{
	(void)account;
	(void)part;
	(void)part_len;
	(*(size_t *)ctx)++;
}

/* is_ours - some customer owns the host or a part of the network */
static int
is_ours(const struct prefixmap *map, const struct ipaddr *ip, unsigned len)
{
	size_t n = 0;

	if (len == ipaddr_bits(ip))
		return prefixmap_lookup(map, ip) != NULL;
	prefixmap_overlaps(map, ip, len, count_part, &n);
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
 * in our network, else the first with a value (it will be unmatched).
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
		if (is_ours(map, &ip, len)) {
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

int
report_file_add_row(struct report_file *rf, const struct prefixmap *map, const struct csvreport_row *row)
{
	struct finding key;
	const char *bad, *port, *proto;
	int host;

	if (rf->columns == NULL && check_header(rf, row) != 0)
		return -1;
	rf->rows++;
	if (rf->cols.nhost == 0)
		return 0;	/* a report about nobody (see the note) */
	memset(&key, 0, sizeof(key));
	if ((host = choose_host(rf, map, row, &key, &bad)) < 0)
		return skip_row(rf, row, "ip", bad);
	key.listed = key.ip;
	key.listed_len = key.len;
	if (parse_detection_time(row_value(rf, row, "timestamp"), &key.detected) != 0)
		return skip_row(rf, row, "timestamp", row_value(rf, row, "timestamp"));
	port = value_at(row, rf->cols.host[host].port);
	if (parse_port(port, &key.port) != 0)
		return skip_row(rf, row, "port", port);
	key.source_port = rf->cols.host[host].port_is_source;
	proto = value_at(row, rf->cols.protocol);
	if (*proto == '\0')
		proto = rf->transport;
	if (parse_protocol(proto, key.protocol, sizeof(key.protocol)) != 0)
		return skip_row(rf, row, "protocol", proto);
	if (key.len < ipaddr_bits(&key.ip))
		record_network(rf, map, row, &key);
	else
		record_finding(rf, row, &key, prefixmap_lookup(map, &key.ip));
	return 0;
}

/* --- grouping ------------------------------------------------------------ */

static int
finding_order(const void *a, const void *b)
{
	const struct finding *fa = *(struct finding *const *)a, *fb = *(struct finding *const *)b;
	int c = ipaddr_compare(&fa->ip, &fb->ip);

	if (c)
		return c;
	if (fa->len != fb->len)
		return fa->len < fb->len ? -1 : 1;
	if (fa->port != fb->port)
		return fa->port < fb->port ? -1 : 1;
	return strcmp(fa->protocol, fb->protocol);
}

/* matched findings by account name, then address: groups become runs */
static int
account_then_address(const void *a, const void *b)
{
	const struct finding *fa = *(struct finding *const *)a, *fb = *(struct finding *const *)b;
	int c = strcmp(fa->account->name, fb->account->name);

	return c ? c : finding_order(a, b);
}

static void
build_groups(struct report_file *rf, struct finding **matched, size_t n)
{
	size_t i, start;

	qsort(matched, n, sizeof(*matched), account_then_address);
	for (start = 0; start < n; start = i) {
		for (i = start; i < n && matched[i]->account == matched[start]->account; i++)
			;
		rf->groups = xreallocarray(rf->groups, rf->ngroups + 1, sizeof(*rf->groups));
		rf->groups[rf->ngroups].account = matched[start]->account;
		rf->groups[rf->ngroups].nfindings = i - start;
		rf->groups[rf->ngroups].findings = xreallocarray(NULL, i - start, sizeof(*matched));
		memcpy(rf->groups[rf->ngroups].findings, matched + start, (i - start) * sizeof(*matched));
		rf->ngroups++;
	}
}

void
report_file_close(struct report_file *rf)
{
	struct finding **matched = xreallocarray(NULL, rf->nall + 1, sizeof(*matched));
	size_t i, nmatched = 0;

	free(rf->slots);	/* the table refers to the unsorted order */
	rf->slots = NULL;
	rf->nslots = 0;
	if (rf->nall > 1)
		qsort(rf->all, rf->nall, sizeof(*rf->all), finding_order);
	rf->unmatched = xreallocarray(NULL, rf->nall + 1, sizeof(*rf->unmatched));
	for (i = 0; i < rf->nall; i++) {
		if (rf->all[i]->account == NULL)
			rf->unmatched[rf->nunmatched++] = rf->all[i];
		else
			matched[nmatched++] = rf->all[i];
	}
	build_groups(rf, matched, nmatched);
	free(matched);
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

	if (f->listed_len >= f->len || f->listed.family != f->ip.family) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	ipaddr_format(&f->listed, addr, sizeof(addr));
	snprintf(out, outlen, "%s/%u", addr, f->listed_len);
}

const char *
report_file_value(const struct report_file *rf, const struct finding *f, const char *name)
{
	int i = column_index(rf, name);

	return i < 0 || f->values == NULL ? NULL : f->values[i];
}
