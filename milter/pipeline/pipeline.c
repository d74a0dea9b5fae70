/*
 * pipeline - a mail in, a verdict, per-customer notices and the unmatched out
 *
 * See pipeline.h. The MIME walk calls back into this file; each leaf part is
 * one of: a plain CSV (streamed straight into csvreport), a zipped CSV
 * (spooled to an unlinked temp file, read back through ziparchive), a text
 * part (scanned for a download link) or anything else (ignored unread).
 */
#include "pipeline/pipeline.h"
#include "report/catalogue.h"
#include "config/config.h"
#include "report/csvreport.h"
#include "trust/dkimverify.h"
#include "report/findings.h"
#include "notice/mailheader.h"
#include "report/mime.h"
#include "report/reportid.h"
#include "report/fetch.h"
#include "store/fileclaim.h"
#include "store/fetchjobs.h"
#include "notice/digest.h"
#include "notice/notice.h"
#include "store/outbox.h"
#include "customers/accounts.h"
#include "customers/prefixmap.h"
#include "trust/identity.h"
#include "trust/recognise.h"
#include "base/regex.h"
#include "store/state.h"
#include "store/store.h"
#include "notice/template.h"
#include "base/util.h"
#include "report/ziparchive.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT_SCAN_MAX (64 * 1024)	/* text parts kept for the link scan */

enum part_kind { PART_NONE, PART_CSV, PART_ZIP, PART_TEXT };

struct pipeline {
	const struct config *cfg;
	const struct prefixmap *map;
	const struct account_table *accounts;	/* AccountSettings, or NULL: every default */
	struct store *store;		/* history and/or outbox, or NULL */
	int queue_notices;		/* the milter: notices go to the outbox and count as notified */
	char *queue_id;			/* the MTA's, for the outbox */
	char route[8];			/* how the report came: "mail", "link", "api" */
	char *fetched_ref;		/* a fetched file's report (pipeline_set_fetched), or NULL */
	char *fetched_auth;		/* ... and what vouched for it */
	char *fetched_link;		/* ... and where it came from, or NULL */
	int store_failed;		/* finish failed at the store (not a template, not a spool) */
	pipeline_notice_fn sink;	/* each notice as it is made, or NULL */
	void *sink_ctx;
	const struct template_set *templates;	/* the caller's parsed set, or own_templates */
	struct template_set *own_templates;	/* read at the first notice when none was given */
	struct mime_parser *mime;
	struct recognise rc;
	struct dkim_check *dkim;	/* VerifyDKIM yes: our own verification of this message */
	struct dkim_keys *own_keys;	/* ... its key source, when the config opened none (tests) */
	int key_unavailable;		/* a report whose DKIM key lookup failed: retry later */
	int headers_done;
	int processing;			/* an authenticated report: read attachments */
	int trust_saved;		/* pipeline_set_trust_saved: the operator vouches */
	char reason[512];
	char *message_id;		/* a fetched file's origin's (pipeline_set_fetched), or NULL */
	char *subject;			/* the Subject that types files: the signature covers it */
	char *read_subject;		/* the Subject the MIME walk read, signed or not */
	unsigned covers;		/* DKIM_COVERS_* of the signature the headers passed */
	time_t now;
	struct identity *identity;	/* the signed content's digest: the reference without
					 * a signed Message-ID */
	char internal_error[512];	/* set: finish fails, the MTA must retry */
	char too_large[256];		/* set: a limit of the whole message was hit ("report too large: ...") */
	struct report_budget budget;	/* MaxReportMemory, shared by the message's files */
	unsigned long nfiles;		/* report files begun (MaxReportFiles) */

	enum part_kind part;
	char *part_name;
	struct report_file *rf;		/* the CSV being read */
	struct csvreport *csv;
	unsigned long long csv_bytes;
	int spool_fd;
	unsigned long long spool_bytes;
	int spool_overflow;
	struct buf text;

	struct report_output *reports;
	size_t nreports;
};

/* --- report types -------------------------------------------------------- */

/* type_from_capture - a subject capture made safe to use as a type name */
static char *
type_from_capture(const char *capture)
{
	char *t = xstrdup(capture), *c;

	for (c = t; *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			break;
	}
	*c = '\0';
	if (*t == '\0' || strlen(t) > 64) {
		free(t);
		return NULL;
	}
	return t;
}

static char *
type_from_subject(const struct pipeline *p)
{
	const struct config *cfg = p->cfg;
	char *capture, *type;
	size_t i;

	for (i = 0; p->subject && i < cfg->nsubject_rules; i++) {
		if (regex_match(cfg->subject_rules[i].re, p->subject, &capture) != 1)
			continue;
		if (strcmp(cfg->subject_rules[i].type, "$1") != 0)
			type = xstrdup(cfg->subject_rules[i].type);
		else
			type = capture ? type_from_capture(capture) : NULL;
		free(capture);
		if (type)
			return type;
	}
	return xstrdup("unknown");
}

/* report_file_for - a new report file named NAME, typed by its name, the
 * attachment's name, or the subject, in that order */
static struct report_file *
report_file_for(struct pipeline *p, const char *name, const char *outer)
{
	struct report_file *rf;
	char *date = NULL, *type = NULL, *id = NULL, *clean;

	if (report_name_parse(name, &date, &type, &id) != 0 &&
	    (outer == NULL || report_name_parse(outer, &date, &type, &id) != 0))
		type = type_from_subject(p);
	/* the name reaches logs, terminals and notices: no control characters */
	clean = text_clean(name, 255);
	rf = report_file_new(clean, type, date, id);
	report_file_set_entry(rf, catalogue_lookup(p->cfg->catalogue, type));
	report_file_set_budget(rf, &p->budget);
	free(clean);
	free(date);
	free(type);
	free(id);
	p->reports = xreallocarray(p->reports, p->nreports + 1, sizeof(*p->reports));
	memset(&p->reports[p->nreports], 0, sizeof(*p->reports));
	p->reports[p->nreports++].rf = rf;
	return rf;
}

static void drop_reports(struct pipeline *p);

/* --- the budget of the whole message ------------------------------------- */

/*
 * over_limit - a limit of the whole message (MaxReportFiles, MaxColumns,
 * MaxReportMemory) was hit: nothing more is read, what was read is dropped
 * at the end of the part, and the message is refused as a whole. The first
 * reason stands.
 */
