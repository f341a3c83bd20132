/* migrations.c - starting live migrations (migrations.h). */
#include "migrations.h"

#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

json_t *migration_placement_request(const json_t *vm, const char *only_host)
{
	const json_t *cfg = json_object_get(vm, "config"), *pg = json_object_get(vm, "placement_groups");
	json_t *bridges = json_array(), *n;
	size_t i;
	json_array_foreach(json_object_get(cfg, "networks"), i, n)
		json_array_append(bridges, json_object_get(n, "bridge"));
	json_t *q = json_pack("{s:s?, s:O?, s:O?, s:s, s:o, s:O?, s:O?, s:s?, s:s?, s:s?}", "name", str(vm, "name"),
	                      "vcpus", json_object_get(cfg, "vcpus"), "memory_mib", json_object_get(cfg, "memory_mib"),
	                      "datastore", str(cfg, "datastore") ?: "local", "bridges", bridges, "affinity",
	                      json_object_get(pg, "affinity"), "anti_affinity", json_object_get(pg, "anti_affinity"),
	                      "cluster_id", str(vm, "cluster_id"), "project_id", str(vm, "project_id"), "moving_from",
	                      str(vm, "host_id"));
	if (q && only_host)
		json_object_set_new(q, "only_host", json_string(only_host));
	/* It runs: its new host must keep its reservations too. */
	static const char *const res[] = {"cpu_reservation_pct", "mem_reservation_mib"};
	for (int k = 0; k < 2 && q; k++)
		if (json_integer_value(json_object_get(cfg, res[k])))
			json_object_set(q, res[k], json_object_get(cfg, res[k]));
	return q;
}

bool migration_under_way(struct store *st, const json_t *vm)
{
	const char *task_id = str(json_object_get(vm, "migration"), "task_id");
	if (!task_id)
		return false;
	json_t *task = store_get(st, STORE_TASK, task_id, &(struct errinfo){0});
	const char *state = str(task, "state") ?: "";
	bool live = !strcmp(state, "queued") || !strcmp(state, "running");
	json_decref(task);
	return live;
}

int migrations_on_host(struct store *st, const char *host_id)
{
	int n = 0;
	json_t *tasks = tasks_under_way(st, "vm.migrate");
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		const json_t *a = json_object_get(t, "args");
		n += !strcmp(str(a, "from_host_id") ?: "", host_id) || !strcmp(str(a, "to_host_id") ?: "", host_id);
	}
	json_decref(tasks);
	return n;
}

int migrations_in_cluster(struct store *st, const char *cluster_id)
{
	int n = 0;
	json_t *tasks = tasks_under_way(st, "vm.migrate");
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		/* Few are under way: one host read each. */
		json_t *h = store_get(st, STORE_HOST, str(json_object_get(t, "args"), "to_host_id") ?: "",
		                      &(struct errinfo){0});
		n += !strcmp(str(h, "cluster_id") ?: "", cluster_id ?: "");
		json_decref(h);
	}
	json_decref(tasks);
	return n;
}

int migration_limit_per_cluster(struct store *st, const char *cluster_id)
{
	json_t *c = store_get(st, STORE_CLUSTER, cluster_id ?: "", &(struct errinfo){0});
	json_int_t n = json_integer_value(json_object_get(json_object_get(c, "migration"), "max_per_cluster"));
	json_decref(c);
	return n > 0 ? (int)n : 8;
}

int migration_limit_per_host(struct store *st, const char *cluster_id)
{
	json_t *c = store_get(st, STORE_CLUSTER, cluster_id ?: "", &(struct errinfo){0});
	json_int_t n = json_integer_value(json_object_get(json_object_get(c, "migration"), "max_per_host"));
	json_decref(c);
	return n > 0 ? (int)n : 2;
}

json_t *migration_enqueue(struct store *st, const json_t *vm, const json_t *host, const char *summary,
                          const char *actor, const char *parent_id, bool cold, struct errinfo *e)
{
	const char *id = str(vm, "id");
	json_t *task = NULL;
	if (store_begin(st, e) < 0)
		return NULL;
	json_t *args = json_pack("{s:O, s:O, s:O, s:s?, s:s?}", "to_host_id", json_object_get(host, "id"), "to_host",
	                         json_object_get(host, "name"), "from_host_id", json_object_get(vm, "host_id"),
	                         "placement_summary", summary, "parent_id", parent_id);
	if (cold)
		json_object_set_new(args, "cold", json_true());
	if (!(task = task_new(st, "vm.migrate", "vm", id, str(vm, "name"), str(vm, "project_id"), actor, args, e)))
		goto fail;
	json_t *upd = json_deep_copy(vm);
	json_object_set_new(upd, "migration",
	                    json_pack("{s:O, s:O, s:s, s:O}", "from_host_id", json_object_get(vm, "host_id"), "to_host_id",
	                              json_object_get(host, "id"), "phase", "queued", "task_id", json_object_get(task, "id")));
	int rc = store_update(st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), NULL, e);
	json_decref(upd);
	if (rc < 0 || store_commit(st, e) < 0)
		goto fail;
	return task;
fail:
	store_rollback(st);
	json_decref(task);
	return NULL;
}
