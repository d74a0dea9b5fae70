/*
 * noticefields - the variables a notice template sees, and their getters
 *
 * One table, notice_vars: each row a name, a finding's getter and the
 * notice's getter. The template engine resolves a template's names to rows
 * of it when the templates are loaded (notice_template_vars); a render asks
 * the getters through notice_get and notice_count (notice_render). Report
 * values are cleaned (no control characters, BODY_VALUE_MAX long) before
 * they reach the body; dates and the few words the program writes itself
 * come in the template's language (base/lang.h).
 *
 * Part of the notice module: its functions are declared in notice.h
 * (notice_render, notice_template_vars), which notice.c calls to fill a
 * notice's subject and body.
 *
 * Owns: the render's scratch strings (notice_ctx), freed when it ends.
 */
#include "notice/notice.h"
#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "notice/mailheader.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "notice/template.h"
#include "base/lang.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_VALUE_MAX 200	/* a report value in the body */
#define EVIDENCE_WIDTH 70	/* evidence text per line, after a 4-space indent */
#define REPORTS_INDEX_URL "https://www.shadowserver.org/what-we-do/network-reporting/"
#define FIRST_SCREEN_HOSTS 5	/* affected hosts an ACTION REQUIRED notice lists up top */
#define DAY_SECONDS 86400

/* a render's state: the notice, and what its getters worked out once */
struct notice_ctx {
	const struct notice_input *in;
	const struct notice *n;		/* the notice being made: its customer and findings */
	int action;			/* an ACTION REQUIRED notice (notice_needs_action) */
	const struct lang *lang;	/* the template's language: its dates and words */
	const char *lang_tag;		/* its directory ("de"), "" for English: catalogue texts */
	struct buf scratch;
	char *cleaned;
	size_t *host_first;		/* each distinct host's first finding (they are
					 * sorted by address): the first screen lists hosts */
	size_t nhosts;
	int listing_hosts;		/* inside first_findings: item N is host N */
	size_t earliest_due;		/* the finding with the earliest deadline */
	size_t overdue;			/* findings past their deadline (action notices) */
	size_t nhistory;		/* findings with a history (0 without a state database) */
};

#define HOST_LINE_PORTS 4	/* a host's ports named on its first-screen line */


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

/* format_time - "2026-12-01" or "2026-12-01 09:14:00 UTC", as the notice's language writes them */
static const char *
format_time(struct notice_ctx *c, time_t t, int with_time)
{
	buf_reset(&c->scratch);
	if (with_time)
		lang_time(c->lang, t, &c->scratch);
	else
		lang_date(c->lang, t, &c->scratch);
	return buf_cstr(&c->scratch);
}

/* long_date - "1 December 2026", "1. Dezember 2026" */
static const char *
long_date(struct notice_ctx *c, time_t t)
{
	buf_reset(&c->scratch);
	lang_long_date(c->lang, t, &c->scratch);
	return buf_cstr(&c->scratch);
}

/* word - one of the few words the program writes itself, in the notice's language */
#define WORD(c, w) lang_word((c)->lang, (w))

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

/* evidence - 'infection: "x", dst_ip: "y"' of the catalogue's evidence columns
 * (headed in the notice's language: 'Infektion: "x"'), wrapped before
 * EVIDENCE_WIDTH with continuation lines indented by 4 */
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
		buf_printf(&item, "%s: ", lang_column(c->lang, e->evidence[i]));
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
		keep(c, "%s (%s %d%s", where, WORD(c, LANG_FROM_PORT), f->port, *f->protocol ? "/" : "");
		for (const char *p = f->protocol; *p; p++)
			buf_putc(&c->scratch, *p >= 'a' && *p <= 'z' ? *p - ('a' - 'A') : *p);
		buf_putc(&c->scratch, ')');
		return buf_cstr(&c->scratch);
	}
	finding_endpoint(f, where, sizeof(where));
	if (*listed)
		return keep(c, "%s (%s %s)", where, WORD(c, LANG_LISTED_PART), listed);
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
	const struct notice *n = c->n;
	size_t i;

	c->nhosts = 0;
	c->host_first = xcalloc(n->nfindings ? n->nfindings : 1, sizeof(size_t));
	for (i = 0; i < n->nfindings; i++)
		if (i == 0 || !same_host(n->findings[i - 1].f, n->findings[i].f))
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
		return keep(c, "%s (%s %d%s%s)", where, WORD(c, LANG_FROM_PORT), f->port, *f->protocol ? "/" : "",
		    f->protocol);
	}
	finding_endpoint(f, where, sizeof(where));	/* a network part keeps its length */
	return f->port >= 0 && *f->protocol ? keep(c, "%s/%s", where, f->protocol) : keep(c, "%s", where);
}

