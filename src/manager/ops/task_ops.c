/* task_ops.c - VM operations as tasks: each one calls the VM's agent and
 * writes what came of it into the VM document. Answers that mean "already
 * so" (409 name_taken with our uuid, 409 already running) count as success,
 * which is what makes a re-run after a crash safe. */
#include "task_ops.h"
#include "evacuation.h"
#include "pools.h"
#include "quota.h"

#include "agent_client.h"
#include "crashpoint.h"
#include "last_exit.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *vm_agent_name(const json_t *vm)
{
	const char *a = json_string_value(json_object_get(json_object_get(vm, "config"), "agent_name"));
	return a ? a : json_string_value(json_object_get(vm, "name"));
}

/* The disks added after the VM's creation, as the host has them (its spec
 * on another host, after an HA restart, must have them too): 0 or -1. */
static int vm_spec_extra_disks(const json_t *cfg, json_t *disks)
{
	size_t i;
	json_t *d;
	int bad = 0;
	json_array_foreach(json_object_get(cfg, "extra_disks"), i, d) {
		const char *st = json_string_value(json_object_get(d, "state")) ?: "attached";
		if (!strcmp(st, "adding")) /* its task has not made it yet */
			continue;
		json_t *o = json_pack("{s:O, s:O, s:O}", "name", json_object_get(d, "name"), "datastore",
		                      json_object_get(d, "datastore"), "size_mib", json_object_get(d, "size_mib"));
		if (o && json_integer_value(json_object_get(d, "slot")) > 0)
			bad |= json_object_set(o, "slot", json_object_get(d, "slot"));
		if (o && strcmp(st, "attached") && strcmp(st, "removing"))
			bad |= json_object_set_new(o, "state", json_string(st));
		bad |= !o || json_array_append_new(disks, o);
	}
	return bad ? -1 : 0;
}

/* The NICs added after its creation (netN: id N). */
static int vm_spec_extra_nics(const json_t *cfg, json_t *nics)
{
	size_t i;
	json_t *n;
	int bad = 0;
	json_array_foreach(json_object_get(cfg, "extra_nics"), i, n) {
		const char *name = json_string_value(json_object_get(n, "name")) ?: "";
		const char *st = json_string_value(json_object_get(n, "state")) ?: "attached";
		json_t *o = json_pack("{s:O, s:i}", "bridge", json_object_get(n, "bridge"), "id",
		                      strncmp(name, "net", 3) ? 0 : atoi(name + 3));
		if (o && json_object_get(n, "mac"))
			bad |= json_object_set(o, "mac", json_object_get(n, "mac"));
		if (o && json_integer_value(json_object_get(n, "slot")) > 0)
			bad |= json_object_set(o, "slot", json_object_get(n, "slot"));
		if (o && !strncmp(st, "pending_", 8))
			bad |= json_object_set_new(o, "state", json_string(st));
		bad |= !o || json_array_append_new(nics, o);
	}
	return bad ? -1 : 0;
}

json_t *vm_agent_spec(const json_t *vm)
{
	const json_t *cfg = json_object_get(vm, "config");
	const json_t *tmpl = json_object_get(cfg, "template");
	json_t *spec = json_pack("{s:s, s:O, s:O, s:O, s:s}", "name", vm_agent_name(vm), "uuid",
	                         json_object_get(vm, "id"), "vcpus", json_object_get(cfg, "vcpus"),
	                         "memory_mib", json_object_get(cfg, "memory_mib"), "display", "vnc");
	/* Every step is checked: memory that ran out must not make a VM other
	 * than asked for (no kernel, no NIC of its networks): NULL instead. */
	int bad = !spec;
	if (json_object_get(cfg, "cpu_model"))
		bad |= json_object_set(spec, "cpu_model", json_object_get(cfg, "cpu_model"));
	if (json_object_get(cfg, "watchdog"))
		bad |= json_object_set(spec, "watchdog", json_object_get(cfg, "watchdog"));
	if (json_object_get(cfg, "firmware"))
		bad |= json_object_set(spec, "firmware", json_object_get(cfg, "firmware"));
	if (json_object_get(cfg, "boot_order"))
		bad |= json_object_set(spec, "boot_order", json_object_get(cfg, "boot_order"));
	/* The CD-ROM drive: its ISO by id, as the host knows images. */
	const json_t *cd = json_object_get(cfg, "cdrom");
	if (json_is_object(cd))
		bad |= json_object_set_new(spec, "cdrom", json_object_get(cd, "image_id")
		                                              ? json_pack("{s:O}", "image", json_object_get(cd, "image_id"))
		                                              : json_object());
	/* Images by id only: the host resolves them to its own copies. */
	if (json_object_get(tmpl, "kernel_id")) {
		json_t *boot = json_pack("{s:O}", "kernel_image", json_object_get(tmpl, "kernel_id"));
		bad |= !boot;
		if (json_object_get(tmpl, "initrd_id"))
			bad |= json_object_set(boot, "initrd_image", json_object_get(tmpl, "initrd_id"));
		if (json_object_get(tmpl, "cmdline"))
			bad |= json_object_set(boot, "cmdline", json_object_get(tmpl, "cmdline"));
		bad |= json_object_set_new(spec, "boot", boot);
	}
	json_t *disk = json_pack("{s:s, s:O, s:O}", "name", "root", "image", json_object_get(tmpl, "image_id"),
	                         "datastore", json_object_get(cfg, "datastore"));
	bad |= !disk;
	json_int_t size = json_integer_value(json_object_get(cfg, "disk_size_mib"));
	if (size > 0)
		bad |= json_object_set_new(disk, "size_mib", json_integer(size));
	json_t *disks = json_pack("[o]", disk);
	bad |= !disks || vm_spec_extra_disks(cfg, disks) < 0 || json_object_set_new(spec, "disks", disks);
	json_t *nics = json_array();
	bad |= !nics;
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(cfg, "networks"), i, n)
		bad |= json_array_append_new(nics, json_pack("{s:O}", "bridge", json_object_get(n, "bridge")));
	if (!bad && json_array_size(nics) == 0)
		bad |= json_array_append_new(nics, json_pack("{s:s}", "mode", "nat"));
	bad |= vm_spec_extra_nics(cfg, nics) < 0;
	bad |= json_object_set_new(spec, "nics", nics);
	const json_t *ud = json_object_get(cfg, "user_data");
	if (json_is_string(ud))
		bad |= json_object_set_new(spec, "cloud_init",
		                           json_pack("{s:O, s:{s:O}}", "user_data", ud, "meta_data", "local-hostname",
		                                     json_object_get(vm, "name")));
	if (bad) {
		json_decref(spec);
		return NULL;
	}
	return spec;
}

