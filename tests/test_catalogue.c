/*
 * test_catalogue - the report catalogue: loading, site rows, aliases, and
 * what it puts into notices (generic titles, event evidence, template choice)
 */
#include "test.h"
#include "testmail.h"

#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "notice/template.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n";

static const char *HEADER = "type,title,severity,kind,service,port,protocol,info_url,evidence_columns,"
    "template,alias_of\n";

/* write_catalogue - TEXT as a file in a fresh directory; caller frees the path */
static char *
write_catalogue(const char *text)
{
	char *dir = test_tmpdir(), *path = xmalloc(strlen(dir) + 32);

	sprintf(path, "%s/catalogue.csv", dir);
	test_write_file(path, text);
	free(dir);
	return path;
}

/* load - a catalogue from TEXT; NULL with ERR when it does not load */
static struct catalogue *
load(const char *text, char *err, size_t errlen)
{
	struct catalogue *c = catalogue_new();
	char *path = write_catalogue(text);

	if (catalogue_load(c, path, err, errlen) != 0 || catalogue_check(c, err, errlen) != 0) {
		catalogue_free(c);
		c = NULL;
	}
	free(path);
	return c;
}

/* notice_of - the only notice of a report mail of TYPE carrying CSV */
static struct pipeline_result *
run(const struct config *cfg, const char *type, const char *csv)
{
	struct prefixmap *map = test_map(MAP);
	char name[128], *msg;
	struct testmail tm = { TRUSTED_AUTHRES, NULL, "whatever", name, csv, NULL, NULL };
	struct pipeline_result *r;

	snprintf(name, sizeof(name), "2026-11-24-%s-test.csv", type);
	msg = testmail_build(&tm);
	r = test_run(cfg, map, msg, strlen(msg), 0);
	free(msg);
	/* notices hold copies of what they need from the map */
	prefixmap_free(map);
	return r;
}

static const struct notice *
only_notice(const struct pipeline_result *r)
{
	return r && r->nreports == 1 && r->reports[0].nmade == 1 ? &r->reports[0].notices[0] : NULL;
}

static const char *PORT_CSV = "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,50070,tcp\n";

TEST(catalogue, rows_are_read_by_column_name)
{
	char err[512];
	struct catalogue *c = load("alias_of,protocol,port,service,severity,title,type,evidence_columns\n"
	    ",udp,123,NTP,Medium,NTP Version,scan_ntp,\n", err, sizeof(err));
	const struct catalogue_entry *e;

	REQUIRE(c != NULL);
	e = catalogue_lookup(c, "scan_ntp");
	REQUIRE(e != NULL);
	CHECK_STR(e->title, "NTP Version");
	CHECK_STR(e->severity, "medium");
	CHECK_STR(e->service, "NTP");
	CHECK_STR(e->port, "123");
	CHECK_STR(e->protocol, "UDP");
	CHECK_STR(e->info_url, "");
	CHECK_INT(e->kind, CATALOGUE_EXPOSED);
	CHECK_INT(e->nevidence, 0);
	catalogue_free(c);
}

TEST(catalogue, event_rows_keep_their_evidence_columns)
{
	char err[512];
	struct buf text = BUF_INIT;
	struct catalogue *c;
	const struct catalogue_entry *e;

	buf_printf(&text, "%sevent4_sinkhole,Sinkhole Events,critical,event,malware,,,,"
	    "Infection; dst_ip ;dst_port,,\n", HEADER);
	c = load(text.data, err, sizeof(err));
	REQUIRE(c != NULL);
	e = catalogue_lookup(c, "event4_sinkhole");
	REQUIRE(e != NULL);
	CHECK_INT(e->kind, CATALOGUE_EVENT);
	REQUIRE(e->nevidence == 3);
	CHECK_STR(e->evidence[0], "infection");
	CHECK_STR(e->evidence[1], "dst_ip");
	CHECK_STR(e->evidence[2], "dst_port");
	catalogue_free(c);
	buf_free(&text);
}

