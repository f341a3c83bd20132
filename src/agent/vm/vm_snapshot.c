/* vm_snapshot.c - snapshots of a running (or paused) VM through QEMU, RAM
 * included: one QMP job (snapshot-save/load/delete) per VM at a time,
 * polled until it concludes. */
#include "vm_internal.h"

#include "log.h"
#include "loop.h"
#include "qemu_cmdline.h"
#include "qmp_cmds.h"
#include "snap_hw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_JOB_POLL_MS 50
#define SNAPSHOT_JOB_TIMEOUT_MS (10 * 60 * 1000)

/* The job's end: its caller hears it (the reply's shape is the op's). */
void vm_job_end(struct vm *vm, unsigned status, const char *error)
{
	vm_done_fn done = vm->job_done;
	void *ctx = vm->job_ctx;
	vm->job_active = false;
	vm->job_done = NULL;
	if (vm->job_timer)
		loop_timer_cancel(vm->agent->loop, vm->job_timer);
	vm->job_timer = NULL;
	if (!error && !strcmp(vm->job_op, "save"))
		snap_hw_record(vm, vm->job_tag); /* what its RAM can be loaded into */
	else if (!error && !strcmp(vm->job_op, "delete"))
		snap_hw_forget(vm, vm->job_tag);
	if (!done)
		return;
	struct errinfo e = {0};
	if (error && !strcmp(vm->job_op, "load") && vm->state == VM_PAUSED) {
		/* QEMU stops the guest for the load and leaves it stopped when
		 * the load fails: its state may be half loaded, so it is not
		 * resumed behind the user's back, but nobody is left guessing. */
		errinfo_set(&e, status, "qemu_failed", NULL,
		            "snapshot load of '%s' failed: %s; the VM is left paused (its RAM may be "
		            "partly loaded): revert to another snapshot, or stop it", vm->job_tag, error);
		log_warn("snapshot_failed", "vm=%s op=%s snapshot=%s state=paused error=%s", vm->spec.name,
		         vm->job_op, vm->job_tag, log_quote(error));
		done(ctx, 0, NULL, &e);
	} else if (error) {
		errinfo_set(&e, status, status == 409 ? "invalid_state" : "qemu_failed", NULL,
		            "snapshot %s of '%s' failed: %s (the VM is %s)", vm->job_op, vm->job_tag, error,
		            vm_state_name(vm->state));
		log_warn("snapshot_failed", "vm=%s op=%s snapshot=%s error=%s", vm->spec.name, vm->job_op,
		         vm->job_tag, log_quote(error));
		done(ctx, 0, NULL, &e);
	} else if (!strcmp(vm->job_op, "save")) {
		done(ctx, 201, json_pack("{s:s, s:s, s:b}", "vm", vm->spec.name, "name", vm->job_tag, "live", 1),
		     NULL);
	} else if (!strcmp(vm->job_op, "load")) {
		done(ctx, 200, vm_to_json(vm), NULL);
	} else {
		done(ctx, 204, NULL, NULL);
	}
	if (!error)
		log_info("snapshot_done", "vm=%s op=%s snapshot=%s live=1", vm->spec.name, vm->job_op, vm->job_tag);
}

/* The job is over (err: how it failed); after the dismiss and the state. */
struct job_finish {
	struct vm *vm;
	bool failed;
	char err[512];
};

static void on_job_refreshed(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct job_finish *f = ctx;
	struct vm *vm = f->vm;
	json_decref(result);
	if (vm->job_active)
		vm_job_end(vm, 500, f->failed ? f->err : NULL);
	free(f);
	vm_release(vm);
}

static void on_job_dismissed(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd)
{
	struct job_finish *f = ctx;
	if (f->vm->qmp)
		vm_refresh_status(f->vm, on_job_refreshed, f);
	else
		on_job_refreshed(f, 0, NULL, NULL);
}

static void on_job_poll(void *ctx);

static void on_jobs(void *ctx, enum qmp_status st, json_t *jobs, const char *err,
                 const char *cmd)
{
	struct vm *vm = ctx;
	if (!vm->job_active) {
		vm_release(vm);
		return;
	}
	if (st != QMP_OK) {
		struct errinfo e = {0};
		vm_qmp_error(vm, cmd, st, err, &e);
		vm_job_end(vm, e.status, e.message);
		vm_release(vm);
		return;
	}
	const json_t *job = qmp_job_find(jobs, vm->job_id);
	const char *status = json_string_value(json_object_get(job, "status"));
	if (job && status && !strcmp(status, "concluded")) {
		struct job_finish *f = calloc(1, sizeof(*f));
		if (!f)
			abort();
		f->vm = vm; /* takes over this callback's hold */
		const char *jerr = json_string_value(json_object_get(job, "error"));
		f->failed = jerr != NULL;
		snprintf(f->err, sizeof(f->err), "%s", jerr ? jerr : "");
		if (vm->qmp)
			qmp_job_dismiss(vm->qmp, vm->job_id, on_job_dismissed, f);
		else
			on_job_dismissed(f, QMP_CLOSED, NULL, NULL, NULL);
		return;
	}
	if (!job) /* dismissed already: QEMU found nothing to report */
		vm_job_end(vm, 500, "QEMU's snapshot job vanished before it concluded");
	else if (loop_now_ms() > vm->job_deadline_ms)
		vm_job_end(vm, 500, "the snapshot job did not finish within 10 minutes");
	else
		vm->job_timer = loop_timer_after(vm->agent->loop, SNAPSHOT_JOB_POLL_MS, on_job_poll, vm);
	vm_release(vm);
}

