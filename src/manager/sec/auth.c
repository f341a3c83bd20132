/* auth.c - bearer tokens to callers: the cache, the store lookups behind
 * it, the checks handlers call, API token documents, and the first admin.
 *
 * A token is looked up by the SHA-256 of what was sent, never compared
 * byte by byte, so its timing tells nothing about a guessed prefix; a miss
 * and a hit differ only in whether a 256-bit hash exists. */
#include "auth.h"

#include "api.h"
#include "fsutil.h"
#include "log.h"
#include "loop.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_SLOTS 512
#define CACHE_PROBE 8
#define CACHE_TTL_MS 10000 /* bounds staleness when several vdcd share a store */
#define MAX_MEMBERSHIPS 1000

struct cache_slot {
	char hash[65];
	struct auth_ctx *ctx;
	uint64_t loaded_ms;
};

struct auth_cache {
	struct cache_slot slots[CACHE_SLOTS];
};

static void ctx_unref(void *p)
{
	struct auth_ctx *ctx = p;
	if (ctx && --ctx->refs == 0) {
		free(ctx->members);
		free(ctx);
	}
}

void auth_ctx_unref(void *p) { ctx_unref(p); }

void auth_cache_init(struct mgr *m) { m->auth_cache = calloc(1, sizeof(*m->auth_cache)); }

void auth_cache_flush(struct mgr *m)
{
	for (int i = 0; m->auth_cache && i < CACHE_SLOTS; i++) {
		ctx_unref(m->auth_cache->slots[i].ctx);
		m->auth_cache->slots[i] = (struct cache_slot){0};
	}
}

void auth_cache_free(struct mgr *m)
{
	auth_cache_flush(m);
	free(m->auth_cache);
	m->auth_cache = NULL;
}

static unsigned slot_of(const char *hash)
{
	return (unsigned)strtoul((char[9]){hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6],
	                                   hash[7], 0},
	                         NULL, 16) %
	       CACHE_SLOTS;
}

static struct auth_ctx *cache_get(struct mgr *m, const char *hash, uint64_t now_ms)
{
	unsigned s = slot_of(hash);
	for (int i = 0; i < CACHE_PROBE; i++) {
		struct cache_slot *c = &m->auth_cache->slots[(s + (unsigned)i) % CACHE_SLOTS];
		if (c->ctx && !strcmp(c->hash, hash)) {
			if (now_ms - c->loaded_ms < CACHE_TTL_MS)
				return c->ctx;
			ctx_unref(c->ctx);
			*c = (struct cache_slot){0};
			return NULL;
		}
	}
	return NULL;
}

static void cache_put(struct mgr *m, const char *hash, struct auth_ctx *ctx, uint64_t now_ms)
{
	unsigned s = slot_of(hash);
	struct cache_slot *victim = &m->auth_cache->slots[s];
	for (int i = 0; i < CACHE_PROBE; i++) {
		struct cache_slot *c = &m->auth_cache->slots[(s + (unsigned)i) % CACHE_SLOTS];
		if (!c->ctx) {
			victim = c;
			break;
		}
		if (c->loaded_ms < victim->loaded_ms)
			victim = c;
	}
	ctx_unref(victim->ctx);
	snprintf(victim->hash, sizeof(victim->hash), "%s", hash);
	victim->ctx = ctx;
	victim->loaded_ms = now_ms;
	ctx->refs++;
}

/* The first document of a one-filter list, or NULL. */
static json_t *first_of(struct store *st, enum store_kind k, const char *field, const char *value)
{
	struct errinfo e = {0};
	struct store_filter f = {field, value};
	char *text = store_list_text(st, k, &f, 1, NULL, 1, NULL, &e);
	json_t *arr = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	json_t *doc = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return doc;
}

/* A caller from the store: token, user, memberships. NULL when the token
 * is unknown or its user is gone. */
