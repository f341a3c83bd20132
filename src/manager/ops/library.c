/* library.c - the image library's files and the rules for naming images
 * (see library.h). Imports open their source with openat2 so that a path
 * under the import directory cannot lead out of it. */
#include "library.h"

#include "fsutil.h"
#include "image_format.h"
#include "jsonv.h"
#include "api.h"
#include "manager.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void library_path(const struct mgr *m, const char *id, char *out, size_t n)
{
	snprintf(out, n, "%s/images/%s", m->cfg.data_dir, id);
}

int library_prepare(struct mgr *m, char *spool, size_t n)
{
	char dir[1100];
	snprintf(dir, sizeof(dir), "%s/images", m->cfg.data_dir);
	snprintf(spool, n, "%s/.spool", dir);
	if (fs_mkdir_p(dir, 0700) < 0 || fs_mkdir_p(spool, 0700) < 0)
		return -1;
	DIR *d = opendir(spool);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] == '.' && de->d_name[1] && de->d_name[1] != '.') {
				char p[1400];
				snprintf(p, sizeof(p), "%s/%s", spool, de->d_name);
				unlink(p);
			}
		closedir(d);
	}
	return 0;
}

json_t *library_resolve(struct store *st, const char *ref, const char *kind, const char *project_id,
                        const char *field, struct errinfo *e)
{
	struct errinfo ge = {0};
	json_t *img = mgr_find_for_project(st, STORE_IMAGE, ref, project_id, &ge);
	if (!img) {
		if (ge.status != 404) {
			*e = ge;
			return NULL;
		}
		errinfo_set(e, 400, "invalid_request", field,
		            "%s: no image named '%s'; images are uploaded or imported first (POST /api/v1/images), "
		            "never named by a host path", field, ref);
		return NULL;
	}
	const char *k = json_string_value(json_object_get(img, "kind")) ?: "";
	const char *state = json_string_value(json_object_get(img, "state")) ?: "";
	if (strcmp(k, kind)) {
		errinfo_set(e, 400, "invalid_request", field, "%s: image '%s' is of kind %s, not %s", field, ref, k, kind);
	} else if (strcmp(state, "active")) {
		errinfo_set(e, 400, "invalid_request", field,
		            "%s: image '%s' is %s; upload its file first (PUT /api/v1/images/{id}/file)", field, ref,
		            state);
	} else {
		return img;
	}
	json_decref(img);
	return NULL;
}

int library_inspect_fd(int fd, uint64_t size, const char *kind, const char *format,
                       uint64_t *virtual_bytes, char *err, size_t errlen)
{
	unsigned char *head = malloc(IMAGE_HEAD_BYTES);
	if (!head) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ssize_t n = pread(fd, head, IMAGE_HEAD_BYTES, 0);
	if (n < 0) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		free(head);
		return -1;
	}
	struct image_facts f;
	int rc = image_inspect(head, (size_t)n, size, (enum image_kind)image_kind_parse(kind), format, &f, err,
	                       errlen);
	free(head);
	if (rc == 0)
		*virtual_bytes = f.virtual_bytes;
	return rc;
}

struct used_by {
	const char *id;
	char *name;
	size_t n;
	bool found;
};

/* Stops at the first template that uses the image. */
static int used_by_page(void *ctx, json_t *page)
{
	struct used_by *u = ctx;
	size_t i;
	json_t *t;
	json_array_foreach(page, i, t) {
		static const char *const keys[] = {"image_id", "kernel_id", "initrd_id"};
		for (int k = 0; k < 3 && !u->found; k++)
			if (!strcmp(json_string_value(json_object_get(t, keys[k])) ?: "", u->id)) {
				snprintf(u->name, u->n, "template '%s'; delete the template first",
				         json_string_value(json_object_get(t, "name")));
				u->found = true;
			}
	}
	return u->found ? -1 : 0;
}

/* Stops at the first VM whose CD-ROM drive holds the image. */
static int used_by_vm_page(void *ctx, json_t *page)
{
	struct used_by *u = ctx;
	size_t i;
	json_t *vm;
	json_array_foreach(page, i, vm) {
		const json_t *cd = json_object_get(json_object_get(vm, "config"), "cdrom");
		if (!u->found && !strcmp(json_string_value(json_object_get(cd, "image_id")) ?: "", u->id)) {
			snprintf(u->name, u->n, "VM '%s' in its CD-ROM drive; eject it first",
			         json_string_value(json_object_get(vm, "name")));
			u->found = true;
		}
	}
	return u->found ? -1 : 0;
}

