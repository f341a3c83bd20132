/* disk.c - qemu-img is the well-kept tool for image files; we run it and
 * pass its words on rather than re-implementing qcow2. */
#include "disk.h"

#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int qemu_img(const char *const argv[], const char *what, const char *field,
                    struct errinfo *e, char *out, size_t outlen)
{
	char buf[2048];
	char *o = out ? out : buf;
	size_t olen = out ? outlen : sizeof(buf);
	int rc = run_capture(argv, o, olen);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return errinfo_set(e, 500, "qemu_img", field, "cannot run qemu-img: %s (install qemu-utils)",
		                   strerror(-rc));
	run_trim(o);
	unsigned status = strstr(o, "No space left") ? 507 : 500;
	return errinfo_set(e, status, status == 507 ? "datastore_full" : "qemu_img", field,
	                   "%s failed: %s", what, o);
}

int disk_info(const char *path, const char *known_format, char *format, size_t flen,
              uint64_t *virtual_bytes, const char *field, struct errinfo *e)
{
	char out[65536];
	const char *argv[] = {"qemu-img", "info", "--output=json", "-U", "-f", known_format, path, NULL};
	if (access(path, R_OK) < 0)
		return errinfo_set(e, 400, "invalid_spec", field, "cannot read '%s': %s", path,
		                   strerror(errno));
	if (qemu_img(argv, "reading the image", field, e, out, sizeof(out)) < 0) {
		e->status = 400;
		return -1;
	}
	json_error_t je;
	json_t *info = json_loads(out, 0, &je);
	const char *fmt = json_string_value(json_object_get(info, "format"));
	json_int_t vs = json_integer_value(json_object_get(info, "virtual-size"));
	if (!fmt) {
		json_decref(info);
		return errinfo_set(e, 400, "invalid_spec", field, "'%s' is not a disk image qemu-img reads",
		                   path);
	}
	snprintf(format, flen, "%s", fmt);
	*virtual_bytes = (uint64_t)vs;
	json_decref(info);
	return 0;
}

int disk_create_blank(const char *path, uint64_t size_mib, const char *field, struct errinfo *e)
{
	char size[32];
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)size_mib);
	const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-o",
	                      "lazy_refcounts=on", path, size, NULL};
	return qemu_img(argv, "creating the disk", field, e, NULL, 0);
}

int disk_create_clone(const char *path, const char *template_path, const char *template_format,
                      uint64_t size_mib, const char *field, struct errinfo *e)
{
	char size[32];
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)size_mib);
	const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", template_path,
	                      "-F", template_format, path, size_mib ? size : NULL, NULL};
	return qemu_img(argv, "creating the linked clone", field, e, NULL, 0);
}

int disk_create_copy(const char *path, const char *source, const char *source_format,
                     uint64_t size_mib, uint64_t source_bytes, const char *field, struct errinfo *e)
{
	const char *argv[] = {"qemu-img", "convert", "-q", "-f", source_format, "-O", "qcow2", "-o",
	                      "lazy_refcounts=on", source, path, NULL};
	if (qemu_img(argv, "copying the disk", field, e, NULL, 0) < 0)
		return -1;
	return size_mib && (size_mib << 20) > source_bytes ? disk_resize(path, size_mib, e) : 0;
}

int disk_resize(const char *path, uint64_t size_mib, struct errinfo *e)
{
	char size[32];
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)size_mib);
	const char *argv[] = {"qemu-img", "resize", "-q", "-f", "qcow2", path, size, NULL};
	return qemu_img(argv, "resizing the disk", "size_mib", e, NULL, 0);
}

int disk_snapshot_create(const char *path, const char *name, struct errinfo *e)
{
	const char *argv[] = {"qemu-img", "snapshot", "-q", "-c", name, path, NULL};
	return qemu_img(argv, "creating the snapshot", "name", e, NULL, 0);
}

int disk_snapshot_apply(const char *path, const char *name, struct errinfo *e)
{
	const char *argv[] = {"qemu-img", "snapshot", "-q", "-a", name, path, NULL};
	return qemu_img(argv, "reverting to the snapshot", NULL, e, NULL, 0);
}

int disk_snapshot_delete(const char *path, const char *name, struct errinfo *e)
{
	const char *argv[] = {"qemu-img", "snapshot", "-q", "-d", name, path, NULL};
	return qemu_img(argv, "deleting the snapshot", NULL, e, NULL, 0);
}

json_t *disk_snapshot_list(const char *path, struct errinfo *e)
{
	char out[65536];
	const char *argv[] = {"qemu-img", "info", "--output=json", "-U", path, NULL};
	if (qemu_img(argv, "listing snapshots", NULL, e, out, sizeof(out)) < 0)
		return NULL;
	json_error_t je;
	json_t *info = json_loads(out, 0, &je);
	json_t *list = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(info, "snapshots"), i, s) {
		json_array_append_new(
		    list, json_pack("{s:s?, s:I, s:I}", "name",
		                    json_string_value(json_object_get(s, "name")), "vm_state_bytes",
		                    json_integer_value(json_object_get(s, "vm-state-size")), "date_sec",
		                    json_integer_value(json_object_get(s, "date-sec"))));
	}
	json_decref(info);
	return list;
}
