/*
 * template - notice templates: a Subject line and a body with {{variables}}
 *
 * See template.h. A template is compiled once, when its set is loaded: the
 * standalone tag lines dropped, then the text cut into nodes (text, variable,
 * section, partial) whose names are already the caller's ids. Rendering walks
 * the nodes; sections recurse with the item index so list variables resolve
 * per finding. Partials are parsed once per set and shared by reference.
 */
#include "notice/template.h"
#include "base/lang.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TEMPLATE_MAX_SIZE (256 * 1024)
#define TEMPLATE_MAX_DEPTH 8		/* sections within sections, partials counted in */
#define TEMPLATE_MAX_PARTIALS 8		/* partials within partials */
#define TEMPLATE_NAME_MAX 64

#ifndef SM_TEMPLATE_DIR
#define SM_TEMPLATE_DIR "/usr/share/shadowmilter/templates"
#endif

enum node_kind { NODE_TEXT, NODE_VAR, NODE_SECTION, NODE_INVERTED, NODE_PARTIAL };

struct node;

struct nodes {
	struct node *v;
	size_t n;
};

struct node {
	enum node_kind kind;
	const char *file;		/* for errors: the template's or partial's path */
	unsigned line;
	const char *text;		/* NODE_TEXT: a span of the compiled text */
	size_t len;
	char *name;			/* as written: variables, sections, partials */
	int id, is_list;		/* the caller's id of NAME */
	struct nodes inner;		/* sections */
	const struct nodes *partial;	/* NODE_PARTIAL: the partial's nodes (the set owns them) */
};

struct template {
	char *path;
	char *lang;			/* its language directory's name, "" for the top (English) */
	char *subject;
	char *body;			/* standalone tag lines dropped; text nodes point here */
	struct nodes subject_nodes, body_nodes;
};

/* a partial: parsed once per lookup path of a set (struct partials) */
struct partial {
	char *name;
	char *path;
	char *text;
	struct nodes nodes;
	int depth;			/* its deepest section nesting */
	int parsing;			/* being parsed: meeting it again is a cycle */
};

/* the partials one shelf's templates see: the directories to look in, in
 * order, and the partials read from them so far */
struct partials {
	char *dirs[8];
	size_t ndirs;
	struct partial **v;
	size_t n;
};

/* the line starts of a compiled text: where each line of the file begins */
struct lines {
	size_t *start;
	size_t n;
	unsigned first;			/* the file's line number of the text's first line */
};

struct parser {
	const char *path;
	const char *base;		/* the compiled text */
	const struct lines *lines;
	const struct template_vars *vars;
	struct partials *partials;	/* NULL: partials are an error */
	int nesting;			/* partials within partials so far */
	int max_depth;			/* the deepest section nesting seen */
	char *err;
	size_t errlen;
};

static void nodes_free(struct nodes *ns);
static int parse_span(struct parser *pr, const char *p, const char *end, int depth, struct nodes *out);

const char *
template_shipped_dir(void)
{
	const char *env = getenv("SM_TEMPLATE_DIR");

	return env && *env ? env : SM_TEMPLATE_DIR;
}

/* standalone_tag - the line LINE (LEN bytes) holds only a section or partial
 * tag (and blanks before it): the tag's end, else NULL */
static const char *
standalone_tag(const char *line, size_t len, size_t *lead)
{
	const char *close;

	*lead = strspn(line, " \t");
	close = *lead + 3 < len ? strstr(line + *lead, "}}") : NULL;
	if (close && line[*lead] == '{' && line[*lead + 1] == '{' && strchr("#^/>", line[*lead + 2]) &&
	    close + 2 == line + len - (len && line[len - 1] == '\r') &&
	    memchr(line + *lead + 2, '{', (size_t)(close - line - *lead - 2)) == NULL)
		return close + 2;
	return NULL;
}

/* drop_standalone_tags - "{{#x}}" alone on a line loses the line break;
 * LINES gets where each line of TEXT starts in the result */
