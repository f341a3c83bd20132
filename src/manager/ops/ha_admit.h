/* ha_admit.h - HA admission control and failover capacity for vdcd (issue
 * 14): the store's view of a cluster put to decide/ha_admission.c. */
#ifndef VDC_OPS_HA_ADMIT_H
#define VDC_OPS_HA_ADMIT_H

#include <jansson.h>

#include "errinfo.h"
#include "store.h"

struct mgr;

/* May vm (its document; a create's, not stored yet, is fine) power on in
 * its cluster? 0, or -1 with e: 409 ha_admission naming the policy, the
 * numbers and what to do. A cluster without HA, or with admission off,
 * admits everything. */
int ha_admit_power_on(struct store *st, const json_t *vm, struct errinfo *e);

/* GET /api/v1/clusters/{id}/ha: the cluster's HA settings, its failover
 * capacity under its admission policy, and each host's HA verdict. New
 * reference, or NULL with e. */
json_t *ha_cluster_report(struct mgr *m, const json_t *cluster, struct errinfo *e);

#endif
