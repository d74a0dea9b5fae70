/*
 * test_filter - the milter's stage logic against a fake MTA
 *
 * The fake records what the filter asked of the MTA; the outbox is a real
 * SQLite file.
 */
#include "test.h"
#include "testmail.h"

#include "config.h"
#include "dkimverify.h"
#include "filter.h"
#include "outbox.h"
#include "store/store.h"
#include "prefixmap.h"
#include "util.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct fake_mta {
	struct buf added;	/* "Name: value\n" per added header */
	struct buf changed;	/* "Name[index]=value\n" ("(deleted)" for NULL) */
	struct buf rcpts;	/* "+rcpt\n" / "-rcpt\n" */
	struct buf log;
	struct buf reply;	/* "rcode xcode text\n" per reply set */
};
#define FAKE_MTA_INIT { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT }

static int
fake_add_header(void *ctx, const char *name, const char *value)
{
	struct buf *b = &((struct fake_mta *)ctx)->added;

	buf_printf(b, "%s: ", name);
	for (; *value; value++)		/* recorded unfolded */
		if (*value != '\n')
			buf_putc(b, *value);
	buf_putc(b, '\n');
	return 0;
}

static int
fake_change_header(void *ctx, const char *name, int index, const char *value)
{
	buf_printf(&((struct fake_mta *)ctx)->changed, "%s[%d]=%s\n", name, index, value ? value : "(deleted)");
	return 0;
}

static int
fake_add_rcpt(void *ctx, const char *rcpt)
{
	buf_printf(&((struct fake_mta *)ctx)->rcpts, "+%s\n", rcpt);
	return 0;
}

static int
fake_del_rcpt(void *ctx, const char *rcpt)
{
	buf_printf(&((struct fake_mta *)ctx)->rcpts, "-%s\n", rcpt);
	return 0;
}

static int
fake_set_reply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	buf_printf(&((struct fake_mta *)ctx)->reply, "%s %s %s\n", rcode, xcode, text);
	return 0;
}

