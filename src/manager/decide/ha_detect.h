/* ha_detect.h - what became of a host that stopped answering (issue 14):
 * connected, isolated (its network is gone, its datastore leases are still
 * renewed: it is alive), failed (both gone past the lease time and a
 * safety margin: it has fenced itself, so its VMs may start elsewhere), or
 * unknown (silent, and nothing else tells: no other host shares a
 * datastore with it), or just silent (its lease is fresh but not seen
 * renewed twice since its last word: a crash and a cut network look alike
 * for the first seconds). Like vSphere's datastore heartbeats, the lease's age
 * is what other hosts saw, by their own clocks. Pure: times in, state and
 * its reason out. */
#ifndef VDC_HA_DETECT_H
#define VDC_HA_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#define HA_REASON_MAX 240

enum ha_host_state {
	HA_CONNECTED,
	HA_SILENT,   /* silent; its lease not seen renewed since: crashed or cut, not known yet */
	HA_UNKNOWN,  /* silent, and no other host sees a lease of it: its VMs stay */
	HA_ISOLATED, /* silent to vdcd, its lease renewed: alive */
	HA_FENCING,  /* its lease ran out: waiting for the safety margin */
	HA_FAILED,   /* its lease ran out past the margin (or its BMC powered it off) */
};

struct ha_times {
	int64_t net_timeout_ms; /* silent this long: its leases are looked at */
	int64_t lease_ms;       /* a lease not renewed this long has run out */
	int64_t margin_ms;      /* and this much more before its VMs start elsewhere */
};

/* One host as vdcd sees it now. */
struct ha_host_view {
	int64_t silent_ms;      /* since its last word to vdcd */
	int observers;          /* hosts answering vdcd that share a datastore with it */
	int64_t lease_age_ms;   /* the freshest age of its lease they saw, counting
	                         * how old their report is; with observers == 0: unused */
	int64_t renewals;       /* how far its lease's sequence number went past the one
	                         * it had at its last word, as they saw it */
	bool powered_off;       /* its BMC says it is off */
	bool agent_down;        /* its newest lease record was written by its lease keeper: the
	                         * agent is down, the host and its VMs run on */
};

struct ha_detection {
	enum ha_host_state state;
	char reason[HA_REASON_MAX];
};

void ha_detect(const struct ha_host_view *v, const struct ha_times *t, struct ha_detection *out);

/* "connected", "silent", "unknown", "isolated", "fencing", "failed". */
const char *ha_state_name(enum ha_host_state s);

#endif
