/* api_vms.c - VMs: create from a template (placement picks the host here, on
 * the loop thread, so allocations never race), power operations, snapshots
 * and delete as tasks (202), console tail proxied from the host (without
 * blocking the loop: see agent_async.h). */
#include "api.h"
#include "ha_admit.h"

#include "agent_async.h"
#include "pools.h"
#include "agent_client.h"
#include "auth.h"
#include "quota.h"
#include "log.h"
#include "migrations.h"
#include "place.h"
#include "resources.h"
#include "task_ops.h"

#include <stdlib.h>
#include <string.h>

/* A template or network a VM of project_id may use, by id or name: the
 * project's own or a shared one (the project's own first: it shadows a
 * shared one of the same name); others are reported as missing. A
 * cluster, which belongs to no project, by id or name. */
static json_t *lookup_field(struct mgr *m, enum store_kind k, const char *name, const char *field,
                            const char *project_id, struct errinfo *e)
{
	struct errinfo ge = {0};
	json_t *d = store_kind_scoped(k) ? mgr_find_for_project(m->st, k, name, project_id, &ge)
	                                 : store_get(m->st, k, name, &ge);
	if (!d) {
		if (ge.status == 404)
			errinfo_set(e, 400, "invalid_request", field, "%s: no %s named '%s'", field,
			            store_kind_name(k), name);
		else
			*e = ge;
	}
	return d;
}

/* 409 name_taken when project_id (NULL: none) has a VM of this name. */
static int vm_name_free(struct mgr *m, const char *name, const char *project_id, struct errinfo *e)
{
	char *docs[1], *owners[1];
	int n = store_find_name(m->st, STORE_VM, name, STORE_NAME_PROJECT, project_id, 1, docs, owners, e);
	for (int i = 0; i < n; i++) {
		free(docs[i]);
		free(owners[i]);
	}
	if (n > 0)
		return errinfo_set(e, 409, "name_taken", "name", "a VM named '%s' exists in this project; pick another name",
		                   name);
	return n < 0 ? -1 : 0;
}

/* 409 quota_exceeded with the numbers, for clients to act on. */
void api_reply_quota_refusal(struct http_req *req, const struct quota_refusal *r, const struct errinfo *e)
{
	json_t *err = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "code", e->code, "message", e->message, "field",
	                        quota_names[r->which], "project", r->project, "limit", (json_int_t)r->limit,
	                        "would_be", (json_int_t)r->would_be);
	http_reply_json(req, 409, json_pack("{s:o}", "error", err));
}

/* ?dry_run=true|false (as Kubernetes' dryRun): 1, 0, or -1 after a 400. */
static int dry_run_arg(struct http_req *req)
{
	const char *v = http_query(req, "dry_run");
	if (!v || !strcmp(v, "false") || !strcmp(v, "0"))
		return 0;
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		return 1;
	http_reply_error(req, 400, "invalid_query", "dry_run", "dry_run must be true or false, not '%s'", v);
	return -1;
}

/* A dry run's report as a caller who is no system administrator sees it:
 * whether and why, without which host. Hosts are the administrators' (GET
 * /api/v1/hosts is theirs), and a question answered with host names and
 * their free CPUs and memory would map the fleet for anyone who may create
 * a VM; a create shows where its own VM went, which is the member's to
 * know. So: no host named (host null, hosts_hidden true), no per-host list
 * (its reasons give other hosts' capacity and the members of rule groups),
 * and the summary without the chosen host's name. The counts stay. */
static void placement_hide_hosts(json_t *report)
{
	if (!report)
		return;
	const char *sum = json_string_value(json_object_get(report, "summary"));
	const char *rest = sum && !strncmp(sum, "placed on ", 10) ? strstr(sum + 10, " (") : NULL;
	if (rest) {
		size_t n = strlen(rest) + 16;
		char *s = malloc(n);
		if (s) {
			snprintf(s, n, "a host fits%s", rest);
			json_object_set_new(report, "summary", json_string(s));
			free(s);
		} else {
			json_object_set_new(report, "summary", json_string("a host fits"));
		}
	}
	json_object_set_new(report, "host", json_null());
	json_object_set_new(report, "hosts", json_array());
	json_object_set_new(report, "hosts_hidden", json_true());
}

/* A create's report as a caller who is no system administrator gets it
 * (the 202 answer and the task it keeps, which the project's members read):
 * the host its VM went to, which the VM shows anyway, and the counts; not
 * the other hosts' names, free capacity and reasons. */
static void placement_own_host_only(json_t *report)
{
	json_t *own = json_array(), *chosen = json_object_get(report, "host"), *h;
	size_t i;
	json_array_foreach(json_object_get(report, "hosts"), i, h)
		if (json_equal(json_object_get(h, "host"), chosen))
			json_array_append(own, h);
	json_object_set_new(report, "hosts", own);
	json_object_set_new(report, "hosts_hidden", json_true());
}

/* POST /api/v1/vms; with ?dry_run=true the same checks (body, project,
 * role, name, template, quota, placement) answer 200 with the VM as it
 * would be and placement's verdict (without host identities for all but
 * system administrators: placement_hide_hosts), and nothing is written: no
 * VM, no quota charge, no task, no audit event (a question is not an
 * action). */
/* The pool a create names (r's "pool"), in the cluster it names if any;
 * administrators only. NULL with e. */
static json_t *vm_create_pool(struct mgr *m, struct http_req *req, const json_t *r, const json_t *cluster,
                              struct errinfo *e)
{
	const char *ref = json_string_value(json_object_get(r, "pool"));
	if (mgr_scope(req)) {
		errinfo_set(e, 403, "forbidden", "pool", "only system administrators put VMs in resource pools");
		return NULL;
	}
	struct errinfo ge = {0};
	json_t *pool = store_get(m->st, STORE_POOL, ref, &ge);
	if (!pool) {
		if (ge.status == 404)
			errinfo_set(e, 400, "invalid_request", "pool", "no pool '%s' (GET /api/v1/pools)", ref);
		else
			*e = ge;
		return NULL;
	}
	if (cluster && !json_equal(json_object_get(pool, "cluster_id"), json_object_get(cluster, "id"))) {
		errinfo_set(e, 400, "invalid_request", "pool", "pool '%s' is not in cluster '%s'; give a pool of that "
		            "cluster, or no cluster (the pool's is used)", ref,
		            json_string_value(json_object_get(cluster, "name")));
		json_decref(pool);
		return NULL;
	}
	return pool;
}

