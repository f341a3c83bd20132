/* api_pools.c - resource pools: create, change and delete a cluster's
 * pools (administrators), the tree of one cluster with what is reserved
 * where, and a VM's pool and reservations. A pool's list and get are
 * api_inventory.c's. Every decision runs on the API's one thread, reading
 * and writing the store in the same turn, so that a burst of requests is
 * decided one after the other on the same tree. */
#include "api.h"

#include "agent_async.h"
#include "agent_client.h"
#include "auth.h"
#include "log.h"
#include "pools.h"
#include "resources.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* "parent" as given (a name or id) to the parent's id in doc's cluster;
 * absent: under the root. 0, or -1 with e. */
static int bind_parent(struct store *st, json_t *doc, struct errinfo *e)
{
	const char *ref = str(doc, "parent");
	if (!ref) {
		json_object_del(doc, "parent");
		return 0;
	}
	struct errinfo ge = {0};
	json_t *p = store_get(st, STORE_POOL, ref, &ge);
	if (!p)
		return ge.status == 404 ? errinfo_set(e, 400, "invalid_request", "parent", "no pool '%s' (GET /api/v1/pools)", ref)
		                        : (*e = ge, -1);
	int rc = 0;
	if (strcmp(str(p, "cluster_id") ?: "", str(doc, "cluster_id") ?: ""))
		rc = errinfo_set(e, 400, "invalid_request", "parent", "pool '%s' is in another cluster; a pool's parent is "
		                 "a pool of its own cluster", ref);
	else
		json_object_set(doc, "parent_id", json_object_get(p, "id"));
	json_object_del(doc, "parent");
	json_decref(p);
	return rc;
}

/* Tells the hosts of the pool's cluster its new settings, so that the
 * cgroup level of the pool follows at once on every host where it exists
 * (a host that misses it gets them at its VMs' next start). */
struct pool_push {
	char pool[64], host[64];
};

static void pushed(struct mgr *m, void *ctx, struct agent_reply *r)
{
	struct pool_push *p = ctx;
	if (r->status != 200)
		log_warn("pool_push_failed", "pool=%s host=%s status=%ld error=%s", p->pool, p->host, r->status,
		         log_quote(r->status ? agent_error_message(r->json) : r->e.message));
	free(p);
}

static void push_to_hosts(struct mgr *m, const json_t *pool)
{
	struct errinfo e = {0};
	json_t *chain = pools_chain(m->st, str(pool, "id"), &e);
	struct store_filter f = {"cluster_id", str(pool, "cluster_id")};
	json_t *hosts = chain ? store_list_all(m->st, STORE_HOST, &f, 1, &e) : NULL;
	json_t *body = json_pack("{s:O}", "pool", chain);
	size_t i;
	json_t *h;
	json_array_foreach(hosts, i, h) {
		if (strcmp(str(h, "state") ?: "", "connected") && strcmp(str(h, "state") ?: "", "maintenance"))
			continue;
		struct pool_push *p = calloc(1, sizeof(*p));
		if (!p)
			break;
		snprintf(p->pool, sizeof(p->pool), "%s", str(pool, "name") ?: "?");
		snprintf(p->host, sizeof(p->host), "%s", str(h, "name") ?: "?");
		struct errinfo ce = {0};
		if (agent_async_call(m, str(h, "id"), "PUT", "/api/v1/pools", body, 10, NULL, pushed, p, &ce) < 0) {
			log_warn("pool_push_failed", "pool=%s host=%s error=%s", p->pool, p->host, log_quote(ce.message));
			free(p);
		}
	}
	if (!chain || !hosts)
		log_warn("pool_push_failed", "pool=%s error=%s", str(pool, "name") ?: "?", log_quote(e.message));
	json_decref(body);
	json_decref(hosts);
	json_decref(chain);
}

