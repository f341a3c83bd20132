/* api_images.c - /api/v1/images: vdcd (or a local administrator) puts the
 * images VMs boot from onto this host, by id; VM specs then name them. */
#include "api.h"

#include "images.h"

#include <string.h>

void api_image_put(struct http_req *req)
{
	struct agent *a = http_app(req);
	const char *path = NULL, *sha = NULL;
	unsigned long long size = 0;
	if (http_upload(req, &path, &size, &sha) < 0) {
		http_reply_error(req, 400, "invalid_request", NULL,
		                 "send the image as the request body (Content-Type: application/octet-stream)");
		return;
	}
	struct errinfo e = {0};
	int existed = 0;
	const char *id = http_param(req, "id");
	if (images_add(a, id, http_query(req, "datastore"), http_query(req, "kind") ?: "disk",
	               http_query(req, "format"), http_query(req, "sha256"), path, size, sha, &existed, &e) < 0) {
		api_reply_err(req, &e);
		return;
	}
	char p[1200];
	struct image_meta m;
	if (images_find(a, id, NULL, "id", p, sizeof(p), &m, &e) < 0) {
		api_reply_err(req, &e);
		return;
	}
	http_reply_json(req, existed ? 200 : 201, images_meta_json(&m));
}

void api_image_list(struct http_req *req)
{
	http_reply_json(req, 200, json_pack("{s:o}", "images", images_list(http_app(req))));
}

void api_image_get(struct http_req *req)
{
	char p[1200];
	struct image_meta m;
	struct errinfo e = {0};
	if (images_find(http_app(req), http_param(req, "id"), NULL, "id", p, sizeof(p), &m, &e) < 0) {
		http_reply_error(req, 404, "not_found", NULL, "no image %s on this host", http_param(req, "id"));
		return;
	}
	http_reply_json(req, 200, images_meta_json(&m));
}

void api_image_delete(struct http_req *req)
{
	struct errinfo e = {0};
	if (images_remove(http_app(req), http_param(req, "id"), &e) < 0) {
		api_reply_err(req, &e);
		return;
	}
	http_reply_text(req, 204, "text/plain", strdup(""), 0);
}
