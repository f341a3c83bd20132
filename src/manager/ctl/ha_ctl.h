/* ha_ctl.h - the HA controller (issue 14) over struct ctl_env: every tick
 * it judges each host of each HA cluster from its last alive report and
 * what its peers saw of its datastore lease (decide/ha_detect.c), says
 * each change of verdict (a decision and a host.ha_<state> event, and
 * writes it), plans a failed host's protected VMs' restarts
 * (decide/ha_plan.c, which the env runs over its placement view) and starts them in
 * waves, trying again those no host fits, saying each refusal once a
 * verdict; and removes the copies a returning host kept of VMs it
 * restarted elsewhere. The simulator (src/sim) runs it in virtual time.
 * Named ha_ctl so it does not clash with vdcd's ops/ha.h. */
#ifndef VDC_CTL_HA_CTL_H
#define VDC_CTL_HA_CTL_H

#include "env.h"

#include <stdbool.h>
#include <stdint.h>

/* How often hosts are judged; and how often a failed host's VMs that no
 * host fits, or a later wave, are looked at again (vdcd's figures). */
#define CTL_HA_TICK_MS 500
#define CTL_HA_RETRY_MS 5000
#define CTL_HA_WAVE_POLL_MS 500
/* An isolated host's VMs are looked at this often for those its isolation
 * response stopped. */
#define CTL_HA_ISOLATED_POLL_MS 1000

struct ctl_ha_said {
	char *vm_id;
	char *why;
};

/* What the controller remembers of a host between ticks. */
struct ctl_ha_state {
	char *id;
	enum ha_host_state state;
	int64_t since_ms;
	char reason[HA_REASON_MAX];
	int64_t last_word_ms;    /* the report seq_at_word belongs to */
	int64_t seq_at_word;     /* -1: not known yet: the first one its peers show instead */
	int64_t next_restart_ms; /* failed or isolated: when to (re)try its VMs; 0: done */
	struct ctl_ha_said *said; /* refusals said since its verdict */
	int nsaid, said_cap;
};

struct ctl_ha {
	const struct ctl_env *env;
	struct ctl_ha_state **slots; /* open addressing by host id */
	size_t cap, used;
	bool running;
};

/* One pass over every HA cluster's hosts. */
void ctl_ha_tick(struct ctl_ha *ha);
/* Ticks every CTL_HA_TICK_MS of env time while the env runs timers. */
void ctl_ha_start(struct ctl_ha *ha, const struct ctl_env *env);
void ctl_ha_free(struct ctl_ha *ha);
/* What the controller thinks of host id now, or NULL. */
const struct ctl_ha_state *ctl_ha_host(const struct ctl_ha *ha, const char *id);

#endif
