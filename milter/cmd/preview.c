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
#include "notice/notice.h"
#include "notice/sample.h"
#include "notice/template.h"
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
		{ "lang", required_argument, NULL, 'L' }, { NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *lang = NULL;
	struct template_set *set;
	struct config *cfg;
	char err[512];
	time_t now = time(NULL);
	int c, all = 0, history = 0, failures = 0, bad_lang = 0;
	size_t i, ntypes;
	char **types;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'a': all = 1; break;
		case 'H': history = 1; break;
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
	if (all && optind != argc)
		return usage_error("preview", "--all takes no report type (\"%s\" given)", argv[optind]);
	if (!all && optind == argc)
		return usage_error("preview", "no report type: give one (such as scan_ntp), or --all");
	if (!all && optind != argc - 1)
		return usage_error("preview", "one report type at a time (\"%s\" is extra)", argv[optind + 1]);
	if ((cfg = preview_config(conf)) == NULL)
		return 2;
	/* the set the daemon would parse at start: a template that does not parse is named here */
	if ((set = notice_templates_load(cfg, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		config_free(cfg);
		return 2;
	}
	if (preview_lang(set, lang) != 0)
		bad_lang = 1;
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
	return bad_lang ? 2 : failures ? 1 : 0;
}
