/* test_ha_monitor.c - VM monitoring's restart budget as a table: restarts
 * inside the window count, older ones and future-stamped ones do not, and
 * the limit is reached exactly at max. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ha_monitor.h"

#include <string.h>

static void t_ha_monitor(void **state)
{
	(void)state;
	static const struct {
		int64_t now;
		int64_t times[4];
		int n, max;
		int64_t window;
		bool restart;
		int in;
		const char *reason;
	} cases[] = {
		{1000, {0}, 0, 3, 3600, true, 0, "restart 1 of at most 3 in 1 h"},
		{10000, {9000, 9500}, 2, 3, 3600, true, 2, "restart 3 of at most 3 in 1 h"},
		{10000, {9000, 9500, 9900}, 3, 3, 3600, false, 3, "left stopped: restarted 3 times in the last 1 h (the limit is 3)"},
		/* One left the window: a restart is allowed again. */
		{10000, {6400, 9500, 9900}, 3, 3, 3600, true, 2, "restart 3 of"},
		{10000, {6401, 9500, 9900}, 3, 3, 3600, false, 3, "left stopped"},
		/* A time after now (a clock step back) does not count. */
		{10000, {9500, 9900, 20000}, 3, 3, 3600, true, 2, "restart 3"},
		{10000, {9999}, 1, 1, 600, false, 1, "in the last 10 min (the limit is 1)"},
		{10000, {0}, 0, 0, 90, false, 0, "in the last 90 s (the limit is 0)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ha_monitor_decision d;
		ha_monitor_decide(cases[i].now, cases[i].times, cases[i].n, cases[i].max, cases[i].window, &d);
		if (d.restart != cases[i].restart || d.in_window != cases[i].in || !strstr(d.reason, cases[i].reason))
			fail_msg("case %zu: restart=%d in=%d '%s'", i, d.restart, d.in_window, d.reason);
	}
}

/* "Start B after A is ready": B waits while A restarts, then while A's
 * probe has not answered since, at most timeout_ms from A's restart. */
static void t_ha_ready_wait(void **state)
{
	(void)state;
	static const struct {
		bool restarting, probe;
		int ready;
		int64_t restarted, now, timeout;
		enum ha_ready_wait want;
		const char *reason;
	} cases[] = {
		{true, true, -1, 1000, 1500, 60000, HA_READY_WAIT, "db is being restarted"},
		{true, false, -1, 1000, 1500, 60000, HA_READY_WAIT, "being restarted"},
		{false, false, -1, 1000, 1500, 60000, HA_READY_GO, "no readiness probe"},
		{false, true, 1, 1000, 1500, 60000, HA_READY_GO, "db is ready"},
		{false, true, 0, 1000, 3500, 60000, HA_READY_WAIT, "(2.5 s of at most 60 s)"},
		{false, true, -1, 1000, 3500, 60000, HA_READY_WAIT, "waiting for its readiness probe"},
		/* A clock step back: no negative wait. */
		{false, true, 0, 5000, 3500, 60000, HA_READY_WAIT, "(0.0 s of"},
		{false, true, 0, 1000, 60999, 60000, HA_READY_WAIT, "of at most 60 s"},
		{false, true, 0, 1000, 61000, 60000, HA_READY_TIMED_OUT, "did not answer within 60 s of its restart: going on"},
		{false, true, 1, 1000, 99000, 60000, HA_READY_GO, "is ready"},
		/* Never restarted by HA: not held for its probe. */
		{false, true, 0, 0, 99000, 60000, HA_READY_GO, "not restarted by HA"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[200];
		enum ha_ready_wait w = ha_ready_wait("db", cases[i].restarting, cases[i].probe, cases[i].ready,
		                                     cases[i].restarted, cases[i].now, cases[i].timeout, why, sizeof(why));
		if (w != cases[i].want || !strstr(why, cases[i].reason))
			fail_msg("case %zu: %d '%s'", i, (int)w, why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(t_ha_monitor), cmocka_unit_test(t_ha_ready_wait)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