void api_vms_create(struct http_req *req)
{
	struct mgr *m = http_app(req);
	int dry = dry_run_arg(req);
	if (dry < 0)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	json_t *project = NULL;
	if (mgr_create_project(req, body, false, &project) < 0) {
		if (!dry)
			mgr_event(m, mgr_actor(req), "vm.create", "vm",
			          json_string_value(json_object_get(body, "name")) ?: "?", "refused", "no project to create in");
		json_decref(body);
		return;
	}
	struct jv_err jerr = {0};
	json_t *r = resource_parse_vm_create(body, &jerr);
	if (!r) {
		json_decref(project);
		if (dry)
			mgr_reply_jv(req, &jerr);
		else
			mgr_refuse_jv(req, "vm.create", "vm", json_string_value(json_object_get(body, "name")), &jerr);
		json_decref(body);
		return;
	}
	json_decref(body);
	const char *pid = json_string_value(json_object_get(project, "id"));
	struct quota_refusal refusal = {.which = -1};
	struct errinfo e = {0};
	json_t *tmpl = NULL, *cluster = NULL, *host = NULL, *report = NULL, *vm = NULL, *task = NULL;
	json_t *disk_owned = NULL, *pool = NULL, *cdrom = NULL;
	json_t *nets = json_array(), *bridges = json_array();
	const char *name = json_string_value(json_object_get(r, "name"));
	char id[37];
	mgr_uuid(id);
	if (vm_name_free(m, name, pid, &e) < 0)
		goto fail;
	if (!(tmpl = lookup_field(m, STORE_TEMPLATE, json_string_value(json_object_get(r, "template")),
	                          "template", pid, &e)))
		goto fail;
	if (json_object_get(r, "cluster") &&
	    !(cluster = lookup_field(m, STORE_CLUSTER, json_string_value(json_object_get(r, "cluster")),
	                             "cluster", pid, &e)))
		goto fail;
	/* A pool and reservations are promises of the cluster's capacity:
	 * system administrators give them (POST /api/v1/vms/{id}/pool too). */
	if (json_string_value(json_object_get(r, "pool")) &&
	    (pool = vm_create_pool(m, req, r, cluster, &e)) == NULL)
		goto fail;
	if (mgr_scope(req) && json_object_get(r, "ha")) {
		errinfo_set(&e, 403, "forbidden", "ha", "only system administrators set a VM's HA restart priority (it "
		            "decides who gets a failed host's capacity first); the cluster's default applies");
		goto fail;
	}
	if (mgr_scope(req) && (json_integer_value(json_object_get(r, "cpu_reservation_pct")) ||
	                       json_integer_value(json_object_get(r, "mem_reservation_mib")))) {
		errinfo_set(&e, 403, "forbidden", "mem_reservation_mib",
		            "only system administrators reserve a cluster's capacity for a VM");
		goto fail;
	}
	size_t i;
	json_t *nn;
	json_array_foreach(json_object_get(r, "networks"), i, nn) {
		char field[32];
		snprintf(field, sizeof(field), "networks[%zu]", i);
		json_t *net = lookup_field(m, STORE_NETWORK, json_string_value(nn), field, pid, &e);
		if (!net)
			goto fail;
		int nbad = json_array_append_new(nets, json_pack("{s:O, s:O, s:O}", "name", json_object_get(net, "name"),
		                                                 "bridge", json_object_get(net, "bridge"), "vlan",
		                                                 json_object_get(net, "vlan")));
		nbad |= json_array_append(bridges, json_object_get(net, "bridge"));
		json_decref(net);
		if (nbad) { /* a VM without a network it asked for is not it */
			errinfo_set(&e, 500, "internal", NULL, "out of memory");
			goto fail;
		}
	}
	json_t *vc = json_object_get(r, "vcpus") ?: json_object_get(tmpl, "vcpus");
	json_t *mem = json_object_get(r, "memory_mib") ?: json_object_get(tmpl, "memory_mib");
	if (!json_object_get(tmpl, "image_id")) {
		errinfo_set(&e, 409, "template_outdated", "template",
		            "template '%s' names its image by a host path (it was made before the image library); "
		            "make it again from an image (POST /api/v1/images, then POST /api/v1/templates)",
		            json_string_value(json_object_get(tmpl, "name")));
		goto fail;
	}
	/* The CD-ROM drive: empty, or an ISO of the library the project may
	 * use, kept by name and id (the host gets it by id). */
	if (json_is_object(json_object_get(r, "cdrom")) && !(cdrom = vm_cdrom_config(m->st, json_object_get(r, "cdrom"), pid, "cdrom.image", &e)))
		goto fail;
	/* The disk is at least its image: that size is what the quota counts. */
	json_int_t image_mib = (json_integer_value(json_object_get(tmpl, "image_virtual_bytes")) + (1 << 20) - 1) >> 20;
	json_t *asked = json_object_get(r, "disk_size_mib") ?: json_object_get(tmpl, "disk_size_mib");
	if (asked && json_integer_value(asked) && json_integer_value(asked) < image_mib) {
		errinfo_set(&e, 400, "invalid_request", "disk_size_mib",
		            "disk_size_mib: %lld MiB is smaller than the image's %lld MiB; a disk made from an image "
		            "can only grow", (long long)json_integer_value(asked), (long long)image_mib);
		goto fail;
	}
	disk_owned = json_integer(asked && json_integer_value(asked) ? json_integer_value(asked) : image_mib);
	json_t *disk = disk_owned;
	json_t *ud = json_object_get(r, "user_data") ?: json_object_get(tmpl, "user_data");
	const char *ds = json_string_value(json_object_get(r, "datastore")) ?: "local";
	json_t *pg = json_object_get(r, "placement");
	json_t *preq = json_pack("{s:s, s:O, s:O, s:s, s:O, s:O, s:O}", "name", name, "vcpus", vc,
	                         "memory_mib", mem, "datastore", ds, "bridges", bridges, "affinity",
	                         json_object_get(pg, "affinity"), "anti_affinity",
	                         json_object_get(pg, "anti_affinity"));
	if (cluster || pool) /* a pool's VM runs in the pool's cluster */
		json_object_set(preq, "cluster_id", json_object_get(pool ?: cluster, pool ? "cluster_id" : "id"));
	if (pid) /* its rule groups are its project's */
		json_object_set_new(preq, "project_id", json_string(pid));
	/* Started at once, it needs a host that keeps its reservations. */
	for (int k = 0; k < 2 && json_is_true(json_object_get(r, "start")); k++) {
		static const char *const res_keys[] = {"cpu_reservation_pct", "mem_reservation_mib"};
		if (json_integer_value(json_object_get(r, res_keys[k])))
			json_object_set(preq, res_keys[k], json_object_get(r, res_keys[k]));
	}
	int64_t want[QUOTA_N] = {1, json_integer_value(vc), json_integer_value(mem), json_integer_value(disk)};
	if (quota_check(m->st, pid, want, &refusal, &e) < 0) {
		json_decref(preq);
		goto fail;
	}
	int prc = place_vm(m->st, preq, &host, &report, &e);
	json_decref(preq);
	if (prc < 0)
		goto fail;
	json_t *tref = json_pack("{s:O, s:O, s:O, s:O}", "id", json_object_get(tmpl, "id"), "name",
	                         json_object_get(tmpl, "name"), "image", json_object_get(tmpl, "image"),
	                         "image_id", json_object_get(tmpl, "image_id"));
	/* Every field is checked (memory may run out): a VM document without
	 * its boot images, agent_name, project or user data is another VM than
	 * asked for. */
	int bad = !tref;
	static const char *const boot_keys[] = {"kernel", "initrd", "cmdline", "kernel_id", "initrd_id"};
	for (int k = 0; k < 5; k++)
		if (json_object_get(tmpl, boot_keys[k]))
			bad |= json_object_set(tref, boot_keys[k], json_object_get(tmpl, boot_keys[k]));
	json_t *config = json_pack("{s:O, s:O, s:O, s:s, s:O, s:o}", "vcpus", vc, "memory_mib", mem,
	                           "disk_size_mib", disk, "datastore", ds,
	                           "networks", nets, "template", tref);
	bad |= !config;
	if (ud)
		bad |= json_object_set(config, "user_data", ud);
	if (json_object_get(r, "watchdog")) /* none: no such key */
		bad |= json_object_set(config, "watchdog", json_object_get(r, "watchdog"));
	/* Firmware and boot order: the request's, else the template's (an
	 * image that boots through UEFI); the defaults: no such key. */
	static const char *const fw_keys[] = {"firmware", "boot_order"};
	for (int k = 0; k < 2; k++) {
		const json_t *v = json_object_get(r, fw_keys[k]) ?: json_object_get(tmpl, fw_keys[k]);
		if (v)
			bad |= json_object_set(config, fw_keys[k], (json_t *)v);
	}
	if (json_is_object(json_object_get(r, "ready_probe"))) /* none: no such key */
		bad |= json_object_set(config, "ready_probe", json_object_get(r, "ready_probe"));
	if (cdrom) /* none: no such key */
		bad |= json_object_set(config, "cdrom", cdrom);
	/* Two projects may each have a VM of this name on one host: the host
	 * knows it by its id (36 characters: within the agent's 63 for a name
	 * and its 107-byte unix socket paths under the default run dir). */
	bad |= json_object_set_new(config, "agent_name", json_string(id));
	if (pid)
		bad |= json_object_set_new(config, "project", json_string(json_string_value(json_object_get(project, "name"))));
	/* The cluster's CPU baseline, kept by the VM: it runs with that CPU on
	 * any host of the cluster, so it can move to any of them. */
	json_t *hc = store_get(m->st, STORE_CLUSTER, json_string_value(json_object_get(host, "cluster_id")) ?: "",
	                       &(struct errinfo){0});
	if (json_string_value(json_object_get(hc, "cpu_baseline")))
		bad |= json_object_set(config, "cpu_model", json_object_get(hc, "cpu_baseline"));
	json_decref(hc);
	vm = json_pack("{s:s, s:s, s:O, s:O, s:O, s:s, s:s, s:o, s:O, s:{s:O, s:O}}", "id", id, "name",
	               name, "host_id", json_object_get(host, "id"), "cluster_id",
	               json_object_get(host, "cluster_id"), "template_id", json_object_get(tmpl, "id"),
	               "power_state", "creating", "desired_state",
	               json_is_true(json_object_get(r, "start")) ? "running" : "stopped", "config", config,
	               "placement_groups", pg, "placement", "host", json_object_get(host, "name"),
	               "summary", json_object_get(report, "summary"));
	/* The chosen host's reason and the counts stay with the VM (a few
	 * hundred bytes; the full report is the create task's). */
	json_t *chosen = json_array_get(json_object_get(report, "hosts"), 0);
	json_t *vpl = json_object_get(vm, "placement");
	if (json_equal(json_object_get(chosen, "host"), json_object_get(report, "host")))
		bad |= json_object_set(vpl, "reason", json_object_get(chosen, "reason"));
	bad |= json_object_set(vpl, "eligible", json_object_get(report, "eligible"));
	bad |= json_object_set(vpl, "hosts_total", json_object_get(report, "hosts_total"));
	bad |= json_object_set(vpl, "rejected", json_object_get(report, "rejected"));
	if (pid)
		bad |= json_object_set_new(vm, "project_id", json_string(pid));
	if (pool)
		bad |= json_object_set(vm, "pool_id", json_object_get(pool, "id"));
	if (json_object_get(r, "ha")) /* none: its cluster's default_priority */
		bad |= json_object_set(vm, "ha", json_object_get(r, "ha"));
	for (int k = 0; k < 2; k++) {
		static const char *const res_keys[] = {"cpu_reservation_pct", "mem_reservation_mib"};
		if (json_integer_value(json_object_get(r, res_keys[k])))
			bad |= json_object_set(config, res_keys[k], json_object_get(r, res_keys[k]));
	}
	if (bad || !vm) {
		errinfo_set(&e, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	/* Started at once, it holds its reservation from now: admitted in
	 * its pool and on its host as a power-on is. */
	int64_t need[POOL_NRES];
	pools_vm_need(vm, need);
	if (json_is_true(json_object_get(r, "start")) &&
	    (pools_admit_vm(m->st, vm, json_string_value(json_object_get(vm, "pool_id")), need, NULL, &e) < 0 ||
	     ha_admit_power_on(m->st, vm, &e) < 0)) {
		pools_count_refusal(m, &e);
		goto fail;
	}
	int64_t amounts[QUOTA_N];
	quota_of_vm(vm, amounts);
	if (dry) {
		/* Not made: no id, no state; quota_check above is the charge's check. */
		json_object_del(vm, "id");
		json_object_del(vm, "power_state");
		json_object_del(json_object_get(vm, "config"), "agent_name");
		if (mgr_scope(req)) { /* not a system administrator */
			json_object_del(vm, "host_id");
			json_object_del(json_object_get(vm, "placement"), "host");
			json_object_del(json_object_get(vm, "placement"), "reason");
			placement_hide_hosts(report);
			json_object_set(json_object_get(vm, "placement"), "summary", json_object_get(report, "summary"));
		}
		http_reply_json(req, 200, json_pack("{s:b, s:O, s:O}", "dry_run", 1, "vm", vm, "placement", report));
		goto cleanup;
	}
	if (mgr_scope(req))
		placement_own_host_only(report);
	json_t *stored = NULL;
	/* The allocation (the VM document with its host), the project's usage,
	 * the task and the audit event commit together: a crash leaves all or
	 * none, two creates cannot both take the last of a quota, and the event
	 * costs no commit of its own (a commit is most of a create's cost). */
	/* The task keeps where the VM went and why; the 202 carries the whole
	 * report. A task is read and rewritten at each of its steps, and the
	 * report's host list was most of its size. */
	const char *summary = json_string_value(json_object_get(report, "summary"));
	if (store_begin(m->st, &e) < 0 || quota_charge(m->st, pid, amounts, &refusal, &e) < 0 ||
	    store_create(m->st, STORE_VM, vm, &stored, &e) < 0 ||
	    !(task = task_new(m->st, "vm.create", "vm", id, name, pid, mgr_actor(req),
	                      json_pack("{s:O, s:{s:O?, s:O?, s:O?, s:O?}}", "start", json_object_get(r, "start"),
	                                "placement", "host", json_object_get(report, "host"), "summary",
	                                json_object_get(report, "summary"), "eligible",
	                                json_object_get(report, "eligible"), "hosts_total",
	                                json_object_get(report, "hosts_total")), &e)) ||
	    store_event_add(m->st, mgr_actor(req), "vm.create", "vm", id, "accepted", summary ?: "", &e) < 0 ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		json_decref(stored);
		goto fail;
	}
	log_info("audit", "actor=%s action=%s target=%s/%s outcome=%s", mgr_actor(req), "vm.create", "vm", id,
	         "accepted");
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", json_string_value(json_object_get(task, "id")));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:o, s:O, s:O}", "vm", stored, "task", task, "placement", report));
	goto cleanup;
fail:
	if (!dry)
		mgr_event(m, mgr_actor(req), "vm.create", "vm", name ? name : "?",
		          e.status && e.status < 500 ? "refused" : "failed", e.message);
	if (refusal.which >= 0) {
		api_reply_quota_refusal(req, &refusal, &e);
	} else if (report && e.status == 409 && !strcmp(e.code, "no_host")) {
		/* No host fits: show why, host by host (an administrator); to
		 * anyone else, the counts (a create refused would otherwise map
		 * the fleet as a dry run would). */
		if (mgr_scope(req))
			placement_hide_hosts(report);
		json_t *err = json_pack("{s:s, s:s, s:O}", "code", e.code, "message", e.message, "placement", report);
		http_reply_json(req, 409, json_pack("{s:o}", "error", err));
	} else {
		mgr_reply_err(req, &e);
	}
cleanup:
	json_decref(r);
	json_decref(project);
	json_decref(tmpl);
	json_decref(cluster);
	json_decref(pool);
	json_decref(host);
	json_decref(report);
	json_decref(vm);
	json_decref(task);
	json_decref(nets);
	json_decref(bridges);
	json_decref(disk_owned);
	json_decref(cdrom);
}

