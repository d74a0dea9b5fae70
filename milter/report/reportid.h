/*
 * reportid - the one identity of a ShadowServer report file, whatever the route
 *
 * ShadowServer names every report file "<date>-<type>-<list>.csv" (its
 * report-filename rule: ^(\d{4}-\d{2}-\d{2})-([^-]+)-(.+)\.csv$), and the
 * same name comes with the file however it is delivered: as a mail's
 * attachment (or a member of its zip), as the Content-Disposition of a
 * link's download, as the "file" of the Reports API's reports/list. The
 * identity is those three parts; the history and the outbox use it so that
 * one file makes one set of notices and one history entry (store/fileclaim.h).
 *
 * Hand-written rather than pcre2 (base/regex keeps one capture group): the
 * rule is fixed, and three fields are read in one pass.
 *
 * Owns: the strings of the identity it fills.
 */
#ifndef SM_REPORTID_H
#define SM_REPORTID_H

struct report_id {
	char date[11];			/* YYYY-MM-DD */
	char *type;			/* e.g. scan_ntp, lowercased */
	char *list;			/* the rest of the name before ".csv" */
	char *key;			/* "<date>-<type>-<list>": the identity */
};

/*
 * report_id_parse - NAME (a path's last part counts; a ".zip" after ".csv"
 * is dropped) as ShadowServer's file-name rule reads it: 0 with *ID (free
 * with report_id_free), or -1 for a name outside the rule. Control
 * characters never belong to an identity.
 */
int report_id_parse(const char *name, struct report_id *id);
void report_id_free(struct report_id *id);

#endif
