/* images.c - the host's image copies on its datastores (see images.h). An
 * image arrives as an upload spooled to a file; it is judged from its own
 * header (image_inspect) before it is kept, and kept read-only. */
#include "images.h"

#include "agent.h"
#include "fsutil.h"
#include "image_format.h"
#include "jsonv.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void image_dir(const struct datastore *ds, char *out, size_t n)
{
	snprintf(out, n, "%s/images", ds->path);
}

json_t *images_meta_json(const struct image_meta *m)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", m->id, "kind", m->kind, "format",
	                 m->format, "sha256", m->sha256, "datastore", m->datastore, "size_bytes",
	                 (json_int_t)m->size_bytes, "virtual_bytes", (json_int_t)m->virtual_bytes);
}

static int meta_read(const char *path, struct image_meta *m)
{
	json_t *j = json_load_file(path, 0, NULL);
	if (!j)
		return -1;
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *fmt = json_string_value(json_object_get(j, "format"));
	const char *sha = json_string_value(json_object_get(j, "sha256"));
	int rc = kind && fmt && sha ? 0 : -1;
	if (rc == 0) {
		snprintf(m->kind, sizeof(m->kind), "%s", kind);
		snprintf(m->format, sizeof(m->format), "%s", fmt);
		snprintf(m->sha256, sizeof(m->sha256), "%s", sha);
		m->size_bytes = (uint64_t)json_integer_value(json_object_get(j, "size_bytes"));
		m->virtual_bytes = (uint64_t)json_integer_value(json_object_get(j, "virtual_bytes"));
	}
	json_decref(j);
	return rc;
}

/* An id is a safe name that is not also the name of an image's record:
 * image "x.json" would be stored over the sidecar of image "x", and a
 * sidecar written by an uploader could then declare a raw file qcow2. */
static bool image_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	return id && jv_is_safe_name(id) && !(n >= 5 && !strcmp(id + n - 5, ".json"));
}

int images_find(struct agent *a, const char *id, const char *want_kind, const char *field, char *path,
                size_t pathlen, struct image_meta *meta, struct errinfo *e)
{
	if (!image_id_valid(id))
		return errinfo_set(e, 400, "invalid_spec", field,
		                   "%s: '%s' is not an image id (images are named by id, never by a host path)",
		                   field, id);
	for (int i = 0; i < a->cfg.ndatastores; i++) {
		char dir[1100], side[1200];
		image_dir(&a->cfg.datastores[i], dir, sizeof(dir));
		snprintf(path, pathlen, "%s/%s", dir, id);
		snprintf(side, sizeof(side), "%s/%s.json", dir, id);
		struct stat st;
		/* lstat: an image is a regular file the agent put there itself. */
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		memset(meta, 0, sizeof(*meta));
		if (meta_read(side, meta) < 0)
			continue;
		snprintf(meta->id, sizeof(meta->id), "%s", id);
		snprintf(meta->datastore, sizeof(meta->datastore), "%s", a->cfg.datastores[i].name);
		if (want_kind && strcmp(meta->kind, want_kind))
			return errinfo_set(e, 400, "invalid_spec", field, "%s: image %s is a %s image, not a %s",
			                   field, id, meta->kind, want_kind);
		return 0;
	}
	return errinfo_set(e, 400, "invalid_spec", field,
	                   "%s: no image %s on this host; upload it first (PUT /api/v1/images/%s)", field,
	                   id, id);
}

/* Reads the file's head and judges it. */
static int inspect_file(const char *path, uint64_t size, enum image_kind kind, const char *format,
                        struct image_facts *facts, struct errinfo *e)
{
	unsigned char *head = malloc(IMAGE_HEAD_BYTES);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd >= 0 && head ? pread(fd, head, IMAGE_HEAD_BYTES, 0) : -1;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(head);
		return errinfo_set(e, 500, "image", NULL, "cannot read the uploaded image: %s", strerror(saved));
	}
	char why[512];
	int rc = image_inspect(head, (size_t)n, size, kind, format, facts, why, sizeof(why));
	free(head);
	if (rc < 0)
		return errinfo_set(e, 400, "invalid_image", NULL, "the image %s", why);
	return 0;
}

