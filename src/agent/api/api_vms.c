/* api_vms.c - /api/v1/vms: each handler parses the request, runs one VM
 * operation and replies. No VM state is touched here directly. */
#include "api.h"

#include "disk.h"
#include "firmware.h"
#include "images.h"
#include "log.h"
#include "loop.h"
#include "snap_fit.h"
#include "snap_hw.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_STOP_TIMEOUT_S 60
#define MAX_STOP_TIMEOUT_S 3600

void api_reply_bad(struct http_req *req, const struct jv_err *jerr)
{
	http_reply_error(req, 400, "invalid_body", jerr->field, "%s: %s", jerr->field, jerr->message);
}

void api_reply_err(struct http_req *req, const struct errinfo *e)
{
	http_reply_error(req, e->status ? e->status : 500, e->code[0] ? e->code : "internal",
	                 e->field[0] ? e->field : NULL, "%s", e->message);
}

void api_reply_done(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct http_req *req = ctx;
	if (e)
		api_reply_err(req, e);
	else if (status == 204)
		http_reply_text(req, 204, "text/plain", strdup(""), 0);
	else
		http_reply_json(req, (unsigned)status, result ? result : json_object());
}

struct vm *api_vm_or_404(struct http_req *req)
{
	struct agent *a = http_app(req);
	const char *name = http_param(req, "name");
	struct vm *vm = vm_find(a, name);
	if (!vm)
		http_reply_error(req, 404, "not_found", NULL, "no VM named '%s' on this host", name);
	return vm;
}

static void list_vms(struct http_req *req)
{
	struct agent *a = http_app(req);
	json_t *arr = json_array();
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		json_array_append_new(arr, vm_to_json(vm));
	http_reply_json(req, 200, json_pack("{s:o}", "vms", arr));
}

/* Create-and-start is one request: a VM that cannot start is not left
 * behind, nor are its disks. */
struct create_start {
	struct http_req *req;
	struct vm *vm;
};

static void on_create_started(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct create_start *cs = ctx;
	struct http_req *req = cs->req;
	struct vm *vm = cs->vm;
	free(cs);
	if (e) {
		struct errinfo ignore = {0};
		if (!vm->deleted)
			vm_delete(vm, VM_DISKS_REMOVE, &ignore);
		api_reply_err(req, e);
	} else {
		json_decref(result);
		http_reply_json(req, 201, vm_to_json(vm));
	}
	vm_release(vm);
}

static void create_vm(struct http_req *req)
{
	struct agent *a = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct errinfo e = {0};
	struct vm *vm = NULL;
	int rc = vm_define(a, body, &vm, &e);
	json_decref(body);
	if (rc < 0) {
		api_reply_err(req, &e);
		return;
	}
	if (!http_query_flag(req, "start")) {
		http_reply_json(req, 201, vm_to_json(vm));
		return;
	}
	struct create_start *cs = calloc(1, sizeof(*cs));
	if (!cs) {
		struct errinfo ignore = {0};
		vm_delete(vm, VM_DISKS_REMOVE, &ignore);
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	cs->req = req;
	cs->vm = vm;
	vm_hold(vm);
	http_defer(req);
	if (vm_start(vm, on_create_started, cs, &e) < 0)
		on_create_started(cs, 0, NULL, &e);
}

static void get_vm(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (vm)
		http_reply_json(req, 200, vm_to_json(vm));
}

static void delete_vm(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	struct errinfo e = {0};
	/* remove_disks=a,b with leave_disks: those were copied to the host the
	 * VM migrated to, and this host's files go (the others are shared). */
	bool marks[VM_MAX_DISKS] = {0};
	char bad[260];
	if (vm_spec_disk_list(&vm->spec, http_query(req, "remove_disks"), marks, bad, sizeof(bad)) < 0) {
		http_reply_error(req, 400, "invalid_query", "remove_disks", "remove_disks: '%s' is not a disk of VM '%s'",
		                 bad, vm->spec.name);
		return;
	}
	if (http_query_flag(req, "force") && vm->pid > 0 && vm_kill_now(vm, &e) < 0) {
		api_reply_err(req, &e);
		return;
	}
	/* leave_disks: vdcd's word that another host's VM uses them now. */
	enum vm_disks_fate fate = http_query_flag(req, "leave_disks")  ? VM_DISKS_LEAVE
	                          : http_query_flag(req, "keep_disks") ? VM_DISKS_KEEP
	                                                               : VM_DISKS_REMOVE;
	/* Marked as a copy of this host's own: the delete's intent carries it,
	 * so a delete finished after a crash removes them too. */
	for (int i = 0; i < vm->spec.ndisks && fate == VM_DISKS_LEAVE; i++)
		if (marks[i])
			vm->spec.disks[i].copy_in = true;
	if (vm_delete(vm, fate, &e) < 0) {
		api_reply_err(req, &e);
		return;
	}
	http_reply_text(req, 204, "text/plain", strdup(""), 0);
}

static void start_vm(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	struct errinfo e = {0};
	http_defer(req);
	if (vm_start(vm, api_reply_done, req, &e) < 0)
		api_reply_err(req, &e);
}

static void stop_vm(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 1);
	if (!body)
		return;
	struct jv_err jerr = {0};
	int64_t timeout = DEFAULT_STOP_TIMEOUT_S;
	static const char *const keys[] = {"timeout_s", NULL};
	if (jv_only_keys(body, "", keys, &jerr) < 0 ||
	    jv_int(body, "", "timeout_s", false, 0, MAX_STOP_TIMEOUT_S, &timeout, &jerr) < 0) {
		json_decref(body);
		api_reply_bad(req, &jerr);
		return;
	}
	json_decref(body);
	int wait = !http_query(req, "wait") || http_query_flag(req, "wait");
	struct errinfo e = {0};
	if (wait)
		http_defer(req);
	if (vm_stop(vm, (int)timeout, wait ? api_reply_done : NULL, req, &e) < 0)
		api_reply_err(req, &e);
	else if (!wait)
		http_reply_json(req, 202, vm_to_json(vm));
}

