/*
 * fuzz_customermap - libFuzzer target: the CustomerMap loader and the
 * longest-prefix trie behind it
 *
 * Two modes, picked by the first byte:
 *  - anything but 0xFF: the input is a customers.csv, loaded with
 *    prefixmap_load as the daemon does at start and reload. A map that loads
 *    must only hand out accounts whose name and addresses cannot break a
 *    notice's headers, whatever addresses are looked up.
 *  - 0xFF: then a count, that many binary records (family and account
 *    number, 16 address bytes, prefix length) added with prefixmap_add, then
 *    addresses to look up (family, 16 bytes); every
 *    lookup is checked against a plain linear scan for the longest prefix:
 *    one customer's hosts must never land in another customer's notice.
 *
 *   make fuzz   (tests/fuzz/run.sh builds the seeds from conf/customers.csv)
 */
#include "fuzzutil.h"

#include "base/ipaddr.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ORACLE_MAX 256		/* records in oracle mode: the count is one byte */

static void
check_account(const struct account *a)
{
	size_t i;
	const unsigned char *p;

	if (a == NULL)
		return;
	if (a->name == NULL || a->name[0] == '\0' || a->nemails == 0)
		fuzz_fail("an account without a name or an address", a->name);
	for (p = (const unsigned char *)a->name; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			fuzz_fail("control character in an account name", a->name);
	for (i = 0; i < a->nemails; i++) {
		const char *e = a->emails[i];

		if (strchr(e, '@') == NULL)
			fuzz_fail("an address without '@'", e);
		for (p = (const unsigned char *)e; *p; p++)
			if (*p <= ' ' || *p >= 0x7f || strchr(",;<>\"()\\", *p))
				fuzz_fail("an address that could break a To: header", e);
	}
}

static void
lookup_checked(const struct prefixmap *map, int family, const uint8_t *bytes)
{
	struct ipaddr a;

	memset(&a, 0, sizeof(a));
	a.family = family;
	memcpy(a.bytes, bytes, family == AF_INET ? 4 : 16);
	check_account(prefixmap_lookup(map, &a));
}

static void
csv_mode(const uint8_t *data, size_t size)
{
	static char path[4096];
	static const uint8_t ends[2][16] = { { 0 }, { 255, 255, 255, 255, 255, 255, 255, 255,
	    255, 255, 255, 255, 255, 255, 255, 255 } };
	struct prefixmap *map = prefixmap_new();
	uint8_t probe[16] = { 0 };
	char err[1024];
	size_t i;

	if (*path == '\0')
		fuzz_path(path, sizeof(path), "customers.csv");
	fuzz_write_file(path, data, size);
	err[0] = '\0';
	if (prefixmap_load(map, path, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			fuzz_fail("prefixmap_load failed without saying why", NULL);
		prefixmap_free(map);
		return;
	}
	memcpy(probe, data, size < 16 ? size : 16);
	for (i = 0; i < 2; i++) {
		lookup_checked(map, AF_INET, ends[i]);
		lookup_checked(map, AF_INET6, ends[i]);
	}
	lookup_checked(map, AF_INET, probe);
	lookup_checked(map, AF_INET6, probe);
	/* the documentation networks the shipped example map uses */
	lookup_checked(map, AF_INET, (const uint8_t[]){ 192, 0, 2, 10 });
	lookup_checked(map, AF_INET, (const uint8_t[]){ 198, 51, 100, 7 });
	lookup_checked(map, AF_INET6, (const uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25 });
	prefixmap_free(map);
}

/* --- oracle mode --------------------------------------------------------- */

struct record {
	struct ipaddr prefix;
	unsigned plen;
	char account[8];
};

static int
covers(const struct record *r, const struct ipaddr *a)
{
	unsigned i;

	if (r->prefix.family != a->family)
		return 0;
	for (i = 0; i < r->plen; i++)
		if (ipaddr_bit(&r->prefix, i) != ipaddr_bit(a, i))
			return 0;
	return 1;
}

/* linear_lookup - the account of the longest added prefix covering A, or NULL */
static const char *
linear_lookup(const struct record *recs, size_t n, const struct ipaddr *a)
{
	const struct record *best = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (covers(&recs[i], a) && (best == NULL || recs[i].plen > best->plen))
			best = &recs[i];
	return best ? best->account : NULL;
}

/* record_decode - 18 bytes: family/account, address, length (host bits cleared) */
static void
record_decode(const uint8_t *p, struct record *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->prefix.family = p[0] & 1 ? AF_INET6 : AF_INET;
	memcpy(r->prefix.bytes, p + 1, r->prefix.family == AF_INET ? 4 : 16);
	r->plen = p[17] % (ipaddr_bits(&r->prefix) + 1);
	for (i = r->plen; i < ipaddr_bits(&r->prefix); i++)
		r->prefix.bytes[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	snprintf(r->account, sizeof(r->account), "a%u", (unsigned)(p[0] >> 1) % 8);
}

static const struct record *
exact(const struct record *recs, size_t n, const struct record *r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (recs[i].plen == r->plen && ipaddr_compare(&recs[i].prefix, &r->prefix) == 0)
			return &recs[i];
	return NULL;
}

static void
oracle_check(const struct prefixmap *map, const struct record *recs, size_t n, const struct ipaddr *a)
{
	const struct account *got = prefixmap_lookup(map, a);
	const char *want = linear_lookup(recs, n, a);
	char text[IPADDR_STRLEN], msg[256];

	if ((got == NULL) != (want == NULL) || (got && strcmp(got->name, want) != 0)) {
		ipaddr_format(a, text, sizeof(text));
		snprintf(msg, sizeof(msg), "%s: trie says %s, linear scan says %s", text,
		    got ? got->name : "(none)", want ? want : "(none)");
		fuzz_fail("longest-prefix lookup disagrees with a linear scan", msg);
	}
	check_account(got);
}

static void
oracle_mode(const uint8_t *data, size_t size)
{
	struct prefixmap *map = prefixmap_new();
	struct record *recs = xcalloc(ORACLE_MAX, sizeof(*recs));
	size_t n = 0, i, bit, want = size ? data[0] : 0;
	char err[256], email[32];

	if (size)
		data++, size--;
	for (; size >= 18 && want-- > 0; data += 18, size -= 18) {
		struct record r;
		const struct record *old;
		int rc;

		record_decode(data, &r);
		snprintf(email, sizeof(email), "%s@example.net", r.account);
		rc = prefixmap_add(map, &r.prefix, r.plen, r.account, email, err, sizeof(err));
		old = exact(recs, n, &r);
		if (old && strcmp(old->account, r.account) != 0) {
			if (rc == 0)
				fuzz_fail("a prefix was given to a second account", r.account);
			continue;
		}
		if (rc != 0)
			fuzz_fail("prefixmap_add refused a valid prefix", err);
		if (old == NULL)
			recs[n++] = r;
	}
	if (prefixmap_prefix_count(map) != n)
		fuzz_fail("prefix count differs from the prefixes added", NULL);
	/* each prefix's own address, its neighbours at the edge, and the rest of the input */
	for (i = 0; i < n; i++) {
		struct ipaddr a = recs[i].prefix;

		oracle_check(map, recs, n, &a);
		if (recs[i].plen > 0) {
			bit = recs[i].plen - 1;
			a.bytes[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
			oracle_check(map, recs, n, &a);
		}
		a = recs[i].prefix;
		memset(a.bytes + (recs[i].plen + 7) / 8, 0xff, 16 - (recs[i].plen + 7) / 8);
		if (a.family == AF_INET)
			memset(a.bytes + 4, 0, 12);
		oracle_check(map, recs, n, &a);
	}
	for (; size >= 17; data += 17, size -= 17) {
		struct ipaddr a;

		memset(&a, 0, sizeof(a));
		a.family = data[0] & 1 ? AF_INET6 : AF_INET;
		memcpy(a.bytes, data + 1, a.family == AF_INET ? 4 : 16);
		oracle_check(map, recs, n, &a);
	}
	free(recs);
	prefixmap_free(map);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 0xFF)
		oracle_mode(data + 1, size - 1);
	else
		csv_mode(data, size);
	return 0;
}
