/* ha_detect.c - see ha_detect.h. */
#include "ha_detect.h"

#include <stdio.h>

const char *ha_state_name(enum ha_host_state s)
{
	static const char *const names[] = {"connected", "silent", "unknown", "isolated", "fencing", "failed"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void ha_detect(const struct ha_host_view *v, const struct ha_times *t, struct ha_detection *out)
{
	double silent = (double)v->silent_ms / 1000.0, age = (double)v->lease_age_ms / 1000.0;
	if (v->silent_ms < t->net_timeout_ms) {
		out->state = HA_CONNECTED;
		snprintf(out->reason, sizeof(out->reason), "answered %.1f s ago", silent);
		return;
	}
	if (v->powered_off) {
		/* Off is fenced, whatever its leases say. */
		out->state = HA_FAILED;
		snprintf(out->reason, sizeof(out->reason), "silent for %.1f s and powered off through its BMC", silent);
		return;
	}
	if (v->observers <= 0) {
		out->state = HA_UNKNOWN;
		snprintf(out->reason, sizeof(out->reason),
		         "silent for %.1f s, and no host that answers shares a datastore with it: it may be alive, so "
		         "its VMs stay until it returns or is powered off",
		         silent);
		return;
	}
	/* Isolated only on evidence: its lease renewed twice after its last
	 * word. A crashed host may renew once more (the renewal under way when
	 * it spoke), never twice; counting renewals rather than seconds keeps
	 * a slow observer or a late report from taking a crash for isolation. */
	if (v->lease_age_ms < t->lease_ms && v->renewals < 2) {
		out->state = HA_SILENT;
		snprintf(out->reason, sizeof(out->reason),
		         "silent for %.1f s; its datastore lease renewed %lld time%s since its last word (last %.1f s ago, "
		         "runs out at %.1f s): crashed or cut off, not known yet",
		         silent, (long long)(v->renewals > 0 ? v->renewals : 0), v->renewals == 1 ? "" : "s", age,
		         (double)t->lease_ms / 1000.0);
		return;
	}
	if (v->lease_age_ms < t->lease_ms && v->agent_down) {
		out->state = HA_ISOLATED;
		snprintf(out->reason, sizeof(out->reason),
		         "silent for %.1f s: its agent is down, but its lease keeper renews its datastore lease (last %.1f s "
		         "ago): alive, its VMs run on and are not started elsewhere; start vdc-agent on it",
		         silent, age);
		return;
	}
	if (v->lease_age_ms < t->lease_ms) {
		out->state = HA_ISOLATED;
		snprintf(out->reason, sizeof(out->reason),
		         "silent for %.1f s, but %d host%s saw its datastore lease renewed %lld times since, last %.1f s ago: "
		         "alive, its network cut",
		         silent, v->observers, v->observers == 1 ? "" : "s", (long long)v->renewals, age);
		return;
	}
	if (v->lease_age_ms < t->lease_ms + t->margin_ms) {
		out->state = HA_FENCING;
		snprintf(out->reason, sizeof(out->reason),
		         "silent for %.1f s; its lease is %.1f s old (runs out at %.1f s): waiting %.1f s more of safety margin",
		         silent, age, (double)t->lease_ms / 1000.0, (double)(t->lease_ms + t->margin_ms - v->lease_age_ms) / 1000.0);
		return;
	}
	out->state = HA_FAILED;
	snprintf(out->reason, sizeof(out->reason),
	         "silent for %.1f s and its datastore lease not renewed for %.1f s (lease %.1f s + margin %.1f s): "
	         "it has fenced itself",
	         silent, age, (double)t->lease_ms / 1000.0, (double)t->margin_ms / 1000.0);
}
