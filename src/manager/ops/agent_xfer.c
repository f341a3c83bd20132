/* agent_xfer.c - HTTP to agents with libcurl. The agent's URL comes from the
 * host document, its bearer token from the store's secrets; over https vdcd
 * shows its client certificate and checks the agent's against vdcd's CA and
 * the URL's host (mutual TLS), and still sends the token. */
#include "agent_xfer.h"

#include "agent_client.h"
#include "manager.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define REPLY_MAX (8u << 20) /* an agent never sends this much */

static struct {
	const char *cert, *key, *ca;
} tls;

void agent_client_set_tls(const char *cert, const char *key, const char *ca)
{
	tls.cert = cert;
	tls.key = key;
	tls.ca = ca;
}

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct strbuf *b = ctx;
	size_t add = size * n;
	if (b->len + add > REPLY_MAX || strbuf_add(b, data, add) < 0)
		return 0; /* stop */
	return add;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ctx)
{
	int fd = *(int *)ctx;
	ssize_t got = read(fd, dst, size * n);
	return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct agent_xfer *x = ctx;
	size_t len = size * n, nl = strlen(x->hdr_name);
	if (len > nl + 1 && !strncasecmp(data, x->hdr_name, nl) && data[nl] == ':') {
		const char *v = data + nl + 1;
		size_t vl = len - nl - 1;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		snprintf(x->hdr_val, sizeof(x->hdr_val), "%.*s", (int)vl, v);
	}
	return len;
}

int agent_xfer_prepare(struct agent_xfer *x, struct store *st, const char *host_id, const char *method,
                       const char *path, const json_t *body, int upload_fd, uint64_t upload_size,
                       long timeout_s, const char *hdr_name, struct errinfo *e)
{
	*x = (struct agent_xfer){.upload_fd = upload_fd, .hdr_name = hdr_name};
	json_t *host = store_get(st, STORE_HOST, host_id, e);
	if (!host)
		return -1;
	char key[65];
	mgr_sha256_hex(json_string_value(json_object_get(host, "id")), key);
	char *grant = store_secret_take(st, "agent", key, false, 0, e);
	json_t *g = grant ? json_loads(grant, 0, NULL) : NULL;
	free(grant);
	const char *tok = json_string_value(json_object_get(g, "agent_token"));
	const char *url = json_string_value(json_object_get(host, "agent_url"));
	const char *hname = json_string_value(json_object_get(host, "name"));
	snprintf(x->host, sizeof(x->host), "%s", hname ? hname : host_id);
	snprintf(x->url, sizeof(x->url), "%s", url ? url : "");
	if (!tok || !url) {
		json_decref(g);
		json_decref(host);
		errinfo_set(e, 500, "host_credentials", NULL, "host '%s' has no agent credentials; join it again",
		            x->host);
		return -1;
	}
	char full[1024], auth[512];
	snprintf(full, sizeof(full), "%s%s", url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	json_decref(g);
	json_decref(host);
	CURL *c = x->curl = curl_easy_init();
	if (!c) {
		errinfo_set(e, 500, "internal", NULL, "out of memory calling host '%s'", x->host);
		return -1;
	}
	x->headers = curl_slist_append(x->headers, auth);
	x->headers = curl_slist_append(x->headers, upload_fd >= 0 ? "Content-Type: application/octet-stream"
	                                                          : "Content-Type: application/json");
	x->headers = curl_slist_append(x->headers, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x->body);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (hdr_name) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
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
		curl_easy_setopt(c, CURLOPT_READDATA, &x->upload_fd);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)upload_size);
	} else if (body) {
		x->payload = json_dumps(body, JSON_COMPACT);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->payload);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	return 0;
}

int agent_xfer_result(struct agent_xfer *x, CURLcode cc, long *status, json_t **reply, char **text,
                      size_t *len, struct errinfo *e)
{
	*reply = NULL;
	double waited = 0;
	if (cc == CURLE_OPERATION_TIMEDOUT && curl_easy_getinfo(x->curl, CURLINFO_TOTAL_TIME, &waited) == CURLE_OK)
		return errinfo_set(e, 504, "host_timeout", NULL,
		                   "host '%s' (%s) did not answer within %.0f s (%s); check that its vdc-agent "
		                   "is running and reachable from vdcd ('vdc host get %s' shows its last "
		                   "heartbeat), then try again",
		                   x->host, x->url, waited, curl_easy_strerror(cc), x->host);
	if (cc != CURLE_OK)
		return errinfo_set(e, 502, "host_unreachable", NULL,
		                   "host '%s' (%s) did not answer: %s%s; check that its vdc-agent is running "
		                   "and reachable from vdcd ('vdc host get %s' shows its last heartbeat), "
		                   "then try again",
		                   x->host, x->url, curl_easy_strerror(cc), x->injected ? " (injected fault)" : "",
		                   x->host);
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, status);
	if (x->body.p) {
		*reply = json_loads(x->body.p, 0, NULL);
		if (len)
			*len = x->body.len;
		if (text)
			*text = strbuf_take(&x->body);
	}
	return 0;
}

void agent_xfer_free(struct agent_xfer *x)
{
	strbuf_free(&x->body);
	free(x->payload);
	curl_slist_free_all(x->headers);
	if (x->curl)
		curl_easy_cleanup(x->curl);
	*x = (struct agent_xfer){.upload_fd = -1};
}
