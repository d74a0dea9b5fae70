/*
 * reaper - frees, on a thread of its own, what a busy thread let go of
 *
 * See reaper.h. A singly linked queue under one mutex; the thread sleeps on
 * a condition variable while the queue is empty. "Done" counts the jobs run,
 * so reaper_drain waits for the count it saw queued, not for an empty queue
 * (new work may keep coming).
 *
 * Owns: the queue, its jobs and the reaper thread.
 */
#include "base/reaper.h"
#include "base/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct job {
	void (*fn)(void *);
	void *arg;
	struct job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;	/* queued, or stop */
static pthread_cond_t ran = PTHREAD_COND_INITIALIZER;	/* DONE moved */
static struct job *head, *tail;
static unsigned long queued, done;
static int running, stopping;
static pthread_t thread;

/* next_job - the oldest job, or NULL once stopping with none left (lock held) */
static struct job *
next_job(void)
{
	struct job *j;

	while (head == NULL && !stopping)
		pthread_cond_wait(&work, &lock);
	if ((j = head) != NULL && (head = j->next) == NULL)
		tail = NULL;
	return j;
}

static void *
reap(void *unused)
{
	struct job *j;

	(void)unused;
	/* Linux: the nice value is the thread's own; the work here can wait for the callbacks */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
	pthread_mutex_lock(&lock);
	while ((j = next_job()) != NULL) {
		pthread_mutex_unlock(&lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&lock);
		done++;
		pthread_cond_broadcast(&ran);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
reaper_start(char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (!running) {
		stopping = 0;
		if (pthread_create(&thread, NULL, reap, NULL) != 0) {
			err_set(err, errlen, "cannot start the reaper thread");
			rc = -1;
		} else
			running = 1;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void
reaper_defer(void (*fn)(void *), void *arg)
{
	struct job *j;

	pthread_mutex_lock(&lock);
	if (!running || stopping) {
		pthread_mutex_unlock(&lock);
		fn(arg);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->fn = fn;
	j->arg = arg;
	if (tail)
		tail->next = j;
	else
		head = j;
	tail = j;
	queued++;
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
}

void
reaper_drain(void)
{
	unsigned long want;

	pthread_mutex_lock(&lock);
	want = queued;
	while (running && done < want)
		pthread_cond_wait(&ran, &lock);
	pthread_mutex_unlock(&lock);
}

void
reaper_stop(void)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = 1;
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	pthread_mutex_lock(&lock);
	running = 0;
	pthread_mutex_unlock(&lock);
}
