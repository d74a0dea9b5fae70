/*
 * fileclaim - one report file applied once, whatever route brought it
 *
 * See fileclaim.h. The claim is an INSERT ... ON CONFLICT DO NOTHING on the
 * identity, then a read of who holds it: written once for both engines. A
 * refusal is an INSERT ... ON CONFLICT DO UPDATE that changes the row only
 * when the refusal differs (another download id, kind or limit), so of two
 * pulls recording the same refusal one hears it is new.
 */
#include "store/fileclaim.h"
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static int
read_claim(struct db *db, const char *file_id, struct file_claim *held)
{
	static const char sql[] = "SELECT owner, route, claimed_at FROM report_files WHERE file_id = ?1";
	struct db_stmt *s = DB_RUN(db, sql, DBT(file_id));
	int rc;

	memset(held, 0, sizeof(*held));
	if (s == NULL || (rc = db_step(db, s)) < 0)
		return -1;
	if (rc == 1) {
		held->owner = db_strdup(s, 0);
		held->route = db_strdup(s, 1);
		held->claimed_at = (time_t)db_int(s, 2);
	}
	return rc;
}

int
file_claim_take(struct db *db, const char *file_id, const char *owner, const char *route, time_t now,
    struct file_claim *held, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO report_files (file_id, owner, route, claimed_at)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (file_id) DO NOTHING";
	int rc;

	memset(held, 0, sizeof(*held));
	if (DB_DO(db, sql, DBT(file_id), DBT(owner), DBT(route), DBI(now)) != 0 ||
	    (rc = read_claim(db, file_id, held)) < 0)
		return store_error(db, err, errlen);
	if (rc == 0) {
		db_set_error(db, "the claim of report file %s vanished", file_id);
		return store_error(db, err, errlen);
	}
	if (strcmp(held->owner, owner) == 0) {
		file_claim_free(held);
		return 1;
	}
	return 0;
}

int
file_claim_get(struct store *st, const char *file_id, struct file_claim *held, char *err, size_t errlen)
{
	struct db *db = store_acquire(st, err, errlen);
	int rc;

	memset(held, 0, sizeof(*held));
	if (db == NULL)
		return -1;
	if ((rc = read_claim(db, file_id, held)) < 0)
		store_error(db, err, errlen);
	db_reset_all(db);
	store_release(st, db);
	return rc;
}

void
file_claim_free(struct file_claim *c)
{
	free(c->owner);
	free(c->route);
	memset(c, 0, sizeof(*c));
}

int
file_refusal_record(struct store *st, const char *file_id, const char *api_id, const char *kind,
    const char *reason, unsigned long long max_size, const char *limits, time_t now, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO refused_files (file_id, api_id, kind, reason, max_size, refused_at,"
	    " limits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (file_id) DO UPDATE SET api_id = excluded.api_id,"
	    " kind = excluded.kind, reason = excluded.reason, max_size = excluded.max_size,"
	    " refused_at = excluded.refused_at, limits = excluded.limits WHERE refused_files.api_id <> excluded.api_id"
	    " OR refused_files.kind <> excluded.kind OR refused_files.max_size <> excluded.max_size"
	    " OR refused_files.limits <> excluded.limits";
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc;

	if (db == NULL)
		return -1;
	if ((s = DB_RUN(db, sql, DBT(file_id), DBT(api_id), DBT(kind), DBT(reason), DBI((long long)max_size),
	    DBI(now), DBT(limits))) == NULL)
		rc = store_error(db, err, errlen);
	else
		rc = db_changes(s) > 0;
	store_release(st, db);
	return rc;
}

int
file_refusal_get(struct store *st, const char *file_id, struct file_refusal *out, char *err, size_t errlen)
{
	static const char sql[] = "SELECT api_id, kind, reason, max_size, refused_at, limits FROM refused_files"
	    " WHERE file_id = ?1";
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (db == NULL)
		return -1;
	if ((s = DB_RUN(db, sql, DBT(file_id))) == NULL || (rc = db_step(db, s)) < 0)
		rc = store_error(db, err, errlen);
	else if (rc == 1) {
		out->api_id = db_strdup(s, 0);
		out->kind = db_strdup(s, 1);
		out->reason = db_strdup(s, 2);
		out->max_size = (unsigned long long)db_int(s, 3);
		out->refused_at = (time_t)db_int(s, 4);
		out->limits = db_strdup(s, 5);
	}
	db_reset_all(db);
	store_release(st, db);
	return rc;
}

void
file_refusal_free(struct file_refusal *r)
{
	free(r->api_id);
	free(r->kind);
	free(r->reason);
	free(r->limits);
	memset(r, 0, sizeof(*r));
}
