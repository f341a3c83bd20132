/* disk.c - qemu-img is the well-kept tool for image files; we run it (as the
 * VM's identity, with the format named) and pass its words on rather than
 * re-implementing qcow2. The one thing read here directly is a backing
 * chain, one image at a time, so nothing outside the roots is ever opened. */
#include "disk.h"

#include "qemu_cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int qemu_img(const struct run_as *as, const char *const argv[], const char *what,
                    const char *field, struct errinfo *e, char *out, size_t outlen)
{
	char buf[2048];
	char *o = out ? out : buf;
	size_t olen = out ? outlen : sizeof(buf);
	int rc = run_capture_as(as, argv, o, olen);
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

static bool known_format(const char *f) { return !strcmp(f, "qcow2") || !strcmp(f, "raw"); }

/* As QEMU decides it (path_has_protocol): a ':' before any '/'. */
static bool has_protocol(const char *name)
{
	return name[strcspn(name, ":/")] == ':';
}

/* True when real (a resolved path) lies strictly inside one of the roots. */
static bool in_roots(const struct disk_access *da, const char *real)
{
	for (int i = 0; i < da->nroots; i++) {
		char root[PATH_MAX];
		if (!realpath(da->roots[i], root))
			continue;
		size_t n = strlen(root);
		if (n > 1 && !strncmp(real, root, n) && real[n] == '/' && real[n + 1] != '\0')
			return true;
	}
	return false;
}

static int unsafe(struct errinfo *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int unsafe(struct errinfo *e, const char *field, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return errinfo_set(e, 400, "unsafe_image", field, "%s", msg);
}

/* One image of a chain: must be a regular file in the roots, and (shared)
 * root's, writable by nobody else and readable by every VM. */
static int check_file(const struct disk_access *da, const char *real, const char *named,
                      bool shared, const char *field, struct errinfo *e)
{
	struct stat st;
	if (!in_roots(da, real))
		return unsafe(e, field,
		              "'%s' lies outside this host's datastores and image roots; refusing to open "
		              "it (images must be in a datastore or an image root of the agent)", named);
	if (stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return unsafe(e, field, "'%s' is not a regular file", named);
	if (shared && (st.st_uid != 0 || (st.st_mode & 022)))
		return unsafe(e, field,
		              "'%s' is a shared image that is writable by others (owner uid %u, mode %04o); "
		              "a shared image must be root's and read-only to everyone else",
		              named, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	if (shared && !(st.st_mode & 004))
		return unsafe(e, field,
		              "'%s' is a shared image the VMs cannot read (mode %04o); make it readable "
		              "by all (chmod 0644)", named, (unsigned)(st.st_mode & 07777));
	return 0;
}

int disk_check_chain(const struct disk_access *da, const char *path, const char *format,
                     bool shared, uint64_t *virtual_bytes, const char *field, struct errinfo *e)
{
	char cur[PATH_MAX], fmt[16], named[PATH_MAX];
	if (!realpath(path, cur))
		return unsafe(e, field, "cannot resolve '%s': %s", path, strerror(errno));
	snprintf(fmt, sizeof(fmt), "%s", format);
	snprintf(named, sizeof(named), "%s", path);
	for (int depth = 0; depth < DISK_MAX_CHAIN; depth++) {
		if (!known_format(fmt))
			return unsafe(e, field, "'%s' has format '%s'; only qcow2 and raw images are used",
			              named, fmt);
		if (check_file(da, cur, named, shared || depth > 0, field, e) < 0)
			return -1;
		if (!strcmp(fmt, "raw")) { /* no header: nothing further to follow */
			struct stat st;
			if (depth == 0 && virtual_bytes && stat(cur, &st) == 0)
				*virtual_bytes = (uint64_t)st.st_size;
			return 0;
		}
		char out[65536];
		const char *argv[] = {"qemu-img", "info", "-U", "-f", fmt, "--output=json", cur, NULL};
		if (qemu_img(da->as, argv, "reading the image", field, e, out, sizeof(out)) < 0) {
			e->status = 400;
			return -1;
		}
		json_error_t je;
		json_t *info = json_loads(out, 0, &je);
		const char *got = json_string_value(json_object_get(info, "format"));
		json_t *spec = json_object_get(json_object_get(info, "format-specific"), "data");
		const char *backing = json_string_value(json_object_get(info, "backing-filename"));
		const char *bfmt = json_string_value(json_object_get(info, "backing-filename-format"));
		int rc = 0;
		if (!got || strcmp(got, fmt))
			rc = unsafe(e, field, "'%s' does not read as %s", named, fmt);
		else if (json_object_get(spec, "data-file"))
			rc = unsafe(e, field, "'%s' keeps its data in an external file ('%s'); refusing it",
			            named, json_string_value(json_object_get(spec, "data-file")) ?: "?");
		else if (backing && has_protocol(backing))
			rc = unsafe(e, field,
			            "'%s' has backing file '%s', which is not a plain file (a protocol such as "
			            "json: or nbd:); refusing it", named, backing);
		else if (backing && !bfmt)
			rc = unsafe(e, field,
			            "'%s' has backing file '%s' without a recorded format (QEMU would probe "
			            "it); refusing it", named, backing);
		if (rc == 0 && depth == 0 && virtual_bytes)
			*virtual_bytes = (uint64_t)json_integer_value(json_object_get(info, "virtual-size"));
		char next[PATH_MAX * 2] = "";
		if (rc == 0 && backing) {
			if (backing[0] == '/') {
				snprintf(next, sizeof(next), "%s", backing);
			} else { /* relative to the directory of the image naming it */
				const char *slash = strrchr(cur, '/');
				snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - cur), cur, backing);
			}
			snprintf(named, sizeof(named), "%s", backing);
			snprintf(fmt, sizeof(fmt), "%s", bfmt);
		}
		json_decref(info);
		if (rc < 0)
			return -1;
		if (!next[0])
			return 0;
		if (!realpath(next, cur)) {
			return unsafe(e, field, "backing file '%s' cannot be resolved (%s); refusing it", named,
			              strerror(errno));
		}
	}
	return unsafe(e, field, "'%s' has a backing chain deeper than %d images", path, DISK_MAX_CHAIN);
}

int disk_shared_format(const struct disk_access *da, const char *path, char *format, size_t flen,
                       const char *field, struct errinfo *e)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return errinfo_set(e, 400, "invalid_spec", field, "cannot read '%s': %s", path,
		                   strerror(errno));
	if (check_file(da, real, path, true, field, e) < 0)
		return -1;
	int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errinfo_set(e, 400, "invalid_spec", field, "cannot read '%s': %s", path,
		                   strerror(errno));
	unsigned char magic[4] = {0};
	ssize_t n = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	snprintf(format, flen, "%s", n == 4 && !memcmp(magic, "QFI\xfb", 4) ? "qcow2" : "raw");
	return 0;
}

int disk_info(const struct run_as *as, const char *path, const char *format,
              uint64_t *virtual_bytes, const char *field, struct errinfo *e)
{
	char out[65536];
	const char *argv[] = {"qemu-img", "info", "-U", "-f", format, "--output=json", path, NULL};
	if (qemu_img(as, argv, "reading the image", field, e, out, sizeof(out)) < 0)
		return -1;
	json_error_t je;
	json_t *info = json_loads(out, 0, &je);
	json_t *vs = json_object_get(info, "virtual-size");
	if (!json_is_integer(vs)) {
		json_decref(info);
		return errinfo_set(e, 500, "qemu_img", field, "qemu-img gave no size for '%s'", path);
	}
	*virtual_bytes = (uint64_t)json_integer_value(vs);
	json_decref(info);
	return 0;
}

int disk_backing(const struct run_as *as, const char *path, char *backing, size_t n, char *format, size_t fn,
                 struct errinfo *e)
{
	char out[65536];
	const char *argv[] = {"qemu-img", "info", "-U", "-f", "qcow2", "--output=json", path, NULL};
	if (qemu_img(as, argv, "reading the image", NULL, e, out, sizeof(out)) < 0)
		return -1;
	json_t *info = json_loads(out, 0, NULL);
	const char *b = json_string_value(json_object_get(info, "full-backing-filename"))
	                    ?: json_string_value(json_object_get(info, "backing-filename"));
	snprintf(backing, n, "%s", b ? b : "");
	const char *f = json_string_value(json_object_get(info, "backing-filename-format"));
	snprintf(format, fn, "%s", f ? f : "");
	json_decref(info);
	return 0;
}

int disk_create_blank(const struct run_as *as, const char *path, uint64_t size_mib,
                      const char *field, struct errinfo *e)
{
	char size[32];
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)size_mib);
	const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-o",
	                      "lazy_refcounts=on", path, size, NULL};
	return qemu_img(as, argv, "creating the disk", field, e, NULL, 0);
}

