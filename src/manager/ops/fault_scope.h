/* fault_scope.h - vdcd's side of fault injection (src/lib/fault.h), on only
 * with --fault-injection. Allocations through jansson become the alloc
 * site, and an arm given through POST /api/v1/debug/faults applies to the
 * next VM operation only: the API request that asks for it (POST or DELETE
 * under /api/v1/vms) and then the task that request queued, counted as one
 * sequence. Heartbeats, pollers and other requests go on uncounted, so the
 * Nth call is the same call on every run and a test can sweep N = 1, 2, ...
 * until the operation needs fewer than N calls. */
#ifndef VDC_FAULT_SCOPE_H
#define VDC_FAULT_SCOPE_H

#include <jansson.h>
#include <stdbool.h>

#include "fault.h"

/* At start, before any other thread: with enabled, routes jansson's
 * allocations through the alloc site and counts only scoped calls. */
void fault_scope_init(bool enabled);
bool fault_scope_enabled(void);

/* Arms site s for the next VM operation (nth <= 0: disarms every site). */
void fault_scope_arm(enum fault_site s, long nth);
/* {"site","nth","state":"disarmed|pending|request|task|done","calls",
 * "fired","task_id"} of the current (or last) arm. */
json_t *fault_scope_status(void);

/* Around a VM operation's API handler (the loop thread): begin takes up a
 * pending arm. */
void fault_scope_request_begin(void);
void fault_scope_request_end(void);
/* task_new in a scoped request: this task continues the sequence. */
void fault_scope_task_queued(const char *task_id);
/* Around the run of a claimed task: true when it is the armed operation's
 * (waits until its request has ended, so the count never interleaves);
 * then call fault_scope_task_end after the task is finished. */
bool fault_scope_task_begin(const char *task_id);
void fault_scope_task_end(void);

#endif