TEST(catalogue, site_rows_replace_shipped_rows_and_add_new_ones)
{
	char err[512], *site;
	struct buf shipped = BUF_INIT, local = BUF_INIT;
	struct catalogue *c;

	buf_printf(&shipped, "%sscan_ntp,NTP Version,medium,,NTP,123,UDP,,,,\n"
	    "scan_snmp,Open SNMP,high,,SNMP,161,UDP,,,,\n", HEADER);
	c = load(shipped.data, err, sizeof(err));
	REQUIRE(c != NULL);
	buf_printf(&local, "type,title,severity\nscan_ntp,Our NTP wording,low\nscan_custom,Our own report,info\n");
	site = write_catalogue(local.data);
	REQUIRE(catalogue_load(c, site, err, sizeof(err)) == 0);
	CHECK_STR(catalogue_lookup(c, "scan_ntp")->title, "Our NTP wording");
	CHECK_STR(catalogue_lookup(c, "scan_ntp")->port, "");	/* the whole row is replaced */
	CHECK_STR(catalogue_lookup(c, "scan_snmp")->title, "Open SNMP");
	CHECK_STR(catalogue_lookup(c, "scan_custom")->title, "Our own report");
	CHECK_INT(catalogue_count(c), 3);
	CHECK_STR(catalogue_at(c, 0)->type, "scan_custom");	/* kept in type order */
	catalogue_free(c);
	free(site);
	buf_free(&shipped);
	buf_free(&local);
}

TEST(catalogue, alias_is_looked_up_as_its_target)
{
	char err[512];
	struct buf text = BUF_INIT;
	struct catalogue *c;

	buf_printf(&text, "%sdns_openresolver,,,,,,,,,,scan_dns\n"
	    "scan_dns,DNS Open Resolvers,medium,,DNS resolver,53,UDP,,,,\n", HEADER);
	c = load(text.data, err, sizeof(err));
	REQUIRE(c != NULL);
	REQUIRE(catalogue_lookup(c, "dns_openresolver") != NULL);
	CHECK_STR(catalogue_lookup(c, "dns_openresolver")->type, "scan_dns");
	CHECK(catalogue_lookup(c, "scan_wibble") == NULL);
	CHECK(catalogue_lookup(NULL, "scan_dns") == NULL);
	catalogue_free(c);
	buf_free(&text);
}

TEST(catalogue, alias_of_an_unknown_type_or_of_an_alias_is_an_error)
{
	char err[512];
	struct buf text = BUF_INIT;

	buf_printf(&text, "%sold_name,,,,,,,,,,scan_nothing\n", HEADER);
	CHECK(load(text.data, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "old_name") != NULL && strstr(err, "not in the catalogue") != NULL);
	buf_reset(&text);
	buf_printf(&text, "%sa,,,,,,,,,,b\nb,,,,,,,,,,c\nc,C,low,,,,,,,,\n", HEADER);
	CHECK(load(text.data, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "an alias itself") != NULL);
	buf_free(&text);
}

TEST(catalogue, bad_rows_are_errors_naming_file_row_and_type)
{
	static const char *const bad[][2] = {
		{ "scan_x,X,severe,,,,,,,,\n", "severity" },
		{ "scan_x,X,low,sometimes,,,,,,,\n", "kind" },
		{ "scan_x,,low,,,,,,,,\n", "title" },
		{ "Scan X,X,low,,,,,,,,\n", "type must be" },
		{ "scan_x,X,low,,,http,,,,,\n", "port" },
		{ "scan_x,X,low,,,,,ftp://x,,,\n", "info_url" },
		{ "scan_x,X,low,event,,,,,dst ip,,\n", "evidence_columns" },
		{ "scan_x,X,low,,,,,,,../etc,\n", "template" },
		{ "scan_x,X,low,,,,,,,,scan_y\n", "only type and alias_of" },
		{ "scan_x,X,low,,,,,,,,\nscan_x,Y,low,,,,,,,,\n", "has a row already" },
	};
	struct buf text = BUF_INIT;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&text);
		buf_printf(&text, "%s%s", HEADER, bad[i][0]);
		err[0] = '\0';
		CHECK(load(text.data, err, sizeof(err)) == NULL);
		if (strstr(err, bad[i][1]) == NULL || strstr(err, "catalogue.csv: row ") == NULL)
			fprintf(stderr, "  row %s  gave: %s\n", bad[i][0], err);
		CHECK(strstr(err, bad[i][1]) != NULL);
		CHECK(strstr(err, "catalogue.csv: row ") != NULL);
	}
	CHECK(load("type,name\nscan_x,X\n", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "type and title") != NULL);
	CHECK(load("", err, sizeof(err)) == NULL);
	buf_free(&text);
}