static char *
drop_standalone_tags(const char *text, struct lines *lines)
{
	struct buf b = BUF_INIT;
	const char *line = text, *nl, *tag_end;
	size_t cap = 16;

	lines->start = xcalloc(cap, sizeof(size_t));
	lines->n = 0;
	while (*line) {
		size_t len, lead;

		if (lines->n == cap)
			lines->start = xreallocarray(lines->start, cap *= 2, sizeof(size_t));
		lines->start[lines->n++] = b.len;
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if ((tag_end = standalone_tag(line, len, &lead)) != NULL)
			buf_append(&b, line + lead, (size_t)(tag_end - line - lead));
		else
			buf_append(&b, line, len + (nl != NULL));
		line += len + (nl != NULL);
	}
	return buf_steal(&b);
}

/* --- parsing -------------------------------------------------------------- */

/* line_of - the file's line of P, a position in the compiled text */
static unsigned
line_of(const struct parser *pr, const char *p)
{
	size_t off = (size_t)(p - pr->base), lo = 0, hi;

	if (pr->lines == NULL || pr->lines->n == 0)
		return pr->lines ? pr->lines->first : 1;
	hi = pr->lines->n;
	while (hi - lo > 1) {		/* the last line starting at or before OFF */
		size_t mid = lo + (hi - lo) / 2;

		if (pr->lines->start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return pr->lines->first + (unsigned)lo;
}

static struct node *
node_add(struct parser *pr, struct nodes *ns, enum node_kind kind, const char *at)
{
	struct node *n;

	ns->v = xreallocarray(ns->v, ns->n + 1, sizeof(struct node));
	n = &ns->v[ns->n++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->file = pr->path;
	n->line = line_of(pr, at);
	return n;
}

/* find_close - the matching {{/NAME}} for a section starting at P */
static const char *
find_close(const char *p, const char *end, const char *name, const char **after)
{
	char open1[80], open2[80], close[80];
	size_t l1, l2, lc;
	int level = 1;

	l1 = (size_t)snprintf(open1, sizeof(open1), "{{#%s}}", name);
	l2 = (size_t)snprintf(open2, sizeof(open2), "{{^%s}}", name);
	lc = (size_t)snprintf(close, sizeof(close), "{{/%s}}", name);
	for (; p < end; p++) {
		if (*p != '{')
			continue;
		if (!strncmp(p, open1, l1) || !strncmp(p, open2, l2))
			level++;
		else if (!strncmp(p, close, lc) && --level == 0) {
			*after = p + lc;
			return p;
		}
	}
	return NULL;
}

static int parse_error(struct parser *pr, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* parse_error - "FILE:LINE: what" into the parser's ERR; -1 */
static int
parse_error(struct parser *pr, const char *at, const char *fmt, ...)
{
	struct buf what = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&what, fmt, ap);
	va_end(ap);
	err_set(pr->err, pr->errlen, "%s:%u: %s", pr->path, line_of(pr, at), buf_cstr(&what));
	buf_free(&what);
	return -1;
}

/* resolve - NAME's id from the caller's table into node N */
static int
resolve(struct parser *pr, struct node *n, const char *at)
{
	if ((n->id = pr->vars->resolve(n->name, &n->is_list)) < 0)
		return parse_error(pr, at, "unknown variable {{%s}}", n->name);
	return 0;
}

static int
parse_section(struct parser *pr, const char *tag, size_t len, const char **p, const char *end, int depth,
    struct nodes *out)
{
	char name[TEMPLATE_NAME_MAX];
	const char *close, *after;
	struct node *n;

	snprintf(name, sizeof(name), "%.*s", (int)len - 1, tag + 1);
	if ((close = find_close(*p, end, name, &after)) == NULL) {
		char what[4] = { tag[0], '\0' };

		return parse_error(pr, tag - 2, "{{%s%s}} is never closed", what, name);
	}
	n = node_add(pr, out, tag[0] == '#' ? NODE_SECTION : NODE_INVERTED, tag - 2);
	n->name = xstrdup(name);
	if (resolve(pr, n, tag - 2) != 0 || parse_span(pr, *p, close, depth + 1, &n->inner) != 0)
		return -1;
	*p = after;
	return 0;
}

static int parse_partial(struct parser *pr, const char *tag, size_t len, int depth, struct nodes *out);

static int
parse_tag(struct parser *pr, const char *tag, size_t len, const char **p, const char *end, int depth,
    struct nodes *out)
{
	struct node *n;

	if (len == 0 || len >= TEMPLATE_NAME_MAX + 1) {
		char shown[48];

		snprintf(shown, sizeof(shown), "%.*s", (int)(len > 40 ? 40 : len), tag);
		return parse_error(pr, tag - 2, "bad tag {{%s}}", shown);
	}
	if (tag[0] == '#' || tag[0] == '^')
		return parse_section(pr, tag, len, p, end, depth, out);
	if (tag[0] == '>')
		return parse_partial(pr, tag, len, depth, out);
	n = node_add(pr, out, NODE_VAR, tag - 2);
	n->name = xstrndup(tag, len < TEMPLATE_NAME_MAX ? len : TEMPLATE_NAME_MAX - 1);
	if (tag[0] == '/')
		return parse_error(pr, tag - 2, "{{%s}} closes nothing", n->name);
	if (resolve(pr, n, tag - 2) != 0)
		return -1;
	if (n->is_list)
		return parse_error(pr, tag - 2, "{{%s}} is a list: {{#%s}}...{{/...}} repeats its items",
		    n->name, n->name);
	return 0;
}

static int
parse_span(struct parser *pr, const char *p, const char *end, int depth, struct nodes *out)
{
	const char *open, *close;
	struct node *n;

	if (depth > TEMPLATE_MAX_DEPTH)
		return parse_error(pr, p, "sections nested too deeply");
	if (depth > pr->max_depth)
		pr->max_depth = depth;
	while (p < end) {
		open = memmem(p, (size_t)(end - p), "{{", 2);
		if (open != p) {
			n = node_add(pr, out, NODE_TEXT, p);
			n->text = p;
			n->len = open ? (size_t)(open - p) : (size_t)(end - p);
		}
		if (open == NULL)
			break;
		if ((close = memmem(open, (size_t)(end - open), "}}", 2)) == NULL)
			return parse_error(pr, open, "unterminated {{");
		p = close + 2;
		if (parse_tag(pr, open + 2, (size_t)(close - open - 2), &p, end, depth, out) != 0)
			return -1;
	}
	return 0;
}

/* compile - TEXT (the compiled text of PATH) into OUT; the deepest nesting in *DEPTH */
static int
compile(const char *path, const char *text, const struct lines *lines, const struct template_vars *vars,
    struct partials *partials, int nesting, struct nodes *out, int *depth, char *err, size_t errlen)
{
	struct parser pr = { path, text, lines, vars, partials, nesting, 0, err, errlen };
	int rc = parse_span(&pr, text, text + strlen(text), 0, out);

	if (depth)
		*depth = pr.max_depth;
	return rc;
}

static void
nodes_free(struct nodes *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++) {
		free(ns->v[i].name);
		nodes_free(&ns->v[i].inner);
	}
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

/* --- partials ------------------------------------------------------------- */

static char *read_small_file(const char *path, int *missing, char *err, size_t errlen);
static int safe_type(const char *type);

/* partial_read - NAME from the first of P's directories that has it; NULL
 * with ERR when none has, or when the file cannot be read */
static struct partial *
partial_read(const struct partials *p, const char *name, char *err, size_t errlen)
{
	struct partial *pa;
	struct buf path = BUF_INIT;
	char *text = NULL;
	size_t i;
	int missing = 1;

	for (i = 0; i < p->ndirs && text == NULL && missing; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/partials/%s.tmpl", p->dirs[i], name);
		text = read_small_file(buf_cstr(&path), &missing, err, errlen);
	}
	if (text == NULL && missing) {
		buf_reset(&path);
		for (i = 0; i < p->ndirs; i++)
			buf_printf(&path, "%s%s/partials", i ? ", " : "", p->dirs[i]);
		err_set(err, errlen, "no %s.tmpl in %s", name, buf_cstr(&path));
	}
	if (text == NULL) {
		buf_free(&path);
		return NULL;
	}
	pa = xcalloc(1, sizeof(*pa));
	pa->name = xstrdup(name);
	pa->path = buf_steal(&path);
	pa->text = text;
	return pa;
}

/* partial_parse - PA's text into its nodes, once; its own partials from P */
static int
partial_parse(struct partials *p, struct partial *pa, const struct template_vars *vars, int nesting, char *err,
    size_t errlen)
{
	struct lines lines = { NULL, 0, 1 };
	char *raw = pa->text;
	int rc;

	pa->text = drop_standalone_tags(raw, &lines);
	free(raw);
	pa->parsing = 1;
	rc = compile(pa->path, pa->text, &lines, vars, p, nesting, &pa->nodes, &pa->depth, err, errlen);
	pa->parsing = 0;
	free(lines.start);
	return rc;
}

static void
partials_free(struct partials *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		nodes_free(&p->v[i]->nodes);
		free(p->v[i]->name);
		free(p->v[i]->path);
		free(p->v[i]->text);
		free(p->v[i]);
	}
	free(p->v);
	for (i = 0; i < p->ndirs; i++)
		free(p->dirs[i]);
	memset(p, 0, sizeof(*p));
}

/* partial_find - partial NAME, parsed: the one read before, else read now */
static struct partial *
partial_find(struct parser *pr, const char *name, const char *at)
{
	struct partials *p = pr->partials;
	struct partial *pa;
	char err[512];
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i]->name, name) == 0) {
			if (p->v[i]->parsing)
				parse_error(pr, at, "partial {{> %s}} includes itself", name);
			return p->v[i]->parsing ? NULL : p->v[i];
		}
	if ((pa = partial_read(p, name, err, sizeof(err))) == NULL) {
		parse_error(pr, at, "unknown partial {{> %s}}: %s", name, err);
		return NULL;
	}
	p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
	p->v[p->n++] = pa;
	if (partial_parse(p, pa, pr->vars, pr->nesting + 1, pr->err, pr->errlen) != 0)
		return NULL;
	return pa;
}

