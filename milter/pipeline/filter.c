/*
 * filter - what the milter does at each stage of one SMTP transaction
 *
 * See filter.h.
 */
#include "pipeline/filter.h"
#include "config/config.h"
#include "customers/prefixmap.h"
#include "report/findings.h"
#include "notice/mailheader.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "trust/recognise.h"
#include "store/state.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define UNMATCHED_HEADER_MAX 40	/* addresses listed in X-Shadowmilter-Unmatched */
#define FILE_NAME_MAX 80	/* bytes of a report file's name, and of its error, */
#define FILE_ERROR_MAX 200	/* in the log line and X-Shadowmilter-Result */
#define FILE_ERRORS_LISTED 3	/* report file errors spelled out; the rest are counted */
#define WITHHELD_LISTED 20	/* notices withheld by account settings spelled out */
#define REASON_MAX 300		/* bytes of why a message made no notices */

struct filter_msg {
	const struct filter_env *env;
	char *queue_id;
	struct pipeline *pipeline;
	char **rcpts;
	size_t nrcpts;
	unsigned long headers;
	unsigned long long header_bytes, body_bytes;
	int from_seen;
	int over_limit;			/* a cap was hit: the reason why */
	char limit_reason[128];
	int planted_result, planted_unmatched;	/* our headers, forged by the sender */
	int leading_space;		/* header values come with their leading space (SMFIP_HDR_LEADSPC) */
	char *subject;			/* the first Subject, raw */
	size_t queued;
};

struct filter_msg *
filter_begin(const struct filter_env *env, const char *queue_id, const char *envelope_sender)
{
	struct filter_msg *m = xcalloc(1, sizeof(*m));

	m->env = env;
	m->queue_id = xstrdup(queue_id && *queue_id ? queue_id : "NOQUEUE");
	m->pipeline = pipeline_new(env->cfg, env->map);
	pipeline_set_accounts(m->pipeline, env->accounts);
	if (env->templates)
		pipeline_set_templates(m->pipeline, env->templates);
	/* the notices of this message are queued and sent: they count as notified */
	pipeline_set_store(m->pipeline, env->store, 1);
	if (envelope_sender)
		pipeline_set_envelope_sender(m->pipeline, envelope_sender);
	return m;
}

void
filter_end(struct filter_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	pipeline_free(m->pipeline);
	for (i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->queue_id);
	free(m->subject);
	free(m);
}

void
filter_set_queue_id(struct filter_msg *m, const char *queue_id)
{
	if (queue_id && *queue_id && strcmp(m->queue_id, queue_id) != 0) {
		free(m->queue_id);
		m->queue_id = xstrdup(queue_id);
	}
}

void
filter_set_leading_space(struct filter_msg *m, int yes)
{
	m->leading_space = yes;
}

const char *
filter_queue_id(const struct filter_msg *m)
{
	return m->queue_id;
}

size_t
filter_notices_queued(const struct filter_msg *m)
{
	return m->queued;
}

enum filter_action
filter_rcpt(struct filter_msg *m, const char *rcpt)
{
	m->rcpts = xreallocarray(m->rcpts, m->nrcpts + 1, sizeof(char *));
	m->rcpts[m->nrcpts++] = xstrdup(rcpt);
	return FILTER_CONTINUE;
}

static void
hit_limit(struct filter_msg *m, const struct filter_io *io, const char *what)
{
	if (m->over_limit)
		return;
	m->over_limit = 1;
	snprintf(m->limit_reason, sizeof(m->limit_reason), "%s", what);
	io->log(io->ctx, LOG_WARNING, "%s: %s; the message passes without notices", m->queue_id, what);
}

enum filter_action
filter_header(struct filter_msg *m, const struct filter_io *io, const char *name, const char *value)
{
	const struct config *cfg = m->env->cfg;
	struct buf line = BUF_INIT;

	if (!ascii_strcasecmp(name, "X-Shadowmilter-Result"))
		m->planted_result++;
	else if (!ascii_strcasecmp(name, "X-Shadowmilter-Unmatched"))
		m->planted_unmatched++;
	else if (!ascii_strcasecmp(name, "Subject") && m->subject == NULL)
		m->subject = xstrdup(value);
	if (!ascii_strcasecmp(name, "From") && !m->from_seen++ && !recognise_from_matches(cfg, value))
		return FILTER_ACCEPT;
	if (m->over_limit)
		return FILTER_CONTINUE;
	m->header_bytes += strlen(name) + strlen(value) + 4;
	if (++m->headers > cfg->max_headers || m->header_bytes > cfg->max_header_bytes) {
		hit_limit(m, io, "header count or size over MaxHeaders/MaxHeaderBytes");
		return FILTER_CONTINUE;
	}
	/* the header as it came, for our own DKIM verification: with its own
	 * leading space when the MTA gives it, else the usual single space */
	buf_printf(&line, m->leading_space ? "%s:%s\r\n" : "%s: %s\r\n", name, value);
	pipeline_feed(m->pipeline, line.data, line.len);
	buf_free(&line);
	return FILTER_CONTINUE;
}

