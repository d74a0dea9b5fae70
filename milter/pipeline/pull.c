/*
 * pull - report files taken from the Reports API, through the same pipeline
 *
 * See pull.h.
 */
#include "pipeline/pull.h"
#include "pipeline/pipeline.h"
#include "pipeline/linkfetch.h"
#include "pipeline/json.h"
#include "config/config.h"
#include "notice/deliver.h"
#include "notice/mailheader.h"
#include "report/catalogue.h"
#include "report/fetch.h"
#include "report/findings.h"
#include "report/reportid.h"
#include "report/reportsapi.h"
#include "store/fileclaim.h"
#include "store/store.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX_ANSWER (64UL << 20)	/* a reports/list answer kept at most */
#define LIST_LIMIT 100000		/* files asked for in one reports/list */

void
pull_window(time_t now, unsigned long window, char since[11], char until[11])
{
	time_t from = now - (time_t)window;
	struct tm tm;

	gmtime_r(&from, &tm);
	strftime(since, 11, "%Y-%m-%d", &tm);
	gmtime_r(&now, &tm);
	strftime(until, 11, "%Y-%m-%d", &tm);
}

int
pull_date_ok(const char *s)
{
	struct tm tm;
	const char *end;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	return end != NULL && *end == '\0';
}

const char *
pull_state_name(enum pull_state s)
{
	static const char *names[PULL_NSTATES] = { "new", "applied", "already applied", "type not wanted",
	    "failed, tried again next pull", "too large, skipped", "dry run", "unreadable, refused", "refused before" };

	return s < PULL_NSTATES ? names[s] : "?";
}

/* api_call - METHOD with FIELDS, signed with the secret read now (a rotated one counts at once) */
static int
api_call(const struct config *cfg, const char *method, const char *fields, size_t max, char **answer, char *err,
    size_t errlen)
{
	struct reportsapi api = { cfg->reports_api_url, cfg->reports_api_key, NULL, cfg->ca_file,
	    (long)cfg->fetch_timeout, max };
	char *secret = NULL;
	int rc;

	*answer = NULL;
	if (*cfg->reports_api_key == '\0') {
		err_set(err, errlen, "no ReportsAPIKey in the configuration");
		return -1;
	}
	if (reportsapi_read_secret(cfg->reports_api_secret_file, &secret, err, errlen) != 0)
		return -1;
	api.secret = secret;
	rc = reportsapi_call(&api, method, fields, answer, err, errlen);
	free(secret);
	return rc;
}

/* json_list - ",\"KEY\":[...]" of the N words of V; a single word as a string when ONE_AS_STRING */
static void
json_list(struct buf *b, const char *key, char *const *v, size_t n, int one_as_string)
{
	size_t i;

	if (n == 0)
		return;
	buf_printf(b, ",\"%s\":", key);
	if (n == 1 && one_as_string) {
		json_string(b, v[0]);
		return;
	}
	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		json_string(b, v[i]);
	}
	buf_putc(b, ']');
}

/* explicit_types - the types REQ or the config names, or 0 of them: the catalogue's */
static size_t
explicit_types(const struct config *cfg, const struct pull_request *req, char *const **types)
{
	*types = req->types ? req->types : cfg->reports_api_types;
	return req->types ? req->ntypes : cfg->nreports_api_types;
}

/* list_fields - the members of the reports/list body: the dates, the lists, the types asked for */
static void
list_fields(const struct config *cfg, const struct pull_request *req, struct buf *b)
{
	char *const *types;
	size_t ntypes = explicit_types(cfg, req, &types);

	buf_puts(b, "\"date\":");
	if (strcmp(req->since, req->until) == 0)
		json_string(b, req->since);
	else {
		struct buf range = BUF_INIT;

		buf_printf(&range, "%s:%s", req->since, req->until);
		json_string(b, range.data);
		buf_free(&range);
	}
	json_list(b, "reports", cfg->reports_api_lists, cfg->nreports_api_lists, 0);
	json_list(b, "type", types, ntypes, 1);
	buf_printf(b, ",\"limit\":%d", LIST_LIMIT);
}

