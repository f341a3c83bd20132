/* test_migrate_plan.c - a live migration's strategy and prediction, and the
 * check while it runs, as tables (decide/migrate_plan.c). The numbers are
 * chosen to be worked out by hand: 1 GiB of memory over a 1 GiB/s link is
 * one second a pass, and each round carries dirty/bandwidth of the one
 * before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "migrate_plan.h"

#define MIB (1024LL * 1024)

static void t_plan(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		struct migrate_inputs in;
		struct migrate_policy p;
		enum migrate_strategy want;
		int rounds, throttle;
		int64_t total_ms, downtime_ms;
		const char *reason; /* a part of it */
	} cases[] = {
		{"an idle guest: one pass, nothing left for the pause", {1024 * MIB, 0, 1024 * MIB},
		 {false, false, 300, 99}, MIGRATE_PRECOPY, 1, 0, 1000, 0, "pre-copy: the guest dirties 0.0 MiB/s"},
		{"dirtying half the link: 1 s, then 0.5 s, then 256 MiB fit a 300 ms pause",
		 {1024 * MIB, 512 * MIB, 1024 * MIB}, {false, false, 300, 99}, MIGRATE_PRECOPY, 2, 0, 1750, 250,
		 "2 rounds, about 1.8 s, paused 250 ms (limit 300 ms)"},
		{"a small guest: its first pass is 98 ms", {100 * MIB, 100 * MIB, 1024 * MIB}, {false, false, 300, 99},
		 MIGRATE_PRECOPY, 1, 0, 107, 10, "1 round, about 0.1 s"},
		{"the issue's example, nothing allowed: refused with the numbers", {1024 * MIB, 180 * MIB, 95 * MIB},
		 {false, false, 300, 99}, MIGRATE_REFUSED, 0, 0, 0, 0,
		 "dirty rate 180 MiB/s exceeds bandwidth 95 MiB/s; enable auto-converge or post-copy"},
		{"twice the link, auto-converge: 60% brings 2048 to 819 MiB/s, six rounds",
		 {1024 * MIB, 2048 * MIB, 1024 * MIB}, {true, false, 300, 99}, MIGRATE_AUTO_CONVERGE, 6, 60, 3951, 262,
		 "auto-converge: dirty rate 2048 MiB/s exceeds bandwidth 1024 MiB/s; the guest's vCPUs throttled by 60%"},
		{"twice the link, post-copy only: a pass, then the 1 GiB it dirtied", {1024 * MIB, 2048 * MIB, 1024 * MIB},
		 {false, true, 300, 99}, MIGRATE_POSTCOPY, 1, 0, 2000, 0,
		 "post-copy: dirty rate 2048 MiB/s exceeds bandwidth 1024 MiB/s and the policy does not allow auto-converge"},
		{"a throttle ceiling of 40% is not enough: post-copy", {1024 * MIB, 2048 * MIB, 1024 * MIB},
		 {true, true, 300, 40}, MIGRATE_POSTCOPY, 1, 0, 2000, 0,
		 "even with the vCPUs throttled to the policy's ceiling"},
		{"a throttle ceiling of 40% and no post-copy: refused", {1024 * MIB, 2048 * MIB, 1024 * MIB},
		 {true, false, 300, 40}, MIGRATE_REFUSED, 0, 0, 0, 0,
		 "dirty rate 2048 MiB/s exceeds bandwidth 1024 MiB/s, even with the vCPUs throttled to the policy's "
		 "ceiling; allow post-copy, raise the bandwidth cap or the downtime limit"},
		{"a ceiling under the first step: the ceiling itself is tried (1030 to 927 MiB/s)",
		 {1024 * MIB, 1030 * MIB, 1024 * MIB}, {true, false, 300, 10}, MIGRATE_AUTO_CONVERGE, 13, 10, 7936, 274,
		 "throttled by 10% dirty 927 MiB/s: 13 rounds"},
		{"just under the link: too many rounds", {1024 * MIB, 1000 * MIB, 1024 * MIB}, {false, false, 300, 99},
		 MIGRATE_REFUSED, 0, 0, 0, 0,
		 "dirty rate 1000 MiB/s is too close to bandwidth 1024 MiB/s for pre-copy to reach a 300 ms pause within "
		 "30 rounds; enable auto-converge or post-copy"},
		{"a longer pause allowed makes the same guest converge", {1024 * MIB, 1000 * MIB, 1024 * MIB},
		 {false, false, 1000, 99}, MIGRATE_PRECOPY, 1, 0, 1977, 977, "paused 977 ms (limit 1000 ms)"},
		{"no bandwidth measured", {1024 * MIB, 10 * MIB, 0}, {true, true, 300, 99}, MIGRATE_REFUSED, 0, 0, 0, 0,
		 "cannot plan the migration: the link's bandwidth must be measured first"},
		{"no memory", {0, 10 * MIB, 100 * MIB}, {true, true, 300, 99}, MIGRATE_REFUSED, 0, 0, 0, 0,
		 "the guest's memory must be measured first"},
		{"no downtime limit", {1024 * MIB, 10 * MIB, 100 * MIB}, {true, true, 0, 99}, MIGRATE_REFUSED, 0, 0, 0, 0,
		 "a downtime limit must be measured first"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct migrate_plan got;
		migrate_plan_decide(&cases[i].in, &cases[i].p, &got);
		if (got.strategy != cases[i].want || got.rounds != cases[i].rounds ||
		    got.throttle_pct != cases[i].throttle || got.predicted_total_ms != cases[i].total_ms ||
		    got.predicted_downtime_ms != cases[i].downtime_ms || !strstr(got.reason, cases[i].reason))
			fail_msg("case %zu (%s): got %s, %d rounds, throttle %d%%, %lld ms, pause %lld ms: %s", i,
			         cases[i].what, migrate_strategy_name(got.strategy), got.rounds, got.throttle_pct,
			         (long long)got.predicted_total_ms, (long long)got.predicted_downtime_ms, got.reason);
	}
}

