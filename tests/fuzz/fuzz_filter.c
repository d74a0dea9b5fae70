/*
 * fuzz_filter - libFuzzer target: the milter's callback sequence
 *
 * Drives filter_begin / filter_rcpt / filter_header / filter_eoh /
 * filter_body / filter_eom / filter_end as libmilter would, with arbitrary
 * sequences of messages, headers, body chunks and aborts, against a real
 * SQLite store (outbox and history in one file) in a temp directory made once per
 * process (they carry over between inputs, as on a live MX).
 *
 * Input: byte 0 picks the filter environment (ENVS below: report action,
 * limits, history or none, a broken history) and whether the last message
 * ends in an abort; byte 1 the body chunk size. The rest is read as mail
 * text, line by line:
 *   - header lines until a blank line ("Name: value", folded lines joined
 *     with "\n" as libmilter passes them), then body bytes;
 *   - a line starting with \001 is a directive for the MTA side:
 *       \001M<sender>  a new message (envelope sender, may be empty)
 *       \001A          the MTA aborts the message in progress; a new one starts
 *       \001E          end of message now; a new one starts
 *       \001R<rcpt>    a recipient (before the first header)
 *       \001Q<id>      the queue id becomes known
 *       \001T<hours>   the clock moves on
 * A message ends at end of input with an end of message (or an abort).
 * Like libmilter, after ACCEPT, DISCARD or TEMPFAIL the message gets no more
 * callbacks, and after SKIP no more body.
 *
 * Checked after every callback and message:
 *   - every header the filter adds or changes is one of its own and cannot
 *     carry a line break or a control character; an SMTP reply has a 4xx/5xx
 *     code with a matching enhanced code and no line break; no log line
 *     carries a line break (mail text cannot forge a second log line);
 *   - no notice is queued for a message that had no Authentication-Results
 *     from a trusted authserv-id, or no From naming the report sender;
 *   - every queued notice has a header block that parses (no injection).
 * The outbox is drained after each message (notices are marked sent), so
 * "queued by this message" is simply "pending".
 *
 *   make fuzz   (tests/fuzz/run.sh builds the seeds from the report mails)
 */
#include "fuzzutil.h"

#include "config/config.h"
#include "pipeline/filter.h"
#include "notice/notice.h"
#include "store/outbox.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "store/store.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START 1795000000	/* 2026-11-17 */
#define TRUSTED_IDS "mx.example.net mx.fuzz.example"
#define SENDER "autoreports@shadowserver.org"

/* the environments byte 0 picks from: "Key value" settings over the defaults */
static const char *const env_settings[][8] = {
	{ NULL },
	{ "ReportAction", "discard", "NotifyResolved", "yes", NULL },
	{ "ReportAction", "redirect ops@example.net", "MaxHeaders", "25", NULL },
	{ "MaxHeaderBytes", "4k", "MaxReportSize", "32k", "ReportSubjectTag", "none", NULL },
	{ "RenotifyInterval", "0", "ResolveAfterDays", "0", NULL },
};
#define NENVS (sizeof(env_settings) / sizeof(env_settings[0]))
#define ENV_NO_HISTORY 3	/* this one has no StateDB */
#define ENV_BROKEN_HISTORY (NENVS)	/* and one more: StateDB set, could not be opened */

static struct filter_env envs[NENVS + 1];
static struct store *store;		/* history and outbox in one SQLite file */

static const char map_csv[] =
    "prefix,account,email\n"
    "0.0.0.0/1,low,low@example.net\n"
    "128.0.0.0/1,high,high@example.net;noc@example.net\n"
    "192.0.2.0/24,acme,ops@acme.example\n"
    "192.0.2.64/29,bob,bob@bob.example\n"
    "::/0,six,six@example.net\n"
    "2001:db8::/32,doc,doc@example.org\n";

static void
setup(void)
{
	char path[4096], err[1024];
	struct prefixmap *map = prefixmap_new();
	struct store *outbox_only, *broken;
	char bad[4096];
	size_t i, j;

	fuzz_path(path, sizeof(path), "customers.csv");
	fuzz_write_file(path, map_csv, sizeof(map_csv) - 1);
	if (prefixmap_load(map, path, err, sizeof(err)) != 0)
		goto fail;
	fuzz_path(path, sizeof(path), "store.db");
	if ((store = store_open(path, path, STORE_BUSY_TIMEOUT_MS, err, sizeof(err))) == NULL ||
	    (outbox_only = store_open(NULL, path, STORE_BUSY_TIMEOUT_MS, err, sizeof(err))) == NULL)
		goto fail;
	/* StateDB set, but it cannot be opened: every report is deferred */
	fuzz_path(bad, sizeof(bad), "no-such-dir/state.db");
	if ((broken = store_new(bad, path, 200, err, sizeof(err))) == NULL)
		goto fail;
	for (i = 0; i <= NENVS; i++) {
		struct config *cfg = config_new();
		const char *const *kv = env_settings[i < NENVS ? i : 0];

		/* VerifyDKIM no: a mutated message keeps no DKIM signature valid, so
		 * the fuzzer reaches the report paths through a trusted header */
		if (config_set(cfg, "TrustedAuthservIDs", TRUSTED_IDS, err, sizeof(err)) != 0 ||
		    config_set(cfg, "VerifyDKIM", "no", err, sizeof(err)) != 0 ||
		    config_load_catalogue(cfg, err, sizeof(err)) != 0)
			goto fail;
		for (j = 0; kv[j]; j += 2)
			if (config_set(cfg, kv[j], kv[j + 1], err, sizeof(err)) != 0)
				goto fail;
		/* parsed once, as the daemon's runtime snapshot does */
		if ((envs[i].templates = notice_templates_load(cfg, err, sizeof(err))) == NULL)
			goto fail;
		envs[i].cfg = cfg;
		envs[i].map = map;
		envs[i].store = i == ENV_NO_HISTORY ? outbox_only : i == ENV_BROKEN_HISTORY ? broken : store;
	}
	return;
fail:
	fprintf(stderr, "fuzz_filter setup: %s\n", err);
	abort();
}

