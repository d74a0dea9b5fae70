/*
 * test_reaper - work handed to the reaper runs on its thread, and the caller
 * does not wait for it; without a reaper it runs at once
 */
#include "test.h"

#include "base/reaper.h"

#include <pthread.h>
#include <time.h>

struct slow_job {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int released;		/* set by the test once reaper_defer returned */
	int saw_released;	/* the job found it set: it ran after the caller went on */
	int ran;
	pthread_t ran_on;
};

static struct slow_job job = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 };

/* slow - the job: waits (up to 10 s) for the test to say the caller went on */
static void
slow(void *arg)
{
	struct slow_job *j = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&j->lock);
	while (!j->released && pthread_cond_timedwait(&j->cond, &j->lock, &until) == 0)
		;
	j->saw_released = j->released;
	j->ran = 1;
	j->ran_on = pthread_self();
	pthread_mutex_unlock(&j->lock);
}

TEST(reaper, deferred_work_runs_on_the_reaper_thread_after_the_caller_went_on)
{
	char err[128];

	job.released = job.saw_released = job.ran = 0;
	REQUIRE(reaper_start(err, sizeof(err)) == 0);
	reaper_defer(slow, &job);	/* run here, it would wait 10 s and see nothing released */
	pthread_mutex_lock(&job.lock);
	job.released = 1;
	pthread_cond_signal(&job.cond);
	pthread_mutex_unlock(&job.lock);
	reaper_drain();
	CHECK(job.ran);
	CHECK(job.saw_released);
	CHECK(!pthread_equal(job.ran_on, pthread_self()));
	reaper_stop();
}

static void
count(void *arg)
{
	(*(int *)arg)++;
}

TEST(reaper, drain_waits_for_every_job_queued_before_it)
{
	char err[128];
	int n = 0, i;

	REQUIRE(reaper_start(err, sizeof(err)) == 0);
	for (i = 0; i < 1000; i++)
		reaper_defer(count, &n);
	reaper_drain();
	CHECK_INT(n, 1000);
	reaper_stop();
}

TEST(reaper, without_a_reaper_the_work_runs_at_once_on_the_callers_thread)
{
	job.released = 1;	/* it would not wait anyway */
	job.ran = 0;
	reaper_defer(slow, &job);
	CHECK(job.ran);
	CHECK(pthread_equal(job.ran_on, pthread_self()));
}
