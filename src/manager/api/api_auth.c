/* api_auth.c - signing in and API tokens: POST /auth/login trades a user
 * name and password for a token (throttled, hashed off the loop thread),
 * GET /auth/whoami, and a user's own tokens: list, create (the secret is
 * shown once), revoke. */
#include "api.h"

#include "auth.h"
#include "log.h"
#include "login_guard.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOGIN_TTL_DEFAULT_S (12 * 3600)
#define TOKEN_TTL_DEFAULT_S (90 * 86400)
#define TOKEN_TTL_MAX_S (5LL * 365 * 86400)
#define PASSWORD_MAX 1024

/* Token names: like object names, and '@' too ("vdc-cli@laptop"). */
static bool token_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	                         (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@") == n;
}

struct login {
	struct http_req *req;
	char user[64];
	char user_id[37];
	char label[64];
	char addr[64];
	int64_t ttl_s;
	bool known;
};

/* What failures are counted under: the user name and the address. */
static void throttle_keys(const struct login *l, char ukey[96], char akey[96])
{
	snprintf(ukey, 96, "user:%s", l->user);
	snprintf(akey, 96, "addr:%s", l->addr);
}

static void login_done(struct mgr *m, void *arg, bool ok, const char *hash)
{
	struct login *l = arg;
	char ukey[96], akey[96];
	throttle_keys(l, ukey, akey);
	if (!ok || !l->known) {
		login_failed(m, ukey);
		login_failed(m, akey);
		char detail[160];
		snprintf(detail, sizeof(detail), "from %s; %d recent failures for this user, %d from this address",
		         l->addr, login_failures(m, ukey), login_failures(m, akey));
		mgr_event(m, l->user, "auth.login", "user", l->known ? l->user_id : l->user, "failed", detail);
		http_reply_error(l->req, 401, "invalid_credentials", NULL,
		                 "the user name or the password is wrong");
		free(l);
		return;
	}
	login_succeeded(m, ukey);
	login_succeeded(m, akey);
	/* Signing in again from the same place replaces that place's token. */
	char name[160];
	snprintf(name, sizeof(name), "%s/%s", l->user_id, l->label);
	struct errinfo e = {0};
	json_t *old = store_get(m->st, STORE_TOKEN, name, &e);
	if (old) {
		store_delete(m->st, STORE_TOKEN, json_string_value(json_object_get(old, "id")), &e);
		json_decref(old);
		auth_cache_flush(m);
	}
	e = (struct errinfo){0};
	char secret[64];
	json_t *tok = auth_token_create(m, l->user_id, l->label, l->ttl_s, secret, sizeof(secret), &e);
	if (!tok) {
		mgr_reply_err(l->req, &e);
		free(l);
		return;
	}
	mgr_event(m, l->user, "auth.login", "user", l->user_id, "succeeded", l->addr);
	json_object_set_new(tok, "token", json_string(secret));
	json_object_set_new(tok, "user", json_string(l->user));
	sodium_memzero(secret, sizeof(secret));
	http_add_header(l->req, "Cache-Control", "no-store");
	http_reply_json(l->req, 201, tok);
	free(l);
}

