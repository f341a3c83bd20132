/* balance.c - bench: how long one balancing round (decide/balance_plan.c)
 * takes for a cluster of 1,000 hosts and 10,000 VMs (issue 16's figure
 * balance_plan_1k_hosts_ms, at most 200 ms). The fleet is fixed by a seed:
 * two host models, VMs of 1-8 vCPUs and 1-32 GiB with a demand of 5-95% of
 * their size, the first fifth of the hosts given twice their share, 300
 * anti-affinity triples and 100 affine pairs. */
#include "balance_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../fleet_rng.h"

#define NHOSTS 1000
#define NVMS 10000
#define NANTI 300
#define NAFF 100
#define RUNS 7

static double ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static const struct placement_cluster clusters[] = {{"prod", 4.0, 1.5, PLACEMENT_SPREAD}};

int main(void)
{
	static struct placement_host hosts[NHOSTS];
	static struct balance_vm vms[NVMS];
	static struct placement_rule rules[NANTI + NAFF];
	static struct placement_member members[NANTI * 3 + NAFF * 2];
	static int vm_rule[NVMS];
	static char hnames[NHOSTS][16], vnames[NVMS][16], rnames[NANTI + NAFF][16];
	static struct balance_move moves[256];
	for (int h = 0; h < NHOSTS; h++) {
		snprintf(hnames[h], sizeof(hnames[h]), "h%d", h);
		bool big = h % 3 == 0;
		hosts[h] = (struct placement_host){.name = hnames[h], .state = PLACEMENT_CONNECTED,
		                                   .cpus = big ? 64 : 32, .memory_mib = big ? 524288 : 262144};
	}
	for (int h = 0; h < NHOSTS; h += 100)
		hosts[h].state = PLACEMENT_MAINTENANCE;
	for (int i = 0; i < NVMS; i++) {
		snprintf(vnames[i], sizeof(vnames[i]), "v%d", i);
		int vcpus = 1 << pick(4);
		int64_t mib = 1024LL << pick(6);
		double use = 0.05 + (double)pick(91) / 100;
		/* Twice the share on the first fifth of the hosts. */
		int h = pick(3) ? pick(NHOSTS / 5) : pick(NHOSTS);
		vms[i] = (struct balance_vm){.name = vnames[i], .host = h, .cpu_demand = vcpus * use,
		                             .mem_demand_mib = (int64_t)((double)mib * use), .vcpus = vcpus,
		                             .memory_mib = mib, .dirty_bytes_s = (int64_t)pick(64) << 20,
		                             .datastore = -1, .excluded = pick(50) == 0};
		hosts[h].alloc_vcpus += vcpus;
		hosts[h].alloc_memory_mib += mib;
		vm_rule[i] = -1;
	}
	int nm = 0, nr = 0;
	for (int r = 0; r < NANTI + NAFF; r++) {
		int size = r < NANTI ? 3 : 2;
		snprintf(rnames[r], sizeof(rnames[r]), "%s%d", r < NANTI ? "anti" : "aff", r);
		rules[nr] = (struct placement_rule){rnames[r], r < NANTI ? PLACEMENT_ANTI_AFFINITY : PLACEMENT_AFFINITY,
		                                    &members[nm], 0};
		for (int k = 0; k < size; k++) {
			int v = pick(NVMS);
			if (vm_rule[v] >= 0)
				continue;
			vm_rule[v] = nr;
			members[nm++] = (struct placement_member){vms[v].name, vms[v].host};
			rules[nr].nmembers++;
		}
		nr++;
	}
	static int rule_ids[NANTI + NAFF];
	for (int r = 0; r < nr; r++)
		rule_ids[r] = r;
	for (int i = 0; i < NVMS; i++)
		if (vm_rule[i] >= 0) {
			vms[i].rules = &rule_ids[vm_rule[i]];
			vms[i].nrules = 1;
		}
	struct placement_snapshot s = {.hosts = hosts, .nhosts = NHOSTS, .clusters = clusters, .nclusters = 1,
	                               .rules = rules, .nrules = nr};
	struct balance_input in = {.snap = &s, .cluster = 0, .vms = vms, .nvms = NVMS, .level = 3,
	                           .rounds_over = 10, .max_moves = 100, .max_per_host = 8,
	                           .ha = {.kind = HA_POLICY_HOST_FAILURES, .host_failures = 2},
	                           .migrate = {.allow_auto_converge = true, .downtime_limit_ms = 300,
	                                       .max_throttle_pct = 99},
	                           .bandwidth_bytes_s = 1250LL << 20};
	double ms[RUNS];
	struct balance_plan p;
	for (int k = 0; k < RUNS; k++) {
		struct timespec a;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (balance_plan(&in, moves, &p) < 0) {
			fprintf(stderr, "balance: %s\n", p.reason);
			return 1;
		}
		ms[k] = ms_since(&a);
	}
	qsort(ms, RUNS, sizeof(ms[0]), cmp_double);
	fprintf(stderr, "balance: %d moves, imbalance %.3f -> %.3f (%s): %s\n", p.nmoves, p.imbalance,
	        p.imbalance_after, balance_stop_name(p.stop), p.reason);
	printf("figure balance_plan_1k_hosts_ms %.1f ms\n", ms[RUNS / 2]);
	printf("figure balance_plan_1k_hosts_moves %d moves\n", p.nmoves);
	return 0;
}
