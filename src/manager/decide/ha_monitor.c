/* ha_monitor.c - see ha_monitor.h. */
#include "ha_monitor.h"

#include <stdio.h>

static void window_text(int64_t s, char *out, size_t n)
{
	if (s % 3600 == 0)
		snprintf(out, n, "%lld h", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(out, n, "%lld min", (long long)(s / 60));
	else
		snprintf(out, n, "%lld s", (long long)s);
}

void ha_monitor_decide(int64_t now, const int64_t *times, int n, int max_restarts, int64_t window_s,
                       struct ha_monitor_decision *d)
{
	int in = 0;
	for (int i = 0; i < n; i++)
		in += times[i] > now - window_s && times[i] <= now;
	char w[32];
	window_text(window_s, w, sizeof(w));
	d->in_window = in;
	d->restart = in < max_restarts;
	if (d->restart)
		snprintf(d->reason, sizeof(d->reason), "restart %d of at most %d in %s", in + 1, max_restarts, w);
	else
		snprintf(d->reason, sizeof(d->reason),
		         "left stopped: restarted %d times in the last %s (the limit is %d); start it once its cause is "
		         "found",
		         in, w, max_restarts);
}

enum ha_ready_wait ha_ready_wait(const char *dep, bool restarting, bool has_probe, int ready, int64_t restarted_ms,
                                 int64_t now_ms, int64_t timeout_ms, char *reason, size_t n)
{
	if (restarting) {
		snprintf(reason, n, "%s is being restarted", dep);
		return HA_READY_WAIT;
	}
	if (!has_probe) {
		snprintf(reason, n, "%s runs (it has no readiness probe)", dep);
		return HA_READY_GO;
	}
	if (ready == 1) {
		snprintf(reason, n, "%s is ready (its probe answers)", dep);
		return HA_READY_GO;
	}
	if (!restarted_ms) {
		snprintf(reason, n, "%s was not restarted by HA: it is as it was", dep);
		return HA_READY_GO;
	}
	int64_t waited = now_ms - restarted_ms;
	if (waited < timeout_ms) {
		snprintf(reason, n, "%s runs; waiting for its readiness probe to answer (%.1f s of at most %lld s)", dep,
		         (double)(waited < 0 ? 0 : waited) / 1000.0, (long long)(timeout_ms / 1000));
		return HA_READY_WAIT;
	}
	snprintf(reason, n, "%s's readiness probe did not answer within %lld s of its restart: going on without it", dep,
	         (long long)(timeout_ms / 1000));
	return HA_READY_TIMED_OUT;
}
