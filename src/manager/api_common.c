/* api_common.c - what every vdcd route shares: bearer-token auth against the
 * store's hashed secrets, error replies, the audit log, list pages. */
#include "api.h"

#include "http.h"
#include "log.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The admin token is checked against its hash in memory: one SHA-256 per
 * request, no store round trip on the hot path. */
int mgr_auth(void *app, const char *bearer, struct http_req *req)
{
	struct mgr *m = app;
	if (!bearer || !*bearer)
		return 0;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)bearer, strlen(bearer));
	return sodium_memcmp(h, m->admin_digest, sizeof(h)) == 0; /* constant time */
}

const char *mgr_actor(struct http_req *req)
{
	return "admin";
}

void mgr_reply_err(struct http_req *req, const struct errinfo *e)
{
	http_reply_error(req, e->status ? e->status : 500, e->code[0] ? e->code : "internal",
	                 e->field[0] ? e->field : NULL, "%s", e->message);
}

void mgr_reply_jv(struct http_req *req, const struct jv_err *jerr)
{
	http_reply_error(req, 400, "invalid_request", jerr->field, "%s: %s", jerr->field, jerr->message);
}

void mgr_event(struct mgr *m, const char *actor, const char *action, const char *kind,
               const char *id, const char *outcome, const char *detail)
{
	struct errinfo e = {0};
	if (store_event_add(m->st, actor, action, kind, id, outcome, detail ? detail : "", &e) < 0)
		log_warn("event_write_failed", "action=%s error=%s", action, log_quote(e.message));
	log_info("audit", "actor=%s action=%s target=%s/%s outcome=%s", actor, action, kind, id, outcome);
}

int mgr_page_args(struct http_req *req, int *limit, const char **after)
{
	*limit = 100;
	*after = http_query(req, "after");
	const char *l = http_query(req, "limit");
	if (l) {
		char *end;
		long n = strtol(l, &end, 10);
		if (*end || n < 1 || n > 1000) {
			http_reply_error(req, 400, "invalid_query", "limit", "limit must be a number from 1 to 1000");
			return -1;
		}
		*limit = (int)n;
	}
	return 0;
}

void mgr_reply_page(struct http_req *req, char *items_text, char *next)
{
	json_t *n = next ? json_string(next) : json_null();
	char *ntext = json_dumps(n, JSON_ENCODE_ANY);
	json_decref(n);
	size_t len = strlen(items_text) + strlen(ntext) + 32;
	char *out = malloc(len);
	int w = snprintf(out, len, "{\"items\":%s,\"next\":%s}\n", items_text, ntext);
	free(items_text);
	free(ntext);
	free(next);
	http_reply_text(req, 200, "application/json", out, (size_t)w);
}

void mgr_reply_stored(struct http_req *req, unsigned status, char *text)
{
	size_t len = strlen(text);
	http_reply_text(req, status, "application/json", text, len);
}
