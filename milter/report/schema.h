/*
 * schema - the report types ShadowServer publishes, as the catalogue needs them
 *
 * ShadowServer publishes its report types in three shapes, all read here:
 *   - the IntelMQ schema (https://interchange.shadowserver.org/intelmq/v1/schema,
 *     the report_schema repository's intelmq.json): a JSON object, one member
 *     per type with "feed_name", "url" and "constant_fields" (whose
 *     "classification.taxonomy" says what kind of finding it is);
 *   - reports.json of the same repository: one member per type with "name",
 *     "url" and "classification.taxonomy";
 *   - a table of types (CSV with the columns report_type or type, title,
 *     default_severity or severity, info_url), as ShadowServer's types.md and
 *     severity.md list them.
 * Members whose name starts with '_' (IntelMQ's "_meta") are not types. A
 * member that is not a report type name (lowercase letters, digits, '_') is
 * skipped and counted. A severity is taken where the source has one
 * ("severity", "default_severity"), else it is "medium".
 *
 * The input is hostile (it may come over the network): parsed with Jansson
 * (JSON) or libcsv, every string cleaned of control characters and cut to
 * the catalogue's lengths; the caller bounds the input's size.
 *
 * Owns: the types it returns.
 */
#ifndef SM_SCHEMA_H
#define SM_SCHEMA_H

#include <stddef.h>

struct schema_type {
	char *type;		/* scan_ntp */
	char *title;		/* "Open NTP Server", or the feed name with '-' as ' ' */
	char *severity;		/* critical ... info; "medium" when the source has none */
	char *info_url;		/* http(s) URL of ShadowServer's page, or "" */
	int event;		/* a compromise, attack or scan seen (else an exposed service) */
};

struct schema {
	struct schema_type *v;	/* sorted by type */
	size_t n;
	unsigned long skipped;	/* members that were not report types */
};

/* schema_parse - the types in DATA (LEN bytes: JSON or CSV, see above); 0, or -1 with ERR */
int schema_parse(const char *data, size_t len, struct schema *out, char *err, size_t errlen);

void schema_free(struct schema *s);

#endif