/* wanted - is the type of R asked for (explicitly, or known to the catalogue)? */
static int
wanted(const struct config *cfg, const struct pull_request *req, const struct api_report *r, const char *file_type)
{
	char *const *types;
	size_t i, n = explicit_types(cfg, req, &types);

	if (n == 0)
		return catalogue_lookup(cfg->catalogue, r->type) != NULL ||
		    (file_type && catalogue_lookup(cfg->catalogue, file_type) != NULL);
	for (i = 0; i < n; i++)
		if (ascii_strcasecmp(types[i], r->type) == 0 || (file_type && ascii_strcasecmp(types[i], file_type) == 0))
			return 1;
	return 0;
}

void
pull_limits(const struct config *cfg, struct buf *b)
{
	buf_printf(b, "MaxReportSize=%llu MaxAttachmentSize=%llu MaxCSVSize=%llu MaxRows=%lu MaxReportFiles=%lu "
	    "MaxColumns=%lu MaxReportMemory=%llu", cfg->max_report_size, cfg->max_attachment_size, cfg->max_csv_size,
	    cfg->max_rows, cfg->max_report_files, cfg->max_columns, cfg->max_report_memory);
}

/*
 * still_refused - does refusal R stand under CFG? Too large: while
 * MaxReportSize is no larger. Over a limit: while every limit is as it
 * was. Unreadable: always, but for a row from before the limits were
 * recorded (it may have been a limit: one more try)
 */
static int
still_refused(const struct config *cfg, const struct file_refusal *r)
{
	struct buf now = BUF_INIT;
	int rc;

	if (strcmp(r->kind, "too large") == 0)
		return cfg->max_report_size <= r->max_size;
	if (strcmp(r->kind, "unreadable") == 0)
		return *r->limits != '\0';
	pull_limits(cfg, &now);
	rc = strcmp(r->limits, now.data) == 0;
	buf_free(&now);
	return rc;
}

/*
 * refusal_stands - is F (identity KEY) refused before, as this same download,
 * and does the refusal stand under the limits of now (still_refused)? 1
 * (detail in D), 0, -1
 */
static int
refusal_stands(const struct pull_env *env, const struct pull_request *req, const struct pull_file *f,
    const char *key, struct buf *d, char *err, size_t errlen)
{
	struct file_refusal r;
	char when[32];
	int rc;

	if (req->retry_refused || (rc = file_refusal_get(env->store, key, &r, err, errlen)) == 0)
		return 0;
	if (rc < 0)
		return -1;
	rc = strcmp(r.api_id, f->r->id) == 0 && still_refused(env->cfg, &r);
	if (rc) {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime(&r.refused_at));
		buf_printf(d, "refused %s UTC, %s: %s; not downloaded again", when, r.kind, r.reason);
	}
	file_refusal_free(&r);
	return rc;
}

/* classify - F as this store knows it: NEW, ALREADY (who, when), REFUSED (why), NOT_WANTED, or FAILED
 * (no identity) */
static int
classify(const struct pull_env *env, const struct pull_request *req, struct pull_file *f, char *err, size_t errlen)
{
	struct report_id id;
	struct file_claim held;
	struct buf d = BUF_INIT;
	char when[32];
	int rc = 0;

	if (report_id_parse(f->r->file, &id) != 0) {
		f->state = PULL_FAILED;
		buf_printf(&d, "the file name %s is outside ShadowServer's naming rule: it has no identity, "
		    "so it is never applied", f->r->file);
	} else if (!wanted(env->cfg, req, f->r, id.type)) {
		f->state = PULL_NOT_WANTED;
		buf_printf(&d, "type %s is not asked for (ReportsAPITypes, --type, or the catalogue)",
		    *f->r->type ? f->r->type : id.type);
	} else if ((rc = file_claim_get(env->store, id.key, &held, err, errlen)) == 1) {
		f->state = PULL_ALREADY;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime(&held.claimed_at));
		buf_printf(&d, "applied %s UTC, by %s", when, held.route);
		file_claim_free(&held);
	} else if (rc == 0 && (rc = refusal_stands(env, req, f, id.key, &d, err, errlen)) == 1)
		f->state = PULL_REFUSED;
	else if (rc == 0)
		f->state = PULL_NEW;
	report_id_free(&id);		/* zeroed when the name did not parse */
	f->detail = buf_steal(&d);
	if (f->detail == NULL)
		f->detail = xstrdup("");
	return rc < 0 ? -1 : 0;
}

