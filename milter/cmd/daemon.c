/*
 * daemon - the shadowmilter daemon: socket, privileges, supervisor, reload,
 * and the delivery worker
 *
 * The libmilter callbacks are milter.c; configuration, customer map, outbox
 * and history live in a reference-counted runtime (runtime.c), so a reload
 * swaps in a new one without disturbing messages in flight.
 *
 * Two processes: libmilter's own signal thread claims SIGHUP, SIGTERM and
 * SIGINT and stops the filter on any of them, which would make "reload on
 * SIGHUP" impossible in the filter process. So the process that owns the pid
 * file is a small supervisor: it opens the socket, drops privileges, forks
 * the filter process (which inherits the listening socket) and turns SIGHUP
 * and SIGUSR1 into a reload (SIGUSR1 to the filter), SIGTERM and SIGINT into
 * a clean stop; a filter process that dies is restarted (at most 5 times a
 * minute). The filter process dies with its supervisor (PR_SET_PDEATHSIG).
 *
 * Owns: the delivery thread, the pid file, the filter process.
 */
#include "cmd/daemon.h"
#include "cmd/check.h"
#include "cmd/privs.h"
#include "cmd/pull.h"
#include "cmd/milter.h"
#include "cmd/runtime.h"
#include "config/config.h"
#include "notice/deliver.h"
#include "notice/digest.h"
#include "pipeline/filter.h"
#include "store/outbox.h"
#include "pipeline/pipeline.h"
#include "pipeline/linkfetch.h"
#include "report/reportsapi.h"
#include "store/claim.h"
#include "store/fetchjobs.h"
#include "customers/prefixmap.h"
#include "base/msg.h"
#include "base/reaper.h"
#include "base/safefile.h"
#include "base/util.h"

#include <errno.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define MAP_CHECK_SECONDS 10	/* how often the refresh thread asks whether the CustomerMap is due */

static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static int wake_pending, stopping;

/* --- the delivery worker ------------------------------------------------- */

static void
log_delivery(void *ctx, const struct outbox_entry *e, const char *outcome, const char *detail)
{
	(void)ctx;
	/* the report's queue id first, so one grep follows a report to its notices */
	msg_log(*detail ? LOG_WARNING : LOG_INFO, "%s: notice %lld for %s (%s): %s%s%s",
	    *e->queue_id ? e->queue_id : "NOQUEUE", e->id, e->account, e->report_type, outcome,
	    *detail ? ": " : "", detail);
}

/*
 * expire_silent_streams - report streams silent for ResolveAfterDays resolve
 * by the clock, even when no report arrives; their NotifyResolved
 * confirmations are queued with them. -1 when the store failed (logged).
 */
static int
expire_silent_streams(const struct runtime *rt, time_t now)
{
	struct pipeline *p = pipeline_new(rt->cfg, rt->map);
	struct pipeline_history h;

	pipeline_set_accounts(p, rt->accounts);
	char err[512];
	int rc;

	pipeline_set_templates(p, rt->templates);
	pipeline_set_store(p, rt->store, 1);
	pipeline_set_now(p, now);
	if ((rc = pipeline_expire(p, &h, err, sizeof(err))) != 0)
		msg_error("expiry of silent report streams: %s", err);
	else if (h.expired || h.closed)
		msg_info("report streams silent for %u days: %lu findings resolved, %zu cases closed, "
		    "%zu confirmations queued", rt->cfg->resolve_after_days, h.expired, h.closed, h.queued);
	pipeline_free(p);
	return rc;
}

static void
log_fetch(void *ctx, const struct fetch_job *j, int failed, const char *outcome, const char *detail)
{
	(void)ctx;
	msg_log(failed ? LOG_WARNING : LOG_INFO, "%s: report link %s (fetch job %lld, ref=%s): %s: %s",
	    *j->queue_id ? j->queue_id : "NOQUEUE", j->url, j->id, j->report_ref, outcome, detail);
}

