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
