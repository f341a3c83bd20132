/* vm_lifecycle.c - a VM's lifecycle on this host: define, start, stop,
 * destroy, pause/resume/reset, delete. Whatever waits on QEMU ends through
 * the caller's vm_done_fn, from the loop. */
#include "vm_internal.h"

#include "crashpoint.h"

#include "disk.h"
#include "firmware.h"
#include "fsutil.h"
#include "images.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "qemu_cmdline.h"
#include "qmp_cmds.h"
#include "seed.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define HARD_STOP_GRACE_MS 5000
#define QUIT_TIMEOUT_MS 2000

/* ---- define ------------------------------------------------------------ */

/* The source of a disk that copies another VM's disk on this host: that
 * VM must exist and be stopped (its disk must not change while copied). */
static int resolve_source_vm(struct agent *a, struct vm_disk *d, int i, struct errinfo *e)
{
	char field[64];
	snprintf(field, sizeof(field), "disks[%d].source_vm", i);
	struct vm *src = vm_find(a, d->source_vm);
	if (!src)
		return errinfo_set(e, 400, "invalid_spec", field, "%s: no VM named '%s' on this host", field,
		                   d->source_vm);
	if (src->state != VM_STOPPED && src->state != VM_CRASHED)
		return errinfo_set(e, 409, "invalid_state", field,
		                   "VM '%s' is %s; stop it first: its disk must not change while it is copied",
		                   d->source_vm, vm_state_name(src->state));
	for (int k = 0; k < src->spec.ndisks; k++) {
		const struct vm_disk *sd = &src->spec.disks[k];
		if (strcmp(sd->name, d->source_disk) || !sd->path)
			continue;
		d->template_path = strdup(sd->path);
		snprintf(d->template_format, sizeof(d->template_format), "qcow2");
		return 0;
	}
	return errinfo_set(e, 400, "invalid_spec", field, "VM '%s' has no disk named '%s'", d->source_vm,
	                   d->source_disk);
}

/* Turns the images a spec names (by id) into this host's files. Nothing a
 * caller sends is a path: the agent finds its own copies. */
static int resolve_images(struct agent *a, struct vm_spec *s, struct errinfo *e)
{
	char path[1200];
	struct image_meta m;
	if (s->kernel_image[0]) {
		if (images_find(a, s->kernel_image, "kernel", "boot.kernel_image", path, sizeof(path), &m, e) < 0)
			return -1;
		free(s->kernel);
		s->kernel = strdup(path);
	}
	if (s->initrd_image[0]) {
		if (images_find(a, s->initrd_image, "initrd", "boot.initrd_image", path, sizeof(path), &m, e) < 0)
			return -1;
		free(s->initrd);
		s->initrd = strdup(path);
	}
	if (s->cdrom_image[0]) {
		if (images_find(a, s->cdrom_image, "iso", "cdrom.image", path, sizeof(path), &m, e) < 0)
			return -1;
		free(s->cdrom_path);
		s->cdrom_path = strdup(path);
	}
	return 0;
}

/* What a disk is made from, and who reads it: a VM's own disk (the source
 * of a clone: qcow2, read with that VM's group added) or a shared image
 * (its format from its header unless given; every VM reads it). */
static int template_source(struct agent *a, const struct vm_spec *s, struct vm_disk *d,
                           gid_t *extra, bool *shared, const char *field, struct errinfo *e)
{
	struct stat st;
	*extra = 0;
	*shared = true;
	if (stat(d->template_path, &st) < 0)
		return errinfo_set(e, 400, "invalid_spec", field, "cannot read '%s': %s", d->template_path,
		                   strerror(errno));
	if (d->copy && st.st_uid >= a->cfg.vm_id_lo && st.st_uid <= a->cfg.vm_id_hi &&
	    st.st_gid != s->gid) {
		*shared = false;
		*extra = st.st_gid;
		snprintf(d->template_format, sizeof(d->template_format), "qcow2");
		return 0;
	}
	if (d->template_format[0])
		return 0;
	struct vm_access va;
	vm_id_access(a, s, 0, &va);
	return disk_shared_format(&va.da, d->template_path, d->template_format,
	                          sizeof(d->template_format), field, e);
}

/* Whether this host sees the sending host's folder of the disk: the sender
 * wrote token into its probe file there (vm_migrate_storage_probe), as
 * OpenStack checks shared storage, rather than trusting that a file of the
 * right name is the sender's. */
static bool sees_probe(const char *dir, const char *token)
{
	char path[1200], buf[80] = "";
	snprintf(path, sizeof(path), "%s/%s", dir, VM_SHARED_PROBE);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool same = fgets(buf, sizeof(buf), f) && !strcmp(buf, token);
	fclose(f);
	return same;
}

/* An incoming VM's disk: the sending host's file, which this host must see
 * at the same place (a datastore both share). With storage (the sender's
 * probe token and disk sizes), a disk this host does not share is copied
 * instead: a blank image of its size is made here (copy_in) for the
 * sender's QEMU to mirror onto over NBD. */
