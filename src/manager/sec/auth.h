/* auth.h - who is asking and what they may do. An API token (only its
 * SHA-256 is stored) resolves to a user and the user's role in each of
 * their projects; the result is cached on the loop thread so that a GET
 * costs one hash and one table lookup, and the cache is dropped whenever a
 * user, token, project or membership changes. The decisions (auth_decide,
 * auth_role_in) are pure and tested by tables. */
#ifndef VDC_MGR_AUTH_H
#define VDC_MGR_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "errinfo.h"

struct mgr;
struct http_req;

/* ---- the loop thread's side ---- */

/* http_auth_fn for vdcd. */
int mgr_auth(void *app, const char *bearer, struct http_req *req);
/* The request's caller (set by mgr_auth; never NULL past it). */
const struct auth_ctx *mgr_caller(struct http_req *req);
/* The user id to scope store reads with: NULL for system administrators. */
const char *mgr_scope(struct http_req *req);
/* Replies 403 (naming the role needed and the one held) unless the caller's
 * role in project_id is at least need. 0 when allowed, -1 after replying. */
int mgr_require_role(struct http_req *req, const char *project_id, const char *project_name,
                     enum mgr_role need);

/* The caller a token stands for now, by the SHA-256 of its secret (as
 * mgr_auth finds it, through the cache): a new reference, dropped with
 * auth_ctx_unref; NULL when the token is unknown or revoked, its user
 * gone ("token_revoked") or it expired ("token_expired") into *why. For
 * what outlives its request (a live stream checks its caller again). */
struct auth_ctx *auth_caller_of_hash(struct mgr *m, const char *hash, const char **why);
/* Drops a reference to a caller (frees it with the last); a void * so
 * that it is also a destructor for http_set_auth_data. */
void auth_ctx_unref(void *ctx);

void auth_cache_init(struct mgr *m);
/* Forgets every cached caller (after a change to users, tokens, projects
 * or memberships); requests in flight keep theirs. */
void auth_cache_flush(struct mgr *m);
void auth_cache_free(struct mgr *m);

/* Makes an API token for user_id: *secret gets "vdct_" + 40 hex (shown to
 * the user once), the store keeps its SHA-256. ttl_s 0: never expires.
 * Returns the token's document as shown to users (new reference). */
json_t *auth_token_create(struct mgr *m, const char *user_id, const char *label, int64_t ttl_s,
                          char *secret, size_t secret_len, struct errinfo *e);
/* A token or user document as users see it (no secret hashes). */
json_t *auth_token_view(json_t *doc);
json_t *auth_user_view(json_t *doc);

/* At start-up: a first "admin" user with a never-expiring token written
 * to DATA/admin.token (0600), a "default" project. A store from before
 * users existed keeps its admin token working. */
int auth_bootstrap(struct mgr *m);

/* metrics_token.c: the token that may read GET /metrics only. Reads (or at
 * first start makes) --metrics-token-file; -1 (logged) when it is unusable. */
int metrics_token_init(struct mgr *m);
/* For a bearer whose sha256 is hash: -1 when it is not the metrics token;
 * 1 when it is and the request is GET /metrics; 0 when it is and the
 * request is anything else (a 403 is answered). */
int metrics_token_auth(struct mgr *m, const char *hash, struct http_req *req);

#endif