void api_auth_login(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"user", "password", "token_name", "ttl_s", NULL};
	struct jv_err jerr = {0};
	const char *user = NULL, *password = NULL, *label = NULL;
	int64_t ttl = LOGIN_TTL_DEFAULT_S;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "user", true, 63, &user, &jerr) < 0 ||
	    jv_string(body, "", "password", true, PASSWORD_MAX, &password, &jerr) < 0 ||
	    jv_string(body, "", "token_name", false, 63, &label, &jerr) < 0 ||
	    jv_int(body, "", "ttl_s", false, 60, 30 * 86400, &ttl, &jerr) < 0) {
		json_decref(body);
		mgr_reply_jv(req, &jerr);
		return;
	}
	if (label && !token_name_ok(label)) {
		json_decref(body);
		http_reply_error(req, 400, "invalid_request", "token_name",
		                 "token_name may hold letters, digits, '.', '-', '_' and '@' only");
		return;
	}
	struct login *l = calloc(1, sizeof(*l));
	l->req = req;
	l->ttl_s = ttl;
	snprintf(l->user, sizeof(l->user), "%s", user);
	snprintf(l->label, sizeof(l->label), "%s", label ? label : "login");
	snprintf(l->addr, sizeof(l->addr), "%s", http_peer_address(req));
	char ukey[96], akey[96];
	throttle_keys(l, ukey, akey);
	int fails = login_failures(m, ukey), afails = login_failures(m, akey);
	if (afails > fails)
		fails = afails;
	if (throttle_locked(fails)) {
		mgr_event(m, l->user, "auth.login", "user", l->user, "refused", "too many recent failures");
		http_add_header(req, "Retry-After", "900");
		http_reply_error(req, 429, "too_many_attempts", NULL,
		                 "too many failed logins for this user or from this address; try again "
		                 "in 15 minutes");
		free(l);
		json_decref(body);
		return;
	}
	struct errinfo e = {0};
	json_t *u = store_get(m->st, STORE_USER, user, &e);
	const char *stored = json_string_value(json_object_get(u, "password_hash"));
	l->known = stored != NULL;
	snprintf(l->user_id, sizeof(l->user_id), "%s", json_string_value(json_object_get(u, "id")) ?: "");
	int rc = pw_job_start(m, PW_VERIFY, password, stored, throttle_delay_ms(fails), login_done, l);
	json_decref(u);
	json_decref(body); /* password pointed into it: wipe what jansson held */
	if (rc < 0) {
		http_add_header(req, "Retry-After", "1");
		http_reply_error(req, 429, "too_many_attempts", NULL,
		                 "too many logins are being checked right now; try again in a second");
		free(l);
		return;
	}
	http_defer(req);
}

void api_auth_whoami(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const struct auth_ctx *c = mgr_caller(req);
	json_t *projects = json_array();
	for (int i = 0; i < c->nmembers; i++) {
		struct errinfo e = {0};
		json_t *p = store_get(m->st, STORE_PROJECT, c->members[i].project_id, &e);
		json_array_append_new(projects, json_pack("{s:s, s:O, s:s}", "project_id", c->members[i].project_id,
		                                          "project", p ? json_object_get(p, "name") : json_null(),
		                                          "role", role_name(c->members[i].role)));
		json_decref(p);
	}
	struct errinfo e = {0};
	json_t *tok = store_get(m->st, STORE_TOKEN, c->token_id, &e);
	json_t *tv = tok ? auth_token_view(tok) : json_object();
	json_decref(tok);
	http_reply_json(req, 200, json_pack("{s:{s:s, s:s, s:b}, s:o, s:o}", "user", "id", c->user_id, "name",
	                                    c->user, "admin", c->admin, "projects", projects, "token", tv));
}

/* Whose tokens: the caller's, or for an administrator ?user=NAME. */
static json_t *tokens_owner(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const struct auth_ctx *c = mgr_caller(req);
	const char *who = http_query(req, "user");
	struct errinfo e = {0};
	if (who && !c->admin) {
		http_reply_error(req, 403, "forbidden", "user", "only system administrators may see other users' tokens");
		return NULL;
	}
	json_t *u = store_get(m->st, STORE_USER, who ? who : c->user_id, &e);
	if (!u)
		http_reply_error(req, 404, "not_found", "user", "no user '%s'", who ? who : c->user);
	return u;
}