/* The route's VM if the caller sees it and holds `need` in its project;
 * NULL after replying (404 for a VM of another project, 403 for a role too
 * low). */
static json_t *vm_of_route(struct http_req *req, enum mgr_role need)
{
	json_t *vm = mgr_get_visible(req, STORE_VM, http_param(req, "id"));
	if (!vm)
		return NULL;
	if (mgr_require_role(req, json_string_value(json_object_get(vm, "project_id")),
	                     json_string_value(json_object_get(json_object_get(vm, "config"), "project")), need) < 0) {
		json_decref(vm);
		return NULL;
	}
	return vm;
}

/* The VM of the route, with a host to act on; NULL after replying. */
json_t *api_vm_for_action(struct http_req *req)
{
	json_t *vm = vm_of_route(req, ROLE_OPERATOR);
	if (!vm)
		return NULL;
	const char *ps = json_string_value(json_object_get(vm, "power_state")) ?: "";
	if (!strcmp(ps, "creating") || !strcmp(ps, "deleting")) {
		http_reply_error(req, 409, "busy", NULL, "VM '%s' is %s; wait for its task to finish",
		                 json_string_value(json_object_get(vm, "name")), ps);
		json_decref(vm);
		return NULL;
	}
	return vm;
}

/* What an operation asks the VM to become; NULL when it asks nothing. */
static const char *desired_after(const char *op)
{
	/* A reset asks nothing new: a running VM stays running, and a VM that
	 * is not running is refused one. */
	if (!strcmp(op, "vm.start") || !strcmp(op, "vm.resume"))
		return "running";
	if (!strcmp(op, "vm.stop") || !strcmp(op, "vm.destroy"))
		return "stopped";
	if (!strcmp(op, "vm.pause"))
		return "paused";
	return NULL;
}

