/* task_hotplug.c - vm.disk_add, vm.disk_remove, vm.nic_add, vm.nic_remove:
 * a disk or NIC added to or removed from a VM by its host's agent (live
 * through QMP, or in a stopped VM's spec: agent vm/vm_hotplug.c), and what
 * came of it recorded in the VM's config.extra_disks / extra_nics: its
 * state (attached, pending_add, pending_remove, unused: a change that
 * waits for the next start says so), its slot and MAC (what the VM's spec
 * needs on another host). A disk's MiB are charged by the request; a
 * failed add gives them back, a removal with delete gives them back. */
#include "task_ops.h"

#include "agent_client.h"
#include "log.h"
#include "quota.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* Changes the entry `name` of the VM's config list (fields merged; NULL
 * removes it) and charges disk_mib to its project, in one transaction,
 * retried when another writer got in between. */
static int edit_entry(struct store *st, const char *vm_id, const char *list, const char *name, json_t *fields,
                      int64_t disk_mib, struct errinfo *e)
{
	int rc = -1;
	for (int attempt = 0; attempt < 8; attempt++) {
		*e = (struct errinfo){0};
		if (store_begin(st, e) < 0) {
			usleep(20000 * (attempt + 1));
			continue;
		}
		json_t *vm = store_get(st, STORE_VM, vm_id, e);
		if (!vm) {
			store_rollback(st);
			break;
		}
		json_t *arr = json_object_get(json_object_get(vm, "config"), list);
		size_t i;
		json_t *d;
		json_array_foreach(arr, i, d)
			if (!strcmp(str(d, "name") ?: "", name)) {
				if (fields)
					json_object_update(d, fields);
				else
					json_array_remove(arr, i);
				break;
			}
		int64_t delta[QUOTA_N] = {0};
		delta[QUOTA_DISK_MIB] = disk_mib;
		rc = store_update(st, STORE_VM, vm, json_integer_value(json_object_get(vm, "version")), NULL, e);
		if (rc == 0 && disk_mib)
			rc = quota_charge(st, str(vm, "project_id"), delta, NULL, e);
		json_decref(vm);
		if (rc == 0 && store_commit(st, e) == 0)
			break;
		store_rollback(st);
		rc = -1;
		if (e->status != 409 && e->status < 500)
			break;
		usleep(20000 * (attempt + 1));
	}
	json_decref(fields);
	return rc;
}

/* The agent's entry of its VM spec's list ("disks"/"nics") that key is val of. */
static json_t *agent_entry(const json_t *agent_vm, const char *list, const char *key, const json_t *val)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(json_object_get(agent_vm, "spec"), list), i, d)
		if (json_equal(json_object_get(d, key), (json_t *)val))
			return d;
	return NULL;
}

/* What the VM's record keeps of an agent's disk or NIC entry. */
static json_t *recorded(const json_t *a, bool nic)
{
	json_t *f = json_pack("{s:s}", "state", str(a, "state") ?: "attached");
	if (json_is_integer(json_object_get(a, "slot")))
		json_object_set(f, "slot", json_object_get(a, "slot"));
	if (nic && str(a, "mac"))
		json_object_set(f, "mac", json_object_get(a, "mac"));
	return f;
}

static int agent_refused(long status, json_t *reply, const char *what, struct errinfo *e)
{
	const json_t *err = json_object_get(reply, "error");
	return errinfo_set(e, status ? (unsigned)status : 502, str(err, "code") ?: "agent_error", str(err, "field"),
	                   "%s: %s", what, agent_error_message(reply));
}

static json_t *result_of(const json_t *vm, const char *kind, const char *name, const json_t *reply)
{
	const json_t *c = json_object_get(reply, "change");
	json_t *r = json_pack("{s:s, s:s, s:s, s:b}", "vm_id", str(vm, "id"), kind, name, "state",
	                      json_is_true(json_object_get(c, "pending")) ? "pending" : "done", "pending",
	                      json_is_true(json_object_get(c, "pending")));
	if (str(c, "reason"))
		json_object_set(r, "reason", json_object_get(c, "reason"));
	return r;
}

