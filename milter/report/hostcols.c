/*
 * hostcols - which columns of a ShadowServer report name our host, its port
 * and its transport
 *
 * See hostcols.h. The rules are a table keyed by column names (and, for the
 * one family where the host of ours is the destination, by the type's name),
 * so a new report type with the usual columns needs no change here.
 */
#include "report/hostcols.h"
#include <string.h>

struct rule {
	const char *type_suffix;	/* the rule is for types ending so; NULL: any type */
	const char *address;		/* the host column */
	const char *port[2];		/* its port column: the first present */
};

static const struct rule rules[] = {
	/* typed rules first: when one applies, the generic ones do not */
	{ "_ddos_target", "dst_ip", { "dst_port", NULL } },
	{ NULL, "ip", { "port", "src_port" } },
	{ NULL, "src_ip", { "src_port", NULL } },
	{ NULL, "http_referer_ip", { "http_referer_port", NULL } },
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

static int
column(char *const *names, size_t ncols, const char *name)
{
	size_t i;

	for (i = 0; name && i < ncols; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
rule_applies(const struct rule *r, const char *type, int typed)
{
	if (r->type_suffix == NULL)
		return !typed;
	return typed && ends_with(type, r->type_suffix);
}

/* add_candidates - the rules for TYPED (typed rules or generic ones) found in the header */
static void
add_candidates(struct hostcols *hc, const char *type, char *const *names, size_t ncols, int typed)
{
	size_t i;

	for (i = 0; i < NRULES && hc->nhost < HOSTCOLS_MAX; i++) {
		const struct rule *r = &rules[i];
		int a = column(names, ncols, r->address), p;

		if (!rule_applies(r, type, typed) || a < 0)
			continue;
		if ((p = column(names, ncols, r->port[0])) < 0)
			p = column(names, ncols, r->port[1]);
		hc->host[hc->nhost].address = a;
		hc->host[hc->nhost].port = p;
		hc->host[hc->nhost].port_is_source = p >= 0 && strcmp(names[p], "src_port") == 0;
		hc->host[hc->nhost].name = r->address;
		hc->nhost++;
	}
}

void
hostcols_find(struct hostcols *hc, const char *type, char *const *names, size_t ncols)
{
	memset(hc, 0, sizeof(*hc));
	add_candidates(hc, type ? type : "", names, ncols, 1);
	if (hc->nhost == 0)
		add_candidates(hc, type ? type : "", names, ncols, 0);
	hc->protocol = column(names, ncols, "protocol");
}

const char *
hostcols_names(void)
{
	return "ip, src_ip, http_referer_ip or dst_ip";
}