static int
parse_partial(struct parser *pr, const char *tag, size_t len, int depth, struct nodes *out)
{
	char name[TEMPLATE_NAME_MAX];
	const struct partial *pa;
	struct node *n;

	snprintf(name, sizeof(name), "%.*s", (int)len - 1, tag + 1);
	memmove(name, ascii_trim(name), strlen(ascii_trim(name)) + 1);
	if (pr->partials == NULL)
		return parse_error(pr, tag - 2, "{{> %s}}: no partials here (only in a template's body)",
		    name);
	if (!safe_type(name))
		return parse_error(pr, tag - 2, "bad partial name {{> %s}}: a-z, 0-9 and _ only", name);
	if (pr->nesting >= TEMPLATE_MAX_PARTIALS)
		return parse_error(pr, tag - 2, "{{> %s}}: partials nested too deeply", name);
	if ((pa = partial_find(pr, name, tag - 2)) == NULL)
		return -1;
	if (depth + pa->depth > TEMPLATE_MAX_DEPTH)
		return parse_error(pr, tag - 2, "sections nested too deeply (with {{> %s}})", name);
	if (depth + pa->depth > pr->max_depth)
		pr->max_depth = depth + pa->depth;
	n = node_add(pr, out, NODE_PARTIAL, tag - 2);
	n->name = xstrdup(name);
	n->partial = &pa->nodes;
	return 0;
}