static struct auth_ctx *load_caller(struct mgr *m, const char *hash)
{
	json_t *tok = first_of(m->st, STORE_TOKEN, "secret_hash", hash);
	if (!tok)
		return NULL;
	struct errinfo e = {0};
	json_t *user = store_get(m->st, STORE_USER, json_string_value(json_object_get(tok, "user_id")), &e);
	struct auth_ctx *ctx = user ? calloc(1, sizeof(*ctx)) : NULL;
	if (!ctx) {
		json_decref(tok);
		json_decref(user);
		return NULL;
	}
	snprintf(ctx->user_id, sizeof(ctx->user_id), "%s", json_string_value(json_object_get(user, "id")));
	snprintf(ctx->user, sizeof(ctx->user), "%s", json_string_value(json_object_get(user, "name")));
	snprintf(ctx->token_id, sizeof(ctx->token_id), "%s", json_string_value(json_object_get(tok, "id")));
	ctx->admin = json_is_true(json_object_get(user, "admin"));
	ctx->expires_at = json_integer_value(json_object_get(tok, "expires_at"));
	struct store_filter f = {"user_id", ctx->user_id};
	char *text = store_list_text(m->st, STORE_MEMBER, &f, 1, NULL, MAX_MEMBERSHIPS, NULL, &e);
	json_t *arr = text ? json_loads(text, 0, NULL) : json_array();
	free(text);
	ctx->members = calloc(json_array_size(arr) + 1, sizeof(*ctx->members));
	size_t i;
	json_t *mb;
	json_array_foreach(arr, i, mb) {
		struct auth_member *am = &ctx->members[ctx->nmembers];
		if (!ctx->members ||
		    role_parse(json_string_value(json_object_get(mb, "role")), &am->role) < 0)
			continue;
		snprintf(am->project_id, sizeof(am->project_id), "%s",
		         json_string_value(json_object_get(mb, "project_id")) ?: "");
		ctx->nmembers++;
	}
	json_decref(arr);
	json_decref(tok);
	json_decref(user);
	return ctx;
}

int mgr_auth(void *app, const char *bearer, struct http_req *req)
{
	struct mgr *m = app;
	if (!bearer || !*bearer)
		return http_route_pattern(req) ? console_ticket_auth(m, req) : 0;
	char hash[65];
	mgr_sha256_hex(bearer, hash);
	int metrics = metrics_token_auth(m, hash, req);
	if (metrics >= 0)
		return metrics;
	uint64_t now_ms = loop_now_ms();
	struct auth_ctx *ctx = cache_get(m, hash, now_ms);
	if (!ctx) {
		if (!(ctx = load_caller(m, hash)))
			return 0;
		cache_put(m, hash, ctx, now_ms);
	}
	if (ctx->expires_at && ctx->expires_at <= (int64_t)time(NULL)) {
		/* Only the holder of the secret learns this: tell them what to do,
		 * not the same words as a token never issued. */
		char at[32];
		mgr_iso_time(ctx->expires_at, at);
		http_reply_error(req, 401, "token_expired", NULL,
		                 "the token expired at %s; sign in again with 'vdc login' (or make a new "
		                 "API token)", at);
		return 0;
	}
	ctx->refs++;
	http_set_auth_data(req, ctx, ctx_unref);
	if (!http_route_pattern(req))
		return 1; /* signed in: an unknown route may now be told 404 */
	bool mutating = strcmp(http_method(req), "GET") != 0;
	enum mgr_access acc = (enum mgr_access)http_route_access(req);
	if (auth_decide(ctx, acc, mutating) == 0) {
		/* A streamed upload is judged on its target before a byte of it
		 * is kept: another project's image, or one already uploaded,
		 * costs vdcd no disk. */
		if (!strcmp(http_route_pattern(req), "/api/v1/images/{id}/file") &&
		    api_images_upload_allowed(req) < 0)
			return 0;
		return 1;
	}
	if (acc == ACC_WRITE)
		http_reply_error(req, 403, "forbidden", NULL,
		                 "'%s' is a viewer in every project they belong to; this needs the "
		                 "operator or admin role in the object's project",
		                 ctx->user);
	else
		http_reply_error(req, 403, "forbidden", NULL,
		                 "%s %s is for system administrators; '%s' is not one", http_method(req),
		                 http_route_pattern(req), ctx->user);
	return 0;
}

