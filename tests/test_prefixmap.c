/*
 * test_prefixmap - longest-prefix lookups, the CustomerMap CSV and its errors
 */
#include "test.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* add - PREFIX ("10.0.0.0/24") to ACCOUNT; returns prefixmap_add's result */
static int
add_err(struct prefixmap *map, const char *prefix, const char *account, const char *emails,
    char *err, size_t errlen)
{
	struct ipaddr a;
	unsigned plen;

	if (ipaddr_parse_prefix(prefix, &a, &plen) != 0) {
		fprintf(stderr, "    test bug: bad prefix %s\n", prefix);
		return -2;
	}
	return prefixmap_add(map, &a, plen, account, emails, err, errlen);
}

static int
add(struct prefixmap *map, const char *prefix, const char *account)
{
	char err[256] = "";
	int rc = add_err(map, prefix, account, "noc@example.net", err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "    add %s: %s\n", prefix, err);
	return rc;
}

/* owner - name of the account owning ADDR, or NULL */
static const char *
owner(const struct prefixmap *map, const char *addr)
{
	const struct account *acct;
	struct ipaddr a;

	if (ipaddr_parse(addr, &a) != 0)
		return "(test bug: bad address)";
	acct = prefixmap_lookup(map, &a);
	return acct ? acct->name : NULL;
}

/* load - CSV text written to a fresh customers.csv, loaded into a new map */
static struct prefixmap *
load(const char *csv, int *rc, char *err, size_t errlen)
{
	char *dir = test_tmpdir(), path[512];
	struct prefixmap *map = prefixmap_new();

	snprintf(path, sizeof(path), "%s/customers.csv", dir);
	test_write_file(path, csv);
	*rc = prefixmap_load(map, path, err, errlen);
	free(dir);
	return map;
}

/* load_error - the error loading CSV gives, after the directory part */
static const char *
load_error(const char *csv)
{
	static char err[512];
	struct prefixmap *map;
	const char *base;
	int rc;

	err[0] = '\0';
	map = load(csv, &rc, err, sizeof(err));
	prefixmap_free(map);
	if (rc == 0)
		return "(loaded without error)";
	base = strstr(err, "customers.csv");
	return base ? base : err;
}

static int
has_email(const struct account *a, const char *email)
{
	size_t i;

	for (i = 0; a && i < a->nemails; i++)
		if (strcmp(a->emails[i], email) == 0)
			return 1;
	return 0;
}

/*
 * run_steps - a new map through STEPS, in order: "+PREFIX ACCOUNT" adds the
 * prefix, "ADDR ACCOUNT" checks that ACCOUNT owns ADDR ("-": no one does).
 * Returns the map, for its counts.
 */
static struct prefixmap *
run_steps(const char *const *steps)
{
	struct prefixmap *map = prefixmap_new();
	char arg[64], want[64];
	const char *got;

	for (; *steps; steps++) {
		if (sscanf(*steps + (**steps == '+'), "%63s %63s", arg, want) != 2) {
			fprintf(stderr, "    test bug: step \"%s\"\n", *steps);
			CHECK(0);
		} else if (**steps == '+') {
			CHECK(add(map, arg, want) == 0);
		} else if (strcmp((got = owner(map, arg)) ? got : "-", want) != 0) {
			fprintf(stderr, "    step \"%s\": the owner is %s\n", *steps, got ? got : "-");
			CHECK(!"the owner the step names");
		}
	}
	return map;
}

TEST(prefixmap, nested_prefix_belongs_to_the_more_specific_owner)
{
	static const char *const steps[] = {
		"+192.0.2.0/24 wide",
		"+192.0.2.8/29 narrow",
		"192.0.2.8 narrow",
		"192.0.2.15 narrow",
		"192.0.2.7 wide",
		"192.0.2.16 wide",
		"192.0.2.0 wide",
		"192.0.2.255 wide",
		"192.0.3.0 -",
		"192.0.1.255 -",
		NULL
	};
	struct prefixmap *map = run_steps(steps);

	CHECK_INT(prefixmap_prefix_count(map), 2);
	CHECK_INT(prefixmap_account_count(map), 2);
	prefixmap_free(map);
}

TEST(prefixmap, nesting_does_not_depend_on_insertion_order)
{
	static const char *const steps[] = {
		"+192.0.2.8/29 narrow",
		"+192.0.2.12/30 narrower",
		"+192.0.2.0/24 wide",
		"+192.0.0.0/16 wider",
		"192.0.2.9 narrow",
		"192.0.2.13 narrower",
		"192.0.2.16 wide",
		"192.0.200.1 wider",
		"192.1.0.0 -",
		NULL
	};

	prefixmap_free(run_steps(steps));
}