int disk_create_clone(const struct run_as *as, const char *path, const char *template_path,
                      const char *template_format, uint64_t size_mib, const char *field,
                      struct errinfo *e)
{
	char size[32];
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)size_mib);
	const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", template_path,
	                      "-F", template_format, path, size_mib ? size : NULL, NULL};
	return qemu_img(as, argv, "creating the linked clone", field, e, NULL, 0);
}

int disk_create_copy(const struct run_as *as, const char *path, const char *source,
                     const char *source_format, uint64_t size_mib, uint64_t source_bytes,
                     const char *field, struct errinfo *e)
{
	const char *argv[] = {"qemu-img", "convert", "-q", "-f", source_format, "-O", "qcow2", "-o",
	                      "lazy_refcounts=on", source, path, NULL};
	if (qemu_img(as, argv, "copying the disk", field, e, NULL, 0) < 0)
		return -1;
	return size_mib && (size_mib << 20) > source_bytes ? disk_resize(as, path, size_mib, e) : 0;
}

int disk_resize(const struct run_as *as, const char *path, uint64_t size_mib, struct errinfo *e)
{
	char size[32];
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)size_mib);
	const char *argv[] = {"qemu-img", "resize", "-q", "-f", "qcow2", path, size, NULL};
	return qemu_img(as, argv, "resizing the disk", "size_mib", e, NULL, 0);
}