static void over_limit(struct pipeline *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
over_limit(struct pipeline *p, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (p->too_large[0])
		return;
	n = (size_t)snprintf(p->too_large, sizeof(p->too_large), "report too large: ");
	va_start(ap, fmt);
	vsnprintf(p->too_large + n, sizeof(p->too_large) - n, fmt, ap);
	va_end(ap);
}

/* --- CSV files ----------------------------------------------------------- */

static int
on_row(void *ctx, const struct csvreport_row *row)
{
	struct pipeline *p = ctx;

	if (p->rf->rows >= p->cfg->max_rows) {
		report_file_set_error_kind(p->rf, REPORT_ERROR_LIMIT, "more rows than MaxRows; file not used");
		return 1;
	}
	if (report_file_add_row(p->rf, p->map, row) >= 0)
		return 0;
	if (report_budget_exceeded(&p->budget))
		over_limit(p, "findings and rows over MaxReportMemory (%llu bytes)", p->budget.limit);
	return 1;
}

/* csv_begin - a report file NAME begins; 0, or -1 when it is one more than MaxReportFiles */
static int
csv_begin(struct pipeline *p, const char *name, const char *outer)
{
	if (++p->nfiles > p->cfg->max_report_files) {
		over_limit(p, "more than MaxReportFiles (%lu) report files", p->cfg->max_report_files);
		return -1;
	}
	p->rf = report_file_for(p, name, outer);
	p->csv = csvreport_new(on_row, p);
	csvreport_set_max_columns(p->csv, p->cfg->max_columns);
	p->csv_bytes = 0;
	return 0;
}

/* csv_limit - the parse of a file stopped at a limit of the whole message */
static void
csv_limit(struct pipeline *p)
{
	if (csvreport_over_limit(p->csv) == CSVREPORT_TOO_WIDE)
		over_limit(p, "a file has more than MaxColumns (%lu) columns", p->cfg->max_columns);
	else
		over_limit(p, "a file has a record longer than %u bytes", CSVREPORT_MAX_RECORD);
}

static int
csv_data(struct pipeline *p, const char *data, size_t len)
{
	char err[256];

	if (p->csv == NULL || p->rf->error || p->too_large[0])
		return 1;
	p->csv_bytes += len;
	if (p->csv_bytes > p->cfg->max_csv_size) {
		report_file_set_error_kind(p->rf, REPORT_ERROR_LIMIT, "CSV larger than MaxCSVSize; file not used");
		return 1;
	}
	if (csvreport_feed(p->csv, data, len, err, sizeof(err)) != 0) {
		report_file_set_error(p->rf, err);
		if (csvreport_over_limit(p->csv))
			csv_limit(p);
		return 1;
	}
	return 0;
}

/* csv_end - the file ends; ERROR (of KIND) when it could not be read to its end */
static void
csv_end(struct pipeline *p, const char *error, enum report_error kind)
{
	char err[256];

	if (p->csv == NULL)
		return;
	if (error)
		report_file_set_error_kind(p->rf, kind, error);
	if (p->rf->error == NULL && csvreport_finish(p->csv, err, sizeof(err)) != 0)
		report_file_set_error(p->rf, err);
	if (p->rf->error == NULL && !csvreport_has_header(p->csv))
		report_file_set_error(p->rf, "empty CSV: no header line");
	csvreport_free(p->csv);
	p->csv = NULL;
	report_file_close(p->rf);
	p->rf = NULL;
}

/* --- zip attachments ----------------------------------------------------- */

static int
zip_member_begin(void *ctx, const char *name)
{
	struct pipeline *p = ctx;
	char *outer = xstrndup(p->part_name, strlen(p->part_name) - 4);	/* without ".zip" */
	int rc = p->too_large[0] ? -1 : csv_begin(p, name, outer);

	free(outer);
	return rc;	/* the zip's walk stops at the first file over the limit */
}

static int
zip_member_data(void *ctx, const char *data, size_t len)
{
	struct pipeline *p = ctx;
	int rc = csv_data(p, data, len);

	return p->too_large[0] ? -1 : rc;
}

/* report_error_of - a zip's error kind as a report file's */
static enum report_error
report_error_of(enum zip_error kind)
{
	return kind == ZIP_ERROR_LIMIT ? REPORT_ERROR_LIMIT : kind == ZIP_ERROR_IO ? REPORT_ERROR_IO :
	    REPORT_ERROR_FORMAT;
}

static void
zip_member_end(void *ctx, const char *error, enum zip_error kind)
{
	csv_end(ctx, error, report_error_of(kind));
}

static const struct zip_callbacks zip_cb = { zip_member_begin, zip_member_data, zip_member_end };

static int
spool_open(struct pipeline *p)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/shadowmilter.XXXXXX", p->cfg->tmp_dir);
	p->spool_fd = mkstemp(path.data);
	if (p->spool_fd < 0) {
		snprintf(p->internal_error, sizeof(p->internal_error), "cannot create spool file in %s: %s",
		    p->cfg->tmp_dir, strerror(errno));
		buf_free(&path);
		return -1;
	}
	unlink(path.data);	/* gone when closed, whatever happens to us */
	buf_free(&path);
	p->spool_bytes = 0;
	p->spool_overflow = 0;
	return 0;
}

