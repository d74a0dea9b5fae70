/*
 * digestparts - the notices that wait for their account's daily digest
 *
 * See digestparts.h. The table is schema.c's (outbox step 5). The list
 * columns (To, Cc) are newline separated, as the notices' recipients.
 */
#include "store/digestparts.h"
#include "store/db.h"
#include "store/store.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

#define PART_COLUMNS "id, idem_key, report_ref, report_type, account, action, lang, mail_to, mail_cc, title," \
	" section, created, queue_id"
/* the same for a listing: the section, To and Cc (the bulk of a part) read as "" */
#define LIST_COLUMNS "id, idem_key, report_ref, report_type, account, action, lang, '', '', title, ''," \
	" created, queue_id"

static char *
join_lines(char *const *v, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? "\n" : "", v[i]);
	return buf_steal(&b);
}

static char **
split_lines(const char *s, size_t *n)
{
	char **v = xcalloc(1, sizeof(char *)), *copy = xstrdup(s), *save = NULL, *tok;

	*n = 0;
	for (tok = strtok_r(copy, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		v = xreallocarray(v, *n + 2, sizeof(char *));
		v[(*n)++] = xstrdup(tok);
		v[*n] = NULL;
	}
	free(copy);
	return v;
}

int
digest_part_add(struct db *db, const struct digest_part *p, time_t now, int *added, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO digest_parts (idem_key, report_ref, report_type, account, action,"
	    " lang, mail_to, mail_cc, title, section, created, queue_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (idem_key) DO NOTHING";
	char *to = join_lines(p->to, p->nto), *cc = join_lines(p->cc, p->ncc);
	struct db_stmt *s = DB_RUN(db, sql, DBT(p->key), DBT(p->report_ref), DBT(p->report_type), DBT(p->account),
	    DBI(p->action != 0), DBT(p->lang ? p->lang : ""), DBT(to), DBT(cc), DBT(p->title), DBT(p->section),
	    DBI(now), DBT(p->queue_id ? p->queue_id : ""));

	free(to);
	free(cc);
	*added = 0;
	if (s == NULL)
		return store_error(db, err, errlen);
	*added = db_changes(s) > 0;
	return 0;
}

void
digest_accounts_free(char **accounts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(accounts[i]);
	free(accounts);
}

int
digest_accounts_due(struct store *st, time_t cutoff, char ***accounts, size_t *n, char *err, size_t errlen)
{
	static const char sql[] = "SELECT DISTINCT account FROM digest_parts WHERE digest_key IS NULL"
	    " AND created < ?1 ORDER BY account";
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc = 0, row = 0;

	*accounts = NULL;
	*n = 0;
	if (db == NULL)
		return -1;
	if ((s = DB_RUN(db, sql, DBI(cutoff))) == NULL)
		rc = store_error(db, err, errlen);
	while (s && (row = db_step(db, s)) == 1) {
		*accounts = xreallocarray(*accounts, *n + 1, sizeof(char *));
		(*accounts)[(*n)++] = db_strdup(s, 0);
	}
	if (s && row < 0)
		rc = store_error(db, err, errlen);
	store_release(st, db);
	return rc;
}

/* read_part - the row S is on, in PART_COLUMNS order */
static void
read_part(struct db_stmt *s, struct digest_part *p)
{
	p->id = db_int(s, 0);
	p->key = db_strdup(s, 1);
	p->report_ref = db_strdup(s, 2);
	p->report_type = db_strdup(s, 3);
	p->account = db_strdup(s, 4);
	p->action = db_int(s, 5) != 0;
	p->lang = db_strdup(s, 6);
	p->to = split_lines(db_text(s, 7), &p->nto);
	p->cc = split_lines(db_text(s, 8), &p->ncc);
	p->title = db_strdup(s, 9);
	p->section = db_strdup(s, 10);
	p->created = (time_t)db_int(s, 11);
	p->queue_id = db_strdup(s, 12);
}

/* read_parts - every row of S (NULL: it failed) into *PARTS */
static int
read_parts(struct db *db, struct db_stmt *s, struct digest_part **parts, size_t *n, char *err, size_t errlen)
{
	int row = 0;

	*parts = NULL;
	*n = 0;
	if (s == NULL)
		return store_error(db, err, errlen);
	while ((row = db_step(db, s)) == 1) {
		*parts = xreallocarray(*parts, *n + 1, sizeof(**parts));
		read_part(s, &(*parts)[(*n)++]);
	}
	if (row < 0) {
		digest_parts_free(*parts, *n);
		*parts = NULL;
		*n = 0;
		return store_error(db, err, errlen);
	}
	return 0;
}

int
digest_parts_waiting(struct db *db, const char *account, time_t cutoff, struct digest_part **parts, size_t *n,
    char *err, size_t errlen)
{
	static const char sql[] = "SELECT " PART_COLUMNS " FROM digest_parts WHERE account = ?1"
	    " AND digest_key IS NULL AND created < ?2 ORDER BY action DESC, report_type, created, id";

	return read_parts(db, DB_RUN(db, sql, DBT(account), DBI(cutoff)), parts, n, err, errlen);
}

static void
free_lines(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
digest_parts_free(struct digest_part *parts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct digest_part *p = &parts[i];

		free(p->key);
		free(p->report_ref);
		free(p->report_type);
		free(p->account);
		free(p->lang);
		free_lines(p->to, p->nto);
		free_lines(p->cc, p->ncc);
		free(p->title);
		free(p->section);
		free(p->queue_id);
	}
	free(parts);
}

int
digest_parts_take(struct db *db, const struct digest_part *parts, size_t n, const char *key, char *err,
    size_t errlen)
{
	static const char sql[] = "UPDATE digest_parts SET digest_key = ?2 WHERE id = ?1 AND digest_key IS NULL";
	struct db_stmt *s;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((s = DB_RUN(db, sql, DBI(parts[i].id), DBT(key))) == NULL)
			return store_error(db, err, errlen);
		if (db_changes(s) != 1)
			return 1;
	}
	return 0;
}

int
digest_parts_prune(struct store *st, time_t before, long long *removed, char *err, size_t errlen)
{
	return store_prune(st, "DELETE FROM digest_parts WHERE digest_key IS NOT NULL AND created < ?1", before, removed, err, errlen);
}

int
digest_parts_count(struct store *st, long long *waiting, long long *in_digest, char *err, size_t errlen)
{
	static const char sql[] = "SELECT (SELECT count(*) FROM digest_parts WHERE digest_key IS NULL),"
	    " (SELECT count(*) FROM digest_parts WHERE digest_key IS NOT NULL)";
	struct db *db = store_acquire(st, err, errlen);
	struct db_stmt *s;
	int rc = 0;

	*waiting = *in_digest = 0;
	if (db == NULL)
		return -1;
	if ((s = DB_RUN0(db, sql)) == NULL || db_step(db, s) != 1)
		rc = store_error(db, err, errlen);
	else {
		*waiting = db_int(s, 0);
		*in_digest = db_int(s, 1);
	}
	store_release(st, db);
	return rc;
}

int
digest_parts_list(struct store *st, const char *account, void (*fn)(void *ctx, const struct digest_part *p),
    void *ctx, char *err, size_t errlen)
{
	static const char one[] = "SELECT " LIST_COLUMNS " FROM digest_parts WHERE digest_key IS NULL"
	    " AND account = ?1 ORDER BY created, id";
	static const char all[] = "SELECT " LIST_COLUMNS " FROM digest_parts WHERE digest_key IS NULL"
	    " ORDER BY created, id";
	struct db *db = store_acquire(st, err, errlen);
	struct digest_part *parts;
	size_t n, i;
	int rc;

	if (db == NULL)
		return -1;
	rc = read_parts(db, account ? DB_RUN(db, one, DBT(account)) : DB_RUN0(db, all), &parts, &n, err, errlen);
	store_release(st, db);
	for (i = 0; rc == 0 && i < n; i++)
		fn(ctx, &parts[i]);
	if (rc == 0)
		digest_parts_free(parts, n);
	return rc;
}
