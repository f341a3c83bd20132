/* ha_incident.h - HA incidents out of what vdcd recorded (issue 14): a
 * host's incident opens at its first verdict other than connected (silent,
 * unknown, isolated, fencing, failed) and closes when it is connected
 * again; it gathers its verdicts, its fence (its lease ran out past the
 * margin, or its BMC powered it off), and each VM restart that left it
 * (placed, started or failed) or was refused. A restart of a VM on its own
 * connected host (VM monitoring: its QEMU crashed, its watchdog fired or
 * its readiness probe stopped answering) is an incident of that VM. A
 * restarted VM with a readiness probe is "ready" when it first answers
 * after that restart. vSphere's "HA issues" and Proxmox's HA log
 * tell the same story in free text; here it is a timeline with its
 * phases, so that "how long until everything ran again" is read, not
 * worked out. Pure: items in, incidents out. */
#ifndef VDC_HA_INCIDENT_H
#define VDC_HA_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>

enum ha_inc_kind {
	HA_INC_VERDICT,   /* a host's HA verdict (event host.ha_STATE) */
	HA_INC_BMC_FENCE, /* a power-off through its BMC (host.ha_bmc_fence) */
	HA_INC_RESTART,   /* a vm.ha_restart task */
	HA_INC_REFUSED,   /* a VM's restart refused (vm.ha_restart, refused) */
	HA_INC_MONITOR,   /* VM monitoring gave up on a VM (vm.ha_monitor) */
	HA_INC_READY,     /* a VM's readiness probe answered (vm.ready, succeeded) */
};

/* One thing recorded. Strings are borrowed; the builder keeps indices. */
struct ha_inc_item {
	enum ha_inc_kind kind;
	int64_t at_ms;        /* when (a restart: when it was queued) */
	int64_t end_ms;       /* a restart: when its task ended; 0: not yet */
	int64_t seq;          /* the order of things at one time (event ids) */
	const char *host_id;  /* the host it concerns (a restart: the one it left) */
	const char *to_host_id; /* a restart: where to */
	const char *vm_id;    /* restarts, refusals, monitoring */
	const char *state;    /* VERDICT: the verdict; RESTART: the task's state;
	                       * BMC_FENCE: the event's outcome */
};

enum ha_inc_phase {
	HA_PH_DETECTED,  /* a verdict: the host went silent, unknown, isolated... */
	HA_PH_FENCED,    /* its lease ran out past the margin, or its BMC said off */
	HA_PH_PLACED,    /* a restart queued, on its new host */
	HA_PH_STARTED,   /* the restart's task succeeded: it runs again */
	HA_PH_FAILED,    /* the restart's task failed or was cancelled */
	HA_PH_REFUSED,   /* not restarted (no room, rules, its budget) */
	HA_PH_RECOVERED, /* the host answers again */
	HA_PH_READY,     /* a restarted VM's readiness probe answered (the first time after that restart) */
};

struct ha_inc_step {
	int item;             /* index into the items */
	enum ha_inc_phase phase;
	int64_t at_ms;        /* a started or failed restart: its task's end */
};

struct ha_incident {
	bool of_vm;           /* VM monitoring's (vm_id), else a host's */
	const char *host_id;
	const char *vm_id;
	int opened_by;        /* the item that opened it */
	int64_t opened_ms;
	int64_t closed_ms;    /* 0: open */
	int64_t fenced_ms;    /* 0: not fenced */
	int64_t last_started_ms; /* the last restart's start; 0: none */
	int64_t last_ready_ms;   /* the last restarted VM's first answer; 0: none */
	int placed, started, failed, refused, ready;
	struct ha_inc_step *steps;
	int nsteps;
};

/* Builds the incidents of items (any order), oldest first, into *out
 * (free with ha_incidents_free). The number of incidents, or -1 when
 * memory ran out. A restart or refusal no incident of its host covers
 * (an item older than the events read) is left out, unless it is VM
 * monitoring's (from and to the same host). */
int ha_incidents_build(const struct ha_inc_item *items, int n, struct ha_incident **out);
void ha_incidents_free(struct ha_incident *inc, int n);

/* "detected", "fenced", "placed", "started", "failed", "refused", "recovered", "ready". */
const char *ha_inc_phase_name(enum ha_inc_phase p);

#endif
