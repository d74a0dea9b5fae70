/*
 * ops - the ops commands over the detection history: overdue, history, status
 *
 * See history.h. A command shell: it owns stdout/stderr and exit codes (0;
 * 1 when a database cannot be read; 2 for usage and config errors); the
 * queries are state.h's and outbox.h's, on a SQLite file or PostgreSQL
 * alike. A PostgreSQL URI is shown without its password.
 */
#include "cmd/ops.h"
#include "cmd/opsaccount.h"
#include "cmd/privs.h"
#include "cmd/usage.h"
#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "base/ipaddr.h"
#include "pipeline/json.h"
#include "notice/notice.h"
#include "store/digestparts.h"
#include "store/outbox.h"
#include "store/sources.h"
#include "store/state.h"
#include "store/store.h"
#include "base/msg.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DAY 86400
#define STALE_AFTER_DAYS 3	/* status warns when a type's newest report is older */

struct cmd {
	const char *name;
	struct config *cfg;
	const char *state_path;
	char *state_where;		/* state_path as it may be shown */
	char *outbox_where;
	struct store *st;
	int json;
	time_t now;
	const char *query;		/* history: IP or ACCOUNT */
};


/* --- formatting ---------------------------------------------------------- */

enum { DATE_ONLY, TEXT_TIME, ISO_TIME };

/* fmt_time - "2026-11-24", "2026-11-24 08:52:55 UTC" or "2026-11-24T08:52:55Z" */
static const char *
fmt_time(time_t t, char *out, size_t outlen, int form)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (form == DATE_ONLY)
		strftime(out, outlen, "%Y-%m-%d", &tm);
	else if (form == TEXT_TIME)
		strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

static void
json_time_or_null(struct buf *b, const char *key, time_t t)
{
	char ts[32];

	buf_printf(b, ",\"%s\":", key);
	if (t == 0)
		buf_puts(b, "null");
	else
		json_string(b, fmt_time(t, ts, sizeof(ts), ISO_TIME));
}

/* endpoint - "192.0.2.1:111/udp" */
static const char *
endpoint(const struct state_item *it, char *out, size_t outlen)
{
	char ep[IPADDR_STRLEN + 16];
	struct ipaddr ip;

	if (ipaddr_parse(it->ip, &ip) == 0)
		notice_endpoint(&ip, it->port, ep, sizeof(ep));
	else
		snprintf(ep, sizeof(ep), "%s", it->ip);
	snprintf(out, outlen, "%s%s%s", ep, *it->protocol ? "/" : "", it->protocol);
	return out;
}

static void
json_item(struct buf *b, const struct state_item *it, unsigned grace_days)
{
	buf_putc(b, '{');
	buf_puts(b, "\"account\":");
	json_string(b, it->account);
	buf_puts(b, ",\"report_type\":");
	json_string(b, it->report_type);
	buf_puts(b, ",\"identifier\":");
	json_string(b, it->identifier);
	buf_puts(b, ",\"ip\":");
	json_string(b, it->ip);
	if (it->port < 0)
		buf_puts(b, ",\"port\":null");
	else
		buf_printf(b, ",\"port\":%d", it->port);
	buf_puts(b, ",\"protocol\":");
	json_string(b, it->protocol);
	buf_puts(b, ",\"reference\":");
	json_string(b, it->reference);
	json_time_or_null(b, "first_seen", it->first_seen);
	json_time_or_null(b, "last_seen", it->last_seen);
	json_time_or_null(b, "deadline", it->first_seen + (time_t)grace_days * DAY);
	json_time_or_null(b, "last_notified", it->last_notified);
	json_time_or_null(b, "resolved_at", it->resolved_at);
	buf_printf(b, ",\"times_reported\":%lu}", it->times_reported);
}

/* --- overdue ------------------------------------------------------------- */

static int
by_account_then_age(const void *a, const void *b)
{
	const struct state_item *x = *(const struct state_item *const *)a, *y = *(const struct state_item *const *)b;
	int c = strcmp(x->account, y->account);

	return c ? c : x->first_seen < y->first_seen ? -1 : x->first_seen > y->first_seen;
}

struct account_run {		/* one account's overdue findings: late[first..first+n) */
	size_t first, n;
	time_t oldest;
};