struct auth_ctx *auth_caller_of_hash(struct mgr *m, const char *hash, const char **why)
{
	uint64_t now_ms = loop_now_ms();
	struct auth_ctx *ctx = cache_get(m, hash, now_ms);
	if (!ctx) {
		if (!(ctx = load_caller(m, hash))) {
			*why = "token_revoked";
			return NULL;
		}
		cache_put(m, hash, ctx, now_ms);
	}
	if (ctx->expires_at && ctx->expires_at <= (int64_t)time(NULL)) {
		*why = "token_expired";
		return NULL;
	}
	ctx->refs++;
	return ctx;
}

const struct auth_ctx *mgr_caller(struct http_req *req) { return http_auth_data(req); }

const char *mgr_scope(struct http_req *req)
{
	const struct auth_ctx *ctx = mgr_caller(req);
	return !ctx || ctx->admin ? NULL : ctx->user_id;
}

const char *mgr_actor(struct http_req *req)
{
	const struct auth_ctx *ctx = mgr_caller(req);
	return ctx ? ctx->user : "anonymous";
}

int mgr_require_role(struct http_req *req, const char *project_id, const char *project_name,
                     enum mgr_role need)
{
	const struct auth_ctx *ctx = mgr_caller(req);
	enum mgr_role have = ctx ? auth_role_in(ctx, project_id) : ROLE_NONE;
	if (have >= need)
		return 0;
	if (!project_id)
		http_reply_error(req, 403, "forbidden", NULL,
		                 "this object belongs to no project: only system administrators may "
		                 "change it");
	else
		http_reply_error(req, 403, "forbidden", NULL,
		                 "'%s' is %s in project '%s'; this needs %s or better",
		                 ctx ? ctx->user : "?", role_name(have), project_name ? project_name : project_id,
		                 role_name(need));
	return -1;
}

/* ---- tokens and users as shown ---- */

json_t *auth_token_view(json_t *doc)
{
	json_t *v = json_deep_copy(doc);
	json_object_del(v, "secret_hash");
	/* Kept as epoch seconds (what the check compares), shown as every time
	 * of the API is: RFC 3339 UTC, or null for never. */
	json_int_t exp = json_integer_value(json_object_get(doc, "expires_at"));
	char at[32];
	mgr_iso_time(exp, at);
	json_object_set_new(v, "expires_at", exp > 0 ? json_string(at) : json_null());
	json_object_set(v, "name", json_object_get(doc, "label"));
	json_object_del(v, "label");
	return v;
}

json_t *auth_user_view(json_t *doc)
{
	json_t *v = json_deep_copy(doc);
	json_object_set_new(v, "has_password", json_boolean(json_object_get(doc, "password_hash") != NULL));
	json_object_del(v, "password_hash");
	return v;
}

static json_t *token_doc(const char *user_id, const char *label, int64_t expires_at, const char *hash,
                         const char *id)
{
	char name[160];
	/* Unique per user, not across users. */
	snprintf(name, sizeof(name), "%s/%s", user_id, label);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", id, "name", name, "label", label,
	                 "user_id", user_id, "secret_hash", hash, "expires_at", (json_int_t)expires_at);
}

