/*
 * fuzz_schema - libFuzzer target: ShadowServer's schema read, the catalogue written
 *
 * The input is a schema as "shadowmilter catalogue --update" gets it from a
 * file or the network (JSON or a CSV table, schema.c). Every type it yields
 * must be a plain report type name with a valid severity, a one-line title
 * and an http(s) page or none; written into an UpdatedCatalogue beside an
 * empty catalogue (catalogue_update reads the file back itself), the file
 * must load with the catalogue's own loader and hold exactly those types.
 *
 *   make fuzz   (tests/fuzz/run.sh: seeds are a cut-down IntelMQ schema, a
 *   table of types, and ShadowServer's own table when the reference is there)
 */
#include "fuzzutil.h"

#include "report/catalogue.h"
#include "report/catalogueupdate.h"
#include "report/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
check_type(const struct schema_type *t)
{
	const char *p;

	for (p = t->type; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			fuzz_fail("a schema type is not a plain report type name", t->type);
	if (*t->type == '\0' || catalogue_severity_bit(t->severity) == 0 || *t->title == '\0')
		fuzz_fail("a schema type has no name, severity or title", t->type);
	for (p = t->title; *p; p++)
		if ((unsigned char)*p < 0x20)
			fuzz_fail("a schema title holds a control character", t->type);
	if (*t->info_url && strncmp(t->info_url, "https://", 8) != 0 && strncmp(t->info_url, "http://", 7) != 0)
		fuzz_fail("a schema page is not an http(s) URL", t->type);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schema s;
	struct catalogue *known, *back;
	struct catalogue_update_stats st;
	char path[4096], err[1024];
	size_t i;

	if (schema_parse((const char *)data, size, &s, err, sizeof(err)) != 0)
		return 0;
	for (i = 0; i < s.n; i++)
		check_type(&s.v[i]);
	fuzz_path(path, sizeof(path), "catalogue-updates.csv");
	remove(path);
	known = catalogue_new();
	if (catalogue_update(known, path, &s, "fuzz", 1796600000, &st, err, sizeof(err)) != 0) {
		fuzz_fail("a parsed schema's catalogue does not load back", err);
	}
	back = catalogue_new();
	if (catalogue_load(back, path, err, sizeof(err)) != 0 || catalogue_count(back) != s.n || st.added != s.n)
		fuzz_fail("the written catalogue does not hold exactly the schema's types", err);
	catalogue_update_stats_free(&st);
	catalogue_free(back);
	catalogue_free(known);
	schema_free(&s);
	return 0;
}