static int
by_oldest(const void *a, const void *b)
{
	const struct account_run *x = a, *y = b;

	return x->oldest < y->oldest ? -1 : x->oldest > y->oldest;
}

struct overdue {
	const struct state_item **late;	/* open findings past their deadline, by account, oldest first */
	size_t nlate;
	struct account_run *runs;	/* per account, the account with the oldest finding first */
	size_t nruns;
};

/* past_deadline - IT is open past its deadline; findings of an
 * informational report type have none (notice_needs_action) */
static int
past_deadline(const struct cmd *c, const struct state_item *it)
{
	return it->first_seen + (time_t)c->cfg->grace_days * DAY <= c->now &&
	    notice_needs_action(c->cfg, catalogue_lookup(c->cfg->catalogue, it->report_type));
}

static void
find_overdue(const struct cmd *c, const struct state_item *items, size_t n, struct overdue *o)
{
	size_t i;

	o->late = xcalloc(n + 1, sizeof(*o->late));
	o->runs = xcalloc(n + 1, sizeof(*o->runs));
	o->nlate = o->nruns = 0;
	for (i = 0; i < n; i++)
		if (past_deadline(c, &items[i]))
			o->late[o->nlate++] = &items[i];
	if (o->nlate > 1)
		qsort(o->late, o->nlate, sizeof(*o->late), by_account_then_age);
	for (i = 0; i < o->nlate; i++) {
		if (i == 0 || strcmp(o->late[i]->account, o->late[i - 1]->account) != 0) {
			o->runs[o->nruns].first = i;
			o->runs[o->nruns++].oldest = o->late[i]->first_seen;
		}
		o->runs[o->nruns - 1].n++;
	}
	if (o->nruns > 1)
		qsort(o->runs, o->nruns, sizeof(*o->runs), by_oldest);
}

static long
days_past(const struct cmd *c, time_t first_seen)
{
	return (long)((c->now - first_seen - (time_t)c->cfg->grace_days * DAY) / DAY);
}

static void
overdue_text(const struct cmd *c, const struct overdue *o)
{
	time_t grace = (time_t)c->cfg->grace_days * DAY;
	char t1[40], t2[40], t3[40], ep[IPADDR_STRLEN + 32];
	size_t i, j;

	printf("Findings still open past their deadline (first detection + %u days), as of %s:\n",
	    c->cfg->grace_days, fmt_time(c->now, t1, sizeof(t1), TEXT_TIME));
	if (o->nruns == 0)
		printf("none\n");
	for (i = 0; i < o->nruns; i++) {
		const struct account_run *run = &o->runs[i];
		const struct state_item *oldest = o->late[run->first];

		printf("\n%s: %zu finding%s, oldest first detected %s, deadline %s (%ld days ago)\n",
		    oldest->account, run->n, run->n == 1 ? "" : "s",
		    fmt_time(oldest->first_seen, t1, sizeof(t1), DATE_ONLY),
		    fmt_time(oldest->first_seen + grace, t2, sizeof(t2), DATE_ONLY), days_past(c, oldest->first_seen));
		for (j = run->first; j < run->first + run->n; j++) {
			const struct state_item *it = o->late[j];

			printf("    %s %s %s  first %s, last %s, deadline %s, %lu report%s\n", it->reference,
			    it->report_type, endpoint(it, ep, sizeof(ep)), fmt_time(it->first_seen, t1, sizeof(t1),
			    DATE_ONLY), fmt_time(it->last_seen, t2, sizeof(t2), DATE_ONLY),
			    fmt_time(it->first_seen + grace, t3, sizeof(t3), DATE_ONLY), it->times_reported,
			    it->times_reported == 1 ? "" : "s");
		}
	}
}

static void
overdue_json(const struct cmd *c, const struct overdue *o)
{
	time_t grace = (time_t)c->cfg->grace_days * DAY;
	struct buf b = BUF_INIT;
	size_t i, j;

	buf_puts(&b, "{\"command\":\"overdue\"");
	json_time_or_null(&b, "now", c->now);
	buf_printf(&b, ",\"grace_days\":%u,\"accounts\":[", c->cfg->grace_days);
	for (i = 0; i < o->nruns; i++) {
		const struct account_run *run = &o->runs[i];
		const struct state_item *oldest = o->late[run->first];

		buf_puts(&b, i ? ",{\"account\":" : "{\"account\":");
		json_string(&b, oldest->account);
		json_time_or_null(&b, "oldest_first_seen", oldest->first_seen);
		json_time_or_null(&b, "deadline", oldest->first_seen + grace);
		buf_printf(&b, ",\"days_overdue\":%ld,\"findings\":[", days_past(c, oldest->first_seen));
		for (j = run->first; j < run->first + run->n; j++) {
			if (j > run->first)
				buf_putc(&b, ',');
			json_item(&b, o->late[j], c->cfg->grace_days);
		}
		buf_puts(&b, "]}");
	}
	buf_puts(&b, "]}\n");
	fputs(buf_cstr(&b), stdout);
	buf_free(&b);
}

