/* vm_migrate.c - live migration between hosts, as QEMU does it: the
 * receiving agent starts QEMU with -incoming defer and listens; the
 * sending agent tells its QEMU to send there. Guest memory goes straight
 * from QEMU to QEMU; vdcd only sequences the steps. Which side owns the
 * guest is QEMU's to say: "postmigrate" on the sender means the receiver
 * runs it; anything else before "completed" means the sender still does. */
#include "vm_internal.h"

#include "log.h"
#include "loop.h"
#include "qmp_cmds.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum vm_state vm_state_from_qemu(const json_t *status)
{
	const char *st = json_string_value(json_object_get(status, "status")) ?: "";
	if (!strcmp(st, "inmigrate"))
		return VM_INCOMING;
	if (!strcmp(st, "postmigrate"))
		return VM_MIGRATED;
	return json_is_true(json_object_get(status, "running")) ? VM_RUNNING : VM_PAUSED;
}

static void ignore_done(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	json_decref(result);
}

static bool mig_failed(const char *st) { return !strcmp(st, "failed") || !strcmp(st, "cancelled"); }

bool vm_migrating(const struct vm *vm)
{
	return vm->mig.role != VM_MIG_NONE && strcmp(vm->mig.status, "completed") && !mig_failed(vm->mig.status);
}