/* connections_between - "192.0.2.5 (3 connections between 09:14 and 09:16
 * UTC)", with the dates when LO and HI are not on one day */
static void
connections_between(struct notice_ctx *c, const char *where, size_t n, time_t lo, time_t hi)
{
	struct tm a, b;

	gmtime_r(&lo, &a);
	gmtime_r(&hi, &b);
	buf_printf(&c->scratch, "%s (%zu %s ", where, n, WORD(c, LANG_CONNECTIONS));
	if (a.tm_yday != b.tm_yday || a.tm_year != b.tm_year) {
		lang_date_minute(c->lang, lo, &c->scratch);
		buf_printf(&c->scratch, " %s ", WORD(c, LANG_AND));
		lang_date_minute(c->lang, hi, &c->scratch);
		buf_puts(&c->scratch, " UTC)");
	} else
		buf_printf(&c->scratch, "%02d:%02d %s %02d:%02d UTC)", a.tm_hour, a.tm_min, WORD(c, LANG_AND),
		    b.tm_hour, b.tm_min);
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
	const struct notice_finding *nf = c->n->findings;
	size_t first = c->host_first[k], end = k + 1 < c->nhosts ? c->host_first[k + 1] : c->n->nfindings, i;
	const struct finding *f = nf[first].f;
	char where[FINDING_ADDRSTRLEN];
	time_t lo = f->detected, hi = f->detected;

	if (end - first == 1)
		return endpoint_proto(c, f);
	finding_address(f, where, sizeof(where));
	buf_reset(&c->scratch);
	if (f->source_port) {
		for (i = first; i < end; i++) {
			lo = nf[i].f->detected < lo ? nf[i].f->detected : lo;
			hi = nf[i].f->detected > hi ? nf[i].f->detected : hi;
		}
		connections_between(c, where, end - first, lo, hi);
		return buf_cstr(&c->scratch);
	}
	buf_printf(&c->scratch, "%s (%s ", where, WORD(c, LANG_PORTS));
	for (i = first; i < end && i - first < HOST_LINE_PORTS; i++) {
		if (i > first)
			buf_puts(&c->scratch, ", ");
		if (nf[i].f->port >= 0)
			buf_printf(&c->scratch, "%d", nf[i].f->port);
		if (*nf[i].f->protocol)
			buf_printf(&c->scratch, "%s%s", nf[i].f->port >= 0 ? "/" : "", nf[i].f->protocol);
	}
	buf_puts(&c->scratch, end - first > HOST_LINE_PORTS ? ", ...)" : ")");
	return buf_cstr(&c->scratch);
}

/* --- the variables a template sees ---------------------------------------- */

/* a finding's variables: F is finding I of the group */
#define ITEM_GETTER(fn) static const char *fn(struct notice_ctx *c, const struct finding *f, size_t i, \
    const char *name)
/* the notice's variables */
#define TOP_GETTER(fn) static const char *fn(struct notice_ctx *c)

