/*
 * pull - report files taken from the Reports API, through the same pipeline
 *
 * A pull asks reports/list (report/reportsapi.h, signed) for the files of a
 * window of days (ReportsAPIWindow back from today, or the caller's dates),
 * for the lists of ReportsAPILists and the types wanted (the caller's,
 * ReportsAPITypes, else every type the catalogue knows). A file this store
 * has applied already, by any route on any host (store/fileclaim.h), is not
 * downloaded. Every other file is downloaded with a plain GET of
 * ReportDownloadURL + id (report/fetch.h: ReportLinkHosts, MaxReportSize,
 * FetchTimeout, CAFile) and run through a pipeline of its own (route "api"),
 * oldest first (the history takes a stream's reports in date order):
 * the same claims, history and notices as the file attached to a mail.
 *
 * Exactly once: each file is claimed in its report's store transaction
 * under a report reference of this pull alone, so of two pulls at once (two
 * MX hosts on one PostgreSQL) one applies the file and the other finds it
 * applied. Nothing is marked applied that was not: a file that could not be
 * downloaded (the network, the server's 5xx, a 404) is tried again by the
 * next pull, and so is one that could not be read here (an I/O error on
 * its spool file). A file refused for what it is - larger than
 * MaxReportSize (not truncated: skipped), over a limit of the reader
 * (MaxCSVSize, MaxRows, MaxAttachmentSize, MaxReportFiles, MaxColumns,
 * MaxReportMemory), or not readable as a report (its form: not CSV, a
 * damaged zip, no header) - is recorded as refused (store/fileclaim.h) with
 * its reason and the limits in force (pull_limits): later pulls, on any
 * host of the store, list it as refused before without downloading it
 * again, and ops hear of it once, from the pull that refused it. It is
 * downloaded again only when the API offers it under another id (a file
 * issued again), when a file refused as too large meets a MaxReportSize
 * raised since, when one refused over a limit meets limits changed since
 * (any of them), or with REQ->retry_refused.
 *
 * Nothing here logs: the result says per file what happened, and
 * pull_tell_ops mails the summary to OpsAddress.
 *
 * Owns: the result.
 */
#ifndef SM_PULL_H
#define SM_PULL_H

#include <stddef.h>
#include <time.h>

#include "report/reportslist.h"

struct account_table;
struct config;
struct prefixmap;
struct store;
struct template_set;

struct pull_env {
	const struct config *cfg;
	const struct prefixmap *map;
	const struct template_set *templates;
	struct store *store;
	const char *run_id;		/* "HOST:PID:TIME": makes this pull's report references its own */
	const struct account_table *accounts;	/* AccountSettings, or NULL (customers/accounts.h) */
};

struct pull_request {
	char since[11], until[11];	/* YYYY-MM-DD, the window asked for */
	char *const *types;		/* the types wanted, or NULL: ReportsAPITypes, else the catalogue's */
	size_t ntypes;
	int dry_run;			/* read and count, but claim, queue, record and send nothing */
	int retry_refused;		/* download the files refused before again (--retry-refused) */
	time_t now;
};

enum pull_state {
	PULL_NEW,			/* offered, not applied here yet */
	PULL_APPLIED,			/* applied by this pull: its notices are queued */
	PULL_ALREADY,			/* applied before (or meanwhile), by any route or host */
	PULL_NOT_WANTED,		/* a type not asked for: left alone */
	PULL_FAILED,			/* not applied; the next pull tries again (detail says why) */
	PULL_TOO_LARGE,			/* over MaxReportSize, or a limit of the reader (MaxCSVSize, MaxRows,
					 * MaxReportMemory, ...): skipped, not truncated; refused while the
					 * limits stay */
	PULL_DRY_RUN,			/* --dry-run: read; detail says what it would make */
	PULL_UNREADABLE,		/* not readable as a report: refused from now on (detail says why) */
	PULL_REFUSED,			/* refused before (too large, unreadable), by any pull: not downloaded */
	PULL_NSTATES
};

struct pull_file {
	const struct api_report *r;	/* the API's entry */
	enum pull_state state;
	int over_limit;			/* TOO_LARGE by a limit of the reader (MaxCSVSize, MaxRows, ...) */
	char *detail;			/* notices, who applied it first, or the reason; never NULL */
	size_t notices, queued;
};

struct pull_result {
	struct api_list list;
	struct pull_file *files;	/* one per entry of list */
	size_t nfiles;
	size_t count[PULL_NSTATES];
};

/* pull_window - SINCE and UNTIL for the WINDOW seconds before NOW (UTC days) */
void pull_window(time_t now, unsigned long window, char since[11], char until[11]);

/* pull_date_ok - is S a date YYYY-MM-DD? */
int pull_date_ok(const char *s);

/* pull_list - what the API offers for REQ, each file NEW, ALREADY, REFUSED or NOT_WANTED: 0 with
 * *RES (free with pull_result_free), or -1 with ERR (the API's or the store's failure) */
int pull_list(const struct pull_env *env, const struct pull_request *req, struct pull_result *res, char *err,
    size_t errlen);

/*
 * pull_apply - every NEW file of RES downloaded and applied (or, with
 * REQ->dry_run, read and counted); PROGRESS (may be NULL) hears of each file
 * as it is done. 0, or -1 with ERR when the store failed (the files before
 * keep what they got; the rest stay NEW).
 */
typedef void (*pull_progress_fn)(void *ctx, const struct pull_file *f);
int pull_apply(const struct pull_env *env, const struct pull_request *req, struct pull_result *res,
    pull_progress_fn progress, void *ctx, char *err, size_t errlen);

void pull_result_free(struct pull_result *res);

/* pull_state_name - "applied", "already applied", ... */
const char *pull_state_name(enum pull_state s);

/* pull_types - the report types the API knows (reports/types): *N names, or -1 with ERR */
int pull_types(const struct config *cfg, char ***types, size_t *n, char *err, size_t errlen);

/* pull_limits - every size limit of CFG a file may meet, as one string: a
 * refusal under other limits than now's no longer stands */
struct buf;
void pull_limits(const struct config *cfg, struct buf *b);

/* pull_needs_ops - did the pull apply, refuse or fail a file (something ops hear of)? A file
 * refused before is not news */
int pull_needs_ops(const struct pull_result *res);

/* pull_tell_ops - one mail to OpsAddress listing RES's files and their outcome:
 * 0 sent (or no OpsAddress), -1 with ERR */
int pull_tell_ops(const struct config *cfg, const struct pull_request *req, const struct pull_result *res,
    char *err, size_t errlen);

#endif
