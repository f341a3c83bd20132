/* guest_info.h - what each VM's guest agent (qemu-ga) says, as its host
 * reports it in heartbeats ("guest" of each VM), kept on the VM as
 * "guest": {"agent", "hostname", "os", "interfaces", "updated_at"}, with
 * an event vm.guest_agent when the agent starts or stops answering. */
#ifndef VDC_OPS_GUEST_INFO_H
#define VDC_OPS_GUEST_INFO_H

#include <jansson.h>

struct mgr;

/* The guest part of one VM's report, checked and cut to size (the guest
 * wrote it): a new object, or NULL when seen is not an object. */
json_t *guest_info_clean(const json_t *seen);

/* Takes one VM's entry of a heartbeat: when its guest report changed it is
 * written and *vm becomes the stored document. A document changed
 * meanwhile waits for the next beat (ops/heartbeat_vms.c walks a beat's
 * VMs). */
void guest_info_take_vm(struct mgr *m, json_t **vm, const json_t *report);

#endif
