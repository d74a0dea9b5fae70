/*
 * milter - the shadowmilter daemon: libmilter callbacks, socket, privileges,
 * reload, and the delivery worker
 *
 * The callbacks are thin adapters onto filter.c; every libmilter call goes
 * through the filter_io table below. Configuration and customer map live in
 * a reference-counted runtime: a message holds the runtime it started with,
 * and a reload swaps in a new one without disturbing messages in flight.
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
 * Owns: the current runtime, the delivery thread, the pid file, the filter process.
 */
#include "milter.h"
#include "config.h"
#include "deliver.h"
#include "filter.h"
#include "outbox.h"
#include "prefixmap.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

struct runtime {
	struct config *cfg;
	struct prefixmap *map;
	struct outbox *outbox;
	struct state *state;		/* StateDB, when set and opened */
	char *state_error;		/* StateDB is set but could not be opened */
	struct filter_env env;
	int refs;
};

enum { RT_OUTBOX = 1, RT_STATE = 2 };	/* what runtime_load opens */

/* per SMTP connection */
struct conn {
	struct runtime *rt;
	struct filter_msg *msg;
	int can_skip;
};

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;
static const char *config_path;

static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static int wake_pending, stopping;

/* --- the runtime --------------------------------------------------------- */

static void
runtime_destroy(struct runtime *rt)
{
	state_close(rt->state);
	free(rt->state_error);
	outbox_close(rt->outbox);
	prefixmap_free(rt->map);
	config_free(rt->cfg);
	free(rt);
}

/*
 * runtime_open_state - the detection history. A database that cannot be
 * opened does not stop the milter: ordinary mail flows, and every report is
 * deferred (TEMPFAIL, one log line each) until it is fixed and reloaded.
 */
static void
runtime_open_state(struct runtime *rt)
{
	char err[512];

	if (rt->cfg->state_db == NULL || rt->state || rt->state_error)
		return;
	if ((rt->state = state_open(rt->cfg->state_db, STATE_BUSY_TIMEOUT_MS, err, sizeof(err))) == NULL) {
		rt->state_error = xstrdup(err);
		syslog(LOG_ERR, "%s; reports are deferred until it is fixed and shadowmilter reloaded", err);
	}
	rt->env.state = rt->state;
	rt->env.state_error = rt->state_error;
}

/* runtime_load - config, customer map, and what FLAGS ask: outbox and
 * history; NULL with ERR */
static struct runtime *
runtime_load(const char *path, int flags, char *err, size_t errlen)
{
	struct runtime *rt = xcalloc(1, sizeof(*rt));

	rt->refs = 1;
	if ((rt->cfg = config_load(path, err, errlen)) == NULL)
		goto fail;
	rt->map = prefixmap_new();
	if (prefixmap_load(rt->map, rt->cfg->customer_map, err, errlen) != 0)
		goto fail;
	if ((flags & RT_OUTBOX) && (rt->outbox = outbox_open(rt->cfg->outbox_db, err, errlen)) == NULL)
		goto fail;
	rt->env.cfg = rt->cfg;
	rt->env.map = rt->map;
	rt->env.outbox = rt->outbox;
	if (flags & RT_STATE)
		runtime_open_state(rt);
	return rt;
fail:
	runtime_destroy(rt);
	return NULL;
}

static struct runtime *
runtime_acquire(void)
{
	struct runtime *rt;

	pthread_mutex_lock(&rt_lock);
	rt = current;
	rt->refs++;
	pthread_mutex_unlock(&rt_lock);
	return rt;
}

static void
runtime_release(struct runtime *rt)
{
	int last;

	if (rt == NULL)
		return;
	pthread_mutex_lock(&rt_lock);
	last = --rt->refs == 0;
	pthread_mutex_unlock(&rt_lock);
	if (last)
		runtime_destroy(rt);
}

static void
runtime_reload(void)
{
	struct runtime *fresh, *old;
	char err[512];

	if ((fresh = runtime_load(config_path, RT_OUTBOX | RT_STATE, err, sizeof(err))) == NULL) {
		syslog(LOG_ERR, "reload failed, keeping the running configuration: %s", err);
		return;
	}
	pthread_mutex_lock(&rt_lock);
	old = current;
	current = fresh;
	pthread_mutex_unlock(&rt_lock);
	runtime_release(old);
	syslog(LOG_INFO, "reloaded %s: %zu prefixes, %zu accounts", config_path,
	    prefixmap_prefix_count(fresh->map), prefixmap_account_count(fresh->map));
}

