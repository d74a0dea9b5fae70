/*
 * accounts - each customer account's own choices: language, Cc, what to
 * notify, how often, digest
 *
 * See accounts.h. Rows are read through tablesource (the same sources as the
 * CustomerMap), checked one value at a time, and kept in an array sorted by
 * account name once the read is complete; a lookup is a binary search.
 * Addresses are checked by the map's own rules (prefixmap_email_plausible),
 * intervals by the configuration's (duration_parse).
 *
 * Owns: the settings and their strings.
 */
#include "customers/accounts.h"
#include "customers/mapwatch.h"
#include "customers/prefixmap.h"
#include "customers/tablesource.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANGUAGE_MAX	16	/* "de", "pt-br", "zh-hant": a template folder's name */
#define ITEM_MAX	64	/* one report type or severity in a notify list */

struct account_table {
	struct account_settings *v;
	size_t n, cap;
};

static const char *const col_names[] = { "account", "language", "cc", "notify", "renotify", "digest" };
static const struct table_cols settings_cols = { col_names, 6, 1 };
enum { COL_ACCOUNT, COL_LANGUAGE, COL_CC, COL_NOTIFY, COL_RENOTIFY, COL_DIGEST };

static const char *const severities[] = { "critical", "high", "medium", "low", "info" };

struct account_table *
accounts_new(void)
{
	return xcalloc(1, sizeof(struct account_table));
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
settings_free(struct account_settings *s)
{
	free(s->account);
	free(s->language);
	strv_free(s->cc, s->ncc);
	strv_free(s->withhold, s->nwithhold);
}

void
accounts_free(struct account_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		settings_free(&t->v[i]);
	free(t->v);
	free(t);
}

size_t
accounts_count(const struct account_table *t)
{
	return t ? t->n : 0;
}

/* quoted - S shortened, control bytes replaced: safe inside a log line */
static const char *
quoted(const char *s, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; s[i] && n + 4 < outlen; i++)
		out[n++] = ((unsigned char)s[i] < ' ' || s[i] == 0x7f) ? '?' : s[i];
	if (s[i] && n + 3 < outlen)
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = '\0';
	return out;
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* strv_add - S[0..LEN) into *V once (any case) */
static void
strv_add(char ***v, size_t *n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (ascii_strncasecmp((*v)[i], s, len) == 0 && (*v)[i][len] == '\0')
			return;
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = xstrndup(s, len);
}

/* ---- one value at a time ---- */

/* parse_account - the name, trimmed; it heads a notice, so no control characters */
static int
parse_account(struct account_settings *s, const char *text, char *err, size_t errlen)
{
	char *name = xstrdup(text ? text : ""), *t = ascii_trim(name), q[80];
	const char *p;

	for (p = t; *p && (unsigned char)*p >= ' ' && *p != 0x7f; p++)
		;
	if (*t == '\0' || *p) {
		err_set(err, errlen, *t ? "control character in account name \"%s\"" : "empty account name",
		    quoted(t, q, sizeof(q)));
		free(name);
		return -1;
	}
	s->account = xstrdup(t);
	free(name);
	return 0;
}

/* parse_language - a template folder's name: a letter, then letters, digits, '-' or '_' */
static int
parse_language(struct account_settings *s, char *t, char *err, size_t errlen)
{
	size_t i, len = strlen(t);
	char q[80];

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (i > 0 && ((c >= '0' && c <= '9') || c == '-' || c == '_'))))
			break;
	}
	if (i < len || len > LANGUAGE_MAX) {
		err_set(err, errlen, "bad language \"%s\" (a language tag such as de or pt-br)", quoted(t, q, sizeof(q)));
		return -1;
	}
	lower(t);
	s->language = xstrdup(t);
	return 0;
}

static int
parse_cc(struct account_settings *s, const char *list, char *err, size_t errlen)
{
	const char *item;
	size_t len;
	char q[80], *one;

	while (prefixmap_email_next(&list, &item, &len)) {
		if (len == 0)
			continue;
		if (!prefixmap_email_plausible(item, len)) {
			one = xstrndup(item, len);
			err_set(err, errlen, "bad cc address \"%s\"", quoted(one, q, sizeof(q)));
			free(one);
			return -1;
		}
		strv_add(&s->cc, &s->ncc, item, len);
	}
	return 0;
}

