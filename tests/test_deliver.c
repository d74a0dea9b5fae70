/*
 * test_deliver - handing queued notices to the MTA: the argv given to
 * sendmail(8), retries with backoff, the TestRecipient rehearsal mode;
 * the order of the outbox mark around the end of the message (a fake SMTP
 * server, a stand-in sendmail); a stand-in sendmail script and a real
 * SQLite outbox
 */
#include "test.h"
#include "fakesmtp.h"

#include "config/config.h"
#include "notice/deliver.h"
#include "store/outbox.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *rcpt_acme[] = { "ops@acme.example" };

/* item - a notice of REF for ACCOUNT; its key is kept for the rest of the run */
static struct outbox_item
item(const char *ref, const char *type, const char *account)
{
	static char keys[16][256];
	static int n;
	char *key = keys[n++ % 16];
	struct outbox_item it = { key, ref, type, account, rcpt_acme, 1, "Subject: x\n\nbody\n", "QID42" };

	snprintf(key, sizeof(keys[0]), "%s|%s|%s", ref, type, account);
	return it;
}

TEST(deliver, backoff_doubles_to_an_hour)
{
	CHECK_INT(deliver_backoff(60, 0), 60);
	CHECK_INT(deliver_backoff(60, 1), 120);
	CHECK_INT(deliver_backoff(60, 5), 1920);
	CHECK_INT(deliver_backoff(60, 6), 3600);
	CHECK_INT(deliver_backoff(60, 50), 3600);
	CHECK_INT(deliver_backoff(1, 3), 8);
	CHECK_INT(deliver_backoff(7200, 3), 7200);
}

/* a stand-in for sendmail(8): records its argv and stdin, exits with $1 */
static char *
fake_sendmail(const char *dir, int status)
{
	struct buf path = BUF_INIT, script = BUF_INIT;

	buf_printf(&path, "%s/sendmail", dir);
	buf_printf(&script, "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s/argv'\ncat > '%s/stdin'\nexit %d\n", dir, dir,
	    status);
	test_write_file(path.data, script.data);
	chmod(path.data, 0755);
	buf_free(&script);
	return buf_steal(&path);
}

