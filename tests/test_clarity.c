/*
 * test_clarity - every shipped template, rendered through the real pipeline,
 * follows the agreed clarity rules (the seed bug's three changes, made rules):
 *
 *   - the subject begins "ACTION REQUIRED:" and names the service
 *   - the first paragraph names the service and says what must be done
 *     (scan_portmapper keeps the seed's first paragraph word for word: the
 *     golden file holds it, so it is exempt from the second half)
 *   - the consequence paragraph (the one with the grace days) comes before
 *     the list of affected services
 *   - the list intro says "All of these need to be firewalled off or shut
 *     down." -- for event reports (kind=event in the catalogue: infections,
 *     compromises, attacks seen) "All of these need to be cleaned up or shut
 *     down.", as firewalling does not clean a compromised machine
 *   - the customer's account name and each finding appear
 *   - no body line is longer than 78 characters unless it holds a URL
 *   - plain text, valid UTF-8, MIME-Version and Content-Type text/plain UTF-8
 *   - the site's organisation, policy URL, grace days, signature and support
 *     address reach every notice
 *
 * And the history variant of the same rules, for notices with a detection
 * history in which 192.0.2.10 is overdue -- through the pipeline with a real
 * StateDB that has seen it since 2026-10-24 (192.0.2.200 since 2026-11-17),
 * and as "shadowmilter preview --history" renders them:
 *
 *   - the notice opens with the OVERDUE paragraph, before the consequence
 *     paragraph; the first paragraph after it names the service and says
 *     what must be done
 *   - the consequence paragraph names the deadline date as rendered
 *     ("10 November 2026") before the list intro
 *   - each finding line carries "(first detected DATE" and the overdue one
 *     ", OVERDUE)"
 *   - the case reference appears in the body and ends the subject
 *   - no body line is longer than 78 characters unless it holds a URL or is
 *     a finding line (the history makes those longer)
 *
 * The types are those "shadowmilter preview --all" shows (sample_types):
 * every catalogue type, every template file, and one unknown type.
 */
#include "test.h"
#include "testmail.h"

#include "catalogue.h"
#include "config.h"
#include "findings.h"
#include "notice.h"
#include "pipeline.h"
#include "prefixmap.h"
#include "sample.h"
#include "state.h"
#include "template.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define ORG "Example Hosting"
#define POLICY "https://www.example.net/abuse-policy"
#define SUPPORT "help@example.net"
#define SIGNATURE "The Example Hosting abuse team"
#define LIST_EXPOSED "All of these need to be firewalled off or shut down."
#define LIST_EVENT "All of these need to be cleaned up or shut down."
/* the history: 192.0.2.10 first detected 2026-10-24, 192.0.2.200 on
 * 2026-11-17, 2001:db8::25 new in the sample report of 2026-11-24 */
#define OVERDUE_FIRST "2026-10-24"
#define OTHER_FIRST "2026-11-17"
#define DEADLINE "10 November 2026"	/* 192.0.2.10's, the earliest: + GraceDays 17 */

static const char *const sample_ips[] = { "192.0.2.10", "192.0.2.200", "2001:db8::25" };
static const char *const sample_first[] = { OVERDUE_FIRST, OTHER_FIRST, "2026-11-24" };

struct expect {			/* what a notice of the sample report must say */
	const char *type;
	const struct catalogue_entry *entry;
	const char *reference;	/* NULL: rendered without a history */
};

static const char *const tailored[] = {
	"scan_portmapper", "scan_ntp", "scan_ntpmonitor", "scan_ssdp", "scan_snmp", "scan_mdns",
	"scan_memcached", "scan_chargen", "scan_qotd", "scan_netbios", "scan_ldap_udp", "scan_tftp",
	"scan_dns", "scan_ipmi", "scan_redis", "scan_elasticsearch", "scan_mongodb", "scan_mssql",
	"scan_rdp", "scan_smb", "scan_nat_pmp", "scan_xdmcp", "scan_rsync", "scan_ubiquiti",
};

