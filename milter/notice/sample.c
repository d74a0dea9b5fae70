/*
 * sample - made-up findings for previews and tests
 *
 * See sample.h. The sample CSV goes through the same csvreport and findings
 * code as a real report, and the notice through the same template choice and
 * notice_build as the pipeline's.
 */
#include "notice/sample.h"
#include "report/catalogue.h"
#include "config/config.h"
#include "report/csvreport.h"
#include "report/findings.h"
#include "base/ipaddr.h"
#include "notice/notice.h"
#include "customers/prefixmap.h"
#include "notice/digest.h"
#include "store/digestparts.h"
#include "store/state.h"
#include "notice/template.h"
#include "base/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_DATE "2026-11-24"
#define SAMPLE_DAY 86400

static const char *const sample_rows[][3] = {	/* timestamp, ip, hostname */
	{ SAMPLE_DATE " 08:52:55", "192.0.2.10", "server1.example.com" },
	{ SAMPLE_DATE " 08:53:01", "192.0.2.200", "" },
	{ SAMPLE_DATE " 10:20:30", "2001:db8::25", "server3.example.com" },
};

/* values for the evidence columns event reports carry; others get "example" */
static const char *const sample_values[][2] = {
	{ "infection", "example-bot" }, { "family", "examplebot" }, { "dst_ip", "198.51.100.7" },
	{ "dst_port", "443" }, { "http_url", "/gate.php" }, { "http_host", "c2.example.net" },
	{ "http_referer", "http://www.example.org/" }, { "url", "http://www.example.org/x.exe" },
	{ "application", "ssh" }, { "query", "c2.example.net" }, { "attack", "udp-flood" },
	{ "port", "443" }, { "md5", "d41d8cd98f00b204e9800998ecf8427e" }, { "detail", "example detail" },
};

struct prefixmap *
sample_map(void)
{
	static const char *const prefixes[] = { "192.0.2.0/24", "2001:db8::/32" };
	struct prefixmap *map = prefixmap_new();
	struct ipaddr addr;
	unsigned plen;
	char err[256];
	size_t i;

	for (i = 0; i < 2; i++)
		if (ipaddr_parse_prefix(prefixes[i], &addr, &plen) != 0 ||
		    prefixmap_add(map, &addr, plen, SAMPLE_ACCOUNT, SAMPLE_EMAIL, err, sizeof(err)) != 0)
			abort();	/* constant data */
	return map;
}

char *
sample_file_name(const char *type)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s-%s-sample.csv", SAMPLE_DATE, type);
	return buf_steal(&b);
}

static const char *
sample_value(const char *column)
{
	size_t i;

	for (i = 0; i < sizeof(sample_values) / sizeof(sample_values[0]); i++)
		if (strcmp(sample_values[i][0], column) == 0)
			return sample_values[i][1];
	return "example";
}

/*
 * The host and port columns a real report of the type has (ShadowServer's
 * schema), so a sample goes through the same hostcols rule as the real one:
 * an event report names the host that connected (src_ip, src_port: a
 * connection, not a service), a DDoS-target report the destination, a
 * referer report the referring host; a scan names ip and port.
 */
static const struct sample_shape {
	const char *prefix, *suffix;	/* the type starts / ends so (NULL: any) */
	const char *host, *port;
} sample_shapes[] = {
	{ NULL, "_ddos_target", "dst_ip", "dst_port" },
	{ NULL, "_http_referer", "http_referer_ip", "http_referer_port" },
	{ "event", NULL, "src_ip", "src_port" },
	{ NULL, NULL, "ip", "port" },
};

static int
affix_matches(const char *type, const char *prefix, const char *suffix)
{
	size_t n = strlen(type);

	if (prefix && strncmp(type, prefix, strlen(prefix)) != 0)
		return 0;
	return suffix == NULL || (n >= strlen(suffix) && strcmp(type + n - strlen(suffix), suffix) == 0);
}

/* sample_shape - the columns of TYPE's reports; an alias (looked up as the
 * entry of the type it names) has that type's */
static const struct sample_shape *
sample_shape(const struct catalogue_entry *e, const char *type)
{
	size_t i;

	if (e != NULL)
		type = *e->alias_of ? e->alias_of : e->type;
	for (i = 0; i < sizeof(sample_shapes) / sizeof(sample_shapes[0]) - 1; i++)
		if (affix_matches(type, sample_shapes[i].prefix, sample_shapes[i].suffix))
			break;
	return &sample_shapes[i];
}

/* is_fixed_column - one of the columns every sample row has */
static int
is_fixed_column(const struct sample_shape *shape, const char *name)
{
	static const char *const fixed[] = { "timestamp", "protocol", "hostname", "tag" };
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(fixed[i], name) == 0)
			return 1;
	return strcmp(shape->host, name) == 0 || strcmp(shape->port, name) == 0;
}