static int snapshot(const struct run_as *as, const char *op, const char *path, const char *name,
                    const char *what, const char *field, struct errinfo *e)
{
	/* snapshot takes no -f: the format is named in the image's options. */
	char *esc = qemu_opt_escape(path), *opts = NULL;
	if (!esc || asprintf(&opts, "driver=qcow2,file.driver=file,file.filename=%s", esc) < 0) {
		free(esc);
		return errinfo_set(e, 500, "internal", field, "out of memory");
	}
	const char *argv[] = {"qemu-img", "snapshot", "-q", "--image-opts", op, name, opts, NULL};
	int rc = qemu_img(as, argv, what, field, e, NULL, 0);
	free(esc);
	free(opts);
	return rc;
}

int disk_snapshot_create(const struct run_as *as, const char *path, const char *name,
                         struct errinfo *e)
{
	return snapshot(as, "-c", path, name, "creating the snapshot", "name", e);
}

int disk_snapshot_apply(const struct run_as *as, const char *path, const char *name,
                        struct errinfo *e)
{
	return snapshot(as, "-a", path, name, "reverting to the snapshot", NULL, e);
}

int disk_snapshot_delete(const struct run_as *as, const char *path, const char *name,
                         struct errinfo *e)
{
	return snapshot(as, "-d", path, name, "deleting the snapshot", NULL, e);
}

json_t *disk_snapshot_list(const struct run_as *as, const char *path, struct errinfo *e)
{
	char out[65536];
	const char *argv[] = {"qemu-img", "info", "-U", "-f", "qcow2", "--output=json", path, NULL};
	if (qemu_img(as, argv, "listing snapshots", NULL, e, out, sizeof(out)) < 0)
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
