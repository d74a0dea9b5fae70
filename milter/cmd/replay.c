/*
 * replay - the "shadowmilter replay" command: saved mail through the pipeline
 *
 * See replay.h. A command shell: it owns stdout/stderr and exit codes; the
 * pipeline it drives does not print.
 */
#include "cmd/replay.h"
#include "cmd/runtime.h"
#include "cmd/privs.h"
#include "cmd/usage.h"
#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "pipeline/json.h"
#include "pipeline/mailsource.h"
#include "report/mime.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "pipeline/linkfetch.h"
#include "customers/accounts.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "store/store.h"
#include "notice/template.h"
#include "base/msg.h"
#include "base/safefile.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct replay {
	const struct config *cfg;
	const struct prefixmap *map;
	struct account_table *accounts;	/* AccountSettings (customers/accounts.h) */
	struct template_set *templates;	/* parsed once for the whole run */
	int json;
	int trust_saved;		/* --trust-saved: the operator vouches for the files */
	int offline;			/* --offline: a link-only report's link is not fetched */
	const char *outdir;
	int outfd;			/* --out DIR, opened once (safefile_dir), or -1 */
	time_t now;			/* 0: the real time */
	struct store *state;		/* --state: the detection history, or NULL */
	struct pipeline *p;
	char *name;
	unsigned long messages, notices, failures, written;
	int progress;
	/* --json as the notices are made: how far this message's object is printed */
	int message_open;		/* its fields up to "reports" are out */
	size_t next_report;		/* the first report not opened yet */
	size_t notices_in_open;		/* notices printed in the open report (next_report - 1) */
	FILE *json_spool;		/* the open message's streamed pieces, until it ends well */
};


static int on_notice(void *ctx, const struct pipeline_result *res, const struct report_output *ro,
    const struct notice *n);

/* new_pipeline - a pipeline set up as replay runs every message */
static struct pipeline *
new_pipeline(struct replay *r)
{
	struct pipeline *p = pipeline_new(r->cfg, r->map);

	pipeline_set_accounts(p, r->accounts);
	pipeline_set_templates(p, r->templates);
	if (r->now)
		pipeline_set_now(p, r->now);
	if (r->trust_saved)
		pipeline_set_trust_saved(p);
	if (r->state)		/* a dry run: nothing is sent, so nothing counts as notified */
		pipeline_set_store(p, r->state, 0);
	if (r->json || r->outdir)	/* notice by notice: memory stays flat however big the report */
		pipeline_set_notice_sink(p, on_notice, r);
	return p;
}

static void
on_begin(void *ctx, const char *name)
{
	struct replay *r = ctx;

	r->p = new_pipeline(r);
	r->message_open = 0;
	r->next_report = 0;
	r->notices_in_open = 0;
	free(r->name);
	r->name = xstrdup(name);
}

static void
on_data(void *ctx, const char *data, size_t len)
{
	struct replay *r = ctx;

	pipeline_feed(r->p, data, len);
}

