/* vm_recovery.c - after an agent (re)start: re-attach to the QEMUs still
 * running, finish interrupted defines and deletes; and at exit, let go of
 * the QEMUs without stopping them. */
#include "vm_internal.h"
#include "isotime.h"

#include "fsutil.h"
#include "log.h"
#include "procstat.h"
#include "loop.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void vm_detach_all(struct agent *a)
{
	while (a->vms) {
		struct vm *vm = a->vms;
		a->vms = vm->next;
		/* Let go of QEMU's sockets and pidfd; QEMU itself keeps running. */
		vm_drop_qmp(vm);
		if (vm->console_watch)
			loop_unwatch(a->loop, vm->console_watch);
		console_close(&vm->console);
		if (vm->pid_watch)
			loop_unwatch(a->loop, vm->pid_watch);
		if (vm->pidfd >= 0)
			close(vm->pidfd);
		if (vm->stop_timer)
			loop_timer_cancel(a->loop, vm->stop_timer);
		if (vm->press_timer)
			loop_timer_cancel(a->loop, vm->press_timer);
		vm->press_timer = NULL;
		if (vm->job_timer)
			loop_timer_cancel(a->loop, vm->job_timer);
		while (vm->exit_waiters) {
			struct vm_waiter *w = vm->exit_waiters;
			vm->exit_waiters = w->next;
			free(w);
		}
		vm_hotplug_detach(vm);
		vm_free(vm);
	}
}

/* ---- start-up: re-attach and finish interrupted work -------------------- */

/* Finds a QEMU started for uuid whose pid file was never written (the agent
 * died between fork and the write). Returns its pid or 0. */
/* Whether the process lives in this agent's network namespace: a host's
 * QEMUs do (their taps are there). Another host sharing this kernel (test
 * hosts are namespaces) may run a QEMU of the same uuid: the sender or the
 * receiver of a live migration, which is never ours to adopt or kill. */
static bool in_our_netns(const char *pid)
{
	char path[64];
	struct stat mine, theirs;
	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	return stat("/proc/self/ns/net", &mine) == 0 && stat(path, &theirs) == 0 && mine.st_ino == theirs.st_ino &&
	       mine.st_dev == theirs.st_dev;
}

static pid_t find_qemu_by_uuid(const char *uuid)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || !in_our_netns(de->d_name))
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		size_t len = 0;
		char *s = fs_read_all(path, 1 << 16, &len);
		if (!s)
			continue;
		for (size_t off = 0; off < len; off += strlen(s + off) + 1)
			if (!strcmp(s + off, "-uuid") && off + 6 < len && !strcmp(s + off + 6, uuid)) {
				found = atoi(de->d_name);
				break;
			}
		free(s);
	}
	closedir(d);
	return found;
}

static struct vm *load_spec(struct agent *a, const char *name, const char *file)
{
	struct vm *vm = vm_alloc(a, name);
	char path[1100];
	vm_store_path(vm, file, path, sizeof(path));
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	struct jv_err jerr = {0};
	if (!j || vm_spec_parse(j, VM_SPEC_FROM_STORE, &vm->spec, &jerr) < 0) {
		log_error("vm_load_failed", "path=%s error=%s", path,
		          log_quote(j ? jerr.message : je.text));
		json_decref(j);
		vm_free(vm);
		return NULL;
	}
	json_decref(j);
	return vm;
}

static void on_reattached(struct vm *vm, void *ctx, const char *err)
{
	if (err)
		log_error("vm_reattach_failed", "vm=%s pid=%d error=%s", vm->spec.name, (int)vm->pid,
		          log_quote(err));
	else
		log_info("vm_reattached", "vm=%s pid=%d state=%s", vm->spec.name, (int)vm->pid,
		         vm_state_name(vm->state));
	if (!err)
		vm_nbd_recover(vm);
}

