/* vm_watch.c - watching a running QEMU: its monitor (QMP events), its
 * console, its process (pidfd), and what its exit means. State changes come
 * from QMP (events and query-status) and from the process itself, never
 * from what we expect to happen. */
#include "vm_internal.h"
#include "isotime.h"

#include "fsutil.h"
#include "log.h"
#include "loop.h"
#include "qmp_cmds.h"
#include "qmp_events.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* The guest stopped petting its watchdog: it hangs. QEMU was told to do
 * nothing (-action watchdog=none) so that the agent ends it here and the
 * exit is a crash with its own cause: vdcd's HA restarts the VM under its
 * restart budget, which a reset inside QEMU would bypass, unseen. */
static void on_watchdog(struct vm *vm, json_t *data)
{
	const char *action = json_string_value(json_object_get(data, "action"));
	if (vm->expect_exit || vm->watchdog_fired || vm->pid <= 0)
		return; /* going already: a stop's reason stands */
	vm->watchdog_fired = true;
	log_event(LOG_WARN, "vm_watchdog", "vm=%s pid=%d watchdog=%s qemu_action=%s reason=%s", vm->spec.name,
	          (int)vm->pid, vm->spec.watchdog[0] ? vm->spec.watchdog : "?", action ? action : "?",
	          log_quote("the guest stopped petting its watchdog; ending QEMU as crashed"));
	kill(vm->pid, SIGKILL);
}

static void on_qmp_event(void *ctx, const char *event, json_t *data)
{
	struct vm *vm = ctx;
	log_info("qmp_event", "vm=%s qmp_event=%s", vm->spec.name, event);
	switch (qmp_event_kind(event)) {
	case QMP_EV_SHUTDOWN: {
		const char *reason = json_string_value(json_object_get(data, "reason"));
		snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "%s", reason ? reason : "none");
		break;
	}
	case QMP_EV_STOP:
		if (vm->state == VM_RUNNING)
			vm_set_state(vm, VM_PAUSED);
		break;
	case QMP_EV_RESUME:
		if (vm->state == VM_PAUSED || vm->state == VM_STARTING || vm->state == VM_INCOMING)
			vm_set_state(vm, VM_RUNNING);
		break;
	case QMP_EV_MIGRATION:
		vm_migrate_event(vm, json_string_value(json_object_get(data, "status")) ?: "");
		break;
	case QMP_EV_GUEST_PANICKED:
		snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "guest-panic");
		break;
	case QMP_EV_WATCHDOG:
		on_watchdog(vm, data);
		break;
	case QMP_EV_DEVICE_DELETED:
		vm_hotplug_device_deleted(vm, json_string_value(json_object_get(data, "device")));
		break;
	case QMP_EV_OTHER:
		break;
	}
}

void vm_drop_qmp(struct vm *vm)
{
	struct qmp *q = vm->qmp;
	vm->qmp = NULL;
	qmp_free(q); /* commands in flight end with QMP_CLOSED, from the loop */
}

/* QEMU is going away; the pidfd reports the exit. */
static void on_qmp_closed(void *ctx) { vm_drop_qmp(ctx); }

static void on_console_readable(void *ctx, uint32_t events)
{
	struct vm *vm = ctx;
	if (console_pump(&vm->console) < 0) {
		vm_console_detach_all(vm);
		loop_unwatch(vm->agent->loop, vm->console_watch);
		vm->console_watch = NULL;
		close(vm->console.sock);
		vm->console.sock = -1;
	}
}

static void on_pidfd_readable(void *ctx, uint32_t events)
{
	struct vm *vm = ctx;
	/* A QEMU that dies while it starts fails the start (its monitor
	 * closes, in this turn of the loop or the next); the start reaps it and
	 * says what QEMU said. */
	if (vm->start_pending)
		return;
	vm_handle_exit(vm);
}

