/* task_pool.c - vm.pool_move: a VM's QEMU moved to the cgroup of its new
 * resource pool on its host. The request recorded the new pool (and
 * admitted the VM's reservation there) before the task: this task makes
 * the host follow. Asking the host again is harmless (it answers with the
 * VM where it is), so a run after a crash converges; a host that refuses
 * puts the VM back in its old pool in the record. */
#include "task_ops.h"

#include "agent_client.h"
#include "crashpoint.h"
#include "log.h"
#include "pools.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

int task_pool_push(struct task_ctx *t, const json_t *vm, struct errinfo *e)
{
	json_t *chain = pools_chain(t->st, str(vm, "pool_id"), e);
	if (!chain)
		return -1;
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/pool", vm_agent_name(vm));
	json_t *body = json_pack("{s:o}", "pool", chain), *reply = NULL;
	long status = 0;
	int rc = agent_call(t->st, str(vm, "host_id"), "PUT", path, body, 60, &status, &reply, NULL, e);
	json_decref(body);
	if (rc == 0 && status != 200)
		rc = errinfo_set(e, (unsigned)status,
		                 str(json_object_get(reply, "error"), "code") ?: "agent_error", "pool",
		                 "the host could not move the VM into its pool's cgroup: %s", agent_error_message(reply));
	json_decref(reply);
	return rc;
}

/* The record back to the old pool, unless something changed it since. */
void task_pool_unqueue(struct store *st, const char *id, json_t *args)
{
	struct errinfo e = {0};
	json_t *vm = store_get(st, STORE_VM, id, &e);
	const char *to = str(args, "to_pool_id") ?: "";
	if (vm && !strcmp(str(vm, "pool_id") ?: "", to)) {
		json_t *from = json_object_get(args, "from_pool_id");
		task_vm_patch(st, id, json_pack("{s:O}", "pool_id", from ?: json_null()), &e);
		log_warn("vm_pool_reverted", "vm=%s pool=%s", id, str(args, "from_pool_id") ?: "(root)");
	}
	json_decref(vm);
}

int task_op_pool_move(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                      struct errinfo *e)
{
	(void)op;
	task_update(t, NULL, 30, "moving the VM's QEMU into its new pool's cgroup on the host");
	crash_point("task:vm.pool_move:before_agent");
	if (task_pool_push(t, vm, e) < 0) {
		task_pool_unqueue(t->st, str(vm, "id"), args);
		return -1;
	}
	*result = json_pack("{s:s, s:O}", "vm_id", str(vm, "id"), "pool_id",
	                    json_object_get(vm, "pool_id") ?: json_null());
	return 0;
}
