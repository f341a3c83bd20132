/* api_vms_hotplug.c - /api/v1/vms/{id}/disks and /nics: a disk or NIC
 * added to or removed from a VM, running (hot-plug) or stopped, as a task
 * (ops/task_hotplug.c). A new disk is charged to the project's disk quota
 * in the same transaction as its task, so two adds cannot both take the
 * last of it; its datastore is one of the VM's host; a NIC's network is
 * one the VM's project may use. Disks and NICs made with the VM (the root
 * disk, the NICs of its networks) are not offered here. */
#include "api.h"

#include "quota.h"
#include "task_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The entry of list (config.extra_disks / extra_nics) named name, or NULL. */
static json_t *entry(const json_t *vm, const char *list, const char *name)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(json_object_get(vm, "config"), list), i, d)
		if (!strcmp(str(d, "name") ?: "", name))
			return d;
	return NULL;
}

/* Whether the VM's state allows a hardware change now. */
static int settled(const json_t *vm, struct errinfo *e)
{
	const char *ps = str(vm, "power_state") ?: "";
	if (!strcmp(ps, "running") || !strcmp(ps, "paused") || !strcmp(ps, "stopped") || !strcmp(ps, "crashed"))
		return 0;
	return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; change its hardware once it runs or is stopped",
	                   str(vm, "name"), ps);
}

/* The datastore asked for: one of the VM's host's, with room for size_mib
 * (thin disks, but a hot-added disk is not overcommitted). */
static int check_datastore(struct mgr *m, const json_t *vm, const char *ds, int64_t size_mib, struct errinfo *e)
{
	json_t *host = store_get(m->st, STORE_HOST, str(vm, "host_id") ?: "", e);
	if (!host)
		return -1;
	bool found = false;
	char names[512] = "";
	json_int_t free_b = -1;
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(host, "datastores"), i, d) {
		const char *dn = str(d, "name") ?: "";
		if (!strcmp(dn, ds)) {
			found = true;
			if (json_is_integer(json_object_get(d, "free_bytes")))
				free_b = json_integer_value(json_object_get(d, "free_bytes"));
		}
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", dn);
	}
	int rc = 0;
	if (!found)
		rc = errinfo_set(e, 400, "invalid_request", "datastore", "datastore: the VM's host %s has no datastore '%s' "
		                 "(it has: %s)", str(host, "name") ?: "?", ds, names);
	else if (free_b >= 0 && (size_mib << 20) > free_b)
		rc = errinfo_set(e, 507, "datastore_full", "size_mib", "size_mib: datastore '%s' has %lld MiB free, less "
		                 "than the %lld MiB asked for", ds, (long long)(free_b >> 20), (long long)size_mib);
	json_decref(host);
	return rc;
}

/* Commits the VM document upd (charging delta) and a task op(args) in one
 * transaction; replies 202 with the task, or the refusal. */
static void commit_task(struct http_req *req, const json_t *vm, json_t *upd, const int64_t delta[QUOTA_N],
                        const char *op, json_t *args)
{
	struct mgr *m = http_app(req);
	const char *id = str(vm, "id"), *pid = str(vm, "project_id");
	struct quota_refusal refusal = {.which = -1};
	struct errinfo e = {0};
	json_t *task = NULL;
	if (store_begin(m->st, &e) < 0 || quota_charge(m->st, pid, delta, &refusal, &e) < 0 ||
	    store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), NULL, &e) < 0 ||
	    !(task = task_new(m->st, op, "vm", id, str(vm, "name"), pid, mgr_actor(req), json_incref(args), &e)) ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		mgr_event(m, mgr_actor(req), op, "vm", id, "failed", e.message);
		if (refusal.which >= 0)
			api_reply_quota_refusal(req, &refusal, &e);
		else
			mgr_reply_err(req, &e);
		json_decref(task);
		return;
	}
	mgr_event(m, mgr_actor(req), op, "vm", id, "accepted", NULL);
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", str(task, "id"));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:o}", "task", task));
}

/* POST {"name", "size_mib", "datastore"?}: a new blank disk; or {"name"}
 * of an unused disk: attached again (Proxmox's "unused disk"). */
