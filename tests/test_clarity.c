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
 * Severity decides the wording (issue 12). Critical, high and medium types
 * (and types nobody rated) get the rules above, and a first screen: the
 * first 25 lines of the body hold what to do, the deadline date and the
 * affected hosts as address:port/proto, at most 5 of them, then "and N more,
 * listed below" (the full list stays at the end). Low and info types get an
 * informational notice: the subject begins "Security notice: " and names the
 * service, and nowhere does it say ACTION REQUIRED, threaten suspension,
 * name a deadline or say OVERDUE; the first paragraph still names the
 * service, and the list still holds every finding (with a history, "first
 * detected" too). Every template is rendered both ways: with the shipped
 * severities, and with site catalogues that rate every type info, then
 * every type critical.
 *
 * The types are those "shadowmilter preview --all" shows (sample_types):
 * every catalogue type, every template file, and one unknown type.
 */
#include "test.h"
#include "testmail.h"
#include "testrig.h"

#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "notice/sample.h"
#include "store/state.h"
#include "store/store.h"
#include "notice/template.h"
#include "base/util.h"

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
#define FRESH_DEADLINE "11 December 2026"	/* no history: the sample report's 2026-11-24 + 17 */
#define FIRST_SCREEN_LINES 25
#define FIRST_SCREEN_HOSTS 5

static const char *const sample_ips[] = { "192.0.2.10", "192.0.2.200", "2001:db8::25" };
static const char *const sample_first[] = { OVERDUE_FIRST, OTHER_FIRST, "2026-11-24" };

struct expect {			/* what a notice of the sample report must say */
	const char *type;
	const struct catalogue_entry *entry;
	const char *reference;	/* NULL: rendered without a history */
	size_t nfindings;	/* the sample's 3, or more (the first screen's "and N more") */
};

/* needs_action - the rule, stated apart from the code under test:
 * ShadowServer's info and low ratings are informational, everything else
 * (critical, high, medium, a type nobody rated) needs action */
static int
needs_action(const struct expect *x)
{
	const char *sev = x->entry ? x->entry->severity : "";

	return strcmp(sev, "info") != 0 && strcmp(sev, "low") != 0;
}

static const char *const tailored[] = {
	"scan_portmapper", "scan_ntp", "scan_ntpmonitor", "scan_ssdp", "scan_snmp", "scan_mdns",
	"scan_memcached", "scan_chargen", "scan_qotd", "scan_netbios", "scan_ldap_udp", "scan_tftp",
	"scan_dns", "scan_ipmi", "scan_redis", "scan_elasticsearch", "scan_mongodb", "scan_mssql",
	"scan_rdp", "scan_smb", "scan_nat_pmp", "scan_xdmcp", "scan_rsync", "scan_ubiquiti",
	"scan_ssh", "scan_ftp", "scan_http", "scan_imap",
};

/* site_config_with - the site's wording, and CATALOGUE (a site Catalogue file) when not NULL */
static struct config *
site_config_with(const char *catalogue)
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
	if (catalogue && config_set(cfg, "Catalogue", catalogue, err, sizeof(err)) != 0)
		abort();
	if (config_load_catalogue(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s\n", err);
		abort();
	}
	return cfg;
}

static struct config *
site_config(void)
{
	return site_config_with(NULL);
}

/* rated_catalogue - a site Catalogue in DIR rating every shipped type
 * SEVERITY, so every template renders that wording (caller frees) */
static char *
rated_catalogue(const char *dir, const char *severity)
{
	struct config *cfg = site_config();
	struct buf path = BUF_INIT, csv = BUF_INIT;
	size_t i, j;

	buf_puts(&csv, "type,title,severity,kind,service,port,protocol,info_url,evidence_columns,template\n");
	for (i = 0; i < catalogue_count(cfg->catalogue); i++) {
		const struct catalogue_entry *e = catalogue_at(cfg->catalogue, i);

		if (*e->alias_of)
			continue;
		buf_printf(&csv, "%s,\"%s\",%s,%s,\"%s\",%s,%s,%s,", e->type, e->title, severity,
		    e->kind == CATALOGUE_EVENT ? "event" : "exposed", e->service, e->port, e->protocol, e->info_url);
		for (j = 0; j < e->nevidence; j++)
			buf_printf(&csv, "%s%s", j ? ";" : "", e->evidence[j]);
		buf_printf(&csv, ",%s\n", e->template);
	}
	buf_printf(&path, "%s/all-%s.csv", dir, severity);
	test_write_file(path.data, csv.data);
	buf_free(&csv);
	config_free(cfg);
	return buf_steal(&path);
}

static int
failed(const char *type, const char *rule)
{
	fprintf(stderr, "  %s: %s\n", type, rule);
	return 1;
}

/* the findings a wider report adds: they sort between 192.0.2.10 and 192.0.2.200 */
static const char *const extra_ips[] = { "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14" };
#define NEXTRA (sizeof(extra_ips) / sizeof(extra_ips[0]))

/* report_csv - TYPE's sample CSV, with the NEXTRA extra findings when WIDE
 * (copies of the first row at other addresses); caller frees */
static char *
report_csv(const struct config *cfg, const char *type, int wide)
{
	char *csv = sample_csv(cfg, type), *row, *end;
	struct buf b = BUF_INIT;
	size_t i;

	buf_puts(&b, csv);
	row = strchr(csv, '\n') + 1;
	end = strchr(row, '\n') + 1;
	for (i = 0; wide && i < NEXTRA; i++) {
		char *line = xstrndup(row, (size_t)(end - row)), *at = strstr(line, "\"192.0.2.10\"");

		buf_append(&b, line, (size_t)(at - line));
		buf_printf(&b, "\"%s\"%s", extra_ips[i], at + 12);
		free(line);
	}
	free(csv);
	return buf_steal(&b);
}

/* pipeline_notice - TYPE's sample report (WIDE: with the extra findings) mailed through the pipeline */
static struct pipeline_result *
pipeline_notice(const struct config *cfg, const struct prefixmap *map, const char *type, int wide)
{
	char *name = sample_file_name(type), *csv = report_csv(cfg, type, wide), *msg;
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

/* earlier_csv - CSV as the report of DATE, with only its first N findings
 * (caller frees) */
static char *
earlier_csv(const char *full, const char *date, size_t n)
{
	char *csv = xstrdup(full), *line, *save = NULL;
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
history_run(const struct config *cfg, const struct prefixmap *map, struct store *st, const char *type,
    const char *date, const char *csv)
{
	struct buf name = BUF_INIT, subject = BUF_INIT;
	struct pipeline_result *r;
	char err[512], *msg;

	buf_printf(&name, "%s-%s-sample.csv", date, type);
	buf_printf(&subject, "[Example] Shadowserver Example Report: %s", date);
	{
		struct testmail tm = { TRUSTED_AUTHRES, NULL, subject.data, name.data, csv, NULL, NULL };

		msg = testmail_build(&tm);
	}
	buf_reset(&name);
	buf_printf(&name, "%s 12:00:00", date);
	if ((r = test_run_store(cfg, map, st, NULL, msg, test_time(buf_cstr(&name)), err, sizeof(err))) == NULL)
		failed(type, err);
	free(msg);
	buf_free(&name);
	buf_free(&subject);
	return r;
}

/* history_notice - TYPE's sample report (WIDE: with the extra findings)
 * after two earlier ones: 192.0.2.10 reported since OVERDUE_FIRST,
 * 192.0.2.200 since OTHER_FIRST */
static struct pipeline_result *
history_notice(const struct config *cfg, const struct prefixmap *map, struct store *st, const char *type,
    int wide)
{
	static const char *const dates[] = { OVERDUE_FIRST, OTHER_FIRST, "2026-11-24" };
	static const size_t rows[] = { 1, 2, 3 + NEXTRA };
	struct pipeline_result *r = NULL;
	char *full = report_csv(cfg, type, wide);
	size_t i;

	for (i = 0; i < 3; i++) {
		char *csv = earlier_csv(full, dates[i], rows[i]);

		pipeline_result_free(r);
		r = history_run(cfg, map, st, type, dates[i], csv);
		free(csv);
		if (r == NULL)
			break;
	}
	free(full);
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


/* finding_line - LINE (LEN long) lists a sample finding: it starts with its
 * endpoint (192.0.2.x, the sample's and the wider report's, or 2001:db8::,
 * bracketed when a port follows) */
static int
finding_line(const char *line, size_t len)
{
	if (len > 1 && line[0] == '[') {
		line++;
		len--;
	}
	return (len > 8 && strncmp(line, "192.0.2.", 8) == 0) || (len > 10 && strncmp(line, "2001:db8::", 10) == 0);
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
 * before the list, "(first detected" on each finding line, the reference;
 * an informational notice keeps the dates and the reference but has no
 * deadline, so nothing in it is overdue */
static int
check_history(const struct expect *x, const char *dear, const char *flat, const char *list)
{
	const char *overdue = strstr(flat, "OVERDUE: "), *deadline = strstr(flat, DEADLINE);
	const char *account = strstr(dear, "\n\"example-account\":\n");
	int bad = 0, action = needs_action(x);
	size_t i;

	if (action && strncmp(dear, "Dear customer,\n\nOVERDUE: ", 25) != 0)
		bad |= failed(x->type, "the OVERDUE paragraph does not open the notice");
	if (action && (deadline == NULL || (list && deadline > list)))
		bad |= failed(x->type, "the deadline date does not come before the list intro");
	if (action && (overdue == NULL || (deadline && overdue > deadline)))
		bad |= failed(x->type, "the OVERDUE paragraph does not come before the consequence paragraph");
	if (action && (strstr(flat, "17 days") == NULL || (list && strstr(flat, "17 days") > list)))
		bad |= failed(x->type, "the grace days do not come before the list intro");
	if (strstr(dear, x->reference) == NULL)
		bad |= failed(x->type, "the case reference is missing");
	/* one finding is overdue in the samples: the paragraph says so in the singular */
	if (action && overdue && (strncmp(overdue, "OVERDUE: 1 of the ", 18) != 0 ||
	    strstr(overdue, " below was first detected ") == NULL))
		bad |= failed(x->type, "the OVERDUE paragraph does not agree with one overdue finding");
	for (i = 0; account && i < sizeof(sample_ips) / sizeof(sample_ips[0]); i++) {
		char want[64];
		size_t len = 0;
		const char *line = list_line(account, i, &len);

		snprintf(want, sizeof(want), "(first detected %s%s", sample_first[i],
		    i == 0 && action ? ", OVERDUE)" : ")");
		if (line == NULL || memmem(line, len, want, strlen(want)) == NULL)
			bad |= failed(x->type, "a finding line does not say when it was first detected");
		else if ((i > 0 || !action) && memmem(line, len, "OVERDUE", 7) != NULL)
			bad |= failed(x->type, "a finding within its deadline (or without one) is marked OVERDUE");
	}
	return bad;
}

/* is_connection_report - ShadowServer's event reports (event4_*, event6_*)
 * name the host that connected and the port it came from (src_ip, src_port);
 * their referer and DDoS-target variants name another host, without one */
static int
is_connection_report(const struct catalogue_entry *e)
{
	const char *t = e && *e->alias_of ? e->alias_of : e ? e->type : "";
	size_t n = strlen(t);

	return strncmp(t, "event", 5) == 0 && !(n > 13 && strcmp(t + n - 13, "_http_referer") == 0) &&
	    !(n > 12 && strcmp(t + n - 12, "_ddos_target") == 0);
}

/* endpoint_proto - sample finding IP as the first screen lists it (the
 * catalogue's port and protocol; the address alone without a port; a
 * connection with the port it came from: the sample's rows came from ports
 * 51514, 51515 and 51516, the extra findings copy the first row) */
static void
endpoint_proto(const struct expect *x, const char *ip, char *out, size_t outlen)
{
	const struct catalogue_entry *e = x->entry;
	char proto[16];
	size_t i;

	for (i = 0; e && e->protocol[i] && i + 1 < sizeof(proto); i++)
		proto[i] = (char)tolower((unsigned char)e->protocol[i]);
	proto[i] = '\0';
	if (is_connection_report(e)) {
		for (i = 0; i < 3 && strcmp(sample_ips[i], ip) != 0; i++)
			;
		snprintf(out, outlen, "%s (from port %zu)", ip, 51514 + (i < 3 ? i : 0));
	} else if (e == NULL || *e->port == '\0')
		snprintf(out, outlen, "%s", ip);
	else if (strchr(ip, ':'))
		snprintf(out, outlen, "[%s]:%s%s%s", ip, e->port, *proto ? "/" : "", proto);
	else
		snprintf(out, outlen, "%s:%s%s%s", ip, e->port, *proto ? "/" : "", proto);
}

/* first_screen - the first FIRST_SCREEN_LINES lines of BODY (caller frees) */
static char *
first_screen(const char *body)
{
	const char *p = body;
	int n;

	for (n = 0; n < FIRST_SCREEN_LINES && *p; n++)
		p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
	return xstrndup(body, (size_t)(p - body));
}

/* check_first_screen - the action, the deadline date and the first hosts
 * (up to 5, then "and N more, listed below") in the first 25 lines */
static int
check_first_screen(const struct expect *x, const char *body)
{
	const char *all_ips[3 + NEXTRA] = { "192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14",
	    "192.0.2.200", "2001:db8::25" };
	const char *small_ips[3] = { "192.0.2.10", "192.0.2.200", "2001:db8::25" };
	const char **ips = x->nfindings > 3 ? all_ips : small_ips;
	char *top = first_screen(body), *flat = squeeze(top), want[96];
	size_t i, shown = x->nfindings < FIRST_SCREEN_HOSTS ? x->nfindings : FIRST_SCREEN_HOSTS;
	int bad = 0;

	if (strstr(flat, x->reference ? DEADLINE : FRESH_DEADLINE) == NULL)
		bad |= failed(x->type, "the first screen does not name the deadline date");
	if (strstr(top, "Please ") == NULL)
		bad |= failed(x->type, "the first screen does not say what to do");
	for (i = 0; i < x->nfindings; i++) {
		char line[120];

		endpoint_proto(x, ips[i], want, sizeof(want));
		snprintf(line, sizeof(line), "\n    %s\n", want);
		if (i < shown && strstr(top, line) == NULL)
			bad |= failed(x->type, "the first screen does not list an affected host as address:port/proto");
		if (i >= shown && strstr(top, line) != NULL)
			bad |= failed(x->type, "the first screen lists more than 5 hosts");
	}
	snprintf(want, sizeof(want), "\n    and %zu more, listed below\n", x->nfindings - shown);
	if (x->nfindings > shown && strstr(top, want) == NULL)
		bad |= failed(x->type, "the first screen does not say how many more hosts are listed below");
	if (x->nfindings <= shown && strstr(top, " more, listed below") != NULL)
		bad |= failed(x->type, "the first screen promises more hosts than there are");
	free(flat);
	free(top);
	return bad;
}

/* check_informational - no ACTION REQUIRED, no threat, no deadline */
static int
check_informational(const struct expect *x, const char *body)
{
	int bad = 0;

	if (contains_ci(body, "action required"))
		bad |= failed(x->type, "an informational notice says ACTION REQUIRED");
	if (contains_ci(body, "suspend"))
		bad |= failed(x->type, "an informational notice threatens suspension");
	if (strstr(body, DEADLINE) || strstr(body, FRESH_DEADLINE) || strstr(body, "OVERDUE"))
		bad |= failed(x->type, "an informational notice names a deadline");
	if (strstr(body, LIST_EXPOSED) || strstr(body, LIST_EVENT))
		bad |= failed(x->type, "an informational notice says the findings must be fixed");
	if (strstr(body, " more, listed below"))
		bad |= failed(x->type, "an informational notice has the first screen's host list");
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
	const char *account = strstr(body, "\n\"example-account\":\n");
	int bad = 0, action = needs_action(x);
	size_t i;

	if (dear == NULL || (first = first_paragraph(dear, x->reference != NULL && action)) == NULL) {
		free(flat);
		return failed(type, "no \"Dear customer,\" and first paragraph");
	}
	if (!names_service(first, e, type))
		bad |= failed(type, "the first paragraph does not name the service");
	if (strcmp(type, "scan_portmapper") != 0 && strstr(first, "Please ") == NULL &&
	    strstr(first, " must ") == NULL)
		bad |= failed(type, "the first paragraph does not say what must be done");
	if (action && list == NULL)
		bad |= failed(type, "the list intro sentence is missing");
	if (x->reference != NULL)
		bad |= check_history(x, dear, flat, list);
	else if (action && (grace == NULL || (list && grace > list)))
		bad |= failed(type, "the grace days do not come before the list intro");
	if (action && (strstr(flat, POLICY) == NULL || (list && strstr(flat, POLICY) > list)))
		bad |= failed(type, "the policy URL does not come before the list intro");
	if (action)
		bad |= check_first_screen(x, dear);
	else
		bad |= check_informational(x, body);
	if (account == NULL)
		bad |= failed(type, "the account name is missing");
	for (i = 0; account && i < sizeof(sample_ips) / sizeof(sample_ips[0]); i++)
		if (strstr(account, sample_ips[i]) == NULL)
			bad |= failed(type, "a finding is missing from the list");
	for (i = 0; account && x->nfindings > 3 && i < NEXTRA; i++)
		if (strstr(account, extra_ips[i]) == NULL)
			bad |= failed(type, "a finding beyond the first screen is missing from the list");
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

	if (needs_action(x) && strncmp(n->subject, "ACTION REQUIRED: ", 17) != 0)
		bad |= failed(type, "the subject does not begin \"ACTION REQUIRED: \"");
	if (!needs_action(x) && (strncmp(n->subject, "Security notice: ", 17) != 0 ||
	    contains_ci(n->subject, "action required")))
		bad |= failed(type, "an informational subject does not begin \"Security notice: \"");
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
	if (r == NULL || r->nreports != 1 || r->reports[0].nmade != 1) {
		failed(type, r && r->nreports == 1 && r->reports[0].rf->error ? r->reports[0].rf->error :
		    "no notice");
		return NULL;
	}
	return &r->reports[0].notices[0];
}

/* check_all_types - every type's notice through the pipeline: the sample
 * report (WIDE: with the extra findings), with the StateDB history when
 * HISTORY; counts the action and informational notices checked */
static int
check_all_types(const struct config *cfg, int history, int wide, size_t *naction, size_t *ninfo)
{
	struct prefixmap *map = sample_map();
	size_t i, ntypes;
	char **types = sample_types(cfg, &ntypes), *dir = NULL, err[512];
	struct buf path = BUF_INIT;
	struct store *st = NULL;
	int bad = 0;

	if (history) {
		dir = test_tmpdir();
		buf_printf(&path, "%s/clarity.db", dir);
		if ((st = store_open(buf_cstr(&path), NULL, 2000, err, sizeof(err))) == NULL)
			bad |= failed("store_open", err);
	}
	for (i = 0; i < ntypes && !(history && st == NULL); i++) {
		struct pipeline_result *r = history ? history_notice(cfg, map, st, types[i], wide) :
		    pipeline_notice(cfg, map, types[i], wide);
		const struct notice *n = the_notice(types[i], r);
		struct expect x = { types[i], catalogue_lookup(cfg->catalogue, types[i]), NULL, wide ? 3 + NEXTRA : 3 };

		if (history)
			x.reference = n ? n->reference : "";
		if (history && n != NULL && strncmp(n->reference, "SM-20261024-", 12) != 0)
			bad |= failed(types[i], "the case was not opened on the first detection");
		bad |= n == NULL || check_notice(&x, n);
		if (!history && n != NULL && strstr(n->message, "first detected") != NULL)
			bad |= failed(types[i], "history wording without a history");
		*(needs_action(&x) ? naction : ninfo) += 1;
		pipeline_result_free(r);
	}
	store_close(st);
	buf_free(&path);
	free(dir);
	sample_types_free(types, ntypes);
	prefixmap_free(map);
	return bad;
}

TEST(clarity, every_shipped_template_and_type_follows_the_rules)
{
	struct config *cfg = site_config();
	size_t naction = 0, ninfo = 0;

	CHECK(!check_all_types(cfg, 0, 0, &naction, &ninfo));
	CHECK(naction + ninfo > 170);
	/* both kinds were checked: SSH is info, portmapper medium, sinkholes critical */
	CHECK(ninfo >= 30);
	CHECK(naction >= 120);
	config_free(cfg);
}

TEST(clarity, with_a_history_every_template_and_type_follows_the_rules)
{
	struct config *cfg = site_config();
	size_t naction = 0, ninfo = 0;

	CHECK(!check_all_types(cfg, 1, 0, &naction, &ninfo));
	CHECK(ninfo >= 30 && naction >= 120);
	config_free(cfg);
}

TEST(clarity, the_first_screen_lists_five_hosts_then_how_many_more)
{
	struct config *cfg = site_config();
	size_t naction = 0, ninfo = 0;

	/* 7 findings: 5 up top, "and 2 more, listed below"; with a history the
	 * OVERDUE paragraph makes the first screen longest */
	CHECK(!check_all_types(cfg, 0, 1, &naction, &ninfo));
	CHECK(!check_all_types(cfg, 1, 1, &naction, &ninfo));
	CHECK(naction >= 240);
	config_free(cfg);
}

TEST(clarity, every_template_rated_info_is_informational)
{
	char *dir = test_tmpdir(), *catalogue = rated_catalogue(dir, "info");
	struct config *cfg = site_config_with(catalogue);
	size_t naction = 0, ninfo = 0;

	/* a site that rates a tailored type info gets its advice without the threat */
	CHECK_STR(catalogue_lookup(cfg->catalogue, "scan_portmapper")->severity, "info");
	CHECK(!check_all_types(cfg, 0, 1, &naction, &ninfo));
	CHECK(!check_all_types(cfg, 1, 0, &naction, &ninfo));
	CHECK(naction == 2);	/* only example_unknown_type, twice: nobody rated it */
	CHECK(ninfo > 340);
	config_free(cfg);
	free(catalogue);
	free(dir);
}

TEST(clarity, every_template_rated_critical_needs_action)
{
	char *dir = test_tmpdir(), *catalogue = rated_catalogue(dir, "critical");
	struct config *cfg = site_config_with(catalogue);
	size_t naction = 0, ninfo = 0;

	/* a site that rates SSH critical gets the ACTION REQUIRED wording of scan_ssh.tmpl */
	CHECK_STR(catalogue_lookup(cfg->catalogue, "scan_ssh")->severity, "critical");
	CHECK(!check_all_types(cfg, 0, 1, &naction, &ninfo));
	CHECK(!check_all_types(cfg, 1, 1, &naction, &ninfo));
	CHECK(ninfo == 0);
	CHECK(naction > 340);
	config_free(cfg);
	free(catalogue);
	free(dir);
}

TEST(clarity, preview_with_history_follows_the_same_rules)
{
	struct config *cfg = site_config();
	size_t i, ntypes;
	char **types = sample_types(cfg, &ntypes), err[512];
	int bad = 0;

	for (i = 0; i < ntypes; i++) {
		struct expect x = { types[i], catalogue_lookup(cfg->catalogue, types[i]),
		    "SM-" "20261024" "-" SAMPLE_CASE_NUMBER, 3 };
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
		struct pipeline_result *r = pipeline_notice(cfg, map, types[i], 0);
		struct notice n;
		char *path;

		if (sample_notice(cfg, types[i], 0, 0, &n, &path, err, sizeof(err)) != 0) {
			failed(types[i], err);
			CHECK(0);
			pipeline_result_free(r);
			continue;
		}
		if (r && r->nreports == 1 && r->reports[0].nmade == 1)
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
	struct template_set *set = notice_templates_load(cfg, err, sizeof(err));
	size_t i;

	REQUIRE(set != NULL);
	for (i = 0; i < sizeof(tailored) / sizeof(tailored[0]); i++) {
		const char *types[2] = { tailored[i], twin };
		int k;

		snprintf(twin, sizeof(twin), "scan6_%s", tailored[i] + 5);
		for (k = 0; k < 2; k++) {
			const struct template *t;
			char want[80];

			if (k == 1 && catalogue_lookup(cfg->catalogue, twin) == NULL)
				continue;	/* ShadowServer has no IPv6 report of this one */
			REQUIRE(catalogue_lookup(cfg->catalogue, types[k]) != NULL);
			t = notice_template_find(set, cfg, types[k], err, sizeof(err));
			REQUIRE(t != NULL);
			snprintf(want, sizeof(want), "%s.tmpl", tailored[i]);
			if (strcmp(base_name(template_path(t)), want) != 0)
				fprintf(stderr, "  %s uses %s\n", types[k], template_path(t));
			CHECK_STR(base_name(template_path(t)), want);
		}
	}
	template_set_free(set);
	config_free(cfg);
}
