/*
 * bench_mapsource - a CustomerMap refresh from PostgreSQL with a million prefixes
 *
 * Fills a table of the test server (SM_TEST_PG_URI; run it under
 * tests/e2e/with-pg.sh) with 1,000,000 prefixes by COPY (lib/pgmap.c):
 * 800k IPv4 /24s and 200k IPv6 /64s, 500k accounts. Then a fresh process (this program again,
 * so its peak RSS is the load's alone) reads the map the way the daemon's
 * refresh does (prefixmap_load_source: the server's COPY in CSV, parsed as
 * it streams) and prints the time, the loader's CPU time (user + system: the
 * figure that a busy machine does not inflate) and peak RSS. Target (issue
 * 19): at most 2 s and 200 MiB.
 * Without SM_TEST_PG_URI it prints SKIP and exits 0.
 *
 * Usage: bench_mapsource [count]
 */
#include "customers/prefixmap.h"
#include "customers/tablesource.h"
#include "lib/pgmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_seconds(const struct rusage *ru)
{
	return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
	    (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

/* load - the refresh, in this fresh process: prints its time and peak RSS */
static int
load(const char *uri)
{
	struct table_source src = { uri, PGMAP_QUERY, NULL, 60 };
	struct prefixmap *map = prefixmap_new();
	struct rusage ru;
	char err[512];
	double t0 = now(), t;

	if (prefixmap_load_source(map, &src, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_mapsource: %s\n", err);
		return 1;
	}
	t = now() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("map refresh from PostgreSQL: %zu prefixes, %zu accounts in %.2f s (CPU %.2f s), peak RSS %.0f MiB "
	    "(target: <= 2 s, <= 200 MiB)\n", prefixmap_prefix_count(map), prefixmap_account_count(map), t,
	    cpu_seconds(&ru), ru.ru_maxrss / 1024.0);
	prefixmap_free(map);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *uri = getenv("SM_TEST_PG_URI");
	long count = argc > 1 && strcmp(argv[1], "--load") != 0 ? atol(argv[1]) : 1000000;

	if (argc > 1 && strcmp(argv[1], "--load") == 0)
		return load(uri);
	if (uri == NULL || *uri == '\0') {
		printf("SKIP bench_mapsource: no SM_TEST_PG_URI (run under tests/e2e/with-pg.sh)\n");
		return 0;
	}
	if (pgmap_fill(uri, count) != 0)
		return 1;
	execl("/proc/self/exe", argv[0], "--load", (char *)NULL);
	perror("bench_mapsource: exec");
	return 1;
}