TEST(catalogue, comment_rows_are_skipped)
{
	char err[512];
	struct buf text = BUF_INIT;
	struct catalogue *c;

	buf_printf(&text, "%s# a note for the site,,,,,,,,,,\nscan_x,X,low,,,,,,,,\n", HEADER);
	c = load(text.data, err, sizeof(err));
	REQUIRE(c != NULL);
	CHECK_INT(catalogue_count(c), 1);
	catalogue_free(c);
	buf_free(&text);
}

TEST(catalogue, a_row_carries_title_and_service_in_other_languages_with_english_standing_in_per_field)
{
	char err[512];
	struct buf text = BUF_INIT;
	struct catalogue *c;
	const struct catalogue_entry *e;

	buf_printf(&text, "type,title,severity,service,Title.DE,service.de,title.pt_BR\n"
	    "scan_x,Open X,low,x service,Offenes X,,X aberto\nscan_y,Open Y,low,y service,,Y-Dienst\n");
	REQUIRE((c = load(text.data, err, sizeof(err))) != NULL);
	REQUIRE((e = catalogue_lookup(c, "scan_x")) != NULL);
	CHECK_STR(catalogue_title(e, "de"), "Offenes X");
	CHECK_STR(catalogue_title(e, "de-AT"), "Offenes X");	/* the primary subtag's */
	CHECK_STR(catalogue_service(e, "de"), "x service");	/* empty: English, field by field */
	CHECK_STR(catalogue_title(e, "pt-br"), "X aberto");
	CHECK_STR(catalogue_title(e, "pt"), "Open X");		/* pt-br is not pt */
	CHECK_STR(catalogue_title(e, "fr"), "Open X");
	CHECK_STR(catalogue_title(e, ""), "Open X");
	CHECK_STR(catalogue_title(e, NULL), "Open X");
	CHECK_STR(catalogue_title(e, "../de"), "Open X");
	REQUIRE((e = catalogue_lookup(c, "scan_y")) != NULL);
	CHECK_STR(catalogue_title(e, "de"), "Open Y");
	CHECK_STR(catalogue_service(e, "de_DE"), "Y-Dienst");
	catalogue_free(c);
	buf_reset(&text);
	buf_printf(&text, "type,title,severity,title.deutsch\nscan_x,Open X,low,Offenes X\n");
	CHECK(load(text.data, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "row 1 (type \"scan_x\"): a column title.LANG or service.LANG needs a language tag") != NULL);
	buf_reset(&text);
	buf_printf(&text, "type,title,severity,alias_of,title.de\nscan_x,Open X,low,,\nscan_old,,,scan_x,Alt\n");
	CHECK(load(text.data, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "only type and alias_of") != NULL);
	buf_free(&text);
}

TEST(catalogue, every_shipped_type_has_a_german_title)
{
	struct config *cfg = test_catalogue_config();
	size_t i, j, german = 0, types = 0;

	for (i = 0; i < catalogue_count(cfg->catalogue); i++) {
		const struct catalogue_entry *e = catalogue_at(cfg->catalogue, i);
		int has = 0;

		if (*e->alias_of)
			continue;
		types++;
		for (j = 0; j < e->ntexts; j++)
			has |= strcmp(e->texts[j].lang, "de") == 0 && *e->texts[j].title;
		if (has)
			german++;
		else
			fprintf(stderr, "    %s: no title.de\n", e->type);
	}
	CHECK(types >= 168);
	CHECK_INT(german, types);
	config_free(cfg);
}