/* list_item - a report type or a severity: letters, digits, '_', '-', '.' */
static int
list_item(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > ITEM_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

/* parse_withhold - "scan_ntp, info": what the list withholds */
static int
parse_withhold(struct account_settings *s, const char *t, char *err, size_t errlen)
{
	const char *p = t;
	size_t len;
	char q[80], *one;

	s->notify = ACCOUNT_NOTIFY_LIST;
	while (*(p += strspn(p, ",; \t")) != '\0') {
		len = strcspn(p, ",; \t");
		one = xstrndup(p, len);
		if (!list_item(p, len) || !ascii_strcasecmp(one, "all") || !ascii_strcasecmp(one, "action") ||
		    !ascii_strcasecmp(one, "none")) {
			err_set(err, errlen, "bad notify \"%s\" (all, action, none, or a list of report types and "
			    "severities to withhold)", quoted(t, q, sizeof(q)));
			free(one);
			return -1;
		}
		lower(one);
		strv_add(&s->withhold, &s->nwithhold, one, len);
		free(one);
		p += len;
	}
	return 0;
}

static int
parse_notify(struct account_settings *s, const char *t, char *err, size_t errlen)
{
	if (*t == '\0' || !ascii_strcasecmp(t, "all"))
		s->notify = ACCOUNT_NOTIFY_ALL;
	else if (!ascii_strcasecmp(t, "action"))
		s->notify = ACCOUNT_NOTIFY_ACTION;
	else if (!ascii_strcasecmp(t, "none"))
		s->notify = ACCOUNT_NOTIFY_NONE;
	else
		return parse_withhold(s, t, err, errlen);
	return 0;
}

static int
parse_renotify(struct account_settings *s, const char *t, char *err, size_t errlen)
{
	char q[80];

	if (*t == '\0')
		return 0;
	s->has_renotify = 1;
	if (!ascii_strcasecmp(t, "never")) {
		s->renotify = ACCOUNT_RENOTIFY_NEVER;
		return 0;
	}
	if (duration_parse(t, &s->renotify) != 0) {
		err_set(err, errlen, "bad renotify \"%s\" (0, never, or a duration such as 12h or 7d)",
		    quoted(t, q, sizeof(q)));
		return -1;
	}
	return 0;
}

static int
parse_digest(struct account_settings *s, const char *t, char *err, size_t errlen)
{
	char q[80];

	if (*t == '\0' || !ascii_strcasecmp(t, "per-type"))
		s->digest = ACCOUNT_DIGEST_PER_TYPE;
	else if (!ascii_strcasecmp(t, "daily"))
		s->digest = ACCOUNT_DIGEST_DAILY;
	else {
		err_set(err, errlen, "bad digest \"%s\" (per-type or daily)", quoted(t, q, sizeof(q)));
		return -1;
	}
	return 0;
}

/* parse_value - column K's text (NULL: no such column) into S */
static int
parse_value(struct account_settings *s, size_t k, const char *text, char *err, size_t errlen)
{
	char *copy, *t;
	int rc = 0;

	if (text == NULL)
		return 0;
	copy = xstrdup(text);
	t = ascii_trim(copy);
	if (k == COL_LANGUAGE)
		rc = parse_language(s, t, err, errlen);
	else if (k == COL_CC)
		rc = parse_cc(s, t, err, errlen);
	else if (k == COL_NOTIFY)
		rc = parse_notify(s, t, err, errlen);
	else if (k == COL_RENOTIFY)
		rc = parse_renotify(s, t, err, errlen);
	else if (k == COL_DIGEST)
		rc = parse_digest(s, t, err, errlen);
	free(copy);
	return rc;
}

static int
on_row(void *ctx, const char *const *vals, char *err, size_t errlen)
{
	struct account_table *t = ctx;
	struct account_settings s;
	size_t k;

	memset(&s, 0, sizeof(s));
	if (parse_account(&s, vals[COL_ACCOUNT], err, errlen) != 0)
		return -1;
	for (k = COL_LANGUAGE; k <= COL_DIGEST; k++)
		if (parse_value(&s, k, vals[k], err, errlen) != 0) {
			settings_free(&s);
			return -1;
		}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = s;
	return 0;
}

/* ---- the table ---- */

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct account_settings *)a)->account, ((const struct account_settings *)b)->account);
}

