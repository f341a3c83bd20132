/* api_images.c - /api/v1/images: the image library. An image is made
 * (POST), then its bytes are uploaded once (PUT .../file, streamed to disk,
 * judged by its header, immutable after) or, by an administrator only,
 * imported from a file under vdcd's --image-import-dir (a task). Lists and
 * reads are the inventory's (api_inventory.c). */
#include "api.h"

#include "auth.h"
#include "library.h"
#include "loop_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *parse_image(const json_t *b, struct jv_err *err, const char **import_from)
{
	static const char *const keys[] = {"name", "description", "kind", "format", "import_from", NULL};
	const char *name = NULL, *desc = NULL, *kind = "disk", *format = NULL;
	*import_from = NULL;
	if (jv_only_keys(b, "", keys, err) < 0 || jv_string(b, "", "name", true, 63, &name, err) < 0 ||
	    jv_string(b, "", "description", false, 1024, &desc, err) < 0 ||
	    jv_string(b, "", "kind", false, 8, &kind, err) < 0 ||
	    jv_string(b, "", "format", false, 8, &format, err) < 0 ||
	    jv_string(b, "", "import_from", false, 1023, import_from, err) < 0)
		return NULL;
	if (!jv_is_safe_name(name)) {
		jv_fail(err, "name", "'%s' is not a valid name: use 1-63 letters, digits, '-', '_' or '.', "
		        "starting with a letter or digit", name);
		return NULL;
	}
	bool disk = !strcmp(kind, "disk");
	if (!disk && strcmp(kind, "kernel") && strcmp(kind, "initrd") && strcmp(kind, "iso")) {
		jv_fail(err, "kind", "must be disk, kernel, initrd or iso, not '%s'", kind);
		return NULL;
	}
	if (!format)
		format = disk ? "qcow2" : "raw";
	if (disk ? strcmp(format, "qcow2") && strcmp(format, "raw") : strcmp(format, "raw")) {
		jv_fail(err, "format", disk ? "must be qcow2 or raw, not '%s'" : "of a kernel, initrd or ISO is raw, not '%s'",
		        format);
		return NULL;
	}
	const char *why = *import_from ? library_check_import_path(*import_from) : NULL;
	if (why) {
		jv_fail(err, "import_from", "%s", why);
		return NULL;
	}
	json_t *doc = json_pack("{s:s, s:s, s:s}", "name", name, "kind", kind, "format", format);
	if (desc)
		json_object_set_new(doc, "description", json_string(desc));
	return doc;
}

static void reply_created(struct http_req *req, unsigned status, json_t *body, const char *location)
{
	http_add_header(req, "Location", location);
	http_reply_json(req, status, body);
}

