/*
 * testrig - what a unit test runs the pipeline with (see testrig.h).
 */
#include "testrig.h"
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "report/findings.h"
#include "pipeline/pipeline.h"
#include "customers/accounts.h"
#include "customers/prefixmap.h"
#include "customers/tablesource.h"
#include "notice/notice.h"
#include "store/store.h"
#include "base/util.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* database - what the store opens for WANT: a URI, the rig's own SQLite file, or NULL */
static const char *
database(struct test_rig *r, const char *want)
{
	if (want == NULL || strcmp(want, TEST_RIG_SQLITE) != 0)
		return want;
	if (r->db == NULL) {
		char *dir = test_tmpdir();
		struct buf path = BUF_INIT;

		buf_printf(&path, "%s/store.db", dir);
		r->db = buf_steal(&path);
		free(dir);
	}
	return r->db;
}

/* rig_accounts - AccountSettings from the CSV TEXT; NULL (said) when they do not load */
static struct account_table *
rig_accounts(const char *text)
{
	char *dir = test_tmpdir(), err[512];
	struct buf path = BUF_INIT;
	struct table_source src = { NULL, NULL, NULL, 0 };
	struct account_table *t = accounts_new();

	buf_printf(&path, "%s/settings.csv", dir);
	test_write_file(path.data, text);
	src.source = path.data;
	if (accounts_load_source(t, &src, err, sizeof(err)) != 0) {
		fprintf(stderr, "  test_rig_init: %s\n", err);
		accounts_free(t);
		t = NULL;
	}
	buf_free(&path);
	free(dir);
	return t;
}

int
test_rig_init(struct test_rig *r, const struct test_rig_spec *spec)
{
	const char *const *set;
	const char *history, *outbox;
	char err[512];

	memset(r, 0, sizeof(*r));
	r->cfg = test_config();
	for (set = spec->settings; set && set[0]; set += 2)
		if (config_set(r->cfg, set[0], set[1], err, sizeof(err)) != 0) {
			fprintf(stderr, "  test_rig_init: %s\n", err);
			abort();
		}
	if (spec->catalogue && config_load_catalogue(r->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "  test_rig_init: %s\n", err);
		abort();
	}
	r->map = test_map(spec->map);
	if (spec->accounts && (r->accounts = rig_accounts(spec->accounts)) == NULL)
		abort();
	r->queue_id = spec->queue_id;
	history = database(r, spec->history);
	outbox = database(r, spec->outbox);
	if (history == NULL && outbox == NULL)
		return 0;
	r->st = store_open(history, outbox, spec->busy_timeout_ms ? spec->busy_timeout_ms : 2000, err, sizeof(err));
	if (r->st == NULL) {
		fprintf(stderr, "  store_open: %s\n", err);
		return -1;
	}
	return 0;
}

void
test_rig_free(struct test_rig *r)
{
	store_close(r->st);
	prefixmap_free(r->map);
	accounts_free(r->accounts);
	config_free(r->cfg);
	free(r->db);
}

/* run_with - MSG through a pipeline with CFG, MAP, ACCOUNTS (may be NULL) and ST */
static struct pipeline_result *
run_with(const struct config *cfg, const struct prefixmap *map, const struct account_table *accounts,
    struct store *st, const char *queue_id, const char *msg, time_t now, char *err, size_t errlen)
{
	struct pipeline *p = pipeline_new(cfg, map);
	struct pipeline_result *res = NULL;

	pipeline_set_accounts(p, accounts);
	pipeline_set_now(p, now);
	pipeline_set_store(p, st, 1);
	if (queue_id)
		pipeline_set_queue_id(p, queue_id);
	pipeline_feed(p, msg, strlen(msg));
	if (pipeline_finish(p, &res, err, errlen) != 0)
		res = NULL;
	pipeline_free(p);
	return res;
}

