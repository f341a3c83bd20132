/* agent_client.c - HTTP to agents with libcurl. The agent's URL comes from
 * the host document, its bearer token from the store's secrets; over https
 * vdcd shows its client certificate and checks the agent's against vdcd's
 * CA and the URL's host (mutual TLS), and still sends the token. */
#include "agent_client.h"

#include "fault.h"
#include "manager.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct {
	const char *cert, *key, *ca;
} tls;

void agent_client_set_tls(const char *cert, const char *key, const char *ca)
{
	tls.cert = cert;
	tls.key = key;
	tls.ca = ca;
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	size_t add = size * n;
	if (b->len + add > (8u << 20))
		return 0; /* an agent never sends this much: stop */
	char *np = realloc(b->p, b->len + add + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, data, add);
	b->p = np;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

const char *agent_error_message(const json_t *reply)
{
	const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
	return m ? m : "the agent gave no error message";
}

static size_t on_read(char *dst, size_t size, size_t n, void *ctx)
{
	int fd = *(int *)ctx;
	ssize_t got = read(fd, dst, size * n);
	return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

/* One reply header wanted by name, and its value when it comes. */
struct want_hdr {
	const char *name;
	char *val;
	size_t len;
};

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct want_hdr *w = ctx;
	size_t len = size * n, nl = strlen(w->name);
	if (len > nl + 1 && !strncasecmp(data, w->name, nl) && data[nl] == ':') {
		const char *v = data + nl + 1;
		size_t vl = len - nl - 1;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		snprintf(w->val, w->len, "%.*s", (int)vl, v);
	}
	return len;
}

/* One request: a JSON body, or (upload_fd >= 0) a file's bytes streamed;
 * hdr (may be NULL) receives one reply header, text_len the text's length. */
static int agent_request(struct store *st, const char *host_id, const char *method, const char *path,
                         const json_t *body, int upload_fd, uint64_t upload_size, long timeout_s,
                         long *status, json_t **reply, char **text, struct errinfo *e,
                         struct want_hdr *hdr, size_t *text_len)
{
	int rc = -1;
	CURL *c = NULL;
	struct curl_slist *hdrs = NULL;
	char *payload = NULL, *grant = NULL;
	struct buf b = {0};
	*reply = NULL;
	json_t *host = store_get(st, STORE_HOST, host_id, e);
	if (!host)
		goto cleanup;
	char key[65];
	mgr_sha256_hex(json_string_value(json_object_get(host, "id")), key);
	grant = store_secret_take(st, "agent", key, false, 0, e);
	json_t *g = grant ? json_loads(grant, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(g, "agent_token"));
	const char *url = json_string_value(json_object_get(host, "agent_url"));
	const char *hname = json_string_value(json_object_get(host, "name"));
	if (grant && !g) { /* a grant we could not read now: not one to join again for */
		errinfo_set(e, 500, "internal", NULL, "cannot read host '%s''s credentials (out of memory?)",
		            hname ? hname : host_id);
		goto cleanup;
	}
	if (!tok || !url) {
		json_decref(g);
		errinfo_set(e, 500, "host_credentials", NULL, "host '%s' has no agent credentials; join it again",
		            hname ? hname : host_id);
		goto cleanup;
	}
	char full[1024], auth[512];
	snprintf(full, sizeof(full), "%s%s", url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	json_decref(g);
	c = curl_easy_init();
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, upload_fd >= 0 ? "Content-Type: application/octet-stream"
	                                              : "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (hdr) {
		hdr->val[0] = '\0';
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, hdr);
	}
	if (tls.ca) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, tls.cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, tls.key);
		curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL); /* only vdcd's CA, not the system's */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (upload_fd >= 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &upload_fd);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)upload_size);
	} else if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	/* The fault site of calls to agents: a connection that failed, so
	 * nothing reached the host. */
	bool injected = fault_hit(FAULT_AGENT);
	CURLcode cc = injected ? CURLE_COULDNT_CONNECT : curl_easy_perform(c);
	if (cc != CURLE_OK) {
		errinfo_set(e, 502, "host_unreachable", NULL, "host '%s' (%s) did not answer: %s%s",
		            hname ? hname : host_id, url, curl_easy_strerror(cc), injected ? " (injected fault)" : "");
		goto cleanup;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (b.p) {
		*reply = json_loads(b.p, 0, NULL);
		if (text_len)
			*text_len = b.len;
		if (text) {
			*text = b.p;
			b.p = NULL;
		}
	}
	rc = 0;
cleanup:
	json_decref(host);
	free(grant);
	free(payload);
	free(b.p);
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	return rc;
}

int agent_call(struct store *st, const char *host_id, const char *method, const char *path,
               const json_t *body, long timeout_s, long *status, json_t **reply, char **text,
               struct errinfo *e)
{
	return agent_request(st, host_id, method, path, body, -1, 0, timeout_s, status, reply, text, e, NULL,
	                     NULL);
}

int agent_get_text(struct store *st, const char *host_id, const char *path, long timeout_s,
                   const char *hdr_name, char *hdr_val, size_t hdr_len, long *status, json_t **reply,
                   char **text, size_t *len, struct errinfo *e)
{
	struct want_hdr h = {hdr_name, hdr_val, hdr_len};
	*len = 0;
	return agent_request(st, host_id, "GET", path, NULL, -1, 0, timeout_s, status, reply, text, e, &h, len);
}

int agent_upload(struct store *st, const char *host_id, const char *path, int fd, uint64_t size,
                 long timeout_s, long *status, json_t **reply, struct errinfo *e)
{
	return agent_request(st, host_id, "PUT", path, NULL, fd, size, timeout_s, status, reply, NULL, e, NULL,
	                     NULL);
}
