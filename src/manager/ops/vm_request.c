/* vm_request.c - see vm_request.h. */
#include "vm_request.h"

#include "place.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

struct inv_request vm_placement_request(const json_t *vm, struct vm_names *nm)
{
	const json_t *cfg = json_object_get(vm, "config"), *pg = json_object_get(vm, "placement_groups");
	int nnets = 0;
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(cfg, "networks"), i, n)
		if (nnets < VM_NAMES_MAX && str(n, "bridge"))
			nm->nets[nnets++] = str(n, "bridge");
	return (struct inv_request){
		.vm = str(vm, "name"),
		.vcpus = (int)json_integer_value(json_object_get(cfg, "vcpus")),
		.memory_mib = json_integer_value(json_object_get(cfg, "memory_mib")),
		.reserve_cpu_pct = json_integer_value(json_object_get(cfg, "cpu_reservation_pct")),
		.reserve_memory_mib = json_integer_value(json_object_get(cfg, "mem_reservation_mib")),
		.datastore = str(cfg, "datastore") ?: "local",
		.networks = nm->nets,
		.nnetworks = nnets,
		.cluster_id = str(vm, "cluster_id"),
		.affinity = nm->aff,
		.naffinity = place_strings(json_object_get(pg, "affinity"), nm->aff, VM_NAMES_MAX),
		.anti_affinity = nm->anti,
		.nanti_affinity = place_strings(json_object_get(pg, "anti_affinity"), nm->anti, VM_NAMES_MAX),
		.project_id = str(vm, "project_id"),
	};
}