/* explained - the shipped catalogue CATALOGUE says in a comment row "# TYPE: ..." why it rates TYPE its own way */
static int
explained(const char *catalogue, const char *type)
{
	char want[128];
	const char *p;

	snprintf(want, sizeof(want), "# %s: ", type);
	for (p = catalogue; (p = strstr(p, want)) != NULL; p++)
		if (p == catalogue || p[-1] == '\n' || (p[-1] == '"' && (p - 1 == catalogue || p[-2] == '\n')))
			return 1;
	return 0;
}

TEST(catalogue, shipped_catalogue_has_the_types_and_their_aliases)
{
	struct config *cfg = test_catalogue_config();

	CHECK(catalogue_count(cfg->catalogue) >= 168);
	CHECK(catalogue_lookup(cfg->catalogue, "dns_openresolver") == catalogue_lookup(cfg->catalogue, "scan_dns"));
	config_free(cfg);
}

TEST(catalogue, shipped_catalogue_knows_every_shadowserver_report_type)
{
	struct config *cfg;
	const char *dir = test_shared_dir();
	char path[4096], *text, *line, *save = NULL, *shipped;
	size_t n = 0, overridden = 0;

	if (dir == NULL)
		SKIP("../shared/reference/shadowserver not present: the comparison did not run");
	cfg = test_catalogue_config();
	snprintf(path, sizeof(path), "%s/catalogue.csv", template_shipped_dir());
	REQUIRE((shipped = test_read_file(path, NULL)) != NULL);
	snprintf(path, sizeof(path), "%s/schema/report_types.csv", dir);
	REQUIRE((text = test_read_file(path, NULL)) != NULL);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *comma = strchr(line, ','), *sev;
		const struct catalogue_entry *e;

		if (comma == NULL || strncmp(line, "report_type,", 12) == 0)
			continue;
		*comma = '\0';
		n++;
		if ((e = catalogue_lookup(cfg->catalogue, line)) == NULL) {
			fprintf(stderr, "  %s missing from the catalogue\n", line);
			CHECK(e != NULL);
			continue;
		}
		/* title,default_severity,info_url: the severity is the field after the title */
		sev = strrchr(comma + 1, ',');
		*sev = '\0';
		sev = strrchr(comma + 1, ',') + 1;
		/* ShadowServer's rating, unless a comment row says why a hosting provider's differs */
		if (explained(shipped, line)) {
			if (strcmp(e->severity, sev) == 0)
				fprintf(stderr, "  %s: a comment explains a rating the row does not change\n", line);
			CHECK(strcmp(e->severity, sev) != 0);
			overridden++;
		} else {
			if (strcmp(e->severity, sev) != 0)
				fprintf(stderr, "  %s: severity %s, ShadowServer says %s, and no comment says why\n",
				    line, e->severity, sev);
			CHECK_STR(e->severity, sev);
		}
		CHECK(*e->info_url != '\0');
	}
	CHECK_INT(n, 168);
	CHECK(overridden >= 1);		/* scan_tftp: info for ShadowServer, a reflection vector for us */
	CHECK_STR(catalogue_lookup(cfg->catalogue, "scan_tftp")->severity, "medium");
	free(shipped);
	free(text);
	config_free(cfg);
}

TEST(catalogue, config_catalogue_key_overrides_the_shipped_rows)
{
	char *dir = test_tmpdir(), path[4096], conf[4096], err[512];
	struct config *cfg;

	snprintf(path, sizeof(path), "%s/site-catalogue.csv", dir);
	test_write_file(path, "type,title,severity\nscan_hadoop,Hadoop left open,critical\n");
	snprintf(conf, sizeof(conf), "%s/shadowmilter.conf", dir);
	test_write_file(conf, "CustomerMap customers.csv\nTrustedAuthservIDs mx.test.example\n"
	    "Catalogue site-catalogue.csv\n");
	cfg = config_load(conf, err, sizeof(err));
	REQUIRE(cfg != NULL);
	CHECK_STR(catalogue_lookup(cfg->catalogue, "scan_hadoop")->title, "Hadoop left open");
	CHECK_STR(catalogue_lookup(cfg->catalogue, "scan_ntp")->title, "NTP Version");
	config_free(cfg);

	test_write_file(path, "type,title,severity\nscan_hadoop,Hadoop left open,urgent\n");
	CHECK(config_load(conf, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "site-catalogue.csv: row 1 (type \"scan_hadoop\"): severity") != NULL);
	free(dir);
}

