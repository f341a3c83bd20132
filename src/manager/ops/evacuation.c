/* evacuation.c - the plan to empty a host (evacuation.h): its VMs read
 * from the store, as placement's requests, placed by the inventory. */
#include "evacuation.h"

#include "inventory.h"
#include "place.h"
#include "vm_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

bool evacuation_moves_live(const char *ps) { return ps && (!strcmp(ps, "running") || !strcmp(ps, "paused")); }

json_t *evacuation_plan(struct store *st, const json_t *host, struct errinfo *e)
{
	struct store_filter f = {"host_id", str(host, "id")};
	json_t *vms = store_list_all(st, STORE_VM, &f, 1, e);
	if (!vms)
		return NULL;
	size_t n = json_array_size(vms);
	struct inv_request *q = calloc(n ? n : 1, sizeof(*q));
	struct vm_names *names = calloc(n ? n : 1, sizeof(*names));
	const json_t **moving = calloc(n ? n : 1, sizeof(*moving));
	json_t *stays = json_array(), *plan = NULL;
	if (!q || !names || !moving || !stays) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto done;
	}
	int nq = 0;
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm) {
		const char *ps = str(vm, "power_state") ?: "unknown";
		if (evacuation_moves_live(ps)) {
			moving[nq] = vm;
			q[nq] = vm_placement_request(vm, &names[nq]);
			nq++;
		} else {
			char why[160];
			snprintf(why, sizeof(why), "%s: only a running VM moves live; it stays registered on %s", ps,
			         str(host, "name") ?: "the host");
			json_array_append_new(stays, json_pack("{s:s?, s:s?, s:s}", "vm", str(vm, "name"), "vm_id",
			                                       str(vm, "id"), "why", why));
		}
	}
	char err[256];
	if (!(plan = inventory_evacuate(str(host, "id"), q, nq, err, sizeof(err)))) {
		errinfo_set(e, 500, "placement", NULL, "the evacuation could not be planned: %s", err);
		goto done;
	}
	/* The plan's indices become the VMs' names and ids. */
	json_t *mv;
	json_array_foreach(json_object_get(plan, "moves"), i, mv) {
		const json_t *v = moving[json_integer_value(json_object_get(mv, "i"))];
		json_object_set_new(mv, "vm", json_string(str(v, "name")));
		json_object_set_new(mv, "vm_id", json_string(str(v, "id")));
		json_object_del(mv, "i");
	}
	json_int_t stuck = json_integer_value(json_object_get(plan, "stuck"));
	if (json_is_true(json_object_get(plan, "refused")) && stuck >= 0 && stuck < nq)
		json_object_set_new(plan, "stuck", json_pack("{s:s?, s:s?}", "vm", str(moving[stuck], "name"), "vm_id",
		                                             str(moving[stuck], "id")));
	else
		json_object_set_new(plan, "stuck", json_null());
	json_object_set(plan, "stays", stays);
done:
	json_decref(stays);
	free(moving);
	free(names);
	free(q);
	json_decref(vms);
	return plan;
}
