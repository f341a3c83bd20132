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

/* Takes one VM's entry of a heartbeat (report, as the host sent it): when
 * its readiness changed it is written ("readiness": {"ready": true, false
 * or null, "since", "reason", "ip", "lost", "at"}) with an event vm.ready
 * (succeeded: it answers; failed: it stopped answering), and *vm becomes
 * the stored document. A document that changed meanwhile is left for the
 * next beat (ops/heartbeat_vms.c walks a beat's VMs). */
void ha_ready_take_vm(struct mgr *m, json_t **vm, const json_t *report);

#endif
