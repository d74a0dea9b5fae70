/*
 * template - notice templates: a Subject line and a body with {{variables}}
 *
 * See template.h. Rendering walks the text directly; sections recurse with
 * the item index so list variables resolve per finding.
 */
#include "notice/template.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TEMPLATE_MAX_SIZE (256 * 1024)
#define TEMPLATE_MAX_DEPTH 8

#ifndef SM_TEMPLATE_DIR
#define SM_TEMPLATE_DIR "/usr/share/shadowmilter/templates"
#endif

struct template {
	char *path;
	char *subject;
	char *body;
};

const char *
template_shipped_dir(void)
{
	const char *env = getenv("SM_TEMPLATE_DIR");

	return env && *env ? env : SM_TEMPLATE_DIR;
}

/* drop_standalone_tags - "{{#x}}" alone on a line loses the line break */
static char *
drop_standalone_tags(const char *text)
{
	struct buf b = BUF_INIT;
	const char *line = text, *nl;

	while (*line) {
		size_t len, lead;
		const char *close;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		lead = strspn(line, " \t");
		close = lead + 3 < len ? strstr(line + lead, "}}") : NULL;
		if (close && line[lead] == '{' && line[lead + 1] == '{' && strchr("#^/", line[lead + 2]) &&
		    close + 2 == line + len - (len && line[len - 1] == '\r') &&
		    memchr(line + lead + 2, '{', (size_t)(close - line - lead - 2)) == NULL)
			buf_append(&b, line + lead, (size_t)(close + 2 - line - lead));
		else
			buf_append(&b, line, len + (nl != NULL));
		line += len + (nl != NULL);
	}
	return buf_steal(&b);
}

