/*
 * test_template - the template language and its strictness
 */
#include "test.h"

#include "notice/notice.h"
#include "notice/template.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

static const char *items[] = { "a", "b", "c" };
static const char *names[] = { "item", "who", "empty", "list", "none" };
enum { ITEM, WHO, EMPTY, LIST, NONE };

static int
resolve(const char *name, int *list)
{
	int i;

	for (i = 0; i < 5; i++)
		if (strcmp(names[i], name) == 0) {
			*list = i >= LIST;
			return i;
		}
	return -1;
}

static const struct template_vars vars = { resolve };

static const char *
get(void *ctx, int id, const char *name, long item)
{
	(void)ctx, (void)name;
	if (id == ITEM)
		return item >= 0 ? items[item] : NULL;
	return id == WHO ? "world" : id == EMPTY ? "" : NULL;
}

static size_t
count(void *ctx, int id)
{
	(void)ctx;
	return id == LIST ? 3 : 0;
}

static const struct template_scope scope = { get, count, NULL };

static char *
render(const char *text, int *rc)
{
	char err[256];
	struct template *t = template_parse(text, "t", &vars, err, sizeof(err));
	struct buf out = BUF_INIT;

	if (t == NULL) {
		*rc = -2;
		return NULL;
	}
	*rc = template_render_body(t, &scope, &out, err, sizeof(err));
	template_free(t);
	return buf_steal(&out);
}

