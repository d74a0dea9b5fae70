/*
 * test_samples - every real ShadowServer mail and CSV in ../shared parses
 * with the row counts an independent parser (Python's csv module) found.
 * and gets its notice from the right template (tailored, IPv6 twin, alias,
 * generic or generic event). Skipped, with a note, when the reference
 * folder is not there.
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "report/findings.h"
#include "base/ipaddr.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

struct expected {
	const char *file;
	const char *type;
	unsigned long rows;
	long distinct_ip;	/* -1: not given */
	const char *subject;	/* part of the notice's subject: which template it came from */
};

static const struct expected csv_files[] = {
	{ "2016-scan_portmapper-intelmq.csv", "scan_portmapper", 93, 82, "VPSes has an open portmapper service" },
	{ "2022-scan_dns-intelmq.csv", "scan_dns", 100, 83, "servers is running an open DNS resolver" },
	{ "2022-scan_rdp-intelmq.csv", "scan_rdp", 2, 2, "servers has Remote Desktop (RDP) open to the Internet" },
	{ "2022-scan_chargen-intelmq.csv", "scan_chargen", 3, 3, "servers has an open chargen service" },
	{ "2022-scan_ldap_udp-intelmq.csv", "scan_ldap_udp", 3, 3, "servers has an open CLDAP (LDAP over UDP) service" },
	{ "2022-scan_mdns-intelmq.csv", "scan_mdns", 3, 3, "servers has an open mDNS service" },
	{ "2022-scan_memcached-intelmq.csv", "scan_memcached", 3, 3, "servers has an open memcached service" },
	{ "2022-scan_netbios-intelmq.csv", "scan_netbios", 3, 3, "servers has an open NetBIOS name service" },
	{ "2022-scan_ntp-intelmq.csv", "scan_ntp", 3, 3, "servers has an NTP service that answers queries from anywhere" },
	{ "2022-scan_portmapper-intelmq.csv", "scan_portmapper", 3, 3, "VPSes has an open portmapper service" },
	{ "2022-scan_qotd-intelmq.csv", "scan_qotd", 3, 3, "servers has an open QOTD (quote of the day) service" },
	{ "2022-scan_snmp-intelmq.csv", "scan_snmp", 3, 3, "servers has an open SNMP service" },
	{ "2022-scan_ssdp-intelmq.csv", "scan_ssdp", 3, 3, "servers has an open SSDP (UPnP) service" },
	{ "2022-scan_tftp-intelmq.csv", "scan_tftp", 3, 3, "servers has an open TFTP service" },
	{ "2025-11-02-scan_portmapper-test.csv", "scan_portmapper", 25, 25, "VPSes has an open portmapper service" },
	{ "2025-11-02-scan_ntp-test.csv", "scan_ntp", 25, 25, "servers has an NTP service that answers queries from anywhere" },
	{ "2025-11-02-scan6_snmp-test.csv", "scan6_snmp", 25, 25, "servers has an open SNMP service" },
};