/* by_file - oldest first: ShadowServer's file names begin with the report's date */
static int
by_file(const void *a, const void *b)
{
	const struct api_report *x = a, *y = b;

	return strcmp(x->file, y->file);
}

int
pull_list(const struct pull_env *env, const struct pull_request *req, struct pull_result *res, char *err,
    size_t errlen)
{
	struct buf fields = BUF_INIT;
	char *answer = NULL;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	list_fields(env->cfg, req, &fields);
	rc = api_call(env->cfg, "reports/list", fields.data, LIST_MAX_ANSWER, &answer, err, errlen);
	buf_free(&fields);
	if (rc == 0)
		rc = reportslist_parse(answer, strlen(answer), &res->list, err, errlen);
	free(answer);
	if (rc != 0)
		return -1;
	/* the history takes a stream's reports in date order: an older one applied after a
	 * newer only fills in history and notifies nothing */
	qsort(res->list.v, res->list.n, sizeof(*res->list.v), by_file);
	res->files = xcalloc(res->list.n + 1, sizeof(*res->files));
	for (i = 0; rc == 0 && i < res->list.n; i++) {
		res->files[i].r = &res->list.v[i];
		rc = classify(env, req, &res->files[i], err, errlen);
		res->nfiles++;
		res->count[res->files[i].state]++;
	}
	return rc;
}

/* count_notice - a dry run's sink: notices counted, not kept */
static int
count_notice(void *ctx, const struct pipeline_result *r, const struct report_output *ro, const struct notice *n)
{
	(void)r, (void)ro, (void)n;
	(*(size_t *)ctx)++;
	return 0;
}

/* new_pipeline - a pipeline for F's file: as the milter runs a report (queued notices), or a dry run's */
static struct pipeline *
new_pipeline(const struct pull_env *env, const struct pull_request *req, struct pull_file *f, const char *url,
    struct buf *ref)
{
	struct pipeline *p = pipeline_new(env->cfg, env->map);
	struct buf auth = BUF_INIT, reason = BUF_INIT;

	pipeline_set_accounts(p, env->accounts);
	buf_printf(ref, "api:%s@%s", f->r->file, env->run_id);
	buf_printf(&auth, "Reports API %s (HMAC2-signed reports/list)", env->cfg->reports_api_url);
	buf_printf(&reason, "Reports API: the report file %s was downloaded from %s", f->r->file, url);
	{
		struct pipeline_origin o = { ref->data, NULL, NULL, url, "api", auth.data, reason.data };

		pipeline_set_fetched(p, &o);
	}
	pipeline_set_templates(p, env->templates);
	pipeline_set_now(p, req->now);
	if (req->dry_run)
		pipeline_set_notice_sink(p, count_notice, &f->notices);
	else
		pipeline_set_store(p, env->store, 1);
	buf_free(&auth);
	buf_free(&reason);
	return p;
}

/* settle - F's state and detail from the pipeline's result R */
static void
settle(const struct pull_request *req, struct pull_file *f, const struct pipeline_result *r)
{
	struct buf d = BUF_INIT;
	size_t i, notices, unmatched;
	unsigned long skipped;
	int applied = 0, already = 0, limit = r->too_large, io = 0;

	pipeline_counts(r, &notices, &unmatched, &skipped);
	for (i = 0; i < r->nreports; i++) {
		const struct report_output *ro = &r->reports[i];

		if (ro->rf->error) {
			limit |= ro->rf->error_kind == REPORT_ERROR_LIMIT;
			io |= ro->rf->error_kind == REPORT_ERROR_IO;
			buf_printf(&d, "%s%s: %s", d.len ? "; " : "", ro->rf->file, ro->rf->error);
		} else if (ro->already_applied) {
			already++;
			buf_printf(&d, "%s%s", d.len ? "; " : "", ro->rf->note ? ro->rf->note : "already applied");
		} else
			applied++;
	}
	if (!req->dry_run)
		f->notices = notices;
	f->queued = r->queued;
	if (applied)
		f->state = req->dry_run ? PULL_DRY_RUN : PULL_APPLIED;
	else if (already)
		f->state = PULL_ALREADY;
	else if (io)
		f->state = PULL_FAILED;		/* reading it here failed: the next pull tries again */
	else if (limit)
		f->state = PULL_TOO_LARGE;	/* over a limit: refused while the limits stay */
	else
		f->state = PULL_UNREADABLE;	/* broken, or no report in it: the same bytes stay so */
	f->over_limit = f->state == PULL_TOO_LARGE;
	if (r->too_large)
		buf_printf(&d, "%s%s", d.len ? "; " : "", r->reason);	/* which limit of the whole file */
	else if (r->nreports == 0)
		buf_printf(&d, "no report file in the download");
	if (applied) {
		buf_reset(&d);
		buf_printf(&d, "%s%zu notices, %zu unmatched findings, %lu rows skipped", req->dry_run ? "would make " : "",
		    f->notices, unmatched, skipped);
	}
	free(f->detail);
	f->detail = buf_steal(&d);
	if (f->detail == NULL)
		f->detail = xstrdup("");
}

