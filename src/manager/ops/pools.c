/* pools.c - resource pools against the store (pools.h). A tree is read
 * whole at each question: a cluster's pools are few, and its VMs are read
 * only when a VM reserves something (a reservation of zero always fits). */
#include "pools.h"

#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A VM holds its reservation while it runs or is asked to. */
bool pools_vm_holds(const json_t *vm)
{
	return pool_vm_holds(str(vm, "power_state"), str(vm, "desired_state"));
}

void pools_vm_need(const json_t *vm, int64_t need[POOL_NRES])
{
	const json_t *cfg = json_object_get(vm, "config");
	need[POOL_CPU] = json_integer_value(json_object_get(cfg, "cpu_reservation_pct"));
	need[POOL_MEM] = json_integer_value(json_object_get(cfg, "mem_reservation_mib"));
}

static void node_settings(const json_t *doc, struct pool_node *p)
{
	p->name = str(doc, "name") ?: "?";
	p->reservation[POOL_CPU] = json_integer_value(json_object_get(doc, "cpu_reservation_pct"));
	p->reservation[POOL_MEM] = json_integer_value(json_object_get(doc, "mem_reservation_mib"));
	json_t *cl = json_object_get(doc, "cpu_limit_pct"), *ml = json_object_get(doc, "mem_limit_mib");
	p->limit[POOL_CPU] = json_is_integer(cl) ? json_integer_value(cl) : POOL_NO_LIMIT;
	p->limit[POOL_MEM] = json_is_integer(ml) ? json_integer_value(ml) : POOL_NO_LIMIT;
	p->expandable = json_is_true(json_object_get(doc, "expandable"));
}

int pools_index(const struct pool_tree *t, const char *pool_id)
{
	if (!pool_id || !*pool_id)
		return 0;
	for (int i = 1; i < t->n; i++)
		if (!strcmp(str(t->docs[i], "id") ?: "", pool_id))
			return i;
	return -1;
}

