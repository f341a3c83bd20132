/* heartbeat_vms.h - a heartbeat's word on each of its host's VMs, taken in
 * one pass over the VMs placed on the host: readiness (ha_ready.c) and the
 * guest agent's report (guest_info.c). */
#ifndef VDC_OPS_HEARTBEAT_VMS_H
#define VDC_OPS_HEARTBEAT_VMS_H

#include <jansson.h>

struct mgr;

/* vms: the heartbeat's VM list as the host sent it (NULL or not an array:
 * nothing to take). Each VM of host_id it names (by agent name) is handed
 * to each taker in turn, each one the document the one before stored. */
void heartbeat_vms_take(struct mgr *m, const char *host_id, const json_t *vms);

#endif
