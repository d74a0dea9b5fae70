/*
 * test_reporttypes - every report type as ShadowServer's schema describes it
 * gives the right host, port and protocol; listed networks reach every
 * customer inside them; event connections stay apart.
 *
 * The schema cases are generated from ../shared/reference/shadowserver/
 * schema/reports.json, read in place (never copied into the project): for
 * each type, a CSV with exactly the schema's header goes through the
 * pipeline, and the test checks which column the host, port and protocol
 * were taken from. Without the reference folder that test says so loudly.
 */
#include "test.h"
#include "testmail.h"
#include "testrig.h"

#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "pipeline/json.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* --- a small reader for reports.json: { "type": { "fields": [...] } } ---- */

struct schema_type {
	char *name;
	char **fields;
	size_t nfields;
};

struct json_in {
	const char *p;
	int bad;
};

static void
ws(struct json_in *j)
{
	while (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')
		j->p++;
}

/* jstring - a JSON string (the schema has no escapes beyond \" and \\) */
static char *
jstring(struct json_in *j)
{
	struct buf b = BUF_INIT;

	ws(j);
	if (*j->p != '"') {
		j->bad = 1;
		return xstrdup("");
	}
	for (j->p++; *j->p && *j->p != '"'; j->p++) {
		if (*j->p == '\\' && j->p[1])
			j->p++;
		buf_putc(&b, *j->p);
	}
	if (*j->p == '"')
		j->p++;
	else
		j->bad = 1;
	return buf_steal(&b);
}

static void jskip(struct json_in *j);

static void
jskip_container(struct json_in *j, char close)
{
	j->p++;
	for (;;) {
		ws(j);
		if (*j->p == close) {
			j->p++;
			return;
		}
		if (*j->p == '\0' || j->bad) {
			j->bad = 1;
			return;
		}
		if (close == '}') {
			free(jstring(j));
			ws(j);
			if (*j->p++ != ':')
				j->bad = 1;
		}
		jskip(j);
		ws(j);
		if (*j->p == ',')
			j->p++;
	}
}

static void
jskip(struct json_in *j)
{
	ws(j);
	if (*j->p == '"')
		free(jstring(j));
	else if (*j->p == '{')
		jskip_container(j, '}');
	else if (*j->p == '[')
		jskip_container(j, ']');
	else if (*j->p)
		j->p += strcspn(j->p, ",}] \n\r\t");
	else
		j->bad = 1;
}

static void
jfields(struct json_in *j, struct schema_type *t)
{
	ws(j);
	if (*j->p != '[') {
		j->bad = 1;
		return;
	}
	j->p++;
	for (;;) {
		ws(j);
		if (*j->p == ']') {
			j->p++;
			return;
		}
		t->fields = xreallocarray(t->fields, t->nfields + 1, sizeof(char *));
		t->fields[t->nfields++] = jstring(j);
		ws(j);
		if (*j->p == ',')
			j->p++;
		else if (*j->p != ']' || j->bad) {
			j->bad = 1;
			return;
		}
	}
}

static void
jtype(struct json_in *j, struct schema_type *t)
{
	ws(j);
	if (*j->p != '{') {
		j->bad = 1;
		return;
	}
	j->p++;
	while (!j->bad) {
		char *key;

		ws(j);
		if (*j->p == '}') {
			j->p++;
			return;
		}
		key = jstring(j);
		ws(j);
		if (*j->p++ != ':')
			j->bad = 1;
		if (strcmp(key, "fields") == 0)
			jfields(j, t);
		else
			jskip(j);
		free(key);
		ws(j);
		if (*j->p == ',')
			j->p++;
	}
}

/* schema_load - the types of reports.json; NULL when the file is missing */
static struct schema_type *
schema_load(const char *path, size_t *n)
{
	char *text = test_read_file(path, NULL);
	struct json_in j;
	struct schema_type *v = NULL;

	*n = 0;
	if (text == NULL)
		return NULL;
	j.p = text;
	j.bad = 0;
	ws(&j);
	if (*j.p++ != '{')
		j.bad = 1;
	while (!j.bad) {
		ws(&j);
		if (*j.p == '}')
			break;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		memset(&v[*n], 0, sizeof(*v));
		v[*n].name = jstring(&j);
		ws(&j);
		if (*j.p++ != ':')
			j.bad = 1;
		jtype(&j, &v[(*n)++]);
		ws(&j);
		if (*j.p == ',')
			j.p++;
	}
	CHECK(!j.bad);
	free(text);
	return v;
}

static void
schema_free(struct schema_type *v, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < v[i].nfields; k++)
			free(v[i].fields[k]);
		free(v[i].fields);
		free(v[i].name);
	}
	free(v);
}