/* --- templates ------------------------------------------------------------ */

static struct template *
template_compile(const char *text, const char *name, const struct template_vars *vars, struct partials *partials,
    char *err, size_t errlen)
{
	struct lines subject_line = { NULL, 0, 1 }, lines = { NULL, 0, 3 };
	struct template *t;
	const char *nl, *body;
	int rc;

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
	t->body = drop_standalone_tags(body + 1, &lines);
	rc = compile(t->path, t->subject, &subject_line, vars, NULL, 0, &t->subject_nodes, NULL, err, errlen) != 0 ||
	    compile(t->path, t->body, &lines, vars, partials, 0, &t->body_nodes, NULL, err, errlen) != 0;
	free(lines.start);
	if (rc) {
		template_free(t);
		return NULL;
	}
	return t;
}

struct template *
template_parse(const char *text, const char *name, const struct template_vars *vars, char *err, size_t errlen)
{
	return template_compile(text, name, vars, NULL, err, errlen);
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

/* load_one - DIR/SUB/NAME when it exists: 1 (*OUT, or NULL with ERR when it
 * does not parse), 0 when there is no such file */
static int
load_one(const char *dir, const char *sub, const char *name, const char *lang, const struct template_vars *vars,
    struct template **out, char *err, size_t errlen)
{
	struct buf path = BUF_INIT;
	char *text;
	int missing;

	*out = NULL;
	if (dir == NULL || *dir == '\0')
		return 0;
	buf_printf(&path, "%s/%s%s%s", dir, sub, *sub ? "/" : "", name);
	text = read_small_file(path.data, &missing, err, errlen);
	if (text != NULL && (*out = template_compile(text, path.data, vars, NULL, err, errlen)) != NULL)
		(*out)->lang = xstrdup(lang);
	free(text);
	buf_free(&path);
	return text != NULL || !missing;
}

struct template *
template_load_file(const char *site_dir, const char *shipped_dir, const char *lang, const char *name,
    const struct template_vars *vars, char *err, size_t errlen)
{
	char primary[32];
	const char *langs[3];
	struct template *t;
	size_t i, n = 0;

	if (lang && *lang && lang_code_ok(lang)) {
		langs[n++] = lang;
		snprintf(primary, sizeof(primary), "%.*s", (int)strcspn(lang, "-_"), lang);
		if (strcmp(primary, lang) != 0)
			langs[n++] = primary;
	}
	langs[n++] = "";
	for (i = 0; i < n; i++)
		if (load_one(site_dir, langs[i], name, langs[i], vars, &t, err, errlen) ||
		    load_one(shipped_dir, langs[i], name, langs[i], vars, &t, err, errlen))
			return t;
	err_set(err, errlen, "%s: no such template in %s%s%s", name, site_dir && *site_dir ? site_dir : "",
	    site_dir && *site_dir ? " or " : "", shipped_dir);
	return NULL;
}

/* a report type names a file only when it is a plain token: no path tricks */
static int
safe_type(const char *type)
{
	return *type && strlen(type) < 64 && strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(type);
}

/* --- the parsed set ----------------------------------------------------- */

enum { SHELF_SITE, SHELF_SHIPPED, SHELF_SITE_RESOLVED, SHELF_SHIPPED_RESOLVED, NSHELVES };

#define TEMPLATE_MAX_LANGS 32		/* language directories a set reads */

struct shelf {
	char *dir;			/* "" when there is none (no TemplateDir) */
	char **names;			/* TYPE of each TYPE.tmpl */
	struct template **templates;
	size_t n;
	struct partials *partials;	/* what its templates' {{> name}} find */
};

/* one language's shelves: the top directories (English, lang "") or their
 * LANG/ subdirectories */
struct lang_shelves {
	char *lang;
	struct shelf shelves[NSHELVES];
	struct partials top, resolved;	/* the shelves' partials: top level, resolved/ */
};

struct template_set {
	struct lang_shelves *langs;	/* [0]: the top, English */
	size_t nlangs;
};

/* path_join - "DIR/NAME" (caller frees); "" when DIR is "" (no TemplateDir) */
static char *
path_join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;

	if (*dir == '\0')
		return xstrdup("");
	if (*name == '\0')
		return xstrdup(dir);
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

/* shelf_read - one TYPE.tmpl of the shelf's directory, in language LANG */
static int
shelf_read(struct shelf *sh, const char *lang, const char *name, const char *path,
    const struct template_vars *vars, char *err, size_t errlen)
{
	struct template *t;
	char *text;
	int missing, rc = 0;

	if ((text = read_small_file(path, &missing, err, errlen)) == NULL)
		rc = -1;
	else if ((t = template_compile(text, path, vars, sh->partials, err, errlen)) == NULL)
		rc = -1;
	else {
		t->lang = xstrdup(lang);
		shelf_add(sh, name, t);
	}
	free(text);
	return rc;
}

/* shelf_load - every TYPE.tmpl in DIR with a plain-token TYPE (the only
 * names a lookup can ask for); a missing DIR is an empty shelf */
static int
shelf_load(struct shelf *sh, const char *lang, const char *dir, const struct template_vars *vars, char *err,
    size_t errlen)
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
		char *name, *path;

		if (len <= 5 || strcmp(d->d_name + len - 5, ".tmpl") != 0)
			continue;
		name = xstrndup(d->d_name, len - 5);
		path = path_join(dir, d->d_name);
		if (safe_type(name) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = shelf_read(sh, lang, name, path, vars, err, errlen);
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

static void
partials_dir(struct partials *p, const char *dir)
{
	if (*dir && p->ndirs < sizeof(p->dirs) / sizeof(p->dirs[0]))
		p->dirs[p->ndirs++] = xstrdup(dir);
}

/* lang_partials - where LS's templates find partials: its own directories
 * (resolved/ first, for resolved/), the site's before the shipped ones,
 * then, for a language, the top's the same way: per file, English stands in */
static void
lang_partials(struct lang_shelves *ls, const char *site_dir, const char *shipped_dir)
{
	char *dirs[2][4];
	size_t i, levels = *ls->lang ? 2 : 1;

	for (i = 0; i < levels; i++) {
		const char *sub = i == 0 ? ls->lang : "";

		dirs[i][0] = path_join(site_dir, sub);
		dirs[i][1] = path_join(shipped_dir, sub);
		dirs[i][2] = path_join(dirs[i][0], "resolved");
		dirs[i][3] = path_join(dirs[i][1], "resolved");
	}
	for (i = 0; i < levels; i++) {
		partials_dir(&ls->top, dirs[i][0]);
		partials_dir(&ls->top, dirs[i][1]);
	}
	for (i = 0; i < levels; i++) {
		partials_dir(&ls->resolved, dirs[i][2]);
		partials_dir(&ls->resolved, dirs[i][3]);
		partials_dir(&ls->resolved, dirs[i][0]);
		partials_dir(&ls->resolved, dirs[i][1]);
	}
	for (i = 0; i < levels * 4; i++)
		free(dirs[i / 4][i % 4]);
}

/* lang_shelves_load - LANG's templates ("" for the top's): SITE_DIR/LANG,
 * SHIPPED_DIR/LANG and their resolved/ */
static int
lang_shelves_load(struct lang_shelves *ls, const char *lang, const char *site_dir, const char *shipped_dir,
    const struct template_vars *vars, char *err, size_t errlen)
{
	char *site = path_join(site_dir, lang), *shipped = path_join(shipped_dir, lang);
	char *site_resolved = path_join(site, "resolved"), *shipped_resolved = path_join(shipped, "resolved");
	int rc;

	ls->lang = xstrdup(lang);
	lang_partials(ls, site_dir, shipped_dir);
	ls->shelves[SHELF_SITE].partials = ls->shelves[SHELF_SHIPPED].partials = &ls->top;
	ls->shelves[SHELF_SITE_RESOLVED].partials = ls->shelves[SHELF_SHIPPED_RESOLVED].partials = &ls->resolved;
	rc = shelf_load(&ls->shelves[SHELF_SITE], lang, site, vars, err, errlen) != 0 ||
	    shelf_load(&ls->shelves[SHELF_SHIPPED], lang, shipped, vars, err, errlen) != 0 ||
	    shelf_load(&ls->shelves[SHELF_SITE_RESOLVED], lang, site_resolved, vars, err, errlen) != 0 ||
	    shelf_load(&ls->shelves[SHELF_SHIPPED_RESOLVED], lang, shipped_resolved, vars, err, errlen) != 0;
	free(site);
	free(shipped);
	free(site_resolved);
	free(shipped_resolved);
	return rc ? -1 : 0;
}

static int
lang_known(char **langs, size_t n, const char *lang)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(langs[i], lang) == 0)
			return 1;
	return 0;
}

