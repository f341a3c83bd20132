/* vm_hotplug.c - disks and NICs added to and removed from a VM, as on
 * vSphere and Proxmox. A running VM gets them live through QMP (a block
 * node or a tap, then a virtio device on a free PCIe root port that its
 * start reserved); a removal waits for the guest to release the device
 * (DEVICE_DELETED). A stopped VM's spec just changes. What cannot be done
 * live (no free port, a device on the root bus, QEMU refused) is kept as
 * pending in the spec and done by the next start: nothing is lost. */
#include "vm_internal.h"

#include "fsutil.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "qemu_cmdline.h"
#include "qmp_cmds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a removal waits for the guest to let the device go. */
#define UNPLUG_TIMEOUT_MS 30000

/* The one hot-plug operation a VM has under way. */
struct vm_plug {
	struct vm *vm;
	bool disk;         /* else a NIC */
	bool add;          /* else a removal */
	char name[64];     /* the disk's name */
	int nic_id;
	bool delete_file;  /* a disk's removal also deletes its file */
	int tap_fd;        /* a NIC's tap, until QEMU has its copy */
	char dev[80];      /* QEMU's device id: disk-NAME, nicN */
	char why[256];     /* QEMU's refusal, said once the backend is undone */
	vm_done_fn done;
	void *ctx;
	struct loop_timer *timer;
	bool timed_out;    /* the caller has had its answer; the guest may still release */
};

static bool running(const struct vm *vm)
{
	return vm->qmp && (vm->state == VM_RUNNING || vm->state == VM_PAUSED);
}

static bool stopped(const struct vm *vm) { return vm->state == VM_STOPPED || vm->state == VM_CRASHED; }

static int find_disk(const struct vm *vm, const char *name)
{
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (!strcmp(vm->spec.disks[i].name, name))
			return i;
	return -1;
}

static int find_nic(const struct vm *vm, int id)
{
	for (int i = 0; i < vm->spec.nnics; i++)
		if (vm->spec.nics[i].id == id)
			return i;
	return -1;
}

/* The first root port in [lo, hi] no disk or NIC of the VM is on, or 0. */
static int free_slot(const struct vm *vm, int lo, int hi)
{
	for (int s = lo; s <= hi; s++) {
		bool used = false;
		for (int i = 0; i < vm->spec.ndisks; i++)
			used |= vm->spec.disks[i].slot == s && vm->spec.disks[i].hw != VM_HW_UNUSED;
		for (int i = 0; i < vm->spec.nnics; i++)
			used |= vm->spec.nics[i].slot == s;
		if (!used)
			return s;
	}
	return 0;
}

static json_t *change_json(struct vm *vm, const char *kind, const char *name, const char *op, bool pending,
                           const char *reason)
{
	json_t *o = vm_to_json(vm);
	json_t *c = json_pack("{s:s, s:s, s:s, s:b}", "kind", kind, "name", name, "op", op, "pending", pending);
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	json_object_set_new(o, "change", c);
	return o;
}

static void nic_name(int id, char *out, size_t n) { snprintf(out, n, "net%d", id); }

/* A live migration out under way (one that arrived, or ended, is not):
 * the receiver's QEMU is being given this one's devices. */
static bool migrating_out(const struct vm *vm)
{
	const char *s = vm->mig.status;
	return vm->mig.role == VM_MIG_OUT && (vm->mig.mirror || (s[0] && strcmp(s, "completed") && strcmp(s, "failed") &&
	                                                          strcmp(s, "cancelled")));
}

static int busy(struct vm *vm, struct errinfo *e)
{
	if (vm->plug)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is adding or removing a device already; try again once "
		                   "that ends", vm->spec.name);
	if (vm->move || migrating_out(vm) || vm->job_active)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is migrating, moving a disk or running a snapshot job; "
		                   "change its hardware once that ends", vm->spec.name);
	if (!stopped(vm) && !running(vm))
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; try again when it settles",
		                   vm->spec.name, vm_state_name(vm->state));
	return 0;
}

static struct vm_plug *plug_new(struct vm *vm, bool disk, bool add, vm_done_fn done, void *ctx)
{
	struct vm_plug *p = calloc(1, sizeof(*p));
	if (!p)
		abort(); /* a callback promised */
	*p = (struct vm_plug){.vm = vm, .disk = disk, .add = add, .tap_fd = -1, .done = done, .ctx = ctx};
	vm->plug = p;
	vm_hold(vm);
	return p;
}