static int
cmd_overdue(struct cmd *c)
{
	struct state_item *items;
	struct overdue o;
	size_t n;
	char err[512];

	if (state_items(c->st, NULL, NULL, 1, &items, &n, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		return 1;
	}
	find_overdue(c, items, n, &o);
	if (c->json)
		overdue_json(c, &o);
	else
		overdue_text(c, &o);
	free(o.late);
	free(o.runs);
	state_items_free(items, n);
	return 0;
}

/* --- history ------------------------------------------------------------- */

struct event {
	time_t when;
	const char *what;
	const struct state_item *it;
};

static int
by_time(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return x->it < y->it ? -1 : x->it > y->it;
}

/* timeline - each episode's first and last detection, last notice, resolution */
static struct event *
timeline(const struct state_item *items, size_t n, size_t *nevents)
{
	struct event *ev = xcalloc(4 * n + 1, sizeof(*ev));
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		ev[k++] = (struct event){ items[i].first_seen, "first detected", &items[i] };
		if (items[i].last_seen != items[i].first_seen)
			ev[k++] = (struct event){ items[i].last_seen, "last detected", &items[i] };
		if (items[i].last_notified)
			ev[k++] = (struct event){ items[i].last_notified, "last notified", &items[i] };
		if (items[i].resolved_at)
			ev[k++] = (struct event){ items[i].resolved_at, "resolved", &items[i] };
	}
	if (k > 1)
		qsort(ev, k, sizeof(*ev), by_time);
	*nevents = k;
	return ev;
}

static void
history_text(const struct cmd *c, const struct state_item *items, size_t n, const struct event *ev, size_t nev)
{
	char t[40], ep[IPADDR_STRLEN + 32];
	size_t i, open = 0;

	for (i = 0; i < n; i++)
		open += items[i].resolved_at == 0;
	printf("History of %s: %zu finding%s, %zu open\n", c->query, n, n == 1 ? "" : "s", open);
	for (i = 0; i < nev; i++) {
		const struct state_item *it = ev[i].it;

		printf("%s  %-14s  %s %s %s %s", fmt_time(ev[i].when, t, sizeof(t), TEXT_TIME), ev[i].what,
		    it->account, it->report_type, endpoint(it, ep, sizeof(ep)), it->reference);
		if (!strcmp(ev[i].what, "last detected") || (!strcmp(ev[i].what, "first detected") &&
		    it->last_seen == it->first_seen))
			printf(" (%lu report%s)", it->times_reported, it->times_reported == 1 ? "" : "s");
		printf("\n");
	}
}

static void
history_json(const struct cmd *c, const struct state_item *items, size_t n, const struct event *ev, size_t nev,
    const struct account_view *v)
{
	int is_ip = v == NULL;
	struct buf b = BUF_INIT;
	size_t i;

	buf_puts(&b, "{\"command\":\"history\",\"query\":");
	json_string(&b, c->query);
	buf_printf(&b, ",\"kind\":\"%s\",\"findings\":[", is_ip ? "ip" : "account");
	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ',');
		json_item(&b, &items[i], c->cfg->grace_days);
	}
	buf_puts(&b, "],\"events\":[");
	for (i = 0; i < nev; i++) {
		buf_puts(&b, i ? ",{\"event\":" : "{\"event\":");
		json_string(&b, ev[i].what);
		buf_puts(&b, ",\"account\":");
		json_string(&b, ev[i].it->account);
		buf_puts(&b, ",\"report_type\":");
		json_string(&b, ev[i].it->report_type);
		buf_puts(&b, ",\"ip\":");
		json_string(&b, ev[i].it->ip);
		buf_puts(&b, ",\"reference\":");
		json_string(&b, ev[i].it->reference);
		json_time_or_null(&b, "time", ev[i].when);
		buf_putc(&b, '}');
	}
	buf_putc(&b, ']');
	if (v)
		account_view_json(&b, v);
	buf_puts(&b, "}\n");
	fputs(buf_cstr(&b), stdout);
	buf_free(&b);
}

