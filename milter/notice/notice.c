/*
 * notice - one customer's notice for one report type, as an RFC 5322 message
 *
 * See notice.h. The template sees variables through notice_get(); report
 * values are cleaned (no control characters, bounded length) before they
 * reach the body, and headers are built only by mailheader.
 */
#include "notice/notice.h"
#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "notice/mailheader.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "notice/template.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_VALUE_MAX 200	/* a report value in the body */
#define BODY_LINE_MAX 990	/* RFC 5322 allows 998 octets per line */
#define EVIDENCE_WIDTH 70	/* evidence text per line, after a 4-space indent */
#define REPORTS_INDEX_URL "https://www.shadowserver.org/what-we-do/network-reporting/"
#define FIRST_SCREEN_HOSTS 5	/* affected hosts an ACTION REQUIRED notice lists up top */
#define DAY_SECONDS 86400

struct notice_ctx {
	const struct notice_input *in;
	int action;			/* an ACTION REQUIRED notice (notice_needs_action) */
	struct buf scratch;
	char *cleaned;
	size_t *host_first;		/* each distinct host's first finding (they are
					 * sorted by address): the first screen lists hosts */
	size_t nhosts;
	int listing_hosts;		/* inside first_findings: item N is host N */
	size_t earliest_due;		/* the finding with the earliest deadline */
	size_t overdue;			/* findings past their deadline (action notices) */
};

#define HOST_LINE_PORTS 4	/* a host's ports named on its first-screen line */

int
notice_needs_action(const struct config *cfg, const struct catalogue_entry *e)
{
	/* a type nobody rated may be ShadowServer's newest critical report: never play it down */
	if (e == NULL || *e->severity == '\0')
		return 1;
	return (catalogue_severity_bit(e->severity) & cfg->action_severities) != 0;
}

void
notice_endpoint(const struct ipaddr *ip, int port, char *out, size_t outlen)
{
	char addr[IPADDR_STRLEN];

	ipaddr_format(ip, addr, sizeof(addr));
	if (port < 0)
		snprintf(out, outlen, "%s", addr);
	else if (ip->family == AF_INET6)
		snprintf(out, outlen, "[%s]:%d", addr, port);
	else
		snprintf(out, outlen, "%s:%d", addr, port);
}

static const char *
keep(struct notice_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
keep(struct notice_ctx *c, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&c->scratch);
	va_start(ap, fmt);
	buf_vprintf(&c->scratch, fmt, ap);
	va_end(ap);
	return buf_cstr(&c->scratch);
}

static const char *
clean(struct notice_ctx *c, const char *value)
{
	free(c->cleaned);
	c->cleaned = text_clean(value ? value : "", BODY_VALUE_MAX);
	return c->cleaned;
}

