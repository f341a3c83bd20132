/* env.h - the one seam between vdcd's controllers and the world. A
 * controller reaches the clock, the inventory, the log, the audit events and
 * its timers only through a struct ctl_env, so the same code runs in vdcd
 * (env_vdcd.c: the store, the wall clock, mgr_event, the event loop) and in
 * the simulator (src/sim: virtual time, simulated hosts and agents in
 * memory), as pve-ha-manager's controllers run over PVE::HA::Env with a real
 * and a simulated implementation. The decisions themselves are pure
 * functions in decide/ (liveness.h, reconcile.h). */
#ifndef VDC_CTL_ENV_H
#define VDC_CTL_ENV_H

#include "ha_detect.h"
#include "ha_plan.h"
#include "placement.h"
#include "reconcile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A host as controllers see it; valid for the call it is passed to. */
struct ctl_host {
	const char *id;
	const char *name;
	const char *state;        /* "connected", "disconnected" or "maintenance" */
	bool maintenance;
	int64_t last_heartbeat;   /* env time (s) of its last heartbeat */
	const struct foreign_vm *foreign; /* the foreign VMs recorded on it */
	size_t nforeign;
	void *ref;                /* the env's own handle (vdcd: its document) */
};

/* A VM document as controllers see it. */
struct ctl_vm {
	const char *id;
	struct reconcile_vm view; /* name (the agent's), power, desired, state_seq */
	void *ref;
};

/* One heartbeat, as the route handler parsed it. */
struct ctl_beat {
	int64_t beat_seq;                     /* the agent's counter when it built the list; 0: none */
	bool has_vms;                         /* it carried a VM list */
	const struct reconcile_report *vms; /* names never NULL */
	size_t nvms;
	const void *facts;                    /* the rest (capacity, datastores...), for the env */
};

/* What a heartbeat changes on its host. */
struct ctl_host_write {
	const char *state;
	int64_t heartbeat_at;
	const void *facts;
	bool has_foreign;                     /* the beat listed VMs: replace the foreign list */
	const struct foreign_vm *foreign;
	size_t nforeign;
	size_t foreign_confirmed;             /* of those, listed in two beats or more */
};

enum ctl_level { CTL_DEBUG, CTL_INFO, CTL_WARN };

/* ---- what the HA controller (ctl/ha.c) sees ---- */

/* A cluster with HA on, and its times. */
struct ctl_ha_cluster {
	const char *id;
	struct ha_times t;
	void *ref;
};

/* A host of such a cluster as HA sees it; valid for the call. */
struct ctl_ha_host {
	const char *id;
	const char *name;
	int64_t last_word_ms;  /* env time (ms) of its last alive report (or of when the env first knew it) */
	int64_t seq_at_word;   /* its own lease's sequence number in that report; -1: not known */
	bool powered_off;      /* its BMC says it is off */
	/* HA's verdict, set by the controller when it asks for the host's VMs
	 * to restart (each_ha_vm, ha_plan): failed, all it confirmed
	 * protecting; isolated, those its isolation response stopped. */
	enum ha_host_state judged;
	void *ref;
};

/* What one peer saw of a host's lease, in its last alive report. A peer
 * gives one row a datastore they share. */
struct ctl_ha_lease_seen {
	const char *peer;      /* rows of one peer come together */
	int64_t peer_word_ms;  /* env time (ms) of that report */
	int64_t unchanged_ms;  /* the lease had not changed for this long then */
	int64_t seq;           /* its sequence number then */
	bool agent_down;       /* the record said its agent is down (its lease keeper wrote it) */
};

/* A VM placed on a host, as HA's restart plan needs it. */
struct ctl_ha_vm {
	const char *id;
	const char *name;
	enum ha_priority priority;
	int vcpus;
	int64_t memory_mib;
	const char *const *after;    /* names of the VMs it starts after */
	int nafter;
	const char *not_eligible;    /* NULL: HA may restart it; "": not now, silently; else why not (said once) */
	void *ref;
};


