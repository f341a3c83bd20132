/* evacuation.h - emptying a host for maintenance: the plan, worked out on
 * the inventory before anything moves (decide/evacuate_plan.h), and the
 * host.evacuate task that carries it out by live migration
 * (task_evacuate.c). */
#ifndef VDC_EVACUATION_H
#define VDC_EVACUATION_H

#include <jansson.h>
#include <stdbool.h>

#include "errinfo.h"
#include "task_ops.h"
#include "store.h"

/* The plan to empty host (its document as read): {"host","host_id",
 * "refused": bool, "reason", "moves":[{"vm","vm_id","to","to_id","reason"}],
 * "stuck": {"vm","vm_id"} or null, "stays":[{"vm","vm_id","why"}]}. The
 * running and paused VMs move; the others stay registered on the host
 * (stays names them and why). NULL with e on a store or inventory
 * failure. */
json_t *evacuation_plan(struct store *st, const json_t *host, struct errinfo *e);

/* Whether a VM in power state ps moves live (running or paused); the
 * others stay registered on the host. */
bool evacuation_moves_live(const char *ps);

/* host.evacuate (target: the host; args: {"plan", "attempts"}). */
int task_op_evacuate(struct task_ctx *t, json_t *unused, const char *op, json_t *args, json_t **result,
                     struct errinfo *e);
/* A host.evacuate cancelled while queued: the host's drain says stopped
 * (the host stays in maintenance). */
void task_evacuate_unqueue(struct store *st, const char *host_id, json_t *args);

#endif
