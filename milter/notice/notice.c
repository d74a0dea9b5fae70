/*
 * notice - one customer's notice for one report type, as an RFC 5322 message
 *
 * See notice.h. The message around the rendered template: the recipients,
 * the headers (built only by mailheader), the body's lines kept within
 * SMTP's limit, the notice's key and Message-ID. What the template sees,
 * the table of variables and their getters, is noticefields.c's
 * (notice_render).
 */
#include "notice/notice.h"
#include "report/catalogue.h"
#include "config/config.h"
#include "report/findings.h"
#include "notice/mailheader.h"
#include "customers/accounts.h"
#include "customers/prefixmap.h"
#include "store/state.h"
#include "notice/template.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_LINE_MAX 990	/* RFC 5322 allows 998 octets per line */

int
notice_needs_action(const struct config *cfg, const struct catalogue_entry *e)
{
	/* a type nobody rated may be ShadowServer's newest critical report: never play it down */
	if (e == NULL || *e->severity == '\0')
		return 1;
	return (catalogue_severity_bit(e->severity) & cfg->action_severities) != 0;
}

void
notice_endpoint(const struct ipaddr *ip, int port, char *out, size_t outlen)
{
	char addr[IPADDR_STRLEN];

	ipaddr_format(ip, addr, sizeof(addr));
	if (port < 0)
		snprintf(out, outlen, "%s", addr);
	else if (ip->family == AF_INET6)
		snprintf(out, outlen, "[%s]:%d", addr, port);
	else
		snprintf(out, outlen, "%s:%d", addr, port);
}

/* notice_key_of - the notice's identity (noticekey.h) */
static struct notice_key
notice_key_of(const struct notice_input *in, const char *account)
{
	struct notice_key k = { in->report_ref ? in->report_ref : "", in->rf->type, account, in->kind };

	return k;
}

/* in_list - is ADDR (any case) one of LIST[0..N)? */
static int
in_list(char *const *list, size_t n, const char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ascii_strcasecmp(list[i], addr) == 0)
			return 1;
	return 0;
}

/* copy_cc - the account's cc (AccountSettings) that To does not name already */
static void
copy_cc(struct notice *out, const struct account_settings *s)
{
	size_t i;

	out->cc = xcalloc((s ? s->ncc : 0) + 1, sizeof(char *));
	for (i = 0; s && i < s->ncc; i++)
		if (!in_list(out->to, out->nto, s->cc[i]) && !in_list(out->cc, out->ncc, s->cc[i]))
			out->cc[out->ncc++] = xstrdup(s->cc[i]);
}

/* copy_recipients - To (the map's addresses), Cc (the settings'), and both as the envelope's */
static void
copy_recipients(struct notice *out, const struct account *a)
{
	size_t i;

	if (a == NULL) {
		out->to = xcalloc(1, sizeof(char *));
		out->to[0] = xstrdup("customer@example.com");
		out->nto = 1;
	} else {
		out->to = xcalloc(a->nemails + 1, sizeof(char *));
		for (i = 0; i < a->nemails; i++)
			out->to[i] = xstrdup(a->emails[i]);
		out->nto = a->nemails;
	}
	copy_cc(out, out->settings);
	out->rcpt = xcalloc(out->nto + out->ncc + 1, sizeof(char *));
	for (i = 0; i < out->nto; i++)
		out->rcpt[out->nrcpt++] = out->to[i];
	for (i = 0; i < out->ncc; i++)
		out->rcpt[out->nrcpt++] = out->cc[i];
}

void
notice_headers(struct buf *msg, const struct config *cfg, time_t now, const struct notice *n, const char *type,
    const char *lang)
{
	struct buf v = BUF_INIT;
	char date[64];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	header_append(msg, "Date", date);
	buf_printf(&v, "<%s>", n->message_id);
	header_append(msg, "Message-ID", buf_cstr(&v));
	buf_reset(&v);
	buf_puts(&v, "\"");
	for (const char *p = cfg->organization; *p; p++)
		if (*p != '"' && *p != '\\')
			buf_putc(&v, *p);
	buf_printf(&v, "\" <%s>", cfg->notice_from);
	header_append(msg, "From", buf_cstr(&v));
	header_append(msg, "Reply-To", cfg->support_address);
	header_append_list(msg, "To", n->to, n->nto);
	if (n->ncc)	/* a reseller, say (AccountSettings cc): folded, never cut */
		header_append_list(msg, "Cc", n->cc, n->ncc);
	header_append(msg, "Subject", n->subject);
	header_append(msg, "MIME-Version", "1.0");
	header_append(msg, "Content-Type", "text/plain; charset=utf-8");
	header_append(msg, "Content-Transfer-Encoding", "8bit");
	if (*lang)	/* a template of a language directory; English ones say nothing, as before */
		header_append(msg, "Content-Language", lang);
	header_append(msg, "Auto-Submitted", "auto-generated");
	header_append(msg, "X-Shadowmilter-Account", n->account);
	header_append(msg, "X-Shadowmilter-Report-Type", type);
	if (*n->reference)
		header_append(msg, "X-Shadowmilter-Reference", n->reference);
	buf_free(&v);
}

void
notice_append_body(struct buf *msg, const char *body)
{
	const char *line = body;

	while (*line) {
		size_t len = strcspn(line, "\n");

		while (len > BODY_LINE_MAX) {
			buf_append(msg, line, BODY_LINE_MAX);
			buf_putc(msg, '\n');
			line += BODY_LINE_MAX;
			len -= BODY_LINE_MAX;
		}
		buf_append(msg, line, len);
		buf_putc(msg, '\n');
		line += len + (line[len] == '\n');
	}
}

