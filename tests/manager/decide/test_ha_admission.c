/* test_ha_admission.c - HA admission control as tables (decide/
 * ha_admission.c): what each policy keeps free, how many host failures a
 * load survives, which power-ons are refused and the sentences that say
 * so; the edges (a policy of every host, no host, bounds at their limit).
 *
 * Cluster c1 for the power-on checks: four hosts of 16 vCPUs and 16384
 * MiB (64 vCPUs, 65536 MiB), and a larger one in maintenance that never
 * counts. Tolerating one host failure keeps 16 vCPUs and 16384 MiB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ha_admission.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct ha_admission_host even[] = {
	{"h1", true, {16, 16384}},
	{"h2", true, {16, 16384}},
	{"h3", true, {16, 16384}},
	{"h4", true, {16, 16384}},
	{"big", false, {64, 65536}}, /* in maintenance */
};

static const struct ha_policy off = {HA_POLICY_NONE, 0, {0, 0}};
static const struct ha_policy tol1 = {HA_POLICY_HOST_FAILURES, 1, {0, 0}};
static const struct ha_policy tol2 = {HA_POLICY_HOST_FAILURES, 2, {0, 0}};
static const struct ha_policy tol4 = {HA_POLICY_HOST_FAILURES, 4, {0, 0}};
static const struct ha_policy tol5 = {HA_POLICY_HOST_FAILURES, 5, {0, 0}};
static const struct ha_policy pct = {HA_POLICY_PERCENT, 0, {10, 30}};

static void t_check(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		const struct ha_policy *p;
		int nhosts; /* of even[] */
		int64_t load[HA_NRES];
		bool ok;
		bool cpu_short, mem_short;
		const char *reason;
	} cases[] = {
		{"off: admits over capacity", &off, 5, {90, 90000}, true, false, false,
		 "HA admission control is off in cluster c1: web1 may power on"},
		{"tolerate 1: memory would fall below one host's", &tol1, 5, {40, 49152}, false, false, true,
		 "HA admission control (tolerate 1 host failure) keeps 16384 MiB of memory free in cluster c1; powering "
		 "on web1 (4096 MiB) would leave 12288 MiB: lower the policy or add capacity"},
		{"tolerate 1: CPU short, memory exactly at the line", &tol1, 5, {48, 45056}, false, true, false,
		 "HA admission control (tolerate 1 host failure) keeps 16 vCPUs free in cluster c1; powering on web1 (4 "
		 "vCPUs) would leave 12 vCPUs: lower the policy or add capacity"},
		{"tolerate 1: both exactly at the line are admitted", &tol1, 5, {44, 45056}, true, false, false,
		 "HA admission control (tolerate 1 host failure) admits web1 (4 vCPUs, 4096 MiB) in cluster c1: 0 vCPUs "
		 "and 0 MiB stay free beyond the 16 vCPUs and 16384 MiB kept for failover"},
		{"tolerate 1: both short", &tol1, 5, {48, 49152}, false, true, true,
		 "HA admission control (tolerate 1 host failure) keeps 16 vCPUs and 16384 MiB of memory free in cluster "
		 "c1; powering on web1 (4 vCPUs, 4096 MiB) would leave 12 vCPUs and 12288 MiB: lower the policy or add "
		 "capacity"},
		{"tolerate 2: room for it", &tol2, 5, {24, 24576}, true, false, false,
		 "HA admission control (tolerate 2 host failures) admits web1 (4 vCPUs, 4096 MiB) in cluster c1: 4 vCPUs "
		 "and 4096 MiB stay free beyond the 32 vCPUs and 32768 MiB kept for failover"},
		{"tolerate 4 of 4 hosts: all of it kept", &tol4, 5, {0, 0}, false, true, true,
		 "HA admission control (tolerate 4 host failures) keeps all of cluster c1 free: it has 4 hosts connected "
		 "and out of maintenance, so no VM may power on and web1 is refused; lower the policy or add hosts"},
		{"tolerate 5 of 4 hosts", &tol5, 5, {0, 0}, false, true, true,
		 "HA admission control (tolerate 5 host failures) keeps all of cluster c1 free: it has 4 hosts connected "
		 "and out of maintenance, so no VM may power on and web1 is refused; lower the policy or add hosts"},
		{"percent: 10% of 64 vCPUs is 7 (rounded up), 30% of 65536 MiB 19661", &pct, 5, {50, 40000}, true, false,
		 false,
		 "HA admission control (keep 10% CPU and 30% memory free) admits web1 (4 vCPUs, 4096 MiB) in cluster c1: "
		 "3 vCPUs and 1779 MiB stay free beyond the 7 vCPUs and 19661 MiB kept for failover"},
		{"percent: memory short", &pct, 5, {50, 42000}, false, false, true,
		 "HA admission control (keep 10% CPU and 30% memory free) keeps 19661 MiB of memory free in cluster c1; "
		 "powering on web1 (4096 MiB) would leave 19440 MiB: lower the policy or add capacity"},
		{"over capacity already (a host failed)", &tol1, 5, {70, 70000}, false, true, true,
		 "HA admission control (tolerate 1 host failure) keeps 16 vCPUs and 16384 MiB of memory free in cluster "
		 "c1; powering on web1 (4 vCPUs, 4096 MiB) would leave none (10 vCPUs more than the cluster has) and none "
		 "(8560 MiB more than the cluster has): lower the policy or add capacity"},
		{"no host counts", &pct, 0, {0, 0}, false, true, true,
		 "cluster c1 has no host connected and out of maintenance: HA admission control (keep 10% CPU and 30% "
		 "memory free) cannot admit web1 (4 vCPUs, 4096 MiB); add a host, or end a host's maintenance"},
		{"no host counts, tolerate 1", &tol1, 0, {0, 0}, false, true, true,
		 "cluster c1 has no host connected and out of maintenance: HA admission control (tolerate 1 host failure) "
		 "cannot admit web1 (4 vCPUs, 4096 MiB); add a host, or end a host's maintenance"},
	};
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		const struct ha_admission_cluster c = {"c1", cases[k].nhosts ? even : NULL, cases[k].nhosts,
		                                       {cases[k].load[0], cases[k].load[1]}};
		struct ha_admission_verdict v;
		bool ok = ha_admission_check(&c, cases[k].p, "web1", 4, 4096, &v);
		print_message("%s: %s\n", cases[k].what, v.reason);
		assert_int_equal(ok, cases[k].ok);
		assert_int_equal(v.ok, cases[k].ok);
		assert_int_equal(v.short_of[HA_CPU], cases[k].cpu_short);
		assert_int_equal(v.short_of[HA_MEM], cases[k].mem_short);
		assert_string_equal(v.reason, cases[k].reason);
	}
}

