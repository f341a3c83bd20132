/* snap_fit.h - whether a RAM snapshot fits a VM's hardware (pure; the
 * records are kept by snap_hw.c). Snapshots are entries of the agent's
 * snapshot list: {"name", "vm_state_bytes", and, when recorded, "vcpus"
 * and "memory_mib"}. */
#ifndef VDC_SNAP_FIT_H
#define VDC_SNAP_FIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "errinfo.h"

/* Whether a record ({"vcpus","memory_mib"}; NULL: none) differs. */
bool snap_fit_differs(const json_t *rec, int vcpus, uint64_t memory_mib);
/* 0 when a VM of vcpus/memory_mib can load snap's RAM (or nothing is
 * known against it); -1 with 409 snapshot_incompatible saying why and
 * what to do. */
int snap_fit_check_revert(const json_t *snap, int vcpus, uint64_t memory_mib, struct errinfo *e);
/* The warnings a resize to vcpus/memory_mib earns: one per RAM snapshot it
 * makes (or may make) unloadable. A new array, maybe empty; list may be
 * NULL. */
json_t *snap_fit_resize_warnings(const json_t *list, int vcpus, uint64_t memory_mib);

#endif