/* seal - sorted for lookups; an account given twice is an error */
static int
seal(struct account_table *t, const char *label, char *err, size_t errlen)
{
	size_t i;
	char q[80];

	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), by_name);
	for (i = 1; i < t->n; i++)
		if (strcmp(t->v[i - 1].account, t->v[i].account) == 0) {
			err_set(err, errlen, "%s: account \"%s\" has two rows", label, quoted(t->v[i].account, q,
			    sizeof(q)));
			return -1;
		}
	return 0;
}

int
accounts_load_source(struct account_table *t, const struct table_source *src, char *err, size_t errlen)
{
	char *label;
	int rc;

	if (table_read(src, &settings_cols, on_row, t, err, errlen) != 0)
		return -1;
	label = table_label(src->source);
	rc = seal(t, label, err, errlen);
	free(label);
	return rc;
}

const struct account_settings *
accounts_lookup(const struct account_table *t, const char *account)
{
	struct account_settings key;

	if (t == NULL || t->n == 0 || account == NULL)
		return NULL;
	key.account = (char *)account;
	return bsearch(&key, t->v, t->n, sizeof(*t->v), by_name);
}

const char *
accounts_language(const struct account_table *t, const char *account)
{
	const struct account_settings *s = accounts_lookup(t, account);

	return s ? s->language : NULL;
}

enum account_digest
accounts_digest(const struct account_table *t, const char *account)
{
	const struct account_settings *s = accounts_lookup(t, account);

	return s ? s->digest : ACCOUNT_DIGEST_PER_TYPE;
}

unsigned long
accounts_renotify(const struct account_table *t, const char *account, unsigned long default_interval)
{
	const struct account_settings *s = accounts_lookup(t, account);

	return s && s->has_renotify ? s->renotify : default_interval;
}

static int
is_severity(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
		if (strcmp(s, severities[i]) == 0)
			return 1;
	return 0;
}

int
accounts_withholds(const struct account_settings *s, const char *type, const char *severity, int action)
{
	size_t i;

	if (s == NULL || s->notify == ACCOUNT_NOTIFY_ALL)
		return 0;
	if (s->notify == ACCOUNT_NOTIFY_NONE)
		return 1;
	if (s->notify == ACCOUNT_NOTIFY_ACTION)
		return !action;
	for (i = 0; i < s->nwithhold; i++) {
		const char *w = s->withhold[i];

		if (is_severity(w) ? severity && ascii_strcasecmp(w, severity) == 0 : ascii_strcasecmp(w, type) == 0)
			return 1;
	}
	return 0;
}

const char *
account_notify_text(const struct account_settings *s, char *out, size_t outlen)
{
	static const char *const names[] = { "all", "action", "none" };
	struct buf b = BUF_INIT;
	size_t i;

	if (s == NULL || s->notify != ACCOUNT_NOTIFY_LIST) {
		snprintf(out, outlen, "%s", names[s ? s->notify : ACCOUNT_NOTIFY_ALL]);
		return out;
	}
	for (i = 0; i < s->nwithhold; i++)
		buf_printf(&b, "%s%s", i ? " " : "", s->withhold[i]);
	snprintf(out, outlen, "%s", buf_cstr(&b));
	buf_free(&b);
	return out;
}

int
accounts_refresh(struct mapwatch *w, const struct account_table *current, time_t now,
    struct account_table **fresh, int *tell_ops, char *err, size_t errlen)
{
	struct account_table *t = accounts_new();

	*fresh = NULL;
	*tell_ops = 0;
	mapwatch_checking(w, now);
	if (accounts_load_source(t, mapwatch_source(w), err, errlen) != 0 ||
	    (current && mapwatch_shrinks(w, accounts_count(current), accounts_count(t), "settings have", "accounts",
	    err, errlen))) {
		accounts_free(t);
		return mapwatch_refused(w, now, err, tell_ops);
	}
	mapwatch_took(w, 0, t->n, now);
	*fresh = t;
	return MAPWATCH_NEW;
}
