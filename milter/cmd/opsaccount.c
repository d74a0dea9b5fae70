/*
 * opsaccount - what "history ACCOUNT" adds to the timeline: the account's
 * AccountSettings, the notices they withheld and those waiting for its digest
 *
 * See opsaccount.h. A settings source is read as the daemon reads it
 * (runtime_load_accounts: a command runs as UserID, within
 * CustomerMapTimeout); its label never shows a password (table_label).
 */
#include "cmd/opsaccount.h"
#include "cmd/runtime.h"
#include "config/config.h"
#include "customers/accounts.h"
#include "customers/tablesource.h"
#include "pipeline/json.h"
#include "store/digestparts.h"
#include "store/state.h"
#include "store/store.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* add_waiting - one part waiting for the digest, into the view CTX */
static void
add_waiting(void *ctx, const struct digest_part *p)
{
	struct account_view *v = ctx;

	v->waiting = xreallocarray(v->waiting, v->nwaiting + 1, sizeof(*v->waiting));
	v->waiting[v->nwaiting].report_type = xstrdup(p->report_type);
	v->waiting[v->nwaiting].action = p->action;
	v->waiting[v->nwaiting++].at = (long long)p->created;
}

void
account_view_load(struct account_view *v, const struct config *cfg, struct store *st, const char *account)
{
	memset(v, 0, sizeof(*v));
	v->account = account;
	if (cfg->account_settings) {
		v->source = table_label(cfg->account_settings);
		if ((v->table = runtime_load_accounts(cfg, v->error, sizeof(v->error))) != NULL)
			v->s = accounts_lookup(v->table, account);
	}
	if (state_withheld(st, account, &v->withheld, &v->nwithheld, v->withheld_error,
	    sizeof(v->withheld_error)) != 0)
		v->nwithheld = 0;
	if (st && store_has_outbox(st))	/* a failure is said in waiting_error; the rest stands */
		digest_parts_list(st, account, add_waiting, v, v->waiting_error, sizeof(v->waiting_error));
}

void
account_view_free(struct account_view *v)
{
	free(v->source);
	accounts_free(v->table);
	state_withheld_free(v->withheld, v->nwithheld);
	for (size_t i = 0; i < v->nwaiting; i++)
		free(v->waiting[i].report_type);
	free(v->waiting);
}