static const struct expected eml_files[] = {
	{ "2015-01-01-dns_openresolver-sample-asn.csv.zip.eml", "dns_openresolver", 5, 5, "servers is running an open DNS resolver" },
	{ "2015-01-01-scan_ipmi-sample-asn.csv.zip.eml", "scan_ipmi", 9, 9, "servers has its IPMI management interface open to the Internet" },
	{ "2015-01-01-scan_memcached-sample-asn.csv.zip.eml", "scan_memcached", 9, 9, "servers has an open memcached service" },
	{ "2015-01-01-scan_mssql-sample-asn.csv.zip.eml", "scan_mssql", 10, 10, "servers has an open SQL Server Browser service" },
	{ "2015-01-01-scan_nat_pmp-sample-asn.csv.zip.eml", "scan_nat_pmp", 7, 7, "servers has an open NAT-PMP service" },
	{ "2015-01-01-scan_netbios-sample-asn.csv.zip.eml", "scan_netbios", 8, 8, "servers has an open NetBIOS name service" },
	{ "2015-01-01-scan_ntp-sample-asn.csv.zip.eml", "scan_ntp", 9, 9, "servers has an NTP service that answers queries from anywhere" },
	{ "2015-01-01-scan_ntpmonitor-sample-asn.csv.zip.eml", "scan_ntpmonitor", 11, 11, "servers has an NTP service that answers monlist queries" },
	{ "2015-01-01-scan_redis-sample-asn.csv.zip.eml", "scan_redis", 13, 13, "servers has an open Redis database" },
	{ "2015-01-01-scan_snmp-sample-asn.csv.zip.eml", "scan_snmp", 10, 10, "servers has an open SNMP service" },
	{ "2015-01-01-scan_ssdp-sample-asn.csv.zip.eml", "scan_ssdp", 9, 9, "servers has an open SSDP (UPnP) service" },
	{ "2015-01-01-sinkhole_http_drone-sample-asn.csv.zip.eml", "sinkhole_http_drone", 8, 8, "Sinkhole HTTP Drone reported for your" },
	{ "2019-01-06-scan_afp-sample-ip.csv.zip.eml", "scan_afp", 2, 2, "Accessible Apple Filing Protocol found on your" },
	{ "2019-10-15-scan_dns-sample-asn.csv.zip.eml", "scan_dns", 1, 1, "servers is running an open DNS resolver" },
	{ "2019-10-15-scan_ftp-sample-asn.csv.zip.eml", "scan_ftp", 1, 1, "Security notice: FTP reachable from the Internet on your" },
	{ "2019-10-15-scan_http-sample-asn.csv.zip.eml", "scan_http", 1, 1, "Security notice: web server (HTTP) reachable from the Internet on your" },
	{ "2019-10-15-scan_ldap_tcp-sample-asn.csv.zip.eml", "scan_ldap_tcp", 1, 1, "Open LDAP (TCP) Services found on your" },
	{ "2019-10-15-scan_rsync-sample-asn.csv.zip.eml", "scan_rsync", 1, 1, "servers has an open rsync service" },
};

/* everyone: the whole address space belongs to one account */
static const char *EVERYONE = "prefix,account,email\n0.0.0.0/0,everyone,ops@example.net\n"
    "::/0,everyone,ops@example.net\n";

static long
distinct_ips(const struct report_file *rf)
{
	struct finding **all = xcalloc(rf->ngroups ? rf->groups[0].nfindings + 1 : 1, sizeof(*all));
	size_t i, n = 0;
	long distinct = 0;

	if (rf->ngroups == 1) {
		n = rf->groups[0].nfindings;
		memcpy(all, rf->groups[0].findings, n * sizeof(*all));
	}
	for (i = 0; i < n; i++)	/* findings are sorted by address */
		if (i == 0 || ipaddr_compare(&all[i]->ip, &all[i - 1]->ip) != 0)
			distinct++;
	free(all);
	return distinct + (long)rf->nunmatched;
}

static void
check_result(const struct expected *e, const struct pipeline_result *r)
{
	const struct report_file *rf;

	if (r == NULL || r->nreports != 1) {
		fprintf(stderr, "  %s: no report read\n", e->file);
		CHECK(r != NULL && r->nreports == 1);
		return;
	}
	rf = r->reports[0].rf;
	if (rf->error)
		fprintf(stderr, "  %s: %s\n", e->file, rf->error);
	CHECK(rf->error == NULL);
	CHECK_STR(rf->type, e->type);
	CHECK_INT(rf->rows, e->rows);
	CHECK_INT(distinct_ips(rf) + (long)rf->skipped_rows, e->distinct_ip);
	CHECK_INT(r->reports[0].nmade, 1);
	if (r->reports[0].nmade != 1)
		return;
	if (strstr(r->reports[0].notices[0].subject, e->subject) == NULL)
		fprintf(stderr, "  %s: subject \"%s\"\n", e->file, r->reports[0].notices[0].subject);
	CHECK(strstr(r->reports[0].notices[0].subject, e->subject) != NULL);
}

