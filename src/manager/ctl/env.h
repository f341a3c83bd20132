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
};

#endif
