/* api_hotplug.c - /api/v1/vms/{name}/disks and /nics: a disk or NIC added
 * to or removed from a VM, live or stopped (vm/vm_hotplug.c). Each handler
 * parses the request into a vm_*_req and replies with the operation's end. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

/* Holds the VM while an operation waits: its end answers the request. */
struct hp_call {
	struct http_req *req;
	struct vm *vm;
};

static void on_hotplug_done(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct hp_call *c = ctx;
	api_reply_done(c->req, status, result, e);
	vm_release(c->vm);
	free(c);
}

/* Runs op for req: a refusal at once is replied, else the end is. */
static struct hp_call *hp_call_new(struct http_req *req, struct vm *vm)
{
	struct hp_call *c = calloc(1, sizeof(*c));
	if (!c) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	*c = (struct hp_call){req, vm};
	vm_hold(vm);
	http_defer(req);
	return c;
}

static void refused(struct hp_call *c, const struct errinfo *e) { on_hotplug_done(c, 0, NULL, e); }

/* POST {"name", "size_mib", "datastore"?}: a new blank disk (or an unused
 * one attached again: name alone). */
void api_vm_disk_add(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct jv_err jerr = {0};
	static const char *const keys[] = {"name", "size_mib", "datastore", NULL};
	const char *name = NULL, *ds = NULL;
	int64_t size = 0;
	struct vm_disk_req r = {0};
	int bad = jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "name", true, 63, &name, &jerr) < 0 ||
	          (!jv_is_safe_name(name) && jv_fail(&jerr, "name", "'%s' is not a disk name (letters, digits, '-', "
	                                             "'_', '.'; not starting with '.')", name) < 0) ||
	          jv_int(body, "", "size_mib", false, 1, (int64_t)VM_MAX_DISK_MIB, &size, &jerr) < 0 ||
	          jv_string(body, "", "datastore", false, 63, &ds, &jerr) < 0 ||
	          (ds && !jv_is_safe_name(ds) && jv_fail(&jerr, "datastore", "'%s' is not a datastore name", ds) < 0);
	if (!bad) {
		snprintf(r.name, sizeof(r.name), "%s", name);
		snprintf(r.datastore, sizeof(r.datastore), "%s", ds ? ds : "");
		r.size_mib = (uint64_t)size;
	}
	json_decref(body);
	if (bad) {
		api_reply_bad(req, &jerr);
		return;
	}
	struct hp_call *c = hp_call_new(req, vm);
	struct errinfo e = {0};
	if (c && vm_disk_add(vm, &r, on_hotplug_done, c, &e) < 0)
		refused(c, &e);
}

void api_vm_disk_remove(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	struct hp_call *c = hp_call_new(req, vm);
	struct errinfo e = {0};
	if (c && vm_disk_remove(vm, http_param(req, "disk"), http_query_flag(req, "delete"), on_hotplug_done, c, &e) < 0)
		refused(c, &e);
}

/* POST {"bridge"} or {"mode": "nat"|"user"}, "mac"? */
void api_vm_nic_add(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct jv_err jerr = {0};
	static const char *const keys[] = {"bridge", "mode", "mac", NULL};
	struct vm_nic r = {0};
	int bad = jv_only_keys(body, "", keys, &jerr) < 0 || vm_spec_parse_nic(body, "", &r, &jerr) < 0;
	json_decref(body);
	if (bad) {
		api_reply_bad(req, &jerr);
		return;
	}
	struct hp_call *c = hp_call_new(req, vm);
	struct errinfo e = {0};
	if (c && vm_nic_add(vm, &r, on_hotplug_done, c, &e) < 0)
		refused(c, &e);
}

/* DELETE .../nics/netN */
void api_vm_nic_remove(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	const char *nic = http_param(req, "nic");
	char *end = NULL;
	long id = !strncmp(nic, "net", 3) && nic[3] ? strtol(nic + 3, &end, 10) : -1;
	if (id < 0 || id > 63 || !end || *end) {
		http_reply_error(req, 404, "not_found", "nic", "nic: VM '%s' has no NIC '%s' (NICs are named net0, net1...)",
		                 vm->spec.name, nic);
		return;
	}
	struct hp_call *c = hp_call_new(req, vm);
	struct errinfo e = {0};
	if (c && vm_nic_remove(vm, (int)id, on_hotplug_done, c, &e) < 0)
		refused(c, &e);
}