struct pipeline_result *
test_run_store(const struct config *cfg, const struct prefixmap *map, struct store *st, const char *queue_id,
    const char *msg, time_t now, char *err, size_t errlen)
{
	return run_with(cfg, map, NULL, st, queue_id, msg, now, err, errlen);
}

struct pipeline_result *
test_rig_run(const struct test_rig *r, const char *msg, time_t now, char *err, size_t errlen)
{
	return run_with(r->cfg, r->map, r->accounts, r->st, r->queue_id, msg, now, err, errlen);
}

struct filter_env
test_rig_env(const struct test_rig *r)
{
	struct filter_env env = { .cfg = r->cfg, .map = r->map, .store = r->st, .accounts = r->accounts };

	return env;
}

struct pipeline_result *
test_rig_run_hosts(struct test_rig *r, const char *date, const char *when, const char *type, const char *proto,
    const char *ips)
{
	struct buf csv = BUF_INIT;
	char *copy = xstrdup(ips), *save = NULL, *ip, *msg, err[512];
	struct pipeline_result *res;
	int sec = 10;

	buf_puts(&csv, "timestamp,ip,port,protocol\n");
	for (ip = strtok_r(copy, " ", &save); ip; ip = strtok_r(NULL, " ", &save))
		buf_printf(&csv, "%s 08:52:%02d,%s,111,%s\n", date, sec++, ip, proto);
	msg = test_rig_report(r, date, type, "as64500", csv.data);
	if ((res = test_rig_run(r, msg, test_time(when), err, sizeof(err))) == NULL)
		fprintf(stderr, "  pipeline: %s\n", err);
	free(msg);
	free(copy);
	buf_free(&csv);
	return res;
}

const struct notice *
test_notice_of(const struct pipeline_result *res, const char *account)
{
	size_t i, j;

	for (i = 0; res && i < res->nreports; i++)
		for (j = 0; j < res->reports[i].nnotices; j++)
			if (strcmp(res->reports[i].notices[j].customer->name, account) == 0)
				return &res->reports[i].notices[j];
	return NULL;
}

char *
test_rig_report(struct test_rig *r, const char *date, const char *type, const char *identifier, const char *csv)
{
	struct buf name = BUF_INIT, id = BUF_INIT;
	char *msg;

	buf_printf(&name, "%s-%s-%s.csv", date, type, identifier);
	buf_printf(&id, "Message-ID: <report-%d.%s@shadowserver.example>\n", ++r->seq, date);
	{
		struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, name.data, csv, NULL, id.data };

		msg = testmail_build(&tm);
	}
	buf_free(&name);
	buf_free(&id);
	return msg;
}

time_t
test_time(const char *when)
{
	time_t t = 0;

	if (parse_detection_time(when, &t) != 0) {
		fprintf(stderr, "  test_time: not a time: %s\n", when);
		abort();
	}
	return t;
}

