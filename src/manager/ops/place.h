/* place.h - the I/O side of placement: reads hosts, clusters and VM
 * allocations from the store into a placement snapshot, decides, and reports
 * the choice with a sentence per host. */
#ifndef VDC_PLACE_H
#define VDC_PLACE_H

#include <jansson.h>

#include "errinfo.h"
#include "store.h"

/* req: {"vcpus","memory_mib","datastore","bridges":[...],"cluster_id"?,
 * "name", "affinity":[groups], "anti_affinity":[groups]}. On success returns
 * 0 with *host_doc (the chosen host) and *report {"host","summary","hosts":
 * [{"host","eligible","rank","score","reason"}]}. When no host fits returns
 * -1 with e = 409 no_host (the summary names why) and still fills *report. */
int place_vm(struct store *st, const json_t *req, json_t **host_doc, json_t **report,
             struct errinfo *e);

#endif