void api_vm_queue(struct http_req *req, json_t *vm, const char *op, json_t *args, const char *new_state)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	const char *id = json_string_value(json_object_get(vm, "id"));
	json_t *task = NULL;
	if (store_begin(m->st, &e) < 0)
		goto fail;
	const char *want = desired_after(op);
	if (new_state || want) {
		json_t *upd = json_deep_copy(vm);
		if (new_state)
			json_object_set_new(upd, "power_state", json_string(new_state));
		if (want) {
			json_object_set_new(upd, "desired_state", json_string(want));
			json_object_set_new(upd, "in_sync", json_boolean(!strcmp(
			    json_string_value(json_object_get(vm, "power_state")) ?: "", want)));
		}
		int rc = store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), NULL, &e);
		json_decref(upd);
		if (rc < 0)
			goto fail;
	}
	/* What the VM was to be before: a refused operation puts it back. */
	const json_t *before = json_object_get(vm, "desired_state");
	if (want && json_is_object(args) && json_is_string(before))
		json_object_set(args, "desired_before", (json_t *)before);
	/* And what it was (a delete's "deleting" hides it): a task cancelled
	 * before it ran puts that back. */
	if (new_state && !args)
		args = json_object();
	if (new_state && json_is_object(args) && json_is_string(json_object_get(vm, "power_state")))
		json_object_set(args, "power_before", json_object_get(vm, "power_state"));
	json_t *owned = args; /* task_new takes it, whatever happens */
	args = NULL;
	if (!(task = task_new(m->st, op, "vm", id, json_string_value(json_object_get(vm, "name")),
	                      json_string_value(json_object_get(vm, "project_id")),
	                      mgr_actor(req), owned, &e)) ||
	    store_commit(m->st, &e) < 0)
		goto fail;
	mgr_event(m, mgr_actor(req), op, "vm", id, "accepted", NULL);
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", json_string_value(json_object_get(task, "id")));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:o}", "task", task));
	return;
fail:
	store_rollback(m->st);
	json_decref(args);
	json_decref(task);
	mgr_reply_err(req, &e);
}

void api_vms_power(struct http_req *req)
{
	const char *pattern = http_route_pattern(req);
	const char *action = strrchr(pattern, '/') + 1;
	json_t *args = json_object();
	if (!strcmp(action, "stop")) {
		json_t *body = http_body_json(req, 1);
		if (!body) {
			json_decref(args);
			return;
		}
		static const char *const keys[] = {"timeout_s", NULL};
		struct jv_err jerr = {0};
		int64_t to = 60;
		if (jv_only_keys(body, "", keys, &jerr) < 0 ||
		    jv_int(body, "", "timeout_s", false, 0, 3600, &to, &jerr) < 0) {
			json_decref(body);
			json_decref(args);
			mgr_reply_jv(req, &jerr);
			return;
		}
		json_decref(body);
		json_object_set_new(args, "timeout_s", json_integer(to));
	}
	json_t *vm = api_vm_for_action(req);
	if (!vm) {
		json_decref(args);
		return;
	}
	char op[32];
	snprintf(op, sizeof(op), "vm.%s", action);
	/* A power-on takes the VM's reservation from its pool and its host,
	 * decided here, on the API's one thread, in the same turn as api_vm_queue()
	 * records that it is to run: a burst of power-ons cannot overbook. */
	int64_t need[POOL_NRES];
	pools_vm_need(vm, need);
	struct errinfo e = {0};
	if (!strcmp(action, "start") && !pools_vm_holds(vm) &&
	    (pools_admit_vm(((struct mgr *)http_app(req))->st, vm, json_string_value(json_object_get(vm, "pool_id")), need, NULL, &e) < 0 ||
	     ha_admit_power_on(((struct mgr *)http_app(req))->st, vm, &e) < 0)) {
		pools_count_refusal(http_app(req), &e);
		mgr_refuse(req, op, "vm", json_string_value(json_object_get(vm, "id")), &e);
		json_decref(args);
		json_decref(vm);
		return;
	}
	api_vm_queue(req, vm, op, args, NULL);
	json_decref(vm);
}