/* lang_dirs_add - each language directory of DIR ("de", "pt-br": a
 * lowercase language tag, never partials/ or resolved/) not in LANGS yet */
static void
lang_dirs_add(const char *dir, char **langs, size_t *n)
{
	struct dirent *d;
	struct stat st;
	char code[16];
	DIR *dp;

	if (*dir == '\0' || (dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL && *n < TEMPLATE_MAX_LANGS) {
		char *path;

		lang_normalise(d->d_name, code, sizeof(code));
		if (*code == '\0' || strcmp(code, d->d_name) != 0 || lang_known(langs, *n, code))
			continue;
		path = path_join(dir, d->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			langs[(*n)++] = xstrdup(code);
		free(path);
	}
	closedir(dp);
}

static int
by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct template_set *
template_set_load(const char *site_dir, const char *shipped_dir, const struct template_vars *vars, char *err,
    size_t errlen)
{
	struct template_set *s = xcalloc(1, sizeof(*s));
	char *langs[TEMPLATE_MAX_LANGS + 1];
	size_t n = 1, i;
	int rc = 0;

	if (site_dir == NULL)
		site_dir = "";
	langs[0] = xstrdup("");
	lang_dirs_add(site_dir, langs, &n);
	lang_dirs_add(shipped_dir, langs, &n);
	qsort(langs + 1, n - 1, sizeof(char *), by_string);	/* the same set from the same files */
	s->langs = xcalloc(n, sizeof(*s->langs));
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			rc = lang_shelves_load(&s->langs[i], langs[i], site_dir, shipped_dir, vars, err, errlen);
			s->nlangs = i + 1;
		}
		free(langs[i]);
	}
	if (rc) {
		template_set_free(s);
		return NULL;
	}
	return s;
}