/* file_safe - account names become file names: keep [A-Za-z0-9._-] */
static void
file_safe(struct buf *b, const char *s)
{
	for (; *s && b->len < 200; s++)
		buf_putc(b, (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    *s == '.' || *s == '-' || *s == '_' ? *s : '_');
}

/* write_notice - DIR/NNNN-TYPE-ACCOUNT.eml, a new file (safefile_create);
 * a confirmation's TYPE gets "-resolved" */
static int
write_notice(struct replay *r, const struct notice *n, int confirmation)
{
	struct buf name = BUF_INIT;
	char err[512];
	FILE *f = NULL;
	int fd, rc = 0;

	buf_printf(&name, "%04lu-", ++r->written);
	file_safe(&name, n->report_type);
	if (confirmation)
		buf_puts(&name, "-resolved");
	buf_putc(&name, '-');
	file_safe(&name, n->account);
	buf_puts(&name, ".eml");
	if ((fd = safefile_create(r->outfd, name.data, 0640, err, sizeof(err))) < 0) {
		msg_error("%s/%s", r->outdir, err);
		rc = -1;
	} else if ((f = fdopen(fd, "w")) == NULL || fputs(n->message, f) == EOF || fclose(f) != 0) {
		msg_error("%s/%s: %s", r->outdir, name.data, strerror(errno));
		if (f == NULL)
			close(fd);
		rc = -1;
	} else if (!r->json)
		printf("wrote %s/%s\n", r->outdir, name.data);
	buf_free(&name);
	return rc;
}

/*
 * The streamed pieces of a message's JSON line wait in an unlinked file in
 * TempDir until the message ends: one that fails after some notices were
 * made then prints only its error object, so every input has exactly one
 * line, and memory stays flat however many notices the line holds.
 */

/* json_spool_put - append a piece of the open message's line to the spool */
static int
json_spool_put(struct replay *r, const struct buf *piece)
{
	struct buf path = BUF_INIT;
	int fd;

	if (r->json_spool == NULL) {
		buf_printf(&path, "%s/shadowmilter-json.XXXXXX", r->cfg->tmp_dir);
		if ((fd = mkstemp(path.data)) < 0 || unlink(path.data) != 0 ||
		    (r->json_spool = fdopen(fd, "w+")) == NULL) {
			msg_error("TempDir %s: cannot spool the JSON output: %s", r->cfg->tmp_dir, strerror(errno));
			if (fd >= 0)
				close(fd);
			buf_free(&path);
			return -1;
		}
		buf_free(&path);
	}
	if (fwrite(piece->data, 1, piece->len, r->json_spool) != piece->len) {
		msg_error("TempDir %s: cannot spool the JSON output: %s", r->cfg->tmp_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* json_spool_drop - forget what the spool holds (the message failed) */
static void
json_spool_drop(struct replay *r)
{
	if (r->json_spool == NULL)
		return;
	rewind(r->json_spool);
	if (ftruncate(fileno(r->json_spool), 0) != 0)
		msg_warn("TempDir %s: cannot empty the JSON spool: %s", r->cfg->tmp_dir, strerror(errno));
}

/* json_spool_copy - the spooled pieces to stdout, then an empty spool */
static int
json_spool_copy(struct replay *r)
{
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (r->json_spool == NULL)
		return 0;
	if (fflush(r->json_spool) != 0 || fseek(r->json_spool, 0, SEEK_SET) != 0)
		rc = -1;
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), r->json_spool)) > 0)
		if (fwrite(chunk, 1, n, stdout) != n)
			rc = -1;
	if (rc == 0 && ferror(r->json_spool))
		rc = -1;
	json_spool_drop(r);
	return rc;
}

/* json_reports_upto - open (and close, notices done) every report before END; END itself is opened */
static void
json_reports_upto(struct replay *r, const struct pipeline_result *res, size_t end, struct buf *out)
{
	if (!r->message_open) {
		json_message_open(out, r->name, res);
		r->message_open = 1;
	}
	while (r->next_report <= end && r->next_report < res->nreports) {
		if (r->next_report > 0)		/* the open one is done */
			json_report_close(out, &res->reports[r->next_report - 1]);
		json_report_open(out, &res->reports[r->next_report], r->next_report == 0);
		r->next_report++;
		r->notices_in_open = 0;
	}
}

/* json_message_finish - the rest of a message whose notices were streamed */
static void
json_message_finish(struct replay *r, const struct pipeline_result *res, struct buf *out)
{
	json_reports_upto(r, res, res->nreports, out);
	if (r->next_report > 0)
		json_report_close(out, &res->reports[r->next_report - 1]);
	json_message_close(out);
}

/* on_notice - the pipeline's sink: each notice written out as it is made */
static int
on_notice(void *ctx, const struct pipeline_result *res, const struct report_output *ro, const struct notice *n)
{
	struct replay *r = ctx;
	struct buf out = BUF_INIT;
	size_t report = (size_t)(ro - res->reports);
	int rc;

	r->notices++;
	if (r->outdir && write_notice(r, n, 0) != 0)
		return -1;
	if (!r->json)
		return 0;
	json_reports_upto(r, res, report, &out);
	json_report_notice(&out, n, r->notices_in_open++ == 0);
	rc = json_spool_put(r, &out);
	buf_free(&out);
	return rc;
}

