/*
 * test_catalogueupdate - ShadowServer's published schema read (IntelMQ's
 * schema, reports.json, a table of types) and the UpdatedCatalogue written
 * from it: only new types, a site's re-rating never undone, and loaded
 * under the shipped catalogue and the site's Catalogue, never over them.
 * The reference table of ShadowServer's types (../shared/reference/
 * shadowserver/schema/report_types.csv) is read in place, else SKIP.
 */
#include "test.h"

#include "config/config.h"
#include "report/catalogue.h"
#include "report/catalogueupdate.h"
#include "report/schema.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* IntelMQ's shape (interchange.shadowserver.org/intelmq/v1/schema), cut down */
static const char *INTELMQ =
    "{\n"
    "  \"_meta\": {\"change_log\": [\"Added scan_newproto.\"], \"date_created\": \"2026-11-30T00:00:00Z\"},\n"
    "  \"scan_newproto\": {\"constant_fields\": {\"classification.taxonomy\": \"vulnerable\"},\n"
    "    \"feed_name\": \"Accessible-New-Proto\", \"file_name\": \"scan_newproto\",\n"
    "    \"url\": \"https://www.shadowserver.org/what-we-do/network-reporting/accessible-new-proto-report/\"},\n"
    "  \"event4_honeypot_newbot\": {\"constant_fields\": {\"classification.taxonomy\": \"intrusions\"},\n"
    "    \"feed_name\": \"Honeypot-Newbot-Events\", \"severity\": \"Critical\",\n"
    "    \"url\": \"https://www.shadowserver.org/what-we-do/network-reporting/honeypot-newbot/\"},\n"
    "  \"scan_ntp\": {\"feed_name\": \"Open-NTP\", \"severity\": \"info\"}\n"
    "}\n";

static struct schema
parsed(const char *text)
{
	struct schema s;
	char err[256] = "";

	if (schema_parse(text, strlen(text), &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "    schema_parse: %s\n", err);
		memset(&s, 0, sizeof(s));
	}
	return s;
}

static const struct schema_type *
type_of(const struct schema *s, const char *type)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].type, type) == 0)
			return &s->v[i];
	return NULL;
}

TEST(schema, the_intelmq_schema_gives_each_type_its_title_page_and_severity_or_medium)
{
	struct schema s = parsed(INTELMQ);
	const struct schema_type *t;

	CHECK_INT(s.n, 3);		/* "_meta" is about the schema, not a type */
	REQUIRE((t = type_of(&s, "scan_newproto")) != NULL);
	CHECK_STR(t->title, "Accessible New Proto");
	CHECK_STR(t->severity, "medium");
	CHECK_STR(t->info_url, "https://www.shadowserver.org/what-we-do/network-reporting/accessible-new-proto-report/");
	CHECK_INT(t->event, 0);
	REQUIRE((t = type_of(&s, "event4_honeypot_newbot")) != NULL);
	CHECK_STR(t->severity, "critical");
	CHECK_INT(t->event, 1);
	schema_free(&s);
}

TEST(schema, reports_json_names_and_taxonomy_are_read)
{
	struct schema s = parsed("{\"device_id9\": {\"classification.taxonomy\": \"other\", \"fields\": [\"ip\"],"
	    " \"name\": \"Device-Identification IPv9\", \"url\": \"https://www.shadowserver.org/d/\"},"
	    " \"sinkhole9_http\": {\"classification.taxonomy\": \"malicious-code\", \"name\": \"Sinkhole-HTTP\"}}");
	const struct schema_type *t;

	CHECK_INT(s.n, 2);
	REQUIRE((t = type_of(&s, "device_id9")) != NULL);
	CHECK_STR(t->title, "Device Identification IPv9");
	CHECK_INT(t->event, 0);
	REQUIRE((t = type_of(&s, "sinkhole9_http")) != NULL);
	CHECK_INT(t->event, 1);
	CHECK_STR(t->info_url, "");
	schema_free(&s);
}