static void
lang_shelves_free(struct lang_shelves *ls)
{
	size_t i, j;

	for (i = 0; i < NSHELVES; i++) {
		for (j = 0; j < ls->shelves[i].n; j++) {
			free(ls->shelves[i].names[j]);
			template_free(ls->shelves[i].templates[j]);
		}
		free(ls->shelves[i].names);
		free(ls->shelves[i].templates);
		free(ls->shelves[i].dir);
	}
	partials_free(&ls->top);
	partials_free(&ls->resolved);
	free(ls->lang);
}

void
template_set_free(struct template_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nlangs; i++)
		lang_shelves_free(&s->langs[i]);
	free(s->langs);
	free(s);
}

size_t
template_set_count(const struct template_set *s)
{
	size_t i, j, n = 0;

	for (i = 0; i < s->nlangs; i++)
		for (j = 0; j < NSHELVES; j++)
			n += s->langs[i].shelves[j].n;
	return n;
}

size_t
template_set_languages(const struct template_set *s, const char **langs, size_t max)
{
	size_t i, n = 0;

	for (i = 1; i < s->nlangs && n < max; i++)
		langs[n++] = s->langs[i].lang;
	return s->nlangs - 1;
}

/* lang_find - LANG's shelves ("de-at": de-at/, else de/), or NULL */
static const struct lang_shelves *
lang_find(const struct template_set *s, const char *lang)
{
	char code[16];
	size_t i, primary;

	lang_normalise(lang ? lang : "", code, sizeof(code));
	if (*code == '\0')
		return NULL;
	for (i = 1; i < s->nlangs; i++)
		if (strcmp(s->langs[i].lang, code) == 0)
			return &s->langs[i];
	primary = strcspn(code, "-");
	for (i = 1; i < s->nlangs; i++)
		if (strlen(s->langs[i].lang) == primary && strncmp(s->langs[i].lang, code, primary) == 0)
			return &s->langs[i];
	return NULL;
}