static void
print_unmatched(const struct report_file *rf)
{
	char ep[FINDING_ADDRSTRLEN + 16];
	size_t i;

	if (rf->nunmatched == 0)
		return;
	printf("   unmatched (no customer):");
	for (i = 0; i < rf->nunmatched; i++) {
		finding_endpoint(rf->unmatched[i], ep, sizeof(ep));
		printf("%s %s", i ? "," : "", ep);
	}
	printf("\n");
}

/* print_history - what the detection history made of the report; INFO: an
 * informational report type, held back by its own interval */
static void
print_history(const struct report_output *ro, int info)
{
	const struct state_outcome *o = ro->history;
	size_t i;

	printf("   history:%s%s %lu resolved, %lu expired", o->replayed ? " (already applied)" : "",
	    o->late ? " (older than the newest report of its stream)" : "", o->resolved, o->expired);
	for (i = 0; i < ro->nnotices; i++)
		if (ro->notices[i].held)
			printf("; no notice for \"%s\" (%s)", ro->notices[i].customer->name,
			    info ? "InfoRenotifyInterval" : "RenotifyInterval");
		else if (ro->notices[i].withheld)
			printf("; no notice for \"%s\" (withheld: account setting)", ro->notices[i].customer->name);
	for (i = 0; i < o->nclosed; i++)
		printf("; case %s closed (%s, %s)", o->closed[i].reference, o->closed[i].account,
		    o->closed[i].report_type);
	printf("\n");
}

static void
print_text(struct replay *r, const struct pipeline_result *res)
{
	size_t i, j;

	printf("== %s: %s\n", r->name, res->reason);
	for (i = 0; i < res->nreports; i++) {
		const struct report_output *ro = &res->reports[i];
		const struct report_file *rf = ro->rf;
		const struct catalogue_entry *e = catalogue_lookup(r->cfg->catalogue, rf->type);
		int info = !notice_needs_action(r->cfg, e);

		printf("   %s (%s): %lu rows, %lu skipped, %zu notices, %zu unmatched%s%s\n", rf->file, rf->type,
		    rf->rows, rf->skipped_rows, ro->nmade, rf->nunmatched, rf->error ? "; error: " : "",
		    rf->error ? rf->error : "");
		if (rf->first_skip)
			printf("   first skipped: %s\n", rf->first_skip);
		if (ro->merged_into)
			printf("   its findings are in the notices of %s (one notice per account and type)\n",
			    ro->merged_into);
		if (rf->note)
			printf("   note: %s\n", rf->note);
		print_unmatched(rf);
		if (info && rf->error == NULL)
			printf("   informational (severity %s): no deadline%s\n", e->severity,
			    r->cfg->info_notices ? "" : "; InfoNotices no: no notices");
		if (ro->history)
			print_history(ro, info);
		for (j = 0; j < ro->nnotices && r->outdir == NULL; j++)
			if (ro->notices[j].message)	/* made, and kept */
				printf("-- notice for \"%s\"%s --\n%s-- end of notice --\n", ro->notices[j].account,
				    ro->notices[j].digest ? " (held for the account's daily digest, not sent alone)" : "",
				    ro->notices[j].message);
		for (j = 0; j < ro->nconfirmations && r->outdir == NULL; j++)
			printf("-- resolved notice for \"%s\" --\n%s-- end of notice --\n", ro->confirmations[j].account,
			    ro->confirmations[j].message);
	}
}

/*
 * fetch_link - an authenticated link-only report's file, fetched and run
 * through a pipeline of its own as that mail's report: *RES becomes its
 * result (and R's pipeline that one). A fetch that fails leaves *RES and
 * says why in its reason.
 */
static void
fetch_link(struct replay *r, struct pipeline_result **res)
{
	struct pipeline *p = new_pipeline(r);
	struct pipeline_result *fetched = NULL;
	struct buf reason = BUF_INIT;
	char why[512];

	if (linkfetch_into(p, r->cfg, *res, why, sizeof(why)) != FETCH_OK || pipeline_finish(p, &fetched, why, sizeof(why)) != 0) {
		buf_printf(&reason, "%s; not fetched: %s", (*res)->reason, why);
		free((*res)->reason);
		(*res)->reason = buf_steal(&reason);
		pipeline_free(p);
		return;
	}
	pipeline_result_free(*res);
	*res = fetched;
	pipeline_free(r->p);
	r->p = p;
}