void vm_migrate_event(struct vm *vm, const char *status)
{
	snprintf(vm->mig.status, sizeof(vm->mig.status), "%s", status);
	if (!strcmp(status, "pre-switchover")) {
		/* Disks were mirrored: they end, whole, before the device state
		 * goes (also when this agent restarted and knows no mirror). */
		vm_mirror_switchover(vm);
		return;
	}
	if (vm->mig.role == VM_MIG_NONE) {
		/* An agent restarted meanwhile, re-attached to a QEMU that was
		 * migrating: which side this is shows in QEMU's run state
		 * (running, or postmigrate), read now rather than guessed from
		 * a state the attach may not have set yet. */
		log_info("vm_migration", "vm=%s role=unknown status=%s", vm->spec.name, status);
		if (!strcmp(status, "completed") && vm->mig.copy_disks) /* a copy receiver's (vm_nbd_recover) */
			vm_nbd_incoming_done(vm);
		else if (!strcmp(status, "completed"))
			vm_refresh_status(vm, ignore_done, NULL);
		return;
	}
	log_info("vm_migration", "vm=%s role=%s status=%s", vm->spec.name,
	         vm->mig.role == VM_MIG_OUT ? "out" : vm->mig.role == VM_MIG_IN ? "in" : "none", status);
	if (vm->mig.role == VM_MIG_OUT && !strcmp(status, "completed")) {
		/* The receiver runs the guest now; this QEMU stays paused until
		 * vdcd has recorded the hand-over and deletes it here. */
		vm_mirror_migration_ended(vm, false);
		vm_set_state(vm, VM_MIGRATED);
	} else if (vm->mig.role == VM_MIG_OUT && mig_failed(status)) {
		vm_mirror_migration_ended(vm, true);
		/* The guest stays here (QEMU resumed it if it ran): its files are
		 * its own again, whatever the receiver took meanwhile. */
		struct errinfo e = {0};
		if (vm_id_own_files(vm, &e) < 0)
			log_warn("vm_migration_reown_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
	} else if (vm->mig.role == VM_MIG_IN && !strcmp(status, "completed") && vm->mig.copy_disks) {
		/* Still "incoming" until the NBD exports are gone and the guest
		 * runs (or stays paused): vdcd records what comes after. */
		vm_nbd_incoming_done(vm);
	} else if (vm->mig.role == VM_MIG_IN && !strcmp(status, "completed") && vm->state == VM_INCOMING) {
		/* A RESUME follows when the guest ran on the sender. */
		vm_set_state(vm, VM_PAUSED);
	}
	vm_store_write_state(vm, false);
}

/* ---- one chain of QMP steps, ended through done --------------------------- */

struct mig_op {
	struct vm *vm;
	struct vm_migrate_opts opts;
	char uri[128];
	int seconds;
	vm_done_fn done;
	void *ctx;
};

static struct mig_op *mig_op_new(struct vm *vm, const struct vm_migrate_opts *o, vm_done_fn done,
                                 void *ctx)
{
	struct mig_op *op = calloc(1, sizeof(*op));
	if (!op)
		abort();
	op->vm = vm;
	if (o)
		op->opts = *o;
	op->done = done;
	op->ctx = ctx;
	vm_hold(vm);
	return op;
}

static void mig_end(struct mig_op *op, int status, json_t *result, const struct errinfo *e)
{
	struct vm *vm = op->vm;
	vm_done_fn done = op->done;
	void *ctx = op->ctx;
	free(op);
	done(ctx, status, result, e);
	vm_release(vm);
}

/* A step QEMU refused (or never answered): the operation's end. */
static bool step_failed(struct mig_op *op, enum qmp_status st, const char *err, const char *cmd)
{
	if (st == QMP_OK && op->vm->qmp)
		return false;
	struct errinfo e = {0};
	vm_qmp_error(op->vm, cmd, st, err ? err : "QEMU exited", &e);
	log_warn("vm_migration_step_failed", "vm=%s command=%s error=%s", op->vm->spec.name, cmd,
	         log_quote(e.message));
	mig_end(op, 0, NULL, &e);
	return true;
}

static void set_caps(struct mig_op *op, qmp_reply_fn next)
{
	struct qmp_migrate_caps caps = {op->opts.auto_converge, op->opts.postcopy,
	                                .pause_before_switchover = op->vm->mig.mirror != NULL,
	                                .late_block_activate = op->vm->mig.copy_disks};
	qmp_migrate_set_caps(op->vm->qmp, &caps, next, op);
}

/* ---- the receiving side ---------------------------------------------------- */

static void on_served(struct vm *vm, void *ctx, const char *err)
{
	struct mig_op *op = ctx;
	if (!err) {
		mig_end(op, 201, vm_to_json(vm), NULL);
		return;
	}
	struct errinfo e = {0};
	errinfo_set(&e, 500, "qemu", NULL, "%s", err);
	mig_end(op, 0, NULL, &e);
}

static void on_listen_where(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	struct vm *vm = op->vm;
	const json_t *addr = json_array_get(json_object_get(ret, "socket-address"), 0);
	const char *port = json_string_value(json_object_get(addr, "port"));
	if (!port) {
		struct errinfo e = {0};
		errinfo_set(&e, 500, "qemu", NULL, "QEMU listens for the migration but did not say on which port");
		mig_end(op, 0, NULL, &e);
		return;
	}
	snprintf(vm->mig.uri, sizeof(vm->mig.uri), "tcp:%s:%s", op->uri, port);
	log_info("vm_migration_listening", "vm=%s uri=%s", vm->spec.name, vm->mig.uri);
	if (vm->mig.copy_disks) {
		vm_nbd_serve(vm, op->uri, on_served, op);
		return;
	}
	mig_end(op, 201, vm_to_json(vm), NULL);
}

static void on_listen_incoming(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (!step_failed(op, st, err, cmd))
		qmp_query_migrate(op->vm->qmp, on_listen_where, op);
}

static void on_listen_stopped(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	char uri[160];
	/* An IPv6 literal goes in brackets. */
	snprintf(uri, sizeof(uri), strchr(op->uri, ':') ? "tcp:[%s]:0" : "tcp:%s:0", op->uri);
	qmp_migrate_incoming(op->vm->qmp, uri, on_listen_incoming, op);
}

static void on_listen_caps(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	/* Disks arrive over NBD: the guest must not run by itself when the
	 * state has arrived (a stop while incoming turns autostart off), but
	 * once the exports are gone (vm_nbd_incoming_done). */
	if (op->vm->mig.copy_disks)
		qmp_stop(op->vm->qmp, on_listen_stopped, op);
	else
		on_listen_stopped(op, QMP_OK, NULL, NULL, "(no stop)");
}

static void on_listen_started(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct mig_op *op = ctx;
	json_decref(result);
	if (e) {
		mig_end(op, 0, NULL, e);
		return;
	}
	set_caps(op, on_listen_caps);
}

int vm_migrate_listen(struct vm *vm, const char *address, const struct vm_migrate_opts *o,
                      vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (!url_host_is_ip(address))
		return errinfo_set(e, 400, "invalid_body", "address",
		                   "address: '%s' is not an IP address of this host", address ? address : "");
	if (strlen(address) >= sizeof(((struct mig_op *)0)->uri) - 8)
		return errinfo_set(e, 400, "invalid_body", "address", "address: too long");
	if (vm->state != VM_STOPPED)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; only a VM just defined here "
		                   "can receive a migration", vm->spec.name, vm_state_name(vm->state));
	struct mig_op *op = mig_op_new(vm, o, done, ctx);
	snprintf(op->uri, sizeof(op->uri), "%s", address);
	vm->mig.role = VM_MIG_IN;
	vm->mig.status[0] = vm->mig.uri[0] = vm->mig.error[0] = '\0';
	if (vm_start_qemu(vm, true, on_listen_started, op, e) < 0) {
		free(op);
		vm_release(vm);
		return -1;
	}
	return 0;
}