/* --- the filter_io over libmilter ---------------------------------------- */

static int
io_add_header(void *ctx, const char *name, const char *value)
{
	return smfi_addheader(ctx, (char *)name, (char *)value) == MI_SUCCESS ? 0 : -1;
}

static int
io_change_header(void *ctx, const char *name, int index, const char *value)
{
	return smfi_chgheader(ctx, (char *)name, index, (char *)value) == MI_SUCCESS ? 0 : -1;
}

static int
io_add_rcpt(void *ctx, const char *rcpt)
{
	return smfi_addrcpt(ctx, (char *)rcpt) == MI_SUCCESS ? 0 : -1;
}

static int
io_del_rcpt(void *ctx, const char *rcpt)
{
	return smfi_delrcpt(ctx, (char *)rcpt) == MI_SUCCESS ? 0 : -1;
}

static void io_log(void *ctx, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
io_log(void *ctx, int priority, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
}

static struct filter_io
io_for(SMFICTX *ctx)
{
	struct filter_io io = { io_add_header, io_change_header, io_add_rcpt, io_del_rcpt, io_log, ctx };

	return io;
}

static sfsistat
to_milter(const struct conn *c, enum filter_action a)
{
	switch (a) {
	case FILTER_ACCEPT: return SMFIS_ACCEPT;
	case FILTER_SKIP: return c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
	case FILTER_TEMPFAIL: return SMFIS_TEMPFAIL;
	case FILTER_DISCARD: return SMFIS_DISCARD;
	case FILTER_CONTINUE: break;
	}
	return SMFIS_CONTINUE;
}

/* --- callbacks ----------------------------------------------------------- */

static void
message_done(struct conn *c)
{
	filter_end(c->msg);
	c->msg = NULL;
	runtime_release(c->rt);
	c->rt = NULL;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
    unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT;
	struct conn *c = xcalloc(1, sizeof(*c));

	(void)f2;
	(void)f3;
	if ((f0 & need) != need) {
		syslog(LOG_ERR, "the MTA does not offer the actions shadowmilter needs "
		    "(add/change headers, add/delete recipients): offered 0x%lx", f0);
		free(c);
		return SMFIS_REJECT;
	}
	*pf0 = need;
	/* only what we use: skip body chunks we do not need, no DATA/unknown callbacks */
	*pf1 = f1 & (SMFIP_SKIP | SMFIP_NODATA | SMFIP_NOUNKNOWN);
	*pf2 = *pf3 = 0;
	c->can_skip = (f1 & SMFIP_SKIP) != 0;
	smfi_setpriv(ctx, c);
	return SMFIS_CONTINUE;
}

static struct conn *
conn_of(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL) {	/* an MTA that did not negotiate (old protocol) */
		c = xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
	}
	return c;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, struct sockaddr *addr)
{
	(void)host;
	(void)addr;
	conn_of(ctx);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);

	message_done(c);
	c->rt = runtime_acquire();
	c->msg = filter_begin(&c->rt->env, smfi_getsymval(ctx, "i"), argv[0]);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);

	return c->msg ? to_milter(c, filter_rcpt(c->msg, argv[0])) : SMFIS_CONTINUE;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_of(ctx);
	struct filter_io io = io_for(ctx);

	if (c->msg == NULL)
		return SMFIS_ACCEPT;
	filter_set_queue_id(c->msg, smfi_getsymval(ctx, "i"));
	return to_milter(c, filter_header(c->msg, &io, name, value));
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	struct filter_io io = io_for(ctx);

	return c->msg ? to_milter(c, filter_eoh(c->msg, &io)) : SMFIS_ACCEPT;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct conn *c = conn_of(ctx);
	struct filter_io io = io_for(ctx);

	return c->msg ? to_milter(c, filter_body(c->msg, &io, (const char *)data, len)) : SMFIS_ACCEPT;
}

