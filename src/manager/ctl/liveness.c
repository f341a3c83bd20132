/* liveness.c - the host liveness controller: every few seconds, a host
 * that stopped beating is marked disconnected (decide/liveness.c says when). */
#include "controllers.h"
#include "liveness.h"

#include <stdio.h>

static int check_host(void *arg, const struct ctl_host *h)
{
	const struct ctl_env *env = arg;
	struct liveness_decision d;
	liveness_check(env->now(env->ctx), h->last_heartbeat, env->heartbeat_timeout_s, &d);
	if (!d.disconnect)
		return 0;
	/* A heartbeat that came in since the host was read wins. */
	if (env->host_disconnect(env->ctx, h) < 0)
		return 0;
	env->decision(env->ctx, CTL_INFO, "liveness", h->name, "disconnect", d.reason);
	env->event(env->ctx, "vdcd", "host.disconnect", "host", h->id, "succeeded", d.reason);
	return 0;
}

void ctl_liveness_check(const struct ctl_env *env)
{
	env->each_connected_host(env->ctx, check_host, (void *)env);
}

static void tick(void *arg)
{
	struct ctl_liveness *l = arg;
	ctl_liveness_check(l->env);
	l->env->timer(l->env->ctx, l->interval_ms, tick, l);
}

void ctl_liveness_start(struct ctl_liveness *l, const struct ctl_env *env, int interval_ms)
{
	l->env = env;
	l->interval_ms = interval_ms;
	env->timer(env->ctx, interval_ms, tick, l);
}