/* Ends p: the caller's answer (unless a timeout gave it already), then p goes. */
static void plug_end(struct vm_plug *p, int status, json_t *result, const struct errinfo *e)
{
	struct vm *vm = p->vm;
	if (p->timer)
		loop_timer_cancel(vm->agent->loop, p->timer);
	if (p->tap_fd >= 0)
		close(p->tap_fd);
	if (vm->plug == p)
		vm->plug = NULL;
	if (!p->timed_out)
		p->done(p->ctx, status, result, e);
	else
		json_decref(result);
	free(p);
	vm_release(vm);
}

static int save_spec(struct vm *vm, struct errinfo *e) { return vm_store_write_spec(vm, "spec.json", e); }

/* Drops disk i from the spec (its file stays unless remove_file). */
static void drop_disk(struct vm *vm, int i, bool remove_file)
{
	struct vm_disk *d = &vm->spec.disks[i];
	if (remove_file && d->path && unlink(d->path) < 0 && errno != ENOENT)
		log_warn("vm_disk_unlink_failed", "vm=%s disk=%s error=%s", vm->spec.name, d->name, strerror(errno));
	free(d->template_path);
	free(d->path);
	memmove(d, d + 1, (size_t)(vm->spec.ndisks - i - 1) * sizeof(*d));
	vm->spec.ndisks--;
	memset(&vm->spec.disks[vm->spec.ndisks], 0, sizeof(*d));
}

static void drop_nic(struct vm *vm, int i)
{
	memmove(&vm->spec.nics[i], &vm->spec.nics[i + 1], (size_t)(vm->spec.nnics - i - 1) * sizeof(struct vm_nic));
	vm->spec.nnics--;
	memset(&vm->spec.nics[vm->spec.nnics], 0, sizeof(struct vm_nic));
}

/* The disk's removal is done (QEMU let it go, or it never had it): it
 * leaves the spec with its file deleted, or stays as unused with it. */
static int finish_disk_removal(struct vm *vm, int i, bool delete_file, struct errinfo *e)
{
	struct vm_disk *d = &vm->spec.disks[i];
	if (!delete_file) {
		d->hw = VM_HW_UNUSED;
		d->slot = 0;
		d->delete_pending = false;
		return save_spec(vm, e);
	}
	char *path = d->path ? strdup(d->path) : NULL;
	d->path = NULL; /* kept aside: the file goes only once the spec no longer names it */
	drop_disk(vm, i, false);
	int rc = save_spec(vm, e);
	if (rc == 0 && path && unlink(path) < 0 && errno != ENOENT)
		log_warn("vm_disk_unlink_failed", "vm=%s path=%s error=%s", vm->spec.name, log_quote(path), strerror(errno));
	free(path);
	return rc;
}

/* ---- pending changes at start --------------------------------------------- */

int vm_hotplug_apply_pending(struct vm *vm, struct errinfo *e)
{
	bool changed = false;
	for (int i = vm->spec.ndisks - 1; i >= 0; i--) {
		struct vm_disk *d = &vm->spec.disks[i];
		if (d->hw == VM_HW_ADD_PENDING) {
			d->hw = VM_HW_ATTACHED;
			changed = true;
		} else if (d->hw == VM_HW_REMOVE_PENDING) {
			log_info("vm_pending_applied", "vm=%s disk=%s removed=1 file=%s", vm->spec.name, d->name,
			         d->delete_pending ? "deleted" : "kept");
			if (finish_disk_removal(vm, i, d->delete_pending, e) < 0)
				return -1;
			changed = true;
		}
	}
	for (int i = vm->spec.nnics - 1; i >= 0; i--) {
		if (vm->spec.nics[i].hw == VM_HW_ADD_PENDING) {
			vm->spec.nics[i].hw = VM_HW_ATTACHED;
			changed = true;
		} else if (vm->spec.nics[i].hw == VM_HW_REMOVE_PENDING) {
			drop_nic(vm, i);
			changed = true;
		}
	}
	/* Free ports for this run's hot-plugs, beyond those devices use. */
	int top = 0;
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (vm->spec.disks[i].hw != VM_HW_UNUSED && vm->spec.disks[i].slot > top)
			top = vm->spec.disks[i].slot;
	for (int i = 0; i < vm->spec.nnics; i++)
		if (vm->spec.nics[i].slot > top)
			top = vm->spec.nics[i].slot;
	int ports = top + VM_HOTPLUG_SPARE > VM_HOTPLUG_MAX_PORTS ? VM_HOTPLUG_MAX_PORTS : top + VM_HOTPLUG_SPARE;
	changed |= ports != vm->spec.hotplug_ports;
	vm->spec.hotplug_ports = ports;
	return changed ? save_spec(vm, e) : 0;
}