/* --- the expectations, written from the schema's documentation ---------- */

static int
has_field(const struct schema_type *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i], name) == 0)
			return 1;
	return 0;
}

/* Each candidate host column gets an address owned by an account of its
 * own, and each port column a port of its own, so the finding shows which
 * column was taken. */
static const struct {
	const char *column, *address, *account, *port_column, *port, *port2;
} hosts[] = {
	{ "ip", "192.0.2.1", "via-ip", "port", "1001", "2001" },
	{ "src_ip", "192.0.2.2", "via-src-ip", "src_port", "1002", "2002" },
	{ "http_referer_ip", "192.0.2.3", "via-referer", "http_referer_port", "1003", "2003" },
	{ "dst_ip", "192.0.2.4", "via-dst-ip", "dst_port", "1004", "2004" },
};

#define NHOSTS (sizeof(hosts) / sizeof(hosts[0]))

static const char *TYPES_MAP =
    "prefix,account,email\n"
    "192.0.2.1/32,via-ip,a@example.net\n"
    "192.0.2.2/32,via-src-ip,b@example.net\n"
    "192.0.2.3/32,via-referer,c@example.net\n"
    "192.0.2.4/32,via-dst-ip,d@example.net\n"
    "192.0.2.0/24,via-other-column,e@example.net\n";

/* expected_host - the column the schema's documentation says names our
 * host: the DDoS target reports name it dst_ip; otherwise ip (scan and most
 * others), src_ip (events), http_referer_ip (referer events); -1: none */
static int
expected_host(const struct schema_type *t)
{
	size_t n = strlen(t->name), i;

	if (n > 12 && strcmp(t->name + n - 12, "_ddos_target") == 0)
		return 3;
	for (i = 0; i < 3; i++)
		if (has_field(t, hosts[i].column))
			return (int)i;
	return -1;
}

/* expected_port - the port of the host's row: the host's own port column,
 * else (an "ip" in an older sinkhole layout) src_port; NULL: none */
static const char *
expected_port(const struct schema_type *t, int host, int second)
{
	if (has_field(t, hosts[host].port_column))
		return second ? hosts[host].port2 : hosts[host].port;
	if (host == 0 && has_field(t, "src_port"))
		return second ? hosts[1].port2 : hosts[1].port;
	return NULL;
}

/* field_value - what a generated row holds in FIELD; row 2 has other ports,
 * no protocol and a later time */
static const char *
field_value(const char *field, int second)
{
	size_t i;

	for (i = 0; i < NHOSTS; i++) {
		if (strcmp(field, hosts[i].column) == 0)
			return hosts[i].address;
		if (strcmp(field, hosts[i].port_column) == 0)
			return second ? hosts[i].port2 : hosts[i].port;
	}
	if (strcmp(field, "timestamp") == 0)
		return second ? "2026-11-24 09:15:10" : "2026-11-24 09:14:02";
	if (strcmp(field, "protocol") == 0)
		return second ? "" : "icmp";	/* no catalogue row says icmp */
	if (strlen(field) > 3 && strcmp(field + strlen(field) - 3, "_ip") == 0)
		return "192.0.2.99";	/* attack_src_ip, external_ip, ...: never the host */
	return "x";
}

