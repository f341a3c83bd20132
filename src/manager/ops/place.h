/* place.h - the I/O side of placement: decides on the inventory index
 * (ops/inventory.c), reads the chosen host's document, and reports the
 * choice: the best hosts and examples of each reason, with a sentence each. */
#ifndef VDC_PLACE_H
#define VDC_PLACE_H

#include <jansson.h>

#include "errinfo.h"
#include "store.h"

/* req: {"vcpus","memory_mib","datastore","bridges":[...],"cluster_id"?,
 * "name", "affinity":[groups], "anti_affinity":[groups]}. On success returns
 * 0 with *host_doc (the chosen host) and *report {"host","summary",
 * "eligible","hosts_total","rejected":{filter:count},"hosts":[{"host",
 * "eligible","filter","rank","score","reason"}]} (the best 5 eligible hosts,
 * then up to 3 of each reason of rejection). When no host fits returns
 * -1 with e = 409 no_host (the summary names why) and still fills *report. */
int place_vm(struct store *st, const json_t *req, json_t **host_doc, json_t **report,
             struct errinfo *e);

/* The strings of a JSON array (borrowed) into v[0..max): the names a
 * request carries (networks, groups). Returns how many. */
int place_strings(const json_t *arr, const char **v, int max);

#endif
