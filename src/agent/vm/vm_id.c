/* vm_id.c - each VM's own identity on this host: a uid and gid of its own,
 * from the agent's range (as Firecracker's jailer gives each microVM one),
 * under which its QEMU and every qemu-img run on its disks run, and which
 * owns its files and nothing else. */
#include "vm_internal.h"

#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool id_taken(struct agent *a, unsigned id)
{
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		if (vm->spec.uid == id || vm->spec.gid == id)
			return true;
	/* Never an id a user or group of this host already has. */
	return getpwuid(id) || getgrgid(id);
}

bool vm_id_free(struct agent *a, unsigned id)
{
	return id >= a->cfg.vm_id_lo && id <= a->cfg.vm_id_hi && !id_taken(a, id);
}

/* FNV-1a of the uuid's text: where in the range its search starts. */
static unsigned long uuid_place(const char *uuid)
{
	unsigned long h = 2166136261u;
	for (const char *p = uuid ? uuid : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h & 0xffffffffu;
}

int vm_id_alloc(struct agent *a, const char *uuid, unsigned *id, struct errinfo *e)
{
	unsigned long lo = a->cfg.vm_id_lo, n = (unsigned long)a->cfg.vm_id_hi - lo + 1;
	unsigned long start = uuid && uuid[0] ? uuid_place(uuid) % n : 0;
	for (unsigned long k = 0; k < n; k++) {
		unsigned i = (unsigned)(lo + (start + k) % n);
		if (!id_taken(a, i)) {
			*id = i;
			return 0;
		}
	}
	return errinfo_set(e, 507, "no_identity", NULL,
	                   "every VM identity of this host's range %u-%u is in use; delete a VM or "
	                   "widen vm-id-range", a->cfg.vm_id_lo, a->cfg.vm_id_hi);
}

void vm_id_access(const struct agent *a, const struct vm_spec *spec, gid_t extra_group,
                  struct vm_access *va)
{
	const struct agent_config *c = &a->cfg;
	memset(va, 0, sizeof(*va));
	va->as.uid = spec->uid;
	va->as.gid = spec->gid;
	if (extra_group) {
		va->groups[0] = extra_group;
		va->as.groups = va->groups;
		va->as.ngroups = 1;
	}
	int n = 0;
	for (int i = 0; i < c->ndatastores; i++)
		va->roots[n++] = c->datastores[i].path;
	for (int i = 0; i < c->nimage_roots; i++)
		va->roots[n++] = c->image_roots[i];
	va->da.as = &va->as;
	va->da.roots = va->roots;
	va->da.nroots = n;
}

/* The part of path below datastore ds ("VM/disk.qcow2"), or NULL when the
 * path is not under it. */
static const char *below(const struct datastore *ds, const char *path)
{
	size_t n = strlen(ds->path);
	if (strncmp(path, ds->path, n) || path[n] != '/' || !path[n + 1])
		return NULL;
	return path + n + 1;
}

/* Sets owner and mode of rel under the datastore, never following a link. */
static int own(const struct datastore *ds, const char *rel, bool dir, uid_t uid, gid_t gid,
               mode_t mode, struct errinfo *e)
{
	int fd = fs_open_beneath(ds->path, rel, O_RDONLY | O_NONBLOCK | (dir ? O_DIRECTORY : 0), 0);
	struct stat st;
	int rc = fd < 0 ? fd : fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0 && (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
		rc = -EINVAL;
	if (rc == 0 && (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		return errinfo_set(e, 500, "datastore", NULL, "cannot give %s/%s to uid %u: %s", ds->path,
		                   rel, (unsigned)uid, strerror(-rc));
	return 0;
}

int vm_id_create_file(struct vm *vm, const char *path, mode_t mode, const char *field,
                      struct errinfo *e)
{
	const struct datastore *ds = NULL;
	const char *rel = NULL;
	for (int i = 0; i < vm->agent->cfg.ndatastores && !rel; i++)
		if ((rel = below(&vm->agent->cfg.datastores[i], path)))
			ds = &vm->agent->cfg.datastores[i];
	if (!rel)
		return errinfo_set(e, 500, "datastore", field, "%s is not in a datastore", path);
	int fd = fs_open_beneath(ds->path, rel, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return errinfo_set(e, fd == -ENOSPC ? 507 : fd == -EEXIST ? 409 : 500,
		                   fd == -EEXIST ? "disk_exists" : "datastore", field, "cannot create %s: %s",
		                   path, strerror(-fd));
	int rc = fchown(fd, vm->spec.uid, vm->spec.gid) < 0 || fchmod(fd, mode) < 0 ? -errno : 0;
	close(fd);
	if (rc < 0) {
		unlink(path);
		return errinfo_set(e, 500, "datastore", field, "cannot give %s to uid %u: %s", path,
		                   vm->spec.uid, strerror(-rc));
	}
	return 0;
}

/* Every file of the VM on the datastores: (uid, gid, file mode, dir mode). */
static int own_all(struct vm *vm, uid_t uid, gid_t gid, mode_t fmode, mode_t dmode, mode_t smode,
                   struct errinfo *e)
{
	struct agent *a = vm->agent;
	char rel[256];
	for (int i = 0; i < vm->spec.ndisks; i++) {
		const struct vm_disk *d = &vm->spec.disks[i];
		const struct datastore *ds = config_datastore(&a->cfg, d->datastore);
		if (!ds)
			continue;
		snprintf(rel, sizeof(rel), "%s", vm->spec.name);
		if (own(ds, rel, true, 0, gid, dmode, e) < 0)
			return -1;
		const char *file = d->path ? below(ds, d->path) : NULL;
		if (file && fs_exists(d->path) && own(ds, file, false, uid, gid, fmode, e) < 0)
			return -1;
	}
	if (vm->spec.ndisks) {
		/* The UEFI variable store: QEMU writes it (fmode's owner bit). */
		const struct datastore *ds = config_datastore(&a->cfg, vm->spec.disks[0].datastore);
		char path[1400];
		snprintf(path, sizeof(path), "%s/%s/uefi-vars.fd", ds ? ds->path : "", vm->spec.name);
		snprintf(rel, sizeof(rel), "%s/uefi-vars.fd", vm->spec.name);
		if (ds && fs_exists(path) && own(ds, rel, false, uid, gid, fmode, e) < 0)
			return -1;
	}
	if (vm->spec.has_cloud_init) {
		const char *dsname = vm->spec.ndisks ? vm->spec.disks[0].datastore : a->cfg.datastores[0].name;
		const struct datastore *ds = config_datastore(&a->cfg, dsname);
		char path[1400];
		snprintf(rel, sizeof(rel), "%s", vm->spec.name);
		snprintf(path, sizeof(path), "%s/%s/cidata.iso", ds ? ds->path : "", vm->spec.name);
		if (ds && fs_exists(path)) {
			if (own(ds, rel, true, 0, gid, dmode, e) < 0)
				return -1;
			snprintf(rel, sizeof(rel), "%s/cidata.iso", vm->spec.name);
			if (own(ds, rel, false, uid, gid, smode, e) < 0)
				return -1;
		}
	}
	return 0;
}

int vm_id_own_files(struct vm *vm, struct errinfo *e)
{
	/* The directory is root's: QEMU opens its files but can neither add
	 * nor replace an entry (no symlink planted where a disk was). The
	 * group may read a disk: only a copy of this VM runs with it. */
	return own_all(vm, vm->spec.uid, vm->spec.gid, 0640, 0750, 0400, e);
}

void vm_id_disown_files(struct vm *vm)
{
	struct errinfo e = {0};
	/* Kept disks outlive the identity, which a new VM may get: root's. */
	if (own_all(vm, 0, 0, 0600, 0700, 0400, &e) < 0)
		log_warn("disown_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
}

void vm_id_vnc_dir(const struct vm *vm, char *out, size_t n)
{
	snprintf(out, n, "%s/vnc/%s", vm->agent->cfg.run_dir, vm->spec.name);
}

int vm_id_make_vnc_dir(struct vm *vm, struct errinfo *e)
{
	char dir[1200];
	vm_id_vnc_dir(vm, dir, sizeof(dir));
	fs_remove_tree(dir);
	/* The VM's own, 0700: QEMU makes its socket there; nobody else enters. */
	if (mkdir(dir, 0700) < 0 || chown(dir, vm->spec.uid, vm->spec.gid) < 0)
		return errinfo_set(e, 500, "store", NULL, "cannot create %s: %s", dir, strerror(errno));
	return 0;
}