/* fmt_interval - "0", "never", or the largest unit that divides it: "7d", "36h", "90s" */
static const char *
fmt_interval(unsigned long s, char *out, size_t outlen)
{
	static const struct { char unit; unsigned long seconds; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t i;

	if (s == ACCOUNT_RENOTIFY_NEVER)
		snprintf(out, outlen, "never");
	else if (s == 0)
		snprintf(out, outlen, "0");
	else
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (s % units[i].seconds == 0) {
				snprintf(out, outlen, "%lu%c", s / units[i].seconds, units[i].unit);
				break;
			}
	return out;
}

static const char *
fmt_utc(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return out;
}

/* settings_line - "language de; cc a@x, b@x; notify none; renotify 7d; digest daily" */
static void
settings_line(struct buf *b, const struct account_settings *s)
{
	char text[512];
	size_t i;

	buf_printf(b, "language %s; cc ", s->language ? s->language : "(default)");
	for (i = 0; i < s->ncc; i++)
		buf_printf(b, "%s%s", i ? ", " : "", s->cc[i]);
	if (s->ncc == 0)
		buf_puts(b, "(none)");
	buf_printf(b, "; notify %s", account_notify_text(s, text, sizeof(text)));
	if (s->notify == ACCOUNT_NOTIFY_LIST)
		buf_puts(b, " (withheld)");
	buf_printf(b, "; renotify %s", s->has_renotify ? fmt_interval(s->renotify, text, sizeof(text)) :
	    "(RenotifyInterval)");
	buf_printf(b, "; digest %s", s->digest == ACCOUNT_DIGEST_DAILY ? "daily" : "per-type");
}

void
account_view_text(const struct account_view *v)
{
	struct buf b = BUF_INIT;
	char t[40];
	size_t i;

	buf_printf(&b, "Settings of %s: ", v->account);
	if (v->source == NULL)
		buf_puts(&b, "the defaults (no AccountSettings configured)");
	else if (*v->error)
		buf_printf(&b, "cannot be read: %s", v->error);
	else if (v->s == NULL)
		buf_printf(&b, "the defaults (no row in %s)", v->source);
	else {
		settings_line(&b, v->s);
		buf_printf(&b, " (from %s)", v->source);
	}
	printf("%s\n", b.data);
	if (*v->withheld_error)
		printf("Notices withheld: cannot be read: %s\n", v->withheld_error);
	else
		printf("Notices withheld by the account's settings: %zu\n", v->nwithheld);
	for (i = 0; i < v->nwithheld; i++)
		printf("%s  withheld        %s %s %s\n", fmt_utc(v->withheld[i].at, t, sizeof(t)), v->withheld[i].account,
		    v->withheld[i].report_type, v->withheld[i].reference);
	if (*v->waiting_error)
		printf("Notices waiting for the daily digest: cannot be read: %s\n", v->waiting_error);
	else if (v->nwaiting)
		printf("Notices waiting for the daily digest (DigestTime): %zu\n", v->nwaiting);
	for (i = 0; i < v->nwaiting; i++)
		printf("%s  for the digest  %s %s%s\n", fmt_utc((time_t)v->waiting[i].at, t, sizeof(t)), v->account,
		    v->waiting[i].report_type, v->waiting[i].action ? " (ACTION REQUIRED)" : "");
	buf_free(&b);
}

/* settings_json - {"source","error","language","cc","notify","renotify","digest"}, or null */
static void
settings_json(struct buf *b, const struct account_view *v)
{
	const struct account_settings *s = v->s;
	char text[512];
	size_t i;

	if (v->source == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_puts(b, "{\"source\":");
	json_string(b, v->source);
	buf_puts(b, ",\"error\":");
	if (*v->error)
		json_string(b, v->error);
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"row\":%s,\"language\":", s ? "true" : "false");
	if (s && s->language)
		json_string(b, s->language);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"cc\":[");
	for (i = 0; s && i < s->ncc; i++) {
		if (i)
			buf_putc(b, ',');
		json_string(b, s->cc[i]);
	}
	buf_puts(b, "],\"notify\":");
	json_string(b, account_notify_text(s, text, sizeof(text)));
	buf_puts(b, ",\"renotify\":");
	if (s && s->has_renotify)
		json_string(b, fmt_interval(s->renotify, text, sizeof(text)));
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"digest\":\"%s\"}", s && s->digest == ACCOUNT_DIGEST_DAILY ? "daily" : "per-type");
}

void
account_view_json(struct buf *b, const struct account_view *v)
{
	char t[40];
	size_t i;

	buf_puts(b, ",\"settings\":");
	settings_json(b, v);
	buf_puts(b, ",\"withheld\":[");
	for (i = 0; i < v->nwithheld; i++) {
		struct tm tm;

		gmtime_r(&v->withheld[i].at, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_puts(b, i ? ",{\"account\":" : "{\"account\":");
		json_string(b, v->withheld[i].account);
		buf_puts(b, ",\"report_type\":");
		json_string(b, v->withheld[i].report_type);
		buf_puts(b, ",\"reference\":");
		json_string(b, v->withheld[i].reference);
		buf_puts(b, ",\"time\":");
		json_string(b, t);
		buf_puts(b, ",\"reason\":\"account setting\"}");
	}
	buf_puts(b, "],\"digest_waiting\":[");
	for (i = 0; i < v->nwaiting; i++) {
		time_t at = (time_t)v->waiting[i].at;
		struct tm tm;

		gmtime_r(&at, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_puts(b, i ? ",{\"report_type\":" : "{\"report_type\":");
		json_string(b, v->waiting[i].report_type);
		buf_printf(b, ",\"action_required\":%s,\"time\":", v->waiting[i].action ? "true" : "false");
		json_string(b, t);
		buf_putc(b, '}');
	}
	buf_puts(b, "]");
}