enum filter_action
filter_eoh(struct filter_msg *m, const struct filter_io *io)
{
	(void)io;
	if (!m->from_seen)	/* no From at all: not a report */
		return FILTER_ACCEPT;
	pipeline_feed(m->pipeline, "\r\n", 2);
	/* a report sender that failed authentication goes on to EOM without
	 * its body (filter_body skips it), to be told why in a header */
	return FILTER_CONTINUE;
}

enum filter_action
filter_body(struct filter_msg *m, const struct filter_io *io, const char *data, size_t len)
{
	if (m->over_limit || !pipeline_wants_body(m->pipeline))
		return FILTER_SKIP;
	m->body_bytes += len;
	if (m->body_bytes > m->env->cfg->max_report_size) {
		hit_limit(m, io, "report larger than MaxReportSize");
		return FILTER_SKIP;
	}
	pipeline_feed(m->pipeline, data, len);
	return FILTER_CONTINUE;
}

/* --- end of message ------------------------------------------------------ */

static void
add_header(const struct filter_io *io, const char *name, const char *value)
{
	char *v = header_encode(name, value);

	io->add_header(io->ctx, name, v);
	free(v);
}

/*
 * put_clean - TEXT for inside a quoted-string of a header and a log line: no
 * control characters, no quote or backslash (they become '), at most MAX
 * bytes. Report file names and parser messages carry the sender's bytes.
 */
static void
put_clean(struct buf *v, const char *text, size_t max)
{
	char *clean = text_clean(text, max), *p;

	for (p = clean; *p; p++)
		if (*p == '"' || *p == '\\')
			*p = '\'';
	buf_puts(v, clean);
	free(clean);
}

/* put_quoted - the same, in double quotes */
static void
put_quoted(struct buf *v, const char *text, size_t max)
{
	buf_putc(v, '"');
	put_clean(v, text, max);
	buf_putc(v, '"');
}

/* remove_planted - our result headers are ours alone: drop forged ones */
static void
remove_planted(const struct filter_msg *m, const struct filter_io *io)
{
	int i;

	for (i = m->planted_result; i > 0; i--)
		io->change_header(io->ctx, "X-Shadowmilter-Result", i, NULL);
	for (i = m->planted_unmatched; i > 0; i--)
		io->change_header(io->ctx, "X-Shadowmilter-Unmatched", i, NULL);
}

static enum filter_action
pass_unprocessed(const struct filter_msg *m, const struct filter_io *io, const char *reason)
{
	struct buf why = BUF_INIT, v = BUF_INIT;

	put_quoted(&why, reason, REASON_MAX);
	buf_printf(&v, "none; reason=%s", why.data);
	add_header(io, "X-Shadowmilter-Result", v.data);
	io->log(io->ctx, LOG_NOTICE, "%s: no notices: reason=%s", m->queue_id, why.data);
	buf_free(&why);
	buf_free(&v);
	return FILTER_ACCEPT;
}

/*
 * tempfail - the report is not handled now; the sending MTA keeps it and
 * retries. WHAT and DETAIL go to our log; REASON (fixed text, nothing from
 * the message or the system) is the SMTP reply the sender sees.
 */
static enum filter_action
tempfail_code(const struct filter_msg *m, const struct filter_io *io, const char *xcode, const char *what,
    const char *detail, const char *reason)
{
	struct buf text = BUF_INIT;

	io->log(io->ctx, LOG_ERR, "%s: %s, sender must retry: %s", m->queue_id, what, detail);
	buf_printf(&text, "shadowmilter: %s, try again later", reason);
	if (io->set_reply && io->set_reply(io->ctx, "451", xcode, text.data) != 0)
		io->log(io->ctx, LOG_WARNING, "%s: the MTA refused the reply text \"%s\"", m->queue_id, text.data);
	buf_free(&text);
	return FILTER_TEMPFAIL;
}

static enum filter_action
tempfail(const struct filter_msg *m, const struct filter_io *io, const char *what, const char *detail,
    const char *reason)
{
	return tempfail_code(m, io, "4.3.0", what, detail, reason);
}