void api_vms_delete(struct http_req *req)
{
	json_t *vm = vm_of_route(req, ROLE_OPERATOR);
	if (!vm)
		return;
	const char *ps = json_string_value(json_object_get(vm, "power_state")) ?: "";
	if (!strcmp(ps, "deleting") || !strcmp(ps, "creating")) {
		http_reply_error(req, 409, "busy", NULL, "the VM is %s; wait for its task to finish", ps);
		json_decref(vm); /* ps is the VM's: after the reply */
		return;
	}
	/* As on the host: a VM that runs is deleted only when asked to power
	 * it off (force); the host refuses it too, if vdcd's view lags. */
	bool force = http_query_flag(req, "force");
	if (!force && (!strcmp(ps, "running") || !strcmp(ps, "paused") || !strcmp(ps, "starting") ||
	               !strcmp(ps, "stopping"))) {
		http_reply_error(req, 409, "invalid_state", NULL,
		                 "VM '%s' is %s; stop it first or use --force / ?force=true (powers it off, "
		                 "then deletes it)", json_string_value(json_object_get(vm, "name")), ps);
		json_decref(vm);
		return;
	}
	api_vm_queue(req, vm, "vm.delete", force ? json_pack("{s:b}", "force", 1) : NULL, "deleting");
	json_decref(vm);
}

void api_vms_snapshot(struct http_req *req)
{
	/* The VM first: another project's VM is 404 whatever the body says. */
	json_t *vm = api_vm_for_action(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body) {
		json_decref(vm);
		return;
	}
	static const char *const keys[] = {"name", NULL};
	struct jv_err jerr = {0};
	const char *name = NULL;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "name", true, 63, &name, &jerr) < 0 ||
	    (!jv_is_safe_name(name) && jv_fail(&jerr, "name", "'%s' is not a valid snapshot name", name) < 0)) {
		json_decref(body);
		json_decref(vm);
		mgr_reply_jv(req, &jerr);
		return;
	}
	api_vm_queue(req, vm, "vm.snapshot", json_pack("{s:s}", "name", name), NULL);
	json_decref(body);
	json_decref(vm);
}

/* A vm.disk_move task of VM id queued or running. */
static bool disk_move_under_way(struct store *st, const char *id)
{
	json_t *tasks = tasks_under_way(st, "vm.disk_move");
	bool found = false;
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t)
		found |= !strcmp(json_string_value(json_object_get(t, "target_id")) ?: "", id);
	json_decref(tasks);
	return found;
}

/* POST /api/v1/vms/{id}/disks/{disk}/move {"datastore"}: storage migration
 * (ops/task_disk_move.c). The VM runs (or is paused) and stays where it
 * is; the datastore is one of its host's. */
void api_vms_disk_move(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *vm = api_vm_for_action(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0), *host = NULL;
	struct errinfo e = {0};
	const char *id = json_string_value(json_object_get(vm, "id"));
	const char *name = json_string_value(json_object_get(vm, "name"));
	if (!body)
		goto out;
	static const char *const keys[] = {"datastore", "bandwidth_mib_s", NULL};
	struct jv_err jerr = {0};
	const char *to = NULL, *disk = http_param(req, "disk");
	int64_t mib_s = 0;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "datastore", true, 63, &to, &jerr) < 0 ||
	    jv_int(body, "", "bandwidth_mib_s", false, 1, 1 << 20, &mib_s, &jerr) < 0 ||
	    (!jv_is_safe_name(to) && jv_fail(&jerr, "datastore", "'%s' is not a valid datastore name", to) < 0)) {
		mgr_refuse_jv(req, "vm.disk_move", "vm", id, &jerr);
		goto out;
	}
	const char *ps = json_string_value(json_object_get(vm, "power_state")) ?: "";
	const char *from = json_string_value(json_object_get(json_object_get(vm, "config"), "datastore")) ?: "local";
	if (strcmp(disk, "root"))
		errinfo_set(&e, 404, "not_found", NULL, "VM '%s' has no disk '%s' (its disk is 'root')", name, disk);
	else if (strcmp(ps, "running") && strcmp(ps, "paused") && strcmp(ps, "stopped") && strcmp(ps, "crashed"))
		errinfo_set(&e, 409, "invalid_state", NULL, "VM '%s' is %s; move its disk once it runs or is stopped",
		            name, ps);
	else if (!strcmp(from, to))
		errinfo_set(&e, 409, "same_datastore", "datastore", "VM '%s''s disk is on datastore '%s' already", name, to);
	else if (migration_under_way(m->st, vm))
		errinfo_set(&e, 409, "migration_running", NULL, "VM '%s' is being migrated; move its disk once that ends",
		            name);
	else if (disk_move_under_way(m->st, id))
		errinfo_set(&e, 409, "busy", NULL, "VM '%s' is moving its disk already; wait for that task or cancel it",
		            name);
	if (e.status) {
		mgr_refuse(req, "vm.disk_move", "vm", id, &e);
		goto out;
	}
	/* The datastore must be one of the VM's host (it reported them). */
	host = store_get(m->st, STORE_HOST, json_string_value(json_object_get(vm, "host_id")) ?: "", &e);
	if (!host) {
		mgr_refuse(req, "vm.disk_move", "vm", id, &e);
		goto out;
	}
	bool found = false;
	char names[512] = "";
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(host, "datastores"), i, d) {
		const char *dn = json_string_value(json_object_get(d, "name")) ?: "";
		found |= !strcmp(dn, to);
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", dn);
	}
	if (!found) {
		errinfo_set(&e, 400, "invalid_body", "datastore", "datastore: host %s has no datastore '%s' (it has: %s)",
		            json_string_value(json_object_get(host, "name")) ?: "?", to, names);
		mgr_refuse(req, "vm.disk_move", "vm", id, &e);
		goto out;
	}
	json_t *args = json_pack("{s:s, s:s, s:s}", "disk", disk, "datastore", to, "from", from);
	if (mib_s)
		json_object_set_new(args, "bandwidth_mib_s", json_integer(mib_s));
	api_vm_queue(req, vm, "vm.disk_move", args, NULL);
out:
	json_decref(host);
	json_decref(body);
	json_decref(vm);
}

/* A call to the VM's host made for a request, which waits (deferred) for
 * the answer: the loop serves other requests meanwhile. */
struct vm_call {
	struct http_req *req;
	const char *content_type; /* proxy_get: how to pass the answer on */
	char snap[64];            /* snapshot_op: the snapshot asked for */
};

/* GETs suffix of the VM's agent ("/api/v1/vms/NAME" + suffix) for req; done
 * answers it. 0 with req deferred, or -1 with e when the call could not
 * start (c is then the caller's still). */
static int vm_agent_get(struct http_req *req, const json_t *vm, const char *suffix, const char *hdr_name,
                        agent_done_fn done, struct vm_call *c, struct errinfo *e)
{
	struct mgr *m = http_app(req);
	char path[384];
	snprintf(path, sizeof(path), "/api/v1/vms/%s%s", vm_agent_name(vm), suffix);
	c->req = req;
	if (agent_async_call(m, json_string_value(json_object_get(vm, "host_id")), "GET", path, NULL, 10,
	                     hdr_name, done, c, e) < 0)
		return -1;
	http_defer(req);
	return 0;
}

/* vm_agent_get for a read passed on to the caller: one that cannot start
 * is answered with why (503 when too many calls wait already). */
