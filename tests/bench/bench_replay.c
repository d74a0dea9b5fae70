/*
 * bench_replay - replay speed and memory of large report mails
 *
 * Builds report mails of 10k to 400k rows (a zipped CSV, base64 encoded, as
 * ShadowServer sends them, and a plain CSV), replays each in a fresh child
 * process through the same pipeline the milter uses, and prints rows/s and
 * the child's peak RSS. The addresses cycle over 4096 hosts of one customer,
 * as a real report of one provider's space does, so what should stay flat as
 * the attachment grows does: memory is bounded by distinct findings, not
 * rows.
 *
 *   make bench    (or build/bench/bench_replay [ROWS...])
 */
#include "config/config.h"
#include "report/findings.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *
make_csv(unsigned long rows, size_t *len)
{
	struct buf b = BUF_INIT;
	unsigned long i;

	buf_puts(&b, "\"timestamp\",\"severity\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\","
	    "\"geo\",\"region\",\"city\",\"naics\",\"hostname_source\",\"sector\",\"programs\"\r\n");
	for (i = 0; i < rows; i++)
		buf_printf(&b, "\"2026-11-24 %02lu:%02lu:%02lu\",medium,10.1.%lu.%lu,udp,111,"
		    "host-%lu.example.net,portmapper,64500,GB,LONDON,LONDON,518210,,\"Information\","
		    "\"100000 4 111/udp; 100000 3 111/udp; 100000 2 111/udp;\"\r\n",
		    (i / 3600) % 24, (i / 60) % 60, i % 60, (i % 4096) / 256, i % 256, i % 4096);
	*len = b.len;
	return buf_steal(&b);
}

static char *
zip_it(const char *name, const char *data, size_t len, size_t *ziplen)
{
	size_t cap = len / 2 + 65536, used = 0;
	char *out = xmalloc(cap);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_zip(a);
	archive_write_open_memory(a, out, cap, &used);
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	if (archive_write_header(a, e) != ARCHIVE_OK || archive_write_data(a, data, len) < 0) {
		fprintf(stderr, "zip: %s\n", archive_error_string(a));
		exit(1);
	}
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	*ziplen = used;
	return out;
}

/* base64_lines - util's encoder, 76 columns a line */
static void
base64_lines(struct buf *b, const unsigned char *p, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i += n) {
		n = len - i < 57 ? len - i : 57;
		buf_base64(b, p + i, n);
		buf_puts(b, "\r\n");
	}
}

/* write_mail - the report as a file; returns its size */
static size_t
write_mail(const char *path, unsigned long rows, int zipped)
{
	const char *name = "2026-11-24-scan_portmapper-bench.csv";
	struct buf b = BUF_INIT;
	size_t csvlen, ziplen, size;
	char *csv = make_csv(rows, &csvlen), *zip;
	FILE *f;

	buf_printf(&b, "Authentication-Results: mx.bench.example; dkim=pass header.d=shadowserver.org\r\n"
	    "From: autoreports@shadowserver.org\r\nSubject: bench\r\nMessage-ID: <bench@x>\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n"
	    "Content-Type: %s; name=\"%s%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
	    zipped ? "application/zip" : "text/csv", name, zipped ? ".zip" : "");
	if (zipped) {
		zip = zip_it(name, csv, csvlen, &ziplen);
		base64_lines(&b, (unsigned char *)zip, ziplen);
		free(zip);
	} else
		base64_lines(&b, (unsigned char *)csv, csvlen);
	buf_puts(&b, "--B--\r\n");
	if ((f = fopen(path, "wb")) == NULL || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	size = b.len;
	buf_free(&b);
	free(csv);
	return size;
}

/* replay_child - in a fresh process, so ru_maxrss is this replay's alone */
static int
replay_child(const char *mail, const char *mapfile, unsigned long rows)
{
	struct config *cfg = config_new();
	struct prefixmap *map = prefixmap_new();
	struct pipeline_result *r;
	struct pipeline *p;
	char err[512], chunk[65536];
	struct rusage ru;
	struct timespec t0, t1;
	size_t n;
	FILE *f;
	double secs;

	/* the parsing cost; the mail is not signed (VerifyDKIM no trusts its Authentication-Results) */
	if (config_set(cfg, "TrustedAuthservIDs", "mx.bench.example", err, sizeof(err)) != 0 ||
	    config_set(cfg, "VerifyDKIM", "no", err, sizeof(err)) != 0 ||
	    prefixmap_load(map, mapfile, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = pipeline_new(cfg, map);
	if ((f = fopen(mail, "rb")) == NULL)
		return 1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		pipeline_feed(p, chunk, n);
	fclose(f);
	if (pipeline_finish(p, &r, err, sizeof(err)) != 0 || r->nreports != 1 ||
	    r->reports[0].rf->rows != rows || r->reports[0].nmade != 1) {
		fprintf(stderr, "bench_replay: wrong result for %lu rows: %s\n", rows, err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	printf("%8lu rows  %7.2f s  %9.0f rows/s  peak RSS %6.1f MiB  findings %zu\n", rows, secs,
	    (double)rows / secs, (double)ru.ru_maxrss / 1024.0, r->reports[0].rf->groups[0].nfindings);
	pipeline_result_free(r);
	pipeline_free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long defaults[] = { 10000, 50000, 100000, 200000, 400000 }, rows;
	char dir[] = "/tmp/sm-bench-XXXXXX", mail[256], mapfile[256];
	int i, zipped, n = argc > 1 ? argc - 1 : 5, status, failed = 0;
	FILE *f;

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return replay_child(argv[2], argv[3], strtoul(argv[4], NULL, 10));
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(mapfile, sizeof(mapfile), "%s/customers.csv", dir);
	if ((f = fopen(mapfile, "w")) == NULL)
		return 1;
	fprintf(f, "prefix,account,email\n10.1.0.0/20,bench,ops@bench.example\n");
	fclose(f);
	for (zipped = 1; zipped >= 0; zipped--) {
		printf("bench_replay: %s attachment (base64), 4096 distinct hosts\n", zipped ? "zipped CSV" : "plain CSV");
		for (i = 0; i < n; i++) {
			rows = argc > 1 ? strtoul(argv[i + 1], NULL, 10) : defaults[i];
			snprintf(mail, sizeof(mail), "%s/report.eml", dir);
			printf("  mail %6.1f MiB: ", (double)write_mail(mail, rows, zipped) / 1048576.0);
			fflush(stdout);
			if (fork() == 0) {
				/* a fresh image, so ru_maxrss is the replay's alone */
				char rowbuf[32];

				snprintf(rowbuf, sizeof(rowbuf), "%lu", rows);
				execl("/proc/self/exe", argv[0], "--child", mail, mapfile, rowbuf, (char *)NULL);
				_exit(127);
			}
			wait(&status);
			failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		}
	}
	unlink(mail);
	unlink(mapfile);
	rmdir(dir);
	return failed;
}
