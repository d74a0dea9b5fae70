/*
 * notice - one customer's notice for one report type, as an RFC 5322 message
 *
 * Renders the template with the customer's findings only (the group is the
 * whole of what the template can see) and wraps it in headers built by
 * mailheader: Date, Message-ID, From, Reply-To, To (Cc: the account's cc in
 * AccountSettings, folded, never cut), Subject, MIME-Version,
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
 * A notice is one object from its group to its message: the customer, the
 * findings each with its history, the case reference and whether the history
 * held it back (notice_init), then the message notice_build makes of it. The
 * pipeline hands lists of these to its callers (pipeline.h), so nothing pairs
 * arrays by index.
 *
 * Owns: the notice's list of findings (not the findings, nor their history)
 * and its message.
 */
#ifndef SM_NOTICE_H
#define SM_NOTICE_H

#include <stddef.h>
#include <time.h>

#include "notice/noticekey.h"

struct buf;
struct config;
struct report_file;
struct notice_group;
struct account_settings;
struct catalogue_entry;
struct template;
struct template_set;
struct template_scope;
struct template_vars;
struct ipaddr;
struct state_finding;
struct state_group;
struct finding;
struct account;

/* a finding a notice lists, with what the detection history knows of it */
struct notice_finding {
	struct finding *f;		/* the report file's */
	const struct state_finding *h;	/* NULL without a state database */
};

/*
 * notice - one customer's notice of one report type, from the group of
 * findings to the message: what it is about (set by notice_init, or by its
 * maker, before notice_build), then the message notice_build makes of it.
 */
struct notice {
	/* what it is about */
	const struct account *customer;	/* whose hosts: name and addresses (prefixmap.h);
					 * NULL for a preview without findings */
	struct notice_finding *findings;	/* sorted, each once (owned) */
	size_t nfindings;
	const char *case_ref;		/* the history's case reference, or NULL */
	int held;			/* the history held it back (RenotifyInterval, a late report) */
	int withheld;			/* the account's settings withheld it (AccountSettings notify):
					 * recorded in the history, not sent */
	int digest;			/* the account takes a daily digest (AccountSettings digest):
					 * made, kept for the day's digest mail (notice/digest.h),
					 * not queued on its own */
	const struct account_settings *settings;	/* the account's AccountSettings (its cc), or
					 * NULL: the defaults (customers/accounts.h) */
	int made;			/* notice_build made the message (a sink or the outbox
					 * may have taken it since: notice_drop_message) */
	/* the message, made by notice_build */
	enum notice_kind kind;
	char *account;
	char *report_type;
	char **to;
	size_t nto;
	char **cc;		/* the account's cc (settings) not already in To */
	size_t ncc;
	char **rcpt;		/* every envelope recipient: to, then cc (the same strings) */
	size_t nrcpt;
	char *subject;		/* as rendered, cleaned (UTF-8), with " [reference]" when there is one */
	char *message;		/* the whole message, LF line ends */
	char *message_id;	/* without angle brackets */
	char *reference;	/* the case reference (detection history), or "" */
	int action_required;	/* an ACTION REQUIRED notice, not an informational one */
	char *key;		/* the idempotency key (notice_key_text) */
};

/* what a notice is rendered against: the report, the config, the time */
struct notice_input {
	const struct config *cfg;
	const struct report_file *rf;
	const char *report_ref;			/* report Message-ID or digest */
	time_t now;
	const struct catalogue_entry *entry;	/* the type's catalogue entry, or NULL */
	enum notice_kind kind;			/* findings, or a resolution confirmation */
};

/*
 * notice_init - N about report group G (report/findings.h): its customer and
 * findings, with H, the group's history (state_apply's group for G, whose
 * findings are G's; NULL without a state database): each finding's history,
 * the case reference, and whether the history holds the notice back or
 * the account's settings withheld it.
 */
void notice_init(struct notice *n, const struct notice_group *g, const struct state_group *h);

/* notice_template_vars - the names a notice template may use (template_vars; noticefields.c) */
const struct template_vars *notice_template_vars(void);

/*
 * notice_render - the SUBJECT and BODY of template T for N, as the variables
 * of noticefields.c read IN and N, dates and words in T's language; *ACTION:
 * does it need action (notice_needs_action). 0, or -1 with ERR (a variable
 * with no value where it is used). notice_build and notice_render_section
 * wrap them.
 */
int notice_render(const struct notice_input *in, const struct template *t, const struct notice *n,
    struct buf *subject, struct buf *body, int *action, char *err, size_t errlen);

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

/*
 * notice_build - N's message from template T: its findings rendered, its
 * headers, its key; N.made is set. N was made by notice_init (or zeroed and
 * filled in by its maker). 0, or -1 with ERR (N keeps what it is about, with
 * no message).
 */
int notice_build(const struct notice_input *in, const struct template *t, struct notice *n,
    char *err, size_t errlen);

/*
 * notice_render_section - N rendered with T (a digest section template,
 * notice/digest.h) as a piece of a larger mail: *TITLE its Subject line
 * (cleaned), *TEXT its body; no headers, no key. 0, or -1 with ERR.
 */
int notice_render_section(const struct notice_input *in, const struct template *t, const struct notice *n,
    char **title, char **text, char *err, size_t errlen);

/*
 * notice_headers - a notice's header block into MSG, the one way notices
 * get headers: Date (NOW), Message-ID, From, Reply-To, To, Cc, Subject, the
 * MIME headers, Content-Language (LANG, "" for none), Auto-Submitted and
 * the X-Shadowmilter ones (report TYPE). N's to, cc, subject, message_id,
 * account and reference are set.
 */
void notice_headers(struct buf *msg, const struct config *cfg, time_t now, const struct notice *n, const char *type,
    const char *lang);

/* notice_append_body - BODY's lines into MSG, hard-wrapped only if a line would break SMTP */
void notice_append_body(struct buf *msg, const char *body);

/* notice_drop_message - N's message went to a sink or the outbox: freed, N.made stays */
void notice_drop_message(struct notice *n);

/* notice_free - all N owns, the findings list too */
void notice_free(struct notice *n);

/* notice_endpoint - "192.0.2.1:111" or "[2001:db8::1]:111" (no port: address only) */
void notice_endpoint(const struct ipaddr *ip, int port, char *out, size_t outlen);

#endif