TEST(prefixmap, sibling_prefixes_split_on_a_glue_node)
{
	static const char *const steps[] = {
		/* 10.0.0.0/24 and 10.0.1.0/24 share 23 bits: a glue /23 that owns nothing */
		"+10.0.0.0/24 left",
		"+10.0.1.0/24 right",
		"10.0.0.200 left",
		"10.0.1.200 right",
		"10.0.2.1 -",
		/* adding exactly the glue prefix later makes it a real one */
		"+10.0.0.0/23 both",
		"10.0.1.200 right",
		NULL
	};
	struct prefixmap *map = run_steps(steps);

	CHECK_INT(prefixmap_prefix_count(map), 3);
	prefixmap_free(map);
}

TEST(prefixmap, prefixes_either_side_of_sixteen_bits_nest)
{
	static const char *const steps[] = {
		/* the map files prefixes of 16 bits or more apart from shorter ones */
		"+10.0.0.0/15 fifteen",
		"+10.0.0.0/16 sixteen",
		"+10.1.128.0/17 seventeen",
		"+2000::/14 six-fourteen",
		"10.0.200.1 sixteen",
		"10.1.0.1 fifteen",
		"10.1.200.1 seventeen",
		"10.2.0.1 -",
		"2001:db8::1 six-fourteen",
		"2003::1 six-fourteen",
		"2004::1 -",
		NULL
	};

	prefixmap_free(run_steps(steps));
}

TEST(prefixmap, ipv6_nested_prefix_belongs_to_the_more_specific_owner)
{
	static const char *const steps[] = {
		"+2001:db8::/32 isp",
		"+2001:db8:1::/48 site",
		"+2001:db8:1:2::/64 lan",
		"2001:db8:1:2::99 lan",
		"2001:db8:1:3::1 site",
		"2001:db8:2::1 isp",
		"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff isp",
		"2001:db9::1 -",
		NULL
	};

	prefixmap_free(run_steps(steps));
}

TEST(prefixmap, single_addresses_match_only_themselves)
{
	static const char *const steps[] = {
		"+198.51.100.7/32 host4",
		"+2001:db8::7/128 host6",
		"+198.51.100.8 bare",	/* no length: a host */
		"198.51.100.7 host4",
		"198.51.100.8 bare",
		"198.51.100.6 -",
		"198.51.100.9 -",
		"2001:db8::7 host6",
		"2001:db8::6 -",
		"2001:db8::8 -",
		NULL
	};

	prefixmap_free(run_steps(steps));
}

TEST(prefixmap, default_routes_catch_everything_else)
{
	static const char *const steps[] = {
		"+0.0.0.0/0 any4",
		"+::/0 any6",
		"+203.0.113.0/24 doc",
		"0.0.0.0 any4",
		"255.255.255.255 any4",
		"203.0.113.9 doc",
		":: any6",
		"ffff::1 any6",
		NULL
	};

	prefixmap_free(run_steps(steps));
}

TEST(prefixmap, ipv4_and_ipv6_do_not_mix)
{
	static const char *const steps[] = {
		/* 0a00::/8 has the same leading bits as 10.0.0.0/8 */
		"+10.0.0.0/8 four",
		"a00::1 -",
		"::ffff:10.0.0.1 -",
		"+::/0 six",
		"10.1.2.3 four",
		"11.0.0.1 -",
		"a00::1 six",
		NULL
	};

	prefixmap_free(run_steps(steps));
}

TEST(prefixmap, miss_returns_null)
{
	static const char *const steps[] = {
		"192.0.2.1 -",
		"2001:db8::1 -",
		"+192.0.2.0/25 half",
		"192.0.2.128 -",
		"2001:db8::1 -",
		NULL
	};

	prefixmap_free(run_steps(steps));
}

TEST(prefixmap, csv_columns_are_found_by_header_name)
{
	char err[512] = "";
	struct prefixmap *map;
	const struct account *a;
	struct ipaddr ip;
	int rc;

	map = load("\xEF\xBB\xBF" " Email ,Notes,ACCOUNT,prefix\r\n"
	    "\r\n"
	    "# a comment line, not a customer\r\n"
	    "noc@acme.example,\"big, important\",acme,192.0.2.0/24\r\n"
	    "  abuse@beta.example  ,,  beta  ,  2001:db8::/32  \r\n"
	    "\r\n", &rc, err, sizeof(err));
	CHECK_STR(err, "");
	REQUIRE(rc == 0);
	CHECK_INT(prefixmap_prefix_count(map), 2);
	CHECK_STR(owner(map, "192.0.2.77"), "acme");
	REQUIRE(ipaddr_parse("2001:db8::1", &ip) == 0);
	a = prefixmap_lookup(map, &ip);
	REQUIRE(a != NULL);
	CHECK_STR(a->name, "beta");
	CHECK_INT(a->nemails, 1);
	CHECK(has_email(a, "abuse@beta.example"));
	prefixmap_free(map);
}

