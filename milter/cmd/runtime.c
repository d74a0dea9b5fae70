/*
 * runtime - what the daemon runs with: config, customer map, outbox, history
 *
 * See runtime.h. A bundle points at two counted parts: the configuration
 * part (config, templates, store) and the map. A reload makes both anew; a
 * map refresh makes a bundle with the running configuration part and a new
 * map. A part is freed once its last reference is dropped, so a message in
 * flight finishes with the parts it started with; in the daemon the freeing
 * is the reaper thread's (base/reaper.h), never a milter callback's.
 *
 * AccountSettings (customers/accounts.h), when the config names them, are a
 * third counted part, read, refreshed and refused beside the map: a refresh
 * makes a bundle with whichever of the two is new.
 *
 * The map's and the settings' refresh records (customers/mapwatch) are one
 * each for the process; the refresh lock keeps two refreshes (the timer and
 * a SIGHUP) from crossing.
 */
#include "cmd/runtime.h"
#include "config/config.h"
#include "notice/deliver.h"
#include "notice/digest.h"
#include "notice/mailheader.h"
#include "notice/notice.h"
#include "customers/accounts.h"
#include "customers/mapwatch.h"
#include "customers/prefixmap.h"
#include "customers/tablesource.h"
#include "notice/sample.h"
#include "store/sources.h"
#include "store/store.h"
#include "notice/template.h"
#include "base/msg.h"
#include "base/reaper.h"
#include "base/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rt_parts {
	struct config *cfg;
	struct template_set *templates;
	struct store *store;
	atomic_int refs;
};

struct rt_map {
	struct prefixmap *map;
	atomic_int refs;
};

struct rt_accounts {
	struct account_table *table;
	atomic_int refs;
};

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;	/* one refresh at a time; the watch */
static struct runtime *current;
static const char *config_path;
static struct mapwatch *watch;
static struct mapwatch *settings_watch;	/* NULL without AccountSettings */

static void
parts_drop(struct rt_parts *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	store_close(p->store);
	template_set_free(p->templates);
	config_free(p->cfg);
	free(p);
}

