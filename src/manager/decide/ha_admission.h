/* ha_admission.h - HA admission control (issue 14): a cluster keeps room
 * free so that, when hosts fail, their VMs can restart on the others
 * (ha_plan.h); a power-on that would eat into that room is refused, with
 * the policy and the numbers.
 *
 * The policy is a cluster's: none; tolerate N host failures (the room of
 * its N largest hosts is kept free: the share vSphere's "cluster resource
 * percentage" derives from its host failures to tolerate, CPU and memory
 * each taken from their own N largest hosts); or a percentage of its CPU
 * and of its memory kept free. Capacity is what placement counts: vCPUs
 * and MiB under the cluster's overcommit (placement_capacity), of the
 * hosts connected and out of maintenance. Load is the vCPUs and memory of
 * every powered-on VM of the cluster, HA-protected or not: an unprotected
 * VM on a surviving host takes room the restarts would need all the same,
 * and which hosts fail is not known in advance. Counting allocations (not
 * reservations) is what lets ha_plan's placements fit: placement filters
 * on them too.
 *
 * Pure: inputs in, decision out; no allocation. Sums stay exact within
 * placement's bounds and HA_ADMISSION_MAX_HOSTS hosts. */
#ifndef VDC_HA_ADMISSION_H
#define VDC_HA_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "placement.h"

/* Hosts in one cluster (vSphere allows 96): with placement's per-host
 * bounds, every sum below stays under 2^62. */
#define HA_ADMISSION_MAX_HOSTS 4096
#define HA_ADMISSION_REASON_MAX 480

enum ha_res {
	HA_CPU, /* vCPUs */
	HA_MEM, /* MiB */
	HA_NRES
};

enum ha_policy_kind {
	HA_POLICY_NONE,          /* admits every power-on */
	HA_POLICY_HOST_FAILURES, /* keeps its host_failures largest hosts' room free */
	HA_POLICY_PERCENT,       /* keeps pct[] of its capacity free */
};

struct ha_policy {
	enum ha_policy_kind kind;
	int host_failures; /* HOST_FAILURES: 1 .. HA_ADMISSION_MAX_HOSTS */
	int pct[HA_NRES];  /* PERCENT: of its CPU and of its memory, 0 .. 100 */
};

struct ha_admission_host {
	const char *name;
	bool counts;               /* connected and not in maintenance */
	int64_t capacity[HA_NRES]; /* under the cluster's overcommit: 0 .. PLACEMENT_MAX_CPUS x 1000
	                            * vCPUs, 0 .. PLACEMENT_MAX_MIB x 1000 MiB */
};

struct ha_admission_cluster {
	const char *name;
	const struct ha_admission_host *hosts;
	int nhosts;            /* 0 .. HA_ADMISSION_MAX_HOSTS */
	int64_t load[HA_NRES]; /* every powered-on VM's vCPUs and MiB: 0 .. the hosts' bounds summed */
};

struct ha_capacity {
	int nhosts;                 /* the hosts that count */
	int64_t total[HA_NRES];     /* their capacity */
	int64_t load[HA_NRES];
	int64_t reserved[HA_NRES];  /* kept free for failover by the policy */
	int64_t free[HA_NRES];      /* total - reserved - load: left for power-ons (< 0: over the policy) */
	double load_pct[HA_NRES], reserved_pct[HA_NRES], free_pct[HA_NRES]; /* of total; 0 when it is 0 */
	int tolerates;              /* host failures the load survives: the largest k with, for CPU and
	                             * memory, load <= total - the k largest hosts' capacity; 0 also when
	                             * the load exceeds the total (overloaded says so) */
	bool overloaded;            /* the load exceeds the total: not even no failure is covered */
	bool all_reserved;          /* tolerate N host failures with N >= the hosts that count */
	char reason[HA_ADMISSION_REASON_MAX];
};

struct ha_admission_verdict {
	bool ok;
	bool short_of[HA_NRES]; /* refused: what the power-on would take from the room kept */
	char reason[HA_ADMISSION_REASON_MAX];
};

/* Fills hosts[0..) with cluster `cluster`'s hosts of s, as admission
 * counts them: counts when connected, capacities under the cluster's
 * overcommit. Returns how many, or -1 on a bad argument or more than max. */
int ha_admission_hosts(const struct placement_snapshot *s, int cluster, struct ha_admission_host *hosts, int max);

/* The cluster's failover capacity under policy p: what it has, what its
 * VMs use, what the policy keeps, what is left, how many host failures
 * the load survives, and a sentence saying so. Returns 0, or -1 with the
 * reason on bad input (out of bounds, unknown policy). */
int ha_admission_capacity(const struct ha_admission_cluster *c, const struct ha_policy *p, struct ha_capacity *out);

/* Whether a power-on of VM vm (vcpus 1 .. PLACEMENT_MAX_CPUS, memory_mib
 * 1 .. PLACEMENT_MAX_MIB) may proceed in c under p: true, or false with
 * the reason naming the policy and the numbers and what to do. Bad input
 * refuses (v->reason says why): admission fails closed. */
bool ha_admission_check(const struct ha_admission_cluster *c, const struct ha_policy *p, const char *vm, int vcpus,
                        int64_t memory_mib, struct ha_admission_verdict *v);

/* "off", "tolerate 1 host failure", "tolerate 2 host failures", "keep 25%
 * CPU and 30% memory free"; snprintf's contract. */
int ha_policy_format(const struct ha_policy *p, char *buf, size_t len);

#endif