static int check_incoming_disk(struct agent *a, struct vm_spec *s, struct vm_disk *d, int i,
                               const json_t *storage, struct errinfo *e)
{
	char dir[1100], path[1200], field[64];
	snprintf(field, sizeof(field), "disks[%d]", i);
	vm_store_disk_dir(a, d->datastore, s->name, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.qcow2", dir, d->name);
	const char *token = json_string_value(json_object_get(storage, "token"));
	if (!token || sees_probe(dir, token)) {
		if (!fs_exists(path))
			return errinfo_set(e, 409, "disk_not_shared", field,
			                   "disk '%s' is not at %s on this host: a live migration with shared "
			                   "storage needs the VM's disks on a datastore both hosts see (this host's "
			                   "'%s' is not the sending host's)", d->name, path, d->datastore);
	} else {
		json_int_t bytes = -1;
		size_t k;
		json_t *sd;
		json_array_foreach(json_object_get(storage, "disks"), k, sd)
			if (!strcmp(json_string_value(json_object_get(sd, "name")) ?: "", d->name))
				bytes = json_integer_value(json_object_get(sd, "size_bytes"));
		if (bytes <= 0 || bytes % (1 << 20) || (uint64_t)(bytes >> 20) > VM_MAX_DISK_MIB)
			return errinfo_set(e, 400, "invalid_body", "storage.disks",
			                   "storage.disks: no whole-MiB size (at most %llu MiB) for disk '%s', which this "
			                   "host does not share and must copy", (unsigned long long)VM_MAX_DISK_MIB, d->name);
		if (fs_exists(path))
			return errinfo_set(e, 409, "disk_conflict", field,
			                   "%s exists on this host but is not the sending host's disk (datastore '%s' is "
			                   "not shared between them): a copy cannot be made over it; remove it (a disk "
			                   "left by an earlier move?) or migrate to another host", path, d->datastore);
		d->copy_in = true;
		d->copy = false;
		d->size_mib = (uint64_t)bytes >> 20;
		d->image[0] = d->source_vm[0] = d->source_disk[0] = '\0';
		free(d->template_path);
		d->template_path = NULL;
		d->template_format[0] = '\0';
	}
	d->path = strdup(path);
	return d->path ? 0 : errinfo_set(e, 500, "internal", NULL, "out of memory");
}

/* Checks the spec against this host: images, datastores, bridges. An
 * incoming VM's disks must exist already (check_incoming_disk). */
/* The spec's CPU model is one this host's QEMU offers whole. */
static int check_cpu_model(struct agent *a, const struct vm_spec *s, struct errinfo *e)
{
	if (!s->cpu_model[0])
		return 0;
	size_t i;
	json_t *m;
	json_array_foreach(a->cpu_models, i, m)
		if (!strcmp(json_string_value(m) ?: "", s->cpu_model))
			return 0;
	return errinfo_set(e, 409, "cpu_model_unavailable", "cpu_model",
	                   "this host's QEMU cannot offer CPU model '%s' under %s (GET /api/v1/host lists the "
	                   "%zu it offers): the cluster's CPU baseline must be one every host offers",
	                   s->cpu_model, a->accel, json_array_size(a->cpu_models));
}

static int check_host(struct agent *a, struct vm_spec *s, bool incoming, const json_t *storage,
                      struct errinfo *e)
{
	struct uefi_files uefi;
	if (check_cpu_model(a, s, e) < 0 || resolve_images(a, s, e) < 0 ||
	    (s->firmware == VM_FW_UEFI && firmware_uefi_find(&uefi, e) < 0))
		return -1;
	for (int i = 0; i < s->ndisks; i++) {
		struct vm_disk *d = &s->disks[i];
		char field[64];
		snprintf(field, sizeof(field), "disks[%d].datastore", i);
		if (!config_datastore(&a->cfg, d->datastore)) {
			char known[512] = "";
			for (int k = 0; k < a->cfg.ndatastores; k++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", k ? ", " : "",
				         a->cfg.datastores[k].name);
			return errinfo_set(e, 400, "invalid_spec", field,
			                   "no datastore '%s' on this host (known: %s)", d->datastore, known);
		}
		if (incoming) {
			if (check_incoming_disk(a, s, d, i, storage, e) < 0)
				return -1;
			continue;
		}
		uint64_t vbytes = 0;
		if (d->image[0]) {
			char path[1200];
			struct image_meta m;
			snprintf(field, sizeof(field), "disks[%d].image", i);
			if (images_find(a, d->image, "disk", field, path, sizeof(path), &m, e) < 0)
				return -1;
			d->template_path = strdup(path);
			snprintf(d->template_format, sizeof(d->template_format), "%s", m.format);
		} else if (d->source_vm[0] && resolve_source_vm(a, d, i, e) < 0) {
			return -1;
		}
		if (d->template_path) {
			/* The image (or the source VM's disk) and its chain, read as
			 * this VM's identity, inside the roots. */
			struct vm_access va;
			gid_t extra = 0;
			bool shared = true;
			if (template_source(a, s, d, &extra, &shared, field, e) < 0)
				return -1;
			vm_id_access(a, s, extra, &va);
			if (disk_check_chain(&va.da, d->template_path, d->template_format, shared, &vbytes,
			                     field, e) < 0)
				return -1;
		}
		if (d->template_path && d->size_mib && (d->size_mib << 20) < vbytes) {
			snprintf(field, sizeof(field), "disks[%d].size_mib", i);
			return errinfo_set(e, 400, "invalid_spec", field,
			                   "is %llu MiB, smaller than the image's %llu MiB; a disk made from an "
			                   "image can only grow", (unsigned long long)d->size_mib,
			                   (unsigned long long)((vbytes + (1 << 20) - 1) >> 20));
		}
		char dir[1100], path[1200];
		vm_store_disk_dir(a, d->datastore, s->name, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/%s.qcow2", dir, d->name);
		if (fs_exists(path)) {
			snprintf(field, sizeof(field), "disks[%d].name", i);
			return errinfo_set(e, 409, "disk_exists", field,
			                   "%s already exists (a disk kept from a deleted VM?); remove it or "
			                   "choose another VM or disk name", path);
		}
		d->path = strdup(path);
	}
	for (int i = 0; i < s->nnics; i++) {
		const struct vm_nic *n = &s->nics[i];
		if (n->nat ? a->cfg.nat.enabled : (n->user_mode || net_bridge_exists(n->bridge)))
			continue;
		char field[64];
		snprintf(field, sizeof(field), "nics[%d].%s", i, n->nat ? "mode" : "bridge");
		if (n->nat)
			return errinfo_set(e, 400, "invalid_spec", field,
			                   "this host has no NAT network (its agent runs with --nat-network "
			                   "off); use a bridge");
		return errinfo_set(e, 400, "invalid_spec", field,
		                   "no bridge '%s' on this host; create it (ip link add %s type bridge) "
		                   "or use mode 'nat'", n->bridge, n->bridge);
	}
	return 0;
}

/* A directory of the VM's on a datastore: root's, group the VM's, 0750. */
int vm_give_dir(struct vm *vm, const char *dir, const char *field, struct errinfo *e)
{
	if (fs_mkdir_p(dir, 0750) < 0 || chown(dir, 0, vm->spec.gid) < 0 || chmod(dir, 0750) < 0)
		return errinfo_set(e, errno == ENOSPC ? 507 : 500, "datastore", field,
		                   "cannot create %s: %s", dir, strerror(errno));
	return 0;
}

/* The identity the sending host gave the VM: the group of its folder on
 * the shared datastore of its first shared disk (vm_id.c gives the folder to
 * root and the VM's group); 0 when there is none to read. */
static unsigned incoming_identity(struct agent *a, const struct vm_spec *spec)
{
	for (int i = 0; i < spec->ndisks; i++) {
		char dir[1100];
		struct stat st;
		if (spec->disks[i].copy_in)
			continue; /* made here: the sender's folder is elsewhere */
		vm_store_disk_dir(a, spec->disks[i].datastore, spec->name, dir, sizeof(dir));
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		return st.st_gid >= a->cfg.vm_id_lo && st.st_gid <= a->cfg.vm_id_hi ? (unsigned)st.st_gid : 0;
	}
	return 0;
}

static int make_disk(struct vm *vm, int i, struct errinfo *e);

/* An incoming VM's files are the sending host's: this host takes them for
 * its identity of the VM, which is the sender's (vm_define refuses
 * another: the sending QEMU reopens its disks by path when it hands them
 * over, and must still be let in), and makes the seed only if the shared
 * datastore lacks it. */
static int take_disks(struct vm *vm, struct errinfo *e)
{
	for (int i = 0; i < vm->spec.ndisks; i++) {
		char dir[1100], field[64];
		snprintf(field, sizeof(field), "disks[%d]", i);
		vm_store_disk_dir(vm->agent, vm->spec.disks[i].datastore, vm->spec.name, dir, sizeof(dir));
		if (vm_give_dir(vm, dir, field, e) < 0 || (vm->spec.disks[i].copy_in && make_disk(vm, i, e) < 0))
			return -1;
	}
	char iso[1200];
	vm_seed_path(vm, iso, sizeof(iso));
	if (vm->spec.has_cloud_init && !fs_exists(iso) && seed_build(vm->dir, iso, &vm->spec, e) < 0)
		return -1;
	/* A store the sending host's datastore does not share with this one is
	 * not copied: the VM starts here with a fresh one. */
	if (vm_ensure_vars(vm, NULL, e) < 0)
		return -1;
	return vm_id_own_files(vm, e);
}

/* A disk: the agent creates the file (the VM's, no link followed), and
 * qemu-img writes it as the VM. */
static int make_disk(struct vm *vm, int i, struct errinfo *e)
{
	struct agent *a = vm->agent;
	{
		struct vm_disk *d = &vm->spec.disks[i];
		char dir[1100], field[64];
		snprintf(field, sizeof(field), "disks[%d]", i);
		vm_store_disk_dir(a, d->datastore, vm->spec.name, dir, sizeof(dir));
		if (vm_give_dir(vm, dir, field, e) < 0)
			return -1;
		struct vm_access va;
		gid_t extra = 0;
		bool shared = true;
		uint64_t src_bytes = 0;
		if (d->template_path && template_source(a, &vm->spec, d, &extra, &shared, field, e) < 0)
			return -1;
		vm_id_access(a, &vm->spec, extra, &va);
		if (vm_id_create_file(vm, d->path, 0640, field, e) < 0)
			return -1;
		/* Checked again right before the copy: the source may have changed
		 * since check_host. */
		int rc = d->copy ? (disk_check_chain(&va.da, d->template_path, d->template_format, shared,
		                                     &src_bytes, field, e) < 0
		                        ? -1
		                        : disk_create_copy(&va.as, d->path, d->template_path,
		                                           d->template_format, d->size_mib, src_bytes,
		                                           field, e))
		         : d->template_path
		             ? disk_create_clone(&va.as, d->path, d->template_path, d->template_format,
		                                 d->size_mib, field, e)
		             : disk_create_blank(&va.as, d->path, d->size_mib, field, e);
		if (rc < 0) {
			unlink(d->path); /* ours (O_EXCL), maybe half written */
			return -1;
		}
	}
	return 0;
}

int vm_ensure_vars(struct vm *vm, const char **code, struct errinfo *e)
{
	if (vm->spec.firmware != VM_FW_UEFI)
		return 0;
	struct uefi_files f;
	char path[1200], dir[1200];
	if (firmware_uefi_find(&f, e) < 0)
		return -1;
	if (code)
		*code = f.code;
	vm_vars_path(vm, path, sizeof(path));
	if (fs_exists(path))
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (vm_give_dir(vm, dir, "firmware", e) < 0 || vm_id_create_file(vm, path, 0640, "firmware", e) < 0)
		return -1;
	/* The folder is root's: nobody but the agent put a link there. */
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || firmware_uefi_vars_copy(&f, fd, path, e) < 0) {
		if (fd < 0)
			errinfo_set(e, 500, "datastore", "firmware", "cannot open %s: %s", path, strerror(errno));
		else
			close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	log_info("vm_uefi_vars", "vm=%s path=%s from=%s", vm->spec.name, log_quote(path), f.vars);
	return 0;
}

int vm_make_disk(struct vm *vm, int i, struct errinfo *e) { return make_disk(vm, i, e); }

static int make_disks(struct vm *vm, struct errinfo *e)
{
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (make_disk(vm, i, e) < 0)
			return -1;
	if (vm->spec.has_cloud_init) {
		char iso[1200], dir[1100];
		vm_seed_path(vm, iso, sizeof(iso));
		snprintf(dir, sizeof(dir), "%s", iso);
		*strrchr(dir, '/') = '\0';
		if (vm_give_dir(vm, dir, "cloud_init", e) < 0)
			return -1;
		if (seed_build(vm->dir, iso, &vm->spec, e) < 0)
			return -1;
	}
	if (vm_ensure_vars(vm, NULL, e) < 0)
		return -1;
	return vm_id_own_files(vm, e);
}

/* incoming: the VM arrives by live migration; its disks exist (shared)
 * and are never removed here, even by a rollback ("incoming.json" is the
 * intent, which recovery undoes without touching disks). */
static int define_vm(struct agent *a, const json_t *spec_json, bool incoming, const json_t *storage,
                     struct vm **out, struct errinfo *e)
{
	struct jv_err jerr = {0};
	struct vm_spec spec;
	/* An incoming spec is the sender's as its GET shows it: the disks'
	 * paths are the sender's, and this host finds its own. */
	json_t *own = incoming ? json_deep_copy(spec_json) : NULL;
	if (own) {
		size_t i;
		json_t *d;
		json_array_foreach(json_object_get(own, "disks"), i, d)
			json_object_del(d, "path");
		spec_json = own;
	}
	int prc = vm_spec_parse(spec_json, VM_SPEC_FROM_USER, &spec, &jerr);
	json_decref(own);
	if (prc < 0) {
		vm_spec_free(&spec);
		return errinfo_set(e, 400, "invalid_spec", jerr.field, "%s: %s", jerr.field, jerr.message);
	}
	if (vm_find(a, spec.name)) {
		errinfo_set(e, 409, "name_taken", "name", "a VM named '%s' already exists on this host",
		            spec.name);
		vm_spec_free(&spec);
		return -1;
	}
	if (incoming && !spec.uuid[0]) {
		errinfo_set(e, 400, "invalid_spec", "uuid", "uuid: an incoming VM keeps its uuid; give it");
		vm_spec_free(&spec);
		return -1;
	}
	if (!spec.uuid[0]) {
		uuid_t u;
		uuid_generate_random(u);
		uuid_unparse_lower(u, spec.uuid);
	}
	for (struct vm *o = a->vms; o; o = o->next)
		if (!strcmp(o->spec.uuid, spec.uuid)) {
			errinfo_set(e, 409, "uuid_taken", "uuid", "VM '%s' already has uuid %s", o->spec.name,
			            spec.uuid);
			vm_spec_free(&spec);
			return -1;
		}
	vm_spec_fill_defaults(&spec, a->cfg.datastores[0].name);
	/* An incoming VM's disks are sorted first (shared, or copied here): its
	 * identity is that of the folders it shares with the sender. */
	if (incoming && check_host(a, &spec, true, storage, e) < 0) {
		vm_spec_free(&spec);
		return -1;
	}
	unsigned id = 0, sender_id = incoming ? incoming_identity(a, &spec) : 0;
	if (sender_id && !vm_id_free(a, sender_id)) {
		errinfo_set(e, 409, "identity_taken", NULL,
		            "this host's VM identity %u, the one VM '%s' has on the sending host, belongs to another VM "
		            "here; its disks cannot be shared during the move: migrate it to another host",
		            sender_id, spec.name);
		vm_spec_free(&spec);
		return -1;
	}
	if (sender_id)
		id = sender_id;
	else if (vm_id_alloc(a, spec.uuid, &id, e) < 0) {
		vm_spec_free(&spec);
		return -1;
	}
	spec.uid = spec.gid = id;
	if (!incoming && check_host(a, &spec, false, NULL, e) < 0) {
		vm_spec_free(&spec);
		return -1;
	}
	struct vm *vm = vm_alloc(a, spec.name);
	if (!vm) {
		vm_spec_free(&spec);
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	}
	vm->spec = spec;
	if (strlen(vm->rundir) + sizeof("/serial.sock") > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		errinfo_set(e, 400, "invalid_spec", "name",
		            "'%s' is too long for this host's run-dir %s (unix socket paths are limited "
		            "to 107 bytes); use a shorter name", spec.name, a->cfg.run_dir);
		vm_free(vm);
		return -1;
	}
	if (fs_exists(vm->dir)) {
		errinfo_set(e, 409, "name_taken", "name",
		            "%s exists but holds no VM the agent knows; remove it or choose another name",
		            vm->dir);
		vm_free(vm);
		return -1;
	}
	/* define.json records the intent: if we crash before it becomes
	 * spec.json, the next start removes what this define made. */
	if (fs_mkdir_p(vm->dir, 0700) < 0) {
		errinfo_set(e, errno == ENOSPC ? 507 : 500, "store", NULL, "cannot create %s: %s", vm->dir,
		            strerror(errno));
		vm_free(vm);
		return -1;
	}
	char from[1100];
	const char *intent = incoming ? "incoming.json" : "define.json";
	if (vm_store_write_spec(vm, intent, e) < 0)
		goto rollback;
	crash_point("define:after_intent");
	if ((incoming ? take_disks(vm, e) : make_disks(vm, e)) < 0)
		goto rollback;
	crash_point("define:after_disks");
	if (vm_store_write_spec(vm, "spec.json", e) < 0)
		goto rollback;
	crash_point("define:after_commit");
	vm_store_path(vm, intent, from, sizeof(from));
	unlink(from);
	vm_set_state(vm, VM_STOPPED);
	vm_store_write_state(vm, true);
	vm_link(a, vm);
	log_info("vm_defined", "vm=%s uuid=%s uid=%u incoming=%d", vm->spec.name, vm->spec.uuid,
	         vm->spec.uid, incoming);
	*out = vm;
	return 0;
rollback:
	log_warn("vm_define_failed", "vm=%s error=%s", vm->spec.name, log_quote(e->message));
	if (!incoming)
		vm_remove_seed(vm);
	vm_store_remove(vm, incoming, NULL);
	vm_free(vm);
	return -1;
}

int vm_define(struct agent *a, const json_t *spec_json, struct vm **out, struct errinfo *e)
{
	return define_vm(a, spec_json, false, NULL, out, e);
}

int vm_define_incoming(struct agent *a, const json_t *spec_json, const json_t *storage, struct vm **out,
                       struct errinfo *e)
{
	return define_vm(a, spec_json, true, storage, out, e);
}

static void qemu_start_failed(struct vm *vm, const char *why, struct errinfo *e)
{
	char logline[512];
	/* Make sure it is gone, then say what QEMU itself said. */
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
	}
	vm_qemu_log_last_line(vm, logline, sizeof(logline));
	/* QEMU's image lock: another process (on a shared datastore, maybe a
	 * copy of this VM on another host) writes the disk. Said apart, since
	 * vdcd's HA must then not take the VM for stopped. */
	if (strstr(logline, "Is another process using the image"))
		/* QEMU's line names the file: a host path, not for the tenant
		 * (the agent's log below keeps it). */
		errinfo_set(e, 409, "disk_in_use", NULL,
		            "QEMU did not start: a disk is in use by another process (QEMU's image lock)");
	else
		errinfo_set(e, 500, "qemu_failed", NULL, "QEMU did not start: %s", logline[0] ? logline : why);
	log_warn("vm_start_failed", "vm=%s error=%s", vm->spec.name, log_quote(e->message));
	if (!strcmp(e->code, "disk_in_use"))
		log_warn("vm_start_disk_in_use", "vm=%s qemu=%s", vm->spec.name, log_quote(logline));
	vm_release_runtime(vm);
	vm_set_state(vm, VM_STOPPED);
}

struct start_op {
	vm_done_fn done;
	void *ctx;
};

/* QEMU answered on its monitor (or did not): the start's end. */
static void on_start_attached(struct vm *vm, void *ctx, const char *err)
{
	struct start_op *op = ctx;
	vm_done_fn done = op->done;
	void *done_ctx = op->ctx;
	free(op);
	vm->start_pending = false;
	struct errinfo e = {0};
	if (err) {
		qemu_start_failed(vm, err, &e);
		done(done_ctx, 0, NULL, &e);
		return;
	}
	vm->started_at = time(NULL);
	vm_store_write_state(vm, false);
	log_info("vm_started", "vm=%s pid=%d accel=%s", vm->spec.name, (int)vm->pid, vm->agent->accel);
	done(done_ctx, 200, vm_to_json(vm), NULL);
}

int vm_start_qemu(struct vm *vm, bool incoming, vm_done_fn done, void *ctx, struct errinfo *e)
{
	struct agent *a = vm->agent;
	if (vm->state != VM_STOPPED && vm->state != VM_CRASHED)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; only a stopped VM can start",
		                   vm->spec.name, vm_state_name(vm->state));
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (!fs_exists(vm->spec.disks[i].path))
			return errinfo_set(e, 409, "disk_missing", NULL,
			                   "disk '%s' (%s) is missing; restore it or delete the VM",
			                   vm->spec.disks[i].name, vm->spec.disks[i].path);
	/* The VM's files are its own (again: a VM from before identities, or
	 * files restored by hand), and nothing QEMU opens may lead out of the
	 * roots, whatever was written into a disk's header since it was made. */
	if (vm_id_own_files(vm, e) < 0)
		return -1;
	struct vm_access va;
	vm_id_access(a, &vm->spec, 0, &va);
	for (int i = 0; i < vm->spec.ndisks; i++) {
		char field[64];
		snprintf(field, sizeof(field), "disks[%d]", i);
		if (disk_check_chain(&va.da, vm->spec.disks[i].path, "qcow2", false, NULL, field, e) < 0) {
			log_warn("vm_start_refused", "vm=%s error=%s", vm->spec.name, log_quote(e->message));
			return -1;
		}
	}
	int fds[3 + VM_MAX_NICS];
	int nfds = 0;
	struct qemu_launch launch = {.binary = a->cfg.qemu_binary, .accel = a->accel,
	                             .sandbox = a->cfg.sandbox != 0, .incoming = incoming};
	char path[1100], iso[1200], vnc[1300], vars[1200];
	struct strv argv = {0};
	for (int i = 0; i < VM_MAX_NICS; i++)
		launch.tap_fds[i] = -1;
	if (fs_mkdir_p(vm->rundir, 0700) < 0)
		return errinfo_set(e, 500, "store", NULL, "cannot create %s: %s", vm->rundir, strerror(errno));
	vm_set_state(vm, VM_STARTING);
	vm_run_path(vm, "qmp.sock", path, sizeof(path));
	if ((fds[nfds] = vm_proc_listen_unix(path, e)) < 0)
		goto fail;
	launch.qmp_fd = 3 + nfds++;
	vm_run_path(vm, "serial.sock", path, sizeof(path));
	if ((fds[nfds] = vm_proc_listen_unix(path, e)) < 0)
		goto fail;
	launch.serial_fd = 3 + nfds++;
	vm_run_path(vm, "qga.sock", path, sizeof(path));
	if ((fds[nfds] = vm_proc_listen_unix(path, e)) < 0)
		goto fail;
	launch.qga_fd = 3 + nfds++;
	for (int i = 0; i < vm->spec.nnics; i++) {
		if (vm->spec.nics[i].user_mode)
			continue;
		char tap[16], field[32];
		vm_spec_tap_name(&vm->spec, vm->spec.nics[i].id, tap);
		snprintf(field, sizeof(field), "nics[%d].bridge", i);
		if ((fds[nfds] = net_tap_open(tap, vm->spec.nics[i].bridge, field, e)) < 0)
			goto fail;
		launch.tap_fds[i] = 3 + nfds++;
	}
	if (vm->spec.has_cloud_init) {
		vm_seed_path(vm, iso, sizeof(iso));
		launch.seed_path = iso;
	}
	if (vm->spec.firmware == VM_FW_UEFI) {
		if (vm_ensure_vars(vm, &launch.uefi_code, e) < 0)
			goto fail;
		vm_vars_path(vm, vars, sizeof(vars));
		launch.uefi_vars = vars;
	}
	if (vm->spec.vnc) {
		if (vm_id_make_vnc_dir(vm, e) < 0)
			goto fail;
		vm_id_vnc_dir(vm, path, sizeof(path));
		snprintf(vnc, sizeof(vnc), "%s/vnc.sock", path);
		launch.vnc_path = vnc;
	}
	if (vm_cgroup_create(vm, e) < 0)
		goto fail;
	if (qemu_cmdline_build(&vm->spec, &launch, &argv) < 0) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	vm_store_path(vm, "console.log", path, sizeof(path));
	console_open(&vm->console, path, a->cfg.console_log_bytes);
	vm->shutdown_reason[0] = '\0';
	vm->expect_exit = vm->forced = vm->stop_timed_out = vm->watchdog_fired = false;
	vm->forced_why[0] = '\0';
	vm->stop_via[0] = '\0';
	if (vm_proc_spawn(vm, argv.v, fds, nfds, e) < 0)
		goto fail;
	strv_free(&argv);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	nfds = 0;
	crash_point("start:after_spawn");
	struct start_op *op = calloc(1, sizeof(*op));
	if (!op) {
		qemu_start_failed(vm, "out of memory", e);
		return -1;
	}
	*op = (struct start_op){done, ctx};
	/* The start ends when QEMU answers on its monitor: the loop runs on. */
	vm->start_pending = true;
	vm_attach(vm, on_start_attached, op);
	return 0;
fail:
	strv_free(&argv);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	vm_release_runtime(vm);
	vm_set_state(vm, VM_STOPPED);
	log_warn("vm_start_failed", "vm=%s error=%s", vm->spec.name, log_quote(e->message));
	return -1;
}