struct attach_op {
	struct vm *vm;
	vm_attached_fn attached;
	void *ctx;
};

static void attach_end(struct attach_op *op, const char *err)
{
	struct vm *vm = op->vm;
	vm_attached_fn attached = op->attached;
	void *ctx = op->ctx;
	free(op);
	attached(vm, ctx, err);
	vm_release(vm);
}

static void on_attach_status(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd)
{
	struct attach_op *op = ctx;
	struct vm *vm = op->vm;
	if (st != QMP_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %s", cmd, err);
		attach_end(op, msg);
		return;
	}
	vm_set_state(vm, vm_state_from_qemu(ret));
	attach_end(op, NULL);
}

static void on_attach_handshake(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd)
{
	struct attach_op *op = ctx;
	if (st != QMP_OK || !op->vm->qmp) {
		attach_end(op, err ? err : "QEMU closed its monitor connection (QEMU exited)");
		return;
	}
	qmp_query_status(op->vm->qmp, on_attach_status, op);
}

void vm_attach(struct vm *vm, vm_attached_fn attached, void *ctx)
{
	struct agent *a = vm->agent;
	char path[1100], err[600];
	vm->pidfd = pidfd_open(vm->pid, 0);
	if (vm->pidfd < 0) {
		snprintf(err, sizeof(err), "pidfd_open(%d): %s", (int)vm->pid, strerror(errno));
		attached(vm, ctx, err);
		return;
	}
	fcntl(vm->pidfd, F_SETFD, FD_CLOEXEC);
	vm->pid_watch = loop_watch_fd(a->loop, vm->pidfd, EPOLLIN, on_pidfd_readable, vm);

	vm_run_path(vm, "serial.sock", path, sizeof(path));
	if (vm->console.logfd < 0) {
		char logp[1100];
		vm_store_path(vm, "console.log", logp, sizeof(logp));
		console_open(&vm->console, logp, a->cfg.console_log_bytes);
	}
	vm->console.sock = vm_proc_connect_unix(path);
	if (vm->console.sock >= 0) {
		fcntl(vm->console.sock, F_SETFL, O_NONBLOCK);
		vm->console_watch = loop_watch_fd(a->loop, vm->console.sock, EPOLLIN, on_console_readable, vm);
	}

	vm_run_path(vm, "qmp.sock", path, sizeof(path));
	int fd = vm_proc_connect_unix(path);
	if (fd < 0) {
		snprintf(err, sizeof(err), "cannot connect to QEMU's monitor %s: %s", path, strerror(errno));
		attached(vm, ctx, err);
		return;
	}
	vm->qmp = qmp_new(fd, on_qmp_event, vm);
	if (!vm->qmp || qmp_attach(vm->qmp, a->loop, a->cfg.qmp_timeout_ms, on_qmp_closed) < 0) {
		snprintf(err, sizeof(err), "cannot watch QEMU's monitor: %s", strerror(errno));
		attached(vm, ctx, err);
		return;
	}
	struct attach_op *op = calloc(1, sizeof(*op));
	if (!op) {
		attached(vm, ctx, "out of memory");
		return;
	}
	*op = (struct attach_op){vm, attached, ctx};
	vm_hold(vm);
	qmp_handshake_async(vm->qmp, on_attach_handshake, op);
}

void vm_release_runtime(struct vm *vm)
{
	struct agent *a = vm->agent;
	if (vm->pid_watch)
		loop_unwatch(a->loop, vm->pid_watch);
	vm->pid_watch = NULL;
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
	vm_drop_qmp(vm);
	if (vm->console_watch) {
		/* Keep what QEMU wrote last before it went away. */
		console_pump(&vm->console);
		loop_unwatch(a->loop, vm->console_watch);
	}
	vm->console_watch = NULL;
	vm_console_detach_all(vm);
	console_close(&vm->console);
	if (vm->stop_timer)
		loop_timer_cancel(a->loop, vm->stop_timer);
	if (vm->press_timer)
		loop_timer_cancel(a->loop, vm->press_timer);
	vm->press_timer = NULL;
	vm->stop_timer = NULL;
	if (vm->job_active)
		vm_job_end(vm, 409, "the VM stopped while the snapshot job ran");
	vm_disk_move_qemu_gone(vm);
	vm_cgroup_remove(vm);
	fs_remove_tree(vm->rundir);
	char vnc[1200];
	vm_id_vnc_dir(vm, vnc, sizeof(vnc));
	fs_remove_tree(vnc);
	vm->pid = 0;
}