TEST(catalogue, failed_reload_keeps_the_previous_catalogue)
{
	struct config *cfg = test_catalogue_config();
	const struct catalogue *before = cfg->catalogue;
	char err[512];

	REQUIRE(config_set(cfg, "Catalogue", "/nonexistent/catalogue.csv", err, sizeof(err)) == 0);
	CHECK(config_load_catalogue(cfg, err, sizeof(err)) != 0);
	CHECK(strstr(err, "/nonexistent/catalogue.csv") != NULL);
	CHECK(cfg->catalogue == before);
	config_free(cfg);
}

TEST(catalogue, generic_notice_carries_the_catalogue_title_port_and_info_page)
{
	struct config *cfg = test_catalogue_config();
	struct pipeline_result *r = run(cfg, "scan_hadoop", PORT_CSV);
	const struct notice *n = only_notice(r);

	REQUIRE(n != NULL);
	CHECK_STR(n->subject, "ACTION REQUIRED: Accessible Hadoop Service found on your Example Hosting servers");
	CHECK(strstr(n->message, "(severity: high)") != NULL);
	CHECK(strstr(n->message, "usually port 50070/TCP") != NULL);
	CHECK(strstr(n->message, "https://www.shadowserver.org/what-we-do/network-reporting/"
	    "accessible-hadoop-report/") != NULL);
	CHECK(strstr(n->message, "192.0.2.10:50070 (TCP) detected at") != NULL);
	pipeline_result_free(r);
	config_free(cfg);
}

TEST(catalogue, unknown_type_gets_a_generic_notice_never_silence)
{
	struct config *cfg = test_catalogue_config();
	struct pipeline_result *r = run(cfg, "scan_wibble", PORT_CSV);
	const struct notice *n = only_notice(r);

	REQUIRE(n != NULL);
	CHECK_STR(n->subject, "ACTION REQUIRED: Shadowserver report \"scan_wibble\" found on your Example Hosting "
	    "servers");
	CHECK(strstr(n->message, "All of these need to be firewalled off or shut down.") != NULL);
	CHECK(strstr(n->message, "(severity:") == NULL);	/* nothing made up */
	CHECK(strstr(n->message, "https://www.shadowserver.org/what-we-do/network-reporting/\n") != NULL);
	pipeline_result_free(r);
	config_free(cfg);
}

TEST(catalogue, event_notice_lists_the_evidence_and_the_port_connected_from)
{
	const char *csv = "timestamp,ip,src_port,infection,family,dst_ip,dst_port,tag\n"
	    "2026-11-24 01:00:00,192.0.2.10,50123,andromeda,gamarue,198.51.100.7,80,botnet\n";
	struct config *cfg = test_catalogue_config();
	struct pipeline_result *r = run(cfg, "event4_sinkhole", csv);
	const struct notice *n = only_notice(r);

	REQUIRE(n != NULL);
	CHECK_STR(n->subject, "ACTION REQUIRED: Sinkhole Events reported for your Example Hosting servers");
	CHECK(strstr(n->message, "\n192.0.2.10 (from port 50123) detected at 2026-11-24 01:00:00 UTC\n"
	    "    infection: \"andromeda\", family: \"gamarue\", dst_ip: \"198.51.100.7\",\n"
	    "    dst_port: \"80\"\n") != NULL);
	CHECK(strstr(n->message, "All of these need to be cleaned up or shut down.") != NULL);
	pipeline_result_free(r);
	config_free(cfg);
}