static void
spool_data(struct pipeline *p, const char *data, size_t len)
{
	ssize_t n;

	if (p->spool_fd < 0 || p->spool_overflow)
		return;
	if ((p->spool_bytes += len) > p->cfg->max_attachment_size) {
		p->spool_overflow = 1;
		return;
	}
	while (len > 0) {
		if ((n = write(p->spool_fd, data, len)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(p->internal_error, sizeof(p->internal_error), "cannot write spool file: %s",
			    strerror(errno));
			close(p->spool_fd);
			p->spool_fd = -1;
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

/* spool_finish - read the spooled zip; damage is the report's, not ours */
static void
spool_finish(struct pipeline *p)
{
	size_t first = p->nreports, i;
	enum zip_error kind = ZIP_ERROR_FORMAT;
	char err[256];
	int n;

	if (p->spool_fd < 0)
		return;
	if (p->too_large[0])
		;	/* nothing more is read */
	else if (p->spool_overflow)
		report_file_set_error_kind(report_file_for(p, p->part_name, NULL), REPORT_ERROR_LIMIT,
		    "attachment larger than MaxAttachmentSize; not read");
	else if ((n = zip_read_csv_members(p->spool_fd, p->cfg->max_csv_size, &zip_cb, p, &kind, err,
	    sizeof(err))) <= 0) {
		if (n == 0)
			snprintf(err, sizeof(err), "zip holds no .csv file");
		if (p->nreports == first && !p->too_large[0])
			report_file_for(p, p->part_name, NULL);
		for (i = first; i < p->nreports; i++)	/* a damaged zip taints all it held */
			report_file_set_error_kind(p->reports[i].rf, report_error_of(kind), err);
	}
	close(p->spool_fd);
	p->spool_fd = -1;
}

/* --- text parts: the download link --------------------------------------- */

/* link_at - the URL at HIT, cleaned, 512 bytes at most */
static char *
link_at(const char *hit)
{
	size_t len = strcspn(hit, " \t\r\n\"'<>()[]");
	char *raw = xstrndup(hit, len > 512 ? 512 : len), *url = text_clean(raw, 512);

	free(raw);
	return url;
}

/*
 * scan_for_link - the report's download link in the text parts: the first
 * http(s) URL on a ReportLinkHosts host, else the URL after ShadowServer's
 * "obtained from the following link:" (which then is not fetched, and ops
 * are told why). Other links (a report type's documentation) are not it.
 */
static void
scan_for_link(struct pipeline *p, char **link)
{
	static const char intro[] = "obtained from the following link:";
	struct fetch_opts o = { p->cfg->link_hosts, p->cfg->nlink_hosts, 0, 0, NULL, NULL };
	const char *s = buf_cstr(&p->text), *hit, *after = strstr(s, intro);
	char why[64], *url;

	for (hit = strstr(s, "http"); hit && *link == NULL; hit = strstr(hit + 4, "http")) {
		if (strncmp(hit, "https://", 8) != 0 && strncmp(hit, "http://", 7) != 0)
			continue;
		url = link_at(hit);
		if (fetch_url_allowed(&o, url, why, sizeof(why)) ||
		    (after && hit == after + sizeof(intro) - 1 + strspn(after + sizeof(intro) - 1, " \t\r\n")))
			*link = url;
		else
			free(url);
	}
}

/* --- the MIME walk ------------------------------------------------------- */

/* subject_clean - a Subject value decoded and made safe for logs and notices */
static char *
subject_clean(const char *value)
{
	char *decoded = mime_decode_words(value), *clean = text_clean(decoded, 500);

	free(decoded);
	return clean;
}

static void
on_header(void *ctx, const char *name, const char *value)
{
	struct pipeline *p = ctx;

	recognise_header(&p->rc, name, value);
	if (!ascii_strcasecmp(name, "Subject") && p->read_subject == NULL)
		p->read_subject = subject_clean(value);
}

/*
 * signed_subject - after the header verdict: the Subject types files only
 * when the signature that passed covers it (a second Subject is refused, so
 * the one read is the one signed); with VerifyDKIM no or --trust-saved no
 * signature says what it covers, and none does
 */
static void
signed_subject(struct pipeline *p, const struct dkim_verdict *v)
{
	p->covers = v->outcome == DKIM_PASS ? v->covers : 0;
	if ((p->covers & DKIM_COVERS_SUBJECT) && p->read_subject)
		p->subject = xstrdup(p->read_subject);
}

static void
on_headers_done(void *ctx)
{
	struct pipeline *p = ctx;
	struct dkim_verdict v;

	if (p->fetched_ref)	/* no mail: the report mail was judged when it came */
		return;
	p->headers_done = 1;
	if (mime_parser_stats(p->mime)->dropped_headers > 0)	/* a partial view decides nothing */
		recognise_block_too_large(&p->rc);
	if (mime_parser_stats(p->mime)->malformed_headers > 0)	/* nor one DKIM reads otherwise */
		recognise_block_malformed(&p->rc);
	/* keys are fetched and header hashes checked by now: a bad or missing
	 * signature skips the body; a good one is settled at the end */
	if (p->trust_saved) {
		p->processing = recognise_verdict_trusted(&p->rc, p->reason, sizeof(p->reason));
		return;
	}
	if (p->dkim && dkim_check_headers(p->dkim, &v)) {
		recognise_dkim(&p->rc, &v);
		signed_subject(p, &v);
	}
	p->processing = recognise_verdict(&p->rc, p->reason, sizeof(p->reason)) == 1;
}

static enum part_kind
classify_part(const struct mime_part *part)
{
	if (part->filename && has_suffix(part->filename, ".csv"))
		return PART_CSV;
	if (part->filename && has_suffix(part->filename, ".csv.zip"))
		return PART_ZIP;
	if (part->filename == NULL && (!strcmp(part->content_type, "text/plain") ||
	    !strcmp(part->content_type, "text/html")))
		return PART_TEXT;
	return PART_NONE;
}

static int
on_part_begin(void *ctx, const struct mime_part *part)
{
	struct pipeline *p = ctx;

	if (!p->processing || p->internal_error[0] || p->too_large[0])
		return 0;
	p->part = classify_part(part);
	free(p->part_name);
	p->part_name = xstrdup(part->filename ? part->filename : "");
	if (p->part == PART_CSV && csv_begin(p, p->part_name, NULL) != 0)
		p->part = PART_NONE;
	else if (p->part == PART_ZIP && spool_open(p) != 0)
		p->part = PART_NONE;
	return p->part != PART_NONE;
}

static void
on_part_data(void *ctx, const char *data, size_t len)
{
	struct pipeline *p = ctx;

	switch (p->part) {
	case PART_CSV:
		csv_data(p, data, len);
		break;
	case PART_ZIP:
		spool_data(p, data, len);
		break;
	case PART_TEXT:
		if (p->text.len < TEXT_SCAN_MAX)
			buf_append(&p->text, data, len < TEXT_SCAN_MAX ? len : TEXT_SCAN_MAX);
		break;
	case PART_NONE:
		break;
	}
}

static void
on_part_end(void *ctx)
{
	struct pipeline *p = ctx;

	if (p->part == PART_CSV)
		csv_end(p, NULL, REPORT_ERROR_FORMAT);
	else if (p->part == PART_ZIP)
		spool_finish(p);
	else if (p->part == PART_TEXT)
		buf_append(&p->text, " ", 1);	/* keep parts apart for the scan */
	p->part = PART_NONE;
	if (p->too_large[0])	/* the memory goes now, not at the end of the message */
		drop_reports(p);
}

static const struct mime_callbacks mime_cb = {
	on_header, on_headers_done, on_part_begin, on_part_data, on_part_end,
};

/* --- the public face ----------------------------------------------------- */

/* dkim_begin - our own verification runs alongside the MIME walk from the first byte */
static void
dkim_begin(struct pipeline *p)
{
	const struct dkim_keys *keys = p->cfg->dkim_keys;
	char err[400];

	if (keys == NULL &&
	    (keys = p->own_keys = dkim_keys_new(p->cfg->test_public_keys, p->cfg->dns_timeout, err, sizeof(err))) == NULL) {
		snprintf(p->internal_error, sizeof(p->internal_error), "DKIM verification cannot start: %s", err);
		return;
	}
	p->dkim = dkim_check_new(keys, p->cfg->report_dkim_domain, "shadowmilter");
}

struct pipeline *
pipeline_new(const struct config *cfg, const struct prefixmap *map)
{
	struct pipeline *p = xcalloc(1, sizeof(*p));

	p->cfg = cfg;
	p->map = map;
	p->spool_fd = -1;
	p->now = time(NULL);
	snprintf(p->route, sizeof(p->route), "mail");
	p->budget.limit = cfg->max_report_memory;
	p->identity = identity_new();
	recognise_init(&p->rc, cfg);
	p->mime = mime_parser_new(&mime_cb, p);
	if (cfg->verify_dkim)
		dkim_begin(p);
	return p;
}

void
pipeline_set_envelope_sender(struct pipeline *p, const char *sender)
{
	recognise_envelope_sender(&p->rc, sender);
}

void
pipeline_set_now(struct pipeline *p, time_t now)
{
	p->now = now;
}

void
pipeline_set_trust_saved(struct pipeline *p)
{
	p->trust_saved = 1;
	dkim_check_free(p->dkim);	/* nothing to verify: the operator vouches */
	p->dkim = NULL;
}

void
pipeline_set_templates(struct pipeline *p, const struct template_set *set)
{
	p->templates = set;
}

void
pipeline_set_accounts(struct pipeline *p, const struct account_table *accounts)
{
	p->accounts = accounts;
}

void
pipeline_set_store(struct pipeline *p, struct store *st, int queue_notices)
{
	p->store = st;
	p->queue_notices = queue_notices;
}

void
pipeline_set_notice_sink(struct pipeline *p, pipeline_notice_fn fn, void *ctx)
{
	p->sink = fn;
	p->sink_ctx = ctx;
}

/* keeps_notices - the result holds the notices, unless they went to a sink
 * or to the outbox as they were made: then memory stays flat however many
 * customers a report names */
static int
keeps_notices(const struct pipeline *p)
{
	return p->sink == NULL && !(p->queue_notices && p->store && store_has_outbox(p->store));
}

void
pipeline_set_route(struct pipeline *p, const char *route)
{
	snprintf(p->route, sizeof(p->route), "%s", route);
}

void
pipeline_set_fetched(struct pipeline *p, const struct pipeline_origin *o)
{
	pipeline_set_route(p, o->route);
	p->fetched_ref = xstrdup(o->report_ref);
	p->fetched_auth = xstrdup(o->auth);
	p->fetched_link = o->link ? xstrdup(o->link) : NULL;
	free(p->subject);
	p->subject = xstrdup(o->subject ? o->subject : "");
	free(p->message_id);
	p->message_id = xstrdup(o->message_id ? o->message_id : "");
	dkim_check_free(p->dkim);	/* no mail comes: its report's own vouched for it */
	p->dkim = NULL;
	p->headers_done = 1;
	p->processing = 1;
	snprintf(p->reason, sizeof(p->reason), "%s", o->reason);
}

/* fetched_name - NAME as the MIME walk would have named the part: a zip's ends in ".zip" */
static char *
fetched_name(const char *name, int zip)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, name && *name ? name : "download.csv");
	if (zip && !has_suffix(b.data, ".zip"))
		buf_puts(&b, ".zip");
	return buf_steal(&b);
}

int
pipeline_add_file(struct pipeline *p, const char *name, int fd, int zip)
{
	char chunk[65536];
	ssize_t n;

	free(p->part_name);
	p->part_name = fetched_name(name, zip);
	if (zip) {
		if ((p->spool_fd = dup(fd)) < 0)
			return -1;
		p->spool_overflow = 0;
		spool_finish(p);
		return 0;
	}
	csv_begin(p, p->part_name, NULL);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			csv_end(p, "the fetched file could not be read back", REPORT_ERROR_IO);
			return -1;
		}
		if (csv_data(p, chunk, (size_t)n) != 0)
			break;
	}
	csv_end(p, NULL, REPORT_ERROR_FORMAT);
	return 0;
}