static char *
schema_csv(const struct schema_type *t)
{
	struct buf b = BUF_INIT;
	size_t i;
	int row;

	for (i = 0; i < t->nfields; i++)
		buf_printf(&b, "%s%s", i ? "," : "", t->fields[i]);
	buf_puts(&b, "\n");
	for (row = 0; row < 2; row++) {
		for (i = 0; i < t->nfields; i++)
			buf_printf(&b, "%s%s", i ? "," : "", field_value(t->fields[i], row));
		buf_puts(&b, "\n");
	}
	return buf_steal(&b);
}

/* types_rig - the test config with the shipped catalogue, and MAP */
static struct test_rig
types_rig(const char *map)
{
	struct test_rig_spec spec = { .map = map, .catalogue = 1 };
	struct test_rig r;

	test_rig_init(&r, &spec);
	return r;
}

static struct pipeline_result *
run_csv(const struct config *cfg, const struct prefixmap *map, const char *type, const char *csv)
{
	char name[160], *msg;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, name, csv, NULL, NULL };
	struct pipeline_result *r;

	snprintf(name, sizeof(name), "2026-11-24-%s-as64500.csv", type);
	msg = testmail_build(&tm);
	r = test_run(cfg, map, msg, strlen(msg), 0);
	free(msg);
	return r;
}

/* transport - the catalogue's transport for TYPE, lowercase; "" when none */
static void
transport(const struct config *cfg, const char *type, char *out, size_t outlen)
{
	const struct catalogue_entry *e = catalogue_lookup(cfg->catalogue, type);
	size_t i;

	for (i = 0; e && e->protocol[i] && i + 1 < outlen; i++)
		out[i] = (char)(e->protocol[i] >= 'A' && e->protocol[i] <= 'Z' ? e->protocol[i] + 32 : e->protocol[i]);
	out[i] = '\0';
	if (strchr(out, '/'))
		out[0] = '\0';
}

/* check_type - T's generated CSV through the pipeline; 0 when all agrees */
static int
check_type(const struct config *cfg, const struct prefixmap *map, const struct schema_type *t)
{
	char *csv = schema_csv(t), proto[16];
	struct pipeline_result *r = run_csv(cfg, map, t->name, csv);
	const struct report_file *rf;
	const struct notice_group *g;
	int host = expected_host(t), fails = 0, k;

	free(csv);
	if (r == NULL || r->nreports != 1) {
		fprintf(stderr, "  %s: no report read\n", t->name);
		pipeline_result_free(r);
		return 1;
	}
	rf = r->reports[0].rf;
	if (rf->error) {
		fprintf(stderr, "  %s: error: %s\n", t->name, rf->error);
		pipeline_result_free(r);
		return 1;
	}
	if (host < 0) {	/* a known type about nobody: no findings, a note */
		if (rf->ngroups != 0 || rf->nunmatched != 0 || rf->note == NULL || rf->rows != 2) {
			fprintf(stderr, "  %s: no host column, yet %zu groups, %zu unmatched, note %s\n", t->name,
			    rf->ngroups, rf->nunmatched, rf->note ? rf->note : "(none)");
			fails++;
		}
		pipeline_result_free(r);
		return fails;
	}
	transport(cfg, t->name, proto, sizeof(proto));
	if (rf->ngroups != 1 || strcmp(rf->groups[0].account->name, hosts[host].account) != 0 ||
	    rf->nunmatched != 0) {
		fprintf(stderr, "  %s: want the host from %s (account %s), got %zu groups (first %s), %zu unmatched\n",
		    t->name, hosts[host].column, hosts[host].account, rf->ngroups,
		    rf->ngroups ? rf->groups[0].account->name : "-", rf->nunmatched);
		pipeline_result_free(r);
		return 1;
	}
	g = &rf->groups[0];
	for (k = 0; k < 2; k++) {
		const char *want_port = expected_port(t, host, k);
		const char *want_proto = has_field(t, "protocol") && k == 0 ? "icmp" : proto;
		int port = want_port ? atoi(want_port) : -1, found = 0;
		time_t when;
		size_t i;

		if (parse_detection_time(field_value("timestamp", k), &when) != 0)
			abort();
		if (k == 1 && want_port == NULL && strcmp(want_proto, has_field(t, "protocol") ? "icmp" : proto) == 0) {
			/* no port, same protocol: the second row is the same finding */
			if (g->nfindings != 1) {
				fprintf(stderr, "  %s: two rows of one host without port: %zu findings\n", t->name,
				    g->nfindings);
				fails++;
			}
			continue;
		}
		for (i = 0; i < g->nfindings; i++)
			found |= g->findings[i]->port == port && strcmp(g->findings[i]->protocol, want_proto) == 0 &&
			    g->findings[i]->detected == when;
		if (!found) {
			fprintf(stderr, "  %s: row %d: no finding with port %d, protocol \"%s\" (host from %s)\n",
			    t->name, k + 1, port, want_proto, hosts[host].column);
			for (i = 0; i < g->nfindings; i++)
				fprintf(stderr, "    have port %d protocol \"%s\" at %lld\n", g->findings[i]->port,
				    g->findings[i]->protocol, (long long)g->findings[i]->detected);
			fails++;
		}
	}
	pipeline_result_free(r);
	return fails;
}