int vm_start(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if ((vm->move && !vm->qmp) || vm->move_recovering[0])
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is having its disk copied to another datastore; "
		                   "start it once that is done", vm->spec.name);
	/* A disk move whose QEMU went away before it was settled: which file
	 * the disk is gets decided before QEMU opens one. */
	if (!vm->qmp && !vm->move)
		vm_disk_move_recover(vm);
	/* Hardware changes kept for this start are made first. */
	if ((vm->state == VM_STOPPED || vm->state == VM_CRASHED) && vm_hotplug_apply_pending(vm, e) < 0)
		return -1;
	return vm_start_qemu(vm, false, done, ctx, e);
}

/* ---- stop, destroy, pause/resume/reset ------------------------------------ */

static void add_waiter(struct vm *vm, vm_done_fn done, void *ctx)
{
	if (!done)
		return;
	struct vm_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->done = done;
	w->ctx = ctx;
	w->next = vm->exit_waiters;
	vm->exit_waiters = w;
}

static void on_kill_timeout(void *ctx)
{
	struct vm *vm = ctx;
	vm->stop_timer = NULL;
	if (vm->pid > 0) {
		log_warn("vm_kill", "vm=%s pid=%d reason=\"QEMU did not exit after quit\"", vm->spec.name,
		         (int)vm->pid);
		kill(vm->pid, SIGKILL);
	}
}