static struct config *
site_config(void)
{
	static const char *const keys[][2] = {
		{ "Organization", ORG }, { "PolicyURL", POLICY }, { "SupportAddress", SUPPORT },
		{ "NoticeSignature", SIGNATURE }, { "GraceDays", "17" },
	};
	struct config *cfg = test_config();
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (config_set(cfg, keys[i][0], keys[i][1], err, sizeof(err)) != 0)
			abort();
	if (config_load_catalogue(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s\n", err);
		abort();
	}
	return cfg;
}

static int
failed(const char *type, const char *rule)
{
	fprintf(stderr, "  %s: %s\n", type, rule);
	return 1;
}

/* pipeline_notice - TYPE's sample report mailed through the pipeline */
static struct pipeline_result *
pipeline_notice(const struct config *cfg, const struct prefixmap *map, const char *type)
{
	char *name = sample_file_name(type), *csv = sample_csv(cfg, type), *msg;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, "[Example] Shadowserver Example Report: 2026-11-24",
	    name, csv, NULL, NULL };
	struct pipeline_result *r;

	msg = testmail_build(&tm);
	r = test_run(cfg, map, msg, strlen(msg), 0);
	free(msg);
	free(csv);
	free(name);
	return r;
}

/* earlier_csv - TYPE's sample CSV as the report of DATE, with only its first
 * N findings (caller frees) */
static char *
earlier_csv(const struct config *cfg, const char *type, const char *date, size_t n)
{
	char *csv = sample_csv(cfg, type), *line, *save = NULL;
	struct buf b = BUF_INIT;
	size_t row = 0;

	for (line = strtok_r(csv, "\n", &save); line && row <= n; line = strtok_r(NULL, "\n", &save), row++)
		if (row > 0 && strncmp(line, "\"2026-11-24 ", 12) == 0)
			buf_printf(&b, "\"%s%s\n", date, line + 11);
		else
			buf_printf(&b, "%s\n", line);
	free(csv);
	return buf_steal(&b);
}

/* history_run - CSV (the report of DATE) through the pipeline with history ST */
static struct pipeline_result *
history_run(const struct config *cfg, const struct prefixmap *map, struct state *st, const char *type,
    const char *date, const char *csv)
{
	struct buf name = BUF_INIT, subject = BUF_INIT;
	struct pipeline *p = pipeline_new(cfg, map);
	struct pipeline_result *r = NULL;
	char err[512], *msg;
	time_t now;

	buf_printf(&name, "%s-%s-sample.csv", date, type);
	buf_printf(&subject, "[Example] Shadowserver Example Report: %s", date);
	{
		struct testmail tm = { TRUSTED_AUTHRES, NULL, subject.data, name.data, csv, NULL, NULL };

		msg = testmail_build(&tm);
	}
	buf_reset(&name);
	buf_printf(&name, "%s 12:00:00", date);
	if (parse_detection_time(buf_cstr(&name), &now) != 0)
		abort();
	pipeline_set_now(p, now);
	pipeline_set_state(p, st, 1);
	pipeline_feed(p, msg, strlen(msg));
	if (pipeline_finish(p, &r, err, sizeof(err)) != 0) {
		failed(type, err);
		r = NULL;
	}
	pipeline_free(p);
	free(msg);
	buf_free(&name);
	buf_free(&subject);
	return r;
}

/* history_notice - TYPE's sample report after two earlier ones: 192.0.2.10
 * reported since OVERDUE_FIRST, 192.0.2.200 since OTHER_FIRST */
static struct pipeline_result *
history_notice(const struct config *cfg, const struct prefixmap *map, struct state *st, const char *type)
{
	static const char *const dates[] = { OVERDUE_FIRST, OTHER_FIRST, "2026-11-24" };
	struct pipeline_result *r = NULL;
	size_t i;

	for (i = 0; i < 3; i++) {
		char *csv = earlier_csv(cfg, type, dates[i], i + 1);

		pipeline_result_free(r);
		r = history_run(cfg, map, st, type, dates[i], csv);
		free(csv);
		if (r == NULL)
			break;
	}
	return r;
}

