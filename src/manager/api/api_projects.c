/* api_projects.c - projects (tenants), their members and quotas. System
 * administrators create and delete projects and set quotas; a project's
 * admins manage its members; members read their projects; everyone else
 * gets 404, as if the project did not exist. */
#include "api.h"

#include "auth.h"
#include "quota.h"

#include <stdlib.h>
#include <string.h>

/* The project of the route if the caller is in it (or an administrator). */
static json_t *route_project(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	json_t *p = store_get(m->st, STORE_PROJECT, http_param(req, "id"), &e);
	if (p && auth_role_in(mgr_caller(req), json_string_value(json_object_get(p, "id"))) == ROLE_NONE) {
		json_decref(p);
		p = NULL;
		e = (struct errinfo){0};
		errinfo_set(&e, 404, "not_found", NULL, "no project has the id or name '%s'", http_param(req, "id"));
	}
	if (!p)
		mgr_reply_err(req, &e);
	return p;
}

/* Reads a quota object of a body: integers >= 0 or null (unlimited); keys
 * absent keep what base has. */
static int parse_quota(json_t *q, int64_t out[QUOTA_N], struct jv_err *jerr)
{
	if (!json_is_object(q))
		return jv_fail(jerr, "quota", "quota must be an object");
	static const char *const keys[] = {"vms", "vcpus", "memory_mib", "disk_mib", NULL};
	if (jv_only_keys(q, "quota", keys, jerr) < 0)
		return -1;
	for (int i = 0; i < QUOTA_N; i++) {
		json_t *v = json_object_get(q, quota_names[i]);
		if (!v)
			continue;
		if (json_is_null(v)) {
			out[i] = -1;
			continue;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > ((int64_t)1 << 40))
			return jv_fail(jerr, quota_names[i], "quota.%s must be a whole number from 0, or null for no limit",
			               quota_names[i]);
		out[i] = json_integer_value(v);
	}
	return 0;
}

void api_projects_list(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const struct auth_ctx *c = mgr_caller(req);
	int limit;
	const char *after;
	if (mgr_page_args(req, &limit, &after) < 0)
		return;
	struct errinfo e = {0};
	if (c->admin) {
		char *next = NULL;
		char *items = store_list_text(m->st, STORE_PROJECT, NULL, 0, after, limit, &next, &e);
		if (!items)
			mgr_reply_err(req, &e);
		else
			mgr_reply_page(req, items, next);
		return;
	}
	/* A member sees their own projects: few, so one page. */
	json_t *out = json_array();
	for (int i = 0; i < c->nmembers; i++) {
		json_t *p = store_get(m->st, STORE_PROJECT, c->members[i].project_id, &e);
		if (p)
			json_array_append_new(out, p);
	}
	mgr_reply_page(req, json_dumps(out, JSON_COMPACT), NULL);
	json_decref(out);
}

void api_projects_get(struct http_req *req)
{
	json_t *p = route_project(req);
	if (p)
		http_reply_json(req, 200, p);
}

void api_projects_create(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"name", "description", "quota", NULL};
	struct jv_err jerr = {0};
	const char *name = NULL, *desc = NULL;
	int64_t quota[QUOTA_N] = {-1, -1, -1, -1}, usage[QUOTA_N] = {0};
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "name", true, 63, &name, &jerr) < 0 ||
	    jv_string(body, "", "description", false, 1024, &desc, &jerr) < 0 ||
	    (!jv_is_safe_name(name) && jv_fail(&jerr, "name", "'%s' is not a valid project name", name) < 0) ||
	    (json_object_get(body, "quota") && parse_quota(json_object_get(body, "quota"), quota, &jerr) < 0)) {
		mgr_refuse_jv(req, "project.create", "project", name, &jerr);
		json_decref(body);
		return;
	}
	char id[37];
	mgr_uuid(id);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id, "name", name, "description", desc ? desc : "",
	                        "quota", quota_json(quota, 1), "usage", quota_json(usage, 0));
	json_decref(body);
	struct errinfo e = {0};
	json_t *stored = NULL;
	if (store_create(m->st, STORE_PROJECT, doc, &stored, &e) < 0) {
		mgr_refuse(req, "project.create", "project", json_string_value(json_object_get(doc, "name")), &e);
		json_decref(doc);
		return;
	}
	mgr_event(m, mgr_actor(req), "project.create", "project", id, "succeeded", NULL);
	json_decref(doc);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/projects/%s", id);
	http_add_header(req, "Location", loc);
	http_reply_json(req, 201, stored);
}