static void fake_log(void *ctx, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
fake_log(void *ctx, int priority, const char *fmt, ...)
{
	struct fake_mta *m = ctx;
	va_list ap;

	(void)priority;
	va_start(ap, fmt);
	buf_vprintf(&m->log, fmt, ap);
	va_end(ap);
	buf_putc(&m->log, '\n');
}

static void
fake_free(struct fake_mta *m)
{
	buf_free(&m->added);
	buf_free(&m->changed);
	buf_free(&m->rcpts);
	buf_free(&m->log);
	buf_free(&m->reply);
}

static const char *MAP = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n"
    "192.0.2.64/29,bob,bob@bob.example\n";
static const char *CSV = "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,111,udp\n"
    "2026-11-24 01:00:00,192.0.2.66,111,udp\n2026-11-24 01:00:00,203.0.113.1,111,udp\n";

struct rig {
	struct config *cfg;
	struct prefixmap *map;
	struct filter_env env;
	char *dbpath;
};

static void
rig_init(struct rig *r)
{
	char *dir = test_tmpdir(), err[256];
	struct buf p = BUF_INIT;

	memset(r, 0, sizeof(*r));
	r->cfg = test_config();
	r->map = test_map(MAP);
	buf_printf(&p, "%s/outbox.db", dir);
	r->dbpath = buf_steal(&p);
	r->env.cfg = r->cfg;
	r->env.map = r->map;
	r->env.store = store_open(NULL, r->dbpath, STORE_BUSY_TIMEOUT_MS, err, sizeof(err));
	free(dir);
}

static void
rig_free(struct rig *r)
{
	store_close(r->env.store);
	prefixmap_free(r->map);
	config_free(r->cfg);
	free(r->dbpath);
}

static long long
pending(struct rig *r)
{
	struct outbox_counts c;
	char err[256];

	outbox_get_counts(r->env.store, 0, &c, err, sizeof(err));
	return c.pending;
}

/*
 * run - drive one message through the stages as an MTA would. Returns the
 * final action; *BODY_CHUNKS counts the body chunks the filter accepted.
 */
static enum filter_action
run(struct rig *r, struct fake_mta *mta, const char *msg, int *body_chunks)
{
	struct filter_io io = { .add_header = fake_add_header, .change_header = fake_change_header,
	    .add_rcpt = fake_add_rcpt, .del_rcpt = fake_del_rcpt, .log = fake_log, .ctx = mta,
	    .set_reply = fake_set_reply };
	struct filter_msg *m = filter_begin(&r->env, "QID123", "<autoreports@shadowserver.org>");
	const char *p = msg, *body;
	enum filter_action a = FILTER_CONTINUE;

	*body_chunks = 0;
	filter_rcpt(m, "<abuse@example.net>");
	while (*p && *p != '\n') {	/* headers, unfolded */
		const char *colon = strchr(p, ':'), *end = p;
		struct buf value = BUF_INIT;
		char *name = xstrndup(p, (size_t)(colon - p));

		for (end = colon + 1;; end++) {
			if (*end == '\n' && end[1] != ' ' && end[1] != '\t')
				break;
			buf_putc(&value, *end);
		}
		a = filter_header(m, &io, name, ascii_trim(value.data));
		free(name);
		buf_free(&value);
		p = end + 1;
		if (a == FILTER_ACCEPT)
			goto done;
	}
	if ((a = filter_eoh(m, &io)) == FILTER_ACCEPT)
		goto done;
	for (body = p + 1; *body; body += strlen(body) < 100 ? strlen(body) : 100) {
		size_t n = strlen(body) < 100 ? strlen(body) : 100;

		if (filter_body(m, &io, body, n) == FILTER_SKIP)
			break;
		(*body_chunks)++;
	}
	a = filter_eom(m, &io, 1795000000);
done:
	filter_end(m);
	return a;
}

TEST(filter, ordinary_mail_is_accepted_at_the_from_header)
{
	struct rig r;
	struct fake_mta mta = FAKE_MTA_INIT;
	int chunks;

	rig_init(&r);
	CHECK(run(&r, &mta, "Subject: hi\nFrom: Alice <alice@example.org>\nTo: bob@example.net\n\nhello\n",
	    &chunks) == FILTER_ACCEPT);
	CHECK_INT(chunks, 0);
	CHECK_INT(mta.added.len, 0);
	CHECK_INT(pending(&r), 0);
	fake_free(&mta);
	rig_free(&r);
}

TEST(filter, authenticated_report_is_queued_before_the_answer_and_tagged)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv.zip", CSV, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm);
	struct rig r;
	int chunks;

	char err[128];

	rig_init(&r);
	REQUIRE(r.env.store != NULL);
	REQUIRE(config_set(r.cfg, "ReportSubjectTag", "[shadowmilter]", err, sizeof(err)) == 0);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK(chunks > 0);
	CHECK_INT(pending(&r), 2);
	CHECK(strstr(buf_cstr(&mta.added), "X-Shadowmilter-Result: notices=2 unmatched=1 skipped_rows=0 "
	    "type=scan_portmapper ref=") != NULL);
	CHECK(strstr(buf_cstr(&mta.added), " auth=\"dkim d=shadowserver.org s=test a=rsa-sha256\"") != NULL);
	CHECK(strstr(buf_cstr(&mta.added), "X-Shadowmilter-Unmatched: 203.0.113.1:111/udp\n") != NULL);
	CHECK(strstr(buf_cstr(&mta.changed), "Subject[1]=[shadowmilter] [Test]") != NULL);
	CHECK(strstr(buf_cstr(&mta.log), "QID123: report notices=2") != NULL);
	CHECK_INT(mta.reply.len, 0);	/* accepted: the MTA's own reply */
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, the_same_report_twice_queues_nothing_new)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct fake_mta a = FAKE_MTA_INIT, b = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm);
	struct rig r;
	int chunks;

	rig_init(&r);
	run(&r, &a, msg, &chunks);
	run(&r, &b, msg, &chunks);
	CHECK_INT(pending(&r), 2);
	CHECK(strstr(buf_cstr(&b.added), "notices=2 duplicates=2") != NULL);
	fake_free(&a);
	fake_free(&b);
	free(msg);
	rig_free(&r);
}

