/* api_users.c - users: system administrators list, create and delete them;
 * anyone reads and changes their own password. Password hashes never leave
 * the store (auth_user_view strips them). */
#include "api.h"

#include "auth.h"
#include "login_guard.h"

#include <stdlib.h>
#include <string.h>

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define STR_(x) #x
#define STR(x) STR_(x)

/* The user of the route if the caller may see it: themselves, or anyone for
 * an administrator; others are 404, as if they did not exist. */
static json_t *route_user(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const struct auth_ctx *c = mgr_caller(req);
	struct errinfo e = {0};
	json_t *u = store_get(m->st, STORE_USER, http_param(req, "id"), &e);
	if (u && !c->admin && strcmp(json_string_value(json_object_get(u, "id")), c->user_id)) {
		json_decref(u);
		u = NULL;
		e = (struct errinfo){0};
		errinfo_set(&e, 404, "not_found", NULL, "no user has the id or name '%s'", http_param(req, "id"));
	}
	if (!u)
		mgr_reply_err(req, &e);
	return u;
}

/* NULL when the password's length is right, else why not. */
static const char *password_problem(const char *pw)
{
	size_t n = strlen(pw);
	if (n >= PASSWORD_MIN && n <= PASSWORD_MAX)
		return NULL;
	return "the password must be " STR(PASSWORD_MIN) " to " STR(PASSWORD_MAX) " characters long";
}

static int password_ok(struct http_req *req, const char *pw)
{
	const char *why = password_problem(pw);
	if (!why)
		return 0;
	http_reply_error(req, 400, "invalid_request", "password", "%s", why);
	return -1;
}

void api_users_list(struct http_req *req)
{
	struct mgr *m = http_app(req);
	int limit;
	const char *after;
	if (mgr_page_args(req, &limit, &after) < 0)
		return;
	struct errinfo e = {0};
	char *next = NULL;
	char *text = store_list_text(m->st, STORE_USER, NULL, 0, after, limit, &next, &e);
	if (!text) {
		mgr_reply_err(req, &e);
		return;
	}
	json_t *arr = json_loads(text, 0, NULL), *out = json_array();
	free(text);
	size_t i;
	json_t *u;
	json_array_foreach(arr, i, u)
		json_array_append_new(out, auth_user_view(u));
	json_decref(arr);
	char *items = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	mgr_reply_page(req, items, next);
}

void api_users_get(struct http_req *req)
{
	json_t *u = route_user(req);
	if (u) {
		http_reply_json(req, 200, auth_user_view(u));
		json_decref(u);
	}
}

/* A create or a password change waits for its hash off the loop thread. */
struct pending_user {
	struct http_req *req;
	json_t *doc;   /* the user to create or update */
	char actor[64];
	bool create;
};

static void user_hashed(struct mgr *m, void *arg, bool ok, const char *hash)
{
	struct pending_user *p = arg;
	struct errinfo e = {0};
	const char *id = json_string_value(json_object_get(p->doc, "id"));
	if (!ok) {
		http_reply_error(p->req, 500, "internal", NULL, "the password could not be hashed");
		goto done;
	}
	json_object_set_new(p->doc, "password_hash", json_string(hash));
	json_t *stored = NULL;
	int rc = p->create ? store_create(m->st, STORE_USER, p->doc, &stored, &e)
	                   : store_update(m->st, STORE_USER, p->doc,
	                                  json_integer_value(json_object_get(p->doc, "version")), &stored, &e);
	const char *action = p->create ? "user.create" : "user.password";
	if (rc < 0 && p->create) /* a name taken meanwhile */
		mgr_refuse(p->req, action, "user", json_string_value(json_object_get(p->doc, "name")), &e);
	else
		mgr_event(m, p->actor, action, "user", id, rc < 0 ? "failed" : "succeeded", rc < 0 ? e.message : NULL);
	if (rc < 0) {
		if (!p->create)
			mgr_reply_err(p->req, &e);
	} else if (p->create) {
		char loc[96];
		snprintf(loc, sizeof(loc), "/api/v1/users/%s", id);
		http_add_header(p->req, "Location", loc);
		http_reply_json(p->req, 201, auth_user_view(stored));
	} else {
		http_reply_text(p->req, 204, "text/plain", strdup(""), 0);
	}
	json_decref(stored);
done:
	json_decref(p->doc);
	free(p);
}

