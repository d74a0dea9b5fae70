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
 *    The site's partials/ holds the shipped partials (so the shipped
 *    templates among the seeds render), p.tmpl, the same text as the
 *    template (so {{> p}} is a cycle), and q.tmpl, a list that includes r.tmpl.
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

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW 1795000000	/* 2026-11-17 */

static struct config *cfg;
static char site_dir[4096], empty_dir[4096];

/* copy_shipped_partials - the shipped partials into the site's partials/,
 * so the shipped templates among the seeds load and render */
static void
copy_shipped_partials(const char *to)
{
	char from[4096], path[4096 + 256];
	struct dirent *d;
	struct buf b = BUF_INIT;
	DIR *dp;
	FILE *f;
	int c;

	snprintf(from, sizeof(from), "%s/partials", template_shipped_dir());
	if ((dp = opendir(from)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", from, d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		buf_reset(&b);
		while ((c = getc(f)) != EOF)
			buf_putc(&b, c);
		fclose(f);
		snprintf(path, sizeof(path), "%s/%s", to, d->d_name);
		fuzz_write_file(path, b.data ? b.data : "", b.len);
	}
	closedir(dp);
	buf_free(&b);
}

static void
setup(void)
{
	char err[512], partials[4096 + 32];

	fuzz_path(site_dir, sizeof(site_dir), "templates");
	fuzz_path(empty_dir, sizeof(empty_dir), "empty");
	snprintf(partials, sizeof(partials), "%s/partials", site_dir);
	if (mkdir(site_dir, 0700) != 0 || mkdir(empty_dir, 0700) != 0 || mkdir(partials, 0700) != 0)
		abort();
	copy_shipped_partials(partials);
	snprintf(partials, sizeof(partials), "%s/partials/q.tmpl", site_dir);
	fuzz_write_file(partials, "{{#findings}}\n{{> r}}\n{{/findings}}\n", 36);
	snprintf(partials, sizeof(partials), "%s/partials/r.tmpl", site_dir);
	fuzz_write_file(partials, "{{endpoint}} {{account}}\n", 25);
	cfg = config_new();
	if (config_set(cfg, "TemplateDir", site_dir, err, sizeof(err)) != 0 ||
	    config_set(cfg, "NoticeSignature", "The Abuse Team\\nExample Hosting", err, sizeof(err)) != 0 ||
	    config_load_catalogue(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_template: %s\n", err);
		abort();
	}
}

/* --- the synthetic scope: lists "l" (3 items) and "m" (2), scalars a-z ---- */

/* syn_resolve - a single letter names variable (or list) letter - 'a' */
static int
syn_resolve(const char *name, int *is_list)
{
	if (strlen(name) != 1 || name[0] < 'a' || name[0] > 'z')
		return -1;
	*is_list = name[0] == 'l' || name[0] == 'm';
	return name[0] - 'a';
}

static const struct template_vars syn_vars = { syn_resolve };

static const char *
syn_get(void *ctx, int id, const char *name, long item)
{
	static char v[32];

	(void)ctx;
	if (id == 'e' - 'a')		/* an empty scalar, for {{^e}} */
		return "";
	if (id == 'n' - 'a')		/* a value with a line break and a tag in it */
		return "x\r\nBcc: victim@example.org {{a}}";
	if (id == 'z' - 'a' && item < 0)	/* an item's variable: no value outside a list */
		return NULL;
	snprintf(v, sizeof(v), "%c%ld", name[0], item);
	return v;
}

static size_t
syn_count(void *ctx, int id)
{
	(void)ctx;
	return id == 'l' - 'a' ? 3 : id == 'm' - 'a' ? 2 : 0;
}

static void
render_synthetic(const char *text)
{
	struct template_scope scope = { syn_get, syn_count, NULL };
	struct buf out = BUF_INIT;
	struct template *t;
	char err[512];

	if ((t = template_parse(text, "fuzz.tmpl", &syn_vars, err, sizeof(err))) == NULL)
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
	char path[4096], ppath[4096], err[1024], *tpath = NULL;
	struct template_set *set;
	struct notice n;

	snprintf(path, sizeof(path), "%s/%s.tmpl", site_dir, type);
	fuzz_write_file(path, text, len);
	/* partials: "p" is the fuzzed text too (it may include itself: a
	 * cycle), "q" a fixed one with a list in it */
	snprintf(ppath, sizeof(ppath), "%s/partials/p.tmpl", site_dir);
	fuzz_write_file(ppath, text, len);
	/* the set a reload would build, of this one template (no shipped ones:
	 * the fuzzed text is what gets chosen, and loading stays cheap) */
	set = template_set_load(site_dir, empty_dir, notice_template_vars(), err, sizeof(err));
	unlink(path);
	unlink(ppath);
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