/* Moves the spooled upload (on the first datastore) to path: a rename on
 * the same filesystem, else a copy (synced) to .<id>.part beside path and a
 * rename of that; ids never start with '.', so no image is overwritten.
 * 0 or -errno, and then nothing is left at path. */
static int move_upload(const char *spool_path, const char *dir, const char *id, const char *path)
{
	if (rename(spool_path, path) == 0)
		return 0;
	if (errno != EXDEV)
		return -errno;
	char part[1200];
	snprintf(part, sizeof(part), "%s/.%s.part", dir, id);
	int in = open(spool_path, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0444);
	int rc = in < 0 || out < 0 ? -errno : 0;
	char *buf = rc == 0 ? malloc(1 << 20) : NULL;
	if (rc == 0 && !buf)
		rc = -ENOMEM;
	while (rc == 0) {
		ssize_t n = read(in, buf, 1 << 20);
		if (n == 0)
			break;
		for (ssize_t off = 0; n > 0 && off < n && rc == 0;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				rc = -errno;
			off += w > 0 ? w : 0;
		}
		if (n < 0 && errno != EINTR)
			rc = -errno;
	}
	free(buf);
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = -errno;
	if (in >= 0)
		close(in);
	if (rc == 0 && rename(part, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(part);
		return rc;
	}
	unlink(spool_path);
	return 0;
}

int images_add(struct agent *a, const char *id, const char *datastore, const char *kind,
               const char *format, const char *expect_sha256, const char *spool_path,
               uint64_t size, const char *sha256, int *existed, struct errinfo *e)
{
	*existed = 0;
	if (!image_id_valid(id))
		return errinfo_set(e, 400, "invalid_request", "id",
		                   "'%s' is not a valid image id: letters, digits, '.', '-' and '_', "
		                   "not ending in .json", id);
	int k = image_kind_parse(kind);
	if (k < 0)
		return errinfo_set(e, 400, "invalid_request", "kind", "kind must be disk, kernel, initrd or iso, not '%s'",
		                   kind ? kind : "");
	if (!format)
		format = k == IMAGE_DISK ? "" : "raw";
	const struct datastore *ds = config_datastore(&a->cfg, datastore ? datastore : a->cfg.datastores[0].name);
	if (!ds)
		return errinfo_set(e, 400, "invalid_request", "datastore", "no datastore '%s' on this host", datastore);
	if (expect_sha256 && strcmp(expect_sha256, sha256))
		return errinfo_set(e, 400, "checksum_mismatch", "sha256",
		                   "the upload's SHA-256 is %s, not the %s expected; send it again", sha256,
		                   expect_sha256);
	char path[1200];
	struct image_meta old;
	struct errinfo fe = {0};
	if (images_find(a, id, NULL, "id", path, sizeof(path), &old, &fe) == 0) {
		if (strcmp(old.sha256, sha256))
			return errinfo_set(e, 409, "image_exists", "id",
			                   "image %s is here already with other content (SHA-256 %s)", id, old.sha256);
		*existed = 1;
		return 0;
	}
	struct image_facts facts;
	if (inspect_file(spool_path, size, (enum image_kind)k, format, &facts, e) < 0)
		return -1;
	char dir[1100], side[1200], tmp[1200];
	image_dir(ds, dir, sizeof(dir));
	if (fs_mkdir_p(dir, 0755) < 0)
		return errinfo_set(e, 500, "datastore", NULL, "cannot create %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	snprintf(side, sizeof(side), "%s/%s.json", dir, id);
	struct image_meta m = {0};
	snprintf(m.id, sizeof(m.id), "%s", id);
	snprintf(m.kind, sizeof(m.kind), "%s", kind);
	snprintf(m.format, sizeof(m.format), "%s", format);
	snprintf(m.sha256, sizeof(m.sha256), "%s", sha256);
	snprintf(m.datastore, sizeof(m.datastore), "%s", ds->name);
	m.size_bytes = size;
	m.virtual_bytes = facts.virtual_bytes;
	json_t *mj = images_meta_json(&m);
	char *text = json_dumps(mj, JSON_COMPACT);
	json_decref(mj);
	/* The sidecar first, then the file: images_find needs both, so a crash
	 * in between leaves a sidecar without its image, which is ignored. */
	int rc = text ? fs_write_atomic(side, text, strlen(text), 0644) : -ENOMEM;
	free(text);
	if (rc < 0)
		return errinfo_set(e, rc == -ENOSPC ? 507 : 500, "datastore", NULL, "cannot write %s: %s", side,
		                   strerror(-rc));
	chmod(spool_path, 0444);
	rc = move_upload(spool_path, dir, id, path);
	if (rc < 0) {
		int saved = -rc;
		snprintf(tmp, sizeof(tmp), "%s", path);
		unlink(side);
		return errinfo_set(e, saved == ENOSPC ? 507 : 500, "datastore", NULL,
		                   "cannot move the image into %s: %s", tmp, strerror(saved));
	}
	log_info("image_added", "image=%s kind=%s format=%s bytes=%llu datastore=%s", id, kind, format,
	         (unsigned long long)size, ds->name);
	return 0;
}

json_t *images_list(struct agent *a)
{
	json_t *arr = json_array();
	for (int i = 0; i < a->cfg.ndatastores; i++) {
		char dir[1100];
		image_dir(&a->cfg.datastores[i], dir, sizeof(dir));
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);
			if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
				continue;
			char id[64];
			snprintf(id, sizeof(id), "%.*s", (int)(n - 5), de->d_name);
			char path[1200];
			struct image_meta m;
			struct errinfo e = {0};
			if (images_find(a, id, NULL, "id", path, sizeof(path), &m, &e) == 0 &&
			    !strcmp(m.datastore, a->cfg.datastores[i].name))
				json_array_append_new(arr, images_meta_json(&m));
		}
		closedir(d);
	}
	return arr;
}

