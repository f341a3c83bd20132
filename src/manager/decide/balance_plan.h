/* balance_plan.h - balancing (issue 16): which running VMs to live-migrate
 * so that a cluster's hosts carry even loads, each move with its gain and
 * its cost, and why the plan stops where it does.
 *
 * Load is demand, not allocation: per VM the caller passes CPU demand (in
 * CPUs, e.g. a recent 95th percentile including what a cap refused) and
 * memory demand (active MiB). A host's load fractions are its VMs' demand
 * over its physical CPUs and memory. The imbalance is the one vSphere DRS
 * shows, a standard deviation of host load fractions over the hosts that
 * count (connected, out of maintenance), taken for CPU and for memory and
 * combined as their root mean square: sqrt((sd_cpu^2 + sd_mem^2) / 2). Both
 * resources weigh the same, and, unlike their max, a move that evens the
 * less uneven one still counts.
 *
 * A move's gain is how much it cuts the sum over hosts of squared
 * deviations from the mean (n x imbalance^2): unlike the imbalance itself
 * it does not shrink as the cluster grows, so one minimum gain serves 3
 * hosts and 1,000. Moving d of one resource (a fraction of hosts of one
 * size) from a host at a to one at b gains d x (a - b - d). The sum being a
 * function of where the VMs are, the move back gains exactly the negative
 * of the move: with a positive minimum gain, and each VM moved at most once
 * a round, VMs never ping-pong on steady load.
 *
 * VMs on hosts in maintenance are evacuate_plan's, not moved here.
 *
 * Greedy: each step takes the best move (largest gain) from the most loaded
 * hosts to any host placement accepts (rules, maintenance, networks,
 * datastores, overcommit, reservations), until the imbalance is under the
 * threshold's target, no move gains the minimum, or a cap is reached. The
 * best move placement refused (a rule it would break, no room) is named in
 * the stop reason.
 *
 * Modes (manual, partially or fully automated) are the caller's: the plan
 * is the same, and the caller lists it or runs it.
 *
 * Not here yet: VM-host must/should rules (placement has no host groups
 * yet); moves that fix a broken rule (DRS's priority-1 moves); HA's
 * per-host failover fit (ha_plan) — only its admission control is kept.
 *
 * Pure: inputs in, plan out; it allocates its working copies and frees
 * them. */
#ifndef VDC_BALANCE_PLAN_H
#define VDC_BALANCE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "ha_admission.h"
#include "migrate_plan.h"
#include "placement.h"

#define BALANCE_REASON_MAX 400
#define BALANCE_MOVE_REASON_MAX 400
#define BALANCE_LEVELS 5

/* A threshold level 1 (conservative) .. 5 (aggressive). */
struct balance_level {
	double target;   /* acts only while the imbalance is above it */
	double min_gain; /* a move must cut n x imbalance^2 by at least this */
	int hold_rounds; /* consecutive rounds over target before it acts */
};

/* The table: balance_levels[level - 1]. */
extern const struct balance_level balance_levels[BALANCE_LEVELS];

/* A running VM of the cluster, as placement would be asked for it, with
 * its demand and what a migration of it would cost. */
struct balance_vm {
	const char *name;
	int host;              /* index into the snapshot's hosts */
	double cpu_demand;     /* CPUs it uses (e.g. 1.5), >= 0 */
	int64_t mem_demand_mib; /* active memory, >= 0 */
	int vcpus;             /* its allocation, as placement counts it */
	int64_t memory_mib;    /* its allocation: the memory a migration copies */
	int64_t dirty_bytes_s; /* its measured dirty rate (0 when unknown) */
	int64_t reserve_cpu_pct, reserve_memory_mib; /* its reservations (resource pools) */
	int datastore;         /* id, or -1 */
	struct placement_set networks;
	const int *rules;      /* the rules it is a member of */
	int nrules;
	bool excluded;         /* a per-VM override: never moved (its load still counts) */
};

struct balance_input {
	const struct placement_snapshot *snap; /* hosts' allocations include every VM below */
	int cluster;            /* the cluster balanced (its hosts only) */
	const struct balance_vm *vms;
	int nvms;
	int level;              /* 1 .. 5 */
	int rounds_over;        /* consecutive earlier rounds this cluster was over target */
	int max_moves;          /* moves per round (> 0) */
	int max_per_host;       /* moves a host takes part in per round (> 0) */
	int in_flight;          /* migrations still running: they count against max_moves */
	struct ha_policy ha;    /* the cluster's admission control: never left worse */
	struct migrate_policy migrate; /* to estimate each move's cost */
	int64_t bandwidth_bytes_s;     /* the migration link (> 0) */
};

struct balance_move {
	int vm, from, to;
	double gain;                 /* the cut in n x imbalance^2 */
	double imbalance_before, imbalance_after;
	int64_t copy_mib;            /* memory to copy */
	int64_t dirty_bytes_s;
	enum migrate_strategy strategy;
	int64_t predicted_ms;        /* migrate_plan's estimate */
	char reason[BALANCE_MOVE_REASON_MAX];
};

enum balance_stop {
	BALANCE_STOP_UNDER_TARGET, /* balanced enough: nothing (more) to do */
	BALANCE_STOP_HOLDING,      /* over target, but not for long enough yet */
	BALANCE_STOP_NO_GAIN,      /* no allowed move gains the minimum */
	BALANCE_STOP_CAP,          /* max_moves (or in_flight) reached */
	BALANCE_STOP_TOO_FEW,      /* fewer than two hosts count */
};

struct balance_plan {
	bool over_target;  /* this round: the caller counts consecutive rounds with it */
	bool acts;         /* the hold-off is over: moves may be proposed */
	int nhosts;        /* hosts that count */
	double sd_cpu, sd_mem;
	double imbalance, imbalance_after; /* before and after the moves */
	double target, min_gain;
	int hold_rounds;
	int nmoves;
	enum balance_stop stop;
	/* NO_GAIN: the move that would have gained most but placement refused
	 * (a rule, no room, a datastore...), or -1. */
	int blocked_vm;
	enum placement_filter blocked_filter;
	int blocked_rule;  /* its rule index when a rule refused it, or -1 */
	struct ha_capacity ha_before, ha_after;
	char reason[BALANCE_REASON_MAX]; /* why it stopped, with the numbers */
};

/* Plans one round for in->cluster, writing moves[0 .. max_moves) in the
 * order to run them (each counted where those before it went). out is
 * never NULL. Returns 0 with the plan, or -1 with out->reason on bad input
 * (a VM on a host outside the cluster, a size or demand out of bounds, a
 * level out of range, an unknown HA policy, no memory). Reads in only. Costs O(steps x (VMs on the busiest
 * hosts x hosts)), placement being asked only for candidates that could
 * win. */
int balance_plan(const struct balance_input *in, struct balance_move *moves, struct balance_plan *out);

/* "under_target", "holding", "no_gain", "cap", "too_few". */
const char *balance_stop_name(enum balance_stop s);

#endif
