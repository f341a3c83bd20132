/* ha.h - vdcd's HA controller (issue 14). Agents say every second that
 * they are alive (POST /api/v1/hosts/{id}/alive) and what they see of
 * their peers' datastore leases; every half second the controller judges
 * each host of an HA cluster (decide/ha_detect.c: connected, isolated,
 * fencing, failed), records the verdict on the host with its reason, and
 * restarts the protected VMs of a failed host elsewhere (vm.ha_restart
 * tasks), highest priority first. A host that comes back and still has a
 * VM HA moved away has that copy removed (its disks stay: they are the
 * VM's, on the shared datastore).
 *
 * The judging, the verdicts and the planned restarts of a failed host's
 * VMs and of those an isolated host's response stopped (waves, retries,
 * refusals) are the controller in ctl/ha_ctl.c, which the simulator runs
 * too; this file is its env in vdcd (the store, the lease records, the
 * index's restart plan, vm.ha_restart tasks) and what only vdcd does: the
 * alive route, fencing through a BMC, VM monitoring, stale copies (when
 * the agent lists them).
 *
 * What agents said lives in memory only: after a restart vdcd counts
 * silence from its own start, so no host is judged on stale news. */
#ifndef VDC_OPS_HA_H
#define VDC_OPS_HA_H

#include <jansson.h>

#include "errinfo.h"

struct mgr;

/* Starts the controller's timer on m's loop. 0 or -1 (out of memory). */
int ha_init(struct mgr *m);
void ha_free(struct mgr *m);

/* A VM's HA settings on host_id changed: its next alive answer names them. */
void ha_vm_settings_changed(struct mgr *m, const char *host_id);

/* An agent's word (the alive route's body, validated here): host is its
 * document as the route read it. Returns the reply (new reference): which
 * of its VMs are protected and the cluster's times; NULL with e (400 on a
 * bad body). */
json_t *ha_word(struct mgr *m, const json_t *host, const json_t *body, struct errinfo *e);

/* The HA verdict on host_id for its document and the API: {"state",
 * "since", "reason", "silent_ms"} or NULL when the controller has none. */
json_t *ha_host_status(struct mgr *m, const char *host_id);

/* A VM's effective restart priority: its own, else its cluster's
 * default_priority, else "medium". */
const char *ha_vm_priority(const json_t *vm, const json_t *cluster);

#endif