static void
map_drop(struct rt_map *m)
{
	if (m == NULL || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	prefixmap_free(m->map);
	free(m);
}

static void
accounts_drop(struct rt_accounts *a)
{
	if (a == NULL || atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	accounts_free(a->table);
	free(a);
}

static struct rt_accounts *
accounts_ref(struct account_table *t)
{
	struct rt_accounts *a = xcalloc(1, sizeof(*a));

	a->table = t;
	atomic_init(&a->refs, 1);
	return a;
}

/* accounts_set - A (its reference the caller's, may be NULL) into RT */
static void
accounts_set(struct runtime *rt, struct rt_accounts *a)
{
	rt->accountsref = a;
	rt->accounts = a ? a->table : NULL;
	rt->env.accounts = rt->accounts;
}

static struct rt_map *
map_new(struct prefixmap *map)
{
	struct rt_map *m = xcalloc(1, sizeof(*m));

	m->map = map;
	atomic_init(&m->refs, 1);
	return m;
}

/* bundle - a bundle over PARTS and M (references taken by the caller) */
static struct runtime *
bundle(struct rt_parts *parts, struct rt_map *m)
{
	struct runtime *rt = xcalloc(1, sizeof(*rt));

	rt->refs = 1;
	rt->parts = parts;
	rt->mapref = m;
	rt->cfg = parts->cfg;
	rt->templates = parts->templates;
	rt->store = parts->store;
	rt->map = m ? m->map : NULL;
	rt->env.cfg = rt->cfg;
	rt->env.map = rt->map;
	rt->env.templates = rt->templates;
	rt->env.store = rt->store;
	return rt;
}

/* take_watches - FRESH's new refresh records become the process's (refresh lock held) */
static void
take_watches(struct runtime *fresh)
{
	if (fresh->watch) {
		mapwatch_free(watch);
		watch = fresh->watch;
		fresh->watch = NULL;
	}
	if (fresh->settings_watch || fresh->cfg->account_settings == NULL) {
		mapwatch_free(settings_watch);
		settings_watch = fresh->settings_watch;
		fresh->settings_watch = NULL;
	}
}

void
runtime_install(struct runtime *rt, const char *path)
{
	pthread_mutex_lock(&refresh_lock);
	take_watches(rt);
	pthread_mutex_unlock(&refresh_lock);
	pthread_mutex_lock(&rt_lock);
	current = rt;
	config_path = path;
	pthread_mutex_unlock(&rt_lock);
}

struct runtime *
runtime_current(void)
{
	return current;
}

void
runtime_destroy(struct runtime *rt)
{
	map_drop(rt->mapref);
	accounts_drop(rt->accountsref);
	parts_drop(rt->parts);
	mapwatch_free(rt->watch);
	mapwatch_free(rt->settings_watch);
	free(rt);
}

int
runtime_open_store(struct runtime *rt, char *err, size_t errlen)
{
	return store_check(rt->store, err, errlen);
}

static struct table_source
map_source(const struct config *cfg)
{
	struct table_source src = { cfg->customer_map, cfg->customer_map_query, cfg->user_id,
	    (unsigned)cfg->customer_map_timeout };

	return src;
}

static struct mapwatch *
watch_new(const struct config *cfg)
{
	struct table_source src = map_source(cfg);

	return mapwatch_new(&src, cfg->customer_map_refresh, cfg->customer_map_max_shrink);
}

static struct table_source
settings_source(const struct config *cfg)
{
	struct table_source src = { cfg->account_settings, cfg->account_settings_query, cfg->user_id,
	    (unsigned)cfg->customer_map_timeout };

	return src;
}

static struct mapwatch *
settings_watch_new(const struct config *cfg)
{
	struct table_source src = settings_source(cfg);

	return mapwatch_new(&src, cfg->customer_map_refresh, cfg->customer_map_max_shrink);
}

/* key_failed - ERR (from loading KEY's data) names KEY's line too */
static void
key_failed(const struct config *cfg, const char *key, char *err, size_t errlen)
{
	char where[512], *why = xstrdup(err);

	config_where(cfg, key, where, sizeof(where));
	err_set(err, errlen, "%s: %s", where, why);
	free(why);
}

static void
map_failed(const struct config *cfg, char *err, size_t errlen)
{
	key_failed(cfg, "CustomerMap", err, errlen);
}

/* first_settings - RT's AccountSettings, read for the first time; 0, or -1 with ERR */
static int
first_settings(struct runtime *rt, char *err, size_t errlen)
{
	struct account_table *t;
	int tell;

	if (rt->cfg->account_settings == NULL)
		return 0;
	rt->settings_watch = settings_watch_new(rt->cfg);
	if (accounts_refresh(rt->settings_watch, NULL, time(NULL), &t, &tell, err, errlen) != MAPWATCH_NEW) {
		key_failed(rt->cfg, "AccountSettings", err, errlen);
		return -1;
	}
	accounts_set(rt, accounts_ref(t));
	return 0;
}

struct account_table *
runtime_load_accounts(const struct config *cfg, char *err, size_t errlen)
{
	struct table_source src = settings_source(cfg);
	struct account_table *t = accounts_new();

	if (cfg->account_settings && accounts_load_source(t, &src, err, errlen) != 0) {
		key_failed(cfg, "AccountSettings", err, errlen);
		accounts_free(t);
		return NULL;
	}
	return t;
}

/* map_empty - a map without a prefix is a mistake unless AllowEmptyCustomerMap; 1 with ERR */
static int
map_empty(const struct config *cfg, const struct prefixmap *map, char *err, size_t errlen)
{
	if (prefixmap_prefix_count(map) > 0 || cfg->allow_empty_map)
		return 0;
	err_set(err, errlen, "%s has no prefixes (only a header?); every report would reach nobody. "
	    "AllowEmptyCustomerMap yes if that is meant", cfg->customer_map);
	map_failed(cfg, err, errlen);
	return 1;
}

struct prefixmap *
runtime_load_map(const struct config *cfg, char *err, size_t errlen)
{
	struct table_source src = map_source(cfg);
	struct prefixmap *map = prefixmap_new();

	if (prefixmap_load_source(map, &src, err, errlen) != 0) {
		map_failed(cfg, err, errlen);
		prefixmap_free(map);
		return NULL;
	}
	if (map_empty(cfg, map, err, errlen)) {
		prefixmap_free(map);
		return NULL;
	}
	return map;
}

/* load_parts - config, templates and the store's shape; NULL with ERR */
static struct rt_parts *
load_parts(const char *path, char *err, size_t errlen)
{
	struct rt_parts *p = xcalloc(1, sizeof(*p));

	atomic_init(&p->refs, 1);
	if ((p->cfg = config_load(path, err, errlen)) == NULL)
		goto fail;
	/* parsed once here: an edit on disk counts from the next reload on */
	if ((p->templates = notice_templates_load(p->cfg, err, errlen)) == NULL ||
	    digest_templates_check(p->cfg, p->templates, err, errlen) != 0)
		goto fail;
	/* the shape is checked now; the database is reached when first needed */
	if ((p->store = store_new(p->cfg->state_db, p->cfg->outbox_db, STORE_BUSY_TIMEOUT_MS, err, errlen)) == NULL)
		goto fail;
	return p;
fail:
	parts_drop(p);
	return NULL;
}

/* runtime_load - config, customer map and the store (connected now with
 * RT_STORE); NULL with ERR */
struct runtime *
runtime_load(const char *path, int flags, char *err, size_t errlen)
{
	struct rt_parts *parts;
	struct runtime *rt;
	struct prefixmap *map;
	int tell;

	if ((parts = load_parts(path, err, errlen)) == NULL)
		return NULL;
	rt = bundle(parts, NULL);
	rt->watch = watch_new(rt->cfg);
	if (mapwatch_refresh(rt->watch, NULL, time(NULL), &map, &tell, err, errlen) != MAPWATCH_NEW) {
		map_failed(rt->cfg, err, errlen);
		goto fail;
	}
	if (map_empty(rt->cfg, map, err, errlen)) {
		prefixmap_free(map);
		goto fail;
	}
	rt->mapref = map_new(map);
	rt->map = map;
	rt->env.map = map;
	if (first_settings(rt, err, errlen) != 0)
		goto fail;
	if ((flags & RT_STORE) && runtime_open_store(rt, err, errlen) != 0)
		goto fail;
	return rt;
fail:
	runtime_destroy(rt);
	return NULL;
}

struct runtime *
runtime_acquire(void)
{
	struct runtime *rt;

	pthread_mutex_lock(&rt_lock);
	rt = current;
	rt->refs++;
	pthread_mutex_unlock(&rt_lock);
	return rt;
}

static void
destroy(void *rt)
{
	runtime_destroy(rt);
}

/* runtime_release - the last reference frees the bundle on the reaper thread
 * (base/reaper.h) when the daemon runs one: a milter callback that lets go
 * of the map a refresh replaced answers the MTA without freeing it first */
void
runtime_release(struct runtime *rt)
{
	int last;

	if (rt == NULL)
		return;
	pthread_mutex_lock(&rt_lock);
	last = --rt->refs == 0;
	pthread_mutex_unlock(&rt_lock);
	if (last)
		reaper_defer(destroy, rt);
}

/* template_error - MSG about TYPE's notice, under the type whose file it is:
 * an error in scan_ntp.tmpl is scan_ntp's, though scan6_ntp found it first */
static void
template_error(const struct runtime *rt, const char *type, const char *msg, char *err, size_t errlen)
{
	char why[256], *own = NULL;
	const struct template *t = notice_template_find(rt->templates, rt->cfg, type, why, sizeof(why));
	const char *base = t ? strrchr(template_path(t), '/') : NULL;
	size_t len;

	base = base ? base + 1 : t ? template_path(t) : NULL;
	if (base && (len = strlen(base)) > 5 && strcmp(base + len - 5, ".tmpl") == 0)
		own = xstrndup(base, len - 5);
	if (own && strcmp(own, type) != 0 && strcmp(own, "generic") != 0 && strcmp(own, "generic_event") != 0)
		err_set(err, errlen, "report type %s (its template serves %s too): %s", own, type, msg);
	else
		err_set(err, errlen, "report type %s: %s", type, msg);
	free(own);
}

/* check_type - TYPE's notice in LANG (NULL: English) renders, with and
 * without history; else ERR names the type, the language and the template */
static int
check_type(const struct runtime *rt, const char *type, const char *lang, char *err, size_t errlen)
{
	char msg[512], *path, what[600];
	struct notice notice;
	int history;

	for (history = 0; history < 2; history++) {
		path = NULL;
		if (sample_notice_lang(rt->templates, rt->cfg, type, lang, time(NULL), history, &notice, &path,
		    msg, sizeof(msg)) != 0) {
			snprintf(what, sizeof(what), "%s%s%s%s", lang ? "(language " : "", lang ? lang : "",
			    lang ? ") " : "", msg);
			template_error(rt, type, what, err, errlen);
			return -1;
		}
		notice_free(&notice);
		free(path);
	}
	return 0;
}

int
runtime_check_templates(const struct runtime *rt, size_t *ntypes, char *err, size_t errlen)
{
	size_t n, i, l, nlangs;
	char **types = sample_types(rt->cfg, &n);
	const char *langs[33] = { NULL };
	int rc = 0;

	/* English, then each language directory the set has (de/): its templates and the English standing in */
	nlangs = 1 + template_set_languages(rt->templates, langs + 1, 32);
	nlangs = nlangs > 33 ? 33 : nlangs;
	for (l = 0; l < nlangs && rc == 0; l++)
		for (i = 0; i < n && rc == 0; i++)
			rc = check_type(rt, types[i], langs[l], err, errlen);
	if (ntypes)
		*ntypes = n;
	sample_types_free(types, n);
	return rc;
}

/* swap_in - FRESH becomes current; the old bundle goes when its last message ends */
static void
swap_in(struct runtime *fresh)
{
	struct runtime *old;

	pthread_mutex_lock(&rt_lock);
	old = current;
	current = fresh;
	pthread_mutex_unlock(&rt_lock);
	runtime_release(old);
}

/* what a refused refresh is about: the key, and how the log and the mail name what stays */
struct refusal {
	const char *key;	/* "CustomerMap" */
	const char *stays;	/* "the map in use stays" */
	const char *old;	/* "the old map stays in use" */
	const char *what;	/* "customer map" */
};

static const struct refusal MAP_REFUSAL = { "CustomerMap", "the map in use stays", "the old map stays in use",
	"customer map" };
static const struct refusal SETTINGS_REFUSAL = { "AccountSettings", "the settings in use stay",
	"the old settings stay in use", "account settings" };

/* tell_ops - one mail to OpsAddress that the data in use is kept; best effort */
static void
tell_ops(const struct config *cfg, const struct refusal *r, const char *why)
{
	struct buf msg = BUF_INIT, subject = BUF_INIT;
	char *to[1] = { cfg->ops_address }, err[256];

	if (cfg->ops_address == NULL)
		return;
	buf_printf(&subject, "shadowmilter: the %s refresh was refused, %s", r->key, r->old);
	header_append(&msg, "From", cfg->notice_from);
	header_append(&msg, "To", cfg->ops_address);
	header_append(&msg, "Subject", subject.data);
	header_append(&msg, "Auto-Submitted", "auto-generated");
	header_append(&msg, "Content-Type", "text/plain; charset=utf-8");
	buf_printf(&msg, "\nshadowmilter could not take the new %s and keeps what it has:\n\n  %s\n\n"
	    "It tries again at the next refresh or SIGHUP. This mail is sent once until a refresh succeeds.\n",
	    r->what, why);
	if (deliver_message(cfg, to, 1, msg.data, NULL, err, sizeof(err)) != 0)
		msg_error("cannot tell %s about the %s: %s", cfg->ops_address, r->key, err);
	buf_free(&subject);
	buf_free(&msg);
}

/* refused - the log line and, once, the mail */
static void
refused(const struct config *cfg, const struct refusal *r, const char *why, int tell)
{
	msg_error("%s refresh refused, %s: %s", r->key, r->stays, why);
	if (tell)
		tell_ops(cfg, r, why);
}

/* record_one - W's refresh record under "KEY@HOST" into the store for "status"; best effort */
static void
record_one(const struct runtime *rt, const struct mapwatch *w, const char *key, const char *host)
{
	struct mapwatch_status ms;
	struct source_status ss;
	struct buf name = BUF_INIT;
	char err[512];

	buf_printf(&name, "%s@%s", key, host);
	mapwatch_status(w, &ms);
	ss.name = name.data;
	ss.label = (char *)ms.label;
	ss.loaded_at = ms.loaded_at;
	ss.entries = (long long)ms.prefixes;
	ss.accounts = (long long)ms.accounts;
	ss.checked_at = ms.checked_at;
	ss.last_error = (char *)ms.last_error;
	ss.error_at = ms.error_at;
	if (sources_put(rt->store, &ss, err, sizeof(err)) != 0)
		msg_warn("cannot record the %s's state for status: %s", key, err);
	buf_free(&name);
}

/* record - the map's and the settings' refresh records (refresh lock held) */
static void
record(const struct runtime *rt)
{
	char host[256];

	if (watch == NULL || !store_has_history(rt->store))
		return;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	record_one(rt, watch, "CustomerMap", host);
	if (settings_watch)
		record_one(rt, settings_watch, "AccountSettings", host);
}

void
runtime_record_map_status(void)
{
	struct runtime *rt;

	pthread_mutex_lock(&refresh_lock);
	rt = runtime_acquire();
	record(rt);
	runtime_release(rt);
	pthread_mutex_unlock(&refresh_lock);
}

/* share_map, share_accounts - one more reference to a part in use */
static struct rt_map *
share_map(struct rt_map *m)
{
	atomic_fetch_add(&m->refs, 1);
	return m;
}

static struct rt_accounts *
share_accounts(struct rt_accounts *a)
{
	if (a)
		atomic_fetch_add(&a->refs, 1);
	return a;
}

/* refresh_settings - the settings read again into *FRESH, or refused (logged); NULL when kept */
static struct account_table *
refresh_settings(const struct runtime *rt, time_t now)
{
	struct account_table *t;
	char err[512];
	int tell;

	if (accounts_refresh(settings_watch, rt->accounts, now, &t, &tell, err, sizeof(err)) == MAPWATCH_NEW) {
		msg_info("AccountSettings refreshed: %zu accounts", accounts_count(t));
		return t;
	}
	refused(rt->cfg, &SETTINGS_REFUSAL, err, tell);
	return NULL;
}

/* refresh_map - the map read again, or refused (logged); NULL when kept */
static struct prefixmap *
refresh_map(const struct runtime *rt, time_t now)
{
	struct prefixmap *map;
	char err[512];
	int tell;

	if (mapwatch_refresh(watch, rt->map, now, &map, &tell, err, sizeof(err)) == MAPWATCH_NEW) {
		msg_info("CustomerMap refreshed: %zu prefixes, %zu accounts", prefixmap_prefix_count(map),
		    prefixmap_account_count(map));
		return map;
	}
	refused(rt->cfg, &MAP_REFUSAL, err, tell);
	return NULL;
}

void
runtime_refresh_map(int force)
{
	struct runtime *rt, *fresh;
	struct prefixmap *map = NULL;
	struct account_table *settings = NULL;
	time_t now = time(NULL);
	int tried = 0;

	pthread_mutex_lock(&refresh_lock);
	rt = runtime_acquire();
	if (watch && (force || mapwatch_due(watch, now))) {
		map = refresh_map(rt, now);
		tried = 1;
	}
	if (settings_watch && (force || mapwatch_due(settings_watch, now))) {
		settings = refresh_settings(rt, now);
		tried = 1;
	}
	if (map || settings) {
		atomic_fetch_add(&rt->parts->refs, 1);
		fresh = bundle(rt->parts, map ? map_new(map) : share_map(rt->mapref));
		accounts_set(fresh, settings ? accounts_ref(settings) : share_accounts(rt->accountsref));
		swap_in(fresh);
	}
	if (tried)
		record(rt);
	runtime_release(rt);
	pthread_mutex_unlock(&refresh_lock);
}

/* reload_map - the reload's map: the same source is refreshed against the
 * map in use (kept when refused), another source must load; 0 or -1 with ERR */
static int
reload_map(struct runtime *fresh, const struct runtime *old, char *err, size_t errlen)
{
	struct table_source src = map_source(fresh->cfg);
	struct prefixmap *map;
	int tell;

	if (watch == NULL || !mapwatch_same_source(watch, &src)) {
		fresh->watch = watch_new(fresh->cfg);
		if (mapwatch_refresh(fresh->watch, NULL, time(NULL), &map, &tell, err, errlen) != MAPWATCH_NEW)
			return -1;
		fresh->mapref = map_new(map);
	} else if (mapwatch_refresh(watch, old->map, time(NULL), &map, &tell, err, errlen) == MAPWATCH_NEW)
		fresh->mapref = map_new(map);
	else {
		refused(fresh->cfg, &MAP_REFUSAL, err, tell);
		fresh->mapref = share_map(old->mapref);
	}
	fresh->map = fresh->mapref->map;
	fresh->env.map = fresh->map;
	return 0;
}

/* reload_settings - the reload's AccountSettings, as reload_map: the same
 * source is refreshed (the settings in use kept when refused), another one
 * must load; 0 or -1 with ERR */
static int
reload_settings(struct runtime *fresh, const struct runtime *old, char *err, size_t errlen)
{
	struct table_source src = settings_source(fresh->cfg);
	struct account_table *t;
	int tell;

	if (fresh->cfg->account_settings == NULL)
		return 0;
	if (settings_watch == NULL || !mapwatch_same_source(settings_watch, &src))
		return first_settings(fresh, err, errlen);
	if (accounts_refresh(settings_watch, old->accounts, time(NULL), &t, &tell, err, errlen) == MAPWATCH_NEW)
		accounts_set(fresh, accounts_ref(t));
	else {
		refused(fresh->cfg, &SETTINGS_REFUSAL, err, tell);
		accounts_set(fresh, share_accounts(old->accountsref));
	}
	return 0;
}

void
runtime_reload(void)
{
	struct runtime *fresh, *old;
	struct rt_parts *parts;
	char err[512];

	pthread_mutex_lock(&refresh_lock);
	old = runtime_acquire();
	fresh = NULL;
	if ((parts = load_parts(config_path, err, sizeof(err))) != NULL &&
	    reload_map((fresh = bundle(parts, NULL)), old, err, sizeof(err)) == 0 &&
	    reload_settings(fresh, old, err, sizeof(err)) == 0 &&
	    runtime_check_templates(fresh, NULL, err, sizeof(err)) == 0) {
		take_watches(fresh);
		swap_in(fresh);
		if (runtime_open_store(fresh, err, sizeof(err)) != 0)	/* reports are deferred until it can be */
			msg_error("%s; reports are deferred until the store can be reached", err);
		msg_info("reloaded %s: %zu prefixes, %zu accounts, %zu with settings", config_path,
		    prefixmap_prefix_count(fresh->map), prefixmap_account_count(fresh->map),
		    accounts_count(fresh->accounts));
		record(fresh);
	} else {
		msg_error("reload failed, keeping the running configuration: %s", err);
		if (fresh)
			runtime_destroy(fresh);
		else if (parts)
			parts_drop(parts);
	}
	runtime_release(old);
	pthread_mutex_unlock(&refresh_lock);
}
