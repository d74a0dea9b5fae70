/*
 * preview - the "shadowmilter preview" command: notices from sample findings
 *
 * See preview.h. A command shell: it owns stdout/stderr and exit codes; the
 * rendering (sample.c, notice.c) is the pipeline's.
 */
#include "cmd/preview.h"
#include "cmd/usage.h"
#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "notice/digest.h"
#include "notice/mailheader.h"
#include "notice/notice.h"
#include "notice/sample.h"
#include "notice/template.h"
#include "store/digestparts.h"
#include "base/lang.h"
#include "base/msg.h"
#include "base/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNER "======================================================================"


/* preview_one - TYPE's notice on stdout (with the sample history when
 * HISTORY), under a banner naming its template and the wording its
 * severity gives it when ALL */
static int
preview_one(const struct template_set *set, const struct config *cfg, const char *type, const char *lang,
    time_t now, int history, int all)
{
	const struct catalogue_entry *e = catalogue_lookup(cfg->catalogue, type);
	struct notice n;
	char err[512], *path;

	if (sample_notice_lang(set, cfg, type, lang, now, history, &n, &path, err, sizeof(err)) != 0) {
		msg_error("preview %s: %s", type, err);
		return -1;
	}
	if (all)
		printf("%s\n%s: %s\n%s notice (severity %s)\n%s\n", BANNER, type, path,
		    notice_needs_action(cfg, e) ? "ACTION REQUIRED" : "informational",
		    e && *e->severity ? e->severity : "not rated", BANNER);
	fputs(n.message, stdout);
	if (all)
		putchar('\n');
	notice_free(&n);
	free(path);
	return 0;
}

/* the sample digest's sections when no type is named: one that needs action, two for information */
static const char *const digest_default_types[] = { "scan_portmapper", "scan_ssh", "scan_http" };

/* preview_digest - the digest a daily-digest account would get for sample
 * notices of TYPES[0..N) in LANG (with the sample history when HISTORY) on
 * stdout, made as digest_build_due makes it (digest_part_make, digest_render)
 * without a store */
static int
preview_digest(const struct template_set *set, const struct config *cfg, char *const *types, size_t n,
    const char *lang, time_t now, int history)
{
	struct digest_part *parts = xcalloc(n, sizeof(*parts));
	struct notice m;
	char err[512], day[48];
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		if ((rc = sample_digest_part(set, cfg, types[i], lang, now, history, &parts[i], err, sizeof(err))) != 0)
			msg_error("preview --digest %s: %s", types[i], err);
		parts[i].id = (long long)i + 1;
	}
	digest_cutoff(cfg, now, day, sizeof(day));
	digest_parts_order(parts, n);
	if (rc == 0 && (rc = digest_render(cfg, SAMPLE_ACCOUNT, day, parts, n, now, &m, err, sizeof(err))) != 0)
		msg_error("preview --digest: %s", err);
	if (rc == 0) {
		fputs(m.message, stdout);
		notice_free(&m);
	}
	digest_parts_free(parts, n);
	return rc;
}

/* digest_types_known - each of TYPES[0..N) is one "preview --all" shows (in
 * the catalogue, or with a template of its own); else one line on stderr
 * naming the first that is not */
static int
digest_types_known(const struct config *cfg, char *const *types, size_t n)
{
	size_t nknown, i, j;
	char **known = sample_types(cfg, &nknown), *shown;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		for (j = 0; j < nknown && strcmp(known[j], types[i]) != 0; j++)
			;
		if (j == nknown) {
			shown = text_clean(types[i], 100);
			msg_error("preview --digest: unknown report type \"%s\" (neither in the catalogue nor a "
			    "template of its own; \"preview --all\" shows the known ones)", shown);
			free(shown);
			rc = -1;
		}
	}
	sample_types_free(known, nknown);
	return rc;
}

/* preview_lang - LANG is a language SET has templates of (English always);
 * else one line on stderr naming the ones it has */
