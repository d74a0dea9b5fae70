/*
 * digestparts - the notices that wait for their account's daily digest
 *
 * An account whose AccountSettings say "digest daily" gets the day's notices
 * as one mail (notice/digest.h). Each of its notices is still made in its
 * report's one store transaction, under its own idempotency key (a report
 * delivered twice, or at two MX hosts, adds it once), but as a PART in the
 * digest_parts table of the outbox half, which no delivery worker claims:
 * what the digest needs of it (type, whether it needs action, its section
 * rendered at detection time in the account's language, its To and Cc).
 * The digest takes the account's waiting parts made before a cut-off, in
 * one transaction with the digest's own outbox row, and marks them with that
 * row's key: a part is in exactly one digest.
 *
 * Library code: the SQL is written once for both engines. Owns: the parts
 * and lists it returns.
 */
#ifndef SM_DIGESTPARTS_H
#define SM_DIGESTPARTS_H

#include <stddef.h>
#include <time.h>

struct db;
struct store;

struct digest_part {
	long long id;
	char *key;			/* the notice's idempotency key */
	char *report_ref;
	char *report_type;
	char *account;
	int action;			/* an ACTION REQUIRED section */
	char *lang;			/* the section's language, "" for English */
	char **to, **cc;		/* the notice's To and Cc */
	size_t nto, ncc;
	char *title;			/* the section's title line */
	char *section;			/* its text */
	time_t created;
	char *queue_id;			/* the report's MTA queue id, "" when unknown */
};

/* digest_part_add - P (its id and created ignored) inside the store
 * transaction DB at NOW; *ADDED 1, or 0 when its key was there already */
int digest_part_add(struct db *db, const struct digest_part *p, time_t now, int *added, char *err, size_t errlen);

/* digest_accounts_due - the accounts with parts waiting that were made before
 * CUTOFF (sorted); caller frees with digest_accounts_free */
int digest_accounts_due(struct store *st, time_t cutoff, char ***accounts, size_t *n, char *err, size_t errlen);
void digest_accounts_free(char **accounts, size_t n);

/* digest_parts_waiting - inside DB's transaction, ACCOUNT's waiting parts made
 * before CUTOFF, those that need action first, then by type and age */
int digest_parts_waiting(struct db *db, const char *account, time_t cutoff, struct digest_part **parts, size_t *n,
    char *err, size_t errlen);
void digest_parts_free(struct digest_part *parts, size_t n);

/* digest_parts_take - inside DB's transaction, PARTS[0..N) marked as in digest
 * KEY: 0 when every one was still waiting, 1 when some other digest had
 * taken one (roll back), -1 with ERR */
int digest_parts_take(struct db *db, const struct digest_part *parts, size_t n, const char *key, char *err,
    size_t errlen);

/* digest_parts_prune - forget the parts made before BEFORE that are in a
 * digest (as sent notices are kept RetainDays); *REMOVED counts them */
int digest_parts_prune(struct store *st, time_t before, long long *removed, char *err, size_t errlen);

/* digest_parts_count - how many parts wait for a digest, and how many are in one (kept RetainDays) */
int digest_parts_count(struct store *st, long long *waiting, long long *in_digest, char *err, size_t errlen);

/* digest_parts_list - ACCOUNT's waiting parts (NULL: every account's), oldest first, to FN; reads only,
 * and not their bulk: each part's section, To and Cc are empty */
int digest_parts_list(struct store *st, const char *account, void (*fn)(void *ctx, const struct digest_part *p),
    void *ctx, char *err, size_t errlen);

#endif
