/* test_login_lockout.c - the failure counts behind login throttling, on a
 * clock the test moves (loop_now_ms is wrapped at link time): an address
 * that failed 20 times is locked, another address is not, and the lock ends
 * 15 minutes after the last failure, not before (README: "after 20, 429 for
 * 15 minutes"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>

#include "login_guard.h"
#include "manager.h"

static uint64_t now_ms = 1000000;

uint64_t __wrap_loop_now_ms(void);
uint64_t __wrap_loop_now_ms(void) { return now_ms; }

static void t_lockout_per_address_for_15_minutes(void **state)
{
	(void)state;
	struct mgr m = {0};
	assert_true(sodium_init() >= 0);
	assert_int_equal(login_guard_init(&m), 0);
	for (int i = 0; i < 20; i++) {
		assert_false(throttle_locked(login_failures(&m, "addr:10.0.0.5")));
		login_failed(&m, "addr:10.0.0.5");
		now_ms += 1000;
	}
	now_ms -= 1000; /* now: the last failure */
	assert_int_equal(login_failures(&m, "addr:10.0.0.5"), 20);
	assert_true(throttle_locked(login_failures(&m, "addr:10.0.0.5")));
	/* Another address is not locked. */
	assert_int_equal(login_failures(&m, "addr:10.0.0.6"), 0);
	assert_false(throttle_locked(login_failures(&m, "addr:10.0.0.6")));
	/* Still locked 15 minutes after the first failure, and a second before
	 * 15 minutes after the last. */
	now_ms += 15u * 60u * 1000u - 1000u;
	assert_true(throttle_locked(login_failures(&m, "addr:10.0.0.5")));
	/* Free once 15 minutes have passed since the last failure. */
	now_ms += 1001;
	assert_int_equal(login_failures(&m, "addr:10.0.0.5"), 0);
	assert_false(throttle_locked(login_failures(&m, "addr:10.0.0.5")));
	login_guard_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_lockout_per_address_for_15_minutes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
