/*
 * test_deliver - handing queued notices to the MTA: the argv given to
 * sendmail(8), retries with backoff, the TestRecipient rehearsal mode;
 * a stand-in sendmail script and a real SQLite outbox
 */
#include "test.h"

#include "config.h"
#include "deliver.h"
#include "outbox.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *rcpt_acme[] = { "ops@acme.example" };

static struct outbox_item
item(const char *ref, const char *type, const char *account)
{
	struct outbox_item it = { ref, type, account, rcpt_acme, 1, "Subject: x\n\nbody\n", "QID42" };

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
	CHECK(deliver_message(cfg, rcpts, 2, "Subject: hi\n\nbody\n", err, sizeof(err)) == 0);
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
	struct outbox *ob;
	struct buf t = BUF_INIT;
	size_t added;

	buf_printf(&t, "sendmail:%s", sm);
	REQUIRE(config_set(cfg, "Transport", t.data, err, sizeof(err)) == 0);
	snprintf(dbpath, sizeof(dbpath), "%s/outbox.db", dir);
	REQUIRE((ob = outbox_open(dbpath, err, sizeof(err))) != NULL);
	CHECK(outbox_commit(ob, &it, 1, 1000, &added, err, sizeof(err)) == 0);
	CHECK(deliver_pending(cfg, ob, 1000, NULL, NULL, &st, err, sizeof(err)) == 0);
	CHECK_INT(st.retried, 1);
	CHECK_INT(st.sent, 0);
	free(fake_sendmail(dir, 0));	/* the MTA is back */
	CHECK(deliver_pending(cfg, ob, 1030, NULL, NULL, &st, err, sizeof(err)) == 0);
	CHECK_INT(st.sent, 0);		/* not due yet: backoff */
	CHECK(deliver_pending(cfg, ob, 1060, NULL, NULL, &st, err, sizeof(err)) == 0);
	CHECK_INT(st.sent, 1);
	CHECK(outbox_get_counts(ob, &c, err, sizeof(err)) == 0);
	CHECK_INT(c.sent, 1);
	CHECK_INT(c.pending, 0);
	outbox_close(ob);
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
	struct outbox *ob;
	struct buf t = BUF_INIT;
	size_t added;

	buf_printf(&t, "sendmail:%s", sm);
	REQUIRE(config_set(cfg, "Transport", t.data, err, sizeof(err)) == 0);
	REQUIRE(config_set(cfg, "TestRecipient", "rehearsal@example.net", err, sizeof(err)) == 0);
	snprintf(dbpath, sizeof(dbpath), "%s/outbox.db", dir);
	REQUIRE((ob = outbox_open(dbpath, err, sizeof(err))) != NULL);
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
	outbox_close(ob);
	buf_free(&t);
	free(sm);
	free(dir);
	config_free(cfg);
}