void
pipeline_set_queue_id(struct pipeline *p, const char *queue_id)
{
	free(p->queue_id);
	p->queue_id = queue_id ? xstrdup(queue_id) : NULL;
}

void
pipeline_feed(struct pipeline *p, const char *data, size_t len)
{
	identity_feed(p->identity, data, len);
	if (p->dkim)	/* first: its verdict on the headers is in when the MIME walk ends them */
		dkim_check_feed(p->dkim, data, len);
	mime_parser_feed(p->mime, data, len);
}

int
pipeline_store_failed(const struct pipeline *p)
{
	return p->store_failed;
}

int
pipeline_wants_body(const struct pipeline *p)
{
	return p->processing;
}

void
pipeline_free(struct pipeline *p)
{
	size_t i;

	if (p == NULL)
		return;
	mime_parser_free(p->mime);
	recognise_free(&p->rc);
	template_set_free(p->own_templates);
	dkim_check_free(p->dkim);
	dkim_keys_free(p->own_keys);
	if (p->csv)
		csvreport_free(p->csv);
	if (p->spool_fd >= 0)
		close(p->spool_fd);
	for (i = 0; i < p->nreports; i++)	/* results not handed over */
		report_file_free(p->reports[i].rf);
	free(p->reports);
	free(p->part_name);
	free(p->queue_id);
	free(p->fetched_ref);
	free(p->fetched_auth);
	free(p->fetched_link);
	free(p->message_id);
	free(p->subject);
	free(p->read_subject);
	identity_free(p->identity);
	buf_free(&p->text);
	free(p);
}

/* informational - the type's notices are informational (notice_needs_action) */
static int
informational(const struct config *cfg, const char *type)
{
	return !notice_needs_action(cfg, catalogue_lookup(cfg->catalogue, type));
}

/*
 * history_name - what names report file I in the history: its name, and "#N"
 * after a name the mail gives twice (each file is its own stream)
 */
static char *
history_name(const struct pipeline_result *r, size_t i)
{
	const struct report_file *rf = r->reports[i].rf;
	size_t j, same_name = 0;
	struct buf b = BUF_INIT;

	for (j = 0; j < i; j++)
		same_name += strcmp(r->reports[j].rf->file, rf->file) == 0;
	buf_puts(&b, rf->file);
	if (same_name)
		buf_printf(&b, "#%zu", same_name + 1);
	return buf_steal(&b);
}

/* --- several files of one type: one notice per account ------------------- */

struct merge_part {			/* one account's notice of one file */
	struct notice *n;
	size_t file;
};

static int
part_order(const void *a, const void *b)
{
	const struct merge_part *x = a, *y = b;
	int c = strcmp(x->n->customer->name, y->n->customer->name);

	if (c)
		return c;
	return x->file < y->file ? -1 : x->file > y->file;
}

/* the notice's order; the same finding in two files: the earliest detection first */
static int
item_order(const void *a, const void *b)
{
	const struct finding *fa = ((const struct notice_finding *)a)->f, *fb = ((const struct notice_finding *)b)->f;
	int c = finding_compare(fa, fb);

	if (c)
		return c;
	return fa->detected < fb->detected ? -1 : fa->detected > fb->detected;
}

/*
 * merged_findings - the findings of PARTS[0..N) (one account's notices of
 * several files) as M's, sorted, each once. A finding of another file is
 * adopted by INTO, so that the template reads its values through INTO's
 * columns; its history stays the one its own file's history gave it.
 */
static void
merged_findings(const struct pipeline_result *r, struct report_file *into, const struct merge_part *parts,
    size_t n, struct notice *m)
{
	struct notice_finding *items;
	size_t i, j, total = 0, k = 0;

	for (i = 0; i < n; i++)
		total += parts[i].n->nfindings;
	items = xcalloc(total + 1, sizeof(*items));
	for (i = 0; i < n; i++) {
		const struct report_file *rf = r->reports[parts[i].file].rf;

		for (j = 0; j < parts[i].n->nfindings; j++, k++) {
			items[k] = parts[i].n->findings[j];
			if (rf != into)
				items[k].f = report_file_adopt(into, rf, items[k].f);
		}
	}
	qsort(items, total, sizeof(*items), item_order);
	m->findings = items;
	for (i = 0, m->nfindings = 0; i < total; i++)	/* in two files: the earliest detection is kept */
		if (m->nfindings == 0 || finding_compare(items[i].f, items[m->nfindings - 1].f) != 0)
			items[m->nfindings++] = items[i];
}

/* merged_notice - one account's notices PARTS[0..N) as one, M: held only
 * when every one of them was (withheld when the account's settings withheld
 * one), under the first case reference they name */
static void
merged_notice(const struct pipeline_result *r, struct report_file *into, const struct merge_part *parts,
    size_t n, struct notice *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->customer = parts[0].n->customer;
	m->settings = parts[0].n->settings;
	m->digest = parts[0].n->digest;		/* the account's, so every part's alike */
	m->held = 1;
	for (i = 0; i < n; i++) {
		m->held &= parts[i].n->held || parts[i].n->withheld;
		m->withheld |= parts[i].n->withheld;	/* the account's, so every part's alike */
		if (m->case_ref == NULL && parts[i].n->case_ref && *parts[i].n->case_ref)
			m->case_ref = parts[i].n->case_ref;
	}
	m->held = m->held && !m->withheld;
	merged_findings(r, into, parts, n, m);
}

/* same_type - report I is a readable file of report FIRST's type (and as
 * much history), not yet merged into another */
static int
same_type(const struct pipeline_result *r, size_t first, size_t i)
{
	const struct report_output *o = &r->reports[i], *into = &r->reports[first];

	return !o->rf->error && !o->merged_into && !o->already_applied && strcmp(o->rf->type, into->rf->type) == 0 &&
	    (o->history == NULL) == (into->history == NULL);
}

/* merge_parts - the notices of the files of FIRST's type, by account, then
 * file; the files after FIRST are marked merged into it. *N: how many */
static struct merge_part *
merge_parts(struct pipeline_result *r, size_t first, size_t *n)
{
	struct merge_part *parts;
	size_t i, j, total = 0;

	for (i = first; i < r->nreports; i++)
		total += same_type(r, first, i) ? r->reports[i].nnotices : 0;
	parts = xcalloc(total + 1, sizeof(*parts));
	for (i = first, *n = 0; i < r->nreports; i++) {
		if (!same_type(r, first, i))
			continue;
		if (i != first)
			r->reports[i].merged_into = r->reports[first].rf->file;
		for (j = 0; j < r->reports[i].nnotices; j++)
			parts[(*n)++] = (struct merge_part){ &r->reports[i].notices[j], i };
	}
	qsort(parts, *n, sizeof(*parts), part_order);
	return parts;
}

