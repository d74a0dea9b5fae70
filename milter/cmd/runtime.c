/*
 * runtime - what the daemon runs with: config, customer map, templates, store
 *
 * See runtime.h.
 */
#include "cmd/runtime.h"
#include "config/config.h"
#include "notice/notice.h"
#include "customers/prefixmap.h"
#include "customers/tablesource.h"
#include "notice/sample.h"
#include "store/store.h"
#include "notice/template.h"
#include "base/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <syslog.h>

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;
static const char *config_path;

void
runtime_install(struct runtime *rt, const char *path)
{
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
	store_close(rt->store);
	prefixmap_free(rt->map);
	template_set_free(rt->templates);
	config_free(rt->cfg);
	free(rt);
}

int
runtime_open_store(struct runtime *rt, char *err, size_t errlen)
{
	return store_check(rt->store, err, errlen);
}

struct prefixmap *
runtime_load_map(const struct config *cfg, char *err, size_t errlen)
{
	struct table_source src = { cfg->customer_map, cfg->customer_map_query, cfg->user_id,
	    (unsigned)cfg->customer_map_timeout };
	struct prefixmap *map = prefixmap_new();

	if (prefixmap_load_source(map, &src, err, errlen) != 0) {
		prefixmap_free(map);
		return NULL;
	}
	return map;
}

/* runtime_load - config, customer map and the store (connected now with
 * RT_STORE); NULL with ERR */
struct runtime *
runtime_load(const char *path, int flags, char *err, size_t errlen)
{
	struct runtime *rt = xcalloc(1, sizeof(*rt));

	rt->refs = 1;
	if ((rt->cfg = config_load(path, err, errlen)) == NULL)
		goto fail;
	if ((rt->map = runtime_load_map(rt->cfg, err, errlen)) == NULL)
		goto fail;
	/* parsed once here: an edit on disk counts from the next reload on */
	if ((rt->templates = notice_templates_load(rt->cfg, err, errlen)) == NULL)
		goto fail;
	/* the shape is checked now; the database is reached when first needed */
	if ((rt->store = store_new(rt->cfg->state_db, rt->cfg->outbox_db, STORE_BUSY_TIMEOUT_MS, err,
	    errlen)) == NULL)
		goto fail;
	rt->env.cfg = rt->cfg;
	rt->env.map = rt->map;
	rt->env.templates = rt->templates;
	rt->env.store = rt->store;
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

int
runtime_check_templates(const struct runtime *rt, size_t *ntypes, char *err, size_t errlen)
{
	size_t n, i;
	char **types = sample_types(rt->cfg, &n), msg[512], *path;
	struct notice notice;
	int history, rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		for (history = 0; history < 2 && rc == 0; history++) {
			path = NULL;
			if (sample_notice_from(rt->templates, rt->cfg, types[i], time(NULL), history, &notice, &path,
			    msg, sizeof(msg)) != 0) {
				err_set(err, errlen, "report type %s: %s", types[i], msg);
				rc = -1;
			} else
				notice_free(&notice);
			free(path);
		}
	if (ntypes)
		*ntypes = n;
	sample_types_free(types, n);
	return rc;
}

void
runtime_reload(void)
{
	struct runtime *fresh, *old;
	char err[512];

	if ((fresh = runtime_load(config_path, 0, err, sizeof(err))) == NULL) {
		syslog(LOG_ERR, "reload failed, keeping the running configuration: %s", err);
		return;
	}
	if (runtime_check_templates(fresh, NULL, err, sizeof(err)) != 0) {
		syslog(LOG_ERR, "reload failed, keeping the running configuration: %s", err);
		runtime_destroy(fresh);
		return;
	}
	pthread_mutex_lock(&rt_lock);
	old = current;
	current = fresh;
	pthread_mutex_unlock(&rt_lock);
	runtime_release(old);
	if (runtime_open_store(fresh, err, sizeof(err)) != 0)	/* reports are deferred until it can be */
		syslog(LOG_ERR, "%s; reports are deferred until the store can be reached", err);
	syslog(LOG_INFO, "reloaded %s: %zu prefixes, %zu accounts", config_path,
	    prefixmap_prefix_count(fresh->map), prefixmap_account_count(fresh->map));
}

