/*
 * test_filter - the milter's stage logic against a fake MTA
 *
 * The fake records what the filter asked of the MTA; the outbox is a real
 * SQLite file.
 */
#include "test.h"
#include "fakemta.h"
#include "testmail.h"
#include "testrig.h"

#include "config/config.h"
#include "trust/dkimverify.h"
#include "pipeline/filter.h"
#include "store/outbox.h"
#include "store/store.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n"
    "192.0.2.64/29,bob,bob@bob.example\n";
static const char *CSV = "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,111,udp\n"
    "2026-11-24 01:00:00,192.0.2.66,111,udp\n2026-11-24 01:00:00,203.0.113.1,111,udp\n";

/* a test: the rig (the test config and MAP, the outbox in a fresh SQLite
 * file), the MTA and the mail it hands over */
struct fcase {
	struct test_rig r;
	struct fake_mta mta;
	char *msg;
};

/* begin - C with TM's mail; NULL: the signed portmapper report of CSV */
static void
begin(struct fcase *c, const struct testmail *tm)
{
	const struct testmail report = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV,
	    NULL, NULL };
	struct test_rig_spec spec = { .map = MAP, .outbox = TEST_RIG_SQLITE, .busy_timeout_ms = STORE_BUSY_TIMEOUT_MS };
	struct fake_mta mta = FAKE_MTA_INIT;

	test_rig_init(&c->r, &spec);
	c->mta = mta;
	c->msg = testmail_build(tm ? tm : &report);
}

/* begin_digest - C as begin's, with acme taking a daily digest */
static void
begin_digest(struct fcase *c)
{
	const struct testmail report = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV,
	    NULL, NULL };
	struct test_rig_spec spec = { .map = MAP, .outbox = TEST_RIG_SQLITE, .busy_timeout_ms = STORE_BUSY_TIMEOUT_MS,
	    .catalogue = 1, .accounts = "account,digest\nacme,daily\n" };
	struct fake_mta mta = FAKE_MTA_INIT;

	test_rig_init(&c->r, &spec);
	c->mta = mta;
	c->msg = testmail_build(&report);
}

static void
end(struct fcase *c)
{
	fake_mta_free(&c->mta);
	free(c->msg);
	test_rig_free(&c->r);
}

/* run_msg - MSG through the filter as an MTA hands it over (queue id QID123) into MTA; the final action */
static enum filter_action
run_msg(struct fcase *c, struct fake_mta *mta, const char *msg)
{
	struct filter_env env = test_rig_env(&c->r);

	return fake_mta_run(mta, &env, "QID123", msg, 1795000000);
}

/* run - C's mail through the filter into C's MTA */
static enum filter_action
run(struct fcase *c)
{
	return run_msg(c, &c->mta, c->msg);
}

static long long
pending(struct fcase *c)
{
	struct outbox_counts counts;
	char err[256];

	outbox_get_counts(c->r.st, 0, &counts, err, sizeof(err));
	return counts.pending;
}

/* unfolded - S with header folding undone */
static char *
unfolded(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s; s++) {
		if (*s == '\n' && (s[1] == ' ' || s[1] == '\t')) {
			s++;
			continue;
		}
		buf_putc(&b, *s);
	}
	return buf_steal(&b);
}

TEST(filter, ordinary_mail_is_accepted_at_the_from_header)
{
	struct fcase c;

	begin(&c, NULL);
	CHECK(run_msg(&c, &c.mta, "Subject: hi\nFrom: Alice <alice@example.org>\nTo: bob@example.net\n\nhello\n")
	    == FILTER_ACCEPT);
	CHECK_INT(c.mta.body_chunks, 0);
	CHECK_INT(c.mta.added.len, 0);
	CHECK_INT(pending(&c), 0);
	end(&c);
}