static void vm_agent_read(struct http_req *req, const json_t *vm, const char *suffix, const char *hdr_name,
                          agent_done_fn done, struct vm_call *c)
{
	struct errinfo e = {0};
	if (!c) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
	} else if (vm_agent_get(req, vm, suffix, hdr_name, done, c, &e) < 0) {
		mgr_reply_err(req, &e);
		free(c);
	}
}

/* Whether the VM's host says it has no snapshot snap: a missing snapshot
 * is "not found" now, as any missing object, not a task that fails later.
 * When the host does not answer, the task finds out. The VM is read again
 * once the host answered: it may have changed meanwhile. */
static void snapshot_checked(struct mgr *m, void *ctx, struct agent_reply *r)
{
	struct vm_call *c = ctx;
	struct http_req *req = c->req;
	bool missing = false;
	if (r->e.status == 503) { /* vdcd is stopping: no task now */
		mgr_reply_err(req, &r->e);
		free(c);
		return;
	}
	if (r->status == 200) {
		missing = true;
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(r->json, "snapshots"), i, s)
			if (!strcmp(json_string_value(json_object_get(s, "name")) ?: "", c->snap))
				missing = false;
	}
	json_t *vm = api_vm_for_action(req);
	if (!vm) {
		free(c);
		return;
	}
	if (missing) {
		http_reply_error(req, 404, "not_found", "snap", "VM '%s' has no snapshot '%s'",
		                 json_string_value(json_object_get(vm, "name")), c->snap);
	} else {
		const char *op = !strcmp(http_method(req), "DELETE") ? "vm.snapshot_delete" : "vm.snapshot_revert";
		api_vm_queue(req, vm, op, json_pack("{s:s}", "name", c->snap), NULL);
	}
	json_decref(vm);
	free(c);
}

void api_vms_snapshot_op(struct http_req *req)
{
	const char *snap = http_param(req, "snap");
	if (!jv_is_safe_name(snap)) {
		http_reply_error(req, 400, "invalid_request", "snap", "'%s' is not a snapshot name", snap);
		return;
	}
	json_t *vm = api_vm_for_action(req);
	if (!vm)
		return;
	struct vm_call *c = calloc(1, sizeof(*c));
	struct errinfo e = {0};
	if (c)
		snprintf(c->snap, sizeof(c->snap), "%s", snap);
	if (!c || vm_agent_get(req, vm, "/snapshots", NULL, snapshot_checked, c, &e) < 0) {
		/* No word from the host: the task finds out. */
		free(c);
		const char *op = !strcmp(http_method(req), "DELETE") ? "vm.snapshot_delete" : "vm.snapshot_revert";
		api_vm_queue(req, vm, op, json_pack("{s:s}", "name", snap), NULL);
	}
	json_decref(vm);
}

/* A resize of the readiness probe alone: the document only, at once (its
 * host learns it in the reply to its next heartbeat); 200 with the VM. */
static void resize_ready_probe(struct http_req *req, const json_t *vm, const json_t *probe)
{
	struct mgr *m = http_app(req);
	const char *id = json_string_value(json_object_get(vm, "id"));
	json_t *upd = json_deep_copy(vm), *ucfg = json_object_get(upd, "config"), *stored = NULL;
	if (json_is_object(probe))
		json_object_set(ucfg, "ready_probe", (json_t *)probe);
	else
		json_object_del(ucfg, "ready_probe");
	json_object_del(upd, "readiness"); /* the host's word on the new probe comes next */
	char detail[160];
	if (json_is_object(probe))
		snprintf(detail, sizeof(detail), "readiness probe: TCP port %lld every %lld s (timeout %lld s, %lld failures)",
		         json_integer_value(json_object_get(probe, "tcp_port")),
		         json_integer_value(json_object_get(probe, "period_s")),
		         json_integer_value(json_object_get(probe, "timeout_s")),
		         json_integer_value(json_object_get(probe, "failures")));
	else
		snprintf(detail, sizeof(detail), "readiness probe: none");
	struct errinfo e = {0};
	if (store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), &stored, &e) < 0) {
		mgr_event(m, mgr_actor(req), "vm.resize", "vm", id, "failed", e.message);
		mgr_reply_err(req, &e);
	} else {
		mgr_event(m, mgr_actor(req), "vm.resize", "vm", id, "succeeded", detail);
		http_reply_json(req, 200, stored);
	}
	json_decref(upd);
}

/* Resize: vCPUs and memory of a stopped VM, a disk that grows (live too).
 * The project's quota is charged with the new sizes in the same
 * transaction as the VM document and its task, so concurrent resizes and
 * creates cannot overshoot it; a task that fails gives back what it could
 * not apply. */