static int
cmd_history(struct cmd *c)
{
	struct state_item *items;
	struct event *ev;
	struct account_view view;
	struct ipaddr ip;
	size_t n, nev;
	char err[512], canon[IPADDR_STRLEN + 4];
	unsigned len;
	int is_ip = ipaddr_parse_prefix(c->query, &ip, &len) == 0;

	/* an address, or a listed network's part as the history keys it ("198.51.100.8/29") */
	if (is_ip) {
		ipaddr_format(&ip, canon, sizeof(canon));
		if (len < ipaddr_bits(&ip))
			snprintf(canon + strlen(canon), sizeof(canon) - strlen(canon), "/%u", len);
	}
	if (state_items(c->st, is_ip ? NULL : c->query, is_ip ? canon : NULL, 0, &items, &n, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		return 1;
	}
	ev = timeline(items, n, &nev);
	if (!is_ip)	/* an account: its settings and what they withheld */
		account_view_load(&view, c->cfg, c->st, c->query);
	if (c->json)
		history_json(c, items, n, ev, nev, is_ip ? NULL : &view);
	else
		history_text(c, items, n, ev, nev);
	if (!is_ip && !c->json)
		account_view_text(&view);
	if (!is_ip)
		account_view_free(&view);
	free(ev);
	state_items_free(items, n);
	return 0;
}

/* --- status -------------------------------------------------------------- */

struct type_status {
	const char *type;
	time_t last_report, last_applied;
	unsigned long reports;
	size_t networks;
	int stale;
};

/* per_type - the streams (sorted by type) summed per report type */
static struct type_status *
per_type(const struct cmd *c, const struct state_stream *s, size_t n, size_t *ntypes)
{
	struct type_status *t = xcalloc(n + 1, sizeof(*t));
	size_t i;

	*ntypes = 0;
	for (i = 0; i < n; i++) {
		struct type_status *cur;

		if (*ntypes == 0 || strcmp(t[*ntypes - 1].type, s[i].report_type) != 0)
			t[(*ntypes)++].type = s[i].report_type;
		cur = &t[*ntypes - 1];
		if (s[i].last_report > cur->last_report)
			cur->last_report = s[i].last_report;
		if (s[i].last_applied > cur->last_applied)
			cur->last_applied = s[i].last_applied;
		cur->reports += s[i].reports;
		cur->networks++;
	}
	for (i = 0; i < *ntypes; i++)
		t[i].stale = c->now - t[i].last_report > STALE_AFTER_DAYS * DAY;
	return t;
}

/* age_days - whole days since the type's newest report; 0 for one dated ahead of our clock */
static long
age_days(const struct cmd *c, const struct type_status *t)
{
	return c->now > t->last_report ? (long)((c->now - t->last_report) / DAY) : 0;
}

struct status {
	struct outbox_counts outbox;
	int outbox_missing;		/* not created yet: nothing was ever queued */
	char outbox_error[512];		/* "" when read */
	long long digest_waiting;	/* notices kept for a daily digest (store/digestparts.h) */
	char digest_error[512];		/* "" when they were counted */
	size_t open_findings, open_cases, overdue_accounts;
	struct type_status *types;
	size_t ntypes;
	struct source_status *sources;	/* what each daemon read from its customer data */
	size_t nsources;
	char sources_error[512];	/* "" when read */
};

/* is_settings - R is an AccountSettings record (its size is accounts, not prefixes) */
static int
is_settings(const struct source_status *r)
{
	return strncmp(r->name, "AccountSettings@", 16) == 0;
}

/* sources_text - "customer data:" and a line or two per source a daemon recorded */
static void
sources_text(const struct cmd *c, const struct status *s)
{
	char t1[40], t2[40];
	size_t i;

	printf("customer data:\n");
	if (*s->sources_error)
		printf("    cannot be read: %s\n", s->sources_error);
	else if (s->nsources == 0)
		printf("    none recorded yet (the daemon records its CustomerMap when it starts)\n");
	for (i = 0; i < s->nsources; i++) {
		const struct source_status *r = &s->sources[i];

		printf("    %s %s: ", r->name, r->label);
		if (is_settings(r))
			printf("%lld accounts with settings", r->accounts);
		else
			printf("%lld prefixes, %lld accounts", r->entries, r->accounts);
		printf(", read %s (%ld min ago), checked %s\n", fmt_time(r->loaded_at, t1, sizeof(t1), TEXT_TIME),
		    (long)(c->now - r->loaded_at) / 60, fmt_time(r->checked_at, t2, sizeof(t2), TEXT_TIME));
		if (*r->last_error)
			printf("    WARNING: the last refresh, %s, was refused: %s\n",
			    fmt_time(r->error_at, t1, sizeof(t1), TEXT_TIME), r->last_error);
	}
}

static void
sources_json(struct buf *b, const struct status *s)
{
	size_t i;

	buf_puts(b, ",\"customer_data\":");
	if (*s->sources_error) {
		buf_puts(b, "{\"error\":");
		json_string(b, s->sources_error);
		buf_puts(b, "}");
		return;
	}
	buf_puts(b, "[");
	for (i = 0; i < s->nsources; i++) {
		const struct source_status *r = &s->sources[i];

		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		json_string(b, r->name);
		buf_puts(b, ",\"source\":");
		json_string(b, r->label);
		json_time_or_null(b, "loaded_at", r->loaded_at);
		json_time_or_null(b, "checked_at", r->checked_at);
		if (is_settings(r))
			buf_printf(b, ",\"prefixes\":null,\"accounts\":%lld,\"last_error\":", r->accounts);
		else
			buf_printf(b, ",\"prefixes\":%lld,\"accounts\":%lld,\"last_error\":", r->entries, r->accounts);
		if (*r->last_error)
			json_string(b, r->last_error);
		else
			buf_puts(b, "null");
		json_time_or_null(b, "error_at", *r->last_error ? r->error_at : 0);
		buf_puts(b, "}");
	}
	buf_puts(b, "]");
}

static void
read_outbox(const struct cmd *c, struct status *s)
{
	struct store *ob;
	struct stat st;

	long long in_digest;

	if (strcmp(c->cfg->outbox_db, c->state_path) == 0) {	/* one store: the recommended shape */
		if (outbox_get_counts(c->st, c->now, &s->outbox, s->outbox_error, sizeof(s->outbox_error)) == 0)
			digest_parts_count(c->st, &s->digest_waiting, &in_digest, s->digest_error,
			    sizeof(s->digest_error));
		return;
	}
	if (!store_is_pg_uri(c->cfg->outbox_db) && stat(c->cfg->outbox_db, &st) != 0 && errno == ENOENT) {
		s->outbox_missing = 1;
		return;
	}
	if ((ob = store_open(NULL, c->cfg->outbox_db, STORE_BUSY_TIMEOUT_MS, s->outbox_error,
	    sizeof(s->outbox_error))) == NULL)
		return;
	if (outbox_get_counts(ob, c->now, &s->outbox, s->outbox_error, sizeof(s->outbox_error)) == 0)
		digest_parts_count(ob, &s->digest_waiting, &in_digest, s->digest_error, sizeof(s->digest_error));
	store_close(ob);
}

static int
by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* distinct - how many different strings in V (sorted in place) */
static size_t
distinct(const char **v, size_t n)
{
	size_t i, k = n > 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), by_string);
	for (i = 1; i < n; i++)
		k += strcmp(v[i], v[i - 1]) != 0;
	return k;
}

