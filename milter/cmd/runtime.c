/*
 * runtime - what the daemon runs with: config, customer map, outbox, history
 *
 * See runtime.h. A bundle points at two counted parts: the configuration
 * part (config, templates, store) and the map. A reload makes both anew; a
 * map refresh makes a bundle with the running configuration part and a new
 * map. A part is freed by whoever drops its last reference, so a message in
 * flight finishes with the parts it started with.
 *
 * The map's refresh record (customers/mapwatch) is one for the process; the
 * refresh lock keeps two refreshes (the timer and a SIGHUP) from crossing.
 */
#include "cmd/runtime.h"
#include "config/config.h"
#include "notice/deliver.h"
#include "notice/mailheader.h"
#include "notice/notice.h"
#include "customers/mapwatch.h"
#include "customers/prefixmap.h"
#include "customers/tablesource.h"
#include "notice/sample.h"
#include "store/sources.h"
#include "store/store.h"
#include "notice/template.h"
#include "base/msg.h"
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

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;	/* one refresh at a time; the watch */
static struct runtime *current;
static const char *config_path;
static struct mapwatch *watch;

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

void
runtime_install(struct runtime *rt, const char *path)
{
	pthread_mutex_lock(&refresh_lock);
	if (rt->watch) {
		mapwatch_free(watch);
		watch = rt->watch;
		rt->watch = NULL;
	}
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
	parts_drop(rt->parts);
	mapwatch_free(rt->watch);
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

/* map_failed - ERR (from loading the map) names the CustomerMap line too */
static void
map_failed(const struct config *cfg, char *err, size_t errlen)
{
	char where[512], *why = xstrdup(err);

	config_where(cfg, "CustomerMap", where, sizeof(where));
	err_set(err, errlen, "%s: %s", where, why);
	free(why);
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
	if ((p->templates = notice_templates_load(p->cfg, err, errlen)) == NULL)
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
		runtime_destroy(rt);
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

/* tell_ops - one mail to OpsAddress that the map in use is kept; best effort */
static void
tell_ops(const struct config *cfg, const char *why)
{
	struct buf msg = BUF_INIT;
	char *to[1] = { cfg->ops_address }, err[256];

	if (cfg->ops_address == NULL)
		return;
	header_append(&msg, "From", cfg->notice_from);
	header_append(&msg, "To", cfg->ops_address);
	header_append(&msg, "Subject", "shadowmilter: the CustomerMap refresh was refused, the old map stays in use");
	header_append(&msg, "Auto-Submitted", "auto-generated");
	header_append(&msg, "Content-Type", "text/plain; charset=utf-8");
	buf_printf(&msg, "\nshadowmilter could not take the new customer map and keeps the one it has:\n\n  %s\n\n"
	    "It tries again at the next refresh or SIGHUP. This mail is sent once until a refresh succeeds.\n", why);
	if (deliver_message(cfg, to, 1, msg.data, NULL, err, sizeof(err)) != 0)
		msg_error("cannot tell %s about the CustomerMap: %s", cfg->ops_address, err);
	buf_free(&msg);
}

/* refused - the log line and, once, the mail */
static void
refused(const struct config *cfg, const char *why, int tell)
{
	msg_error("CustomerMap refresh refused, the map in use stays: %s", why);
	if (tell)
		tell_ops(cfg, why);
}

/* record - the map's refresh record into the store for "status" (refresh lock held); best effort */
static void
record(const struct runtime *rt)
{
	struct mapwatch_status ms;
	struct source_status ss;
	struct buf name = BUF_INIT;
	char host[256], err[512];

	if (watch == NULL || !store_has_history(rt->store))
		return;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	buf_printf(&name, "CustomerMap@%s", host);
	mapwatch_status(watch, &ms);
	ss.name = name.data;
	ss.label = (char *)ms.label;
	ss.loaded_at = ms.loaded_at;
	ss.entries = (long long)ms.prefixes;
	ss.accounts = (long long)ms.accounts;
	ss.checked_at = ms.checked_at;
	ss.last_error = (char *)ms.last_error;
	ss.error_at = ms.error_at;
	if (sources_put(rt->store, &ss, err, sizeof(err)) != 0)
		msg_warn("cannot record the CustomerMap's state for status: %s", err);
	buf_free(&name);
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

void
runtime_refresh_map(int force)
{
	struct runtime *rt, *fresh;
	struct prefixmap *map;
	char err[512];
	int tell;

	pthread_mutex_lock(&refresh_lock);
	rt = runtime_acquire();
	if (watch == NULL || (!force && !mapwatch_due(watch, time(NULL)))) {
		runtime_release(rt);
		pthread_mutex_unlock(&refresh_lock);
		return;
	}
	if (mapwatch_refresh(watch, rt->map, time(NULL), &map, &tell, err, sizeof(err)) != MAPWATCH_NEW)
		refused(rt->cfg, err, tell);
	else {
		atomic_fetch_add(&rt->parts->refs, 1);
		fresh = bundle(rt->parts, map_new(map));
		swap_in(fresh);
		msg_info("CustomerMap refreshed: %zu prefixes, %zu accounts", prefixmap_prefix_count(map),
		    prefixmap_account_count(map));
	}
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
		refused(fresh->cfg, err, tell);
		atomic_fetch_add(&old->mapref->refs, 1);
		fresh->mapref = old->mapref;
	}
	fresh->map = fresh->mapref->map;
	fresh->env.map = fresh->map;
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
	    runtime_check_templates(fresh, NULL, err, sizeof(err)) == 0) {
		if (fresh->watch) {
			mapwatch_free(watch);
			watch = fresh->watch;
			fresh->watch = NULL;
		}
		swap_in(fresh);
		if (runtime_open_store(fresh, err, sizeof(err)) != 0)	/* reports are deferred until it can be */
			msg_error("%s; reports are deferred until the store can be reached", err);
		msg_info("reloaded %s: %zu prefixes, %zu accounts", config_path,
		    prefixmap_prefix_count(fresh->map), prefixmap_account_count(fresh->map));
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