static void destroy_vm(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	struct errinfo e = {0};
	http_defer(req);
	if (vm_destroy(vm, api_reply_done, req, &e) < 0)
		api_reply_err(req, &e);
}

static void power_op(struct http_req *req, enum vm_power_op op)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	struct errinfo e = {0};
	http_defer(req);
	if (vm_power(vm, op, api_reply_done, req, &e) < 0)
		api_reply_err(req, &e);
}

static void reset_vm(struct http_req *req) { power_op(req, VM_RESET); }
static void pause_vm(struct http_req *req) { power_op(req, VM_PAUSE); }
static void resume_vm(struct http_req *req) { power_op(req, VM_RESUME); }

static void console_vm(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	size_t max = 16384;
	const char *b = http_query(req, "bytes");
	if (b) {
		char *end;
		unsigned long long n = strtoull(b, &end, 10);
		if (*end || n < 1 || n > (1u << 20)) {
			http_reply_error(req, 400, "invalid_query", "bytes",
			                 "bytes must be a number from 1 to 1048576");
			return;
		}
		max = (size_t)n;
	}
	/* ?offset=N: what came from offset N on (as "tail -f" reads); else
	 * the last bytes. X-Console-Offset says where the bytes given start, so
	 * the next read asks for that plus their length. */
	unsigned long long offset = 0;
	const char *o = http_query(req, "offset");
	if (o) {
		char *end;
		errno = 0;
		offset = strtoull(o, &end, 10);
		if (!*o || *end || errno || o[0] == '-') {
			http_reply_error(req, 400, "invalid_query", "offset",
			                 "offset must be a byte offset (0 or more), as X-Console-Offset gave");
			return;
		}
	}
	if (vm->console_watch)
		console_pump(&vm->console); /* include what just arrived */
	char path[1100];
	vm_store_path(vm, "console.log", path, sizeof(path));
	size_t len = 0;
	unsigned long long start = 0, end = console_end(path);
	if (!o)
		offset = end > max ? end - max : 0;
	char *text = console_from(path, offset, max, &start, &len);
	if (!text) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	char hv[32];
	snprintf(hv, sizeof(hv), "%llu", start);
	http_add_header(req, "X-Console-Offset", hv);
	http_reply_text(req, 200, "text/plain; charset=utf-8", text, len);
}

static struct vm_disk *find_disk(struct vm *vm, const char *name)
{
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (!strcmp(vm->spec.disks[i].name, name))
			return &vm->spec.disks[i];
	return NULL;
}

