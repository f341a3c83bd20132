/* inv_dump.c - the index as canonical JSON, for tests that compare the
 * index vdcd keeps with one rebuilt from the store. */
#include "inv_impl.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* arr sorted by its strings (a new array; arr's reference is taken). */
static json_t *sorted(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), cmp_str);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(arr);
	return out;
}

static json_t *names_of(const struct inv_names *n, const struct placement_set *s)
{
	json_t *arr = json_array();
	for (int i = 0; i < PLACEMENT_SET_BITS; i++)
		if (placement_set_has(s, i))
			json_array_append_new(arr, json_string(n->v[i] ?: ""));
	return sorted(arr);
}

static void dump_vm(void *val, void *ctx)
{
	struct ivm *v = val;
	json_object_set_new(ctx, v->id,
	                    json_pack("{s:s?, s:s?, s:b, s:I, s:i, s:I}", "name", v->name, "host_id",
	                              v->host_id, "on_known_host", v->host != NULL, "version",
	                              (json_int_t)v->version, "vcpus", v->vcpus, "memory_mib",
	                              (json_int_t)v->memory_mib));
}

static void dump_group(void *val, void *ctx)
{
	struct igroup *g = val;
	json_t *ids = json_array();
	for (int i = 0; i < g->n; i++)
		json_array_append_new(ids, json_string(g->m[i]->id));
	json_object_set_new(ctx, g->key, sorted(ids));
}

json_t *inv_dump(const struct inv *iv)
{
	json_t *clusters = json_object(), *hosts = json_object(), *vms = json_object(),
	       *groups = json_object();
	for (int i = 0; i < iv->nclusters; i++) {
		const struct icluster *c = iv->clusterv[i];
		const struct placement_cluster *p = &iv->pc[c->slot];
		json_object_set_new(clusters, c->id,
		                    json_pack("{s:s?, s:I, s:f, s:f, s:s}", "name", c->name, "version",
		                              (json_int_t)c->version, "cpu_overcommit", p->cpu_overcommit,
		                              "mem_overcommit", p->mem_overcommit, "policy",
		                              placement_policy_name(p->policy)));
	}
	static const char *const states[] = {"connected", "disconnected", "maintenance"};
	for (int i = 0; i < iv->nhosts; i++) {
		const struct ihost *h = iv->hostv[i];
		const struct placement_host *p = &iv->ph[h->slot];
		json_t *ids = json_array();
		for (const struct ivm *v = h->vms; v; v = v->hnext)
			json_array_append_new(ids, json_string(v->id));
		const struct icluster *c = p->cluster < iv->nclusters ? iv->clusterv[p->cluster] : NULL;
		json_object_set_new(
			hosts, h->id,
			json_pack("{s:s?, s:s?, s:s?, s:I, s:s, s:s, s:i, s:I, s:i, s:I, s:o, s:o, s:i, s:o}",
			          "name", h->name, "cluster_id", h->cluster_id, "placed_in_cluster",
			          c ? c->id : NULL, "version", (json_int_t)h->version, "state",
			          states[h->state], "placement_state", states[p->state], "cpus", p->cpus,
			          "memory_mib", (json_int_t)p->memory_mib, "alloc_vcpus", p->alloc_vcpus,
			          "alloc_memory_mib", (json_int_t)p->alloc_memory_mib, "datastores",
			          names_of(&iv->datastores, &p->datastores), "networks",
			          names_of(&iv->networks, &p->networks), "nvms", h->nvms, "vms", sorted(ids)));
	}
	inv_map_each(&iv->vms, dump_vm, vms);
	inv_map_each(&iv->groups, dump_group, groups);
	return json_pack("{s:o, s:o, s:o, s:o, s:i}", "clusters", clusters, "hosts", hosts, "vms", vms,
	                 "groups", groups, "vms_on_unknown_hosts", iv->norphans);
}