void api_vms_resize(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *vm = api_vm_for_action(req), *body = NULL, *task = NULL, *wd_asked = json_object();
	if (!vm || !(body = http_body_json(req, 0)))
		goto out;
	static const char *const keys[] = {"vcpus", "memory_mib", "disk_size_mib", "watchdog", "ready_probe",
	                                   "firmware", "boot_order", NULL};
	const json_t *cfg = json_object_get(vm, "config");
	int64_t from[QUOTA_N], to[QUOTA_N], delta[QUOTA_N] = {0};
	quota_of_vm(vm, from);
	from[QUOTA_DISK_MIB] -= quota_extra_disk_mib(vm); /* disk_size_mib: the root disk's */
	memcpy(to, from, sizeof(to));
	struct jv_err jerr = {0};
	if (jv_only_keys(body, "", keys, &jerr) < 0 ||
	    jv_int(body, "", "vcpus", false, 1, 255, &to[QUOTA_VCPUS], &jerr) < 0 ||
	    jv_int(body, "", "memory_mib", false, 16, 4194304, &to[QUOTA_MEMORY_MIB], &jerr) < 0 ||
	    jv_int(body, "", "disk_size_mib", false, 1, 67108864, &to[QUOTA_DISK_MIB], &jerr) < 0 ||
	    resource_parse_vm_watchdog(body, wd_asked, &jerr) < 0 ||
	    resource_parse_vm_ready_probe(body, wd_asked, &jerr) < 0 ||
	    resource_parse_vm_firmware(body, wd_asked, &jerr) < 0) {
		mgr_reply_jv(req, &jerr);
		goto out;
	}
	/* The readiness probe: absent, as it is; null, none. It changes at
	 * any time (the host learns it in its next heartbeat's reply). */
	const json_t *rp_to = json_object_get(wd_asked, "ready_probe");
	bool rp_change = rp_to && !json_equal((json_t *)rp_to, json_object_get(cfg, "ready_probe") ?: json_null());
	/* The watchdog: absent, as it is; null, none. */
	const char *wd_from = json_string_value(json_object_get(cfg, "watchdog"));
	const char *wd_to = json_object_get(body, "watchdog") ? json_string_value(json_object_get(wd_asked, "watchdog"))
	                                                      : wd_from;
	bool wd_change = strcmp(wd_from ?: "", wd_to ?: "") != 0;
	/* Firmware and boot order: absent, as they are; null, the defaults
	 * (bios; the disk). */
	const char *fw_from = json_string_value(json_object_get(cfg, "firmware")) ?: "bios";
	const char *fw_to = !json_object_get(body, "firmware") ? fw_from
	                    : json_string_value(json_object_get(wd_asked, "firmware")) ?: "bios";
	json_t *bo_from = json_object_get(cfg, "boot_order") ?: json_null();
	json_t *bo_to = !json_object_get(body, "boot_order") ? bo_from
	                : json_object_get(wd_asked, "boot_order") ?: json_null();
	bool fw_change = strcmp(fw_from, fw_to) || !json_equal(bo_from, bo_to);
	wd_change |= fw_change; /* the same path: a stopped VM's hardware on its host */
	if (!memcmp(from, to, sizeof(to)) && !wd_change && !rp_change) {
		http_reply_error(req, 400, "invalid_request", NULL, "nothing to change: give vcpus, memory_mib, "
		                 "disk_size_mib, watchdog, ready_probe, firmware or boot_order different from now");
		goto out;
	}
	if (!memcmp(from, to, sizeof(to)) && !wd_change) {
		resize_ready_probe(req, vm, rp_to);
		goto out;
	}
	if (from[QUOTA_DISK_MIB] && to[QUOTA_DISK_MIB] < from[QUOTA_DISK_MIB]) {
		http_reply_error(req, 400, "invalid_request", "disk_size_mib",
		                 "disk_size_mib: %lld MiB is less than the disk's %lld MiB; disks only grow",
		                 (long long)to[QUOTA_DISK_MIB], (long long)from[QUOTA_DISK_MIB]);
		goto out;
	}
	const char *ps = json_string_value(json_object_get(vm, "power_state")) ?: "";
	bool cpu_mem = to[QUOTA_VCPUS] != from[QUOTA_VCPUS] || to[QUOTA_MEMORY_MIB] != from[QUOTA_MEMORY_MIB];
	if ((cpu_mem || wd_change) && strcmp(ps, "stopped")) {
		http_reply_error(req, 409, "invalid_state", NULL,
		                 "VM '%s' is %s; vCPUs, memory, the watchdog, firmware and boot order change only while it "
		                 "is stopped (stop it first)",
		                 json_string_value(json_object_get(vm, "name")), ps);
		goto out;
	}
	for (int i = 0; i < QUOTA_N; i++)
		delta[i] = to[i] - from[i];
	const char *id = json_string_value(json_object_get(vm, "id"));
	const char *pid = json_string_value(json_object_get(vm, "project_id"));
	json_t *upd = json_deep_copy(vm), *ucfg = json_object_get(upd, "config");
	json_object_set_new(ucfg, "vcpus", json_integer(to[QUOTA_VCPUS]));
	json_object_set_new(ucfg, "memory_mib", json_integer(to[QUOTA_MEMORY_MIB]));
	json_object_set_new(ucfg, "disk_size_mib", json_integer(to[QUOTA_DISK_MIB]));
	if (wd_to)
		json_object_set_new(ucfg, "watchdog", json_string(wd_to));
	else
		json_object_del(ucfg, "watchdog");
	if (strcmp(fw_to, "bios"))
		json_object_set_new(ucfg, "firmware", json_string(fw_to));
	else
		json_object_del(ucfg, "firmware");
	if (json_is_array(bo_to))
		json_object_set(ucfg, "boot_order", bo_to);
	else
		json_object_del(ucfg, "boot_order");
	if (rp_change && json_is_object(rp_to))
		json_object_set(ucfg, "ready_probe", (json_t *)rp_to);
	else if (rp_change)
		json_object_del(ucfg, "ready_probe");
	json_t *args = json_pack("{s:{s:O, s:O, s:O}, s:{s:I, s:I, s:I}}", "from", "vcpus",
	                         json_object_get(cfg, "vcpus"), "memory_mib", json_object_get(cfg, "memory_mib"),
	                         "disk_size_mib", json_object_get(cfg, "disk_size_mib"), "to", "vcpus",
	                         (json_int_t)to[QUOTA_VCPUS], "memory_mib", (json_int_t)to[QUOTA_MEMORY_MIB],
	                         "disk_size_mib", (json_int_t)to[QUOTA_DISK_MIB]);
	/* null: none (a task of an older vdcd has no key: none changed) */
	json_object_set_new(json_object_get(args, "from"), "watchdog", wd_from ? json_string(wd_from) : json_null());
	json_object_set_new(json_object_get(args, "to"), "watchdog", wd_to ? json_string(wd_to) : json_null());
	if (fw_change) { /* no keys: nothing asked (and a task of an older vdcd) */
		json_object_set_new(json_object_get(args, "from"), "firmware", json_string(fw_from));
		json_object_set_new(json_object_get(args, "to"), "firmware", json_string(fw_to));
		json_object_set(json_object_get(args, "from"), "boot_order", bo_from);
		json_object_set(json_object_get(args, "to"), "boot_order", bo_to);
	}
	struct quota_refusal refusal = {.which = -1};
	struct errinfo e = {0};
	if (store_begin(m->st, &e) < 0 || quota_charge(m->st, pid, delta, &refusal, &e) < 0 ||
	    store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), NULL, &e) < 0 ||
	    !(task = task_new(m->st, "vm.resize", "vm", id, json_string_value(json_object_get(vm, "name")), pid,
	                      mgr_actor(req), json_incref(args), &e)) ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		json_decref(upd);
		json_decref(args);
		mgr_event(m, mgr_actor(req), "vm.resize", "vm", id, "failed", e.message);
		if (refusal.which >= 0)
			api_reply_quota_refusal(req, &refusal, &e);
		else
			mgr_reply_err(req, &e);
		goto out;
	}
	json_decref(upd);
	json_decref(args);
	mgr_event(m, mgr_actor(req), "vm.resize", "vm", id, "accepted", NULL);
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", json_string_value(json_object_get(task, "id")));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:O}", "task", task));
out:
	json_decref(wd_asked);
	json_decref(task);
	json_decref(body);
	json_decref(vm);
}

/* A clone's placement report, in the shape of a create's: no choice was
 * made, the clone goes where its source's disk is. */
static json_t *clone_placement(struct mgr *m, const json_t *src, const char *summary)
{
	json_t *h = store_get(m->st, STORE_HOST, json_string_value(json_object_get(src, "host_id")),
	                      &(struct errinfo){0});
	json_t *name = h ? json_object_get(h, "name") : json_object_get(json_object_get(src, "placement"), "host");
	json_t *r = json_pack("{s:O, s:s, s:[{s:O, s:b, s:s, s:s}]}", "host", name ?: json_null(), "summary", summary,
	                      "hosts", "host", name ?: json_null(), "eligible", 1, "filter", "ok", "reason",
	                      "the source VM's host: a clone's disk is copied where the source's is");
	json_decref(h);
	return r;
}

/* Clone: a new VM of the source's project, on its host, its disk a full
 * copy of the source's; the source must be stopped (its disk is read while
 * nothing writes it). Charged to the project's quota like a create. */
