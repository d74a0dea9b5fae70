/*
 * digest - an account's notices of one day as ONE mail
 *
 * See digest.h. The digest template (digest.txt) sees its own variables,
 * digest_vars: the day, the counts, and the list of sections, each the
 * part's title and text as rendered when its report came (so each keeps the
 * deadline and hosts it had then).
 */
#include "notice/digest.h"
#include "notice/mailheader.h"
#include "notice/notice.h"
#include "notice/template.h"
#include "config/config.h"
#include "store/digestparts.h"
#include "store/outbox.h"
#include "store/store.h"
#include "base/lang.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_TEMPLATE "digest_section.txt"
#define DIGEST_TEMPLATE "digest.txt"

/* strip_trailing_newlines - S without the blank lines at its end */
static char *
strip_trailing_newlines(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && s[len - 1] == '\n')
		s[--len] = '\0';
	return s;
}

/* copy_list - V[0..N) duplicated, NULL-ended */
static char **
copy_list(char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(char *));
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

int
digest_part_make(const struct notice_input *in, const struct notice *n, const char *lang, struct digest_part *p,
    char *err, size_t errlen)
{
	struct template *t = template_load_file(in->cfg->template_dir, template_shipped_dir(), lang, SECTION_TEMPLATE,
	    notice_template_vars(), err, errlen);
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (t == NULL)
		return -1;
	if (notice_render_section(in, t, n, &p->title, &p->section, err, errlen) == 0) {
		strip_trailing_newlines(p->section);
		p->key = xstrdup(n->key);
		p->report_ref = xstrdup(in->report_ref ? in->report_ref : "");
		p->report_type = xstrdup(n->report_type);
		p->account = xstrdup(n->account);
		p->action = n->action_required;
		p->lang = xstrdup(template_lang(t));
		p->to = copy_list(n->to, n->nto);
		p->nto = n->nto;
		p->cc = copy_list(n->cc, n->ncc);
		p->ncc = n->ncc;
		p->created = in->now;
		rc = 0;
	}
	template_free(t);
	return rc;
}

int
digest_keep(struct db *db, const struct notice_input *in, const struct notice *n, const char *lang,
    const char *queue_id, int *added, char *err, size_t errlen)
{
	struct digest_part *p = xcalloc(1, sizeof(*p));
	int rc;

	*added = 0;
	if ((rc = digest_part_make(in, n, lang, p, err, errlen)) == 0) {
		p->queue_id = xstrdup(queue_id ? queue_id : "");
		rc = digest_part_add(db, p, in->now, added, err, errlen) == 0 ? 0 : -2;
	}
	digest_parts_free(p, 1);
	return rc;
}

/* part_order - those that need action first, then by report type, age and
 * id: the order digest_parts_waiting reads them in */