/* describe_digest - ' digest=N': the notices kept for their accounts' daily
 * digest (AccountSettings digest daily), with or without a history */
static void
describe_digest(struct buf *v, const struct pipeline_result *r)
{
	size_t i, j, n = 0;

	for (i = 0; i < r->nreports; i++)
		for (j = 0; !r->reports[i].merged_into && j < r->reports[i].nnotices; j++)
			n += r->reports[i].notices[j].digest && r->reports[i].notices[j].made;
	if (n)
		buf_printf(v, " digest=%zu", n);
}

/* describe_history - what the detection history did, when there is one */
static void
describe_history(struct buf *v, const struct pipeline_result *r)
{
	struct pipeline_history h;

	pipeline_history_counts(r, &h);
	if (!h.recorded)
		return;
	buf_printf(v, " renotify_skipped=%zu resolved=%lu", h.held, h.resolved + h.expired);
	if (h.withheld)
		buf_printf(v, " withheld=%zu", h.withheld);
	if (h.closed)
		buf_printf(v, " cases_closed=%zu", h.closed);
}

/* log_closed - one line per case the report closed (everything resolved) */
static void
log_closed(const struct filter_msg *m, const struct filter_io *io, const struct pipeline_result *r)
{
	size_t i, j;

	for (i = 0; i < r->nreports; i++)
		for (j = 0; r->reports[i].history && j < r->reports[i].history->nclosed; j++) {
			const struct state_closed *c = &r->reports[i].history->closed[j];

			io->log(io->ctx, LOG_INFO, "%s: case %s resolved: %s, %s, %zu finding%s", m->queue_id,
			    c->reference, c->account, c->report_type, c->nitems, c->nitems == 1 ? "" : "s");
		}
}

/* describe_errors - why report files were not used: '; error="file: reason"' each */
static void
describe_errors(struct buf *v, const struct pipeline_result *r, int errors)
{
	size_t i;
	int listed = 0;

	for (i = 0; i < r->nreports && listed < FILE_ERRORS_LISTED; i++) {
		const struct report_file *rf = r->reports[i].rf;

		if (rf->error == NULL)
			continue;
		/* each part has its own limit: a long name never hides the reason */
		buf_puts(v, "; error=\"");
		put_clean(v, rf->file, FILE_NAME_MAX);
		buf_puts(v, ": ");
		put_clean(v, rf->error, FILE_ERROR_MAX);
		buf_putc(v, '"');
		listed++;
	}
	if (errors > listed)
		buf_printf(v, "; errors_not_listed=%d", errors - listed);
}

/* describe_withheld - '; withheld="acme scan_ntp: account setting"' per notice an
 * account's settings withheld (without a history too: nothing was sent) */
static void
describe_withheld(struct buf *v, const struct pipeline_result *r)
{
	size_t i, j, listed = 0, total = 0;

	for (i = 0; i < r->nreports; i++)
		for (j = 0; !r->reports[i].merged_into && j < r->reports[i].nnotices; j++) {
			const struct notice *n = &r->reports[i].notices[j];

			if (!n->withheld || total++ >= WITHHELD_LISTED)
				continue;
			buf_puts(v, "; withheld=\"");
			put_clean(v, n->customer->name, FILE_NAME_MAX);
			buf_putc(v, ' ');
			put_clean(v, r->reports[i].rf->type, FILE_NAME_MAX);
			buf_puts(v, ": account setting\"");
			listed++;
		}
	if (total > listed)
		buf_printf(v, "; withheld_not_listed=%zu", total - listed);
}

static void
describe(struct buf *v, const struct filter_msg *m, const struct pipeline_result *r)
{
	size_t notices, unmatched, i;
	unsigned long skipped;
	int errors = 0;

	pipeline_counts(r, &notices, &unmatched, &skipped);
	buf_printf(v, "notices=%zu", notices);
	if (notices > m->queued)
		buf_printf(v, " duplicates=%zu", notices - m->queued);
	buf_printf(v, " unmatched=%zu skipped_rows=%lu type=", unmatched, skipped);
	for (i = 0; i < r->nreports; i++) {
		buf_printf(v, "%s%s", i ? "," : "", r->reports[i].rf->type);
		errors += r->reports[i].rf->error != NULL;
	}
	if (r->nreports == 0)
		buf_puts(v, "none");
	if (errors)
		buf_printf(v, " errors=%d", errors);
	describe_history(v, r);
	describe_digest(v, r);
	buf_printf(v, " ref=%s", r->report_ref);
	if (r->auth)	/* which signature (or verifier) vouched for it */
		buf_printf(v, " auth=\"%s\"", r->auth);
	if (r->nreports == 0) {
		buf_puts(v, "; reason=");
		put_quoted(v, r->reason, REASON_MAX);
	}
	for (i = 0; i < r->nreports; i++)	/* why a report named nobody */
		if (r->reports[i].rf->note) {
			buf_puts(v, "; note=");
			put_quoted(v, r->reports[i].rf->note, REASON_MAX);
		}
	if (errors)
		describe_errors(v, r, errors);
	describe_withheld(v, r);
}

