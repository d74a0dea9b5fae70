/*
 * test_fuzzfound - one regression test per bug the fuzz targets found
 *
 * Each test names the target that found the bug and replays the smallest
 * input that showed it, through the same function; the ASan pass of make
 * check turns a relapse into a failure even where the plain build would not
 * notice.
 */
#include "test.h"
#include "testmail.h"
#include "testrig.h"

#include "config/config.h"
#include "pipeline/filter.h"
#include "base/ipaddr.h"
#include "notice/mailheader.h"
#include "notice/template.h"
#include "store/outbox.h"
#include "store/store.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fuzz_template: a template whose body (or a section) is empty rendered
 * "ns->v + ns->n" with v NULL and n 0, pointer arithmetic on NULL (UBSan:
 * "applying zero offset to null pointer"); the input was a Subject line, a
 * blank line and a body cut short by a NUL */
static int
one_var(const char *name, int *is_list)
{
	*is_list = 0;
	return strcmp(name, "a") == 0 ? 0 : -1;
}

static const char *
one_value(void *ctx, int id, const char *name, long item)
{
	(void)ctx, (void)id, (void)name, (void)item;
	return "value";
}

static size_t
no_items(void *ctx, int id)
{
	(void)ctx, (void)id;
	return 0;
}

TEST(fuzzfound, a_template_with_an_empty_body_or_section_renders_nothing)
{
	static const struct template_vars vars = { one_var };
	struct template_scope scope = { one_value, no_items, NULL };
	static const char *texts[] = { "Subject: Resolved: {{a}}\n\n", "Subject: x\n\n{{#a}}{{/a}}{{^a}}{{/a}}" };
	struct buf out = BUF_INIT;
	struct template *t;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		t = template_parse(texts[i], "empty.tmpl", &vars, err, sizeof(err));
		REQUIRE(t != NULL);
		buf_reset(&out);
		CHECK_INT(template_render_body(t, &scope, &out, err, sizeof(err)), 0);
		CHECK_INT((int)out.len, 0);
		template_free(t);
	}
	buf_free(&out);
}

/* fuzz_headers: a header name longer than a folded line made fold_ascii read
 * past the end of an empty value (strchr(p + 1)) */
TEST(fuzzfound, header_encode_with_a_name_longer_than_a_line)
{
	char name[100], *v;

	memset(name, 'z', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	v = header_encode(name, "");
	CHECK_STR(v, "");
	free(v);
	v = header_encode(name, "x");
	CHECK_STR(v, "x");
	free(v);
	v = header_encode(name, "a b");
	CHECK(v != NULL && strstr(v, "a") != NULL && strchr(v, '\r') == NULL);
	free(v);
}

/* --- the filter, against a fake MTA that keeps only what the filter changes */

struct changes {
	struct buf subject;	/* the value given for Subject, "" when untouched */
};

static int
keep_change(void *ctx, const char *name, int index, const char *value)
{
	(void)index;
	if (value && !strcmp(name, "Subject"))
		buf_puts(&((struct changes *)ctx)->subject, value);
	return 0;
}

static int
ignore_header(void *ctx, const char *name, const char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return 0;
}

static int
ignore_rcpt(void *ctx, const char *rcpt)
{
	(void)ctx;
	(void)rcpt;
	return 0;
}

static void ignore_log(void *ctx, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
ignore_log(void *ctx, int priority, const char *fmt, ...)
{
	(void)ctx;
	(void)priority;
	(void)fmt;
}

/* fuzz_filter: the report's own Subject went back to the MTA raw when it was
 * tagged, control characters and line breaks included (a header injection) */
TEST(fuzzfound, tagged_subject_is_cleaned_like_the_filters_own_headers)
{
	struct changes ch = { BUF_INIT };
	struct filter_io io = { .add_header = ignore_header, .change_header = keep_change, .add_rcpt = ignore_rcpt,
	    .del_rcpt = ignore_rcpt, .log = ignore_log, .ctx = &ch };
	struct test_rig_spec spec = { .map = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n",
	    .outbox = TEST_RIG_SQLITE, .busy_timeout_ms = STORE_BUSY_TIMEOUT_MS };
	struct test_rig r;
	struct filter_env env;
	struct filter_msg *m;
	const char *p;
	char err[256];

	REQUIRE(test_rig_init(&r, &spec) == 0);
	/* as fuzz_filter found it: trusted on a verifier's header, with a subject tag */
	REQUIRE(config_set(r.cfg, "VerifyDKIM", "no", err, sizeof(err)) == 0);
	REQUIRE(config_set(r.cfg, "ReportSubjectTag", "[shadowmilter]", err, sizeof(err)) == 0);
	env = test_rig_env(&r);
	m = filter_begin(&env, "QIDFUZZ", "<autoreports@shadowserver.org>");
	filter_header(m, &io, "Authentication-Results", TRUSTED_AUTHRES);
	filter_header(m, &io, "From", "Shadowserver <autoreports@shadowserver.org>");
	filter_header(m, &io, "Subject", "Report\x04 one\r\nBcc: victim@example.org");
	filter_eoh(m, &io);
	filter_body(m, &io, "hello\r\n", 7);
	CHECK(filter_eom(m, &io, 1795000000) == FILTER_ACCEPT);
	filter_end(m);
	CHECK(strstr(buf_cstr(&ch.subject), "[shadowmilter] Report") == buf_cstr(&ch.subject));
	CHECK(strchr(buf_cstr(&ch.subject), '\r') == NULL && strchr(buf_cstr(&ch.subject), '\x04') == NULL);
	for (p = buf_cstr(&ch.subject); (p = strchr(p, '\n')) != NULL; p++)
		CHECK(p[1] == ' ' || p[1] == '\t');	/* a line break only as folding */
	buf_free(&ch.subject);
	test_rig_free(&r);
}

/* fuzz_customermap: the customer map accepted 8-bit bytes in an address's
 * local part ("ops\xff@acme.example"); such an address reached a notice's
 * To: header and the SMTP envelope */
TEST(fuzzfound, customer_map_refuses_8bit_addresses)
{
	struct prefixmap *map = prefixmap_new();
	struct ipaddr net;
	unsigned plen;
	char err[256];

	REQUIRE(ipaddr_parse_prefix("192.0.2.0/24", &net, &plen) == 0);
	CHECK(prefixmap_add(map, &net, plen, "acme", "ops\xff@acme.example", err, sizeof(err)) == -1);
	CHECK(strstr(err, "bad email") != NULL);
	CHECK(prefixmap_add(map, &net, plen, "acme", "caf\xc3\xa9@acme.example", err, sizeof(err)) == -1);
	CHECK(prefixmap_add(map, &net, plen, "acme", "ops@acme.example", err, sizeof(err)) == 0);
	CHECK_INT(prefixmap_prefix_count(map), 1);
	prefixmap_free(map);
}