json_t *auth_token_create(struct mgr *m, const char *user_id, const char *label, int64_t ttl_s,
                          char *secret, size_t secret_len, struct errinfo *e)
{
	char hash[65], id[37];
	mgr_secret("vdct_", secret, secret_len);
	mgr_sha256_hex(secret, hash);
	mgr_uuid(id);
	int64_t exp = ttl_s ? (int64_t)time(NULL) + ttl_s : 0;
	json_t *doc = token_doc(user_id, label, exp, hash, id), *stored = NULL;
	if (store_create(m->st, STORE_TOKEN, doc, &stored, e) < 0) {
		if (e->status == 409) {
			*e = (struct errinfo){0}; /* the store's words name "<user id>/<name>" */
			errinfo_set(e, 409, "name_taken", "name",
			            "you already have a token named '%s'; pick another name or revoke it", label);
		}
		json_decref(doc);
		explicit_bzero(secret, secret_len);
		return NULL;
	}
	json_decref(doc);
	json_t *v = auth_token_view(stored);
	json_decref(stored);
	return v;
}

/* ---- the first administrator ---- */

int auth_bootstrap(struct mgr *m)
{
	struct errinfo e = {0};
	int64_t users = store_count(m->st, STORE_USER, NULL, 0, &e);
	if (users < 0) {
		log_error("bootstrap_failed", "error=%s", log_quote(e.message));
		return -1;
	}
	if (users > 0)
		return 0;
	char path[1100], uid[37], pid[37], tid[37], hash[65], key[65], token[64] = "";
	snprintf(path, sizeof(path), "%s/admin.token", m->cfg.data_dir);
	mgr_uuid(uid);
	mgr_uuid(pid);
	mgr_uuid(tid);
	/* A store from before users existed: its admin token stays valid. */
	mgr_sha256_hex("vdc:admin-token", key);
	char *legacy = store_secret_take(m->st, "api", key, false, 0, &e);
	json_t *lg = legacy ? json_loads(legacy, 0, NULL) : NULL;
	const char *old = json_string_value(json_object_get(lg, "hash"));
	if (old && strlen(old) == 64) {
		snprintf(hash, sizeof(hash), "%s", old);
	} else {
		mgr_secret("vdct_", token, sizeof(token));
		mgr_sha256_hex(token, hash);
		char line[80];
		int n = snprintf(line, sizeof(line), "%s\n", token);
		/* The file first: a crash before the commit makes a new one next
		 * time, never a token nobody can read. */
		if (fs_write_atomic(path, line, (size_t)n, 0600) < 0) {
			log_error("admin_token_write_failed", "path=%s", path);
			json_decref(lg);
			free(legacy);
			return -1;
		}
		explicit_bzero(line, sizeof(line));
		explicit_bzero(token, sizeof(token));
	}
	json_decref(lg);
	free(legacy);
	json_t *user = json_pack("{s:s, s:s, s:b}", "id", uid, "name", "admin", "admin", 1);
	json_t *proj = json_pack("{s:s, s:s, s:s, s:{s:n, s:n, s:n, s:n}, s:{s:i, s:i, s:i, s:i}}", "id",
	                         pid, "name", "default", "description", "made at first start", "quota",
	                         "vms", "vcpus", "memory_mib", "disk_mib", "usage", "vms", 0, "vcpus", 0,
	                         "memory_mib", 0, "disk_mib", 0);
	json_t *tok = token_doc(uid, "bootstrap", 0, hash, tid);
	e = (struct errinfo){0};
	int rc = store_begin(m->st, &e) < 0 || store_create(m->st, STORE_USER, user, NULL, &e) < 0 ||
	                 store_create(m->st, STORE_PROJECT, proj, NULL, &e) < 0 ||
	                 store_create(m->st, STORE_TOKEN, tok, NULL, &e) < 0 || store_commit(m->st, &e) < 0
	             ? -1
	             : 0;
	if (rc < 0) {
		store_rollback(m->st);
		log_error("bootstrap_failed", "error=%s", log_quote(e.message));
	} else {
		log_info("admin_user_created", "user=admin token_file=%s", path);
	}
	json_decref(user);
	json_decref(proj);
	json_decref(tok);
	return rc;
}