void api_vms_disk_add(struct http_req *req)
{
	json_t *vm = api_vm_for_action(req), *body = NULL;
	if (!vm || !(body = http_body_json(req, 0)))
		goto out;
	const char *id = str(vm, "id");
	static const char *const keys[] = {"name", "size_mib", "datastore", NULL};
	struct jv_err jerr = {0};
	const char *name = NULL, *ds = NULL;
	int64_t size = 0;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "name", true, 63, &name, &jerr) < 0 ||
	    (!jv_is_safe_name(name) && jv_fail(&jerr, "name", "'%s' is not a disk name (letters, digits, '-', '_', "
	                                       "'.'; not starting with '.')", name) < 0) ||
	    jv_int(body, "", "size_mib", false, 1, 64ll * 1024 * 1024, &size, &jerr) < 0 ||
	    jv_string(body, "", "datastore", false, 63, &ds, &jerr) < 0 ||
	    (ds && !jv_is_safe_name(ds) && jv_fail(&jerr, "datastore", "'%s' is not a datastore name", ds) < 0)) {
		mgr_refuse_jv(req, "vm.disk_add", "vm", id, &jerr);
		goto out;
	}
	struct errinfo e = {0};
	const json_t *old = entry(vm, "extra_disks", name);
	bool reattach = old && !strcmp(str(old, "state") ?: "", "unused");
	if (reattach) {
		if ((size && size != json_integer_value(json_object_get(old, "size_mib"))) ||
		    (ds && strcmp(ds, str(old, "datastore") ?: "")))
			errinfo_set(&e, 409, "disk_exists", "name", "name: '%s' is an unused disk of %lld MiB on %s; attach it "
			            "by its name alone, or choose another name", name,
			            (long long)json_integer_value(json_object_get(old, "size_mib")), str(old, "datastore"));
		else if (settled(vm, &e) == 0) {
			json_t *upd = json_deep_copy(vm);
			json_object_set_new(entry(upd, "extra_disks", name), "state", json_string("adding"));
			int64_t none[QUOTA_N] = {0};
			json_t *args = json_pack("{s:s, s:b, s:s}", "name", name, "reattach", 1, "state_before", "unused");
			commit_task(req, vm, upd, none, "vm.disk_add", args);
			json_decref(args);
			json_decref(upd);
			goto out;
		}
		mgr_refuse(req, "vm.disk_add", "vm", id, &e);
		goto out;
	}
	if (!ds)
		ds = str(json_object_get(vm, "config"), "datastore") ?: "local";
	size_t n = json_array_size(json_object_get(json_object_get(vm, "config"), "extra_disks"));
	if (!size)
		errinfo_set(&e, 400, "invalid_request", "size_mib", "size_mib: is required for a new disk");
	else if (!strcmp(name, "root") || old)
		errinfo_set(&e, 409, "disk_exists", "name", "name: VM '%s' has a disk named '%s' already", str(vm, "name"), name);
	else if (1 + n >= 16)
		errinfo_set(&e, 409, "limit", "disks", "VM '%s' has %zu disks (unused ones included), the most a VM may "
		            "have; remove one first", str(vm, "name"), 1 + n);
	if (e.status || settled(vm, &e) < 0 || check_datastore(http_app(req), vm, ds, size, &e) < 0) {
		mgr_refuse(req, "vm.disk_add", "vm", id, &e);
		goto out;
	}
	/* Recorded at once, "adding": the quota counts it from now on, and a
	 * second add of the name is refused while the task runs. */
	json_t *upd = json_deep_copy(vm), *cfg = json_object_get(upd, "config");
	if (!json_is_array(json_object_get(cfg, "extra_disks")))
		json_object_set_new(cfg, "extra_disks", json_array());
	json_array_append_new(json_object_get(cfg, "extra_disks"),
	                      json_pack("{s:s, s:I, s:s, s:s}", "name", name, "size_mib", (json_int_t)size, "datastore",
	                                ds, "state", "adding"));
	int64_t delta[QUOTA_N] = {0};
	delta[QUOTA_DISK_MIB] = size;
	json_t *args = json_pack("{s:s, s:I, s:s}", "name", name, "size_mib", (json_int_t)size, "datastore", ds);
	commit_task(req, vm, upd, delta, "vm.disk_add", args);
	json_decref(args);
	json_decref(upd);
out:
	json_decref(body);
	json_decref(vm);
}

/* DELETE .../disks/{disk}[?delete=true]: the file is kept (an unused disk,
 * still charged) unless delete is asked. */