TEST(samples, every_reference_csv_has_the_independent_row_count)
{
	const char *dir = test_shared_dir();
	struct config *cfg;
	struct prefixmap *map;
	size_t i;

	if (dir == NULL)
		SKIP("../shared/reference/shadowserver not present");
	cfg = test_catalogue_config();
	map = test_map(EVERYONE);
	for (i = 0; i < sizeof(csv_files) / sizeof(csv_files[0]); i++) {
		char path[4096], subject[256], *csv, *msg;
		struct testmail tm = { TRUSTED_AUTHRES, NULL, subject, csv_files[i].file, NULL, NULL, NULL };
		struct pipeline_result *r;

		snprintf(path, sizeof(path), "%s/csv/%s", dir, csv_files[i].file);
		/* names without a full date take their type from the subject */
		snprintf(subject, sizeof(subject), "[Test] Shadowserver %s Report: 2022-01-01", csv_files[i].type);
		REQUIRE((csv = test_read_file(path, NULL)) != NULL);
		tm.csv = csv;
		msg = testmail_build(&tm);
		r = test_run(cfg, map, msg, strlen(msg), 4096);
		check_result(&csv_files[i], r);
		pipeline_result_free(r);
		free(msg);
		free(csv);
	}
	prefixmap_free(map);
	config_free(cfg);
}

TEST(samples, every_reference_mail_has_the_independent_row_count)
{
	const char *dir = test_shared_dir();
	struct config *cfg;
	struct prefixmap *map;
	size_t i;

	if (dir == NULL)
		SKIP("../shared/reference/shadowserver not present");
	cfg = test_catalogue_config();
	map = test_map(EVERYONE);
	for (i = 0; i < sizeof(eml_files) / sizeof(eml_files[0]); i++) {
		char path[4096], *eml, *signed_eml;
		struct buf msg = BUF_INIT;
		struct pipeline_result *r;

		snprintf(path, sizeof(path), "%s/eml/%s", dir, eml_files[i].file);
		REQUIRE((eml = test_read_file(path, NULL)) != NULL);
		/* signed as ShadowServer signs its mail (with the test key) */
		signed_eml = testmail_sign(eml, NULL);
		buf_puts(&msg, signed_eml);
		free(signed_eml);
		r = test_run(cfg, map, msg.data, msg.len, 1000);
		check_result(&eml_files[i], r);
		if (r)
			CHECK(r->authenticated);
		pipeline_result_free(r);
		buf_free(&msg);
		free(eml);
	}
	prefixmap_free(map);
	config_free(cfg);
}

TEST(samples, reference_mail_without_authentication_gets_nothing)
{
	const char *dir = test_shared_dir();
	struct config *cfg;
	struct prefixmap *map;
	struct pipeline_result *r;
	char path[4096], *eml;

	if (dir == NULL)
		SKIP("../shared/reference/shadowserver not present");
	cfg = test_config();
	map = test_map(EVERYONE);
	snprintf(path, sizeof(path), "%s/eml/%s", dir, eml_files[0].file);
	REQUIRE((eml = test_read_file(path, NULL)) != NULL);
	r = test_run(cfg, map, eml, strlen(eml), 0);
	REQUIRE(r != NULL);
	CHECK(r->report);
	CHECK(!r->authenticated);
	CHECK_INT(r->nreports, 0);
	pipeline_result_free(r);
	free(eml);
	prefixmap_free(map);
	config_free(cfg);
}

TEST(samples, reference_sinkhole_mail_lists_the_infection_evidence)
{
	const char *dir = test_shared_dir();
	struct config *cfg;
	struct prefixmap *map;
	struct pipeline_result *r;
	struct buf msg = BUF_INIT;
	char path[4096], *eml, *signed_eml;

	if (dir == NULL)
		SKIP("../shared/reference/shadowserver not present");
	cfg = test_catalogue_config();
	map = test_map(EVERYONE);
	snprintf(path, sizeof(path), "%s/eml/2015-01-01-sinkhole_http_drone-sample-asn.csv.zip.eml", dir);
	REQUIRE((eml = test_read_file(path, NULL)) != NULL);
	signed_eml = testmail_sign(eml, NULL);
	buf_puts(&msg, signed_eml);
	free(signed_eml);
	r = test_run(cfg, map, msg.data, msg.len, 0);
	REQUIRE(r != NULL && r->nreports == 1 && r->reports[0].nmade == 1);
	CHECK(strstr(r->reports[0].notices[0].message, "\n    type: \"downadup\", url: \"GET /search?q=0 HTTP/1.0\",") != NULL);
	CHECK(strstr(r->reports[0].notices[0].message, "All of these need to be cleaned up or shut down.") != NULL);
	pipeline_result_free(r);
	buf_free(&msg);
	free(eml);
	prefixmap_free(map);
	config_free(cfg);
}