static int
contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return 0;
	for (; *hay; hay++)
		if (ascii_strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

/* names_service - TEXT names the service: its catalogue service or title, the
 * service's first word, or (unknown types) the report type */
static int
names_service(const char *text, const struct catalogue_entry *e, const char *type)
{
	char first[64];

	if (e == NULL)
		return strstr(text, type) != NULL;
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(e->service, " ("), e->service);
	return contains_ci(text, e->service) || contains_ci(text, e->title) ||
	    (strlen(first) >= 3 && contains_ci(text, first));
}

/* squeeze - TEXT with every run of white space made one space (caller frees) */
static char *
squeeze(const char *text)
{
	struct buf b = BUF_INIT;

	for (; *text; text++)
		if (!isspace((unsigned char)*text))
			buf_putc(&b, *text);
		else if (b.len > 0 && b.data[b.len - 1] != ' ')
			buf_putc(&b, ' ');
	return buf_steal(&b);
}

static int
valid_utf8_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 :
		    (*p & 0xF8) == 0xF0 ? 3 : 9;

		if (n == 9 || (*p < 0x20 && *p != '\n') || *p == 0x7f)
			return 0;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}


/* finding_line - LINE (LEN long) lists a sample finding: it starts with its endpoint */
static int
finding_line(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(sample_ips) / sizeof(sample_ips[0]); i++) {
		size_t n = strlen(sample_ips[i]);

		if ((len > n && strncmp(line, sample_ips[i], n) == 0) ||
		    (len > n + 1 && line[0] == '[' && strncmp(line + 1, sample_ips[i], n) == 0))
			return 1;
	}
	return 0;
}

/* long_line - the first body line over 78 characters without a URL (with a
 * history: that is not a finding line either), or NULL */
static const char *
long_line(const char *body, int history)
{
	const char *line;

	for (line = body; *line; ) {
		size_t len = strcspn(line, "\n");

		if (len > 78 && memmem(line, len, "://", 3) == NULL && !(history && finding_line(line, len)))
			return line;
		line += len + (line[len] == '\n');
	}
	return NULL;
}

/* first_paragraph - the paragraph after "Dear customer," (with a history,
 * after the OVERDUE paragraph), squeezed (caller frees); NULL if none */
static char *
first_paragraph(const char *dear, int history)
{
	const char *start = dear + 16, *end = strstr(start, "\n\n");
	char *raw, *flat;

	if (history && end && strncmp(start, "OVERDUE: ", 9) == 0) {
		start = end + 2;
		end = strstr(start, "\n\n");
	}
	if (end == NULL)
		return NULL;
	raw = xstrndup(start, (size_t)(end - start));
	flat = squeeze(raw);
	free(raw);
	return flat;
}

/* list_line - the line in LIST listing sample finding I (its length in LEN), or NULL */
static const char *
list_line(const char *list, size_t i, size_t *len)
{
	const char *ip = sample_ips[i], *p;
	size_t n = strlen(ip);

	for (p = list; (p = strchr(p, '\n')) != NULL; p++)
		if (strncmp(p + 1, ip, n) == 0 || (p[1] == '[' && strncmp(p + 2, ip, n) == 0)) {
			*len = strcspn(p + 1, "\n");
			return p + 1;
		}
	return NULL;
}

/* check_history - the history variant: OVERDUE first, the deadline date
 * before the list, "(first detected" on each finding line, the reference */