static void load_one(struct agent *a, const char *name)
{
	struct vm *vm;
	char base[1100];
	snprintf(base, sizeof(base), "%s/vms/%s", a->cfg.state_dir, name);
	char p_spec[1200];
	snprintf(p_spec, sizeof(p_spec), "%s/spec.json", base);
	if (!fs_exists(p_spec)) {
		/* Deletes first: a delete's intent is the spec renamed. release
		 * and incoming never remove disks: kept ones, or another host's. */
		static const struct {
			const char *file, *action;
			bool keep_disks;
		} intents[] = {{"delete.json", "finish_delete", false},
		               {"release.json", "finish_delete_keeping_disks", true},
		               {"define.json", "rollback_define", false},
		               {"incoming.json", "rollback_incoming", true}};
		int k = 0;
		char p_intent[1300];
		for (; k < 4; k++) {
			snprintf(p_intent, sizeof(p_intent), "%s/%s", base, intents[k].file);
			if (fs_exists(p_intent))
				break;
		}
		if (k == 4 || !(vm = load_spec(a, name, intents[k].file))) {
			log_warn("vm_dir_stray", "path=%s", base);
			return;
		}
		/* An interrupted define is rolled back; an interrupted delete is
		 * finished. Either way nothing half-made remains. */
		log_info("vm_recover", "vm=%s action=%s", name, intents[k].action);
		if (!intents[k].keep_disks)
			vm_remove_seed(vm);
		vm_cgroup_remove(vm);
		vm_store_remove(vm, intents[k].keep_disks, NULL);
		vm_free(vm);
		return;
	}
	if (!(vm = load_spec(a, name, "spec.json")))
		return;
	vm_set_state(vm, VM_STOPPED);
	vm_store_read_state(vm);
	unsigned long long start = 0;
	pid_t pid = vm_proc_read_pidfile(vm, &start);
	if (!pid && (pid = find_qemu_by_uuid(vm->spec.uuid)))
		start = proc_starttime(pid);
	if (pid) {
		vm->pid = pid;
		vm->pid_start = start;
		vm->our_child = false;
		vm->started_at = time(NULL);
		struct stat st;
		char pf[1200];
		vm_run_path(vm, "qemu.pid", pf, sizeof(pf));
		if (stat(pf, &st) == 0)
			vm->started_at = st.st_mtime;
		else
			vm_proc_write_pidfile(vm);
		/* In the cgroup its stored spec names, even when a pool change
		 * was cut short. */
		vm_cgroup_settle(vm);
		/* Before the API serves anything: the answer is waited for here,
		 * within the QMP timeout, so the first reply has QEMU's state. */
		vm_attach(vm, on_reattached, NULL);
		if (vm->qmp)
			qmp_drain(vm->qmp);
	} else if (fs_exists(vm->rundir)) {
		/* It was running when the agent went away, and is gone now. */
		char at[32];
		iso_time_now_ms(at); /* two exits can fall in one second */
		json_decref(vm->last_exit);
		/* The host went down (or the agent and QEMU with it): what a
		 * restarted host finds of the VMs it ran. */
		vm->last_exit = json_pack("{s:s, s:s, s:b, s:s}", "at", at, "reason",
		                          "QEMU exited while the agent was not running; its exit status "
		                          "is unknown", "clean", 0, "cause", "host_failure");
		vm_set_state(vm, VM_CRASHED);
		vm_release_runtime(vm);
		vm_store_write_state(vm, true);
		log_warn("vm_crashed", "vm=%s reason=\"QEMU gone while the agent was down\"", name);
	}
	vm_disk_move_recover(vm);
	vm_link(a, vm);
}

void vm_load_all(struct agent *a)
{
	char dir[1100];
	snprintf(dir, sizeof(dir), "%s/vms", a->cfg.state_dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !jv_is_safe_name(de->d_name))
			continue;
		load_one(a, de->d_name);
	}
	closedir(d);
	vm_cgroup_sweep(a);
	/* VMs defined before identities existed get one now, once every
	 * stored id is known; their files follow at their next start. */
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		struct errinfo e = {0};
		unsigned id = 0;
		if (vm->spec.uid)
			continue;
		if (vm_id_alloc(a, vm->spec.uuid, &id, &e) < 0) {
			log_error("vm_identity_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
			continue;
		}
		vm->spec.uid = vm->spec.gid = id;
		if (vm_store_write_spec(vm, "spec.json", &e) < 0)
			log_error("vm_identity_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
		else
			log_info("vm_identity_given", "vm=%s uid=%u", vm->spec.name, id);
	}
}