int task_vm_patch(struct store *st, const char *id, json_t *fields, struct errinfo *e)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		struct errinfo ge = {0};
		json_t *vm = store_get(st, STORE_VM, id, &ge);
		if (!vm) {
			json_decref(fields);
			*e = ge;
			return -1;
		}
		json_t *upd = json_deep_copy(vm);
		/* Fields that could not be made or set (memory) are an error, not
		 * an update that quietly writes the document back unchanged (a
		 * create would succeed with its VM left "creating"). */
		int bad = !fields || !upd || json_object_update(upd, fields);
		const char *key;
		json_t *val;
		void *tmp;
		json_object_foreach_safe(upd, tmp, key, val)
			if (json_is_null(val) && json_is_null(json_object_get(fields, key)))
				json_object_del(upd, key); /* null in fields: remove the field */
		const char *ps = json_string_value(json_object_get(upd, "power_state"));
		const char *ds = json_string_value(json_object_get(upd, "desired_state"));
		if (!bad && ps && ds)
			bad = json_object_set_new(upd, "in_sync", json_boolean(!strcmp(ps, ds)));
		struct errinfo ue = {0};
		int rc = bad ? errinfo_set(&ue, 500, "internal", NULL, "out of memory")
		             : store_update(st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")),
		                            NULL, &ue);
		json_decref(upd);
		json_decref(vm);
		if (rc == 0 || ue.status != 409) {
			json_decref(fields);
			if (rc < 0)
				*e = ue;
			return rc;
		}
		usleep(1000);
	}
	json_decref(fields);
	return errinfo_set(e, 409, "version_conflict", NULL, "the VM changed too often to update");
}

/* Agent paths name the VM as its host knows it. */
static const char *vm_name(const json_t *vm) { return vm_agent_name(vm); }

/* The fields that record a state the host reported in a VM document
 * (reply, or NULL for none): the state, and its seq. Heartbeats listed
 * before this report carry smaller seqs and are ignored (api_hosts.c), so
 * a stale beat cannot undo what a task saw. */
static json_t *observed(const json_t *reply, const char *state)
{
	json_t *fields = json_pack("{s:s}", "power_state", state);
	const json_t *seq = json_object_get(reply, "state_seq");
	if (json_is_integer(seq))
		json_object_set(fields, "state_seq", (json_t *)seq);
	/* The host's newest word on why QEMU last ended (a stop just now). */
	if (json_is_object(json_object_get(reply, "last_exit")))
		json_object_set_new(fields, "last_exit", last_exit_doc(json_object_get(reply, "last_exit")));
	return fields;
}

/* Reads the VM's state from its host after an operation, whatever came of
 * it, and stores it: vdcd's view follows the host's at once, not at the
 * next heartbeat (a failed revert leaves a VM paused, a refused delete
 * leaves it running). Writes the state into out ("" when the host did
 * not say). */
static void observe(struct task_ctx *t, const json_t *vm, char *out, size_t n)
{
	const char *id = json_string_value(json_object_get(vm, "id"));
	const char *host = json_string_value(json_object_get(vm, "host_id"));
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s", vm_name(vm));
	long status = 0;
	json_t *reply = NULL;
	struct errinfo e = {0};
	out[0] = '\0';
	if (host && agent_call(t->st, host, "GET", path, NULL, 30, &status, &reply, NULL, &e) == 0) {
		const char *state = status == 200 ? json_string_value(json_object_get(reply, "state")) : NULL;
		if (status == 404)
			state = "missing";
		if (state) {
			snprintf(out, n, "%s", state);
			task_vm_patch(t->st, id, observed(status == 200 ? reply : NULL, state), &e);
		}
	}
	json_decref(reply);
}

