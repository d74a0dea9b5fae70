/*
 * test_mapwatch - a CustomerMap refresh that fails or shrinks keeps the old
 * map; when a refresh is due
 */
#include "test.h"

#include "customers/mapwatch.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

static const char *FOUR =
    "prefix,account,email\n"
    "192.0.2.0/24,acme,noc@acme.example\n"
    "198.51.100.0/24,acme,noc@acme.example\n"
    "203.0.113.0/24,beta,noc@beta.example\n"
    "2001:db8::/32,gamma,noc@gamma.example\n";

/* first - the watch's first read of PATH, which must succeed */
static struct prefixmap *
first(struct mapwatch *w, time_t now)
{
	struct prefixmap *map = NULL;
	char err[512] = "";
	int tell = -1;

	CHECK(mapwatch_refresh(w, NULL, now, &map, &tell, err, sizeof(err)) == MAPWATCH_NEW);
	CHECK_STR(err, "");
	CHECK_INT(tell, 0);
	return map;
}

static char *
csv_path(const char *dir)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s/customers.csv", dir);
	return buf_steal(&b);
}

TEST(mapwatch, a_refresh_that_fails_keeps_the_old_map_and_tells_ops_once)
{
	char *dir = test_tmpdir(), *path = csv_path(dir), err[512];
	struct table_source src = { path, NULL, NULL, 5 };
	struct mapwatch *w = mapwatch_new(&src, 900, 50);
	struct mapwatch_status st;
	struct prefixmap *map, *fresh;
	int tell;

	test_write_file(path, FOUR);
	map = first(w, 1000);
	test_write_file(path, "prefix,account,email\n192.0.2.0/33,acme,noc@acme.example\n");
	CHECK(mapwatch_refresh(w, map, 2000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_REFUSED);
	CHECK(fresh == NULL);
	CHECK_INT(tell, 1);
	CHECK(strstr(err, "customers.csv:2: bad prefix") != NULL);
	CHECK(mapwatch_refresh(w, map, 3000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_REFUSED);
	CHECK_INT(tell, 0);	/* told already */
	mapwatch_status(w, &st);
	CHECK_INT(st.loaded_at, 1000);
	CHECK_INT(st.prefixes, 4);
	CHECK_INT(st.error_at, 3000);
	CHECK(strstr(st.last_error, "bad prefix") != NULL);
	test_write_file(path, FOUR);
	CHECK(mapwatch_refresh(w, map, 4000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_NEW);
	mapwatch_status(w, &st);
	CHECK_STR(st.last_error, "");
	CHECK_INT(st.loaded_at, 4000);
	prefixmap_free(fresh);
	unlink(path);
	CHECK(mapwatch_refresh(w, map, 5000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_REFUSED);
	CHECK_INT(tell, 1);	/* a new run of refusals after a good read */
	prefixmap_free(map);
	mapwatch_free(w);
	free(path);
	free(dir);
}

TEST(mapwatch, a_refresh_that_shrinks_the_map_too_much_is_refused)
{
	char *dir = test_tmpdir(), *path = csv_path(dir), err[512];
	struct table_source src = { path, NULL, NULL, 5 };
	struct mapwatch *w = mapwatch_new(&src, 900, 50);
	struct prefixmap *map, *fresh;
	int tell;

	test_write_file(path, FOUR);
	map = first(w, 1000);
	test_write_file(path, "prefix,account,email\n192.0.2.0/24,acme,noc@acme.example\n");
	CHECK(mapwatch_refresh(w, map, 2000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_REFUSED);
	CHECK(fresh == NULL);
	CHECK_INT(tell, 1);
	CHECK(strstr(err, "the new map has 1 prefixes, 75% fewer than the 4 in use (CustomerMapMaxShrink 50%)") != NULL);
	/* half of them gone is within 50% */
	test_write_file(path, "prefix,account,email\n192.0.2.0/24,acme,noc@acme.example\n"
	    "203.0.113.0/24,beta,noc@beta.example\n");
	CHECK(mapwatch_refresh(w, map, 3000, &fresh, &tell, err, sizeof(err)) == MAPWATCH_NEW);
	CHECK(fresh != NULL && prefixmap_prefix_count(fresh) == 2);
	prefixmap_free(fresh);
	prefixmap_free(map);
	mapwatch_free(w);
	free(path);
	free(dir);
}

TEST(mapwatch, a_csv_is_due_when_its_mtime_changes_an_sql_source_when_the_interval_passed)
{
	char *dir = test_tmpdir(), *path = csv_path(dir);
	struct table_source csv = { path, NULL, NULL, 5 }, sql = { "sqlite:/nonexistent.db", "SELECT 1", NULL, 5 };
	struct mapwatch *w = mapwatch_new(&csv, 900, 50), *s = mapwatch_new(&sql, 900, 50);
	struct timespec times[2] = { { 1700000000, 0 }, { 1700000000, 0 } };
	struct prefixmap *map;

	test_write_file(path, FOUR);
	utimensat(AT_FDCWD, path, times, 0);
	map = first(w, 1000);
	CHECK(!mapwatch_due(w, 999999));	/* no interval for a file */
	times[0].tv_sec = times[1].tv_sec = 1700000060;
	utimensat(AT_FDCWD, path, times, 0);
	CHECK(mapwatch_due(w, 1001));
	mapwatch_loaded(s, map, 1000);
	CHECK(!mapwatch_due(s, 1899));
	CHECK(mapwatch_due(s, 1900));
	prefixmap_free(map);
	mapwatch_free(w);
	mapwatch_free(s);
	free(path);
	free(dir);
}
