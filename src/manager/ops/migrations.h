/* migrations.h - what starting a live migration takes, for the API (one VM
 * asked for: api/api_migrate.c) and for a host's evacuation (many, by
 * ops/task_evacuate.c): placement's question for a running VM, the
 * cluster's limit of migrations per host and the count under way, and the
 * task queued together with the VM's record of it. */
#ifndef VDC_MIGRATIONS_H
#define VDC_MIGRATIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "errinfo.h"
#include "manager.h"
#include "store.h"

/* Placement's question for the VM as it is (place.h's request): its size,
 * datastore, networks, rules and cluster, away from the host it runs on;
 * only_host (an id, or NULL) is the one host asked for. */
json_t *migration_placement_request(const json_t *vm, const char *only_host);

/* Migrations under way (queued or running vm.migrate tasks) from or to
 * host_id. */
int migrations_on_host(struct store *st, const char *host_id);

/* The cluster's limit of migrations under way per host
 * (migration.max_per_host, 2 when unset). */
int migration_limit_per_host(struct store *st, const char *cluster_id);

/* Migrations under way (queued or running) whose receiving host is in
 * cluster_id, and the cluster's limit of them (migration.max_per_cluster,
 * 8 when unset). */
int migrations_in_cluster(struct store *st, const char *cluster_id);
int migration_limit_per_cluster(struct store *st, const char *cluster_id);

/* Whether the VM's recorded migration still has its task queued or
 * running. */
bool migration_under_way(struct store *st, const json_t *vm);

/* Queues a vm.migrate task moving vm to host (both documents as read),
 * with placement's summary, and records the migration on the VM, in one
 * commit. parent_id (or NULL) is the task that asked (an evacuation);
 * cold: stop, move, start instead of live. Returns the task document, or
 * NULL with e (409 conflict when the VM changed since it was read). */
json_t *migration_enqueue(struct store *st, const json_t *vm, const json_t *host, const char *summary,
                          const char *actor, const char *parent_id, bool cold, struct errinfo *e);

#endif
