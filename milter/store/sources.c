/*
 * sources - what each daemon last read from its customer data sources
 *
 * See sources.h. The table is made by schema.c (history step 4).
 */
#include "store/sources.h"
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

int
sources_put(struct store *st, const struct source_status *s, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO sources (name, label, loaded_at, entries, accounts, checked_at,"
	    " last_error, error_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	    " ON CONFLICT (name) DO UPDATE SET label = excluded.label, loaded_at = excluded.loaded_at,"
	    " entries = excluded.entries, accounts = excluded.accounts, checked_at = excluded.checked_at,"
	    " last_error = excluded.last_error, error_at = excluded.error_at";
	struct db *db = store_acquire(st, err, errlen);
	int rc;

	if (db == NULL)
		return -1;
	rc = DB_DO(db, sql, DBT(s->name), DBT(s->label), DBI(s->loaded_at), DBI(s->entries), DBI(s->accounts),
	    DBI(s->checked_at), DBT(s->last_error ? s->last_error : ""), DBI(s->error_at));
	if (rc != 0)
		store_error(db, err, errlen);
	store_release(st, db);
	return rc;
}

int
sources_list(struct store *st, struct source_status **out, size_t *n, char *err, size_t errlen)
{
	static const char sql[] = "SELECT name, label, loaded_at, entries, accounts, checked_at, last_error,"
	    " error_at FROM sources ORDER BY name";
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	struct source_status *v = NULL, *r;
	size_t k = 0;
	int step, rc = 0;

	*out = NULL;
	*n = 0;
	if (db == NULL)
		return -1;
	if ((s = DB_RUN0(db, sql)) == NULL) {
		rc = store_error(db, err, errlen);
		store_release(st, db);
		return rc;
	}
	while ((step = db_step(db, s)) == 1) {
		v = xreallocarray(v, k + 1, sizeof(*v));
		r = &v[k++];
		r->name = db_strdup(s, 0);
		r->label = db_strdup(s, 1);
		r->loaded_at = (time_t)db_int(s, 2);
		r->entries = db_int(s, 3);
		r->accounts = db_int(s, 4);
		r->checked_at = (time_t)db_int(s, 5);
		r->last_error = db_strdup(s, 6);
		r->error_at = (time_t)db_int(s, 7);
	}
	if (step < 0)
		rc = store_error(db, err, errlen);
	store_release(st, db);
	if (rc != 0) {
		sources_free(v, k);
		return rc;
	}
	*out = v;
	*n = k;
	return 0;
}

void
sources_free(struct source_status *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].label);
		free(v[i].last_error);
	}
	free(v);
}
