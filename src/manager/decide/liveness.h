/* liveness.h - whether a host is alive: pure decisions from the host's
 * state, the time of its last heartbeat and the time now (passed in, never
 * read from a clock), each with the reason in a sentence. */
#ifndef VDC_LIVENESS_H
#define VDC_LIVENESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest reason any decision here writes, with its NUL. */
#define LIVENESS_REASON_MAX 160

struct liveness_decision {
	bool disconnect;  /* mark the host disconnected */
	int64_t silent_s; /* seconds since its last heartbeat */
	char reason[LIVENESS_REASON_MAX]; /* why it is disconnected; "" when it is not */
};

/* A connected host whose last heartbeat (epoch s) is more than timeout_s
 * before now is silent: disconnect it. A heartbeat stamped in the future
 * (a clock step) counts as just now. */
void liveness_check(int64_t now, int64_t last_heartbeat, int timeout_s, struct liveness_decision *d);

struct liveness_beat {
	const char *state; /* "connected", or "maintenance" while the host is in it */
	bool reconnect;    /* the host was disconnected: say it is back */
	char reason[LIVENESS_REASON_MAX]; /* why it reconnects; "" when it does not */
};

/* The state a heartbeat leaves a host in, given the state it had (NULL
 * counts as connected) and its maintenance flag. */
void liveness_on_beat(const char *state, bool maintenance, struct liveness_beat *b);

#endif
