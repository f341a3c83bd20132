/* ha_peers.h - the isolation addresses vdcd names in its answer to a
 * host's alive report: up to HA_MAX_PEERS other hosts' agents of its
 * cluster, which the agent connects to while vdcd is silent to tell a cut
 * network from vdcd being down (daemon/ha_guard.c). Every host reports
 * every second; listing the cluster's hosts for each report made a report
 * cost O(hosts), so the cluster's list is kept for HA_PEERS_TTL_MS (a host
 * that left is known that much later: isolation needs only one peer that
 * answers; one that joined is read at its first report). Each host gets its own slice of the list, so the
 * peers probed spread over the cluster. API thread only. */
#ifndef VDC_OPS_HA_PEERS_H
#define VDC_OPS_HA_PEERS_H

#include <jansson.h>
#include <stdint.h>

struct store;

#define HA_MAX_PEERS 8 /* what the agent keeps (ha_guard.c's MAX_PEERS) */
#define HA_PEERS_TTL_MS 10000

struct ha_peers;

struct ha_peers *ha_peers_new(void);
void ha_peers_free(struct ha_peers *p);

/* ["IP:PORT", ...]: up to HA_MAX_PEERS agents of cluster_id's hosts other
 * than host_id whose URLs name an IP (new reference; [] when none). */
json_t *ha_peers_for(struct ha_peers *p, struct store *st, const char *cluster_id, const char *host_id,
                     int64_t now_ms);

#endif
