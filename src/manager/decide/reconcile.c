/* reconcile.c - VM reconcile and foreign VM decisions (reconcile.h). */
#include "reconcile.h"

#include <stdio.h>
#include <string.h>

static bool task_owns(const char *cur)
{
	return !cur || !strcmp(cur, "creating") || !strcmp(cur, "deleting") || !strcmp(cur, "error");
}

/* The fraction of a second after the seconds of an RFC 3339 time, in
 * nanoseconds (none: 0). */
static long time_fraction_ns(const char *t)
{
	long ns = 0;
	int digits = 0;
	if (t[19] == '.')
		for (const char *p = t + 20; *p >= '0' && *p <= '9'; p++)
			if (digits++ < 9)
				ns = ns * 10 + (*p - '0');
	for (; digits < 9; digits++)
		ns *= 10;
	return ns;
}

bool reconcile_time_after(const char *a, const char *b)
{
	/* "YYYY-MM-DDTHH:MM:SS" orders as text; anything shorter is compared
	 * whole (no time is more than its text then). */
	if (strlen(a) < 19 || strlen(b) < 19)
		return strcmp(a, b) > 0;
	int c = strncmp(a, b, 19);
	if (c)
		return c > 0;
	return time_fraction_ns(a) > time_fraction_ns(b);
}

bool reconcile_in_migration(const char *agent_state)
{
	return agent_state && (!strcmp(agent_state, "incoming") || !strcmp(agent_state, "migrated"));
}

void reconcile_decide(const struct reconcile_vm *vm, const struct reconcile_report *seen,
                      int64_t beat_seq, struct reconcile_decision *d)
{
	const char *cur = vm->power_state;
	const char *obs = !seen ? "missing" : seen->state ? seen->state : "unknown";
	int64_t seq = seen ? seen->state_seq : 0;
	*d = (struct reconcile_decision){.action = RECONCILE_KEEP, .in_sync = -1};
	if (task_owns(cur)) {
		d->action = RECONCILE_TASK_OWNS;
		snprintf(d->reason, sizeof(d->reason), "a task owns it (%s); the agent reports %s",
		         cur ? cur : "no state yet", obs);
		return;
	}
	if (vm->migrating || reconcile_in_migration(obs)) {
		d->action = RECONCILE_TASK_OWNS;
		snprintf(d->reason, sizeof(d->reason), "a live migration's task owns it; the agent reports %s",
		         obs);
		return;
	}
	/* An exit newer than the one recorded (a kill and a restart between
	 * two beats leave the state as it was). */
	bool new_exit = seen && seen->last_exit_at && seen->last_exit &&
	                (!vm->last_exit_at || reconcile_time_after(seen->last_exit_at, vm->last_exit_at));
	if (!strcmp(obs, cur) && !new_exit)
		return; /* nothing to say: it runs for every VM on every heartbeat */
	/* Listed before a task read the host's newer state: stale. A VM
	 * absent from a list made before the task saw it (made just after the
	 * beat was built) is not missing either. */
	int64_t have = vm->state_seq;
	if (seq && seq < have) {
		d->action = RECONCILE_STALE;
		snprintf(d->reason, sizeof(d->reason),
		         "stale: the agent's %s has state_seq %lld, older than the recorded %s at %lld", obs,
		         (long long)seq, cur, (long long)have);
		return;
	}
	if (beat_seq && beat_seq < have) {
		d->action = RECONCILE_STALE;
		snprintf(d->reason, sizeof(d->reason),
		         "stale: the heartbeat (%s) was built at state_seq %lld, before the recorded %s at %lld",
		         obs, (long long)beat_seq, cur, (long long)have);
		return;
	}
	d->action = RECONCILE_OBSERVE;
	d->power_state = obs;
	d->state_seq = seq;
	d->last_exit = new_exit ? seen->last_exit : NULL;
	/* Desired state stays what users asked; drift is shown, and acting on
	 * it (restart elsewhere) is HA's job. */
	if (vm->desired_state)
		d->in_sync = !strcmp(obs, vm->desired_state);
	if (!seen)
		snprintf(d->reason, sizeof(d->reason), "the agent does not list it (was %s)%s", cur,
		         d->in_sync == 0 ? "; desired state differs" : "");
	else if (!strcmp(obs, cur))
		snprintf(d->reason, sizeof(d->reason), "the agent reports a newer last exit (at %s); still %s",
		         seen->last_exit_at, obs);
	else
		snprintf(d->reason, sizeof(d->reason), "the agent reports %s (was %s, state_seq %lld)%s", obs,
		         cur, (long long)seq,
		         d->in_sync == 0 ? "; desired state differs" : d->in_sync == 1 ? "; in sync" : "");
}

const char *reconcile_action_name(enum reconcile_action a)
{
	switch (a) {
	case RECONCILE_KEEP: return "keep";
	case RECONCILE_TASK_OWNS: return "task-owns";
	case RECONCILE_STALE: return "ignore-stale";
	case RECONCILE_OBSERVE: return "observe";
	}
	return "unknown";
}

static const struct foreign_vm *named(const struct foreign_vm *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name && !strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

void foreign_track(const struct reconcile_report *unknown, size_t n, const struct foreign_vm *before,
                   size_t nbefore, const char *now, struct foreign_vm *out)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = unknown[i].name ? unknown[i].name : "";
		const struct foreign_vm *was = named(before, nbefore, name);
		int64_t beats = was ? was->beats : 0;
		out[i] = (struct foreign_vm){.name = name, .state = unknown[i].state,
		                             .first_seen = was ? was->first_seen : now,
		                             .beats = beats < 1000000 ? beats + 1 : beats};
	}
}

bool foreign_confirmed(const struct foreign_vm *v)
{
	return v->beats == 2;
}

bool foreign_gone(const struct foreign_vm *was, const struct foreign_vm *now, size_t nnow)
{
	return was->beats >= 2 && !named(now, nnow, was->name ? was->name : "");
}

size_t foreign_count_confirmed(const struct foreign_vm *v, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += v[i].beats >= 2;
	return c;
}
