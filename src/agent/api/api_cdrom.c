/* api_cdrom.c - PUT /api/v1/vms/{name}/cdrom: the VM's CD-ROM drive as it
 * should be, in the spec's own form: {"cdrom": {"image": ID}} (an ISO of
 * this host's images, by id, never a path), {"cdrom": {}} (an empty drive)
 * or {"cdrom": null} (no drive; stopped VMs only). */
#include "api.h"

#include "vm.h"

#include <string.h>

void api_vm_cdrom_put(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"cdrom", NULL};
	struct jv_err jerr = {0};
	struct vm_spec want;
	memset(&want, 0, sizeof(want));
	int bad = jv_only_keys(body, "", keys, &jerr) < 0 ||
	          (!json_object_get(body, "cdrom") && jv_fail(&jerr, "cdrom", "is required ({\"image\": ID}, {} or null)")) ||
	          vm_spec_parse_cdrom(body, VM_SPEC_FROM_USER, &want, &jerr) < 0;
	json_decref(body);
	if (bad) {
		vm_spec_free(&want);
		api_reply_bad(req, &jerr);
		return;
	}
	struct errinfo e = {0};
	http_defer(req);
	if (vm_cdrom_set(vm, want.cdrom, want.cdrom_image, api_reply_done, req, &e) < 0)
		api_reply_err(req, &e);
	vm_spec_free(&want);
}
