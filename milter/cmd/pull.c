/*
 * pull - the "shadowmilter pull" command, and the daemon's scheduled pull
 *
 * See pull.h. A command shell: it owns stdout/stderr and exit codes.
 */
#include "cmd/pull.h"
#include "cmd/privs.h"
#include "cmd/runtime.h"
#include "cmd/usage.h"
#include "config/config.h"
#include "store/claim.h"
#include "pipeline/json.h"
#include "pipeline/pull.h"
#include "base/msg.h"
#include "base/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define MAX_TYPES 64			/* --type given this often at most */

struct pull_cmd {
	const char *conf;
	struct pull_request req;
	char *types[MAX_TYPES];
	int json, list, list_types;
};

/* run_id - this pull's own name, "HOST:PID:START:BOOT:NOW": its report references are no other's */
static void
run_id(time_t now, char *out, size_t outlen)
{
	char worker[256];

	claim_owner(getpid(), worker, sizeof(worker));
	snprintf(out, outlen, "%s:%lld", worker, (long long)now);
}

/* log_file - one line per file a pull downloaded (or tried to) */
static void
log_file(void *ctx, const struct pull_file *f)
{
	int bad = f->state == PULL_FAILED || f->state == PULL_TOO_LARGE || f->state == PULL_UNREADABLE;

	(void)ctx;
	msg_log(bad ? LOG_WARNING : LOG_INFO, "pull: %s (id %s): %s: %s", f->r->file, f->r->id,
	    pull_state_name(f->state), f->detail);
}

/* summary_line - the counts of RES, one line */
static void
summary_line(const struct pull_request *req, const struct pull_result *res, struct buf *b)
{
	buf_printf(b, "pull %s to %s: %zu files offered, %zu %s, %zu already applied, %zu failed, %zu too large, "
	    "%zu unreadable, %zu refused before, %zu types not asked for", req->since, req->until, res->nfiles,
	    res->count[req->dry_run ? PULL_DRY_RUN : PULL_APPLIED], req->dry_run ? "read (dry run)" : "applied",
	    res->count[PULL_ALREADY], res->count[PULL_FAILED], res->count[PULL_TOO_LARGE], res->count[PULL_UNREADABLE],
	    res->count[PULL_REFUSED], res->count[PULL_NOT_WANTED]);
}

/* run_pull - list, apply, tell ops: what a pull is, for the command and the daemon. -1 when the API
 * or the store failed (logged), else 0 with *RES */
static int
run_pull(const struct runtime *rt, const struct pull_request *req, struct pull_result *res)
{
	char id[320], err[1024];
	struct pull_env env = { rt->cfg, rt->map, rt->templates, rt->store, id, rt->accounts };
	int rc;

	run_id(req->now, id, sizeof(id));
	if (pull_list(&env, req, res, err, sizeof(err)) != 0) {
		msg_error("pull: Reports API %s: %s; nothing applied, the next pull tries again", rt->cfg->reports_api_url,
		    err);
		return -1;
	}
	if (res->list.dropped)
		msg_warn("pull: reports/list: %zu entries without a usable id or file name left out", res->list.dropped);
	for (size_t i = 0; i < res->nfiles; i++)
		if (res->files[i].state == PULL_REFUSED)	/* a line each pull, the ops mail once */
			log_file(NULL, &res->files[i]);
	if ((rc = pull_apply(&env, req, res, log_file, NULL, err, sizeof(err))) != 0)
		msg_error("pull: the store failed: %s; the files not applied are tried again next pull", err);
	if (!req->dry_run && pull_needs_ops(res) && pull_tell_ops(rt->cfg, req, res, err, sizeof(err)) != 0)
		msg_error("pull: cannot mail the summary to %s: %s", rt->cfg->ops_address, err);
	return rc;
}

int
pull_scheduled(const struct runtime *rt, time_t now)
{
	struct pull_request req;
	struct pull_result res;
	struct buf line = BUF_INIT;
	int rc;

	memset(&req, 0, sizeof(req));
	req.now = now;
	pull_window(now, rt->cfg->reports_api_window, req.since, req.until);
	if ((rc = run_pull(rt, &req, &res)) == 0) {	/* a line each time: a pull that finds nothing says so */
		summary_line(&req, &res, &line);
		msg_info("%s", line.data);
	}
	if (rc == 0)
		rc = res.count[PULL_APPLIED] > 0;
	buf_free(&line);
	pull_result_free(&res);
	return rc;
}

