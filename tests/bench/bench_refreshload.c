/*
 * bench_refreshload - does a million-prefix CustomerMap refresh stall the milter?
 *
 * Fills the table bench_map of the test PostgreSQL (SM_TEST_PG_URI: run it
 * under tests/e2e/with-pg.sh) with 1,000,000 prefixes (lib/pgmap.c), starts
 * the real daemon (SHADOWMILTER -f) with that table as its CustomerMap and
 * drives it over its milter socket (lib/milterdrive.c) from three
 * connections at once, each at a steady rate (open loop, so that a stall
 * shows as latency rather than as a slower client): two send ordinary mail
 * (MSGS_PER_S between them, default 1000; accepted at the From header), one
 * sends 10 DKIM-signed ShadowServer reports a second (tests/testsign.c) whose six
 * rows name five prefixes of five accounts and one address in nobody's
 * space, so every report looks the map up mid-refresh. After a stretch of
 * load without a refresh it sends SIGHUP REFRESHES times, each once the last
 * one's "reloaded" log line is there (and no refusal), with a pause between.
 *
 * Prints, for ordinary mail and reports apart, with no refresh and during
 * one (a message counts as during a refresh when any part of it overlaps
 * one): messages per second and latency (median, p99, max); the refresh wall
 * time (SIGHUP to the log line); the filter process's peak RSS (VmHWM) after
 * start and at the end; the load average. Then counts what went wrong: a
 * verdict other than accept (ordinary), a report whose X-Shadowmilter-Result
 * is not "notices=5 unmatched=1", and in the outbox a notice missing, made
 * twice, for the wrong account or recipient, or naming another account's
 * host. Exits non-zero if any count is not 0 or the daemon misbehaves.
 * Without SM_TEST_PG_URI it prints SKIP and exits 0. SM_KEEP set keeps the
 * daemon's directory (config, log, outbox), as a failure does.
 *
 *   sh tests/e2e/with-pg.sh build/bench/bench_refreshload build/shadowmilter [PREFIXES [REFRESHES [MSGS_PER_S]]]
 */
#include "lib/milterdrive.h"
#include "lib/pgmap.h"
#include "testsign.h"
#include "base/util.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ORDINARY_CONNS	2
#define BASELINE_S	6.0	/* load without a refresh before the first one */
#define GAP_S		1.5	/* load without a refresh between two, and after the last */
#define ROWS		5	/* prefixes a report names, each of its own account */
#define MAX_REFRESHES	32
#define REPORTS_PER_S	10
#define MAX_REPORTS	(PGMAP_ACCOUNTS / ROWS)

enum kind { ORDINARY, REPORT };

struct sample {
	double start, end;
	int ok;
};

struct load {
	enum kind kind;
	const char *sock;
	double rate;		/* messages a second this connection sends (open loop) */
	struct sample *s;
	size_t n, cap;
	long *reports;		/* REPORT: the report numbers whose verdict was right */
};

struct window {
	double start, end;
};

static atomic_int stopping;
static atomic_long next_report;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_refreshload: %s\n", what);
	exit(1);
}

static void
add_sample(struct load *l, double start, double end, int ok)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->s = xrealloc(l->s, l->cap * sizeof(*l->s));
		if (l->kind == REPORT)
			l->reports = xrealloc(l->reports, l->cap * sizeof(*l->reports));
	}
	l->s[l->n].start = start;
	l->s[l->n].end = end;
	l->s[l->n++].ok = ok;
}