static void finish_waiters(struct vm *vm)
{
	while (vm->exit_waiters) {
		struct vm_waiter *w = vm->exit_waiters;
		vm->exit_waiters = w->next;
		w->done(w->ctx, 200, vm_to_json(vm), NULL);
		free(w);
	}
}

/* Why QEMU ended, as one word for programs (the reason says it in words):
 * the guest's own power-off, reset (under -no-reboot) or panic, a stop
 * someone asked the agent for (the guest complying or not), a signal, an
 * exit status, or unknown (QEMU not our child, no event). */
static const char *exit_cause(const struct vm *vm, int have_status, int status)
{
	bool guest_off = !strcmp(vm->shutdown_reason, "guest-shutdown");
	if (vm->expect_exit)
		return vm->forced && !guest_off ? "stopped_forced" : "stopped";
	if (vm->watchdog_fired)
		return "watchdog";
	if (guest_off)
		return "guest_poweroff";
	if (!strcmp(vm->shutdown_reason, "guest-reset"))
		return "guest_reset";
	if (!strcmp(vm->shutdown_reason, "guest-panic"))
		return "guest_panic";
	if (have_status && WIFSIGNALED(status))
		return "signal";
	if (have_status)
		return "exited";
	return "unknown";
}

void vm_handle_exit(struct vm *vm)
{
	int status = 0, have_status = 0;
	if (vm->our_child) {
		pid_t r = waitpid(vm->pid, &status, WNOHANG);
		if (r == 0)
			return; /* spurious: still alive */
		have_status = r == vm->pid;
	}
	vm_hotplug_qemu_gone(vm);
	char reason[768], logline[512];
	vm_qemu_log_last_line(vm, logline, sizeof(logline));
	bool clean = vm->expect_exit || !strcmp(vm->shutdown_reason, "guest-shutdown");
	if (!strcmp(vm->shutdown_reason, "guest-shutdown") && vm->expect_exit && vm->stop_via[0])
		snprintf(reason, sizeof(reason), "the guest powered off, asked %s",
		         !strcmp(vm->stop_via, "guest_agent") ? "through its guest agent" : "by the ACPI power button");
	else if (!strcmp(vm->shutdown_reason, "guest-shutdown"))
		snprintf(reason, sizeof(reason), "the guest powered off");
	else if (vm->expect_exit && vm->forced && vm->stop_timed_out)
		snprintf(reason, sizeof(reason),
		         "the guest did not power off in time; QEMU was stopped hard (%s)", vm->forced_why);
	else if (vm->expect_exit && vm->forced)
		snprintf(reason, sizeof(reason), "QEMU was stopped hard: %s", vm->forced_why);
	else if (vm->expect_exit)
		snprintf(reason, sizeof(reason), "powered off by the agent");
	else if (vm->watchdog_fired)
		snprintf(reason, sizeof(reason),
		         "the guest's watchdog (%s) fired: the guest stopped petting it (hung?); the agent ended QEMU",
		         vm->spec.watchdog[0] ? vm->spec.watchdog : "?");
	else if (have_status && WIFSIGNALED(status))
		snprintf(reason, sizeof(reason), "QEMU was killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else if (have_status)
		snprintf(reason, sizeof(reason), "QEMU exited with status %d%s%s", WEXITSTATUS(status),
		         logline[0] ? ": " : "", logline);
	else if (vm->shutdown_reason[0])
		snprintf(reason, sizeof(reason), "QEMU shut down (%s)%s%s", vm->shutdown_reason,
		         logline[0] ? ": " : "", logline);
	else
		snprintf(reason, sizeof(reason),
		         "QEMU (pid %d) exited without a shutdown event; it was started before the "
		         "agent restarted, so its exit status is unknown%s%s",
		         (int)vm->pid, logline[0] ? "; its log ends: " : "", logline);
	char at[32];
	iso_time_now_ms(at); /* two exits can fall in one second */
	json_decref(vm->last_exit);
	vm->last_exit = json_pack("{s:s, s:s, s:b, s:i, s:s}", "at", at, "reason", reason, "clean", clean,
	                          "pid", (int)vm->pid, "cause", exit_cause(vm, have_status, status));
	if (vm->shutdown_reason[0])
		json_object_set_new(vm->last_exit, "shutdown_event", json_string(vm->shutdown_reason));
	if (vm->expect_exit && vm->stop_via[0]) /* how the stop asked the guest */
		json_object_set_new(vm->last_exit, "stop_via", json_string(vm->stop_via));
	/* A power-off the guest did not do itself is not a clean stop to
	 * whoever asked for a stop: say so, and why, for vdcd and users. */
	if (vm->expect_exit && vm->forced && strcmp(vm->shutdown_reason, "guest-shutdown"))
		json_object_update_new(vm->last_exit, json_pack("{s:b, s:s}", "forced", 1, "forced_reason",
		                                                vm->forced_why));
	if (have_status && WIFSIGNALED(status)) {
		char sig[24];
		snprintf(sig, sizeof(sig), "SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "?");
		json_object_set_new(vm->last_exit, "signal", json_integer(WTERMSIG(status)));
		json_object_set_new(vm->last_exit, "signal_name", json_string(sig));
	}
	else if (have_status)
		json_object_set_new(vm->last_exit, "exit_status", json_integer(WEXITSTATUS(status)));
	vm_set_state(vm, clean ? VM_STOPPED : VM_CRASHED);
	log_event(clean ? LOG_INFO : LOG_WARN, clean ? "vm_stopped" : "vm_crashed",
	          "vm=%s pid=%d reason=%s", vm->spec.name, (int)vm->pid, log_quote(reason));
	vm_release_runtime(vm);
	vm->expect_exit = vm->forced = vm->stop_timed_out = vm->watchdog_fired = false;
	vm->forced_why[0] = '\0';
	vm->shutdown_reason[0] = '\0';
	vm->stop_via[0] = '\0';
	vm_store_write_state(vm, true);
	finish_waiters(vm);
}

struct refresh_op {
	struct vm *vm;
	vm_done_fn done;
	void *ctx;
};

static void on_refresh_status(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd)
{
	struct refresh_op *op = ctx;
	struct vm *vm = op->vm;
	struct errinfo e = {0};
	if (st != QMP_OK) {
		vm_qmp_error(vm, cmd, st, err, &e);
		op->done(op->ctx, 0, NULL, &e);
	} else {
		if (vm->state != VM_STOPPING)
			vm_set_state(vm, vm_state_from_qemu(ret));
		op->done(op->ctx, 200, vm_to_json(vm), NULL);
	}
	free(op);
	vm_release(vm);
}

void vm_refresh_status(struct vm *vm, vm_done_fn done, void *ctx)
{
	struct refresh_op *op = calloc(1, sizeof(*op));
	if (!op)
		abort();
	*op = (struct refresh_op){vm, done, ctx};
	vm_hold(vm);
	if (!vm->qmp) /* gone meanwhile: as a closed monitor would say */
		qmp_reply_gone(on_refresh_status, op);
	else
		qmp_query_status(vm->qmp, on_refresh_status, op);
}
