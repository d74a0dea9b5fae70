/*
 * notice - one customer's notice for one report type, as an RFC 5322 message
 *
 * Renders the template with the customer's findings only (the group is the
 * whole of what the template can see) and wraps it in headers built by
 * mailheader: Date, Message-ID, From, Reply-To, To, Subject, MIME-Version,
 * Content-Type text/plain UTF-8, Auto-Submitted (and Content-Language when
 * the template is from a language directory, such as de/). The Message-ID and the
 * outbox key both come from the notice's key (noticekey.h: report, type,
 * account, kind), so the same notice made twice has the same id and is
 * queued once.
 *
 * With a state database the template also sees each finding's history (first
 * detection, deadline, overdue) and the case reference, which goes into the
 * subject and an X-Shadowmilter-Reference header; without one those
 * variables are empty, so {{#history}} sections keep today's wording.
 *
 * Besides the report and the config, a template sees the report type's
 * catalogue entry (title, severity, service, port, info page, and for event
 * reports the evidence columns of each finding); a type missing from the
 * catalogue gets plain fallbacks, never an error.
 *
 * Owns: the rendered notice.
 */
#ifndef SM_NOTICE_H
#define SM_NOTICE_H

#include <stddef.h>
#include <time.h>

#include "notice/noticekey.h"

struct config;
struct report_file;
struct notice_group;
struct catalogue_entry;
struct template;
struct template_set;
struct template_scope;
struct template_vars;
struct ipaddr;
struct state_finding;

struct notice {
	char *account;
	char *report_type;
	char **to;
	size_t nto;
	char *subject;		/* as rendered, cleaned (UTF-8), with " [reference]" when there is one */
	char *message;		/* the whole message, LF line ends */
	char *message_id;	/* without angle brackets */
	char *reference;	/* the case reference (detection history), or "" */
	int action_required;	/* an ACTION REQUIRED notice, not an informational one */
	char *key;		/* the idempotency key (notice_key_text) */
};

struct notice_input {
	const struct config *cfg;
	const struct report_file *rf;
	const struct notice_group *group;	/* NULL for a preview without findings */
	const char *report_ref;			/* report Message-ID or digest */
	time_t now;
	const struct catalogue_entry *entry;	/* the type's catalogue entry, or NULL */
	const struct state_finding *history;	/* aligned with group's findings; NULL without
						 * a state database */
	const char *reference;			/* the case reference, or NULL */
	enum notice_kind kind;			/* findings, or a resolution confirmation */
};

/* notice_template_vars - the names a notice template may use (template_vars) */
const struct template_vars *notice_template_vars(void);

/*
 * notice_templates_load - CFG's templates (TemplateDir over the shipped
 * directory), read and parsed once; see template_set_load. NULL with ERR.
 */
struct template_set *notice_templates_load(const struct config *cfg, char *err, size_t errlen);

/*
 * notice_template_find - the template for report TYPE from SET: TYPE.tmpl,
 * else the catalogue's canonical type's (TYPE is an alias), else the
 * catalogue's template column (an IPv6 twin), else generic_event.tmpl for an
 * event report, else generic.tmpl. Each name is looked for in TemplateDir,
 * then in the shipped directory. NULL with ERR; SET keeps ownership.
 */
const struct template *notice_template_find(const struct template_set *set, const struct config *cfg,
    const char *type, char *err, size_t errlen);

/*
 * notice_template_find_lang - the same for a customer who reads LANG ("de";
 * NULL or "" for English): per file, LANG/'s template before the English
 * one of the same name (template_set_find_lang). The notice's dates and the
 * few words the program writes follow the language of the template found.
 */
const struct template *notice_template_find_lang(const struct template_set *set, const struct config *cfg,
    const char *type, const char *lang, char *err, size_t errlen);

/*
 * notice_resolved_template_find - the "all fixed" confirmation for report
 * TYPE (NotifyResolved): resolved/TYPE.tmpl, else resolved/generic.tmpl, in
 * TemplateDir, then in the shipped directory. NULL with ERR.
 */
const struct template *notice_resolved_template_find(const struct template_set *set, const char *type,
    char *err, size_t errlen);
/* notice_resolved_template_find_lang - the same in LANG, per file as notice_template_find_lang */
const struct template *notice_resolved_template_find_lang(const struct template_set *set, const char *type,
    const char *lang, char *err, size_t errlen);

/*
 * notice_needs_action - does a report of catalogue entry E (NULL: a type the
 * catalogue does not know) get an ACTION REQUIRED notice, with a deadline and
 * the consequence? Its severity decides (ActionSeverities); a type without
 * one does. Otherwise the notice is informational: no deadline, no threat.
 */
int notice_needs_action(const struct config *cfg, const struct catalogue_entry *e);

int notice_build(const struct notice_input *in, const struct template *t, struct notice *out,
    char *err, size_t errlen);
void notice_free(struct notice *n);

/* notice_endpoint - "192.0.2.1:111" or "[2001:db8::1]:111" (no port: address only) */
void notice_endpoint(const struct ipaddr *ip, int port, char *out, size_t outlen);

#endif
