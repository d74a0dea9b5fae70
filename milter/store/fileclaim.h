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

#endif
