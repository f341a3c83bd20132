/* inventory.h - vdcd's inventory index (inv/): rebuilt from the store at
 * start, then kept by the store's commit observer, so that every commit on
 * any handle and any thread (the API's, the task workers') reaches it.
 * One index per process, behind a mutex. */
#ifndef VDC_INVENTORY_H
#define VDC_INVENTORY_H

#include <jansson.h>

#include "errinfo.h"
#include "inv.h"
#include "store.h"

/* Observes the store's commits of clusters, hosts and VMs, then reads them
 * all from st into the index. Call before any other thread opens a store
 * handle. 0, or -1 with e. */
int inventory_start(struct store *st, struct errinfo *e);
/* Stops observing and frees the index. */
void inventory_stop(void);

/* inv_place under the index's lock. */
enum inv_place_outcome inventory_place(const struct inv_request *q, struct inv_report_limits lim,
                                       json_t **report, char **host_id, char *err, size_t errlen);

/* inv_evacuate under the index's lock. */
json_t *inventory_evacuate(const char *host_id, const struct inv_request *vms, int nvms, char *err, size_t errlen);
/* HA's restart plan for failed host host_id (inv_ha_plan). */
json_t *inventory_ha_plan(const char *host_id, const struct inv_ha_request *vms, int nvms, char *err, size_t errlen);

/* inv_connected_hosts under the index's lock. */
int inventory_connected_hosts(struct inv_beat **out, size_t *n);

/* For tests: {"index": the live index, "store": an index rebuilt now from
 * st, "equal": whether they are the same} (inv_dump of each). */
json_t *inventory_compare(struct store *st, struct errinfo *e);

#endif
