/* snap_hw.c - the hardware (vCPUs, memory) each RAM snapshot of a VM was
 * taken with. QEMU can load a snapshot's RAM and device state only into
 * the machine it was saved from: after a resize the load fails halfway
 * ("Error -22 while loading VM state") and leaves the guest paused with a
 * half-loaded state. Recording the hardware lets the agent refuse such a
 * revert before it starts, and warn at the resize that makes it so.
 *
 * The record is snapshots.json in the VM's state directory: {"NAME":
 * {"vcpus": N, "memory_mib": M}}. A RAM snapshot without a record (taken
 * before records existed) is not refused: nothing is known about it. */
#include "vm_internal.h"
#include "snap_hw.h"

#include "fsutil.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const struct vm *vm)
{
	char path[1100];
	vm_store_path(vm, "snapshots.json", path, sizeof(path));
	json_t *j = json_load_file(path, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	return j;
}

static void save(struct vm *vm, json_t *j)
{
	char path[1100];
	vm_store_path(vm, "snapshots.json", path, sizeof(path));
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	int rc = s ? fs_write_atomic(path, s, strlen(s), 0600) : -12;
	if (rc < 0)
		log_warn("snapshot_record_failed", "vm=%s error=%s", vm->spec.name, log_quote(strerror(-rc)));
	free(s);
}

void snap_hw_record(struct vm *vm, const char *snap)
{
	json_t *j = load(vm);
	json_object_set_new(j, snap, json_pack("{s:i, s:I}", "vcpus", vm->spec.vcpus, "memory_mib",
	                                       (json_int_t)vm->spec.memory_mib));
	save(vm, j);
	json_decref(j);
}

void snap_hw_forget(struct vm *vm, const char *snap)
{
	json_t *j = load(vm);
	if (json_object_del(j, snap) == 0)
		save(vm, j);
	json_decref(j);
}

void snap_hw_annotate(const struct vm *vm, json_t *list)
{
	json_t *j = load(vm);
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s) {
		json_t *rec = json_object_get(j, json_string_value(json_object_get(s, "name")) ?: "");
		if (rec && json_integer_value(json_object_get(s, "vm_state_bytes")) > 0)
			json_object_update(s, rec);
	}
	json_decref(j);
}