/* count_open - open findings, cases and accounts past their deadline */
static void
count_open(const struct cmd *c, const struct state_item *items, size_t n, struct status *s)
{
	const char **refs = xcalloc(n + 1, sizeof(*refs)), **late = xcalloc(n + 1, sizeof(*late));
	size_t i, nlate = 0;

	for (i = 0; i < n; i++) {
		refs[i] = items[i].reference;
		if (past_deadline(c, &items[i]))
			late[nlate++] = items[i].account;
	}
	s->open_findings = n;
	s->open_cases = distinct(refs, n);
	s->overdue_accounts = distinct(late, nlate);
	free(refs);
	free(late);
}

static void
status_text(const struct cmd *c, const struct status *s)
{
	char t1[40], t2[40];
	size_t i;

	printf("Status as of %s\n", fmt_time(c->now, t1, sizeof(t1), TEXT_TIME));
	if (*s->outbox_error)
		printf("outbox: cannot be read: %s\n", s->outbox_error);
	else if (s->outbox_missing)
		printf("outbox %s: not created yet (nothing was ever queued)\n", c->outbox_where);
	else
		printf("outbox %s: %lld pending (%lld being sent), %lld sent, %lld failed%s%s\n", c->outbox_where,
		    s->outbox.pending, s->outbox.claimed, s->outbox.sent, s->outbox.failed,
		    s->outbox.oldest_pending ? "; oldest pending since " : "",
		    s->outbox.oldest_pending ? fmt_time(s->outbox.oldest_pending, t1, sizeof(t1), TEXT_TIME) : "");
	if (*s->digest_error)
		printf("outbox: the notices waiting for a daily digest cannot be counted: %s\n", s->digest_error);
	else if (!*s->outbox_error && s->digest_waiting)
		printf("outbox: %lld notices waiting for their account's daily digest (DigestTime)\n",
		    s->digest_waiting);
	printf("history %s: %zu open findings in %zu cases; %zu accounts past their deadline\n", c->state_where,
	    s->open_findings, s->open_cases, s->overdue_accounts);
	printf("last report per type:\n");
	if (s->ntypes == 0)
		printf("    none yet\n");
	for (i = 0; i < s->ntypes; i++) {
		const struct type_status *t = &s->types[i];

		printf("    %-28s %s  %ld days old, %lu report%s, %zu network%s, last applied %s\n", t->type,
		    fmt_time(t->last_report, t1, sizeof(t1), DATE_ONLY), age_days(c, t),
		    t->reports, t->reports == 1 ? "" : "s", t->networks, t->networks == 1 ? "" : "s",
		    fmt_time(t->last_applied, t2, sizeof(t2), TEXT_TIME));
		if (t->stale)
			printf("    WARNING: no %s report for over %d days: has it stopped arriving?\n", t->type,
			    STALE_AFTER_DAYS);
	}
	sources_text(c, s);
}