TEST(filter, authenticated_report_is_queued_before_the_answer_and_tagged)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv.zip", CSV, NULL, NULL };
	struct fcase c;
	char err[128];

	begin(&c, &tm);
	REQUIRE(c.r.st != NULL);
	REQUIRE(config_set(c.r.cfg, "ReportSubjectTag", "[shadowmilter]", err, sizeof(err)) == 0);
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK(c.mta.body_chunks > 0);
	CHECK_INT(pending(&c), 2);
	CHECK(strstr(buf_cstr(&c.mta.added), "X-Shadowmilter-Result: notices=2 unmatched=1 skipped_rows=0 "
	    "type=scan_portmapper ref=") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.added), " auth=\"dkim d=shadowserver.org s=test a=rsa-sha256\"") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.added), "X-Shadowmilter-Unmatched: 203.0.113.1:111/udp\n") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.changed), "Subject[1]=[shadowmilter] [Test]") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.log), "QID123: report notices=2") != NULL);
	CHECK_INT(c.mta.reply.len, 0);	/* accepted: the MTA's own reply */
	end(&c);
}

TEST(filter, the_same_report_twice_queues_nothing_new)
{
	struct fake_mta again = FAKE_MTA_INIT;
	struct fcase c;

	begin(&c, NULL);
	run(&c);
	run_msg(&c, &again, c.msg);
	CHECK_INT(pending(&c), 2);
	CHECK(strstr(buf_cstr(&again.added), "notices=2 duplicates=2") != NULL);
	fake_mta_free(&again);
	end(&c);
}

TEST(filter, forged_report_passes_with_a_reason_and_no_body_read)
{
	struct testmail tm = { NULL, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL,
	    "X-Shadowmilter-Result: notices=99 (planted)\n" };
	struct fcase c;

	begin(&c, &tm);
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK_INT(c.mta.body_chunks, 0);
	CHECK_INT(pending(&c), 0);
	CHECK(strstr(buf_cstr(&c.mta.added), "X-Shadowmilter-Result: none; reason=\"unauthenticated") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.changed), "X-Shadowmilter-Result[1]=(deleted)") != NULL);
	end(&c);
}

TEST(filter, outbox_failure_is_a_tempfail)
{
	struct fcase c;
	sqlite3 *db;

	begin(&c, NULL);
	/* another process breaks the database under us */
	REQUIRE(sqlite3_open(c.r.db, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TABLE notices", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(run(&c) == FILTER_TEMPFAIL);
	CHECK(strstr(buf_cstr(&c.mta.log), "QID123: report not handled, sender must retry") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.log), c.r.db) != NULL);	/* the error names the database */
	CHECK(strstr(buf_cstr(&c.mta.log), "no such table: notices") != NULL);
	CHECK_STR(buf_cstr(&c.mta.reply), "451 4.3.0 shadowmilter: notice queue unavailable, try again later\n");
	CHECK_INT(c.mta.added.len, 0);
	end(&c);
}

TEST(filter, a_digest_part_the_store_refuses_is_a_notice_queue_tempfail)
{
	struct fcase c;
	sqlite3 *db;

	begin_digest(&c);
	REQUIRE(sqlite3_open(c.r.db, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TABLE digest_parts", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(run(&c) == FILTER_TEMPFAIL);
	CHECK(strstr(buf_cstr(&c.mta.log), "no such table: digest_parts") != NULL);
	CHECK_STR(buf_cstr(&c.mta.reply), "451 4.3.0 shadowmilter: notice queue unavailable, try again later\n");
	CHECK_INT(pending(&c), 0);	/* bob's notice went with the report's transaction */
	end(&c);
}

TEST(filter, a_digest_section_template_that_fails_is_not_called_a_store_failure)
{
	struct fcase c;
	char path[512], *dir = test_tmpdir();
	FILE *f;

	begin_digest(&c);
	snprintf(path, sizeof(path), "%s/digest_section.txt", dir);
	REQUIRE((f = fopen(path, "w")) != NULL);
	fputs("Subject: x\n\n{{no_such_variable}}\n", f);
	fclose(f);
	free(c.r.cfg->template_dir);
	c.r.cfg->template_dir = xstrdup(dir);
	CHECK(run(&c) == FILTER_TEMPFAIL);
	CHECK(strstr(buf_cstr(&c.mta.log), "digest_section.txt") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.reply), "notice queue unavailable") == NULL);
	end(&c);
	free(dir);
}

