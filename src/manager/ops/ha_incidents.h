/* ha_incidents.h - a cluster's HA incidents (GET
 * /api/v1/clusters/{id}/ha/incidents): each failed, isolated or silent
 * host's, and each VM monitoring restart's, as a timeline of phases
 * (detected, fenced, placed, started, failed, refused, recovered) with
 * vdcd's reasons, newest first. */
#ifndef VDC_OPS_HA_INCIDENTS_H
#define VDC_OPS_HA_INCIDENTS_H

#include "errinfo.h"

#include <jansson.h>

struct mgr;

/* {cluster_id, cluster, items: [incident...]}, at most limit incidents,
 * only host_id's when given; NULL with e. */
json_t *ha_incidents_report(struct mgr *m, const json_t *cluster, const char *host_id, int limit, struct errinfo *e);

#endif