/* ---- the sending side ------------------------------------------------------ */

static void on_send_migrate(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd)) {
		return;
	}
	log_info("vm_migration_sending", "vm=%s uri=%s", op->vm->spec.name, op->vm->mig.uri);
	mig_end(op, 202, vm_to_json(op->vm), NULL);
}

static void on_send_params(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	op->vm->mig.role = VM_MIG_OUT;
	op->vm->mig.qemu_sending = true;
	snprintf(op->vm->mig.status, sizeof(op->vm->mig.status), "setup");
	snprintf(op->vm->mig.uri, sizeof(op->vm->mig.uri), "%s", op->uri);
	op->vm->mig.error[0] = '\0';
	qmp_migrate(op->vm->qmp, op->uri, on_send_migrate, op);
}

static void on_send_caps(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	struct qmp_migrate_params p = {op->opts.downtime_limit_ms, op->opts.max_bandwidth_bps};
	qmp_migrate_set_params(op->vm->qmp, &p, on_send_params, op);
}

static bool migrating(const struct vm *vm)
{
	return vm->mig.role == VM_MIG_OUT && vm->mig.status[0] && strcmp(vm->mig.status, "completed") &&
	       !mig_failed(vm->mig.status);
}

int vm_migrate_can_send(struct vm *vm, const char *uri, struct errinfo *e)
{
	if (!uri || strncmp(uri, "tcp:", 4) || strlen(uri) >= sizeof(vm->mig.uri) || strpbrk(uri, " ,\""))
		return errinfo_set(e, 400, "invalid_body", "uri",
		                   "uri: '%s' is not where a receiving host listens (tcp:IP:PORT)", uri ? uri : "");
	if ((vm->state != VM_RUNNING && vm->state != VM_PAUSED) || !vm->qmp)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; only a running or paused VM "
		                   "migrates live", vm->spec.name, vm_state_name(vm->state));
	if (migrating(vm))
		return errinfo_set(e, 409, "migration_running", NULL,
		                   "VM '%s' is being migrated already (%s); wait or cancel it", vm->spec.name,
		                   vm->mig.status);
	if (vm->move)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is moving a disk to another datastore; migrate it "
		                   "once that ends", vm->spec.name);
	if (vm->job_active)
		return errinfo_set(e, 409, "job_running", NULL, "VM '%s' has a %s job running; wait for it",
		                   vm->spec.name, vm->job_op);
	/* The receiver's QEMU is started with what this one has: a change
	 * waiting for the next start (or a device half plugged) would differ. */
	char what[160];
	if (vm->plug)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is adding or removing a device; migrate it once that "
		                   "ends", vm->spec.name);
	if (vm_hotplug_pending(vm, what, sizeof(what)))
		return errinfo_set(e, 409, "hardware_pending", NULL,
		                   "VM '%s' has hardware changes waiting for its next start (%s): restart it to apply "
		                   "them, or remove the unused disk, before it migrates live", vm->spec.name, what);
	return 0;
}

void vm_migrate_begin(struct vm *vm, const char *uri, const struct vm_migrate_opts *o, vm_done_fn done,
                      void *ctx)
{
	struct mig_op *op = mig_op_new(vm, o, done, ctx);
	snprintf(op->uri, sizeof(op->uri), "%s", uri);
	vm->mig.qemu_sending = false;
	set_caps(op, on_send_caps);
}

