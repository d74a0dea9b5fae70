/*
 * catalogue - what each ShadowServer report type is: title, severity, service
 *
 * See catalogue.h. Rows are read with csvreport (columns by header name, like
 * every other CSV here), checked, cleaned of control characters, and kept
 * sorted by type for lookups.
 */
#include "report/catalogue.h"
#include "report/csvreport.h"
#include "notice/mailheader.h"
#include "base/lang.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CATALOGUE_VALUE_MAX 300	/* longest title, URL, ... kept */
#define TYPE_MAX 63
#define LANG_TAG_MAX 16

struct catalogue {
	struct catalogue_entry **v;	/* sorted by type after each load */
	size_t n;
};

struct loader {
	struct catalogue *c;
	const char *path;
	char **seen;			/* types of this file so far */
	size_t nseen;
	char *err;
	size_t errlen;
	int failed;
	int add_only;			/* a row never replaces a type C had before this file */
	size_t had;			/* C's rows before this file (sorted) */
};

struct catalogue *
catalogue_new(void)
{
	return xcalloc(1, sizeof(struct catalogue));
}

static void
entry_free(struct catalogue_entry *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nevidence; i++)
		free(e->evidence[i]);
	free(e->evidence);
	free(e->type);
	free(e->title);
	free(e->severity);
	free(e->service);
	free(e->port);
	free(e->protocol);
	free(e->info_url);
	free(e->template);
	free(e->alias_of);
	for (i = 0; i < e->ntexts; i++) {
		free(e->texts[i].lang);
		free(e->texts[i].title);
		free(e->texts[i].service);
	}
	free(e->texts);
	free(e);
}

void
catalogue_free(struct catalogue *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		entry_free(c->v[i]);
	free(c->v);
	free(c);
}

/* --- one row ------------------------------------------------------------- */

static int
column_of(const struct csvreport_row *row, const char *name)
{
	size_t i;

	for (i = 0; i < row->ncols; i++)
		if (strcmp(row->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* field - column NAME of ROW, "" when the file has no such column */
static const char *
field(const struct csvreport_row *row, const char *name)
{
	int i = column_of(row, name);

	return i < 0 ? "" : row->values[i];
}

/* take_value - a cleaned, trimmed copy of VALUE */
static char *
take_value(const char *value)
{
	char *v = text_clean(value, CATALOGUE_VALUE_MAX), *t = ascii_trim(v);

	memmove(v, t, strlen(t) + 1);
	return v;
}

/* take - a cleaned, trimmed copy of column NAME */
static char *
take(const struct csvreport_row *row, const char *name)
{
	return take_value(field(row, name));
}

/* text_column - 1 with the normalised tag in LANG when column NAME is
 * PREFIX and a language ("title.de"), -1 when its tag is bad, 0 when NAME
 * is another column */
static int
text_column(const char *name, const char *prefix, char *lang, size_t langlen)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n) != 0)
		return 0;
	lang_normalise(name + n, lang, langlen);
	return *lang ? 1 : -1;
}

/* text_for - E's wording in LANG, added empty when it has none yet */
static struct catalogue_text *
text_for(struct catalogue_entry *e, const char *lang)
{
	struct catalogue_text *t;
	size_t i;

	for (i = 0; i < e->ntexts; i++)
		if (strcmp(e->texts[i].lang, lang) == 0)
			return &e->texts[i];
	e->texts = xreallocarray(e->texts, e->ntexts + 1, sizeof(*e->texts));
	t = &e->texts[e->ntexts++];
	t->lang = xstrdup(lang);
	t->title = xstrdup("");
	t->service = xstrdup("");
	return t;
}