static const char *
upper(struct notice_ctx *c, const char *s)
{
	keep(c, "%s", s);
	for (char *p = c->scratch.data; p && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	return buf_cstr(&c->scratch);
}

ITEM_GETTER(v_ip)
{
	char tmp[FINDING_ADDRSTRLEN];

	(void)i, (void)name;
	finding_address(f, tmp, sizeof(tmp));
	return keep(c, "%s", tmp);
}

ITEM_GETTER(v_listed)
{
	char tmp[FINDING_ADDRSTRLEN];

	(void)i, (void)name;
	finding_listed(f, tmp, sizeof(tmp));
	return keep(c, "%s", tmp);
}

ITEM_GETTER(v_endpoint) { (void)i, (void)name; return endpoint(c, f); }
ITEM_GETTER(v_endpoint_proto) { (void)i, (void)name; return endpoint_proto(c, f); }
ITEM_GETTER(v_port) { (void)i, (void)name; return f->port < 0 ? "" : keep(c, "%d", f->port); }
ITEM_GETTER(v_protocol) { (void)c, (void)i, (void)name; return f->protocol; }
ITEM_GETTER(v_protocol_upper) { (void)i, (void)name; return upper(c, f->protocol); }
ITEM_GETTER(v_timestamp) { (void)i, (void)name; return format_time(c, f->detected, 1); }
ITEM_GETTER(v_detected_date) { (void)i, (void)name; return format_time(c, f->detected, 0); }
ITEM_GETTER(v_evidence) { (void)i, (void)name; return evidence(c, f); }
/* hostname, tag, asn: the report's own columns; col.NAME: any column */
ITEM_GETTER(v_column) { (void)i; return clean(c, report_file_value(c->in->rf, f, name)); }
ITEM_GETTER(v_col) { (void)i; return clean(c, report_file_value(c->in->rf, f, name + 4)); }

/* a finding's detection history; "" without a state database, and no
 * deadline for an informational notice */
static const struct state_finding *
history_of(const struct notice_ctx *c, size_t i)
{
	return c->n->findings[i].h;
}

static const struct state_finding *
due_of(const struct notice_ctx *c, size_t i)
{
	return c->action ? history_of(c, i) : NULL;
}

ITEM_GETTER(v_first_detected_item)
{
	(void)f, (void)name;
	return history_of(c, i) ? format_time(c, history_of(c, i)->first_seen, 0) : "";
}

ITEM_GETTER(v_deadline_item)
{
	(void)f, (void)name;
	return due_of(c, i) ? format_time(c, due_of(c, i)->deadline, 0) : "";
}

ITEM_GETTER(v_deadline_date_item)
{
	(void)f, (void)name;
	return due_of(c, i) ? long_date(c, due_of(c, i)->deadline) : "";
}

ITEM_GETTER(v_overdue) { (void)f, (void)name; return due_of(c, i) && due_of(c, i)->overdue ? "yes" : ""; }
ITEM_GETTER(v_new) { (void)f, (void)name; return history_of(c, i) && history_of(c, i)->is_new ? "yes" : ""; }

ITEM_GETTER(v_times_reported)
{
	(void)f, (void)name;
	return history_of(c, i) ? keep(c, "%lu", history_of(c, i)->times_reported) : "";
}

/* sum_history - the group's earliest deadline and overdue count, once per
 * notice: the top-level history variables read them */
static void
sum_history(struct notice_ctx *c)
{
	const struct notice_finding *nf = c->n->findings;
	size_t i, n = c->n->nfindings && nf[0].h ? c->n->nfindings : 0;

	c->earliest_due = c->overdue = 0;
	c->nhistory = n;
	for (i = 0; i < n; i++) {
		if (nf[i].h->deadline < nf[c->earliest_due].h->deadline)
			c->earliest_due = i;
		c->overdue += nf[i].h->overdue != 0 && c->action;
	}
}

/* the group's history: the earliest deadline names the date; an
 * informational notice has none, so nothing is overdue either */
#define EARLIEST(c) ((c)->n->findings[(c)->earliest_due].h)
#define NDUE(c) ((c)->action ? (c)->nhistory : 0)

TOP_GETTER(v_history) { return c->nhistory ? "yes" : ""; }
TOP_GETTER(v_reference) { return c->n->case_ref ? c->n->case_ref : ""; }
TOP_GETTER(v_first_detected) { return c->nhistory ? format_time(c, EARLIEST(c)->first_seen, 0) : ""; }
TOP_GETTER(v_deadline) { return NDUE(c) ? format_time(c, EARLIEST(c)->deadline, 0) : ""; }
TOP_GETTER(v_deadline_date) { return NDUE(c) ? long_date(c, EARLIEST(c)->deadline) : ""; }
TOP_GETTER(v_any_overdue) { return c->overdue ? "yes" : ""; }
TOP_GETTER(v_overdue_count) { return NDUE(c) ? keep(c, "%zu", c->overdue) : ""; }
/* "1 of the services ... was", "2 of the services ... were" */
TOP_GETTER(v_overdue_was) { return WORD(c, c->overdue == 1 ? LANG_WAS : LANG_WERE); }
TOP_GETTER(v_overdue_is) { return WORD(c, c->overdue == 1 ? LANG_IS : LANG_ARE); }
TOP_GETTER(v_overdue_has) { return WORD(c, c->overdue == 1 ? LANG_HAS : LANG_HAVE); }
TOP_GETTER(v_overdue_them) { return WORD(c, c->overdue == 1 ? LANG_IT : LANG_THEM); }

/*
 * action_deadline - the date an ACTION REQUIRED notice's first screen names:
 * with a history the earliest deadline; without one the earliest detection
 * in this report plus GraceDays (all this notice knows of first detection)
 */
static time_t
action_deadline(const struct notice_ctx *c)
{
	const struct notice_input *in = c->in;
	const struct notice_finding *nf = c->n->findings;
	size_t i, n = c->n->nfindings;
	time_t t = 0;

	for (i = 0; i < n; i++) {
		time_t d = nf[i].h ? nf[i].h->deadline : nf[i].f->detected + (time_t)in->cfg->grace_days * DAY_SECONDS;

		if (i == 0 || d < t)
			t = d;
	}
	return n ? t : in->now + (time_t)in->cfg->grace_days * DAY_SECONDS;
}

/* outside_check - a command that shows from outside whether the type's usual port answers */
TOP_GETTER(v_outside_check)
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

/* what the top of an ACTION REQUIRED notice says */
TOP_GETTER(v_action_required) { return c->action ? "yes" : ""; }
TOP_GETTER(v_action_deadline) { return c->action ? long_date(c, action_deadline(c)) : ""; }

/* hosts beyond the first screen's */
TOP_GETTER(v_more_count)
{
	return c->nhosts > FIRST_SCREEN_HOSTS ? keep(c, "%zu", c->nhosts - FIRST_SCREEN_HOSTS) : "";
}

/* the report type's catalogue fields, with fallbacks for a type the
 * catalogue does not know */
TOP_GETTER(v_service_title)
{
	if (c->in->entry)
		return catalogue_title(c->in->entry, c->lang_tag);
	return keep(c, "%s \"%s\"", WORD(c, LANG_REPORT), clean(c, c->in->rf->type));
}

TOP_GETTER(v_service) { return c->in->entry ? catalogue_service(c->in->entry, c->lang_tag) : ""; }
TOP_GETTER(v_severity) { return c->in->entry ? lang_severity(c->lang, c->in->entry->severity) : ""; }
TOP_GETTER(v_service_port) { return c->in->entry ? c->in->entry->port : ""; }
TOP_GETTER(v_service_protocol) { return c->in->entry ? c->in->entry->protocol : ""; }

TOP_GETTER(v_info_url)
{
	return c->in->entry && *c->in->entry->info_url ? c->in->entry->info_url : REPORTS_INDEX_URL;
}

/* the customer, the site, the report */
TOP_GETTER(v_account) { return c->n->customer ? clean(c, c->n->customer->name) : "example-account"; }
TOP_GETTER(v_organization) { return c->in->cfg->organization; }
TOP_GETTER(v_support_address) { return c->in->cfg->support_address; }
TOP_GETTER(v_notice_from) { return c->in->cfg->notice_from; }
TOP_GETTER(v_policy_url) { return c->in->cfg->policy_url; }

TOP_GETTER(v_signature)
{
	return *c->in->cfg->signature ? c->in->cfg->signature : keep(c, "%s", c->in->cfg->organization);
}

TOP_GETTER(v_grace_days) { return keep(c, "%u", c->in->cfg->grace_days); }
TOP_GETTER(v_report_type) { return clean(c, c->in->rf->type); }
TOP_GETTER(v_report_date) { return clean(c, c->in->rf->date); }
TOP_GETTER(v_report_file) { return clean(c, c->in->rf->file); }
TOP_GETTER(v_finding_count) { return keep(c, "%zu", c->n->nfindings); }
TOP_GETTER(v_today) { return format_time(c, c->in->now, 0); }

/*
 * The variables: in a list, a name with an item getter is the item's (a
 * finding's; in first_findings, host K seen through its first finding, with
 * its own line as endpoint_proto); every other name, and every name outside
 * a list, is the notice's. A name with neither getter where it is used has
 * no value there (a render error).
 */
struct notice_var {
	const char *name;
	const char *(*item)(struct notice_ctx *c, const struct finding *f, size_t i, const char *name);
	const char *(*top)(struct notice_ctx *c);
	int list;
};

static const struct notice_var notice_vars[] = {
	/* lists */
	{ "findings", NULL, NULL, 1 },
	{ "first_findings", NULL, NULL, 1 },
	/* a finding's */
	{ "ip", v_ip, NULL, 0 },
	{ "endpoint", v_endpoint, NULL, 0 },
	{ "listed", v_listed, NULL, 0 },
	{ "endpoint_proto", v_endpoint_proto, NULL, 0 },	/* VAR_ENDPOINT_PROTO */
	{ "port", v_port, NULL, 0 },
	{ "protocol", v_protocol, NULL, 0 },
	{ "protocol_upper", v_protocol_upper, NULL, 0 },
	{ "timestamp", v_timestamp, NULL, 0 },
	{ "detected_date", v_detected_date, NULL, 0 },
	{ "hostname", v_column, NULL, 0 },
	{ "tag", v_column, NULL, 0 },
	{ "asn", v_column, NULL, 0 },
	{ "evidence", v_evidence, NULL, 0 },
	{ "col.", v_col, NULL, 0 },				/* VAR_COL: col.NAME */
	{ "overdue", v_overdue, NULL, 0 },
	{ "new", v_new, NULL, 0 },
	{ "times_reported", v_times_reported, NULL, 0 },
	/* a finding's in a list, the earliest one's outside */
	{ "first_detected", v_first_detected_item, v_first_detected, 0 },
	{ "deadline", v_deadline_item, v_deadline, 0 },
	{ "deadline_date", v_deadline_date_item, v_deadline_date, 0 },
	/* the notice's */
	{ "history", NULL, v_history, 0 },
	{ "reference", NULL, v_reference, 0 },
	{ "any_overdue", NULL, v_any_overdue, 0 },
	{ "overdue_count", NULL, v_overdue_count, 0 },
	{ "overdue_was", NULL, v_overdue_was, 0 },
	{ "overdue_is", NULL, v_overdue_is, 0 },
	{ "overdue_has", NULL, v_overdue_has, 0 },
	{ "overdue_them", NULL, v_overdue_them, 0 },
	{ "action_required", NULL, v_action_required, 0 },
	{ "action_deadline", NULL, v_action_deadline, 0 },
	{ "more_count", NULL, v_more_count, 0 },
	{ "outside_check", NULL, v_outside_check, 0 },
	{ "service_title", NULL, v_service_title, 0 },
	{ "service", NULL, v_service, 0 },
	{ "severity", NULL, v_severity, 0 },
	{ "service_port", NULL, v_service_port, 0 },
	{ "service_protocol", NULL, v_service_protocol, 0 },
	{ "info_url", NULL, v_info_url, 0 },
	{ "account", NULL, v_account, 0 },
	{ "organization", NULL, v_organization, 0 },
	{ "support_address", NULL, v_support_address, 0 },
	{ "notice_from", NULL, v_notice_from, 0 },
	{ "policy_url", NULL, v_policy_url, 0 },
	{ "signature", NULL, v_signature, 0 },
	{ "grace_days", NULL, v_grace_days, 0 },
	{ "report_type", NULL, v_report_type, 0 },
	{ "report_date", NULL, v_report_date, 0 },
	{ "report_file", NULL, v_report_file, 0 },
	{ "finding_count", NULL, v_finding_count, 0 },
	{ "today", NULL, v_today, 0 },
};

#define NVARS (sizeof(notice_vars) / sizeof(notice_vars[0]))
enum { VAR_FIRST_FINDINGS = 1, VAR_ENDPOINT_PROTO = 5, VAR_COL = 15 };

/* notice_resolve - NAME's row of notice_vars (template_vars.resolve) */
static int
notice_resolve(const char *name, int *is_list)
{
	size_t i;

	*is_list = 0;
	if (strncmp(name, "col.", 4) == 0)
		return VAR_COL;
	for (i = 0; i < NVARS; i++)
		if (strcmp(notice_vars[i].name, name) == 0) {
			*is_list = notice_vars[i].list;
			return (int)i;
		}
	return -1;
}

const struct template_vars *
notice_template_vars(void)
{
	static const struct template_vars vars = { notice_resolve };

	return &vars;
}

static const char *
notice_get(void *ctx, int id, const char *name, long item)
{
	struct notice_ctx *c = ctx;
	const struct notice_var *v = &notice_vars[id];
	const struct notice *n = c->n;

	if (item >= 0 && c->listing_hosts) {	/* host ITEM, seen through its first finding */
		if ((size_t)item >= c->nhosts)
			return v->top ? v->top(c) : NULL;
		if (id == VAR_ENDPOINT_PROTO)
			return host_line(c, (size_t)item);
		item = (long)c->host_first[item];
	}
	if (item >= 0 && v->item && (size_t)item < n->nfindings)
		return v->item(c, n->findings[item].f, (size_t)item, name);
	return v->top ? v->top(c) : NULL;
}

/* the lists: every finding, and the first screen's first few hosts */
static size_t
notice_count(void *ctx, int id)
{
	struct notice_ctx *c = ctx;
	size_t n = c->n->nfindings;

	/* the engine asks a list's length as it enters it, and notice lists do
	 * not nest: from here on items are hosts or findings */
	c->listing_hosts = id == VAR_FIRST_FINDINGS;
	if (c->listing_hosts)
		return c->nhosts > FIRST_SCREEN_HOSTS ? FIRST_SCREEN_HOSTS : c->nhosts;
	return n;
}

int
notice_render(const struct notice_input *in, const struct template *t, const struct notice *n,
    struct buf *subject, struct buf *body, int *action, char *err, size_t errlen)
{
	struct notice_ctx c = { in, n, notice_needs_action(in->cfg, in->entry), lang_get(template_lang(t)),
	    template_lang(t), BUF_INIT, NULL, NULL, 0, 0, 0, 0, 0 };
	struct template_scope scope = { notice_get, notice_count, &c };
	int rc = -1;

	find_hosts(&c);
	sum_history(&c);
	if (template_render_subject(t, &scope, subject, err, errlen) == 0 &&
	    template_render_body(t, &scope, body, err, errlen) == 0)
		rc = 0;
	*action = c.action;
	buf_free(&c.scratch);
	free(c.cleaned);
	free(c.host_first);
	return rc;
}
