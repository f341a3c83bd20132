/* evacuate_plan.h - where a host's VMs go when it enters maintenance, worked
 * out before anything moves (issue 13: the plan is shown first, and a host
 * whose VMs the rest of its cluster cannot take is refused up front, naming
 * the shortfall).
 *
 * Each VM is placed by placement itself on the other hosts of the host's
 * cluster, largest first (the hardest to fit, while the most room is
 * left), each as if the ones before it had already moved: their vCPUs and
 * memory are counted on their new hosts, and the rules they are members of
 * see them there. A rule member still on the host being emptied does not
 * bind yet (it moves too): two anti-affine VMs there land on two hosts, two
 * affine ones on one. Pure: no I/O; it allocates its copies of the
 * snapshot's hosts and rules, and frees them. */
#ifndef VDC_EVACUATE_PLAN_H
#define VDC_EVACUATE_PLAN_H

#include "placement.h"

#define EVACUATE_REASON_MAX 480

/* A VM on the host to empty, as placement would be asked for it. */
struct evacuate_vm {
	const char *name;
	int vcpus;
	int64_t memory_mib;
	int64_t reserve_cpu_pct, reserve_memory_mib; /* its reservations (resource pools) */
	int datastore; /* id, or -1 */
	struct placement_set networks;
	const int *rules; /* the rules it is a member of (indices into the snapshot's) */
	int nrules;
};

#define EVACUATE_MOVE_REASON_MAX 240

struct evacuate_move {
	int vm;   /* index into the VMs given */
	int host; /* where it goes */
	char reason[EVACUATE_MOVE_REASON_MAX]; /* placement's verdict for that host, counting the moves before */
};

struct evacuate_plan {
	int nmoves; /* the moves written, in the order to run them */
	int stuck;  /* -1, or the VM that fits nowhere (the plan is then refused) */
	char reason[EVACUATE_REASON_MAX];
};

/* Plans emptying host (an index into s->hosts) of vms[0..nvms), writing
 * moves[0..nvms); out is never NULL. The host's own state does not matter (it is treated as
 * entering maintenance). Returns 0 with the plan (stuck >= 0 when refused),
 * or -1 on bad arguments or no memory, with the reason. */
int evacuate_plan(const struct placement_snapshot *s, int host, const struct evacuate_vm *vms, int nvms,
                  struct evacuate_move *moves, struct evacuate_plan *out);

#endif