/* report_mail - report J, signed: rows for prefixes 5J..5J+4 and one unmatched address; caller frees */
static char *
report_mail(long j)
{
	char date[32], stamp[32], host[64], err[256], *signed_mail;
	struct testsign opt = { .key_file = "tests/fixtures/dkim/test.private" };
	struct buf b = BUF_INIT;
	time_t t = time(NULL);
	struct tm tm;
	int k;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	buf_printf(&b, "From: Shadowserver <autoreports@shadowserver.org>\r\nTo: abuse@example.net\r\n"
	    "Date: %s\r\nSubject: [Example Hosting] Shadowserver Example Hosting Open Portmapper Report: %s\r\n"
	    "Message-ID: <bench-%ld@reports.shadowserver.org>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
	    "Open portmapper report.\r\n\r\n--b1\r\nContent-Type: text/csv; name=\"%s-scan_portmapper-bench%ld.csv\"\r\n"
	    "\r\n\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\"\r\n",
	    stamp, date, j, date, j);
	for (k = 0; k < ROWS; k++) {
		pgmap_host(ROWS * j + k, 7, host, sizeof(host));
		buf_printf(&b, "\"%s\",\"%s\",\"udp\",111,,\"portmapper\"\r\n", stamp, host);
	}
	buf_printf(&b, "\"%s\",\"15.0.0.1\",\"udp\",111,,\"portmapper\"\r\n--b1--\r\n", stamp);
	if ((signed_mail = testsign(b.data, b.len, &opt, err, sizeof(err))) == NULL)
		die(err);
	buf_free(&b);
	return signed_mail;
}

/* result_ok - the report's X-Shadowmilter-Result says ROWS notices and one unmatched */
static int
result_ok(const struct md_conn *c)
{
	char v[512], *p, *q;

	if (md_added(c, "X-Shadowmilter-Result", v, sizeof(v)) != 0 ||
	    (p = strstr(v, "notices=")) == NULL || (q = strstr(v, "unmatched=")) == NULL)
		return 0;
	return strtol(p + 8, NULL, 10) == ROWS && strtol(q + 10, NULL, 10) == 1;
}