/* The new size is the spec's once the disk has it. */
static void disk_resized(struct http_req *req, struct vm *vm, struct vm_disk *d, uint64_t size)
{
	struct errinfo e = {0};
	d->size_mib = size;
	if (vm_store_write_spec(vm, "spec.json", &e) < 0) {
		api_reply_err(req, &e);
		return;
	}
	log_info("disk_resized", "vm=%s disk=%s size_mib=%lld", vm->spec.name, d->name, (long long)size);
	http_reply_json(req, 200, vm_to_json(vm));
}

struct disk_resize {
	struct http_req *req;
	struct vm *vm;
	uint64_t size_mib;
	char disk[64];
};

static void on_disk_resized(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct disk_resize *dr = ctx;
	struct vm *vm = dr->vm;
	struct vm_disk *d = vm->deleted ? NULL : find_disk(vm, dr->disk);
	json_decref(result);
	if (e)
		api_reply_err(dr->req, e);
	else if (!d)
		http_reply_error(dr->req, 404, "not_found", NULL, "VM '%s' or its disk '%s' was deleted meanwhile",
		                 vm->spec.name, dr->disk);
	else
		disk_resized(dr->req, vm, d, dr->size_mib);
	free(dr);
	vm_release(vm);
}

static void resize_disk(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	const char *dname = http_param(req, "disk");
	struct vm_disk *d = find_disk(vm, dname);
	if (!d) {
		http_reply_error(req, 404, "not_found", NULL, "VM '%s' has no disk '%s'", vm->spec.name, dname);
		return;
	}
	if (vm->move) {
		http_reply_error(req, 409, "busy", NULL, "VM '%s' is moving its disk to another datastore; grow it when "
		                 "that is done", vm->spec.name);
		return;
	}
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct jv_err jerr = {0};
	int64_t size = 0;
	static const char *const keys[] = {"size_mib", NULL};
	int bad = jv_only_keys(body, "", keys, &jerr) < 0 ||
	          jv_int(body, "", "size_mib", true, 1, (int64_t)VM_MAX_DISK_MIB, &size, &jerr) < 0;
	json_decref(body);
	if (bad) {
		api_reply_bad(req, &jerr);
		return;
	}
	struct errinfo e = {0};
	uint64_t cur = 0;
	struct vm_access va;
	vm_id_access(vm->agent, &vm->spec, 0, &va);
	if (disk_info(&va.as, d->path, "qcow2", &cur, NULL, &e) < 0) {
		api_reply_err(req, &e);
		return;
	}
	if ((uint64_t)size << 20 < cur) {
		http_reply_error(req, 400, "invalid_body", "size_mib",
		                 "size_mib: %lld MiB is smaller than the disk's %llu MiB; disks only grow "
		                 "(shrinking would cut off the guest's data)",
		                 (long long)size, (unsigned long long)(cur >> 20));
		return;
	}
	if (vm->qmp && (vm->state == VM_RUNNING || vm->state == VM_PAUSED)) {
		/* Live: QEMU grows the image and tells the guest. */
		struct disk_resize *dr = calloc(1, sizeof(*dr));
		if (!dr) {
			http_reply_error(req, 500, "internal", NULL, "out of memory");
			return;
		}
		*dr = (struct disk_resize){req, vm, (uint64_t)size, ""};
		snprintf(dr->disk, sizeof(dr->disk), "%s", d->name);
		vm_hold(vm);
		http_defer(req);
		if (vm_disk_resize_live(vm, d, (uint64_t)size, on_disk_resized, dr, &e) < 0)
			on_disk_resized(dr, 0, NULL, &e);
		return;
	} else if (vm->state == VM_STOPPED || vm->state == VM_CRASHED) {
		if (disk_resize(&va.as, d->path, (uint64_t)size, &e) < 0) {
			api_reply_err(req, &e);
			return;
		}
	} else {
		http_reply_error(req, 409, "invalid_state", NULL, "VM '%s' is %s; try again when it settles",
		                 vm->spec.name, vm_state_name(vm->state));
		return;
	}
	disk_resized(req, vm, d, (uint64_t)size);
}

static json_t *snapshots_of(struct vm *vm, struct errinfo *e);

/* The resized VM, with a warning for each RAM snapshot whose RAM no
 * longer fits it: the resize stands, and says what it cost. */