/* fell_back - template_set_find gave generic.tmpl: there was no file of the name asked for */
static int
fell_back(const struct template *t)
{
	const char *path = template_path(t), *slash = strrchr(path, '/');

	return strcmp(slash ? slash + 1 : path, "generic.tmpl") == 0;
}

struct template_set *
notice_templates_load(const struct config *cfg, char *err, size_t errlen)
{
	return template_set_load(cfg->template_dir, template_shipped_dir(), notice_template_vars(), err, errlen);
}

const struct template *
notice_template_find(const struct template_set *set, const struct config *cfg, const char *type, char *err,
    size_t errlen)
{
	return notice_template_find_lang(set, cfg, type, NULL, err, errlen);
}

const struct template *
notice_template_find_lang(const struct template_set *set, const struct config *cfg, const char *type,
    const char *lang, char *err, size_t errlen)
{
	const struct catalogue_entry *e = catalogue_lookup(cfg->catalogue, type);
	const struct template *t = NULL;
	const char *names[4];
	size_t n = 0, i;

	names[n++] = type;
	if (e && strcmp(e->type, type) != 0)
		names[n++] = e->type;
	if (e && *e->template)
		names[n++] = e->template;
	if (e && e->kind == CATALOGUE_EVENT)
		names[n++] = "generic_event";
	for (i = 0; i < n; i++) {
		t = template_set_find_lang(set, lang, 0, names[i], err, errlen);
		if (t == NULL || !fell_back(t))
			break;
	}
	return t;
}

const struct template *
notice_resolved_template_find(const struct template_set *set, const char *type, char *err, size_t errlen)
{
	return template_set_find(set, 1, type, err, errlen);
}

const struct template *
notice_resolved_template_find_lang(const struct template_set *set, const char *type, const char *lang,
    char *err, size_t errlen)
{
	return template_set_find_lang(set, lang, 1, type, err, errlen);
}

void
notice_init(struct notice *n, const struct notice_group *g, const struct state_group *h)
{
	size_t i;

	memset(n, 0, sizeof(*n));
	n->customer = g->account;
	n->nfindings = g->nfindings;
	n->findings = xcalloc(g->nfindings + 1, sizeof(*n->findings));
	for (i = 0; i < g->nfindings; i++) {
		n->findings[i].f = g->findings[i];
		n->findings[i].h = h ? &h->findings[i] : NULL;
	}
	n->case_ref = h ? h->reference : NULL;
	n->withheld = h && h->withheld;
	n->held = h && !h->notify && !h->withheld;
}

/* make_message - N's message of the rendered SUBJECT and BODY */
static void
make_message(const struct notice_input *in, int action, const struct template *t, struct notice *n,
    struct buf *subject, const char *body)
{
	struct buf msg = BUF_INIT;
	struct notice_key k;

	n->kind = in->kind;
	n->reference = text_clean(n->case_ref ? n->case_ref : "", 60);
	if (*n->reference)
		buf_printf(subject, " [%s]", n->reference);
	n->account = text_clean(n->customer ? n->customer->name : "example-account", 200);
	n->report_type = text_clean(in->rf->type, 200);
	n->subject = text_clean(buf_cstr(subject), 500);
	k = notice_key_of(in, n->account);
	n->message_id = notice_key_message_id(&k, strchr(in->cfg->notice_from, '@') + 1);
	n->key = notice_key_text(&k);
	n->action_required = action;
	copy_recipients(n, n->customer);
	notice_headers(&msg, in->cfg, in->now, n, in->rf->type, template_lang(t));
	buf_putc(&msg, '\n');
	notice_append_body(&msg, body);
	n->message = buf_steal(&msg);
	n->made = 1;
}

int
notice_build(const struct notice_input *in, const struct template *t, struct notice *n, char *err,
    size_t errlen)
{
	struct buf subject = BUF_INIT, body = BUF_INIT;
	int rc, action;

	notice_drop_message(n);
	n->made = 0;
	if ((rc = notice_render(in, t, n, &subject, &body, &action, err, errlen)) == 0)
		make_message(in, action, t, n, &subject, buf_cstr(&body));
	buf_free(&subject);
	buf_free(&body);
	return rc;
}

int
notice_render_section(const struct notice_input *in, const struct template *t, const struct notice *n,
    char **title, char **text, char *err, size_t errlen)
{
	struct buf subject = BUF_INIT, body = BUF_INIT;
	int rc, action;

	*title = *text = NULL;
	if ((rc = notice_render(in, t, n, &subject, &body, &action, err, errlen)) == 0) {
		*title = text_clean(buf_cstr(&subject), 500);
		*text = buf_steal(&body);
	}
	buf_free(&subject);
	buf_free(&body);
	return rc;
}

void
notice_drop_message(struct notice *n)
{
	size_t i;

	for (i = 0; i < n->nto; i++)
		free(n->to[i]);
	free(n->to);
	for (i = 0; i < n->ncc; i++)
		free(n->cc[i]);
	free(n->cc);
	free(n->rcpt);
	n->cc = n->rcpt = NULL;
	n->ncc = n->nrcpt = 0;
	free(n->account);
	free(n->report_type);
	free(n->reference);
	free(n->subject);
	free(n->message);
	free(n->message_id);
	free(n->key);
	n->to = NULL;
	n->nto = 0;
	n->account = n->report_type = n->reference = n->subject = n->message = n->message_id = n->key = NULL;
	n->action_required = 0;
}

void
notice_free(struct notice *n)
{
	notice_drop_message(n);
	free(n->findings);
	memset(n, 0, sizeof(*n));
}
