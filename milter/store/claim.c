/*
 * claim - who works on a row of one of the store's queues, for how long, and
 * taking it back from a process that is gone
 *
 * See claim.h. The SQL is written once per queue, from one pattern: every
 * queue table has id, state ('pending' until done), next_attempt,
 * claimed_until and claimed_by. It differs between the engines only in the
 * claim itself: PostgreSQL locks the row it picks (FOR UPDATE SKIP LOCKED)
 * so concurrent workers pick different ones, while SQLite's UPDATE holds the
 * database's write lock for the whole statement. Owners' liveness: Linux
 * /proc; elsewhere every owner counts as alive.
 */
#include "store/claim.h"
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BOOT_ID_LEN 8

/* --- the SQL of each queue ---------------------------------------------- */

#define CLAIM_SET(t) "UPDATE " t " SET claimed_until = ?2, claimed_by = ?3 WHERE id = (SELECT id FROM " t \
    " WHERE state = 'pending' AND next_attempt <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)" \
    " ORDER BY next_attempt, id LIMIT 1"
#define CLAIM_SQL(t) { \
	CLAIM_SET(t) ") RETURNING id", \
	CLAIM_SET(t) " FOR UPDATE SKIP LOCKED) RETURNING id", \
	"UPDATE " t " SET claimed_until = NULL WHERE id = ?1 AND " CLAIM_HELD, \
	"SELECT DISTINCT claimed_by FROM " t " WHERE state = 'pending' AND claimed_until > ?1" \
	    " AND substr(claimed_by, 1, length(?2)) = ?2 ORDER BY claimed_by", \
	"UPDATE " t " SET claimed_until = NULL WHERE state = 'pending' AND claimed_by = ?1 AND claimed_until > ?2" }

static const struct queue_sql {
	const char *claim_sqlite, *claim_pg, *release, *holders, *release_owner;
} queues[CLAIM_QUEUES] = {
	[CLAIM_NOTICES] = CLAIM_SQL("notices"),
	[CLAIM_FETCH_JOBS] = CLAIM_SQL("fetch_jobs"),
};

/* --- owners -------------------------------------------------------------- */

void
claim_host_prefix(char *out, size_t outlen)
{
	char host[HOST_NAME_MAX + 1] = "localhost";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(out, outlen, "%s:", host);
}

/* boot_id - the first BOOT_ID_LEN characters of this boot's id, or -1 */
static int
boot_id(char out[BOOT_ID_LEN + 1])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	int ok = f && fread(out, 1, BOOT_ID_LEN, f) == BOOT_ID_LEN;

	if (f)
		fclose(f);
	out[ok ? BOOT_ID_LEN : 0] = '\0';
	return ok ? 0 : -1;
}

/* start_ticks - when process PID started (field 22 of /proc/PID/stat, after
 * the parenthesised command name, which may hold spaces), or 0 when gone */
static unsigned long long
start_ticks(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long long ticks = 0;
	FILE *f;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL && (p = strrchr(line, ')')) != NULL) {
		for (field = 2; p && field < 22; field++)	/* p is at the space before field FIELD + 1 */
			p = strchr(p + 1, ' ');
		if (p)
			ticks = strtoull(p + 1, NULL, 10);
	}
	fclose(f);
	return ticks;
}

/*
 * process_gone - is the process PID that started at TICKS certainly gone?
 * kill(0) tells a pid nobody has (ESRCH) even where /proc hides other users'
 * processes (hidepid); a pid that is there is another process's when its
 * start time differs, and counts as alive when /proc will not say
 */
static int
process_gone(pid_t pid, unsigned long long ticks)
{
	unsigned long long now;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 1;
	now = start_ticks(pid);
	return now != 0 && now != ticks;
}

int
claim_owner(pid_t pid, char *out, size_t outlen)
{
	char prefix[HOST_NAME_MAX + 2], boot[BOOT_ID_LEN + 1];
	unsigned long long ticks = start_ticks(pid);

	claim_host_prefix(prefix, sizeof(prefix));
	if (ticks == 0 || boot_id(boot) != 0) {
		snprintf(out, outlen, "%s%ld", prefix, (long)pid);
		return -1;
	}
	snprintf(out, outlen, "%s%ld:%llu:%s", prefix, (long)pid, ticks, boot);
	return 0;
}

int
claim_owner_is_dead(const char *owner)
{
	char prefix[HOST_NAME_MAX + 2], boot[BOOT_ID_LEN + 1], *end;
	size_t plen;
	long pid;
	unsigned long long ticks;

	claim_host_prefix(prefix, sizeof(prefix));
	plen = strlen(prefix);
	if (strncmp(owner, prefix, plen) != 0 || boot_id(boot) != 0)
		return 0;	/* another host's, or we cannot tell */
	errno = 0;
	pid = strtol(owner + plen, &end, 10);
	if (errno || pid <= 0 || *end != ':')
		return 0;
	ticks = strtoull(end + 1, &end, 10);
	if (ticks == 0 || *end != ':' || strlen(end + 1) != BOOT_ID_LEN)
		return 0;	/* an older form of name ("HOST:PID"): its lease decides */
	if (strcmp(end + 1, boot) != 0)
		return 1;	/* from before the last boot */
	return process_gone((pid_t)pid, ticks);
}

