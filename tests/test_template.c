/*
 * test_template - the template language and its strictness
 */
#include "test.h"

#include "notice/template.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *items[] = { "a", "b", "c" };

static const char *
get(void *ctx, const char *name, long item)
{
	(void)ctx;
	if (!strcmp(name, "item") && item >= 0)
		return items[item];
	if (!strcmp(name, "who"))
		return "world";
	if (!strcmp(name, "empty"))
		return "";
	return NULL;
}

static size_t
count(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "list") == 0 ? 3 : 0;
}

static int
is_list(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "list") == 0 || strcmp(name, "none") == 0;
}

static const struct template_scope scope = { get, count, is_list, NULL };

static char *
render(const char *text, int *rc)
{
	char err[256];
	struct template *t = template_parse(text, "t", err, sizeof(err));
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

	CHECK_INT(rc, -1);
	free(s);
}

TEST(template, unclosed_section_is_an_error)
{
	int rc;
	char *s = render("Subject: s\n\n{{#list}}x\n", &rc);

	CHECK_INT(rc, -1);
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
	REQUIRE((set = template_set_load(dir, "/nonexistent", err, sizeof(err))) != NULL);
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
	REQUIRE((set = template_set_load(site, shipped, err, sizeof(err))) != NULL);
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
	REQUIRE((before = template_set_load(site, shipped, err, sizeof(err))) != NULL);
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
	REQUIRE((after = template_set_load(site, shipped, err, sizeof(err))) != NULL);
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
	CHECK(template_set_load(site, template_shipped_dir(), err, sizeof(err)) == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "the first line must be") != NULL);
	/* a file a lookup can never ask for (not a plain token) is not read */
	test_write_file(path, "Subject: ok\n\nbody\n");
	snprintf(path, sizeof(path), "%s/Not-A-Type.tmpl", site);
	test_write_file(path, "garbage");
	set = template_set_load(site, template_shipped_dir(), err, sizeof(err));
	CHECK(set != NULL);
	template_set_free(set);
	free(site);
}
