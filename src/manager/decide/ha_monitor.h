/* ha_monitor.h - VM monitoring (issue 14, like vSphere's): a protected VM
 * whose QEMU crashed (or whose readiness probe stopped answering) on a
 * host that is fine is restarted there, at most max_restarts times in
 * window_s, then left alone, saying so. And restart order's wait for
 * readiness ("start B after A is ready"). Pure: the
 * times of its earlier restarts and the time now in, the decision and its
 * reason out. */
#ifndef VDC_HA_MONITOR_H
#define VDC_HA_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
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

/* Readiness (a VM's probe: a TCP port of its guest that answers, as its
 * host sees it). Whether a VM that starts after dep ("start B after A is
 * ready") waits for it now: */
enum ha_ready_wait {
	HA_READY_GO,        /* dep is ready, or runs without a probe, or was not restarted by HA */
	HA_READY_WAIT,      /* dep is being restarted, or its probe has not answered since */
	HA_READY_TIMED_OUT, /* its probe did not answer within timeout_ms of its restart: go on */
};
/* restarting: HA restarts dep and it does not run yet; has_probe: dep has
 * a readiness probe; ready: its probe's word since that restart (-1 none
 * yet, 0 no, 1 yes); restarted_ms: when HA last restarted dep (0: never).
 * reason (n bytes) says why, naming dep. */
enum ha_ready_wait ha_ready_wait(const char *dep, bool restarting, bool has_probe, int ready, int64_t restarted_ms,
                                 int64_t now_ms, int64_t timeout_ms, char *reason, size_t n);

#endif