TEST(filter, forged_report_passes_with_a_reason_and_no_body_read)
{
	struct testmail tm = { NULL, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL,
	    "X-Shadowmilter-Result: notices=99 (planted)\n" };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm);
	struct rig r;
	int chunks;

	rig_init(&r);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK_INT(chunks, 0);
	CHECK_INT(pending(&r), 0);
	CHECK(strstr(buf_cstr(&mta.added), "X-Shadowmilter-Result: none; reason=\"unauthenticated") != NULL);
	CHECK(strstr(buf_cstr(&mta.changed), "X-Shadowmilter-Result[1]=(deleted)") != NULL);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, outbox_failure_is_a_tempfail)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm);
	struct rig r;
	sqlite3 *db;
	int chunks;

	rig_init(&r);
	/* another process breaks the database under us */
	REQUIRE(sqlite3_open(r.dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TABLE notices", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_TEMPFAIL);
	CHECK(strstr(buf_cstr(&mta.log), "QID123: report not handled, sender must retry") != NULL);
	CHECK(strstr(buf_cstr(&mta.log), r.dbpath) != NULL);	/* the error names the database */
	CHECK(strstr(buf_cstr(&mta.log), "no such table: notices") != NULL);
	CHECK_STR(buf_cstr(&mta.reply), "451 4.3.0 shadowmilter: notice queue unavailable, try again later\n");
	CHECK_INT(mta.added.len, 0);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, unusable_history_is_a_tempfail_with_a_reply)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm);
	struct rig r;
	int chunks;

	char err[512];
	struct store *history;

	rig_init(&r);
	/* StateDB names a file that cannot be opened: the daemon runs, reports wait */
	REQUIRE((history = store_new("/nonexistent-dir/history.db", r.dbpath, 200, err, sizeof(err))) != NULL);
	store_close(r.env.store);
	r.env.store = history;
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_TEMPFAIL);
	/* the detail is ours; the sender sees a code and a reason, no path */
	CHECK(strstr(buf_cstr(&mta.log), "QID123: report not handled, sender must retry: "
	    "/nonexistent-dir/history.db: unable to open database file") != NULL);
	CHECK_STR(buf_cstr(&mta.reply), "451 4.3.0 shadowmilter: notice queue unavailable, try again later\n");
	store_close(r.env.store);
	r.env.store = store_open(NULL, r.dbpath, 200, err, sizeof(err));
	CHECK_INT(pending(&r), 0);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, why_a_report_file_was_not_used_is_in_the_header_and_the_log)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, NULL,
	    "ip,port\n192.0.2.10,111\n", NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	struct buf name = BUF_INIT, want = BUF_INIT;
	char *msg;
	struct rig r;
	int chunks, i;

	/* a file name as long as a sender likes: cut, the reason still whole */
	buf_puts(&name, "2026-11-24-scan_portmapper-");
	for (i = 0; i < 200; i++)
		buf_putc(&name, 'y');
	buf_puts(&name, ".csv");
	tm.filename = name.data;
	msg = testmail_build(&tm);
	rig_init(&r);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK(strstr(buf_cstr(&mta.added), "X-Shadowmilter-Result: notices=0 ") != NULL);
	CHECK(strstr(buf_cstr(&mta.added), " errors=1 ") != NULL);
	buf_printf(&want, "; error=\"%.80s: CSV header has no 'timestamp' column\"\n", name.data);
	CHECK(strstr(buf_cstr(&mta.added), want.data) != NULL);
	want.data[--want.len] = '\0';	/* the log line has the same, without the header's newline */
	CHECK(strstr(buf_cstr(&mta.log), want.data) != NULL);
	CHECK(strstr(buf_cstr(&mta.log), "QID123: report notices=0") != NULL);
	buf_free(&name);
	buf_free(&want);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, too_many_headers_pass_without_notices)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL,
	    "X-A: 1\nX-B: 2\nX-C: 3\nX-D: 4\n" };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm), err[128];
	struct rig r;
	int chunks;

	rig_init(&r);
	REQUIRE(config_set(r.cfg, "MaxHeaders", "3", err, sizeof(err)) == 0);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK_INT(pending(&r), 0);
	CHECK(strstr(buf_cstr(&mta.added), "reason=\"header count or size") != NULL);
	CHECK(strstr(buf_cstr(&mta.log), "QID123: header count") != NULL);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, redirect_replaces_the_recipients)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm), err[128];
	struct rig r;
	int chunks;

	rig_init(&r);
	REQUIRE(config_set(r.cfg, "ReportAction", "redirect summary@example.net", err, sizeof(err)) == 0);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK_STR(buf_cstr(&mta.rcpts), "-<abuse@example.net>\n+summary@example.net\n");
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, discard_after_commit)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm), err[128];
	struct rig r;
	int chunks;

	rig_init(&r);
	REQUIRE(config_set(r.cfg, "ReportAction", "discard", err, sizeof(err)) == 0);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_DISCARD);
	CHECK_INT(pending(&r), 2);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
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