bool vm_hotplug_pending(const struct vm *vm, char *what, size_t n)
{
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (vm->spec.disks[i].hw != VM_HW_ATTACHED) {
			snprintf(what, n, "disk '%s' is %s", vm->spec.disks[i].name, vm_hw_state_name(vm->spec.disks[i].hw));
			return true;
		}
	for (int i = 0; i < vm->spec.nnics; i++)
		if (vm->spec.nics[i].hw != VM_HW_ATTACHED) {
			snprintf(what, n, "NIC net%d is %s", vm->spec.nics[i].id, vm_hw_state_name(vm->spec.nics[i].hw));
			return true;
		}
	return false;
}

/* ---- disks ------------------------------------------------------------------ */

/* Keeps a live add that QEMU refused as pending (the disk file stays:
 * the next start attaches it). */
static void disk_add_pending(struct vm_plug *p, const char *why)
{
	struct vm *vm = p->vm;
	log_warn("vm_disk_add_pending", "vm=%s disk=%s reason=%s", vm->spec.name, p->name, log_quote(why));
	char reason[400];
	snprintf(reason, sizeof(reason), "QEMU did not take the disk live (%s); it is attached at the next start", why);
	plug_end(p, 202, change_json(vm, "disk", p->name, "add", true, reason), NULL);
}

static void on_disk_device_added(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd);

static void on_disk_node_added(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	int i = vm->deleted ? -1 : find_disk(vm, p->name);
	if (i < 0 || !vm->qmp) {
		struct errinfo e = {0};
		errinfo_set(&e, 409, "invalid_state", NULL, "VM '%s' stopped or went while its disk was added; the disk "
		            "is attached at its next start", vm->spec.name);
		plug_end(p, 0, NULL, &e);
		return;
	}
	if (st != QMP_OK) {
		disk_add_pending(p, err);
		return;
	}
	char node[96], bus[16];
	snprintf(node, sizeof(node), "vdc-%s", p->name);
	snprintf(bus, sizeof(bus), "hp%d", vm->spec.disks[i].slot);
	qmp_device_add_disk(vm->qmp, p->dev, node, bus, on_disk_device_added, p);
}

static void nic_add_pending(struct vm_plug *p, const char *why);

/* The backend of a device QEMU refused is gone again: the add waits. */
static void on_undo_backend(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)st, (void)ret, (void)err, (void)cmd;
	struct vm_plug *p = ctx;
	(p->disk ? disk_add_pending : nic_add_pending)(p, p->why);
}

static void on_disk_device_added(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	int i = vm->deleted ? -1 : find_disk(vm, p->name);
	if (st != QMP_OK && i >= 0 && vm->qmp) {
		/* The node goes again; the refusal is said once it has. */
		snprintf(p->why, sizeof(p->why), "%s", err ? err : "refused");
		char node[96];
		snprintf(node, sizeof(node), "vdc-%s", p->name);
		qmp_blockdev_del(vm->qmp, node, on_undo_backend, p);
		return;
	}
	struct errinfo e = {0};
	if (i < 0 || st != QMP_OK) {
		errinfo_set(&e, 409, "invalid_state", NULL, "VM '%s' stopped or went while its disk was added",
		            vm->spec.name);
		plug_end(p, 0, NULL, &e);
		return;
	}
	vm->spec.disks[i].hw = VM_HW_ATTACHED;
	if (save_spec(vm, &e) < 0) {
		plug_end(p, 0, NULL, &e);
		return;
	}
	log_info("vm_disk_added", "vm=%s disk=%s live=1 slot=%d", vm->spec.name, p->name, vm->spec.disks[i].slot);
	plug_end(p, 201, change_json(vm, "disk", p->name, "add", false, NULL), NULL);
}

