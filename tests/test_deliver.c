/*
 * test_deliver - handing queued notices to the MTA: the argv given to
 * sendmail(8), retries with backoff, the TestRecipient rehearsal mode;
 * a stand-in sendmail script and a real SQLite outbox
 */
#include "test.h"

#include "config.h"
#include "deliver.h"
#include "outbox.h"
#include "store/store.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	struct config *cfg = config_defaults();
	char *rcpts[] = { "a@x.example", "-oi;rm -rf /@x.example" };
	struct buf t = BUF_INIT;

	buf_printf(&t, "sendmail:%s", sm);
	REQUIRE(config_set(cfg, "Transport", t.data, err, sizeof(err)) == 0);
	CHECK(deliver_message(cfg, rcpts, 2, "Subject: hi\n\nbody\n", NULL, NULL, err, sizeof(err)) == 0);
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
	struct config *cfg = config_defaults();
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
	struct config *cfg = config_defaults();
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

/* --- marked sent before QUIT ------------------------------------------------- */

struct fake_smtp {
	int listener, port;
	int data_accepted;		/* the 250 to the end of DATA went out */
	int quit_seen;			/* the client said QUIT */
	int quit_before_mark;		/* QUIT had arrived when the notice was marked */
	int marked;
};

/* fake_smtp_line - one command line (CRLF stripped); 0 at EOF */
static int
fake_smtp_line(int fd, char *line, size_t max)
{
	size_t n = 0;
	char c;

	while (read(fd, &c, 1) == 1) {
		if (c == '\n') {
			if (n && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			return 1;
		}
		if (n + 1 < max)
			line[n++] = c;
	}
	return 0;
}

static void
say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
}

/* fake_smtp_serve - one SMTP session, as an MTA that accepts everything */
static void *
fake_smtp_serve(void *arg)
{
	struct fake_smtp *s = arg;
	char line[1024];
	int fd = accept(s->listener, NULL, NULL), in_data = 0;

	if (fd < 0)
		return NULL;
	say(fd, "220 fake ESMTP\r\n");
	while (fake_smtp_line(fd, line, sizeof(line))) {
		if (in_data) {
			if (strcmp(line, ".") == 0) {
				in_data = 0;
				__atomic_store_n(&s->data_accepted, 1, __ATOMIC_SEQ_CST);
				say(fd, "250 2.0.0 queued\r\n");
			}
			continue;
		}
		if (strncasecmp(line, "QUIT", 4) == 0) {
			__atomic_store_n(&s->quit_seen, 1, __ATOMIC_SEQ_CST);
			say(fd, "221 bye\r\n");
			break;
		}
		if (strncasecmp(line, "DATA", 4) == 0) {
			in_data = 1;
			say(fd, "354 go on\r\n");
		} else if (strncasecmp(line, "EHLO", 4) == 0)
			say(fd, "250-fake\r\n250 8BITMIME\r\n");
		else
			say(fd, "250 ok\r\n");
	}
	close(fd);
	return NULL;
}

static void
on_accepted(void *ctx)
{
	struct fake_smtp *s = ctx;

	s->marked = __atomic_load_n(&s->data_accepted, __ATOMIC_SEQ_CST);
	s->quit_before_mark = __atomic_load_n(&s->quit_seen, __ATOMIC_SEQ_CST);
}

TEST(deliver, smtp_marks_the_notice_sent_after_the_250_to_data_and_before_quit)
{
	struct fake_smtp s = { -1, 0, 0, 0, 0, 0 };
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct config *cfg = config_defaults();
	char *rcpts[] = { "a@x.example" }, err[256], transport[64];
	pthread_t t;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE((s.listener = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	REQUIRE(bind(s.listener, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(s.listener, 1) == 0);
	REQUIRE(getsockname(s.listener, (struct sockaddr *)&sin, &len) == 0);
	snprintf(transport, sizeof(transport), "smtp:127.0.0.1:%d", ntohs(sin.sin_port));
	REQUIRE(config_set(cfg, "Transport", transport, err, sizeof(err)) == 0);
	REQUIRE(pthread_create(&t, NULL, fake_smtp_serve, &s) == 0);
	CHECK(deliver_message(cfg, rcpts, 1, "Subject: hi\n\nbody\n", on_accepted, &s, err, sizeof(err)) == 0);
	pthread_join(t, NULL);
	CHECK(s.marked);		/* after the MTA's 250 to the end of DATA ... */
	CHECK(!s.quit_before_mark);	/* ... and before QUIT */
	CHECK(s.quit_seen);		/* the session still ends politely */
	close(s.listener);
	config_free(cfg);
}