int images_remove(struct agent *a, const char *id, struct errinfo *e)
{
	char path[1200], side[1300];
	struct image_meta m;
	if (images_find(a, id, NULL, "id", path, sizeof(path), &m, e) < 0) {
		e->status = 404;
		snprintf(e->code, sizeof(e->code), "not_found");
		return -1;
	}
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		bool uses = (vm->spec.kernel && !strcmp(vm->spec.kernel, path)) ||
		            (vm->spec.initrd && !strcmp(vm->spec.initrd, path)) ||
		            !strcmp(vm->spec.cdrom_image, id);
		for (int i = 0; i < vm->spec.ndisks; i++)
			uses = uses || (vm->spec.disks[i].template_path && !strcmp(vm->spec.disks[i].template_path, path));
		if (uses)
			return errinfo_set(e, 409, "in_use", NULL, "image %s is used by VM '%s'; delete the VM first", id,
			                   vm->spec.name);
	}
	snprintf(side, sizeof(side), "%s.json", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return errinfo_set(e, 500, "datastore", NULL, "cannot remove %s: %s", path, strerror(errno));
	unlink(side);
	log_info("image_removed", "image=%s", id);
	return 0;
}

int images_prepare(struct agent *a, char *spool, size_t n)
{
	char dir[1100];
	image_dir(&a->cfg.datastores[0], dir, sizeof(dir));
	snprintf(spool, n, "%s/.spool", dir);
	/* The image directory first, open to every VM identity (each reads its
	 * images); made as the spool's parent it would be 0700 like the spool,
	 * and no QEMU could open an image. chmod: one made so before stays so. */
	if (fs_mkdir_p(dir, 0755) < 0 || chmod(dir, 0755) < 0 || fs_mkdir_p(spool, 0700) < 0)
		return -1;
	/* Uploads a crash interrupted are of no use: start empty. */
	DIR *d = opendir(spool);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, ".upload-", 8)) {
				char p[1300];
				snprintf(p, sizeof(p), "%s/%s", spool, de->d_name);
				unlink(p);
			}
		closedir(d);
	}
	return 0;
}
