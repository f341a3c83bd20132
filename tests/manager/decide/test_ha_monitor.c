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

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(t_ha_monitor)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
