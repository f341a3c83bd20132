/* test_metrics.c - the charts' history as tables: counters to rates (VM
 * and host schemas) across resets, restarts, gaps and clock steps; rings
 * that grow lazily, wrap around and find a time; a table that costs
 * nothing until an object reports, skips early samples, marks gaps and
 * drops idle objects; the since parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "metric_rate.h"
#include "metric_ring.h"
#include "metric_table.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define U -1 /* an unknown raw value */
#define X NAN /* an unknown series value */

static int same(float got, float want)
{
	if (isnan(want))
		return isnan(got);
	return !isnan(got) && fabsf(got - want) <= 1e-3f * fmaxf(1.0f, fabsf(want));
}

static void t_vm_rates(void **state)
{
	(void)state;
	/* raw: cpu_ns, memory, disk rd, disk wr, net rx, net tx
	 * series: cpu %, memory, disk_read/s, disk_write/s, rx/s, tx/s */
	static const struct {
		const char *what;
		bool has_prev;
		struct metric_sample prev, cur;
		float want[6];
	} cases[] = {
		{"first sample: gauges only", false, {0}, {1000, 7, {5, 100, 0, 0, 0, 0}}, {X, 100, X, X, X, X}},
		{"one CPU busy for 1 s, 4 KiB read",
		 true, {1000, 7, {0, 100, 0, 0, 10, 20}}, {2000, 7, {1000000000, 200, 4096, 0, 10, 20}},
		 {100, 200, 4096, 0, 0, 0}},
		{"two CPUs over 5 s, net traffic",
		 true, {0, 7, {0, 1, 0, 0, 0, 0}}, {5000, 7, {10000000000, 1, 0, 5000, 500, 1000}},
		 {200, 1, 0, 1000, 100, 200}},
		{"VM restarted (another QEMU pid): no rates even where counters grew",
		 true, {1000, 7, {10, 1, 0, 0, 0, 0}}, {6000, 8, {5000000000, 1, 9, 9, 9, 9}},
		 {X, 1, X, X, X, X}},
		{"one counter reset (went down): that rate only is unknown",
		 true, {1000, 7, {1000, 1, 500, 0, 0, 0}}, {2000, 7, {2000, 1, 100, 50, 0, 0}},
		 {1e-4f, 1, X, 50, 0, 0}},
		{"agent's clock went back (host rebooted)",
		 true, {90000, 7, {1000, 1, 0, 0, 0, 0}}, {5000, 7, {2000, 1, 0, 0, 0, 0}}, {X, 1, X, X, X, X}},
		{"same instant twice", true, {5000, 7, {1, 1, 1, 1, 1, 1}}, {5000, 7, {2, 1, 2, 2, 2, 2}},
		 {X, 1, X, X, X, X}},
		{"samples too far apart (a gap)", true, {0, 7, {0, 1, 0, 0, 0, 0}},
		 {60001, 7, {1, 1, 1, 1, 1, 1}}, {X, 1, X, X, X, X}},
		{"at the longest gap still a rate", true, {0, 7, {0, 1, 0, 0, 0, 0}},
		 {60000, 7, {60000000000, 1, 0, 0, 0, 0}}, {100, 1, 0, 0, 0, 0}},
		{"unknown values (no bridged NIC, no memory)", true, {0, 7, {0, U, 0, 0, U, U}},
		 {1000, 7, {0, U, 0, 0, U, 5}}, {0, X, 0, 0, X, X}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		float got[METRIC_MAX_SERIES];
		metric_values(&metric_vm_schema, cases[i].has_prev ? &cases[i].prev : NULL, &cases[i].cur, 60000,
		              got);
		for (int k = 0; k < 6; k++)
			if (!same(got[k], cases[i].want[k]))
				fail_msg("case %zu (%s): series %s got %g want %g", i, cases[i].what,
				         metric_vm_schema.series[k].name, got[k], cases[i].want[k]);
	}
}

/* Demand: what a VM wanted (its CPU time plus its throttled time) and its
 * active memory; a host's busy time plus its VMs' throttled time. */
static void t_demand(void **state)
{
	(void)state;
	/* VM raw: cpu_ns, memory, rd, wr, rx, tx, cpu_demand_ns, memory_active */
	static const struct {
		const char *what;
		struct metric_sample prev, cur;
		float cpu, demand, active;
	} vm[] = {
		{"capped at 25%, wanting a whole CPU",
		 {0, 7, {0, 1, 0, 0, 0, 0, 0, 50}}, {4000, 7, {1000000000, 1, 0, 0, 0, 0, 4000000000, 60}}, 25, 100, 60},
		{"uncapped: demand is use", {0, 7, {0, 1, 0, 0, 0, 0, 0, 0}},
		 {1000, 7, {500000000, 1, 0, 0, 0, 0, 500000000, 0}}, 50, 50, 0},
		{"an agent without demand counters: unknown, use still shown", {0, 7, {0, 1, 0, 0, 0, 0, U, U}},
		 {1000, 7, {500000000, 1, 0, 0, 0, 0, U, U}}, 50, X, X},
		{"demand counter went down (the pool's share shrank): unknown", {0, 7, {0, 1, 0, 0, 0, 0, 900, 1}},
		 {1000, 7, {500000000, 1, 0, 0, 0, 0, 800, 1}}, 50, X, 1},
	};
	int c = metric_series_index(&metric_vm_schema, "cpu"), d = metric_series_index(&metric_vm_schema, "cpu_demand"),
	    a = metric_series_index(&metric_vm_schema, "memory_active");
	assert_true(c == 0 && d > 5 && a > 5); /* new series after the old: old clients' indexes hold */
	for (size_t i = 0; i < sizeof(vm) / sizeof(vm[0]); i++) {
		float got[METRIC_MAX_SERIES];
		metric_values(&metric_vm_schema, &vm[i].prev, &vm[i].cur, 60000, got);
		if (!same(got[c], vm[i].cpu) || !same(got[d], vm[i].demand) || !same(got[a], vm[i].active))
			fail_msg("%s: cpu %g demand %g active %g", vm[i].what, got[c], got[d], got[a]);
	}
	/* host raw: busy, total, used, mem total, rd, wr, rx, tx, cpu_demand_ms */
	struct metric_sample hp = {0, 0, {100, 1000, 5, 10, 0, 0, 0, 0, 100}};
	struct metric_sample hc = {2000, 0, {600, 3000, 6, 10, 0, 0, 0, 0, 3100}};
	float got[METRIC_MAX_SERIES];
	metric_values(&metric_host_schema, &hp, &hc, 60000, got);
	int hd = metric_series_index(&metric_host_schema, "cpu_demand");
	assert_true(hd > 6);
	if (!same(got[0], 25) || !same(got[hd], 150))
		fail_msg("host: cpu %g demand %g (want 25, 150: capped VMs want more than the host has)", got[0], got[hd]);
}

static void t_host_rates(void **state)
{
	(void)state;
	/* raw: busy ms, total ms, mem used, mem total, rd, wr, rx, tx */
	static const struct {
		const char *what;
		struct metric_sample prev, cur;
		float want[7];
	} cases[] = {
		{"a quarter busy", {0, 0, {100, 1000, 5, 10, 0, 0, 0, 0}}, {2000, 0, {600, 3000, 6, 10, 0, 2048, 0, 0}},
		 {25, 6, 10, 0, 1024, 0, 0}},
		{"no CPU time passed: unknown, not a division by zero", {0, 0, {100, 1000, 5, 10, 0, 0, 0, 0}},
		 {2000, 0, {100, 1000, 5, 10, 0, 0, 0, 0}}, {X, 5, 10, 0, 0, 0, 0}},
		{"rebooted: counters went down", {0, 0, {9000, 90000, 5, 10, 9, 9, 9, 9}},
		 {2000, 0, {10, 100, 5, 10, 1, 1, 1, 1}}, {X, 5, 10, X, X, X, X}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		float got[METRIC_MAX_SERIES];
		metric_values(&metric_host_schema, &cases[i].prev, &cases[i].cur, 60000, got);
		for (int k = 0; k < 7; k++)
			if (!same(got[k], cases[i].want[k]))
				fail_msg("case %zu (%s): series %s got %g want %g", i, cases[i].what,
				         metric_host_schema.series[k].name, got[k], cases[i].want[k]);
	}
	assert_int_equal(metric_series_index(&metric_host_schema, "memory_total"), 2);
	assert_int_equal(metric_series_index(&metric_host_schema, "nope"), -1);
}

static void t_ring_grows_and_wraps(void **state)
{
	(void)state;
	struct metric_ring r;
	metric_ring_init(&r, 2, 40);
	assert_int_equal(metric_ring_bytes(&r), 0); /* nothing until the first point */
	assert_int_equal(metric_ring_last_time(&r), INT64_MIN);
	for (int i = 1; i <= 100; i++) {
		float v[2] = {(float)i, (float)-i};
		assert_int_equal(metric_ring_push(&r, i * 1000, v), 0);
		uint32_t want = i < 40 ? (uint32_t)i : 40;
		assert_int_equal(metric_ring_count(&r), want);
		/* grows 16, 32, then 40 at most */
		uint32_t cap = i <= 16 ? 16 : i <= 32 ? 32 : 40;
		assert_int_equal(r.cap, cap);
		/* oldest first, with the right values, across the wrap */
		for (uint32_t k = 0; k < want; k++) {
			int64_t t = (int64_t)(i - (int)want + 1 + (int)k) * 1000;
			assert_int_equal(metric_ring_time(&r, k), t);
			assert_true(metric_ring_value(&r, k, 0) == (float)(t / 1000));
			assert_true(metric_ring_value(&r, k, 1) == (float)(-t / 1000));
		}
	}
	assert_int_equal(metric_ring_bytes(&r), 40 * (8 + 2 * 4));
	/* a point not after the newest is refused, the ring unchanged */
	float v[2] = {0, 0};
	assert_int_equal(metric_ring_push(&r, 100000, v), 1);
	assert_int_equal(metric_ring_push(&r, 5000, v), 1);
	assert_int_equal(metric_ring_count(&r), 40);
	assert_int_equal(metric_ring_last_time(&r), 100000);
	/* since: points 61..100 s are held */
	static const struct {
		int64_t since;
		uint32_t first;
	} q[] = {{0, 0}, {61000, 0}, {61001, 1}, {70000, 9}, {100000, 39}, {100001, 40}, {INT64_MAX, 40}};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (metric_ring_first_since(&r, q[i].since) != q[i].first)
			fail_msg("since %lld: got %u want %u", (long long)q[i].since,
			         metric_ring_first_since(&r, q[i].since), q[i].first);
	metric_ring_free(&r);
	assert_int_equal(metric_ring_count(&r), 0);
}

static struct metric_sample vm_sample(int64_t at_ms, int64_t run, int64_t cpu_ns)
{
	return (struct metric_sample){at_ms, run, {cpu_ns, 1 << 20, 0, 0, U, U}};
}

static void t_table(void **state)
{
	(void)state;
	struct metric_table t;
	metric_table_init(&t, &metric_vm_schema, 5000, 3600000);
	assert_int_equal(t.max_points, 728);
	assert_int_equal(t.max_gap_ms, 20000);
	size_t empty = metric_table_bytes(&t);
	assert_int_equal(empty, 0); /* no object, no bucket */
	assert_null(metric_table_get(&t, "vm-1"));
	struct metric_obj *o = metric_table_add(&t, "vm-1");
	assert_non_null(o);
	assert_ptr_equal(metric_table_get(&t, "vm-1"), o);
	int64_t now = 1765000000000;
	/* vdcd's time and the agent's clock advance together, 5 s apart */
	static const struct {
		int64_t dvdcd, dagent, run, cpu_ns;
		int took;
		uint32_t count;
		float cpu; /* of the newest point */
	} steps[] = {
		{0, 0, 7, 0, 1, 1, X},
		{5000, 5000, 7, 2500000000, 1, 2, 50},
		{1000, 1000, 7, 3500000000, 0, 2, 50},  /* too soon: skipped, no baseline moved */
		{4000, 4000, 7, 5000000000, 1, 3, 50},  /* rate over the 5 s since the last point */
		{5000, 5000, 9, 100, 1, 4, X},          /* restarted */
		{5000, 5000, 9, 500000100, 1, 5, 10},
		{30000, 30000, 9, 600000100, 1, 7, X},  /* a gap: a point of unknowns, then one */
		{5000, 5000, 9, 1100000100, 1, 8, 10},
		{-60000, 5000, 9, 1600000100, 0, 8, 10}, /* vdcd's clock stepped back: refused */
	};
	int64_t agent = 1000;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		now += steps[i].dvdcd;
		agent += steps[i].dagent;
		struct metric_sample s = vm_sample(agent, steps[i].run, steps[i].cpu_ns);
		int took = metric_table_take(&t, o, now, &s);
		uint32_t n = metric_ring_count(&o->ring);
		float cpu = metric_ring_value(&o->ring, n - 1, 0);
		if (took != steps[i].took || n != steps[i].count || !same(cpu, steps[i].cpu))
			fail_msg("step %zu: took %d count %u cpu %g; want %d %u %g", i, took, n, cpu, steps[i].took,
			         steps[i].count, steps[i].cpu);
	}
	/* the gap's marker sits one step after the point before it */
	assert_int_equal(metric_ring_time(&o->ring, 5) - metric_ring_time(&o->ring, 4), 5000);
	assert_true(isnan(metric_ring_value(&o->ring, 5, 1))); /* even the gauge: nothing known */
	assert_true(metric_table_bytes(&t) > sizeof(*o) + 16 * (8 + 6 * 4));
	/* idle objects go after the retention, active ones stay */
	int64_t newest = metric_ring_last_time(&o->ring);
	struct metric_obj *o2 = metric_table_add(&t, "vm-2");
	struct metric_sample s2 = vm_sample(1, 1, 1);
	assert_int_equal(metric_table_take(&t, o2, newest + 3000000, &s2), 1);
	assert_int_equal(metric_table_drop_idle(&t, newest + 3600000), 0);
	assert_int_equal(metric_table_drop_idle(&t, newest + 3600001), 1);
	assert_null(metric_table_get(&t, "vm-1"));
	assert_non_null(metric_table_get(&t, "vm-2"));
	/* ids longer than a UUID are refused, not cut */
	assert_null(metric_table_add(&t, "0123456789012345678901234567890123456789"));
	metric_table_remove(&t, "vm-2");
	assert_int_equal(metric_table_count(&t), 0);
	metric_table_free(&t);
}

/* Many objects known to vdcd cost nothing; each reporting one costs its
 * object and a ring that grows with its points. */
static void t_table_lazy_cost(void **state)
{
	(void)state;
	struct metric_table t;
	metric_table_init(&t, &metric_vm_schema, 5000, 3600000);
	char id[40];
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "vm-%d", i);
		struct metric_obj *o = metric_table_add(&t, id);
		struct metric_sample s = vm_sample(0, 1, 0);
		assert_int_equal(metric_table_take(&t, o, 1000, &s), 1);
	}
	size_t one_point = metric_table_bytes(&t) / 1000;
	assert_true(one_point < 1024);
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "vm-%d", i);
		struct metric_obj *o = metric_table_get(&t, id);
		for (int k = 1; k <= 800; k++) {
			struct metric_sample s = vm_sample(k * 5000, 1, k);
			metric_table_take(&t, o, 1000 + k * 5000, &s);
		}
		assert_int_equal(metric_ring_count(&o->ring), t.max_points);
	}
	size_t full = metric_table_bytes(&t) / 1000;
	print_message("bytes per VM: %zu with one point, %zu with an hour at 5 s\n", one_point, full);
	/* 8 series (cpu_demand and memory_active joined the 6): 8 + 8 * 4
	 * bytes a point, 1024 points. */
	assert_true(full < 32 * 1024);
	metric_table_free(&t);
}

