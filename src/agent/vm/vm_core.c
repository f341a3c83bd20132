/* vm_core.c - the VM as data: its state and seq, the agent's list, its JSON
 * view, holds across operations in flight, and the words for QMP failures. */
#include "vm_internal.h"
#include "isotime.h"

#include "fsutil.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const state_names[] = {"stopped",  "starting", "running", "paused",
                                          "stopping", "crashed",  "incoming", "migrated"};

const char *vm_state_name(enum vm_state s) { return state_names[s]; }

/* One counter for the agent, started at the wall clock in µs: every
 * change gets a value larger than any this agent (or an earlier run of it,
 * clock permitting) handed out before. */
static uint64_t state_seq;

uint64_t vm_state_seq_now(void)
{
	if (!state_seq) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		state_seq = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	}
	return state_seq;
}

void vm_set_state(struct vm *vm, enum vm_state s)
{
	vm_state_seq_now();
	vm->state = s;
	vm->state_seq = ++state_seq;
}

struct vm *vm_find(struct agent *a, const char *name)
{
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		if (!strcmp(vm->spec.name, name))
			return vm;
	return NULL;
}

struct vm *vm_alloc(struct agent *a, const char *name)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->agent = a;
	vm->pidfd = -1;
	vm->console.sock = vm->console.logfd = -1;
	vm->ready.fd = -1;
	vm->ready.state = -1;
	vm_set_state(vm, VM_STOPPED); /* a seq from the start: every report is ordered */
	snprintf(vm->dir, sizeof(vm->dir), "%s/vms/%s", a->cfg.state_dir, name);
	snprintf(vm->rundir, sizeof(vm->rundir), "%s/vms/%s", a->cfg.run_dir, name);
	return vm;
}

void vm_free(struct vm *vm)
{
	vm_console_detach_all(vm);
	vm_ready_drop(vm);
	vm_guest_drop(vm);
	vm_spec_free(&vm->spec);
	json_decref(vm->last_exit);
	free(vm);
}

void vm_link(struct agent *a, struct vm *vm)
{
	struct vm **pp = &a->vms;
	while (*pp && strcmp((*pp)->spec.name, vm->spec.name) < 0)
		pp = &(*pp)->next;
	vm->next = *pp;
	*pp = vm;
}

void vm_unlink(struct agent *a, struct vm *vm)
{
	for (struct vm **pp = &a->vms; *pp; pp = &(*pp)->next)
		if (*pp == vm) {
			*pp = vm->next;
			return;
		}
}

void vm_hold(struct vm *vm) { vm->holds++; }

void vm_release(struct vm *vm)
{
	if (--vm->holds == 0 && vm->deleted)
		vm_free(vm);
}

void vm_qemu_log_last_line(struct vm *vm, char *out, size_t n)
{
	char path[1100];
	vm_store_path(vm, "qemu.log", path, sizeof(path));
	out[0] = '\0';
	char *s = fs_read_all(path, 1 << 20, NULL);
	if (!s)
		return;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		*--end = '\0';
	char *line = strrchr(s, '\n');
	line = line ? line + 1 : s;
	/* Drop QEMU's "-msg timestamp=on" prefix. */
	if (line[0] >= '0' && line[0] <= '9' && strchr(line, ' '))
		line = strchr(line, ' ') + 1;
	snprintf(out, n, "%s", line);
	free(s);
}

void vm_qmp_error(struct vm *vm, const char *cmd, enum qmp_status st, const char *err,
                  struct errinfo *e)
{
	if (st == QMP_TIMEOUT)
		errinfo_set(e, 504, "qmp_timeout", NULL,
		            "VM '%s': %s; its QEMU (pid %d) may be hung or overloaded, and '%s' may "
		            "still take effect when it answers: check the VM's state again later, or "
		            "destroy the VM if it stays unresponsive",
		            vm->spec.name, err, (int)vm->pid, cmd);
	else
		errinfo_set(e, 500, "qmp", NULL, "%s: %s", cmd, err);
}

void vm_seed_path(struct vm *vm, char *out, size_t n)
{
	char dir[1100];
	const char *ds = vm->spec.ndisks ? vm->spec.disks[0].datastore : vm->agent->cfg.datastores[0].name;
	vm_store_disk_dir(vm->agent, ds, vm->spec.name, dir, sizeof(dir));
	snprintf(out, n, "%s/cidata.iso", dir);
}

