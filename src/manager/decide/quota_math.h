/* quota_math.h - the arithmetic of project quotas: which amount a request
 * would take over its limit. Pure; ops/quota.c keeps usage in the store. */
#ifndef VDC_DECIDE_QUOTA_MATH_H
#define VDC_DECIDE_QUOTA_MATH_H

#include <stdint.h>

enum { QUOTA_VMS, QUOTA_VCPUS, QUOTA_MEMORY_MIB, QUOTA_DISK_MIB, QUOTA_N };
extern const char *const quota_names[QUOTA_N]; /* "vms", "vcpus", "memory_mib", "disk_mib" */

/* Pure: whether usage + delta goes over a limit (limit < 0: unlimited).
 * Only growing amounts are checked, so shrinking an over-quota project is
 * always allowed. Returns the index of the first quota exceeded, with the
 * usage it would reach in *would_be, or -1 when all fit. */
int quota_exceeds(const int64_t limit[QUOTA_N], const int64_t usage[QUOTA_N],
                  const int64_t delta[QUOTA_N], int64_t *would_be);

#endif
