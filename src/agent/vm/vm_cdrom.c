/* vm_cdrom.c - a VM's CD-ROM drive: the medium changed or taken out while
 * QEMU runs (QMP, on device cdrom0), or the drive itself added, emptied or
 * removed while the VM is stopped. The spec on disk always says what the
 * drive holds, so the choice survives an agent restart and goes with the
 * VM when it moves (a receiver finds the same image id among its own). */
#include "vm.h"
#include "vm_internal.h"

#include "images.h"
#include "log.h"
#include "qmp_cmds.h"

#include <stdlib.h>
#include <string.h>

/* The change in flight: what the spec becomes once QEMU has done it. */
struct cdrom_op {
	struct vm *vm;
	char image[64]; /* "" to eject */
	char *path;
	vm_done_fn done;
	void *ctx;
};

/* Writes the drive's new state into the spec and the store. */
static int cdrom_commit(struct vm *vm, bool drive, const char *image, char *path, struct errinfo *e)
{
	bool old_drive = vm->spec.cdrom;
	char old_image[64];
	char *old_path = vm->spec.cdrom_path;
	snprintf(old_image, sizeof(old_image), "%s", vm->spec.cdrom_image);
	vm->spec.cdrom = drive;
	snprintf(vm->spec.cdrom_image, sizeof(vm->spec.cdrom_image), "%s", drive ? image : "");
	vm->spec.cdrom_path = path;
	if (vm_store_write_spec(vm, "spec.json", e) < 0) {
		vm->spec.cdrom = old_drive; /* not on disk: not changed */
		snprintf(vm->spec.cdrom_image, sizeof(vm->spec.cdrom_image), "%s", old_image);
		vm->spec.cdrom_path = old_path;
		free(path);
		return -1;
	}
	free(old_path);
	log_info("vm_cdrom", "vm=%s drive=%s image=%s", vm->spec.name, drive ? "yes" : "no",
	         drive && image[0] ? image : "none");
	return 0;
}

static void on_medium(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret;
	struct cdrom_op *op = ctx;
	struct vm *vm = op->vm;
	struct errinfo e = {0};
	if (st != QMP_OK) {
		vm_qmp_error(vm, cmd, st, err, &e);
		log_warn("vm_qmp_failed", "vm=%s command=%s error=%s", vm->spec.name, cmd, log_quote(e.message));
		free(op->path);
		op->done(op->ctx, 0, NULL, &e);
	} else if (cdrom_commit(vm, true, op->image, op->path, &e) < 0) {
		/* QEMU has the new medium; the spec could not say so. */
		log_warn("vm_cdrom_unrecorded", "vm=%s image=%s error=%s", vm->spec.name,
		         op->image[0] ? op->image : "none", log_quote(e.message));
		op->done(op->ctx, 0, NULL, &e);
	} else {
		op->done(op->ctx, 200, vm_to_json(vm), NULL);
	}
	free(op);
	vm_release(vm);
}

int vm_cdrom_set(struct vm *vm, bool drive, const char *image, vm_done_fn done, void *ctx, struct errinfo *e)
{
	char path[1200];
	struct image_meta m;
	image = drive && image ? image : "";
	if (image[0] && images_find(vm->agent, image, "iso", "cdrom.image", path, sizeof(path), &m, e) < 0)
		return -1;
	bool live = vm->state == VM_RUNNING || vm->state == VM_PAUSED;
	if (!live && vm->state != VM_STOPPED && vm->state != VM_CRASHED)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; change its CD-ROM when it settles",
		                   vm->spec.name, vm_state_name(vm->state));
	if (vm_migrating(vm))
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is migrating; change its CD-ROM once it has moved",
		                   vm->spec.name);
	char *dup = image[0] ? strdup(path) : NULL;
	if (image[0] && !dup)
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	if (drive == vm->spec.cdrom && !strcmp(image, vm->spec.cdrom_image)) {
		free(dup); /* already so: a retry after a crash */
		done(ctx, 200, vm_to_json(vm), NULL);
		return 0;
	}
	if (!live) {
		if (cdrom_commit(vm, drive, image, dup, e) < 0)
			return -1;
		done(ctx, 200, vm_to_json(vm), NULL);
		return 0;
	}
	if (!vm->qmp || drive != vm->spec.cdrom) {
		free(dup);
		return errinfo_set(e, 409, "invalid_state", NULL,
		                   vm->spec.cdrom ? "VM '%s' is %s; its CD-ROM drive is removed only while it is stopped"
		                                  : "VM '%s' is %s and has no CD-ROM drive; stop it to add one",
		                   vm->spec.name, vm_state_name(vm->state));
	}
	struct cdrom_op *op = calloc(1, sizeof(*op));
	if (!op) {
		free(dup);
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	}
	*op = (struct cdrom_op){.vm = vm, .path = dup, .done = done, .ctx = ctx};
	snprintf(op->image, sizeof(op->image), "%s", image);
	vm_hold(vm);
	/* force: the medium goes even when the guest has locked the tray, as
	 * an administrator's eject button does on vSphere and Proxmox. */
	if (image[0])
		qmp_blockdev_change_medium(vm->qmp, "cdrom0", dup, on_medium, op);
	else
		qmp_eject(vm->qmp, "cdrom0", true, on_medium, op);
	return 0;
}
