/*
 * test_config - the Key value file
 */
#include "test.h"

#include "config.h"

#include <stdlib.h>
#include <string.h>

static struct config *
load(const char *text, char *err, size_t errlen)
{
	char *dir = test_tmpdir(), path[4096];
	struct config *cfg;

	snprintf(path, sizeof(path), "%s/shadowmilter.conf", dir);
	test_write_file(path, text);
	cfg = config_load(path, err, errlen);
	free(dir);
	return cfg;
}

TEST(config, a_complete_file_loads)
{
	char err[512];
	struct config *cfg = load("# comment\nCustomerMap customers.csv\nTrustedAuthservIDs mx1.example, mx2.example\n"
	    "organization  BitFolk   # trailing comment\nGraceDays 14\nNoticeSignature Andy\\nBitFolk Ltd\n"
	    "SubjectType scan_foo (?i)foo report\n", err, sizeof(err));

	REQUIRE(cfg != NULL);
	CHECK_STR(cfg->organization, "BitFolk");
	CHECK_INT(cfg->grace_days, 14);
	CHECK_INT(cfg->ntrusted, 2);
	CHECK(config_is_trusted_authserv(cfg, "MX2.example"));
	CHECK(!config_is_trusted_authserv(cfg, "mx3.example"));
	CHECK_STR(cfg->signature, "Andy\nBitFolk Ltd");
	CHECK(strstr(cfg->customer_map, "/customers.csv") != NULL && cfg->customer_map[0] == '/');
	CHECK_STR(cfg->subject_rules[0].type, "scan_foo");
	config_free(cfg);
}

TEST(config, unknown_key_names_file_and_line)
{
	char err[512];

	CHECK(load("CustomerMap x\n\nFrobnicate yes\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "shadowmilter.conf:3:") != NULL);
	CHECK(strstr(err, "Frobnicate") != NULL);
}

TEST(config, bad_values_are_errors)
{
	char err[512];

	CHECK(load("GraceDays soon\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, ":1:") != NULL);
	CHECK(load("ReportSenders (unclosed\n", err, sizeof(err)) == NULL);
	CHECK(load("NoticeFrom not an address\n", err, sizeof(err)) == NULL);
	CHECK(load("NoticeFrom a@b.example\r\nBcc: x@y\n", err, sizeof(err)) == NULL);
	CHECK(load("Organization\n", err, sizeof(err)) == NULL);
}

TEST(config, required_keys_are_checked)
{
	char err[512];

	CHECK(load("TrustedAuthservIDs mx.example\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "CustomerMap") != NULL);
	CHECK(load("CustomerMap x.csv\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "TrustedAuthservIDs") != NULL);
}

TEST(config, history_keys_take_durations_days_and_yes_no)
{
	char err[512];
	struct config *cfg = load("CustomerMap c.csv\nTrustedAuthservIDs mx\nStateDB state.db\n"
	    "RenotifyInterval 12h\nNotifyResolved yes\nResolveAfterDays 10\nRetainDays 90\n", err, sizeof(err));

	REQUIRE(cfg != NULL);
	CHECK(cfg->state_db[0] == '/' && strstr(cfg->state_db, "/state.db") != NULL);
	CHECK_INT(cfg->renotify_interval, 12 * 3600);
	CHECK_INT(cfg->notify_resolved, 1);
	CHECK_INT(cfg->resolve_after_days, 10);
	CHECK_INT(cfg->retain_days, 90);
	config_free(cfg);
	cfg = load("CustomerMap c.csv\nTrustedAuthservIDs mx\nRenotifyInterval 7d\n", err, sizeof(err));
	REQUIRE(cfg != NULL);
	CHECK(cfg->state_db == NULL);
	CHECK_INT(cfg->renotify_interval, 7 * 86400);
	CHECK_INT(cfg->notify_resolved, 0);
	config_free(cfg);
	CHECK(load("RenotifyInterval 12\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "12h or 7d") != NULL);
	CHECK(load("RenotifyInterval 3y\n", err, sizeof(err)) == NULL);
	CHECK(load("NotifyResolved maybe\n", err, sizeof(err)) == NULL);
	CHECK(load("RetainDays 0\n", err, sizeof(err)) == NULL);
}