static void on_job_poll(void *ctx)
{
	struct vm *vm = ctx;
	vm->job_timer = NULL;
	if (!vm->qmp) {
		vm_job_end(vm, 409, "the VM stopped while the snapshot job ran");
		return;
	}
	vm_hold(vm);
	qmp_query_jobs(vm->qmp, on_jobs, vm);
}

static void on_job_started(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd)
{
	struct vm *vm = ctx;
	if (!vm->job_active) {
		vm_release(vm);
		return;
	}
	if (st != QMP_OK) {
		/* Refused at once, as a failed command (not a failed job). */
		vm_done_fn done = vm->job_done;
		void *dctx = vm->job_ctx;
		vm->job_active = false;
		vm->job_done = NULL;
		struct errinfo e = {0};
		vm_qmp_error(vm, cmd, st, err, &e);
		done(dctx, 0, NULL, &e);
	} else {
		vm->job_deadline_ms = loop_now_ms() + SNAPSHOT_JOB_TIMEOUT_MS;
		vm->job_timer = loop_timer_after(vm->agent->loop, SNAPSHOT_JOB_POLL_MS, on_job_poll, vm);
		log_info("snapshot_started", "vm=%s op=%s snapshot=%s live=1", vm->spec.name, vm->job_op,
		         vm->job_tag);
	}
	vm_release(vm);
}

/* The disks' nodes as QEMU has them now: "vdc-NAME" from the command
 * line, or the image a storage migration switched the disk to. */
static void on_nodes(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm *vm = ctx;
	if (!vm->job_active || st != QMP_OK || !vm->qmp) {
		on_job_started(vm, st == QMP_OK ? QMP_CLOSED : st, NULL, err, cmd);
		return;
	}
	enum qmp_snapshot_op qop = !strcmp(vm->job_op, "save")   ? QMP_SNAPSHOT_SAVE
	                           : !strcmp(vm->job_op, "load") ? QMP_SNAPSHOT_LOAD
	                                                         : QMP_SNAPSHOT_DELETE;
	char names[VM_MAX_DISKS][80];
	const char *nodes[VM_MAX_DISKS];
	int n = 0;
	for (int i = 0; i < vm->spec.ndisks && n < VM_MAX_DISKS; i++) {
		if (!qemu_disk_present(&vm->spec.disks[i]))
			continue; /* not in QEMU: an unused disk, or one added at the next start */
		char dev[80];
		snprintf(dev, sizeof(dev), "drive-%s", vm->spec.disks[i].name);
		snprintf(names[n], sizeof(names[n]), "vdc-%s", vm->spec.disks[i].name);
		size_t k;
		json_t *b;
		json_array_foreach(ret, k, b)
			if (!strcmp(json_string_value(json_object_get(b, "device")) ?: "", dev))
				snprintf(names[n], sizeof(names[n]), "%s",
				         json_string_value(json_object_get(json_object_get(b, "inserted"), "node-name"))
				             ?: names[n]);
		nodes[n] = names[n];
		n++;
	}
	qmp_snapshot(vm->qmp, qop, vm->job_id, vm->job_tag, nodes, n, on_job_started, vm);
}

int vm_snapshot_live(struct vm *vm, const char *op, const char *tag, vm_done_fn done, void *ctx,
                     struct errinfo *e)
{
	static unsigned long seq;
	if (!vm->qmp || (vm->state != VM_RUNNING && vm->state != VM_PAUSED))
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s", vm->spec.name,
		                   vm_state_name(vm->state));
	if (vm->job_active)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is already taking a snapshot (%s %s); try "
		                   "again when it is done", vm->spec.name, vm->job_op, vm->job_tag);
	if (vm->spec.ndisks == 0)
		return errinfo_set(e, 409, "no_disks", NULL, "VM '%s' has no disk to keep a snapshot on",
		                   vm->spec.name);
	snprintf(vm->job_id, sizeof(vm->job_id), "vdc-snapshot-%lu", ++seq);
	snprintf(vm->job_op, sizeof(vm->job_op), "%s", op);
	snprintf(vm->job_tag, sizeof(vm->job_tag), "%s", tag);
	vm->job_active = true;
	vm->job_done = done;
	vm->job_ctx = ctx;
	vm_hold(vm);
	qmp_query_block(vm->qmp, on_nodes, vm);
	return 0;
}