TEST(filter, unusable_history_is_a_tempfail_with_a_reply)
{
	struct fcase c;
	char err[512];
	struct store *history;

	begin(&c, NULL);
	/* StateDB names a file that cannot be opened: the daemon runs, reports wait */
	REQUIRE((history = store_new("/nonexistent-dir/history.db", c.r.db, 200, err, sizeof(err))) != NULL);
	store_close(c.r.st);
	c.r.st = history;
	CHECK(run(&c) == FILTER_TEMPFAIL);
	/* the detail is ours; the sender sees a code and a reason, no path */
	CHECK(strstr(buf_cstr(&c.mta.log), "QID123: report not handled, sender must retry: "
	    "/nonexistent-dir/history.db: unable to open database file") != NULL);
	CHECK_STR(buf_cstr(&c.mta.reply), "451 4.3.0 shadowmilter: notice queue unavailable, try again later\n");
	store_close(c.r.st);
	c.r.st = store_open(NULL, c.r.db, 200, err, sizeof(err));
	CHECK_INT(pending(&c), 0);
	end(&c);
}

TEST(filter, why_a_report_file_was_not_used_is_in_the_header_and_the_log)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, NULL, "ip,port\n192.0.2.10,111\n", NULL, NULL };
	struct buf name = BUF_INIT, want = BUF_INIT;
	struct fcase c;
	int i;

	/* a file name as long as a sender likes: cut, the reason still whole */
	buf_puts(&name, "2026-11-24-scan_portmapper-");
	for (i = 0; i < 200; i++)
		buf_putc(&name, 'y');
	buf_puts(&name, ".csv");
	tm.filename = name.data;
	begin(&c, &tm);
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK(strstr(buf_cstr(&c.mta.added), "X-Shadowmilter-Result: notices=0 ") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.added), " errors=1 ") != NULL);
	buf_printf(&want, "; error=\"%.80s: CSV header has no 'timestamp' column\"\n", name.data);
	CHECK(strstr(buf_cstr(&c.mta.added), want.data) != NULL);
	want.data[--want.len] = '\0';	/* the log line has the same, without the header's newline */
	CHECK(strstr(buf_cstr(&c.mta.log), want.data) != NULL);
	CHECK(strstr(buf_cstr(&c.mta.log), "QID123: report notices=0") != NULL);
	buf_free(&name);
	buf_free(&want);
	end(&c);
}

TEST(filter, too_many_headers_pass_without_notices)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL,
	    "X-A: 1\nX-B: 2\nX-C: 3\nX-D: 4\n" };
	struct fcase c;
	char err[128];

	begin(&c, &tm);
	REQUIRE(config_set(c.r.cfg, "MaxHeaders", "3", err, sizeof(err)) == 0);
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK_INT(pending(&c), 0);
	CHECK(strstr(buf_cstr(&c.mta.added), "reason=\"header count or size") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.log), "QID123: header count") != NULL);
	end(&c);
}

TEST(filter, redirect_replaces_the_recipients)
{
	struct fcase c;
	char err[128];

	begin(&c, NULL);
	REQUIRE(config_set(c.r.cfg, "ReportAction", "redirect summary@example.net", err, sizeof(err)) == 0);
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK_STR(buf_cstr(&c.mta.rcpts), "-<abuse@example.net>\n+summary@example.net\n");
	end(&c);
}

TEST(filter, discard_after_commit)
{
	struct fcase c;
	char err[128];

	begin(&c, NULL);
	REQUIRE(config_set(c.r.cfg, "ReportAction", "discard", err, sizeof(err)) == 0);
	CHECK(run(&c) == FILTER_DISCARD);
	CHECK_INT(pending(&c), 2);
	end(&c);
}

TEST(filter, the_ops_copy_says_why_a_known_report_type_named_nobody)
{
	const char *csv = "timestamp,md5,request,request_type,response,family,tag,source,severity\n"
	    "2026-11-24 01:00:00,d41d8cd98f00b204e9800998ecf8427e,evil.example,A,192.0.2.10,x,y,z,low\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-sandbox_dns-x.csv", csv, NULL, NULL };
	struct fcase c;
	char err[512], *added;

	begin(&c, &tm);
	REQUIRE(c.r.st != NULL);
	REQUIRE(config_load_catalogue(c.r.cfg, err, sizeof(err)) == 0);
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK_INT(pending(&c), 0);
	added = unfolded(buf_cstr(&c.mta.added));
	CHECK(strstr(added, "X-Shadowmilter-Result: notices=0 unmatched=0 skipped_rows=0 type=sandbox_dns ") != NULL);
	CHECK(strstr(added, "; note=\"sandbox_dns reports name no host (no ip, src_ip, http_referer_ip or "
	    "dst_ip column): nobody to notify\"") != NULL);
	CHECK(strstr(added, "errors=") == NULL);
	free(added);
	end(&c);
}