/* take_texts - the row's non-empty title.LANG and service.LANG columns */
static const char *
take_texts(struct catalogue_entry *e, const struct csvreport_row *row)
{
	char lang[LANG_TAG_MAX];
	size_t i;

	for (i = 0; i < row->ncols; i++) {
		int title = 1, r = text_column(row->names[i], "title.", lang, sizeof(lang));
		struct catalogue_text *t;
		char *v;

		if (r == 0 && (title = 0, r = text_column(row->names[i], "service.", lang, sizeof(lang))) == 0)
			continue;
		if (r < 0)
			return "a column title.LANG or service.LANG needs a language tag such as de or pt-br";
		if (*(v = take_value(row->values[i])) == '\0') {
			free(v);
			continue;
		}
		t = text_for(e, lang);
		free(title ? t->title : t->service);
		*(title ? &t->title : &t->service) = v;
	}
	return NULL;
}

static int
is_token(const char *s, const char *extra)
{
	const char *p;

	if (*s == '\0' || strlen(s) > TYPE_MAX)
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		    (*p && strchr(extra, *p))))
			return 0;
	return 1;
}

/* split_evidence - "infection; dst_ip" into lowercase column names */
static const char *
split_evidence(struct catalogue_entry *e, const char *list)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	const char *problem = NULL;

	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *name = ascii_trim(tok), *p;

		for (p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
		if (*name == '\0')
			continue;
		if (!is_token(name, ".-")) {
			problem = "evidence_columns must be column names separated by ';'";
			break;
		}
		e->evidence = xreallocarray(e->evidence, e->nevidence + 1, sizeof(char *));
		e->evidence[e->nevidence++] = xstrdup(name);
	}
	free(copy);
	return problem;
}

unsigned
catalogue_severity_bit(const char *name)
{
	static const char *const names[] = { "info", "low", "medium", "high", "critical" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ascii_strcasecmp(name, names[i]) == 0)
			return 1u << i;
	return 0;
}

static int
valid_severity(const char *s)
{
	return catalogue_severity_bit(s) != 0;
}

/* check_alias - an alias row names its target and nothing else */
static const char *
check_alias(const struct catalogue_entry *e)
{
	if (!is_token(e->alias_of, ""))
		return "alias_of must be a report type";
	if (strcmp(e->alias_of, e->type) == 0)
		return "a type cannot be an alias of itself";
	if (*e->title || *e->severity || *e->service || *e->port || *e->protocol || *e->info_url ||
	    *e->template || e->nevidence || e->ntexts)
		return "an alias row holds only type and alias_of";
	return NULL;
}

/* check_entry - why E is not a usable row, or NULL */
static const char *
check_entry(const struct catalogue_entry *e, const char *kind)
{
	const char *p;

	if (*e->alias_of)
		return *kind ? "an alias row holds only type and alias_of" : check_alias(e);
	if (*e->title == '\0')
		return "title is empty";
	if (!valid_severity(e->severity))
		return "severity must be critical, high, medium, low or info";
	if (*kind && strcmp(kind, "exposed") != 0 && strcmp(kind, "event") != 0)
		return "kind must be exposed or event";
	for (p = e->port; *p; p++)
		if (*p < '0' || *p > '9' || p - e->port > 4)
			return "port must be a port number";
	for (p = e->protocol; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || *p == '/'))
			return "protocol must be UDP, TCP or empty";
	if (*e->info_url && strncmp(e->info_url, "https://", 8) != 0 && strncmp(e->info_url, "http://", 7) != 0)
		return "info_url must be an http(s) URL";
	if (*e->template && !is_token(e->template, ""))
		return "template must be a template name (letters, digits, '_')";
	return NULL;
}

