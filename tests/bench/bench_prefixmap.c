/*
 * bench_prefixmap - load a million-prefix CustomerMap and look addresses up
 *
 * Writes a CSV of 1,000,000 distinct random prefixes (80% IPv4 /24-/32 from
 * public-looking space, 20% IPv6 /32-/64 inside 2000::/3, ~500k accounts) to
 * a temporary file, loads it with prefixmap_load, then looks up one random
 * address inside a random prefix a million times. Prints load time, memory
 * (peak RSS, and its growth during the load per prefix) and lookup rate,
 * then the cost of the overlap query a listed network makes: every /8 of the
 * IPv4 space once (each holds some thousands of the prefixes), and 10.0.0.0/8,
 * which holds none.
 *
 * Exits non-zero if any verification fails: a lookup inside a prefix that
 * finds nothing, a /32 that finds anyone but its owner, or a hit in space
 * that was never generated (10/8, 127/8, fc00::/7).
 *
 * Usage: bench_prefixmap [count]
 */
#include "customers/prefixmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NACCOUNTS 500000

struct gen {
	uint8_t bytes[16];
	uint8_t v6;
	uint8_t plen;
	uint32_t acct;
};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;	/* KiB on Linux */
}

static void
mask(uint8_t *bytes, unsigned plen)
{
	unsigned i;

	for (i = plen; i < 128; i++)
		bytes[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

static void
random_prefix(struct gen *g)
{
	unsigned i;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < 16; i++)
		g->bytes[i] = (uint8_t)rnd();
	g->v6 = rnd() % 5 == 0;
	if (g->v6) {
		g->bytes[0] = (uint8_t)(0x20 | (g->bytes[0] & 0x1f));	/* 2000::/3 */
		g->plen = (uint8_t)(32 + rnd() % 33);
	} else {
		g->bytes[0] = (uint8_t)(1 + rnd() % 223);	/* 1-223 */
		if (g->bytes[0] == 10 || g->bytes[0] == 127)
			g->bytes[0]++;
		g->plen = (uint8_t)(24 + rnd() % 9);
	}
	mask(g->bytes, g->plen);
	g->acct = (uint32_t)(rnd() % NACCOUNTS);
}

static int
gen_cmp(const void *pa, const void *pb)
{
	const struct gen *a = pa, *b = pb;
	int c = memcmp(a->bytes, b->bytes, 16);

	if (a->v6 != b->v6)
		return a->v6 - b->v6;
	return c ? c : a->plen - b->plen;
}

/* generate - N distinct prefixes in random order: sort, drop repeats, shuffle */
static struct gen *
generate(size_t n)
{
	size_t want = n + n / 50 + 16, i, j, k;
	struct gen *g = malloc(want * sizeof(*g)), t;

	if (g == NULL)
		return NULL;
	for (i = 0; i < want; i++)
		random_prefix(&g[i]);
	qsort(g, want, sizeof(*g), gen_cmp);
	for (i = j = 0; i < want; i++)
		if (j == 0 || gen_cmp(&g[j - 1], &g[i]) != 0)
			g[j++] = g[i];
	if (j < n) {
		free(g);
		return NULL;
	}
	for (i = j - 1; i > 0; i--) {
		k = (size_t)(rnd() % (i + 1));
		t = g[i], g[i] = g[k], g[k] = t;
	}
	return g;
}

static void
to_ipaddr(const struct gen *g, struct ipaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = g->v6 ? AF_INET6 : AF_INET;
	memcpy(a->bytes, g->bytes, g->v6 ? 16 : 4);
}

static int
write_csv(const char *path, const struct gen *g, size_t n)
{
	char text[IPADDR_STRLEN];
	struct ipaddr a;
	FILE *f = fopen(path, "w");
	size_t i;

	if (f == NULL)
		return -1;
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fputs("prefix,account,email,note\n", f);
	for (i = 0; i < n; i++) {
		to_ipaddr(&g[i], &a);
		ipaddr_format(&a, text, sizeof(text));
		fprintf(f, "%s/%u,cust%u,noc@cust%u.example;abuse@cust%u.example,bench\n",
		    text, g[i].plen, g[i].acct, g[i].acct, g[i].acct);
	}
	return fclose(f);
}

/* random_inside - a random address inside prefix G */
static void
random_inside(const struct gen *g, struct ipaddr *a)
{
	unsigned i, nbytes = g->v6 ? 16 : 4;

	to_ipaddr(g, a);
	for (i = g->plen; i < nbytes * 8; i++)
		if (rnd() & 1)
			a->bytes[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

static int
check_misses(const struct prefixmap *map)
{
	static const char *const never[] = { "10.1.2.3", "127.0.0.1", "fc00::1", "::1" };
	struct ipaddr a;
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		if (ipaddr_parse(never[i], &a) == 0 && prefixmap_lookup(map, &a) != NULL) {
			fprintf(stderr, "verification: %s matched\n", never[i]);
			bad++;
		}
	}
	return bad;
}

/* verify - every lookup hit; a /32 hit its own account */
static int
verify(const struct gen *g, const size_t *which, const struct account **res, size_t n)
{
	char name[32];
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		const struct gen *p = &g[which[i]];

		snprintf(name, sizeof(name), "cust%u", p->acct);
		if (res[i] == NULL || (!p->v6 && p->plen == 32 && strcmp(res[i]->name, name) != 0)) {
			if (bad++ < 5)
				fprintf(stderr, "verification: lookup %zu: got %s, want %s\n", i,
				    res[i] ? res[i]->name : "nothing", name);
		}
	}
	return bad;
}

static int
bench_lookups(const struct prefixmap *map, const struct gen *g, size_t n)
{
	struct ipaddr *addrs = malloc(n * sizeof(*addrs));
	const struct account **res = malloc(n * sizeof(*res));
	size_t *which = malloc(n * sizeof(*which)), i;
	double t0, t1;
	int bad;

	if (addrs == NULL || res == NULL || which == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		which[i] = (size_t)(rnd() % n);
		random_inside(&g[which[i]], &addrs[i]);
	}
	t0 = now();
	for (i = 0; i < n; i++)
		res[i] = prefixmap_lookup(map, &addrs[i]);
	t1 = now();
	printf("prefixmap_lookup: %zu lookups in %.3f s (%.0f lookups/s)\n",
	    n, t1 - t0, (double)n / (t1 - t0));
	bad = verify(g, which, res, n) + check_misses(map);
	free(addrs);
	free(res);
	free(which);
	return bad;
}

static void
count_part(void *ctx, const struct account *a, const struct ipaddr *part, unsigned len)
{
	(void)a;
	(void)part;
	(void)len;
	(*(size_t *)ctx)++;
}

/* bench_overlaps - a listed /8 of each first byte; 10/8 must overlap nobody */
static int
bench_overlaps(const struct prefixmap *map)
{
	struct ipaddr net;
	size_t parts = 0, most = 0, before, none = 0;
	double t0, t1, t2;
	unsigned b;

	memset(&net, 0, sizeof(net));
	net.family = AF_INET;
	t0 = now();
	for (b = 1; b < 224; b++) {
		net.bytes[0] = (uint8_t)b;
		before = parts;
		prefixmap_overlaps(map, &net, 8, count_part, &parts);
		if (parts - before > most)
			most = parts - before;
	}
	t1 = now();
	net.bytes[0] = 10;
	prefixmap_overlaps(map, &net, 8, count_part, &none);
	t2 = now();
	printf("prefixmap_overlaps: 223 listed /8s, %zu customer parts (at most %zu in one), %.0f us per /8; "
	    "10.0.0.0/8 (nobody's) %zu parts in %.0f us\n", parts, most, (t1 - t0) / 223 * 1e6, none,
	    (t2 - t1) * 1e6);
	return none != 0;
}

/*
 * bench_load - load PATH, timed. The generated prefixes stay allocated
 * throughout, so the growth of the RSS high-water mark is the map's own.
 */
static struct prefixmap *
bench_load(const char *path, size_t n)
{
	struct prefixmap *map = prefixmap_new();
	char err[512];
	long rss0, rss1;
	double t0, t1;

	rss0 = maxrss_kib();
	t0 = now();
	if (prefixmap_load(map, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_prefixmap: %s\n", err);
		prefixmap_free(map);
		return NULL;
	}
	t1 = now();
	rss1 = maxrss_kib();
	printf("prefixmap_load: %zu prefixes in %.2f s (%.0f prefixes/s), peak RSS %ld MiB\n",
	    prefixmap_prefix_count(map), t1 - t0, (double)n / (t1 - t0), rss1 / 1024);
	printf("prefixmap_memory: %.0f bytes/prefix (peak RSS grew %ld MiB during load), %zu accounts\n",
	    (double)(rss1 - rss0) * 1024 / (double)n, (rss1 - rss0) / 1024,
	    prefixmap_account_count(map));
	return map;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	char path[] = "/tmp/bench_prefixmap-XXXXXX";
	struct prefixmap *map;
	struct gen *g;
	int fd, bad;

	if (n == 0 || (g = generate(n)) == NULL || (fd = mkstemp(path)) < 0) {
		fprintf(stderr, "bench_prefixmap: setup failed\n");
		return 2;
	}
	close(fd);
	if (write_csv(path, g, n) != 0) {
		fprintf(stderr, "bench_prefixmap: cannot write %s\n", path);
		unlink(path);
		return 2;
	}
	map = bench_load(path, n);
	unlink(path);
	if (map == NULL)
		return 1;
	bad = prefixmap_prefix_count(map) != n;
	if (bad)
		fprintf(stderr, "verification: %zu prefixes loaded, want %zu\n",
		    prefixmap_prefix_count(map), n);
	bad += bench_lookups(map, g, n);
	bad += bench_overlaps(map);
	prefixmap_free(map);
	free(g);
	return bad ? 1 : 0;
}
