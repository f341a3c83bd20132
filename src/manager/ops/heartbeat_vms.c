/* heartbeat_vms.c - see heartbeat_vms.h. One store read of the host's VMs
 * per heartbeat, however many parts of a beat are kept on the VM. */
#include "heartbeat_vms.h"

#include "guest_info.h"
#include "ha_ready.h"
#include "manager.h"
#include "store.h"

#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The heartbeat's entry for vm, or NULL (hosts know a VM by its agent name). */
static const json_t *report_of(const json_t *vms, const json_t *vm)
{
	const char *name = str(json_object_get(vm, "config"), "agent_name") ?: str(vm, "name");
	size_t i;
	const json_t *r;
	json_array_foreach(vms, i, r)
		if (name && !strcmp(str(r, "name") ?: "", name))
			return r;
	return NULL;
}

void heartbeat_vms_take(struct mgr *m, const char *host_id, const json_t *vms)
{
	if (!json_is_array(vms) || !json_array_size(vms))
		return;
	struct store_filter f = {"host_id", host_id};
	json_t *docs = store_list_all(m->st, STORE_VM, &f, 1, &(struct errinfo){0});
	size_t i;
	json_t *listed;
	json_array_foreach(docs, i, listed) {
		const json_t *r = report_of(vms, listed);
		if (!r)
			continue;
		json_t *vm = json_incref(listed);
		ha_ready_take_vm(m, &vm, r);
		guest_info_take_vm(m, &vm, r);
		json_decref(vm);
	}
	json_decref(docs);
}
