/* vm_store.c - a VM's files on the host. The spec is the commit point of a
 * define: it is written last, as define.json renamed to spec.json, and a
 * delete starts by renaming it to delete.json. A crash at any point leaves a
 * name that says which way to finish (see vm_load_all). */
#include "vm_internal.h"

#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vm_store_path(const struct vm *vm, const char *file, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", vm->dir, file);
}

void vm_run_path(const struct vm *vm, const char *file, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", vm->rundir, file);
}

void vm_store_disk_dir(struct agent *a, const char *datastore, const char *vm, char *out, size_t n)
{
	const struct datastore *ds = config_datastore(&a->cfg, datastore);
	snprintf(out, n, "%s/%s", ds ? ds->path : "/nonexistent", vm);
}

int vm_store_write_spec(struct vm *vm, const char *file, struct errinfo *e)
{
	json_t *j = vm_spec_to_json(&vm->spec, true);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	char path[1100];
	vm_store_path(vm, file, path, sizeof(path));
	int rc = fs_write_atomic(path, s, strlen(s), 0600);
	free(s);
	if (rc < 0)
		return errinfo_set(e, rc == -ENOSPC ? 507 : 500, rc == -ENOSPC ? "state_full" : "store",
		                   NULL, "cannot write %s: %s", path, strerror(-rc));
	return 0;
}

void vm_store_write_state(struct vm *vm, bool durable)
{
	json_t *j = json_pack("{s:s}", "state", vm_state_name(vm->state));
	if (vm->last_exit)
		json_object_set(j, "last_exit", vm->last_exit);
	char *s = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (!s)
		return;
	char path[1100];
	vm_store_path(vm, "state.json", path, sizeof(path));
	int rc = durable ? fs_write_atomic(path, s, strlen(s), 0600) : fs_write_replace(path, s, strlen(s), 0600);
	if (rc < 0)
		log_warn("state_write_failed", "vm=%s error=%s", vm->spec.name, log_quote(strerror(-rc)));
	free(s);
}

void vm_store_read_state(struct vm *vm)
{
	char path[1100];
	vm_store_path(vm, "state.json", path, sizeof(path));
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j)
		return;
	json_t *le = json_object_get(j, "last_exit");
	if (le) {
		json_decref(vm->last_exit);
		vm->last_exit = json_incref(le);
	}
	const char *st = json_string_value(json_object_get(j, "state"));
	if (st && !strcmp(st, "crashed"))
		vm_set_state(vm, VM_CRASHED);
	json_decref(j);
}

int vm_store_remove(struct vm *vm, bool keep_disks, struct errinfo *e)
{
	int rc = 0;
	for (int i = 0; i < vm->spec.ndisks; i++) {
		/* A copy made here for a migration that never completed is this
		 * host's own, whatever else is kept (vm_disk.copy_in). */
		if (keep_disks && !vm->spec.disks[i].copy_in)
			continue;
		const char *p = vm->spec.disks[i].path;
		if (p && unlink(p) < 0 && errno != ENOENT) {
			errinfo_set(e, 500, "disk", NULL, "cannot remove %s: %s", p, strerror(errno));
			rc = -1;
		}
		char dir[1100];
		vm_store_disk_dir(vm->agent, vm->spec.disks[i].datastore, vm->spec.name, dir, sizeof(dir));
		rmdir(dir); /* only when empty: kept disks of other names stay */
	}
	int r = fs_remove_tree(vm->rundir);
	if (r < 0 && rc == 0) {
		errinfo_set(e, 500, "store", NULL, "cannot remove %s: %s", vm->rundir, strerror(-r));
		rc = -1;
	}
	r = fs_remove_tree(vm->dir);
	if (r < 0 && rc == 0) {
		errinfo_set(e, 500, "store", NULL, "cannot remove %s: %s", vm->dir, strerror(-r));
		rc = -1;
	}
	return rc;
}
