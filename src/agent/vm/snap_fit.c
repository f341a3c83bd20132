/* snap_fit.c - whether a RAM snapshot fits a VM's hardware, and what to
 * say when it does not. Pure: the records come from snap_hw.c. */
#include "snap_fit.h"

#include <stdio.h>

bool snap_fit_differs(const json_t *rec, int vcpus, uint64_t memory_mib)
{
	if (!rec)
		return false;
	return json_integer_value(json_object_get(rec, "vcpus")) != vcpus ||
	       (uint64_t)json_integer_value(json_object_get(rec, "memory_mib")) != memory_mib;
}

static const char *plural(json_int_t n) { return n == 1 ? "" : "s"; }

int snap_fit_check_revert(const json_t *snap, int vcpus, uint64_t memory_mib, struct errinfo *e)
{
	if (json_integer_value(json_object_get(snap, "vm_state_bytes")) <= 0 ||
	    !json_object_get(snap, "vcpus"))
		return 0;
	if (!snap_fit_differs(snap, vcpus, memory_mib))
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
	                   plural(v), (long long)m, vcpus, plural(vcpus),
	                   (unsigned long long)memory_mib, (long long)v, plural(v), (long long)m);
}

json_t *snap_fit_resize_warnings(const json_t *list, int vcpus, uint64_t memory_mib)
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
		} else if (snap_fit_differs(s, vcpus, memory_mib)) {
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
