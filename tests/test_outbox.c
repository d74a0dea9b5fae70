/*
 * test_outbox - the durable queue, on real SQLite files
 */
#include "test.h"

#include "store/outbox.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static char *rcpt_acme[] = { "ops@acme.example" };

/* item - a notice of REF for ACCOUNT; its key is kept for the rest of the run */
static struct outbox_item
item(const char *ref, const char *type, const char *account)
{
	static char keys[64][256];
	static int n;
	char *key = keys[n++ % 64];
	struct outbox_item it = { key, ref, type, account, rcpt_acme, 1, "Subject: x\n\nbody\n", "QID42" };

	snprintf(key, sizeof(keys[0]), "%s|%s|%s", ref, type, account);
	return it;
}

static struct store *
fresh(char **path)
{
	char *dir = test_tmpdir(), err[256];
	struct store *ob;
	struct buf p = BUF_INIT;

	buf_printf(&p, "%s/outbox.db", dir);
	free(dir);
	ob = store_open(NULL, p.data, STORE_BUSY_TIMEOUT_MS, err, sizeof(err));
	if (ob == NULL)
		fprintf(stderr, "%s\n", err);
	*path = buf_steal(&p);
	return ob;
}

TEST(outbox, same_report_twice_queues_each_notice_once)
{
	char *path, err[256];
	struct store *ob = fresh(&path);
	struct outbox_item items[2] = { item("<r1@x>", "scan_portmapper", "acme"),
	    item("<r1@x>", "scan_portmapper", "bob") };
	struct outbox_counts c;
	size_t added;

	REQUIRE(ob != NULL);
	CHECK(outbox_commit(ob, items, 2, 1000, &added, err, sizeof(err)) == 0);
	CHECK_INT(added, 2);
	CHECK(outbox_commit(ob, items, 2, 1001, &added, err, sizeof(err)) == 0);
	CHECK_INT(added, 0);
	items[1] = item("<r2@x>", "scan_portmapper", "bob");	/* the next day's report */
	CHECK(outbox_commit(ob, items, 2, 1002, &added, err, sizeof(err)) == 0);
	CHECK_INT(added, 1);
	CHECK(outbox_get_counts(ob, 0, &c, err, sizeof(err)) == 0);
	CHECK_INT(c.pending, 3);
	store_close(ob);
	free(path);
}

TEST(outbox, survives_reopening)
{
	char *path, err[256];
	struct store *ob = fresh(&path);
	struct outbox_item it = item("<r1@x>", "scan_ntp", "acme");
	struct outbox_entry e;
	size_t added;

	REQUIRE(ob != NULL);
	CHECK(outbox_commit(ob, &it, 1, 1000, &added, err, sizeof(err)) == 0);
	store_close(ob);
	ob = store_open(NULL, path, STORE_BUSY_TIMEOUT_MS, err, sizeof(err));
	REQUIRE(ob != NULL);
	REQUIRE(outbox_claim(ob, 1000, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1);
	CHECK_STR(e.account, "acme");
	CHECK_STR(e.report_type, "scan_ntp");
	CHECK_STR(e.queue_id, "QID42");
	CHECK_INT(e.nrecipients, 1);
	CHECK_STR(e.recipients[0], "ops@acme.example");
	CHECK_STR(e.message, "Subject: x\n\nbody\n");
	outbox_entry_free(&e);
	store_close(ob);
	free(path);
}

TEST(outbox, sent_is_final_and_retry_waits)
{
	char *path, err[256];
	struct store *ob = fresh(&path);
	struct outbox_item items[2] = { item("<r@x>", "t", "a"), item("<r@x>", "t", "b") };
	struct outbox_entry e;
	struct outbox_counts c;
	size_t added;

	REQUIRE(ob != NULL);
	CHECK(outbox_commit(ob, items, 2, 1000, &added, err, sizeof(err)) == 0);
	REQUIRE(outbox_claim(ob, 1000, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1);
	CHECK(outbox_mark_sent(ob, e.id, 1000, err, sizeof(err)) == 0);
	outbox_entry_free(&e);
	REQUIRE(outbox_claim(ob, 1000, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1);
	CHECK(outbox_mark_retry(ob, e.id, "test", 1060, "connection refused", err, sizeof(err)) == 0);
	outbox_entry_free(&e);
	CHECK_INT(outbox_claim(ob, 1059, OUTBOX_LEASE, "test", &e, err, sizeof(err)), 0);
	CHECK_INT(outbox_claim(ob, 1060, OUTBOX_LEASE, "test", &e, err, sizeof(err)), 1);
	outbox_entry_free(&e);
	CHECK(outbox_get_counts(ob, 0, &c, err, sizeof(err)) == 0);
	CHECK_INT(c.sent, 1);
	CHECK_INT(c.pending, 1);
	store_close(ob);
	free(path);
}

TEST(outbox, unwritable_database_is_an_error_not_a_crash)
{
	char err[256];

	CHECK(store_open(NULL, "/nonexistent-dir/outbox.db", STORE_BUSY_TIMEOUT_MS, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent-dir/outbox.db") != NULL);	/* the file and the cause */
	CHECK(strstr(err, "unable to open") != NULL);
}

TEST(outbox, sent_notices_are_pruned_after_retention_failed_ones_stay)
{
	char *path, err[256];
	struct store *ob = fresh(&path);
	struct outbox_item items[3] = { item("<r@x>", "t", "a"), item("<r@x>", "t", "b"), item("<r@x>", "t", "c") };
	struct outbox_entry e;
	struct outbox_counts c;
	long long removed;
	size_t added;

	REQUIRE(ob != NULL);
	CHECK(outbox_commit(ob, items, 3, 1000, &added, err, sizeof(err)) == 0);
	REQUIRE(outbox_claim(ob, 1000, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1);
	CHECK(outbox_mark_sent(ob, e.id, 1000, err, sizeof(err)) == 0);
	outbox_entry_free(&e);
	REQUIRE(outbox_claim(ob, 1000, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1);
	CHECK(outbox_mark_sent(ob, e.id, 5000, err, sizeof(err)) == 0);
	outbox_entry_free(&e);
	REQUIRE(outbox_claim(ob, 1000, OUTBOX_LEASE, "test", &e, err, sizeof(err)) == 1);
	CHECK(outbox_mark_failed(ob, e.id, "test", "gave up", err, sizeof(err)) == 0);
	outbox_entry_free(&e);
	CHECK(outbox_prune(ob, 2000, &removed, err, sizeof(err)) == 0);
	CHECK_INT(removed, 1);
	CHECK(outbox_get_counts(ob, 0, &c, err, sizeof(err)) == 0);
	CHECK_INT(c.sent, 1);
	CHECK_INT(c.failed, 1);
	store_close(ob);
	free(path);
}