int
template_set_has_language(const struct template_set *s, const char *lang)
{
	return lang_find(s, lang) != NULL;
}

const struct template *
template_set_find_lang(const struct template_set *s, const char *lang, int resolved, const char *type, char *err,
    size_t errlen)
{
	const char *names[2] = { safe_type(type) ? type : "generic", "generic" };
	const struct lang_shelves *order[2] = { lang_find(s, lang), &s->langs[0] };
	const struct template *t;
	int i, j, site = resolved ? SHELF_SITE_RESOLVED : SHELF_SITE;

	/* per file: the language's TYPE.tmpl, else the English one, before either's generic.tmpl */
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			if (order[j] != NULL && ((t = shelf_find(&order[j]->shelves[site], names[i])) != NULL ||
			    (t = shelf_find(&order[j]->shelves[site + 1], names[i])) != NULL))
				return t;
	err_set(err, errlen, "no template for \"%s\" and no generic.tmpl in %s or %s", type,
	    *s->langs[0].shelves[site].dir ? s->langs[0].shelves[site].dir : "(no TemplateDir)",
	    s->langs[0].shelves[site + 1].dir);
	return NULL;
}

const struct template *
template_set_find(const struct template_set *s, int resolved, const char *type, char *err, size_t errlen)
{
	return template_set_find_lang(s, NULL, resolved, type, err, errlen);
}

