/*
 * test_config - the Key value file
 */
#include "test.h"

#include "config/config.h"

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
	CHECK(load("CustomerMap x.csv\nVerifyDKIM no\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "TrustedAuthservIDs is required with VerifyDKIM no") != NULL);
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

/* the error names the key, the value and the rule */
static void
check_refused(const char *key, const char *value, const char *rule)
{
	char err[512], line[256];

	snprintf(line, sizeof(line), "CustomerMap c.csv\nTrustedAuthservIDs mx\n%s %s\n", key, value);
	if (load(line, err, sizeof(err)) != NULL) {
		printf("  %s %s was accepted\n", key, value);
		CHECK(0);
		return;
	}
	CHECK(strstr(err, ":3: ") != NULL);
	CHECK(strstr(err, key) != NULL);
	CHECK(strstr(err, value) != NULL);
	if (strstr(err, rule) == NULL)
		printf("  %s %s: \"%s\" does not say \"%s\"\n", key, value, err, rule);
	CHECK(strstr(err, rule) != NULL);
}

static void
check_accepted(const char *key, const char *value)
{
	char err[512], line[256];
	struct config *cfg;

	snprintf(line, sizeof(line), "CustomerMap c.csv\nTrustedAuthservIDs mx\n%s %s\n", key, value);
	cfg = load(line, err, sizeof(err));
	if (cfg == NULL)
		printf("  %s %s refused: %s\n", key, value, err);
	CHECK(cfg != NULL);
	config_free(cfg);
}

/* every numeric key: its bounds, a word, a negative number, an overflow */
TEST(config, every_numeric_key_names_key_value_and_rule)
{
	static const struct { const char *key, *low, *high, *too_low, *too_high, *rule; } numeric[] = {
		{ "GraceDays", "0", "3650", NULL, "3651", "from 0 to 3650" },
		{ "MaxHeaders", "0", "100000", NULL, "100001", "from 0 to 100000" },
		{ "MaxRetryDays", "0", "365", NULL, "366", "from 0 to 365" },
		{ "DeliverInterval", "1", "86400", "0", "86401", "from 1 to 86400" },
		{ "RetryInterval", "1", "86400", "0", "86401", "from 1 to 86400" },
		{ "ResolveAfterDays", "0", "3650", NULL, "3651", "from 0 (never) to 3650" },
		{ "RetainDays", "1", "36500", "0", "36501", "from 1 to 36500" },
		{ "MaxAttachmentSize", "1", "1024G", "0", "1025G", "a size from 1 to 1T" },
		{ "MaxCSVSize", "1", "2G", "0", "2000G", "a size from 1 to 1T" },
		{ "MaxRows", "1", "5M", "0", "1025G", "from 1 to 1T" },
		{ "MaxHeaderBytes", "1", "1M", "0", "1025G", "a size from 1 to 1T" },
		{ "MaxReportSize", "1", "1G", "0", "1025G", "a size from 1 to 1T" },
		{ "SocketMode", "0", "0777", NULL, "01000", "an octal file mode" },
		{ "RenotifyInterval", "0", "100000w", NULL, "100001w", "0 or a duration" },
	};
	size_t i;

	for (i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
		check_accepted(numeric[i].key, numeric[i].low);
		check_accepted(numeric[i].key, numeric[i].high);
		if (numeric[i].too_low)
			check_refused(numeric[i].key, numeric[i].too_low, numeric[i].rule);
		check_refused(numeric[i].key, numeric[i].too_high, numeric[i].rule);
		check_refused(numeric[i].key, "soon", numeric[i].rule);
		check_refused(numeric[i].key, "-1", numeric[i].rule);
		check_refused(numeric[i].key, "99999999999999999999999", numeric[i].rule);
	}
}

TEST(config, zero_intervals_say_why)
{
	check_refused("DeliverInterval", "0", "DeliverInterval: \"0\" is not a number of seconds from 1 to 86400");
	check_refused("RetryInterval", "0", "RetryInterval: \"0\" is not a number of seconds from 1 to 86400");
}

TEST(config, other_keys_name_key_value_and_rule)
{
	check_refused("NoticeFrom", "nobody", "a mail address");
	check_refused("OpsAddress", "a@b@c", "a mail address");
	check_refused("Transport", "carrier-pigeon", "sendmail:/PATH or smtp:HOST:PORT");
	check_refused("Socket", "/run/x.sock", "unix:/PATH or inet:PORT@HOST");
	check_refused("Socket", "inet:99999@localhost", "a PORT from 1 to 65535");
	check_refused("Socket", "inet:25@", "unix:/PATH or inet:PORT@HOST");
	check_refused("Transport", "smtp:localhost:0", "a PORT from 1 to 65535");
	check_refused("Transport", "smtp::25", "smtp:HOST:PORT");
	check_refused("ReportAction", "redirect nowhere", "pass, discard or redirect ADDRESS");
	check_refused("ReportAction", "bounce", "pass, discard or redirect ADDRESS");
	check_refused("NotifyResolved", "maybe", "yes or no");
	check_refused("ReportSenders", "(unclosed", "not a valid PCRE2 pattern");
	check_refused("SubjectType", "scan_foo", "a report type followed by a pattern");
	check_refused("SubjectType", "scan_foo (unclosed", "followed by a valid PCRE2 pattern");
	check_refused("TrustedAuthservIDs", ",", "one or more authserv-ids");
}

/* the table is the list of keys: each is documented for the admin */
TEST(config, every_key_is_documented)
{
	char path[4096], *man;
	size_t i, len;

	snprintf(path, sizeof(path), "%s/../contrib/shadowmilter.conf.5", test_srcdir());
	man = test_read_file(path, &len);
	REQUIRE(man != NULL);
	CHECK(config_key_count() >= 30);
	for (i = 0; i < config_key_count(); i++) {
		char needle[128];

		snprintf(needle, sizeof(needle), ".B %s\n", config_key_name(i));
		if (strstr(man, needle) == NULL)
			printf("  %s is not in shadowmilter.conf(5)\n", config_key_name(i));
		CHECK(strstr(man, needle) != NULL);
	}
	free(man);
}

/* man_default - the "Default: VALUE." of key NAME's entry in the man page MAN, roff escapes undone (caller frees); NULL if none */
static char *
man_default(const char *man, const char *name)
{
	char needle[128], *value;
	const char *entry, *end, *d, *eol;
	size_t i, n = 0;

	snprintf(needle, sizeof(needle), ".B %s\n", name);
	if ((entry = strstr(man, needle)) == NULL)
		return NULL;
	entry += strlen(needle);
	if ((end = strstr(entry, "\n.TP")) == NULL && (end = strstr(entry, "\n.SH")) == NULL)
		end = entry + strlen(entry);
	if ((d = strstr(entry, "Default: ")) == NULL || d > end)
		return NULL;
	d += 9;
	eol = d + strcspn(d, "\n");
	if (eol > d && eol[-1] == '.')
		eol--;
	if (*d != '(' && memmem(d, (size_t)(eol - d), " (", 2))	/* "no (why)": the value, not the why */
		eol = memmem(d, (size_t)(eol - d), " (", 2);
	value = malloc((size_t)(eol - d) + 1);
	for (i = 0; d + i < eol; i++) {
		if (d[i] == '\\' && (d[i + 1] == '\\' || d[i + 1] == '-'))
			i++;			/* \\ is a backslash, \- a minus */
		else if (d[i] == '\\' && d[i + 1] == 'f') {
			i += 2;			/* \fB, \fI, \fR: fonts */
			continue;
		}
		value[n++] = d[i];
	}
	value[n] = '\0';
	return value;
}

/* each key's default in the table is the one shadowmilter.conf(5) states ("(none)" and the like: no value) */
TEST(config, every_default_is_the_documented_one)
{
	char path[4096], *man, *doc;
	const char *def;
	size_t i;

	snprintf(path, sizeof(path), "%s/../contrib/shadowmilter.conf.5", test_srcdir());
	REQUIRE((man = test_read_file(path, NULL)) != NULL);
	for (i = 0; i < config_key_count(); i++) {
		def = config_key_default(i);
		if ((doc = man_default(man, config_key_name(i))) == NULL) {
			printf("  %s: no \"Default:\" in shadowmilter.conf(5)\n", config_key_name(i));
			CHECK(doc != NULL);
		} else if (doc[0] == '(' && (def == NULL || strcmp(def, doc) != 0)) {	/* "(none)": no value */
			if (def && *def)
				printf("  %s: the table says %s, the manual %s\n", config_key_name(i), def, doc);
			CHECK(def == NULL || *def == '\0');
		} else {
			if (def == NULL || strcmp(def, doc) != 0)
				printf("  %s: the table says %s, the manual %s\n", config_key_name(i), def ? def : "(none)",
				    doc);
			CHECK(def != NULL && strcmp(def, doc) == 0);
		}
		free(doc);
	}
	free(man);
}

/* the defaults are what a config without a file holds */
TEST(config, defaults_are_applied_as_the_file_would_set_them)
{
	struct config *cfg = config_new();

	CHECK_INT(cfg->customer_map_timeout, 60);
	CHECK_INT(cfg->max_csv_size, 2048ULL << 20);
	CHECK_INT(cfg->socket_mode, 0660);
	CHECK_INT(cfg->delivery_lease, 900);
	CHECK_INT(cfg->info_renotify_interval, 30 * 86400);
	CHECK_STR(cfg->report_subject_tag, "");
	CHECK_STR(cfg->template_dir, "");
	CHECK(cfg->verify_dkim && cfg->info_notices && !cfg->notify_resolved);
	CHECK(cfg->user_id == NULL && cfg->state_db == NULL && cfg->customer_map == NULL);
	CHECK(cfg->report_senders != NULL && cfg->nsubject_rules > 0 && cfg->nsite_subject_rules == 0);
	config_free(cfg);
}

TEST(config, customer_map_takes_a_file_sql_or_a_command)
{
	char err[512];
	struct config *cfg;

	cfg = load("CustomerMap sqlite:map.db\nCustomerMapQuery SELECT prefix, account, email FROM m\n", err,
	    sizeof(err));
	REQUIRE(cfg != NULL);
	CHECK(strncmp(cfg->customer_map, "sqlite:/", 8) == 0 && strstr(cfg->customer_map, "/map.db") != NULL);
	CHECK_STR(cfg->customer_map_query, "SELECT prefix, account, email FROM m");
	CHECK_INT(cfg->customer_map_timeout, 60);
	config_free(cfg);
	cfg = load("CustomerMap exec:/usr/local/bin/export --csv\nCustomerMapTimeout 2m\n", err, sizeof(err));
	REQUIRE(cfg != NULL);
	CHECK_STR(cfg->customer_map, "exec:/usr/local/bin/export --csv");
	CHECK_INT(cfg->customer_map_timeout, 120);
	config_free(cfg);
	cfg = load("CustomerMap postgresql://u@db.example/billing\n", err, sizeof(err));
	CHECK(cfg == NULL);
	CHECK(strstr(err, "CustomerMapQuery is required") != NULL);
	CHECK(load("CustomerMap exec:export --csv\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "exec:/PATH") != NULL);
}