static const char *
format_time(struct notice_ctx *c, time_t t, int with_time)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (!with_time)
		return keep(c, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return keep(c, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* long_date - "1 December 2026" */
static const char *
long_date(struct notice_ctx *c, time_t t)
{
	static const char *const months[] = { "January", "February", "March", "April", "May", "June", "July",
	    "August", "September", "October", "November", "December" };
	struct tm tm;

	gmtime_r(&t, &tm);
	return keep(c, "%d %s %d", tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900);
}

/* quoted - VALUE as data in double quotes, its own '"' and '\\' escaped, so
 * that no report value can read as a sentence of ours */
static void
quoted(struct buf *b, const char *value)
{
	buf_putc(b, '"');
	for (; *value; value++) {
		if (*value == '"' || *value == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *value);
	}
	buf_putc(b, '"');
}

/* evidence - 'infection: "x", dst_ip: "y"' of the catalogue's evidence columns,
 * wrapped before EVIDENCE_WIDTH with continuation lines indented by 4 */
static const char *
evidence(struct notice_ctx *c, const struct finding *f)
{
	const struct catalogue_entry *e = c->in->entry;
	struct buf item = BUF_INIT;
	size_t i, col = 0;

	buf_reset(&c->scratch);
	for (i = 0; e && i < e->nevidence; i++) {
		const char *raw = report_file_value(c->in->rf, f, e->evidence[i]);
		char *v;

		if (raw == NULL || *raw == '\0')
			continue;
		v = text_clean(raw, BODY_VALUE_MAX);
		buf_reset(&item);
		buf_printf(&item, "%s: ", e->evidence[i]);
		quoted(&item, v);
		free(v);
		if (col > 0 && col + 3 + item.len > EVIDENCE_WIDTH) {
			buf_puts(&c->scratch, ",\n    ");
			col = 0;
		} else if (col > 0) {
			buf_puts(&c->scratch, ", ");
			col += 2;
		}
		buf_append(&c->scratch, item.data, item.len);
		col += item.len;
	}
	buf_free(&item);
	return buf_cstr(&c->scratch);
}

/*
 * endpoint - where the finding is, in words a customer reads in a list:
 * "192.0.2.1:111"; a host seen connecting (event reports), "192.0.2.5 (from
 * port 49431/TCP)"; part of a larger listed network, "198.51.100.8/29 (your
 * part of the listed network 198.51.100.0/24)".
 */
static const char *
endpoint(struct notice_ctx *c, const struct finding *f)
{
	char where[FINDING_ADDRSTRLEN + 16], listed[FINDING_ADDRSTRLEN];

	finding_listed(f, listed, sizeof(listed));
	if (f->source_port && f->port >= 0) {
		finding_address(f, where, sizeof(where));
		keep(c, "%s (from port %d%s", where, f->port, *f->protocol ? "/" : "");
		for (const char *p = f->protocol; *p; p++)
			buf_putc(&c->scratch, *p >= 'a' && *p <= 'z' ? *p - ('a' - 'A') : *p);
		buf_putc(&c->scratch, ')');
		return buf_cstr(&c->scratch);
	}
	finding_endpoint(f, where, sizeof(where));
	if (*listed)
		return keep(c, "%s (your part of the listed network %s)", where, listed);
	return keep(c, "%s", where);
}

/* same_host - findings A and B are about one address (or one network part) */
static int
same_host(const struct finding *a, const struct finding *b)
{
	return a->len == b->len && ipaddr_compare(&a->ip, &b->ip) == 0;
}

static void
find_hosts(struct notice_ctx *c)
{
	const struct notice_group *g = c->in->group;
	size_t i;

	c->nhosts = 0;
	c->host_first = xcalloc(g && g->nfindings ? g->nfindings : 1, sizeof(size_t));
	for (i = 0; g && i < g->nfindings; i++)
		if (i == 0 || !same_host(g->findings[i - 1], g->findings[i]))
			c->host_first[c->nhosts++] = i;
}

/* endpoint_proto - the first screen's form of one finding: "192.0.2.1:111/udp",
 * "192.0.2.5 (from port 49431/tcp)" for a connection, "198.51.100.8/29" */
static const char *
endpoint_proto(struct notice_ctx *c, const struct finding *f)
{
	char where[FINDING_ADDRSTRLEN + 8];

	if (f->source_port) {	/* a connection: the port is not a service of the host's */
		finding_address(f, where, sizeof(where));
		return keep(c, "%s (from port %d%s%s)", where, f->port, *f->protocol ? "/" : "", f->protocol);
	}
	finding_endpoint(f, where, sizeof(where));	/* a network part keeps its length */
	return f->port >= 0 && *f->protocol ? keep(c, "%s/%s", where, f->protocol) : keep(c, "%s", where);
}

/*
 * host_line - the first screen's line for host K: one finding reads as
 * endpoint_proto; several read as one short line, the full list following
 * below: "192.0.2.5 (3 connections between 09:14 and 09:16 UTC)" for an
 * event report's connections, "192.0.2.10 (ports 111/udp, 2049/tcp)".
 */
static const char *
host_line(struct notice_ctx *c, size_t k)
{
	const struct notice_group *g = c->in->group;
	size_t first = c->host_first[k], end = k + 1 < c->nhosts ? c->host_first[k + 1] : g->nfindings, i;
	const struct finding *f = g->findings[first];
	char where[FINDING_ADDRSTRLEN];
	time_t lo = f->detected, hi = f->detected;
	struct tm a, b;

	if (end - first == 1)
		return endpoint_proto(c, f);
	finding_address(f, where, sizeof(where));
	buf_reset(&c->scratch);
	if (f->source_port) {
		for (i = first; i < end; i++) {
			lo = g->findings[i]->detected < lo ? g->findings[i]->detected : lo;
			hi = g->findings[i]->detected > hi ? g->findings[i]->detected : hi;
		}
		gmtime_r(&lo, &a);
		gmtime_r(&hi, &b);
		buf_printf(&c->scratch, "%s (%zu connections between ", where, end - first);
		if (a.tm_yday != b.tm_yday || a.tm_year != b.tm_year)
			buf_printf(&c->scratch, "%04d-%02d-%02d %02d:%02d and %04d-%02d-%02d %02d:%02d UTC)",
			    a.tm_year + 1900, a.tm_mon + 1, a.tm_mday, a.tm_hour, a.tm_min,
			    b.tm_year + 1900, b.tm_mon + 1, b.tm_mday, b.tm_hour, b.tm_min);
		else
			buf_printf(&c->scratch, "%02d:%02d and %02d:%02d UTC)", a.tm_hour, a.tm_min, b.tm_hour,
			    b.tm_min);
		return buf_cstr(&c->scratch);
	}
	buf_printf(&c->scratch, "%s (ports ", where);
	for (i = first; i < end && i - first < HOST_LINE_PORTS; i++) {
		if (i > first)
			buf_puts(&c->scratch, ", ");
		if (g->findings[i]->port >= 0)
			buf_printf(&c->scratch, "%d", g->findings[i]->port);
		if (*g->findings[i]->protocol)
			buf_printf(&c->scratch, "%s%s", g->findings[i]->port >= 0 ? "/" : "", g->findings[i]->protocol);
	}
	buf_puts(&c->scratch, end - first > HOST_LINE_PORTS ? ", ...)" : ")");
	return buf_cstr(&c->scratch);
}

static const char *
item_get(struct notice_ctx *c, const struct finding *f, const char *name)
{
	const struct report_file *rf = c->in->rf;
	char tmp[FINDING_ADDRSTRLEN];

	if (!strcmp(name, "ip")) {
		finding_address(f, tmp, sizeof(tmp));
		return keep(c, "%s", tmp);
	}
	if (!strcmp(name, "endpoint"))
		return endpoint(c, f);
	if (!strcmp(name, "listed")) {
		finding_listed(f, tmp, sizeof(tmp));
		return keep(c, "%s", tmp);
	}
	if (!strcmp(name, "endpoint_proto"))
		return endpoint_proto(c, f);
	if (!strcmp(name, "port"))
		return f->port < 0 ? "" : keep(c, "%d", f->port);
	if (!strcmp(name, "protocol"))
		return f->protocol;
	if (!strcmp(name, "protocol_upper")) {
		keep(c, "%s", f->protocol);
		for (char *p = c->scratch.data; p && *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p -= 'a' - 'A';
		return buf_cstr(&c->scratch);
	}
	if (!strcmp(name, "timestamp"))
		return format_time(c, f->detected, 1);
	if (!strcmp(name, "detected_date"))
		return format_time(c, f->detected, 0);
	if (!strcmp(name, "hostname") || !strcmp(name, "tag") || !strcmp(name, "asn"))
		return clean(c, report_file_value(rf, f, name));
	if (!strncmp(name, "col.", 4))
		return clean(c, report_file_value(rf, f, name + 4));
	if (!strcmp(name, "evidence"))
		return evidence(c, f);
	return NULL;
}

/* history_item_get - a finding's detection history; "" without a state database */
static const char *
history_item_get(struct notice_ctx *c, size_t item, const char *name)
{
	const struct state_finding *h = c->in->history ? &c->in->history[item] : NULL;
	const struct state_finding *due = c->action ? h : NULL;	/* informational: no deadline */

	if (!strcmp(name, "first_detected"))
		return h ? format_time(c, h->first_seen, 0) : "";
	if (!strcmp(name, "deadline"))
		return due ? format_time(c, due->deadline, 0) : "";
	if (!strcmp(name, "deadline_date"))
		return due ? long_date(c, due->deadline) : "";
	if (!strcmp(name, "overdue"))
		return due && due->overdue ? "yes" : "";
	if (!strcmp(name, "new"))
		return h && h->is_new ? "yes" : "";
	if (!strcmp(name, "times_reported"))
		return h ? keep(c, "%lu", h->times_reported) : "";
	return NULL;
}

/* sum_history - the group's earliest deadline and overdue count, once per
 * notice: every template lookup of a top-level name passes through here */
static void
sum_history(struct notice_ctx *c)
{
	const struct state_finding *h = c->in->history;
	size_t i, n = c->in->group && h ? c->in->group->nfindings : 0;

	c->earliest_due = c->overdue = 0;
	for (i = 0; i < n; i++) {
		if (h[i].deadline < h[c->earliest_due].deadline)
			c->earliest_due = i;
		c->overdue += h[i].overdue != 0 && c->action;
	}
}

/* history_top_get - the group's history: the earliest deadline names the
 * date; an informational notice has none, so nothing is overdue either */
static const char *
history_top_get(struct notice_ctx *c, const char *name)
{
	const struct notice_input *in = c->in;
	const struct state_finding *h = in->history;
	size_t n = in->group && h ? in->group->nfindings : 0, first = c->earliest_due, overdue = c->overdue;
	size_t due = c->action ? n : 0;

	if (!strcmp(name, "history"))
		return n ? "yes" : "";
	if (!strcmp(name, "reference"))
		return in->reference ? in->reference : "";
	if (!strcmp(name, "first_detected"))
		return n ? format_time(c, h[first].first_seen, 0) : "";
	if (!strcmp(name, "deadline"))
		return due ? format_time(c, h[first].deadline, 0) : "";
	if (!strcmp(name, "deadline_date"))
		return due ? long_date(c, h[first].deadline) : "";
	if (!strcmp(name, "any_overdue"))
		return overdue ? "yes" : "";
	if (!strcmp(name, "overdue_count"))
		return due ? keep(c, "%zu", overdue) : "";
	/* "1 of the services ... was", "2 of the services ... were" */
	if (!strcmp(name, "overdue_was"))
		return overdue == 1 ? "was" : "were";
	if (!strcmp(name, "overdue_is"))
		return overdue == 1 ? "is" : "are";
	if (!strcmp(name, "overdue_has"))
		return overdue == 1 ? "has" : "have";
	if (!strcmp(name, "overdue_them"))
		return overdue == 1 ? "it" : "them";
	return NULL;
}

/*
 * action_deadline - the date an ACTION REQUIRED notice's first screen names:
 * with a history the earliest deadline; without one the earliest detection
 * in this report plus GraceDays (all this notice knows of first detection)
 */
static time_t
action_deadline(const struct notice_ctx *c)
{
	const struct notice_input *in = c->in;
	size_t i, n = in->group ? in->group->nfindings : 0;
	time_t t = 0;

	for (i = 0; i < n; i++) {
		time_t d = in->history ? in->history[i].deadline :
		    in->group->findings[i]->detected + (time_t)in->cfg->grace_days * DAY_SECONDS;

		if (i == 0 || d < t)
			t = d;
	}
	return n ? t : in->now + (time_t)in->cfg->grace_days * DAY_SECONDS;
}

/* outside_check - a command that shows from outside whether the type's usual port answers */
static const char *
outside_check(struct notice_ctx *c)
{
	const struct catalogue_entry *e = c->in->entry;

	if (e == NULL || *e->port == '\0')
		return "";
	if (ascii_strcasecmp(e->protocol, "UDP") == 0)
		return keep(c, "sudo nmap -Pn -sU -p %s YOUR-IP-ADDRESS", e->port);
	if (ascii_strcasecmp(e->protocol, "TCP") == 0)
		return keep(c, "nmap -Pn -p %s YOUR-IP-ADDRESS", e->port);
	return "";
}

/* first_screen_get - what the top of an ACTION REQUIRED notice says */
static const char *
first_screen_get(struct notice_ctx *c, const char *name)
{
	if (!strcmp(name, "action_required"))
		return c->action ? "yes" : "";
	if (!strcmp(name, "action_deadline"))
		return c->action ? long_date(c, action_deadline(c)) : "";
	if (!strcmp(name, "more_count"))	/* hosts beyond the first screen's */
		return c->nhosts > FIRST_SCREEN_HOSTS ? keep(c, "%zu", c->nhosts - FIRST_SCREEN_HOSTS) : "";
	if (!strcmp(name, "outside_check"))
		return outside_check(c);
	return NULL;
}

/* catalogue_get - the report type's catalogue fields, with fallbacks for a
 * type the catalogue does not know */
static const char *
catalogue_get(struct notice_ctx *c, const char *name)
{
	const struct catalogue_entry *e = c->in->entry;

	if (!strcmp(name, "service_title")) {
		if (e)
			return e->title;
		return keep(c, "Shadowserver report \"%s\"", clean(c, c->in->rf->type));
	}
	if (!strcmp(name, "service"))
		return e ? e->service : "";
	if (!strcmp(name, "severity"))
		return e ? e->severity : "";
	if (!strcmp(name, "service_port"))
		return e ? e->port : "";
	if (!strcmp(name, "service_protocol"))
		return e ? e->protocol : "";
	if (!strcmp(name, "info_url"))
		return e && *e->info_url ? e->info_url : REPORTS_INDEX_URL;
	return NULL;
}

static const char *
top_get(struct notice_ctx *c, const char *name)
{
	const struct notice_input *in = c->in;
	const struct config *cfg = in->cfg;
	const char *v;

	if (!strcmp(name, "account"))
		return in->group ? clean(c, in->group->account->name) : "example-account";
	if (!strcmp(name, "organization"))
		return cfg->organization;
	if (!strcmp(name, "support_address"))
		return cfg->support_address;
	if (!strcmp(name, "notice_from"))
		return cfg->notice_from;
	if (!strcmp(name, "policy_url"))
		return cfg->policy_url;
	if (!strcmp(name, "signature"))
		return *cfg->signature ? cfg->signature : keep(c, "%s", cfg->organization);
	if (!strcmp(name, "grace_days"))
		return keep(c, "%u", cfg->grace_days);
	if (!strcmp(name, "report_type"))
		return clean(c, in->rf->type);
	if (!strcmp(name, "report_date"))
		return clean(c, in->rf->date);
	if (!strcmp(name, "report_file"))
		return clean(c, in->rf->file);
	if (!strcmp(name, "finding_count"))
		return keep(c, "%zu", in->group ? in->group->nfindings : 0);
	if (!strcmp(name, "today"))
		return format_time(c, in->now, 0);
	if ((v = history_top_get(c, name)) != NULL || (v = first_screen_get(c, name)) != NULL)
		return v;
	return catalogue_get(c, name);
}

static const char *
notice_get(void *ctx, const char *name, long item)
{
	struct notice_ctx *c = ctx;
	const char *v;

	if (item >= 0 && c->listing_hosts) {	/* host ITEM, seen through its first finding */
		if ((size_t)item >= c->nhosts)
			return top_get(c, name);
		if (!strcmp(name, "endpoint_proto"))
			return host_line(c, (size_t)item);
		item = (long)c->host_first[item];
	}
	if (item >= 0 && c->in->group && (size_t)item < c->in->group->nfindings &&
	    ((v = history_item_get(c, (size_t)item, name)) != NULL ||
	    (v = item_get(c, c->in->group->findings[item], name)) != NULL))
		return v;
	return top_get(c, name);
}

/* the lists: every finding, and the first screen's first few hosts */
static int
notice_is_list(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "findings") == 0 || strcmp(name, "first_findings") == 0;
}

static size_t
notice_count(void *ctx, const char *name)
{
	struct notice_ctx *c = ctx;
	size_t n = c->in->group ? c->in->group->nfindings : 0;

	if (!notice_is_list(ctx, name))
		return 0;
	/* the engine asks a list's length as it enters it, and notice lists do
	 * not nest: from here on items are hosts or findings */
	c->listing_hosts = strcmp(name, "first_findings") == 0;
	if (c->listing_hosts)
		return c->nhosts > FIRST_SCREEN_HOSTS ? FIRST_SCREEN_HOSTS : c->nhosts;
	return n;
}

/* notice_key_of - the notice's identity (noticekey.h) */
static struct notice_key
notice_key_of(const struct notice_input *in, const char *account)
{
	struct notice_key k = { in->report_ref ? in->report_ref : "", in->rf->type, account, in->kind };

	return k;
}

static void
copy_recipients(struct notice *out, const struct notice_group *g)
{
	size_t i;

	if (g == NULL) {
		out->to = xcalloc(1, sizeof(char *));
		out->to[0] = xstrdup("customer@example.com");
		out->nto = 1;
		return;
	}
	out->to = xcalloc(g->account->nemails + 1, sizeof(char *));
	for (i = 0; i < g->account->nemails; i++)
		out->to[i] = xstrdup(g->account->emails[i]);
	out->nto = g->account->nemails;
}

static void
append_headers(struct buf *msg, const struct notice_input *in, const struct notice *n)
{
	struct buf v = BUF_INIT;
	char date[64];
	struct tm tm;

	gmtime_r(&in->now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	header_append(msg, "Date", date);
	buf_printf(&v, "<%s>", n->message_id);
	header_append(msg, "Message-ID", buf_cstr(&v));
	buf_reset(&v);
	buf_puts(&v, "\"");
	for (const char *p = in->cfg->organization; *p; p++)
		if (*p != '"' && *p != '\\')
			buf_putc(&v, *p);
	buf_printf(&v, "\" <%s>", in->cfg->notice_from);
	header_append(msg, "From", buf_cstr(&v));
	header_append(msg, "Reply-To", in->cfg->support_address);
	header_append_list(msg, "To", n->to, n->nto);
	header_append(msg, "Subject", n->subject);
	header_append(msg, "MIME-Version", "1.0");
	header_append(msg, "Content-Type", "text/plain; charset=utf-8");
	header_append(msg, "Content-Transfer-Encoding", "8bit");
	header_append(msg, "Auto-Submitted", "auto-generated");
	header_append(msg, "X-Shadowmilter-Account", n->account);
	header_append(msg, "X-Shadowmilter-Report-Type", in->rf->type);
	if (*n->reference)
		header_append(msg, "X-Shadowmilter-Reference", n->reference);
	buf_free(&v);
}

/* append_body - body lines, hard-wrapped only if a line would break SMTP */
static void
append_body(struct buf *msg, const char *body)
{
	const char *line = body;

	while (*line) {
		size_t len = strcspn(line, "\n");

		while (len > BODY_LINE_MAX) {
			buf_append(msg, line, BODY_LINE_MAX);
			buf_putc(msg, '\n');
			line += BODY_LINE_MAX;
			len -= BODY_LINE_MAX;
		}
		buf_append(msg, line, len);
		buf_putc(msg, '\n');
		line += len + (line[len] == '\n');
	}
}

/* fell_back - template_set_find gave generic.tmpl: there was no file of the name asked for */
static int
fell_back(const struct template *t)
{
	const char *path = template_path(t), *slash = strrchr(path, '/');

	return strcmp(slash ? slash + 1 : path, "generic.tmpl") == 0;
}

struct template_set *
notice_templates_load(const struct config *cfg, char *err, size_t errlen)
{
	return template_set_load(cfg->template_dir, template_shipped_dir(), err, errlen);
}

const struct template *
notice_template_find(const struct template_set *set, const struct config *cfg, const char *type, char *err,
    size_t errlen)
{
	const struct catalogue_entry *e = catalogue_lookup(cfg->catalogue, type);
	const struct template *t = NULL;
	const char *names[4];
	size_t n = 0, i;

	names[n++] = type;
	if (e && strcmp(e->type, type) != 0)
		names[n++] = e->type;
	if (e && *e->template)
		names[n++] = e->template;
	if (e && e->kind == CATALOGUE_EVENT)
		names[n++] = "generic_event";
	for (i = 0; i < n; i++) {
		t = template_set_find(set, 0, names[i], err, errlen);
		if (t == NULL || !fell_back(t))
			break;
	}
	return t;
}

const struct template *
notice_resolved_template_find(const struct template_set *set, const char *type, char *err, size_t errlen)
{
	return template_set_find(set, 1, type, err, errlen);
}

int
notice_build(const struct notice_input *in, const struct template *t, struct notice *out, char *err,
    size_t errlen)
{
	struct notice_ctx c = { in, notice_needs_action(in->cfg, in->entry), BUF_INIT, NULL, NULL, 0, 0, 0, 0 };
	struct template_scope scope = { notice_get, notice_count, notice_is_list, &c };
	struct buf subject = BUF_INIT, body = BUF_INIT, msg = BUF_INIT;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	find_hosts(&c);
	sum_history(&c);
	if (template_render_subject(t, &scope, &subject, err, errlen) != 0 ||
	    template_render_body(t, &scope, &body, err, errlen) != 0)
		goto done;
	out->reference = text_clean(in->reference ? in->reference : "", 60);
	if (*out->reference)
		buf_printf(&subject, " [%s]", out->reference);
	out->account = text_clean(in->group ? in->group->account->name : "example-account", 200);
	out->report_type = text_clean(in->rf->type, 200);
	out->subject = text_clean(buf_cstr(&subject), 500);
	{
		struct notice_key k = notice_key_of(in, out->account);

		out->message_id = notice_key_message_id(&k, strchr(in->cfg->notice_from, '@') + 1);
		out->key = notice_key_text(&k);
	}
	out->action_required = c.action;
	copy_recipients(out, in->group);
	append_headers(&msg, in, out);
	buf_putc(&msg, '\n');
	append_body(&msg, buf_cstr(&body));
	out->message = buf_steal(&msg);
	rc = 0;
done:
	buf_free(&subject);
	buf_free(&body);
	buf_free(&msg);
	buf_free(&c.scratch);
	free(c.cleaned);
	free(c.host_first);
	if (rc != 0)
		notice_free(out);
	return rc;
}

void
notice_free(struct notice *n)
{
	size_t i;

	for (i = 0; i < n->nto; i++)
		free(n->to[i]);
	free(n->to);
	free(n->account);
	free(n->report_type);
	free(n->reference);
	free(n->subject);
	free(n->message);
	free(n->message_id);
	free(n->key);
	memset(n, 0, sizeof(*n));
}