TEST(filter, an_unmatched_listed_network_is_on_the_ops_copy)
{
	const char *csv = "timestamp,ip,source,reason\n2026-11-24 01:00:00,10.0.0.0/8,x,spam\n"
	    "2026-11-24 01:00:00,192.0.2.64/28,x,spam\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-blocklist-x.csv", csv, NULL, NULL };
	struct fcase c;
	char *added;

	begin(&c, &tm);
	REQUIRE(c.r.st != NULL);
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK_INT(pending(&c), 2);	/* acme (192.0.2.0/24 covers the /28) and bob (his /29 inside) */
	added = unfolded(buf_cstr(&c.mta.added));
	CHECK(strstr(added, "X-Shadowmilter-Unmatched: 10.0.0.0/8\n") != NULL);
	free(added);
	end(&c);
}

TEST(filter, by_default_the_subject_is_left_alone_so_the_signature_still_verifies)
{
	struct fcase c;

	begin(&c, NULL);
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK_INT(pending(&c), 2);
	CHECK(strstr(buf_cstr(&c.mta.changed), "Subject") == NULL);
	CHECK(strstr(buf_cstr(&c.mta.added), "Subject") == NULL);
	end(&c);
}

TEST(filter, a_tampered_report_says_which_signature_failed_and_why)
{
	struct fcase c;
	char *p;

	begin(&c, NULL);
	REQUIRE((p = strstr(c.msg, "Report attached.")) != NULL);
	p[0] = 'r';
	CHECK(run(&c) == FILTER_ACCEPT);
	CHECK_INT(pending(&c), 0);
	CHECK(strstr(buf_cstr(&c.mta.added), "X-Shadowmilter-Result: none; reason=\"unauthenticated: DKIM "
	    "d=shadowserver.org s=test a=rsa-sha256: body hash mismatch") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.log), "QID123: no notices: reason=\"unauthenticated: DKIM d=shadowserver.org s=test "
	    "a=rsa-sha256: body hash mismatch") != NULL);
	end(&c);
}

TEST(filter, a_key_lookup_failure_tempfails_report_mail_only)
{
	struct fake_mta plain = FAKE_MTA_INIT;
	struct fcase c;
	char *dir = test_tmpdir(), path[4096], err[256], *keys;

	begin(&c, NULL);
	snprintf(path, sizeof(path), "%s/keys", dir);
	REQUIRE((keys = test_read_file(test_public_keys(), NULL)) != NULL);
	test_write_file(path, keys);
	REQUIRE((c.r.cfg->dkim_keys = dkim_keys_new(path, 5, err, sizeof(err))) != NULL);
	remove(path);	/* every lookup fails from now on, as with a dead resolver */
	CHECK(run(&c) == FILTER_TEMPFAIL);
	CHECK_INT(c.mta.body_chunks, 0);	/* known at the end of the headers: the body is not read */
	CHECK(strstr(buf_cstr(&c.mta.log), "QID123: report not handled, sender must retry: DKIM d=shadowserver.org "
	    "s=test a=rsa-sha256: key lookup failed") != NULL);
	CHECK(strstr(buf_cstr(&c.mta.reply), "shadowmilter: DKIM key lookup failed, try again later") != NULL);
	CHECK(run_msg(&c, &plain, "From: Alice <alice@example.org>\nDKIM-Signature: v=1; d=shadowserver.org; s=test\n"
	    "\nhello\n") == FILTER_ACCEPT);	/* ordinary mail: accepted at its From */
	CHECK_INT(plain.body_chunks, 0);
	CHECK_INT(plain.log.len, 0);
	fake_mta_free(&plain);
	free(keys);
	free(dir);
	end(&c);
}
