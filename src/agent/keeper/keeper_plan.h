/* keeper_plan.h - what the HA lease keeper does next (issue 14). Pure.
 *
 * The keeper (vdc-ha-keeper, keeper_main.c) is a small process of its own
 * beside the agent, like Proxmox's watchdog-mux beside pve-ha-lrm. While the
 * agent runs, the agent renews this host's datastore leases and fences
 * itself (daemon/ha_guard.c) and the keeper only listens: every quarter
 * second the agent tells it the lease settings and which protected VMs run
 * here, with their QEMU pids. When the agent dies (its connection closes)
 * or hangs (silent for AGENT_SILENT_MS), the keeper takes the leases over
 * and writes them as "agent-down": vdcd then reads the host as alive
 * (isolated), not failed, and restarts none of its VMs elsewhere while
 * their QEMUs run on here. Without it an agent down past the lease time
 * was taken for a dead host, and its running VMs were started a second
 * time elsewhere.
 *
 * It fences as the agent would: a protected VM whose datastore lease it
 * could not renew for fence_ms is killed before the lease runs out. Once
 * no protected VM runs here it exits and lets the lease run out: the host
 * is then judged failed, and what it guarded (nothing that still runs)
 * starts elsewhere. A returning agent takes the leases back. */
#ifndef VDC_KEEPER_PLAN_H
#define VDC_KEEPER_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#define KEEPER_MAX_DATASTORES 16
/* The agent speaks every 250 ms; silent this long, it is taken for dead. */
#define KEEPER_AGENT_SILENT_MS 3000
/* A keeper no agent ever spoke to (spawned, then its agent died) waits
 * this long, then exits. */
#define KEEPER_FIRST_WORD_MS 10000

/* The largest message (a datagram) the agent sends; a larger one is
 * replaced by KEEPER_BEAT, which says only that the agent lives. */
#define KEEPER_MSG_MAX (4 << 20)
#define KEEPER_BEAT "{\"beat\":true}"

struct keeper_view {
	bool heard;                /* an agent has spoken to it */
	bool enabled;              /* HA on, as the agent last said */
	bool connected;
	int64_t agent_silent_ms;   /* since the agent's last message (or since the keeper started) */
	bool writing;              /* the keeper renews the leases now */
	int nds;
	int64_t renewed_ago_ms[KEEPER_MAX_DATASTORES]; /* the keeper's own renewals; when writing */
	int fence_ms;
	int protected_running;     /* protected VMs whose QEMU still runs here */
};

enum keeper_action {
	KEEPER_WAIT,       /* nothing changes (while writing: renew, fence what fence_mask says) */
	KEEPER_TAKE_OVER,  /* start renewing the leases as "agent-down" */
	KEEPER_HAND_BACK,  /* stop renewing: the agent is back */
	KEEPER_EXIT,       /* stop renewing and end */
};

struct keeper_plan {
	enum keeper_action action;
	unsigned fence_mask;       /* datastores whose protected VMs to kill now (bit i: datastore i) */
	char reason[200];
};

void keeper_plan(const struct keeper_view *v, struct keeper_plan *out);

const char *keeper_action_name(enum keeper_action a);

#endif