/* --- the command's output -------------------------------------------------- */

static void
json_file(struct buf *b, const struct pull_file *f, int first)
{
	buf_puts(b, first ? "{\"id\":" : ",{\"id\":");
	json_string(b, f->r->id);
	buf_puts(b, ",\"file\":");
	json_string(b, f->r->file);
	buf_puts(b, ",\"type\":");
	json_string(b, f->r->type);
	buf_puts(b, ",\"report\":");
	json_string(b, f->r->report);
	buf_puts(b, ",\"timestamp\":");
	json_string(b, f->r->timestamp);
	buf_puts(b, ",\"state\":");
	json_string(b, pull_state_name(f->state));
	buf_puts(b, ",\"detail\":");
	json_string(b, f->detail);
	buf_printf(b, ",\"notices\":%zu,\"queued\":%zu}", f->notices, f->queued);
}

/* print_json - one object: the window, the files and the counts */
static void
print_json(const struct pull_request *req, const struct pull_result *res, const char *error)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_printf(&b, "{\"since\":\"%s\",\"until\":\"%s\",\"dry_run\":%s,\"files\":[", req->since, req->until,
	    req->dry_run ? "true" : "false");
	for (i = 0; i < res->nfiles; i++)
		json_file(&b, &res->files[i], i == 0);
	buf_printf(&b, "],\"offered\":%zu,\"applied\":%zu,\"already_applied\":%zu,\"failed\":%zu,\"too_large\":%zu,"
	    "\"unreadable\":%zu,\"refused_before\":%zu,\"not_wanted\":%zu,\"error\":", res->nfiles,
	    res->count[PULL_APPLIED], res->count[PULL_ALREADY], res->count[PULL_FAILED], res->count[PULL_TOO_LARGE],
	    res->count[PULL_UNREADABLE], res->count[PULL_REFUSED], res->count[PULL_NOT_WANTED]);
	if (error)
		json_string(&b, error);
	else
		buf_puts(&b, "null");
	buf_puts(&b, "}\n");
	fputs(b.data, stdout);
	buf_free(&b);
}

/* print_list - "pull --list": each file offered, and whether this store applied it */
static void
print_list(const struct pull_result *res)
{
	size_t i;

	for (i = 0; i < res->nfiles; i++) {
		const struct pull_file *f = &res->files[i];

		printf("%-16s %s  id=%s  type=%s%s%s\n", pull_state_name(f->state), f->r->file, f->r->id,
		    *f->r->type ? f->r->type : "-", *f->detail ? "  " : "", f->detail);
	}
	printf("%zu files offered, %zu new, %zu already applied, %zu refused before, %zu types not asked for\n",
	    res->nfiles, res->count[PULL_NEW], res->count[PULL_ALREADY], res->count[PULL_REFUSED],
	    res->count[PULL_NOT_WANTED]);
}

/* --- the command ----------------------------------------------------------- */

