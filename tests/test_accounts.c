/*
 * test_accounts - AccountSettings: each column's values, the same settings
 * from a CSV file, SQLite, PostgreSQL and a command, and a refresh that fails
 * keeping the settings in use
 *
 * The PostgreSQL case needs SM_TEST_PG_URI (tests/e2e/with-pg.sh sets it);
 * without it that case is skipped.
 */
#include "test.h"
#include "testrig.h"

#include "customers/accounts.h"
#include "customers/mapwatch.h"
#include "customers/tablesource.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* account, language, cc, notify, renotify, digest */
static const char *const ROWS[][6] = {
	{ "acme", "de", "reseller@partner.example; Reseller@Partner.example, ops@acme.example", "all", "7d", "daily" },
	{ "beta", "", "", "action", "", "per-type" },
	{ "gamma", "EN", "", "none", "never", "" },
	{ "Delta, Inc.", "pt-br", "x@delta.example", "scan_ntp; Info, scan_ssdp", "0", "" },
};
#define NROWS (sizeof(ROWS) / sizeof(ROWS[0]))

static char *
settings_csv(void)
{
	struct buf b = BUF_INIT;
	size_t i;

	/* columns in another order, one the settings do not read, a comment */
	buf_puts(&b, "# exported for the test\ndigest,notes,cc,account,renotify,notify,language\n");
	for (i = 0; i < NROWS; i++)
		buf_printf(&b, "%s,\"row %zu\",\"%s\",\"%s\",%s,\"%s\",%s\n", ROWS[i][5], i, ROWS[i][2], ROWS[i][0],
		    ROWS[i][4], ROWS[i][3], ROWS[i][1]);
	return buf_steal(&b);
}

static char *
write_file_in(const char *dir, const char *name, const char *text)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/%s", dir, name);
	test_write_file(path.data, text);
	return buf_steal(&path);
}

static char *
write_csv(const char *dir)
{
	char *csv = settings_csv(), *path = write_file_in(dir, "settings.csv", csv);

	free(csv);
	return path;
}

/* dump - every account's settings as one line each, in name order */
static char *
dump(const struct account_table *t)
{
	static const char *const names[] = { "acme", "beta", "Delta, Inc.", "gamma", "nobody" };
	struct buf b = BUF_INIT;
	char notify[256];
	size_t i, j;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct account_settings *s = accounts_lookup(t, names[i]);

		buf_printf(&b, "%s: lang=%s notify=%s renotify=", names[i], accounts_language(t, names[i]) ?
		    accounts_language(t, names[i]) : "-", account_notify_text(s, notify, sizeof(notify)));
		if (s && s->has_renotify && s->renotify == ACCOUNT_RENOTIFY_NEVER)
			buf_puts(&b, "never");
		else
			buf_printf(&b, "%lu", accounts_renotify(t, names[i], 12345));
		buf_printf(&b, " digest=%s cc=", accounts_digest(t, names[i]) == ACCOUNT_DIGEST_DAILY ? "daily" :
		    "per-type");
		for (j = 0; s && j < s->ncc; j++)
			buf_printf(&b, "%s%s", j ? "," : "", s->cc[j]);
		buf_putc(&b, '\n');
	}
	return buf_steal(&b);
}

static const char *WANT =
    "acme: lang=de notify=all renotify=604800 digest=daily cc=reseller@partner.example,ops@acme.example\n"
    "beta: lang=- notify=action renotify=12345 digest=per-type cc=\n"
    "Delta, Inc.: lang=pt-br notify=scan_ntp info scan_ssdp renotify=0 digest=per-type cc=x@delta.example\n"
    "gamma: lang=en notify=none renotify=never digest=per-type cc=\n"
    "nobody: lang=- notify=all renotify=12345 digest=per-type cc=\n";

/* load_dump - SRC loaded and dumped, or the error text */
static char *
load_dump(const char *source, const char *query, unsigned timeout)
{
	struct table_source src = { source, query, NULL, timeout };
	struct account_table *t = accounts_new();
	char err[512], *out;

	out = accounts_load_source(t, &src, err, sizeof(err)) == 0 ? dump(t) : xstrdup(err);
	accounts_free(t);
	return out;
}

static const char QUERY[] = "SELECT account, lang AS language, cc, notify, renotify, digest FROM settings";

/* fill - ROWS as table "settings" of the database at URI (an empty value as SQL NULL: the same as "") */
static int
fill(const char *uri)
{
	return test_sql_table(uri, "settings",
	    "account text, lang text, cc text, notify text, renotify text, digest text", 6, &ROWS[0][0], NROWS);
}

/* the sources that must give WANT: a file in the test's directory, the source's kind before it */
static const struct { const char *kind, *file, *query; unsigned timeout; } SOURCES[] = {
	{ "", "settings.csv", NULL, 0 },
	{ "sqlite:", "settings.db", QUERY, 0 },
	{ "exec:/bin/cat ", "settings.csv", NULL, 5 },
};

