/* api_vm_cdrom.c - POST /api/v1/vms/{id}/cdrom: a VM's CD-ROM drive, as on
 * Proxmox (qm set --ide2 ISO,media=cdrom / none) and vSphere (CD/DVD
 * drive, change medium): {"image": NAME} inserts an ISO of the image
 * library (running or stopped; a stopped VM without a drive gets one),
 * {"image": null} ejects the medium, {"drive": false} removes the drive
 * (stopped only). A task (vm.cdrom) does it on the host. */
#include "api.h"

#include "library.h"
#include "resources.h"
#include "task_ops.h"

#include <string.h>

json_t *vm_cdrom_config(struct store *st, const json_t *want, const char *project_id, const char *field,
                        struct errinfo *e)
{
	const char *ref = json_string_value(json_object_get(want, "image"));
	if (!ref)
		return json_object();
	json_t *iso = library_resolve(st, ref, "iso", project_id, field, e);
	if (!iso)
		return NULL;
	json_t *out = json_pack("{s:O, s:O}", "image", json_object_get(iso, "name"), "image_id", json_object_get(iso, "id"));
	json_decref(iso);
	if (!out)
		errinfo_set(e, 500, "internal", NULL, "out of memory");
	return out;
}

/* The body as the drive it asks for: {"image": ref}, {} or null (none). */
static json_t *parse_body(const json_t *b, struct jv_err *err)
{
	static const char *const keys[] = {"image", "drive", NULL};
	bool drive = true;
	if (jv_only_keys(b, "", keys, err) < 0 || jv_bool(b, "", "drive", false, &drive, err) < 0)
		return NULL;
	const json_t *img = json_object_get(b, "image");
	if (!drive && img && !json_is_null(img)) {
		jv_fail(err, "image", "is not given with \"drive\": false (a removed drive holds nothing)");
		return NULL;
	}
	if (drive && !img) {
		jv_fail(err, "image", "is required: an ISO's name to insert, or null to eject (\"drive\": false removes "
		        "the drive)");
		return NULL;
	}
	if (!drive)
		return json_null();
	json_t *wrap = json_pack("{s:{s:O}}", "cdrom", "image", img), *doc = json_object();
	int rc = resource_parse_vm_cdrom(wrap, doc, err);
	json_decref(wrap);
	json_t *out = rc == 0 ? json_incref(json_object_get(doc, "cdrom")) : NULL;
	json_decref(doc);
	if (rc == 0 && !out)
		jv_fail(err, "image", "out of memory");
	/* resource_parse_vm_cdrom names "cdrom.image"; here the field is "image". */
	if (rc < 0 && !strncmp(err->field, "cdrom.", 6))
		memmove(err->field, err->field + 6, strlen(err->field + 6) + 1);
	return out;
}

void api_vms_cdrom(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0), *vm = NULL, *want = NULL, *to = NULL;
	if (!body)
		return;
	struct jv_err jerr = {0};
	struct errinfo e = {0};
	if (!(vm = api_vm_for_action(req)))
		goto out;
	const char *id = json_string_value(json_object_get(vm, "id"));
	if (!(want = parse_body(body, &jerr))) {
		mgr_refuse_jv(req, "vm.cdrom", "vm", id, &jerr);
		goto out;
	}
	if (json_is_null(want)) {
		to = json_null();
	} else if (!(to = vm_cdrom_config(m->st, want, json_string_value(json_object_get(vm, "project_id")), "image", &e))) {
		mgr_refuse(req, "vm.cdrom", "vm", id, &e);
		goto out;
	}
	const json_t *from = json_object_get(json_object_get(vm, "config"), "cdrom") ?: json_null();
	const char *ps = json_string_value(json_object_get(vm, "power_state")) ?: "";
	bool stopped = !strcmp(ps, "stopped") || !strcmp(ps, "crashed");
	const char *name = json_string_value(json_object_get(vm, "name"));
	if (json_equal((json_t *)from, to)) {
		errinfo_set(&e, 400, "invalid_request", "image", "nothing to change: VM '%s' has %s already", name,
		            json_is_null(to) ? "no CD-ROM drive"
		            : json_object_get(to, "image") ? "that ISO in its CD-ROM drive" : "an empty CD-ROM drive");
		mgr_refuse(req, "vm.cdrom", "vm", id, &e);
		goto out;
	}
	if (!stopped && json_is_null(from) != json_is_null(to)) {
		errinfo_set(&e, 409, "invalid_state", NULL,
		            json_is_null(to) ? "VM '%s' is %s; its CD-ROM drive is removed only while it is stopped"
		                             : "VM '%s' is %s and has no CD-ROM drive; stop it to add one",
		            name, ps);
		mgr_refuse(req, "vm.cdrom", "vm", id, &e);
		goto out;
	}
	api_vm_queue(req, vm, "vm.cdrom", json_pack("{s:O, s:O}", "from", from, "to", to), NULL);
out:
	json_decref(to);
	json_decref(want);
	json_decref(vm);
	json_decref(body);
}