/* count_unread_files - an attachment that could not be read (a damaged zip,
 * a file over a limit) makes the run fail: the report was not fully read */
static void
count_unread_files(struct replay *r, const struct pipeline_result *res)
{
	size_t i;

	for (i = 0; i < res->nreports; i++)
		if (res->reports[i].rf && res->reports[i].rf->error) {
			msg_error("%s: %s: %s", r->name, res->reports[i].rf->file, res->reports[i].rf->error);
			r->failures++;
		}
}

static void
on_end(void *ctx, const char *not_mail)
{
	struct replay *r = ctx;
	struct pipeline_result *res;
	struct buf out = BUF_INIT;
	char err[512];
	size_t i, j;

	r->messages++;
	if (not_mail != NULL) {
		snprintf(err, sizeof(err), "%s", not_mail);
		res = NULL;
	}
	if (not_mail != NULL || pipeline_finish(r->p, &res, err, sizeof(err)) != 0) {
		msg_error("%s: %s", r->name, err);
		r->failures++;
		json_spool_drop(r);	/* its streamed notices were never made: only the error */
		if (r->json) {
			json_result(&out, r->name, NULL, err);
			fputs(buf_cstr(&out), stdout);
		}
	} else {
		if (res->authenticated && res->nreports == 0 && res->link && !r->offline)
			fetch_link(r, &res);
		count_unread_files(r, res);
		for (i = 0; i < res->nreports; i++) {
			for (j = 0; j < res->reports[i].nnotices; j++) {
				if (res->reports[i].notices[j].message == NULL)	/* not made, or not kept */
					continue;
				r->notices++;
				if (r->outdir && write_notice(r, &res->reports[i].notices[j], 0) != 0)
					r->failures++;
			}
			for (j = 0; j < res->reports[i].nconfirmations; j++) {
				r->notices++;
				if (r->outdir && write_notice(r, &res->reports[i].confirmations[j], 1) != 0)
					r->failures++;
			}
		}
		if (r->json && r->message_open) {
			json_message_finish(r, res, &out);
			if (json_spool_copy(r) != 0) {
				msg_error("%s: the JSON output could not be copied from TempDir", r->name);
				r->failures++;
			}
		}
		else if (r->json)
			json_result(&out, r->name, res, NULL);
		else
			print_text(r, res);
		fputs(buf_cstr(&out), stdout);
		pipeline_result_free(res);
	}
	fflush(stdout);
	buf_free(&out);
	pipeline_free(r->p);
	r->p = NULL;
	if (r->progress)
		fprintf(stderr, "\rreplayed %lu messages, %lu notices", r->messages, r->notices);
}

static const struct mailsource_callbacks source_cb = { on_begin, on_data, on_end };

/* unreadable_input - PATH could not be read at all: one line on stderr and,
 * with --json, its own error object, so every input has one JSON line */
static void
unreadable_input(struct replay *r, const char *path, const char *err)
{
	struct buf out = BUF_INIT;

	msg_error("%s", err);
	r->failures++;
	if (r->json) {
		json_result(&out, path, NULL, err);
		fputs(buf_cstr(&out), stdout);
		fflush(stdout);
	}
	buf_free(&out);
}

/* --- date order (--state) -------------------------------------------------
 *
 * History must be built oldest report first, whatever order the archive is
 * in. A first pass reads every message once, cheaply: the MIME walk looks at
 * attachment names only (the date is in "YYYY-MM-DD-type-id.csv"), nothing is
 * decoded. A message that is a file of its own is read again from there;
 * others (mbox members, stdin) are spooled to TempDir. The second pass runs
 * them through the pipeline, oldest first; undated ones keep their place at
 * the front, and equal dates keep the order given.
 */

struct queued {
	char *name;			/* as mailsource named it */
	char *path;			/* where to read it again */
	int spooled;			/* PATH is our copy: remove it after use */
	char date[11];			/* earliest report date in its attachment names, or "" */
	size_t seq;
};