char *
sample_csv(const struct config *cfg, const char *type)
{
	const struct catalogue_entry *e = catalogue_lookup(cfg->catalogue, type);
	const struct sample_shape *shape = sample_shape(e, type);
	struct buf b = BUF_INIT;
	char proto[16] = "";
	size_t i, j;

	for (i = 0; e && e->protocol[i] && e->protocol[i] != '/' && i + 1 < sizeof(proto); i++)
		proto[i] = (char)(e->protocol[i] >= 'A' && e->protocol[i] <= 'Z' ? e->protocol[i] + 32 : e->protocol[i]);
	proto[i] = '\0';
	buf_printf(&b, "\"timestamp\",\"%s\",\"%s\",\"protocol\",\"hostname\",\"tag\"", shape->host,
	    shape->port);
	for (j = 0; e && j < e->nevidence; j++)
		if (!is_fixed_column(shape, e->evidence[j]))
			buf_printf(&b, ",\"%s\"", e->evidence[j]);
	buf_puts(&b, "\r\n");
	for (i = 0; i < sizeof(sample_rows) / sizeof(sample_rows[0]); i++) {
		char port[16];

		/* an event's port is the one the host connected from: an ephemeral one */
		if (strcmp(shape->port, "src_port") == 0)
			snprintf(port, sizeof(port), "%zu", 51514 + i);
		else
			snprintf(port, sizeof(port), "%s", e ? e->port : "");
		buf_printf(&b, "\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"sample\"", sample_rows[i][0], sample_rows[i][1],
		    port, proto, sample_rows[i][2]);
		for (j = 0; e && j < e->nevidence; j++)
			if (!is_fixed_column(shape, e->evidence[j]))
				buf_printf(&b, ",\"%s\"", sample_value(e->evidence[j]));
		buf_puts(&b, "\r\n");
	}
	return buf_steal(&b);
}

/* --- rendering ----------------------------------------------------------- */

struct reader {
	struct report_file *rf;
	const struct prefixmap *map;
};

static int
on_row(void *ctx, const struct csvreport_row *row)
{
	struct reader *r = ctx;

	return report_file_add_row(r->rf, r->map, row) < 0;
}

/* sample_report - TYPE's sample CSV read into a closed report file */
static struct report_file *
sample_report(const struct config *cfg, const struct prefixmap *map, const char *type, char *err,
    size_t errlen)
{
	char *name = sample_file_name(type), *csv = sample_csv(cfg, type);
	struct reader r = { report_file_new(name, type, SAMPLE_DATE, ""), map };
	struct csvreport *reader = csvreport_new(on_row, &r);

	report_file_set_entry(r.rf, catalogue_lookup(cfg->catalogue, type));

	if (csvreport_feed(reader, csv, strlen(csv), err, errlen) != 0 ||
	    csvreport_finish(reader, err, errlen) != 0 || r.rf->error) {
		if (r.rf->error)
			err_set(err, errlen, "%s", r.rf->error);
		report_file_free(r.rf);
		r.rf = NULL;
	} else
		report_file_close(r.rf);
	csvreport_free(reader);
	free(csv);
	free(name);
	return r.rf;
}

/*
 * sample_history - a history for G's findings as state_apply would give it:
 * the first overdue (first detected GraceDays + 14 days before), the second
 * first detected a week before, the rest new; REF gets the case reference
 */
