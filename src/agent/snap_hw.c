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
#include "agent.h"
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

bool snap_hw_differs(const json_t *rec, int vcpus, uint64_t memory_mib)
{
	if (!rec)
		return false;
	return json_integer_value(json_object_get(rec, "vcpus")) != vcpus ||
	       (uint64_t)json_integer_value(json_object_get(rec, "memory_mib")) != memory_mib;
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

static const char *plural(json_int_t n) { return n == 1 ? "" : "s"; }

int snap_hw_check_revert(const struct vm *vm, const json_t *snap, struct errinfo *e)
{
	if (json_integer_value(json_object_get(snap, "vm_state_bytes")) <= 0 ||
	    !json_object_get(snap, "vcpus"))
		return 0;
	if (!snap_hw_differs(snap, vm->spec.vcpus, vm->spec.memory_mib))
		return 0;
	json_int_t v = json_integer_value(json_object_get(snap, "vcpus"));
	json_int_t m = json_integer_value(json_object_get(snap, "memory_mib"));
	return errinfo_set(e, 409, "snapshot_incompatible", NULL,
	                   "snapshot '%s' holds the VM's RAM as it was with %lld vCPU%s and %lld MiB; "
	                   "the VM now has %d vCPU%s and %llu MiB, and QEMU cannot load that RAM into it "
	                   "(the guest would be left paused, half loaded). Stop the VM and revert (a "
	                   "stopped VM's revert restores the disks only), or resize it back to %lld vCPU%s "
	                   "and %lld MiB and revert while it runs",
	                   json_string_value(json_object_get(snap, "name")), (long long)v,
	                   plural(v), (long long)m, vm->spec.vcpus, plural(vm->spec.vcpus),
	                   (unsigned long long)vm->spec.memory_mib, (long long)v, plural(v), (long long)m);
}

json_t *snap_hw_resize_warnings(const json_t *list, int vcpus, uint64_t memory_mib)
{
	json_t *warn = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s) {
		if (json_integer_value(json_object_get(s, "vm_state_bytes")) <= 0)
			continue;
		const char *name = json_string_value(json_object_get(s, "name")) ?: "?";
		char msg[512];
		if (!json_object_get(s, "vcpus")) {
			snprintf(msg, sizeof(msg),
			         "RAM snapshot '%s' was taken with hardware this host did not record; if it "
			         "differs from %d vCPU%s and %llu MiB, reverting to it while the VM runs will fail: "
			         "stop the VM to revert its disks only",
			         name, vcpus, plural(vcpus), (unsigned long long)memory_mib);
		} else if (snap_hw_differs(s, vcpus, memory_mib)) {
			json_int_t v = json_integer_value(json_object_get(s, "vcpus"));
			json_int_t m = json_integer_value(json_object_get(s, "memory_mib"));
			snprintf(msg, sizeof(msg),
			         "RAM snapshot '%s' was taken with %lld vCPU%s and %lld MiB: a running VM can no "
			         "longer revert to it; stop the VM to revert its disks only, or resize back to "
			         "revert with its RAM",
			         name, (long long)v, plural(v), (long long)m);
		} else {
			continue;
		}
		json_array_append_new(warn, json_string(msg));
	}
	return warn;
}
