/* api_migrate.c - POST /api/v1/vms/{id}/migrate: a running VM moves to
 * another host of its cluster while it runs (ops/task_migrate.c does it).
 * The destination is placement's choice, with its reasons, or the host
 * asked for if it passes every filter placement applies. A system
 * administrator's operation: it names hosts. ?dry_run=true answers the
 * choice alone. */
#include "api.h"

#include "auth.h"
#include "migrations.h"
#include "place.h"
#include "pools.h"
#include "task_ops.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

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
	static const char *const keys[] = {"host", "cold", NULL};
	struct jv_err jerr = {0};
	const char *host_ref = NULL;
	bool cold = false;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "host", false, 63, &host_ref, &jerr) < 0 ||
	    jv_bool(body, "", "cold", false, &cold, &jerr) < 0) {
		mgr_refuse_jv(req, "vm.migrate", "vm", str(vm, "id"), &jerr);
		goto out;
	}
	const char *name = str(vm, "name"), *ps = str(vm, "power_state") ?: "";
	bool live_ok = !strcmp(ps, "running") || !strcmp(ps, "paused");
	if (!live_ok && !(cold && (!strcmp(ps, "stopped") || !strcmp(ps, "crashed")))) {
		errinfo_set(&e, 409, "invalid_state", NULL,
		            cold ? "VM '%s' is %s; a cold migration moves a running, paused or stopped VM"
		                 : "VM '%s' is %s; only a running or paused VM migrates live (move a stopped VM with "
		                   "\"cold\": true)",
		            name, ps);
		mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		goto out;
	}
	if (migration_under_way(m->st, vm)) {
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
	if (!(preq = migration_placement_request(vm, asked ? str(asked, "id") : NULL))) {
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
	/* The VM's reservation is a promise of its host's capacity: the new
	 * host must be able to keep it. */
	int64_t need[POOL_NRES];
	pools_vm_need(vm, need);
	if (pools_vm_holds(vm) && pools_host_admit(m->st, str(host, "id"), str(vm, "id"), need, &e) < 0) {
		pools_count_refusal(m, &e);
		mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		goto out;
	}
	/* The cluster's limit per host, on both ends: a host's link and CPU
	 * carry that many at once. */
	int limit = migration_limit_per_host(m->st, str(host, "cluster_id"));
	const char *ends[] = {str(vm, "host_id"), str(host, "id")};
	for (int k = 0; k < 2; k++) {
		int busy = migrations_on_host(m->st, ends[k] ?: "");
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
	/* And the cluster's limit in all: the migration network is shared. */
	const char *cid = str(host, "cluster_id");
	int climit = migration_limit_per_cluster(m->st, cid), cbusy = migrations_in_cluster(m->st, cid);
	if (cbusy >= climit) {
		json_t *c = store_get(m->st, STORE_CLUSTER, cid ?: "", &(struct errinfo){0});
		errinfo_set(&e, 409, "too_many_migrations", NULL,
		            "cluster %s has %d migration%s under way, its limit (migration.max_per_cluster %d); wait for "
		            "one to end", str(c, "name") ?: "?", cbusy, cbusy == 1 ? "" : "s", climit);
		json_decref(c);
		mgr_refuse(req, "vm.migrate", "vm", str(vm, "id"), &e);
		goto out;
	}
	if (http_query_flag(req, "dry_run")) {
		http_reply_json(req, 200, json_pack("{s:b, s:O, s:O}", "dry_run", 1, "host", json_object_get(host, "name"),
		                                    "placement", report));
		goto out;
	}
	/* The task and the VM's record of the migration commit together. */
	const char *id = str(vm, "id");
	if (!(task = migration_enqueue(m->st, vm, host, str(report, "summary"), mgr_actor(req), NULL, cold, &e))) {
		mgr_refuse(req, "vm.migrate", "vm", id, &e);
		goto out;
	}
	char detail[600];
	snprintf(detail, sizeof(detail), "to %s: %s", str(host, "name"), str(report, "summary") ?: "");
	mgr_event(m, mgr_actor(req), "vm.migrate", "vm", id, "accepted", detail);
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", str(task, "id"));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:O, s:O}", "task", task, "placement", report));
out:
	json_decref(task);
	json_decref(preq);
	json_decref(report);
	json_decref(asked);
	json_decref(host);
	json_decref(body);
	json_decref(vm);
}