void vm_remove_seed(struct vm *vm)
{
	char iso[1200];
	vm_vars_path(vm, iso, sizeof(iso));
	unlink(iso);
	vm_seed_path(vm, iso, sizeof(iso));
	unlink(iso);
	*strrchr(iso, '/') = '\0';
	rmdir(iso);
}

void vm_vars_path(struct vm *vm, char *out, size_t n)
{
	char dir[1100];
	const char *ds = vm->spec.ndisks ? vm->spec.disks[0].datastore : vm->agent->cfg.datastores[0].name;
	vm_store_disk_dir(vm->agent, ds, vm->spec.name, dir, sizeof(dir));
	snprintf(out, n, "%s/uefi-vars.fd", dir);
}

/* ---- JSON view ----------------------------------------------------------- */

json_t *vm_to_json(struct vm *vm)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:o}", "name", vm->spec.name, "uuid", vm->spec.uuid,
	                      "state", vm_state_name(vm->state), "state_seq", (json_int_t)vm->state_seq,
	                      "spec", vm_spec_to_json(&vm->spec, false));
	json_t *disks = json_object_get(json_object_get(o, "spec"), "disks");
	for (int i = 0; i < vm->spec.ndisks; i++)
		json_object_set_new(json_array_get(disks, (size_t)i), "path",
		                    json_string(vm->spec.disks[i].path));
	if (vm->pid > 0) {
		char at[32];
		iso_time(vm->started_at, at);
		json_t *rt = json_pack("{s:i, s:s, s:s}", "pid", (int)vm->pid, "started_at", at, "accel",
		                       vm->agent->accel);
		if (vm->spec.vnc) {
			/* Only that there is one: the socket is reached through the
			 * agent, never by a port. */
			char vnc[1300];
			vm_id_vnc_dir(vm, vnc, sizeof(vnc));
			strncat(vnc, "/vnc.sock", sizeof(vnc) - strlen(vnc) - 1);
			json_object_set_new(rt, "vnc", json_pack("{s:b}", "socket", fs_exists(vnc)));
		}
		json_t *taps = json_array();
		for (int i = 0; i < vm->spec.nnics; i++) {
			char tap[16];
			vm_spec_tap_name(&vm->spec, vm->spec.nics[i].id, tap);
			json_array_append_new(taps, vm->spec.nics[i].user_mode ? json_null() : json_string(tap));
		}
		json_object_set_new(rt, "taps", taps);
		json_object_set_new(o, "runtime", rt);
	}
	if (vm->last_exit)
		json_object_set(o, "last_exit", vm->last_exit);
	json_t *ready = vm_ready_json(vm);
	if (ready)
		json_object_set_new(o, "ready", ready);
	json_object_set_new(o, "guest", vm_guest_json(vm));
	if (vm->spec.uid)
		json_object_set_new(o, "identity", json_pack("{s:I, s:I}", "uid", (json_int_t)vm->spec.uid,
		                                              "gid", (json_int_t)vm->spec.gid));
	if (vm->mig.role != VM_MIG_NONE) {
		json_t *m = json_pack("{s:s, s:s}", "role", vm->mig.role == VM_MIG_OUT ? "out" : "in", "status",
		                      vm->mig.status[0] ? vm->mig.status : "setup");
		if (vm->mig.uri[0])
			json_object_set_new(m, "uri", json_string(vm->mig.uri));
		if (vm->mig.nbd_port) { /* the receiver's copies, for the sender to mirror onto */
			json_t *names = json_array();
			for (int i = 0; i < vm->spec.ndisks; i++)
				if (vm->spec.disks[i].copy_in)
					json_array_append_new(names, json_string(vm->spec.disks[i].name));
			json_object_set_new(m, "nbd", json_pack("{s:i, s:o}", "port", vm->mig.nbd_port, "disks", names));
		}
		json_t *mirrors = vm_mirror_json(vm);
		if (mirrors)
			json_object_set_new(m, "disks", mirrors);
		json_object_set_new(o, "migration", m);
	}
	json_t *move = vm_disk_move_json(vm);
	if (move)
		json_object_set_new(o, "disk_move", move);
	if (vm->move_error[0])
		json_object_set_new(o, "disk_move_error", json_string(vm->move_error));
	return o;
}