static void
status_json(const struct cmd *c, const struct status *s)
{
	struct buf b = BUF_INIT;
	size_t i;
	int warned = 0;

	buf_puts(&b, "{\"command\":\"status\"");
	json_time_or_null(&b, "now", c->now);
	buf_puts(&b, ",\"outbox\":{\"path\":");
	json_string(&b, c->outbox_where);
	if (*s->outbox_error) {
		buf_puts(&b, ",\"error\":");
		json_string(&b, s->outbox_error);
	} else {
		buf_printf(&b, ",\"error\":null,\"exists\":%s,\"pending\":%lld,\"sent\":%lld,\"failed\":%lld,"
		    "\"claimed\":%lld,\"digest_waiting\":%lld", s->outbox_missing ? "false" : "true", s->outbox.pending,
		    s->outbox.sent, s->outbox.failed, s->outbox.claimed, s->digest_waiting);
		json_time_or_null(&b, "oldest_pending", s->outbox.oldest_pending);
		buf_puts(&b, ",\"digest_error\":");
		if (*s->digest_error)
			json_string(&b, s->digest_error);
		else
			buf_puts(&b, "null");
	}
	buf_puts(&b, "},\"history\":{\"path\":");
	json_string(&b, c->state_where);
	buf_printf(&b, ",\"open_findings\":%zu,\"open_cases\":%zu,\"overdue_accounts\":%zu},\"report_types\":[",
	    s->open_findings, s->open_cases, s->overdue_accounts);
	for (i = 0; i < s->ntypes; i++) {
		const struct type_status *t = &s->types[i];

		buf_puts(&b, i ? ",{\"type\":" : "{\"type\":");
		json_string(&b, t->type);
		json_time_or_null(&b, "last_report", t->last_report);
		json_time_or_null(&b, "last_applied", t->last_applied);
		buf_printf(&b, ",\"age_days\":%ld,\"reports\":%lu,\"networks\":%zu,\"stale\":%s}",
		    age_days(c, t), t->reports, t->networks, t->stale ? "true" : "false");
	}
	buf_puts(&b, "]");
	sources_json(&b, s);
	buf_puts(&b, ",\"warnings\":[");
	for (i = 0; i < s->ntypes; i++)
		if (s->types[i].stale) {
			struct buf w = BUF_INIT;

			buf_printf(&w, "%s: no report for over %d days", s->types[i].type, STALE_AFTER_DAYS);
			if (warned++)
				buf_putc(&b, ',');
			json_string(&b, w.data);
			buf_free(&w);
		}
	buf_puts(&b, "]}\n");
	fputs(buf_cstr(&b), stdout);
	buf_free(&b);
}

