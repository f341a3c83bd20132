/* ha_plan.h - which VMs of failed hosts restart where, and in what order
 * (issue 14: high availability). Worked out before anything starts, once
 * the failed hosts are fenced (their VMs provably stopped).
 *
 * Each VM is placed by placement itself on the hosts of its own cluster
 * (the room HA admission control keeps is a cluster's), each as if the
 * restarts before it had happened: their vCPUs, memory and reservations
 * are counted on their new hosts, and the rules they are members of see
 * them there. A rule member on a failed host is not running (the host is
 * fenced): it binds again once its restart is planned, so two anti-affine
 * VMs land on two hosts and two affine ones on one, as evacuate_plan does.
 *
 * The order: high before medium before low; within a priority, the VMs a
 * VM starts after come first, then the largest memory first (the hardest
 * to fit, while the most room is left). A VM that a higher-priority VM
 * starts after is planned at that priority (it is raised), or the higher
 * one would wait on a VM that got no room. Waves are the start order: a
 * VM starts in wave 0 when none of the VMs it starts after restarts,
 * otherwise in 1 + their largest wave; the controller starts wave k+1
 * once every VM of wave k is ready.
 *
 * A VM is not restarted when its priority is disabled, when no host of its
 * cluster fits (placement's summary says why), or when its start order is
 * circular (the cycle is named). A VM that starts after one that is not
 * restarted still restarts, without waiting for it, and its reason says
 * so: what vSphere does once its wait for a dependency times out, decided
 * up front here since a VM that is not restarted will never be ready.
 *
 * Pure: no I/O. The order costs O(VMs + dependencies x log VMs); each
 * placement at most O(hosts of the VM's cluster + members of its rules).
 * In a cluster of 256 hosts or more, placement's full ranking of a VM
 * shape is kept, and the next VM of that shape re-asks placement only
 * about the hosts changed since: the same choice, far cheaper (1,000
 * failed hosts x 10 VMs on 10,000 hosts, -O2: 0.03 s in clusters of 100,
 * 0.2 s as one cluster, 1.5 s without the rankings). It allocates its
 * working copies (the hosts, the rules' members, about 21 ints per VM,
 * placement's results: 2 of the fleet's size and 8 of the largest
 * cluster's when it has 256 hosts or more) and frees them before it
 * returns. */
#ifndef VDC_HA_PLAN_H
#define VDC_HA_PLAN_H

#include "placement.h"

/* At most this many VMs in one plan (a rack of a large fleet is far
 * below), and this many VMs one VM starts after. */
#define HA_PLAN_MAX_VMS 100000
#define HA_PLAN_MAX_AFTER 1024
/* And this many "starts after" links in all (4 MiB of working ints). */
#define HA_PLAN_MAX_DEPENDENCIES 1000000

#define HA_PLAN_REASON_MAX 480
#define HA_RESTART_REASON_MAX 400

enum ha_priority {
	HA_PRIO_DISABLED, /* HA does not restart it */
	HA_PRIO_LOW,
	HA_PRIO_MEDIUM,
	HA_PRIO_HIGH,
};

/* A VM of a failed host, as placement would be asked for it. */
struct ha_vm {
	const char *name;
	int host; /* the failed host it ran on: an index into s->hosts, disconnected */
	enum ha_priority priority;
	int vcpus;
	int64_t memory_mib;
	int64_t reserve_cpu_pct, reserve_memory_mib; /* its reservations (resource pools) */
	int datastore; /* id, or -1 */
	struct placement_set networks;
	const int *rules; /* the rules it is a member of (indices into the snapshot's) */
	int nrules;       /* 0 .. PLACEMENT_MAX_VM_RULES */
	int cluster;      /* its cluster: an index into s->clusters; it restarts there */
	const int *after; /* indices of VMs of this plan it starts after, once they are ready */
	int nafter;       /* 0 .. HA_PLAN_MAX_AFTER */
};

struct ha_restart {
	int vm;   /* index into the VMs given */
	int host; /* where it restarts (index into s->hosts) */
	int wave; /* 0: at once; k + 1: once every VM of wave k is ready */
	char reason[HA_RESTART_REASON_MAX]; /* its priority, what it waits for, placement's verdict */
};

enum ha_skip_why {
	HA_SKIP_DISABLED, /* its restart priority is disabled */
	HA_SKIP_NO_HOST,  /* no host of its cluster fits, counting the restarts before it */
	HA_SKIP_CYCLE,    /* it starts after VMs that start after it */
};

struct ha_skip {
	int vm;
	enum ha_skip_why why;
	char reason[HA_RESTART_REASON_MAX];
};

struct ha_plan {
	int nrestarts; /* restarts written, in the order planned (priority, dependencies, size) */
	int nskipped;  /* VMs not restarted: disabled and circular ones first, as given; then
	                * those no host fits, in the order planned */
	int nwaves;    /* 1 + the largest wave; 0 when nothing restarts */
	char reason[HA_PLAN_REASON_MAX];
};

/* Plans restarting vms[0..nvms) (the VMs of the failed hosts, which are
 * disconnected in s) on the other hosts of s, writing restarts[0..nvms)
 * and skipped[0..nvms): every VM ends in exactly one of the two. s is
 * read only. Returns 0 with the plan, or -1 with out->reason on bad
 * arguments (a NULL, more than HA_PLAN_MAX_VMS VMs or
 * HA_PLAN_MAX_DEPENDENCIES links, an index out of range, a VM whose host
 * is not disconnected, a request placement rejects) or no memory; after
 * -1 the arrays hold no plan. */
int ha_plan_restarts(const struct placement_snapshot *s, const struct ha_vm *vms, int nvms,
                     struct ha_restart *restarts, struct ha_skip *skipped, struct ha_plan *out);

/* "disabled", "low", "medium", "high"; "unknown" otherwise. */
const char *ha_priority_name(enum ha_priority p);
/* "disabled", "no_host", "cycle"; "unknown" otherwise. */
const char *ha_skip_name(enum ha_skip_why w);

#endif
