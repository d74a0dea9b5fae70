/*
 * test_tablesource - the customer map from a CSV file, SQLite, PostgreSQL and
 * a command: the same rows give the same map, whatever the source
 *
 * The PostgreSQL case needs SM_TEST_PG_URI (tests/e2e/with-pg.sh sets it);
 * without it that case is skipped.
 */
#include "test.h"
#include "testrig.h"

#include "customers/prefixmap.h"
#include "customers/tablesource.h"
#include "base/ipaddr.h"
#include "base/util.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* the map every source holds: nested prefixes, IPv6, two rows for one account, two addresses */
static const char *const ROWS[][3] = {
	{ "192.0.2.0/24", "acme", "noc@acme.example" },
	{ "192.0.2.64/29", "beta", "abuse@beta.example; ops@beta.example" },
	{ "198.51.100.0/24", "acme", "security@acme.example" },
	{ "2001:db8::/32", "gamma", "noc@gamma.example" },
	{ "2001:db8:1::/48", "acme", "noc@acme.example" },
	{ "10.0.0.1/32", "Delta, Inc.", "d@delta.example" },
};
#define NROWS (sizeof(ROWS) / sizeof(ROWS[0]))

/* map_csv - ROWS as a CSV with the columns in another order, an extra column and a comment */
static char *
map_csv(void)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_puts(&b, "# exported for the test\nemail,notes,account,prefix\n");
	for (i = 0; i < NROWS; i++)
		buf_printf(&b, "\"%s\",\"row %zu\",\"%s\",%s\n", ROWS[i][2], i, ROWS[i][1], ROWS[i][0]);
	return buf_steal(&b);
}

static void
dump_part(void *ctx, const struct account *a, const struct ipaddr *part, unsigned len)
{
	struct buf *b = ctx;
	char text[IPADDR_STRLEN];
	size_t i;

	ipaddr_format(part, text, sizeof(text));
	buf_printf(b, "%s/%u %s", text, len, a->name);
	for (i = 0; i < a->nemails; i++)
		buf_printf(b, " %s", a->emails[i]);
	buf_putc(b, '\n');
}

/* dump - every prefix of MAP with its account and addresses, in address order */
static char *
dump(const struct prefixmap *map)
{
	struct buf b = BUF_INIT;
	struct ipaddr any4, any6;

	ipaddr_parse("0.0.0.0", &any4);
	ipaddr_parse("::", &any6);
	prefixmap_overlaps(map, &any4, 0, dump_part, &b);
	prefixmap_overlaps(map, &any6, 0, dump_part, &b);
	return buf_steal(&b);
}

/* load_dump - SRC loaded and dumped, or the error text */
static char *
load_dump(const char *source, const char *query, unsigned timeout)
{
	struct table_source src = { source, query, NULL, timeout };
	struct prefixmap *map = prefixmap_new();
	char err[512], *out;

	out = prefixmap_load_source(map, &src, err, sizeof(err)) == 0 ? dump(map) : xstrdup(err);
	prefixmap_free(map);
	return out;
}

static char *
write_csv(const char *dir)
{
	struct buf path = BUF_INIT;
	char *csv = map_csv();

	buf_printf(&path, "%s/customers.csv", dir);
	test_write_file(path.data, csv);
	free(csv);
	return buf_steal(&path);
}

static const char QUERY[] = "SELECT email, account, prefix, 'x' AS notes FROM custmap ORDER BY prefix DESC";

/* fill - ROWS as table "custmap" of the database at URI (SQLite: the prefix as text) */
static int
fill(const char *uri)
{
	return test_sql_table(uri, "custmap", strncmp(uri, "sqlite:", 7) == 0 ? "prefix TEXT, account TEXT, email TEXT" :
	    "prefix cidr, account text, email text", 3, &ROWS[0][0], NROWS);
}

/* the sources that must give the CSV file's map: a file in the test's directory, the source's kind before it */
static const struct { const char *kind, *file, *query; unsigned timeout; } SOURCES[] = {
	{ "sqlite:", "map.db", QUERY, 0 },
	{ "exec:/bin/cat ", "customers.csv", NULL, 5 },
};