/* A new disk's place in the spec: name, datastore (this host's), size. */
static int new_disk(struct vm *vm, const struct vm_disk_req *r, struct errinfo *e)
{
	struct agent *a = vm->agent;
	if (!r->size_mib)
		return errinfo_set(e, 400, "invalid_body", "size_mib", "size_mib: is required for a new disk (a name "
		                   "alone attaches an unused disk again)");
	if (find_disk(vm, r->name) >= 0)
		return errinfo_set(e, 409, "disk_exists", "name", "name: VM '%s' has a disk named '%s' already",
		                   vm->spec.name, r->name);
	if (vm->spec.ndisks >= VM_MAX_DISKS)
		return errinfo_set(e, 409, "limit", "disks", "VM '%s' has %d disks (unused ones included), the most a VM "
		                   "may have; remove one first", vm->spec.name, vm->spec.ndisks);
	const char *ds = r->datastore[0] ? r->datastore : vm->spec.ndisks ? vm->spec.disks[0].datastore
	                                                                    : a->cfg.datastores[0].name;
	if (!config_datastore(&a->cfg, ds)) {
		char known[512] = "";
		for (int k = 0; k < a->cfg.ndatastores; k++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", k ? ", " : "",
			         a->cfg.datastores[k].name);
		return errinfo_set(e, 400, "invalid_body", "datastore", "datastore: no datastore '%s' on this host "
		                   "(known: %s)", ds, known);
	}
	char dir[1100], path[1200];
	vm_store_disk_dir(a, ds, vm->spec.name, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.qcow2", dir, r->name);
	if (fs_exists(path))
		return errinfo_set(e, 409, "disk_exists", "name", "name: a file for disk '%s' exists on datastore '%s' "
		                   "already (a disk kept from a deleted VM?); choose another name", r->name, ds);
	struct vm_disk *d = &vm->spec.disks[vm->spec.ndisks];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", r->name);
	snprintf(d->datastore, sizeof(d->datastore), "%s", ds);
	d->size_mib = r->size_mib;
	d->hw = VM_HW_ADD_PENDING;
	if (!(d->path = strdup(path)))
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	vm->spec.ndisks++;
	return 0;
}

int vm_disk_add(struct vm *vm, const struct vm_disk_req *r, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (busy(vm, e) < 0)
		return -1;
	int i = find_disk(vm, r->name);
	bool reattach = i >= 0 && vm->spec.disks[i].hw == VM_HW_UNUSED;
	if (reattach) {
		/* An unused disk attached again (Proxmox's "unused disk"). */
		if (r->size_mib && r->size_mib != vm->spec.disks[i].size_mib)
			return errinfo_set(e, 409, "disk_exists", "size_mib", "size_mib: disk '%s' is an unused disk of "
			                   "%llu MiB; attach it without a size, or choose another name", r->name,
			                   (unsigned long long)vm->spec.disks[i].size_mib);
	} else {
		if (new_disk(vm, r, e) < 0)
			return -1;
		i = vm->spec.ndisks - 1;
		if (vm_make_disk(vm, i, e) < 0) {
			drop_disk(vm, i, false); /* make_disk removed what it made */
			return -1;
		}
	}
	struct vm_disk *d = &vm->spec.disks[i];
	bool live = running(vm);
	d->slot = live ? free_slot(vm, 1, vm->spec.hotplug_ports) : free_slot(vm, 1, VM_HOTPLUG_MAX_PORTS);
	bool pending = live && !d->slot;
	if (pending) /* a port of the next start's */
		d->slot = free_slot(vm, vm->spec.hotplug_ports + 1, VM_HOTPLUG_MAX_PORTS);
	d->hw = live ? VM_HW_ADD_PENDING : VM_HW_ATTACHED;
	if (save_spec(vm, e) < 0) {
		if (reattach) { /* the file is the user's: it stays unused */
			d->hw = VM_HW_UNUSED;
			d->slot = 0;
		} else {
			drop_disk(vm, i, true); /* made just now, named nowhere else */
		}
		return -1;
	}
	if (!live || pending) {
		log_info("vm_disk_added", "vm=%s disk=%s live=0 pending=%d", vm->spec.name, d->name, pending);
		done(ctx, pending ? 202 : 201,
		     change_json(vm, "disk", d->name, "add", pending,
		                 pending ? "the VM's QEMU has no free hot-plug port (it was started with "
		                           "fewer, or before hot-plug): the disk is attached at its next start"
		                         : NULL),
		     NULL);
		return 0;
	}
	struct vm_plug *p = plug_new(vm, true, true, done, ctx);
	snprintf(p->name, sizeof(p->name), "%s", d->name);
	snprintf(p->dev, 64, "disk-%s", d->name);
	char node[96];
	snprintf(node, sizeof(node), "vdc-%s", d->name);
	qmp_blockdev_add_qcow2(vm->qmp, node, d->path, on_disk_node_added, p);
	return 0;
}

static void on_disk_node_gone(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	/* A disk from QEMU's command line (-drive) goes with its device:
	 * then there is no node left to delete, which is fine. */
	if (st != QMP_OK)
		log_info("vm_disk_node_kept", "vm=%s disk=%s note=%s", vm->spec.name, p->name, log_quote(err));
	struct errinfo e = {0};
	int i = vm->deleted ? -1 : find_disk(vm, p->name);
	if (i >= 0 && finish_disk_removal(vm, i, p->timed_out ? false : p->delete_file, &e) < 0) {
		plug_end(p, 0, NULL, &e);
		return;
	}
	log_info("vm_disk_removed", "vm=%s disk=%s live=1 file=%s late=%d", vm->spec.name, p->name,
	         p->delete_file && !p->timed_out ? "deleted" : "kept", p->timed_out);
	plug_end(p, 200, change_json(vm, "disk", p->name, "remove", false, NULL), NULL);
}

static void on_nic_netdev_gone(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	if (st != QMP_OK)
		log_info("vm_netdev_kept", "vm=%s nic=%d note=%s", vm->spec.name, p->nic_id, log_quote(err));
	struct errinfo e = {0};
	int i = vm->deleted ? -1 : find_nic(vm, p->nic_id);
	if (i >= 0) {
		drop_nic(vm, i);
		if (save_spec(vm, &e) < 0) {
			plug_end(p, 0, NULL, &e);
			return;
		}
	}
	char name[16];
	nic_name(p->nic_id, name, sizeof(name));
	log_info("vm_nic_removed", "vm=%s nic=%s live=1 late=%d", vm->spec.name, name, p->timed_out);
	plug_end(p, 200, change_json(vm, "nic", name, "remove", false, NULL), NULL);
}

/* The guest let the device go: its backend goes too. */
static void released(struct vm_plug *p)
{
	struct vm *vm = p->vm;
	if (p->timer)
		loop_timer_cancel(vm->agent->loop, p->timer);
	p->timer = NULL;
	if (!vm->qmp) {
		(p->disk ? on_disk_node_gone : on_nic_netdev_gone)(p, QMP_CLOSED, NULL, "QEMU is gone", "");
		return;
	}
	char id[96];
	if (p->disk) {
		snprintf(id, sizeof(id), "vdc-%s", p->name);
		qmp_blockdev_del(vm->qmp, id, on_disk_node_gone, p);
	} else {
		nic_name(p->nic_id, id, sizeof(id));
		qmp_netdev_del(vm->qmp, id, on_nic_netdev_gone, p);
	}
}

/* The guest did not let go in time: the caller hears so, and the device
 * stays the VM's, recorded as attached. If the guest releases it later,
 * that is still seen (the plug stays until then, or until QEMU goes), and
 * a disk is then kept as unused: nothing is lost. */
static void on_unplug_timeout(void *ctx)
{
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	p->timer = NULL;
	struct errinfo e = {0};
	if (!vm->qmp || vm->deleted) {
		errinfo_set(&e, 409, "invalid_state", NULL, "VM '%s' stopped while the guest was asked to release '%s'",
		            vm->spec.name, p->dev);
		plug_end(p, 0, NULL, &e);
		return;
	}
	errinfo_set(&e, 409, "not_released", NULL,
	            "the guest did not release %s within %d s (in use? a guest without PCIe hot-plug support?): it "
	            "stays attached and recorded so; remove it again later, or stop the VM and remove it then",
	            p->dev, UNPLUG_TIMEOUT_MS / 1000);
	log_warn("vm_unplug_timeout", "vm=%s device=%s", vm->spec.name, p->dev);
	p->done(p->ctx, 0, NULL, &e);
	p->timed_out = true;
	/* Free for another operation; the late release is still watched. */
	vm->plug = NULL;
	vm->plug_late = p;
}

/* A device the guest let go with nobody waiting (its removal was asked
 * before an agent restart): it leaves the record as it left QEMU, a disk
 * kept as unused. Its backend stays in QEMU until the VM stops. */
static void released_unwatched(struct vm *vm, const char *device)
{
	struct errinfo e = {0};
	int i = -1;
	if (!strncmp(device, "disk-", 5) && (i = find_disk(vm, device + 5)) >= 0 && vm->spec.disks[i].slot &&
	    qemu_disk_present(&vm->spec.disks[i])) {
		vm->spec.disks[i].hw = VM_HW_UNUSED;
		vm->spec.disks[i].slot = 0;
	} else if (!strncmp(device, "nic", 3) && (i = find_nic(vm, atoi(device + 3))) >= 0 && vm->spec.nics[i].slot) {
		drop_nic(vm, i);
	} else {
		return;
	}
	if (save_spec(vm, &e) < 0)
		log_warn("vm_device_released_unsaved", "vm=%s device=%s error=%s", vm->spec.name, device, log_quote(e.message));
	else
		log_info("vm_device_released_late", "vm=%s device=%s", vm->spec.name, device);
}

void vm_hotplug_device_deleted(struct vm *vm, const char *device)
{
	struct vm_plug *p = vm->plug && !strcmp(vm->plug->dev, device ?: "") ? vm->plug
	                    : vm->plug_late && !strcmp(vm->plug_late->dev, device ?: "") ? vm->plug_late
	                                                                                   : NULL;
	log_info("vm_device_deleted", "vm=%s device=%s waited=%d", vm->spec.name, device ?: "?", p != NULL);
	if (!p && device)
		released_unwatched(vm, device);
	if (!p || p->add)
		return;
	if (p == vm->plug_late)
		vm->plug_late = NULL;
	released(p);
}

void vm_hotplug_qemu_gone(struct vm *vm)
{
	/* A late release can no longer come: the device is the VM's as the spec says. */
	struct vm_plug *p = vm->plug_late;
	vm->plug_late = NULL;
	if (p)
		plug_end(p, 0, NULL, NULL);
}

void vm_hotplug_detach(struct vm *vm)
{
	/* The agent stops: nobody is answered any more; QEMU keeps the device. */
	struct vm_plug *ps[2] = {vm->plug, vm->plug_late};
	vm->plug = vm->plug_late = NULL;
	for (int i = 0; i < 2; i++) {
		if (!ps[i])
			continue;
		if (ps[i]->timer)
			loop_timer_cancel(vm->agent->loop, ps[i]->timer);
		if (ps[i]->tap_fd >= 0)
			close(ps[i]->tap_fd);
		free(ps[i]);
	}
}

static void on_device_del(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	if (st == QMP_OK)
		return; /* now the guest's turn: DEVICE_DELETED or the timer */
	/* QEMU refused: the removal waits for the next start. */
	struct errinfo e = {0};
	char name[64], reason[400];
	snprintf(name, sizeof(name), "%s", p->name);
	int i = p->disk ? find_disk(vm, p->name) : find_nic(vm, p->nic_id);
	if (!p->disk)
		nic_name(p->nic_id, name, sizeof(name));
	if (i < 0 || vm->deleted) {
		errinfo_set(&e, 404, "not_found", NULL, "'%s' went meanwhile", name);
		plug_end(p, 0, NULL, &e);
		return;
	}
	if (p->disk) {
		vm->spec.disks[i].hw = VM_HW_REMOVE_PENDING;
		vm->spec.disks[i].delete_pending = p->delete_file;
	} else {
		vm->spec.nics[i].hw = VM_HW_REMOVE_PENDING;
	}
	if (save_spec(vm, &e) < 0) {
		plug_end(p, 0, NULL, &e);
		return;
	}
	snprintf(reason, sizeof(reason), "QEMU did not unplug it live (%s); it is removed at the next start", err);
	log_warn("vm_unplug_pending", "vm=%s device=%s reason=%s", vm->spec.name, p->dev, log_quote(err));
	plug_end(p, 202, change_json(vm, p->disk ? "disk" : "nic", name, "remove", true, reason), NULL);
}

/* A removal that waits for the next start (the device is on the root
 * bus, which cannot unplug): kept as pending. */
static int remove_pending(struct vm *vm, const char *kind, const char *name, enum vm_hw_state *hw, vm_done_fn done,
                          void *ctx, struct errinfo *e)
{
	*hw = VM_HW_REMOVE_PENDING;
	if (save_spec(vm, e) < 0) {
		*hw = VM_HW_ATTACHED;
		return -1;
	}
	log_info("vm_unplug_pending", "vm=%s %s=%s reason=root_bus", vm->spec.name, kind, name);
	done(ctx, 202,
	     change_json(vm, kind, name, "remove", true,
	                 "it was plugged in at the VM's creation, on the machine's root bus, which cannot unplug while "
	                 "the VM runs: it is removed at the next start"),
	     NULL);
	return 0;
}

/* The disks left to boot from if disk i went (a VM with a kernel file boots from none). */
static bool last_boot_disk(const struct vm *vm, int i)
{
	if (vm->spec.kernel || vm->spec.kernel_image[0])
		return false;
	for (int k = 0; k < vm->spec.ndisks; k++)
		if (k != i && (vm->spec.disks[k].hw == VM_HW_ATTACHED || vm->spec.disks[k].hw == VM_HW_ADD_PENDING))
			return false;
	return true;
}

int vm_disk_remove(struct vm *vm, const char *name, bool delete_file, vm_done_fn done, void *ctx, struct errinfo *e)
{
	int i = find_disk(vm, name);
	if (i < 0)
		return errinfo_set(e, 404, "not_found", "disk", "disk: VM '%s' has no disk '%s'", vm->spec.name, name);
	if (busy(vm, e) < 0)
		return -1;
	struct vm_disk *d = &vm->spec.disks[i];
	if (d->hw == VM_HW_UNUSED && !delete_file)
		return errinfo_set(e, 409, "unused", "disk", "disk '%s' is unused already (attached to nothing); remove "
		                   "it with delete to delete its file", name);
	if (d->hw != VM_HW_UNUSED && last_boot_disk(vm, i))
		return errinfo_set(e, 409, "boot_disk", "disk", "disk '%s' is the last disk VM '%s' boots from; add "
		                   "another first", name, vm->spec.name);
	if (i == 0 && vm->spec.firmware == VM_FW_UEFI && d->hw != VM_HW_UNUSED)
		return errinfo_set(e, 409, "boot_disk", "disk", "disk '%s' holds VM '%s''s UEFI variable store beside it; "
		                   "it stays while the VM boots through UEFI", name, vm->spec.name);
	if (!running(vm) || d->hw == VM_HW_ADD_PENDING || d->hw == VM_HW_UNUSED) {
		/* QEMU does not have it: the spec alone changes. */
		if (finish_disk_removal(vm, i, delete_file, e) < 0)
			return -1;
		log_info("vm_disk_removed", "vm=%s disk=%s live=0 file=%s", vm->spec.name, name,
		         delete_file ? "deleted" : "kept");
		done(ctx, 200, change_json(vm, "disk", name, "remove", false, NULL), NULL);
		return 0;
	}
	if (d->hw == VM_HW_REMOVE_PENDING || d->slot == 0) {
		d->delete_pending = delete_file;
		return remove_pending(vm, "disk", name, &d->hw, done, ctx, e);
	}
	struct vm_plug *p = plug_new(vm, true, false, done, ctx);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->dev, 64, "disk-%s", name);
	p->delete_file = delete_file;
	p->timer = loop_timer_after(vm->agent->loop, UNPLUG_TIMEOUT_MS, on_unplug_timeout, p);
	qmp_device_del(vm->qmp, p->dev, on_device_del, p);
	return 0;
}