struct ctl_env {
	void *ctx;
	int heartbeat_timeout_s;  /* a host silent longer is disconnected */
	/* The time in seconds: epoch (vdcd) or virtual (simulator). */
	int64_t (*now)(void *ctx);
	/* Calls fn on each connected host (stops when fn returns < 0). */
	int (*each_connected_host)(void *ctx, int (*fn)(void *arg, const struct ctl_host *h), void *arg);
	/* Calls fn on each VM document placed on host h. */
	int (*each_vm_on_host)(void *ctx, const struct ctl_host *h,
	                       int (*fn)(void *arg, const struct ctl_vm *vm), void *arg);
	/* Marks h disconnected unless it changed since it was read (a
	 * heartbeat came in between). 0, or -1 when not written. */
	int (*host_disconnect)(void *ctx, const struct ctl_host *h);
	/* Writes a heartbeat's changes to h. 0, or -1 (the env keeps why). */
	int (*host_beat)(void *ctx, const struct ctl_host *h, const struct ctl_host_write *w);
	/* Records the state a heartbeat showed for vm (d->action is OBSERVE).
	 * 0, or -1 when not written (the document changed meanwhile). */
	int (*vm_observe)(void *ctx, const struct ctl_vm *vm, const struct reconcile_decision *d);
	/* A decision and why: vdcd logs it, the simulator's decision log keeps it. */
	void (*decision)(void *ctx, enum ctl_level level, const char *controller, const char *subject,
	                 const char *verdict, const char *reason);
	/* An audit event, as users read them in GET /api/v1/events. */
	void (*event)(void *ctx, const char *actor, const char *action, const char *kind,
	              const char *id, const char *outcome, const char *detail);
	/* Runs fn(arg) once, after_ms milliseconds of env time from now. */
	void (*timer)(void *ctx, int64_t after_ms, void (*fn)(void *arg), void *arg);

	/* ---- HA (ctl/ha.c); NULL in an env without HA ---- */
	/* The time in milliseconds (HA's times are finer than a second). */
	int64_t (*now_ms)(void *ctx);
	/* Calls fn on each cluster with HA on. */
	int (*each_ha_cluster)(void *ctx, int (*fn)(void *arg, const struct ctl_ha_cluster *c), void *arg);
	/* Calls fn on each host of cluster c. */
	int (*each_ha_host)(void *ctx, const struct ctl_ha_cluster *c,
	                    int (*fn)(void *arg, const struct ctl_ha_host *h), void *arg);
	/* Calls fn on what the other hosts of c last reported of h's lease. */
	int (*each_lease_seen)(void *ctx, const struct ctl_ha_cluster *c, const struct ctl_ha_host *h,
	                       int (*fn)(void *arg, const struct ctl_ha_lease_seen *l), void *arg);
	/* Calls fn on each VM placed on h. Their refs stay valid until the next call. */
	int (*each_ha_vm)(void *ctx, const struct ctl_ha_host *h, int (*fn)(void *arg, const struct ctl_ha_vm *vm),
	                  void *arg);
	/* Whether the VM named name (in vm's project) is being restarted by HA and not running yet. */
	bool (*ha_vm_restarting)(void *ctx, const struct ctl_ha_vm *vm, const char *name);
	/* Plans restarting vms[0..n) of failed host h with decide/ha_plan over
	 * the env's placement view (vm i starts after vms after[i][0..nafter[i])):
	 * restarts' hosts are the env's numbers, for ha_host_name and
	 * ha_restart, valid until the next plan. 0, or -1 with out->reason. */
	int (*ha_plan)(void *ctx, const struct ctl_ha_host *h, const struct ctl_ha_vm *vms, const int *const *after,
	               const int *nafter, int n, struct ha_restart *restarts, struct ha_skip *skipped,
	               struct ha_plan *out);
	const char *(*ha_host_name)(void *ctx, int to);
	/* Restarts vm on host to of the last plan (it moves there at once:
	 * placement counts it). 0, or -1 (the env says why). */
	int (*ha_restart)(void *ctx, const struct ctl_ha_vm *vm, int to, const char *reason);
	/* Writes h's verdict (failed: h is disconnected too). */
	void (*ha_verdict)(void *ctx, const struct ctl_ha_host *h, enum ha_host_state s, const char *reason);
	/* Calls fn on each VM h still has a copy of that HA restarted elsewhere
	 * (it returned); remove_stale_copy removes one (disks stay). NULL: the
	 * env removes them itself (vdcd: when the agent lists them). */
	int (*each_stale_copy)(void *ctx, const struct ctl_ha_host *h, int (*fn)(void *arg, const char *vm_id), void *arg);
	int (*remove_stale_copy)(void *ctx, const struct ctl_ha_host *h, const char *vm_id);
};

#endif