static void t_since(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int ok;
		int64_t want;
	} cases[] = {
		{"1765000000", 0, 1765000000000},
		{"0", 0, 0},
		{"90s", 0, 1000000000000 - 90000},
		{"15m", 0, 1000000000000 - 900000},
		{"1h", 0, 1000000000000 - 3600000},
		{"168h", 0, 1000000000000 - 168 * 3600000ll},
		{"169h", -1, 0},
		{"", -1, 0},
		{"-5", -1, 0},
		{"+5", -1, 0},
		{"5d", -1, 0},
		{"abc", -1, 0},
		{"12x", -1, 0},
		{"1.5", -1, 0},
		{"99999999999999999999", -1, 0},
		{"9223372036854775807", -1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = 0;
		int rc = metric_parse_since(cases[i].text, 1000000000000, &got);
		if (rc != cases[i].ok || (rc == 0 && got != cases[i].want))
			fail_msg("'%s': rc %d got %lld", cases[i].text, rc, (long long)got);
	}
	assert_int_equal(metric_parse_since(NULL, 0, &(int64_t){0}), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_vm_rates),    cmocka_unit_test(t_demand),    cmocka_unit_test(t_host_rates), cmocka_unit_test(t_ring_grows_and_wraps),
		cmocka_unit_test(t_table),       cmocka_unit_test(t_table_lazy_cost), cmocka_unit_test(t_since),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