static int
part_order(const void *a, const void *b)
{
	const struct digest_part *x = a, *y = b;
	int c;

	if (x->action != y->action)
		return x->action ? -1 : 1;
	if ((c = strcmp(x->report_type, y->report_type)) != 0)
		return c;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

void
digest_parts_order(struct digest_part *parts, size_t n)
{
	qsort(parts, n, sizeof(*parts), part_order);
}

/*
 * local_instant - the instant the local clock shows MINUTE past midnight on
 * day Y-M-D (struct tm's fields): asked once as standard and once as summer
 * time, the earlier of the readings that really show that time. So the
 * hour that comes twice when the clocks go back counts at its first
 * passing, and a time the clocks skip takes the earlier reading: the same
 * answer in every process, where mktime's tm_isdst -1 guesses from its
 * previous call (two MX hosts, or one daemon before and after midnight,
 * would disagree by an hour and build two digests for one day).
 */
static time_t
local_instant(int y, int m, int d, unsigned minute)
{
	time_t best = (time_t)-1, any = (time_t)-1, t;
	int isdst;

	for (isdst = 0; isdst <= 1; isdst++) {
		struct tm tm = { .tm_year = y, .tm_mon = m, .tm_mday = d, .tm_hour = (int)(minute / 60),
		    .tm_min = (int)(minute % 60), .tm_isdst = isdst };

		if ((t = mktime(&tm)) == (time_t)-1)
			continue;
		if (any == (time_t)-1 || t < any)
			any = t;
		if (tm.tm_isdst == isdst && tm.tm_hour == (int)(minute / 60) && tm.tm_min == (int)(minute % 60) &&
		    (best == (time_t)-1 || t < best))
			best = t;
	}
	return best != (time_t)-1 ? best : any;
}

time_t
digest_cutoff(const struct config *cfg, time_t now, char *day, size_t daylen)
{
	struct tm tm;
	time_t cut;

	localtime_r(&now, &tm);
	if ((cut = local_instant(tm.tm_year, tm.tm_mon, tm.tm_mday, cfg->digest_minute)) > now) {
		/* not yet today: yesterday's (its date found at noon, clear of any clock change) */
		tm.tm_mday -= 1;
		tm.tm_hour = 12;
		tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		mktime(&tm);
		cut = local_instant(tm.tm_year, tm.tm_mon, tm.tm_mday, cfg->digest_minute);
	}
	snprintf(day, daylen, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return cut;
}

/* --- the digest mail ----------------------------------------------------- */

struct digest_ctx {
	const struct config *cfg;
	const struct lang *lang;
	const char *account;
	const struct digest_part *parts;
	size_t n, nactions;
	struct buf scratch;
	char *date;			/* the day, as the language writes it */
};

enum digest_var {
	DV_SECTIONS, DV_SECTION_TITLE, DV_SECTION_TEXT, DV_SECTION_ACTION, DV_DATE, DV_REPORT_COUNT,
	DV_ONE_REPORT, DV_ACTION_COUNT, DV_ACTION_REQUIRED, DV_ACCOUNT, DV_ORGANIZATION, DV_SIGNATURE,
	DV_SUPPORT_ADDRESS, DV_NVARS
};

static const char *const digest_var_names[DV_NVARS] = {
	"sections", "section_title", "section_text", "section_action", "date", "report_count", "one_report",
	"action_count", "action_required", "account", "organization", "signature", "support_address",
};

static int
digest_resolve(const char *name, int *is_list)
{
	int i;

	for (i = 0; i < DV_NVARS; i++)
		if (strcmp(digest_var_names[i], name) == 0) {
			*is_list = i == DV_SECTIONS;
			return i;
		}
	return -1;
}

static const char *
count_text(struct digest_ctx *c, size_t n)
{
	buf_reset(&c->scratch);
	buf_printf(&c->scratch, "%zu", n);
	return buf_cstr(&c->scratch);
}

/* section_get - a section's variable for item ITEM, NULL outside the list */
static const char *
section_get(struct digest_ctx *c, int id, long item)
{
	if (item < 0 || (size_t)item >= c->n)
		return NULL;
	if (id == DV_SECTION_TITLE)
		return c->parts[item].title;
	if (id == DV_SECTION_TEXT)
		return c->parts[item].section;
	return c->parts[item].action ? "yes" : "";
}

static const char *
digest_get(void *ctx, int id, const char *name, long item)
{
	struct digest_ctx *c = ctx;

	(void)name;
	switch (id) {
	case DV_SECTION_TITLE: case DV_SECTION_TEXT: case DV_SECTION_ACTION:
		return section_get(c, id, item);
	case DV_DATE: return c->date;
	case DV_REPORT_COUNT: return count_text(c, c->n);
	case DV_ONE_REPORT: return c->n == 1 ? "yes" : "";
	case DV_ACTION_COUNT: return count_text(c, c->nactions);
	case DV_ACTION_REQUIRED: return c->nactions ? "yes" : "";
	case DV_ACCOUNT: return c->account;
	case DV_ORGANIZATION: return c->cfg->organization;
	case DV_SIGNATURE: return *c->cfg->signature ? c->cfg->signature : c->cfg->organization;
	case DV_SUPPORT_ADDRESS: return c->cfg->support_address;
	default: return NULL;
	}
}

static size_t
digest_count(void *ctx, int id)
{
	struct digest_ctx *c = ctx;

	return id == DV_SECTIONS ? c->n : 0;
}

static const struct template_vars digest_vars = { digest_resolve };

/* digest_date - DAY ("YYYY-MM-DD") as language L writes a date */
static char *
digest_date(const struct lang *l, const char *day)
{
	struct buf b = BUF_INIT;
	int y, m, d;
	time_t t;

	if (sscanf(day, "%d-%d-%d", &y, &m, &d) != 3 || utc_time(y, m, d, 12, 0, 0, &t) != 0)
		return xstrdup(day);
	lang_long_date(l, t, &b);
	return buf_steal(&b);
}

/* the digest as a notice: what notice_headers and the outbox need */
struct digest_mail {
	struct notice n;
	char *message;
	char *lang;
};

/* digest_identity - the key and Message-ID of the digest of ACCOUNT for DAY whose first part is FIRST */
static void
digest_identity(const struct config *cfg, const char *account, const char *day, long long first,
    struct notice *n)
{
	char ref[64];
	struct notice_key k;

	snprintf(ref, sizeof(ref), "%s#%lld", day, first);
	k = (struct notice_key){ ref, "digest", account, NOTICE_FINDINGS };
	n->key = notice_key_text(&k);
	n->message_id = notice_key_message_id(&k, strchr(cfg->notice_from, '@') + 1);
}

/* mail_notice - the digest's notice fields: recipients of its newest part, its identity */
static void
mail_notice(struct digest_ctx *c, const char *day, struct notice *n)
{
	const struct digest_part *last = &c->parts[0];
	long long first = c->parts[0].id;
	size_t i;

	for (i = 1; i < c->n; i++) {
		if (c->parts[i].created >= last->created)
			last = &c->parts[i];
		if (c->parts[i].id < first)
			first = c->parts[i].id;
	}
	memset(n, 0, sizeof(*n));
	n->account = xstrdup(c->account);
	n->report_type = xstrdup("digest");
	n->reference = xstrdup("");
	n->to = copy_list(last->to, last->nto);
	n->nto = last->nto;
	n->cc = copy_list(last->cc, last->ncc);
	n->ncc = last->ncc;
	n->rcpt = xcalloc(n->nto + n->ncc + 1, sizeof(char *));
	for (i = 0; i < n->nto; i++)
		n->rcpt[n->nrcpt++] = n->to[i];
	for (i = 0; i < n->ncc; i++)
		n->rcpt[n->nrcpt++] = n->cc[i];
	n->action_required = c->nactions > 0;
	digest_identity(c->cfg, c->account, day, first, n);
}

int
digest_render(const struct config *cfg, const char *account, const char *day, const struct digest_part *parts,
    size_t n, time_t now, struct notice *m, char *err, size_t errlen)
{
	struct template *t = template_load_file(cfg->template_dir, template_shipped_dir(), parts[0].lang,
	    DIGEST_TEMPLATE, &digest_vars, err, errlen);
	struct digest_ctx c = { cfg, NULL, account, parts, n, 0, BUF_INIT, NULL };
	struct template_scope scope = { digest_get, digest_count, &c };
	struct buf subject = BUF_INIT, body = BUF_INIT, msg = BUF_INIT;
	size_t i;
	int rc = -1;

	if (t == NULL)
		return -1;
	c.lang = lang_get(template_lang(t));
	c.date = digest_date(c.lang, day);
	for (i = 0; i < n; i++)
		c.nactions += parts[i].action != 0;
	if (template_render_subject(t, &scope, &subject, err, errlen) == 0 &&
	    template_render_body(t, &scope, &body, err, errlen) == 0) {
		mail_notice(&c, day, m);
		m->subject = text_clean(buf_cstr(&subject), 500);
		notice_headers(&msg, cfg, now, m, "digest", template_lang(t));
		buf_putc(&msg, '\n');
		notice_append_body(&msg, buf_cstr(&body));
		m->message = buf_steal(&msg);
		m->made = 1;
		rc = 0;
	}
	buf_free(&subject);
	buf_free(&body);
	buf_free(&c.scratch);
	free(c.date);
	template_free(t);
	return rc;
}

/* check_one - NAME in LANG ("" English) parses with VARS */
static int
check_one(const struct config *cfg, const char *lang, const char *name, const struct template_vars *vars,
    char *err, size_t errlen)
{
	struct template *t = template_load_file(cfg->template_dir, template_shipped_dir(), lang, name, vars, err,
	    errlen);

	template_free(t);
	return t ? 0 : -1;
}

int
digest_templates_check(const struct config *cfg, const struct template_set *set, char *err, size_t errlen)
{
	const char *langs[32];
	size_t n = template_set_languages(set, langs, 32), i;

	if (n > 32)
		n = 32;
	if (check_one(cfg, "", SECTION_TEMPLATE, notice_template_vars(), err, errlen) != 0 ||
	    check_one(cfg, "", DIGEST_TEMPLATE, &digest_vars, err, errlen) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (check_one(cfg, langs[i], SECTION_TEMPLATE, notice_template_vars(), err, errlen) != 0 ||
		    check_one(cfg, langs[i], DIGEST_TEMPLATE, &digest_vars, err, errlen) != 0)
			return -1;
	return 0;
}

/* --- building the due digests -------------------------------------------- */

/* queue_digest - M into the outbox on DB with the parts it lists taken: 1
 * queued, 0 another host took a part first (DB must roll back), -1 */
static int
queue_digest(struct db *db, const struct notice *m, const char *day, const struct digest_part *parts, size_t n,
    time_t now, char *err, size_t errlen)
{
	char ref[64];
	struct outbox_item it = { m->key, ref, "digest", m->account, m->rcpt, m->nrcpt, m->message, NULL };
	int added, rc;

	snprintf(ref, sizeof(ref), "digest %s", day);
	if ((rc = digest_parts_take(db, parts, n, m->key, err, errlen)) != 0)
		return rc < 0 ? -1 : 0;
	if (outbox_add(db, &it, now, &added, err, errlen) != 0)
		return -1;
	return added;	/* 0: the same digest was queued already */
}

/* parts_that_fit - how many of PARTS[0..N), in their order, fit in CAP bytes
 * by their sections (the rendered mail is checked after): at least one */
static size_t
parts_that_fit(const struct digest_part *parts, size_t n, unsigned long long cap)
{
	unsigned long long size = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		size += strlen(parts[k].title) + strlen(parts[k].section) + 2;
		if (size > cap)
			break;
	}
	return k > 0 ? k : 1;
}

/* render_capped - the digest of the first *K of PARTS[0..N) into M, *K cut
 * until the mail is within DigestMaxSize (one part always): 0, or -1 with ERR */
static int
render_capped(const struct config *cfg, const char *account, const char *day, const struct digest_part *parts,
    size_t n, time_t now, struct notice *m, size_t *k, char *err, size_t errlen)
{
	unsigned long long cap = cfg->digest_max_size, size;
	size_t fewer;

	*k = parts_that_fit(parts, n, cap);
	for (;;) {
		if (digest_render(cfg, account, day, parts, *k, now, m, err, errlen) != 0)
			return -1;
		if (*k == 1 || (size = strlen(m->message)) <= cap)
			return 0;
		fewer = (size_t)((unsigned long long)*k * cap / size);	/* as many as the size says fit */
		*k = fewer >= *k ? *k - 1 : fewer > 0 ? fewer : 1;
		notice_free(m);
		memset(m, 0, sizeof(*m));
	}
}

/* build_one - ACCOUNT's next digest of the parts made before CUTOFF (as many
 * as DigestMaxSize holds, in their order), in one transaction: 1 built, 0
 * nothing to build (or another host built it), -1 */
static int
build_one(const struct config *cfg, struct store *st, const char *account, time_t cutoff, const char *day,
    time_t now, char *err, size_t errlen)
{
	struct db *db = store_begin(st, err, errlen);
	struct digest_part *parts = NULL;
	struct notice m;
	size_t n = 0, k = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	if (db == NULL)
		return -1;
	if ((rc = digest_parts_waiting(db, account, cutoff, &parts, &n, err, errlen)) == 0 && n > 0 &&
	    (rc = render_capped(cfg, account, day, parts, n, now, &m, &k, err, errlen)) == 0)
		rc = queue_digest(db, &m, day, parts, k, now, err, errlen);
	if (rc == 1 && store_commit(st, db, err, errlen) != 0)
		rc = -1;
	else if (rc != 1)
		store_abort(st, db);
	digest_parts_free(parts, n);
	notice_free(&m);
	return rc;
}

int
digest_build_due(const struct config *cfg, struct store *st, time_t now, int all, size_t *built,
    digest_failed_fn failed, void *ctx, char *err, size_t errlen)
{
	char day[48], **accounts, why[512];
	long long pruned;
	time_t cutoff = digest_cutoff(cfg, now, day, sizeof(day));
	size_t n, i;
	int rc = 0, one;

	*built = 0;
	if (st == NULL || !store_has_outbox(st))
		return 0;
	if (all) {	/* every waiting part, as of today */
		struct tm tm;

		localtime_r(&now, &tm);
		snprintf(day, sizeof(day), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		cutoff = now + 1;
	}
	/* the parts of built digests are kept RetainDays, as sent notices are */
	if (digest_parts_prune(st, now - (time_t)cfg->retain_days * 86400, &pruned, err, errlen) != 0 ||
	    digest_accounts_due(st, cutoff, &accounts, &n, err, errlen) != 0)
		return -1;
	/*
	 * one account's failure does not hold back the others'; an account's
	 * parts over DigestMaxSize make more digests, until none is left (each
	 * digest built takes one part at least, so this ends; a failure or
	 * another host's digest ends it too)
	 */
	for (i = 0; i < n; i++) {
		while ((one = build_one(cfg, st, accounts[i], cutoff, day, now, why, sizeof(why))) == 1)
			(*built)++;
		if (one < 0) {
			if (failed)
				failed(ctx, accounts[i], why);
			rc = 1;
		}
	}
	digest_accounts_free(accounts, n);
	return rc;
}
