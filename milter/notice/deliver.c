/*
 * deliver - hand queued notices to the MTA: sendmail(1) or an SMTP relay
 *
 * See deliver.h.
 */
#include "notice/deliver.h"
#include "config/config.h"
#include "notice/mailheader.h"
#include "store/claim.h"
#include "store/outbox.h"
#include "base/util.h"


#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MARK_HOLD_MS 3000	/* SQLite's write lock, held for the MTA's answer to the end of DATA */
#define STOP_WAIT_MS 10000	/* a stop waits this long for the answer to an end that went out */

static int stop_requested;	/* read and written with __atomic builtins */

void
deliver_request_stop(void)
{
	__atomic_store_n(&stop_requested, 1, __ATOMIC_SEQ_CST);
}

int
deliver_stop_requested(void)
{
	return __atomic_load_n(&stop_requested, __ATOMIC_SEQ_CST);
}

long
deliver_backoff(long base, int attempts)
{
	long cap = base > 3600 ? base : 3600, s = base;

	while (attempts-- > 0 && s < cap)
		s *= 2;
	return s > cap ? cap : s;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * wait_child - sendmail's exit status; while it runs, HOOKS' waiting is
 * called between naps that grow from 1 ms to 50 ms. -1 when it is unknown.
 */
static int
wait_child(pid_t pid, const struct deliver_hooks *hooks)
{
	useconds_t nap = 1000;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, hooks && hooks->waiting ? WNOHANG : 0);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0) {
			hooks->waiting(hooks->ctx);
			usleep(nap);
			nap = nap < 50000 ? nap * 2 : nap;
		}
	}
}

/*
 * message_file - MESSAGE in an anonymous file, at its start. sendmail reads
 * it whole even if we die meanwhile: through a pipe, our death would be its
 * EOF, and sendmail -i would queue what it had, a truncated notice.
 */
