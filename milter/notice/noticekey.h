/*
 * noticekey - the one identity of an outgoing message
 *
 * A notice_key names one message shadowmilter sends: the report it answers
 * (its Message-ID, or a digest of the mail when it has none), the report
 * type, the account and the kind (a notice of findings, or the resolution
 * confirmation of a closed case). A mail carrying several files of one type
 * still makes one notice per account and type, listing the findings of all
 * of them (pipeline.c), so the file is not part of the key; the history
 * keeps its streams per file. The key is the single source of the notice's
 * Message-ID and of the outbox's idempotency key, and the history records
 * what it notified under the same report. The same notice made twice (an
 * MTA retry, a second MX) gets the same key, so it is queued once and keeps
 * its Message-ID.
 *
 * Owns: the strings it returns.
 */
#ifndef SM_NOTICEKEY_H
#define SM_NOTICEKEY_H

enum notice_kind { NOTICE_FINDINGS, NOTICE_RESOLUTION };

struct notice_key {
	const char *report_ref;		/* report Message-ID or digest */
	const char *report_type;
	const char *account;
	enum notice_kind kind;
};

/* notice_key_text - the outbox's idempotency key */
char *notice_key_text(const struct notice_key *k);

/* notice_key_message_id - "shadowmilter.HASH@DOMAIN", without angle brackets */
char *notice_key_message_id(const struct notice_key *k, const char *domain);

#endif
