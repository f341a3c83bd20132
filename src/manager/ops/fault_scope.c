/* fault_scope.c - see fault_scope.h. One arm at a time; its states move
 * pending -> request -> task -> done (or request -> done when the request
 * queued no task). The lock guards the state, never a site's count. */
#include "fault_scope.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum arm_state { ARM_NONE, ARM_PENDING, ARM_REQUEST, ARM_TASK, ARM_DONE };
static const char *const arm_state_names[] = {"disarmed", "pending", "request", "task", "done"};

static bool enabled;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t request_over = PTHREAD_COND_INITIALIZER;
static struct {
	enum arm_state state;
	enum fault_site site;
	long nth;
	char task_id[64]; /* the task the armed request queued, or "" */
} arm;

/* jansson's allocations: the alloc site fails one as malloc would. */
static void *fault_malloc(size_t n)
{
	return fault_hit(FAULT_ALLOC) ? NULL : malloc(n);
}

void fault_scope_init(bool on)
{
	enabled = on;
	if (!on)
		return;
	fault_set_scoped(true);
	json_set_alloc_funcs(fault_malloc, free);
}

bool fault_scope_enabled(void) { return enabled; }

void fault_scope_arm(enum fault_site s, long nth)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < FAULT_NSITES; i++)
		fault_arm((enum fault_site)i, 0);
	arm.state = nth > 0 ? ARM_PENDING : ARM_NONE;
	arm.site = s;
	arm.nth = nth > 0 ? nth : 0;
	arm.task_id[0] = '\0';
	pthread_mutex_unlock(&lock);
}

json_t *fault_scope_status(void)
{
	pthread_mutex_lock(&lock);
	json_t *st = json_pack("{s:s, s:I, s:s, s:I, s:b, s:s?}", "site", fault_site_name(arm.site), "nth",
	                       (json_int_t)arm.nth, "state", arm_state_names[arm.state], "calls",
	                       (json_int_t)(arm.state >= ARM_REQUEST ? fault_calls(arm.site) : 0), "fired",
	                       arm.state >= ARM_REQUEST && fault_fired(arm.site), "task_id",
	                       arm.task_id[0] ? arm.task_id : NULL);
	pthread_mutex_unlock(&lock);
	return st;
}

void fault_scope_request_begin(void)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&lock);
	if (arm.state == ARM_PENDING) {
		arm.state = ARM_REQUEST;
		fault_arm(arm.site, arm.nth); /* counts from here */
		fault_scope_enter();
	}
	pthread_mutex_unlock(&lock);
}

void fault_scope_request_end(void)
{
	if (!enabled || !fault_in_scope())
		return;
	fault_scope_leave();
	pthread_mutex_lock(&lock);
	arm.state = arm.task_id[0] ? ARM_TASK : ARM_DONE;
	pthread_cond_broadcast(&request_over);
	pthread_mutex_unlock(&lock);
}

void fault_scope_task_queued(const char *task_id)
{
	if (!enabled || !fault_in_scope() || !task_id)
		return;
	pthread_mutex_lock(&lock);
	if (arm.state == ARM_REQUEST && !arm.task_id[0])
		snprintf(arm.task_id, sizeof(arm.task_id), "%s", task_id);
	pthread_mutex_unlock(&lock);
}

bool fault_scope_task_begin(const char *task_id)
{
	if (!enabled || !task_id)
		return false;
	bool ours = false;
	pthread_mutex_lock(&lock);
	if (arm.task_id[0] && !strcmp(arm.task_id, task_id)) {
		while (arm.state == ARM_REQUEST)
			pthread_cond_wait(&request_over, &lock);
		ours = arm.state == ARM_TASK && !strcmp(arm.task_id, task_id);
	}
	pthread_mutex_unlock(&lock);
	if (ours)
		fault_scope_enter();
	return ours;
}

void fault_scope_task_end(void)
{
	fault_scope_leave();
	pthread_mutex_lock(&lock);
	if (arm.state == ARM_TASK)
		arm.state = ARM_DONE;
	pthread_mutex_unlock(&lock);
}