/* fetch_links - the links of link-only report mails, before the notices go out. -1 when the store failed (logged) */
static int
fetch_links(const struct runtime *rt, time_t now)
{
	struct linkfetch_env env = { rt->cfg, rt->map, rt->templates, rt->store, rt->accounts };
	struct linkfetch_stats st;
	char err[512], worker[CLAIM_OWNER_MAX];

	claim_owner(getpid(), worker, sizeof(worker));
	if (linkfetch_round(&env, now, worker, log_fetch, NULL, &st, err, sizeof(err)) != 0) {
		msg_error("fetching report links: %s", err);
		return -1;
	}
	return 0;
}

/*
 * take_back_dead_claims - the notices and fetch jobs an earlier process of
 * this host claimed and died with (a crashed daemon, a killed deliver run)
 * are due again now, not when their lease runs out (claim.h); -1 when the
 * store failed (logged)
 */
static int
take_back_dead_claims(const struct runtime *rt, time_t now)
{
	long long n[CLAIM_QUEUES];
	char err[512];

	if (claim_take_back_dead(rt->store, now, n, err, sizeof(err)) != 0) {
		msg_error("taking back the claims of dead processes: %s", err);
		return -1;
	}
	if (n[CLAIM_NOTICES] > 0 || n[CLAIM_FETCH_JOBS] > 0)
		msg_info("took back %lld notices and %lld fetch jobs claimed by processes of this host that are "
		    "gone", n[CLAIM_NOTICES], n[CLAIM_FETCH_JOBS]);
	return 0;
}

/* reclaim_dead_claims - take_back_dead_claims once, as this daemon starts delivering (else next round) */
static void
reclaim_dead_claims(const struct runtime *rt, time_t now)
{
	static int done;

	if (!done && take_back_dead_claims(rt, now) == 0)
		done = 1;
}

/* digest_failed - one account's digest that failed this round, logged once */
static void
digest_failed(void *ctx, const char *account, const char *why)
{
	(void)ctx;
	msg_error("building the daily digest of account %s: %s", account, why);
}

/* build_digests - the daily digests due at NOW into the outbox (ALL: every
 * waiting part, deliver --digest-now); -1 when that failed (logged) */
static int
build_digests(const struct runtime *rt, time_t now, int all)
{
	char err[512];
	size_t built;
	int rc;

	if ((rc = digest_build_due(rt->cfg, rt->store, now, all, &built, digest_failed, NULL, err,
	    sizeof(err))) < 0)
		msg_error("building the daily digests: %s", err);
	if (built > 0)
		msg_info("built %zu daily digest%s", built, built == 1 ? "" : "s");
	return rc != 0 ? -1 : 0;
}

/* deliver_round - expiry, the due digests, then one pass over the outbox */
static void
deliver_round(void)
{
	struct runtime *rt = runtime_acquire();
	struct deliver_stats st;
	char err[512];
	time_t now = time(NULL);

	reclaim_dead_claims(rt, now);
	expire_silent_streams(rt, now);
	fetch_links(rt, now);
	build_digests(rt, now, 0);
	if (deliver_pending(rt->cfg, rt->store, now, log_delivery, NULL, &st, err, sizeof(err)) != 0)
		msg_error("delivery: %s", err);
	runtime_release(rt);
}

/* daemon_wake_delivery - notices were queued: deliver now, not at the next interval (milter_register's hook) */
static void
daemon_wake_delivery(void)
{
	pthread_mutex_lock(&wake_lock);
	wake_pending = 1;
	pthread_cond_signal(&wake_cond);
	pthread_mutex_unlock(&wake_lock);
}

static void *
delivery_thread(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&wake_lock);
	while (!stopping) {
		struct runtime *rt;

		pthread_mutex_unlock(&wake_lock);
		deliver_round();
		rt = runtime_acquire();
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += rt->cfg->deliver_interval;
		runtime_release(rt);
		pthread_mutex_lock(&wake_lock);
		while (!wake_pending && !stopping && pthread_cond_timedwait(&wake_cond, &wake_lock, &until) == 0)
			;
		wake_pending = 0;
	}
	pthread_mutex_unlock(&wake_lock);
	return NULL;
}

/*
 * background - the calling thread yields the CPU to the milter callbacks:
 * a reload or a map refresh (a million prefixes is some 2 s of CPU) takes
 * longer on a busy machine, and the mail in flight does not wait for it.
 * On Linux the nice value is the thread's own.
 */