TEST(template, variables_lists_and_conditionals)
{
	int rc;
	char *s = render("Subject: s\n\nHello {{who}}!\n{{#list}}\n- {{item}}\n{{/list}}\n"
	    "{{#empty}}never{{/empty}}{{^empty}}shown{{/empty}}\n{{^none}}no items{{/none}}\n", &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(s, "Hello world!\n- a\n- b\n- c\nshown\nno items\n");
	free(s);
}

TEST(template, unknown_variable_is_an_error)
{
	int rc;
	char *s = render("Subject: s\n\nHello {{wh0}}\n", &rc);

	CHECK_INT(rc, -2);	/* when it is parsed, not when a notice is rendered */
	free(s);
	/* an item's variable outside its list has no value: a render error */
	s = render("Subject: s\n\n{{item}}\n", &rc);
	CHECK_INT(rc, -1);
	free(s);
}

TEST(template, unclosed_section_is_an_error)
{
	int rc;
	char *s = render("Subject: s\n\n{{#list}}x\n", &rc);

	CHECK_INT(rc, -2);
	free(s);
}

TEST(template, first_line_must_be_the_subject)
{
	int rc;

	CHECK(render("Hello\n\nbody", &rc) == NULL);
	CHECK_INT(rc, -2);
	CHECK(render("Subject: x\nbody", &rc) == NULL);
}

TEST(template, type_names_cannot_escape_the_directory)
{
	char *dir = test_tmpdir(), path[4096], err[256];
	struct template_set *set;
	const struct template *t;

	snprintf(path, sizeof(path), "%s/generic.tmpl", dir);
	test_write_file(path, "Subject: generic\n\nbody\n");
	REQUIRE((set = template_set_load(dir, "/nonexistent", &vars, err, sizeof(err))) != NULL);
	t = template_set_find(set, 0, "../../etc/passwd", err, sizeof(err));
	REQUIRE(t != NULL);
	CHECK(strstr(template_path(t), "generic.tmpl") != NULL);
	template_set_free(set);
	free(dir);
}

TEST(template, site_directory_shadows_the_shipped_one)
{
	char *site = test_tmpdir(), *shipped = test_tmpdir(), path[4096], err[256];
	struct template_set *set;
	const struct template *t;

	snprintf(path, sizeof(path), "%s/scan_ntp.tmpl", shipped);
	test_write_file(path, "Subject: shipped\n\nbody\n");
	snprintf(path, sizeof(path), "%s/scan_ntp.tmpl", site);
	test_write_file(path, "Subject: site\n\nbody\n");
	REQUIRE((set = template_set_load(site, shipped, &vars, err, sizeof(err))) != NULL);
	t = template_set_find(set, 0, "scan_ntp", err, sizeof(err));
	REQUIRE(t != NULL);
	CHECK(strstr(template_path(t), site) == template_path(t));
	CHECK(template_set_find(set, 1, "scan_ntp", err, sizeof(err)) == NULL);	/* no resolved/ at all */
	CHECK(strstr(err, "no template for \"scan_ntp\"") != NULL);
	template_set_free(set);
	free(site);
	free(shipped);
}

/* subject - TYPE's rendered subject from SET */
static char *
subject(const struct template_set *set, int resolved, const char *type)
{
	const struct template *t;
	struct buf b = BUF_INIT;
	char err[256];

	if ((t = template_set_find(set, resolved, type, err, sizeof(err))) == NULL ||
	    template_render_subject(t, &scope, &b, err, sizeof(err)) != 0) {
		buf_free(&b);
		return xstrdup(err);
	}
	return buf_steal(&b);
}

TEST(template, the_set_is_parsed_once_an_edit_counts_at_the_next_load)
{
	char *site = test_tmpdir(), *shipped = test_tmpdir(), path[4096], err[256], *s;
	struct template_set *before, *after;

	snprintf(path, sizeof(path), "%s/generic.tmpl", shipped);
	test_write_file(path, "Subject: shipped generic\n\nbody\n");
	snprintf(path, sizeof(path), "%s/resolved", site);
	REQUIRE(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/resolved/generic.tmpl", site);
	test_write_file(path, "Subject: all fixed\n\nbody\n");
	snprintf(path, sizeof(path), "%s/scan_ntp.tmpl", site);
	test_write_file(path, "Subject: first\n\nbody\n");
	REQUIRE((before = template_set_load(site, shipped, &vars, err, sizeof(err))) != NULL);
	CHECK_INT(template_set_count(before), 3);
	test_write_file(path, "Subject: second\n\nbody\n");	/* edited on disk */
	s = subject(before, 0, "scan_ntp");
	CHECK_STR(s, "first");
	free(s);
	s = subject(before, 1, "scan_ntp");
	CHECK_STR(s, "all fixed");
	free(s);
	s = subject(before, 0, "scan_dns");
	CHECK_STR(s, "shipped generic");
	free(s);
	REQUIRE((after = template_set_load(site, shipped, &vars, err, sizeof(err))) != NULL);
	s = subject(after, 0, "scan_ntp");
	CHECK_STR(s, "second");
	free(s);
	template_set_free(before);
	template_set_free(after);
	free(site);
	free(shipped);
}

TEST(template, a_file_that_does_not_parse_fails_the_whole_set_and_is_named)
{
	char *site = test_tmpdir(), path[4096], err[256];
	struct template_set *set;

	snprintf(path, sizeof(path), "%s/scan_ntp.tmpl", site);
	test_write_file(path, "no subject line\n\nbody\n");
	CHECK(template_set_load(site, template_shipped_dir(), notice_template_vars(), err, sizeof(err)) == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "the first line must be") != NULL);
	/* a file a lookup can never ask for (not a plain token) is not read */
	test_write_file(path, "Subject: ok\n\nbody\n");
	snprintf(path, sizeof(path), "%s/Not-A-Type.tmpl", site);
	test_write_file(path, "garbage");
	set = template_set_load(site, template_shipped_dir(), notice_template_vars(), err, sizeof(err));
	CHECK(set != NULL);
	template_set_free(set);
	free(site);
}

/* --- partials and load-time errors ---------------------------------------- */

/* put - DIR/NAME holds TEXT, directories made as needed */
static void
put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	const char *slash;

	for (slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
		snprintf(path, sizeof(path), "%s/%.*s", dir, (int)(slash - name), name);
		mkdir(path, 0755);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	test_write_file(path, text);
}

/* body - TYPE's rendered body from SET, or the error */
static char *
body(const struct template_set *set, int resolved, const char *type)
{
	const struct template *t;
	struct buf b = BUF_INIT;
	char err[512];

	if ((t = template_set_find(set, resolved, type, err, sizeof(err))) == NULL ||
	    template_render_body(t, &scope, &b, err, sizeof(err)) != 0) {
		buf_free(&b);
		return xstrdup(err);
	}
	return buf_steal(&b);
}

/* load_error - the error of loading SITE over SHIPPED ("" when it loads) */
static char *
load_error(const char *site, const char *shipped)
{
	struct template_set *set;
	char err[512];

	if ((set = template_set_load(site, shipped, &vars, err, sizeof(err))) != NULL) {
		template_set_free(set);
		return xstrdup("");
	}
	return xstrdup(err);
}

TEST(template, a_partial_is_its_text_where_the_tag_stands)
{
	char *dir = test_tmpdir(), *s, err[256];
	struct template_set *set;

	put(dir, "partials/greeting.tmpl", "Hello {{who}}!\n{{#list}}\n- {{item}}\n{{/list}}\n");
	put(dir, "generic.tmpl", "Subject: s\n\nfirst\n{{> greeting}}\n  {{>greeting }}\nlast {{> who_is}}\n");
	put(dir, "partials/who_is.tmpl", "{{who}}");
	REQUIRE((set = template_set_load(dir, "/nonexistent", &vars, err, sizeof(err))) != NULL);
	s = body(set, 0, "generic");
	CHECK_STR(s, "first\nHello world!\n- a\n- b\n- c\nHello world!\n- a\n- b\n- c\nlast world\n");
	free(s);
	template_set_free(set);
	free(dir);
}

TEST(template, partials_are_looked_up_site_first_then_beside_the_template_then_at_the_top)
{
	char *site = test_tmpdir(), *shipped = test_tmpdir(), *s, err[256];
	struct template_set *set;

	put(shipped, "generic.tmpl", "Subject: s\n\n{{> a}}{{> b}}\n");
	put(shipped, "resolved/generic.tmpl", "Subject: s\n\n{{> a}}{{> b}}\n");
	put(shipped, "partials/a.tmpl", "shipped-a ");
	put(shipped, "partials/b.tmpl", "shipped-b");
	put(shipped, "resolved/partials/b.tmpl", "resolved-b");
	put(site, "partials/a.tmpl", "site-a ");
	REQUIRE((set = template_set_load(site, shipped, &vars, err, sizeof(err))) != NULL);
	s = body(set, 0, "generic");
	CHECK_STR(s, "site-a shipped-b\n");	/* a site rewords a shipped template's part */
	free(s);
	s = body(set, 1, "generic");
	CHECK_STR(s, "site-a resolved-b\n");	/* resolved/ has its own b, shares the top's a */
	free(s);
	template_set_free(set);
	free(site);
	free(shipped);
}

TEST(template, an_unknown_variable_is_named_with_its_file_and_line)
{
	char *dir = test_tmpdir(), *err, want[4200];

	put(dir, "scan_ntp.tmpl", "Subject: s\n\nline 3\n{{#list}}\nline 5 {{wh0}}\n{{/list}}\n");
	err = load_error(dir, "/nonexistent");
	snprintf(want, sizeof(want), "%s/scan_ntp.tmpl:5: unknown variable {{wh0}}", dir);
	CHECK_STR(err, want);
	free(err);
	put(dir, "scan_ntp.tmpl", "Subject: {{who}} {{wh0}}\n\nbody\n");
	err = load_error(dir, "/nonexistent");
	snprintf(want, sizeof(want), "%s/scan_ntp.tmpl:1: unknown variable {{wh0}}", dir);
	CHECK_STR(err, want);
	free(err);
	/* in a partial: the partial's file and line */
	put(dir, "scan_ntp.tmpl", "Subject: s\n\n{{> part}}\n");
	put(dir, "partials/part.tmpl", "one\n{{#list}}\n{{item}}\n{{/list}}\n{{wh0}}\n");
	err = load_error(dir, "/nonexistent");
	snprintf(want, sizeof(want), "%s/partials/part.tmpl:5: unknown variable {{wh0}}", dir);
	CHECK_STR(err, want);
	free(err);
	free(dir);
}

TEST(template, an_unknown_partial_is_named_with_its_file_and_line)
{
	char *dir = test_tmpdir(), *err, want[4200];

	put(dir, "scan_ntp.tmpl", "Subject: s\n\none\n{{> nowhere}}\n");
	err = load_error(dir, "/nonexistent");
	snprintf(want, sizeof(want), "%s/scan_ntp.tmpl:4: unknown partial {{> nowhere}}: no nowhere.tmpl in "
	    "%s/partials, /nonexistent/partials", dir, dir);
	CHECK_STR(err, want);
	free(err);
	put(dir, "scan_ntp.tmpl", "Subject: s\n\n{{> ../generic}}\n");	/* no path tricks */
	err = load_error(dir, "/nonexistent");
	CHECK(strstr(err, "scan_ntp.tmpl:3: bad partial name") != NULL);
	free(err);
	put(dir, "scan_ntp.tmpl", "Subject: {{> x}}\n\nbody\n");	/* a subject is one line */
	err = load_error(dir, "/nonexistent");
	CHECK(strstr(err, "scan_ntp.tmpl:1: {{> x}}: no partials here") != NULL);
	free(err);
	free(dir);
}

TEST(template, a_partial_that_includes_itself_is_an_error_not_a_stack_overflow)
{
	char *dir = test_tmpdir(), *err, want[4200];

	put(dir, "generic.tmpl", "Subject: s\n\n{{> loop}}\n");
	put(dir, "partials/loop.tmpl", "again\n{{> loop}}\n");
	err = load_error(dir, "/nonexistent");
	snprintf(want, sizeof(want), "%s/partials/loop.tmpl:2: partial {{> loop}} includes itself", dir);
	CHECK_STR(err, want);
	free(err);
	/* through another */
	put(dir, "partials/loop.tmpl", "{{#list}}{{> other}}{{/list}}");
	put(dir, "partials/other.tmpl", "{{^list}}{{> loop}}{{/list}}");
	err = load_error(dir, "/nonexistent");
	CHECK(strstr(err, "partials/other.tmpl:1: partial {{> loop}} includes itself") != NULL);
	free(err);
	free(dir);
}

TEST(template, sections_nested_too_deeply_through_a_partial_are_an_error)
{
	char *dir = test_tmpdir(), *err;
	const char *deep = "{{#who}}{{#who}}{{#who}}{{#who}}{{#who}}{{#who}}{{#who}}x"
	    "{{/who}}{{/who}}{{/who}}{{/who}}{{/who}}{{/who}}{{/who}}";

	put(dir, "partials/deep.tmpl", deep);	/* 7 deep: fine alone */
	put(dir, "generic.tmpl", "Subject: s\n\n{{#who}}{{> deep}}{{/who}}\n");
	err = load_error(dir, "/nonexistent");
	CHECK_STR(err, "");
	free(err);
	put(dir, "generic.tmpl", "Subject: s\n\n{{#who}}{{#who}}{{> deep}}{{/who}}{{/who}}\n");
	err = load_error(dir, "/nonexistent");
	CHECK(strstr(err, "generic.tmpl:3: sections nested too deeply (with {{> deep}})") != NULL);
	free(err);
	free(dir);
}

/* the shipped templates: each scan notice's shared paragraphs are partials,
 * so a wording change is an edit of one file, and no template repeats them */
TEST(template, the_scan_templates_share_their_common_wording_through_partials)
{
	static const char *partials[] = { "opening", "first_screen", "questions", "list_intro", "closing" };
	const char *dir = template_shipped_dir();
	char path[4096], tag[64];
	struct dirent *d;
	size_t i, nscan = 0;
	DIR *dp;

	REQUIRE((dp = opendir(dir)) != NULL);
	while ((d = readdir(dp)) != NULL) {
		char *text;

		if (strncmp(d->d_name, "scan_", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		REQUIRE((text = test_read_file(path, NULL)) != NULL);
		nscan++;
		for (i = 0; i < sizeof(partials) / sizeof(partials[0]); i++) {
			int portmapper = strcmp(d->d_name, "scan_portmapper.tmpl") == 0;

			snprintf(tag, sizeof(tag), "{{> %s}}\n", partials[i]);
			/* the golden portmapper notice keeps its own first screen and list intro */
			if (!portmapper || (strcmp(partials[i], "first_screen") && strcmp(partials[i], "list_intro")))
				CHECK(strstr(text, tag) != NULL);
		}
		CHECK(strstr(text, "Dear customer,") == NULL);
		CHECK(strstr(text, "If you have any questions") == NULL);
		CHECK(strstr(text, "Best regards,") == NULL);
		free(text);
	}
	closedir(dp);
	CHECK_INT(nscan, 28);
}
