/* test_evacuate_plan.c - a host's VMs placed elsewhere before it enters
 * maintenance (decide/evacuate_plan.c): where each goes, largest first and
 * each counted where the ones before it went; rules kept; a refusal that
 * names the VM and why no host takes it. Hosts of 8 CPUs and 16 GiB, one
 * cluster packing (most allocated that fits) unless a case says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "evacuate_plan.h"

static const struct placement_cluster clusters[] = {
	{"c1", 1.0, 1.0, PLACEMENT_PACK},
	{"c2", 1.0, 1.0, PLACEMENT_PACK},
};

static struct placement_host host(const char *name, int cluster, enum placement_host_state st, int vcpus,
                                  int64_t mib)
{
	return (struct placement_host){.name = name, .cluster = cluster, .state = st, .cpus = 8,
	                               .memory_mib = 16384, .alloc_vcpus = vcpus, .alloc_memory_mib = mib};
}

static struct placement_snapshot snap(const struct placement_host *h, int n, const struct placement_rule *rules,
                                      int nrules)
{
	return (struct placement_snapshot){.hosts = h, .nhosts = n, .clusters = clusters, .nclusters = 2,
	                                   .rules = rules, .nrules = nrules};
}

static struct evacuate_vm vm(const char *name, int vcpus, int64_t mib)
{
	return (struct evacuate_vm){.name = name, .vcpus = vcpus, .memory_mib = mib, .datastore = -1};
}

/* "a>h1 b>h2": the moves as names, in plan order. */
static void moves_str(const struct evacuate_vm *vms, const struct placement_host *h,
                      const struct evacuate_move *m, int n, char *out, size_t len)
{
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t at = strlen(out);
		snprintf(out + at, len - at, "%s%s>%s", i ? " " : "", vms[m[i].vm].name, h[m[i].host].name);
	}
}

/* Plans emptying h0 of two VMs a and b (2 vCPUs, 4 GiB each), both members
 * of rule 0 of s; the moves as moves_str writes them. */
static void plan_pair(const struct placement_snapshot *s, char *got, size_t len)
{
	static const int r0[] = {0};
	struct evacuate_vm vms[] = {vm("a", 2, 4096), vm("b", 2, 4096)};
	vms[0].rules = vms[1].rules = r0;
	vms[0].nrules = vms[1].nrules = 1;
	struct evacuate_move m[2];
	struct evacuate_plan p;
	assert_int_equal(evacuate_plan(s, 0, vms, 2, m, &p), 0);
	moves_str(vms, s->hosts, m, p.nmoves, got, len);
}

static void t_largest_first_each_counted(void **state)
{
	(void)state;
	/* b (8 GiB) first: h2, half full, is the most allocated that fits and
	 * is then full; a goes to h1. */
	const struct placement_host h[] = {host("h0", 0, PLACEMENT_CONNECTED, 4, 12288),
	                                   host("h1", 0, PLACEMENT_CONNECTED, 0, 0),
	                                   host("h2", 0, PLACEMENT_CONNECTED, 4, 8192)};
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	const struct evacuate_vm vms[] = {vm("a", 2, 4096), vm("b", 2, 8192)};
	struct evacuate_move m[2];
	struct evacuate_plan p;
	assert_int_equal(evacuate_plan(&s, 0, vms, 2, m, &p), 0);
	char got[128];
	moves_str(vms, h, m, p.nmoves, got, sizeof(got));
	assert_string_equal(got, "b>h2 a>h1");
	assert_int_equal(p.stuck, -1);
	assert_string_equal(p.reason, "2 VMs of h0 go to 2 other hosts");
	/* Each move says why its host: placement's verdict as the plan stood. */
	assert_string_equal(m[0].reason, "chosen (rank 1 of 2): score 0.875 under pack: most allocated that fits; "
	                                 "after placement 6 of 8 vCPUs, 16384 of 16384 MiB");
	/* b filled h2: a had one host left. */
	assert_string_equal(m[1].reason, "chosen (rank 1 of 1): score 0.250 under pack: most allocated that fits; "
	                                 "after placement 2 of 8 vCPUs, 4096 of 16384 MiB");
}

static void t_refused_names_the_shortfall(void **state)
{
	(void)state;
	const struct placement_host h[] = {host("h0", 0, PLACEMENT_CONNECTED, 6, 36864),
	                                   host("h1", 0, PLACEMENT_CONNECTED, 0, 0),
	                                   host("h2", 0, PLACEMENT_CONNECTED, 0, 0)};
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	const struct evacuate_vm vms[] = {vm("a", 2, 12288), vm("b", 2, 12288), vm("c", 2, 12288)};
	struct evacuate_move m[3];
	struct evacuate_plan p;
	assert_int_equal(evacuate_plan(&s, 0, vms, 3, m, &p), 0);
	assert_int_equal(p.stuck, 2);
	assert_int_equal(p.nmoves, 2);
	assert_string_equal(p.reason, "h0 cannot be emptied: VM 'c' (2 vCPUs, 12288 MiB) fits on no other host of its "
	                              "cluster (2 hosts lacked memory, 1 in maintenance), counting the VMs planned "
	                              "before it where they would go");
}

