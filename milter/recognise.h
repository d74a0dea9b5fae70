/*
 * recognise - is this mail a ShadowServer report, and is it authenticated?
 *
 * A mail is a report when its From address (and the envelope sender, when
 * known) match ReportSenders. It is authenticated when the topmost
 * Authentication-Results header from a trusted authserv-id says dkim=pass for
 * ReportDKIMDomain. Only the topmost trusted header counts: the local
 * verifier inserts its header above everything that arrived, so a header
 * lower down that claims our authserv-id was planted by the sender.
 *
 * Owns: the per-message verdict; nothing global.
 */
#ifndef SM_RECOGNISE_H
#define SM_RECOGNISE_H

#include <stddef.h>

struct config;

struct recognise {
	const struct config *cfg;
	char *from_address;		/* the From header's address, or NULL */
	int from_count;			/* From headers seen (more than one is forged) */
	int from_malformed;		/* From had several or no usable address */
	char *envelope_sender;		/* when known */
	int authres_seen;		/* a trusted Authentication-Results was seen */
	int dkim_pass;			/* ... and it said dkim=pass header.d=domain */
	char *authres_detail;		/* what the deciding header said, for the reason */
};

void recognise_init(struct recognise *rc, const struct config *cfg);
void recognise_free(struct recognise *rc);
void recognise_envelope_sender(struct recognise *rc, const char *sender);

/* recognise_header - feed each top-level header in message order */
void recognise_header(struct recognise *rc, const char *name, const char *value);

/* recognise_from_matches - does this From header value name a report sender?
 * (The milter's early exit for ordinary mail, before the pipeline sees it.) */
int recognise_from_matches(const struct config *cfg, const char *from_value);

/* recognise_is_report - the sender matches ReportSenders */
int recognise_is_report(const struct recognise *rc);

/*
 * recognise_verdict - 1 when the mail is an authenticated report; else 0 and
 * a reason ("not a report: sender ... does not match ReportSenders",
 * "unauthenticated: no Authentication-Results from a trusted authserv-id", ...)
 */
int recognise_verdict(const struct recognise *rc, char *reason, size_t reasonlen);

/*
 * authres_dkim_pass - parse one Authentication-Results value. Stores the
 * authserv-id (malloc'd) in *AUTHSERV_ID; returns 1 when a dkim=pass result
 * has header.d equal to DOMAIN (or header.i ending in @DOMAIN), else 0;
 * -1 when the header cannot be parsed.
 */
int authres_dkim_pass(const char *value, const char *domain, char **authserv_id);

/* mail_address_extract - the single addr-spec in a From-style header, malloc'd, or NULL */
char *mail_address_extract(const char *value);

#endif
