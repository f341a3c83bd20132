/* api_migrate.c - live migration's routes: the receiving side's listen,
 * the sending side's send, progress, cancel, post-copy and the guest's
 * dirty rate. vdcd calls them in order; each is one VM operation. */
#include "api.h"

#include "jsonv.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DOWNTIME_MS 60000
#define MAX_BANDWIDTH_MIB_S (1 << 20)

/* The options both sides share: strategy (capabilities) and limits. */
static int parse_opts(const json_t *body, struct vm_migrate_opts *o, struct jv_err *jerr)
{
	int64_t downtime = 0, bw = 0;
	if (jv_bool(body, "", "auto_converge", false, &o->auto_converge, jerr) < 0 ||
	    jv_bool(body, "", "postcopy", false, &o->postcopy, jerr) < 0 ||
	    jv_int(body, "", "downtime_limit_ms", false, 1, MAX_DOWNTIME_MS, &downtime, jerr) < 0 ||
	    jv_int(body, "", "max_bandwidth_mib_s", false, 1, MAX_BANDWIDTH_MIB_S, &bw, jerr) < 0)
		return -1;
	o->downtime_limit_ms = (uint64_t)downtime;
	o->max_bandwidth_bps = (uint64_t)bw << 20;
	return 0;
}

struct incoming {
	struct http_req *req;
	struct vm *vm;
};

/* A receiver that could not listen leaves nothing behind but the disks,
 * which are the sender's. */
static void on_listening(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct incoming *in = ctx;
	struct http_req *req = in->req;
	struct vm *vm = in->vm;
	free(in);
	if (e) {
		struct errinfo ignore = {0};
		if (vm->pid > 0)
			vm_kill_now(vm, &ignore);
		if (!vm->deleted)
			vm_delete(vm, VM_DISKS_LEAVE, &ignore);
		api_reply_err(req, e);
	} else {
		http_reply_json(req, 201, result);
	}
	vm_release(vm);
}

/* POST /api/v1/migrations/incoming {"spec", "address", options}: defines
 * the VM from the sender's spec and starts QEMU waiting for its state.
 * With "cold": true (a cold migration: the sender's copy is stopped) it
 * only defines it, stopped, its disks taken as for a live one: 201. */
void api_migrate_incoming(struct http_req *req)
{
	struct agent *a = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"spec", "address", "auto_converge", "postcopy", "downtime_limit_ms",
	                                   "max_bandwidth_mib_s", "cold", "storage", "resume", NULL};
	static const char *const storage_keys[] = {"vm", "token", "disks", NULL};
	struct jv_err jerr = {0};
	struct vm_migrate_opts o = {0};
	json_t *spec = NULL, *storage = NULL;
	const char *address = NULL, *token = NULL;
	bool cold = false, resume = false;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_member(body, "", "spec", true, JSON_OBJECT, &spec, &jerr) < 0 ||
	    jv_bool(body, "", "cold", false, &cold, &jerr) < 0 || jv_bool(body, "", "resume", false, &resume, &jerr) < 0 ||
	    jv_member(body, "", "storage", false, JSON_OBJECT, &storage, &jerr) < 0 ||
	    (storage && (jv_only_keys(storage, "storage", storage_keys, &jerr) < 0 ||
	                 jv_string(storage, "storage", "token", true, 64, &token, &jerr) < 0)) ||
	    jv_string(body, "", "address", !cold, 64, &address, &jerr) < 0 || parse_opts(body, &o, &jerr) < 0) {
		json_decref(body);
		api_reply_bad(req, &jerr);
		return;
	}
	struct errinfo e = {0};
	struct vm *vm = NULL;
	if (cold && storage) {
		json_decref(body);
		http_reply_error(req, 400, "invalid_body", "storage", "storage: a cold migration copies no disks");
		return;
	}
	if (vm_define_incoming(a, spec, storage, &vm, &e) < 0) {
		json_decref(body);
		api_reply_err(req, &e);
		return;
	}
	for (int i = 0; i < vm->spec.ndisks; i++)
		vm->mig.copy_disks |= vm->spec.disks[i].copy_in;
	if (vm_incoming_set_resume(vm, resume, &e) < 0) {
		json_decref(body);
		vm_delete(vm, VM_DISKS_LEAVE, &(struct errinfo){0});
		api_reply_err(req, &e);
		return;
	}
	if (cold) {
		json_decref(body);
		http_reply_json(req, 201, vm_to_json(vm));
		return;
	}
	struct incoming *in = calloc(1, sizeof(*in));
	if (!in)
		abort();
	*in = (struct incoming){req, vm};
	vm_hold(vm);
	http_defer(req);
	if (vm_migrate_listen(vm, address, &o, on_listening, in, &e) < 0)
		on_listening(in, 0, NULL, &e);
	json_decref(body);
}

