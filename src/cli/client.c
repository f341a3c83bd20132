/* client.c - libcurl under the CLI. Short connect timeout: a vdcd that is not
 * there should say so at once, not after a minute. */
#include "client.h"

#include "config.h"
#include "strbuf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <time.h>

#ifndef VDC_VERSION
#define VDC_VERSION "dev"
#endif

#define REPLY_MAX (64u * 1024 * 1024)
#define CONNECT_TIMEOUT_S 5
#define REQUEST_TIMEOUT_S 120

struct client {
	CURL *curl;
	char server[512];
	char auth[600];
	char tls_pin[128];
	char ca_file[1024];
	int trust_any;
	int debug;
};

struct sink {
	struct strbuf b;
	int too_big;
	CURL *curl;
	client_chunk_fn chunk; /* a stream's: a 2xx body goes here as it comes */
	void *chunk_ctx;
	int stopped;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;
	long status = 0;
	if (s->chunk && curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status >= 200 && status < 300) {
		if (s->chunk(s->chunk_ctx, data, n) < 0) {
			s->stopped = 1;
			return 0;
		}
		return n;
	}
	if (s->b.len + n > REPLY_MAX) {
		s->too_big = 1;
		return 0;
	}
	return strbuf_add(&s->b, data, n) < 0 ? 0 : n;
}

struct client *client_new(const struct cli_config *cfg)
{
	static int inited;
	if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return NULL;
	inited = 1;
	struct client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	cl->curl = curl_easy_init();
	if (!cl->curl) {
		free(cl);
		return NULL;
	}
	snprintf(cl->server, sizeof(cl->server), "%s", cfg->server);
	if (cfg->token[0])
		snprintf(cl->auth, sizeof(cl->auth), "Authorization: Bearer %s", cfg->token);
	snprintf(cl->tls_pin, sizeof(cl->tls_pin), "%s", cfg->tls_pin);
	snprintf(cl->ca_file, sizeof(cl->ca_file), "%s", cfg->ca_file);
	const char *d = getenv("VDC_DEBUG");
	cl->debug = d && *d && strcmp(d, "0");
	return cl;
}

void client_trust_any(struct client *cl)
{
	cl->trust_any = 1;
}

void client_free(struct client *cl)
{
	if (!cl)
		return;
	curl_easy_cleanup(cl->curl);
	/* The token lives in this struct: do not leave it in freed memory. */
	explicit_bzero(cl->auth, sizeof(cl->auth));
	free(cl);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct upload {
	int fd;
	uint64_t size, sent;
	client_progress_fn progress;
	void *ctx;
};

static size_t on_read(char *dst, size_t size, size_t n, void *ctx)
{
	struct upload *u = ctx;
	ssize_t got = read(u->fd, dst, size * n);
	if (got < 0)
		return CURL_READFUNC_ABORT;
	u->sent += (uint64_t)got;
	if (u->progress)
		u->progress(u->ctx, u->sent, u->size);
	return (size_t)got;
}

/* Keeps X-Console-Offset: where a console's bytes start (--follow). */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct client_resp *r = ctx;
	static const char name[] = "x-console-offset:";
	size_t len = size * n, nl = sizeof(name) - 1;
	if (len > nl && !strncasecmp(data, name, nl)) {
		const char *v = data + nl;
		size_t vl = len - nl;
		while (vl && *v == ' ')
			v++, vl--;
		vl = strspn(v, "0123456789") < vl ? strspn(v, "0123456789") : vl;
		snprintf(r->console_offset, sizeof(r->console_offset), "%.*s", (int)vl, v);
	}
	return len;
}

struct stream_to {
	client_chunk_fn fn;
	void *ctx;
	const char *last_event_id;
};

static int perform(struct client *cl, const char *method, const char *path, const char *body,
                   struct upload *up, const struct stream_to *st, struct client_resp *r)
{
	memset(r, 0, sizeof(*r));
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", cl->server, path);
	CURL *c = cl->curl;
	curl_easy_reset(c);
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, st ? "Accept: text/event-stream" : "Accept: application/json");
	char leid[256];
	if (st && st->last_event_id) {
		snprintf(leid, sizeof(leid), "Last-Event-ID: %s", st->last_event_id);
		h = curl_slist_append(h, leid);
	}
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, "User-Agent: vdc/" VDC_VERSION);
	if (cl->auth[0])
		h = curl_slist_append(h, cl->auth);
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (up)
		h = curl_slist_append(h, "Content-Type: application/octet-stream");
	struct sink s = {.curl = c, .chunk = st ? st->fn : NULL, .chunk_ctx = st ? st->ctx : NULL};
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	/* An upload takes as long as its bytes take; a stall still ends it. */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, up || st ? 0L : (long)REQUEST_TIMEOUT_S);
	if (st) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	}
	if (up) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->size);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)REQUEST_TIMEOUT_S);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	/* TLS: the CA trusted at 'vdc login' verifies the server, and only it
	 * (not the system's CA directory too); without one, the system's CAs. A
	 * pin from the config narrows that to one public key. */
	if (cl->trust_any) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (cl->ca_file[0]) {
		curl_easy_setopt(c, CURLOPT_CAINFO, cl->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (cl->tls_pin[0])
		curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, cl->tls_pin);
	double t0 = now_ms();
	if (cl->debug)
		fprintf(stderr, "> %s %s\n", method, url);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc == CURLE_WRITE_ERROR && s.stopped)
		rc = CURLE_OK; /* the caller had what it wanted */
	if (rc != CURLE_OK) {
		if (s.too_big)
			snprintf(r->error, sizeof(r->error), "the reply was larger than %u MiB",
			         REPLY_MAX >> 20);
		else
			snprintf(r->error, sizeof(r->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		strbuf_free(&s.b);
		if (cl->debug)
			fprintf(stderr, "< no reply: %s\n", r->error);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	const char *ct = NULL;
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
	r->len = s.b.len;
	r->body = s.b.p ? strbuf_take(&s.b) : strdup("");
	if (cl->debug)
		fprintf(stderr, "< %ld (%zu bytes, %.0f ms)\n", r->status, r->len, now_ms() - t0);
	return 0;
}

int client_request(struct client *cl, const char *method, const char *path, const char *body,
                   struct client_resp *r)
{
	return perform(cl, method, path, body, NULL, NULL, r);
}

int client_stream(struct client *cl, const char *path, const char *last_event_id, client_chunk_fn fn,
                  void *ctx, struct client_resp *r)
{
	struct stream_to st = {fn, ctx, last_event_id};
	return perform(cl, "GET", path, NULL, NULL, &st, r);
}

int client_upload(struct client *cl, const char *path, int fd, uint64_t size, client_progress_fn progress,
                  void *ctx, struct client_resp *r)
{
	struct upload up = {fd, size, 0, progress, ctx};
	return perform(cl, "PUT", path, NULL, &up, NULL, r);
}

void client_resp_free(struct client_resp *r)
{
	free(r->body);
	r->body = NULL;
}

char *client_escape(const char *s, char *buf, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	/* "." and ".." would be dot segments, which curl squashes. */
	int dots_only = !strcmp(s, ".") || !strcmp(s, "..");
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '~' ||
		            (*p == '.' && !dots_only);
		size_t need = plain ? 1 : 3;
		if (o + need + 1 > n)
			break;
		if (plain) {
			buf[o++] = (char)*p;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		}
	}
	if (n)
		buf[o] = '\0';
	return buf;
}