TEST(deliver, sendmail_gets_an_argv_never_a_shell_or_t)
{
	char *dir = test_tmpdir(), *sm = fake_sendmail(dir, 0), err[256], path[4096], *argv, *in;
	struct config *cfg = config_new();
	char *rcpts[] = { "a@x.example", "-oi;rm -rf /@x.example" };
	struct buf t = BUF_INIT;

	buf_printf(&t, "sendmail:%s", sm);
	REQUIRE(config_set(cfg, "Transport", t.data, err, sizeof(err)) == 0);
	CHECK(deliver_message(cfg, rcpts, 2, "Subject: hi\n\nbody\n", NULL, err, sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s/argv", dir);
	argv = test_read_file(path, NULL);
	snprintf(path, sizeof(path), "%s/stdin", dir);
	in = test_read_file(path, NULL);
	CHECK_STR(argv, "-i\n-f\nabuse@example.net\n--\na@x.example\n-oi;rm -rf /@x.example\n");
	CHECK_STR(in, "Subject: hi\n\nbody\n");
	free(argv);
	free(in);
	buf_free(&t);
	free(sm);
	free(dir);
	config_free(cfg);
}

TEST(deliver, failing_sendmail_is_retried_then_sent)
{
	char *dir = test_tmpdir(), *sm = fake_sendmail(dir, 75), err[256], dbpath[4096];
	struct config *cfg = config_new();
	struct outbox_item it = item("<r@x>", "scan_ntp", "acme");
	struct deliver_stats st;
	struct outbox_counts c;
	struct store *ob;
	struct buf t = BUF_INIT;
	size_t added;

	buf_printf(&t, "sendmail:%s", sm);
	REQUIRE(config_set(cfg, "Transport", t.data, err, sizeof(err)) == 0);
	snprintf(dbpath, sizeof(dbpath), "%s/outbox.db", dir);
	REQUIRE((ob = store_open(NULL, dbpath, STORE_BUSY_TIMEOUT_MS, err, sizeof(err))) != NULL);
	CHECK(outbox_commit(ob, &it, 1, 1000, &added, err, sizeof(err)) == 0);
	CHECK(deliver_pending(cfg, ob, 1000, NULL, NULL, &st, err, sizeof(err)) == 0);
	CHECK_INT(st.retried, 1);
	CHECK_INT(st.sent, 0);
	free(fake_sendmail(dir, 0));	/* the MTA is back */
	CHECK(deliver_pending(cfg, ob, 1030, NULL, NULL, &st, err, sizeof(err)) == 0);
	CHECK_INT(st.sent, 0);		/* not due yet: backoff */
	CHECK(deliver_pending(cfg, ob, 1060, NULL, NULL, &st, err, sizeof(err)) == 0);
	CHECK_INT(st.sent, 1);
	CHECK(outbox_get_counts(ob, 0, &c, err, sizeof(err)) == 0);
	CHECK_INT(c.sent, 1);
	CHECK_INT(c.pending, 0);
	store_close(ob);
	buf_free(&t);
	free(sm);
	free(dir);
	config_free(cfg);
}

TEST(deliver, test_recipient_gets_everything_with_the_real_recipients_named)
{
	char *dir = test_tmpdir(), *sm = fake_sendmail(dir, 0), err[256], dbpath[4096], path[4096], *argv, *in;
	struct config *cfg = config_new();
	struct outbox_item it = item("<r@x>", "scan_ntp", "acme");
	struct deliver_stats st;
	struct store *ob;
	struct buf t = BUF_INIT;
	size_t added;

	buf_printf(&t, "sendmail:%s", sm);
	REQUIRE(config_set(cfg, "Transport", t.data, err, sizeof(err)) == 0);
	REQUIRE(config_set(cfg, "TestRecipient", "rehearsal@example.net", err, sizeof(err)) == 0);
	snprintf(dbpath, sizeof(dbpath), "%s/outbox.db", dir);
	REQUIRE((ob = store_open(NULL, dbpath, STORE_BUSY_TIMEOUT_MS, err, sizeof(err))) != NULL);
	CHECK(outbox_commit(ob, &it, 1, 1000, &added, err, sizeof(err)) == 0);
	CHECK(deliver_pending(cfg, ob, 1000, NULL, NULL, &st, err, sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s/argv", dir);
	argv = test_read_file(path, NULL);
	snprintf(path, sizeof(path), "%s/stdin", dir);
	in = test_read_file(path, NULL);
	CHECK(argv && strstr(argv, "--\nrehearsal@example.net\n") != NULL);
	CHECK(argv && strstr(argv, "ops@acme.example") == NULL);
	CHECK(in && strncmp(in, "X-Shadowmilter-Original-To: ops@acme.example\n", 45) == 0);
	free(argv);
	free(in);
	store_close(ob);
	buf_free(&t);
	free(sm);
	free(dir);
	config_free(cfg);
}

/* --- the mark: prepared before the end of the message, committed on the 250 --- */

/* what the hooks saw, at the moments that matter */
struct seen {
	struct fakesmtp *smtp;
	const char *done_file;		/* sendmail: written by the stand-in once it has read its input */
	int refuse;			/* before_end withholds the end */
	int prepared;			/* before_end ran */
	int dot_before_prepare;		/* the server had the dot when before_end ran */
	int eof_before_prepare;		/* sendmail had read its input when before_end ran */
	int prepared_at_dot;		/* before_end had run when the server got the dot */
	int accepted;
	int answered_at_accept;		/* the 250 had gone out when accepted ran */
	int quit_before_accept;
	int waited;
};

static int
seen_before_end(void *ctx)
{
	struct seen *w = ctx;

	if (w->smtp)
		w->dot_before_prepare = fakesmtp_flag(&w->smtp->dot_seen);
	if (w->done_file)
		w->eof_before_prepare = access(w->done_file, F_OK) == 0;
	__atomic_store_n(&w->prepared, 1, __ATOMIC_SEQ_CST);
	return w->refuse ? -1 : 0;
}

static void
seen_waiting(void *ctx)
{
	((struct seen *)ctx)->waited++;
}

static void
seen_accepted(void *ctx)
{
	struct seen *w = ctx;

	w->accepted = 1;
	if (w->smtp) {
		w->answered_at_accept = fakesmtp_flag(&w->smtp->dot_answered);
		w->quit_before_accept = fakesmtp_flag(&w->smtp->quit_seen);
	}
}

static void
seen_dot(struct fakesmtp *f)
{
	struct seen *w = f->ctx;

	w->prepared_at_dot = __atomic_load_n(&w->prepared, __ATOMIC_SEQ_CST);
}

/* smtp_send - one message through a fake server that answers the dot with DOT_REPLY */
static int
smtp_send(struct fakesmtp *f, struct seen *w, const char *dot_reply, char *err, size_t errlen)
{
	struct config *cfg = config_new();
	struct deliver_hooks hooks = { seen_before_end, seen_waiting, seen_accepted, w };
	char *rcpts[] = { "a@x.example" }, transport[64];
	int rc = -1;

	memset(f, 0, sizeof(*f));
	f->dot_reply = dot_reply;
	f->on_dot = seen_dot;
	f->ctx = w;
	w->smtp = f;
	if (fakesmtp_start(f) != 0)
		return -2;
	fakesmtp_transport(f, transport, sizeof(transport));
	if (config_set(cfg, "Transport", transport, err, errlen) == 0)
		rc = deliver_message(cfg, rcpts, 1, "Subject: hi\n\nbody\n", &hooks, err, errlen);
	fakesmtp_finish(f);
	config_free(cfg);
	return rc;
}

TEST(deliver, smtp_prepares_the_mark_before_the_dot_and_commits_it_after_the_250_before_quit)
{
	struct fakesmtp f;
	struct seen w = { 0 };
	char err[256];

	CHECK_INT(smtp_send(&f, &w, NULL, err, sizeof(err)), 0);
	CHECK(w.prepared);
	CHECK(!w.dot_before_prepare);	/* prepared while the dot had not gone out ... */
	CHECK(w.prepared_at_dot);	/* ... and before it reached the server */
	CHECK(w.accepted);
	CHECK(w.answered_at_accept);	/* committed after the MTA's 250 to the end of DATA ... */
	CHECK(!w.quit_before_accept);	/* ... and before QUIT */
	CHECK(fakesmtp_flag(&f.quit_seen));	/* the session still ends politely */
}

TEST(deliver, smtp_a_4xx_or_5xx_to_the_dot_is_not_accepted)
{
	static const char *replies[] = { "451 4.3.0 try again later", "554 5.7.1 refused" };
	size_t i;

	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		struct fakesmtp f;
		struct seen w = { 0 };
		char err[256] = "";

		CHECK_INT(smtp_send(&f, &w, replies[i], err, sizeof(err)), -1);
		CHECK(w.prepared_at_dot);
		CHECK(fakesmtp_flag(&f.dot_seen));
		CHECK(!w.accepted);		/* the caller rolls its mark back */
		CHECK(strstr(err, "SMTP to 127.0.0.1:") != NULL);
	}
}

TEST(deliver, smtp_a_mark_that_cannot_be_prepared_withholds_the_dot)
{
	struct fakesmtp f;
	struct seen w = { 0 };
	char err[256] = "";

	w.refuse = 1;
	CHECK_INT(smtp_send(&f, &w, NULL, err, sizeof(err)), -1);
	CHECK(w.prepared);
	CHECK(!fakesmtp_flag(&f.dot_seen));	/* the MTA never got the end: it cannot accept the message */
	CHECK(!w.accepted);
	CHECK(strstr(err, "withheld") != NULL);
}

/* a stand-in sendmail: its input goes to DIR/stdin, then DIR/done is written; exits 0 */
static char *
eof_sendmail(const char *dir)
{
	struct buf path = BUF_INIT, script = BUF_INIT;

	buf_printf(&path, "%s/sendmail-eof", dir);
	buf_printf(&script, "#!/bin/sh\ncat > '%s/stdin' && : > '%s/done'\nexit 0\n", dir, dir);
	test_write_file(path.data, script.data);
	chmod(path.data, 0755);
	buf_free(&script);
	return buf_steal(&path);
}

TEST(deliver, sendmail_prepares_the_mark_before_it_starts_and_a_failed_preparation_never_starts_it)
{
	char *dir = test_tmpdir(), *sm = eof_sendmail(dir), err[256], done[4096], in[4096];
	struct config *cfg = config_new();
	char *rcpts[] = { "a@x.example" };
	struct buf t = BUF_INIT;
	int refuse;

	snprintf(done, sizeof(done), "%s/done", dir);
	snprintf(in, sizeof(in), "%s/stdin", dir);
	buf_printf(&t, "sendmail:%s", sm);
	REQUIRE(config_set(cfg, "Transport", t.data, err, sizeof(err)) == 0);
	for (refuse = 0; refuse <= 1; refuse++) {
		struct seen w = { 0 };
		struct deliver_hooks hooks = { seen_before_end, seen_waiting, seen_accepted, &w };

		unlink(done);
		unlink(in);
		w.done_file = done;
		w.refuse = refuse;
		CHECK_INT(deliver_message(cfg, rcpts, 1, "Subject: hi\n\nbody\n", &hooks, err, sizeof(err)),
		    refuse ? -1 : 0);
		if (!refuse) {	/* the whole message, read from its file */
			char *got = test_read_file(in, NULL);

			CHECK_STR(got, "Subject: hi\n\nbody\n");
			free(got);
		}
		CHECK(w.prepared);
		CHECK(!w.eof_before_prepare);	/* prepared before sendmail could queue anything */
		CHECK_INT(w.accepted, !refuse);
		CHECK_INT(access(in, F_OK) == 0, !refuse);	/* refused: never started, nothing queued */
		CHECK_INT(access(done, F_OK) == 0, !refuse);
	}
	buf_free(&t);
	free(sm);
	free(dir);
	config_free(cfg);
}
