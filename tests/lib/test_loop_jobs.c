/* test_loop_jobs.c - blocking work off the loop: the loop keeps running
 * while a job works, the job's done runs on the loop thread after its
 * work, the set's bound holds, and freeing the set waits for a job still
 * running and completes it. */
#include "testutil.h"

#include "loop.h"
#include "loop_jobs.h"

#include <pthread.h>
#include <unistd.h>

struct job_probe {
	unsigned work_ms;
	pthread_t work_thread, done_thread;
	uint64_t worked_at, done_at;
	int done_calls;
	struct loop *loop; /* stopped by done when set */
};

static void work(void *arg)
{
	struct job_probe *p = arg;
	p->work_thread = pthread_self();
	usleep(p->work_ms * 1000u);
	p->worked_at = loop_now_ms();
}

static void done(void *arg)
{
	struct job_probe *p = arg;
	p->done_thread = pthread_self();
	p->done_at = loop_now_ms();
	p->done_calls++;
	if (p->loop)
		loop_stop(p->loop);
}

static uint64_t tick_at;
static void on_tick(void *ctx) { tick_at = loop_now_ms(); }

static void test_off_the_loop(void **state)
{
	struct loop *l = loop_new();
	struct loop_jobs *s = loop_jobs_new(l, 2);
	struct job_probe p = {.work_ms = 300, .loop = l};
	uint64_t t0 = loop_now_ms();
	tick_at = 0;
	assert_int_equal(loop_jobs_start(s, work, done, &p), 0);
	assert_int_equal(p.done_calls, 0); /* never from inside start */
	loop_timer_after(l, 50, on_tick, NULL);
	loop_run(l);
	assert_int_equal(p.done_calls, 1);
	assert_true(tick_at && tick_at - t0 < 250); /* the loop ran while the job worked */
	assert_true(p.done_at >= p.worked_at);
	assert_true(pthread_equal(p.done_thread, pthread_self()));
	assert_false(pthread_equal(p.work_thread, pthread_self()));
	loop_jobs_free(s);
	loop_free(l);
}

static void test_bound_and_free(void **state)
{
	struct loop *l = loop_new();
	struct loop_jobs *s = loop_jobs_new(l, 1);
	struct job_probe a = {.work_ms = 200}, b = {.work_ms = 1};
	assert_int_equal(loop_jobs_start(s, work, done, &a), 0);
	assert_int_equal(loop_jobs_start(s, work, done, &b), -1); /* one at a time */
	/* Freed with a job still working: waits for it and completes it. */
	loop_jobs_free(s);
	assert_int_equal(a.done_calls, 1);
	assert_true(a.done_at >= a.worked_at);
	assert_int_equal(b.done_calls, 0);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off_the_loop),
	    cmocka_unit_test(test_bound_and_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