static void
wake_delivery(void)
{
	pthread_mutex_lock(&wake_lock);
	wake_pending = 1;
	pthread_cond_signal(&wake_cond);
	pthread_mutex_unlock(&wake_lock);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	struct filter_io io = io_for(ctx);
	sfsistat rc;

	if (c->msg == NULL)
		return SMFIS_CONTINUE;
	filter_set_queue_id(c->msg, smfi_getsymval(ctx, "i"));
	rc = to_milter(c, filter_eom(c->msg, &io, time(NULL)));
	if (filter_notices_queued(c->msg) > 0)
		wake_delivery();
	message_done(c);
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c && c->msg)
		syslog(LOG_INFO, "%s: message aborted by the MTA", filter_queue_id(c->msg));
	if (c)
		message_done(c);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c) {
		message_done(c);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter_desc = {
	.xxfi_name = (char *)"shadowmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};

/* --- the delivery worker ------------------------------------------------- */

static void
log_delivery(void *ctx, const struct outbox_entry *e, const char *outcome, const char *detail)
{
	(void)ctx;
	/* the report's queue id first, so one grep follows a report to its notices */
	syslog(*detail ? LOG_WARNING : LOG_INFO, "%s: notice %lld for %s (%s): %s%s%s",
	    *e->queue_id ? e->queue_id : "NOQUEUE", e->id, e->account, e->report_type, outcome,
	    *detail ? ": " : "", detail);
}

/* deliver_round - one pass over the outbox with its own connection */
static void
deliver_round(void)
{
	struct runtime *rt = runtime_acquire();
	struct deliver_stats st;
	struct outbox *ob;
	char err[512];

	if ((ob = outbox_open(rt->cfg->outbox_db, err, sizeof(err))) == NULL)
		syslog(LOG_ERR, "delivery: %s", err);
	else if (deliver_pending(rt->cfg, ob, time(NULL), log_delivery, NULL, &st, err, sizeof(err)) != 0)
		syslog(LOG_ERR, "delivery: %s", err);
	outbox_close(ob);
	runtime_release(rt);
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

/* reload_thread - SIGUSR1 reloads; libmilter's thread owns HUP/TERM/INT */
static void *
reload_thread(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;)
		if (sigwait(&set, &sig) == 0 && sig == SIGUSR1)
			runtime_reload();
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
		fprintf(stderr, "shadowmilter: %s exists and is not a socket\n", path);
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
		fprintf(stderr, "shadowmilter: another filter answers on %s\n", path);
		return -1;
	}
	return unlink(path);
}

/* lookup_user - "user" or "user:group" */
static int
lookup_user(const char *spec, uid_t *uid, gid_t *gid, char **name)
{
	char *copy = xstrdup(spec), *colon = strchr(copy, ':');
	struct passwd *pw;
	struct group *gr;

	if (colon)
		*colon++ = '\0';
	if ((pw = getpwnam(copy)) == NULL) {
		fprintf(stderr, "shadowmilter: UserID %s: no such user\n", copy);
		free(copy);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon && (gr = getgrnam(colon)) == NULL) {
		fprintf(stderr, "shadowmilter: UserID %s: no such group\n", spec);
		free(copy);
		return -1;
	} else if (colon)
		*gid = gr->gr_gid;
	*name = xstrdup(copy);
	free(copy);
	return 0;
}

/* drop_privileges - root opens the socket, then becomes UserID for good */
static int
drop_privileges(const struct config *cfg, const char *sock)
{
	uid_t uid;
	gid_t gid;
	char *name;

	if (cfg->user_id == NULL) {
		if (geteuid() == 0) {
			fprintf(stderr, "shadowmilter: refusing to run as root: set UserID\n");
			return -1;
		}
		return 0;
	}
	if (lookup_user(cfg->user_id, &uid, &gid, &name) != 0)
		return -1;
	if (sock && chown(sock, uid, gid) != 0)
		fprintf(stderr, "shadowmilter: chown %s: %s\n", sock, strerror(errno));
	if (geteuid() == 0 && (initgroups(name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) {
		fprintf(stderr, "shadowmilter: cannot become %s: %s\n", cfg->user_id, strerror(errno));
		free(name);
		return -1;
	}
	free(name);
	if (uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		fprintf(stderr, "shadowmilter: could regain root after dropping privileges\n");
		return -1;
	}
	return 0;
}

static int
write_pid_file(const char *path)
{
	FILE *f;

	if (path == NULL || *path == '\0')
		return 0;
	if ((f = fopen(path, "w")) == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		syslog(LOG_ERR, "pid file %s: %s", path, strerror(errno));
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
	if (smfi_setconn(cfg->socket) != MI_SUCCESS || smfi_register(filter_desc) != MI_SUCCESS ||
	    smfi_opensocket(0) != MI_SUCCESS) {
		fprintf(stderr, "shadowmilter: cannot listen on %s\n", cfg->socket);
		return -1;
	}
	if (sock && chmod(sock, cfg->socket_mode) != 0) {
		fprintf(stderr, "shadowmilter: chmod %s: %s\n", sock, strerror(errno));
		return -1;
	}
	return 0;
}

static void
start_threads(void)
{
	pthread_t t;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* inherited by every thread */
	signal(SIGPIPE, SIG_IGN);		/* a sendmail that dies early */
	if (pthread_create(&t, NULL, reload_thread, NULL) != 0 ||
	    pthread_create(&t, NULL, delivery_thread, NULL) != 0) {
		syslog(LOG_ERR, "cannot start threads");
		exit(1);
	}
}

/* filter_process - the libmilter side: outbox, threads, smfi_main */
static int
filter_process(pid_t supervisor)
{
	char err[512];
	sigset_t set;
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != supervisor)	/* the supervisor died before prctl */
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* opened as UserID, so the database files belong to it */
	if ((current->outbox = outbox_open(current->cfg->outbox_db, err, sizeof(err))) == NULL) {
		syslog(LOG_ERR, "%s", err);
		return 1;
	}
	current->env.outbox = current->outbox;
	runtime_open_state(current);
	start_threads();
	syslog(LOG_INFO, "listening on %s as uid %ld", current->cfg->socket, (long)getuid());
	rc = smfi_main();
	pthread_mutex_lock(&wake_lock);
	stopping = 1;
	pthread_cond_signal(&wake_cond);
	pthread_mutex_unlock(&wake_lock);
	syslog(LOG_INFO, "stopped");
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
	int status;

	supervisor_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		if (too_many_restarts(starts, 5, time(NULL))) {
			syslog(LOG_ERR, "the filter process keeps dying; giving up");
			return 1;
		}
		if ((child = fork()) < 0) {
			syslog(LOG_ERR, "fork: %s", strerror(errno));
			return 1;
		}
		if (child == 0)
			_exit(filter_process(self));
		if (watch(child, &status))
			return 0;
		syslog(LOG_ERR, "filter process %ld %s %d; restarting", (long)child,
		    WIFSIGNALED(status) ? "killed by signal" : "exited with status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		sleep(1);
	}
}

int
milter_main(const char *conf, int foreground, int check_only)
{
	char err[512];
	int rc;

	config_path = conf;
	if ((current = runtime_load(conf, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "shadowmilter: %s\n", err);
		return 1;
	}
	if (check_only) {
		printf("%s: OK (%zu prefixes, %zu accounts)\n", conf, prefixmap_prefix_count(current->map),
		    prefixmap_account_count(current->map));
		return 0;
	}
	openlog("shadowmilter", LOG_PID | (foreground ? LOG_PERROR : 0), LOG_MAIL);
	if (open_socket(current->cfg) != 0)
		return 1;
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "shadowmilter: daemon: %s\n", strerror(errno));
		return 1;
	}
	if (write_pid_file(current->cfg->pid_file) != 0 ||
	    drop_privileges(current->cfg, unix_socket_path(current->cfg->socket)) != 0)
		return 1;
	rc = supervise();
	if (current->cfg->pid_file && *current->cfg->pid_file)
		unlink(current->cfg->pid_file);
	return rc;
}

int
deliver_once_main(const char *conf)
{
	struct deliver_stats st;
	struct runtime *rt;
	char err[512];

	signal(SIGPIPE, SIG_IGN);
	if ((rt = runtime_load(conf, RT_OUTBOX, err, sizeof(err))) == NULL) {
		fprintf(stderr, "shadowmilter: %s\n", err);
		return 1;
	}
	openlog("shadowmilter", LOG_PID | LOG_PERROR, LOG_MAIL);
	if (deliver_pending(rt->cfg, rt->outbox, time(NULL), log_delivery, NULL, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "shadowmilter: %s\n", err);
		runtime_destroy(rt);
		return 1;
	}
	printf("delivered %lu, deferred %lu, failed %lu\n", st.sent, st.retried, st.failed);
	runtime_destroy(rt);
	return 0;
}