static void t_anti_affine_pair_splits(void **state)
{
	(void)state;
	const struct placement_member mem[] = {{"a", 0}, {"b", 0}};
	const struct placement_rule rules[] = {{"apart", PLACEMENT_ANTI_AFFINITY, mem, 2}};
	const struct placement_host h[] = {host("h0", 0, PLACEMENT_CONNECTED, 4, 8192),
	                                   host("h1", 0, PLACEMENT_CONNECTED, 0, 0),
	                                   host("h2", 0, PLACEMENT_CONNECTED, 0, 0)};
	const struct placement_snapshot s = snap(h, 3, rules, 1);
	char got[128];
	plan_pair(&s, got, sizeof(got));
	assert_string_equal(got, "a>h1 b>h2"); /* packing alone would put both on h1 */
	/* The caller's rule is untouched: the plan worked on a copy. */
	assert_int_equal(mem[0].host, 0);
}

static void t_affine_pair_stays_together(void **state)
{
	(void)state;
	/* Both on h0: the first goes where packing says (h2, fuller); the
	 * second joins it though h1 has more room. */
	const struct placement_member mem[] = {{"a", 0}, {"b", 0}};
	const struct placement_rule rules[] = {{"together", PLACEMENT_AFFINITY, mem, 2}};
	const struct placement_host h[] = {host("h0", 0, PLACEMENT_CONNECTED, 4, 8192),
	                                   host("h1", 0, PLACEMENT_CONNECTED, 0, 0),
	                                   host("h2", 0, PLACEMENT_CONNECTED, 2, 2048)};
	const struct placement_snapshot s = snap(h, 3, rules, 1);
	char got[128];
	plan_pair(&s, got, sizeof(got));
	assert_string_equal(got, "a>h2 b>h2");
	/* With a partner already on h1, both follow it there. */
	const struct placement_member mem3[] = {{"a", 0}, {"b", 0}, {"c", 1}};
	const struct placement_rule rules3[] = {{"together", PLACEMENT_AFFINITY, mem3, 3}};
	const struct placement_snapshot s3 = snap(h, 3, rules3, 1);
	plan_pair(&s3, got, sizeof(got));
	assert_string_equal(got, "a>h1 b>h1");
}

static void t_only_usable_hosts_of_its_cluster(void **state)
{
	(void)state;
	const struct placement_host h[] = {
		host("h0", 0, PLACEMENT_CONNECTED, 2, 2048), host("other", 1, PLACEMENT_CONNECTED, 6, 12288),
		host("down", 0, PLACEMENT_DISCONNECTED, 6, 12288), host("serviced", 0, PLACEMENT_MAINTENANCE, 6, 12288),
		host("ok", 0, PLACEMENT_CONNECTED, 0, 0)};
	const struct placement_snapshot s = snap(h, 5, NULL, 0);
	const struct evacuate_vm vms[] = {vm("a", 2, 2048)};
	struct evacuate_move m[1];
	struct evacuate_plan p;
	assert_int_equal(evacuate_plan(&s, 0, vms, 1, m, &p), 0);
	assert_int_equal(p.nmoves, 1);
	assert_int_equal(m[0].host, 4);
	assert_string_equal(p.reason, "1 VM of h0 goes to 1 other host");
}

static void t_nothing_and_nonsense(void **state)
{
	(void)state;
	const struct placement_host h[] = {host("h0", 0, PLACEMENT_CONNECTED, 0, 0)};
	const struct placement_snapshot s = snap(h, 1, NULL, 0);
	struct evacuate_plan p;
	assert_int_equal(evacuate_plan(&s, 0, NULL, 0, NULL, &p), 0);
	assert_string_equal(p.reason, "h0 runs no VM: nothing to move");
	assert_int_equal(evacuate_plan(&s, 7, NULL, 0, NULL, &p), -1);
	assert_string_equal(p.reason, "cannot plan the evacuation: no such host");
	/* The only host, emptied: nowhere to go. */
	const struct evacuate_vm vms[] = {vm("a", 1, 1024)};
	struct evacuate_move m[1];
	assert_int_equal(evacuate_plan(&s, 0, vms, 1, m, &p), 0);
	assert_int_equal(p.stuck, 0);
	assert_non_null(strstr(p.reason, "VM 'a' (1 vCPU, 1024 MiB) fits on no other host of its cluster (1 host in maintenance)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_largest_first_each_counted),
		cmocka_unit_test(t_refused_names_the_shortfall),
		cmocka_unit_test(t_anti_affine_pair_splits),
		cmocka_unit_test(t_affine_pair_stays_together),
		cmocka_unit_test(t_only_usable_hosts_of_its_cluster),
		cmocka_unit_test(t_nothing_and_nonsense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