/* --- the MTA side -------------------------------------------------------- */

static int
is_ours(const char *name)
{
	return !strcmp(name, "X-Shadowmilter-Result") || !strcmp(name, "X-Shadowmilter-Unmatched") ||
	    !strcmp(name, "Subject");
}

static int
mta_add_header(void *ctx, const char *name, const char *value)
{
	(void)ctx;
	if (!is_ours(name) || !fuzz_header_value_safe(value))
		fuzz_fail("the filter added a header that is not its own or not safe", value);
	return 0;
}

static int
mta_change_header(void *ctx, const char *name, int index, const char *value)
{
	(void)ctx;
	if (!is_ours(name) || index < 1 || (value && !fuzz_header_value_safe(value)))
		fuzz_fail("the filter changed a header that is not its own, or unsafely", value);
	return 0;
}

static int
mta_rcpt(void *ctx, const char *rcpt)
{
	(void)ctx;
	if (strpbrk(rcpt, "\r\n"))
		fuzz_fail("a line break in a recipient", rcpt);
	return 0;
}

static void mta_log(void *ctx, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
mta_log(void *ctx, int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	(void)ctx;
	(void)priority;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (strpbrk(line, "\r\n"))	/* mail text in a log line must not forge a second one */
		fuzz_fail("a line break in a log line", line);
	if (getenv("FUZZ_FILTER_LOG"))	/* to see what the seeds reach: FUZZ_FILTER_LOG=1 fuzz_filter SEED */
		fprintf(stderr, "log: %s\n", line);
}

static int
mta_set_reply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	(void)ctx;
	if (strlen(rcode) != 3 || (rcode[0] != '4' && rcode[0] != '5') || xcode[0] != rcode[0] ||
	    strpbrk(text, "\r\n"))
		fuzz_fail("an SMTP reply with a bad code or a line break", text);
	return 0;
}

static const struct filter_io io = { .add_header = mta_add_header, .change_header = mta_change_header,
	.add_rcpt = mta_rcpt, .del_rcpt = mta_rcpt, .log = mta_log, .ctx = NULL, .set_reply = mta_set_reply };

/* --- one message --------------------------------------------------------- */

struct msg {
	const struct filter_env *env;
	struct filter_msg *m;	/* NULL: no message, or it got its final answer */
	int headers_seen, eoh_done, skip_body;
	int trusted_authres, report_from;	/* what could make it a report */
	struct buf name, value;	/* the header being unfolded */
	time_t now;
};

static void
msg_begin(struct msg *s, const char *sender)
{
	s->m = filter_begin(s->env, "FUZZQID", sender);
	s->headers_seen = s->eoh_done = s->skip_body = 0;
	s->trusted_authres = s->report_from = 0;
	buf_reset(&s->name);
	buf_reset(&s->value);
}

/* msg_answer - a callback's action: after a final one the message is over */
static void
msg_answer(struct msg *s, enum filter_action a)
{
	if (a == FILTER_SKIP)
		s->skip_body = 1;
	else if (a != FILTER_CONTINUE) {
		filter_end(s->m);
		s->m = NULL;
	}
}