/* Uneven hosts: the largest by CPU is not the largest by memory, and two
 * tie for the second by CPU. */
static const struct ha_admission_host uneven[] = {
	{"a", true, {32, 16384}},
	{"b", true, {8, 65536}},
	{"c", true, {16, 32768}},
	{"d", true, {16, 16384}},
	{"e", false, {64, 131072}}, /* in maintenance */
};

static void t_capacity(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		const struct ha_policy *p;
		int64_t load[HA_NRES];
		int64_t reserved[HA_NRES], free[HA_NRES];
		int tolerates;
		bool overloaded, all_reserved;
		const char *reason;
	} cases[] = {
		{"tolerate 1: a's CPU, b's memory", &tol1, {20, 32768}, {32, 65536}, {20, 32768}, 2, false, false,
		 "cluster c1: 4 hosts with 72 vCPUs and 131072 MiB; its powered-on VMs use 20 vCPUs (27.8%) and 32768 MiB "
		 "(25.0%): it survives 2 host failures; its policy (tolerate 1 host failure) keeps 32 vCPUs (44.4%) and 65536 MiB "
		 "(50.0%) free, leaving 20 vCPUs (27.8%) and 32768 MiB (25.0%) for power-ons"},
		{"tolerate 2: the tie for second counts once", &tol2, {20, 32768}, {48, 98304}, {4, 0}, 2, false, false,
		 "cluster c1: 4 hosts with 72 vCPUs and 131072 MiB; its powered-on VMs use 20 vCPUs (27.8%) and 32768 MiB "
		 "(25.0%): it survives 2 host failures; its policy (tolerate 2 host failures) keeps 48 vCPUs (66.7%) and 98304 MiB "
		 "(75.0%) free, leaving 4 vCPUs (5.6%) and 0 MiB (0.0%) for power-ons"},
		{"CPU survives no failure, memory three: no failure", &tol1, {60, 16384}, {32, 65536}, {-20, 49152}, 0,
		 false, false,
		 "cluster c1: 4 hosts with 72 vCPUs and 131072 MiB; its powered-on VMs use 60 vCPUs (83.3%) and 16384 MiB "
		 "(12.5%): it survives no host failure; its policy (tolerate 1 host failure) keeps 32 vCPUs (44.4%) and 65536 MiB "
		 "(50.0%) free, leaving none (20 vCPUs over) and 49152 MiB (37.5%) for power-ons"},
		{"over capacity, policy off", &off, {80, 0}, {0, 0}, {-8, 131072}, 0, true, false,
		 "cluster c1: 4 hosts with 72 vCPUs and 131072 MiB; its powered-on VMs use 80 vCPUs (111.1%) and 0 MiB "
		 "(0.0%), more than it has with every host up; HA admission control is off, leaving none (8 vCPUs over) and "
		 "131072 MiB (100.0%) for power-ons"},
		{"no load survives every host failing", &pct, {0, 0}, {8, 39322}, {64, 91750}, 4, false, false,
		 "cluster c1: 4 hosts with 72 vCPUs and 131072 MiB; its powered-on VMs use 0 vCPUs (0.0%) and 0 MiB "
		 "(0.0%): it survives 4 host failures; its policy (keep 10% CPU and 30% memory free) keeps 8 vCPUs (11.1%) and 39322 "
		 "MiB (30.0%) free, leaving 64 vCPUs (88.9%) and 91750 MiB (70.0%) for power-ons"},
		{"tolerate 4: all of it; CPU survives 2 failures (32 + 16 of 62), memory 3", &tol4, {10, 10},
		 {72, 131072}, {-10, -10}, 2, false, true,
		 "cluster c1: 4 hosts with 72 vCPUs and 131072 MiB; its powered-on VMs use 10 vCPUs (13.9%) and 10 MiB "
		 "(0.0%): it survives 2 host failures; its policy (tolerate 4 host failures) keeps all of it free (4 hosts "
		 "count): no power-on is admitted"},
	};
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		const struct ha_admission_cluster c = {"c1", uneven, 5, {cases[k].load[0], cases[k].load[1]}};
		struct ha_capacity cap;
		assert_int_equal(ha_admission_capacity(&c, cases[k].p, &cap), 0);
		print_message("%s: %s\n", cases[k].what, cap.reason);
		assert_int_equal(cap.nhosts, 4);
		assert_int_equal(cap.total[HA_CPU], 72);
		assert_int_equal(cap.total[HA_MEM], 131072);
		for (int r = 0; r < HA_NRES; r++) {
			assert_int_equal(cap.reserved[r], cases[k].reserved[r]);
			assert_int_equal(cap.free[r], cases[k].free[r]);
			assert_int_equal(cap.load[r], cases[k].load[r]);
		}
		assert_int_equal(cap.tolerates, cases[k].tolerates);
		assert_int_equal(cap.overloaded, cases[k].overloaded);
		assert_int_equal(cap.all_reserved, cases[k].all_reserved);
		assert_string_equal(cap.reason, cases[k].reason);
	}
	/* No host counts. */
	const struct ha_admission_cluster none = {"c1", uneven + 4, 1, {0, 0}};
	struct ha_capacity cap;
	assert_int_equal(ha_admission_capacity(&none, &tol1, &cap), 0);
	assert_int_equal(cap.nhosts, 0);
	assert_true(cap.all_reserved);
	assert_string_equal(cap.reason, "cluster c1: no host connected and out of maintenance; its powered-on VMs use 0 "
	                                "vCPUs and 0 MiB: it survives no host failure; its policy (tolerate 1 host "
	                                "failure) keeps all of it free (0 hosts count): no power-on is admitted");
}

