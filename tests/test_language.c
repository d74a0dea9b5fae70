/*
 * test_language - notices in the customer's language: dates as the language
 * writes them (from a table, never the system locale), templates/LANG/ per
 * file with English standing in, and every shipped German template rendered
 * byte for byte as its golden file under tests/golden/de/.
 *
 * The golden files are made once from the sample report (sample.h) at a
 * fixed time, with the shipped catalogue and the default site wording:
 * SM_GOLDEN_UPDATE=1 build/unit language writes them (then read the diff
 * before committing). Without it a missing or different file fails.
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "customers/prefixmap.h"
#include "base/ipaddr.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "notice/sample.h"
#include "notice/template.h"
#include "base/lang.h"
#include "base/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GOLDEN_NOW 1796637600	/* 2026-12-07 10:00:00 UTC */
#define LINE_MAX_CHARS 78

static char *
date_with(void (*fn)(const struct lang *, time_t, struct buf *), const char *lang, time_t t)
{
	struct buf b = BUF_INIT;

	fn(lang_get(lang), t, &b);
	return buf_steal(&b);
}

#define CHECK_DATE(fn, lang, t, want)					\
	do { char *got_ = date_with(fn, lang, t); CHECK_STR(got_, want); free(got_); } while (0)

TEST(language, german_dates_are_written_the_german_way)
{
	CHECK_DATE(lang_long_date, "de", GOLDEN_NOW, "7. Dezember 2026");
	CHECK_DATE(lang_date, "de", GOLDEN_NOW, "07.12.2026");
	CHECK_DATE(lang_time, "de", GOLDEN_NOW, "07.12.2026 10:00:00 UTC");
	CHECK_DATE(lang_long_date, "de", 1772323200, "1. M\xc3\xa4rz 2026");	/* 2026-03-01: UTF-8 umlaut */
	CHECK_DATE(lang_long_date, "DE_at", 1772323200, "1. M\xc3\xa4rz 2026");	/* the primary subtag counts */
	CHECK_DATE(lang_long_date, "de-CH", 1796601599, "6. Dezember 2026");	/* 23:59:59 UTC: the UTC day */
}

TEST(language, english_dates_stay_as_they_were_and_an_unknown_language_gets_iso)
{
	CHECK_DATE(lang_long_date, NULL, GOLDEN_NOW, "7 December 2026");
	CHECK_DATE(lang_long_date, "en", GOLDEN_NOW, "7 December 2026");
	CHECK_DATE(lang_date, "", GOLDEN_NOW, "2026-12-07");
	CHECK_DATE(lang_time, "en", GOLDEN_NOW, "2026-12-07 10:00:00 UTC");
	CHECK_DATE(lang_long_date, "fr", GOLDEN_NOW, "2026-12-07");	/* no month table: never an English month */
	CHECK_DATE(lang_long_date, "../de", GOLDEN_NOW, "2026-12-07");
}

TEST(language, a_language_tag_is_letters_and_an_optional_region_nothing_else)
{
	static const struct { const char *tag; int ok; } tags[] = {
		{ "de", 1 }, { "de-AT", 1 }, { "pt_BR", 1 },
		{ "", 0 }, { "d", 0 }, { "deutsch", 0 }, { "de-", 0 }, { "../de", 0 }, { "de/../../etc", 0 }, { "de\n", 0 },
	};
	char out[16];
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (!lang_code_ok(tags[i].tag) != !tags[i].ok) {
			test_fail(__FILE__, __LINE__, "lang_code_ok");
			fprintf(stderr, "    \"%s\" is %s\n", tags[i].tag, tags[i].ok ? "a tag" : "no tag");
		}
	lang_normalise("DE_at", out, sizeof(out));
	CHECK_STR(out, "de-at");
	lang_normalise("de/x", out, sizeof(out));
	CHECK_STR(out, "");
	CHECK_STR(lang_severity(lang_get("de"), "high"), "hoch");
	CHECK_STR(lang_severity(lang_get("en"), "high"), "high");
}

