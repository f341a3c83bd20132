/* liveness.c - host liveness decisions (liveness.h). */
#include "liveness.h"

#include <stdio.h>
#include <string.h>

void liveness_check(int64_t now, int64_t last_heartbeat, int timeout_s, struct liveness_decision *d)
{
	int64_t silent = now - last_heartbeat;
	if (silent < 0)
		silent = 0;
	d->silent_s = silent;
	d->disconnect = silent > timeout_s;
	/* Written only when acting: this runs for every host every 2 s. */
	d->reason[0] = '\0';
	if (d->disconnect)
		snprintf(d->reason, sizeof(d->reason), "no heartbeat for %lld s (timeout %d s)",
		         (long long)silent, timeout_s);
}

void liveness_on_beat(const char *state, bool maintenance, struct liveness_beat *b)
{
	b->state = maintenance ? "maintenance" : "connected";
	b->reconnect = state && !strcmp(state, "disconnected");
	b->reason[0] = '\0';
	if (b->reconnect)
		snprintf(b->reason, sizeof(b->reason), "heartbeat from a disconnected host%s",
		         maintenance ? " (in maintenance)" : "");
}
