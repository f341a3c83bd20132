/* ha_lease.h - this host's leases on its datastores, and what it sees of
 * its peers' (issue 14, HA). Each second a thread of its own rewrites
 * DATASTORE/.vdc-ha/HOST_ID.lease (a sequence number, the host's HA state
 * and the protected VMs it runs) and reads every other host's record in
 * the same folder. A datastore two hosts share is one both see the other's
 * record on: nothing has to be told which are shared.
 *
 * Time is judged by the reader, never the writer: a record's age is how
 * long the reader has seen its sequence number unchanged (its own
 * monotonic clock), as sanlock's delta leases and vSphere's datastore
 * heartbeats do, so hosts' clocks need not agree.
 *
 * Why a thread: a write to a datastore that stopped answering (an NFS
 * server gone) blocks. The agent's loop only reads when each datastore's
 * lease was last renewed, so its fencing deadline (ha_guard.c) fires on
 * time even while the write hangs. */
#ifndef VDC_HA_LEASE_H
#define VDC_HA_LEASE_H

#include <jansson.h>
#include <stdint.h>

struct agent_config;
struct ha_lease;

#define HA_LEASE_DIR ".vdc-ha"

/* Starts renewing host_id's leases every interval_ms on each of cfg's
 * datastores (the first write at once). NULL when out of memory or no
 * thread could start (logged). */
struct ha_lease *ha_lease_start(const struct agent_config *cfg, const char *host_id, int interval_ms);
/* Stops the thread and removes nothing: a host that stops renewing is
 * what its peers must see. */
void ha_lease_stop(struct ha_lease *l);

/* What the next renewals write besides the sequence number: state
 * ("alive", "isolated") and the protected VMs running here (a JSON array
 * of VM names, borrowed). */
void ha_lease_set_record(struct ha_lease *l, const char *state, const json_t *vms);

/* Milliseconds since datastore i's lease was last renewed (since the start
 * when it never was). */
int64_t ha_lease_renewed_ago_ms(struct ha_lease *l, int i);

/* What this host sees, for vdcd: {"DATASTORE": {"renewed_ago_ms": N,
 * "peers": {"HOST_ID": {"seq": N, "unchanged_ms": N, "state": "...",
 * "vms": [...]}}}}. New reference. */
json_t *ha_lease_observations(struct ha_lease *l);

#endif