static void on_quit(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd)
{
	struct vm *vm = ctx;
	/* Not taken (or no answer): QEMU goes by force. Closed: it is going. */
	if (st != QMP_OK && st != QMP_CLOSED && vm->pid > 0 && vm->expect_exit) {
		log_warn("vm_kill", "vm=%s pid=%d reason=%s", vm->spec.name, (int)vm->pid, log_quote(err));
		kill(vm->pid, SIGKILL);
	}
	vm_release(vm);
}

/* Asks QEMU to quit (no guest shutdown); SIGKILL if it cannot be asked or
 * has not gone within the grace period. */
static void cancel_press(struct vm *vm);

static void hard_stop(struct vm *vm)
{
	vm->expect_exit = true;
	cancel_press(vm);
	if (vm->qmp) {
		vm_hold(vm);
		qmp_quit(vm->qmp, QUIT_TIMEOUT_MS, on_quit, vm);
	} else if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
	}
	if (vm->stop_timer)
		loop_timer_cancel(vm->agent->loop, vm->stop_timer);
	vm->stop_timer = loop_timer_after(vm->agent->loop, HARD_STOP_GRACE_MS, on_kill_timeout, vm);
}

static void press_again(void *ctx);

/* The guest may miss the first press: one still booting has no ACPI
 * listener yet (a stop right after a start waited out its whole timeout).
 * So the button is pressed again every POWERDOWN_REPEAT_MS until the guest
 * goes or the timeout ends, as OpenStack Nova's clean shutdown retries. */