TEST(catalogue, evidence_is_cleaned_and_wrapped)
{
	const char *csv = "timestamp,ip,infection,http_url,http_host,dst_ip\n"
	    "2026-11-24 01:00:00,192.0.2.10,\"bad\r\nBcc: x\",/a/very/long/path/that/goes/on/and/on/index.php,"
	    "c2.example.net,198.51.100.7\n";
	struct config *cfg = test_catalogue_config();
	struct pipeline_result *r = run(cfg, "event4_sinkhole_http", csv);
	const struct notice *n = only_notice(r);
	const char *body, *line;

	REQUIRE(n != NULL);
	CHECK(strstr(n->message, "\n    infection: \"bad Bcc: x\"") != NULL);
	CHECK(strstr(n->message, "\nBcc:") == NULL && strstr(n->message, "\r") == NULL);
	CHECK(strstr(n->message, "\n    http_url: \"/a/very/long/path/that/goes/on/and/on/index.php\",\n"
	    "    http_host: \"c2.example.net\", dst_ip: \"198.51.100.7\"\n") != NULL);
	body = strstr(n->message, "\n\n");
	REQUIRE(body != NULL);
	for (line = body; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != '\0'))
		CHECK(strcspn(line, "\n") <= 78 || memmem(line, strcspn(line, "\n"), "://", 3) != NULL);
	pipeline_result_free(r);
	config_free(cfg);
}

TEST(catalogue, ipv6_twin_and_old_names_use_the_tailored_template)
{
	const char *csv = "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,123,udp\n";
	static const char *const cases[][2] = {
		{ "scan6_ntp", "has an NTP service that answers queries from anywhere" },
		{ "dns_openresolver", "is running an open DNS resolver" },
		{ "scan_ntp", "has an NTP service that answers queries from anywhere" },
	};
	struct config *cfg = test_catalogue_config();
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pipeline_result *r = run(cfg, cases[i][0], csv);
		const struct notice *n = only_notice(r);

		REQUIRE(n != NULL);
		CHECK_STR(r->reports[0].rf->type, cases[i][0]);	/* the report keeps its own name */
		if (strstr(n->subject, cases[i][1]) == NULL)
			fprintf(stderr, "  %s: %s\n", cases[i][0], n->subject);
		CHECK(strstr(n->subject, cases[i][1]) != NULL);
		pipeline_result_free(r);
	}
	config_free(cfg);
}

TEST(catalogue, site_template_shadows_the_shipped_choice_file_by_file)
{
	struct config *cfg = test_catalogue_config();
	char *dir = test_tmpdir(), path[4096], err[512];
	struct template_set *set;
	const struct template *t;

	snprintf(path, sizeof(path), "%s/event4_sinkhole.tmpl", dir);
	test_write_file(path, "Subject: ACTION REQUIRED: our sinkhole wording\n\nbody\n");
	snprintf(path, sizeof(path), "%s/generic_event.tmpl", dir);
	test_write_file(path, "Subject: ACTION REQUIRED: our event wording\n\nbody\n");
	REQUIRE(config_set(cfg, "TemplateDir", dir, err, sizeof(err)) == 0);
	REQUIRE((set = notice_templates_load(cfg, err, sizeof(err))) != NULL);
	t = notice_template_find(set, cfg, "event4_sinkhole", err, sizeof(err));
	REQUIRE(t != NULL);
	CHECK(strstr(template_path(t), "/event4_sinkhole.tmpl") != NULL);
	t = notice_template_find(set, cfg, "event4_sinkhole_http", err, sizeof(err));
	REQUIRE(t != NULL);
	CHECK_STR(template_path(t), path);
	t = notice_template_find(set, cfg, "scan_ntp", err, sizeof(err));	/* not shadowed: shipped */
	REQUIRE(t != NULL);
	CHECK(strstr(template_path(t), template_shipped_dir()) == template_path(t));
	t = notice_template_find(set, cfg, "scan_hadoop", err, sizeof(err));
	REQUIRE(t != NULL);
	CHECK(strstr(template_path(t), "/generic.tmpl") != NULL);
	template_set_free(set);
	free(dir);
	config_free(cfg);
}
