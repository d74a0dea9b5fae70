/*
 * claim - who works on a row of one of the store's queues, for how long, and
 * taking it back from a process that is gone
 *
 * The store's work queues - the outbox's notices (outbox.h) and the links of
 * link-only report mails (fetchjobs.h) - share this one claim. A worker (the
 * daemon's delivery thread, a "shadowmilter deliver" run, a daemon of another
 * MX host) CLAIMS the next due row of a queue with a lease: SQLite with one
 * UPDATE ... RETURNING under the database's write lock, PostgreSQL with FOR
 * UPDATE SKIP LOCKED, so that workers claiming at once get different rows.
 * While the lease runs nobody else is handed the row; once it has run out
 * the row is anyone's again, so a worker that died loses its rows at the
 * latest when its leases end.
 *
 * A claim names its OWNER "HOST:PID:START:BOOT": the host name, the process
 * id, the process's start time (clock ticks since boot, /proc/PID/stat) and
 * the first 8 characters of the kernel's boot id. A process can then tell
 * for certain that a claim of its own host belongs to a process that is gone
 * - no such pid (kill(2) with signal 0 says ESRCH), the pid reused by a
 * process that started at another time, or a claim from before the last
 * boot - and take its rows back at once
 * (claim_take_back_dead) instead of waiting out the lease. Anything it
 * cannot be sure of (another host, a name in an older form such as
 * "HOST:PID", a system without /proc, a pid that is there but whose start
 * time /proc hides) counts as alive: its lease decides.
 *
 * Owns: nothing (the owner lists it returns are the caller's).
 */
#ifndef SM_CLAIM_H
#define SM_CLAIM_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct db;
struct db_val;
struct store;

/* the queues: a new one is a line here and its SQL in claim.c's table */
enum claim_queue {
	CLAIM_NOTICES,			/* the outbox (outbox.h) */
	CLAIM_FETCH_JOBS,		/* report links (fetchjobs.h) */
	CLAIM_QUEUES			/* how many */
};

#define CLAIM_OWNER_MAX 384		/* room for any owner name */

/* claim_owner - the owner name of process PID of this host into OUT; -1 when
 * the process is not there (or /proc cannot say), then OUT is "HOST:PID",
 * a name whose claims only their lease ends */
int claim_owner(pid_t pid, char *out, size_t outlen);

/* claim_host_prefix - "HOST:" of this host into OUT */
void claim_host_prefix(char *out, size_t outlen);

/* claim_owner_is_dead - 1 when OWNER is a process of this host that is
 * certainly gone, else 0 */
int claim_owner_is_dead(const char *owner);

/*
 * claim_next - on DB, a connection of the store (not in a transaction): the
 * due row of queue Q that comes first (next_attempt, then id) and that
 * nobody holds at NOW, claimed for OWNER until NOW + LEASE: 1 (*ID is the
 * row), 0 (none), -1 (DB's error)
 */
int claim_next(struct db *db, enum claim_queue q, time_t now, long lease, const char *owner, long long *id);

/*
 * Ending a claim: a worker that has done (or failed) its row ends its claim
 * with an UPDATE that holds only while the row is still pending and still
 * the worker's. A worker whose lease ran out may find its row claimed by
 * another worker (or already ended by it): then nothing changes, and it
 * hears CLAIM_LOST instead of finishing or rescheduling another's work.
 * The caller's SQL is "UPDATE table SET ... WHERE id = ?1 AND " CLAIM_HELD,
 * with the owner as ?2 and its own values from ?3 on; it ends the claim
 * itself (claimed_until = NULL).
 */
#define CLAIM_HELD "state = 'pending' AND claimed_by = ?2"
#define CLAIM_LOST 1			/* the claim was another's by then: nothing changed */
#define CLAIM_END_MAXVAL 8		/* values of the caller's SQL, after ID and OWNER */

/* claim_end - run SQL (above) for row ID, as OWNER, with the N values V, on DB
 * (a connection of the store, or inside its transaction): 0, CLAIM_LOST, or -1 (DB's error) */
int claim_end(struct db *db, const char *sql, long long id, const char *owner, const struct db_val *v, size_t n);

/* claim_end_pooled - claim_end on a pooled connection of ST's own (a statement of its own): 0,
 * CLAIM_LOST, or -1 with ERR */
int claim_end_pooled(struct store *st, const char *sql, long long id, const char *owner, const struct db_val *v,
    size_t n, char *err, size_t errlen);

/* claim_release - OWNER gives back its claim on row ID of Q untried: due again at once; 0, CLAIM_LOST
 * (the claim was another's by then: left as it is), -1 */
int claim_release(struct store *st, enum claim_queue q, long long id, const char *owner, char *err,
    size_t errlen);

/*
 * claim_holders - the owners whose names start with PREFIX and who hold a
 * live claim on a row of Q at NOW: *OWNERS, *N (free each and the array)
 */
int claim_holders(struct store *st, enum claim_queue q, time_t now, const char *prefix, char ***owners, size_t *n,
    char *err, size_t errlen);

/* claim_release_owner - give back every live claim of OWNER on Q (an owner
 * known dead): due again at once; *RELEASED counts the rows */
int claim_release_owner(struct store *st, enum claim_queue q, const char *owner, time_t now, long long *released,
    char *err, size_t errlen);

/*
 * claim_take_back_dead - in every queue, give back at once the live claims
 * of this host's owners that are certainly gone (claim_owner_is_dead: a
 * crashed earlier daemon, a killed deliver run); a live process's claims,
 * and other hosts', keep their lease. RELEASED[q] counts the rows of queue
 * q. A daemon calls it as it starts, a deliver run before it claims.
 */
int claim_take_back_dead(struct store *st, time_t now, long long released[CLAIM_QUEUES], char *err,
    size_t errlen);

#endif