/* A clone's root disk: a full copy of the source VM's root disk, which the
 * host finds itself (source_vm), so no file name crosses the API. */
static int clone_disk(const char *source, json_t *spec)
{
	json_t *disk = json_array_get(json_object_get(spec, "disks"), 0);
	json_object_del(disk, "image");
	int bad = json_object_set_new(disk, "source_vm", json_string(source));
	bad |= json_object_set_new(disk, "source_disk", json_string("root"));
	bad |= json_object_set_new(disk, "copy", json_true());
	return bad ? -1 : 0;
}

/* Gives the host its own copy of every image the VM boots from: its
 * disk's, then its kernel, initrd and ISO. */
static int push_images(struct task_ctx *t, const json_t *vm, const char *host, struct errinfo *e)
{
	const json_t *cfg = json_object_get(vm, "config");
	const char *ds = json_string_value(json_object_get(cfg, "datastore")) ?: "local";
	const char *id = json_string_value(json_object_get(json_object_get(cfg, "template"), "image_id"));
	if (task_checkpoint(t, e) < 0 || (id && task_image_push(t, host, id, ds, 10, e) < 0))
		return -1;
	return task_vm_push_boot_images(t, vm, host, 13, e);
}

static int op_create(struct task_ctx *t, json_t *vm, json_t *args, json_t **result, struct errinfo *e)
{
	bool start = json_is_true(json_object_get(args, "start"));
	const char *id = json_string_value(json_object_get(vm, "id"));
	const char *host = json_string_value(json_object_get(vm, "host_id"));
	json_t *spec = vm_agent_spec(vm);
	if (spec && json_string_value(json_object_get(vm, "pool_id"))) {
		json_t *chain = pools_chain(t->st, json_string_value(json_object_get(vm, "pool_id")), e);
		if (!chain) {
			json_decref(spec);
			struct errinfo de = {0};
			quota_remove_vm(t->st, json_string_value(json_object_get(vm, "id")), &de);
			return -1;
		}
		json_object_set_new(spec, "pool", chain);
	}
	const char *source = json_string_value(json_object_get(args, "clone_of_agent_name"))
	                         ?: json_string_value(json_object_get(args, "clone_of"));
	if (!spec || (source && clone_disk(source, spec) < 0)) {
		json_decref(spec);
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		struct errinfo de = {0};
		quota_remove_vm(t->st, id, &de); /* nothing was made: release it all */
		return -1;
	}
	/* Until the host is asked to make the VM, a cancel leaves nothing:
	 * the images pushed are the host's copies of the library's, kept for
	 * any VM. */
	if ((!source && push_images(t, vm, host, e) < 0) || task_point_of_no_return(t, e) < 0) {
		json_decref(spec);
		struct errinfo de = {0};
		quota_remove_vm(t->st, id, &de); /* nothing was made: release it all */
		return -1;
	}
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms%s", start ? "?start=true" : "");
	task_update(t, NULL, 20, start ? "creating disks and starting QEMU on the host"
	                               : "creating disks on the host");
	long status = 0;
	json_t *reply = NULL;
	int rc = agent_call(t->st, host, "POST", path, spec, 300, &status, &reply, NULL, e);
	json_decref(spec);
	crash_point("task:vm.create:after_agent");
	if (rc < 0) {
		/* The host may or may not have it: keep the allocation, say so. */
		struct errinfo pe = {0};
		task_vm_patch(t->st, id, json_pack("{s:s}", "power_state", "error"), &pe);
		return -1;
	}
	if (status == 409 && !strcmp(json_string_value(json_object_get(json_object_get(reply, "error"), "code")) ?: "", "name_taken")) {
		/* Created before a crash: confirm it is ours. */
		json_decref(reply);
		reply = NULL;
		snprintf(path, sizeof(path), "/api/v1/vms/%s", vm_name(vm));
		if (agent_call(t->st, host, "GET", path, NULL, 30, &status, &reply, NULL, e) < 0)
			return -1;
		if (status != 200 || strcmp(json_string_value(json_object_get(reply, "uuid")) ?: "", id)) {
			json_decref(reply);
			return errinfo_set(e, 409, "name_taken", "name",
			                   "host already has a different VM named '%s'", vm_name(vm));
		}
		if (start && !strcmp(json_string_value(json_object_get(reply, "state")) ?: "", "stopped")) {
			json_decref(reply);
			reply = NULL;
			snprintf(path, sizeof(path), "/api/v1/vms/%s/start", vm_name(vm));
			if (agent_call(t->st, host, "POST", path, NULL, 300, &status, &reply, NULL, e) < 0)
				return -1;
		}
		status = 201;
	}
	if (status != 201 && status != 200) {
		/* The agent made nothing (its create is all or nothing): release
		 * the allocation so the name and the capacity are free again. */
		errinfo_set(e, (unsigned)status, json_string_value(json_object_get(json_object_get(reply, "error"), "code")) ?: "agent_error",
		            NULL, "host refused the VM: %s", agent_error_message(reply));
		struct errinfo de = {0};
		quota_remove_vm(t->st, id, &de);
		json_decref(reply);
		return -1;
	}
	const char *state = json_string_value(json_object_get(reply, "state"));
	int rc2 = task_vm_patch(t->st, id, observed(reply, state ? state : "unknown"), e);
	if (rc2 == 0) /* state points into reply: use it before letting go */
		*result = json_pack("{s:s, s:s}", "vm_id", id, "power_state", state ? state : "unknown");
	json_decref(reply);
	return rc2;
}