static void t_progress(void **state)
{
	(void)state;
	static const struct migrate_plan plan_175 = {.strategy = MIGRATE_PRECOPY, .predicted_total_ms = 1750};
	static const struct migrate_plan plan_10s = {.strategy = MIGRATE_PRECOPY, .predicted_total_ms = 10000};
	static const struct migrate_policy none = {false, false, 300, 99}, post = {false, true, 300, 99},
	                                   auto_only = {true, false, 300, 99};
	static const struct {
		const char *what;
		const struct migrate_plan *plan;
		const struct migrate_policy *p;
		struct migrate_progress now;
		enum migrate_verdict want;
		const char *reason; /* a part of it; "" for none */
	} cases[] = {
		{"on time", &plan_175, &none, {1000, 300 * MIB, 50 * MIB, 100 * MIB, false}, MIGRATE_GO_ON, ""},
		{"a short plan has 2 s of grace beyond it", &plan_175, &none, {3700, 300 * MIB, 50 * MIB, 100 * MIB, false},
		 MIGRATE_GO_ON, ""},
		{"past the grace, nothing allowed: stopped", &plan_175, &none,
		 {3800, 400 * MIB, 180 * MIB, 95 * MIB, false}, MIGRATE_ABORT,
		 "after 3.8 s (twice the predicted 1.8 s) 400 MiB remain, the guest dirtying 180 MiB/s against 95 MiB/s: "
		 "stopped, the VM stays on its host; enable auto-converge or post-copy, or raise the bandwidth cap"},
		{"past it with auto-converge on: stopped, post-copy suggested", &plan_175, &auto_only,
		 {3800, 400 * MIB, 180 * MIB, 95 * MIB, false}, MIGRATE_ABORT, "allow post-copy or raise the bandwidth cap"},
		{"past it, post-copy allowed: switch", &plan_175, &post, {3800, 400 * MIB, 180 * MIB, 95 * MIB, false},
		 MIGRATE_SWITCH_POSTCOPY, "switching to post-copy"},
		{"post-copy already running is never stopped", &plan_175, &post, {9000, 100 * MIB, 0, 95 * MIB, true},
		 MIGRATE_GO_ON, "cannot be stopped"},
		{"a long plan: twice it, not the grace", &plan_10s, &none, {20000, 10 * MIB, 0, 95 * MIB, false},
		 MIGRATE_GO_ON, ""},
		{"a long plan, just past twice it", &plan_10s, &none, {20001, 10 * MIB, 0, 95 * MIB, false}, MIGRATE_ABORT,
		 "twice the predicted 10 s"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char reason[MIGRATE_REASON_MAX];
		enum migrate_verdict v = migrate_progress_check(cases[i].plan, cases[i].p, &cases[i].now, reason);
		bool reason_ok = cases[i].reason[0] ? strstr(reason, cases[i].reason) != NULL : reason[0] == '\0';
		if (v != cases[i].want || !reason_ok)
			fail_msg("case %zu (%s): got verdict %d: '%s'", i, cases[i].what, (int)v, reason);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_plan),
		cmocka_unit_test(t_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
