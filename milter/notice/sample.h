/*
 * sample - made-up findings for previews and tests
 *
 * "shadowmilter preview" and the clarity tests render notices from a report
 * that looks like ShadowServer's for any type: three findings on
 * documentation addresses (192.0.2.10, 192.0.2.200, 2001:db8::25) owned by
 * the account "example-account", with the catalogue's usual port and
 * protocol and, for event reports, sample values in the evidence columns.
 *
 * With history (what a notice looks like with a StateDB) the findings also
 * get a made-up detection history: 192.0.2.10 was first detected GraceDays +
 * 14 days before this report and is overdue, 192.0.2.200 a week before, and
 * 2001:db8::25 is new; the case reference is "SM-<date of the first
 * detection>-000042".
 *
 * Owns: nothing beyond what it returns.
 */
#ifndef SM_SAMPLE_H
#define SM_SAMPLE_H

#include <stddef.h>
#include <time.h>

struct config;
struct digest_part;
struct notice;
struct prefixmap;
struct template_set;

#define SAMPLE_ACCOUNT "example-account"
#define SAMPLE_EMAIL "customer@example.com"
#define SAMPLE_CASE_NUMBER "000042"	/* the sample case reference's number */

/* sample_map - 192.0.2.0/24 and 2001:db8::/32 belong to SAMPLE_ACCOUNT */
struct prefixmap *sample_map(void);

/* sample_csv - a report CSV of TYPE, header included (caller frees) */
char *sample_csv(const struct config *cfg, const char *type);

/* sample_file_name - "2026-11-24-TYPE-sample.csv" (caller frees) */
char *sample_file_name(const char *type);

/*
 * sample_notice_from - TYPE's notice for SAMPLE_ACCOUNT, rendered from
 * sample_csv with the template of SET (notice_templates_load: the runtime's,
 * the preview's) the pipeline would choose (its path in TEMPLATE_PATH,
 * caller frees), with the sample detection history when HISTORY. 0, or -1
 * with ERR.
 */
int sample_notice_from(const struct template_set *set, const struct config *cfg, const char *type, time_t now,
    int history, struct notice *out, char **template_path, char *err, size_t errlen);

/* sample_notice_lang - the same for a customer who reads LANG ("de"; NULL: English) */
int sample_notice_lang(const struct template_set *set, const struct config *cfg, const char *type, const char *lang,
    time_t now, int history, struct notice *out, char **template_path, char *err, size_t errlen);

/* sample_digest_part - TYPE's sample notice (with the sample history when
 * HISTORY) as a daily-digest account's part in LANG (digest_part_make); P
 * freed by digest_parts_free */
int sample_digest_part(const struct template_set *set, const struct config *cfg, const char *type, const char *lang,
    time_t now, int history, struct digest_part *p, char *err, size_t errlen);

/* sample_resolution_lang - TYPE's "all fixed" confirmation (resolved/) in
 * LANG for the sample findings, with their sample history */
int sample_resolution_lang(const struct template_set *set, const struct config *cfg, const char *type,
    const char *lang, time_t now, struct notice *out, char **template_path, char *err, size_t errlen);

/* sample_notice - the same, with CFG's templates read for this one call (tests) */
int sample_notice(const struct config *cfg, const char *type, time_t now, int history,
    struct notice *out, char **template_path, char *err, size_t errlen);

/*
 * sample_types - what "preview --all" shows: every catalogue type, every
 * other TYPE.tmpl in TemplateDir and the shipped directory, and one type
 * nobody knows (for generic.tmpl's fallbacks); sorted, caller frees with
 * sample_types_free.
 */
char **sample_types(const struct config *cfg, size_t *n);
void sample_types_free(char **types, size_t n);

/* the type sample_types adds that no catalogue or template knows */
#define SAMPLE_UNKNOWN_TYPE "example_unknown_type"

#endif
