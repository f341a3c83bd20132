/* api_migrate.c - POST /api/v1/vms/{id}/migrate: a running VM moves to
 * another host of its cluster while it runs (ops/task_migrate.c does it).
 * The destination is placement's choice, with its reasons, or the host
 * asked for if it passes every filter placement applies. A system
 * administrator's operation: it names hosts. ?dry_run=true answers the
 * choice alone. */
#include "api.h"

#include "auth.h"
#include "place.h"
#include "task_ops.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* A migration recorded on the VM whose task still runs (or waits). */
static bool migration_under_way(struct mgr *m, const json_t *vm)
{
	const char *task_id = str(json_object_get(vm, "migration"), "task_id");
	if (!task_id)
		return false;
	json_t *task = store_get(m->st, STORE_TASK, task_id, &(struct errinfo){0});
	const char *st = str(task, "state") ?: "";
	bool live = !strcmp(st, "queued") || !strcmp(st, "running");
	json_decref(task);
	return live;
}

/* Migrations under way (queued or running) from or to host_id. */
static int migrations_on_host(struct mgr *m, const char *host_id)
{
	int n = 0;
	static const char *const states[] = {"queued", "running"};
	for (int k = 0; k < 2; k++) {
		struct store_filter f[] = {{"op", "vm.migrate"}, {"state", states[k]}};
		json_t *tasks = store_list_all(m->st, STORE_TASK, f, 2, &(struct errinfo){0});
		size_t i;
		json_t *t;
		json_array_foreach(tasks, i, t) {
			const json_t *a = json_object_get(t, "args");
			n += !strcmp(str(a, "from_host_id") ?: "", host_id) || !strcmp(str(a, "to_host_id") ?: "", host_id);
		}
		json_decref(tasks);
	}
	return n;
}

/* The cluster's limit of migrations under way per host. */
static int max_per_host(struct mgr *m, const char *cluster_id)
{
	json_t *c = store_get(m->st, STORE_CLUSTER, cluster_id ?: "", &(struct errinfo){0});
	json_int_t n = json_integer_value(json_object_get(json_object_get(c, "migration"), "max_per_host"));
	json_decref(c);
	return n > 0 ? (int)n : 2;
}

/* Placement's question for the VM as it is: its size, datastore,
 * networks, rules and cluster, away from the host it runs on. */
static json_t *placement_request(const json_t *vm, const char *only_host)
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
	return q;
}