TEST(prefixmap, emails_split_on_semicolons_and_merge_across_rows)
{
	char err[512] = "";
	struct prefixmap *map;
	const struct account *a;
	struct ipaddr ip;
	int rc;

	map = load("prefix,account,email\n"
	    "192.0.2.0/24,acme,noc@acme.example; Abuse@Acme.example ;\n"
	    "198.51.100.0/24,acme,ABUSE@acme.EXAMPLE;ceo@acme.example\n"
	    "192.0.2.0/24,acme,noc@acme.example;late@acme.example\n"
	    "203.0.113.0/24,other,noc@other.example\n", &rc, err, sizeof(err));
	CHECK_STR(err, "");
	REQUIRE(rc == 0);
	CHECK_INT(prefixmap_prefix_count(map), 3);
	CHECK_INT(prefixmap_account_count(map), 2);
	REQUIRE(ipaddr_parse("192.0.2.1", &ip) == 0);
	a = prefixmap_lookup(map, &ip);
	REQUIRE(a != NULL);
	CHECK_INT(a->nemails, 4);
	CHECK(has_email(a, "noc@acme.example"));
	CHECK(has_email(a, "Abuse@Acme.example"));	/* first spelling kept */
	CHECK(has_email(a, "ceo@acme.example"));
	CHECK(has_email(a, "late@acme.example"));
	REQUIRE(ipaddr_parse("198.51.100.1", &ip) == 0);
	CHECK(prefixmap_lookup(map, &ip) == a);	/* one account, shared */
	prefixmap_free(map);
}

TEST(prefixmap, bad_prefix_error_names_file_and_line)
{
	CHECK_STR(load_error("prefix,account,email\n"
	    "192.0.2.0/24,acme,noc@acme.example\n"
	    "10.0.0.1/33,acme,noc@acme.example\n"),
	    "customers.csv:3: bad prefix \"10.0.0.1/33\"");
	CHECK_STR(load_error("prefix,account,email\r\n"
	    "\r\n"
	    "10.0.0.1/24,acme,noc@acme.example\r\n"),
	    "customers.csv:3: bad prefix \"10.0.0.1/24\"");	/* host bits set */
	CHECK_STR(load_error("prefix,account,email\n"
	    "not-an-address,acme,noc@acme.example\n"),
	    "customers.csv:2: bad prefix \"not-an-address\"");
}

TEST(prefixmap, line_numbers_count_newlines_inside_quoted_fields)
{
	CHECK_STR(load_error("prefix,notes,account,email\n"
	    "192.0.2.0/24,\"two\nlines\",acme,noc@acme.example\n"
	    "192.0.3.0/24,\"three\r\nlines\r\nhere\",acme,noc@acme.example\n"
	    "192.0.4.0/33,x,acme,noc@acme.example"),
	    "customers.csv:7: bad prefix \"192.0.4.0/33\"");
	CHECK_STR(load_error("prefix,notes,account,email\n"
	    "192.0.2.0/24,x,acme,noc@acme.example\n"
	    "192.0.5.0/33,\"starts here\nends here\",acme,noc@acme.example\n"),
	    "customers.csv:3: bad prefix \"192.0.5.0/33\"");
}

TEST(prefixmap, bad_email_error_names_file_and_line)
{
	CHECK_STR(load_error("prefix,account,email\n"
	    "192.0.2.0/24,acme,noc@acme.example;not an address\n"),
	    "customers.csv:2: bad email \"not\"");
	CHECK_STR(load_error("prefix,account,email\n"
	    "192.0.2.0/24,acme,\"noc@acme.example\r\nBcc: victim@example.org\"\n"),
	    "customers.csv:2: bad email \"noc@acme.example??Bcc:\"");
	CHECK_STR(load_error("prefix,account,email\n"
	    "192.0.2.0/24,acme,\n"),
	    "customers.csv:2: no email address");
}

