/* pools.h - resource pools against the store: a cluster's tree with what
 * its running VMs reserve (the decisions are decide/pool_admission.c's),
 * admission of a VM's reservation, the tree as users see it, and the
 * chain of settings an agent makes into cgroup levels. */
#ifndef VDC_POOLS_H
#define VDC_POOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "errinfo.h"
#include "pool_admission.h"
#include "store.h"

/* Pools nest at most this deep under a cluster's root (an agent's cgroup
 * path has room for them). */
#define POOLS_MAX_DEPTH 6

struct pool_tree {
	struct pool_node *nodes; /* [0] is the cluster's root */
	json_t **docs;           /* the pools' documents ([0]: the cluster's) */
	int n;
};

/* The tree of cluster_id: its pools, the root reserving the capacity of
 * its connected hosts, each pool's running VMs' reservations counted
 * (skip_vm's not: the VM being decided). 0, or -1 with e. */
int pools_load(struct store *st, const char *cluster_id, const char *skip_vm, struct pool_tree *t, struct errinfo *e);
void pools_free(struct pool_tree *t);
/* Index of the pool with this id; 0 (the root) for NULL or "". -1 when
 * not in the tree. */
int pools_index(const struct pool_tree *t, const char *pool_id);

/* Whether a VM holds its reservation: it runs, or is asked to. */
bool pools_vm_holds(const json_t *vm);
/* Whether host_id can reserve need more for vm_id (its running VMs'
 * reservations, vm_id's not counted, against its capacity): 0, or -1 with
 * e (409 host_reservation). A need of zero reads nothing. */
int pools_host_admit(struct store *st, const char *host_id, const char *vm_id, const int64_t need[POOL_NRES],
                     struct errinfo *e);
/* A VM's reservations (from its config; 0 when none). */
void pools_vm_need(const json_t *vm, int64_t need[POOL_NRES]);
/* Whether a VM reserving need can run in pool_id (NULL: the root) of
 * cluster_id, the VM itself (vm_id) not counted where it is: 0, or -1
 * with e (409 pool_reservation naming the pool and the numbers). A need of
 * zero reads nothing. */
int pools_admit(struct store *st, const char *cluster_id, const char *vm_id, const char *pool_id,
                const int64_t need[POOL_NRES], struct errinfo *e);

/* Both, for a VM about to hold need: in pool_id of its cluster, and on
 * host_id (NULL: its own host). 0, or -1 with e. */
int pools_admit_vm(struct store *st, const json_t *vm, const char *pool_id, const int64_t need[POOL_NRES],
                   const char *host_id, struct errinfo *e);

/* What an agent makes into cgroup levels for a VM in pool_id: root-first
 * [{"name", "cpu_weight", "cpu_limit_pct", "memory_limit_mib",
 * "memory_reservation_mib"}]; [] for none. NULL with e. */
json_t *pools_chain(struct store *st, const char *pool_id, struct errinfo *e);

/* GET /api/v1/clusters/{id}/pools: the cluster's capacity and what is
 * reserved of it, and every pool with its settings, what is reserved
 * under it and its VMs (counts). NULL with e. */
json_t *pools_tree_view(struct store *st, const char *cluster_id, struct errinfo *e);

/* Whether the pools of cluster_id hold with doc (a new or changed pool)
 * in place of its stored self: a tree, limits over reservations, every
 * reservation within what its parent can give. 0, or -1 with e (409
 * pool_invalid). */
int pools_check_with(struct store *st, const char *cluster_id, const json_t *doc, struct errinfo *e);

#endif