/* entry_from_row - the entry a row describes; NULL with PROBLEM set */
static struct catalogue_entry *
entry_from_row(const struct csvreport_row *row, const char **problem)
{
	struct catalogue_entry *e = xcalloc(1, sizeof(*e));
	char *kind = take(row, "kind"), *p;

	e->type = take(row, "type");
	e->title = take(row, "title");
	e->severity = take(row, "severity");
	e->service = take(row, "service");
	e->port = take(row, "port");
	e->protocol = take(row, "protocol");
	e->info_url = take(row, "info_url");
	e->template = take(row, "template");
	e->alias_of = take(row, "alias_of");
	for (p = e->severity; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	for (p = e->protocol; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	e->kind = strcmp(kind, "event") == 0 ? CATALOGUE_EVENT : CATALOGUE_EXPOSED;
	if (!is_token(e->type, ""))
		*problem = "type must be a report type (lowercase letters, digits, '_')";
	else if ((*problem = split_evidence(e, field(row, "evidence_columns"))) == NULL &&
	    (*problem = take_texts(e, row)) == NULL)
		*problem = check_entry(e, kind);
	free(kind);
	if (*problem) {
		entry_free(e);
		return NULL;
	}
	return e;
}

/* --- loading ------------------------------------------------------------- */

static struct catalogue_entry **
find_slot(struct catalogue *c, const char *type)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i]->type, type) == 0)
			return &c->v[i];
	return NULL;
}

static const struct catalogue_entry *find(const struct catalogue *c, const char *type);

/* known_before - C had TYPE before this file began */
static int
known_before(const struct loader *ld, const char *type)
{
	struct catalogue before = { ld->c->v, ld->had };

	return find(&before, type) != NULL;
}

static int
row_error(struct loader *ld, const struct csvreport_row *row, const char *msg)
{
	char *type = text_clean(field(row, "type"), 64);

	err_set(ld->err, ld->errlen, "%s: row %lu (type \"%s\"): %s", ld->path, row->record, type, msg);
	free(type);
	ld->failed = 1;
	return 1;
}

static int
on_row(void *ctx, const struct csvreport_row *row)
{
	struct loader *ld = ctx;
	struct catalogue_entry *e, **slot;
	const char *problem = NULL;
	size_t i;

	if (column_of(row, "type") < 0 || column_of(row, "title") < 0) {
		err_set(ld->err, ld->errlen, "%s: the header needs at least the columns type and title", ld->path);
		ld->failed = 1;
		return 1;
	}
	if (field(row, "type")[0] == '#' || (row->nfields == 1 && *field(row, "type") == '\0'))
		return 0;	/* a comment, or a blank line */
	if ((e = entry_from_row(row, &problem)) == NULL)
		return row_error(ld, row, problem);
	for (i = 0; i < ld->nseen; i++)
		if (strcmp(ld->seen[i], e->type) == 0) {
			entry_free(e);
			return row_error(ld, row, "this type has a row already");
		}
	ld->seen = xreallocarray(ld->seen, ld->nseen + 1, sizeof(char *));
	ld->seen[ld->nseen++] = xstrdup(e->type);
	if (ld->add_only && known_before(ld, e->type)) {
		entry_free(e);
		return 0;
	}
	if ((slot = find_slot(ld->c, e->type)) != NULL) {
		entry_free(*slot);
		*slot = e;
	} else {
		ld->c->v = xreallocarray(ld->c->v, ld->c->n + 1, sizeof(*ld->c->v));
		ld->c->v[ld->c->n++] = e;
	}
	return 0;
}

static int
by_type(const void *a, const void *b)
{
	return strcmp((*(struct catalogue_entry *const *)a)->type, (*(struct catalogue_entry *const *)b)->type);
}

