/*
 * fuzz_pipeline - libFuzzer target: any bytes as a mail through the whole
 * pipeline (recognition, MIME, base64/QP, zip, CSV, grouping, rendering).
 *
 * The input is prefixed with a trusted Authentication-Results header and the
 * config says VerifyDKIM no, so a mutated report (the seeds are real report
 * mails, From autoreports@...) reaches the attachment code (no mutation keeps
 * a DKIM signature valid; tests/test_dkimverify.c covers the verification); the first byte picks the chunk size, so chunk
 * boundaries get fuzzed too.
 *
 *   make fuzz            (clang; runs for FUZZ_SECONDS, default 60)
 */
#include "config/config.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct config *cfg;
static struct prefixmap *map;

static void
setup(void)
{
	char err[256], path[] = "/tmp/fuzz-map-XXXXXX";
	int fd = mkstemp(path);
	static const char csv[] = "prefix,account,email\n0.0.0.0/1,low,low@example.net\n"
	    "128.0.0.0/1,high,high@example.net\n::/0,six,six@example.net\n";

	if (fd < 0 || write(fd, csv, sizeof(csv) - 1) != (ssize_t)(sizeof(csv) - 1))
		abort();
	close(fd);
	cfg = config_new();
	map = prefixmap_new();
	if (config_set(cfg, "TrustedAuthservIDs", "mx.fuzz.example", err, sizeof(err)) != 0 ||
	    config_set(cfg, "VerifyDKIM", "no", err, sizeof(err)) != 0 ||
	    prefixmap_load(map, path, err, sizeof(err)) != 0)
		abort();
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "Authentication-Results: mx.fuzz.example; dkim=pass header.d=shadowserver.org\r\n";
	struct pipeline_result *r;
	struct pipeline *p;
	char err[256];
	size_t chunk, off;

	if (cfg == NULL)
		setup();
	if (size == 0)
		return 0;
	chunk = (size_t)data[0] * 7 + 1;
	p = pipeline_new(cfg, map);
	pipeline_set_now(p, 1795000000);
	pipeline_feed(p, head, sizeof(head) - 1);
	for (off = 1; off < size; off += chunk)
		pipeline_feed(p, (const char *)data + off, size - off < chunk ? size - off : chunk);
	if (pipeline_finish(p, &r, err, sizeof(err)) == 0)
		pipeline_result_free(r);
	pipeline_free(p);
	return 0;
}