int
test_pg_admin(const char *uri, const char *sql)
{
	const char *keys[] = { "dbname", "user", NULL };
	const char *vals[] = { uri, getenv("PG_SUPERUSER") ? getenv("PG_SUPERUSER") : "postgres", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "  %s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return ok ? 0 : -1;
}

char *
test_pg_database(const char *prefix)
{
	static int seq;
	const char *base = getenv("SM_TEST_PG_URI"), *q, *path, *slash;
	struct buf name = BUF_INIT, sql = BUF_INIT, uri = BUF_INIT;
	int ok;

	if (base == NULL || *base == '\0')
		return NULL;
	buf_printf(&name, "%s_%ld_%d", prefix, (long)getpid(), ++seq);
	buf_printf(&sql, "CREATE DATABASE %s OWNER %s", name.data, getenv("PG_ROLE") ? getenv("PG_ROLE") : "shadowmilter");
	ok = test_pg_admin(base, sql.data) == 0;
	/* postgresql://[...]/DBNAME[?params]: the same server, the new database */
	q = strchr(base, '?');
	path = strstr(base, "://") + 3;
	slash = strchr(path, '/');
	buf_append(&uri, base, slash && (!q || slash < q) ? (size_t)(slash - base) : q ? (size_t)(q - base) :
	    strlen(base));
	buf_printf(&uri, "/%s%s", name.data, q ? q : "");
	buf_free(&name);
	buf_free(&sql);
	if (!ok)
		buf_free(&uri);
	return ok ? buf_steal(&uri) : NULL;
}

void
test_on_pg(const char *prefix, void (*body)(const char *uri))
{
	char *uri = test_pg_database(prefix);

	if (uri == NULL && getenv("SM_TEST_PG_URI") != NULL)
		CHECK(!"the test PostgreSQL cannot create a database");
	else if (uri == NULL)
		SKIP("no SM_TEST_PG_URI: the PostgreSQL half did not run");
	else
		body(uri);
	free(uri);
}

/* table_sql - "DROP TABLE IF EXISTS NAME", the CREATE and the INSERT with NCOLS
 * parameters (?, ? for SQLite, $1, $2 for PostgreSQL) */
static void
table_sql(struct buf *drop, struct buf *create, struct buf *insert, const char *name, const char *columns,
    size_t ncols, int pg)
{
	size_t k;

	buf_printf(drop, "DROP TABLE IF EXISTS %s", name);
	buf_printf(create, "CREATE TABLE %s (%s)", name, columns);
	buf_printf(insert, "INSERT INTO %s VALUES (", name);
	for (k = 0; k < ncols; k++)
		pg ? buf_printf(insert, "%s$%zu", k ? ", " : "", k + 1) : buf_printf(insert, "%s?", k ? ", " : "");
	buf_putc(insert, ')');
}

static int
sqlite_table(const char *path, const char *const *sql, size_t ncols, const char *const *cells, size_t nrows)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t i, k;
	int ok = sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sql[0], NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, sql[1], NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql[2], -1, &st, NULL) == SQLITE_OK;

	for (i = 0; ok && i < nrows; i++) {
		for (k = 0; k < ncols; k++) {
			const char *v = cells[i * ncols + k];

			*v ? sqlite3_bind_text(st, (int)k + 1, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, (int)k + 1);
		}
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	if (!ok)
		fprintf(stderr, "    %s: %s\n", path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok ? 0 : -1;
}

static int
pg_table(const char *uri, const char *const *sql, size_t ncols, const char *const *cells, size_t nrows)
{
	PGconn *c = PQconnectdb(uri);
	PGresult *res;
	const char *vals[32];
	size_t i, k;
	int ok = PQstatus(c) == CONNECTION_OK && ncols <= 32;

	if (ok) {
		PQclear(PQexec(c, sql[0]));
		res = PQexec(c, sql[1]);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
	}
	for (i = 0; ok && i < nrows; i++) {
		for (k = 0; k < ncols; k++)
			vals[k] = *cells[i * ncols + k] ? cells[i * ncols + k] : NULL;
		res = PQexecParams(c, sql[2], (int)ncols, NULL, vals, NULL, NULL, 0);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
	}
	if (!ok)
		fprintf(stderr, "    %s", PQerrorMessage(c));
	PQfinish(c);
	return ok ? 0 : -1;
}

int
test_sql_table(const char *uri, const char *name, const char *columns, size_t ncols, const char *const *cells,
    size_t nrows)
{
	struct buf drop = BUF_INIT, create = BUF_INIT, insert = BUF_INIT;
	int pg = strncmp(uri, "sqlite:", 7) != 0, rc;

	table_sql(&drop, &create, &insert, name, columns, ncols, pg);
	{
		const char *const sql[] = { drop.data, create.data, insert.data };

		rc = pg ? pg_table(uri, sql, ncols, cells, nrows) : sqlite_table(uri + 7, sql, ncols, cells, nrows);
	}
	buf_free(&drop);
	buf_free(&create);
	buf_free(&insert);
	return rc;
}