/* ---- NICs --------------------------------------------------------------------- */

static void nic_add_pending(struct vm_plug *p, const char *why)
{
	struct vm *vm = p->vm;
	char name[16], reason[400];
	nic_name(p->nic_id, name, sizeof(name));
	log_warn("vm_nic_add_pending", "vm=%s nic=%s reason=%s", vm->spec.name, name, log_quote(why));
	snprintf(reason, sizeof(reason), "QEMU did not take the NIC live (%s); it is plugged in at the next start", why);
	plug_end(p, 202, change_json(vm, "nic", name, "add", true, reason), NULL);
}

static void on_nic_device_added(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	int i = vm->deleted ? -1 : find_nic(vm, p->nic_id);
	char name[16];
	nic_name(p->nic_id, name, sizeof(name));
	if (st != QMP_OK && i >= 0 && vm->qmp) {
		snprintf(p->why, sizeof(p->why), "%s", err ? err : "refused");
		qmp_netdev_del(vm->qmp, name, on_undo_backend, p);
		return;
	}
	struct errinfo e = {0};
	if (i < 0 || st != QMP_OK) {
		errinfo_set(&e, 409, "invalid_state", NULL, "VM '%s' stopped or went while its NIC was added", vm->spec.name);
		plug_end(p, 0, NULL, &e);
		return;
	}
	vm->spec.nics[i].hw = VM_HW_ATTACHED;
	if (save_spec(vm, &e) < 0) {
		plug_end(p, 0, NULL, &e);
		return;
	}
	log_info("vm_nic_added", "vm=%s nic=%s live=1 slot=%d mac=%s", vm->spec.name, name, vm->spec.nics[i].slot,
	         vm->spec.nics[i].mac);
	plug_end(p, 201, change_json(vm, "nic", name, "add", false, NULL), NULL);
}