/* POST /api/v1/vms/{name}/migrate {"uri", options} */
void api_migrate_send(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"uri", "auto_converge", "postcopy", "downtime_limit_ms",
	                                   "max_bandwidth_mib_s", "nbd", NULL};
	static const char *const nbd_keys[] = {"host", "port", "disks", NULL};
	struct jv_err jerr = {0};
	struct vm_migrate_opts o = {0};
	const char *uri = NULL, *host = NULL;
	json_t *nbd = NULL, *disks = NULL;
	int64_t port = 0;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "uri", true, 120, &uri, &jerr) < 0 ||
	    parse_opts(body, &o, &jerr) < 0 || jv_member(body, "", "nbd", false, JSON_OBJECT, &nbd, &jerr) < 0 ||
	    (nbd && (jv_only_keys(nbd, "nbd", nbd_keys, &jerr) < 0 ||
	             jv_string(nbd, "nbd", "host", true, 63, &host, &jerr) < 0 ||
	             jv_int(nbd, "nbd", "port", true, 1, 65535, &port, &jerr) < 0 ||
	             jv_member(nbd, "nbd", "disks", true, JSON_ARRAY, &disks, &jerr) < 0))) {
		json_decref(body);
		api_reply_bad(req, &jerr);
		return;
	}
	struct errinfo e = {0};
	http_defer(req);
	if ((nbd ? vm_migrate_send_with_disks(vm, uri, &o, host, (int)port, disks, api_reply_done, req, &e)
	         : vm_migrate_send(vm, uri, &o, api_reply_done, req, &e)) < 0)
		api_reply_err(req, &e);
	json_decref(body);
}

/* POST /api/v1/vms/{name}/migration/storage: the sender's probe (which of
 * the VM's disk folders a receiver shares) and the disks' sizes. */
void api_migration_storage(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *out = NULL;
	struct errinfo e = {0};
	if (vm_migrate_storage_probe(vm, &out, &e) < 0)
		api_reply_err(req, &e);
	else
		http_reply_json(req, 200, out);
}

/* A VM operation of the migration that takes no body. */
typedef int (*vm_op_fn)(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e);

static void run_vm_op(struct http_req *req, vm_op_fn op)
{
	struct vm *vm = api_vm_or_404(req);
	struct errinfo e = {0};
	if (!vm)
		return;
	http_defer(req);
	if (op(vm, api_reply_done, req, &e) < 0)
		api_reply_err(req, &e);
}

void api_migration_status(struct http_req *req) { run_vm_op(req, vm_migrate_status); }
void api_migration_cancel(struct http_req *req) { run_vm_op(req, vm_migrate_cancel); }
void api_migration_postcopy(struct http_req *req) { run_vm_op(req, vm_migrate_postcopy); }

/* POST /api/v1/vms/{name}/dirty-rate {"seconds"} */
void api_dirty_rate(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 1);
	if (!body)
		return;
	static const char *const keys[] = {"seconds", NULL};
	struct jv_err jerr = {0};
	int64_t seconds = 1;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_int(body, "", "seconds", false, 1, 60, &seconds, &jerr) < 0) {
		json_decref(body);
		api_reply_bad(req, &jerr);
		return;
	}
	json_decref(body);
	struct errinfo e = {0};
	http_defer(req);
	if (vm_migrate_dirty_rate(vm, (int)seconds, api_reply_done, req, &e) < 0)
		api_reply_err(req, &e);
}

/* POST /api/v1/vms/{name}/disks/{disk}/move {"datastore"}: 202 and the VM
 * (its "disk_move" says how far) once the move started, or when it was
 * under way already; 200 when the disk is on that datastore. */
void api_disk_move(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"datastore", "bandwidth_mib_s", NULL};
	struct jv_err jerr = {0};
	const char *to = NULL;
	int64_t mib_s = 0;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "datastore", true, 63, &to, &jerr) < 0 ||
	    jv_int(body, "", "bandwidth_mib_s", false, 1, 1 << 20, &mib_s, &jerr) < 0) {
		json_decref(body);
		api_reply_bad(req, &jerr);
		return;
	}
	struct errinfo e = {0};
	int rc = vm_disk_move(vm, http_param(req, "disk"), to, (uint64_t)mib_s << 20, &e);
	json_decref(body);
	if (rc < 0)
		api_reply_err(req, &e);
	else
		http_reply_json(req, rc == 1 ? 200 : 202, vm_to_json(vm));
}

/* DELETE /api/v1/vms/{name}/disks/{disk}/move: stops it before its switch. */
void api_disk_move_cancel(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	struct errinfo e = {0};
	if (vm_disk_move_cancel(vm, &e) < 0)
		api_reply_err(req, &e);
	else
		http_reply_json(req, 202, vm_to_json(vm));
}