static int op_power(struct task_ctx *t, json_t *vm, const char *action, json_t *args, json_t **result,
                    struct errinfo *e)
{
	const char *id = json_string_value(json_object_get(vm, "id"));
	const char *host = json_string_value(json_object_get(vm, "host_id"));
	char path[256], msg[128];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/%s", vm_name(vm), action);
	snprintf(msg, sizeof(msg), "%s on the host", action);
	/* A VM of a pool starts under its pools' settings as they are now. */
	if (!strcmp(action, "start") && json_string_value(json_object_get(vm, "pool_id"))) {
		task_update(t, NULL, 20, "setting the VM's pools on the host");
		if (task_pool_push(t, vm, e) < 0)
			return -1;
	}
	task_update(t, NULL, 30, msg);
	json_t *body = NULL;
	if (!strcmp(action, "stop"))
		body = json_pack("{s:O}", "timeout_s", json_object_get(args, "timeout_s") ?: json_integer(60));
	long status = 0;
	json_t *reply = NULL;
	int rc = agent_call(t->st, host, "POST", path, body, 3700, &status, &reply, NULL, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	const char *state = json_string_value(json_object_get(reply, "state"));
	if (status == 409) {
		/* "Already so" is success: ask what the VM is now. A reset has
		 * no "already so": refused, it did nothing (as a refused pause). */
		const char *want = !strcmp(action, "reset") ? NULL
		                   : !strcmp(action, "start") || !strcmp(action, "resume") ? "running"
		                   : !strcmp(action, "pause") ? "paused" : "stopped";
		json_decref(reply);
		reply = NULL;
		snprintf(path, sizeof(path), "/api/v1/vms/%s", vm_name(vm));
		if (agent_call(t->st, host, "GET", path, NULL, 30, &status, &reply, NULL, e) < 0)
			return -1;
		state = json_string_value(json_object_get(reply, "state"));
		if (!state || !want ||
		    (strcmp(state, want) && !(strcmp(want, "stopped") == 0 && !strcmp(state, "crashed")))) {
			errinfo_set(e, 409, "invalid_state", NULL, "cannot %s: VM is %s%s", action,
			            state ? state : "unknown",
			            !strcmp(action, "reset") || !strcmp(action, "pause") ? " (it must be running)" : "");
			if (state) { /* what the host says, at once */
				struct errinfo pe = {0};
				json_t *fields = observed(reply, state);
				/* Refused, it asked for nothing: what the VM was to be
				 * before stands (a refused pause leaves no "paused" to
				 * wait for). */
				const json_t *before = json_object_get(args, "desired_before");
				if (json_is_string(before))
					json_object_set(fields, "desired_state", (json_t *)before);
				task_vm_patch(t->st, id, fields, &pe);
			}
			json_decref(reply);
			return -1;
		}
	} else if (status != 200) {
		errinfo_set(e, (unsigned)status,
		            json_string_value(json_object_get(json_object_get(reply, "error"), "code")) ?: "agent_error",
		            NULL, "cannot %s: %s", action, agent_error_message(reply));
		json_decref(reply);
		char now[32];
		observe(t, vm, now, sizeof(now));
		return -1;
	}
	rc = task_vm_patch(t->st, id, observed(reply, state ? state : "unknown"), e);
	if (rc == 0) {
		*result = json_pack("{s:s, s:s}", "vm_id", id, "power_state", state ? state : "unknown");
		/* A stop the guest did not do itself was a power-off: say so. */
		const json_t *le = json_object_get(reply, "last_exit");
		if (!strcmp(action, "stop") && json_is_true(json_object_get(le, "forced")))
			json_object_update_new(*result, json_pack("{s:b, s:s}", "forced", 1, "reason",
			                                          json_string_value(json_object_get(le, "forced_reason")) ?: ""));
		/* How the guest was asked: its guest agent, or the ACPI button. */
		const char *via = json_string_value(json_object_get(le, "stop_via"));
		if (!strcmp(action, "stop") && via) {
			json_object_set_new(*result, "stop_via", json_string(via));
			json_object_set_new(*result, "message",
			                    json_string(json_is_true(json_object_get(le, "forced"))
			                                    ? "stopped hard: the guest did not power off when asked"
			                                : !strcmp(via, "guest_agent")
			                                    ? "the guest powered off, asked through its guest agent"
			                                    : "the guest powered off, asked by the ACPI power button"));
		}
	}
	json_decref(reply);
	return rc;
}

static int op_delete(struct task_ctx *t, json_t *vm, json_t *args, json_t **result, struct errinfo *e)
{
	const char *id = json_string_value(json_object_get(vm, "id"));
	const char *host = json_string_value(json_object_get(vm, "host_id"));
	char path[256];
	/* Only a forced delete powers a running VM off; otherwise the host
	 * refuses a VM that runs (vdcd's view may lag behind the host's). */
	snprintf(path, sizeof(path), "/api/v1/vms/%s%s", vm_name(vm),
	         json_is_true(json_object_get(args, "force")) ? "?force=true" : "");
	task_update(t, NULL, 30, "removing the VM and its disks from the host");
	long status = 0;
	json_t *reply = NULL;
	if (host && agent_call(t->st, host, "DELETE", path, NULL, 120, &status, &reply, NULL, e) < 0) {
		struct errinfo pe = {0};
		task_vm_patch(t->st, id, json_pack("{s:s}", "power_state", "error"), &pe);
		return -1;
	}
	if (host && status != 204 && status != 404) {
		errinfo_set(e, (unsigned)status,
		            json_string_value(json_object_get(json_object_get(reply, "error"), "code")) ?: "agent_error",
		            NULL, "%s", agent_error_message(reply));
		json_decref(reply);
		char now[32];
		observe(t, vm, now, sizeof(now));
		if (!now[0]) {
			struct errinfo pe = {0};
			task_vm_patch(t->st, id, json_pack("{s:s}", "power_state", "unknown"), &pe);
		}
		return -1;
	}
	json_decref(reply);
	crash_point("task:vm.delete:after_agent");
	if (quota_remove_vm(t->st, id, e) < 0)
		return -1;
	*result = json_pack("{s:s}", "vm_id", id);
	return 0;
}

/* Snapshots: take (POST .../snapshots), revert (POST .../{snap}/revert) or
 * delete (DELETE .../{snap}) on the host; which by the op's name. */
static int op_snapshot(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                       struct errinfo *e)
{
	const char *host = json_string_value(json_object_get(vm, "host_id"));
	const char *snap = json_string_value(json_object_get(args, "name")) ?: "";
	char path[384];
	const char *method = "POST";
	long want = 201;
	json_t *body = NULL;
	if (!strcmp(op, "vm.snapshot")) {
		snprintf(path, sizeof(path), "/api/v1/vms/%s/snapshots", vm_name(vm));
		body = json_pack("{s:s}", "name", snap);
	} else if (!strcmp(op, "vm.snapshot_revert")) {
		snprintf(path, sizeof(path), "/api/v1/vms/%s/snapshots/%s/revert", vm_name(vm), snap);
		want = 200;
	} else {
		snprintf(path, sizeof(path), "/api/v1/vms/%s/snapshots/%s", vm_name(vm), snap);
		method = "DELETE";
		want = 204;
	}
	long status = 0;
	json_t *reply = NULL;
	int rc = agent_call(t->st, host, method, path, body, 600, &status, &reply, NULL, e);
	json_decref(body);
	char now[32];
	/* A revert may leave the VM paused (QEMU stops it to load): whatever
	 * happened, vdcd shows what the host has now. */
	observe(t, vm, now, sizeof(now));
	if (rc < 0)
		return -1;
	if (status != want) {
		/* The host's own words; a wrong state (running VM) is a conflict. */
		errinfo_set(e, (unsigned)status,
		            json_string_value(json_object_get(json_object_get(reply, "error"), "code")) ?: "agent_error",
		            NULL, "%s", agent_error_message(reply));
		json_decref(reply);
		return -1;
	}
	json_decref(reply);
	*result = json_pack("{s:s, s:s}", "vm_id", json_string_value(json_object_get(vm, "id")), "snapshot", snap);
	if (now[0])
		json_object_set_new(*result, "power_state", json_string(now));
	return 0;
}

/* Gives back what a resize could not apply: the VM's sizes in steps not
 * done return to `from`, and the project's usage with them, in one
 * transaction (retried when another writer got in between). */
static void resize_undo(struct store *st, const char *id, json_t *from, json_t *to, bool disk_done)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct errinfo e = {0};
		if (store_begin(st, &e) < 0) {
			usleep(20000 * (attempt + 1));
			continue;
		}
		json_t *vm = store_get(st, STORE_VM, id, &e);
		if (!vm) {
			store_rollback(st);
			if (e.status == 404)
				return;
			usleep(20000 * (attempt + 1));
			continue;
		}
		json_t *cfg = json_object_get(vm, "config");
		int64_t back[QUOTA_N] = {0};
		static const struct { const char *key; int q; } steps[] = {
			{"vcpus", QUOTA_VCPUS}, {"memory_mib", QUOTA_MEMORY_MIB}, {"disk_size_mib", QUOTA_DISK_MIB},
		};
		for (int i = 0; i < 3; i++) {
			if (steps[i].q == QUOTA_DISK_MIB && disk_done)
				continue;
			json_int_t f = json_integer_value(json_object_get(from, steps[i].key));
			back[steps[i].q] = f - json_integer_value(json_object_get(to, steps[i].key));
			json_object_set_new(cfg, steps[i].key, json_integer(f));
		}
		if (json_is_string(json_object_get(from, "watchdog")))
			json_object_set(cfg, "watchdog", json_object_get(from, "watchdog"));
		else if (json_object_get(from, "watchdog")) /* null: it had none */
			json_object_del(cfg, "watchdog");
		if (json_object_get(from, "firmware")) {
			if (strcmp(json_string_value(json_object_get(from, "firmware")) ?: "bios", "bios"))
				json_object_set(cfg, "firmware", json_object_get(from, "firmware"));
			else
				json_object_del(cfg, "firmware");
			if (json_is_array(json_object_get(from, "boot_order")))
				json_object_set(cfg, "boot_order", json_object_get(from, "boot_order"));
			else
				json_object_del(cfg, "boot_order");
		}
		const char *pid = json_string_value(json_object_get(vm, "project_id"));
		int rc = store_update(st, STORE_VM, vm, json_integer_value(json_object_get(vm, "version")), NULL, &e);
		if (rc == 0)
			rc = quota_charge(st, pid, back, NULL, &e);
		json_decref(vm);
		if (rc == 0 && store_commit(st, &e) == 0)
			return;
		store_rollback(st);
		/* Another writer (409), or a store or memory that failed once:
		 * try again, or the VM keeps sizes its host does not have. */
		if (e.status == 404 || (e.status >= 400 && e.status < 500 && e.status != 409))
			return;
		usleep(20000 * (attempt + 1));
	}
}