TEST(tablesource, every_source_gives_the_identical_map)
{
	char *dir = test_tmpdir(), *csv = write_csv(dir), *want, *got;
	struct buf src = BUF_INIT;
	size_t i;

	want = load_dump(csv, NULL, 0);
	CHECK(strstr(want, "192.0.2.64/29 beta abuse@beta.example ops@beta.example\n") != NULL);
	CHECK(strstr(want, "10.0.0.1/32 Delta, Inc. d@delta.example\n") != NULL);
	CHECK(strstr(want, "198.51.100.0/24 acme noc@acme.example security@acme.example\n") != NULL);
	for (i = 0; i < sizeof(SOURCES) / sizeof(SOURCES[0]); i++) {
		buf_reset(&src);
		buf_printf(&src, "%s%s/%s", SOURCES[i].kind, dir, SOURCES[i].file);
		if (SOURCES[i].query != NULL)
			CHECK(fill(src.data) == 0);
		got = load_dump(src.data, SOURCES[i].query, SOURCES[i].timeout);
		CHECK_STR(got, want);
		if (strcmp(got, want) != 0)
			fprintf(stderr, "    from %s\n", src.data);
		free(got);
	}
	buf_free(&src);
	free(want);
	free(csv);
	free(dir);
}

TEST(tablesource, postgresql_gives_the_identical_map)
{
	const char *pg = getenv("SM_TEST_PG_URI");
	char *dir, *csv, *want, *got;

	if (pg == NULL || *pg == '\0')
		SKIP("no SM_TEST_PG_URI (tests/e2e/with-pg.sh sets it)");
	dir = test_tmpdir();
	csv = write_csv(dir);
	want = load_dump(csv, NULL, 0);
	if (fill(pg) != 0)
		CHECK(!"the test PostgreSQL takes no table");
	else {
		got = load_dump(pg, QUERY, 5);
		CHECK_STR(got, want);
		free(got);
	}
	free(want);
	free(csv);
	free(dir);
}

TEST(tablesource, an_sql_source_names_its_columns)
{
	static const char *const cases[][2] = {	/* the query, what the error says */
		{ "SELECT prefix, account AS acct, email FROM custmap", ": missing column \"account\"" },
		{ "SELECT prefix, account, email FROM nosuchtable", "no such table" },
		{ "SELECT 'x' AS prefix, account, email FROM custmap", ": row 1: bad prefix \"x\"" },
		{ NULL, "needs a query" },
	};
	char *dir = test_tmpdir(), *got;
	struct buf src = BUF_INIT;
	size_t i;

	buf_printf(&src, "sqlite:%s/map.db", dir);
	CHECK(fill(src.data) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = load_dump(src.data, cases[i][0], 0);
		CHECK(strstr(got, cases[i][1]) != NULL);
		if (strstr(got, cases[i][1]) == NULL)
			fprintf(stderr, "    case %zu: got \"%s\", want \"%s\"\n", i, got, cases[i][1]);
		free(got);
	}
	buf_free(&src);
	free(dir);
}

TEST(tablesource, a_postgresql_error_never_shows_the_password)
{
	char *got = load_dump("postgresql://shadow:s3kr1t@127.0.0.1:1/map?password=s3kr1t&sslmode=disable",
	    "SELECT prefix, account, email FROM m", 2);

	CHECK(strncmp(got, "postgresql://shadow@127.0.0.1:1/map?sslmode=disable: ", 53) == 0);
	CHECK(strstr(got, "s3kr1t") == NULL);
	free(got);
	got = load_dump("postgresql://shadow:s3k@r1t@127.0.0.1:1/map", "SELECT prefix, account, email FROM m", 2);
	CHECK(strstr(got, "s3k") == NULL);	/* libpq reads the password up to the first @ */
	free(got);
}

TEST(tablesource, a_failing_command_is_a_failed_load)
{
	static const char *const cases[][2] = {	/* the source, the whole error */
		{ "exec:/bin/true", "exec:/bin/true: printed nothing" },
		{ "exec:/nonexistent/command", "exec:/nonexistent/command: exit status 127: cannot execute the command" },
		{ "exec:bin/cat x", "exec:bin/cat x: the command must be an absolute path" },
		{ "exec:/bin/echo prefix,account", "exec:/bin/echo prefix,account:1: missing column \"email\"" },
	};
	char *got;
	size_t i;

	got = load_dump("exec:/bin/ls /nonexistent-sm-test", NULL, 5);
	CHECK(strncmp(got, "exec:/bin/ls /nonexistent-sm-test: exit status 2: ", 50) == 0);
	CHECK(strstr(got + 50, "nonexistent-sm-test") != NULL);
	free(got);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = load_dump(cases[i][0], NULL, 5);
		CHECK_STR(got, cases[i][1]);
		free(got);
	}
}