static int
check_history(const struct expect *x, const char *dear, const char *flat, const char *list)
{
	const char *overdue = strstr(flat, "OVERDUE: "), *deadline = strstr(flat, DEADLINE);
	const char *account = strstr(dear, "\n\"example-account\":\n");
	int bad = 0;
	size_t i;

	if (strncmp(dear, "Dear customer,\n\nOVERDUE: ", 25) != 0)
		bad |= failed(x->type, "the OVERDUE paragraph does not open the notice");
	if (deadline == NULL || (list && deadline > list))
		bad |= failed(x->type, "the deadline date does not come before the list intro");
	if (overdue == NULL || (deadline && overdue > deadline))
		bad |= failed(x->type, "the OVERDUE paragraph does not come before the consequence paragraph");
	if (strstr(flat, "17 days") == NULL || (list && strstr(flat, "17 days") > list))
		bad |= failed(x->type, "the grace days do not come before the list intro");
	if (strstr(dear, x->reference) == NULL)
		bad |= failed(x->type, "the case reference is missing");
	/* one finding is overdue in the samples: the paragraph says so in the singular */
	if (overdue && (strncmp(overdue, "OVERDUE: 1 of the ", 18) != 0 ||
	    strstr(overdue, " below was first detected ") == NULL))
		bad |= failed(x->type, "the OVERDUE paragraph does not agree with one overdue finding");
	for (i = 0; account && i < sizeof(sample_ips) / sizeof(sample_ips[0]); i++) {
		char want[64];
		size_t len = 0;
		const char *line = list_line(account, i, &len);

		snprintf(want, sizeof(want), "(first detected %s%s", sample_first[i], i == 0 ? ", OVERDUE)" : ")");
		if (line == NULL || memmem(line, len, want, strlen(want)) == NULL)
			bad |= failed(x->type, "a finding line does not say when it was first detected");
		else if (i > 0 && memmem(line, len, "OVERDUE", 7) != NULL)
			bad |= failed(x->type, "a finding within its deadline is marked OVERDUE");
	}
	return bad;
}

/* check_body - first paragraph, consequence before list intro, the list */
static int
check_body(const struct expect *x, const char *body)
{
	const char *type = x->type, *dear = strstr(body, "Dear customer,\n\n");
	const struct catalogue_entry *e = x->entry;
	char *first, *flat = squeeze(body);
	const char *intro = e && e->kind == CATALOGUE_EVENT ? LIST_EVENT : LIST_EXPOSED;
	const char *grace = strstr(flat, "within 17 days"), *list = strstr(flat, intro);
	int bad = 0;
	size_t i;

	if (dear == NULL || (first = first_paragraph(dear, x->reference != NULL)) == NULL) {
		free(flat);
		return failed(type, "no \"Dear customer,\" and first paragraph");
	}
	if (!names_service(first, e, type))
		bad |= failed(type, "the first paragraph does not name the service");
	if (strcmp(type, "scan_portmapper") != 0 && strstr(first, "Please ") == NULL &&
	    strstr(first, " must ") == NULL)
		bad |= failed(type, "the first paragraph does not say what must be done");
	if (list == NULL)
		bad |= failed(type, "the list intro sentence is missing");
	if (x->reference != NULL)
		bad |= check_history(x, dear, flat, list);
	else if (grace == NULL || (list && grace > list))
		bad |= failed(type, "the grace days do not come before the list intro");
	if (strstr(flat, POLICY) == NULL || (list && strstr(flat, POLICY) > list))
		bad |= failed(type, "the policy URL does not come before the list intro");
	if (strstr(body, "\n\"example-account\":\n") == NULL)
		bad |= failed(type, "the account name is missing");
	for (i = 0; i < sizeof(sample_ips) / sizeof(sample_ips[0]); i++)
		if (strstr(body, sample_ips[i]) == NULL || (list && strstr(flat, sample_ips[i]) < list))
			bad |= failed(type, "a finding is missing from the list");
	if (strstr(body, ORG) == NULL || strstr(body, "\n" SIGNATURE "\n") == NULL)
		bad |= failed(type, "the organisation or the signature is missing");
	if (long_line(body, x->reference != NULL) != NULL)
		bad |= failed(type, "a body line is longer than 78 characters");
	free(first);
	free(flat);
	return bad;
}

