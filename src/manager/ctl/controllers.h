/* controllers.h - vdcd's controllers: host liveness and VM reconcile from
 * heartbeats. They act only through a struct ctl_env (env.h) and take their
 * decisions from decide/ (liveness.h, reconcile.h). */
#ifndef VDC_CTL_CONTROLLERS_H
#define VDC_CTL_CONTROLLERS_H

#include "env.h"

/* One pass of the liveness check: marks each connected host silent for
 * longer than env->heartbeat_timeout_s disconnected, with an event. */
void ctl_liveness_check(const struct ctl_env *env);

/* Runs the liveness check every interval_ms of env time, for as long as
 * the env runs timers. l must outlive that. */
struct ctl_liveness {
	const struct ctl_env *env;
	int interval_ms;
};
void ctl_liveness_start(struct ctl_liveness *l, const struct ctl_env *env, int interval_ms);

/* A heartbeat from host h: reconciles the documents of its VMs with what
 * the agent listed, tracks the VMs vdcd does not know (foreign), then
 * writes the host (connected or maintenance, the time, the facts) and says
 * what changed in events. Returns 0, or -1 when the host could not be
 * written (the env keeps why). */
int ctl_heartbeat(const struct ctl_env *env, const struct ctl_host *h, const struct ctl_beat *b);

/* Times as the API writes them (RFC 3339, UTC), for env time t. */
void ctl_time_text(int64_t t, char out[32]);

#endif