#define POWERDOWN_REPEAT_MS 10000

static void on_press_again(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)st, (void)ret, (void)err, (void)cmd;
	struct vm *vm = ctx;
	if (vm->pid > 0 && vm->state == VM_STOPPING && vm->stop_timer && !vm->press_timer)
		vm->press_timer = loop_timer_after(vm->agent->loop, POWERDOWN_REPEAT_MS, press_again, vm);
	vm_release(vm);
}

static void press_again(void *ctx)
{
	struct vm *vm = ctx;
	vm->press_timer = NULL;
	if (vm->pid <= 0 || vm->state != VM_STOPPING || !vm->stop_timer || !vm->qmp)
		return;
	log_info("vm_stop_press_again", "vm=%s", vm->spec.name);
	vm_hold(vm);
	qmp_system_powerdown(vm->qmp, on_press_again, vm);
}

static void cancel_press(struct vm *vm)
{
	if (vm->press_timer)
		loop_timer_cancel(vm->agent->loop, vm->press_timer);
	vm->press_timer = NULL;
}

static void on_stop_timeout(void *ctx)
{
	struct vm *vm = ctx;
	vm->stop_timer = NULL;
	cancel_press(vm);
	log_warn("vm_stop_timeout", "vm=%s reason=\"the guest did not power off; stopping hard\"",
	         vm->spec.name);
	vm->forced = vm->stop_timed_out = true;
	snprintf(vm->forced_why, sizeof(vm->forced_why), "the guest did not shut down within %d s",
	         vm->stop_timeout_s);
	hard_stop(vm);
}