static void reply_resized(struct http_req *req, struct vm *vm)
{
	struct errinfo e = {0};
	json_t *reply = vm_to_json(vm);
	json_t *list = vm->spec.ndisks ? snapshots_of(vm, &e) : NULL;
	json_t *warn = snap_fit_resize_warnings(list, vm->spec.vcpus, vm->spec.memory_mib);
	json_decref(list);
	for (size_t i = 0; i < json_array_size(warn); i++)
		log_warn("vm_resize_warning", "vm=%s warning=%s", vm->spec.name,
		         log_quote(json_string_value(json_array_get(warn, i))));
	json_object_set_new(reply, "warnings", warn);
	http_reply_json(req, 200, reply);
}

/* vCPUs and memory of a stopped VM (no hotplug): they take effect at the
 * next start. A memory limit below the new memory would get QEMU killed,
 * so it is refused here as at create. */
static void resize_vm(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct jv_err jerr = {0};
	int64_t vcpus = vm->spec.vcpus, mem = (int64_t)vm->spec.memory_mib;
	char wd[16];
	snprintf(wd, sizeof(wd), "%s", vm->spec.watchdog);
	/* Firmware and boot order: parsed onto the VM's own values (a key
	 * absent keeps its value). */
	struct vm_spec fw;
	memset(&fw, 0, sizeof(fw));
	fw.firmware = vm->spec.firmware;
	fw.nboot = vm->spec.nboot;
	memcpy(fw.boot_order, vm->spec.boot_order, sizeof(fw.boot_order));
	static const char *const keys[] = {"vcpus", "memory_mib", "watchdog", "firmware", "boot_order", NULL};
	int bad = jv_only_keys(body, "", keys, &jerr) < 0 ||
	          jv_int(body, "", "vcpus", false, 1, VM_MAX_VCPUS, &vcpus, &jerr) < 0 ||
	          jv_int(body, "", "memory_mib", false, VM_MIN_MEMORY_MIB, VM_MAX_MEMORY_MIB, &mem, &jerr) < 0 ||
	          /* absent: as it is; null: none */
	          (json_object_get(body, "watchdog") && vm_spec_parse_watchdog(body, wd, &jerr) < 0) ||
	          vm_spec_parse_firmware(body, true, &fw, &jerr) < 0;
	json_decref(body);
	if (bad) {
		api_reply_bad(req, &jerr);
		return;
	}
	if (vm->spec.memory_limit_mib && vm->spec.memory_limit_mib < (uint64_t)mem) {
		http_reply_error(req, 400, "invalid_body", "memory_mib",
		                 "memory_mib: %lld MiB is above the VM's memory limit of %llu MiB", (long long)mem,
		                 (unsigned long long)vm->spec.memory_limit_mib);
		return;
	}
	if (fw.firmware == VM_FW_UEFI && vm->spec.ndisks == 0) {
		http_reply_error(req, 400, "invalid_body", "firmware",
		                 "firmware: a UEFI VM needs a disk (its UEFI variable store is kept with the VM's first disk)");
		return;
	}
	struct uefi_files uefi;
	struct errinfo fe = {0};
	if (fw.firmware == VM_FW_UEFI && firmware_uefi_find(&uefi, &fe) < 0) {
		api_reply_err(req, &fe);
		return;
	}
	bool same_fw = fw.firmware == vm->spec.firmware && fw.nboot == vm->spec.nboot &&
	               !memcmp(fw.boot_order, vm->spec.boot_order, (size_t)fw.nboot);
	if (vcpus == vm->spec.vcpus && (uint64_t)mem == vm->spec.memory_mib && !strcmp(wd, vm->spec.watchdog) &&
	    same_fw) {
		reply_resized(req, vm); /* already so: a retry after a crash */
		return;
	}
	if (vm->state != VM_STOPPED && vm->state != VM_CRASHED) {
		http_reply_error(req, 409, "invalid_state", NULL,
		                 "VM '%s' is %s; vCPUs, memory, the watchdog, firmware and boot order change only "
		                 "while it is stopped", vm->spec.name,
		                 vm_state_name(vm->state));
		return;
	}
	int old_vcpus = vm->spec.vcpus;
	uint64_t old_mem = vm->spec.memory_mib;
	char old_wd[16];
	snprintf(old_wd, sizeof(old_wd), "%s", vm->spec.watchdog);
	enum vm_firmware old_fw = vm->spec.firmware;
	int old_nboot = vm->spec.nboot;
	unsigned char old_boot[VM_MAX_BOOT];
	memcpy(old_boot, vm->spec.boot_order, sizeof(old_boot));
	vm->spec.firmware = fw.firmware;
	vm->spec.nboot = fw.nboot;
	memcpy(vm->spec.boot_order, fw.boot_order, sizeof(old_boot));
	vm->spec.vcpus = (int)vcpus;
	vm->spec.memory_mib = (uint64_t)mem;
	snprintf(vm->spec.watchdog, sizeof(vm->spec.watchdog), "%s", wd);
	struct errinfo e = {0};
	if (vm_store_write_spec(vm, "spec.json", &e) < 0) {
		vm->spec.vcpus = old_vcpus; /* not on disk: not changed */
		vm->spec.memory_mib = old_mem;
		snprintf(vm->spec.watchdog, sizeof(vm->spec.watchdog), "%s", old_wd);
		vm->spec.firmware = old_fw;
		vm->spec.nboot = old_nboot;
		memcpy(vm->spec.boot_order, old_boot, sizeof(old_boot));
		api_reply_err(req, &e);
		return;
	}
	log_info("vm_resized", "vm=%s vcpus=%d memory_mib=%llu watchdog=%s firmware=%s", vm->spec.name,
	         vm->spec.vcpus, (unsigned long long)vm->spec.memory_mib,
	         vm->spec.watchdog[0] ? vm->spec.watchdog : "none", vm_spec_firmware_name(vm->spec.firmware));
	reply_resized(req, vm);
}