TEST(language, report_column_headings_come_from_one_table_and_english_keeps_the_names)
{
	static const char *const cases[][3] = {	/* language, column, heading */
		{ "de", "infection", "Infektion" },
		{ "de-AT", "dst_port", "Zielport" },
		{ "de", "x_unknown_col", "x_unknown_col" },
		{ "en", "infection", "infection" },
		{ NULL, "dst_port", "dst_port" },
		{ "fr", "infection", "infection" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(lang_column(lang_get(cases[i][0]), cases[i][1]), cases[i][2]);
}

static void
put(const char *dir, const char *name, const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	test_write_file(path, text);
}

static const struct template_vars *vars(void) { return notice_template_vars(); }

/* found - the path of the template LANG gets for TYPE, relative to DIR */
static const char *
found(const struct template_set *set, const char *dir, const char *lang, int resolved, const char *type)
{
	static char err[256];
	const struct template *t = template_set_find_lang(set, lang, resolved, type, err, sizeof(err));

	if (t == NULL)
		return err;
	return strncmp(template_path(t), dir, strlen(dir)) == 0 ? template_path(t) + strlen(dir) : template_path(t);
}

TEST(language, a_missing_german_template_falls_back_to_the_english_one_per_file)
{
	char *site = test_tmpdir(), *shipped = test_tmpdir(), err[256];
	struct template_set *set;

	put(shipped, "generic.tmpl", "Subject: s\n\nbody\n");
	put(shipped, "scan_ntp.tmpl", "Subject: s\n\nbody\n");
	put(shipped, "scan_redis.tmpl", "Subject: s\n\nbody\n");
	put(shipped, "resolved/generic.tmpl", "Subject: s\n\nbody\n");
	put(shipped, "de/generic.tmpl", "Subject: s\n\nbody\n");
	put(shipped, "de/scan_redis.tmpl", "Subject: s\n\nbody\n");
	put(site, "de/scan_dns.tmpl", "Subject: s\n\nbody\n");
	REQUIRE((set = template_set_load(site, shipped, vars(), err, sizeof(err))) != NULL);
	CHECK_STR(found(set, shipped, "de", 0, "scan_redis"), "/de/scan_redis.tmpl");
	CHECK_STR(found(set, shipped, "de", 0, "scan_ntp"), "/scan_ntp.tmpl");	/* English, not German generic */
	CHECK_STR(found(set, shipped, "de", 0, "scan_unknown"), "/de/generic.tmpl");
	CHECK_STR(found(set, site, "de", 0, "scan_dns"), "/de/scan_dns.tmpl");	/* a site's own language file */
	CHECK_STR(found(set, shipped, "de-AT", 0, "scan_redis"), "/de/scan_redis.tmpl");
	CHECK_STR(found(set, shipped, "fr", 0, "scan_redis"), "/scan_redis.tmpl");	/* no fr/: English */
	CHECK_STR(found(set, shipped, NULL, 0, "scan_redis"), "/scan_redis.tmpl");
	CHECK_STR(found(set, shipped, "de", 1, "scan_ntp"), "/resolved/generic.tmpl");	/* no de/resolved/ */
	CHECK(template_set_has_language(set, "de"));
	CHECK(!template_set_has_language(set, "fr"));
	CHECK_STR(template_lang(template_set_find_lang(set, "de", 0, "scan_ntp", err, sizeof(err))), "");
	CHECK_STR(template_lang(template_set_find_lang(set, "de", 0, "scan_redis", err, sizeof(err))), "de");
	template_set_free(set);
	free(site);
	free(shipped);
}

/* body - the body TYPE renders to in LANG (resolved/ when RESOLVED), all
 * variables "x", lists empty */
static char *
body(const struct template_set *set, const char *lang, const char *type)
{
	const struct template *t;
	struct buf b = BUF_INIT;
	char err[256];

	if ((t = template_set_find_lang(set, lang, 0, type, err, sizeof(err))) == NULL ||
	    template_render_body(t, &(struct template_scope){ NULL, NULL, NULL }, &b, err, sizeof(err)) != 0) {
		buf_free(&b);
		return xstrdup(err);
	}
	return buf_steal(&b);
}

TEST(language, a_german_partial_is_looked_up_in_de_partials_then_in_the_english_partials)
{
	char *site = test_tmpdir(), *shipped = test_tmpdir(), err[256], *s;
	struct template_set *set;

	put(shipped, "generic.tmpl", "Subject: s\n\n{{> a}}{{> b}}{{> c}}\n");
	put(shipped, "de/generic.tmpl", "Subject: s\n\n{{> a}}{{> b}}{{> c}}\n");
	put(shipped, "partials/a.tmpl", "en-a ");
	put(shipped, "partials/b.tmpl", "en-b ");
	put(shipped, "partials/c.tmpl", "en-c");
	put(shipped, "de/partials/a.tmpl", "de-a ");
	put(site, "partials/b.tmpl", "site-en-b ");
	put(site, "de/partials/c.tmpl", "site-de-c");
	REQUIRE((set = template_set_load(site, shipped, vars(), err, sizeof(err))) != NULL);
	s = body(set, "de", "generic");
	CHECK_STR(s, "de-a site-en-b site-de-c\n");
	free(s);
	s = body(set, NULL, "generic");
	CHECK_STR(s, "en-a site-en-b en-c\n");	/* English never sees the German partials */
	free(s);
	template_set_free(set);
	free(site);
	free(shipped);
}

TEST(language, an_error_in_a_german_template_is_named_with_its_file_and_line)
{
	char *dir = test_tmpdir(), err[512];

	put(dir, "generic.tmpl", "Subject: s\n\nbody\n");
	put(dir, "de/scan_ntp.tmpl", "Subject: s\n\nZeile 3\n{{Organisation}}\n");
	CHECK(template_set_load(dir, "/nonexistent", vars(), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/de/scan_ntp.tmpl:4: unknown variable {{Organisation}}") != NULL);
	put(dir, "de/scan_ntp.tmpl", "Subject: s\n\n{{> nirgends}}\n");
	CHECK(template_set_load(dir, "/nonexistent", vars(), err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/de/scan_ntp.tmpl:3: unknown partial {{> nirgends}}") != NULL);
	CHECK(strstr(err, "/de/partials") != NULL);
	free(dir);
}

/* --- the shipped German templates ----------------------------------------- */

/* golden_type - the report type whose sample notice shows shipped template NAME */
static const char *
golden_type(const char *name)
{
	if (strcmp(name, "generic") == 0)
		return SAMPLE_UNKNOWN_TYPE;
	if (strcmp(name, "generic_event") == 0)
		return "blocklist";	/* an event report with no template of its own */
	return name;
}

/* line_chars - code points of the line at P (to the newline) */
static size_t
line_chars(const char *p, size_t *bytes)
{
	size_t n = 0;

	for (*bytes = 0; p[*bytes] && p[*bytes] != '\n'; (*bytes)++)
		n += ((unsigned char)p[*bytes] & 0xc0) != 0x80;
	return n;
}

/* check_reads_german - NAME's notice N: a German subject and header, and no
 * body line over 78 characters but URLs and finding lines */
static void
check_reads_german(const char *name, const struct notice *n)
{
	const char *p = strstr(n->message, "\n\n"), *subject = n->subject;
	size_t bytes, chars;

	if (strncmp(name, "resolved", 8) != 0 && strncmp(subject, "HANDLUNGSBEDARF: ", 17) != 0 &&
	    strncmp(subject, "Sicherheitshinweis: ", 20) != 0) {
		test_fail(__FILE__, __LINE__, "a German subject");
		fprintf(stderr, "    %s: %s\n", name, subject);
	}
	CHECK(strstr(n->message, "\nContent-Language: de\n") != NULL);
	CHECK(strstr(n->message, "ACTION REQUIRED") == NULL);
	for (p = p ? p + 2 : ""; *p; p += bytes + (p[bytes] == '\n')) {
		chars = line_chars(p, &bytes);
		if (chars > LINE_MAX_CHARS && !memmem(p, bytes, "http", 4) && !memmem(p, bytes, "festgestellt am", 15)) {
			test_fail(__FILE__, __LINE__, "a line of at most 78 characters");
			fprintf(stderr, "    %s: %.*s\n", name, (int)bytes, p);
		}
	}
}

/* check_golden - the notice N against tests/golden/de/FILE.eml (written with SM_GOLDEN_UPDATE=1) */
static void
check_golden(const char *file, const struct notice *n)
{
	char path[4096], *want;
	const char *update = getenv("SM_GOLDEN_UPDATE");

	snprintf(path, sizeof(path), "%s/golden/de/%s.eml", test_srcdir(), file);
	if (update && strcmp(update, "1") == 0) {
		test_write_file(path, n->message);
		return;
	}
	if ((want = test_read_file(path, NULL)) == NULL) {
		test_fail(__FILE__, __LINE__, "a golden file for every shipped German template");
		fprintf(stderr, "    %s is missing: SM_GOLDEN_UPDATE=1 build/unit language makes it\n", path);
		return;
	}
	if (strcmp(want, n->message) != 0) {
		test_fail(__FILE__, __LINE__, "the German notice is its golden file byte for byte");
		fprintf(stderr, "    %s differs (SM_GOLDEN_UPDATE=1 build/unit language rewrites it; read the diff)\n",
		    path);
	}
	free(want);
}

/* golden_one - shipped template NAME (resolved/ when RESOLVED) in German, both ways */
static void
golden_one(const struct template_set *set, const struct config *cfg, const char *name, int resolved)
{
	char err[512], file[128], *path = NULL;
	struct notice n;
	int history;

	for (history = resolved; history < 2; history++) {
		int rc = resolved ? sample_resolution_lang(set, cfg, "scan_ntp", "de", GOLDEN_NOW, &n, &path, err,
		    sizeof(err)) : sample_notice_lang(set, cfg, golden_type(name), "de", GOLDEN_NOW, history, &n, &path,
		    err, sizeof(err));

		if (rc != 0) {
			test_fail(__FILE__, __LINE__, "every shipped German template renders");
			fprintf(stderr, "    %s: %s\n", name, err);
			continue;
		}
		snprintf(file, sizeof(file), "%s%s%s", resolved ? "resolved-" : "", name,
		    history && !resolved ? "-history" : "");
		CHECK(strstr(path, "/de/") != NULL);	/* the German file, not English standing in */
		check_reads_german(file, &n);
		check_golden(file, &n);
		notice_free(&n);
		free(path);
		path = NULL;
	}
}

/* golden_dir - every NAME.tmpl of DIR; the count in *N */
static void
golden_dir(const struct template_set *set, const struct config *cfg, const char *dir, int resolved, size_t *n)
{
	struct dirent *d;
	DIR *dp = opendir(dir);

	REQUIRE(dp != NULL);
	while ((d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);
		char name[64];

		if (len <= 5 || len - 5 >= sizeof(name) || strcmp(d->d_name + len - 5, ".tmpl") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), d->d_name);
		golden_one(set, cfg, name, resolved);
		(*n)++;
	}
	closedir(dp);
}

TEST(language, every_shipped_german_template_renders_as_its_golden_file)
{
	static const char *const required[] = { "generic", "generic_event", "scan_portmapper", "scan_ntp",
	    "scan_ssdp", "scan_snmp", "scan_memcached", "scan_dns", "scan_rdp", "scan_smb", "scan_elasticsearch",
	    "scan_redis" };
	struct config *cfg = config_new();
	struct template_set *set;
	char err[512], dir[4096], path[4200];
	size_t i, n = 0;

	REQUIRE(cfg != NULL && config_load_catalogue(cfg, err, sizeof(err)) == 0);
	REQUIRE((set = notice_templates_load(cfg, err, sizeof(err))) != NULL);
	snprintf(dir, sizeof(dir), "%s/de", template_shipped_dir());
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s.tmpl", dir, required[i]);
		if (stat(path, &st) != 0) {
			test_fail(__FILE__, __LINE__, "German ships for the generic templates and the ten commonest types");
			fprintf(stderr, "    %s is missing\n", path);
		}
	}
	golden_dir(set, cfg, dir, 0, &n);
	snprintf(dir, sizeof(dir), "%s/de/resolved", template_shipped_dir());
	golden_dir(set, cfg, dir, 1, &n);
	CHECK(n >= sizeof(required) / sizeof(required[0]) + 1);
	template_set_free(set);
	config_free(cfg);
}

/* sample_text - TYPE's sample notice in LANG (NULL: English), or the error */
static char *
sample_text(const struct template_set *set, const struct config *cfg, const char *type, const char *lang)
{
	char err[512], *path = NULL, *text;
	struct notice n;

	if (sample_notice_lang(set, cfg, type, lang, GOLDEN_NOW, 0, &n, &path, err, sizeof(err)) != 0)
		return xstrdup(err);
	text = xstrdup(n.message);
	notice_free(&n);
	free(path);
	return text;
}

TEST(language, a_german_notice_names_the_type_and_evidence_in_german_an_english_one_as_before)
{
	struct config *cfg = config_new();
	struct template_set *set;
	char err[512], *de, *en;

	REQUIRE(cfg != NULL && config_load_catalogue(cfg, err, sizeof(err)) == 0);
	REQUIRE((set = notice_templates_load(cfg, err, sizeof(err))) != NULL);
	de = sample_text(set, cfg, "scan_mysql", "de");	/* no template of its own: the German generic */
	en = sample_text(set, cfg, "scan_mysql", NULL);
	CHECK(strstr(de, "Erreichbarer MySQL-Server") != NULL);
	CHECK(strstr(de, "Accessible MySQL Server") == NULL);
	CHECK(strstr(en, "Accessible MySQL Server") != NULL);
	free(de);
	free(en);
	de = sample_text(set, cfg, "scan6_http", "de");	/* a tailored English template: English words */
	CHECK(strstr(de, "Content-Language: de") == NULL);
	CHECK(strstr(de, "Erreichbarer HTTP-Dienst") == NULL);
	free(de);
	de = sample_text(set, cfg, "event4_sinkhole", "de");
	en = sample_text(set, cfg, "event4_sinkhole", NULL);
	CHECK(strstr(de, "Sinkhole-Ereignisse") != NULL);
	CHECK(strstr(de, "Infektion: \"") != NULL);
	CHECK(strstr(de, "infection: \"") == NULL);
	CHECK(strstr(en, "infection: \"") != NULL);
	CHECK(strstr(en, "Infektion") == NULL);
	free(de);
	free(en);
	template_set_free(set);
	config_free(cfg);
}

/* skeleton - the section and partial tags of FILE in order ("#a ^a /a >b "),
 * the structure a translation keeps (plain variables may differ: "them" is
 * "das Problem"); NULL when FILE cannot be read */
static char *
skeleton(const char *file)
{
	char *text = test_read_file(file, NULL);
	const char *p, *end;
	struct buf b = BUF_INIT;

	if (text == NULL)
		return NULL;
	for (p = text; (p = strstr(p, "{{")) != NULL && (end = strstr(p, "}}")) != NULL; p = end + 2)
		if (strchr("#^/>", p[2]))
			buf_printf(&b, "%.*s ", (int)(end - p - 2), p + 2);
	free(text);
	return buf_steal(&b);
}

/* same_skeletons - every .tmpl of LANGDIR/SUB against SHIPPED/SUB; the count in *N */
static void
same_skeletons(const char *shipped, const char *langdir, const char *sub, size_t *n)
{
	char dir[4096], en[4400], tr[4400];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s%s%s", langdir, *sub ? "/" : "", sub);
	REQUIRE((dp = opendir(dir)) != NULL);
	while ((d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);
		char *a, *b;

		if (len <= 5 || strcmp(d->d_name + len - 5, ".tmpl") != 0)
			continue;
		snprintf(en, sizeof(en), "%s/%s%s%s", shipped, sub, *sub ? "/" : "", d->d_name);
		snprintf(tr, sizeof(tr), "%s/%s", dir, d->d_name);
		if ((a = skeleton(en)) == NULL)
			continue;	/* no English twin: nothing to keep in step with */
		b = skeleton(tr);
		if (b == NULL || strcmp(a, b) != 0) {
			test_fail(__FILE__, __LINE__, "a translation keeps its English twin's sections and partials");
			fprintf(stderr, "    %s\n      %s\n    %s\n      %s\n", en, a, tr, b ? b : "(unreadable)");
		}
		free(a);
		free(b);
		(*n)++;
	}
	closedir(dp);
}

TEST(language, every_german_template_keeps_its_english_twins_sections_and_partials_in_order)
{
	char de[4096];
	size_t n = 0;

	snprintf(de, sizeof(de), "%s/de", template_shipped_dir());
	same_skeletons(template_shipped_dir(), de, "", &n);
	same_skeletons(template_shipped_dir(), de, "resolved", &n);
	same_skeletons(template_shipped_dir(), de, "partials", &n);
	CHECK(n >= 18);
}

/* --- the customer map's language column ------------------------------------ */

static struct prefixmap *
map_from(const char *csv, char *err, size_t errlen)
{
	char *dir = test_tmpdir(), path[4096];
	struct prefixmap *map = prefixmap_new();

	snprintf(path, sizeof(path), "%s/customers.csv", dir);
	test_write_file(path, csv);
	free(dir);
	if (prefixmap_load(map, path, err, errlen) != 0) {
		prefixmap_free(map);
		return NULL;
	}
	return map;
}

static const char *
language_at(const struct prefixmap *map, const char *addr)
{
	struct ipaddr a;
	const struct account *acct;

	if (ipaddr_parse(addr, &a) != 0 || (acct = prefixmap_lookup(map, &a)) == NULL)
		return "(no account)";
	return acct->language ? acct->language : "(none)";
}

TEST(language, the_customer_maps_optional_language_column_gives_each_account_its_language)
{
	char err[512];
	struct prefixmap *map;

	map = map_from("prefix,account,email,language\n192.0.2.0/26,acme,a@acme.example,de\n"
	    "192.0.2.64/26,acme,b@acme.example,\n192.0.2.128/26,bob,bob@bob.example, DE_at \n"
	    "198.51.100.0/24,carol,carol@carol.example,\n", err, sizeof(err));
	REQUIRE(map != NULL);
	CHECK_STR(language_at(map, "192.0.2.70"), "de");	/* the account's, from any of its rows */
	CHECK_STR(language_at(map, "192.0.2.130"), "de-at");	/* trimmed, lower case, '-' */
	CHECK_STR(language_at(map, "198.51.100.1"), "(none)");
	prefixmap_free(map);
	map = map_from("email,account,prefix\na@acme.example,acme,192.0.2.0/24\n", err, sizeof(err));
	REQUIRE(map != NULL);	/* the column is optional */
	CHECK_STR(language_at(map, "192.0.2.1"), "(none)");
	prefixmap_free(map);
}

TEST(language, a_bad_or_contradicting_language_in_the_map_fails_the_load_naming_the_line)
{
	char err[512];

	CHECK(map_from("prefix,account,email,language\n192.0.2.0/26,acme,a@acme.example,de\n"
	    "192.0.2.64/26,acme,a@acme.example,../../etc\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "customers.csv:3: bad language \"../../etc\"") != NULL);
	CHECK(map_from("prefix,account,email,language\n192.0.2.0/26,acme,a@acme.example,de\n"
	    "192.0.2.64/26,acme,a@acme.example,fr\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "customers.csv:3: account \"acme\" has language \"de\" in another row, \"fr\" here") != NULL);
}

/* --- through the pipeline ------------------------------------------------- */

TEST(language, each_customer_gets_the_notice_in_the_language_of_its_map_row)
{
	static const char *map_csv = "prefix,account,email,language\n192.0.2.0/25,acme,ops@acme.example,de\n"
	    "192.0.2.128/25,bob,bob@bob.example,\n";
	static const char *csv = "timestamp,ip,port,protocol,hostname\n"
	    "2026-11-24 01:00:00,192.0.2.10,123,udp,a\n2026-11-24 02:00:00,192.0.2.200,123,udp,b\n"
	    "2026-11-24 03:00:00,192.0.2.20,21,tcp,c\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_ntp-x.csv", csv, NULL, NULL };
	struct config *cfg = test_catalogue_config();
	struct prefixmap *map = test_map(map_csv);
	char *msg = testmail_build(&tm);
	struct pipeline_result *r = test_run(cfg, map, msg, strlen(msg), 0);
	const struct report_output *ro;

	REQUIRE(r != NULL && r->nreports == 1);
	ro = &r->reports[0];
	REQUIRE(ro->nnotices == 2);
	for (size_t i = 0; i < ro->nnotices; i++) {
		const char *m = ro->notices[i].message;

		if (strcmp(ro->notices[i].account, "acme") == 0) {
			CHECK(strstr(m, "\nContent-Language: de\n") != NULL);
			CHECK(strstr(m, "\nSehr geehrte Damen und Herren,\n") != NULL);
			CHECK(strstr(m, "192.0.2.10:123 (UDP) festgestellt am 24.11.2026 01:00:00 UTC") != NULL);
			CHECK(strstr(m, "bis zum 15. Dezember 2026") != NULL);	/* 24.11. + 21 days */
		} else {
			CHECK(strstr(m, "Content-Language") == NULL);
			CHECK(strstr(m, "\nDear customer,\n") != NULL);
			CHECK(strstr(m, "192.0.2.200:123 (UDP) detected at 2026-11-24 02:00:00 UTC") != NULL);
		}
	}
	pipeline_result_free(r);
	prefixmap_free(map);
	config_free(cfg);
	free(msg);
}