int library_used_by(struct store *st, const char *id, char *used_by, size_t n, struct errinfo *e)
{
	struct used_by u = {id, used_by, n, false};
	struct errinfo mine = {0};
	if ((store_list_each(st, STORE_TEMPLATE, NULL, 0, used_by_page, &u, &mine) < 0 && !u.found) ||
	    (!u.found && store_list_each(st, STORE_VM, NULL, 0, used_by_vm_page, &u, &mine) < 0 && !u.found)) {
		errinfo_set(e, mine.status, mine.code, mine.field[0] ? mine.field : NULL, "%s", mine.message);
		return -1;
	}
	return u.found;
}

const char *library_check_import_path(const char *rel)
{
	if (!*rel)
		return "is empty";
	if (rel[0] == '/')
		return "must be relative to the import directory, not an absolute path";
	for (const unsigned char *c = (const unsigned char *)rel; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return "must not contain control characters";
	const char *p = rel;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0)
			return "must not contain empty components ('//' or a trailing '/')";
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return "must not contain '.' or '..' components";
		p += len + (slash ? 1 : 0);
		if (slash && !*p)
			return "must not end with '/'";
	}
	return NULL;
}

/* openat2 beneath dirfd; glibc 2.36 has no wrapper. */
static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

int library_import(struct mgr *m, const char *import_dir, const char *rel, const char *id,
                   const char *kind, const char *format, uint64_t max_bytes,
                   int (*progress)(void *ctx, int percent), void *ctx, uint64_t *size,
                   uint64_t *virtual_bytes, char sha256[65], struct errinfo *e)
{
	int dirfd = -1, src = -1, dst = -1, rc = -1;
	char final[1200], tmp[1300], why[512];
	unsigned char *buf = NULL;
	tmp[0] = '\0';
	library_path(m, id, final, sizeof(final));
	if ((dirfd = open(import_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		errinfo_set(e, 500, "import_dir", NULL, "the import directory %s cannot be opened: %s", import_dir,
		            strerror(errno));
		goto out;
	}
	if ((src = open_beneath(dirfd, rel)) < 0) {
		int err = errno;
		errinfo_set(e, 400, "invalid_request", "import_from",
		            err == EXDEV || err == ELOOP
		                ? "import_from: '%s' leads out of the import directory (a symlink or mount); "
		                  "place the file itself under it"
		                : "import_from: cannot open '%s' under the import directory: %s",
		            rel, strerror(err));
		goto out;
	}
	struct stat st;
	if (fstat(src, &st) < 0 || !S_ISREG(st.st_mode)) {
		errinfo_set(e, 400, "invalid_request", "import_from", "import_from: '%s' is not a regular file", rel);
		goto out;
	}
	fcntl(src, F_SETFL, fcntl(src, F_GETFL) & ~O_NONBLOCK);
	*size = (uint64_t)st.st_size;
	if (*size > max_bytes) {
		errinfo_set(e, 413, "too_large", "import_from",
		            "import_from: '%s' is %llu bytes; images may be at most %llu bytes (--image-max-bytes)",
		            rel, (unsigned long long)*size, (unsigned long long)max_bytes);
		goto out;
	}
	if (library_inspect_fd(src, *size, kind, format, virtual_bytes, why, sizeof(why)) < 0) {
		errinfo_set(e, 400, "invalid_image", "import_from", "import_from: '%s' %s", rel, why);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/images/.spool/.import-%s", m->cfg.data_dir, id);
	if ((dst = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		errinfo_set(e, 500, "library", NULL, "cannot create %s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	size_t cap = 1 << 20;
	buf = malloc(cap);
	uint64_t done = 0;
	int last = -1;
	while (buf && done < *size) {
		ssize_t n = read(src, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errinfo_set(e, 500, "import", "import_from", "reading '%s' stopped after %llu bytes: %s", rel,
			            (unsigned long long)done, n < 0 ? strerror(errno) : "the file shrank");
			goto out;
		}
		crypto_hash_sha256_update(&h, buf, (size_t)n);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dst, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				errinfo_set(e, errno == ENOSPC ? 507 : 500, "library", NULL, "writing %s: %s", tmp,
				            strerror(errno));
				goto out;
			}
			off += w;
		}
		done += (uint64_t)n;
		int pct = (int)(done * 100 / *size);
		if (progress && pct / 10 != last / 10) {
			if (progress(ctx, pct) < 0)
				goto out; /* cancelled: e says so */
			last = pct;
		}
	}
	if (!buf) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto out;
	}
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(sha256, 65, digest, sizeof(digest));
	if (fsync(dst) < 0 || close(dst) < 0) {
		dst = -1;
		errinfo_set(e, 500, "library", NULL, "writing %s: %s", tmp, strerror(errno));
		goto out;
	}
	dst = -1;
	if (rename(tmp, final) < 0) {
		errinfo_set(e, 500, "library", NULL, "cannot move the image to %s: %s", final, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	rc = 0;
out:
	free(buf);
	if (dst >= 0)
		close(dst);
	if (tmp[0])
		unlink(tmp);
	if (src >= 0)
		close(src);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}