void api_tokens_list(struct http_req *req)
{
	struct mgr *m = http_app(req);
	int limit;
	const char *after;
	if (mgr_page_args(req, &limit, &after) < 0)
		return;
	json_t *u = tokens_owner(req);
	if (!u)
		return;
	struct store_filter f = {"user_id", json_string_value(json_object_get(u, "id"))};
	struct errinfo e = {0};
	char *next = NULL;
	char *text = store_list_text(m->st, STORE_TOKEN, &f, 1, after, limit, &next, &e);
	if (!text) {
		json_decref(u);
		mgr_reply_err(req, &e);
		return;
	}
	json_t *arr = json_loads(text, 0, NULL), *out = json_array();
	free(text);
	size_t i;
	json_t *t;
	json_array_foreach(arr, i, t) {
		json_t *v = auth_token_view(t);
		json_object_set(v, "user", json_object_get(u, "name"));
		json_array_append_new(out, v);
	}
	json_decref(arr);
	json_decref(u);
	char *items = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	mgr_reply_page(req, items, next);
}

void api_tokens_create(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const struct auth_ctx *c = mgr_caller(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"name", "ttl_s", NULL};
	struct jv_err jerr = {0};
	const char *label = NULL;
	int64_t ttl = TOKEN_TTL_DEFAULT_S;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "name", true, 63, &label, &jerr) < 0 ||
	    jv_int(body, "", "ttl_s", false, 60, TOKEN_TTL_MAX_S, &ttl, &jerr) < 0 ||
	    (!token_name_ok(label) &&
	     jv_fail(&jerr, "name", "'%s' is not a valid token name (letters, digits, '.', '-', '_', '@')", label) < 0)) {
		mgr_refuse_jv(req, "token.create", "token", label, &jerr);
		json_decref(body);
		return;
	}
	struct errinfo e = {0};
	char secret[64];
	json_t *tok = auth_token_create(m, c->user_id, label, ttl, secret, sizeof(secret), &e);
	if (!tok) {
		mgr_refuse(req, "token.create", "token", label, &e);
		json_decref(body); /* label points into it */
		return;
	}
	json_decref(body);
	mgr_event(m, c->user, "token.create", "token", json_string_value(json_object_get(tok, "id")), "succeeded",
	          json_string_value(json_object_get(tok, "name")));
	json_object_set_new(tok, "token", json_string(secret));
	sodium_memzero(secret, sizeof(secret));
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tokens/%s", json_string_value(json_object_get(tok, "id")));
	http_add_header(req, "Location", loc);
	http_add_header(req, "Cache-Control", "no-store");
	http_reply_json(req, 201, tok);
}

void api_tokens_delete(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const struct auth_ctx *c = mgr_caller(req);
	struct errinfo e = {0};
	const char *key = http_param(req, "id");
	json_t *tok = store_get(m->st, STORE_TOKEN, key, &e);
	if (!tok) {
		/* By its name: the caller's own token of that name (tokens are
		 * stored as "<user id>/<name>", unique per user). */
		char name[160];
		snprintf(name, sizeof(name), "%s/%s", c->user_id, key);
		e = (struct errinfo){0};
		tok = strchr(key, '/') ? NULL : store_get(m->st, STORE_TOKEN, name, &e);
	}
	/* Another user's token is answered as if it did not exist. */
	if (!tok || (!c->admin && strcmp(json_string_value(json_object_get(tok, "user_id")) ?: "", c->user_id))) {
		json_decref(tok);
		http_reply_error(req, 404, "not_found", NULL, "you have no token with the id or name '%s'", key);
		return;
	}
	const char *id = json_string_value(json_object_get(tok, "id"));
	if (store_delete(m->st, STORE_TOKEN, id, &e) < 0) {
		json_decref(tok);
		mgr_reply_err(req, &e);
		return;
	}
	auth_cache_flush(m); /* revoked now, not in ten seconds */
	mgr_event(m, c->user, "token.revoke", "token", id, "succeeded", json_string_value(json_object_get(tok, "label")));
	json_decref(tok);
	http_reply_text(req, 204, "text/plain", strdup(""), 0);
}