TEST(reporttypes, every_schema_type_takes_host_port_and_protocol_from_the_right_columns)
{
	const char *dir = test_shared_dir();
	char path[4096];
	struct schema_type *types;
	struct config *cfg;
	struct prefixmap *map;
	size_t n, i, by_host[NHOSTS] = { 0 }, nohost = 0, failed = 0;

	if (dir == NULL)
		SKIP("../shared/reference/shadowserver/schema/reports.json not present: "
		    "no schema conformance checked");
	snprintf(path, sizeof(path), "%s/schema/reports.json", dir);
	types = schema_load(path, &n);
	REQUIRE(types != NULL);
	CHECK(n >= 160);	/* ShadowServer has well over a hundred and sixty types */
	cfg = test_catalogue_config();
	map = test_map(TYPES_MAP);
	for (i = 0; i < n; i++) {
		int host = expected_host(&types[i]);

		if (catalogue_lookup(cfg->catalogue, types[i].name) == NULL) {
			fprintf(stderr, "  %s: not in templates/catalogue.csv\n", types[i].name);
			failed++;
			continue;
		}
		if (host < 0)
			nohost++;
		else
			by_host[host]++;
		failed += check_type(cfg, map, &types[i]) != 0;
	}
	printf("  schema: %zu types, %zu agree; host from ip %zu, src_ip %zu, http_referer_ip %zu, "
	    "dst_ip %zu, no host column %zu\n", n, n - failed, by_host[0], by_host[1], by_host[2], by_host[3],
	    nohost);
	CHECK_INT(failed, 0);
	CHECK(by_host[1] > 0 && by_host[2] > 0 && by_host[3] > 0 && nohost > 0);
	prefixmap_free(map);
	config_free(cfg);
	schema_free(types, n);
}

/* --- the type's own rules ------------------------------------------------ */

static const char *NO_HOST_CSV =
    "timestamp,md5,request,request_type,response,family,tag,source,severity,sha1,sha256\n"
    "2026-11-24 09:14:02,d41d8cd98f00b204e9800998ecf8427e,evil.example,A,192.0.2.1,andromeda,x,y,high,,\n";

TEST(reporttypes, a_known_type_without_a_host_column_names_nobody_and_says_why)
{
	struct test_rig rig = types_rig(TYPES_MAP);
	struct pipeline_result *r = run_csv(rig.cfg, rig.map, "sandbox_dns", NO_HOST_CSV);
	const struct report_file *rf;
	struct buf json = BUF_INIT;

	REQUIRE(r != NULL && r->nreports == 1);
	rf = r->reports[0].rf;
	CHECK(rf->error == NULL);
	CHECK_INT(rf->rows, 1);
	CHECK_INT(rf->skipped_rows, 0);
	CHECK_INT(rf->ngroups + rf->nunmatched, 0);
	CHECK_INT(r->reports[0].nmade, 0);
	REQUIRE(rf->note != NULL);
	CHECK(strstr(rf->note, "sandbox_dns reports name no host") != NULL);
	json_result(&json, "test", r, NULL);
	CHECK(strstr(json.data, "\"error\":null") != NULL);
	CHECK(strstr(json.data, "\"note\":\"sandbox_dns reports name no host") != NULL);
	buf_free(&json);
	pipeline_result_free(r);
	test_rig_free(&rig);
}