TEST(tablesource, a_command_that_hangs_is_killed_at_the_timeout)
{
	char *got = load_dump("exec:/bin/sleep 30", NULL, 1);

	CHECK_STR(got, "exec:/bin/sleep 30: no answer within 1 s, killed");
	free(got);
}

TEST(tablesource, the_command_runs_as_userid)
{
	char *dir = test_tmpdir(), *got;
	struct buf script = BUF_INIT, src = BUF_INIT;
	struct table_source ts;
	struct prefixmap *map = prefixmap_new();
	char err[512] = "";
	struct ipaddr a;
	const struct account *acct;

	if (geteuid() != 0) {
		prefixmap_free(map);
		free(dir);
		SKIP("the command as UserID needs root");
	}
	buf_printf(&script, "%s/map.sh", dir);
	test_write_file(script.data, "#!/bin/sh\necho prefix,account,email\necho 10.0.0.0/8,uid$(id -u),a@b.example\n");
	chmod(dir, 0755);	/* and the run's root above it: nobody must reach the script */
	*strrchr(dir, '/') = '\0';
	chmod(dir, 0755);
	chmod(script.data, 0755);
	buf_printf(&src, "exec:%s", script.data);
	ts = (struct table_source){ src.data, NULL, "nobody", 5 };
	CHECK(prefixmap_load_source(map, &ts, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	ipaddr_parse("10.1.2.3", &a);
	acct = prefixmap_lookup(map, &a);
	got = acct ? acct->name : "(none)";
	CHECK_STR(got, "uid65534");
	prefixmap_free(map);
	buf_free(&script);
	buf_free(&src);
	free(dir);
}

/* pg_exec - SQL on the test server; 0, or -1 with the reason on stderr */
static int
pg_exec(const char *uri, const char *sql)
{
	PGconn *c = PQconnectdb(uri);
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "    %s", PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* owner_at - the account of ADDR at WHEN in MAP, or "(none)" */
static const char *
owner_at(const struct prefixmap *map, const char *addr, time_t when)
{
	struct ipaddr a;
	const struct account *acct;

	ipaddr_parse(addr, &a);
	acct = prefixmap_lookup_at(map, &a, when);
	return acct ? acct->name : "(none)";
}

TEST(tablesource, postgresql_timestamps_of_a_prefix_move_are_read_in_utc)
{
	const char *pg = getenv("SM_TEST_PG_URI");
	struct table_source src = { pg, "SELECT account, prefix, email, valid_from, valid_until FROM moves ;\n",
	    NULL, 5 };
	struct prefixmap *map;
	char err[512] = "";
	time_t move = 1780272000;	/* 2026-06-01 00:00 UTC, 20:00 the day before in New York */
	int rc;

	if (pg == NULL || *pg == '\0')
		SKIP("no SM_TEST_PG_URI (tests/e2e/with-pg.sh sets it)");
	REQUIRE(pg_exec(pg, "DROP TABLE IF EXISTS moves; CREATE TABLE moves (prefix cidr, account text, "
	    "email text, valid_from timestamptz, valid_until timestamptz); "
	    "INSERT INTO moves VALUES ('10.1.0.0/16', 'acme', 'a@acme.example', NULL, '2026-06-01 02:00+02'), "
	    "('10.1.0.0/16', '#beta', 'b@beta.example', '2026-06-01 00:00Z', NULL)") == 0);
	/* the session's own time zone and date style are not ours: the reader must not depend on them */
	setenv("PGTZ", "America/New_York", 1);
	setenv("PGDATESTYLE", "SQL, DMY", 1);
	map = prefixmap_new();
	rc = prefixmap_load_source(map, &src, err, sizeof(err));
	unsetenv("PGTZ");
	unsetenv("PGDATESTYLE");
	CHECK(rc == 0);
	CHECK_STR(err, "");
	CHECK_STR(owner_at(map, "10.1.2.3", move - 1), "acme");
	CHECK_STR(owner_at(map, "10.1.2.3", move), "#beta");	/* a query's row is never a comment */
	prefixmap_free(map);
}