/* show_types - "pull --types": the API's report types, one a line (or a JSON array) */
static int
show_types(const struct runtime *rt, int json)
{
	char **types, err[1024];
	size_t i, n;
	struct buf b = BUF_INIT;

	if (pull_types(rt->cfg, &types, &n, err, sizeof(err)) != 0) {
		msg_error("pull: Reports API %s: %s", rt->cfg->reports_api_url, err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (json)
			buf_puts(&b, i ? "," : "[");
		if (json)
			json_string(&b, types[i]);
		else
			buf_printf(&b, "%s\n", types[i]);
		free(types[i]);
	}
	if (json)
		buf_puts(&b, n ? "]\n" : "[]\n");
	fputs(buf_cstr(&b), stdout);
	buf_free(&b);
	free(types);
	return 0;
}

/* pull_or_list - the store opened: list, or list and apply */
static int
pull_or_list(const struct runtime *rt, struct pull_cmd *c)
{
	struct pull_result res;
	struct buf line = BUF_INIT;
	char id[320], err[1024];
	struct pull_env env = { rt->cfg, rt->map, rt->templates, rt->store, id, rt->accounts };
	int rc;

	if (c->list) {
		run_id(c->req.now, id, sizeof(id));
		if ((rc = pull_list(&env, &c->req, &res, err, sizeof(err))) != 0)
			msg_error("pull: Reports API %s: %s", rt->cfg->reports_api_url, err);
		else if (c->json)
			print_json(&c->req, &res, NULL);
		else
			print_list(&res);
		pull_result_free(&res);
		return rc ? 1 : 0;
	}
	rc = run_pull(rt, &c->req, &res);
	summary_line(&c->req, &res, &line);
	if (c->json)
		print_json(&c->req, &res, rc ? "the Reports API or the store failed (see the log)" : NULL);
	else if (rc == 0)
		printf("%s\n", line.data);
	/* a file refused now is news once (exit 1, the ops mail); refused before it is not */
	rc = rc != 0 || res.count[PULL_FAILED] || res.count[PULL_TOO_LARGE] || res.count[PULL_UNREADABLE];
	buf_free(&line);
	pull_result_free(&res);
	return rc;
}

/* default_window - the dates not given: ReportsAPIWindow back from today, up to today */
static void
default_window(const struct config *cfg, struct pull_request *req)
{
	char since[11], until[11];

	pull_window(req->now, cfg->reports_api_window, since, until);
	if (*req->since == '\0')
		memcpy(req->since, since, sizeof(since));
	if (*req->until == '\0')
		memcpy(req->until, until, sizeof(until));
}

/* open_and_pull - the runtime as the daemon's user, then the work */
static int
open_and_pull(struct pull_cmd *c)
{
	struct runtime *rt;
	char err[512];
	int rc;

	if ((rt = runtime_load(c->conf, 0, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		return 2;
	}
	if (*rt->cfg->reports_api_key == '\0' || *rt->cfg->reports_api_secret_file == '\0') {
		runtime_destroy(rt);
		return usage_error("pull", "%s sets no ReportsAPIKey and ReportsAPISecretFile", c->conf);
	}
	default_window(rt->cfg, &c->req);
	if (c->list_types) {
		rc = show_types(rt, c->json);
		runtime_destroy(rt);
		return rc;
	}
	if (privs_as_user(rt->cfg, rt->cfg->outbox_db, "pull", err, sizeof(err)) != 0 ||
	    runtime_open_store(rt, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		runtime_destroy(rt);
		return 1;
	}
	rc = pull_or_list(rt, c);
	runtime_destroy(rt);
	return rc;
}

/* set_date - --since or --until */
static int
set_date(char out[11], const char *opt, const char *value)
{
	if (!pull_date_ok(value))
		return usage_error("pull", "%s \"%s\" is not a date YYYY-MM-DD", opt, value);
	snprintf(out, 11, "%s", value);
	return 0;
}

int
pull_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' }, { "type", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' }, { "json", no_argument, NULL, 'j' },
		{ "list", no_argument, NULL, 'l' }, { "types", no_argument, NULL, 'T' },
		{ "retry-refused", no_argument, NULL, 'R' }, { NULL, 0, NULL, 0 },
	};
	struct pull_cmd c;
	int opt, rc = 0;

	memset(&c, 0, sizeof(c));
	c.conf = "/etc/shadowmilter/shadowmilter.conf";
	c.req.now = time(NULL);
	opterr = 0;
	while (rc == 0 && (opt = getopt_long(argc, argv, ":c:nj", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.conf = optarg; break;
		case 'S': rc = set_date(c.req.since, "--since", optarg); break;
		case 'U': rc = set_date(c.req.until, "--until", optarg); break;
		case 't':
			if (c.req.ntypes == MAX_TYPES)
				return usage_error("pull", "more than %d --type options", MAX_TYPES);
			c.types[c.req.ntypes++] = optarg;
			break;
		case 'n': c.req.dry_run = 1; break;
		case 'j': c.json = 1; break;
		case 'l': c.list = 1; break;
		case 'T': c.list_types = 1; break;
		case 'R': c.req.retry_refused = 1; break;
		default: return usage_bad_option("pull", opt, argv);
		}
	}
	if (rc != 0)
		return rc;
	if (optind != argc)
		return usage_error("pull", "unexpected argument \"%s\"", argv[optind]);
	if (c.list + c.list_types > 1)
		return usage_error("pull", "--list and --types are two runs");
	if (*c.req.since && *c.req.until && strcmp(c.req.since, c.req.until) > 0)
		return usage_error("pull", "--since %s is after --until %s", c.req.since, c.req.until);
	if (c.req.ntypes)
		c.req.types = c.types;
	return open_and_pull(&c);
}
