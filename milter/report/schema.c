/*
 * schema - the report types ShadowServer publishes, as the catalogue needs them
 *
 * See schema.h. JSON goes through Jansson (Debian's libjansson), the table
 * through csvreport like every other CSV here.
 */
#include "report/schema.h"
#include "report/catalogue.h"
#include "report/csvreport.h"
#include "notice/mailheader.h"
#include "base/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VALUE_MAX 300	/* the catalogue's longest title, URL */
#define SCHEMA_TYPE_MAX 63

/* the taxonomies (IntelMQ's classification.taxonomy) of findings that are events */
static const char *const event_taxonomies[] = {
	"intrusions", "intrusion-attempts", "malicious-code", "availability", "information-gathering", "fraud",
	"information-content-security", "abusive-content",
};

static int
is_type_name(const char *s)
{
	const char *p;

	if (*s == '\0' || strlen(s) > SCHEMA_TYPE_MAX)
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* clean - S on one line, trimmed, at most SCHEMA_VALUE_MAX bytes */
static char *
clean(const char *s)
{
	char *v = text_clean(s ? s : "", SCHEMA_VALUE_MAX), *t = ascii_trim(v);

	memmove(v, t, strlen(t) + 1);
	return v;
}

/* title_of - a feed name ("Accessible-SMB") in words ("Accessible SMB"); the type when empty */
static char *
title_of(const char *name, const char *type)
{
	char *t = clean(name), *p;

	for (p = t; *p; p++)
		if (*p == '-')
			*p = ' ';
	if (*t == '\0') {
		free(t);
		t = xstrdup(type);
	}
	return t;
}

static char *
severity_of(const char *s)
{
	char *v = clean(s), *p;

	for (p = v; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	if (catalogue_severity_bit(v) == 0) {
		free(v);
		v = xstrdup("medium");
	}
	return v;
}

static char *
url_of(const char *s)
{
	char *v = clean(s);

	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
		*v = '\0';
	return v;
}

static int
is_event(const char *type, const char *taxonomy)
{
	size_t i;

	for (i = 0; taxonomy && i < sizeof(event_taxonomies) / sizeof(event_taxonomies[0]); i++)
		if (strcmp(taxonomy, event_taxonomies[i]) == 0)
			return 1;
	return strncmp(type, "event4_", 7) == 0 || strncmp(type, "event6_", 7) == 0 ||
	    strncmp(type, "sinkhole", 8) == 0 || strncmp(type, "compromised_", 12) == 0;
}

static void
add(struct schema *s, const char *type, const char *title, const char *severity, const char *url,
    const char *taxonomy)
{
	struct schema_type *t;

	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	t = &s->v[s->n++];
	t->type = xstrdup(type);
	t->title = title_of(title, type);
	t->severity = severity_of(severity);
	t->info_url = url_of(url);
	t->event = is_event(type, taxonomy);
}

/* --- JSON: the IntelMQ schema and reports.json ----------------------------- */

static const char *
jstr(json_t *obj, const char *key)
{
	return json_is_object(obj) ? json_string_value(json_object_get(obj, key)) : NULL;
}

/* first_str - the first of KEYS that OBJ has as a string */
static const char *
first_str(json_t *obj, const char *const *keys)
{
	const char *v = NULL;

	for (; *keys && v == NULL; keys++)
		v = jstr(obj, *keys);
	return v;
}

static void
json_member(struct schema *s, const char *type, json_t *def)
{
	static const char *const titles[] = { "title", "feed_name", "name", NULL };
	static const char *const severities[] = { "severity", "default_severity", NULL };
	const char *taxonomy = jstr(def, "classification.taxonomy");

	if (*type == '_')
		return;		/* "_meta": about the schema */
	if (!is_type_name(type) || !json_is_object(def)) {
		s->skipped++;
		return;
	}
	if (taxonomy == NULL)
		taxonomy = jstr(json_object_get(def, "constant_fields"), "classification.taxonomy");
	add(s, type, first_str(def, titles), first_str(def, severities), jstr(def, "url"), taxonomy);
}

static int
parse_json(const char *data, size_t len, struct schema *s, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je), *def;
	const char *type;

	if (root == NULL) {
		err_set(err, errlen, "not valid JSON: line %d: %.200s", je.line, je.text);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(err, errlen, "not a schema: the JSON is not an object of report types");
		return -1;
	}
	json_object_foreach(root, type, def)
		json_member(s, type, def);
	json_decref(root);
	return 0;
}

/* --- CSV: a table of types ------------------------------------------------- */

static const char *
col(const struct csvreport_row *row, const char *name)
{
	size_t i;

	for (i = 0; i < row->ncols; i++)
		if (strcmp(row->names[i], name) == 0)
			return row->values[i];
	return NULL;
}

static int
on_row(void *ctx, const struct csvreport_row *row)
{
	struct schema *s = ctx;
	const char *type = col(row, "report_type"), *sev = col(row, "default_severity");
	char *t;

	if (type == NULL)
		type = col(row, "type");
	if (sev == NULL)
		sev = col(row, "severity");
	t = clean(type ? type : "");
	if (*t == '#' || (*t == '\0' && row->nfields <= 1))
		;		/* a comment, a blank line */
	else if (!is_type_name(t))
		s->skipped++;
	else
		add(s, t, col(row, "title"), sev, col(row, "info_url"), NULL);
	free(t);
	return 0;
}

static int
parse_csv(const char *data, size_t len, struct schema *s, char *err, size_t errlen)
{
	struct csvreport *csv = csvreport_new(on_row, s);
	char msg[256];
	int rc = 0;

	if (csvreport_feed(csv, data, len, msg, sizeof(msg)) != 0 || csvreport_finish(csv, msg, sizeof(msg)) != 0) {
		err_set(err, errlen, "not a table of report types: %s", msg);
		rc = -1;
	} else if (csvreport_column(csv, "report_type") < 0 && csvreport_column(csv, "type") < 0) {
		err_set(err, errlen, "not a schema: neither JSON nor a table with a report_type or type column");
		rc = -1;
	}
	csvreport_free(csv);
	return rc;
}

static int
by_type(const void *a, const void *b)
{
	return strcmp(((const struct schema_type *)a)->type, ((const struct schema_type *)b)->type);
}

/* drop_twins - a type listed twice (a table may): one of its rows counts, the others are skipped */
static void
drop_twins(struct schema *s)
{
	size_t i, out = 0;

	for (i = 0; i < s->n; i++) {
		if (out > 0 && strcmp(s->v[out - 1].type, s->v[i].type) == 0) {
			free(s->v[i].type);
			free(s->v[i].title);
			free(s->v[i].severity);
			free(s->v[i].info_url);
			s->skipped++;
			continue;
		}
		s->v[out++] = s->v[i];
	}
	s->n = out;
}

int
schema_parse(const char *data, size_t len, struct schema *out, char *err, size_t errlen)
{
	size_t i = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	while (i < len && strchr(" \t\r\n", data[i]) && data[i])
		i++;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 && i == 0)
		i = 3;		/* a UTF-8 byte order mark */
	if (i == len) {
		err_set(err, errlen, "empty: no report types");
		return -1;
	}
	rc = data[i] == '{' || data[i] == '[' ? parse_json(data + i, len - i, out, err, errlen) :
	    parse_csv(data + i, len - i, out, err, errlen);
	if (rc == 0 && out->n > 1) {
		qsort(out->v, out->n, sizeof(*out->v), by_type);
		drop_twins(out);
	}
	if (rc != 0)
		schema_free(out);
	return rc;
}

void
schema_free(struct schema *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].type);
		free(s->v[i].title);
		free(s->v[i].severity);
		free(s->v[i].info_url);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}