static int
cmd_status(struct cmd *c)
{
	struct status s;
	struct state_item *items;
	struct state_stream *streams;
	size_t n, nstreams;
	char err[512];

	memset(&s, 0, sizeof(s));
	read_outbox(c, &s);
	if (state_items(c->st, NULL, NULL, 1, &items, &n, err, sizeof(err)) != 0 ||
	    state_streams(c->st, &streams, &nstreams, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		return 1;
	}
	count_open(c, items, n, &s);
	s.types = per_type(c, streams, nstreams, &s.ntypes);
	sources_list(c->st, &s.sources, &s.nsources, s.sources_error, sizeof(s.sources_error));
	if (c->json)
		status_json(c, &s);
	else
		status_text(c, &s);
	free(s.types);
	sources_free(s.sources, s.nsources);
	state_streams_free(streams, nstreams);
	state_items_free(items, n);
	return *s.outbox_error || *s.digest_error ? 1 : 0;
}

/* --- the command line ---------------------------------------------------- */

static int
parse_args(struct cmd *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "state", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' }, { "now", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	char err[512];
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:j", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'S': c->state_path = optarg; break;
		case 'j': c->json = 1; break;
		case 'N':
			if (parse_detection_time(optarg, &c->now) != 0)
				return usage_error(c->name, "--now \"%s\" is not 'YYYY-MM-DD HH:MM:SS'", optarg);
			break;
		default: return usage_bad_option(c->name, opt, argv);
		}
	}
	if (conf == NULL)
		return usage_error(c->name, "no configuration: give -c CONF");
	if (strcmp(c->name, "history") == 0 && optind == argc)
		return usage_error(c->name, "give the IP address or the account to look up");
	if (optind < argc - (strcmp(c->name, "history") == 0))
		return usage_error(c->name, "unexpected argument \"%s\"", argv[argc - 1]);
	c->query = optind < argc ? argv[optind] : NULL;
	if ((c->cfg = config_load(conf, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		return 2;
	}
	if (c->state_path == NULL)
		c->state_path = c->cfg->state_db;
	if (c->state_path == NULL) {
		msg_error("%s: no detection history: set StateDB, or give --state FILE", conf);
		return 2;
	}
	return 0;
}

/* open_history - the database, which must exist: these commands only read,
 * but SQLite may add its -wal and -shm files: as root, as the daemon's user */
static int
open_history(struct cmd *c)
{
	struct stat st;
	char err[512];

	if (privs_as_user(c->cfg, c->state_path, c->name, err, sizeof(err)) != 0) {
		fprintf(stderr, "shadowmilter: %s\n", err);
		return 1;
	}

	c->state_where = store_uri_where(c->state_path);
	c->outbox_where = store_uri_where(c->cfg->outbox_db);
	if (!store_is_pg_uri(c->state_path) && stat(c->state_path, &st) != 0) {
		msg_error("%s: %s (no report recorded yet?)", c->state_path, strerror(errno));
		return 1;
	}
	/* the outbox too when it is the same database (the recommended shape) */
	if ((c->st = store_open(c->state_path, strcmp(c->state_path, c->cfg->outbox_db) == 0 ? c->state_path : NULL,
	    STORE_BUSY_TIMEOUT_MS, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		return 1;
	}
	return 0;
}

int
history_main(const char *command, int argc, char **argv)
{
	struct cmd c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.name = command;
	c.now = time(NULL);
	if ((rc = parse_args(&c, argc, argv)) != 0 || (rc = open_history(&c)) != 0) {
		free(c.state_where);
		free(c.outbox_where);
		config_free(c.cfg);
		return rc;
	}
	if (strcmp(command, "overdue") == 0)
		rc = cmd_overdue(&c);
	else if (strcmp(command, "history") == 0)
		rc = cmd_history(&c);
	else
		rc = cmd_status(&c);
	store_close(c.st);
	free(c.state_where);
	free(c.outbox_where);
	config_free(c.cfg);
	return rc;
}