void api_images_create(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0), *project = NULL, *doc = NULL, *stored = NULL, *task = NULL;
	struct errinfo e = {0};
	const char *import_from = NULL;
	char id[37], loc[96];
	if (!body)
		return;
	if (mgr_create_project(req, body, true, &project) < 0)
		goto out;
	struct jv_err jerr = {0};
	if (!(doc = parse_image(body, &jerr, &import_from))) {
		mgr_event(m, mgr_actor(req), "image.create", "image", "?", "failed", jerr.message);
		mgr_reply_jv(req, &jerr);
		goto out;
	}
	if (import_from && mgr_scope(req)) {
		/* An import reads a file of vdcd's host: administrators only. */
		http_reply_error(req, 403, "forbidden", "import_from",
		                 "only system administrators import images from vdcd's import directory; "
		                 "upload the file instead (PUT /api/v1/images/{id}/file)");
		goto out;
	}
	if (import_from && !m->cfg.image_import_dir[0]) {
		http_reply_error(req, 400, "invalid_request", "import_from",
		                 "import_from: vdcd has no import directory; start it with --image-import-dir DIR");
		goto out;
	}
	mgr_uuid(id);
	json_object_set_new(doc, "id", json_string(id));
	json_object_set_new(doc, "state", json_string(import_from ? "importing" : "queued"));
	json_object_set_new(doc, "source", json_string(import_from ? "import" : "upload"));
	if (import_from)
		json_object_set_new(doc, "import_from", json_string(import_from));
	const char *pid = json_string_value(json_object_get(project, "id"));
	if (pid)
		json_object_set_new(doc, "project_id", json_string(pid));
	if (store_begin(m->st, &e) < 0 || store_create(m->st, STORE_IMAGE, doc, &stored, &e) < 0 ||
	    (import_from && !(task = task_new(m->st, "image.import", "image", id,
	                                      json_string_value(json_object_get(doc, "name")), pid, mgr_actor(req),
	                                      json_pack("{s:s}", "import_from", import_from), &e))) ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		mgr_event(m, mgr_actor(req), "image.create", "image", json_string_value(json_object_get(doc, "name")),
		          "failed", e.message);
		mgr_reply_err(req, &e);
		goto out;
	}
	mgr_event(m, mgr_actor(req), "image.create", "image", id, "succeeded",
	          json_string_value(json_object_get(doc, "name")));
	if (task) {
		tasks_wake(m);
		snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", json_string_value(json_object_get(task, "id")));
		reply_created(req, 202, json_pack("{s:O, s:O}", "image", stored, "task", task), loc);
	} else {
		snprintf(loc, sizeof(loc), "/api/v1/images/%s", id);
		reply_created(req, 201, json_incref(stored), loc);
	}
out:
	json_decref(task);
	json_decref(stored);
	json_decref(doc);
	json_decref(project);
	json_decref(body);
}

/* The route's image if the caller may change it: an operator of its
 * project, or an administrator for a shared one. NULL after replying. */
static json_t *image_to_change(struct http_req *req)
{
	json_t *img = mgr_get_visible(req, STORE_IMAGE, http_param(req, "id"));
	if (img && mgr_require_role(req, json_string_value(json_object_get(img, "project_id")), NULL,
	                            ROLE_OPERATOR) < 0) {
		json_decref(img);
		return NULL;
	}
	return img;
}

/* 409 unless the image waits for its file. */
static int require_queued(struct http_req *req, const json_t *img)
{
	const char *state = json_string_value(json_object_get(img, "state")) ?: "";
	if (!strcmp(state, "queued"))
		return 0;
	http_reply_error(req, 409, "invalid_state", NULL,
	                 "image '%s' is %s; an image's file is uploaded once (make a new image for new content)",
	                 json_string_value(json_object_get(img, "name")), state);
	return -1;
}

int api_images_upload_allowed(struct http_req *req)
{
	json_t *img = image_to_change(req);
	int rc = img ? require_queued(req, img) : -1;
	json_decref(img);
	return rc;
}

/* An upload checked and about to be kept: its fsync (seconds for a large
 * image) runs off the loop thread; the rename and the store update follow
 * on it. */
struct upload_keep {
	struct http_req *req;
	json_t *img;
	int fd;
	int sync_errno;
	uint64_t vbytes;
	unsigned long long size;
};

static void upload_sync(void *arg)
{
	struct upload_keep *k = arg;
	if (fsync(k->fd) < 0)
		k->sync_errno = errno;
}