void api_pools_create(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct jv_err jerr = {0};
	json_t *doc = resource_parse_pool(body, &jerr), *cluster = NULL, *stored = NULL;
	struct errinfo e = {0};
	if (!doc) {
		mgr_refuse_jv(req, "pool.create", "pool", str(body, "name"), &jerr);
		json_decref(body);
		return;
	}
	json_decref(body);
	char id[37];
	mgr_uuid(id);
	json_object_set_new(doc, "id", json_string(id));
	struct errinfo ge = {0};
	if (!(cluster = store_get(m->st, STORE_CLUSTER, str(doc, "cluster"), &ge))) {
		if (ge.status == 404)
			errinfo_set(&e, 400, "invalid_request", "cluster", "no cluster '%s' (GET /api/v1/clusters)",
			            str(doc, "cluster"));
		else
			e = ge;
		goto fail;
	}
	json_object_set(doc, "cluster_id", json_object_get(cluster, "id"));
	json_object_del(doc, "cluster");
	if (store_begin(m->st, &e) < 0)
		goto fail;
	if (bind_parent(m->st, doc, &e) < 0 || pools_check_with(m->st, str(doc, "cluster_id"), doc, &e) < 0 ||
	    store_create(m->st, STORE_POOL, doc, &stored, &e) < 0 ||
	    store_event_add(m->st, mgr_actor(req), "pool.create", "pool", id, "succeeded", str(doc, "name"), &e) < 0 ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		goto fail;
	}
	log_info("audit", "actor=%s action=pool.create target=pool/%s outcome=succeeded", mgr_actor(req), id);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/pools/%s", id);
	http_add_header(req, "Location", loc);
	http_reply_json(req, 201, stored);
	stored = NULL;
	goto out;
fail:
	mgr_refuse(req, "pool.create", "pool", str(doc, "name"), &e);
out:
	json_decref(doc);
	json_decref(cluster);
	json_decref(stored);
}

/* "cpu_shares 100 -> 200, mem_limit_mib none -> 4096": the event's detail. */
static void describe(const json_t *was, const json_t *now, char *buf, size_t n)
{
	static const char *const keys[] = {"cpu_shares", "cpu_reservation_pct", "cpu_limit_pct",
	                                   "mem_reservation_mib", "mem_limit_mib", "expandable"};
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && o < n; i++) {
		json_t *a = json_object_get(was, keys[i]), *b = json_object_get(now, keys[i]);
		if ((!a && !b) || (a && b && json_equal(a, b)))
			continue;
		char x[32], y[32];
		snprintf(x, sizeof(x), "%s", !a ? "none" : json_is_boolean(a) ? (json_is_true(a) ? "true" : "false") : "");
		snprintf(y, sizeof(y), "%s", !b ? "none" : json_is_boolean(b) ? (json_is_true(b) ? "true" : "false") : "");
		if (json_is_integer(a))
			snprintf(x, sizeof(x), "%lld", (long long)json_integer_value(a));
		if (json_is_integer(b))
			snprintf(y, sizeof(y), "%lld", (long long)json_integer_value(b));
		o += (size_t)snprintf(buf + o, n - o, "%s%s %s -> %s", o ? ", " : "", keys[i], x, y);
	}
	if (!json_equal(json_object_get(was, "description") ?: json_null(), json_object_get(now, "description") ?: json_null()) && o < n)
		o += (size_t)snprintf(buf + o, n - o, "%sdescription changed", o ? ", " : "");
	if (!buf[0])
		snprintf(buf, n, "no change");
}

/* The tree and the pool's running VMs can keep the change. */
static int check_pool(struct mgr *m, const json_t *was, json_t *doc, struct errinfo *e)
{
	return pools_check_with(m->st, str(was, "cluster_id"), doc, e);
}

void api_pools_update(struct http_req *req)
{
	static const struct mgr_update u = {STORE_POOL, "pool.update", "pool", resource_parse_pool_update, check_pool,
	                                    describe};
	json_t *stored = mgr_update_object(req, &u);
	if (!stored)
		return;
	push_to_hosts(http_app(req), stored);
	http_reply_json(req, 200, stored);
}