struct template *
template_parse(const char *text, const char *name, char *err, size_t errlen)
{
	struct template *t;
	const char *nl, *body;

	if (ascii_strncasecmp(text, "Subject:", 8) != 0 || (nl = strchr(text, '\n')) == NULL) {
		err_set(err, errlen, "%s: the first line must be \"Subject: ...\"", name);
		return NULL;
	}
	body = nl + 1;
	if (*body == '\r')
		body++;
	if (*body != '\n') {
		err_set(err, errlen, "%s: a blank line must follow the Subject line", name);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->path = xstrdup(name);
	t->subject = xstrndup(text + 8, (size_t)(nl - text - 8));
	memmove(t->subject, ascii_trim(t->subject), strlen(ascii_trim(t->subject)) + 1);
	t->body = drop_standalone_tags(body + 1);
	return t;
}

static char *
read_small_file(const char *path, int *missing, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	*missing = 0;
	if (f == NULL) {
		*missing = errno == ENOENT;
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= TEMPLATE_MAX_SIZE)
		buf_append(&b, chunk, n);
	fclose(f);
	if (b.len > TEMPLATE_MAX_SIZE || memchr(buf_cstr(&b), '\0', b.len)) {
		err_set(err, errlen, "%s: not a template (too large or binary)", path);
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* a report type names a file only when it is a plain token: no path tricks */
static int
safe_type(const char *type)
{
	return *type && strlen(type) < 64 && strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(type);
}

/* --- the parsed set ----------------------------------------------------- */

enum { SHELF_SITE, SHELF_SHIPPED, SHELF_SITE_RESOLVED, SHELF_SHIPPED_RESOLVED, NSHELVES };

struct shelf {
	char *dir;			/* "" when there is none (no TemplateDir) */
	char **names;			/* TYPE of each TYPE.tmpl */
	struct template **templates;
	size_t n;
};

struct template_set {
	struct shelf shelves[NSHELVES];
};

/* path_join - "DIR/NAME" (caller frees) */
static char *
path_join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s/%s", dir, name);
	return buf_steal(&b);
}

static void
shelf_add(struct shelf *sh, const char *name, struct template *t)
{
	sh->names = xreallocarray(sh->names, sh->n + 1, sizeof(char *));
	sh->templates = xreallocarray(sh->templates, sh->n + 1, sizeof(struct template *));
	sh->names[sh->n] = xstrdup(name);
	sh->templates[sh->n++] = t;
}

/* shelf_load - every TYPE.tmpl in DIR with a plain-token TYPE (the only
 * names a lookup can ask for); a missing DIR is an empty shelf */
static int
shelf_load(struct shelf *sh, const char *dir, char *err, size_t errlen)
{
	struct dirent *d;
	struct stat st;
	DIR *dp;
	int rc = 0;

	sh->dir = xstrdup(dir);
	if (*dir == '\0')
		return 0;
	if ((dp = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		err_set(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);
		struct template *t;
		char *name, *path, *text;
		int missing;

		if (len <= 5 || strcmp(d->d_name + len - 5, ".tmpl") != 0)
			continue;
		name = xstrndup(d->d_name, len - 5);
		path = path_join(dir, d->d_name);
		if (safe_type(name) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if ((text = read_small_file(path, &missing, err, errlen)) == NULL)
				rc = -1;
			else if ((t = template_parse(text, path, err, errlen)) == NULL)
				rc = -1;
			else
				shelf_add(sh, name, t);
			free(text);
		}
		free(path);
		free(name);
	}
	closedir(dp);
	return rc;
}

static const struct template *
shelf_find(const struct shelf *sh, const char *name)
{
	size_t i;

	for (i = 0; i < sh->n; i++)
		if (strcmp(sh->names[i], name) == 0)
			return sh->templates[i];
	return NULL;
}

struct template_set *
template_set_load(const char *site_dir, const char *shipped_dir, char *err, size_t errlen)
{
	struct template_set *s = xcalloc(1, sizeof(*s));
	char *site_resolved, *shipped_resolved;
	int rc;

	if (site_dir == NULL)
		site_dir = "";
	site_resolved = *site_dir ? path_join(site_dir, "resolved") : xstrdup("");
	shipped_resolved = path_join(shipped_dir, "resolved");

	rc = shelf_load(&s->shelves[SHELF_SITE], site_dir, err, errlen) != 0 ||
	    shelf_load(&s->shelves[SHELF_SHIPPED], shipped_dir, err, errlen) != 0 ||
	    shelf_load(&s->shelves[SHELF_SITE_RESOLVED], site_resolved, err, errlen) != 0 ||
	    shelf_load(&s->shelves[SHELF_SHIPPED_RESOLVED], shipped_resolved, err, errlen) != 0;
	free(site_resolved);
	free(shipped_resolved);
	if (rc) {
		template_set_free(s);
		return NULL;
	}
	return s;
}

void
template_set_free(struct template_set *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < NSHELVES; i++) {
		for (j = 0; j < s->shelves[i].n; j++) {
			free(s->shelves[i].names[j]);
			template_free(s->shelves[i].templates[j]);
		}
		free(s->shelves[i].names);
		free(s->shelves[i].templates);
		free(s->shelves[i].dir);
	}
	free(s);
}

size_t
template_set_count(const struct template_set *s)
{
	size_t i, n = 0;

	for (i = 0; i < NSHELVES; i++)
		n += s->shelves[i].n;
	return n;
}

const struct template *
template_set_find(const struct template_set *s, int resolved, const char *type, char *err, size_t errlen)
{
	const char *names[2] = { safe_type(type) ? type : "generic", "generic" };
	const struct shelf *site = &s->shelves[resolved ? SHELF_SITE_RESOLVED : SHELF_SITE];
	const struct shelf *shipped = &s->shelves[resolved ? SHELF_SHIPPED_RESOLVED : SHELF_SHIPPED];
	const struct template *t;
	int i;

	for (i = 0; i < 2; i++)
		if ((t = shelf_find(site, names[i])) != NULL || (t = shelf_find(shipped, names[i])) != NULL)
			return t;
	err_set(err, errlen, "no template for \"%s\" and no generic.tmpl in %s or %s", type,
	    *site->dir ? site->dir : "(no TemplateDir)", shipped->dir);
	return NULL;
}

void
template_free(struct template *t)
{
	if (t == NULL)
		return;
	free(t->path);
	free(t->subject);
	free(t->body);
	free(t);
}

const char *
template_path(const struct template *t)
{
	return t->path;
}

/* --- rendering ----------------------------------------------------------- */

struct render {
	const struct template_scope *scope;
	struct buf *out;
	char *err;
	size_t errlen;
	const char *path;
};

static int render_span(struct render *r, const char *p, const char *end, long item, int depth);

/* find_close - the matching {{/NAME}} for a section starting at P */
static const char *
find_close(const char *p, const char *end, const char *name, const char **after)
{
	char open1[80], open2[80], close[80];
	int level = 1;

	snprintf(open1, sizeof(open1), "{{#%s}}", name);
	snprintf(open2, sizeof(open2), "{{^%s}}", name);
	snprintf(close, sizeof(close), "{{/%s}}", name);
	for (; p < end; p++) {
		if (*p != '{')
			continue;
		if (!strncmp(p, open1, strlen(open1)) || !strncmp(p, open2, strlen(open2)))
			level++;
		else if (!strncmp(p, close, strlen(close)) && --level == 0) {
			*after = p + strlen(close);
			return p;
		}
	}
	return NULL;
}

static int
unknown_name(struct render *r, const char *name)
{
	err_set(r->err, r->errlen, "%s: unknown variable {{%s}}", r->path, name);
	return -1;
}

static int
render_section(struct render *r, char kind, const char *name, const char *inner, const char *inner_end,
    long item, int depth)
{
	const struct template_scope *s = r->scope;
	const char *v = s->get(s->ctx, name, item);
	size_t i, n = s->is_list(s->ctx, name) ? s->count(s->ctx, name) : 0;
	int truthy = n > 0 || (v != NULL && *v != '\0');

	if (!s->is_list(s->ctx, name) && v == NULL)
		return unknown_name(r, name);
	if (kind == '^')
		return truthy ? 0 : render_span(r, inner, inner_end, item, depth + 1);
	if (!s->is_list(s->ctx, name))
		return truthy ? render_span(r, inner, inner_end, item, depth + 1) : 0;
	for (i = 0; i < n; i++)
		if (render_span(r, inner, inner_end, (long)i, depth + 1) != 0)
			return -1;
	return 0;
}

static int
render_tag(struct render *r, const char *tag, size_t len, const char **p, const char *end, long item, int depth)
{
	char name[64];
	const char *v, *close, *after;

	if (len == 0 || len >= sizeof(name) + 1) {
		err_set(r->err, r->errlen, "%s: bad tag {{%.*s}}", r->path, (int)(len > 40 ? 40 : len), tag);
		return -1;
	}
	if (tag[0] == '#' || tag[0] == '^') {
		snprintf(name, sizeof(name), "%.*s", (int)len - 1, tag + 1);
		if ((close = find_close(*p, end, name, &after)) == NULL) {
			err_set(r->err, r->errlen, "%s: {{%c%s}} is never closed", r->path, tag[0], name);
			return -1;
		}
		if (render_section(r, tag[0], name, *p, close, item, depth) != 0)
			return -1;
		*p = after;
		return 0;
	}
	if (tag[0] == '/') {
		err_set(r->err, r->errlen, "%s: {{%.*s}} closes nothing", r->path, (int)len, tag);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s", (int)len, tag);
	if ((v = r->scope->get(r->scope->ctx, name, item)) == NULL)
		return unknown_name(r, name);
	buf_puts(r->out, v);
	return 0;
}

static int
render_span(struct render *r, const char *p, const char *end, long item, int depth)
{
	const char *open, *close;

	if (depth > TEMPLATE_MAX_DEPTH) {
		err_set(r->err, r->errlen, "%s: sections nested too deeply", r->path);
		return -1;
	}
	while (p < end) {
		open = memmem(p, (size_t)(end - p), "{{", 2);
		if (open == NULL) {
			buf_append(r->out, p, (size_t)(end - p));
			break;
		}
		buf_append(r->out, p, (size_t)(open - p));
		close = memmem(open, (size_t)(end - open), "}}", 2);
		if (close == NULL) {
			err_set(r->err, r->errlen, "%s: unterminated {{", r->path);
			return -1;
		}
		p = close + 2;
		if (render_tag(r, open + 2, (size_t)(close - open - 2), &p, end, item, depth) != 0)
			return -1;
	}
	return 0;
}

static int
render_text(const struct template *t, const char *text, const struct template_scope *scope, struct buf *out,
    char *err, size_t errlen)
{
	struct render r = { scope, out, err, errlen, t->path };

	return render_span(&r, text, text + strlen(text), -1, 0);
}

int
template_render_subject(const struct template *t, const struct template_scope *scope, struct buf *out,
    char *err, size_t errlen)
{
	return render_text(t, t->subject, scope, out, err, errlen);
}

int
template_render_body(const struct template *t, const struct template_scope *scope, struct buf *out,
    char *err, size_t errlen)
{
	return render_text(t, t->body, scope, out, err, errlen);
}