TEST(schema, hostile_entries_are_skipped_or_cleaned_never_taken_as_they_are)
{
	struct schema s = parsed("{\"../../etc\": {\"feed_name\": \"x\"}, \"Scan_Caps\": {}, \"scan_list\": [1],"
	    " \"scan_ok\": {\"feed_name\": \"Line\\nBreak\\u0007\", \"url\": \"javascript:alert(1)\","
	    " \"severity\": \"urgent\"}}");
	const struct schema_type *t;

	CHECK_INT(s.n, 1);
	CHECK_INT(s.skipped, 3);
	REQUIRE((t = type_of(&s, "scan_ok")) != NULL);
	CHECK(strchr(t->title, '\n') == NULL);
	CHECK_STR(t->info_url, "");		/* only http(s) pages */
	CHECK_STR(t->severity, "medium");	/* not a severity: the default */
	schema_free(&s);
}

TEST(schema, what_is_not_a_schema_is_an_error_that_says_why)
{
	struct schema s;
	char err[256];

	CHECK(schema_parse("{\"a\": ", 6, &s, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not valid JSON") != NULL);
	CHECK(schema_parse("[1, 2]", 6, &s, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not an object") != NULL);
	CHECK(schema_parse("ip,port\n1.2.3.4,5\n", 18, &s, err, sizeof(err)) == -1);
	CHECK(strstr(err, "report_type") != NULL);
	CHECK(schema_parse(" \n", 2, &s, err, sizeof(err)) == -1);
	CHECK(schema_parse("{\"a\": 1, \"a\": 2}", 16, &s, err, sizeof(err)) == -1);	/* a type twice */
}

TEST(schema, a_table_of_types_gives_their_default_severity)
{
	struct schema s = parsed("report_type,title,default_severity,info_url\n"
	    "scan_newproto,Accessible New Proto,high,https://www.shadowserver.org/n/\n"
	    "# a comment,,,\n");
	const struct schema_type *t;

	CHECK_INT(s.n, 1);
	REQUIRE((t = type_of(&s, "scan_newproto")) != NULL);
	CHECK_STR(t->title, "Accessible New Proto");
	CHECK_STR(t->severity, "high");
	schema_free(&s);
}

/* --- the UpdatedCatalogue ---------------------------------------------------- */

/* shipped - the catalogue in use: the shipped one */
static struct catalogue *
shipped(void)
{
	struct config *cfg = config_new();
	struct catalogue *c = NULL;
	char err[512];

	free(cfg->updated_catalogue_path);
	cfg->updated_catalogue_path = xstrdup("");
	if (config_load_catalogue(cfg, err, sizeof(err)) == 0) {
		c = cfg->catalogue;
		cfg->catalogue = NULL;
	} else
		fprintf(stderr, "    %s\n", err);
	config_free(cfg);
	return c;
}

static char *
updated_path(void)
{
	char *dir = test_tmpdir(), *path = xmalloc(strlen(dir) + 64);

	sprintf(path, "%s/state/catalogue-updates.csv", dir);
	free(dir);
	return path;
}

/* update - PATH from TEXT against KNOWN; the stats (0 added on failure) */
static struct catalogue_update_stats
update(const struct catalogue *known, const char *path, const char *text)
{
	struct schema s = parsed(text);
	struct catalogue_update_stats st;
	char err[512] = "";

	if (catalogue_update(known, path, &s, "test", 1796600000, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "    catalogue_update: %s\n", err);
		memset(&st, 0, sizeof(st));
	}
	schema_free(&s);
	return st;
}

TEST(catalogueupdate, only_types_the_site_does_not_know_are_written)
{
	struct catalogue *known = shipped(), *c = catalogue_new();
	char *path = updated_path(), err[512];
	struct catalogue_update_stats st;
	const struct catalogue_entry *e;
	struct stat sb;

	REQUIRE(known != NULL);
	st = update(known, path, INTELMQ);
	CHECK_INT(st.added, 2);
	CHECK_INT(st.known, 1);		/* scan_ntp: the shipped row stays the only one */
	REQUIRE(catalogue_load(c, path, err, sizeof(err)) == 0);
	CHECK_INT(catalogue_count(c), 2);
	CHECK(catalogue_lookup(c, "scan_ntp") == NULL);
	REQUIRE((e = catalogue_lookup(c, "event4_honeypot_newbot")) != NULL);
	CHECK_STR(e->severity, "critical");
	CHECK_STR(e->title, "Honeypot Newbot Events");
	CHECK(e->kind == CATALOGUE_EVENT);
	REQUIRE(stat(path, &sb) == 0);
	CHECK_INT(sb.st_mode & 0777, 0640);
	catalogue_update_stats_free(&st);
	catalogue_free(c);
	catalogue_free(known);
	free(path);
}

TEST(catalogueupdate, a_type_the_site_re_rated_keeps_its_rating_whatever_the_schema_says)
{
	struct catalogue *known = shipped(), *c = catalogue_new();
	char *path = updated_path(), *text, *p, err[512];
	struct catalogue_update_stats st;
	size_t len;

	REQUIRE(known != NULL);
	st = update(known, path, INTELMQ);
	catalogue_update_stats_free(&st);
	REQUIRE((text = test_read_file(path, &len)) != NULL);	/* the site re-rates scan_newproto: info */
	REQUIRE((p = strstr(text, "Accessible New Proto,medium")) != NULL);
	memcpy(p + strlen("Accessible New Proto,"), "info  ", 6);
	memmove(p + strlen("Accessible New Proto,info"), p + strlen("Accessible New Proto,medium"),
	    strlen(p + strlen("Accessible New Proto,medium")) + 1);
	test_write_file(path, text);
	free(text);
	st = update(known, path, INTELMQ);	/* the schema still says nothing, so medium */
	CHECK_INT(st.added, 0);
	CHECK_INT(st.kept, 2);
	REQUIRE(catalogue_load(c, path, err, sizeof(err)) == 0);
	CHECK_STR(catalogue_lookup(c, "scan_newproto")->severity, "info");
	catalogue_update_stats_free(&st);
	catalogue_free(c);
	catalogue_free(known);
	free(path);
}

TEST(catalogueupdate, a_row_the_site_translated_keeps_its_words_and_new_rows_read_english)
{
	struct catalogue *known = shipped(), *c = catalogue_new();
	char *path = updated_path(), *text, *again, err[512];
	struct catalogue_update_stats st;
	const struct catalogue_entry *e;

	REQUIRE(known != NULL);
	st = update(known, path, INTELMQ);
	catalogue_update_stats_free(&st);
	/* the site gives scan_newproto a German title and service */
	test_write_file(path, "type,title,severity,kind,service,port,protocol,info_url,evidence_columns,template,"
	    "alias_of,title.de,service.de\n"
	    "scan_newproto,Accessible New Proto,medium,exposed,,,,,,,,\"Erreichbares New Proto, neu\",neues Protokoll\n");
	st = update(known, path, INTELMQ);
	CHECK_INT(st.kept, 1);
	CHECK_INT(st.added, 1);
	catalogue_update_stats_free(&st);
	REQUIRE((text = test_read_file(path, NULL)) != NULL);
	CHECK(strncmp(text, "type,title,severity,kind,service,port,protocol,info_url,evidence_columns,template,alias_of,"
	    "title.de,service.de\n", 105) == 0);
	REQUIRE(catalogue_load(c, path, err, sizeof(err)) == 0);
	REQUIRE((e = catalogue_lookup(c, "scan_newproto")) != NULL);
	CHECK_STR(catalogue_title(e, "de"), "Erreichbares New Proto, neu");
	CHECK_STR(catalogue_service(e, "de"), "neues Protokoll");
	REQUIRE((e = catalogue_lookup(c, "event4_honeypot_newbot")) != NULL);
	CHECK_STR(catalogue_title(e, "de"), "Honeypot Newbot Events");
	st = update(known, path, INTELMQ);	/* nothing new: the same file again */
	catalogue_update_stats_free(&st);
	REQUIRE((again = test_read_file(path, NULL)) != NULL);
	CHECK_STR(again, text);
	free(again);
	free(text);
	catalogue_free(c);
	catalogue_free(known);
	free(path);
}

TEST(catalogueupdate, a_broken_file_is_not_overwritten)
{
	struct catalogue *known = shipped();
	char *path = updated_path(), *text, err[512];
	struct schema s = parsed(INTELMQ);
	struct catalogue_update_stats st;
	size_t len;

	REQUIRE(known != NULL);
	st = update(known, path, "{}");
	catalogue_update_stats_free(&st);
	test_write_file(path, "type,title,severity\nscan_x,,nonsense\n");
	CHECK(catalogue_update(known, path, &s, "test", 1796600000, &st, err, sizeof(err)) == -1);
	CHECK(strstr(err, path) != NULL);
	REQUIRE((text = test_read_file(path, &len)) != NULL);
	CHECK(strstr(text, "nonsense") != NULL);
	free(text);
	schema_free(&s);
	catalogue_free(known);
	free(path);
}

TEST(catalogueupdate, its_age_is_read_from_its_comment_row)
{
	struct catalogue *known = shipped();
	char *path = updated_path(), err[256];
	struct catalogue_update_stats st;
	time_t when = 0;
	size_t n = 0;

	REQUIRE(known != NULL);
	CHECK_INT(catalogue_update_info(path, &when, &n, err, sizeof(err)), 0);	/* not written yet */
	st = update(known, path, INTELMQ);
	catalogue_update_stats_free(&st);
	CHECK_INT(catalogue_update_info(path, &when, &n, err, sizeof(err)), 1);
	CHECK_INT(when, 1796600000);
	CHECK_INT(n, 2);
	catalogue_free(known);
	free(path);
}

TEST(catalogueupdate, its_types_come_under_the_shipped_rows_and_the_sites_catalogue)
{
	char *dir = test_tmpdir(), path[512], site[512], err[512];
	struct config *cfg = config_new();
	const struct catalogue_entry *e;

	snprintf(path, sizeof(path), "%s/catalogue-updates.csv", dir);
	snprintf(site, sizeof(site), "%s/site.csv", dir);
	test_write_file(path, "type,title,severity\nscan_ntp,Stale NTP title,info\nscan_newproto,New,high\n"
	    "scan_other,Other,low\n");
	test_write_file(site, "type,title,severity\nscan_other,The site's own,critical\n");
	free(cfg->updated_catalogue_path);
	cfg->updated_catalogue_path = xstrdup(path);
	free(cfg->catalogue_path);
	cfg->catalogue_path = xstrdup(site);
	REQUIRE(config_load_catalogue(cfg, err, sizeof(err)) == 0);
	REQUIRE((e = catalogue_lookup(cfg->catalogue, "scan_ntp")) != NULL);
	CHECK(strcmp(e->title, "Stale NTP title") != 0);	/* the shipped row */
	REQUIRE((e = catalogue_lookup(cfg->catalogue, "scan_newproto")) != NULL);
	CHECK_STR(e->severity, "high");
	REQUIRE((e = catalogue_lookup(cfg->catalogue, "scan_other")) != NULL);
	CHECK_STR(e->severity, "critical");			/* the site's Catalogue */
	config_free(cfg);
	free(dir);
}

TEST(catalogueupdate, shadowservers_table_of_types_adds_what_a_smaller_catalogue_lacks_at_its_severity)
{
	const char *ref = test_shared_dir();
	char path[1024], small[512], err[512], *text, *dir, *upd;
	struct catalogue *known, *c;
	struct catalogue_update_stats st;
	const struct catalogue_entry *e;
	size_t len;

	if (ref == NULL)
		SKIP("../shared/reference/shadowserver not present");
	snprintf(path, sizeof(path), "%s/schema/report_types.csv", ref);
	if ((text = test_read_file(path, &len)) == NULL)
		SKIP("../shared/reference/shadowserver/schema/report_types.csv not present");
	dir = test_tmpdir();
	upd = updated_path();
	known = catalogue_new();
	c = catalogue_new();
	snprintf(small, sizeof(small), "%s/known.csv", dir);
	test_write_file(small, "type,title,severity\nscan_ntp,Open NTP,medium\n");	/* a site that knows one type */
	if (catalogue_load(known, small, err, sizeof(err)) == 0) {
		st = update(known, upd, text);
		CHECK(st.added >= 150);		/* 168 types in the table (2025) */
		CHECK_INT(st.known, 1);
		CHECK(catalogue_load(c, upd, err, sizeof(err)) == 0);
		CHECK_INT(catalogue_count(c), st.added);
		e = catalogue_lookup(c, "compromised_account");
		CHECK(e != NULL);
		if (e) {
			CHECK_STR(e->severity, "critical");	/* the table's default_severity */
			CHECK_STR(e->title, "Compromised Account");
			CHECK(strncmp(e->info_url, "https://www.shadowserver.org/", 29) == 0);
		}
		CHECK(catalogue_lookup(c, "scan_ntp") == NULL);
		catalogue_update_stats_free(&st);
	} else
		CHECK(!"the small catalogue loads");
	catalogue_free(c);
	catalogue_free(known);
	free(text);
	free(upd);
	free(dir);
}