int task_op_disk_add(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                     struct errinfo *e)
{
	(void)op;
	const char *host = str(vm, "host_id"), *id = str(vm, "id"), *name = str(args, "name") ?: "";
	json_int_t size = json_integer_value(json_object_get(args, "size_mib"));
	char path[320];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/disks", vm_agent_name(vm));
	task_update(t, NULL, 20, "making the disk on the host and plugging it in");
	long status = 0;
	bool reattach = json_is_true(json_object_get(args, "reattach"));
	json_t *reply = NULL, *body = reattach ? json_pack("{s:s}", "name", name)
	                                       : json_pack("{s:s, s:I, s:O}", "name", name, "size_mib", size, "datastore",
	                                                   json_object_get(args, "datastore"));
	int rc = agent_call(t->st, host, "POST", path, body, 120, &status, &reply, NULL, e);
	json_decref(body);
	if (rc == 0 && !reattach && status == 409 && !strcmp(str(json_object_get(reply, "error"), "field") ?: "", "name")) {
		/* Made before a crash of vdcd? The host's VM says. */
		json_decref(reply);
		reply = NULL;
		snprintf(path, sizeof(path), "/api/v1/vms/%s", vm_agent_name(vm));
		json_t *want = json_string(name);
		if (agent_call(t->st, host, "GET", path, NULL, 30, &status, &reply, NULL, e) == 0 && status == 200 &&
		    agent_entry(reply, "disks", "name", want) &&
		    json_integer_value(json_object_get(agent_entry(reply, "disks", "name", want), "size_mib")) == size)
			status = 201;
		else if (rc == 0)
			rc = errinfo_set(e, 409, "disk_exists", "name", "name: the host has a disk '%s' of another size", name);
		json_decref(want);
	}
	if (rc == 0 && status != 201 && status != 202)
		rc = agent_refused(status, reply, "the host did not add the disk", e);
	if (rc < 0) {
		struct errinfo ue = {0};
		if (reattach) /* still unused */
			edit_entry(t->st, id, "extra_disks", name, json_pack("{s:s}", "state", "unused"), 0, &ue);
		else
			edit_entry(t->st, id, "extra_disks", name, NULL, -size, &ue); /* nothing made: all back */
		json_decref(reply);
		return -1;
	}
	json_t *want = json_string(name);
	json_t *a = agent_entry(reply, "disks", "name", want);
	json_decref(want);
	if (edit_entry(t->st, id, "extra_disks", name, a ? recorded(a, false) : json_pack("{s:s}", "state", "attached"),
	               0, e) < 0) {
		json_decref(reply);
		return -1;
	}
	log_info("vm_disk_added", "vm=%s disk=%s size_mib=%lld pending=%d", id, name, (long long)size, status == 202);
	*result = result_of(vm, "disk", name, reply);
	json_decref(reply);
	return 0;
}

int task_op_disk_remove(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                        struct errinfo *e)
{
	(void)op;
	const char *host = str(vm, "host_id"), *id = str(vm, "id"), *name = str(args, "name") ?: "";
	bool del = json_is_true(json_object_get(args, "delete"));
	json_int_t size = 0;
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(json_object_get(vm, "config"), "extra_disks"), i, d)
		if (!strcmp(str(d, "name") ?: "", name))
			size = json_integer_value(json_object_get(d, "size_mib"));
	char path[384];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/disks/%s%s", vm_agent_name(vm), name, del ? "?delete=true" : "");
	task_update(t, NULL, 20, "asking the guest to release the disk (up to 30 s)");
	long status = 0;
	json_t *reply = NULL;
	int rc = agent_call(t->st, host, "DELETE", path, NULL, 120, &status, &reply, NULL, e);
	struct errinfo ue = {0};
	if (rc == 0 && (status == 200 || status == 404)) {
		/* Gone from the host (404: before a crash of vdcd). */
		if (del || status == 404)
			rc = edit_entry(t->st, id, "extra_disks", name, NULL, -size, e);
		else
			rc = edit_entry(t->st, id, "extra_disks", name, json_pack("{s:s, s:i}", "state", "unused", "slot", 0), 0, e);
	} else if (rc == 0 && status == 202) {
		/* Pending: the MiB are given back with delete now; the file goes at the next start. */
		rc = edit_entry(t->st, id, "extra_disks", name,
		                json_pack("{s:s, s:b}", "state", "pending_remove", "delete_on_remove", del), del ? -size : 0, e);
	} else {
		if (rc == 0)
			rc = agent_refused(status, reply, "the disk stays attached", e);
		edit_entry(t->st, id, "extra_disks", name, json_pack("{s:O}", "state", json_object_get(args, "state_before")),
		           0, &ue);
	}
	if (rc == 0) {
		log_info("vm_disk_removed", "vm=%s disk=%s delete=%d pending=%d", id, name, del, status == 202);
		*result = result_of(vm, "disk", name, reply);
		json_object_set_new(*result, "file", json_string(del ? "deleted" : "kept"));
	}
	json_decref(reply);
	return rc;
}