int vm_migrate_send(struct vm *vm, const char *uri, const struct vm_migrate_opts *o,
                    vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (vm_migrate_can_send(vm, uri, e) < 0)
		return -1;
	vm_migrate_begin(vm, uri, o, done, ctx);
	return 0;
}

/* ---- progress, cancel, post-copy, dirty rate -------------------------------- */

static json_int_t int_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* QEMU's query-migrate in the API's words (and units). */
static json_t *status_json(struct vm *vm, const json_t *q)
{
	const char *role = vm->mig.role == VM_MIG_OUT ? "out" : vm->mig.role == VM_MIG_IN ? "in" : "none";
	/* Before QEMU was told to send (the disks copy, or their copy failed)
	 * its status is an earlier migration's, if any: an incoming one that
	 * brought the VM here says "completed". And a sender has completed
	 * only when its copy is in postmigrate (VM_MIGRATED): after an agent
	 * restart, that tells an outgoing migration's end from an incoming
	 * one's. Until then the last status heard stands ("none" if none). */
	bool copying = vm->mig.role == VM_MIG_OUT && !vm->mig.qemu_sending;
	const char *st = q && !copying ? json_string_value(json_object_get(q, "status")) : NULL;
	if (st && !strcmp(st, "completed") && vm->mig.role != VM_MIG_IN && vm->state != VM_MIGRATED)
		st = NULL;
	if (st)
		snprintf(vm->mig.status, sizeof(vm->mig.status), "%s", st);
	const char *err = q && !copying ? json_string_value(json_object_get(q, "error-desc")) : NULL;
	if (err)
		snprintf(vm->mig.error, sizeof(vm->mig.error), "%s", err);
	json_t *o = json_pack("{s:s, s:s, s:s}", "vm", vm->spec.name, "role", role, "status",
	                      vm->mig.status[0] ? vm->mig.status : "none");
	if (vm->mig.uri[0])
		json_object_set_new(o, "uri", json_string(vm->mig.uri));
	if (vm->mig.error[0])
		json_object_set_new(o, "error", json_string(vm->mig.error));
	json_t *disks = vm_mirror_json(vm);
	if (disks)
		json_object_set_new(o, "disks", disks);
	if (!q || copying)
		return o;
	static const struct {
		const char *from, *to;
	} top[] = {{"total-time", "total_ms"},       {"expected-downtime", "expected_downtime_ms"},
	           {"downtime", "downtime_ms"},      {"setup-time", "setup_ms"},
	           {"cpu-throttle-percentage", "throttle_pct"}};
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (json_object_get(q, top[i].from))
			json_object_set_new(o, top[i].to, json_integer(int_of(q, top[i].from)));
	const json_t *ram = json_object_get(q, "ram");
	if (json_is_object(ram)) {
		json_int_t page = int_of(ram, "page-size") ?: 4096;
		json_t *r = json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}", "total_bytes", int_of(ram, "total"),
		                      "remaining_bytes", int_of(ram, "remaining"), "transferred_bytes",
		                      int_of(ram, "transferred"), "dirty_bytes_per_s",
		                      int_of(ram, "dirty-pages-rate") * page, "dirty_sync_count",
		                      int_of(ram, "dirty-sync-count"), "mbps",
		                      json_number_value(json_object_get(ram, "mbps")));
		json_object_set_new(o, "ram", r);
	}
	return o;
}

static void on_status(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd);

static void status_poll(void *ctx)
{
	struct mig_op *op = ctx;
	if (!op->vm->qmp) {
		mig_end(op, 200, status_json(op->vm, NULL), NULL);
		return;
	}
	qmp_query_migrate(op->vm->qmp, on_status, op);
}

/* QEMU 7.2 says "completed" a moment before it has worked out the total
 * time and the downtime (seen here: both 0 after a 99 MB migration): a
 * completed migration without them is asked again, 25 ms apart, a few
 * times, so that the numbers vdcd records are QEMU's. */
#define STATUS_SETTLE_TRIES 8