struct order {
	struct queued *q;
	size_t n;
	char *spool_dir;
	FILE *spool;
	struct mime_parser *mime;
	int failures;
};

static int
date_part_begin(void *ctx, const struct mime_part *part)
{
	struct queued *q = ctx;
	char *date = NULL, *type = NULL;

	if (part->filename && report_name_parse(part->filename, &date, &type, NULL) == 0 &&
	    (q->date[0] == '\0' || strcmp(date, q->date) < 0))
		snprintf(q->date, sizeof(q->date), "%s", date);
	free(date);
	free(type);
	return 0;	/* the name is all we need */
}

static const struct mime_callbacks date_cb = { NULL, NULL, date_part_begin, NULL, NULL };

static void
order_begin(void *ctx, const char *name)
{
	struct order *o = ctx;
	struct queued *q;
	struct stat st;
	struct buf path = BUF_INIT;

	o->q = xreallocarray(o->q, o->n + 1, sizeof(*o->q));
	q = &o->q[o->n];
	memset(q, 0, sizeof(*q));
	q->name = xstrdup(name);
	q->seq = o->n++;
	if (strcmp(name, "-") != 0 && stat(name, &st) == 0 && S_ISREG(st.st_mode))
		q->path = xstrdup(name);
	else {
		buf_printf(&path, "%s/%zu", o->spool_dir, q->seq);
		q->path = buf_steal(&path);
		q->spooled = 1;
		if ((o->spool = fopen(q->path, "wb")) == NULL) {
			msg_error("%s: %s", q->path, strerror(errno));
			o->failures++;
		}
	}
	o->mime = mime_parser_new(&date_cb, q);
}

static void
order_data(void *ctx, const char *data, size_t len)
{
	struct order *o = ctx;

	mime_parser_feed(o->mime, data, len);
	if (o->spool && fwrite(data, 1, len, o->spool) != len) {
		msg_error("%s: %s", o->q[o->n - 1].path, strerror(errno));
		fclose(o->spool);
		o->spool = NULL;
		o->failures++;
	}
}

static void
order_end(void *ctx, const char *not_mail)
{
	struct order *o = ctx;

	(void)not_mail;		/* the second pass says it, once */
	mime_parser_finish(o->mime);
	mime_parser_free(o->mime);
	o->mime = NULL;
	if (o->spool && fclose(o->spool) != 0) {
		msg_error("%s: %s", o->q[o->n - 1].path, strerror(errno));
		o->failures++;
	}
	o->spool = NULL;
}

static const struct mailsource_callbacks order_cb = { order_begin, order_data, order_end };

static int
by_date(const void *a, const void *b)
{
	const struct queued *qa = a, *qb = b;
	int c = strcmp(qa->date, qb->date);

	return c ? c : qa->seq < qb->seq ? -1 : qa->seq > qb->seq;
}