TEST(accounts, csv_sqlite_and_a_command_give_the_same_settings)
{
	char *dir = test_tmpdir(), *csv = write_csv(dir), *got;
	struct buf src = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(SOURCES) / sizeof(SOURCES[0]); i++) {
		buf_reset(&src);
		buf_printf(&src, "%s%s/%s", SOURCES[i].kind, dir, SOURCES[i].file);
		if (SOURCES[i].query != NULL)
			CHECK(fill(src.data) == 0);
		got = load_dump(src.data, SOURCES[i].query, SOURCES[i].timeout);
		CHECK_STR(got, WANT);
		if (strcmp(got, WANT) != 0)
			fprintf(stderr, "    from %s\n", src.data);
		free(got);
	}
	buf_free(&src);
	free(csv);
	free(dir);
}

TEST(accounts, postgresql_gives_the_same_settings)
{
	const char *pg = getenv("SM_TEST_PG_URI");
	char *got;

	if (pg == NULL || *pg == '\0')
		SKIP("no SM_TEST_PG_URI (tests/e2e/with-pg.sh sets it)");
	if (fill(pg) != 0) {
		CHECK(!"the test PostgreSQL takes no table");
		return;
	}
	got = load_dump(pg, QUERY, 5);
	CHECK_STR(got, WANT);
	free(got);
}

TEST(accounts, only_the_account_column_is_required)
{
	char *dir = test_tmpdir(), *path = write_file_in(dir, "a.csv", "account\nacme\n"), *got;

	got = load_dump(path, NULL, 0);
	CHECK(strstr(got, "acme: lang=- notify=all renotify=12345 digest=per-type cc=\n") != NULL);
	free(got);
	free(path);
	path = write_file_in(dir, "b.csv", "language,cc\nde,x@y.example\n");
	got = load_dump(path, NULL, 0);
	CHECK(strstr(got, "missing column \"account\"") != NULL);
	free(got);
	free(path);
	free(dir);
}

/* load_error - the error loading TEXT as a CSV, or "" */
static char *
load_error(const char *text)
{
	char *dir = test_tmpdir(), *path = write_file_in(dir, "s.csv", text), *got = load_dump(path, NULL, 0);

	if (strncmp(got, "acme:", 5) == 0)
		*got = '\0';
	free(path);
	free(dir);
	return got;
}

