/* world.h - a simulated datacenter for vdcd's controllers. Virtual time (a
 * timer heap, nothing waits), hosts whose agents heartbeat, stop, restart or
 * lose power, and VMs as vdcd's inventory records them and as the agents see
 * them (the two can disagree: that is what the controllers are for). It
 * implements struct ctl_env (ctl/env.h), so vdcd's real controllers run over
 * it, and keeps a placement snapshot of the hosts up to date as they change,
 * so vdcd's real placement (decide/placement.c) chooses hosts for new VMs.
 * Every decision and event goes to the decision log (sim_world.log). */
#ifndef VDC_SIM_WORLD_H
#define VDC_SIM_WORLD_H

#include "controllers.h"
#include "env.h"
#include "ha_ctl.h"
#include "placement.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_NAME_MAX 40
#define SIM_STATE_MAX 16

enum sim_host_state { SIM_CONNECTED, SIM_DISCONNECTED, SIM_MAINTENANCE };

struct sim_foreign {
	char name[SIM_NAME_MAX];
	char state[SIM_STATE_MAX];
	char first_seen[32];
	int64_t beats;
};

/* A heartbeat the agent built and has not delivered yet (held back to
 * arrive late, as a slow request does). */
struct sim_held {
	int64_t beat_seq;
	int n;
	struct reconcile_report *vms;
	char (*names)[SIM_NAME_MAX];
	char (*states)[SIM_STATE_MAX];
};

struct sim_host {
	char name[SIM_NAME_MAX];
	/* vdcd's document */
	enum sim_host_state state;
	bool maintenance;
	int64_t last_heartbeat;
	struct sim_foreign *foreign;
	struct foreign_vm *foreign_view; /* points into foreign */
	size_t nforeign;
	/* The list a heartbeat replaced: the controller may still read it
	 * (through its ctl_host) until it returns; freed at the next one. */
	struct sim_foreign *retired;
	struct foreign_vm *retired_view;
	/* the machine and its agent */
	bool powered;
	bool agent_up;
	int64_t agent_seq;    /* the agent's state counter */
	int *vms;             /* VM slots on this host (documents or agent's) */
	int nvms, vms_cap;
	struct sim_held held;
	bool has_held;
	int64_t failed_at_ms; /* -1: not failed */
	/* HA (world_ha.c) */
	int rack;
	bool net_up;          /* its management network: heartbeats, alive reports */
	bool storage_up;      /* its path to the shared datastore: its lease */
	int64_t lease_seq;    /* its lease on the shared datastore */
	/* The last renewals, for what peers saw when; agent_down: its lease
	 * keeper wrote it (the agent is down, protected VMs run on). */
	struct sim_renewal { int64_t seq, at_ms; bool agent_down; } renewals[8];
	bool keeper_down;     /* its lease keeper killed or ended (it ends once no protected VM runs) */
	int nrenewals;
	int64_t last_word_ms; /* its last alive report to vdcd */
	int64_t seq_at_word;  /* its lease's seq in it; -1: none yet */
};

struct sim_vm {
	char name[SIM_NAME_MAX];
	bool live;            /* the slot is in use */
	int host;             /* -1: placed nowhere */
	int vcpus;
	int64_t memory_mib;
	/* vdcd's document */
	bool in_inventory;
	char power_state[SIM_STATE_MAX];
	char desired_state[SIM_STATE_MAX];
	int64_t state_seq;
	int in_sync;          /* -1: not set */
	/* the agent's view */
	bool on_agent;
	char agent_state[SIM_STATE_MAX];
	int64_t agent_seq;
	/* HA (world_ha.c) */
	enum ha_priority priority;
	char after[4][SIM_NAME_MAX]; /* the VMs it starts after */
	int nafter;
	int running_on;       /* the host its QEMU runs on; -1: none */
	int stale_on;         /* a host that keeps a copy HA moved away from; -1: none */
	bool restarting;      /* HA moved it; not running yet */
	int failed_from;      /* the host it was on when that host failed; -1: none */
	int restarts;         /* how often HA restarted it */
};

struct sim_stats {
	long placed, refused, refused_by[PLACEMENT_NFILTERS], departed;
	long disconnects, reconnects, vms_affected, failures, detected;
	double detect_s_sum;
	long beats, observed, observed_missing, stale, task_owns, foreign_reports;
};

struct sim_timer;

/* HA in the world: settings, the controller, what it did. */
struct sim_ha {
	bool on;
	struct ha_times t;
	int boot_ms;          /* a restarted VM runs this long after HA starts it */
	struct ctl_ha ctl;
	struct sim_ha_round { struct sim_world *w; int *hosts; int n, cap; } rounds[20];
	long verdicts[HA_FAILED + 1];
	long restarts, fenced, stale_removed, two_copies;
	int64_t first_failure_ms, last_running_ms; /* -1: none */
};

struct sim_name_index {
	int *slots;
	size_t cap, used;
};