static void
list_unmatched(const struct filter_io *io, const struct pipeline_result *r)
{
	struct buf v = BUF_INIT;
	char ep[FINDING_ADDRSTRLEN + 16];
	size_t i, j, listed = 0, total = 0;

	for (i = 0; i < r->nreports; i++)
		for (j = 0; j < r->reports[i].rf->nunmatched; j++, total++) {
			const struct finding *f = r->reports[i].rf->unmatched[j];

			if (listed++ >= UNMATCHED_HEADER_MAX)
				continue;
			finding_endpoint(f, ep, sizeof(ep));
			buf_printf(&v, "%s%s%s%s", v.len ? ", " : "", ep, *f->protocol ? "/" : "", f->protocol);
		}
	if (total > UNMATCHED_HEADER_MAX)
		buf_printf(&v, " (and %zu more)", total - UNMATCHED_HEADER_MAX);
	if (total)
		add_header(io, "X-Shadowmilter-Unmatched", v.data);
	buf_free(&v);
}

static void
tag_subject(const struct filter_msg *m, const struct filter_io *io)
{
	const char *tag = m->env->cfg->report_subject_tag;
	struct buf v = BUF_INIT;

	if (*tag == '\0')
		return;
	buf_printf(&v, "%s %s", tag, m->subject ? ascii_trim(m->subject) : "");
	if (m->subject) {	/* the sender's bytes go back cleaned and encoded, like ours */
		char *enc = header_encode("Subject", v.data);

		io->change_header(io->ctx, "Subject", 1, enc);
		free(enc);
	} else
		add_header(io, "Subject", v.data);
	buf_free(&v);
}

static enum filter_action
report_action(const struct filter_msg *m, const struct filter_io *io)
{
	const struct config *cfg = m->env->cfg;
	size_t i;

	if (cfg->report_action == REPORT_DISCARD)
		return FILTER_DISCARD;
	if (cfg->report_action == REPORT_REDIRECT) {
		for (i = 0; i < m->nrcpts; i++)
			io->del_rcpt(io->ctx, m->rcpts[i]);
		io->add_rcpt(io->ctx, cfg->redirect_to);
	}
	return FILTER_ACCEPT;
}

enum filter_action
filter_eom(struct filter_msg *m, const struct filter_io *io, time_t now)
{
	struct pipeline_result *r;
	struct buf v = BUF_INIT;
	char err[512];

	remove_planted(m, io);
	if (m->over_limit)
		return pass_unprocessed(m, io, m->limit_reason);
	pipeline_set_now(m->pipeline, now);
	pipeline_set_queue_id(m->pipeline, m->queue_id);
	if (pipeline_finish(m->pipeline, &r, err, sizeof(err)) != 0)
		return tempfail(m, io, "report not handled", err, pipeline_store_failed(m->pipeline) ?
		    "notice queue unavailable" : pipeline_key_unavailable(m->pipeline) ?
		    "DKIM key lookup failed" : "report could not be processed");
	if (!r->authenticated || r->too_large) {
		/*
		 * An authenticated report over MaxReportFiles, MaxColumns or
		 * MaxReportMemory is deferred (451 4.3.4, "message too big for
		 * system"), not refused: only the sender's own signed mail gets
		 * here (a forged body fails its hash first and passes without
		 * notices), so the report stays in ShadowServer's queue while
		 * the log tells the site which limit to raise.
		 */
		enum filter_action a = r->too_large ? tempfail_code(m, io, "4.3.4", "report not handled", r->reason,
		    "report too large for this site's limits") : pass_unprocessed(m, io, r->reason);

		pipeline_result_free(r);
		return a;
	}
	m->queued = r->queued;
	describe(&v, m, r);
	add_header(io, "X-Shadowmilter-Result", v.data);
	list_unmatched(io, r);
	tag_subject(m, io);
	io->log(io->ctx, LOG_INFO, "%s: report %s", m->queue_id, v.data);
	log_closed(m, io, r);
	buf_free(&v);
	pipeline_result_free(r);
	return report_action(m, io);
}
