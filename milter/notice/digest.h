/*
 * digest - an account's notices of one day as ONE mail (AccountSettings digest daily)
 *
 * When a report is processed, the notice of a daily-digest account is made
 * as any other (notice_build: its key, recipients, whether it needs action)
 * and then kept as a part (store/digestparts.h) instead of being queued: its
 * section, rendered by digest_section.txt from its findings and history in
 * the account's language (its own deadline and hosts, no greeting or
 * signature), goes into the store in the report's own transaction, under
 * the notice's own key, so a report seen twice adds it once.
 *
 * At and after DigestTime (HH:MM in the host's local time, the TZ of the
 * daemon) the delivery round builds each account's digest of the parts
 * made before that day's DigestTime: in ONE store transaction it takes the
 * parts, renders digest.txt around their sections (those that need action
 * first, then by report type), adds the mail to the outbox as one notice and
 * marks the parts as in it; the parts over DigestMaxSize (one always goes)
 * make another digest in the same round. The digest's key is "digest", the account, the
 * day and its first part's id: deterministic, so two hosts building at once
 * make one row (the second finds the parts taken and rolls back), and its
 * Message-ID comes from the key. Parts made after the cut-off wait for the
 * next day's digest. Its subject says ACTION REQUIRED when any section needs
 * action. Both templates are looked up as the notices' (TemplateDir, then the
 * shipped directory; LANG/ first), and read when used.
 *
 * Library code: nothing here logs. Owns: nothing between calls.
 */
#ifndef SM_DIGEST_H
#define SM_DIGEST_H

#include <stddef.h>
#include <time.h>

struct config;
struct db;
struct store;
struct notice;
struct notice_input;
struct digest_part;

/*
 * digest_keep - N (made by notice_build, in language LANG: NULL for English)
 * kept as a part of its account's next digest, inside the report's store
 * transaction DB; QUEUE_ID is the report's MTA queue id (NULL: none). *ADDED
 * is 1, or 0 when the same notice was kept already. 0; -1 with ERR when its
 * section could not be made (the template); -2 with ERR when the store failed.
 */
int digest_keep(struct db *db, const struct notice_input *in, const struct notice *n, const char *lang,
    const char *queue_id, int *added, char *err, size_t errlen);

/*
 * digest_part_make - N (made by notice_build from IN, in language LANG: NULL
 * for English) as the part digest_keep keeps: its section rendered by
 * digest_section.txt, created at IN's now, id and queue_id unset. Caller
 * frees with digest_parts_free (P allocated). 0, or -1 with ERR.
 */
int digest_part_make(const struct notice_input *in, const struct notice *n, const char *lang, struct digest_part *p,
    char *err, size_t errlen);

/* digest_parts_order - PARTS[0..N) in the digest's order (as
 * digest_parts_waiting reads them): those that need action first, then by
 * report type, age and id */
void digest_parts_order(struct digest_part *parts, size_t n);

/*
 * digest_render - the digest of PARTS[0..N) (ACCOUNT's, for DAY, in their
 * order, in the language of the first) as a mail into *M (notice_free), dated
 * NOW, by digest.txt: what digest_build_due queues, and "preview --digest"
 * shows without a store. 0, or -1 with ERR.
 */
int digest_render(const struct config *cfg, const char *account, const char *day, const struct digest_part *parts,
    size_t n, time_t now, struct notice *m, char *err, size_t errlen);

/*
 * digest_cutoff - the latest DigestTime at or before NOW in the host's local
 * time; its day ("YYYY-MM-DD") into DAY
 */
time_t digest_cutoff(const struct config *cfg, time_t now, char *day, size_t daylen);

/*
 * digest_build_due - every account's digest that is due at NOW: of the parts
 * made before digest_cutoff; ALL: of every waiting part, whatever the time
 * (deliver --digest-now). *BUILT counts the digests queued in the outbox.
 * The parts of digests built more than RetainDays ago are forgotten first.
 * 0; -1 with ERR when the round could not start (pruning, listing the
 * accounts); 1 when one or more accounts' digests failed, each passed to
 * FAILED (NULL: none) with CTX, the account and why, for the caller to log
 * (the others' digests are built all the same; a failed one is tried again
 * next round).
 */
typedef void (*digest_failed_fn)(void *ctx, const char *account, const char *why);
int digest_build_due(const struct config *cfg, struct store *st, time_t now, int all, size_t *built,
    digest_failed_fn failed, void *ctx, char *err, size_t errlen);

/*
 * digest_templates_check - both digest templates, in English and in each
 * language SET has (notice_templates_load), read and parsed now, as the
 * notice templates are at start and reload: 0, or -1 with ERR naming the
 * file and line, so a typo is caught by "shadowmilter -n", not by a digest
 */
struct template_set;
int digest_templates_check(const struct config *cfg, const struct template_set *set, char *err, size_t errlen);

#endif