static void
background(void)
{
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
}

/* reload_thread - SIGUSR1 reloads; libmilter's thread owns HUP/TERM/INT */
static void *
reload_thread(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	background();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;)
		if (sigwait(&set, &sig) == 0 && sig == SIGUSR1)
			runtime_reload();
	return NULL;
}

/* refresh_thread - the CustomerMap: a CSV when it changes, SQL and commands every CustomerMapRefresh */
static void *
refresh_thread(void *arg)
{
	struct timespec pause = { MAP_CHECK_SECONDS, 0 };

	(void)arg;
	background();
	runtime_record_map_status();	/* the map read at start, for "status" */
	for (;;) {
		while (nanosleep(&pause, &pause) != 0)
			;
		pause.tv_sec = MAP_CHECK_SECONDS;
		runtime_refresh_map(0);
	}
	return NULL;
}

/*
 * pull_thread - the Reports API every ReportsAPIInterval, when a key is set:
 * a thread of its own, so a slow API or download never holds up the
 * delivery of notices, let alone a milter callback. Asked every
 * MAP_CHECK_SECONDS whether a pull is due, so a reload's new interval counts.
 */
static void *
pull_thread(void *arg)
{
	struct timespec pause = { MAP_CHECK_SECONDS, 0 };
	time_t last = 0;

	(void)arg;
	for (;;) {
		struct runtime *rt = runtime_acquire();
		const struct config *cfg = rt->cfg;
		time_t now = time(NULL);

		if (*cfg->reports_api_key && cfg->reports_api_interval &&
		    (last == 0 || now - last >= (time_t)cfg->reports_api_interval)) {
			last = now;
			if (pull_scheduled(rt, now) > 0)
				daemon_wake_delivery();
		}
		runtime_release(rt);
		while (nanosleep(&pause, &pause) != 0)
			;
		pause.tv_sec = MAP_CHECK_SECONDS;
	}
	return NULL;
}

/* --- start-up ------------------------------------------------------------ */