void pools_free(struct pool_tree *t)
{
	for (int i = 0; i < t->n; i++)
		json_decref(t->docs[i]);
	free(t->docs);
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

/* Room for extra more nodes past the cluster's pools (a pool being made). */
static int tree_alloc(struct pool_tree *t, size_t n, struct errinfo *e)
{
	t->nodes = calloc(n, sizeof(*t->nodes));
	t->docs = calloc(n, sizeof(*t->docs));
	if (!t->nodes || !t->docs)
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	return 0;
}

static void parents(struct pool_tree *t)
{
	for (int i = 1; i < t->n; i++) {
		int p = pools_index(t, str(t->docs[i], "parent_id"));
		t->nodes[i].parent = p < 0 ? 0 : p; /* a parent gone: the root's */
	}
}

static int count_vms(struct store *st, const char *cluster_id, const char *skip_vm, struct pool_tree *t,
                     int *vms, int *running, struct errinfo *e)
{
	struct store_filter f = {"cluster_id", cluster_id};
	json_t *all = store_list_all(st, STORE_VM, &f, 1, e);
	if (!all)
		return -1;
	size_t k;
	json_t *vm;
	json_array_foreach(all, k, vm) {
		int i = pools_index(t, str(vm, "pool_id"));
		if (i < 0)
			i = 0;
		if (vms)
			vms[i]++;
		if (!pools_vm_holds(vm) || (skip_vm && !strcmp(str(vm, "id") ?: "", skip_vm)))
			continue;
		if (running)
			running[i]++;
		int64_t need[POOL_NRES];
		pools_vm_need(vm, need);
		for (int r = 0; r < POOL_NRES; r++)
			t->nodes[i].vms_reserved[r] += need[r];
	}
	json_decref(all);
	return 0;
}

static int load(struct store *st, const char *cluster_id, const char *skip_vm, int extra, struct pool_tree *t,
                int **vms, int **running, struct errinfo *e)
{
	memset(t, 0, sizeof(*t));
	struct store_filter f = {"cluster_id", cluster_id};
	json_t *cluster = store_get(st, STORE_CLUSTER, cluster_id, e), *hosts = NULL, *pools = NULL;
	if (!cluster || !(hosts = store_list_all(st, STORE_HOST, &f, 1, e)) ||
	    !(pools = store_list_all(st, STORE_POOL, &f, 1, e)) ||
	    tree_alloc(t, 1 + json_array_size(pools) + (size_t)extra, e) < 0)
		goto fail;
	t->docs[0] = cluster;
	cluster = NULL;
	struct pool_node *root = &t->nodes[0];
	root->name = str(t->docs[0], "name") ?: "?";
	root->parent = -1;
	root->limit[POOL_CPU] = root->limit[POOL_MEM] = POOL_NO_LIMIT;
	size_t k;
	json_t *h;
	json_array_foreach(hosts, k, h) {
		if (strcmp(str(h, "state") ?: "", "connected"))
			continue; /* in maintenance, or not heard from: not capacity to promise */
		const json_t *cap = json_object_get(h, "capacity");
		root->reservation[POOL_CPU] += 100 * json_integer_value(json_object_get(cap, "cpus"));
		root->reservation[POOL_MEM] += json_integer_value(json_object_get(cap, "memory_mib"));
	}
	json_array_foreach(pools, k, h) {
		t->docs[t->n + 1] = json_incref(h);
		node_settings(h, &t->nodes[t->n + 1]);
		t->n++;
	}
	t->n++; /* the root */
	parents(t);
	if (vms && (!(*vms = calloc((size_t)t->n, sizeof(int))) || !(*running = calloc((size_t)t->n, sizeof(int))))) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	if (count_vms(st, cluster_id, skip_vm, t, vms ? *vms : NULL, vms ? *running : NULL, e) < 0)
		goto fail;
	json_decref(hosts);
	json_decref(pools);
	return 0;
fail:
	json_decref(cluster);
	json_decref(hosts);
	json_decref(pools);
	if (vms) {
		free(*vms);
		free(*running);
		*vms = *running = NULL;
	}
	pools_free(t);
	return -1;
}

int pools_load(struct store *st, const char *cluster_id, const char *skip_vm, struct pool_tree *t, struct errinfo *e)
{
	return load(st, cluster_id, skip_vm, 0, t, NULL, NULL, e);
}

int pools_admit(struct store *st, const char *cluster_id, const char *vm_id, const char *pool_id,
                const int64_t need[POOL_NRES], struct errinfo *e)
{
	if (need[POOL_CPU] <= 0 && need[POOL_MEM] <= 0)
		return 0;
	struct pool_tree t;
	if (pools_load(st, cluster_id, vm_id, &t, e) < 0)
		return -1;
	int i = pools_index(&t, pool_id);
	struct pool_verdict v;
	int rc = 0;
	if (i < 0)
		rc = errinfo_set(e, 409, "pool_gone", "pool", "the VM's pool is not in its cluster; move it to a pool "
		                 "(POST /api/v1/vms/{id}/pool)");
	else if (!pool_admit(t.nodes, t.n, i, need, &v))
		rc = errinfo_set(e, 409, "pool_reservation", "pool", "%s", v.reason);
	pools_free(&t);
	return rc;
}

json_t *pools_chain(struct store *st, const char *pool_id, struct errinfo *e)
{
	json_t *chain = json_array();
	const char *at = pool_id;
	char next[64];
	for (int depth = 0; at && *at; depth++) {
		json_t *p = depth < POOLS_MAX_DEPTH + 1 ? store_get(st, STORE_POOL, at, e) : NULL;
		if (!p) {
			if (depth >= POOLS_MAX_DEPTH + 1)
				errinfo_set(e, 500, "internal", "pool", "pools nest deeper than %d", POOLS_MAX_DEPTH);
			json_decref(chain);
			return NULL;
		}
		json_t *cl = json_object_get(p, "cpu_limit_pct"), *ml = json_object_get(p, "mem_limit_mib");
		json_t *lvl = json_pack("{s:O, s:O, s:I, s:I, s:O}", "name", json_object_get(p, "name"), "cpu_weight",
		                        json_object_get(p, "cpu_shares"), "cpu_limit_pct",
		                        (json_int_t)(json_is_integer(cl) ? json_integer_value(cl) : 0), "memory_limit_mib",
		                        (json_int_t)(json_is_integer(ml) ? json_integer_value(ml) : 0),
		                        "memory_reservation_mib", json_object_get(p, "mem_reservation_mib"));
		snprintf(next, sizeof(next), "%s", str(p, "parent_id") ?: "");
		json_decref(p);
		if (!lvl || json_array_insert_new(chain, 0, lvl) < 0) {
			json_decref(chain);
			errinfo_set(e, 500, "internal", NULL, "out of memory");
			return NULL;
		}
		at = next;
	}
	return chain;
}

json_t *pools_tree_view(struct store *st, const char *cluster_id, struct errinfo *e)
{
	struct pool_tree t;
	int *vms = NULL, *running = NULL;
	if (load(st, cluster_id, NULL, 0, &t, &vms, &running, e) < 0)
		return NULL;
	json_t *list = json_array();
	for (int i = 1; i < t.n; i++) {
		json_t *p = json_deep_copy(t.docs[i]);
		json_object_set_new(p, "reserved_cpu_pct", json_integer(pool_reserved(t.nodes, t.n, i, POOL_CPU)));
		json_object_set_new(p, "reserved_mem_mib", json_integer(pool_reserved(t.nodes, t.n, i, POOL_MEM)));
		json_object_set_new(p, "vms", json_integer(vms[i]));
		json_object_set_new(p, "vms_running", json_integer(running[i]));
		json_array_append_new(list, p);
	}
	json_t *view = json_pack(
	    "{s:{s:O, s:O, s:I, s:I, s:I, s:I, s:i, s:i}, s:o}", "cluster", "id", json_object_get(t.docs[0], "id"),
	    "name", json_object_get(t.docs[0], "name"), "capacity_cpu_pct", (json_int_t)t.nodes[0].reservation[POOL_CPU],
	    "capacity_mem_mib", (json_int_t)t.nodes[0].reservation[POOL_MEM], "reserved_cpu_pct",
	    (json_int_t)pool_reserved(t.nodes, t.n, 0, POOL_CPU), "reserved_mem_mib",
	    (json_int_t)pool_reserved(t.nodes, t.n, 0, POOL_MEM), "vms", vms[0], "vms_running", running[0], "pools", list);
	free(vms);
	free(running);
	pools_free(&t);
	if (!view)
		errinfo_set(e, 500, "internal", NULL, "out of memory");
	return view;
}

static int depth_of(const struct pool_tree *t, int i)
{
	int d = 0;
	while (i > 0 && d <= t->n) {
		i = t->nodes[i].parent;
		d++;
	}
	return d;
}

int pools_check_with(struct store *st, const char *cluster_id, const json_t *doc, struct errinfo *e)
{
	struct pool_tree t;
	if (load(st, cluster_id, NULL, 1, &t, NULL, NULL, e) < 0)
		return -1;
	int i = pools_index(&t, str(doc, "id"));
	if (i <= 0)
		i = t.n++;
	else
		json_decref(t.docs[i]);
	t.docs[i] = json_incref((json_t *)doc);
	int64_t keep[POOL_NRES];
	memcpy(keep, t.nodes[i].vms_reserved, sizeof(keep));
	node_settings(doc, &t.nodes[i]);
	memcpy(t.nodes[i].vms_reserved, keep, sizeof(keep));
	/* Parents by id, and a cycle seen as one (pools_index finds the pool
	 * itself when it names itself). */
	for (int k = 1; k < t.n; k++) {
		const char *pid = str(t.docs[k], "parent_id");
		int p = pools_index(&t, pid);
		t.nodes[k].parent = p < 0 ? 0 : p;
	}
	struct pool_verdict v;
	int rc = 0;
	if (!pool_tree_valid(t.nodes, t.n, &v))
		rc = errinfo_set(e, 409, "pool_invalid", NULL, "%s", v.reason);
	for (int k = 1; k < t.n && !rc; k++)
		if (depth_of(&t, k) > POOLS_MAX_DEPTH)
			rc = errinfo_set(e, 409, "pool_invalid", "parent", "pool '%s' would be %d levels deep; pools nest at "
			                 "most %d deep", t.nodes[k].name, depth_of(&t, k), POOLS_MAX_DEPTH);
	pools_free(&t);
	return rc;
}

int pools_host_admit(struct store *st, const char *host_id, const char *vm_id, const int64_t need[POOL_NRES],
                     struct errinfo *e)
{
	if (need[POOL_CPU] <= 0 && need[POOL_MEM] <= 0)
		return 0;
	json_t *host = store_get(st, STORE_HOST, host_id, e);
	if (!host)
		return -1;
	struct store_filter f = {"host_id", host_id};
	json_t *vms = store_list_all(st, STORE_VM, &f, 1, e);
	if (!vms) {
		json_decref(host);
		return -1;
	}
	const json_t *c = json_object_get(host, "capacity");
	int64_t cap[POOL_NRES] = {100 * json_integer_value(json_object_get(c, "cpus")),
	                          json_integer_value(json_object_get(c, "memory_mib"))};
	int64_t reserved[POOL_NRES] = {0, 0};
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm) {
		if (!pools_vm_holds(vm) || (vm_id && !strcmp(str(vm, "id") ?: "", vm_id)))
			continue;
		int64_t n[POOL_NRES];
		pools_vm_need(vm, n);
		for (int r = 0; r < POOL_NRES; r++)
			reserved[r] += n[r];
	}
	struct pool_verdict v;
	int rc = pool_host_fits(str(host, "name") ?: "?", cap, reserved, need, &v)
	             ? 0 : errinfo_set(e, 409, "host_reservation", "host", "%s", v.reason);
	json_decref(vms);
	json_decref(host);
	return rc;
}

int pools_admit_vm(struct store *st, const json_t *vm, const char *pool_id, const int64_t need[POOL_NRES],
                   const char *host_id, struct errinfo *e)
{
	const char *id = str(vm, "id");
	if (pools_admit(st, str(vm, "cluster_id") ?: "", id, pool_id, need, e) < 0)
		return -1;
	host_id = host_id ? host_id : str(vm, "host_id");
	return host_id ? pools_host_admit(st, host_id, id, need, e) : 0;
}
