/* snap_hw.h - the hardware each RAM snapshot of a VM was taken with, and
 * what follows from it for reverts and resizes (see snap_hw.c). */
#ifndef VDC_SNAP_HW_H
#define VDC_SNAP_HW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "errinfo.h"

struct vm;

/* Records the VM's current vCPUs and memory for its new RAM snapshot. */
void snap_hw_record(struct vm *vm, const char *snap);
/* Forgets a deleted snapshot's record. */
void snap_hw_forget(struct vm *vm, const char *snap);
/* Adds "vcpus" and "memory_mib" to the RAM snapshots of a snapshot list
 * (disk_snapshot_list's) that have a record. */
void snap_hw_annotate(const struct vm *vm, json_t *list);

/* Pure, on annotated list entries. */
/* Whether a record ({"vcpus","memory_mib"}; NULL: none) differs. */
bool snap_hw_differs(const json_t *rec, int vcpus, uint64_t memory_mib);
/* 0 when the VM can load snap's RAM as it is now; -1 with 409
 * snapshot_incompatible saying why and what to do. */
int snap_hw_check_revert(const struct vm *vm, const json_t *snap, struct errinfo *e);
/* The warnings a resize to vcpus/memory_mib earns: one per RAM snapshot it
 * makes (or may make) unloadable. A new array, maybe empty. */
json_t *snap_hw_resize_warnings(const json_t *list, int vcpus, uint64_t memory_mib);

#endif