static void
free_notices(struct notice *notices, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		notice_free(&notices[i]);
	free(notices);
}

/*
 * merge_same_type - the readable files of FIRST's type in the mail: FIRST's
 * notices become one per account over all of them, so each account gets ONE
 * notice of the type listing every finding; the others are marked merged
 * into FIRST and make none (their own notices stay, to say which the history
 * held). The history keeps its streams per file: each was applied on its own
 * before this. 1 when files were merged.
 */
static int
merge_same_type(struct pipeline_result *r, size_t first)
{
	struct report_output *into = &r->reports[first];
	struct merge_part *parts;
	struct notice *merged;
	size_t i, j, n, files = 0, nmerged = 0;

	for (i = first; i < r->nreports; i++)
		files += same_type(r, first, i);
	if (files < 2)
		return 0;
	parts = merge_parts(r, first, &n);
	merged = xcalloc(n + 1, sizeof(*merged));
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && parts[j].n->customer == parts[i].n->customer; j++)
			;
		merged_notice(r, into->rf, parts + i, j - i, &merged[nmerged++]);
	}
	free(parts);
	free_notices(into->notices, into->nnotices);
	into->notices = merged;
	into->nnotices = nmerged;
	return 1;
}

/* mark_merged - every finding a merged notice of OUT lists counts as
 * notified, also one of a file whose own notice was held (state_notified) */
static int
mark_merged(struct db *db, const struct report_output *out, char *err, size_t errlen)
{
	struct notice_group g;
	size_t i, j;
	int rc = 0;

	if (out->history == NULL || out->history->notified_at == 0)
		return 0;
	for (i = 0; rc == 0 && i < out->nnotices; i++) {
		const struct notice *n = &out->notices[i];

		if (n->held || n->withheld)
			continue;
		g.account = n->customer;
		g.nfindings = n->nfindings;
		g.findings = xcalloc(n->nfindings + 1, sizeof(*g.findings));
		for (j = 0; j < n->nfindings; j++)
			g.findings[j] = n->findings[j].f;
		rc = state_notified(db, out->rf->type, &g, out->history->notified_at, err, errlen);
		free(g.findings);
	}
	return rc;
}

/* withholds - do ACCOUNT's settings withhold a notice of report TYPE? */
static int
withholds(const struct pipeline *p, const char *type, const char *account)
{
	const struct catalogue_entry *e = catalogue_lookup(p->cfg->catalogue, type);

	return accounts_withholds(accounts_lookup(p->accounts, account), type, e ? e->severity : NULL,
	    notice_needs_action(p->cfg, e));
}

/* make_notices - OUT's notices, one per group of a readable file, each with
 * the group's history when the store keeps one and the account's settings;
 * none is made yet. Without a history the settings alone withhold. */
static void
make_notices(struct pipeline *p, struct report_output *out)
{
	const struct state_group *h = out->history ? out->history->groups : NULL;
	size_t i, n = h ? out->history->ngroups : out->rf->ngroups;

	if (out->rf->error || out->already_applied)
		return;
	out->notices = xcalloc(n + 1, sizeof(*out->notices));
	for (i = 0; i < n; i++) {
		struct notice *no = &out->notices[i];

		notice_init(no, h ? h[i].group : &out->rf->groups[i], h ? &h[i] : NULL);
		no->settings = accounts_lookup(p->accounts, no->customer->name);
		no->digest = accounts_digest(p->accounts, no->customer->name) == ACCOUNT_DIGEST_DAILY;
		if (h == NULL)
			no->withheld = withholds(p, out->rf->type, no->customer->name);
	}
	out->nnotices = n;
}

/* the account policy of one report file's history (state_policy.account_policy) */
struct policy_ctx {
	const struct pipeline *p;
	const char *type;
	int info;		/* an informational type: InfoRenotifyInterval stays */
};

static void
account_policy(void *ctx, const char *account, unsigned long *renotify, int *withhold)
{
	const struct policy_ctx *c = ctx;
	const struct account_settings *s = accounts_lookup(c->p->accounts, account);

	if (s == NULL)
		return;
	if (!c->info && s->has_renotify)
		*renotify = s->renotify == ACCOUNT_RENOTIFY_NEVER ? STATE_RENOTIFY_NEVER : s->renotify;
	*withhold = withholds(c->p, c->type, account);
}

/* apply_history - a readable report file into the history, if the store keeps one.
 * An informational report type has its own RenotifyInterval, and with
 * InfoNotices off its findings are recorded but nobody counts as notified. */
static int
apply_history(struct pipeline *p, struct db *db, const struct pipeline_result *r, struct report_output *out,
    const char *file, char *err, size_t errlen)
{
	const struct config *cfg = p->cfg;
	int info = informational(cfg, out->rf->type);
	struct policy_ctx ctx = { p, out->rf->type, info };
	struct state_policy pol = { cfg->grace_days, info ? cfg->info_renotify_interval : cfg->renotify_interval,
	    cfg->resolve_after_days, cfg->retain_days, p->queue_notices && (!info || cfg->info_notices),
	    p->accounts ? account_policy : NULL, &ctx };
	struct buf key = BUF_INIT;
	int rc;

	if (db == NULL || !store_has_history(p->store) || out->rf->error || out->already_applied)
		return 0;
	buf_printf(&key, "%zu:%s|%s", strlen(r->report_ref), r->report_ref, file);
	rc = state_apply(db, &pol, key.data, out->rf, p->now, &out->history, err, errlen);
	buf_free(&key);
	return rc;
}

/*
 * claim_file - the report file's identity claimed for this report, before
 * anything of it is applied: a file some other report (another route, another
 * mail) applied first is already applied, and makes nothing again. A file
 * outside ShadowServer's naming rule has no identity beyond its report.
 */
static int
claim_file(struct pipeline *p, struct db *db, const struct pipeline_result *r, struct report_output *out,
    const char *file, char *err, size_t errlen)
{
	struct report_id id;
	struct file_claim held;
	struct buf owner = BUF_INIT, note = BUF_INIT;
	int rc;

	if (db == NULL || out->rf->error || report_id_parse(out->rf->file, &id) != 0)
		return 0;
	buf_printf(&owner, "%zu:%s|%s", strlen(r->report_ref), r->report_ref, file);
	rc = file_claim_take(db, id.key, owner.data, p->route, p->now, &held, err, errlen);
	if (rc == 0) {
		out->already_applied = 1;
		buf_printf(&note, "already applied: %s came first by %s; no notices from this copy", id.key,
		    held.route);
		free(out->rf->note);
		out->rf->note = buf_steal(&note);
		file_claim_free(&held);
	}
	buf_free(&owner);
	report_id_free(&id);
	return rc < 0 ? -1 : 0;
}

/* templates - the set notices are rendered from: the caller's (the
 * runtime's, parsed at start and reload), else read once for this message */
static const struct template_set *
templates(struct pipeline *p, char *err, size_t errlen)
{
	if (p->templates == NULL)
		p->templates = p->own_templates = notice_templates_load(p->cfg, err, errlen);
	return p->templates;
}