static void hash_then(struct http_req *req, json_t *doc, const char *password, bool create)
{
	struct mgr *m = http_app(req);
	struct pending_user *p = calloc(1, sizeof(*p));
	p->req = req;
	p->doc = doc;
	p->create = create;
	snprintf(p->actor, sizeof(p->actor), "%s", mgr_actor(req));
	if (pw_job_start(m, PW_HASH, password, NULL, 0, user_hashed, p) < 0) {
		json_decref(doc);
		free(p);
		http_add_header(req, "Retry-After", "1");
		http_reply_error(req, 503, "busy", NULL, "too many passwords are being hashed; try again in a second");
		return;
	}
	http_defer(req);
}

void api_users_create(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"name", "password", "admin", NULL};
	struct jv_err jerr = {0};
	const char *name = NULL, *pw = NULL;
	bool admin = false;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "name", true, 63, &name, &jerr) < 0 ||
	    jv_string(body, "", "password", false, PASSWORD_MAX, &pw, &jerr) < 0 ||
	    jv_bool(body, "", "admin", false, &admin, &jerr) < 0 ||
	    (!jv_is_safe_name(name) && jv_fail(&jerr, "name", "'%s' is not a valid user name", name) < 0) ||
	    (pw && password_problem(pw) && jv_fail(&jerr, "password", "%s", password_problem(pw)) < 0)) {
		mgr_refuse_jv(req, "user.create", "user", name, &jerr);
		json_decref(body);
		return;
	}
	struct errinfo e = {0};
	json_t *exists = store_get(m->st, STORE_USER, name, &e);
	if (exists) {
		json_decref(exists);
		e = (struct errinfo){0};
		errinfo_set(&e, 409, "name_taken", "name", "a user named '%s' exists; pick another name", name);
		mgr_refuse(req, "user.create", "user", name, &e);
		json_decref(body); /* name points into it */
		return;
	}
	char id[37];
	mgr_uuid(id);
	/* From here on the document holds copies of what the body said. */
	json_t *doc = json_pack("{s:s, s:s, s:b}", "id", id, "name", name, "admin", admin);
	if (pw) {
		hash_then(req, doc, pw, true);
		json_decref(body);
		return;
	}
	json_decref(body);
	json_t *stored = NULL;
	int rc = store_create(m->st, STORE_USER, doc, &stored, &e);
	if (rc < 0) {
		mgr_refuse(req, "user.create", "user", json_string_value(json_object_get(doc, "name")), &e);
		json_decref(doc);
		return;
	}
	json_decref(doc);
	mgr_event(m, mgr_actor(req), "user.create", "user", id, "succeeded", NULL);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/users/%s", id);
	http_add_header(req, "Location", loc);
	http_reply_json(req, 201, auth_user_view(stored));
	json_decref(stored);
}

void api_users_password(struct http_req *req)
{
	json_t *u = route_user(req); /* another user is 404 whatever the body */
	if (!u)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body) {
		json_decref(u);
		return;
	}
	static const char *const keys[] = {"password", NULL};
	struct jv_err jerr = {0};
	const char *pw = NULL;
	if (jv_only_keys(body, "", keys, &jerr) < 0 ||
	    jv_string(body, "", "password", true, PASSWORD_MAX, &pw, &jerr) < 0) {
		json_decref(body);
		json_decref(u);
		mgr_reply_jv(req, &jerr);
		return;
	}
	if (password_ok(req, pw) < 0) {
		json_decref(body);
		json_decref(u);
		return;
	}
	hash_then(req, u, pw, false);
	json_decref(body);
}

/* Deletes the user with their tokens and memberships, in one transaction. */
void api_users_delete(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const struct auth_ctx *c = mgr_caller(req);
	json_t *u = route_user(req);
	if (!u)
		return;
	const char *id = json_string_value(json_object_get(u, "id"));
	if (!strcmp(id, c->user_id)) {
		json_decref(u);
		http_reply_error(req, 409, "in_use", NULL, "you cannot delete yourself; sign in as another administrator");
		return;
	}
	struct errinfo e = {0};
	int rc = store_begin(m->st, &e);
	if (rc == 0)
		rc = mgr_delete_where(m->st, STORE_TOKEN, "user_id", id, &e);
	if (rc == 0)
		rc = mgr_delete_where(m->st, STORE_MEMBER, "user_id", id, &e);
	if (rc == 0)
		rc = store_delete(m->st, STORE_USER, id, &e);
	if (rc == 0)
		rc = store_commit(m->st, &e);
	if (rc < 0)
		store_rollback(m->st);
	auth_cache_flush(m);
	mgr_event(m, c->user, "user.delete", "user", id, rc < 0 ? "failed" : "succeeded", rc < 0 ? e.message : NULL);
	json_decref(u);
	if (rc < 0)
		mgr_reply_err(req, &e);
	else
		http_reply_text(req, 204, "text/plain", strdup(""), 0);
}