void api_vms_disk_remove(struct http_req *req)
{
	json_t *vm = api_vm_for_action(req);
	if (!vm)
		return;
	const char *id = str(vm, "id"), *disk = http_param(req, "disk");
	bool del = http_query_flag(req, "delete");
	struct errinfo e = {0};
	json_t *d = entry(vm, "extra_disks", disk);
	const char *st = str(d, "state") ?: "attached";
	if (!strcmp(disk, "root"))
		errinfo_set(&e, 409, "root_disk", "disk", "disk: 'root' is the disk VM '%s' was made with and boots from; it "
		            "goes with the VM", str(vm, "name"));
	else if (!d)
		errinfo_set(&e, 404, "not_found", "disk", "disk: VM '%s' has no disk '%s'", str(vm, "name"), disk);
	else if (!strcmp(st, "adding") || !strcmp(st, "removing"))
		errinfo_set(&e, 409, "busy", "disk", "disk '%s' is being %s; wait for its task", disk,
		            !strcmp(st, "adding") ? "added" : "removed");
	else if (!strcmp(st, "unused") && !del)
		errinfo_set(&e, 409, "unused", "disk", "disk '%s' is unused already; remove it with delete=true to delete "
		            "its file", disk);
	if (e.status || settled(vm, &e) < 0) {
		mgr_refuse(req, "vm.disk_remove", "vm", id, &e);
		json_decref(vm);
		return;
	}
	json_t *upd = json_deep_copy(vm);
	json_object_set_new(entry(upd, "extra_disks", disk), "state", json_string("removing"));
	int64_t delta[QUOTA_N] = {0};
	json_t *args = json_pack("{s:s, s:b, s:s}", "name", disk, "delete", del, "state_before", st);
	commit_task(req, vm, upd, delta, "vm.disk_remove", args);
	json_decref(args);
	json_decref(upd);
	json_decref(vm);
}

/* POST {"network"}: a NIC on a network of the VM's project (or a shared one). */
void api_vms_nic_add(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *vm = api_vm_for_action(req), *body = NULL, *net = NULL;
	if (!vm || !(body = http_body_json(req, 0)))
		goto out;
	const char *id = str(vm, "id");
	static const char *const keys[] = {"network", NULL};
	struct jv_err jerr = {0};
	const char *network = NULL;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "network", true, 63, &network, &jerr) < 0) {
		mgr_refuse_jv(req, "vm.nic_add", "vm", id, &jerr);
		goto out;
	}
	struct errinfo e = {0};
	const json_t *cfg = json_object_get(vm, "config");
	size_t n = json_array_size(json_object_get(cfg, "networks")) + json_array_size(json_object_get(cfg, "extra_nics"));
	if (n == 0)
		n = 1; /* a VM of no network has the host's NAT NIC */
	if (n >= 8)
		errinfo_set(&e, 409, "limit", "nics", "VM '%s' has %zu NICs, the most a VM may have; remove one first",
		            str(vm, "name"), n);
	else if (settled(vm, &e) == 0) {
		/* Another project's network is no network of this one. */
		struct errinfo ge = {0};
		net = mgr_find_for_project(m->st, STORE_NETWORK, network, str(vm, "project_id"), &ge);
		if (!net && ge.status == 404)
			errinfo_set(&e, 400, "invalid_request", "network", "network: no network named '%s'", network);
		else if (!net)
			e = ge;
	}
	if (e.status) {
		mgr_refuse(req, "vm.nic_add", "vm", id, &e);
		goto out;
	}
	int64_t delta[QUOTA_N] = {0};
	json_t *upd = json_deep_copy(vm);
	json_t *args = json_pack("{s:O, s:O}", "network", json_object_get(net, "name"), "bridge",
	                         json_object_get(net, "bridge"));
	commit_task(req, vm, upd, delta, "vm.nic_add", args);
	json_decref(args);
	json_decref(upd);
out:
	json_decref(net);
	json_decref(body);
	json_decref(vm);
}

/* DELETE .../nics/{nic}: a NIC added after the VM was made (netN). */
void api_vms_nic_remove(struct http_req *req)
{
	json_t *vm = api_vm_for_action(req);
	if (!vm)
		return;
	const char *id = str(vm, "id"), *nic = http_param(req, "nic");
	struct errinfo e = {0};
	json_t *d = entry(vm, "extra_nics", nic);
	if (!d)
		errinfo_set(&e, 404, "not_found", "nic", "nic: VM '%s' has no NIC '%s' added after its creation (the NICs of "
		            "its networks go with the VM)", str(vm, "name"), nic);
	else if (!strcmp(str(d, "state") ?: "", "removing"))
		errinfo_set(&e, 409, "busy", "nic", "NIC '%s' is being removed; wait for its task", nic);
	if (e.status || settled(vm, &e) < 0) {
		mgr_refuse(req, "vm.nic_remove", "vm", id, &e);
		json_decref(vm);
		return;
	}
	json_t *upd = json_deep_copy(vm);
	json_t *args = json_pack("{s:s, s:s}", "name", nic, "state_before", str(d, "state") ?: "attached");
	json_object_set_new(entry(upd, "extra_nics", nic), "state", json_string("removing"));
	int64_t delta[QUOTA_N] = {0};
	commit_task(req, vm, upd, delta, "vm.nic_remove", args);
	json_decref(args);
	json_decref(upd);
	json_decref(vm);
}