/* refusal_kind - what F's refusal is recorded as */
static const char *
refusal_kind(const struct pull_file *f)
{
	if (f->state != PULL_TOO_LARGE)
		return "unreadable";
	return f->over_limit ? "over a limit" : "too large";
}

/*
 * refuse - F (TOO_LARGE or UNREADABLE, the reason in its detail) recorded
 * as refused under the limits of now, so later pulls skip it while they
 * stay; REFUSED when another pull recorded it first (its ops mail names
 * it). A dry run records nothing. -1 with ERR when the store failed
 */
static int
refuse(const struct pull_env *env, const struct pull_request *req, struct pull_file *f, char *err, size_t errlen)
{
	struct report_id id;
	struct buf d = BUF_INIT, limits = BUF_INIT;
	int rc;

	if (req->dry_run || report_id_parse(f->r->file, &id) != 0)
		return 0;	/* no identity: classify never makes such a file NEW */
	pull_limits(env->cfg, &limits);
	rc = file_refusal_record(env->store, id.key, f->r->id, refusal_kind(f), f->detail, env->cfg->max_report_size,
	    limits.data, req->now, err, errlen);
	buf_free(&limits);
	report_id_free(&id);
	if (rc == 0) {
		f->state = PULL_REFUSED;
		buf_printf(&d, "refused by another pull meanwhile: %s", f->detail);
		free(f->detail);
		f->detail = buf_steal(&d);
	}
	return rc < 0 ? -1 : 0;
}

/* apply_one - download F and run it through a pipeline; -1 with ERR when the store failed */
static int
apply_one(const struct pull_env *env, const struct pull_request *req, struct pull_file *f, char *err,
    size_t errlen)
{
	struct fetch_opts o = linkfetch_opts(env->cfg);
	struct fetch_result res;
	struct pipeline_result *r = NULL;
	struct pipeline *p;
	struct buf url = BUF_INIT, ref = BUF_INIT;
	char why[600];
	int rc = 0;

	buf_printf(&url, "%s%s", env->cfg->report_download_url, f->r->id);
	free(f->detail);
	f->detail = NULL;
	if (fetch_report(&o, url.data, &res, why, sizeof(why)) != FETCH_OK) {
		/* over the limit (stopped, never truncated), or neither CSV nor zip: the file's own fault */
		f->state = res.refused == FETCH_TOO_LARGE ? PULL_TOO_LARGE :
		    res.refused == FETCH_NOT_A_REPORT ? PULL_UNREADABLE : PULL_FAILED;
		f->detail = xstrdup(why);
		buf_free(&url);
		return f->state == PULL_FAILED ? 0 : refuse(env, req, f, err, errlen);
	}
	p = new_pipeline(env, req, f, url.data, &ref);
	if (pipeline_add_file(p, f->r->file, res.fd, res.zip) != 0 || pipeline_finish(p, &r, why, sizeof(why)) != 0) {
		f->state = PULL_FAILED;
		f->detail = xstrdup(r == NULL && pipeline_store_failed(p) ? why : *why ? why : "the file could not be read");
		if (pipeline_store_failed(p)) {
			err_set(err, errlen, "%s", why);
			rc = -1;
		}
	} else {
		settle(req, f, r);
		if (f->state == PULL_UNREADABLE || f->state == PULL_TOO_LARGE)
			rc = refuse(env, req, f, err, errlen);
	}
	pipeline_result_free(r);
	pipeline_free(p);
	fetch_result_free(&res);
	buf_free(&url);
	buf_free(&ref);
	return rc;
}