/* queue_notice - N into the outbox, in the report's transaction (the milter) */
static int
queue_notice(struct pipeline *p, struct db *db, struct pipeline_result *r, const struct notice *n, char *err,
    size_t errlen)
{
	struct outbox_item it = { n->key, r->report_ref, n->report_type, n->account, n->rcpt, n->nrcpt, n->message,
	    p->queue_id };
	int added;

	if (!p->queue_notices || db == NULL || !store_has_outbox(p->store))
		return 0;
	if (outbox_add(db, &it, p->now, &added, err, errlen) != 0) {
		p->store_failed = 1;
		return -1;
	}
	r->queued += (size_t)added;
	return 0;
}

/* account_language - the language ACCOUNT's notices are in: its
 * AccountSettings' language, else the customer map's language column, else
 * NULL (English) */
static const char *
account_language(const struct pipeline *p, const struct account *account)
{
	const char *lang = account ? accounts_language(p->accounts, account->name) : NULL;

	if (lang)
		return lang;
	return account && account->language ? account->language : NULL;
}

/* a report file's template per language: most of its notices share one */
struct lang_template {
	const char *lang;		/* NULL: English */
	const struct template *t;
};

/* template_in - TYPE's template in the language of ACCOUNT; LT keeps the last one found */
static const struct template *
template_in(struct pipeline *p, const struct template_set *set, const char *type, const struct account *account,
    struct lang_template *lt, char *err, size_t errlen)
{
	const char *lang = account_language(p, account);

	if (lt->t != NULL && (lang == lt->lang || (lang && lt->lang && strcmp(lang, lt->lang) == 0)))
		return lt->t;
	lt->lang = lang;
	return lt->t = notice_template_find_lang(set, p->cfg, type, lang, err, errlen);
}

/* keep_for_digest - N kept for its account's daily digest (notice/digest.h),
 * in the report's transaction, instead of queued on its own (the milter) */
static int
keep_for_digest(struct pipeline *p, struct db *db, struct pipeline_result *r, const struct notice_input *in,
    const struct notice *n, char *err, size_t errlen)
{
	int added, rc;

	if (!p->queue_notices || db == NULL || !store_has_outbox(p->store))
		return 0;
	if ((rc = digest_keep(db, in, n, account_language(p, n->customer), p->queue_id, &added, err, errlen)) != 0) {
		if (rc == -2)	/* the store's error, not the section template's */
			p->store_failed = 1;
		return -1;
	}
	r->digest_kept += (size_t)added;
	return 0;
}

/* make_notice - N's message from T: queued (or kept for the account's
 * digest), handed to the sink, and kept only when the result keeps the notices */
static int
make_notice(struct pipeline *p, struct db *db, struct pipeline_result *r, struct report_output *out,
    const struct notice_input *in, const struct template *t, struct notice *n, char *err, size_t errlen)
{
	int rc;

	if ((rc = notice_build(in, t, n, err, errlen)) != 0)
		return rc;
	if (n->digest)
		rc = keep_for_digest(p, db, r, in, n, err, errlen);
	else
		rc = queue_notice(p, db, r, n, err, errlen);
	if (rc == 0 && p->sink && (rc = p->sink(p->sink_ctx, r, out, n)) != 0)
		err_set(err, errlen, "the notice for %s could not be written out", n->account);
	if (!keeps_notices(p))
		notice_drop_message(n);
	out->nmade++;
	return rc;
}

/* render_notices - the notices of a readable report file, but those the
 * history holds back or the account's settings withhold, and none of an
 * informational type with InfoNotices off */
static int
render_notices(struct pipeline *p, struct db *db, struct pipeline_result *r, struct report_output *out,
    char *err, size_t errlen)
{
	struct notice_input in = { p->cfg, out->rf, r->report_ref, p->now,
	    catalogue_lookup(p->cfg->catalogue, out->rf->type), NOTICE_FINDINGS };
	const struct template_set *set;
	const struct template *t;
	struct lang_template lt = { NULL, NULL };
	size_t i;
	int rc = 0;

	if (out->rf->error || out->nnotices == 0 || out->merged_into || out->already_applied ||
	    (!p->cfg->info_notices && informational(p->cfg, out->rf->type)))
		return 0;
	/* an English template that does not parse fails the report before any notice, as before */
	if ((set = templates(p, err, errlen)) == NULL ||
	    (t = template_in(p, set, out->rf->type, NULL, &lt, err, errlen)) == NULL)
		return -1;
	for (i = 0; rc == 0 && i < out->nnotices; i++) {
		struct notice *n = &out->notices[i];

		if (n->held || n->withheld)
			continue;
		if ((t = template_in(p, set, out->rf->type, n->customer, &lt, err, errlen)) == NULL)
			rc = -1;
		else
			rc = make_notice(p, db, r, out, &in, t, n, err, errlen);
	}
	return rc;
}

/* a closed case's finding, rebuilt for the confirmation's template */
struct closed_finding {
	struct finding f;
	struct state_finding h;
};

static int
closed_order(const void *a, const void *b)
{
	return finding_compare(&((const struct closed_finding *)a)->f, &((const struct closed_finding *)b)->f);
}

/* closed_findings - C's findings owned by its account in today's customer
 * map (sorted); *ACCOUNT is that account, NULL when none is any more */
static struct closed_finding *
closed_findings(const struct pipeline *p, const struct state_closed *c, const struct account **account,
    size_t *n)
{
	struct closed_finding *cf = xcalloc(c->nitems + 1, sizeof(*cf));
	size_t i;

	*account = NULL;
	*n = 0;
	for (i = 0; i < c->nitems; i++) {
		struct closed_finding *x = &cf[*n];
		const struct state_item *it = &c->items[i];

		/* an address, or the part of a listed network that was the account's */
		if (ipaddr_parse_prefix(it->ip, &x->f.ip, &x->f.len) != 0 ||
		    (x->f.account = prefixmap_lookup(p->map, &x->f.ip)) == NULL ||
		    strcmp(x->f.account->name, c->account) != 0)
			continue;
		*account = x->f.account;
		x->f.port = it->port;
		x->f.protocol = it->protocol;
		x->f.detected = it->last_seen;
		x->h.first_seen = it->first_seen;
		x->h.times_reported = it->times_reported;
		(*n)++;
	}
	if (*n > 1)
		qsort(cf, *n, sizeof(*cf), closed_order);
	return cf;
}

/* closed_notice - the notice about case C: its findings still the
 * account's in CF[0..N), its reference */
static void
closed_notice(const struct state_closed *c, const struct account *account, struct closed_finding *cf, size_t n,
    struct notice *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->customer = account;
	out->case_ref = c->reference;
	out->findings = xcalloc(n + 1, sizeof(*out->findings));
	out->nfindings = n;
	for (i = 0; i < n; i++) {
		out->findings[i].f = &cf[i].f;
		out->findings[i].h = &cf[i].h;
	}
}

/* keep_confirmation - N, made, goes with OUT's confirmations; its findings,
 * rebuilt for the template, do not */
static void
keep_confirmation(struct report_output *out, struct notice *n)
{
	free(n->findings);
	n->findings = NULL;
	n->nfindings = 0;
	out->confirmations = xreallocarray(out->confirmations, out->nconfirmations + 1, sizeof(*out->confirmations));
	out->confirmations[out->nconfirmations++] = *n;
	memset(n, 0, sizeof(*n));
}