/* How many host failures a load survives, against a brute force over
 * every subset size: the k largest by each resource, summed. */
static void t_tolerates_against_brute_force(void **state)
{
	(void)state;
	unsigned seed = 3;
	for (int round = 0; round < 300; round++) {
		struct ha_admission_host h[9];
		int n = 1 + round % 9;
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			h[i] = (struct ha_admission_host){"h", (seed >> 20) % 5 != 0,
			                                  {(seed >> 8) % 5 * 8, (int64_t)((seed >> 12) % 4) * 16384}};
		}
		int64_t total[HA_NRES] = {0}, sorted[HA_NRES][9];
		int m = 0;
		for (int i = 0; i < n; i++)
			if (h[i].counts) {
				for (int r = 0; r < HA_NRES; r++) {
					total[r] += h[i].capacity[r];
					int j = m;
					for (; j > 0 && sorted[r][j - 1] < h[i].capacity[r]; j--)
						sorted[r][j] = sorted[r][j - 1];
					sorted[r][j] = h[i].capacity[r];
				}
				m++;
			}
		seed = seed * 1103515245u + 12345u;
		/* No load in a third of the rounds: every host may fail, those of
		 * no capacity included. */
		const struct ha_admission_cluster c = {"c", h, n,
		                                       {(seed >> 4) % 3 ? (seed >> 8) % 40 : 0,
		                                        (seed >> 6) % 3 ? (int64_t)((seed >> 16) % 80) * 1024 : 0}};
		int want = m;
		for (int r = 0; r < HA_NRES; r++) {
			int64_t top = 0;
			int k = 0;
			if (c.load[r] > total[r]) {
				want = 0;
				continue;
			}
			while (k < m && c.load[r] <= total[r] - top - sorted[r][k])
				top += sorted[r][k++];
			if (k < want)
				want = k;
		}
		for (int f = 1; f <= 3; f++) {
			const struct ha_policy p = {HA_POLICY_HOST_FAILURES, f, {0, 0}};
			struct ha_capacity cap;
			assert_int_equal(ha_admission_capacity(&c, &p, &cap), 0);
			assert_int_equal(cap.tolerates, want);
			int64_t res = 0;
			for (int k = 0; k < f && k < m; k++)
				res += sorted[HA_MEM][k];
			assert_int_equal(cap.reserved[HA_MEM], f >= m ? total[HA_MEM] : res);
		}
	}
}

