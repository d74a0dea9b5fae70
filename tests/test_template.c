/*
 * test_template - the template language and its strictness
 */
#include "test.h"

#include "template.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

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
	struct template *t;

	snprintf(path, sizeof(path), "%s/generic.tmpl", dir);
	test_write_file(path, "Subject: generic\n\nbody\n");
	t = template_find(dir, "/nonexistent", "../../etc/passwd", err, sizeof(err));
	REQUIRE(t != NULL);
	CHECK(strstr(template_path(t), "generic.tmpl") != NULL);
	template_free(t);
	free(dir);
}

TEST(template, site_directory_shadows_the_shipped_one)
{
	char *site = test_tmpdir(), *shipped = test_tmpdir(), path[4096], err[256];
	struct template *t;

	snprintf(path, sizeof(path), "%s/scan_ntp.tmpl", shipped);
	test_write_file(path, "Subject: shipped\n\nbody\n");
	snprintf(path, sizeof(path), "%s/scan_ntp.tmpl", site);
	test_write_file(path, "Subject: site\n\nbody\n");
	t = template_find(site, shipped, "scan_ntp", err, sizeof(err));
	REQUIRE(t != NULL);
	CHECK(strstr(template_path(t), site) == template_path(t));
	template_free(t);
	free(site);
	free(shipped);
}