/* Resize on the host: the disk first (the step most likely to fail: space),
 * then vCPUs and memory. Both steps are idempotent, so a run after a crash
 * converges. */
static int op_resize(struct task_ctx *t, json_t *vm, json_t *args, json_t **result, struct errinfo *e)
{
	const char *host = json_string_value(json_object_get(vm, "host_id"));
	const char *id = json_string_value(json_object_get(vm, "id"));
	json_t *from = json_object_get(args, "from"), *to = json_object_get(args, "to");
	char path[384];
	long status = 0;
	json_t *reply = NULL;
	bool disk_done = true;
	json_t *warnings = json_array();
	json_int_t disk = json_integer_value(json_object_get(to, "disk_size_mib"));
	if (disk != json_integer_value(json_object_get(from, "disk_size_mib"))) {
		disk_done = false;
		task_update(t, NULL, 30, "growing the disk on the host");
		snprintf(path, sizeof(path), "/api/v1/vms/%s/disks/root/resize", vm_name(vm));
		json_t *body = json_pack("{s:I}", "size_mib", disk);
		int rc = agent_call(t->st, host, "POST", path, body, 600, &status, &reply, NULL, e);
		json_decref(body);
		if (rc == 0 && status != 200)
			rc = errinfo_set(e, (unsigned)status, "agent_error", NULL, "the host could not grow the disk: %s",
			                 agent_error_message(reply));
		json_decref(reply);
		reply = NULL;
		if (rc < 0)
			goto undo;
		disk_done = true;
	}
	/* The watchdog: a string or null in a task of this vdcd; no key in an
	 * older one's (nothing asked). */
	const char *wd_from = json_string_value(json_object_get(from, "watchdog")),
	           *wd_to = json_string_value(json_object_get(to, "watchdog"));
	bool wd_change = json_object_get(to, "watchdog") && strcmp(wd_from ?: "", wd_to ?: "");
	bool fw_change = json_object_get(to, "firmware") != NULL;
	if (json_integer_value(json_object_get(to, "vcpus")) != json_integer_value(json_object_get(from, "vcpus")) ||
	    json_integer_value(json_object_get(to, "memory_mib")) != json_integer_value(json_object_get(from, "memory_mib")) ||
	    wd_change || fw_change) {
		task_update(t, NULL, 60, "changing vCPUs, memory, the watchdog and firmware on the host");
		snprintf(path, sizeof(path), "/api/v1/vms/%s/resize", vm_name(vm));
		json_t *body = json_pack("{s:O, s:O}", "vcpus", json_object_get(to, "vcpus"), "memory_mib",
		                         json_object_get(to, "memory_mib"));
		if (body && wd_change)
			json_object_set(body, "watchdog", json_object_get(to, "watchdog"));
		if (body && fw_change) {
			json_object_set(body, "firmware", json_object_get(to, "firmware"));
			json_object_set(body, "boot_order", json_object_get(to, "boot_order"));
		}
		int rc = agent_call(t->st, host, "POST", path, body, 60, &status, &reply, NULL, e);
		json_decref(body);
		if (rc == 0 && status != 200)
			rc = errinfo_set(e, (unsigned)status,
			                 json_string_value(json_object_get(json_object_get(reply, "error"), "code")) ?: "agent_error",
			                 NULL, "the host refused the new sizes: %s", agent_error_message(reply));
		/* What the new sizes cost (RAM snapshots that no longer fit). */
		if (rc == 0)
			json_array_extend(warnings, json_object_get(reply, "warnings"));
		json_decref(reply);
		if (rc < 0)
			goto undo;
	}
	*result = json_pack("{s:s, s:O, s:o}", "vm_id", id, "config", to, "warnings", warnings);
	return 0;
undo:
	json_decref(warnings);
	resize_undo(t->st, id, from, to, disk_done);
	return -1;
}

