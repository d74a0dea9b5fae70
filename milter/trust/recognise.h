/*
 * recognise - is this mail a ShadowServer report, and is it authenticated?
 *
 * A mail is a report when it has exactly one From header and its address
 * matches ReportSenders. The envelope sender decides nothing (a forwarded
 * report keeps its DKIM signature, not its envelope), unless the site sets
 * ReportEnvelopeSenders: then a known envelope sender must match it too.
 *
 * It is authenticated, with VerifyDKIM yes (the default), when our own
 * verification (dkimverify.h) found a good signature of ReportDKIMDomain;
 * the pipeline hands that verdict in. With VerifyDKIM no it is authenticated
 * when the topmost Authentication-Results header from a trusted authserv-id
 * parses strictly and says dkim=pass for ReportDKIMDomain. Only the topmost
 * trusted header counts: the local verifier inserts its header above
 * everything that arrived, so a header lower down that claims our
 * authserv-id was planted by the sender. That holds only when the verifier
 * always adds its header (OpenDKIM: AlwaysAddARHeader yes).
 *
 * Owns: the per-message verdict; nothing global.
 */
#ifndef SM_RECOGNISE_H
#define SM_RECOGNISE_H

#include <stddef.h>

#include "trust/dkimverify.h"

struct config;

struct recognise {
	const struct config *cfg;
	char *from_address;		/* the From header's address, or NULL */
	int from_count;			/* From headers seen (more than one is forged) */
	int from_malformed;		/* From had several or no usable address */
	int seen_ctype, seen_cte;	/* top-level Content-Type, Content-Transfer-Encoding headers */
	int mime_headers_repeated;	/* ... one of them twice */
	int seen_id, seen_subject, seen_date, seen_version;	/* Message-ID, Subject, Date, MIME-Version */
	const char *repeated;		/* the first of those given twice, or NULL */
	int block_too_large;		/* the header block was over HEADER_BLOCK_MAX: not seen whole */
	int block_malformed;		/* ... had a line that is not a header field: DKIM and the
					 * MIME walk would not see the same fields */
	char *envelope_sender;		/* when known */
	int authres_seen;		/* a trusted Authentication-Results was seen */
	int dkim_pass;			/* ... and it said dkim=pass header.d=domain */
	char *authres_detail;		/* what the deciding header said, for the reason */
	char authres_why[128];		/* ... why it could not be parsed, or "" */
	int dkim_known;			/* VerifyDKIM yes: the verification's verdict is in */
	struct dkim_verdict dkim;
};

void recognise_init(struct recognise *rc, const struct config *cfg);
void recognise_free(struct recognise *rc);
void recognise_envelope_sender(struct recognise *rc, const char *sender);

/* recognise_header - feed each top-level header in message order */
void recognise_header(struct recognise *rc, const char *name, const char *value);

/* recognise_block_too_large - the MIME walk could not see the whole header
 * block (over HEADER_BLOCK_MAX, or a header it dropped): not a report */
void recognise_block_too_large(struct recognise *rc);

/* recognise_block_malformed - the header block has a line that is neither a
 * field nor its continuation: not a report */
void recognise_block_malformed(struct recognise *rc);

/* recognise_from_matches - does this From header value name a report sender?
 * (The milter's early exit for ordinary mail, before the pipeline sees it.) */
int recognise_from_matches(const struct config *cfg, const char *from_value);

/* recognise_dkim - VerifyDKIM yes: our own verification's verdict (so far, or final) */
void recognise_dkim(struct recognise *rc, const struct dkim_verdict *v);

/* recognise_is_report - one From header, and its address matches ReportSenders */
int recognise_is_report(const struct recognise *rc);

/*
 * recognise_verdict - 1 when the mail is an authenticated report; else 0 and
 * a reason ("not a report: From address does not match ReportSenders",
 * "unauthenticated: DKIM d=shadowserver.org s=mail a=rsa-sha256: body hash
 * mismatch ...", ...); -1 when it is a report whose DKIM key could not be
 * fetched: it must be tried again later, not dropped.
 */
int recognise_verdict(const struct recognise *rc, char *reason, size_t reasonlen);

/*
 * recognise_verdict_trusted - recognise_verdict for saved mail the operator
 * vouches for (replay --trust-saved): the From checks only, no signature,
 * no Authentication-Results, no envelope. Never for mail arriving live.
 */
int recognise_verdict_trusted(const struct recognise *rc, char *reason, size_t reasonlen);

/* recognise_auth - what vouched for an authenticated report, for the ops copy and the log:
 * "dkim d=shadowserver.org s=mail a=rsa-sha256" or "authres mx.example.net" */
void recognise_auth(const struct recognise *rc, char *out, size_t outlen);

/*
 * authres_dkim_pass - parse one Authentication-Results value, strictly
 * (RFC 8601, and nothing OpenDKIM could not parse). Stores the authserv-id
 * (malloc'd) in *AUTHSERV_ID when there is one; returns 1 when a dkim=pass
 * result has header.d equal to DOMAIN (or header.i ending in @DOMAIN), else
 * 0; -1 with WHY when the header cannot be parsed or is too long.
 */
int authres_dkim_pass(const char *value, const char *domain, char **authserv_id, char *why, size_t whylen);

/* mail_address_extract - the single addr-spec in a From-style header, malloc'd, or NULL */
char *mail_address_extract(const char *value);

#endif