void api_vms_clone(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *src = api_vm_for_action(req), *body = NULL, *vm = NULL, *stored = NULL, *task = NULL, *placement = NULL;
	if (!src || !(body = http_body_json(req, 0)))
		goto out;
	static const char *const keys[] = {"name", "start", NULL};
	struct jv_err jerr = {0};
	const char *name = NULL;
	bool start = false;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "name", true, 63, &name, &jerr) < 0 ||
	    jv_bool(body, "", "start", false, &start, &jerr) < 0 ||
	    (!jv_is_safe_name(name) && jv_fail(&jerr, "name", "'%s' is not a valid VM name", name) < 0)) {
		mgr_refuse_jv(req, "vm.clone", "vm", name, &jerr);
		goto out;
	}
	const char *src_name = json_string_value(json_object_get(src, "name"));
	if (strcmp(json_string_value(json_object_get(src, "power_state")) ?: "", "stopped")) {
		http_reply_error(req, 409, "invalid_state", NULL,
		                 "VM '%s' is %s; stop it first: a clone copies its disk, which must not change meanwhile",
		                 src_name, json_string_value(json_object_get(src, "power_state")));
		goto out;
	}
	struct errinfo e = {0};
	const char *pid = json_string_value(json_object_get(src, "project_id"));
	if (vm_name_free(m, name, pid, &e) < 0) {
		mgr_refuse(req, "vm.clone", "vm", name, &e);
		goto out;
	}
	char id[37];
	mgr_uuid(id);
	vm = json_deep_copy(src);
	static const char *const drop[] = {"version", "created_at", "updated_at", "in_sync"};
	for (int i = 0; i < 4; i++)
		json_object_del(vm, drop[i]);
	/* Every field is checked: a copy of the source that kept its id, state
	 * or agent_name would be the source to the host (a delete of the clone
	 * would delete the source's disks). */
	int bad = !vm;
	bad |= json_object_set_new(vm, "id", json_string(id));
	bad |= json_object_set_new(vm, "name", json_string(name));
	bad |= json_object_set_new(vm, "power_state", json_string("creating"));
	bad |= json_object_set_new(vm, "desired_state", json_string(start ? "running" : "stopped"));
	bad |= json_object_set_new(json_object_get(vm, "config"), "clone_of",
	                           json_pack("{s:O, s:s}", "id", json_object_get(src, "id"), "name", src_name));
	bad |= json_object_set_new(json_object_get(vm, "config"), "agent_name", json_string(id));
	/* A clone copies the root disk only: not the source's added disks and NICs. */
	json_object_del(json_object_get(vm, "config"), "extra_disks");
	json_object_del(json_object_get(vm, "config"), "extra_nics");
	char summary[160];
	snprintf(summary, sizeof(summary), "cloned from %s, on its host", src_name);
	placement = clone_placement(m, src, summary);
	bad |= !placement;
	bad |= json_object_set_new(vm, "placement", json_pack("{s:O, s:s}", "host", json_object_get(placement, "host"),
	                                                      "summary", summary));
	if (bad) {
		errinfo_set(&e, 500, "internal", NULL, "out of memory");
		mgr_refuse(req, "vm.clone", "vm", name, &e);
		goto out;
	}
	int64_t amounts[QUOTA_N];
	quota_of_vm(vm, amounts);
	struct quota_refusal refusal = {.which = -1};
	if (store_begin(m->st, &e) < 0 || quota_charge(m->st, pid, amounts, &refusal, &e) < 0 ||
	    store_create(m->st, STORE_VM, vm, &stored, &e) < 0 ||
	    !(task = task_new(m->st, "vm.create", "vm", id, name, pid, mgr_actor(req),
	                      json_pack("{s:b, s:s, s:s}", "start", start, "clone_of", src_name, "clone_of_agent_name",
	                                vm_agent_name(src)), &e)) ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		mgr_event(m, mgr_actor(req), "vm.clone", "vm", name, e.status && e.status < 500 ? "refused" : "failed",
		          e.message);
		if (refusal.which >= 0)
			api_reply_quota_refusal(req, &refusal, &e);
		else
			mgr_reply_err(req, &e);
		goto out;
	}
	mgr_event(m, mgr_actor(req), "vm.clone", "vm", id, "accepted", summary);
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", json_string_value(json_object_get(task, "id")));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:O, s:O, s:O}", "vm", stored, "task", task, "placement", placement));
out:
	json_decref(placement);
	json_decref(stored);
	json_decref(task);
	json_decref(vm);
	json_decref(body);
	json_decref(src);
}

/* The host's answer to a proxied read: 502/504 when it did not answer,
 * its own error when it refused; 0 when it is the caller's to pass on. */
static int agent_failed(struct http_req *req, const struct agent_reply *r)
{
	if (!r->status)
		mgr_reply_err(req, &r->e);
	else if (r->status != 200)
		http_reply_error(req, (unsigned)r->status, "agent_error", NULL, "%s", agent_error_message(r->json));
	else
		return 0;
	return -1;
}

static void proxied(struct mgr *m, void *ctx, struct agent_reply *r)
{
	struct vm_call *c = ctx;
	if (agent_failed(c->req, r) == 0) {
		size_t len = r->text ? strlen(r->text) : 0;
		http_reply_text(c->req, 200, c->content_type, r->text ? r->text : strdup(""), len);
		r->text = NULL;
	}
	free(c);
}

/* GETs a path of the VM's agent and passes the answer on (JSON or text). */
static void proxy_get(struct http_req *req, const char *suffix, const char *content_type,
                      enum mgr_role need)
{
	json_t *vm = vm_of_route(req, need);
	if (!vm)
		return;
	struct vm_call *c = calloc(1, sizeof(*c));
	if (c)
		c->content_type = content_type;
	vm_agent_read(req, vm, suffix, NULL, proxied, c);
	json_decref(vm);
}

void api_vms_snapshots_list(struct http_req *req)
{
	proxy_get(req, "/snapshots", "application/json", ROLE_VIEWER);
}

static void console_read(struct mgr *m, void *ctx, struct agent_reply *r)
{
	struct vm_call *c = ctx;
	if (agent_failed(c->req, r) == 0) {
		/* Where these bytes start in the console: the next read asks for
		 * ?offset= that plus their length (vdc vm console --follow). */
		if (r->header[0])
			http_add_header(c->req, "X-Console-Offset", r->header);
		http_reply_text(c->req, 200, "text/plain; charset=utf-8", r->text ? r->text : strdup(""),
		                r->text ? r->len : 0);
		r->text = NULL;
	}
	free(c);
}

void api_vms_console(struct http_req *req)
{
	const char *bytes = http_query(req, "bytes"), *offset = http_query(req, "offset");
	char suffix[96];
	int n = snprintf(suffix, sizeof(suffix), "/console?bytes=%d", bytes ? atoi(bytes) : 16384);
	if (offset) {
		/* Checked here so that nothing odd reaches the agent's URL. */
		if (!*offset || strspn(offset, "0123456789") != strlen(offset) || strlen(offset) > 19) {
			http_reply_error(req, 400, "invalid_query", "offset",
			                 "offset must be a byte offset (0 or more), as X-Console-Offset gave");
			return;
		}
		snprintf(suffix + n, sizeof(suffix) - (size_t)n, "&offset=%s", offset);
	}
	/* What a guest prints may be secret: operators and up, as with a
	 * console in vSphere. */
	json_t *vm = vm_of_route(req, ROLE_OPERATOR);
	if (!vm)
		return;
	vm_agent_read(req, vm, suffix, "X-Console-Offset", console_read, calloc(1, sizeof(struct vm_call)));
	json_decref(vm);
}
