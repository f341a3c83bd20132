/* snap_hw.h - the record of the hardware each RAM snapshot of a VM was
 * taken with, kept beside the VM (see snap_hw.c; what follows: snap_fit.h). */
#ifndef VDC_SNAP_HW_H
#define VDC_SNAP_HW_H

#include <jansson.h>

struct vm;

/* Records the VM's current vCPUs and memory for its new RAM snapshot. */
void snap_hw_record(struct vm *vm, const char *snap);
/* Forgets a deleted snapshot's record. */
void snap_hw_forget(struct vm *vm, const char *snap);
/* Adds "vcpus" and "memory_mib" to the RAM snapshots of a snapshot list
 * (disk_snapshot_list's) that have a record. */
void snap_hw_annotate(const struct vm *vm, json_t *list);

#endif