TEST(accounts, a_bad_value_fails_the_load_naming_the_line)
{
	static const char *const bad[][2] = {
		{ "account,notify\nacme,all\nbeta,sometimes!\n", "s.csv:3: bad notify \"sometimes!\"" },
		{ "account,notify\nacme,\"scan_ntp, none\"\n", "s.csv:2: bad notify" },
		{ "account,renotify\nacme,7 days\n", "s.csv:2: bad renotify \"7 days\"" },
		{ "account,digest\nacme,weekly\n", "s.csv:2: bad digest \"weekly\" (per-type or daily)" },
		{ "account,language\nacme,../de\n", "s.csv:2: bad language \"../de\"" },
		{ "account,language\nacme,de/x\n", "s.csv:2: bad language" },
		{ "account,cc\nacme,\"ok@x.example, not an address\"\n", "s.csv:2: bad cc address \"not\"" },
		{ "account,cc\nacme,\"a@x.example\r\nBcc: evil@x.example\"\n", "bad cc address \"a@x.example??Bcc:\"" },
		{ "account,language\n\" \",de\n", "s.csv:2: empty account name" },
		{ "account,language\nacme,de\nbeta,\nacme,en\n", "account \"acme\" has two rows" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got = load_error(bad[i][0]);

		if (strstr(got, bad[i][1]) == NULL) {
			fprintf(stderr, "    case %zu: got \"%s\", want \"%s\"\n", i, got, bad[i][1]);
			CHECK(!"the error names the value");
		}
		free(got);
	}
}

/* withholds - does ACCOUNT's setting in TEXT withhold TYPE/SEVERITY/ACTION? */
static int
withholds(const char *notify, const char *type, const char *severity, int action)
{
	struct buf csv = BUF_INIT;
	char *dir = test_tmpdir(), *path, err[512];
	struct table_source src = { NULL, NULL, NULL, 0 };
	struct account_table *t = accounts_new();
	int rc = -1;

	buf_printf(&csv, "account,notify\nacme,\"%s\"\n", notify);
	path = write_file_in(dir, "n.csv", csv.data);
	src.source = path;
	if (accounts_load_source(t, &src, err, sizeof(err)) == 0)
		rc = accounts_withholds(accounts_lookup(t, "acme"), type, severity, action);
	else
		fprintf(stderr, "    %s\n", err);
	accounts_free(t);
	buf_free(&csv);
	free(path);
	free(dir);
	return rc;
}

TEST(accounts, notify_all_withholds_nothing)
{
	CHECK_INT(withholds("all", "scan_ntp", "high", 1), 0);
	CHECK_INT(withholds("all", "scan_ssl_poodle", "info", 0), 0);
	CHECK_INT(withholds("", "scan_ssl_poodle", "info", 0), 0);
	CHECK_INT(accounts_withholds(NULL, "scan_ntp", "info", 0), 0);	/* no row: every default */
}

TEST(accounts, notify_action_withholds_only_what_needs_no_action)
{
	CHECK_INT(withholds("action", "scan_ntp", "high", 1), 0);
	CHECK_INT(withholds("Action", "scan_ssl_poodle", "info", 0), 1);
	CHECK_INT(withholds("action", "unknown_type", NULL, 1), 0);
}

TEST(accounts, notify_none_withholds_everything)
{
	CHECK_INT(withholds("none", "scan_ntp", "critical", 1), 1);
	CHECK_INT(withholds("NONE", "scan_ssl_poodle", "info", 0), 1);
}

TEST(accounts, a_notify_list_withholds_its_types_and_severities)
{
	CHECK_INT(withholds("scan_ntp", "scan_ntp", "high", 1), 1);
	CHECK_INT(withholds("scan_ntp", "SCAN_NTP", "high", 1), 1);
	CHECK_INT(withholds("scan_ntp", "scan_ntpmonitor", "high", 1), 0);	/* a type is a whole name */
	CHECK_INT(withholds("info; low", "scan_ssl_poodle", "info", 0), 1);
	CHECK_INT(withholds("info; low", "scan_x", "LOW", 1), 1);
	CHECK_INT(withholds("info; low", "scan_ntp", "high", 1), 0);
	CHECK_INT(withholds("info; low", "scan_ntp", NULL, 1), 0);	/* no severity known: not withheld */
	CHECK_INT(withholds("scan_ntp, critical", "drone", "critical", 1), 1);
}

TEST(accounts, no_settings_table_means_every_default)
{
	CHECK(accounts_lookup(NULL, "acme") == NULL);
	CHECK(accounts_language(NULL, "acme") == NULL);
	CHECK_INT(accounts_digest(NULL, "acme"), ACCOUNT_DIGEST_PER_TYPE);
	CHECK_INT(accounts_renotify(NULL, "acme", 86400), 86400);
	CHECK_INT(accounts_count(NULL), 0);
}

TEST(accounts, a_failed_refresh_keeps_the_settings_in_use)
{
	char *dir = test_tmpdir(), *path = write_csv(dir), err[512] = "";
	struct table_source src = { path, NULL, NULL, 5 };
	struct mapwatch *w = mapwatch_new(&src, 900, 50);
	struct account_table *t = NULL, *fresh = (struct account_table *)&src;
	struct mapwatch_status st;
	int tell = -1;
	char *got;

	REQUIRE(accounts_refresh(w, NULL, 1000, &t, &tell, err, sizeof(err)) == MAPWATCH_NEW);
	CHECK_INT(tell, 0);
	test_write_file(path, "account,notify\nacme,sometimes!\n");
	CHECK(accounts_refresh(w, t, 2000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_REFUSED);
	CHECK(fresh == NULL);
	CHECK_INT(tell, 1);
	CHECK(strstr(err, "settings.csv:2: bad notify \"sometimes!\"") != NULL);
	got = dump(t);	/* the table in use is untouched */
	CHECK_STR(got, WANT);
	free(got);
	mapwatch_status(w, &st);
	CHECK_INT(st.loaded_at, 1000);
	CHECK_INT(st.accounts, NROWS);
	CHECK_INT(st.prefixes, 0);
	CHECK(strstr(st.last_error, "bad notify") != NULL);
	CHECK(accounts_refresh(w, t, 3000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_REFUSED);
	CHECK_INT(tell, 0);	/* ops are told once per run of refusals */
	test_write_file(path, "account\nacme\n");	/* 4 accounts to 1: more than 50% gone */
	CHECK(accounts_refresh(w, t, 4000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_REFUSED);
	CHECK(strstr(err, "the new settings have 1 accounts, 75% fewer than the 4 in use") != NULL);
	test_write_file(path, "account,language\nacme,fr\nbeta,\ngamma,\n");
	REQUIRE(accounts_refresh(w, t, 5000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_NEW);
	CHECK_STR(accounts_language(fresh, "acme"), "fr");
	mapwatch_status(w, &st);
	CHECK_STR(st.last_error, "");
	CHECK_INT(st.accounts, 3);
	accounts_free(fresh);
	accounts_free(t);
	mapwatch_free(w);
	free(path);
	free(dir);
}

TEST(accounts, a_failing_command_is_a_failed_refresh)
{
	struct table_source src = { "exec:/bin/false", NULL, NULL, 5 };
	struct mapwatch *w = mapwatch_new(&src, 900, 50);
	struct account_table *t = NULL;
	char err[512];
	int tell;

	CHECK(accounts_refresh(w, NULL, 1000, &t, &tell, err, sizeof(err)) == MAPWATCH_REFUSED);
	CHECK(t == NULL);
	CHECK(strstr(err, "exec:/bin/false") != NULL);
	mapwatch_free(w);
}
