/*
 * bench_hostile - peak RSS and time of the memory-exhaustion mails of issue 17
 *
 * Builds, at run time (tests/hostilemail.c; nothing committed), the two
 * repros of the issue and replays each in a fresh child process through
 * the pipeline the milter uses, with our own DKIM verification and the
 * throwaway test key (TestPublicKeys tests/fixtures/dkim/keys):
 *   - a base64 zip of 40,000 two-line CSV members (~8 MB mail);
 *   - one zipped CSV of 200,000 columns x 2,000 rows;
 * each twice: as the attack (a genuine signed header block, the body
 * swapped: only the body hash, known at the end, fails) and as a signed
 * report of that size. Also 40,000 plain CSV attachments (the attack).
 * Prints the outcome, the CPU seconds of the pipeline (feed and finish,
 * reading the file excluded) and the child's peak RSS. The targets: under
 * 64 MiB and under 1 s each.
 *
 *   make bench    (or build/bench/bench_hostile, from the source tree)
 */
#include "hostilemail.h"

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY_FILE "tests/fixtures/dkim/test.private"
#define KEYS "tests/fixtures/dkim/keys"

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* peak_rss_mib - VmHWM of this process image: unlike ru_maxrss it starts
 * afresh at exec, so the parent's pages (the mails it built) do not count */
static double
peak_rss_mib(void)
{
	char line[256];
	double kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib / 1024.0;
}

/* replay_child - in a fresh process image, so the peak RSS is this replay's alone */
static int
replay_child(const char *mail, const char *mapfile)
{
	struct config *cfg = config_new();
	struct prefixmap *map = prefixmap_new();
	struct pipeline_result *r;
	struct pipeline *p;
	char err[512], chunk[65536];
	double cpu = 0, t;
	size_t n;
	FILE *f;

	if (config_set(cfg, "TestPublicKeys", KEYS, err, sizeof(err)) != 0 ||
	    prefixmap_load(map, mapfile, err, sizeof(err)) != 0 || (f = fopen(mail, "rb")) == NULL) {
		fprintf(stderr, "bench_hostile: %s\n", err);
		return 1;
	}
	p = pipeline_new(cfg, map);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {	/* the reading is not counted */
		t = cpu_seconds();
		pipeline_feed(p, chunk, n);
		cpu += cpu_seconds() - t;
	}
	fclose(f);
	t = cpu_seconds();
	if (pipeline_finish(p, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_hostile: %s\n", err);
		return 1;
	}
	cpu += cpu_seconds() - t;
	printf("%6.2f s CPU  peak RSS %6.1f MiB  %s\n", cpu, peak_rss_mib(), r->reason);
	pipeline_result_free(r);
	pipeline_free(p);
	return 0;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* run - MSG replayed in a child; 1 when it failed */
static int
run(const char *self, const char *label, char *msg, size_t len, const char *dir, const char *mapfile)
{
	char mail[256], *args[] = { (char *)self, "--child", mail, (char *)mapfile, NULL };
	extern char **environ;
	int status;
	pid_t pid;

	snprintf(mail, sizeof(mail), "%s/mail.eml", dir);
	write_file(mail, msg, len);
	free(msg);
	printf("  %-44s %6.1f MiB mail: ", label, (double)len / 1048576.0);
	fflush(stdout);
	if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ) != 0 ||
	    waitpid(pid, &status, 0) != pid)
		return 1;
	unlink(mail);
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *label;
		int wide, zipped, swap;
	} cases[] = {
		{ "zip of 40,000 members, body swapped", 0, 1, 1 },
		{ "zip of 40,000 members, signed", 0, 1, 0 },
		{ "40,000 CSV attachments, body swapped", 0, 0, 1 },
		{ "200,000 columns x 2,000 rows, body swapped", 1, 1, 1 },
		{ "200,000 columns x 2,000 rows, signed", 1, 1, 0 },
	};
	char dir[] = "/tmp/sm-bench-hostile-XXXXXX", mapfile[256], *msg;
	struct stat st;
	size_t len, i;
	int failed = 0;

	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return replay_child(argv[2], argv[3]);
	if (stat(KEY_FILE, &st) != 0 || stat(KEYS, &st) != 0) {
		printf("bench_hostile: SKIP: run it from the source tree (%s)\n", KEY_FILE);
		return 0;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(mapfile, sizeof(mapfile), "%s/customers.csv", dir);
	write_file(mapfile, "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n", 56);
	printf("bench_hostile: issue 17's mails, VerifyDKIM yes (pipeline CPU, reading excluded; child peak RSS)\n");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msg = cases[i].wide ? hostile_wide_mail(200000, 2000, KEY_FILE, cases[i].swap, &len) :
		    hostile_members_mail(40000, cases[i].zipped, KEY_FILE, cases[i].swap, &len);
		failed |= run(argv[0], cases[i].label, msg, len, dir, mapfile);
	}
	unlink(mapfile);
	rmdir(dir);
	return failed;
}