void api_vms_migrate(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *vm = NULL, *body = NULL, *host = NULL, *asked = NULL, *report = NULL, *preq = NULL, *task = NULL;
	struct errinfo e = {0};
	/* Another project's VM is absent (404) before anything else; a VM the
	 * caller sees is moved by system administrators only: it names hosts. */
	if (!(vm = mgr_get_visible(req, STORE_VM, http_param(req, "id"))))
		goto out;
	if (mgr_scope(req)) {
		http_reply_error(req, 403, "forbidden", NULL,
		                 "only a system administrator migrates VMs (a migration names hosts, which are "
		                 "theirs to see); ask one");
		goto out;
	}
	if (!(body = http_body_json(req, 1)))
		goto out;
	static const char *const keys[] = {"host", NULL};
	struct jv_err jerr = {0};
	const char *host_ref = NULL;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "host", false, 63, &host_ref, &jerr) < 0) {
		mgr_refuse_jv(req, "vm.migrate", "vm", str(vm, "id"), &jerr);
		goto out;
	}
	const char *name = str(vm, "name"), *ps = str(vm, "power_state") ?: "";
	if (strcmp(ps, "running") && strcmp(ps, "paused")) {
		errinfo_set(&e, 409, "invalid_state", NULL,
		            "VM '%s' is %s; only a running or paused VM migrates live (start it, or move a stopped "
		            "VM by starting it where you want it)", name, ps);
		mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		goto out;
	}
	if (migration_under_way(m, vm)) {
		errinfo_set(&e, 409, "migration_running", NULL, "VM '%s' is being migrated already (task %s); wait for it "
		            "or cancel it", name, str(json_object_get(vm, "migration"), "task_id"));
		mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		goto out;
	}
	if (host_ref && !(asked = store_get(m->st, STORE_HOST, host_ref, &(struct errinfo){0}))) {
		errinfo_set(&e, 404, "not_found", "host", "host: no host '%s'", host_ref);
		mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		goto out;
	}
	if (asked && !strcmp(str(asked, "id") ?: "", str(vm, "host_id") ?: "")) {
		errinfo_set(&e, 409, "same_host", "host", "VM '%s' runs on %s already", name, str(asked, "name"));
		mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		goto out;
	}
	if (!(preq = placement_request(vm, asked ? str(asked, "id") : NULL))) {
		errinfo_set(&e, 500, "internal", NULL, "out of memory");
		mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		goto out;
	}
	if (place_vm(m->st, preq, &host, &report, &e) < 0) {
		if (report) { /* no fit: the reasons go with the refusal */
			json_t *err = json_pack("{s:s, s:s, s:O}", "code", e.code, "message", e.message, "placement", report);
			mgr_event(m, mgr_actor(req), "vm.migrate", "vm", str(vm, "id"), "refused", e.message);
			http_reply_json(req, 409, json_pack("{s:o}", "error", err));
		} else {
			mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		}
		goto out;
	}
	/* The cluster's limit per host, on both ends: a host's link and CPU
	 * carry that many at once. */
	int limit = max_per_host(m, str(host, "cluster_id"));
	const char *ends[] = {str(vm, "host_id"), str(host, "id")};
	for (int k = 0; k < 2; k++) {
		int busy = migrations_on_host(m, ends[k] ?: "");
		if (busy >= limit) {
			json_t *h = k ? json_incref(host) : store_get(m->st, STORE_HOST, ends[k] ?: "", &(struct errinfo){0});
			errinfo_set(&e, 409, "too_many_migrations", NULL,
			            "host %s has %d migration%s under way, the cluster's limit (migration.max_per_host %d); "
			            "wait for one to end", str(h, "name") ?: "?", busy, busy == 1 ? "" : "s", limit);
			json_decref(h);
			mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
			goto out;
		}
	}
	if (http_query_flag(req, "dry_run")) {
		http_reply_json(req, 200, json_pack("{s:b, s:O, s:O}", "dry_run", 1, "host", json_object_get(host, "name"),
		                                    "placement", report));
		goto out;
	}
	/* The task and the VM's record of the migration commit together. */
	const char *id = str(vm, "id");
	if (store_begin(m->st, &e) < 0)
		goto fail;
	if (!(task = task_new(m->st, "vm.migrate", "vm", id, name, str(vm, "project_id"), mgr_actor(req),
	                      json_pack("{s:O, s:O, s:O, s:O}", "to_host_id", json_object_get(host, "id"), "to_host",
	                                json_object_get(host, "name"), "from_host_id", json_object_get(vm, "host_id"),
	                                "placement_summary", json_object_get(report, "summary")),
	                      &e)))
		goto fail;
	json_t *upd = json_deep_copy(vm);
	json_object_set_new(upd, "migration",
	                    json_pack("{s:O, s:O, s:s, s:O}", "from_host_id", json_object_get(vm, "host_id"), "to_host_id",
	                              json_object_get(host, "id"), "phase", "queued", "task_id", json_object_get(task, "id")));
	int rc = store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), NULL, &e);
	json_decref(upd);
	if (rc < 0 || store_commit(m->st, &e) < 0)
		goto fail;
	char detail[600];
	snprintf(detail, sizeof(detail), "to %s: %s", str(host, "name"), str(report, "summary") ?: "");
	mgr_event(m, mgr_actor(req), "vm.migrate", "vm", id, "accepted", detail);
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", str(task, "id"));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:O, s:O}", "task", task, "placement", report));
	goto out;
fail:
	store_rollback(m->st);
	mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
out:
	json_decref(task);
	json_decref(preq);
	json_decref(report);
	json_decref(asked);
	json_decref(host);
	json_decref(body);
	json_decref(vm);
}