TEST(prefixmap, implausible_emails_are_rejected)
{
	static const char *const bad[] = {
		"noc", "@acme.example", "noc@", "noc@@acme.example", "a@b@acme.example",
		"<noc@acme.example>", "\"noc\"@acme.example", "noc(x)@acme.example",
		"no,c@acme.example", "no\\c@acme.example", "noc@acme_example.com",
		"noc@acme..example", "noc@.acme.example", "noc@acme.example.",
		"no\tc@acme.example", "noc@acme.exam ple", "no\x7f" "c@acme.example",
	};
	static const char *const good[] = {
		"noc@acme.example", "first.last+tag@sub-1.acme.example", "x@y",
	};
	struct prefixmap *map = prefixmap_new();
	char err[256], longest[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (add_err(map, "192.0.2.0/24", "acme", bad[i], err, sizeof(err)) != -1) {
			fprintf(stderr, "    accepted \"%s\"\n", bad[i]);
			CHECK(!"implausible email accepted");
		}
		CHECK(strncmp(err, "bad email", 9) == 0);
	}
	CHECK_INT(prefixmap_prefix_count(map), 0);
	CHECK_INT(prefixmap_account_count(map), 0);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(add_err(map, "192.0.2.0/24", "acme", good[i], err, sizeof(err)) == 0);
	/* 254 characters is the most an SMTP path leaves for the address */
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 249, "@x.yz", 6);
	CHECK_INT(strlen(longest), 254);
	CHECK(add_err(map, "192.0.2.0/24", "acme", longest, err, sizeof(err)) == 0);
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 250, "@x.yz", 6);
	CHECK(add_err(map, "192.0.2.0/24", "acme", longest, err, sizeof(err)) == -1);
	prefixmap_free(map);
}

TEST(prefixmap, missing_column_is_an_error)
{
	CHECK_STR(load_error("prefix,account,mail\n192.0.2.0/24,acme,noc@acme.example\n"),
	    "customers.csv:1: missing column \"email\"");
	CHECK_STR(load_error("# comments first\n\nprefix,email\n"),
	    "customers.csv:3: missing column \"account\"");
	CHECK_STR(load_error("prefix,account,email\n192.0.2.0/24,acme\n"),
	    "customers.csv:2: no \"email\" field (2 fields)");
	CHECK(strstr(load_error(""), "no header line") != NULL);
}

TEST(prefixmap, same_prefix_for_another_account_is_an_error)
{
	struct prefixmap *map = prefixmap_new();
	char err[256] = "";

	CHECK_STR(load_error("prefix,account,email\n"
	    "192.0.2.0/24,acme,noc@acme.example\n"
	    "192.0.2.0/24,beta,noc@beta.example\n"),
	    "customers.csv:3: prefix 192.0.2.0/24 already belongs to account \"acme\"");
	REQUIRE(add(map, "2001:db8::/32", "acme") == 0);
	CHECK(add_err(map, "2001:db8::/32", "beta", "noc@beta.example", err, sizeof(err)) == -1);
	CHECK_STR(err, "prefix 2001:db8::/32 already belongs to account \"acme\"");
	/* the failed row left nothing behind */
	CHECK_INT(prefixmap_account_count(map), 1);
	CHECK_STR(owner(map, "2001:db8::1"), "acme");
	prefixmap_free(map);
}

TEST(prefixmap, empty_account_name_is_an_error)
{
	struct prefixmap *map = prefixmap_new();
	char err[256] = "";

	CHECK_STR(load_error("prefix,account,email\n192.0.2.0/24,  ,noc@acme.example\n"),
	    "customers.csv:2: empty account name");
	CHECK(add_err(map, "192.0.2.0/24", "", "noc@acme.example", err, sizeof(err)) == -1);
	CHECK_STR(err, "empty account name");
	CHECK(add_err(map, "192.0.2.0/24", "a\nb", "noc@acme.example", err, sizeof(err)) == -1);
	prefixmap_free(map);
}

TEST(prefixmap, add_rejects_host_bits_and_long_lengths)
{
	struct prefixmap *map = prefixmap_new();
	struct ipaddr a;
	char err[256] = "";

	REQUIRE(ipaddr_parse("192.0.2.1", &a) == 0);
	CHECK(prefixmap_add(map, &a, 24, "acme", "noc@acme.example", err, sizeof(err)) == -1);
	CHECK_STR(err, "host bits set in 192.0.2.1/24");
	CHECK(prefixmap_add(map, &a, 33, "acme", "noc@acme.example", err, sizeof(err)) == -1);
	CHECK_STR(err, "bad prefix length 192.0.2.1/33");
	CHECK_INT(prefixmap_prefix_count(map), 0);
	prefixmap_free(map);
}

/* ---- randomized comparison against a linear scan ---- */