TEST(reporttypes, an_unknown_type_without_a_host_column_is_an_error)
{
	struct test_rig rig = types_rig(TYPES_MAP);
	struct pipeline_result *r = run_csv(rig.cfg, rig.map, "sandbox_wibble", NO_HOST_CSV);

	REQUIRE(r != NULL && r->nreports == 1);
	REQUIRE(r->reports[0].rf->error != NULL);
	CHECK(strstr(r->reports[0].rf->error, "no host column") != NULL);
	CHECK(r->reports[0].rf->note == NULL);
	pipeline_result_free(r);
	test_rig_free(&rig);
}

/* --- event reports: one finding per connection --------------------------- */

static const char *EVENT_MAP =
    "prefix,account,email\n"
    "192.0.2.0/24,acme,ops@acme.example\n";

/* three connections of one host, the first row read being the latest; the
 * earliest connection from port 49431 is listed twice with other evidence */
static const char *EVENT_CSV =
    "timestamp,protocol,src_ip,src_port,dst_ip,dst_port,infection,family\n"
    "2026-11-24 09:15:40,tcp,192.0.2.5,49431,198.51.100.7,80,late-row,gamarue\n"
    "2026-11-24 09:14:02,tcp,192.0.2.5,49460,198.51.100.8,443,other,gamarue\n"
    "2026-11-24 09:14:01,tcp,192.0.2.5,49431,198.51.100.9,8080,earliest-row,gamarue\n"
    "2026-11-24 09:16:00,udp,192.0.2.5,49431,198.51.100.9,53,dns,gamarue\n";

TEST(reporttypes, each_connection_of_an_event_host_is_a_finding_with_its_own_row)
{
	struct test_rig rig = types_rig(EVENT_MAP);
	struct pipeline_result *r = run_csv(rig.cfg, rig.map, "event4_sinkhole", EVENT_CSV);
	const struct notice_group *g;
	const struct finding *f;
	struct buf json = BUF_INIT;
	time_t t;

	REQUIRE(r != NULL && r->nreports == 1 && r->reports[0].rf->ngroups == 1);
	g = &r->reports[0].rf->groups[0];
	REQUIRE(g->nfindings == 3);	/* (49431, tcp), (49431, udp), (49460, tcp) */
	f = g->findings[0];
	CHECK_INT(f->port, 49431);
	CHECK_STR(f->protocol, "tcp");
	CHECK(parse_detection_time("2026-11-24 09:14:01", &t) == 0 && f->detected == t);
	/* the time and the columns of one row, never a mix */
	CHECK_STR(report_file_value(r->reports[0].rf, f, "infection"), "earliest-row");
	CHECK_STR(report_file_value(r->reports[0].rf, f, "dst_port"), "8080");
	CHECK_INT(g->findings[1]->port, 49431);
	CHECK_STR(g->findings[1]->protocol, "udp");
	CHECK_INT(g->findings[2]->port, 49460);
	REQUIRE(r->reports[0].nmade == 1);
	if (getenv("SM_TEST_VERBOSE"))
		fputs(r->reports[0].notices[0].message, stderr);
	CHECK(strstr(r->reports[0].notices[0].message,
	    "\n192.0.2.5 (from port 49431/TCP) detected at 2026-11-24 09:14:01 UTC\n"
	    "    infection: \"earliest-row\", family: \"gamarue\", dst_ip: \"198.51.100.9\",\n"
	    "    dst_port: \"8080\"\n") != NULL);
	CHECK(strstr(r->reports[0].notices[0].message, "\n192.0.2.5 (from port 49460/TCP) detected at") != NULL);
	/* the first screen names the host once, its connections summed up */
	CHECK(strstr(r->reports[0].notices[0].message,
	    "\n    192.0.2.5 (3 connections between 09:14 and 09:16 UTC)\n\n") != NULL);
	CHECK(strstr(r->reports[0].notices[0].message, "late-row") == NULL);
	json_result(&json, "test", r, NULL);
	CHECK(strstr(json.data, "{\"ip\":\"192.0.2.5\",\"port\":49431,\"protocol\":\"tcp\"") != NULL);
	CHECK(strstr(json.data, "{\"ip\":\"192.0.2.5\",\"port\":49460,\"protocol\":\"tcp\"") != NULL);
	buf_free(&json);
	pipeline_result_free(r);
	test_rig_free(&rig);
}