static int
preview_lang(const struct template_set *set, const char *lang)
{
	const char *langs[16];
	size_t n, i;
	struct buf have = BUF_INIT;

	if (lang == NULL || ascii_strncasecmp(lang, "en", 2) == 0 || template_set_has_language(set, lang))
		return 0;
	n = template_set_languages(set, langs, 16);
	buf_puts(&have, "en");
	for (i = 0; i < n && i < 16; i++)
		buf_printf(&have, ", %s", langs[i]);
	msg_error("preview: no templates in language \"%s\" (there are: %s)", lang, buf_cstr(&have));
	buf_free(&have);
	return -1;
}

static struct config *
preview_config(const char *conf)
{
	struct config *cfg;
	char err[512];

	if (conf != NULL)
		cfg = config_load(conf, err, sizeof(err));
	else if ((cfg = config_new()) != NULL && config_load_catalogue(cfg, err, sizeof(err)) != 0) {
		config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL)
		msg_error("%s", err);
	return cfg;
}

int
preview_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "all", no_argument, NULL, 'a' },
		{ "now", required_argument, NULL, 'N' }, { "history", no_argument, NULL, 'H' },
		{ "lang", required_argument, NULL, 'L' }, { "digest", no_argument, NULL, 'D' }, { NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *lang = NULL;
	struct template_set *set;
	struct config *cfg;
	char err[512];
	time_t now = time(NULL);
	int c, all = 0, history = 0, digest = 0, failures = 0, bad_args = 0;
	size_t i, ntypes;
	char **types;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'a': all = 1; break;
		case 'H': history = 1; break;
		case 'D': digest = 1; break;
		case 'L':
			if (!lang_code_ok(optarg))
				return usage_error("preview", "--lang \"%s\" is not a language tag (such as de)", optarg);
			lang = optarg;
			break;
		case 'N':
			if (parse_detection_time(optarg, &now) != 0)
				return usage_error("preview", "--now \"%s\" is not 'YYYY-MM-DD HH:MM:SS'", optarg);
			break;
		default: return usage_bad_option("preview", c, argv);
		}
	}
	if (digest && all)
		return usage_error("preview", "--digest and --all: give report types after --digest instead");
	if (all && optind != argc)
		return usage_error("preview", "--all takes no report type (\"%s\" given)", argv[optind]);
	if (!all && !digest && optind == argc)
		return usage_error("preview", "no report type: give one (such as scan_ntp), --all or --digest");
	if (!all && !digest && optind != argc - 1)
		return usage_error("preview", "one report type at a time (\"%s\" is extra)", argv[optind + 1]);
	if ((cfg = preview_config(conf)) == NULL)
		return 2;
	/* the set the daemon would parse at start: a template that does not parse is named here */
	if ((set = notice_templates_load(cfg, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		config_free(cfg);
		return 2;
	}
	if (preview_lang(set, lang) != 0 ||
	    (digest && digest_types_known(cfg, argv + optind, (size_t)(argc - optind)) != 0))
		bad_args = 1;
	else if (digest && optind == argc)
		failures = preview_digest(set, cfg, (char *const *)digest_default_types,
		    sizeof(digest_default_types) / sizeof(digest_default_types[0]), lang, now, history) != 0;
	else if (digest)
		failures = preview_digest(set, cfg, argv + optind, (size_t)(argc - optind), lang, now, history) != 0;
	else if (!all)
		failures = preview_one(set, cfg, argv[optind], lang, now, history, 0) != 0;
	else {
		types = sample_types(cfg, &ntypes);
		for (i = 0; i < ntypes; i++)
			failures += preview_one(set, cfg, types[i], lang, now, history, 1) != 0;
		sample_types_free(types, ntypes);
	}
	template_set_free(set);
	config_free(cfg);
	return bad_args ? 2 : failures ? 1 : 0;
}
