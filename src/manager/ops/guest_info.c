/* guest_info.c - VMs' guest agent reports on vdcd's side (guest_info.h).
 * The host's agent already cut them to size; they are checked again here
 * because they come from a guest, through a host vdcd trusts only so far. */
#include "guest_info.h"

#include "log.h"
#include "manager.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define MAX_IFACES 32
#define MAX_IPS 32

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void copy_str(json_t *to, const char *key, const json_t *v, size_t max)
{
	if (json_is_string(v) && json_string_length(v) <= max)
		json_object_set(to, key, (json_t *)v);
}

json_t *guest_info_clean(const json_t *seen)
{
	if (!json_is_object(seen))
		return NULL;
	json_t *g = json_pack("{s:b}", "agent", json_is_true(json_object_get(seen, "agent")));
	copy_str(g, "hostname", json_object_get(seen, "hostname"), 255);
	copy_str(g, "updated_at", json_object_get(seen, "updated_at"), 40);
	copy_str(g, "error", json_object_get(seen, "error"), 200);
	const json_t *os = json_object_get(seen, "os");
	if (json_is_object(os)) {
		static const char *const keys[] = {"id", "name", "pretty_name", "version", "version_id",
		                                   "kernel_release", "kernel_version", "machine"};
		json_t *o = json_object();
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			copy_str(o, keys[i], json_object_get(os, keys[i]), 200);
		json_object_set_new(g, "os", o);
	}
	const json_t *ifs = json_object_get(seen, "interfaces");
	if (json_is_array(ifs)) {
		json_t *out = json_array();
		size_t i, j;
		json_t *ifc, *ip;
		json_array_foreach(ifs, i, ifc) {
			if (i >= MAX_IFACES || !json_is_object(ifc))
				break;
			json_t *o = json_object(), *ips = json_array();
			copy_str(o, "name", json_object_get(ifc, "name"), 64);
			copy_str(o, "mac", json_object_get(ifc, "mac"), 32);
			json_array_foreach(json_object_get(ifc, "ips"), j, ip) {
				if (j >= MAX_IPS)
					break;
				if (json_is_string(ip) && json_string_length(ip) <= 80)
					json_array_append(ips, ip);
			}
			json_object_set_new(o, "ips", ips);
			json_array_append_new(out, o);
		}
		json_object_set_new(g, "interfaces", out);
	}
	return g;
}

void guest_info_take_vm(struct mgr *m, json_t **vmp, const json_t *report)
{
	const json_t *vm = *vmp, *seen = json_object_get(report, "guest");
	json_t *now = guest_info_clean(seen);
	const json_t *had = json_object_get(vm, "guest");
	if (!now || (had && json_equal(had, now))) {
		json_decref(now);
		return;
	}
	json_t *upd = json_deep_copy(vm);
	json_object_set(upd, "guest", now);
	struct errinfo e = {0};
	json_t *stored = NULL;
	int rc = store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), &stored, &e);
	json_decref(upd);
	bool was = json_is_true(json_object_get(had, "agent")), is = json_is_true(json_object_get(now, "agent"));
	if (rc == 0 && was != is) {
		char detail[300];
		if (is)
			snprintf(detail, sizeof(detail), "its guest agent answers (hostname %s)", str(now, "hostname") ?: "?");
		else
			snprintf(detail, sizeof(detail), "its guest agent does not answer: %s",
			         str(now, "error") ?: "no reason given");
		mgr_event(m, "vdcd", "vm.guest_agent", "vm", str(vm, "id"), is ? "succeeded" : "failed", detail);
		log_info("vm_guest_agent", "vm=%s agent=%s", str(vm, "id"), is ? "true" : "false");
	}
	json_decref(now);
	if (rc == 0) {
		json_decref(*vmp); /* had and vm pointed into it */
		*vmp = stored;
	}
}