/* feed_file - PATH through the CSV reader; 0, or -1 with ERR (set by on_row or here) */
static int
feed_file(struct loader *ld, struct csvreport *csv)
{
	char chunk[8192], msg[256];
	size_t n;
	FILE *f;
	int rc = 0;

	if ((f = fopen(ld->path, "r")) == NULL) {
		err_set(ld->err, ld->errlen, "%s: %s", ld->path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (csvreport_feed(csv, chunk, n, msg, sizeof(msg)) != 0)
			rc = -1;
	if (rc == 0 && ferror(f)) {
		snprintf(msg, sizeof(msg), "read error: %s", strerror(errno));
		rc = -1;
	}
	if (rc == 0 && csvreport_finish(csv, msg, sizeof(msg)) != 0)
		rc = -1;
	fclose(f);
	if (rc != 0 && !ld->failed)
		err_set(ld->err, ld->errlen, "%s: %s", ld->path, msg);
	return rc;
}

static int
load(struct catalogue *c, const char *path, int add_only, char *err, size_t errlen)
{
	struct loader ld = { c, path, NULL, 0, err, errlen, 0, add_only, c->n };
	struct csvreport *csv = csvreport_new(on_row, &ld);
	int rc = feed_file(&ld, csv);
	size_t i;

	if (rc == 0 && ld.failed)
		rc = -1;
	if (rc == 0 && !csvreport_has_header(csv)) {
		err_set(err, errlen, "%s: empty file: no header line", path);
		rc = -1;
	} else if (rc == 0 && (csvreport_column(csv, "type") < 0 || csvreport_column(csv, "title") < 0)) {
		err_set(err, errlen, "%s: the header needs at least the columns type and title", path);
		rc = -1;
	}
	csvreport_free(csv);
	for (i = 0; i < ld.nseen; i++)
		free(ld.seen[i]);
	free(ld.seen);
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), by_type);
	return rc;
}

int
catalogue_load(struct catalogue *c, const char *path, char *err, size_t errlen)
{
	return load(c, path, 0, err, errlen);
}

int
catalogue_load_new(struct catalogue *c, const char *path, char *err, size_t errlen)
{
	return load(c, path, 1, err, errlen);
}

/* --- lookups ------------------------------------------------------------- */

static const struct catalogue_entry *
find(const struct catalogue *c, const char *type)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(type, c->v[mid]->type);

		if (cmp == 0)
			return c->v[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
catalogue_check(const struct catalogue *c, char *err, size_t errlen)
{
	const struct catalogue_entry *target;
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (*c->v[i]->alias_of == '\0')
			continue;
		target = find(c, c->v[i]->alias_of);
		if (target == NULL || *target->alias_of) {
			err_set(err, errlen, "catalogue: %s is an alias of %s, which is %s", c->v[i]->type,
			    c->v[i]->alias_of, target ? "an alias itself" : "not in the catalogue");
			return -1;
		}
	}
	return 0;
}

const struct catalogue_entry *
catalogue_lookup(const struct catalogue *c, const char *type)
{
	const struct catalogue_entry *e;

	if (c == NULL || type == NULL || (e = find(c, type)) == NULL)
		return NULL;
	if (*e->alias_of)
		e = find(c, e->alias_of);
	return e && *e->alias_of == '\0' ? e : NULL;
}

/* text_in - E's field (title or service) in LANG, exact tag first, then its
 * primary subtag; NULL when that language has none */
static const char *
text_in(const struct catalogue_entry *e, const char *lang, int service)
{
	char code[LANG_TAG_MAX];
	size_t i, pass;

	lang_normalise(lang, code, sizeof(code));
	for (pass = 0; *code && pass < 2; pass++) {
		for (i = 0; i < e->ntexts; i++) {
			const char *v = service ? e->texts[i].service : e->texts[i].title;

			if (strcmp(e->texts[i].lang, code) == 0 && *v)
				return v;
		}
		if (code[strcspn(code, "-")] == '\0')
			break;
		code[strcspn(code, "-")] = '\0';
	}
	return NULL;
}

const char *
catalogue_title(const struct catalogue_entry *e, const char *lang)
{
	const char *v = lang && *lang ? text_in(e, lang, 0) : NULL;

	return v ? v : e->title;
}

const char *
catalogue_service(const struct catalogue_entry *e, const char *lang)
{
	const char *v = lang && *lang ? text_in(e, lang, 1) : NULL;

	return v ? v : e->service;
}

size_t
catalogue_count(const struct catalogue *c)
{
	return c ? c->n : 0;
}

const struct catalogue_entry *
catalogue_at(const struct catalogue *c, size_t i)
{
	return c && i < c->n ? c->v[i] : NULL;
}