/* A create or delete that failed must not leave its VM "creating" or
 * "deleting": only its task leaves those states, and they refuse every
 * other operation, a delete included, so the VM would be stuck for good.
 * Whatever step failed (the host, or the store write that was to record
 * the outcome), the VM becomes "error": the host may or may not have it,
 * and a delete clears it either way. Retried, as the store that failed the
 * step may fail once more. */
static void unstick(struct store *st, const char *id)
{
	for (int attempt = 0; attempt < 6; attempt++) {
		if (attempt)
			usleep(20000 * attempt);
		struct errinfo ge = {0};
		json_t *vm = store_get(st, STORE_VM, id, &ge);
		if (!vm) {
			if (ge.status == 404) /* released: nothing to mark */
				return;
			continue;
		}
		char ps[16];
		snprintf(ps, sizeof(ps), "%s", json_string_value(json_object_get(vm, "power_state")) ?: "");
		json_decref(vm);
		if (strcmp(ps, "creating") && strcmp(ps, "deleting"))
			return;
		json_t *fields = json_pack("{s:s}", "power_state", "error");
		struct errinfo pe = {0};
		if (fields && task_vm_patch(st, id, fields, &pe) == 0) {
			log_warn("vm_marked_error", "vm=%s was=%s", id, ps);
			return;
		}
	}
	log_error("vm_stuck", "vm=%s hint=%s", id, log_quote("the store refused to mark it error"));
}