void api_projects_delete(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *p = route_project(req);
	if (!p)
		return;
	const char *id = json_string_value(json_object_get(p, "id"));
	struct errinfo e = {0};
	static const enum store_kind held[] = {STORE_VM, STORE_TEMPLATE, STORE_NETWORK};
	for (size_t k = 0; k < 3; k++) {
		struct store_filter f = {"project_id", id};
		int64_t n = store_count(m->st, held[k], &f, 1, &e);
		if (n != 0) {
			if (n > 0)
				errinfo_set(&e, 409, "in_use", NULL, "project '%s' still has %lld %s; delete them first",
				            json_string_value(json_object_get(p, "name")), (long long)n, store_kind_plural(held[k]));
			json_decref(p);
			mgr_reply_err(req, &e);
			return;
		}
	}
	int rc = store_begin(m->st, &e);
	if (rc == 0)
		rc = mgr_delete_where(m->st, STORE_MEMBER, "project_id", id, &e);
	if (rc == 0)
		rc = store_delete(m->st, STORE_PROJECT, id, &e);
	if (rc == 0)
		rc = store_commit(m->st, &e);
	if (rc < 0)
		store_rollback(m->st);
	auth_cache_flush(m);
	mgr_event(m, mgr_actor(req), "project.delete", "project", id, rc < 0 ? "failed" : "succeeded",
	          rc < 0 ? e.message : NULL);
	json_decref(p);
	if (rc < 0)
		mgr_reply_err(req, &e);
	else
		http_reply_text(req, 204, "text/plain", strdup(""), 0);
}

void api_projects_members(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *p = route_project(req);
	if (!p)
		return;
	struct errinfo e = {0};
	struct store_filter f = {"project_id", json_string_value(json_object_get(p, "id"))};
	json_t *arr = store_list_all(m->st, STORE_MEMBER, &f, 1, &e), *out;
	json_decref(p);
	if (!arr) {
		mgr_reply_err(req, &e);
		return;
	}
	out = json_array();
	size_t i;
	json_t *mb;
	json_array_foreach(arr, i, mb) {
		json_t *u = store_get(m->st, STORE_USER, json_string_value(json_object_get(mb, "user_id")), &e);
		json_array_append_new(out, json_pack("{s:O, s:O, s:O}", "user_id", json_object_get(mb, "user_id"), "user",
		                                     u ? json_object_get(u, "name") : json_null(), "role",
		                                     json_object_get(mb, "role")));
		json_decref(u);
	}
	json_decref(arr);
	mgr_reply_page(req, json_dumps(out, JSON_COMPACT), NULL);
	json_decref(out);
}

/* Adds a member or changes their role: the project's admins or a system
 * administrator. */
void api_projects_member_set(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *p = route_project(req);
	if (!p)
		return;
	const char *pid = json_string_value(json_object_get(p, "id"));
	json_t *body = NULL, *u = NULL, *old = NULL, *stored = NULL;
	if (mgr_require_role(req, pid, json_string_value(json_object_get(p, "name")), ROLE_ADMIN) < 0 ||
	    !(body = http_body_json(req, 0)))
		goto out;
	static const char *const keys[] = {"user", "role", NULL};
	struct jv_err jerr = {0};
	const char *user = NULL, *role = NULL;
	enum mgr_role r;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "user", true, 63, &user, &jerr) < 0 ||
	    jv_string(body, "", "role", true, 16, &role, &jerr) < 0 ||
	    (role_parse(role, &r) < 0 && jv_fail(&jerr, "role", "role must be admin, operator or viewer, not '%s'", role) < 0)) {
		mgr_reply_jv(req, &jerr);
		goto out;
	}
	struct errinfo e = {0};
	if (!(u = store_get(m->st, STORE_USER, user, &e))) {
		http_reply_error(req, 400, "invalid_request", "user", "user: no user named '%s'", user);
		goto out;
	}
	const char *uid = json_string_value(json_object_get(u, "id"));
	char name[80], id[37];
	snprintf(name, sizeof(name), "%s:%s", pid, uid);
	old = store_get(m->st, STORE_MEMBER, name, &e);
	e = (struct errinfo){0};
	int rc;
	if (old) {
		json_object_set_new(old, "role", json_string(role));
		rc = store_update(m->st, STORE_MEMBER, old, json_integer_value(json_object_get(old, "version")), NULL, &e);
	} else {
		mgr_uuid(id);
		json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "name", name, "user_id", uid, "project_id",
		                        pid, "role", role);
		rc = store_create(m->st, STORE_MEMBER, doc, &stored, &e);
		json_decref(doc);
	}
	auth_cache_flush(m);
	char detail[160];
	snprintf(detail, sizeof(detail), "%s as %s", user, role);
	mgr_event(m, mgr_actor(req), "project.member_set", "project", pid, rc < 0 ? "failed" : "succeeded",
	          rc < 0 ? e.message : detail);
	if (rc < 0)
		mgr_reply_err(req, &e);
	else
		http_reply_json(req, old ? 200 : 201,
		                json_pack("{s:s, s:s, s:s}", "user_id", uid, "user", user, "role", role));