struct sim_world {
	struct ctl_env env;
	int64_t now_ms;
	uint64_t timer_seq;
	struct sim_timer *timers;
	size_t ntimers, timers_cap;
	struct sim_host *hosts;
	int nhosts, hosts_cap;
	struct sim_vm *vms;
	int nvms, vms_cap;
	struct sim_name_index host_index, vm_index;
	/* placement's view of the hosts, kept in step with them */
	struct placement_host *phosts;
	struct placement_cluster cluster;
	struct placement_result res;
	int res_cap;
	/* The agents beat in rounds: hosts of the same phase (to 50 ms) share
	 * a timer, so the heap holds a few hundred beat timers, not one a host. */
	struct sim_beat_round {
		int *hosts;
		int n, cap;
	} *rounds;
	int nrounds;
	struct sim_ha ha;
	bool quiet;           /* the log keeps no decisions or events (large fleets: "summary" instead) */
	/* settings */
	int beat_interval_ms;
	int liveness_interval_ms;
	bool started;
	struct ctl_liveness liveness;
	/* output */
	FILE *log;            /* the decision log, or NULL */
	struct sim_stats st;
	uint64_t rng;
	/* scratch for building heartbeats */
	struct reconcile_report *scratch;
	int scratch_cap;
};

/* An empty world at virtual time 0: heartbeat timeout 15 s, beats every
 * 5 s (a third of it, as vdcd asks agents), liveness every 2 s, pack. */
void sim_world_init(struct sim_world *w, FILE *log);
void sim_world_free(struct sim_world *w);
/* Starts the liveness controller and the agents' heartbeats. */
void sim_world_start(struct sim_world *w);

/* Runs the timers due up to time at_ms (inclusive), then sets the clock
 * to at_ms. */
void sim_world_run_until(struct sim_world *w, int64_t at_ms);
/* Schedules fn(arg) at absolute time at_ms (a scenario's command). */
void sim_world_at(struct sim_world *w, int64_t at_ms, void (*fn)(void *arg), void *arg);

int sim_host_add(struct sim_world *w, const char *name, int cpus, int64_t memory_mib);
int sim_host_find(const struct sim_world *w, const char *name);
int sim_vm_find(const struct sim_world *w, const char *name);

/* A VM vdcd made on host (document and agent agree: state). */
int sim_vm_add(struct sim_world *w, const char *name, int host, const char *state, int vcpus,
               int64_t memory_mib);
/* A new VM placed by vdcd's placement; logs the decision. Returns its slot,
 * or -1 when no host fits (counted by reason). */
int sim_vm_create(struct sim_world *w, const char *name, int vcpus, int64_t memory_mib);
/* The VM is deleted (document and agent). */
void sim_vm_delete(struct sim_world *w, int vm);

/* The agent sees a VM change state (QEMU exited: "crashed"). */
void sim_agent_vm_state(struct sim_world *w, int vm, const char *state);
/* A task changed the VM and read it back: agent and document agree. */
void sim_task_vm_state(struct sim_world *w, int vm, const char *state);
/* vdcd's document alone changes (a task starts: "creating", "deleting"). */
void sim_doc_vm_state(struct sim_world *w, int vm, const char *state);
/* A VM the agent runs with no document in vdcd. */
int sim_foreign_add(struct sim_world *w, int host, const char *name, const char *state);
void sim_foreign_remove(struct sim_world *w, int vm);

void sim_agent_down(struct sim_world *w, int host);
/* The agent starts again: a new, larger counter, its VMs re-attached. */
void sim_agent_up(struct sim_world *w, int host);
/* Kills the host's lease keeper (world_ha.c). */
void sim_keeper_down(struct sim_world *w, int host);
/* The host loses power: the agent and every VM process go. */
void sim_power_off(struct sim_world *w, int host);
void sim_power_on(struct sim_world *w, int host);
void sim_maintenance(struct sim_world *w, int host, bool on);
/* A heartbeat now; hold builds one and keeps it, deliver sends it. */
void sim_beat_now(struct sim_world *w, int host);
void sim_hold_beat(struct sim_world *w, int host);
void sim_deliver_beat(struct sim_world *w, int host);

/* Writes vdcd's view of every host and VM to the decision log ("show"). */
void sim_show(struct sim_world *w);

/* ---- HA (world_ha.c) ---- */
/* Sets the HA callbacks of w's env; HA runs once w starts with ha.on. */
void sim_ha_init(struct sim_world *w);
void sim_ha_start(struct sim_world *w);
void sim_ha_free(struct sim_world *w);
/* The host's management network, or both it and its datastore path, go. */
void sim_cut_network(struct sim_world *w, int host);
void sim_cut_both(struct sim_world *w, int host);
/* Power and both paths back. */
void sim_restore(struct sim_world *w, int host);
void sim_rack_power_off(struct sim_world *w, int rack);
/* Writes what HA did to the log ("summary"). */
void sim_ha_summary(struct sim_world *w);

/* For world_ha.c: shared with world.c. */
void sim_host_attach(struct sim_world *w, int host, int vm);
void sim_host_detach(struct sim_world *w, int vm);
void sim_set_host_state(struct sim_world *w, int host, enum sim_host_state s);
void sim_log_time(struct sim_world *w);
void sim_copy(char *dst, size_t n, const char *src);

/* Deterministic pseudo-random numbers (splitmix64). */
uint64_t sim_rand(struct sim_world *w);

#endif
