/*
 * runtime - what the daemon runs with: config, customer map, outbox, history
 *
 * See runtime.h.
 */
#include "runtime.h"
#include "config.h"
#include "outbox.h"
#include "notice.h"
#include "prefixmap.h"
#include "sample.h"
#include "state.h"
#include "template.h"
#include "util.h"

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

int
runtime_open_outbox(struct runtime *rt, char *err, size_t errlen)
{
	if ((rt->outbox = outbox_open(rt->cfg->outbox_db, err, errlen)) == NULL)
		return -1;
	rt->env.outbox = rt->outbox;
	return 0;
}

void
runtime_destroy(struct runtime *rt)
{
	state_close(rt->state);
	free(rt->state_error);
	outbox_close(rt->outbox);
	prefixmap_free(rt->map);
	template_set_free(rt->templates);
	config_free(rt->cfg);
	free(rt);
}

/*
 * runtime_open_state - the detection history. A database that cannot be
 * opened does not stop the milter: ordinary mail flows, and every report is
 * deferred (TEMPFAIL, one log line each) until it is fixed and reloaded.
 */
void
runtime_open_state(struct runtime *rt)
{
	char err[512];

	if (rt->cfg->state_db == NULL || rt->state || rt->state_error)
		return;
	if ((rt->state = state_open(rt->cfg->state_db, STATE_BUSY_TIMEOUT_MS, err, sizeof(err))) == NULL) {
		rt->state_error = xstrdup(err);
		syslog(LOG_ERR, "%s; reports are deferred until it is fixed and shadowmilter reloaded", err);
	}
	rt->env.state = rt->state;
	rt->env.state_error = rt->state_error;
}

/* runtime_load - config, customer map, and what FLAGS ask: outbox and
 * history; NULL with ERR */
struct runtime *
runtime_load(const char *path, int flags, char *err, size_t errlen)
{
	struct runtime *rt = xcalloc(1, sizeof(*rt));

	rt->refs = 1;
	if ((rt->cfg = config_load(path, err, errlen)) == NULL)
		goto fail;
	rt->map = prefixmap_new();
	if (prefixmap_load(rt->map, rt->cfg->customer_map, err, errlen) != 0)
		goto fail;
	/* parsed once here: an edit on disk counts from the next reload on */
	if ((rt->templates = notice_templates_load(rt->cfg, err, errlen)) == NULL)
		goto fail;
	if ((flags & RT_OUTBOX) && (rt->outbox = outbox_open(rt->cfg->outbox_db, err, errlen)) == NULL)
		goto fail;
	rt->env.cfg = rt->cfg;
	rt->env.map = rt->map;
	rt->env.templates = rt->templates;
	rt->env.outbox = rt->outbox;
	if (flags & RT_STATE)
		runtime_open_state(rt);
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

	if ((fresh = runtime_load(config_path, RT_OUTBOX | RT_STATE, err, sizeof(err))) == NULL) {
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
	syslog(LOG_INFO, "reloaded %s: %zu prefixes, %zu accounts", config_path,
	    prefixmap_prefix_count(fresh->map), prefixmap_account_count(fresh->map));
}

