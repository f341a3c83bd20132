/* task_image.c - the image library's long operations as tasks: an import
 * copies a file from under vdcd's import directory into the library, and
 * pushing an image to a host gives the host its own copy before a VM is
 * made from it. Both are idempotent: a re-run after a crash converges. */
#include "task_ops.h"

#include "agent_client.h"
#include "library.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct import_ctx {
	struct task_ctx *t;
	struct errinfo *e;
};

/* Every tenth of the copy: progress, and a cancel point. */
static int import_progress(void *ctx, int pct)
{
	struct import_ctx *ic = ctx;
	char msg[64];
	snprintf(msg, sizeof(msg), "copying into the library: %d%%", pct);
	task_update(ic->t, NULL, 5 + pct * 9 / 10, msg);
	return task_checkpoint(ic->t, ic->e);
}

int task_image_import(struct task_ctx *t, json_t *args, json_t **result, struct errinfo *e)
{
	char id[64]; /* task_update replaces t->doc as the import goes on */
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(t->doc, "target_id")) ?: "");
	json_t *img = store_get(t->st, STORE_IMAGE, id, e);
	if (!img)
		return -1;
	const char *rel = json_string_value(json_object_get(args, "import_from")) ?: "";
	uint64_t size = 0, vbytes = 0;
	char sha[65];
	int rc = -1;
	struct import_ctx ic = {t, e};
	if (!strcmp(json_string_value(json_object_get(img, "state")) ?: "", "active")) {
		rc = 0; /* done before a crash */
	} else if (task_checkpoint(t, e) < 0 ||
	           library_import(t->m, t->m->cfg.image_import_dir, rel, id,
	                          json_string_value(json_object_get(img, "kind")),
	                          json_string_value(json_object_get(img, "format")), t->m->cfg.image_max_bytes,
	                          import_progress, &ic, &size, &vbytes, sha, e) < 0) {
		/* Nothing half-made: an image whose file could not be had (or
		 * whose import was cancelled) goes. */
		struct errinfo de = {0};
		store_delete(t->st, STORE_IMAGE, id, &de);
	} else {
		json_object_set_new(img, "state", json_string("active"));
		json_object_set_new(img, "size_bytes", json_integer((json_int_t)size));
		json_object_set_new(img, "virtual_bytes", json_integer((json_int_t)vbytes));
		json_object_set_new(img, "sha256", json_string(sha));
		rc = store_update(t->st, STORE_IMAGE, img, json_integer_value(json_object_get(img, "version")), NULL, e);
		if (rc < 0) {
			char path[1200];
			library_path(t->m, id, path, sizeof(path));
			unlink(path);
		}
	}
	if (rc == 0)
		*result = json_pack("{s:s, s:s}", "image_id", id, "name", json_string_value(json_object_get(img, "name")));
	json_decref(img);
	return rc;
}

int task_image_push(struct task_ctx *t, const char *host, const char *image_id, const char *datastore,
                    int progress, struct errinfo *e)
{
	char path[512];
	snprintf(path, sizeof(path), "/api/v1/images/%s", image_id);
	long status = 0;
	json_t *reply = NULL;
	if (agent_call(t->st, host, "GET", path, NULL, 30, &status, &reply, NULL, e) < 0)
		return -1;
	json_decref(reply);
	reply = NULL;
	if (status == 200)
		return 0; /* the host has it */
	json_t *img = store_get(t->st, STORE_IMAGE, image_id, e);
	if (!img)
		return -1;
	char file[1200], msg[160];
	library_path(t->m, image_id, file, sizeof(file));
	json_int_t size = json_integer_value(json_object_get(img, "size_bytes"));
	snprintf(msg, sizeof(msg), "copying image %s (%lld MiB) to the host",
	         json_string_value(json_object_get(img, "name")), (long long)(size >> 20));
	task_update(t, NULL, progress, msg);
	snprintf(path, sizeof(path), "/api/v1/images/%s?kind=%s&format=%s&sha256=%s&datastore=%s", image_id,
	         json_string_value(json_object_get(img, "kind")), json_string_value(json_object_get(img, "format")),
	         json_string_value(json_object_get(img, "sha256")), datastore);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	int rc = -1;
	if (fd < 0) {
		errinfo_set(e, 500, "library", NULL, "image %s has no file in the library (%s): %s", image_id, file,
		            strerror(errno));
	} else if (agent_upload(t->st, host, path, fd, (uint64_t)size, 3600, &status, &reply, e) == 0) {
		if (status == 200 || status == 201)
			rc = 0;
		else
			errinfo_set(e, (unsigned)status, "image_push", NULL, "the host refused image %s: %s", image_id,
			            agent_error_message(reply));
	}
	if (fd >= 0)
		close(fd);
	json_decref(reply);
	json_decref(img);
	return rc;
}