static void on_status(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	/* QEMU waits for the mirrors to end (an event this agent missed?). */
	if (!strcmp(json_string_value(json_object_get(ret, "status")) ?: "", "pre-switchover"))
		vm_mirror_switchover(op->vm);
	if (!strcmp(json_string_value(json_object_get(ret, "status")) ?: "", "completed") &&
	    int_of(ret, "total-time") == 0 && op->seconds++ < STATUS_SETTLE_TRIES) {
		loop_timer_after(op->vm->agent->loop, 25, status_poll, op);
		return;
	}
	mig_end(op, 200, status_json(op->vm, ret), NULL);
}

int vm_migrate_status(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (!vm->qmp) {
		/* QEMU is gone: what was last heard is all there is. */
		done(ctx, 200, status_json(vm, NULL), NULL);
		return 0;
	}
	qmp_query_migrate(vm->qmp, on_status, mig_op_new(vm, NULL, done, ctx));
	return 0;
}

static void on_simple(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	log_info("vm_migration_step", "vm=%s command=%s", op->vm->spec.name, cmd);
	qmp_query_migrate(op->vm->qmp, on_status, op);
}

int vm_migrate_cancel(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (vm->mig.role != VM_MIG_OUT || !vm->qmp)
		return errinfo_set(e, 409, "no_migration", NULL, "VM '%s' is not being sent anywhere",
		                   vm->spec.name);
	if (vm_mirror_cancel(vm) == 0) { /* the disks still copy: the next look ends it */
		done(ctx, 200, status_json(vm, NULL), NULL);
		return 0;
	}
	qmp_migrate_cancel(vm->qmp, on_simple, mig_op_new(vm, NULL, done, ctx));
	return 0;
}

int vm_migrate_postcopy(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (!migrating(vm) || !vm->qmp)
		return errinfo_set(e, 409, "no_migration", NULL, "VM '%s' is not being sent anywhere",
		                   vm->spec.name);
	if (vm->mig.mirror)
		return errinfo_set(e, 409, "disks_copying", NULL, "VM '%s' moves with its disks: post-copy would run "
		                   "the guest there before they are whole", vm->spec.name);
	qmp_migrate_start_postcopy(vm->qmp, on_simple, mig_op_new(vm, NULL, done, ctx));
	return 0;
}

static void on_dirty_query(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd);

static void dirty_poll(void *ctx)
{
	struct mig_op *op = ctx;
	if (!op->vm->qmp) {
		step_failed(op, QMP_CLOSED, "QEMU exited", "the dirty rate's reading");
		return;
	}
	qmp_query_dirty_rate(op->vm->qmp, on_dirty_query, op);
}

static void on_dirty_query(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	const char *status = json_string_value(json_object_get(ret, "status")) ?: "";
	if (!strcmp(status, "measuring")) {
		if (op->seconds-- > 0) {
			loop_timer_after(op->vm->agent->loop, 250, dirty_poll, op);
			return;
		}
		struct errinfo e = {0};
		errinfo_set(&e, 504, "qmp_timeout", NULL, "QEMU did not finish measuring the dirty rate");
		mig_end(op, 0, NULL, &e);
		return;
	}
	mig_end(op, 200, json_pack("{s:s, s:I, s:I}", "vm", op->vm->spec.name, "dirty_rate_mib_s",
	                           int_of(ret, "dirty-rate"), "calc_time_s", int_of(ret, "calc-time")),
	        NULL);
}

static void on_dirty_calc(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct mig_op *op = ctx;
	if (step_failed(op, st, err, cmd))
		return;
	/* Polls every 250 ms from the end of the measuring window, for up to
	 * 5 s more. */
	int window = op->seconds;
	op->seconds = 20;
	loop_timer_after(op->vm->agent->loop, (uint64_t)window * 1000 + 100, dirty_poll, op);
}

int vm_migrate_dirty_rate(struct vm *vm, int seconds, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (vm->state != VM_RUNNING || !vm->qmp)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; only a running guest dirties "
		                   "memory", vm->spec.name, vm_state_name(vm->state));
	if (seconds < 1 || seconds > 60)
		return errinfo_set(e, 400, "invalid_body", "seconds", "seconds: must be 1 to 60");
	struct mig_op *op = mig_op_new(vm, NULL, done, ctx);
	op->seconds = seconds;
	qmp_calc_dirty_rate(vm->qmp, seconds, on_dirty_calc, op);
	return 0;
}