static void t_bounds(void **state)
{
	(void)state;
	/* 4096 hosts at placement's largest (1 EiB x overcommit 1000 each):
	 * every sum exact, no overflow (UBSan watches). */
	struct ha_admission_host *h = calloc(HA_ADMISSION_MAX_HOSTS + 1, sizeof(*h));
	assert_non_null(h);
	const int64_t cpu = (int64_t)PLACEMENT_MAX_CPUS * 1000, mem = PLACEMENT_MAX_MIB * 1000;
	for (int i = 0; i <= HA_ADMISSION_MAX_HOSTS; i++)
		h[i] = (struct ha_admission_host){"h", true, {cpu, mem}};
	struct ha_admission_cluster c = {"huge", h, HA_ADMISSION_MAX_HOSTS,
	                                 {cpu * HA_ADMISSION_MAX_HOSTS, mem * HA_ADMISSION_MAX_HOSTS}};
	const struct ha_policy p = {HA_POLICY_HOST_FAILURES, HA_ADMISSION_MAX_HOSTS - 1, {0, 0}};
	struct ha_capacity cap;
	assert_int_equal(ha_admission_capacity(&c, &p, &cap), 0);
	assert_true(cap.total[HA_MEM] == mem * HA_ADMISSION_MAX_HOSTS);
	assert_true(cap.reserved[HA_MEM] == mem * (HA_ADMISSION_MAX_HOSTS - 1));
	assert_true(cap.free[HA_MEM] == -mem * (HA_ADMISSION_MAX_HOSTS - 1));
	assert_int_equal(cap.tolerates, 0);
	const struct ha_policy full = {HA_POLICY_PERCENT, 0, {100, 100}};
	assert_int_equal(ha_admission_capacity(&c, &full, &cap), 0);
	assert_true(cap.reserved[HA_MEM] == cap.total[HA_MEM]);
	struct ha_admission_verdict v;
	assert_false(ha_admission_check(&c, &full, "x", PLACEMENT_MAX_CPUS, PLACEMENT_MAX_MIB, &v));
	assert_true(v.short_of[HA_CPU] && v.short_of[HA_MEM]);
	/* Past the bounds: refused as input, never computed. */
	static const struct {
		const char *what;
		int field;
		const char *reason;
	} bad[] = {
		{"one host too many", 0, "cannot decide HA admission: cluster huge has 4097 hosts, more than 4096"},
		{"a host beyond placement's bound", 1, "cannot decide HA admission: host h of cluster huge has a capacity "
		                                       "out of bounds"},
		{"a negative load", 2, "cannot decide HA admission: cluster huge's load is out of bounds"},
		{"tolerate 0", 3, "cannot decide HA admission: a policy tolerates 1 to 4096 host failures, not 0"},
		{"101 percent", 4, "cannot decide HA admission: a policy keeps 0 to 100% free, not 101% CPU and 0% "
		                   "memory"},
		{"a VM of no vCPU", 5, "cannot decide HA admission: x needs 1 to 1048576 vCPUs and 1 to 1099511627776 MiB"},
	};
	for (size_t k = 0; k < ARRAY_LEN(bad); k++) {
		struct ha_admission_cluster b = c;
		struct ha_policy bp = {HA_POLICY_HOST_FAILURES, 1, {0, 0}};
		int vcpus = 1;
		h[0].capacity[HA_MEM] = mem;
		switch (bad[k].field) {
		case 0: b.nhosts = HA_ADMISSION_MAX_HOSTS + 1; break;
		case 1: h[0].capacity[HA_MEM] = mem + 1; break;
		case 2: b.load[HA_CPU] = -1; break;
		case 3: bp.host_failures = 0; break;
		case 4: bp = (struct ha_policy){HA_POLICY_PERCENT, 0, {101, 0}}; break;
		case 5: vcpus = 0; break;
		}
		print_message("%s\n", bad[k].what);
		assert_false(ha_admission_check(&b, &bp, "x", vcpus, 1, &v));
		assert_string_equal(v.reason, bad[k].reason);
		if (bad[k].field < 5) {
			assert_int_equal(ha_admission_capacity(&b, &bp, &cap), -1);
			assert_string_equal(cap.reason, bad[k].reason);
		}
	}
	free(h);
}

