/*
 * fuzz_template - libFuzzer target: the template parser and renderer
 *
 * The first byte picks a report type from the catalogue and whether the
 * notice shows a detection history; the rest is a template. It is used two
 * ways:
 *  - as the site's TYPE.tmpl in a TemplateDir, loaded into a template set
 *    as a reload does (template_set_load) and rendered into a whole notice by
 *    sample_notice_from (the same template choice, scope and notice_build as
 *    the pipeline's). A notice that renders must have a header block that
 *    parses: whatever the template says, it cannot inject a header.
 *  - parsed with template_parse and rendered against a small synthetic
 *    scope with two nested lists, so sections, inverted sections and the
 *    depth limit are reached without the notice's variable names.
 *
 *   make fuzz   (tests/fuzz/run.sh builds the seeds from templates/)
 */
#include "fuzzutil.h"

#include "report/catalogue.h"
#include "config/config.h"
#include "notice/notice.h"
#include "notice/sample.h"
#include "notice/template.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW 1795000000	/* 2026-11-17 */

static struct config *cfg;
static char site_dir[4096], empty_dir[4096];

static void
setup(void)
{
	char err[512];

	fuzz_path(site_dir, sizeof(site_dir), "templates");
	fuzz_path(empty_dir, sizeof(empty_dir), "empty");
	if (mkdir(site_dir, 0700) != 0 || mkdir(empty_dir, 0700) != 0)
		abort();
	cfg = config_defaults();
	if (config_set(cfg, "TemplateDir", site_dir, err, sizeof(err)) != 0 ||
	    config_set(cfg, "NoticeSignature", "The Abuse Team\\nExample Hosting", err, sizeof(err)) != 0 ||
	    config_load_catalogue(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_template: %s\n", err);
		abort();
	}
}

/* --- the synthetic scope: lists "l" (3 items) and "m" (2), scalars a-z ---- */

static const char *
syn_get(void *ctx, const char *name, long item)
{
	static char v[32];

	(void)ctx;
	if (strlen(name) != 1 || name[0] < 'a' || name[0] > 'z' || name[0] == 'l' || name[0] == 'm')
		return NULL;
	if (name[0] == 'e')		/* an empty scalar, for {{^e}} */
		return "";
	if (name[0] == 'n')		/* a value with a line break and a tag in it */
		return "x\r\nBcc: victim@example.org {{a}}";
	snprintf(v, sizeof(v), "%c%ld", name[0], item);
	return v;
}

static size_t
syn_count(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "l") ? 3 : !strcmp(name, "m") ? 2 : 0;
}

static int
syn_is_list(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "l") || !strcmp(name, "m");
}

static void
render_synthetic(const char *text)
{
	struct template_scope scope = { syn_get, syn_count, syn_is_list, NULL };
	struct buf out = BUF_INIT;
	struct template *t;
	char err[512];

	if ((t = template_parse(text, "fuzz.tmpl", err, sizeof(err))) == NULL)
		return;
	if (template_render_subject(t, &scope, &out, err, sizeof(err)) == 0)
		buf_reset(&out);
	template_render_body(t, &scope, &out, err, sizeof(err));
	buf_free(&out);
	template_free(t);
}

/* --- the real notice ----------------------------------------------------- */

static void
render_notice(const char *type, const char *text, size_t len, int history)
{
	char path[4096], err[1024], *tpath = NULL;
	struct template_set *set;
	struct notice n;

	snprintf(path, sizeof(path), "%s/%s.tmpl", site_dir, type);
	fuzz_write_file(path, text, len);
	/* the set a reload would build, of this one template (no shipped ones:
	 * the fuzzed text is what gets chosen, and loading stays cheap) */
	set = template_set_load(site_dir, empty_dir, err, sizeof(err));
	unlink(path);
	if (set == NULL)
		return;
	memset(&n, 0, sizeof(n));
	if (sample_notice_from(set, cfg, type, NOW, history, &n, &tpath, err, sizeof(err)) == 0) {
		if (!fuzz_message_headers_safe(n.message))
			fuzz_fail("a rendered notice's header block does not parse", n.message);
		if (strpbrk(n.subject, "\r\n"))
			fuzz_fail("a line break in a notice's subject", n.subject);
		notice_free(&n);
	}
	free(tpath);
	template_set_free(set);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct catalogue_entry *e;
	char *text;

	if (cfg == NULL)
		setup();
	if (size == 0)
		return 0;
	e = catalogue_at(cfg->catalogue, (data[0] >> 1) % catalogue_count(cfg->catalogue));
	text = xstrndup((const char *)data + 1, size - 1);
	render_synthetic(text);
	render_notice(e->type, text, strlen(text), data[0] & 1);
	free(text);
	return 0;
}