#define NPREFIX	2000
#define NLOOKUP	20000
#define NACCT	40

struct rprefix {
	struct ipaddr a;
	unsigned plen;
	int acct;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int
bits_match(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned i;

	for (i = 0; i < plen; i++)
		if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

/* random_within - a random address whose first PLEN bits are those of P */
static void
random_within(const struct ipaddr *p, unsigned plen, struct ipaddr *out)
{
	unsigned i, nbytes = p->family == AF_INET6 ? 16 : 4;

	memset(out, 0, sizeof(*out));
	out->family = p->family;
	for (i = 0; i < nbytes; i++)
		out->bytes[i] = (uint8_t)rnd();
	for (i = 0; i < plen; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		out->bytes[i / 8] = (uint8_t)((out->bytes[i / 8] & ~bit) | (p->bytes[i / 8] & bit));
	}
}

static void
mask_to(struct ipaddr *a, unsigned plen)
{
	unsigned i;

	for (i = plen; i < 128; i++)
		a->bytes[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

/* random_prefix - a fresh one, or (one time in three) inside an existing one */
static void
random_prefix(const struct rprefix *have, size_t n, struct rprefix *out)
{
	const struct rprefix *parent = n > 0 && rnd() % 3 == 0 ? &have[rnd() % n] : NULL;
	struct ipaddr any;
	unsigned bits;

	if (parent != NULL && parent->plen < ipaddr_bits(&parent->a)) {
		bits = ipaddr_bits(&parent->a);
		out->plen = parent->plen + 1 + (unsigned)(rnd() % (bits - parent->plen));
		random_within(&parent->a, parent->plen, &out->a);
	} else {
		any.family = rnd() % 2 ? AF_INET6 : AF_INET;
		bits = ipaddr_bits(&any);
		/* a few short ones, which the map keeps apart from the rest */
		if (rnd() % 25 == 0)
			out->plen = (unsigned)(rnd() % 16);
		else
			out->plen = 16 + (unsigned)(rnd() % (bits - 15));
		random_within(&any, 0, &out->a);
	}
	mask_to(&out->a, out->plen);
	out->acct = (int)(rnd() % NACCT);
}

static int
find_same(const struct rprefix *have, size_t n, const struct rprefix *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (have[i].plen == p->plen && ipaddr_compare(&have[i].a, &p->a) == 0)
			return (int)i;
	return -1;
}

static int
brute_force(const struct rprefix *have, size_t n, const struct ipaddr *addr)
{
	int best = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (have[i].a.family == addr->family && bits_match(have[i].a.bytes, addr->bytes, have[i].plen) &&
		    (best < 0 || have[i].plen > have[best].plen))
			best = (int)i;
	return best;
}

static void
fill_random_map(struct prefixmap *map, struct rprefix *have, size_t *n)
{
	char name[32], email[64], err[256];
	struct rprefix p;
	int same;

	while (*n < NPREFIX) {
		random_prefix(have, *n, &p);
		same = find_same(have, *n, &p);
		if (same >= 0)
			p.acct = have[same].acct;	/* a repeated row: merges */
		snprintf(name, sizeof(name), "acct%d", p.acct);
		snprintf(email, sizeof(email), "noc@acct%d.example", p.acct);
		if (prefixmap_add(map, &p.a, p.plen, name, email, err, sizeof(err)) != 0) {
			fprintf(stderr, "    add: %s\n", err);
			CHECK(!"random prefix rejected");
			return;
		}
		if (same < 0)
			have[(*n)++] = p;
	}
}

TEST(prefixmap, random_prefixes_agree_with_a_linear_scan)
{
	struct rprefix *have = calloc(NPREFIX, sizeof(*have));
	struct prefixmap *map = prefixmap_new();
	const struct account *got;
	char name[32], text[IPADDR_STRLEN];
	struct ipaddr addr, any;
	const struct rprefix *in;
	size_t n = 0;
	int i, want, wrong = 0;

	fill_random_map(map, have, &n);
	CHECK_INT(prefixmap_prefix_count(map), NPREFIX);
	for (i = 0; i < NLOOKUP; i++) {
		if (rnd() % 10 < 7) {	/* mostly inside some prefix, to exercise nesting */
			in = &have[rnd() % n];
			random_within(&in->a, in->plen, &addr);
		} else {
			any.family = rnd() % 2 ? AF_INET6 : AF_INET;
			random_within(&any, 0, &addr);
		}
		want = brute_force(have, n, &addr);
		got = prefixmap_lookup(map, &addr);
		snprintf(name, sizeof(name), "acct%d", want >= 0 ? have[want].acct : -1);
		if ((want < 0) != (got == NULL) || (got && strcmp(got->name, name) != 0)) {
			if (wrong++ < 5) {
				ipaddr_format(&addr, text, sizeof(text));
				fprintf(stderr, "    %s: got %s, want %s\n", text,
				    got ? got->name : "(none)", want >= 0 ? name : "(none)");
			}
		}
	}
	CHECK_INT(wrong, 0);
	prefixmap_free(map);
	free(have);
}

/* --- overlaps: the customers inside a listed network ---------------------- */

struct parts_seen {
	struct buf text;	/* "account part;" per part, sorted by the caller's order */
	size_t n;
};

static void
note_part(void *ctx, const struct account *account, const struct ipaddr *part, unsigned len)
{
	struct parts_seen *s = ctx;
	char addr[IPADDR_STRLEN];

	ipaddr_format(part, addr, sizeof(addr));
	buf_printf(&s->text, "%s %s/%u;", account->name, addr, len);
	s->n++;
}

/* overlaps - "account part;" for every part of NET, in the order reported */
static char *
overlaps(const struct prefixmap *map, const char *net, size_t *n)
{
	struct parts_seen s = { BUF_INIT, 0 };
	struct ipaddr a;
	unsigned len;

	if (ipaddr_parse_prefix(net, &a, &len) != 0)
		return xstrdup("(test bug: bad network)");
	*n = prefixmap_overlaps(map, &a, len, note_part, &s);
	CHECK_INT(*n, s.n);
	return s.text.data ? buf_steal(&s.text) : xstrdup("");
}

TEST(prefixmap, overlaps_names_the_covering_owner_and_every_prefix_inside)
{
	struct prefixmap *map = prefixmap_new();
	char *got;
	size_t n;

	REQUIRE(add(map, "10.0.0.0/8", "big") == 0);
	REQUIRE(add(map, "10.1.0.0/16", "mid") == 0);
	REQUIRE(add(map, "10.1.2.0/24", "small") == 0);
	REQUIRE(add(map, "10.1.2.128/25", "small") == 0);	/* inside small's own /24: said once */
	REQUIRE(add(map, "10.1.3.4/32", "host") == 0);
	REQUIRE(add(map, "10.2.0.0/16", "other") == 0);
	got = overlaps(map, "10.1.0.0/16", &n);
	CHECK_STR(got, "mid 10.1.0.0/16;small 10.1.2.0/24;host 10.1.3.4/32;");
	free(got);
	got = overlaps(map, "10.1.2.0/23", &n);	/* inside mid: mid's part is the whole /23 */
	CHECK_STR(got, "mid 10.1.2.0/23;small 10.1.2.0/24;host 10.1.3.4/32;");
	free(got);
	got = overlaps(map, "10.1.2.200/32", &n);	/* a host: its longest prefix only */
	CHECK_STR(got, "small 10.1.2.200/32;");
	free(got);
	got = overlaps(map, "11.0.0.0/8", &n);
	CHECK_STR(got, "");
	CHECK_INT(n, 0);
	free(got);
	prefixmap_free(map);
}

TEST(prefixmap, overlaps_spans_the_tries_of_a_short_network)
{
	struct prefixmap *map = prefixmap_new();
	char *got;
	size_t n;

	/* prefixes of 16 bits and more live in tries picked by their first 16 bits */
	REQUIRE(add(map, "20.0.0.0/12", "short") == 0);
	REQUIRE(add(map, "20.0.5.0/24", "short") == 0);		/* inside short's /12: once */
	REQUIRE(add(map, "20.3.0.0/16", "c") == 0);
	REQUIRE(add(map, "20.200.0.0/16", "d") == 0);
	REQUIRE(add(map, "21.0.0.0/16", "outside") == 0);
	REQUIRE(add(map, "2001:db8::/32", "v6") == 0);
	got = overlaps(map, "20.0.0.0/8", &n);
	CHECK_STR(got, "short 20.0.0.0/12;c 20.3.0.0/16;d 20.200.0.0/16;");
	CHECK_INT(n, 3);
	free(got);
	got = overlaps(map, "20.0.0.0/14", &n);	/* short covers it; c is inside */
	CHECK_STR(got, "short 20.0.0.0/14;c 20.3.0.0/16;");
	free(got);
	got = overlaps(map, "2001:db8:1::/48", &n);
	CHECK_STR(got, "v6 2001:db8:1::/48;");
	free(got);
	got = overlaps(map, "2001::/16", &n);
	CHECK_STR(got, "v6 2001:db8::/32;");
	free(got);
	prefixmap_free(map);
}

TEST(prefixmap, overlaps_of_a_slash_8_cost_what_its_customers_cost)
{
	struct prefixmap *map = prefixmap_new();
	char prefix[32], err[128];
	struct ipaddr a;
	size_t i, n;
	char *got;

	/* 20,000 customers' /32s spread over a /8: one part each, no enumeration of 16M addresses */
	for (i = 0; i < 20000; i++) {
		snprintf(prefix, sizeof(prefix), "30.%zu.%zu.%zu", (i * 7) % 256, (i / 256) % 256, i % 251);
		if (ipaddr_parse(prefix, &a) != 0 || prefixmap_add(map, &a, 32, "many", "n@example.net", err,
		    sizeof(err)) != 0)
			continue;
	}
	REQUIRE(add(map, "30.0.0.0/9", "half") == 0);
	got = overlaps(map, "30.0.0.0/8", &n);
	/* half's /9 and the /32s outside it, each its own part; those inside half's /9
	 * belong to another account, so they count too */
	CHECK_INT(n, prefixmap_prefix_count(map));
	free(got);
	prefixmap_free(map);
}

static int
str_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted_lines - "a;b;c;" split, sorted, joined again (caller frees) */
static char *
sorted_lines(const char *text)
{
	char *copy = xstrdup(text), *save = NULL, *tok, **v = NULL;
	struct buf b = BUF_INIT;
	size_t n = 0, i;

	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		v = xreallocarray(v, n + 1, sizeof(char *));
		v[n++] = tok;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), str_order);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s;", v[i]);
	free(v);
	free(copy);
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* overlaps_brute - what prefixmap_overlaps should say of NET/LEN, by scanning HAVE */
static char *
overlaps_brute(const struct rprefix *have, size_t n, const struct ipaddr *net, unsigned len)
{
	struct buf b = BUF_INIT;
	char text[IPADDR_STRLEN];
	int cover = -1, enclosing;
	size_t i, j;

	for (i = 0; i < n; i++)
		if (have[i].a.family == net->family && have[i].plen <= len &&
		    bits_match(have[i].a.bytes, net->bytes, have[i].plen) && (cover < 0 || have[i].plen > have[cover].plen))
			cover = (int)i;
	if (cover >= 0) {
		ipaddr_format(net, text, sizeof(text));
		buf_printf(&b, "acct%d %s/%u;", have[cover].acct, text, len);
	}
	for (i = 0; i < n; i++) {
		if (have[i].a.family != net->family || have[i].plen <= len ||
		    !bits_match(have[i].a.bytes, net->bytes, len))
			continue;
		enclosing = cover;	/* the nearest prefix around it, inside the network or covering it */
		for (j = 0; j < n; j++)
			if (j != i && have[j].a.family == net->family && have[j].plen > len &&
			    have[j].plen < have[i].plen && bits_match(have[j].a.bytes, have[i].a.bytes, have[j].plen) &&
			    (enclosing == cover || have[j].plen > have[enclosing].plen))
				enclosing = (int)j;
		if (enclosing >= 0 && have[enclosing].acct == have[i].acct)
			continue;	/* nested in a prefix of the same account: said once */
		ipaddr_format(&have[i].a, text, sizeof(text));
		buf_printf(&b, "acct%d %s/%u;", have[i].acct, text, have[i].plen);
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

TEST(prefixmap, random_overlaps_agree_with_a_linear_scan)
{
	struct rprefix *have = calloc(NPREFIX, sizeof(*have));
	struct prefixmap *map = prefixmap_new();
	struct parts_seen seen;
	char text[IPADDR_STRLEN];
	size_t n = 0, nonempty = 0;
	int i, wrong = 0;

	fill_random_map(map, have, &n);
	for (i = 0; i < 2000; i++) {
		const struct rprefix *p = &have[rnd() % n];
		unsigned bits = ipaddr_bits(&p->a), len;
		struct ipaddr net;
		char *want, *got, *got_sorted, *brute;

		/* a network around a customer prefix (mostly), or inside one */
		if (rnd() % 4 != 0 || p->plen == bits)
			len = 4 + (unsigned)(rnd() % (p->plen > 4 ? p->plen - 3 : 1));
		else
			len = p->plen + 1 + (unsigned)(rnd() % (bits - p->plen));
		random_within(&p->a, p->plen < len ? p->plen : len, &net);
		mask_to(&net, len);
		memset(&seen, 0, sizeof(seen));
		prefixmap_overlaps(map, &net, len, note_part, &seen);
		got = seen.text.data ? buf_steal(&seen.text) : xstrdup("");
		got_sorted = sorted_lines(got);
		brute = overlaps_brute(have, n, &net, len);
		want = sorted_lines(brute);
		free(brute);
		nonempty += *want != '\0';
		if (strcmp(got_sorted, want) != 0 && wrong++ < 3) {
			ipaddr_format(&net, text, sizeof(text));
			fprintf(stderr, "    %s/%u:\n      got  %.300s\n      want %.300s\n", text, len, got_sorted, want);
		}
		free(got);
		free(got_sorted);
		free(want);
	}
	CHECK_INT(wrong, 0);
	CHECK(nonempty > 1000);	/* the queries did reach customers */
	prefixmap_free(map);
	free(have);
}

/* owner_at - name of the account owning ADDR at WHEN, or NULL */
static const char *
owner_at(const struct prefixmap *map, const char *addr, time_t when)
{
	const struct account *acct;
	struct ipaddr a;

	if (ipaddr_parse(addr, &a) != 0)
		return "(test bug: bad address)";
	acct = prefixmap_lookup_at(map, &a, when);
	return acct ? acct->name : NULL;
}

TEST(prefixmap, a_prefix_moves_between_customers_with_valid_from)
{
	int rc;
	char err[256] = "";
	struct prefixmap *map = load("prefix,account,email,valid_from,valid_until\n"
	    "10.0.0.0/8,isp,noc@isp.example,,\n"
	    "10.1.0.0/16,acme,noc@acme.example,,2026-06-01\n"
	    "10.1.0.0/16,beta,noc@beta.example,2026-06-01,2026-07-01 12:00+02:00\n", &rc, err, sizeof(err));
	time_t move = 1780272000;	/* 2026-06-01 00:00 UTC */
	time_t end = 1782900000;	/* 2026-07-01 10:00 UTC */

	REQUIRE(rc == 0);
	CHECK_INT(prefixmap_prefix_count(map), 2);
	CHECK_STR(owner_at(map, "10.1.2.3", move - 1), "acme");
	CHECK_STR(owner_at(map, "10.1.2.3", move), "beta");
	CHECK_STR(owner_at(map, "10.1.2.3", end - 1), "beta");
	CHECK_STR(owner_at(map, "10.1.2.3", end), "isp");	/* nobody's /16 then: the covering /8 */
	CHECK_STR(owner_at(map, "10.2.0.1", move - 1), "isp");
	prefixmap_free(map);
}

TEST(prefixmap, owners_of_one_prefix_must_not_overlap_in_time)
{
	CHECK_STR(load_error("prefix,account,email,valid_from,valid_until\n"
	    "10.1.0.0/16,acme,noc@acme.example,,2026-06-02\n"
	    "10.1.0.0/16,beta,noc@beta.example,2026-06-01,\n"),
	    "customers.csv:3: prefix 10.1.0.0/16 already belongs to account \"acme\" for part of that time "
	    "(valid_from/valid_until overlap)");
	CHECK_STR(load_error("prefix,account,email,valid_until\n"
	    "10.1.0.0/16,acme,noc@acme.example,\n"
	    "10.1.0.0/16,beta,noc@beta.example,2026-06-01\n"),
	    "customers.csv:3: prefix 10.1.0.0/16 already belongs to account \"acme\" for part of that time "
	    "(valid_from/valid_until overlap)");
	CHECK_STR(load_error("prefix,account,email,valid_from\n10.1.0.0/16,acme,noc@acme.example,June\n"),
	    "customers.csv:2: bad valid_from \"June\"");
	CHECK_STR(load_error("prefix,account,email,valid_from,valid_until\n"
	    "10.1.0.0/16,acme,noc@acme.example,2026-06-01,2026-06-01\n"),
	    "customers.csv:2: valid_from is not before valid_until");
}

TEST(prefixmap, rows_of_one_account_at_overlapping_times_merge)
{
	int rc;
	char err[256] = "";
	struct prefixmap *map = load("prefix,account,email,valid_from\n"
	    "10.1.0.0/16,acme,a@acme.example,2026-06-01\n"
	    "10.1.0.0/16,acme,b@acme.example,\n", &rc, err, sizeof(err));
	struct ipaddr a;
	const struct account *acct;

	REQUIRE(rc == 0);
	ipaddr_parse("10.1.0.1", &a);
	acct = prefixmap_lookup_at(map, &a, 0);
	REQUIRE(acct != NULL);
	CHECK_STR(acct->name, "acme");
	CHECK_INT(acct->nemails, 2);
	prefixmap_free(map);
}
