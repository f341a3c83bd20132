/* ha_guard.h - the agent's half of HA (issue 14): it keeps this host's
 * leases on its datastores (host/ha_lease.c), tells vdcd every second that
 * it is alive and what it sees of its peers' leases, and fences itself:
 * a protected VM whose datastore lease this host could not renew for
 * fence_ms is killed here, before the lease runs out (lease_ms) and vdcd
 * may start it elsewhere. The deadline runs on the agent's loop and needs
 * neither vdcd nor the datastore, as a watchdog would.
 *
 * Which VMs are protected, and the times, come in vdcd's answers and are
 * kept in STATE/ha.json, so a restarted agent fences even while vdcd is
 * down. */
#ifndef VDC_HA_GUARD_H
#define VDC_HA_GUARD_H

struct agent;

/* Starts the guard's timer (it waits for the join to begin). */
void ha_guard_start(struct agent *a);
void ha_guard_stop(struct agent *a);

#endif