/* Adapters to one signature, so that every operation is one line of the
 * table below. */
static int run_create(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                      struct errinfo *e)
{
	return op_create(t, vm, args, result, e);
}

static int run_delete(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                      struct errinfo *e)
{
	return op_delete(t, vm, args, result, e);
}

static int run_power(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                     struct errinfo *e)
{
	int rc = op_power(t, vm, op + strlen("vm."), args, result, e);
	if (rc == 0 && !strcmp(op, "vm.start"))
		task_hotplug_after_start(t, vm);
	return rc;
}

static int run_resize(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                      struct errinfo *e)
{
	return op_resize(t, vm, args, result, e);
}

static int run_image_import(struct task_ctx *t, json_t *vm, const char *op, json_t *args,
                            json_t **result, struct errinfo *e)
{
	return task_image_import(t, args, result, e);
}

/* The request charged the new sizes and wrote them into the VM: none was
 * applied, so all of them go back. */
static void resize_unread(struct store *st, const char *id, json_t *args)
{
	resize_undo(st, id, json_object_get(args, "from"), json_object_get(args, "to"), false);
}

/* Undoing what the request of a task cancelled while queued did. */
static void create_unqueue(struct store *st, const char *id, json_t *args)
{
	struct errinfo e = {0};
	quota_remove_vm(st, id, &e); /* the VM was only a reservation */
}

static void delete_unqueue(struct store *st, const char *id, json_t *args)
{
	const char *was = json_string_value(json_object_get(args, "power_before"));
	struct errinfo e = {0};
	/* Without the state before (a task of an older vdcd): unknown until
	 * the next heartbeat says. */
	task_vm_patch(st, id, json_pack("{s:s}", "power_state", was ? was : "unknown"), &e);
}

static void power_unqueue(struct store *st, const char *id, json_t *args)
{
	const json_t *before = json_object_get(args, "desired_before");
	struct errinfo e = {0};
	if (json_is_string(before))
		task_vm_patch(st, id, json_pack("{s:O}", "desired_state", before), &e);
}

/* The request marked the VM as migrating: nothing moved. */
static void migrate_unqueue(struct store *st, const char *id, json_t *args)
{
	struct errinfo e = {0};
	task_vm_patch(st, id, json_pack("{s:n}", "migration"), &e);
}

static void import_unqueue(struct store *st, const char *id, json_t *args)
{
	struct errinfo e = {0};
	store_delete(st, STORE_IMAGE, id, &e); /* no file was made: the image was only its name */
}

/* Every task operation: its name, what it works on and what runs it. A
 * new operation (migrate, evacuate) is one more line. */
struct task_op_def {
	const char *name;
	bool on_vm;        /* the task's target is a VM, read before running */
	bool gone_is_done; /* a VM already gone (404) means the operation is done */
	bool sticky;       /* the VM waits in creating/deleting: a failure marks it error */
	int (*run)(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
	           struct errinfo *e);
	/* When the VM could not be read (a store failure, not a 404): gives
	 * back what the request did before the task ran. */
	void (*unread)(struct store *st, const char *id, json_t *args);
	/* Cancelled while queued: gives back what the request did (NULL: it
	 * did nothing the task would not have). */
	void (*unqueue)(struct store *st, const char *id, json_t *args);
	/* NULL: a running task may be cancelled (until its point of no
	 * return); else why not. */
	const char *not_cancellable;
};

static const char no_power[] = "it was sent to the VM's host, which carries it out at once; it cannot be undone "
                               "(give the opposite operation once it ends)";
static const char no_hotplug[] = "the host plugs the device in or asks the guest to release it at once; give the "
                                 "opposite change once it ends";
static const char no_snap[] = "QEMU carries out a snapshot operation as one step; it cannot be interrupted";

