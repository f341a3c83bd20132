/* task_cdrom.c - vm.cdrom: a VM's CD-ROM drive as its request asked (an
 * ISO of the library inserted, the medium ejected, or the drive removed),
 * carried out by its host (live on a running VM, in its spec on a stopped
 * one) and then written into the VM's config, which is what the host gets
 * again at an HA restart or a move. Idempotent: the host answers "already
 * so" to a re-run. */
#include "task_ops.h"

#include "agent_client.h"

#include <stdio.h>
#include <string.h>

int vm_boot_images(const json_t *vm, const char *out[3])
{
	const json_t *cfg = json_object_get(vm, "config");
	const json_t *tmpl = json_object_get(cfg, "template");
	int n = 0;
	static const char *const keys[] = {"kernel_id", "initrd_id"};
	for (int i = 0; i < 2; i++)
		if (json_string_value(json_object_get(tmpl, keys[i])))
			out[n++] = json_string_value(json_object_get(tmpl, keys[i]));
	const char *iso = json_string_value(json_object_get(json_object_get(cfg, "cdrom"), "image_id"));
	if (iso)
		out[n++] = iso;
	return n;
}

int task_vm_push_boot_images(struct task_ctx *t, const json_t *vm, const char *host, int progress,
                             struct errinfo *e)
{
	const char *ids[3];
	int n = vm_boot_images(vm, ids);
	const char *ds = json_string_value(json_object_get(json_object_get(vm, "config"), "datastore")) ?: "local";
	for (int i = 0; i < n; i++)
		if (task_checkpoint(t, e) < 0 || task_image_push(t, host, ids[i], ds, progress, e) < 0)
			return -1;
	return 0;
}

int task_vm_patch_config(struct store *st, const char *id, const char *key, json_t *value, struct errinfo *e)
{
	json_t *now = store_get(st, STORE_VM, id, e);
	if (!now) {
		json_decref(value);
		return -1;
	}
	json_t *cfg = json_deep_copy(json_object_get(now, "config"));
	json_decref(now);
	int bad = !cfg || !value;
	if (!bad && json_is_null(value))
		json_object_del(cfg, key);
	else if (!bad)
		bad = json_object_set(cfg, key, value) < 0;
	if (bad) {
		json_decref(cfg);
		json_decref(value);
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	}
	json_decref(value);
	return task_vm_patch(st, id, json_pack("{s:o}", "config", cfg), e);
}

int task_op_cdrom(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                  struct errinfo *e)
{
	(void)op;
	const char *id = json_string_value(json_object_get(vm, "id"));
	const char *host = json_string_value(json_object_get(vm, "host_id"));
	const char *name = vm_agent_name(vm);
	json_t *to = json_object_get(args, "to"); /* the config's cdrom: {image, image_id}, {} or null */
	const char *iso = json_string_value(json_object_get(to, "image_id"));
	if (!host || !name || !to)
		return errinfo_set(e, 500, "internal", NULL, "the task names no host or drive");
	if (iso) {
		const char *ds = json_string_value(json_object_get(json_object_get(vm, "config"), "datastore")) ?: "local";
		if (task_checkpoint(t, e) < 0 || task_image_push(t, host, iso, ds, 20, e) < 0)
			return -1;
	}
	if (task_point_of_no_return(t, e) < 0)
		return -1;
	task_update(t, NULL, 60, iso ? "inserting the ISO on the host"
	                             : json_is_null(to) ? "removing the CD-ROM drive on the host"
	                                                : "ejecting the medium on the host");
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/cdrom", name);
	json_t *body = json_is_null(to) ? json_pack("{s:n}", "cdrom")
	               : iso            ? json_pack("{s:{s:s}}", "cdrom", "image", iso)
	                                : json_pack("{s:{}}", "cdrom");
	long status = 0;
	json_t *reply = NULL;
	int rc = agent_call(t->st, host, "PUT", path, body, 60, &status, &reply, NULL, e);
	json_decref(body);
	if (rc == 0 && status != 200)
		rc = errinfo_set(e, (unsigned)status,
		                 json_string_value(json_object_get(json_object_get(reply, "error"), "code")) ?: "agent_error",
		                 NULL, "the host refused the CD-ROM change: %s", agent_error_message(reply));
	json_decref(reply);
	if (rc < 0 || task_vm_patch_config(t->st, id, "cdrom", json_incref(to), e) < 0)
		return -1;
	*result = json_pack("{s:s, s:O}", "vm_id", id, "cdrom", to);
	return 0;
}