static const char *
unix_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* clear_stale_socket - remove a unix socket only when nothing answers on it */
static int
clear_stale_socket(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, answered;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		msg_error("%s exists and is not a socket", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	answered = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	if (answered) {
		msg_error("another filter answers on %s", path);
		return -1;
	}
	return unlink(path);
}

/* drop_privileges - root opens the socket, then becomes UserID for good (cmd/privs.c) */
static int
drop_privileges(const struct config *cfg, const char *sock)
{
	struct privs_user u;
	char err[256];

	if (cfg->user_id == NULL) {
		if (geteuid() == 0) {
			msg_error("refusing to run as root: set UserID");
			return -1;
		}
		return 0;
	}
	if (privs_lookup(cfg->user_id, &u, err, sizeof(err)) != 0) {
		msg_error("UserID %s: %s", cfg->user_id, err);
		return -1;
	}
	if (sock && chown(sock, u.uid, u.gid) != 0)
		msg_error("chown %s: %s", sock, strerror(errno));
	if (geteuid() == 0 && privs_become(&u, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		return -1;
	}
	return 0;
}

/*
 * write_pid_file - PATH as a new file (O_EXCL|O_NOFOLLOW: root never writes
 * through a planted symlink or into an old file), in a directory owned by
 * root or by us that not everyone may write to without the sticky bit
 */
static int
write_pid_file(const char *path)
{
	char *dir, err[512];
	const char *base;
	FILE *f = NULL;
	int dirfd, fd = -1;

	if (path == NULL || *path == '\0')
		return 0;
	base = strrchr(path, '/');
	dir = base ? xstrndup(path, (size_t)(base - path)) : xstrdup(".");
	base = base ? base + 1 : path;
	if ((dirfd = safefile_dir(*dir ? dir : "/", 0, SAFEFILE_ROOT_DIR, err, sizeof(err))) >= 0)
		fd = safefile_create(dirfd, base, 0644, err, sizeof(err));
	free(dir);
	if (dirfd >= 0)
		close(dirfd);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		if (fd >= 0 && f == NULL)
			close(fd);
		msg_error("pid file %s: %s", path, fd < 0 ? err : strerror(errno));	/* syslog; with -f stderr too */
		return -1;
	}
	return 0;
}

static int
open_socket(const struct config *cfg)
{
	const char *sock = unix_socket_path(cfg->socket);

	if (sock && clear_stale_socket(sock) != 0)
		return -1;
	if (smfi_setconn(cfg->socket) != MI_SUCCESS || milter_register(daemon_wake_delivery) != 0 ||
	    smfi_opensocket(0) != MI_SUCCESS) {
		msg_error("cannot listen on %s", cfg->socket);
		return -1;
	}
	if (sock && chmod(sock, cfg->socket_mode) != 0) {
		msg_error("chmod %s: %s", sock, strerror(errno));
		return -1;
	}
	return 0;
}

static pthread_t delivery;

static void
start_threads(void)
{
	pthread_t t;
	sigset_t set;
	char err[128];

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* inherited by every thread */
	signal(SIGPIPE, SIG_IGN);		/* a sendmail that dies early */
	if (reaper_start(err, sizeof(err)) != 0 ||	/* frees replaced maps and configs off the callbacks */
	    pthread_create(&t, NULL, reload_thread, NULL) != 0 ||
	    pthread_create(&t, NULL, refresh_thread, NULL) != 0 ||
	    pthread_create(&t, NULL, pull_thread, NULL) != 0 ||
	    pthread_create(&delivery, NULL, delivery_thread, NULL) != 0) {
		msg_fatal("cannot start threads");
	}
}

/* filter_process - the libmilter side: outbox, threads, smfi_main. A
 * restarted one reads the config again (a reload may have changed it) and
 * keeps the start-up one if that fails. */
static int
filter_process(pid_t supervisor, int restarted)
{
	struct runtime *current;
	char err[512];
	sigset_t set;
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != supervisor)	/* the supervisor died before prctl */
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (restarted)
		runtime_reload();
	current = runtime_current();
	/* opened as UserID, so the database files belong to it; one that cannot be
	 * reached defers reports, not ordinary mail, and every report tries again */
	if (runtime_open_store(current, err, sizeof(err)) != 0)
		msg_error("%s; reports are deferred until the store can be reached", err);
	start_threads();
	msg_info("listening on %s as uid %ld", current->cfg->socket, (long)getuid());
	rc = smfi_main();
	/* a clean stop: the delivery thread finishes (or gives back) its notice */
	deliver_request_stop();
	pthread_mutex_lock(&wake_lock);
	stopping = 1;
	pthread_cond_signal(&wake_cond);
	pthread_mutex_unlock(&wake_lock);
	pthread_join(delivery, NULL);
	reaper_stop();	/* the bundles still queued are freed before exit, not while it runs */
	msg_info("stopped");
	return rc == MI_SUCCESS ? 0 : 1;
}

/* too_many_restarts - more than 5 in the last minute means something is wrong */
static int
too_many_restarts(time_t *starts, size_t n, time_t now)
{
	size_t i;
	int recent = 0;

	for (i = 0; i < n; i++)
		recent += starts[i] != 0 && now - starts[i] < 60;
	memmove(starts, starts + 1, (n - 1) * sizeof(*starts));
	starts[n - 1] = now;
	return recent >= (int)n;
}

/* supervisor_signals - what the supervisor waits for */
static void
supervisor_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGCHLD);
}

/* watch - relay signals to the filter process until it exits; 1 if we were told to stop */
static int
watch(pid_t child, int *status)
{
	sigset_t set;
	int sig;

	supervisor_signals(&set);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP || sig == SIGUSR1)
			kill(child, SIGUSR1);
		else if (sig == SIGTERM || sig == SIGINT) {
			kill(child, SIGTERM);
			waitpid(child, status, 0);
			return 1;
		} else if (waitpid(child, status, WNOHANG) == child)
			return 0;
	}
}

