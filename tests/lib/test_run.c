/* test_run.c - run_capture_env (run.h): the helper gets exactly the
 * environment given, none of the caller's descriptors, and is killed with
 * what it started at its deadline; what it said is kept either way. */
#include "testutil.h"

#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static const char *const env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "VDC_TEST_SECRET=s3cret", NULL};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_output_and_status(void **state)
{
	char out[256];
	const char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	assert_int_equal(run_capture_env(argv, env, 5000, out, sizeof(out)), 3);
	assert_string_equal(out, "out\nerr\n");
}

static void test_environment_is_the_given_one(void **state)
{
	char out[1024];
	setenv("VDC_TEST_LEAK", "leaked", 1);
	const char *const argv[] = {"env", NULL};
	assert_int_equal(run_capture_env(argv, env, 5000, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "VDC_TEST_SECRET=s3cret\n"));
	assert_null(strstr(out, "VDC_TEST_LEAK"));
	unsetenv("VDC_TEST_LEAK");
}

static void test_no_descriptor_leaks(void **state)
{
	int fd = open("/dev/null", O_RDONLY); /* not O_CLOEXEC: it would leak to a plain spawn */
	assert_true(fd > 2);
	char out[256], cmd[64];
	snprintf(cmd, sizeof(cmd), "test -e /proc/self/fd/%d && echo leaked || echo closed", fd);
	const char *const argv[] = {"sh", "-c", cmd, NULL};
	assert_int_equal(run_capture_env(argv, env, 5000, out, sizeof(out)), 0);
	assert_string_equal(out, "closed\n");
	close(fd);
}

static void test_deadline_kills_the_group(void **state)
{
	char out[256];
	/* A child that started one of its own: both go at the deadline. */
	const char *const argv[] = {"sh", "-c", "echo started; sleep 30 & echo $! >/dev/null; sleep 30", NULL};
	double t0 = now_s();
	assert_int_equal(run_capture_env(argv, env, 300, out, sizeof(out)), -ETIMEDOUT);
	double took = now_s() - t0;
	assert_true(took >= 0.25 && took < 3);
	assert_string_equal(out, "started\n");
}

static void test_missing_program(void **state)
{
	char out[64] = "x";
	const char *const argv[] = {"vdc-no-such-program", NULL};
	assert_int_equal(run_capture_env(argv, env, 1000, out, sizeof(out)), -ENOENT);
}

static void test_blocked_signals_are_not_inherited(void **state)
{
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	char out[256];
	const char *const argv[] = {"sh", "-c", "grep ^SigBlk /proc/self/status", NULL};
	assert_int_equal(run_capture_env(argv, env, 5000, out, sizeof(out)), 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	assert_string_equal(out, "SigBlk:\t0000000000000000\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_output_and_status),
	    cmocka_unit_test(test_environment_is_the_given_one),
	    cmocka_unit_test(test_no_descriptor_leaks),
	    cmocka_unit_test(test_deadline_kills_the_group),
	    cmocka_unit_test(test_missing_program),
	    cmocka_unit_test(test_blocked_signals_are_not_inherited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
