/*
 * test_notice - one customer's notice built from a template: the headers,
 * only the group's findings, a Message-ID that is the same each time, and
 * report values that cannot add a header
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "report/findings.h"
#include "base/ipaddr.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "notice/template.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/25,acme,ops@acme.example\n"
    "192.0.2.128/25,bob,bob@bob.example;noc@bob.example\n";
static const char *CSV = "timestamp,ip,port,protocol,hostname\n"
    "2026-11-24 01:00:00,192.0.2.10,111,udp,\"vps1\r\nBcc: victim@evil.example\"\n"
    "2026-11-24 02:00:00,192.0.2.200,111,udp,vps2\n";
static const char *TEMPLATE = "Subject: {{finding_count}} for {{account}} {{#findings}}{{hostname}}{{/findings}}\n"
    "\n{{#findings}}{{endpoint}} {{protocol_upper}} at {{timestamp}}\n{{/findings}}";

struct fixture {
	struct config *cfg;
	struct prefixmap *map;
	struct pipeline_result *r;
	struct template *t;
	char *msg;
};

static int
fixture_init(struct fixture *f)
{
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	char err[256];

	memset(f, 0, sizeof(*f));
	f->cfg = test_catalogue_config();
	f->map = test_map(MAP);
	f->msg = testmail_build(&tm);
	f->r = test_run(f->cfg, f->map, f->msg, strlen(f->msg), 0);
	f->t = template_parse(TEMPLATE, "test.tmpl", notice_template_vars(), err, sizeof(err));
	return f->r != NULL && f->r->nreports == 1 && f->r->reports[0].rf->ngroups == 2 && f->t != NULL;
}

static void
fixture_free(struct fixture *f)
{
	template_free(f->t);
	pipeline_result_free(f->r);
	prefixmap_free(f->map);
	config_free(f->cfg);
	free(f->msg);
}

/* build - the notice of group G of the fixture's report, for report REF */
static int
build(struct fixture *f, size_t g, const char *ref, struct notice *n)
{
	const struct report_file *rf = f->r->reports[0].rf;
	struct notice_input in = { .cfg = f->cfg, .rf = rf, .report_ref = ref, .now = 1795500000 };
	char err[256];

	notice_init(n, &rf->groups[g], NULL);
	if (notice_build(&in, f->t, n, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s\n", err);
		notice_free(n);
		return -1;
	}
	return 0;
}

TEST(notice, headers_and_only_the_groups_findings)
{
	struct fixture f;
	struct notice n;

	REQUIRE(fixture_init(&f));
	REQUIRE(build(&f, 1, "<r1@x>", &n) == 0);
	CHECK_STR(n.account, "bob");
	CHECK_STR(n.report_type, "scan_portmapper");
	REQUIRE(n.nto == 2);
	CHECK_STR(n.to[1], "noc@bob.example");
	CHECK_STR(n.subject, "1 for bob vps2");
	CHECK(strstr(n.message, "\nTo: bob@bob.example, noc@bob.example\n") != NULL);
	CHECK(strstr(n.message, "\nAuto-Submitted: auto-generated\n") != NULL);
	CHECK(strstr(n.message, "\nContent-Type: text/plain; charset=utf-8\n") != NULL);
	CHECK(strstr(n.message, "\nX-Shadowmilter-Account: bob\n") != NULL);
	CHECK(strstr(n.message, "\n\n192.0.2.200:111 UDP at 2026-11-24 02:00:00 UTC\n") != NULL);
	CHECK(strstr(n.message, "192.0.2.10") == NULL);	/* acme's host is not bob's business */
	CHECK(strncmp(n.message, "Date: Tue, 24 Nov 2026 06:00:00 +0000\n", 38) == 0);
	notice_free(&n);
	fixture_free(&f);
}

TEST(notice, the_message_id_is_the_same_each_time_and_differs_per_account_and_report)
{
	struct fixture f;
	struct notice a, again, other_account, other_report;

	REQUIRE(fixture_init(&f));
	REQUIRE(build(&f, 0, "<r1@x>", &a) == 0);
	REQUIRE(build(&f, 0, "<r1@x>", &again) == 0);
	REQUIRE(build(&f, 1, "<r1@x>", &other_account) == 0);
	REQUIRE(build(&f, 0, "<r2@x>", &other_report) == 0);
	CHECK_STR(a.message_id, again.message_id);
	CHECK(strcmp(a.message_id, other_account.message_id) != 0);
	CHECK(strcmp(a.message_id, other_report.message_id) != 0);
	CHECK(strstr(a.message_id, "@example.net") != NULL);	/* NoticeFrom's domain */
	notice_free(&a);
	notice_free(&again);
	notice_free(&other_account);
	notice_free(&other_report);
	fixture_free(&f);
}

TEST(notice, a_report_value_cannot_add_a_header)
{
	struct fixture f;
	struct notice n;
	const char *end;

	REQUIRE(fixture_init(&f));
	REQUIRE(build(&f, 0, "<r1@x>", &n) == 0);
	end = strstr(n.message, "\n\n");
	REQUIRE(end != NULL);
	CHECK(strstr(n.message, "\nBcc:") == NULL);
	CHECK(strchr(n.subject, '\r') == NULL && strchr(n.subject, '\n') == NULL);
	CHECK(strstr(n.subject, "vps1 Bcc: victim@evil.example") != NULL);	/* one line, as text */
	notice_free(&n);
	fixture_free(&f);
}

TEST(notice, endpoints)
{
	struct ipaddr ip;
	char ep[64];

	REQUIRE(ipaddr_parse("192.0.2.1", &ip) == 0);
	notice_endpoint(&ip, 111, ep, sizeof(ep));
	CHECK_STR(ep, "192.0.2.1:111");
	notice_endpoint(&ip, -1, ep, sizeof(ep));
	CHECK_STR(ep, "192.0.2.1");
	REQUIRE(ipaddr_parse("2001:db8::1", &ip) == 0);
	notice_endpoint(&ip, 111, ep, sizeof(ep));
	CHECK_STR(ep, "[2001:db8::1]:111");
}

TEST(notice, a_type_the_catalogue_does_not_know_needs_action)
{
	struct config *cfg = test_catalogue_config();

	CHECK(notice_needs_action(cfg, NULL));
	config_free(cfg);
}

/* header_value - the unfolded value of header NAME in MSG, or NULL; caller frees */
static char *
header_value(const char *msg, const char *name)
{
	struct buf b = BUF_INIT;
	size_t nlen = strlen(name);
	const char *p = msg;

	while (p && *p && *p != '\n') {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
			for (p += nlen + 1; *p && !(*p == '\n' && p[1] != ' ' && p[1] != '\t'); p++)
				if (*p != '\n')
					buf_putc(&b, *p);
			return buf_steal(&b);
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

TEST(notice, forty_recipients_are_folded_into_the_to_header_never_cut)
{
	struct buf map = BUF_INIT, want = BUF_INIT;
	struct config *cfg = test_catalogue_config();
	struct testmail tm = { TRUSTED_AUTHRES, NULL, NULL, "2026-11-24-scan_portmapper-x.csv", CSV, NULL, NULL };
	struct prefixmap *pm;
	struct pipeline_result *r;
	char *msg = testmail_build(&tm), *to = NULL;
	const char *line;
	int i;

	buf_puts(&map, "prefix,account,email\n192.0.2.0/24,many,");
	for (i = 1; i <= 40; i++)
		buf_printf(&map, "%srecipient%02d@customer-with-many-contacts.example", i > 1 ? ";" : "", i);
	buf_puts(&map, "\n");
	pm = test_map(buf_cstr(&map));
	r = test_run(cfg, pm, msg, strlen(msg), 0);
	REQUIRE(r != NULL && r->nreports == 1 && r->reports[0].nmade == 1);
	REQUIRE((to = header_value(r->reports[0].notices[0].message, "To")) != NULL);
	for (i = 1; i <= 40; i++)
		buf_printf(&want, "%srecipient%02d@customer-with-many-contacts.example", i > 1 ? ", " : " ", i);
	CHECK_STR(to, buf_cstr(&want));
	for (line = r->reports[0].notices[0].message; *line && *line != '\n'; line += strcspn(line, "\n") + 1)
		CHECK(strcspn(line, "\n") <= 78);	/* the header lines */
	free(to);
	buf_free(&want);
	buf_free(&map);
	pipeline_result_free(r);
	prefixmap_free(pm);
	config_free(cfg);
	free(msg);
}