static void on_netdev_added(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	int i = vm->deleted ? -1 : find_nic(vm, p->nic_id);
	if (st != QMP_OK || i < 0 || !vm->qmp) {
		nic_add_pending(p, err ? err : "the VM stopped meanwhile");
		return;
	}
	char netdev[16], bus[16];
	nic_name(p->nic_id, netdev, sizeof(netdev));
	snprintf(bus, sizeof(bus), "hp%d", vm->spec.nics[i].slot);
	qmp_device_add_nic(vm->qmp, p->dev, netdev, vm->spec.nics[i].mac, bus, on_nic_device_added, p);
}

static void on_tap_given(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm_plug *p = ctx;
	struct vm *vm = p->vm;
	close(p->tap_fd); /* QEMU has its own copy now (or none) */
	p->tap_fd = -1;
	if (st != QMP_OK || !vm->qmp) {
		nic_add_pending(p, err ? err : "the VM stopped meanwhile");
		return;
	}
	char netdev[16], fdname[32];
	nic_name(p->nic_id, netdev, sizeof(netdev));
	snprintf(fdname, sizeof(fdname), "tap-%s", netdev);
	qmp_netdev_add_tap(vm->qmp, netdev, fdname, on_netdev_added, p);
}

int vm_nic_add(struct vm *vm, const struct vm_nic *r, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (busy(vm, e) < 0)
		return -1;
	struct agent *a = vm->agent;
	if (vm->spec.nnics >= VM_MAX_NICS)
		return errinfo_set(e, 409, "limit", "nics", "VM '%s' has %d NICs, the most a VM may have; remove one first",
		                   vm->spec.name, vm->spec.nnics);
	if (r->nat ? !a->cfg.nat.enabled : !r->user_mode && !net_bridge_exists(r->bridge))
		return r->nat ? errinfo_set(e, 400, "invalid_body", "mode", "mode: this host has no NAT network (its agent "
		                            "runs with --nat-network off); use a bridge")
		              : errinfo_set(e, 400, "invalid_body", "bridge", "bridge: no bridge '%s' on this host",
		                            r->bridge);
	int id = 0;
	while (find_nic(vm, id) >= 0)
		id++;
	struct vm_nic *n = &vm->spec.nics[vm->spec.nnics];
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->user_mode = r->user_mode;
	n->nat = r->nat;
	snprintf(n->bridge, sizeof(n->bridge), "%s", r->bridge);
	if (r->mac[0]) {
		for (int k = 0; k < vm->spec.nnics; k++)
			if (!strcasecmp(vm->spec.nics[k].mac, r->mac))
				return errinfo_set(e, 409, "mac_taken", "mac", "mac: NIC net%d of VM '%s' has %s already",
				                   vm->spec.nics[k].id, vm->spec.name, r->mac);
		snprintf(n->mac, sizeof(n->mac), "%s", r->mac);
	}
	vm->spec.nnics++;
	vm_spec_fill_defaults(&vm->spec, a->cfg.datastores[0].name);
	bool live = running(vm);
	n->slot = live ? free_slot(vm, 1, vm->spec.hotplug_ports) : free_slot(vm, 1, VM_HOTPLUG_MAX_PORTS);
	bool pending = live && !n->slot;
	if (pending)
		n->slot = free_slot(vm, vm->spec.hotplug_ports + 1, VM_HOTPLUG_MAX_PORTS);
	n->hw = live ? VM_HW_ADD_PENDING : VM_HW_ATTACHED;
	char name[16];
	nic_name(id, name, sizeof(name));
	int tap_fd = -1;
	if (live && !pending && !n->user_mode) {
		char tap[16];
		vm_spec_tap_name(&vm->spec, id, tap);
		if ((tap_fd = net_tap_open(tap, n->bridge, "bridge", e)) < 0) {
			drop_nic(vm, vm->spec.nnics - 1);
			return -1;
		}
	}
	if (save_spec(vm, e) < 0) {
		if (tap_fd >= 0)
			close(tap_fd);
		drop_nic(vm, vm->spec.nnics - 1);
		return -1;
	}
	if (!live || pending) {
		log_info("vm_nic_added", "vm=%s nic=%s live=0 pending=%d", vm->spec.name, name, pending);
		done(ctx, pending ? 202 : 201,
		     change_json(vm, "nic", name, "add", pending,
		                 pending ? "the VM's QEMU has no free hot-plug port (it was started with fewer, or "
		                           "before hot-plug): the NIC is plugged in at its next start"
		                         : NULL),
		     NULL);
		return 0;
	}
	struct vm_plug *p = plug_new(vm, false, true, done, ctx);
	p->nic_id = id;
	snprintf(p->dev, 64, "nic%d", id);
	if (n->user_mode) {
		qmp_netdev_add_user(vm->qmp, name, on_netdev_added, p);
		return 0;
	}
	p->tap_fd = tap_fd;
	char fdname[32];
	snprintf(fdname, sizeof(fdname), "tap-%s", name);
	qmp_getfd(vm->qmp, fdname, tap_fd, on_tap_given, p);
	return 0;
}

