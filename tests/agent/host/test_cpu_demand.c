/* test_cpu_demand.c - a VM's throttled time as a growing counter: its own
 * limit's whole, a pool level's shared by CPU time, started over for a
 * new QEMU or a move between pools, never going down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpu_demand.h"

#define S 1000000000ll /* a second, in ns */

static void test_steps(void **state)
{
	(void)state;
	/* One VM's samples a second apart, in a pool of one level. */
	static const struct {
		const char *what;
		int64_t run, vm_cpu, own, pool_thr, pool_cpu;
		int nlevels;
		int64_t want;
	} steps[] = {
		{"first sample: own throttled only", 1, 1 * S, 0, 5 * S, 10 * S, 1, 0},
		{"the pool's only busy VM: all of the pool's new throttled time", 1, 2 * S, 0, 6 * S, 11 * S, 1, 1 * S},
		{"half the pool's CPU: half its throttled time", 1, 2500000000, 0, 8 * S, 12 * S, 1, 2 * S},
		{"its own limit throttles too: counted whole", 1, 3 * S, 4 * S, 8 * S, 12500000000, 1, 6 * S},
		{"the pool's counters reset: no share, nothing lost", 1, 4 * S, 4 * S, 1 * S, 1 * S, 1, 6 * S},
		{"idle pool: nothing more", 1, 4 * S, 4 * S, 1 * S, 1 * S, 1, 6 * S},
		{"a new QEMU starts over", 2, 1 * S, 0, 2 * S, 2 * S, 1, 0},
		{"moved out of the pool (no level): own only, starts over", 2, 2 * S, 1 * S, 0, 0, 0, 1 * S},
		{"CPU time unknown: unknown", 2, -1, 1 * S, 0, 0, 0, -1},
	};
	struct cpu_demand d = {0};
	int64_t last = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct cg_level_use lv = {steps[i].pool_thr, steps[i].pool_cpu};
		int64_t got = cpu_demand_step(&d, steps[i].run, steps[i].vm_cpu, steps[i].own, &lv, steps[i].nlevels);
		if (got != steps[i].want)
			fail_msg("step %zu (%s): got %lld want %lld", i, steps[i].what, (long long)got,
			         (long long)steps[i].want);
		if (i < 6)
			assert_true(got >= last); /* one run's counter never goes down */
		last = got;
	}
}

static void test_levels(void **state)
{
	(void)state;
	/* Two levels: a quarter of the inner pool's CPU, a tenth of the outer's. */
	struct cpu_demand d = {0};
	struct cg_level_use a[2] = {{0, 0}, {0, 0}}, b[2] = {{4 * S, 4 * S}, {10 * S, 10 * S}};
	assert_int_equal(cpu_demand_step(&d, 1, 0, 0, a, 2), 0);
	assert_int_equal(cpu_demand_step(&d, 1, 1 * S, 0, b, 2), 1 * S + 1 * S);
	/* unknown counters at a level: that level gives no share */
	struct cg_level_use c[2] = {{-1, 5 * S}, {11 * S, 11 * S}};
	assert_int_equal(cpu_demand_step(&d, 1, 2 * S, 0, c, 2), 2 * S + 1 * S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
