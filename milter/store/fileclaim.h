/*
 * fileclaim - one report file applied once, whatever route brought it
 *
 * The report_files table of the store (schema.c) holds a claim per report
 * file identity (report/reportid.h: date, type and list from ShadowServer's
 * file name). The pipeline takes the claim inside the report's one store
 * transaction, before it applies the file to the history or queues a notice:
 * the first report that carries the file owns it; the same report again (an
 * MTA retry, the same mail at a second MX host) is its owner and is replayed
 * as before; any other - the same file through a link, the Reports API, or a
 * second mail - finds it owned and makes no notice. On PostgreSQL two hosts
 * claiming at once meet at the table's primary key: the second waits for the
 * first's commit and finds the file owned. Implemented in store/fileclaim.c.
 *
 * A file the Reports API offered that could not be taken at all - larger
 * than MaxReportSize, over a limit of the reader (MaxCSVSize, MaxRows, ...),
 * or not readable as a report - is recorded as REFUSED beside the claims
 * (the refused_files table), with the API's id of the download, the reason,
 * the MaxReportSize and every other size limit it was refused under, so a
 * later pull on any host of the store skips it instead of downloading it,
 * and ops hear of it once. A refusal is no claim: a route that can read
 * the file (a mail carrying it) still applies it.
 *
 * Owns: the strings of the claims it returns.
 */
#ifndef SM_FILECLAIM_H
#define SM_FILECLAIM_H

#include <stddef.h>
#include <time.h>

struct db;
struct store;

struct file_claim {
	char *owner;			/* the report key that applied it (report reference | file) */
	char *route;			/* "mail", "link" or "api" */
	time_t claimed_at;
};

/*
 * file_claim_take - claim FILE_ID for OWNER (arrived by ROUTE), inside the
 * store transaction DB: 1 when OWNER holds it (new, or its own claim again),
 * 0 when another owner does (*HELD filled: free with file_claim_free), -1
 * with ERR (the caller rolls back).
 */
int file_claim_take(struct db *db, const char *file_id, const char *owner, const char *route, time_t now,
    struct file_claim *held, char *err, size_t errlen);

/* file_claim_get - who holds FILE_ID: 1 (*HELD filled), 0 nobody, -1 with ERR; a read of its own */
int file_claim_get(struct store *st, const char *file_id, struct file_claim *held, char *err, size_t errlen);

void file_claim_free(struct file_claim *c);

struct file_refusal {
	char *api_id;			/* the download refused (the Reports API's id) */
	char *kind;			/* "too large", "over a limit" or "unreadable" */
	char *reason;
	unsigned long long max_size;	/* MaxReportSize it was refused under */
	char *limits;			/* every size limit in force then ("" in a row from before) */
	time_t refused_at;
};

/*
 * file_refusal_record - FILE_ID refused as the download API_ID, KIND
 * ("too large", "over a limit", "unreadable"), REASON, under MAX_SIZE and
 * LIMITS, at NOW: 1 when recorded now, 0 when the same refusal (id, kind
 * and limits) was there already (another pull's: its ops were told), -1
 * with ERR
 */
int file_refusal_record(struct store *st, const char *file_id, const char *api_id, const char *kind,
    const char *reason, unsigned long long max_size, const char *limits, time_t now, char *err, size_t errlen);

/* file_refusal_get - the refusal of FILE_ID: 1 (*OUT filled), 0 none, -1 with ERR */
int file_refusal_get(struct store *st, const char *file_id, struct file_refusal *out, char *err, size_t errlen);

void file_refusal_free(struct file_refusal *r);

#endif