TEST(reporttypes, the_first_screen_counts_hosts_not_connections)
{
	struct test_rig rig = types_rig(EVENT_MAP);
	struct buf csv = BUF_INIT;
	struct pipeline_result *r;
	const char *msg;
	int host, conn;

	buf_puts(&csv, "timestamp,protocol,src_ip,src_port,dst_ip,dst_port,infection\n");
	for (host = 1; host <= 6; host++)	/* six hosts; the first connects three times */
		for (conn = 0; conn < (host == 1 ? 3 : 1); conn++)
			buf_printf(&csv, "2026-11-24 09:1%d:00,tcp,192.0.2.%d,%d,198.51.100.7,80,x\n", conn, host,
			    40000 + conn);
	r = run_csv(rig.cfg, rig.map, "event4_sinkhole", csv.data);
	REQUIRE(r != NULL && r->nreports == 1 && r->reports[0].nmade == 1);
	msg = r->reports[0].notices[0].message;
	CHECK(strstr(msg, "\n    192.0.2.1 (3 connections between 09:10 and 09:12 UTC)\n"
	    "    192.0.2.2 (from port 40000/tcp)\n") != NULL);
	CHECK(strstr(msg, "\n    192.0.2.5 (from port 40000/tcp)\n    and 1 more, listed below\n") != NULL);
	CHECK(strstr(msg, "\n    192.0.2.6 (from port") == NULL);
	CHECK(strstr(msg, "\n192.0.2.1 (from port 40002/TCP) detected at") != NULL);	/* all of them below */
	CHECK(strstr(msg, "\n192.0.2.6 (from port 40000/TCP) detected at") != NULL);
	buf_free(&csv);
	pipeline_result_free(r);
	test_rig_free(&rig);
}

TEST(reporttypes, the_history_keeps_each_connection_apart)
{
	struct test_rig_spec spec = { .map = EVENT_MAP, .catalogue = 1, .history = TEST_RIG_SQLITE };
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-event4_sinkhole-as64500.csv", EVENT_CSV,
	    NULL, NULL };
	struct test_rig rig;
	struct state_item *items = NULL;
	struct pipeline_result *r;
	char err[512], *msg;
	size_t n = 0, i, from_49460 = 0;

	REQUIRE(test_rig_init(&rig, &spec) == 0);
	msg = testmail_build(&tm);
	CHECK((r = test_rig_run(&rig, msg, test_time("2026-11-24 12:00:00"), err, sizeof(err))) != NULL);
	pipeline_result_free(r);
	CHECK(state_items(rig.st, "acme", NULL, 1, &items, &n, err, sizeof(err)) == 0);
	CHECK_INT(n, 3);
	for (i = 0; i < n; i++) {
		CHECK_STR(items[i].ip, "192.0.2.5");
		from_49460 += items[i].port == 49460;
	}
	CHECK_INT(from_49460, 1);
	state_items_free(items, n);
	free(msg);
	test_rig_free(&rig);
}

/* --- listed networks ----------------------------------------------------- */

static const char *CIDR_MAP =
    "prefix,account,email\n"
    "198.51.100.8/29,alpha,ops@alpha.example\n"
    "198.51.100.64/29,beta,ops@beta.example\n"
    "198.51.100.200/32,gamma,ops@gamma.example\n"
    "198.51.100.201/32,gamma,ops@gamma.example\n"
    "198.51.101.0/24,delta,ops@delta.example\n"
    "172.16.5.0/24,epsilon,ops@epsilon.example\n"
    "2001:db8::/32,bigco,noc@bigco.example\n"
    "2001:db8:100::/56,zeta,ops@zeta.example\n"
    "2001:db8:100:ff00::/64,eta,ops@eta.example\n";

