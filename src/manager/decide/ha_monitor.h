/* ha_monitor.h - VM monitoring (issue 14, like vSphere's): a protected VM
 * whose QEMU crashed on a host that is fine is restarted there, at most
 * max_restarts times in window_s, then left alone, saying so. Pure: the
 * times of its earlier restarts and the time now in, the decision and its
 * reason out. */
#ifndef VDC_HA_MONITOR_H
#define VDC_HA_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#define HA_MONITOR_REASON_MAX 200

struct ha_monitor_decision {
	bool restart;
	int in_window; /* restarts within the window before this one */
	char reason[HA_MONITOR_REASON_MAX];
};

/* times[0..n): earlier restarts (epoch s, any order; those before the
 * window do not count). */
void ha_monitor_decide(int64_t now, const int64_t *times, int n, int max_restarts, int64_t window_s,
                       struct ha_monitor_decision *d);

#endif