/* Snapshots are taken of every disk of a stopped VM, under one name. */
static struct vm *snapshot_target(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return NULL;
	if (vm->spec.ndisks == 0) {
		http_reply_error(req, 409, "no_disks", NULL, "VM '%s' has no disks to snapshot", vm->spec.name);
		return NULL;
	}
	if (vm->move) { /* its file is being copied, and then goes */
		http_reply_error(req, 409, "busy", NULL, "VM '%s' is moving its disk to another datastore; try again "
		                 "when that is done", vm->spec.name);
		return NULL;
	}
	return vm;
}

/* A running or paused VM's snapshots go through QEMU (RAM included); a
 * stopped VM's through qemu-img. Returns 1 when the live path took the
 * request (replied now or later), 0 for the offline path, -1 after a reply. */
static int try_live(struct http_req *req, struct vm *vm, const char *op, const char *snap)
{
	if (vm->state == VM_STOPPED || vm->state == VM_CRASHED)
		return 0;
	if (vm->state != VM_RUNNING && vm->state != VM_PAUSED) {
		http_reply_error(req, 409, "invalid_state", NULL, "VM '%s' is %s; try again when it settles",
		                 vm->spec.name, vm_state_name(vm->state));
		return -1;
	}
	struct errinfo e = {0};
	http_defer(req);
	if (vm_snapshot_live(vm, op, snap, api_reply_done, req, &e) < 0) {
		api_reply_err(req, &e);
		return -1;
	}
	return 1;
}

/* qemu-img on a VM's disks runs as the VM. */
static const struct run_as *vm_as(struct vm *vm, struct vm_access *va)
{
	vm_id_access(vm->agent, &vm->spec, 0, va);
	return &va->as;
}

/* The VM's snapshots, each RAM snapshot with the hardware it was taken
 * with (when recorded). */
static json_t *snapshots_of(struct vm *vm, struct errinfo *e)
{
	struct vm_access va;
	json_t *list = disk_snapshot_list(vm_as(vm, &va), vm->spec.disks[0].path, e);
	if (list)
		snap_hw_annotate(vm, list);
	return list;
}

static json_t *snapshot_find(json_t *list, const char *name)
{
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
		if (!strcmp(json_string_value(json_object_get(s, "name")), name))
			return s;
	return NULL;
}

static int snapshot_exists(json_t *list, const char *name) { return snapshot_find(list, name) != NULL; }

static void list_snapshots(struct http_req *req)
{
	struct vm *vm = snapshot_target(req);
	if (!vm)
		return;
	struct errinfo e = {0};
	json_t *list = snapshots_of(vm, &e);
	if (!list)
		api_reply_err(req, &e);
	else
		http_reply_json(req, 200, json_pack("{s:o}", "snapshots", list));
}