void
template_free(struct template *t)
{
	if (t == NULL)
		return;
	nodes_free(&t->subject_nodes);
	nodes_free(&t->body_nodes);
	free(t->path);
	free(t->lang);
	free(t->subject);
	free(t->body);
	free(t);
}

const char *
template_path(const struct template *t)
{
	return t->path;
}

const char *
template_lang(const struct template *t)
{
	return t->lang ? t->lang : "";
}

/* --- rendering ----------------------------------------------------------- */

struct render {
	const struct template_scope *scope;
	struct buf *out;
	char *err;
	size_t errlen;
};

static int render_nodes(struct render *r, const struct nodes *ns, long item);

static int
no_value(struct render *r, const struct node *n)
{
	err_set(r->err, r->errlen, "%s:%u: unknown variable {{%s}}", n->file, n->line, n->name);
	return -1;
}

static int
render_section(struct render *r, const struct node *n, long item)
{
	const struct template_scope *s = r->scope;
	const char *v = n->is_list ? NULL : s->get(s->ctx, n->id, n->name, item);
	size_t i, count = n->is_list ? s->count(s->ctx, n->id) : 0;
	int truthy = count > 0 || (v != NULL && *v != '\0');

	if (!n->is_list && v == NULL)
		return no_value(r, n);
	if (n->kind == NODE_INVERTED)
		return truthy ? 0 : render_nodes(r, &n->inner, item);
	if (!n->is_list)
		return truthy ? render_nodes(r, &n->inner, item) : 0;
	for (i = 0; i < count; i++)
		if (render_nodes(r, &n->inner, (long)i) != 0)
			return -1;
	return 0;
}

static int
render_nodes(struct render *r, const struct nodes *ns, long item)
{
	const struct node *n, *end;
	const char *v;

	if (ns->n == 0)		/* an empty body or section: v is NULL, and NULL + 0 is undefined */
		return 0;
	end = ns->v + ns->n;
	for (n = ns->v; n < end; n++) {
		switch (n->kind) {
		case NODE_TEXT:
			buf_append(r->out, n->text, n->len);
			break;
		case NODE_VAR:
			if ((v = r->scope->get(r->scope->ctx, n->id, n->name, item)) == NULL)
				return no_value(r, n);
			buf_puts(r->out, v);
			break;
		case NODE_PARTIAL:
			if (render_nodes(r, n->partial, item) != 0)
				return -1;
			break;
		default:
			if (render_section(r, n, item) != 0)
				return -1;
		}
	}
	return 0;
}

int
template_render_subject(const struct template *t, const struct template_scope *scope, struct buf *out,
    char *err, size_t errlen)
{
	struct render r = { scope, out, err, errlen };

	return render_nodes(&r, &t->subject_nodes, -1);
}

int
template_render_body(const struct template *t, const struct template_scope *scope, struct buf *out,
    char *err, size_t errlen)
{
	struct render r = { scope, out, err, errlen };

	return render_nodes(&r, &t->body_nodes, -1);
}