static const char *
part_of(const struct pipeline_result *r, const char *account, size_t i, char *out, size_t outlen)
{
	const struct report_file *rf = r->reports[0].rf;
	size_t g;

	for (g = 0; g < rf->ngroups; g++)
		if (strcmp(rf->groups[g].account->name, account) == 0 && i < rf->groups[g].nfindings) {
			finding_address(rf->groups[g].findings[i], out, outlen);
			return out;
		}
	return "(none)";
}

static const struct notice *
notice_of(const struct pipeline_result *r, const char *account)
{
	size_t i;

	for (i = 0; i < r->reports[0].nnotices; i++)
		if (r->reports[0].notices[i].made && strcmp(r->reports[0].notices[i].account, account) == 0)
			return &r->reports[0].notices[i];
	return NULL;
}

static struct pipeline_result *
blocklist(const struct config *cfg, const struct prefixmap *map, const char *network)
{
	struct buf csv = BUF_INIT;
	struct pipeline_result *r;

	buf_printf(&csv, "timestamp,severity,ip,hostname,source,reason,asn\n"
	    "2026-11-24 09:14:02,low,\"%s\",,spamhaus,spam source,64500\n", network);
	r = run_csv(cfg, map, "blocklist", csv.data);
	buf_free(&csv);
	return r;
}

TEST(reporttypes, a_listed_24_reaches_the_three_customers_inside_it_and_nobody_else)
{
	struct test_rig rig = types_rig(CIDR_MAP);
	struct pipeline_result *r = blocklist(rig.cfg, rig.map, "198.51.100.0/24");
	const struct notice *n;
	char a[64], listed[64];

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK(r->reports[0].rf->error == NULL);
	CHECK_INT(r->reports[0].rf->ngroups, 3);
	CHECK_INT(r->reports[0].rf->nunmatched, 0);
	CHECK_INT(r->reports[0].nmade, 3);
	CHECK_STR(part_of(r, "alpha", 0, a, sizeof(a)), "198.51.100.8/29");
	CHECK_STR(part_of(r, "beta", 0, a, sizeof(a)), "198.51.100.64/29");
	CHECK_STR(part_of(r, "gamma", 0, a, sizeof(a)), "198.51.100.200");
	CHECK_STR(part_of(r, "gamma", 1, a, sizeof(a)), "198.51.100.201");
	CHECK(notice_of(r, "delta") == NULL);
	REQUIRE(r->reports[0].rf->ngroups > 0);
	finding_listed(r->reports[0].rf->groups[0].findings[0], listed, sizeof(listed));
	CHECK_STR(listed, "198.51.100.0/24");
	REQUIRE((n = notice_of(r, "alpha")) != NULL);
	CHECK(strstr(n->message, "\n198.51.100.8/29 (your part of the listed network 198.51.100.0/24) detected at "
	    "2026-11-24 09:14:02 UTC\n") != NULL);
	CHECK(strstr(n->message, "198.51.100.64") == NULL && strstr(n->message, "198.51.100.20") == NULL);
	REQUIRE((n = notice_of(r, "gamma")) != NULL);
	CHECK(strstr(n->message, "\n198.51.100.200 (your part of the listed network 198.51.100.0/24) detected") != NULL);
	CHECK(strstr(n->message, "\n198.51.100.201 (your part of the listed network 198.51.100.0/24) detected") != NULL);
	CHECK(strstr(n->message, "198.51.100.8/29") == NULL);
	pipeline_result_free(r);
	test_rig_free(&rig);
}