int task_op_nic_add(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                    struct errinfo *e)
{
	(void)op;
	const char *host = str(vm, "host_id"), *id = str(vm, "id");
	char path[320];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/nics", vm_agent_name(vm));
	task_update(t, NULL, 20, "plugging the NIC in on the host");
	long status = 0;
	json_t *reply = NULL, *body = json_pack("{s:O}", "bridge", json_object_get(args, "bridge"));
	int rc = agent_call(t->st, host, "POST", path, body, 120, &status, &reply, NULL, e);
	json_decref(body);
	if (rc == 0 && status != 201 && status != 202)
		rc = agent_refused(status, reply, "the host did not add the NIC", e);
	if (rc < 0) {
		json_decref(reply);
		return -1;
	}
	const char *name = str(json_object_get(reply, "change"), "name") ?: "";
	int nid = strncmp(name, "net", 3) ? -1 : atoi(name + 3);
	json_t *want = json_integer(nid);
	json_t *a = agent_entry(reply, "nics", "id", want);
	json_decref(want);
	json_t *entry = a ? recorded(a, true) : json_pack("{s:s}", "state", "attached");
	json_object_set_new(entry, "name", json_string(name));
	json_object_set(entry, "network", json_object_get(args, "network"));
	json_object_set(entry, "bridge", json_object_get(args, "bridge"));
	for (int attempt = 0; attempt < 8; attempt++) { /* appended, as the request could not know its name */
		json_t *now = store_get(t->st, STORE_VM, id, e);
		if (!now)
			break;
		json_t *cfg = json_object_get(now, "config");
		if (!json_is_array(json_object_get(cfg, "extra_nics")))
			json_object_set_new(cfg, "extra_nics", json_array());
		json_array_append(json_object_get(cfg, "extra_nics"), entry);
		rc = store_update(t->st, STORE_VM, now, json_integer_value(json_object_get(now, "version")), NULL, e);
		json_decref(now);
		if (rc == 0 || e->status != 409)
			break;
	}
	json_decref(entry);
	if (rc < 0) {
		json_decref(reply);
		return -1;
	}
	log_info("vm_nic_added", "vm=%s nic=%s network=%s pending=%d", id, name, str(args, "network"), status == 202);
	*result = result_of(vm, "nic", name, reply);
	json_decref(reply);
	return 0;
}

int task_op_nic_remove(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                       struct errinfo *e)
{
	(void)op;
	const char *host = str(vm, "host_id"), *id = str(vm, "id"), *name = str(args, "name") ?: "";
	char path[384];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/nics/%s", vm_agent_name(vm), name);
	task_update(t, NULL, 20, "asking the guest to release the NIC (up to 30 s)");
	long status = 0;
	json_t *reply = NULL;
	int rc = agent_call(t->st, host, "DELETE", path, NULL, 120, &status, &reply, NULL, e);
	struct errinfo ue = {0};
	if (rc == 0 && (status == 200 || status == 404))
		rc = edit_entry(t->st, id, "extra_nics", name, NULL, 0, e);
	else if (rc == 0 && status == 202)
		rc = edit_entry(t->st, id, "extra_nics", name, json_pack("{s:s}", "state", "pending_remove"), 0, e);
	else {
		if (rc == 0)
			rc = agent_refused(status, reply, "the NIC stays", e);
		edit_entry(t->st, id, "extra_nics", name, json_pack("{s:O}", "state", json_object_get(args, "state_before")),
		           0, &ue);
	}
	if (rc == 0) {
		log_info("vm_nic_removed", "vm=%s nic=%s pending=%d", id, name, status == 202);
		*result = result_of(vm, "nic", name, reply);
	}
	json_decref(reply);
	return rc;
}

void task_hotplug_unqueue(struct store *st, const char *id, json_t *args)
{
	/* A queued add's charge and entry go; a removal's entry gets its state back. */
	struct errinfo e = {0};
	const char *name = str(args, "name");
	if (!name)
		return;
	if (json_is_true(json_object_get(args, "reattach")))
		edit_entry(st, id, "extra_disks", name, json_pack("{s:s}", "state", "unused"), 0, &e);
	else if (json_is_integer(json_object_get(args, "size_mib")))
		edit_entry(st, id, "extra_disks", name, NULL, -json_integer_value(json_object_get(args, "size_mib")), &e);
	else if (str(args, "state_before"))
		edit_entry(st, id, json_object_get(args, "delete") ? "extra_disks" : "extra_nics", name,
		           json_pack("{s:O}", "state", json_object_get(args, "state_before")), 0, &e);
}

void task_hotplug_after_start(struct task_ctx *t, const json_t *vm)
{
	/* The start made the pending changes: the record follows the host's. */
	const json_t *cfg = json_object_get(vm, "config");
	bool pending = false;
	static const char *const lists[] = {"extra_disks", "extra_nics"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *d;
		json_array_foreach(json_object_get(cfg, lists[l]), i, d)
			pending |= !strncmp(str(d, "state") ?: "", "pending_", 8);
	}
	if (!pending)
		return;
	char path[320];
	snprintf(path, sizeof(path), "/api/v1/vms/%s", vm_agent_name(vm));
	long status = 0;
	json_t *reply = NULL;
	struct errinfo e = {0};
	if (agent_call(t->st, str(vm, "host_id"), "GET", path, NULL, 30, &status, &reply, NULL, &e) < 0 || status != 200) {
		json_decref(reply);
		return;
	}
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *d;
		json_array_foreach(json_object_get(cfg, lists[l]), i, d) {
			const char *name = str(d, "name") ?: "";
			if (strncmp(str(d, "state") ?: "", "pending_", 8))
				continue;
			json_t *key = l ? json_integer(atoi(name + 3)) : json_string(name);
			json_t *a = agent_entry(reply, l ? "nics" : "disks", l ? "id" : "name", key);
			json_decref(key);
			/* Gone (a removal with delete: its MiB went back with its
			 * task), or as the host has it now. */
			edit_entry(t->st, str(vm, "id"), lists[l], name, a ? recorded(a, l == 1) : NULL, 0, &e);
		}
	}
	json_decref(reply);
}