int
pull_apply(const struct pull_env *env, const struct pull_request *req, struct pull_result *res,
    pull_progress_fn progress, void *ctx, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < res->nfiles; i++) {
		struct pull_file *f = &res->files[i];

		if (f->state != PULL_NEW)
			continue;
		res->count[PULL_NEW]--;
		if (apply_one(env, req, f, err, errlen) != 0) {
			res->count[f->state]++;
			if (progress)
				progress(ctx, f);
			return -1;
		}
		res->count[f->state]++;
		if (progress)
			progress(ctx, f);
	}
	return 0;
}

void
pull_result_free(struct pull_result *res)
{
	size_t i;

	for (i = 0; i < res->nfiles; i++)
		free(res->files[i].detail);
	free(res->files);
	reportslist_free(&res->list);
	memset(res, 0, sizeof(*res));
}

int
pull_types(const struct config *cfg, char ***types, size_t *n, char *err, size_t errlen)
{
	char *answer = NULL;
	int rc;

	*types = NULL;
	*n = 0;
	if (api_call(cfg, "reports/types", "", 4UL << 20, &answer, err, errlen) != 0)
		return -1;
	rc = reportslist_types(answer, strlen(answer), types, n, err, errlen);
	free(answer);
	return rc;
}

int
pull_needs_ops(const struct pull_result *res)
{
	return res->count[PULL_APPLIED] + res->count[PULL_FAILED] + res->count[PULL_TOO_LARGE] +
	    res->count[PULL_UNREADABLE] > 0;
}

/* ops_body - the summary: the counts, then one line per file that was not left alone */
static void
ops_body(const struct pull_request *req, const struct pull_result *res, struct buf *msg)
{
	struct buf line = BUF_INIT;
	char *clean;
	size_t i;

	buf_printf(msg, "\nshadowmilter pulled the Reports API for %s to %s: %zu files offered, %zu applied, "
	    "%zu already applied, %zu failed (tried again next pull), %zu too large (skipped, not truncated), "
	    "%zu unreadable, %zu refused before (not downloaded again, not listed), %zu of types not asked for.\n"
	    "A file too large or unreadable is refused: later pulls skip it and this is the one mail about it;\n"
	    "one too large is downloaded again once the limit it met (MaxReportSize, MaxCSVSize, MaxRows, ...)\n"
	    "is changed.\n\n",
	    req->since, req->until, res->nfiles, res->count[PULL_APPLIED], res->count[PULL_ALREADY],
	    res->count[PULL_FAILED], res->count[PULL_TOO_LARGE], res->count[PULL_UNREADABLE], res->count[PULL_REFUSED],
	    res->count[PULL_NOT_WANTED]);
	for (i = 0; i < res->nfiles; i++) {
		const struct pull_file *f = &res->files[i];

		if (f->state == PULL_NOT_WANTED || f->state == PULL_ALREADY || f->state == PULL_NEW ||
		    f->state == PULL_REFUSED)
			continue;
		buf_reset(&line);
		buf_printf(&line, "%s (id %s): %s: %s", f->r->file, f->r->id, pull_state_name(f->state), f->detail);
		clean = text_clean(line.data, 2000);	/* one line each, whatever the API said */
		buf_printf(msg, "  %s\n", clean);
		free(clean);
	}
	buf_free(&line);
}

int
pull_tell_ops(const struct config *cfg, const struct pull_request *req, const struct pull_result *res, char *err,
    size_t errlen)
{
	struct buf msg = BUF_INIT, subject = BUF_INIT;
	char *to[1] = { cfg->ops_address };
	int rc;

	if (cfg->ops_address == NULL)
		return 0;
	header_append(&msg, "From", cfg->notice_from);
	header_append(&msg, "To", cfg->ops_address);
	buf_printf(&subject, "shadowmilter: Reports API pull: %zu applied, %zu failed, %zu too large, %zu unreadable",
	    res->count[PULL_APPLIED], res->count[PULL_FAILED], res->count[PULL_TOO_LARGE], res->count[PULL_UNREADABLE]);
	header_append(&msg, "Subject", subject.data);
	header_append(&msg, "Auto-Submitted", "auto-generated");
	header_append(&msg, "Content-Type", "text/plain; charset=utf-8");
	ops_body(req, res, &msg);
	rc = deliver_message(cfg, to, 1, msg.data, NULL, err, errlen);
	buf_free(&msg);
	buf_free(&subject);
	return rc;
}
