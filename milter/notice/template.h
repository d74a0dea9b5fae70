/*
 * template - notice templates: a Subject line and a body with {{variables}}
 *
 * A template file is "Subject: ..." on its first line, a blank line, then the
 * body. Markup is a small, strict subset of mustache:
 *   {{name}}                 a variable (unknown names are errors, so a typo
 *                            is caught by "preview", not by a customer)
 *   {{#name}}...{{/name}}    a list repeated per item, or a block shown when
 *                            the variable is non-empty
 *   {{^name}}...{{/name}}    shown when the list or variable is empty
 * A section tag alone on its line takes the whole line with it.
 *
 * Lookup: the site's TemplateDir first, then the shipped directory; TYPE.tmpl,
 * then generic.tmpl. Templates are read and parsed once, as a set (at start
 * and at each reload), never per message.
 *
 * Owns: the loaded template text, the parsed set.
 */
#ifndef SM_TEMPLATE_H
#define SM_TEMPLATE_H

#include <stddef.h>

struct buf;

struct template_scope {
	/* value of NAME for list item ITEM (-1 outside any list); NULL if unknown */
	const char *(*get)(void *ctx, const char *name, long item);
	/* length of list NAME; 0 when empty or not a list */
	size_t (*count)(void *ctx, const char *name);
	/* is NAME a list at all */
	int (*is_list)(void *ctx, const char *name);
	void *ctx;
};

struct template;

struct template_set;

/*
 * template_set_load - every TYPE.tmpl of SITE_DIR ("" for none) and
 * SHIPPED_DIR, and of their resolved/ subdirectories, read and parsed once:
 * the set a runtime snapshot, a replay or a preview renders from, so an edit
 * on disk counts only when the set is loaded again. NULL with ERR naming the
 * file that does not parse (or the directory that cannot be read).
 */
struct template_set *template_set_load(const char *site_dir, const char *shipped_dir, char *err,
    size_t errlen);
void template_set_free(struct template_set *s);
size_t template_set_count(const struct template_set *s);

/*
 * template_set_find - the template for report TYPE from the set: the site's
 * TYPE.tmpl, the shipped one, then generic.tmpl likewise; RESOLVED: from the
 * resolved/ shelves. NULL with ERR. The set keeps ownership.
 */
const struct template *template_set_find(const struct template_set *s, int resolved, const char *type,
    char *err, size_t errlen);

/* template_parse - a template from text (tests); NULL with ERR */
struct template *template_parse(const char *text, const char *name, char *err, size_t errlen);

void template_free(struct template *t);
const char *template_path(const struct template *t);

int template_render_subject(const struct template *t, const struct template_scope *scope,
    struct buf *out, char *err, size_t errlen);
int template_render_body(const struct template *t, const struct template_scope *scope,
    struct buf *out, char *err, size_t errlen);

/* the shipped template directory (compiled in; SM_TEMPLATE_DIR overrides) */
const char *template_shipped_dir(void);

#endif
