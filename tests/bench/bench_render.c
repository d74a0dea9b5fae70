/*
 * bench_render - render time of the notices of a report naming 100,000
 * customers (one host each), the shipped scan_portmapper template
 *
 * Reads the report once (not timed), then times notice_build for every
 * customer's group: the template rendered against the customer's findings,
 * wrapped in its headers. Twice: without a detection history and with one
 * (every finding seen before, one in three overdue), so both wordings of the
 * template are walked. Prints the best of three runs of each, and the figure
 * (CPU time; the machine is shared) measured on the code before the templates were compiled (b8c94aa), so
 * "make bench" shows before and after on one screen.
 *
 *   make bench    (or build/bench/bench_render [CUSTOMERS])
 */
#include "config/config.h"
#include "report/catalogue.h"
#include "report/csvreport.h"
#include "report/findings.h"
#include "notice/notice.h"
#include "notice/template.h"
#include "customers/prefixmap.h"
#include "base/ipaddr.h"
#include "store/state.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* seconds for 100,000 customers on b8c94aa (interpreted templates), this
 * machine, best of three: without history, with history */
#define BEFORE_PLAIN 2.16
#define BEFORE_HISTORY 2.26

static void
ip_of(unsigned long i, char *out, size_t len)
{
	snprintf(out, len, "10.%lu.%lu.%lu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

static struct prefixmap *
make_map(unsigned long n)
{
	struct prefixmap *map = prefixmap_new();
	char ip[32], name[32], email[64], err[256];
	struct ipaddr a;
	unsigned long i;

	for (i = 0; i < n; i++) {
		ip_of(i, ip, sizeof(ip));
		snprintf(name, sizeof(name), "cust%lu", i);
		snprintf(email, sizeof(email), "noc@cust%lu.example", i);
		if (ipaddr_parse(ip, &a) != 0 || prefixmap_add(map, &a, 32, name, email, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_render: %s\n", err);
			exit(1);
		}
	}
	return map;
}

static struct report_file *
make_report(const struct config *cfg, const struct prefixmap *map, unsigned long n)
{
	static char *names[] = { "timestamp", "ip", "protocol", "port", "hostname", "tag", "asn" };
	char ts[32], ip[32], host[48], *values[7];
	struct csvreport_row row = { 7, names, values, 0, 7 };
	struct report_file *rf = report_file_new("2026-11-24-scan_portmapper-bench.csv", "scan_portmapper",
	    "2026-11-24", "bench");
	unsigned long i;

	report_file_set_entry(rf, catalogue_lookup(cfg->catalogue, "scan_portmapper"));
	values[0] = ts, values[1] = ip, values[2] = "udp", values[3] = "111";
	values[4] = host, values[5] = "portmapper", values[6] = "64500";
	for (i = 0; i < n; i++) {
		snprintf(ts, sizeof(ts), "2026-11-24 %02lu:%02lu:%02lu", (i / 3600) % 24, (i / 60) % 60, i % 60);
		ip_of(i, ip, sizeof(ip));
		snprintf(host, sizeof(host), "host-%lu.example.net", i);
		row.record = i + 1;
		if (report_file_add_row(rf, map, &row) != 0) {
			fprintf(stderr, "bench_render: row %lu not taken\n", i);
			exit(1);
		}
	}
	report_file_close(rf);
	return rf;
}

/* render_all - notice_build for every group; seconds */
static double
render_all(const struct config *cfg, const struct report_file *rf, const struct template *t, int history)
{
	struct notice_input in = { cfg, rf, "<bench@x>", 1795500000, catalogue_lookup(cfg->catalogue, rf->type),
	    NOTICE_FINDINGS };
	struct state_finding h = { 1795000000, 1795000000 + 14 * 86400, 0, 0, 3 };
	struct timespec t0, t1;
	char err[512], ref[32];
	size_t i, j;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (i = 0; i < rf->ngroups; i++) {
		struct notice n;

		notice_init(&n, &rf->groups[i], NULL);
		if (history) {	/* every finding of the group with the same history */
			h.overdue = i % 3 == 0;
			snprintf(ref, sizeof(ref), "SM-%06zu", i);
			for (j = 0; j < n.nfindings; j++)
				n.findings[j].h = &h;
			n.case_ref = ref;
		}
		if (notice_build(&in, t, &n, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_render: %s\n", err);
			exit(1);
		}
		notice_free(&n);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static double
best_of_three(const struct config *cfg, const struct report_file *rf, const struct template *t, int history)
{
	double best = 0, s;
	int i;

	for (i = 0; i < 3; i++)
		if ((s = render_all(cfg, rf, t, history)) < best || i == 0)
			best = s;
	return best;
}

static void
print_figure(const char *what, unsigned long n, double secs, double before)
{
	printf("  %s: %7.3f s  %6.2f us/notice", what, secs, secs * 1e6 / (double)n);
	if (n == 100000)
		printf("  (before, b8c94aa: %.2f s; %.1fx)", before, before / secs);
	printf("\n");
}

int
main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	struct config *cfg = config_new();
	struct template_set *set;
	const struct template *t;
	struct prefixmap *map;
	struct report_file *rf;
	char err[512];

	if (config_load_catalogue(cfg, err, sizeof(err)) != 0 ||
	    (set = notice_templates_load(cfg, err, sizeof(err))) == NULL ||
	    (t = notice_template_find(set, cfg, "scan_portmapper", err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_render: %s\n", err);
		return 1;
	}
	map = make_map(n);
	rf = make_report(cfg, map, n);
	if (rf->ngroups != n) {
		fprintf(stderr, "bench_render: %zu customers, not %lu\n", rf->ngroups, n);
		return 1;
	}
	printf("bench_render: %lu notices (one per customer, one host each), %s, best of 3\n", n, template_path(t));
	print_figure("without history", n, best_of_three(cfg, rf, t, 0), BEFORE_PLAIN);
	print_figure("with history   ", n, best_of_three(cfg, rf, t, 1), BEFORE_HISTORY);
	report_file_free(rf);
	prefixmap_free(map);
	template_set_free(set);
	config_free(cfg);
	return 0;
}
