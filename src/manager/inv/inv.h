/* inv.h - the inventory in memory: what placement decisions need, kept up to
 * date one document at a time so that a decision costs O(hosts) in memory
 * and never a read of the whole store. Hosts with capacity, state and
 * allocations (the sum of their VMs' vCPUs and memory), clusters with
 * overcommit and policy, VMs per host, rule groups (affinity and
 * anti-affinity members and their hosts), datastores and networks per host.
 *
 * It knows documents, not where they come from: vdcd feeds it from its
 * store (a rebuild at start, then every commit: ops/inventory.c); a
 * simulator can feed it simulated documents. Not thread-safe: one thread at
 * a time (placement reuses buffers of the index), the caller locks. */
#ifndef VDC_INV_H
#define VDC_INV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inv;

enum inv_kind {
	INV_CLUSTER,
	INV_HOST,
	INV_VM,
};

struct inv *inv_new(void);
void inv_free(struct inv *iv);

/* Applies a document of a kind as stored: a cluster {"id","name",
 * "cpu_overcommit","mem_overcommit","policy"}, a host {"id","name",
 * "cluster_id","state","capacity":{"cpus","memory_mib"},"datastores":
 * [{"name"}],"bridges":[names]} or a VM {"id","name","host_id","config":
 * {"vcpus","memory_mib"},"placement_groups":{"affinity":[],"anti_affinity":
 * []}}; doc NULL deletes id. Updates may arrive out of order: a document
 * whose "version" is not above the one held is ignored, and so is one of
 * an id deleted lately (the last 65,536 deletions are remembered). Returns
 * 0, or -1 when doc has no id (nothing changes). */
int inv_apply(struct inv *iv, enum inv_kind k, const char *id, const json_t *doc);

/* Sizes, for logs and tests. */
int inv_count(const struct inv *iv, enum inv_kind k);

/* A connected host as host liveness reads it. */
struct inv_beat {
	char *id, *name;        /* malloc'd copies */
	int64_t last_heartbeat; /* epoch s, from "last_heartbeat_epoch" */
};
/* The hosts whose state is connected, with their last heartbeat: copies in
 * *out (free with inv_beats_free), so that the caller may act on them
 * after letting go of the index. Costs O(hosts) in memory, no store read:
 * at 10,000 hosts what used to be a read of every host document every
 * two seconds. 0, or -1 when out of memory. */
int inv_connected_hosts(const struct inv *iv, struct inv_beat **out, size_t *n);
void inv_beats_free(struct inv_beat *b, size_t n);

/* A VM to place. Names, not ids, for datastore and networks (bridges);
 * groups by name. */
struct inv_request {
	const char *vm;         /* its name (members of its own name are itself) */
	int vcpus;
	int64_t memory_mib;
	int64_t reserve_cpu_pct, reserve_memory_mib; /* reserved while it runs (0: none) */
	const char *datastore;  /* NULL: needs none */
	const char *const *networks;
	int nnetworks;
	const char *cluster_id; /* NULL: any cluster (an unknown id is any too) */
	const char *const *affinity;
	int naffinity;
	const char *const *anti_affinity;
	int nanti_affinity;
	const char *project_id; /* its project (NULL: none): groups are per project */
	const char *moving_from; /* a migration: the id of the host the VM runs on (never chosen) */
	const char *only_host;   /* the host asked for (its id): placed there if it passes every
	                          * filter, else no fit with that host's reason; NULL: the best */
};

/* What inv_place reports at most: the best `top` eligible hosts and
 * `examples` hosts per reason of rejection. */
struct inv_report_limits {
	int top;
	int examples;
};

enum inv_place_outcome {
	INV_PLACED = 0,
	INV_NO_FIT = 1,       /* no host fits: the report says why */
	INV_NO_HOSTS = -1,    /* the inventory has no host at all */
	INV_PLACE_ERROR = -2, /* the inputs are out of bounds: err says which */
};

/* Decides where q goes. On INV_PLACED, *host_id is the chosen host's id
 * (malloc'd); on PLACED and NO_FIT, *report is {"host" (null when none),
 * "summary", "eligible", "hosts_total", "rejected": {filter: count},
 * "hosts": [{"host","eligible","filter","reason","rank"?,"score"?}]}: the
 * chosen host and the best eligible ones, then a few examples of each
 * reason of rejection. Costs O(hosts x top + members of q's groups). */
enum inv_place_outcome inv_place(struct inv *iv, const struct inv_request *q,
                                 struct inv_report_limits lim, json_t **report, char **host_id,
                                 char *err, size_t errlen);

/* Where the VMs vms[0..nvms) of host host_id go when it enters maintenance
 * (decide/evacuate_plan.h): {"host","host_id","refused":bool,"stuck": the
 * index of the VM that fits nowhere or -1,"reason","moves":[{"i": index
 * into vms,"to_id","to","reason": placement's verdict}]} in the order to
 * run them. NULL with err when the host is unknown or out of memory. */
json_t *inv_evacuate(struct inv *iv, const char *host_id, const struct inv_request *vms, int nvms, char *err,
                     size_t errlen);

/* HA: where a failed host's VMs restart and in which waves
 * (decide/ha_plan.c): q as for placement, its priority (enum ha_priority
 * of ha_plan.h: 0 disabled .. 3 high) and the indices of the VMs of vms it
 * starts after. The host must be disconnected in the index. Returns
 * {"restarts": [{"i", "to_id", "to", "wave", "reason"}], "skipped": [{"i",
 * "why", "reason"}], "waves", "reason"}, or NULL with err. */
struct inv_ha_request {
	struct inv_request q;
	int priority;
	const int *after;
	int nafter;
};
json_t *inv_ha_plan(struct inv *iv, const char *host_id, const struct inv_ha_request *vms, int nvms, char *err,
                    size_t errlen);

/* The whole index as canonical JSON, to compare two indexes (a live one
 * with one rebuilt from the store) with ==: {"clusters": {id: {...}},
 * "hosts": {id: {..., "vms": [ids]}}, "vms": {id: {...}}, "groups":
 * {"affinity:PROJECT/NAME" | "anti_affinity:PROJECT/NAME": [vm ids]}}
 * ("affinity:NAME" for VMs of no project), arrays sorted. */
json_t *inv_dump(const struct inv *iv);

#endif