static int
supervise(void)
{
	time_t starts[5] = { 0 };
	pid_t self = getpid(), child;
	sigset_t set;
	int status, restarts = 0;

	supervisor_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		if (too_many_restarts(starts, 5, time(NULL))) {
			msg_error("the filter process keeps dying; giving up");
			return 1;
		}
		if ((child = fork()) < 0) {
			msg_error("fork: %s", strerror(errno));
			return 1;
		}
		/* counted in the supervisor: counted in the child, every restart looked like the first */
		if (child == 0)
			_exit(filter_process(self, restarts > 0));
		restarts++;
		if (watch(child, &status))
			return 0;
		msg_error("filter process %ld %s %d; restarting", (long)child,
		    WIFSIGNALED(status) ? "killed by signal" : "exited with status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		sleep(1);
	}
}

/* trust_warnings - what the admin must know about who vouches for a report */
static void
trust_warnings(FILE *out, const char *conf, const struct config *cfg)
{
	if (!cfg->verify_dkim)
		fprintf(out, "%s: warning: VerifyDKIM no: reports are trusted on the Authentication-Results of "
		    "TrustedAuthservIDs; your verifier must add its header to every message, signed or not "
		    "(OpenDKIM: AlwaysAddARHeader yes), or a report forged with a planted header it cannot "
		    "parse may be believed. VerifyDKIM yes (the default) checks the signature itself.\n", conf);
	if (cfg->verify_dkim && cfg->test_public_keys)
		fprintf(out, "%s: warning: TestPublicKeys %s: DKIM keys come from this file, not DNS "
		    "(for tests and closed networks)\n", conf, cfg->test_public_keys);
}

/* ping_api - "-n" with ReportsAPIKey set: test/ping answers, with our key and secret */
static int
ping_api(const struct config *cfg)
{
	struct reportsapi api = { cfg->reports_api_url, cfg->reports_api_key, NULL, cfg->ca_file,
	    (long)cfg->fetch_timeout, 64 * 1024 };
	char *secret = NULL, *answer = NULL, why[600];
	int rc = -1;

	if (reportsapi_read_secret(cfg->reports_api_secret_file, &secret, why, sizeof(why)) == 0) {
		api.secret = secret;
		rc = reportsapi_call(&api, "test/ping", "", &answer, why, sizeof(why));
	}
	if (rc == 0)
		printf("Reports API %s: test/ping answered %.200s\n", cfg->reports_api_url, answer);
	else
		msg_error("Reports API %s: %s", cfg->reports_api_url, why);
	free(answer);
	free(secret);
	return rc;
}

/* download_url_refused - would every pull's download be refused (ReportDownloadURL not on
 * a ReportLinkHosts host, or not http/https)? Said once here rather than once a file later */
static int
download_url_refused(const struct config *cfg)
{
	struct fetch_opts o = linkfetch_opts(cfg);
	struct buf url = BUF_INIT;
	char why[512];
	int refused;

	buf_printf(&url, "%sid", cfg->report_download_url);
	if ((refused = !fetch_url_allowed(&o, url.data, why, sizeof(why))) != 0)
		msg_error("ReportDownloadURL %s: the Reports API's files could not be downloaded: %s",
		    cfg->report_download_url, why);
	buf_free(&url);
	return refused;
}

/* check_config - "-n": the config, the customer map, and every notice renders;
 * with ReportsAPIKey, the API answers (unless OFFLINE) */
static int
check_config(const char *conf, const struct runtime *rt, int offline)
{
	char err[512];
	size_t ntypes;

	trust_warnings(stdout, conf, rt->cfg);

	if (runtime_check_templates(rt, &ntypes, err, sizeof(err)) != 0) {
		msg_error("%s: %s", conf, err);
		return 1;
	}
	if (*rt->cfg->reports_api_key && download_url_refused(rt->cfg))
		return 1;
	if (*rt->cfg->reports_api_key && !offline && ping_api(rt->cfg) != 0)
		return 1;
	printf("%s: OK (%zu prefixes, %zu accounts, %zu report types render)\n", conf,
	    prefixmap_prefix_count(rt->map), prefixmap_account_count(rt->map), ntypes);
	return 0;
}