/* What still is in the pool: child pools, VMs. 409 naming them. */
static int pool_in_use(struct store *st, const json_t *pool, struct errinfo *e)
{
	struct store_filter f = {"parent_id", str(pool, "id")};
	int64_t children = store_count(st, STORE_POOL, &f, 1, e);
	if (children < 0)
		return -1;
	struct store_filter vf = {"cluster_id", str(pool, "cluster_id")};
	json_t *vms = store_list_all(st, STORE_VM, &vf, 1, e);
	if (!vms)
		return -1;
	int64_t n = 0;
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm)
		n += !strcmp(str(vm, "pool_id") ?: "", str(pool, "id"));
	json_decref(vms);
	if (children || n)
		return errinfo_set(e, 409, "in_use", NULL, "pool '%s' holds %lld child pool%s and %lld VM%s; move them out "
		                   "first (POST /api/v1/vms/{id}/pool)", str(pool, "name"), (long long)children,
		                   children == 1 ? "" : "s", (long long)n, n == 1 ? "" : "s");
	return 0;
}

void api_pools_delete(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	json_t *pool = NULL;
	if (store_begin(m->st, &e) < 0 || !(pool = store_get(m->st, STORE_POOL, http_param(req, "id"), &e)) ||
	    pool_in_use(m->st, pool, &e) < 0 || store_delete(m->st, STORE_POOL, str(pool, "id"), &e) < 0 ||
	    store_event_add(m->st, mgr_actor(req), "pool.delete", "pool", str(pool, "id"), "succeeded",
	                    str(pool, "name"), &e) < 0 ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		mgr_refuse(req, "pool.delete", "pool", pool ? str(pool, "id") : http_param(req, "id"), &e);
		json_decref(pool);
		return;
	}
	json_decref(pool);
	http_reply_text(req, 204, "text/plain", strdup(""), 0);
}

void pools_count_refusal(struct mgr *m, const struct errinfo *e)
{
	int i = !strcmp(e->code, "pool_reservation") ? 0 : !strcmp(e->code, "host_reservation") ? 1
	        : !strcmp(e->code, "ha_admission")                                       ? 2
	                                                                                 : -1;
	if (i < 0)
		return;
	pthread_mutex_lock(&m->lock);
	m->admission_refused[i]++;
	pthread_mutex_unlock(&m->lock);
}

void api_clusters_pools(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	json_t *cluster = store_get(m->st, STORE_CLUSTER, http_param(req, "id"), &e);
	json_t *view = cluster ? pools_tree_view(m->st, str(cluster, "id"), &e) : NULL;
	json_decref(cluster);
	if (!view)
		mgr_reply_err(req, &e);
	else
		http_reply_json(req, 200, view);
}

/* The pool a VM asks for ("pool": name or id, null for the root) as an
 * id ("" for the root) in out; the VM's own when not asked. 0, or -1 with
 * e. */
static int wanted_pool(struct store *st, const json_t *vm, const json_t *asked, char out[37], struct errinfo *e)
{
	json_t *p = json_object_get(asked, "pool");
	if (!p) {
		snprintf(out, 37, "%s", str(vm, "pool_id") ?: "");
		return 0;
	}
	if (json_is_null(p)) {
		out[0] = '\0';
		return 0;
	}
	struct errinfo ge = {0};
	json_t *pool = store_get(st, STORE_POOL, json_string_value(p), &ge);
	if (!pool)
		return ge.status == 404 ? errinfo_set(e, 400, "invalid_request", "pool", "no pool '%s' (GET /api/v1/pools)",
		                                      json_string_value(p))
		                        : (*e = ge, -1);
	int rc = 0;
	if (strcmp(str(pool, "cluster_id") ?: "", str(vm, "cluster_id") ?: ""))
		rc = errinfo_set(e, 400, "invalid_request", "pool", "pool '%s' is in another cluster than VM '%s'; a VM's "
		                 "pool is one of its cluster's", json_string_value(p), str(vm, "name"));
	else
		snprintf(out, 37, "%s", str(pool, "id"));
	json_decref(pool);
	return rc;
}

/* POST /api/v1/vms/{id}/pool {"pool"?, "cpu_reservation_pct"?,
 * "mem_reservation_mib"?}: a VM moves between pools, or its reservations
 * change. A VM that runs is admitted in its new pool and on its host
 * first; the record changes at once (so the next decision counts it),
 * and when the pool changed, a vm.pool_move task makes the host follow. */
