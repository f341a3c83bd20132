/* keeper_plan.c - see keeper_plan.h. */
#include "keeper_plan.h"

#include <stdio.h>

const char *keeper_action_name(enum keeper_action a)
{
	static const char *const names[] = {"wait", "take_over", "hand_back", "exit"};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

void keeper_plan(const struct keeper_view *v, struct keeper_plan *out)
{
	*out = (struct keeper_plan){.action = KEEPER_WAIT};
	if (!v->heard) {
		if (v->agent_silent_ms >= KEEPER_FIRST_WORD_MS) {
			out->action = KEEPER_EXIT;
			snprintf(out->reason, sizeof(out->reason), "no agent spoke to it in %d s", KEEPER_FIRST_WORD_MS / 1000);
		}
		return;
	}
	if (!v->enabled) {
		out->action = KEEPER_EXIT;
		snprintf(out->reason, sizeof(out->reason), "HA is off for this host's cluster: no lease to keep");
		return;
	}
	bool agent_up = v->connected && v->agent_silent_ms < KEEPER_AGENT_SILENT_MS;
	if (agent_up) {
		if (v->writing) {
			out->action = KEEPER_HAND_BACK;
			snprintf(out->reason, sizeof(out->reason), "the agent is back: it renews the leases again");
		}
		return;
	}
	if (v->protected_running <= 0) {
		out->action = KEEPER_EXIT;
		snprintf(out->reason, sizeof(out->reason),
		         "the agent is down and no protected VM runs here: nothing to guard, so the lease runs out "
		         "and HA may start them elsewhere");
		return;
	}
	if (!v->writing) {
		out->action = KEEPER_TAKE_OVER;
		snprintf(out->reason, sizeof(out->reason),
		         "the agent is %s with %d protected VM%s running: the leases are kept as agent-down, so that no "
		         "host starts them a second time",
		         v->connected ? "silent" : "gone", v->protected_running, v->protected_running == 1 ? "" : "s");
		return;
	}
	for (int i = 0; i < v->nds && i < KEEPER_MAX_DATASTORES; i++)
		if (v->renewed_ago_ms[i] >= v->fence_ms)
			out->fence_mask |= 1u << i;
	if (out->fence_mask)
		snprintf(out->reason, sizeof(out->reason),
		         "a datastore lease not renewed for %d ms or more: its protected VMs are fenced before it runs out",
		         v->fence_ms);
}