static void create_snapshot(struct http_req *req)
{
	struct vm *vm = snapshot_target(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct jv_err jerr = {0};
	const char *name = NULL;
	static const char *const keys[] = {"name", NULL};
	if (jv_only_keys(body, "", keys, &jerr) < 0 ||
	    jv_string(body, "", "name", true, 63, &name, &jerr) < 0 ||
	    (!jv_is_safe_name(name) &&
	     jv_fail(&jerr, "name", "'%s' is not a valid snapshot name: use letters, digits, '-', '_', '.'",
	             name) < 0)) {
		json_decref(body);
		api_reply_bad(req, &jerr);
		return;
	}
	char snap[64];
	snprintf(snap, sizeof(snap), "%s", name);
	json_decref(body);
	struct errinfo e = {0};
	json_t *list = snapshots_of(vm, &e);
	if (!list) {
		api_reply_err(req, &e);
		return;
	}
	int exists = snapshot_exists(list, snap);
	json_decref(list);
	if (exists) {
		http_reply_error(req, 409, "snapshot_exists", "name", "VM '%s' already has a snapshot '%s'",
		                 vm->spec.name, snap);
		return;
	}
	if (try_live(req, vm, "save", snap) != 0)
		return;
	struct vm_access va;
	const struct run_as *as = vm_as(vm, &va);
	for (int i = 0; i < vm->spec.ndisks; i++) {
		if (disk_snapshot_create(as, vm->spec.disks[i].path, snap, &e) < 0) {
			/* All disks or none: undo the ones already taken. */
			struct errinfo ignore = {0};
			for (int k = 0; k < i; k++)
				disk_snapshot_delete(as, vm->spec.disks[k].path, snap, &ignore);
			api_reply_err(req, &e);
			return;
		}
	}
	log_info("snapshot_created", "vm=%s snapshot=%s", vm->spec.name, snap);
	http_reply_json(req, 201, json_pack("{s:s, s:s}", "vm", vm->spec.name, "name", snap));
}

static void snapshot_op(struct http_req *req, int revert)
{
	struct vm *vm = snapshot_target(req);
	if (!vm)
		return;
	const char *snap = http_param(req, "snap");
	struct errinfo e = {0};
	json_t *list = snapshots_of(vm, &e);
	if (!list) {
		api_reply_err(req, &e);
		return;
	}
	json_t *found = snapshot_find(list, snap);
	/* A running VM's revert loads the snapshot's RAM: refused before QEMU
	 * stops the guest when that RAM cannot fit the VM as it is now. */
	bool live = vm->state != VM_STOPPED && vm->state != VM_CRASHED;
	int bad = found && revert && live ? snap_fit_check_revert(found, vm->spec.vcpus, vm->spec.memory_mib, &e) : 0;
	json_decref(list);
	if (!found) {
		http_reply_error(req, 404, "not_found", NULL, "VM '%s' has no snapshot '%s'", vm->spec.name, snap);
		return;
	}
	if (bad < 0) {
		log_warn("snapshot_refused", "vm=%s snapshot=%s error=%s", vm->spec.name, snap, log_quote(e.message));
		api_reply_err(req, &e);
		return;
	}
	if (try_live(req, vm, revert ? "load" : "delete", snap) != 0)
		return;
	struct vm_access va;
	const struct run_as *as = vm_as(vm, &va);
	for (int i = 0; i < vm->spec.ndisks; i++) {
		int rc = revert ? disk_snapshot_apply(as, vm->spec.disks[i].path, snap, &e)
		                : disk_snapshot_delete(as, vm->spec.disks[i].path, snap, &e);
		if (rc < 0) {
			api_reply_err(req, &e);
			return;
		}
	}
	if (!revert)
		snap_hw_forget(vm, snap);
	log_info(revert ? "snapshot_reverted" : "snapshot_deleted", "vm=%s snapshot=%s", vm->spec.name, snap);
	if (revert)
		http_reply_json(req, 200, vm_to_json(vm));
	else
		http_reply_text(req, 204, "text/plain", strdup(""), 0);
}

static void revert_snapshot(struct http_req *req) { snapshot_op(req, 1); }
static void delete_snapshot(struct http_req *req) { snapshot_op(req, 0); }

static void healthz(struct http_req *req)
{
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

const struct http_route agent_routes[] = {
	{"GET", "/healthz", healthz, 1, 0},
	{"GET", "/metrics", api_metrics, 0, 0},
	{"GET", "/api/v1/host", api_host_info, 0, 0},
	{"GET", "/api/v1/vms", list_vms, 0, 0},
	{"POST", "/api/v1/vms", create_vm, 0, 0},
	{"GET", "/api/v1/vms/{name}", get_vm, 0, 0},
	{"DELETE", "/api/v1/vms/{name}", delete_vm, 0, 0},
	{"POST", "/api/v1/vms/{name}/start", start_vm, 0, 0},
	{"POST", "/api/v1/vms/{name}/stop", stop_vm, 0, 0},
	{"POST", "/api/v1/vms/{name}/destroy", destroy_vm, 0, 0},
	{"POST", "/api/v1/vms/{name}/reset", reset_vm, 0, 0},
	{"POST", "/api/v1/vms/{name}/pause", pause_vm, 0, 0},
	{"POST", "/api/v1/vms/{name}/resume", resume_vm, 0, 0},
	{"GET", "/api/v1/vms/{name}/console", console_vm, 0, 0},
	{"GET", "/api/v1/vms/{name}/console/serial", api_console_serial, 0, 0},
	{"GET", "/api/v1/vms/{name}/console/vnc", api_console_vnc, 0, 0},
	{"POST", "/api/v1/vms/{name}/resize", resize_vm, 0, 0},
	{"PUT", "/api/v1/vms/{name}/pool", api_vm_pool_put, 0, 0},
	{"PUT", "/api/v1/vms/{name}/cdrom", api_vm_cdrom_put, 0, 0},
	{"POST", "/api/v1/vms/{name}/disks", api_vm_disk_add, 0, 0},
	{"DELETE", "/api/v1/vms/{name}/disks/{disk}", api_vm_disk_remove, 0, 0},
	{"POST", "/api/v1/vms/{name}/nics", api_vm_nic_add, 0, 0},
	{"DELETE", "/api/v1/vms/{name}/nics/{nic}", api_vm_nic_remove, 0, 0},
	{"POST", "/api/v1/vms/{name}/disks/{disk}/resize", resize_disk, 0, 0},
	{"POST", "/api/v1/vms/{name}/disks/{disk}/move", api_disk_move, 0, 0},
	{"DELETE", "/api/v1/vms/{name}/disks/{disk}/move", api_disk_move_cancel, 0, 0},
	{"GET", "/api/v1/vms/{name}/snapshots", list_snapshots, 0, 0},
	{"POST", "/api/v1/vms/{name}/snapshots", create_snapshot, 0, 0},
	{"POST", "/api/v1/vms/{name}/snapshots/{snap}/revert", revert_snapshot, 0, 0},
	{"DELETE", "/api/v1/vms/{name}/snapshots/{snap}", delete_snapshot, 0, 0},
	{"POST", "/api/v1/migrations/incoming", api_migrate_incoming, 0, 0},
	{"POST", "/api/v1/vms/{name}/migrate", api_migrate_send, 0, 0},
	{"GET", "/api/v1/vms/{name}/migration", api_migration_status, 0, 0},
	{"POST", "/api/v1/vms/{name}/migration/cancel", api_migration_cancel, 0, 0},
	{"POST", "/api/v1/vms/{name}/migration/storage", api_migration_storage, 0, 0},
	{"POST", "/api/v1/vms/{name}/migration/postcopy", api_migration_postcopy, 0, 0},
	{"POST", "/api/v1/vms/{name}/dirty-rate", api_dirty_rate, 0, 0},
	{"POST", "/api/v1/link/sink", api_link_sink, 0, 0},
	{"POST", "/api/v1/link/probe", api_link_probe, 0, 0},
	{"PUT", "/api/v1/pools", api_pools_put, 0, 0},
	{"GET", "/api/v1/images", api_image_list, 0, 0},
	{"GET", "/api/v1/images/{id}", api_image_get, 0, 0},
	{"PUT", "/api/v1/images/{id}", api_image_put, 0, 0, IMAGES_MAX_BYTES},
	{"DELETE", "/api/v1/images/{id}", api_image_delete, 0, 0},
};
const size_t agent_nroutes = sizeof(agent_routes) / sizeof(agent_routes[0]);