static const struct task_op_def task_ops[] = {
	{"vm.create", true, false, true, run_create, NULL, create_unqueue, NULL},
	{"vm.delete", true, true, true, run_delete, NULL, delete_unqueue,
	 "the host may already have removed the VM's disks; a delete that started cannot be undone"},
	{"vm.start", true, false, false, run_power, NULL, power_unqueue, no_power},
	{"vm.stop", true, false, false, run_power, NULL, power_unqueue,
	 "the guest may already be shutting down, and a running stop cannot be undone (start the VM again "
	 "once it ends)"},
	{"vm.destroy", true, false, false, run_power, NULL, power_unqueue, no_power},
	{"vm.reset", true, false, false, run_power, NULL, power_unqueue, no_power},
	{"vm.pause", true, false, false, run_power, NULL, power_unqueue, no_power},
	{"vm.resume", true, false, false, run_power, NULL, power_unqueue, no_power},
	{"vm.resize", true, false, false, run_resize, resize_unread, resize_unread,
	 "the host may have grown the disk already, which cannot be shrunk back"},
	{"vm.snapshot", true, false, false, op_snapshot, NULL, NULL, no_snap},
	{"vm.cdrom", true, false, false, task_op_cdrom, NULL, NULL, NULL},
	{"vm.migrate", true, false, false, task_op_migrate, NULL, migrate_unqueue, NULL},
	{"vm.disk_move", true, false, false, task_op_disk_move, NULL, NULL, NULL},
	{"vm.disk_add", true, false, false, task_op_disk_add, task_hotplug_unqueue, task_hotplug_unqueue, no_hotplug},
	{"vm.disk_remove", true, false, false, task_op_disk_remove, task_hotplug_unqueue, task_hotplug_unqueue, no_hotplug},
	{"vm.nic_add", true, false, false, task_op_nic_add, NULL, NULL, no_hotplug},
	{"vm.nic_remove", true, false, false, task_op_nic_remove, task_hotplug_unqueue, task_hotplug_unqueue, no_hotplug},
	{"vm.pool_move", true, false, false, task_op_pool_move, task_pool_unqueue, task_pool_unqueue, NULL},
	{"vm.snapshot_revert", true, false, false, op_snapshot, NULL, NULL, no_snap},
	{"vm.snapshot_delete", true, false, false, op_snapshot, NULL, NULL, no_snap},
	{"image.import", false, false, false, run_image_import, NULL, import_unqueue, NULL},
	{"host.evacuate", false, false, false, task_op_evacuate, NULL, task_evacuate_unqueue, NULL},
	{"vm.ha_restart", true, false, false, task_op_ha_restart, NULL, NULL,
	 "HA restarts a VM whose host failed; it runs to its end (stop the VM once it runs)"},
	{"host.power", false, false, false, task_op_host_power, NULL, NULL,
	 "the host's BMC carries out a power order at once; it cannot be undone (give the opposite one once it ends)"},
};

static const struct task_op_def *task_op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(task_ops) / sizeof(task_ops[0]); i++)
		if (!strcmp(task_ops[i].name, name))
			return &task_ops[i];
	return NULL;
}

const char *task_op_not_cancellable(const char *op)
{
	const struct task_op_def *def = task_op_find(op);
	return def ? def->not_cancellable : "vdcd does not know this operation";
}

void task_op_undo_queued(struct store *st, const json_t *task)
{
	const struct task_op_def *def = task_op_find(json_string_value(json_object_get(task, "op")) ?: "");
	const char *target = json_string_value(json_object_get(task, "target_id"));
	if (def && def->unqueue && target)
		def->unqueue(st, target, json_object_get(task, "args"));
}

int task_run_op(struct task_ctx *t, const char *op_in, json_t **result, struct errinfo *e)
{
	/* task_update replaces t->doc as the task progresses: hold on to the
	 * document the op, its args and its target were read from. */
	json_t *pinned = json_incref(t->doc);
	char op[64];
	snprintf(op, sizeof(op), "%s", op_in);
	const char *vm_id = json_string_value(json_object_get(pinned, "target_id"));
	json_t *args = json_object_get(pinned, "args");
	const struct task_op_def *def = task_op_find(op);
	/* A copy: the task document (and the id in it) may go meanwhile. */
	char id[64];
	snprintf(id, sizeof(id), "%s", vm_id ? vm_id : "");
	int rc;
	if (!def) {
		rc = errinfo_set(e, 500, "unknown_op", NULL, "unknown task operation '%s'", op);
	} else if (!def->on_vm) {
		rc = def->run(t, NULL, op, args, result, e);
	} else {
		json_t *vm = store_get(t->st, STORE_VM, id, e);
		if (vm) {
			rc = def->run(t, vm, op, args, result, e);
		} else if (def->gone_is_done && e->status == 404) { /* already gone: done */
			*e = (struct errinfo){0};
			rc = 0;
		} else {
			rc = -1;
			/* The VM could not be read (not: is gone): what the request
			 * already did is given back. */
			if (e->status != 404 && def->unread)
				def->unread(t->st, id, args);
		}
		json_decref(vm);
	}
	json_decref(pinned);
	if (rc < 0 && def && def->sticky)
		unstick(t->st, id);
	return rc;
}