static bool is_up(const struct vm *vm)
{
	return vm->state == VM_RUNNING || vm->state == VM_PAUSED || vm->state == VM_STOPPING;
}

static void on_powerdown(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd)
{
	struct vm *vm = ctx;
	if (vm->pid > 0 && vm->state == VM_STOPPING && !vm->stop_timer) {
		if (st != QMP_OK) {
			/* Not taken: stop it hard. */
			vm->forced = true;
			snprintf(vm->forced_why, sizeof(vm->forced_why), "QEMU did not take the power button");
			log_warn("vm_powerdown_failed", "vm=%s error=%s", vm->spec.name, log_quote(err));
			hard_stop(vm);
		} else {
			vm->stop_timer = loop_timer_after(vm->agent->loop, (uint64_t)vm->stop_timeout_s * 1000,
			                                  on_stop_timeout, vm);
			if ((uint64_t)vm->stop_timeout_s * 1000 > POWERDOWN_REPEAT_MS && !vm->press_timer)
				vm->press_timer = loop_timer_after(vm->agent->loop, POWERDOWN_REPEAT_MS, press_again, vm);
		}
	}
	vm_release(vm);
}

/* The guest agent took the power-off (or could not be asked: then the
 * power button). Either way the stop's timers start as after a press. */
static void on_guest_shutdown(struct vm *vm, void *ctx, const char *err)
{
	(void)ctx;
	if (!err || vm->pid <= 0 || vm->state != VM_STOPPING || !vm->qmp) {
		on_powerdown(vm, QMP_OK, NULL, NULL, "guest-shutdown");
		return;
	}
	log_warn("vm_guest_shutdown_failed", "vm=%s error=%s fallback=acpi", vm->spec.name, log_quote(err));
	snprintf(vm->stop_via, sizeof(vm->stop_via), "acpi");
	qmp_system_powerdown(vm->qmp, on_powerdown, vm);
}

