/* inv_impl.h - the index's structures, shared by inv.c (changes),
 * inv_place.c (decisions) and inv_dump.c. Not for other modules. */
#ifndef VDC_INV_IMPL_H
#define VDC_INV_IMPL_H

#include "inv.h"
#include "inv_map.h"
#include "placement.h"

#define INV_TOMBSTONES 65536

struct ivm;

/* Interned datastore or network names: the bit ids of placement sets,
 * counted by the hosts that reach them and reused when none does. */
struct inv_names {
	char *v[PLACEMENT_SET_BITS];
	int refs[PLACEMENT_SET_BITS];
};

struct icluster {
	char *id, *name;
	int64_t version;
	int slot; /* in iv->pc */
	bool ha_on; /* HA judges its hosts */
};

struct ihost {
	char *id, *name, *cluster_id;
	int64_t version;
	enum placement_host_state state; /* as the document says */
	int64_t last_heartbeat;          /* epoch s of its last heartbeat (liveness reads it) */
	bool ha_out;                     /* HA's verdict on it is other than connected */
	int slot;                        /* in iv->ph and iv->hosts */
	struct ivm *vms;                 /* its VMs, linked through hnext */
	int nvms;
};

/* The index's key of a group (malloc'd): see struct igroup. */
char *inv_group_key(enum placement_rule_type t, const char *project, const char *name);

struct igroup {
	char *key; /* "affinity:" or "anti_affinity:", the project id and "/" (none
	            * for a VM of no project), the name: groups are per project */
	const char *name;
	enum placement_rule_type type;
	struct ivm **m;
	int n, cap;
};

struct ivm {
	char *id, *name, *host_id;
	int64_t version;
	int vcpus;
	int64_t memory_mib;
	int64_t reserve_cpu_pct, reserve_memory_mib; /* counted on its host while it holds them */
	bool holds;                                  /* runs, or is asked to */
	struct ihost *host; /* NULL: its host_id is no host the index knows */
	struct ivm *hprev, *hnext;
	struct igroup **groups;
	int ngroups;
};

struct inv {
	struct inv_map clusters, hosts, vms, groups, tombs;
	/* Dense arrays the placement snapshot points at: slot i of ph is
	 * hosts[i]; slot j of pc is clusters[j]. */
	struct placement_host *ph;
	struct ihost **hostv;
	int nhosts, hosts_cap;
	struct placement_cluster *pc;
	struct icluster **clusterv;
	int nclusters, clusters_cap;
	int norphans; /* VMs whose host_id names no known host */
	struct inv_names datastores, networks;
	char *tomb_ring[INV_TOMBSTONES];
	int tomb_next;
	/* Reused by inv_place: sized for hosts_cap. */
	struct placement_result result;
};

/* A name's id for a request: the index's, or a free id (no host has it)
 * named in the snapshot's copy of the names, so that the verdicts can name
 * it; -1 when every id is taken. */
int inv_request_name(const struct inv_names *n, const char **names, const char *name);

/* An id of names for name, or -1 when none has it. */
int inv_names_find(const struct inv_names *n, const char *name);

/* The rules a plan binds (inv_evacuate.c, inv_ha.c): one per distinct
 * group of the VMs it places, with the index's members and their hosts. */
struct inv_plan_rules {
	struct placement_rule *v;
	char **keys;
	int n, cap;
};
/* The rule index of a group (made on first sight); -1 when out of memory. */
int inv_plan_rule(struct inv *iv, struct inv_plan_rules *r, enum placement_rule_type t, const char *project,
                  const char *name);
void inv_plan_rules_free(struct inv_plan_rules *r);
/* What a plan needs of a VM besides its size: q's networks added to
 * *networks (named in net_names, the snapshot's copy), and its affinity
 * and anti-affinity groups as rules of r, their indices in ids (room for
 * PLACEMENT_MAX_VM_RULES; more are left out) and their number added to
 * *nrules. 0, or -1 when memory ran out. */
int inv_plan_vm(struct inv *iv, struct inv_plan_rules *r, const struct inv_request *q, const char **net_names,
                struct placement_set *networks, int *ids, int *nrules);

#endif
