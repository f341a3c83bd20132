/* pool_admission.h - resource pools' reservations, as vSphere's are: a
 * pool guarantees its reservation of CPU and memory to what runs under it.
 * A running VM and a child pool each take their reservation out of their
 * parent's: a child pool its own reservation, or what it uses when it has
 * borrowed beyond it. A pool whose reservation is expandable borrows what
 * it lacks from its parent's unreserved part, up the tree; a limit caps
 * what may be reserved under a pool (the hosts' cgroups cap what its VMs
 * use). The cluster's root pool reserves the cluster's capacity.
 *
 * Admission of a power-on, or of a VM moving into a pool, takes the VM's
 * reservation out of its pool, or refuses naming the pool and the numbers
 * when the tree cannot give it. Admissions change the nodes given, so a
 * burst of power-ons is decided one after the other on the same tree and
 * never over-commits it. Pure: inputs in, decision out. */
#ifndef VDC_POOL_ADMISSION_H
#define VDC_POOL_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>

enum pool_res {
	POOL_CPU, /* percent of one CPU: 100 is one full CPU (as a VM's cpu_limit_pct) */
	POOL_MEM, /* MiB */
	POOL_NRES
};

#define POOL_NO_LIMIT (-1)
#define POOL_REASON_MAX 400

struct pool_node {
	const char *name;
	int parent; /* index in the array; -1 for the cluster's root */
	int64_t reservation[POOL_NRES];
	int64_t limit[POOL_NRES]; /* POOL_NO_LIMIT, or at least the reservation */
	bool expandable;          /* borrows from its parent what its reservation lacks */
	int64_t vms_reserved[POOL_NRES]; /* the reservations of its running VMs */
};

struct pool_verdict {
	bool ok;
	int pool;          /* the pool that could not give it (refused) */
	enum pool_res res; /* and what it lacked */
	char reason[POOL_REASON_MAX];
};

/* What is reserved under pool i: its running VMs' reservations and what
 * its children take from it. */
int64_t pool_reserved(const struct pool_node *nodes, int n, int i, enum pool_res r);

/* Takes need (per resource) out of pool i for a VM, or refuses. On
 * success nodes[i].vms_reserved grows by need; on refusal nothing
 * changes. */
bool pool_admit(struct pool_node *nodes, int n, int i, const int64_t need[POOL_NRES], struct pool_verdict *v);

/* Whether the tree's settings hold: parents before cycles, limits at
 * least reservations, each pool's reservation within what its parent
 * can give (its own unreserved part, or up the tree when expandable).
 * false with v naming the pool and the numbers. */
bool pool_tree_valid(const struct pool_node *nodes, int n, struct pool_verdict *v);

/* A host honours the reservations of the VMs it runs: need more can be
 * reserved on a host of capacity cap where reserved already are (its
 * running VMs'), or v names the host and the numbers. For a power-on
 * and for a migration's destination: a VM's reservation is a promise of
 * one host's CPU and memory, whatever its pool. */
bool pool_host_fits(const char *host, const int64_t cap[POOL_NRES], const int64_t reserved[POOL_NRES],
                    const int64_t need[POOL_NRES], struct pool_verdict *v);

const char *pool_res_name(enum pool_res r);

/* Whether a VM holds its reservations (in its pool, on its host): it runs,
 * is paused or migrating, or is asked to (its desired state), as both the
 * admission (ops/pools.c) and placement's inventory (inv/) count it. */
bool pool_vm_holds(const char *power_state, const char *desired_state);

#endif
