/*
 * template - notice templates: a Subject line and a body with {{variables}}
 *
 * A template file is "Subject: ..." on its first line, a blank line, then the
 * body. Markup is a small, strict subset of mustache:
 *   {{name}}                 a variable (unknown names are errors, so a typo
 *                            is caught by "shadowmilter -n", with its file
 *                            and line, not by a customer)
 *   {{#name}}...{{/name}}    a list repeated per item, or a block shown when
 *                            the variable is non-empty
 *   {{^name}}...{{/name}}    shown when the list or variable is empty
 *   {{> name}}               a partial: the text of partials/name.tmpl (no
 *                            Subject line), as if written here; partials may
 *                            include partials, never themselves
 * A section or partial tag alone on its line takes the whole line with it.
 *
 * Lookup: the site's TemplateDir first, then the shipped directory; TYPE.tmpl,
 * then generic.tmpl. A partial is looked up the same way, site first, in the
 * partials/ folder beside the including template (resolved/partials/ for a
 * resolved/ template), then in the top partials/ folders: a site can reword
 * a paragraph of every shipped template with one file, and a template
 * directory below the top (resolved/, a language) shares the top's partials
 * unless it has its own.
 *
 * Languages: a LANG/ subdirectory of either directory ("de", "pt-br": a
 * lowercase language tag) holds the templates of that language, with its own
 * resolved/ and partials/. Lookup per file: LANG/TYPE.tmpl (site, then
 * shipped), else the English TYPE.tmpl, before either's generic.tmpl; a
 * partial of a LANG/ template is looked for in LANG/partials/ (site, then
 * shipped) before the English partials/.
 *
 * Templates and partials are read and parsed once, as a set (at start and
 * at each reload), never per message: into nodes whose variables are
 * already ids, so a render is a walk of the nodes and a table lookup per
 * variable.
 *
 * Owns: the loaded template text, the parsed nodes, the partials, the set.
 */
#ifndef SM_TEMPLATE_H
#define SM_TEMPLATE_H

#include <stddef.h>

struct buf;

/*
 * template_vars - the names a template may use, resolved to ids once, when
 * it is parsed: RESOLVE gives the id (>= 0) of variable or list NAME and
 * sets *IS_LIST for a list, or -1 when there is no such name (a parse error
 * naming the file and line)
 */
struct template_vars {
	int (*resolve)(const char *name, int *is_list);
};

struct template_scope {
	/* value of variable ID (NAME as written, for a family of names such as
	 * col.X) for list item ITEM (-1 outside any list); NULL when ID has no
	 * value here (an item's variable outside its list): a render error */
	const char *(*get)(void *ctx, int id, const char *name, long item);
	/* length of list ID, asked as a section of it is entered; 0 when empty */
	size_t (*count)(void *ctx, int id);
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
struct template_set *template_set_load(const char *site_dir, const char *shipped_dir,
    const struct template_vars *vars, char *err, size_t errlen);
void template_set_free(struct template_set *s);
size_t template_set_count(const struct template_set *s);

/*
 * template_set_find - the template for report TYPE from the set: the site's
 * TYPE.tmpl, the shipped one, then generic.tmpl likewise; RESOLVED: from the
 * resolved/ shelves. NULL with ERR. The set keeps ownership.
 */
const struct template *template_set_find(const struct template_set *s, int resolved, const char *type,
    char *err, size_t errlen);

/*
 * template_set_find_lang - the same for a notice in language LANG (a tag
 * such as "de" or "de-AT"; NULL or "" for English): per file, LANG/'s
 * template (LANG's primary subtag's when LANG itself has no directory), else
 * the English one, for TYPE, then for generic. A language the set has no
 * directory of gets English.
 */
const struct template *template_set_find_lang(const struct template_set *s, const char *lang, int resolved,
    const char *type, char *err, size_t errlen);

/* template_set_has_language - the set has a directory of LANG (or of its primary subtag) */
int template_set_has_language(const struct template_set *s, const char *lang);

/* template_set_languages - the set's languages but English, up to MAX of
 * them into LANGS (sorted; the set owns them); returns how many there are */
size_t template_set_languages(const struct template_set *s, const char **langs, size_t max);

/* template_parse - a template from text, without partials (tests); NULL with ERR */
struct template *template_parse(const char *text, const char *name, const struct template_vars *vars,
    char *err, size_t errlen);

/*
 * template_load_file - one template file NAME ("digest.txt") that is no
 * report type's, read and parsed now (no partials): LANG/NAME in SITE_DIR,
 * then in SHIPPED_DIR (LANG's primary subtag's too), then NAME likewise.
 * Its template_lang is the directory it came from. NULL with ERR.
 */
struct template *template_load_file(const char *site_dir, const char *shipped_dir, const char *lang,
    const char *name, const struct template_vars *vars, char *err, size_t errlen);

void template_free(struct template *t);
const char *template_path(const struct template *t);
/* template_lang - the language directory the template came from ("de"), "" for English */
const char *template_lang(const struct template *t);

int template_render_subject(const struct template *t, const struct template_scope *scope,
    struct buf *out, char *err, size_t errlen);
int template_render_body(const struct template *t, const struct template_scope *scope,
    struct buf *out, char *err, size_t errlen);

/* the shipped template directory (compiled in; SM_TEMPLATE_DIR overrides) */
const char *template_shipped_dir(void);

#endif