/* confirm_closed - the "all fixed" notice for case C */
static int
confirm_closed(struct pipeline *p, struct db *db, struct pipeline_result *r, struct report_output *out,
    const struct state_closed *c, char *err, size_t errlen)
{
	struct report_file *rf = report_file_new("", c->report_type, "", "");
	const struct account *account;
	struct notice n;
	size_t nf;
	struct closed_finding *cf = closed_findings(p, c, &account, &nf);
	const struct template_set *set;
	const struct template *t;
	int rc = 0;

	closed_notice(c, account, cf, nf, &n);
	/* nobody to tell, nobody was told of an informational case, or the account's settings withhold the type */
	if (account != NULL && (p->cfg->info_notices || !informational(p->cfg, c->report_type)) &&
	    !withholds(p, c->report_type, account->name)) {
		n.settings = accounts_lookup(p->accounts, account->name);
		struct notice_input in = { p->cfg, rf, r->report_ref, p->now,
		    catalogue_lookup(p->cfg->catalogue, c->report_type), NOTICE_RESOLUTION };

		rc = -1;
		if ((set = templates(p, err, errlen)) != NULL &&
		    (t = notice_resolved_template_find_lang(set, c->report_type, account_language(p, account), err,
		    errlen)) != NULL && (rc = notice_build(&in, t, &n, err, errlen)) == 0) {
			rc = queue_notice(p, db, r, &n, err, errlen);
			keep_confirmation(out, &n);
		}
	}
	notice_free(&n);
	free(cf);
	report_file_free(rf);
	return rc;
}

static int
render_confirmations(struct pipeline *p, struct db *db, struct pipeline_result *r, struct report_output *out,
    char *err, size_t errlen)
{
	size_t i;

	if (out->history == NULL || !p->cfg->notify_resolved)
		return 0;
	for (i = 0; i < out->history->nclosed; i++)
		if (confirm_closed(p, db, r, out, &out->history->closed[i], err, errlen) != 0)
			return -1;
	return 0;
}

/* explain - the reason line for an authenticated report */
static void
explain(struct pipeline_result *r)
{
	struct buf b = BUF_INIT;

	if (r->nreports == 0 && r->link)
		buf_printf(&b, "link only: the report data must be fetched from %s", r->link);
	else if (r->nreports == 0)
		buf_puts(&b, "authenticated report without a .csv or .csv.zip attachment");
	else
		buf_puts(&b, r->reason);
	free(r->reason);
	r->reason = buf_steal(&b);
}

/*
 * signed_identity - the result's Message-ID, Subject and reference. A header
 * counts only when the signature that passed hashed it (the field DKIM took,
 * its value as DKIM saw it); with VerifyDKIM no or --trust-saved, none does.
 * Without a signed Message-ID the reference is the signed content's digest
 * and the file names (trust/identity.h). A fetched file keeps its origin's.
 */
static void
signed_identity(struct pipeline *p, struct pipeline_result *r)
{
	char *id = NULL, *subject = NULL;
	const char **files;
	size_t i;

	if (p->fetched_ref) {
		r->message_id = xstrdup(p->message_id ? p->message_id : "");
		r->subject = xstrdup(p->subject ? p->subject : "");
		r->report_ref = xstrdup(p->fetched_ref);
		return;
	}
	if (p->dkim && p->processing) {
		id = dkim_check_signed_value(p->dkim, "Message-ID");
		subject = dkim_check_signed_value(p->dkim, "Subject");
	}
	r->message_id = id ? text_clean(id, 250) : xstrdup("");
	r->subject = subject ? subject_clean(subject) : xstrdup("");
	free(id);
	free(subject);
	if (*r->message_id) {
		r->report_ref = xstrdup(r->message_id);
		return;
	}
	files = xcalloc(r->nreports + 1, sizeof(*files));
	for (i = 0; i < r->nreports; i++)
		files[i] = r->reports[i].rf->file;
	r->report_ref = identity_ref(p->identity, files, r->nreports);
	free(files);
}

static struct pipeline_result *
take_result(struct pipeline *p)
{
	struct pipeline_result *r = xcalloc(1, sizeof(*r));
	const struct mime_stats *st = mime_parser_stats(p->mime);
	size_t i;

	r->report = recognise_is_report(&p->rc);
	r->authenticated = p->processing;
	r->trusted_by_operator = p->processing && p->trust_saved;
	r->too_large = p->processing && p->too_large[0];
	r->reason = xstrdup(r->too_large ? p->too_large : p->reason);
	if (r->trusted_by_operator)
		r->auth = xstrdup("the operator (replay --trust-saved), signature not checked");
	else if (r->authenticated) {
		char auth[512];

		recognise_auth(&p->rc, auth, sizeof(auth));
		r->auth = xstrdup(auth);
	}
	if (p->fetched_ref) {	/* the mail (or the API) that vouched for the file */
		r->report = 1;
		free(r->auth);
		r->auth = xstrdup(p->fetched_auth);
		r->link = p->fetched_link ? xstrdup(p->fetched_link) : NULL;
	}
	for (i = 0; i < p->nreports; i++)	/* the budget stays with the pipeline */
		report_file_set_budget(p->reports[i].rf, NULL);
	r->reports = p->reports;
	r->nreports = p->nreports;
	p->reports = NULL;
	p->nreports = 0;
	signed_identity(p, r);
	r->bad_base64 = st->bad_base64;
	r->truncated_parts = st->truncated_parts;
	if (p->processing && !p->fetched_ref)
		scan_for_link(p, &r->link);
	return r;
}

/*
 * queue_fetch - an authenticated link-only report: its link becomes a fetch
 * job in the store (the milter), committed before the MTA is answered, so
 * the delivery workers fetch it later and nothing is lost. A link that may
 * not be fetched is not queued; the reason line says why. A fetched file
 * (a link's download, the Reports API's) is the data itself: one that
 * left no report (a limit of the whole file dropped what was read) queues
 * no fetch of itself and keeps its "report too large" reason.
 */
static int
queue_fetch(struct pipeline *p, struct pipeline_result *r, char *err, size_t errlen)
{
	struct fetch_opts o = { p->cfg->link_hosts, p->cfg->nlink_hosts, 0, 0, NULL, NULL };
	struct fetch_job job = { 0, r->report_ref, r->link, r->message_id, r->subject, r->auth, p->queue_id, 0, 0 };
	struct buf b = BUF_INIT;
	struct db *db;
	char why[600];
	int added;

	if (!r->authenticated || r->nreports > 0 || r->link == NULL || p->fetched_ref || !p->queue_notices ||
	    p->store == NULL || !store_has_outbox(p->store))
		return 0;
	if (!fetch_url_allowed(&o, r->link, why, sizeof(why)))
		buf_printf(&b, "link only, not fetched: %s", why);
	else {
		if ((db = store_begin(p->store, err, errlen)) == NULL) {
			p->store_failed = 1;
			return -1;
		}
		if (fetchjob_add(db, &job, p->now, &added, err, errlen) != 0) {
			store_abort(p->store, db);
			p->store_failed = 1;
			return -1;
		}
		if (store_commit(p->store, db, err, errlen) != 0) {	/* releases DB */
			p->store_failed = 1;
			return -1;
		}
		r->fetch_queued = 1;
		buf_printf(&b, "link only: the report data will be fetched from %s", r->link);
	}
	free(r->reason);
	r->reason = buf_steal(&b);
	return 0;
}

/*
 * finish_reports - history, notices and confirmations of every report file,
 * in ONE store transaction: the history and the queued notices of a report
 * commit together or not at all
 */