int vm_stop(struct vm *vm, int timeout_s, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (!is_up(vm))
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s, not running",
		                   vm->spec.name, vm_state_name(vm->state));
	if (vm->state == VM_STOPPING) { /* already on its way: wait with the others */
		add_waiter(vm, done, ctx);
		return 0;
	}
	bool paused = vm->state == VM_PAUSED;
	vm_set_state(vm, VM_STOPPING);
	vm->expect_exit = true;
	add_waiter(vm, done, ctx);
	if (paused || !vm->qmp) {
		/* A paused guest cannot see the power button: stop it hard. */
		vm->forced = true;
		snprintf(vm->forced_why, sizeof(vm->forced_why), "%s",
		         paused ? "the VM was paused, and a paused guest cannot see the power button"
		                : "QEMU did not take the power button");
		hard_stop(vm);
		return 0;
	}
	vm->stop_timeout_s = timeout_s;
	vm_hold(vm);
	/* Through the guest agent when it answers; the power button otherwise
	 * (and still pressed after POWERDOWN_REPEAT_MS if the guest lingers). */
	if (vm_guest_shutdown(vm, false, on_guest_shutdown, NULL) == 0) {
		snprintf(vm->stop_via, sizeof(vm->stop_via), "guest_agent");
	} else {
		snprintf(vm->stop_via, sizeof(vm->stop_via), "acpi");
		qmp_system_powerdown(vm->qmp, on_powerdown, vm);
	}
	log_info("vm_stopping", "vm=%s timeout_s=%d via=%s", vm->spec.name, timeout_s, vm->stop_via);
	return 0;
}

int vm_destroy(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (!is_up(vm))
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s, not running",
		                   vm->spec.name, vm_state_name(vm->state));
	vm_set_state(vm, VM_STOPPING);
	add_waiter(vm, done, ctx);
	hard_stop(vm);
	return 0;
}