static void t_hosts_from_snapshot(void **state)
{
	(void)state;
	const struct placement_cluster cl[] = {{"c1", 2.0, 1.5, PLACEMENT_PACK}, {"c2", 1.0, 1.0, PLACEMENT_PACK}};
	const struct placement_host h[] = {
		{.name = "a", .cluster = 0, .state = PLACEMENT_CONNECTED, .cpus = 8, .memory_mib = 16384},
		{.name = "x", .cluster = 1, .state = PLACEMENT_CONNECTED, .cpus = 8, .memory_mib = 16384},
		{.name = "b", .cluster = 0, .state = PLACEMENT_MAINTENANCE, .cpus = 4, .memory_mib = 8192},
		{.name = "c", .cluster = 0, .state = PLACEMENT_DISCONNECTED, .cpus = 3, .memory_mib = 1000},
	};
	const struct placement_snapshot s = {.hosts = h, .nhosts = 4, .clusters = cl, .nclusters = 2};
	struct ha_admission_host out[3];
	assert_int_equal(ha_admission_hosts(&s, 0, out, 3), 3);
	assert_string_equal(out[0].name, "a");
	assert_true(out[0].counts);
	assert_int_equal(out[0].capacity[HA_CPU], 16);    /* 8 CPUs x 2.0 */
	assert_int_equal(out[0].capacity[HA_MEM], 24576); /* 16384 MiB x 1.5 */
	assert_string_equal(out[1].name, "b");
	assert_false(out[1].counts); /* maintenance */
	assert_false(out[2].counts); /* disconnected */
	assert_int_equal(out[2].capacity[HA_CPU], 6);
	assert_int_equal(out[2].capacity[HA_MEM], 1500);
	assert_int_equal(ha_admission_hosts(&s, 0, out, 2), -1); /* more than max */
	assert_int_equal(ha_admission_hosts(&s, 2, out, 3), -1); /* no such cluster */
	char buf[64];
	assert_int_equal(ha_policy_format(&tol1, buf, sizeof(buf)), (int)strlen("tolerate 1 host failure"));
	assert_string_equal(buf, "tolerate 1 host failure");
	ha_policy_format(&tol2, buf, sizeof(buf));
	assert_string_equal(buf, "tolerate 2 host failures");
	ha_policy_format(&pct, buf, sizeof(buf));
	assert_string_equal(buf, "keep 10% CPU and 30% memory free");
	ha_policy_format(&off, buf, sizeof(buf));
	assert_string_equal(buf, "off");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_check),
		cmocka_unit_test(t_capacity),
		cmocka_unit_test(t_tolerates_against_brute_force),
		cmocka_unit_test(t_bounds),
		cmocka_unit_test(t_hosts_from_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
