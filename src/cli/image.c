/* image.c - 'vdc image list|get|create|upload|import|delete': the image
 * library templates are made from. upload streams a local file to vdcd;
 * import (administrators) names a file under vdcd's import directory. */
#include "cli.h"

#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"KIND", "kind", FMT_TEXT, 0, NULL},
	{"FORMAT", "format", FMT_TEXT, 0, NULL},
	{"STATE", "state", FMT_TEXT, 0, NULL},
	{"SIZE", "size_bytes", FMT_BYTES, 0, NULL},
	{"VIRTUAL", "virtual_bytes", FMT_BYTES, 0, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"image", "images", cols, NULL};

static const struct opt list_opts[] = {OPT_LIMIT, OPT_AFTER, OPT_END};

#define OPT_KIND {"kind", 0, OPT_STR, "KIND", "disk (default), kernel, initrd or iso (a CD-ROM medium)", "kind", 0, NULL}
#define OPT_FORMAT \
	{"format", 0, OPT_STR, "FORMAT", "qcow2 (default for disks) or raw", "format", 0, NULL}

static const struct opt create_opts[] = {OPT_KIND, OPT_FORMAT, OPT_PROJECT, OPT_DESCRIPTION, OPT_END};
static const struct opt import_opts[] = {
	{"from", 0, OPT_STR, "PATH", "the file, relative to vdcd's --image-import-dir", "import_from",
	 OPT_REQUIRED, NULL},
	OPT_KIND, OPT_FORMAT, OPT_PROJECT, OPT_DESCRIPTION, OPT_NO_WAIT, OPT_END,
};

/* upload NAME FILE: makes the image (unless it exists and waits for its
 * file), then streams FILE to it. */
static int image_upload(struct cli *c, const struct args *a)
{
	const char *name = a->pos[0], *file = a->pos[1];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cli_error(c, "cannot read %s: %s", file, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return CLI_USAGE;
	}
	char err[512], path[512], esc[256];
	json_t *body = NULL, *doc = NULL, *done = NULL;
	int rc = res_create_body(a, name, &body, err, sizeof(err));
	if (rc) {
		cli_error(c, "%s", err);
		close(fd);
		return rc;
	}
	if ((rc = cli_call(c, "POST", "/api/v1/images", body, "image", &doc)))
		goto out;
	const char *id = json_string_value(json_object_get(doc, "id"));
	snprintf(path, sizeof(path), "/api/v1/images/%s/file", client_escape(id ? id : name, esc, sizeof(esc)));
	if ((rc = cli_upload(c, path, fd, (uint64_t)st.st_size, "image", &done))) {
		/* The image was made for this file: do not leave it queued. */
		snprintf(path, sizeof(path), "/api/v1/images/%s", client_escape(id ? id : name, esc, sizeof(esc)));
		json_t *ignored = NULL;
		c->quiet = 1;
		cli_call(c, "DELETE", path, NULL, "image", &ignored);
		c->quiet = 0;
		json_decref(ignored);
		goto out;
	}
	if (c->output == OUT_JSON)
		out_json(c, done);
	else
		fprintf(c->out, "image %s uploaded (%lld bytes, sha256 %s)\n", name, (long long)st.st_size,
		        json_string_value(json_object_get(done, "sha256")) ?: "?");
out:
	close(fd);
	json_decref(body);
	json_decref(doc);
	json_decref(done);
	return rc;
}

static int image_import(struct cli *c, const struct args *a)
{
	char err[512], done[160];
	json_t *body = NULL, *reply = NULL;
	int rc = res_create_body(a, a->pos[0], &body, err, sizeof(err));
	if (rc) {
		cli_error(c, "%s", err);
		return rc;
	}
	rc = cli_call(c, "POST", "/api/v1/images", body, "image", &reply);
	if (!rc) {
		snprintf(done, sizeof(done), "image %s imported", a->pos[0]);
		rc = task_finish(c, a, reply, done);
	}
	json_decref(body);
	json_decref(reply);
	return rc;
}

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	RES_GET(&res),
	{"create", "NAME", 1, 1, "make an image to upload later (PUT its file)", create_opts, res_create, &res, NULL,
	 NULL},
	{"upload", "NAME FILE", 2, 2, "make an image from a local file, streamed to vdcd", create_opts, image_upload,
	 &res, NULL,
	 "The file is checked by its header: a qcow2 must stand alone (no backing or data file,\n"
	 "no encryption), a raw disk must not be another format, a kernel must be a bzImage,\n"
	 "an ISO must be ISO 9660 (CD001 at byte 0x8001).\n"
	 "Example:\n  vdc image upload debian12 debian-12.qcow2\n"
	 "  vdc image upload debian12-kernel vmlinuz --kind kernel\n"
	 "  vdc image upload debian12-netinst debian-12-netinst.iso --kind iso\n"},
	{"import", "NAME", 1, 1, "make an image from a file under vdcd's import directory (administrators)",
	 import_opts, image_import, &res, NULL,
	 "Example:\n  vdc image import debian12 --from cloud/debian-12.qcow2\n"},
	RES_DELETE(&res),
	{0},
};

const struct family cli_image = {"image", "the image library: disks, kernels, initrds, ISOs", cmds};