static int
message_file(const char *message)
{
	int fd = memfd_create("shadowmilter-notice", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write_all(fd, message, strlen(message)) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
via_sendmail(const char *path, const char *from, char *const *rcpts, size_t n, const char *message,
    const struct deliver_hooks *hooks, char *err, size_t errlen)
{
	char **argv;
	int fd, status;
	size_t i, a = 0;
	pid_t pid;

	if ((fd = message_file(message)) < 0) {
		err_set(err, errlen, "cannot hold the message for %s: %s", path, strerror(errno));
		return -1;
	}
	/* sendmail may queue the message from the moment it starts: the mark is prepared first */
	if (hooks && hooks->before_end && hooks->before_end(hooks->ctx) != 0) {
		close(fd);
		err_set(err, errlen, "%s: the message was withheld", path);
		return -1;
	}
	argv = xcalloc(n + 6, sizeof(char *));
	argv[a++] = (char *)"sendmail";
	argv[a++] = (char *)"-i";
	argv[a++] = (char *)"-f";
	argv[a++] = (char *)from;
	argv[a++] = (char *)"--";
	for (i = 0; i < n; i++)
		argv[a++] = rcpts[i];
	if ((pid = fork()) < 0) {
		err_set(err, errlen, "cannot start %s: %s", path, strerror(errno));
		close(fd);
		free(argv);
		return -1;
	}
	if (pid == 0) {
		dup2(fd, 0);
		execv(path, argv);
		_exit(75);	/* EX_TEMPFAIL */
	}
	free(argv);
	close(fd);
	status = wait_child(pid, hooks);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		err_set(err, errlen, "%s failed (status %d)", path,
		    status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	if (hooks && hooks->accepted)	/* sendmail has queued it */
		hooks->accepted(hooks->ctx);
	return 0;
}

/* an SMTP transfer: the message going out, and where its end is */
struct upload {
	const char *p;
	size_t left;
	const struct deliver_hooks *hooks;
	int end_sent;			/* the body is all out: libcurl sends (or sent) the final dot */
	int withheld;			/* before_end refused: the dot never goes out */
	struct timespec end_at;
};

static long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* read_upload - libcurl's read callback; returning 0 ends the upload, and libcurl then sends the dot */
static size_t
read_upload(char *dst, size_t size, size_t nmemb, void *ctx)
{
	struct upload *u = ctx;
	size_t n = size * nmemb < u->left ? size * nmemb : u->left;

	if (n == 0 && !u->end_sent) {
		const struct deliver_hooks *h = u->hooks;

		if (h && h->before_end && h->before_end(h->ctx) != 0) {
			u->withheld = 1;
			return CURL_READFUNC_ABORT;
		}
		u->end_sent = 1;
		clock_gettime(CLOCK_MONOTONIC, &u->end_at);
		return 0;
	}
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* to_crlf - SMTP wants CRLF line ends; libcurl does the dot-stuffing */
static char *
to_crlf(const char *message)
{
	struct buf b = BUF_INIT;

	for (; *message; message++) {
		if (*message == '\n' && (b.len == 0 || b.data[b.len - 1] != '\r'))
			buf_putc(&b, '\r');
		buf_putc(&b, *message);
	}
	return buf_steal(&b);
}

/*
 * on_progress - libcurl's progress callback, at least about once a second.
 * A stop abandons the transfer; but once the dot went out the MTA may be
 * accepting the message, so a stop waits STOP_WAIT_MS for its answer first.
 */
static int
on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct upload *u = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (!u->end_sent)
		return deliver_stop_requested();
	if (u->hooks && u->hooks->waiting)
		u->hooks->waiting(u->hooks->ctx);
	return deliver_stop_requested() && ms_since(&u->end_at) > STOP_WAIT_MS;
}

static int
via_smtp(const char *hostport, long timeout, const char *from, char *const *rcpts, size_t n, const char *message,
    const struct deliver_hooks *hooks, char *err, size_t errlen)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *list = NULL;
	struct buf url = BUF_INIT, addr = BUF_INIT;
	char *crlf = to_crlf(message);
	struct upload up;
	CURLcode rc;
	size_t i;

	if (curl == NULL)
		abort();
	memset(&up, 0, sizeof(up));
	up.p = crlf;
	up.left = strlen(crlf);
	up.hooks = hooks;
	buf_printf(&url, "smtp://%s", hostport);
	buf_printf(&addr, "<%s>", from);
	for (i = 0; i < n; i++) {
		struct buf r = BUF_INIT;

		buf_printf(&r, "<%s>", rcpts[i]);
		list = curl_slist_append(list, r.data);
		buf_free(&r);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, addr.data);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, list);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
	curl_easy_setopt(curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &up);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	rc = curl_easy_perform(curl);
	/*
	 * CURLE_OK: the server answered 250 to the end of DATA. libcurl keeps the
	 * connection for reuse, so QUIT has not been sent yet: it goes out in
	 * curl_easy_cleanup below, after the mark's commit.
	 */
	if (rc == CURLE_OK && hooks && hooks->accepted)
		hooks->accepted(hooks->ctx);
	if (up.withheld)
		err_set(err, errlen, "SMTP to %s: the end of the message was withheld", hostport);
	else if (rc != CURLE_OK)
		err_set(err, errlen, "SMTP to %s: %s", hostport, curl_easy_strerror(rc));
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
	buf_free(&url);
	buf_free(&addr);
	free(crlf);
	return rc == CURLE_OK ? 0 : -1;
}

/* send_timeout - an SMTP session ends well before its claim's lease: 5 minutes at most */
static long
send_timeout(const struct config *cfg)
{
	long t = (long)cfg->delivery_lease * 3 / 4;

	return t > 300 ? 300 : t < 3 ? 3 : t;
}

int
deliver_message(const struct config *cfg, char *const *rcpts, size_t n, const char *message,
    const struct deliver_hooks *hooks, char *err, size_t errlen)
{
	const char *t = cfg->transport;

	if (n == 0) {
		err_set(err, errlen, "no recipients");
		return -1;
	}
	if (strncmp(t, "sendmail:", 9) == 0)
		return via_sendmail(t + 9, cfg->notice_from, rcpts, n, message, hooks, err, errlen);
	if (strncmp(t, "smtp:", 5) == 0)
		return via_smtp(t + 5, send_timeout(cfg), cfg->notice_from, rcpts, n, message, hooks, err, errlen);
	err_set(err, errlen, "unknown Transport \"%s\"", t);
	return -1;
}

/*
 * deliver_entry - E to its recipients; in a rehearsal (TestRecipient set), to
 * the test recipient, with the real recipients in a header
 */
static int
deliver_entry(const struct config *cfg, const struct outbox_entry *e, const struct deliver_hooks *hooks,
    char *err, size_t errlen)
{
	struct buf msg = BUF_INIT;
	char *test[1];
	int rc;

	if (cfg->test_recipient == NULL)
		return deliver_message(cfg, e->recipients, e->nrecipients, e->message, hooks, err, errlen);
	header_append_list(&msg, "X-Shadowmilter-Original-To", e->recipients, e->nrecipients);
	buf_puts(&msg, e->message);
	test[0] = cfg->test_recipient;
	rc = deliver_message(cfg, test, 1, msg.data, hooks, err, errlen);
	buf_free(&msg);
	return rc;
}

/* tell_ops - a notice we gave up on; best effort, the outbox keeps the record */
static void
tell_ops(const struct config *cfg, const struct outbox_entry *e, const char *why)
{
	struct buf msg = BUF_INIT, subject = BUF_INIT;
	char *to[1] = { cfg->ops_address }, err[256];

	if (cfg->ops_address == NULL)
		return;
	header_append(&msg, "From", cfg->notice_from);
	header_append(&msg, "To", cfg->ops_address);
	buf_printf(&subject, "shadowmilter: notice to %s (%s) could not be delivered", e->account, e->report_type);
	header_append(&msg, "Subject", buf_cstr(&subject));
	header_append(&msg, "Auto-Submitted", "auto-generated");
	header_append(&msg, "Content-Type", "text/plain; charset=utf-8");
	buf_puts(&msg, "\nshadowmilter gave up delivering a notice after MaxRetryDays.\n\n");
	buf_printf(&msg, "Last error: %s\n\nThe undelivered notice follows.\n\n", why);
	buf_puts(&msg, e->message);
	deliver_message(cfg, to, 1, msg.data, NULL, err, sizeof(err));
	buf_free(&msg);
	buf_free(&subject);
}

/* the notice being sent: its mark prepared before the end of the message, committed on the MTA's 250 */
struct sending {
	struct store *st;
	const struct outbox_entry *e;
	const char *worker;
	time_t now;
	struct outbox_mark *mark;	/* prepared, not committed yet */
	struct timespec prepared_at;
	int taken_over;			/* the claim is another worker's now: leave the notice alone */
	int accepted, marked;
	char err[512];
};

/* prepare_mark - before the end of the message: no mark, no end */
static int
prepare_mark(void *ctx)
{
	struct sending *s = ctx;
	int rc = outbox_mark_prepare(s->st, s->e->id, s->worker, s->now, &s->mark, s->err, sizeof(s->err));

	if (rc == 0) {
		s->taken_over = 1;
		err_set(s->err, sizeof(s->err), "its claim was taken over by another worker (the lease ran out)");
	}
	if (rc != 1)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &s->prepared_at);
	return 0;
}