/* pace - wait for the next message's turn at L's rate; a late one goes at once, with no catching up */
static void
pace(const struct load *l, double *next)
{
	double t = now();
	struct timespec ts;

	if (*next < t - 0.05)
		*next = t;
	if (*next > t) {
		ts.tv_sec = (time_t)(*next - t);
		ts.tv_nsec = (long)((*next - t - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	*next += 1.0 / l->rate;
}

static void *
drive(void *arg)
{
	static char body[16384];
	struct load *l = arg;
	struct md_conn c;
	char qid[32], v, *mail;
	double t0, next = now();
	long j;

	md_filler_body(body, sizeof(body));
	md_open(&c, l->sock);
	while (!atomic_load(&stopping)) {
		pace(l, &next);
		if (l->kind == ORDINARY) {
			t0 = now();
			v = md_ordinary(&c, body, sizeof(body));
			add_sample(l, t0, now(), v == 'a');
			continue;
		}
		if ((j = atomic_fetch_add(&next_report, 1)) >= MAX_REPORTS)
			break;
		mail = report_mail(j);	/* signed before the clock starts: the sender's work, not ours */
		snprintf(qid, sizeof(qid), "B%ld", j);
		t0 = now();
		v = md_eml(&c, qid, "<autoreports@shadowserver.org>", "<abuse@example.net>", mail, strlen(mail));
		add_sample(l, t0, now(), (v == 'a' || v == 'c') && result_ok(&c));
		l->reports[l->n - 1] = l->s[l->n - 1].ok ? j : -1;
		free(mail);
	}
	md_close(&c);
	return NULL;
}

/* --- the daemon ---------------------------------------------------------- */

struct daemon {
	char dir[64], conf[128], log[128], sock[128], outbox[128];
	pid_t pid;		/* the supervisor */
	long logoff;		/* how far the log has been read */
	int reloaded, failed;	/* "reloaded" lines seen; refusals and failures seen */
	int closed_port;	/* bound, never listening: notices fail to deliver at once and stay */
};

/* closed_port - a loopback TCP port that refuses connections while FD stays open */
static int
closed_port(int *fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);

	if ((*fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(*fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(*fd, (struct sockaddr *)&sin, &len) != 0)
		die("cannot bind a loopback port");
	return ntohs(sin.sin_port);
}

static void
write_conf(struct daemon *d, const char *uri)
{
	char cwd[512];
	FILE *f;
	int fd;

	if (getcwd(cwd, sizeof(cwd)) == NULL || (f = fopen(d->conf, "w")) == NULL)
		die("cannot write the config");
	fprintf(f, "CustomerMap %s\nCustomerMapQuery %s\nTestPublicKeys %s/tests/fixtures/dkim/keys\n"
	    "Socket unix:%s\nOutboxDB %s\nTransport smtp:127.0.0.1:%d\nDeliverInterval 3600\nRetryInterval 3600\n%s",
	    uri, PGMAP_QUERY, cwd, d->sock, d->outbox, closed_port(&fd), geteuid() == 0 ? "UserID nobody:nogroup\n" : "");
	fclose(f);
	d->closed_port = fd;
}

static void
start_daemon(struct daemon *d, const char *program)
{
	if ((d->pid = fork()) < 0)
		die("fork");
	if (d->pid == 0) {
		if (freopen(d->log, "w", stderr) == NULL)
			_exit(127);
		execl(program, program, "-f", "-c", d->conf, (char *)NULL);
		_exit(127);
	}
}

/* log_line - one line of the daemon's log: counts what the bench waits for */
static void
log_line(struct daemon *d, const char *line)
{
	if (strstr(line, ": reloaded "))
		d->reloaded++;
	if (strstr(line, "reload failed") || strstr(line, "refresh refused")) {
		d->failed++;
		fprintf(stderr, "bench_refreshload: daemon: %s", line);
	}
}

/* read_log - the lines added since the last call; 1 if one contains WANT */
static int
read_log(struct daemon *d, const char *want)
{
	char line[4096];
	int seen = 0;
	FILE *f = fopen(d->log, "r");

	if (f == NULL)
		return 0;
	fseek(f, d->logoff, SEEK_SET);
	while (fgets(line, sizeof(line), f) != NULL && strchr(line, '\n') != NULL) {
		d->logoff = ftell(f);
		log_line(d, line);
		seen |= want != NULL && strstr(line, want) != NULL;
	}
	fclose(f);
	return seen;
}

/* wait_log - until a new log line contains WANT (or, WANT NULL, RELOADS "reloaded" lines); -1 at a
 * timeout, a refusal or failure in the log, or when the daemon exits */
static int
wait_log(struct daemon *d, const char *want, int reloads, double timeout)
{
	double until = now() + timeout;
	int status;

	while (now() < until) {
		if (read_log(d, want) || (want == NULL && d->reloaded >= reloads))
			return 0;
		if (d->failed)	/* a refused refresh or a failed reload: no "reloaded" line to wait for */
			return -1;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return -1;
		}
		usleep(2000);
	}
	return -1;
}

/* filter_pid - the supervisor's child, the process that serves the socket */
static pid_t
filter_pid(const struct daemon *d)
{
	char path[64];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)d->pid, (long)d->pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* peak_mib - the filter process's peak RSS (VmHWM) so far, MiB; -1 if unknown */
static double
peak_mib(const struct daemon *d)
{
	char path[64], line[256];
	double kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)filter_pid(d));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %lf", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib / 1024.0;
}

static void
stop_daemon(struct daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
}

/* --- what the outbox holds ------------------------------------------------ */

/* has_host - does TEXT name the address ADDR (not as part of a longer one)? */
static int
has_host(const char *text, const char *addr)
{
	size_t n = strlen(addr);
	const char *p;

	for (p = strstr(text, addr); p != NULL; p = strstr(p + 1, addr))
		if ((p == text || strchr("0123456789abcdefABCDEF.:", p[-1]) == NULL) &&
		    strchr("0123456789abcdefABCDEF.", p[n]) == NULL && !(p[n] == ':' && strchr(addr, ':') && p[-1] != '['))
			return 1;
	return 0;
}

/* notice_wrong - what is wrong with the notice for account I, or NULL */
static const char *
notice_wrong(long i, const char *recipients, const char *message)
{
	char want[64], host[64];
	long j = i / ROWS, k;

	snprintf(want, sizeof(want), "noc@acct%ld.example", i);
	if (strncmp(recipients, want, strlen(want)) != 0 || strspn(recipients + strlen(want), "\r\n") !=
	    strlen(recipients + strlen(want)))
		return "wrong recipient";
	for (k = ROWS * j; k < ROWS * j + ROWS; k++) {
		pgmap_host(k, 7, host, sizeof(host));
		if (k == i && !has_host(message, host))
			return "does not name the account's own host";
		if (k != i && has_host(message, host))
			return "names another account's host";
	}
	return NULL;
}

/* check_outbox - the notices against the reports (OK, N of them; -1: answered wrong); the number wrong */
static long
check_outbox(const char *path, const long *ok, size_t n)
{
	unsigned char *seen = xcalloc(PGMAP_ACCOUNTS, 1);
	const char *acct, *why;
	long wrong = 0, i, notices = 0;
	sqlite3_stmt *st;
	sqlite3 *db;
	size_t r;
	int k;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT account, recipients, message FROM notices", -1, &st, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		notices++;
		acct = (const char *)sqlite3_column_text(st, 0);
		why = NULL;
		if (sscanf(acct, "acct%ld", &i) != 1 || i < 0 || i >= PGMAP_ACCOUNTS)
			why = "an account no report names";
		else if (seen[i]++)
			why = "made twice";
		else
			why = notice_wrong(i, (const char *)sqlite3_column_text(st, 1),
			    (const char *)sqlite3_column_text(st, 2));
		if (why && wrong++ < 5)
			fprintf(stderr, "bench_refreshload: the notice for %s: %s\n", acct, why);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	for (r = 0; r < n; r++)
		for (k = 0; ok[r] >= 0 && k < ROWS; k++)
			if (!seen[ROWS * ok[r] + k] && wrong++ < 5)
				fprintf(stderr, "bench_refreshload: report %ld: no notice for acct%ld\n", ok[r],
				    ROWS * ok[r] + k);
	printf("  outbox: %ld notices for %zu reports answered right\n", notices, n);
	free(seen);
	return wrong;
}

/* --- figures -------------------------------------------------------------- */

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* during - does [S, E] overlap one of the N windows? */
static int
during(double s, double e, const struct window *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (s <= w[i].end && e >= w[i].start)
			return 1;
	return 0;
}

/* figures - one line: the messages of LOADS (N) of KIND in or out of the windows, over SECS seconds */
static void
figures(const char *label, struct load *loads, int n, enum kind kind, int in, const struct window *w, int nw,
    double secs)
{
	double *lat = xmalloc(sizeof(double) * 1);
	size_t count = 0, cap = 1, i;
	int l;

	for (l = 0; l < n; l++)
		for (i = 0; loads[l].kind == kind && i < loads[l].n; i++) {
			if (during(loads[l].s[i].start, loads[l].s[i].end, w, nw) != in)
				continue;
			if (count == cap)
				lat = xrealloc(lat, sizeof(double) * (cap *= 2));
			lat[count++] = (loads[l].s[i].end - loads[l].s[i].start) * 1e3;
		}
	qsort(lat, count, sizeof(double), by_value);
	if (count == 0)
		printf("  %-34s      0 messages\n", label);
	else
		printf("  %-34s %6zu messages %8.0f msg/s  latency ms: median %6.2f  p99 %7.2f  max %7.2f\n", label,
		    count, count / secs, lat[count / 2], lat[count * 99 / 100], lat[count - 1]);
	free(lat);
}

static long
wrong_replies(const struct load *loads, int n, enum kind kind)
{
	long wrong = 0;
	size_t i;
	int l;

	for (l = 0; l < n; l++)
		for (i = 0; loads[l].kind == kind && i < loads[l].n; i++)
			wrong += !loads[l].s[i].ok;
	return wrong;
}

/* --- the run ------------------------------------------------------------- */

static void
pause_for(double secs)
{
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
loadavg(char *out, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	if (f == NULL || fgets(out, (int)len, f) == NULL)
		snprintf(out, len, "unknown\n");
	if (f)
		fclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/* refresh - SIGHUP number R (from 1) and its "reloaded" line: the window it took; -1 if it did not come */
static int
refresh(struct daemon *d, int r, struct window *w)
{
	w->start = now();
	kill(d->pid, SIGHUP);
	if (wait_log(d, NULL, r, 120) != 0)
		return -1;
	w->end = now();
	return d->failed ? -1 : 0;
}

/* setup - the daemon's directory and config; 0 or exits */
static void
setup(struct daemon *d, const char *uri)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/sm-refreshload-XXXXXX");
	if (mkdtemp(d->dir) == NULL)
		die("mkdtemp");
	chmod(d->dir, 0777);	/* the daemon's UserID makes its socket and outbox here */
	snprintf(d->conf, sizeof(d->conf), "%s/shadowmilter.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/milter.log", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/milter.sock", d->dir);
	snprintf(d->outbox, sizeof(d->outbox), "%s/outbox.db", d->dir);
	write_conf(d, uri);
}

static void
cleanup(const struct daemon *d)
{
	const char *files[] = { d->conf, d->log, d->sock, d->outbox };
	char path[160];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	snprintf(path, sizeof(path), "%s-wal", d->outbox);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", d->outbox);
	unlink(path);
	rmdir(d->dir);
}

/* run - the load, with REFRESHES refreshes in it; fills W (the windows); the seconds it ran, -1 on failure */
static double
run(struct daemon *d, struct load *loads, int nloads, int refreshes, struct window *w)
{
	pthread_t t[ORDINARY_CONNS + 1];
	double t0 = now(), secs;
	int i, rc = 0;

	for (i = 0; i < nloads; i++)
		if (pthread_create(&t[i], NULL, drive, &loads[i]) != 0)
			die("pthread_create");
	pause_for(BASELINE_S);
	for (i = 0; i < refreshes && rc == 0; i++) {
		if ((rc = refresh(d, i + 1, &w[i])) != 0)
			fprintf(stderr, "bench_refreshload: refresh %d did not log \"reloaded\" (see %s)\n", i + 1, d->log);
		pause_for(GAP_S);
	}
	atomic_store(&stopping, 1);
	for (i = 0; i < nloads; i++)
		pthread_join(t[i], NULL);
	secs = now() - t0;
	return rc == 0 ? secs : -1;
}

/* report_figures - what the run measured; the number of wrong answers */
static long
report_figures(struct daemon *d, struct load *loads, int nloads, const struct window *w, int nw, double secs)
{
	double inside = 0, longest = 0;
	long wrong_ord = wrong_replies(loads, nloads, ORDINARY), wrong_rep = wrong_replies(loads, nloads, REPORT);
	int i;

	for (i = 0; i < nw; i++) {
		inside += w[i].end - w[i].start;
		longest = w[i].end - w[i].start > longest ? w[i].end - w[i].start : longest;
	}
	printf("  refreshes: %d (SIGHUP to the \"reloaded\" line), %.2f s on average, %.2f s the longest\n", nw,
	    inside / nw, longest);
	figures("ordinary mail, no refresh", loads, nloads, ORDINARY, 0, w, nw, secs - inside);
	figures("ordinary mail, during a refresh", loads, nloads, ORDINARY, 1, w, nw, inside);
	figures("signed reports, no refresh", loads, nloads, REPORT, 0, w, nw, secs - inside);
	figures("signed reports, during a refresh", loads, nloads, REPORT, 1, w, nw, inside);
	printf("  wrong replies: %ld ordinary (not accept), %ld reports (verdict or X-Shadowmilter-Result)\n",
	    wrong_ord, wrong_rep);
	(void)d;
	return wrong_ord + wrong_rep;
}

int
main(int argc, char **argv)
{
	const char *uri = getenv("SM_TEST_PG_URI");
	long prefixes = argc > 2 ? atol(argv[2]) : 1000000, wrong;
	int refreshes = argc > 3 ? atoi(argv[3]) : 5, i;
	double rate = argc > 4 ? atof(argv[4]) : 1000;
	struct load loads[ORDINARY_CONNS + 1];
	struct window w[MAX_REFRESHES];
	struct daemon d = { .pid = 0 };
	char la0[128], la1[128];
	double t0, secs, rss0, rss1;

	if (argc < 2 || refreshes < 1 || refreshes > MAX_REFRESHES || prefixes < ROWS || rate <= 0) {
		fprintf(stderr, "usage: bench_refreshload SHADOWMILTER [PREFIXES [REFRESHES (1-%d) [MSGS_PER_S]]]\n",
		    MAX_REFRESHES);
		return 2;
	}
	if (uri == NULL || *uri == '\0') {
		printf("SKIP bench_refreshload: no SM_TEST_PG_URI (run under tests/e2e/with-pg.sh)\n");
		return 0;
	}
	loadavg(la0, sizeof(la0));
	t0 = now();
	if (pgmap_fill(uri, prefixes) != 0)
		return 1;
	printf("bench_refreshload: %ld prefixes in PostgreSQL (filled in %.1f s); ordinary mail at %.0f msg/s on %d "
	    "connections, signed reports at %d/s on one, %d SIGHUP refreshes\n", prefixes, now() - t0, rate,
	    ORDINARY_CONNS, REPORTS_PER_S, refreshes);
	setup(&d, uri);
	start_daemon(&d, argv[1]);
	t0 = now();
	if (wait_log(&d, "listening on", 0, 300) != 0) {
		fprintf(stderr, "bench_refreshload: the daemon did not log \"listening on\" (see %s)\n", d.log);
		stop_daemon(&d);
		return 1;
	}
	rss0 = peak_mib(&d);
	printf("  daemon up in %.2f s (the map's first load), peak RSS %.0f MiB\n", now() - t0, rss0);
	memset(loads, 0, sizeof(loads));
	for (i = 0; i <= ORDINARY_CONNS; i++) {
		loads[i].kind = i < ORDINARY_CONNS ? ORDINARY : REPORT;
		loads[i].sock = d.sock;
		loads[i].rate = i < ORDINARY_CONNS ? rate / ORDINARY_CONNS : REPORTS_PER_S;
	}
	secs = run(&d, loads, ORDINARY_CONNS + 1, refreshes, w);
	rss1 = peak_mib(&d);
	stop_daemon(&d);
	loadavg(la1, sizeof(la1));
	if (secs < 0)
		return 1;
	wrong = report_figures(&d, loads, ORDINARY_CONNS + 1, w, refreshes, secs);
	wrong += check_outbox(d.outbox, loads[ORDINARY_CONNS].reports, loads[ORDINARY_CONNS].n);
	printf("  daemon (filter process) peak RSS: %.0f MiB after start, %.0f MiB at the end (two maps live during a "
	    "refresh)\n  load average before: %s; after: %s (2 cores)\n", rss0, rss1, la0, la1);
	printf("  %s: %ld wrong\n", wrong ? "FAILED" : "ok", wrong);
	if (wrong == 0 && getenv("SM_KEEP") == NULL)
		cleanup(&d);
	else
		fprintf(stderr, "bench_refreshload: the daemon's files are in %s\n", d.dir);
	for (i = 0; i <= ORDINARY_CONNS; i++) {
		free(loads[i].s);
		free(loads[i].reports);
	}
	return wrong != 0;
}
