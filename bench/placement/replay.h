/* replay.h - replays a VM request trace (arrivals and departures) through a
 * host chooser onto identical hosts, adding a host whenever none fits. */
#ifndef VDC_BENCH_PLACEMENT_REPLAY_H
#define VDC_BENCH_PLACEMENT_REPLAY_H

#include <stdint.h>

struct trace_vm {
	int64_t arrival_s;
	int64_t lifetime_s; /* -1: still running at the end */
	int vcpus;
	int64_t memory_mib;
};

/* Reads up to max rows of a gzip'd CSV (arrival_s,lifetime_s,vcpus,memory_mib
 * after a header line). Returns a malloc'd array and its length in *n, or
 * NULL with the reason on stderr. */
struct trace_vm *trace_load(const char *path, int max, int *n);

enum replay_chooser {
	REPLAY_PACK,       /* placement_choose_host, cluster policy pack */
	REPLAY_SPREAD,     /* placement_choose_host, cluster policy spread */
	REPLAY_FIRST_FIT,  /* the lowest-numbered host that fits: the README's reference */
};

struct replay_stats {
	double hosts_avg;  /* time-weighted mean of hosts running at least one VM */
	double bound_avg;  /* time-weighted mean of ceil(max(sum vcpus/32, sum mem/128 GiB)) */
	int hosts_max;     /* hosts the fleet grew to */
	double decide_us;  /* mean time per placement decision */
};

/* Replays vms[0..n) onto 32-vCPU, 128-GiB hosts with no overcommit, measuring
 * from time from_s (0: the first arrival) to the last arrival. Returns 0, or
 * -1 with the reason on stderr. */
int replay_run(const struct trace_vm *vms, int n, enum replay_chooser how, int64_t from_s,
               struct replay_stats *st);

#endif