void api_vms_pool(struct http_req *req)
{
	struct mgr *m = http_app(req);
	/* Another project's VM is absent (404) before anything else; a VM the
	 * caller sees is put in a pool by system administrators only. */
	json_t *vm = mgr_get_visible(req, STORE_VM, http_param(req, "id"));
	if (!vm)
		return;
	if (mgr_scope(req)) {
		http_reply_error(req, 403, "forbidden", NULL, "only a system administrator puts VMs in resource pools or "
		                 "reserves capacity for them (a reservation is a promise of the cluster's); ask one");
		json_decref(vm);
		return;
	}
	json_t *body = http_body_json(req, 0);
	if (!body) {
		json_decref(vm);
		return;
	}
	json_t *asked = json_object(), *upd = NULL, *task = NULL;
	struct jv_err jerr = {0};
	struct errinfo e = {0};
	if (resource_parse_vm_pool(body, asked, &jerr) < 0) {
		json_decref(body);
		json_decref(asked);
		mgr_refuse_jv(req, "vm.pool", "vm", str(vm, "id"), &jerr);
		json_decref(vm);
		return;
	}
	json_decref(body);
	const char *ps = str(vm, "power_state") ?: "";
	if (!strcmp(ps, "creating") || !strcmp(ps, "deleting") || json_is_object(json_object_get(vm, "migration"))) {
		errinfo_set(&e, 409, "busy", NULL, "VM '%s' is %s; wait for its task to finish", str(vm, "name"),
		            json_is_object(json_object_get(vm, "migration")) ? "migrating" : ps);
		goto fail;
	}
	char to[37];
	if (wanted_pool(m->st, vm, asked, to, &e) < 0)
		goto fail;
	upd = json_deep_copy(vm);
	json_t *cfg = json_object_get(upd, "config");
	static const char *const res_keys[] = {"cpu_reservation_pct", "mem_reservation_mib"};
	for (int i = 0; i < 2; i++)
		if (json_object_get(asked, res_keys[i]))
			json_object_set(cfg, res_keys[i], json_object_get(asked, res_keys[i]));
	if (*to)
		json_object_set_new(upd, "pool_id", json_string(to));
	else
		json_object_del(upd, "pool_id");
	const char *from = str(vm, "pool_id") ?: "";
	bool moved = strcmp(from, to) != 0;
	int64_t need[POOL_NRES];
	pools_vm_need(upd, need);
	if (store_begin(m->st, &e) < 0)
		goto fail;
	if ((pools_vm_holds(vm) && pools_admit_vm(m->st, vm, to, need, NULL, &e) < 0) ||
	    store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), NULL, &e) < 0)
		goto rollback;
	if (moved && str(vm, "host_id")) {
		json_t *args = json_pack("{s:s?, s:s?}", "from_pool_id", *from ? from : NULL, "to_pool_id", *to ? to : NULL);
		if (!(task = task_new(m->st, "vm.pool_move", "vm", str(vm, "id"), str(vm, "name"), str(vm, "project_id"),
		                      mgr_actor(req), args, &e)))
			goto rollback;
	}
	char detail[160];
	snprintf(detail, sizeof(detail), "pool %s -> %s, reservations %lld%% CPU, %lld MiB", *from ? from : "(root)",
	         *to ? to : "(root)", (long long)need[POOL_CPU], (long long)need[POOL_MEM]);
	if (store_event_add(m->st, mgr_actor(req), "vm.pool", "vm", str(vm, "id"), "succeeded", detail, &e) < 0 ||
	    store_commit(m->st, &e) < 0)
		goto rollback;
	log_info("audit", "actor=%s action=vm.pool target=vm/%s outcome=succeeded", mgr_actor(req), str(vm, "id"));
	if (task) {
		tasks_wake(m);
		char loc[96];
		snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", str(task, "id"));
		http_add_header(req, "Location", loc);
		http_reply_json(req, 202, json_pack("{s:o}", "task", task));
		task = NULL;
	} else {
		json_t *now = store_get(m->st, STORE_VM, str(vm, "id"), &e);
		if (now)
			http_reply_json(req, 200, now);
		else
			mgr_reply_err(req, &e);
	}
	goto out;
rollback:
	store_rollback(m->st);
fail:
	pools_count_refusal(m, &e);
	mgr_refuse(req, "vm.pool", "vm", str(vm, "id"), &e);
out:
	json_decref(asked);
	json_decref(vm);
	json_decref(upd);
	json_decref(task);
}