static int
contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (ascii_strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

static void
header_flush(struct msg *s)
{
	const char *name = buf_cstr(&s->name), *value = buf_cstr(&s->value);

	if (s->name.len == 0)
		return;
	if (!ascii_strcasecmp(name, "Authentication-Results") &&
	    (contains_nocase(value, "mx.example.net") || contains_nocase(value, "mx.fuzz.example")))
		s->trusted_authres = 1;
	if (!ascii_strcasecmp(name, "From") && contains_nocase(value, SENDER))
		s->report_from = 1;
	if (s->m)
		msg_answer(s, filter_header(s->m, &io, name, value));
	buf_reset(&s->name);
	buf_reset(&s->value);
}

static long long
pending(void)
{
	struct outbox_counts c;
	char err[512];

	if (outbox_get_counts(store, START, &c, err, sizeof(err)) != 0)
		fuzz_fail("outbox_get_counts", err);
	return c.pending;
}

/* drain - check each queued notice and mark it sent */
static void
drain(void)
{
	struct outbox_entry e;
	char err[512];
	int rc;

	while ((rc = outbox_claim(store, START + 100L * 365 * 86400, OUTBOX_LEASE, "fuzz", &e, err,
	    sizeof(err))) == 1) {
		if (!fuzz_message_headers_safe(e.message))
			fuzz_fail("a queued notice's header block does not parse", e.message);
		if (outbox_mark_sent(store, e.id, START, err, sizeof(err)) != 0)
			fuzz_fail("outbox_mark_sent", err);
		outbox_entry_free(&e);
	}
	if (rc != 0)
		fuzz_fail("outbox_claim", err);
}

/* msg_close - the message ends: end of message (EOM), or an abort */
static void
msg_close(struct msg *s, int eom)
{
	header_flush(s);
	if (s->m && eom) {
		if (!s->eoh_done)
			msg_answer(s, filter_eoh(s->m, &io));
		if (s->m)
			msg_answer(s, filter_eom(s->m, &io, s->now));
		if (pending() > 0 && !(s->trusted_authres && s->report_from))
			fuzz_fail("a notice was queued for a message that was not an authenticated report", NULL);
	}
	if (s->m)
		filter_end(s->m);
	s->m = NULL;
	drain();
}

static void
directive(struct msg *s, const char *line, size_t len)
{
	char *arg = xstrndup(line + 2, len > 2 ? len - 2 : 0);

	switch (len > 1 ? line[1] : 0) {
	case 'M':
		msg_close(s, 0);
		msg_begin(s, *arg ? arg : NULL);
		break;
	case 'A':
	case 'E':
		msg_close(s, line[1] == 'E');
		msg_begin(s, "<" SENDER ">");
		break;
	case 'R':
		if (s->m && !s->headers_seen)
			filter_rcpt(s->m, arg);
		break;
	case 'Q':		/* the MTA's queue id: trusted, letters and digits as Postfix and Sendmail make them */
		if (s->m && strspn(arg, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == strlen(arg))
			filter_set_queue_id(s->m, arg);
		break;
	case 'T':
		s->now += 3600L * (atol(arg) % 10000);
		break;
	}
	free(arg);
}

static void
body(struct msg *s, const char *p, size_t len, size_t chunk)
{
	size_t n;

	for (; len > 0 && s->m && !s->skip_body; p += n, len -= n) {
		n = len < chunk ? len : chunk;
		msg_answer(s, filter_body(s->m, &io, p, n));
	}
}

static void
header_line(struct msg *s, const char *line, size_t len)
{
	const char *colon;

	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0) {				/* end of the headers */
		header_flush(s);
		if (s->m)
			msg_answer(s, filter_eoh(s->m, &io));
		s->eoh_done = 1;
		return;
	}
	if ((line[0] == ' ' || line[0] == '\t') && s->name.len) {
		buf_putc(&s->value, '\n');
		buf_append(&s->value, line, len);
		return;
	}
	header_flush(s);
	s->headers_seen = 1;
	colon = memchr(line, ':', len);
	if (colon == NULL)
		colon = line + len;
	buf_append(&s->name, line, (size_t)(colon - line));
	if (colon < line + len) {
		colon++;
		while (colon < line + len && (*colon == ' ' || *colon == '\t'))
			colon++;
		buf_append(&s->value, colon, (size_t)(line + len - colon));
	}
	buf_cstr(&s->value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg s;
	const char *p, *end, *nl, *text;
	size_t chunk;
	char *copy;

	if (store == NULL)
		setup();
	if (size < 2)
		return 0;
	memset(&s, 0, sizeof(s));
	s.env = &envs[(data[0] & 0x7f) % (NENVS + 1)];
	s.now = START;
	chunk = (size_t)data[1] * 13 + 1;
	/* header names and values are C strings in libmilter: no NUL inside */
	copy = xstrndup((const char *)data + 2, size - 2);
	text = copy;
	end = text + strlen(text);
	msg_begin(&s, "<" SENDER ">");
	for (p = text; p < end; p = nl) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		if (*p == '\001')
			directive(&s, p, (size_t)(nl - p) - (nl[-1] == '\n'));
		else if (s.m == NULL)
			continue;		/* the message got its answer: wait for the next */
		else if (!s.eoh_done)
			header_line(&s, p, (size_t)(nl - p) - (nl[-1] == '\n'));
		else {				/* body up to the next directive */
			while (nl < end && *nl != '\001' && (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL)
				nl++;
			if (nl == NULL)
				nl = end;
			body(&s, p, (size_t)(nl - p), chunk);
		}
	}
	msg_close(&s, !(data[0] & 0x80));
	buf_free(&s.name);
	buf_free(&s.value);
	free(copy);
	return 0;
}
