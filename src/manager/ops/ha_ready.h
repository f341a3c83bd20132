/* ha_ready.h - VMs' readiness (issue 14): what each host probes (named in
 * the reply to its heartbeat) and what it saw (its heartbeats' "ready"),
 * kept on the VM as "readiness" with an event at each change. HA's waves
 * and VM monitoring read it there (ops/ha.c). */
#ifndef VDC_OPS_HA_READY_H
#define VDC_OPS_HA_READY_H

#include <jansson.h>

struct mgr;

/* {"AGENT_NAME": probe} for the VMs placed on host_id that have one (an
 * empty object when none: the host drops the probes it had). */
json_t *ha_ready_probes(struct mgr *m, const char *host_id);

/* Takes a heartbeat's VM list (vms, as the host sent it): each VM of
 * host_id whose readiness changed is written ("readiness": {"ready": true,
 * false or null, "since", "reason", "ip", "lost", "at"}) with an event
 * vm.ready (succeeded: it answers; failed: it stopped answering). A
 * document that changed meanwhile is left for the next beat. */
void ha_ready_take(struct mgr *m, const char *host_id, const json_t *vms);

#endif
