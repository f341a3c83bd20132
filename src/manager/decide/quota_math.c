/* quota_math.c - see quota_math.h. */
#include "quota_math.h"

const char *const quota_names[QUOTA_N] = {"vms", "vcpus", "memory_mib", "disk_mib"};

int quota_exceeds(const int64_t limit[QUOTA_N], const int64_t usage[QUOTA_N],
                  const int64_t delta[QUOTA_N], int64_t *would_be)
{
	for (int i = 0; i < QUOTA_N; i++) {
		if (delta[i] <= 0 || limit[i] < 0)
			continue;
		int64_t after = usage[i] + delta[i];
		if (after > limit[i]) {
			*would_be = after;
			return i;
		}
	}
	return -1;
}