TEST(reporttypes, a_listed_16_names_the_customers_24_as_their_part)
{
	struct test_rig rig = types_rig(CIDR_MAP);
	struct pipeline_result *r = blocklist(rig.cfg, rig.map, "172.16.0.0/16");
	struct buf json = BUF_INIT;
	char a[64];

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK_INT(r->reports[0].rf->ngroups, 1);
	CHECK_STR(part_of(r, "epsilon", 0, a, sizeof(a)), "172.16.5.0/24");
	json_result(&json, "test", r, NULL);
	CHECK(strstr(json.data, "{\"ip\":\"172.16.5.0/24\",\"listed\":\"172.16.0.0/16\",\"port\":null") != NULL);
	buf_free(&json);
	pipeline_result_free(r);
	/* a network inside the customer's prefix is theirs whole: no "part of" */
	r = blocklist(rig.cfg, rig.map, "172.16.5.16/28");
	REQUIRE(r != NULL && r->nreports == 1 && r->reports[0].nmade == 1);
	CHECK_STR(part_of(r, "epsilon", 0, a, sizeof(a)), "172.16.5.16/28");
	CHECK(strstr(r->reports[0].notices[0].message, "\n172.16.5.16/28 detected at") != NULL);
	pipeline_result_free(r);
	test_rig_free(&rig);
}

TEST(reporttypes, a_listed_ipv6_48_reaches_the_covering_and_the_inner_customers)
{
	struct test_rig rig = types_rig(CIDR_MAP);
	struct pipeline_result *r = blocklist(rig.cfg, rig.map, "2001:db8:100::/48");
	char a[64], listed[64];

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK_INT(r->reports[0].rf->ngroups, 3);
	CHECK_STR(part_of(r, "bigco", 0, a, sizeof(a)), "2001:db8:100::/48");	/* the whole network is in theirs */
	CHECK_STR(part_of(r, "zeta", 0, a, sizeof(a)), "2001:db8:100::/56");
	CHECK_STR(part_of(r, "eta", 0, a, sizeof(a)), "2001:db8:100:ff00::/64");
	REQUIRE(notice_of(r, "bigco") != NULL);
	CHECK(strstr(notice_of(r, "bigco")->message, "\n2001:db8:100::/48 detected at") != NULL);
	REQUIRE(notice_of(r, "eta") != NULL);
	CHECK(strstr(notice_of(r, "eta")->message,
	    "\n2001:db8:100:ff00::/64 (your part of the listed network 2001:db8:100::/48) detected at") != NULL);
	finding_listed(r->reports[0].rf->groups[0].findings[0], listed, sizeof(listed));
	CHECK_STR(listed, "");	/* bigco's part is the listed network itself */
	pipeline_result_free(r);
	test_rig_free(&rig);
}

TEST(reporttypes, a_listed_8_over_nobody_is_one_unmatched_network)
{
	struct test_rig rig = types_rig(CIDR_MAP);
	struct pipeline_result *r = blocklist(rig.cfg, rig.map, "10.0.0.0/8");
	char a[64];

	REQUIRE(r != NULL && r->nreports == 1);
	CHECK_INT(r->reports[0].rf->ngroups, 0);
	REQUIRE(r->reports[0].rf->nunmatched == 1);
	finding_address(r->reports[0].rf->unmatched[0], a, sizeof(a));
	CHECK_STR(a, "10.0.0.0/8");
	CHECK_INT(r->reports[0].rf->skipped_rows, 0);
	pipeline_result_free(r);
	/* a network wider than /8 would name every customer: a bad row */
	r = blocklist(rig.cfg, rig.map, "0.0.0.0/0");
	REQUIRE(r != NULL && r->nreports == 1);
	CHECK_INT(r->reports[0].rf->ngroups + r->reports[0].rf->nunmatched, 0);
	CHECK_INT(r->reports[0].rf->skipped_rows, 1);
	pipeline_result_free(r);
	/* host bits set: not a network we can trust */
	r = blocklist(rig.cfg, rig.map, "198.51.100.9/24");
	REQUIRE(r != NULL && r->nreports == 1);
	CHECK_INT(r->reports[0].rf->skipped_rows, 1);
	pipeline_result_free(r);
	test_rig_free(&rig);
}