/* One QMP command on behalf of a caller: its end is the caller's. */
struct qmp_op {
	struct vm *vm;
	bool then_refresh; /* end with the VM's state as QEMU then reports it */
	vm_done_fn done;
	void *ctx;
};

static struct qmp_op *qmp_op_new(struct vm *vm, bool then_refresh, vm_done_fn done, void *ctx)
{
	struct qmp_op *op = calloc(1, sizeof(*op));
	if (!op)
		abort();
	*op = (struct qmp_op){vm, then_refresh, done, ctx};
	vm_hold(vm);
	return op;
}

static void on_qmp_op(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd)
{
	struct qmp_op *op = ctx;
	struct vm *vm = op->vm;
	struct errinfo e = {0};
	if (st != QMP_OK) {
		vm_qmp_error(vm, cmd, st, err, &e);
		log_warn("vm_qmp_failed", "vm=%s command=%s error=%s", vm->spec.name, cmd,
		         log_quote(e.message));
		op->done(op->ctx, 0, NULL, &e);
	} else if (op->then_refresh) {
		log_info("vm_qmp", "vm=%s command=%s", vm->spec.name, cmd);
		vm_refresh_status(vm, op->done, op->ctx);
	} else {
		op->done(op->ctx, 200, json_incref(ret), NULL);
	}
	free(op);
	vm_release(vm);
}

int vm_power(struct vm *vm, enum vm_power_op pop, vm_done_fn done, void *ctx, struct errinfo *e)
{
	static const char *const verbs[] = {"pause", "resume", "reset"};
	enum vm_state need = pop == VM_RESUME ? VM_PAUSED : VM_RUNNING;
	/* A reset of a stopped VM would do nothing: refused like a pause. */
	if (vm->state != need || !vm->qmp)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; %s needs it %s",
		                   vm->spec.name, vm_state_name(vm->state), verbs[pop], vm_state_name(need));
	struct qmp_op *op = qmp_op_new(vm, true, done, ctx);
	switch (pop) {
	case VM_PAUSE:
		qmp_stop(vm->qmp, on_qmp_op, op);
		break;
	case VM_RESUME:
		qmp_cont(vm->qmp, on_qmp_op, op);
		break;
	case VM_RESET:
		qmp_system_reset(vm->qmp, on_qmp_op, op);
		break;
	}
	return 0;
}

static int need_qmp(struct vm *vm, struct errinfo *e)
{
	if (vm->qmp)
		return 0;
	return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s", vm->spec.name,
	                   vm_state_name(vm->state));
}

int vm_disk_resize_live(struct vm *vm, const struct vm_disk *d, uint64_t size_mib, vm_done_fn done,
                        void *ctx, struct errinfo *e)
{
	if (need_qmp(vm, e) < 0)
		return -1;
	char dev[96];
	snprintf(dev, sizeof(dev), "drive-%s", d->name);
	qmp_block_resize(vm->qmp, dev, size_mib << 20, on_qmp_op, qmp_op_new(vm, false, done, ctx));
	return 0;
}

int vm_blockstats(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e)
{
	if (need_qmp(vm, e) < 0)
		return -1;
	qmp_query_blockstats(vm->qmp, on_qmp_op, qmp_op_new(vm, false, done, ctx));
	return 0;
}

/* ---- delete ------------------------------------------------------------ */

int vm_delete(struct vm *vm, enum vm_disks_fate fate, struct errinfo *e)
{
	struct agent *a = vm->agent;
	if (vm->move)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is moving its disk to another datastore; delete it "
		                   "once that is done", vm->spec.name);
	if (vm->state != VM_STOPPED && vm->state != VM_CRASHED)
		return errinfo_set(e, 409, "invalid_state", NULL,
		                   "VM '%s' is %s; stop it first (or delete with ?force=true)",
		                   vm->spec.name, vm_state_name(vm->state));
	/* The intent names what becomes of the disks, so a delete finished
	 * after a crash does the same: release.json never removes them. */
	bool keep = fate != VM_DISKS_REMOVE;
	char from[1100], to[1100];
	vm_store_path(vm, "spec.json", from, sizeof(from));
	vm_store_path(vm, keep ? "release.json" : "delete.json", to, sizeof(to));
	if (rename(from, to) < 0)
		return errinfo_set(e, 500, "store", NULL, "cannot mark %s for deletion: %s", from,
		                   strerror(errno));
	crash_point("delete:after_intent");
	if (fate == VM_DISKS_REMOVE)
		vm_remove_seed(vm);
	else if (fate == VM_DISKS_KEEP)
		vm_id_disown_files(vm);
	vm_cgroup_remove(vm);
	int rc = vm_store_remove(vm, keep, e);
	vm_unlink(a, vm);
	log_info("vm_deleted", "vm=%s disks=%s", vm->spec.name,
	         fate == VM_DISKS_REMOVE ? "removed" : fate == VM_DISKS_KEEP ? "kept" : "left");
	vm->deleted = true; /* freed now, or by the last operation still in flight */
	vm->holds++;
	vm_release(vm);
	return rc;
}

int vm_kill_now(struct vm *vm, struct errinfo *e)
{
	vm->expect_exit = true;
	kill(vm->pid, SIGKILL);
	for (int i = 0; i < 1000 && vm->pid > 0; i++) {
		struct pollfd p = {.fd = vm->pidfd, .events = POLLIN};
		if (vm->pidfd < 0)
			usleep(10000);
		if (vm->pidfd < 0 || poll(&p, 1, 10) > 0)
			vm_handle_exit(vm);
	}
	if (vm->pid > 0)
		return errinfo_set(e, 500, "kill", NULL, "QEMU (pid %d) did not exit after SIGKILL",
		                   (int)vm->pid);
	return 0;
}