/* replay_queued - Q through the pipeline, as one message of its own */
static int
replay_queued(struct replay *r, const struct queued *q)
{
	char err[512];

	if (mailsource_read_one(q->path, q->name, &source_cb, r, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		return -1;
	}
	return 0;
}

/* replay_in_date_order - every input, oldest report first */
static void
replay_in_date_order(struct replay *r, char **inputs, int ninputs)
{
	struct order o;
	struct buf dir = BUF_INIT;
	char err[512];
	size_t i;
	int k;

	memset(&o, 0, sizeof(o));
	buf_printf(&dir, "%s/shadowmilter-replay.XXXXXX", r->cfg->tmp_dir);
	if (mkdtemp(dir.data) == NULL) {
		msg_error("%s: %s", dir.data, strerror(errno));
		r->failures++;
		buf_free(&dir);
		return;
	}
	o.spool_dir = dir.data;
	for (k = 0; k < ninputs; k++)
		if (mailsource_read(inputs[k], &order_cb, &o, err, sizeof(err)) != 0)
			unreadable_input(r, inputs[k], err);
	if (o.n > 1)
		qsort(o.q, o.n, sizeof(*o.q), by_date);
	for (i = 0; i < o.n; i++) {
		if (replay_queued(r, &o.q[i]) != 0)
			r->failures++;
		if (o.q[i].spooled)
			unlink(o.q[i].path);
		free(o.q[i].name);
		free(o.q[i].path);
	}
	r->failures += (unsigned long)o.failures;
	rmdir(o.spool_dir);
	free(o.q);
	buf_free(&dir);
}

static struct prefixmap *
load_map(const struct config *cfg)
{
	struct prefixmap *map;
	char err[512];

	if ((map = runtime_load_map(cfg, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		exit(2);
	}
	return map;
}

/* load_accounts - the AccountSettings, as the daemon reads them (none: an empty table) */
static struct account_table *
load_accounts(const struct config *cfg)
{
	struct account_table *t;
	char err[512];

	if ((t = runtime_load_accounts(cfg, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		exit(2);
	}
	return t;
}

int
replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ "out", required_argument, NULL, 'o' }, { "now", required_argument, NULL, 'N' },
		{ "state", required_argument, NULL, 'S' }, { "trust-saved", no_argument, NULL, 'T' },
		{ "offline", no_argument, NULL, 'F' }, { NULL, 0, NULL, 0 },
	};
	struct replay r;
	const char *conf = NULL, *state_path = NULL;
	struct config *cfg;
	char err[512];
	int c, i;

	memset(&r, 0, sizeof(r));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:jo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'j': r.json = 1; break;
		case 'o': r.outdir = optarg; break;
		case 'N':
			if (parse_detection_time(optarg, &r.now) != 0)
				return usage_error("replay", "--now \"%s\" is not 'YYYY-MM-DD HH:MM:SS'", optarg);
			break;
		case 'S': state_path = optarg; break;
		case 'T': r.trust_saved = 1; break;
		case 'F': r.offline = 1; break;
		default: return usage_bad_option("replay", c, argv);
		}
	}
	if (conf == NULL)
		return usage_error("replay", "no configuration: give -c CONF");
	if (optind >= argc)
		return usage_error("replay", "no input: give a file, a Maildir, or - for stdin");
	if ((cfg = config_load(conf, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		return 2;
	}
	if (r.outdir && (r.outfd = safefile_dir(r.outdir, 1, SAFEFILE_OWN_DIR, err, sizeof(err))) < 0) {
		msg_error("--out %s", err);
		config_free(cfg);
		return 2;
	}
	r.cfg = cfg;
	r.map = load_map(cfg);
	r.accounts = load_accounts(cfg);
	if ((r.templates = notice_templates_load(cfg, err, sizeof(err))) == NULL ||
	    (state_path && privs_as_user(cfg, state_path, "replay --state", err, sizeof(err)) != 0) ||
	    (state_path && (r.state = store_open(state_path, NULL, STORE_BUSY_TIMEOUT_MS, err, sizeof(err))) == NULL)) {
		msg_error("%s", err);
		template_set_free(r.templates);
		prefixmap_free((struct prefixmap *)r.map);
		accounts_free(r.accounts);
		config_free(cfg);
		if (r.outdir)
			close(r.outfd);
		return 1;
	}
	if (r.trust_saved)
		msg_warn("--trust-saved: the DKIM signature of these files is not "
		    "checked; any of them with a ShadowServer From address is taken as a real report. Use it only "
		    "on mail you saved from ShadowServer yourself.");
	r.progress = isatty(STDERR_FILENO) && (argc - optind > 1 || r.json);
	if (r.state)
		replay_in_date_order(&r, argv + optind, argc - optind);
	for (i = optind; r.state == NULL && i < argc; i++)
		if (mailsource_read(argv[i], &source_cb, &r, err, sizeof(err)) != 0)
			unreadable_input(&r, argv[i], err);
	if (r.progress)
		fprintf(stderr, "\n");
	store_close(r.state);
	template_set_free(r.templates);
	prefixmap_free((struct prefixmap *)r.map);
	accounts_free(r.accounts);
	config_free(cfg);
	if (r.json_spool != NULL)
		fclose(r.json_spool);
	free(r.name);
	if (r.outdir)
		close(r.outfd);
	return r.failures ? 1 : 0;
}