static void upload_kept(void *arg)
{
	struct upload_keep *k = arg;
	struct http_req *req = k->req;
	struct mgr *m = http_app(req);
	const json_t *img = k->img;
	const char *id = json_string_value(json_object_get(img, "id"));
	const char *path = NULL, *sha = NULL;
	struct errinfo e = {0};
	char final[1200];
	http_upload(req, &path, NULL, &sha);
	library_path(m, id, final, sizeof(final));
	if (k->sync_errno || rename(path, final) < 0) {
		http_reply_error(req, 500, "library", NULL, "cannot keep the image in %s: %s", final,
		                 strerror(k->sync_errno ? k->sync_errno : errno));
		goto out;
	}
	json_t *upd = json_deep_copy(img);
	json_object_set_new(upd, "state", json_string("active"));
	json_object_set_new(upd, "size_bytes", json_integer((json_int_t)k->size));
	json_object_set_new(upd, "virtual_bytes", json_integer((json_int_t)k->vbytes));
	json_object_set_new(upd, "sha256", json_string(sha));
	json_t *stored = NULL;
	int rc = store_update(m->st, STORE_IMAGE, upd, json_integer_value(json_object_get(img, "version")), &stored, &e);
	json_decref(upd);
	if (rc < 0) {
		unlink(final);
		mgr_reply_err(req, &e);
		goto out;
	}
	mgr_event(m, mgr_actor(req), "image.upload", "image", id, "succeeded", sha);
	http_reply_json(req, 200, stored);
out:
	close(k->fd);
	json_decref(k->img);
	free(k);
}

void api_images_upload(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *img = image_to_change(req);
	if (!img)
		return;
	const char *id = json_string_value(json_object_get(img, "id"));
	const char *path = NULL;
	unsigned long long size = 0;
	char why[512];
	uint64_t vbytes = 0;
	int fd = -1;
	if (require_queued(req, img) < 0)
		goto out;
	if (http_upload(req, &path, &size, NULL) < 0) {
		http_reply_error(req, 400, "invalid_request", NULL, "send the image's bytes as the request body");
		goto out;
	}
	if (size > m->cfg.image_max_bytes) {
		http_reply_error(req, 413, "too_large", NULL, "the image is %llu bytes; at most %llu are accepted",
		                 size, m->cfg.image_max_bytes);
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || library_inspect_fd(fd, size, json_string_value(json_object_get(img, "kind")),
	                                 json_string_value(json_object_get(img, "format")), &vbytes, why,
	                                 sizeof(why)) < 0) {
		if (fd < 0)
			snprintf(why, sizeof(why), "cannot be read back: %s", strerror(errno));
		mgr_event(m, mgr_actor(req), "image.upload", "image", id, "failed", why);
		http_reply_error(req, 400, "invalid_image", NULL, "the uploaded %s %s",
		                 json_string_value(json_object_get(img, "kind")), why);
		goto out;
	}
	struct upload_keep *k = calloc(1, sizeof(*k));
	if (!k) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		goto out;
	}
	*k = (struct upload_keep){.req = req, .img = img, .fd = fd, .vbytes = vbytes, .size = size};
	if (loop_jobs_start(m->jobs, upload_sync, upload_kept, k) == 0) {
		http_defer(req);
	} else {
		/* No thread to spare: keep it now rather than lose the upload. */
		upload_sync(k);
		upload_kept(k);
	}
	return; /* k owns img and fd */
out:
	if (fd >= 0)
		close(fd);
	json_decref(img);
}

void api_images_delete(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *img = image_to_change(req);
	if (!img)
		return;
	const char *id = json_string_value(json_object_get(img, "id"));
	struct errinfo e = {0};
	char used_by[160], path[1200];
	int used = library_used_by(m->st, id, used_by, sizeof(used_by), &e);
	if (used > 0)
		errinfo_set(&e, 409, "in_use", NULL, "image '%s' is used by %s",
		            json_string_value(json_object_get(img, "name")), used_by);
	if (used != 0 || store_delete(m->st, STORE_IMAGE, id, &e) < 0) {
		mgr_event(m, mgr_actor(req), "image.delete", "image", id, "failed", e.message);
		mgr_reply_err(req, &e);
		json_decref(img);
		return;
	}
	library_path(m, id, path, sizeof(path));
	unlink(path);
	mgr_event(m, mgr_actor(req), "image.delete", "image", id, "succeeded", NULL);
	json_decref(img);
	http_reply_text(req, 204, "text/plain", strdup(""), 0);
}