/* hold_mark - a slow MTA: SQLite's write lock goes back after MARK_HOLD_MS; the mark waits for the answer */
static void
hold_mark(void *ctx)
{
	struct sending *s = ctx;

	if (s->mark && outbox_mark_blocks_writers(s->mark) && ms_since(&s->prepared_at) > MARK_HOLD_MS) {
		outbox_mark_abort(s->mark);
		s->mark = NULL;
	}
}

static void
mark_accepted(void *ctx)
{
	struct sending *s = ctx;

	s->accepted = 1;
	if (s->mark)
		s->marked = outbox_mark_commit(s->mark, s->err, sizeof(s->err)) == 0;
	else	/* given back while the MTA was slow to answer */
		s->marked = outbox_mark_sent(s->st, s->e->id, s->now, s->err, sizeof(s->err)) == 0;
	s->mark = NULL;
}

/* end_notice - a notice that was not accepted, as WORKER: retry later, give up, or give the claim back
 * (*COUNT, of STATS, says which); 0, CLAIM_LOST, -1 */
static int
end_notice(const struct config *cfg, struct store *st, const struct outbox_entry *e, const char *worker,
    time_t now, const char *why, struct deliver_stats *stats, unsigned long **count, const char **outcome,
    char *err, size_t errlen)
{
	int rc;

	if (deliver_stop_requested()) {
		*count = &stats->released;
		*outcome = "given back (stopping)";
		return outbox_release(st, e->id, worker, err, errlen);
	}
	if (now - e->created > (time_t)cfg->max_retry_days * 86400) {
		*count = &stats->failed;
		*outcome = "failed";
		if ((rc = outbox_mark_failed(st, e->id, worker, why, err, errlen)) == 0)
			tell_ops(cfg, e, why);
		return rc;
	}
	*count = &stats->retried;
	*outcome = "deferred";
	return outbox_mark_retry(st, e->id, worker, now + deliver_backoff(cfg->retry_interval, e->attempts), why,
	    err, errlen);
}