int vm_nic_remove(struct vm *vm, int id, vm_done_fn done, void *ctx, struct errinfo *e)
{
	int i = find_nic(vm, id);
	if (i < 0)
		return errinfo_set(e, 404, "not_found", "nic", "nic: VM '%s' has no NIC net%d", vm->spec.name, id);
	if (busy(vm, e) < 0)
		return -1;
	struct vm_nic *n = &vm->spec.nics[i];
	char name[16];
	nic_name(id, name, sizeof(name));
	if (!running(vm) || n->hw == VM_HW_ADD_PENDING) {
		drop_nic(vm, i);
		if (save_spec(vm, e) < 0)
			return -1; /* the spec on disk still has it: so does the next start */
		log_info("vm_nic_removed", "vm=%s nic=%s live=0", vm->spec.name, name);
		done(ctx, 200, change_json(vm, "nic", name, "remove", false, NULL), NULL);
		return 0;
	}
	if (n->hw == VM_HW_REMOVE_PENDING || n->slot == 0)
		return remove_pending(vm, "nic", name, &n->hw, done, ctx, e);
	struct vm_plug *p = plug_new(vm, false, false, done, ctx);
	p->nic_id = id;
	snprintf(p->dev, 64, "nic%d", id);
	p->timer = loop_timer_after(vm->agent->loop, UNPLUG_TIMEOUT_MS, on_unplug_timeout, p);
	qmp_device_del(vm->qmp, p->dev, on_device_del, p);
	return 0;
}
