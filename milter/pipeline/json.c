/*
 * json - the replay --json output, a public interface for ops automation
 *
 * See json.h.
 */
#include "pipeline/json.h"
#include "report/findings.h"
#include "notice/mailheader.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void
json_string(struct buf *out, const char *s)
{
	char *clean = text_clean(s ? s : "", (size_t)-1 / 2);	/* valid UTF-8, no controls */
	const char *p;

	buf_putc(out, '"');
	for (p = clean; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(out, '\\');
		buf_putc(out, *p);
	}
	buf_putc(out, '"');
	free(clean);
}

static void
json_key(struct buf *out, const char *key, int first)
{
	if (!first)
		buf_putc(out, ',');
	json_string(out, key);
	buf_putc(out, ':');
}

static void
json_time(struct buf *out, const char *key, time_t t)
{
	char ts[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_key(out, key, 0);
	json_string(out, ts);
}

/* json_history - a finding's history fields, added only with a state database */
static void
json_history(struct buf *out, const struct state_finding *h)
{
	json_time(out, "first_seen", h->first_seen);
	json_time(out, "deadline", h->deadline);
	buf_printf(out, ",\"overdue\":%s,\"new\":%s,\"times_reported\":%lu", h->overdue ? "true" : "false",
	    h->is_new ? "true" : "false", h->times_reported);
}

static void
json_finding(struct buf *out, const struct finding *f, int with_time, const struct state_finding *h)
{
	char ip[FINDING_ADDRSTRLEN];

	finding_address(f, ip, sizeof(ip));
	buf_putc(out, '{');
	json_key(out, "ip", 1);
	json_string(out, ip);
	finding_listed(f, ip, sizeof(ip));
	if (*ip) {	/* the report listed a network larger than this customer's part */
		json_key(out, "listed", 0);
		json_string(out, ip);
	}
	json_key(out, "port", 0);
	if (f->port < 0)
		buf_puts(out, "null");
	else
		buf_printf(out, "%d", f->port);
	json_key(out, "protocol", 0);
	json_string(out, f->protocol);
	if (with_time)
		json_time(out, "timestamp", f->detected);
	if (h)
		json_history(out, h);
	buf_putc(out, '}');
}

/* json_notice - a made notice: of findings, with them (and their history,
 * with a state database), or a confirmation, with its reference and type */
static void
json_notice(struct buf *out, const struct notice *n)
{
	int findings = n->kind == NOTICE_FINDINGS;
	size_t i;

	buf_putc(out, '{');
	json_key(out, "account", 1);
	json_string(out, n->account);
	json_key(out, "to", 0);
	buf_putc(out, '[');
	for (i = 0; i < n->nto; i++) {
		if (i)
			buf_putc(out, ',');
		json_string(out, n->to[i]);
	}
	buf_putc(out, ']');
	if (n->ncc) {	/* AccountSettings cc: only when there is one, so other output stays as it was */
		json_key(out, "cc", 0);
		buf_putc(out, '[');
		for (i = 0; i < n->ncc; i++) {
			if (i)
				buf_putc(out, ',');
			json_string(out, n->cc[i]);
		}
		buf_putc(out, ']');
	}
	if (n->digest) {	/* AccountSettings digest daily: goes out in the day's digest, not alone */
		json_key(out, "digest", 0);
		buf_puts(out, "true");
	}
	json_key(out, "subject", 0);
	json_string(out, n->subject);
	json_key(out, "message_id", 0);
	json_string(out, n->message_id);
	if (*n->reference || !findings) {
		json_key(out, "reference", 0);
		json_string(out, n->reference);
		json_key(out, "report_type", 0);
		json_string(out, n->report_type);
	}
	if (findings) {
		json_key(out, "action_required", 0);
		buf_puts(out, n->action_required ? "true" : "false");
		json_key(out, "findings", 0);
		buf_putc(out, '[');
		for (i = 0; i < n->nfindings; i++) {
			const struct state_finding *h = n->findings[i].h;
			struct state_finding sf;

			if (i)
				buf_putc(out, ',');
			if (h) {	/* an informational notice has no deadline to be past */
				sf = *h;
				sf.overdue = sf.overdue && n->action_required;
			}
			json_finding(out, n->findings[i].f, 1, h ? &sf : NULL);
		}
		buf_putc(out, ']');
	}
	buf_putc(out, '}');
}

/* json_outcome - what the detection history did with the report */
static void
json_outcome(struct buf *out, const struct report_output *ro)
{
	const struct state_outcome *o = ro->history;
	size_t i, n = 0;

	buf_puts(out, ",\"renotify_skipped\":[");
	for (i = 0; i < ro->nnotices; i++)
		if (ro->notices[i].held) {
			if (n++)
				buf_putc(out, ',');
			json_string(out, ro->notices[i].customer->name);
		}
	for (i = 0, n = 0; i < ro->nnotices; i++)	/* AccountSettings notify: only when one was */
		if (ro->notices[i].withheld) {
			buf_puts(out, n++ ? "," : "],\"withheld\":[");
			json_string(out, ro->notices[i].customer->name);
		}
	buf_printf(out, "],\"resolved_findings\":%lu,\"expired_findings\":%lu,\"late\":%s,"
	    "\"already_applied\":%s,\"closed_cases\":[", o->resolved, o->expired, o->late ? "true" : "false",
	    o->replayed ? "true" : "false");
	for (i = 0; i < o->nclosed; i++) {
		buf_puts(out, i ? ",{" : "{");
		json_key(out, "account", 1);
		json_string(out, o->closed[i].account);
		json_key(out, "report_type", 0);
		json_string(out, o->closed[i].report_type);
		json_key(out, "reference", 0);
		json_string(out, o->closed[i].reference);
		buf_putc(out, '}');
	}
	buf_puts(out, "],\"confirmations\":[");
	for (i = 0; i < ro->nconfirmations; i++) {
		if (i)
			buf_putc(out, ',');
		json_notice(out, &ro->confirmations[i]);
	}
	buf_putc(out, ']');
}

void
json_report_open(struct buf *out, const struct report_output *ro, int first)
{
	const struct report_file *rf = ro->rf;

	buf_puts(out, first ? "{" : ",{");
	json_key(out, "type", 1);
	json_string(out, rf->type);
	json_key(out, "file", 0);
	json_string(out, rf->file);
	json_key(out, "date", 0);
	json_string(out, rf->date);
	json_key(out, "identifier", 0);
	json_string(out, rf->identifier);
	buf_printf(out, ",\"rows\":%lu,\"skipped_rows\":%lu", rf->rows, rf->skipped_rows);
	json_key(out, "first_skip", 0);
	if (rf->first_skip)
		json_string(out, rf->first_skip);
	else
		buf_puts(out, "null");
	json_key(out, "error", 0);
	if (rf->error)
		json_string(out, rf->error);
	else
		buf_puts(out, "null");
	if (rf->note) {
		json_key(out, "note", 0);
		json_string(out, rf->note);
	}
	if (ro->merged_into) {	/* its findings are in that file's notices: one per account and type */
		json_key(out, "merged_into", 0);
		json_string(out, ro->merged_into);
	}
	json_key(out, "notices", 0);
	buf_putc(out, '[');
}

void
json_report_notice(struct buf *out, const struct notice *n, int first)
{
	if (!first)
		buf_putc(out, ',');
	json_notice(out, n);
}

void
json_report_close(struct buf *out, const struct report_output *ro)
{
	const struct report_file *rf = ro->rf;
	size_t i;

	buf_puts(out, "],\"unmatched\":[");
	for (i = 0; i < rf->nunmatched; i++) {
		if (i)
			buf_putc(out, ',');
		json_finding(out, rf->unmatched[i], 0, NULL);
	}
	buf_putc(out, ']');
	if (ro->history)
		json_outcome(out, ro);
	buf_putc(out, '}');
}

static void
json_report(struct buf *out, const struct report_output *ro, int first)
{
	size_t i, n = 0;

	json_report_open(out, ro, first);
	for (i = 0; i < ro->nnotices; i++)
		if (ro->notices[i].message)	/* made, and kept */
			json_report_notice(out, &ro->notices[i], n++ == 0);
	json_report_close(out, ro);
}

/* json_message_fields - a result's fields up to the opening of "reports" */
static void
json_message_fields(struct buf *out, const struct pipeline_result *r)
{
	buf_printf(out, ",\"report\":%s,\"authenticated\":%s", r->report ? "true" : "false",
	    r->authenticated ? "true" : "false");
	if (r->trusted_by_operator)
		buf_puts(out, ",\"trusted_by_operator\":true");
	json_key(out, "reason", 0);
	json_string(out, r->reason);
	json_key(out, "error", 0);
	buf_puts(out, "null");
	json_key(out, "message_id", 0);
	json_string(out, r->message_id);
	json_key(out, "subject", 0);
	json_string(out, r->subject);
	json_key(out, "link", 0);
	if (r->link)
		json_string(out, r->link);
	else
		buf_puts(out, "null");
	json_key(out, "reports", 0);
	buf_putc(out, '[');
}

void
json_result(struct buf *out, const char *message, const struct pipeline_result *r, const char *error)
{
	size_t i;

	buf_putc(out, '{');
	json_key(out, "message", 1);
	json_string(out, message);
	if (r == NULL) {
		buf_puts(out, ",\"report\":false,\"authenticated\":false");
		json_key(out, "reason", 0);
		json_string(out, "");
		json_key(out, "error", 0);
		json_string(out, error);
		buf_puts(out, ",\"message_id\":null,\"subject\":null,\"link\":null,\"reports\":[]}\n");
		return;
	}
	json_message_fields(out, r);
	for (i = 0; i < r->nreports; i++)
		json_report(out, &r->reports[i], i == 0);
	json_message_close(out);
}

void
json_message_open(struct buf *out, const char *message, const struct pipeline_result *r)
{
	buf_putc(out, '{');
	json_key(out, "message", 1);
	json_string(out, message);
	json_message_fields(out, r);
}

void
json_message_close(struct buf *out)
{
	buf_puts(out, "]}\n");
}