static int
check_notice(const struct expect *x, const struct notice *n)
{
	const char *type = x->type, *body = strstr(n->message, "\n\n");
	size_t slen = strlen(n->subject), rlen = x->reference ? strlen(x->reference) : 0;
	int bad = 0;

	if (strncmp(n->subject, "ACTION REQUIRED: ", 17) != 0)
		bad |= failed(type, "the subject does not begin \"ACTION REQUIRED: \"");
	if (!names_service(n->subject, x->entry, type))
		bad |= failed(type, "the subject does not name the service");
	if (x->reference && (rlen == 0 || slen < rlen + 3 || n->subject[slen - rlen - 2] != '[' ||
	    strncmp(n->subject + slen - rlen - 1, x->reference, rlen) != 0))
		bad |= failed(type, "the subject does not end with the case reference");
	if (strstr(n->message, "\nMIME-Version: 1.0\n") == NULL ||
	    strstr(n->message, "\nContent-Type: text/plain; charset=utf-8\n") == NULL ||
	    strstr(n->message, "\nContent-Transfer-Encoding: 8bit\n") == NULL)
		bad |= failed(type, "the MIME headers are missing");
	if (strstr(n->message, "\nReply-To: " SUPPORT "\n") == NULL)
		bad |= failed(type, "the support address is not the Reply-To");
	if (!valid_utf8_text(n->message))
		bad |= failed(type, "not plain UTF-8 text");
	if (body == NULL)
		return failed(type, "no body");
	return bad | check_body(x, body + 2);
}

/* the_notice - R's one notice, or NULL after saying why there is none */
static const struct notice *
the_notice(const char *type, const struct pipeline_result *r)
{
	if (r == NULL || r->nreports != 1 || r->reports[0].nnotices != 1) {
		failed(type, r && r->nreports == 1 && r->reports[0].rf->error ? r->reports[0].rf->error :
		    "no notice");
		return NULL;
	}
	return &r->reports[0].notices[0];
}