/* settle - end_notice, counted in STATS; a claim another worker took over meanwhile is left to it */
static int
settle(const struct config *cfg, struct store *st, const struct outbox_entry *e, const char *worker, time_t now,
    const char *why, struct deliver_stats *stats, const char **outcome, char *err, size_t errlen)
{
	unsigned long *count;
	int rc = end_notice(cfg, st, e, worker, now, why, stats, &count, outcome, err, errlen);

	if (rc == CLAIM_LOST) {
		stats->released++;
		*outcome = "left to the worker that took it over";
		return 0;
	}
	if (rc == 0)
		(*count)++;
	return rc;
}

int
deliver_pending(const struct config *cfg, struct store *st, time_t now, deliver_log_fn log, void *ctx,
    struct deliver_stats *stats, char *err, size_t errlen)
{
	struct outbox_entry e;
	char why[600], worker[CLAIM_OWNER_MAX];
	const char *outcome;
	int rc = 0;

	memset(stats, 0, sizeof(*stats));
	claim_owner(getpid(), worker, sizeof(worker));
	/* sent notices are kept RetainDays for "what did we tell them?", then dropped */
	if (outbox_prune(st, now - (time_t)cfg->retain_days * 86400, &stats->pruned, err, errlen) != 0)
		return -1;
	while (!deliver_stop_requested() &&
	    (rc = outbox_claim(st, now, (long)cfg->delivery_lease, worker, &e, err, errlen)) == 1) {
		struct sending s = { st, &e, worker, now, NULL, { 0, 0 }, 0, 0, 0, "" };
		struct deliver_hooks hooks = { prepare_mark, hold_mark, mark_accepted, &s };

		*why = '\0';
		if (deliver_entry(cfg, &e, &hooks, why, sizeof(why)) == 0 || s.accepted) {
			stats->sent++;
			outcome = "sent";
			if (!s.marked) {	/* the MTA has it; the claim's lease keeps others off until it expires */
				err_set(err, errlen, "notice %lld was accepted by the MTA but not marked sent: %s",
				    e.id, s.err);
				if (log)
					log(ctx, &e, outcome, "");
				outbox_entry_free(&e);
				return -1;
			}
		} else {
			outbox_mark_abort(s.mark);	/* refused or abandoned: as if never prepared */
			if (*s.err)		/* the end was withheld: say why */
				snprintf(why, sizeof(why), "not sent: %s", s.err);
			if (s.taken_over) {
				stats->released++;
				outcome = "left to the worker that took it over";
			} else if (settle(cfg, st, &e, worker, now, why, stats, &outcome, err, errlen) != 0) {
				outbox_entry_free(&e);
				return -1;
			}
		}
		if (log)
			log(ctx, &e, outcome, s.accepted ? "" : why);
		outbox_entry_free(&e);
	}
	return deliver_stop_requested() ? 0 : rc;
}
