/*
 * notice - one customer's notice for one report type, as an RFC 5322 message
 *
 * Renders the template with the customer's findings only (the group is the
 * whole of what the template can see) and wraps it in headers built by
 * mailheader: Date, Message-ID, From, Reply-To, To, Subject, MIME-Version,
 * Content-Type text/plain UTF-8, Auto-Submitted. The Message-ID is derived
 * from the report reference, type and account, so the same notice made twice
 * has the same id.
 *
 * Owns: the rendered notice.
 */
#ifndef SM_NOTICE_H
#define SM_NOTICE_H

#include <stddef.h>
#include <time.h>

struct config;
struct report_file;
struct notice_group;
struct template;
struct template_scope;
struct ipaddr;

struct notice {
	char *account;
	char **to;
	size_t nto;
	char *subject;		/* as rendered, cleaned (UTF-8) */
	char *message;		/* the whole message, LF line ends */
	char *message_id;	/* without angle brackets */
};

struct notice_input {
	const struct config *cfg;
	const struct report_file *rf;
	const struct notice_group *group;	/* NULL for a preview without findings */
	const char *report_ref;			/* report Message-ID or digest */
	time_t now;
};

int notice_build(const struct notice_input *in, const struct template *t, struct notice *out,
    char *err, size_t errlen);
void notice_free(struct notice *n);

/* notice_endpoint - "192.0.2.1:111" or "[2001:db8::1]:111" (no port: address only) */
void notice_endpoint(const struct ipaddr *ip, int port, char *out, size_t outlen);

#endif