/* --- claims -------------------------------------------------------------- */

int
claim_next(struct db *db, enum claim_queue q, time_t now, long lease, const char *owner, long long *id)
{
	const struct queue_sql *sql = &queues[q];
	struct db_stmt *s;
	int rc;

	*id = 0;
	s = DB_RUN(db, db_engine(db) == DB_PG ? sql->claim_pg : sql->claim_sqlite, DBI(now), DBI(now + lease),
	    DBT(owner));
	if (s == NULL || (rc = db_step(db, s)) < 0)
		return -1;
	if (rc == 0)
		return 0;
	*id = db_int(s, 0);
	if (db_step(db, s) < 0)		/* SQLite finishes the UPDATE here */
		return -1;
	return 1;
}

int
claim_end(struct db *db, const char *sql, long long id, const char *owner, const struct db_val *v, size_t n)
{
	struct db_val all[CLAIM_END_MAXVAL + 2] = { DBI(id), DBT(owner) };
	struct db_stmt *s;
	size_t i;

	if (n > CLAIM_END_MAXVAL) {
		db_set_error(db, "claim_end: %zu values, at most %d", n, CLAIM_END_MAXVAL);
		return -1;
	}
	for (i = 0; i < n; i++)
		all[i + 2] = v[i];
	if ((s = db_run(db, sql, all, n + 2)) == NULL)
		return -1;
	return db_changes(s) > 0 ? 0 : CLAIM_LOST;
}

/* run_one - one statement on a pooled connection of its own; *CHANGED (may be NULL) the rows it changed */
static int
run_one(struct store *st, const char *sql, const struct db_val *v, size_t n, long long *changed, char *err,
    size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc = 0;

	if (db == NULL)
		return -1;
	if ((s = db_run(db, sql, v, n)) == NULL)
		rc = store_error(db, err, errlen);
	else if (changed)
		*changed = db_changes(s);
	store_release(st, db);
	return rc;
}

int
claim_end_pooled(struct store *st, const char *sql, long long id, const char *owner, const struct db_val *v,
    size_t n, char *err, size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	int rc;

	if (db == NULL)
		return -1;
	if ((rc = claim_end(db, sql, id, owner, v, n)) < 0)
		store_error(db, err, errlen);
	store_release(st, db);
	return rc;
}

int
claim_release(struct store *st, enum claim_queue q, long long id, const char *owner, char *err, size_t errlen)
{
	return claim_end_pooled(st, queues[q].release, id, owner, NULL, 0, err, errlen);
}

int
claim_release_owner(struct store *st, enum claim_queue q, const char *owner, time_t now, long long *released,
    char *err, size_t errlen)
{
	struct db_val v[] = { DBT(owner), DBI(now) };

	*released = 0;
	return run_one(st, queues[q].release_owner, v, 2, released, err, errlen);
}

int
claim_holders(struct store *st, enum claim_queue q, time_t now, const char *prefix, char ***owners, size_t *n,
    char *err, size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc = 0, row;

	*owners = NULL;
	*n = 0;
	if (db == NULL)
		return -1;
	if ((s = DB_RUN(db, queues[q].holders, DBI(now), DBT(prefix))) == NULL)
		rc = store_error(db, err, errlen);
	while (rc == 0 && (row = db_step(db, s)) != 0) {
		if (row < 0) {
			rc = store_error(db, err, errlen);
			break;
		}
		*owners = xreallocarray(*owners, *n + 1, sizeof(**owners));
		(*owners)[(*n)++] = db_strdup(s, 0);
	}
	store_release(st, db);
	return rc;
}

/* take_back_queue - claim_take_back_dead for one queue */
static int
take_back_queue(struct store *st, enum claim_queue q, time_t now, long long *released, char *err, size_t errlen)
{
	char prefix[HOST_NAME_MAX + 2], **owners;
	size_t i, n;
	long long one;
	int rc;

	*released = 0;
	claim_host_prefix(prefix, sizeof(prefix));
	if ((rc = claim_holders(st, q, now, prefix, &owners, &n, err, errlen)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (rc == 0 && claim_owner_is_dead(owners[i])) {
			rc = claim_release_owner(st, q, owners[i], now, &one, err, errlen);
			*released += one;
		}
		free(owners[i]);
	}
	free(owners);
	return rc;
}

int
claim_take_back_dead(struct store *st, time_t now, long long released[CLAIM_QUEUES], char *err, size_t errlen)
{
	int q;

	for (q = 0; q < CLAIM_QUEUES; q++)
		released[q] = 0;
	if (!store_has_outbox(st))
		return 0;	/* the queues are the outbox's half */
	for (q = 0; q < CLAIM_QUEUES; q++)
		if (take_back_queue(st, (enum claim_queue)q, now, &released[q], err, errlen) != 0)
			return -1;
	return 0;
}