static int
finish_reports(struct pipeline *p, struct pipeline_result *r, char *err, size_t errlen)
{
	struct db *db = NULL;
	char *file;
	size_t i;
	int rc = 0;

	if (p->store && r->nreports > 0 && (db = store_begin(p->store, err, errlen)) == NULL) {
		p->store_failed = 1;
		return -1;
	}
	for (i = 0; rc == 0 && i < r->nreports; i++) {	/* the history, file by file */
		file = history_name(r, i);
		if ((rc = claim_file(p, db, r, &r->reports[i], file, err, errlen)) != 0 ||
		    (rc = apply_history(p, db, r, &r->reports[i], file, err, errlen)) != 0)
			p->store_failed = 1;
		else
			make_notices(p, &r->reports[i]);
		free(file);
	}
	for (i = 0; rc == 0 && i < r->nreports; i++)	/* one notice per account and type */
		if (merge_same_type(r, i) && (rc = mark_merged(db, &r->reports[i], err, errlen)) != 0)
			p->store_failed = 1;	/* a merged notice counts for every file it lists */
	for (i = 0; rc == 0 && i < r->nreports; i++)
		rc = render_notices(p, db, r, &r->reports[i], err, errlen) != 0 ||
		    render_confirmations(p, db, r, &r->reports[i], err, errlen) != 0 ? -1 : 0;
	if (db && rc != 0)
		store_abort(p->store, db);
	else if (db && (rc = store_commit(p->store, db, err, errlen)) != 0)
		p->store_failed = 1;
	if (rc != 0)
		r->queued = 0;
	return rc;
}

/* drop_reports - what was read from a mail that turned out unauthenticated: no notice may come of it */
static void
drop_reports(struct pipeline *p)
{
	size_t i;

	for (i = 0; i < p->nreports; i++)
		report_file_free(p->reports[i].rf);
	free(p->reports);
	p->reports = NULL;
	p->nreports = 0;
}

/*
 * dkim_settle - VerifyDKIM yes, end of message: the body hash and l= are
 * checked now, so a report read on the strength of its headers' signature
 * may still be refused. -1: a report whose key lookup failed.
 */
static int
dkim_settle(struct pipeline *p)
{
	struct dkim_verdict v;
	int verdict;

	if (p->dkim == NULL)
		return 0;
	dkim_check_finish(p->dkim, &v);
	recognise_dkim(&p->rc, &v);
	verdict = recognise_verdict(&p->rc, p->reason, sizeof(p->reason));
	if (verdict != 1) {
		drop_reports(p);
		p->processing = 0;
	}
	p->key_unavailable = verdict < 0;
	return verdict < 0 ? -1 : 0;
}

int
pipeline_key_unavailable(const struct pipeline *p)
{
	return p->key_unavailable;
}

int
pipeline_finish(struct pipeline *p, struct pipeline_result **result, char *err, size_t errlen)
{
	struct pipeline_result *r;

	*result = NULL;
	mime_parser_finish(p->mime);
	if (!p->headers_done)
		on_headers_done(p);
	if (p->csv)	/* a part the MIME walk never closed */
		csv_end(p, "attachment cut short", REPORT_ERROR_FORMAT);
	if (p->internal_error[0]) {
		err_set(err, errlen, "%s", p->internal_error);
		return -1;
	}
	if (dkim_settle(p) < 0) {	/* a report whose key could not be fetched */
		err_set(err, errlen, "%s", p->reason);
		return -1;
	}
	if (p->too_large[0])	/* what was read is dropped, whatever the verdict */
		drop_reports(p);
	if (p->processing && mime_parser_stats(p->mime)->repeated_part_headers > 0) {
		drop_reports(p);	/* which of the two a reader believes is anyone's guess */
		p->processing = 0;
		snprintf(p->reason, sizeof(p->reason), "not a report: a part gives Content-Type, "
		    "Content-Disposition or Content-Transfer-Encoding twice");
	}
	r = take_result(p);
	if (r->authenticated && !r->too_large)
		explain(r);
	if (finish_reports(p, r, err, errlen) != 0 || queue_fetch(p, r, err, errlen) != 0) {
		pipeline_result_free(r);
		return -1;
	}
	*result = r;
	return 0;
}

int
pipeline_expire(struct pipeline *p, struct pipeline_history *h, char *err, size_t errlen)
{
	const struct config *cfg = p->cfg;
	struct state_policy pol = { cfg->grace_days, cfg->renotify_interval, cfg->resolve_after_days,
	    cfg->retain_days, p->queue_notices, NULL, NULL };
	struct pipeline_result *r = xcalloc(1, sizeof(*r));
	struct report_output out;
	struct db *db = NULL;
	struct tm tm;
	char ref[64];
	int rc = -1;

	memset(h, 0, sizeof(*h));
	memset(&out, 0, sizeof(out));
	gmtime_r(&p->now, &tm);
	/* one confirmation per case, however often this runs: its key names the day */
	snprintf(ref, sizeof(ref), "expiry:%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	r->report_ref = xstrdup(ref);
	if (p->store == NULL || !store_has_history(p->store) || cfg->resolve_after_days == 0) {
		rc = 0;
		goto done;
	}
	if ((db = store_acquire(p->store, err, errlen)) == NULL)
		goto done;
	if ((rc = state_expiry_due(db, &pol, p->now, err, errlen)) <= 0) {	/* the usual round: nothing */
		store_release(p->store, db);
		goto done;
	}
	rc = -1;
	if (store_begin_on(db, err, errlen) != 0) {
		store_release(p->store, db);
		goto done;
	}
	if (state_expire(db, &pol, p->now, &out.history, err, errlen) == 0 &&
	    render_confirmations(p, db, r, &out, err, errlen) == 0)
		rc = 0;
	if (rc != 0)
		store_abort(p->store, db);
	else if ((rc = store_commit(p->store, db, err, errlen)) == 0 && out.history) {
		h->recorded = 1;
		h->expired = out.history->expired;
		h->closed = out.history->nclosed;
		h->queued = r->queued;
	}
done:
	free_notices(out.confirmations, out.nconfirmations);
	state_outcome_free(out.history);
	free(r->report_ref);
	free(r);
	return rc;
}

void
pipeline_result_free(struct pipeline_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nreports; i++) {
		free_notices(r->reports[i].notices, r->reports[i].nnotices);
		free_notices(r->reports[i].confirmations, r->reports[i].nconfirmations);
		state_outcome_free(r->reports[i].history);
		report_file_free(r->reports[i].rf);
	}
	free(r->reports);
	free(r->reason);
	free(r->auth);
	free(r->message_id);
	free(r->subject);
	free(r->report_ref);
	free(r->link);
	free(r);
}

void
pipeline_counts(const struct pipeline_result *r, size_t *notices, size_t *unmatched,
    unsigned long *skipped_rows)
{
	size_t i;

	*notices = *unmatched = 0;
	*skipped_rows = 0;
	for (i = 0; i < r->nreports; i++) {
		*notices += r->reports[i].nmade + r->reports[i].nconfirmations;
		*unmatched += r->reports[i].rf->nunmatched;
		*skipped_rows += r->reports[i].rf->skipped_rows;
	}
}

void
pipeline_history_counts(const struct pipeline_result *r, struct pipeline_history *h)
{
	size_t i, j;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < r->nreports; i++) {
		const struct state_outcome *o = r->reports[i].history;

		if (o == NULL)
			continue;
		h->recorded = 1;
		for (j = 0; !r->reports[i].merged_into && j < r->reports[i].nnotices; j++) {	/* counted in the merge */
			h->held += r->reports[i].notices[j].held;
			h->withheld += r->reports[i].notices[j].withheld;
			h->digest += r->reports[i].notices[j].digest && r->reports[i].notices[j].made;
		}
		h->resolved += o->resolved;
		h->expired += o->expired;
		h->closed += o->nclosed;
	}
}