static struct state_finding *
sample_history(const struct config *cfg, const struct notice_group *g, char *ref, size_t reflen)
{
	static const unsigned days_before[] = { 14, 7 };	/* after GraceDays for the first */
	struct state_finding *h = xcalloc(g->nfindings, sizeof(*h));
	time_t opened = 0;
	struct tm tm;
	size_t i;

	for (i = 0; i < g->nfindings; i++) {
		time_t detected = g->findings[i]->detected;
		unsigned before = i == 0 ? cfg->grace_days + days_before[0] : i == 1 ? days_before[1] : 0;

		h[i].first_seen = detected - (time_t)before * SAMPLE_DAY;
		h[i].deadline = h[i].first_seen + (time_t)cfg->grace_days * SAMPLE_DAY;
		h[i].overdue = detected >= h[i].deadline;
		h[i].is_new = before == 0;
		h[i].times_reported = before + 1;	/* a report a day */
		if (i == 0 || h[i].first_seen < opened)
			opened = h[i].first_seen;
	}
	gmtime_r(&opened, &tm);
	snprintf(ref, reflen, "SM-%04d%02d%02d-%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    SAMPLE_CASE_NUMBER);
	return h;
}

/* forget_findings - the sample report and map go: N keeps only its message */
static void
forget_findings(struct notice *n)
{
	free(n->findings);
	n->findings = NULL;
	n->nfindings = 0;
	n->customer = NULL;
	n->case_ref = NULL;
}

int
sample_notice_from(const struct template_set *set, const struct config *cfg, const char *type, time_t now,
    int history, struct notice *out, char **path, char *err, size_t errlen)
{
	return sample_notice_lang(set, cfg, type, NULL, now, history, out, path, err, errlen);
}

/* sample_template - TYPE's template in LANG for a notice of KIND */
static const struct template *
sample_template(const struct template_set *set, const struct config *cfg, const char *type, const char *lang,
    enum notice_kind kind, char *err, size_t errlen)
{
	if (kind == NOTICE_RESOLUTION)
		return notice_resolved_template_find_lang(set, type, lang, err, errlen);
	return notice_template_find_lang(set, cfg, type, lang, err, errlen);
}

/* sample_build - TYPE's notice of KIND in LANG from the sample findings (a
 * resolution always with the history: it names the first detections) */
static int
sample_build(const struct template_set *set, const struct config *cfg, const char *type, const char *lang,
    time_t now, int history, enum notice_kind kind, struct notice *out, char **path, struct digest_part *part,
    char *err, size_t errlen)
{
	struct prefixmap *map = sample_map();
	struct report_file *rf = sample_report(cfg, map, type, err, errlen);
	const struct template *t;
	struct state_finding *h = NULL;
	char ref[STATE_REF_MAX];
	int rc = -1;

	*path = NULL;
	memset(out, 0, sizeof(*out));
	if (rf != NULL && rf->ngroups != 1)
		err_set(err, errlen, "%s: the sample findings did not reach %s", type, SAMPLE_ACCOUNT);
	else if (rf != NULL && (t = sample_template(set, cfg, type, lang, kind, err, errlen)) != NULL) {
		struct notice_input in = { cfg, rf, "<sample@shadowmilter.invalid>", now,
		    catalogue_lookup(cfg->catalogue, type), kind };
		size_t i;

		notice_init(out, &rf->groups[0], NULL);
		if (history || kind == NOTICE_RESOLUTION) {
			h = sample_history(cfg, &rf->groups[0], ref, sizeof(ref));
			for (i = 0; i < out->nfindings; i++)
				out->findings[i].h = &h[i];
			out->case_ref = ref;
		}
		rc = notice_build(&in, t, out, err, errlen);
		if (rc == 0 && part != NULL)
			rc = digest_part_make(&in, out, lang, part, err, errlen);
		if (rc == 0)
			*path = xstrdup(template_path(t));
		forget_findings(out);
		if (rc != 0)
			notice_free(out);
	}
	free(h);
	report_file_free(rf);
	prefixmap_free(map);
	return rc;
}

int
sample_notice_lang(const struct template_set *set, const struct config *cfg, const char *type, const char *lang,
    time_t now, int history, struct notice *out, char **path, char *err, size_t errlen)
{
	return sample_build(set, cfg, type, lang, now, history, NOTICE_FINDINGS, out, path, NULL, err, errlen);
}

int
sample_digest_part(const struct template_set *set, const struct config *cfg, const char *type, const char *lang,
    time_t now, int history, struct digest_part *p, char *err, size_t errlen)
{
	struct notice n;
	char *path = NULL;
	int rc = sample_build(set, cfg, type, lang, now, history, NOTICE_FINDINGS, &n, &path, p, err, errlen);

	if (rc == 0)
		notice_free(&n);
	free(path);
	return rc;
}

int
sample_resolution_lang(const struct template_set *set, const struct config *cfg, const char *type,
    const char *lang, time_t now, struct notice *out, char **path, char *err, size_t errlen)
{
	return sample_build(set, cfg, type, lang, now, 1, NOTICE_RESOLUTION, out, path, NULL, err, errlen);
}

int
sample_notice(const struct config *cfg, const char *type, time_t now, int history, struct notice *out,
    char **path, char *err, size_t errlen)
{
	struct template_set *set = notice_templates_load(cfg, err, errlen);
	int rc;

	*path = NULL;
	if (set == NULL)
		return -1;
	rc = sample_notice_from(set, cfg, type, now, history, out, path, err, errlen);
	template_set_free(set);
	return rc;
}

/* --- what --all shows ---------------------------------------------------- */

static void
add_type(char ***types, size_t *n, const char *type)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*types)[i], type) == 0)
			return;
	*types = xreallocarray(*types, *n + 1, sizeof(char *));
	(*types)[(*n)++] = xstrdup(type);
}

/* add_template_files - TYPE for each TYPE.tmpl in DIR but the generic ones */
static void
add_template_files(char ***types, size_t *n, const char *dir)
{
	struct dirent *d;
	DIR *dp;

	if (dir == NULL || *dir == '\0' || (dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);
		char *type;

		if (len <= 5 || strcmp(d->d_name + len - 5, ".tmpl") != 0)
			continue;
		type = xstrndup(d->d_name, len - 5);
		if (strcmp(type, "generic") != 0 && strcmp(type, "generic_event") != 0)
			add_type(types, n, type);
		free(type);
	}
	closedir(dp);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
sample_types(const struct config *cfg, size_t *n)
{
	char **types = NULL;
	size_t i;

	*n = 0;
	for (i = 0; i < catalogue_count(cfg->catalogue); i++)
		add_type(&types, n, catalogue_at(cfg->catalogue, i)->type);
	add_template_files(&types, n, cfg->template_dir);
	add_template_files(&types, n, template_shipped_dir());
	add_type(&types, n, SAMPLE_UNKNOWN_TYPE);
	qsort(types, *n, sizeof(char *), by_name);
	return types;
}

void
sample_types_free(char **types, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(types[i]);
	free(types);
}
