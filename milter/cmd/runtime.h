/*
 * runtime - what the daemon runs with: config, customer map, templates, store
 *
 * One reference-counted bundle. A message takes a reference when it starts
 * and drops it when it ends; a reload builds a new bundle and swaps it in,
 * so messages in flight finish with the configuration they started with and
 * the old bundle is freed by whoever drops the last reference.
 *
 * Owns: the current runtime.
 */
#ifndef SM_RUNTIME_H
#define SM_RUNTIME_H

#include <stddef.h>

#include "pipeline/filter.h"

struct runtime {
	struct config *cfg;
	struct prefixmap *map;
	struct template_set *templates;	/* parsed at load: what every notice renders from */
	struct store *store;		/* outbox and history: StateDB, OutboxDB */
	struct filter_env env;
	int refs;
	/* a map refresh makes a bundle sharing the config part: each part is counted on its own */
	struct rt_parts *parts;		/* cfg, templates, store */
	struct rt_map *mapref;		/* map */
	struct mapwatch *watch;		/* the map's refresh record, until runtime_install takes it */
	struct account_table *accounts;	/* AccountSettings, or NULL (customers/accounts.h) */
	struct rt_accounts *accountsref;	/* accounts */
	struct mapwatch *settings_watch;	/* their refresh record, until runtime_install takes it */
};

enum { RT_STORE = 1 };	/* what runtime_load opens */

/* runtime_load - config, customer map, and what FLAGS ask (RT_STORE: the
 * store, connected now); NULL with ERR */
struct runtime *runtime_load(const char *path, int flags, char *err, size_t errlen);
void runtime_destroy(struct runtime *rt);

/* runtime_load_map - the CustomerMap CFG names, from whichever source
 * (CSV, SQL, command: customers/tablesource.h); NULL with ERR */
struct prefixmap *runtime_load_map(const struct config *cfg, char *err, size_t errlen);

/* runtime_load_accounts - the AccountSettings CFG names (an empty table
 * when it names none); NULL with ERR naming the AccountSettings line */
struct account_table *runtime_load_accounts(const struct config *cfg, char *err, size_t errlen);

/* runtime_install - RT becomes current; PATH is what runtime_reload reads */
void runtime_install(struct runtime *rt, const char *path);
struct runtime *runtime_current(void);	/* start-up only: no reference taken */

/* runtime_acquire - a reference to the bundle in use; runtime_release drops
 * it, and the last one frees the bundle (on the reaper thread once the daemon
 * started it, base/reaper.h) */
struct runtime *runtime_acquire(void);
void runtime_release(struct runtime *rt);

/*
 * runtime_open_store - the store, as UserID after privileges are dropped. A
 * database that cannot be reached does not stop the milter: ordinary mail
 * flows, each report is deferred (TEMPFAIL, one log line each) and every
 * report tries to connect again. 0, or -1 with ERR (logged by the caller).
 */
int runtime_open_store(struct runtime *rt, char *err, size_t errlen);

/*
 * runtime_check_templates - render every report type's notice from sample
 * findings, with and without history: a broken site template is refused at
 * start and reload instead of deferring every report. *NTYPES (if not NULL)
 * counts the types; -1 with ERR naming the type and the template.
 */
int runtime_check_templates(const struct runtime *rt, size_t *ntypes, char *err, size_t errlen);

/*
 * runtime_reload - load PATH again and swap it in; a failure (including a
 * template that does not render) is logged and the running configuration
 * kept. The CustomerMap is read again as by runtime_refresh_map: a map from
 * the same source that fails or shrinks too much leaves the old map in use
 * with the new configuration.
 */
void runtime_reload(void);

/*
 * runtime_refresh_map - read the CustomerMap and the AccountSettings again
 * if they are due (FORCE: now) and swap them in; the configuration stays. A refresh that fails or shrinks
 * the map by more than CustomerMapMaxShrink keeps the old map, is logged,
 * and ops (OpsAddress) are told once per run of refusals. Messages in flight
 * keep the map they started with.
 */
void runtime_refresh_map(int force);

/* runtime_record_map_status - the map's source, age, size and last error into
 * the store (history half) for the status command; best effort, logged */
void runtime_record_map_status(void);

#endif