int
daemon_main(const char *conf, int foreground, int check_only, int offline)
{
	struct runtime *current;
	char err[512];
	int rc;

	if (check_only && check_setup(conf) != 0)	/* the host: users, directories, programs */
		return 1;
	if ((current = runtime_load(conf, 0, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		return 1;
	}
	runtime_install(current, conf);
	if (check_only)
		return check_config(conf, current, offline);
	if (runtime_check_templates(current, NULL, err, sizeof(err)) != 0) {
		msg_error("%s: %s", conf, err);
		return 1;
	}
	if (open_socket(current->cfg) != 0)
		return 1;
	if (!foreground && daemon(0, 0) != 0) {
		msg_error("daemon: %s", strerror(errno));
		return 1;
	}
	/* on its own now: from here on messages go to syslog (and stderr too with -f) */
	msg_syslog_init("shadowmilter", foreground);
	if (!current->cfg->verify_dkim)
		msg_warn("VerifyDKIM no: reports are trusted on the Authentication-Results of "
		    "TrustedAuthservIDs; the verifier must add its header to every message (OpenDKIM: "
		    "AlwaysAddARHeader yes)");
	if (write_pid_file(current->cfg->pid_file) != 0 ||
	    drop_privileges(current->cfg, unix_socket_path(current->cfg->socket)) != 0)
		return 1;
	rc = supervise();
	if (current->cfg->pid_file && *current->cfg->pid_file)
		unlink(current->cfg->pid_file);
	return rc;
}

struct dry_run {
	const struct config *cfg;
	time_t now;
	unsigned long due, later;
};

/* dry_run_entry - one line per pending notice: whom it would go to, and when */
static void
dry_run_entry(void *ctx, const struct outbox_entry *e, time_t next_attempt)
{
	struct dry_run *d = ctx;
	size_t i;

	if (next_attempt <= d->now)
		d->due++;
	else
		d->later++;
	printf("would send notice %lld for %s (%s) to ", e->id, e->account, e->report_type);
	if (d->cfg->test_recipient)
		printf("%s (TestRecipient, instead of ", d->cfg->test_recipient);
	for (i = 0; i < e->nrecipients; i++)
		printf("%s%s", i ? ", " : "", e->recipients[i]);
	printf("%s%s\n", d->cfg->test_recipient ? ")" : "", next_attempt <= d->now ? "" :
	    " (not yet: waiting to retry)");
}

/* deliver_dry_run - "deliver --dry-run": the pending notices, nothing sent or changed */
static int
deliver_dry_run(const struct runtime *rt)
{
	struct dry_run d = { rt->cfg, time(NULL), 0, 0 };
	char err[512];

	if (outbox_list_pending(rt->store, dry_run_entry, &d, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		return 1;
	}
	printf("dry run: %lu notices due, %lu waiting to retry; nothing sent (transport %s)\n", d.due, d.later,
	    rt->cfg->transport);
	return 0;
}

int
deliver_once_main(const char *conf, int dry_run, int digest_now)
{
	struct deliver_stats st;
	struct runtime *rt;
	char err[512];
	int rc, digests;

	signal(SIGPIPE, SIG_IGN);
	if ((rt = runtime_load(conf, 0, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		return 1;
	}
	/* as root: the outbox (and anything SQLite adds beside it) stays the daemon's */
	if (privs_as_user(rt->cfg, rt->cfg->outbox_db, "deliver", err, sizeof(err)) != 0 ||
	    runtime_open_store(rt, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		runtime_destroy(rt);
		return 1;
	}
	if (dry_run) {
		rc = deliver_dry_run(rt);
		runtime_destroy(rt);
		return rc;
	}
	msg_syslog_init("shadowmilter", 1);
	if (take_back_dead_claims(rt, time(NULL)) != 0 || expire_silent_streams(rt, time(NULL)) != 0 ||
	    fetch_links(rt, time(NULL)) != 0) {
		runtime_destroy(rt);
		return 1;
	}
	/* a digest that failed (logged) holds back no other notice: exit 1 after delivering */
	digests = build_digests(rt, time(NULL), digest_now);
	if (deliver_pending(rt->cfg, rt->store, time(NULL), log_delivery, NULL, &st, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		runtime_destroy(rt);
		return 1;
	}
	printf("delivered %lu, deferred %lu, failed %lu\n", st.sent, st.retried, st.failed);
	runtime_destroy(rt);
	return digests != 0;
}
