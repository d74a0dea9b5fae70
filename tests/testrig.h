/*
 * testrig - what a unit test runs the pipeline with, as the milter runs it
 *
 * A rig holds its parts together: the test config (test_config, plus the
 * settings a test names, plus the shipped catalogue when asked), a customer
 * map, and a store (the history, the outbox or both: in a fresh SQLite file
 * or in the database a URI names). test_rig_run feeds a mail through the
 * pipeline with the rig's store: the history update and the notices commit
 * in one transaction, as the milter commits them before it answers the MTA.
 */
#ifndef SM_TESTRIG_H
#define SM_TESTRIG_H

#include "pipeline/filter.h"

#include <stddef.h>
#include <time.h>

struct config;
struct prefixmap;
struct account_table;
struct store;
struct pipeline_result;
struct notice;

/* a store in a fresh SQLite file of the rig's own (its path in test_rig.db) */
#define TEST_RIG_SQLITE "(a fresh SQLite file)"

struct test_rig_spec {
	const char *map;		/* the customer map: CSV text, header line included */
	const char *const *settings;	/* config key, value, ..., NULL (NULL: none) */
	int catalogue;			/* load the shipped report catalogue */
	const char *history;		/* StateDB: a URI, TEST_RIG_SQLITE, or NULL: none kept */
	const char *outbox;		/* OutboxDB: the same choices (TEST_RIG_SQLITE: the same file) */
	int busy_timeout_ms;		/* the store's; 0: 2000 */
	const char *queue_id;		/* the MTA's queue id test_rig_run gives; NULL: none */
	const char *accounts;		/* AccountSettings: CSV text, header line included; NULL: none */
};

struct test_rig {
	struct config *cfg;
	struct prefixmap *map;
	struct account_table *accounts;	/* from spec->accounts, or NULL */
	struct store *st;		/* NULL: none asked for, or it did not open */
	char *db;			/* the SQLite file of TEST_RIG_SQLITE, else NULL */
	const char *queue_id;
	int seq;			/* a counter for the tests' Message-IDs */
};

/* test_rig_init - R as SPEC says; -1 (said on stderr) if the store did not open.
 * A setting or the catalogue that fails to load aborts: the test itself is wrong. */
int test_rig_init(struct test_rig *r, const struct test_rig_spec *spec);
void test_rig_free(struct test_rig *r);

/* test_rig_run - MSG through the pipeline at NOW with R's config, map and store
 * (history kept and notices queued); NULL with ERR when the pipeline fails */
struct pipeline_result *test_rig_run(const struct test_rig *r, const char *msg, time_t now, char *err,
    size_t errlen);

/* test_run_store - the same with CFG, MAP, the store ST (NULL: none) and the MTA's
 * QUEUE_ID (NULL: none) */
struct pipeline_result *test_run_store(const struct config *cfg, const struct prefixmap *map, struct store *st,
    const char *queue_id, const char *msg, time_t now, char *err, size_t errlen);

/* test_rig_env - what the milter's filter checks a message against: R's config, map and store */
struct filter_env test_rig_env(const struct test_rig *r);

/* test_rig_report - a signed report mail of TYPE for IDENTIFIER dated DATE (the file
 * "DATE-TYPE-IDENTIFIER.csv" holding CSV), with a Message-ID of its own from R's counter;
 * caller frees */
char *test_rig_report(struct test_rig *r, const char *date, const char *type, const char *identifier,
    const char *csv);

/* test_rig_run_hosts - a TYPE report of DATE for "as64500" naming IPS (space
 * separated) on port 111/PROTO, one second apart from DATE 08:52:10, through
 * the pipeline at WHEN ("YYYY-MM-DD HH:MM:SS"); NULL when it fails (said on stderr) */
struct pipeline_result *test_rig_run_hosts(struct test_rig *r, const char *date, const char *when,
    const char *type, const char *proto, const char *ips);

/* test_notice_of - ACCOUNT's notice in RES (made or not), or NULL */
const struct notice *test_notice_of(const struct pipeline_result *res, const char *account);

/* test_time - "YYYY-MM-DD HH:MM:SS" (UTC) as a time; aborts on anything else */
time_t test_time(const char *when);

/* test_pg_database - a new database of its own, PREFIX_PID_N owned by PG_ROLE, on the
 * test PostgreSQL server SM_TEST_PG_URI names (tests/e2e/with-pg.sh): its URI (caller
 * frees), or NULL when no server is named or it could not be made (said on stderr) */
char *test_pg_database(const char *prefix);

/* test_on_pg - BODY run with a fresh database (test_pg_database PREFIX); with no test
 * server the test is skipped, a server that cannot make one fails it */
void test_on_pg(const char *prefix, void (*body)(const char *uri));

/* test_pg_admin - SQL run as the test server's superuser (PG_SUPERUSER) in the database
 * at URI; 0 when it ran, else -1 (said on stderr) */
int test_pg_admin(const char *uri, const char *sql);

/* test_sql_table - table NAME made afresh in the database at URI ("sqlite:PATH" or a
 * PostgreSQL URI, as the map's role) with COLUMNS (as CREATE TABLE takes them) and
 * NROWS rows of NCOLS values from CELLS, row after row ("" is SQL NULL); 0, or -1
 * (said on stderr) */
int test_sql_table(const char *uri, const char *name, const char *columns, size_t ncols,
    const char *const *cells, size_t nrows);

#endif