out:
	json_decref(body);
	json_decref(u);
	json_decref(old);
	json_decref(stored);
	json_decref(p);
}

void api_projects_member_remove(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *p = route_project(req);
	if (!p)
		return;
	const char *pid = json_string_value(json_object_get(p, "id"));
	struct errinfo e = {0};
	json_t *u = NULL, *mb = NULL;
	if (mgr_require_role(req, pid, json_string_value(json_object_get(p, "name")), ROLE_ADMIN) < 0)
		goto out;
	char name[80];
	if ((u = store_get(m->st, STORE_USER, http_param(req, "user"), &e))) {
		snprintf(name, sizeof(name), "%s:%s", pid, json_string_value(json_object_get(u, "id")));
		mb = store_get(m->st, STORE_MEMBER, name, &e);
	}
	if (!mb) {
		http_reply_error(req, 404, "not_found", NULL, "'%s' is not a member of this project", http_param(req, "user"));
		goto out;
	}
	int rc = store_delete(m->st, STORE_MEMBER, json_string_value(json_object_get(mb, "id")), &e);
	auth_cache_flush(m);
	mgr_event(m, mgr_actor(req), "project.member_remove", "project", pid, rc < 0 ? "failed" : "succeeded",
	          http_param(req, "user"));
	if (rc < 0)
		mgr_reply_err(req, &e);
	else
		http_reply_text(req, 204, "text/plain", strdup(""), 0);
out:
	json_decref(u);
	json_decref(mb);
	json_decref(p);
}

static void reply_quota(struct http_req *req, unsigned status, json_t *p)
{
	http_reply_json(req, status, json_pack("{s:O, s:O, s:O}", "project", json_object_get(p, "name"), "quota",
	                                       json_object_get(p, "quota"), "usage", json_object_get(p, "usage")));
}

void api_projects_quota_get(struct http_req *req)
{
	json_t *p = route_project(req);
	if (p) {
		reply_quota(req, 200, p);
		json_decref(p);
	}
}

void api_projects_quota_set(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	json_t *p = route_project(req);
	if (!p) {
		json_decref(body);
		return;
	}
	int64_t q[QUOTA_N];
	quota_read(json_object_get(p, "quota"), q, -1);
	struct jv_err jerr = {0};
	if (parse_quota(body, q, &jerr) < 0) {
		json_decref(body);
		json_decref(p);
		mgr_reply_jv(req, &jerr);
		return;
	}
	json_decref(body);
	/* A quota below current usage is allowed: nothing more may be made
	 * until usage falls under it, as in OpenStack. */
	json_object_set_new(p, "quota", quota_json(q, 1));
	struct errinfo e = {0};
	json_t *stored = NULL;
	int rc = store_update(m->st, STORE_PROJECT, p, json_integer_value(json_object_get(p, "version")), &stored, &e);
	char *qs = json_dumps(json_object_get(p, "quota"), JSON_COMPACT);
	mgr_event(m, mgr_actor(req), "project.quota_set", "project", json_string_value(json_object_get(p, "id")),
	          rc < 0 ? "failed" : "succeeded", rc < 0 ? e.message : qs);
	free(qs);
	json_decref(p);
	if (rc < 0)
		mgr_reply_err(req, &e);
	else
		reply_quota(req, 200, stored);
	json_decref(stored);
}