TEST(clarity, every_shipped_template_and_type_follows_the_rules)
{
	struct config *cfg = site_config();
	struct prefixmap *map = sample_map();
	size_t i, ntypes;
	char **types = sample_types(cfg, &ntypes);
	int bad = 0;

	CHECK(ntypes > 170);
	for (i = 0; i < ntypes; i++) {
		struct pipeline_result *r = pipeline_notice(cfg, map, types[i]);
		const struct notice *n = the_notice(types[i], r);
		struct expect x = { types[i], catalogue_lookup(cfg->catalogue, types[i]), NULL };

		bad |= n == NULL || check_notice(&x, n);
		if (n != NULL && strstr(n->message, "first detected") != NULL)
			bad |= failed(types[i], "history wording without a history");
		pipeline_result_free(r);
	}
	CHECK(!bad);
	sample_types_free(types, ntypes);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(clarity, with_a_history_every_template_and_type_follows_the_rules)
{
	struct config *cfg = site_config();
	struct prefixmap *map = sample_map();
	size_t i, ntypes;
	char **types = sample_types(cfg, &ntypes), *dir = test_tmpdir(), err[512];
	struct buf path = BUF_INIT;
	struct state *st;
	int bad = 0;

	buf_printf(&path, "%s/clarity.db", dir);
	st = state_open(buf_cstr(&path), 2000, err, sizeof(err));
	if (st == NULL)
		fprintf(stderr, "  state_open: %s\n", err);
	REQUIRE(st != NULL);
	for (i = 0; i < ntypes; i++) {
		struct pipeline_result *r = history_notice(cfg, map, st, types[i]);
		const struct notice *n = the_notice(types[i], r);
		struct expect x = { types[i], catalogue_lookup(cfg->catalogue, types[i]), n ? n->reference : "" };

		if (n != NULL && strncmp(n->reference, "SM-20261024-", 12) != 0)
			bad |= failed(types[i], "the case was not opened on the first detection");
		bad |= n == NULL || check_notice(&x, n);
		pipeline_result_free(r);
	}
	CHECK(!bad);
	state_close(st);
	buf_free(&path);
	free(dir);
	sample_types_free(types, ntypes);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(clarity, preview_with_history_follows_the_same_rules)
{
	struct config *cfg = site_config();
	size_t i, ntypes;
	char **types = sample_types(cfg, &ntypes), err[512];
	int bad = 0;

	for (i = 0; i < ntypes; i++) {
		struct expect x = { types[i], catalogue_lookup(cfg->catalogue, types[i]),
		    "SM-" "20261024" "-" SAMPLE_CASE_NUMBER };
		struct notice n;
		char *path;

		if (sample_notice(cfg, types[i], 0, 1, &n, &path, err, sizeof(err)) != 0) {
			bad |= failed(types[i], err);
			continue;
		}
		CHECK_STR(n.reference, x.reference);
		bad |= check_notice(&x, &n);
		notice_free(&n);
		free(path);
	}
	CHECK(!bad);
	sample_types_free(types, ntypes);
	config_free(cfg);
}

/* base_name - the file name of a template path */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

TEST(clarity, preview_renders_every_template_file_like_the_pipeline)
{
	struct config *cfg = site_config();
	struct prefixmap *map = sample_map();
	size_t i, j, ntypes, nused = 0;
	char **types = sample_types(cfg, &ntypes), **used = NULL, err[512];
	struct dirent *d;
	DIR *dp;

	for (i = 0; i < ntypes; i++) {
		struct pipeline_result *r = pipeline_notice(cfg, map, types[i]);
		struct notice n;
		char *path;

		if (sample_notice(cfg, types[i], 0, 0, &n, &path, err, sizeof(err)) != 0) {
			failed(types[i], err);
			CHECK(0);
			pipeline_result_free(r);
			continue;
		}
		if (r && r->nreports == 1 && r->reports[0].nnotices == 1)
			CHECK_STR(n.subject, r->reports[0].notices[0].subject);
		used = xreallocarray(used, nused + 1, sizeof(char *));
		used[nused++] = path;
		notice_free(&n);
		pipeline_result_free(r);
	}
	REQUIRE((dp = opendir(template_shipped_dir())) != NULL);
	while ((d = readdir(dp)) != NULL) {
		int seen = 0;

		if (strlen(d->d_name) < 6 || strcmp(d->d_name + strlen(d->d_name) - 5, ".tmpl") != 0)
			continue;
		for (j = 0; j < nused && !seen; j++)
			seen = strcmp(base_name(used[j]), d->d_name) == 0;
		if (!seen)
			failed(d->d_name, "not rendered by preview --all");
		CHECK(seen);
	}
	closedir(dp);
	for (j = 0; j < nused; j++)
		free(used[j]);
	free(used);
	sample_types_free(types, ntypes);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(clarity, common_exposed_services_and_their_ipv6_twins_are_tailored)
{
	struct config *cfg = site_config();
	char err[512], twin[64];
	size_t i;

	for (i = 0; i < sizeof(tailored) / sizeof(tailored[0]); i++) {
		const char *types[2] = { tailored[i], twin };
		int k;

		snprintf(twin, sizeof(twin), "scan6_%s", tailored[i] + 5);
		for (k = 0; k < 2; k++) {
			struct template *t;
			char want[80];

			if (k == 1 && catalogue_lookup(cfg->catalogue, twin) == NULL)
				continue;	/* ShadowServer has no IPv6 report of this one */
			REQUIRE(catalogue_lookup(cfg->catalogue, types[k]) != NULL);
			t = notice_template_find(cfg, types[k], err, sizeof(err));
			REQUIRE(t != NULL);
			snprintf(want, sizeof(want), "%s.tmpl", tailored[i]);
			if (strcmp(base_name(template_path(t)), want) != 0)
				fprintf(stderr, "  %s uses %s\n", types[k], template_path(t));
			CHECK_STR(base_name(template_path(t)), want);
			template_free(t);
		}
	}
	config_free(cfg);
}