TEST(filter, the_ops_copy_says_why_a_known_report_type_named_nobody)
{
	const char *csv = "timestamp,md5,request,request_type,response,family,tag,source,severity\n"
	    "2026-11-24 01:00:00,d41d8cd98f00b204e9800998ecf8427e,evil.example,A,192.0.2.10,x,y,z,low\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-sandbox_dns-x.csv", csv, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm), err[512], *added;
	struct rig r;
	int chunks;

	rig_init(&r);
	REQUIRE(r.env.store != NULL);
	REQUIRE(config_load_catalogue(r.cfg, err, sizeof(err)) == 0);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK_INT(pending(&r), 0);
	added = unfolded(buf_cstr(&mta.added));
	CHECK(strstr(added, "X-Shadowmilter-Result: notices=0 unmatched=0 skipped_rows=0 type=sandbox_dns ") != NULL);
	CHECK(strstr(added, "; note=\"sandbox_dns reports name no host (no ip, src_ip, http_referer_ip or "
	    "dst_ip column): nobody to notify\"") != NULL);
	CHECK(strstr(added, "errors=") == NULL);
	free(added);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, an_unmatched_listed_network_is_on_the_ops_copy)
{
	const char *csv = "timestamp,ip,source,reason\n2026-11-24 01:00:00,10.0.0.0/8,x,spam\n"
	    "2026-11-24 01:00:00,192.0.2.64/28,x,spam\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-blocklist-x.csv", csv, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm), *added;
	struct rig r;
	int chunks;

	rig_init(&r);
	REQUIRE(r.env.store != NULL);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK_INT(pending(&r), 2);	/* acme (192.0.2.0/24 covers the /28) and bob (his /29 inside) */
	added = unfolded(buf_cstr(&mta.added));
	CHECK(strstr(added, "X-Shadowmilter-Unmatched: 10.0.0.0/8\n") != NULL);
	free(added);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, by_default_the_subject_is_left_alone_so_the_signature_still_verifies)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm);
	struct rig r;
	int chunks;

	rig_init(&r);
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK_INT(pending(&r), 2);
	CHECK(strstr(buf_cstr(&mta.changed), "Subject") == NULL);
	CHECK(strstr(buf_cstr(&mta.added), "Subject") == NULL);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, a_tampered_report_says_which_signature_failed_and_why)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm), *p;
	struct rig r;
	int chunks;

	rig_init(&r);
	REQUIRE((p = strstr(msg, "Report attached.")) != NULL);
	p[0] = 'r';
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_ACCEPT);
	CHECK_INT(pending(&r), 0);
	CHECK(strstr(buf_cstr(&mta.added), "X-Shadowmilter-Result: none; reason=\"unauthenticated: DKIM "
	    "d=shadowserver.org s=test a=rsa-sha256: body hash mismatch") != NULL);
	CHECK(strstr(buf_cstr(&mta.log), "QID123: no notices: reason=\"unauthenticated: DKIM d=shadowserver.org s=test "
	    "a=rsa-sha256: body hash mismatch") != NULL);
	fake_free(&mta);
	free(msg);
	rig_free(&r);
}

TEST(filter, a_key_lookup_failure_tempfails_report_mail_only)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct fake_mta mta = FAKE_MTA_INIT;
	char *msg = testmail_build(&tm), *dir = test_tmpdir(), path[4096], err[256], *keys;
	struct rig r;
	int chunks;

	rig_init(&r);
	snprintf(path, sizeof(path), "%s/keys", dir);
	REQUIRE((keys = test_read_file(test_public_keys(), NULL)) != NULL);
	test_write_file(path, keys);
	REQUIRE((r.cfg->dkim_keys = dkim_keys_new(path, 5, err, sizeof(err))) != NULL);
	remove(path);	/* every lookup fails from now on, as with a dead resolver */
	CHECK(run(&r, &mta, msg, &chunks) == FILTER_TEMPFAIL);
	CHECK_INT(chunks, 0);	/* known at the end of the headers: the body is not read */
	CHECK(strstr(buf_cstr(&mta.log), "QID123: report not handled, sender must retry: DKIM d=shadowserver.org "
	    "s=test a=rsa-sha256: key lookup failed") != NULL);
	CHECK(strstr(buf_cstr(&mta.reply), "shadowmilter: DKIM key lookup failed, try again later") != NULL);
	fake_free(&mta);
	memset(&mta, 0, sizeof(mta));
	CHECK(run(&r, &mta, "From: Alice <alice@example.org>\nDKIM-Signature: v=1; d=shadowserver.org; s=test\n"
	    "\nhello\n", &chunks) == FILTER_ACCEPT);	/* ordinary mail: accepted at its From */
	CHECK_INT(chunks, 0);
	CHECK_INT(mta.log.len, 0);
	fake_free(&mta);
	free(keys);
	free(dir);
	free(msg);
	rig_free(&r);
}
