/* bench_http.c - what the benchmarks' HTTP peers (the agent's API, vdcd's)
 * share: a JSON API handle that a Ctrl-C or the deadline interrupts, one
 * request with its body kept, and a free loopback port. */
#include "bench_http.h"
#include "bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

size_t bench_curl_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct bench_body *b = ctx;
	size_t n = size * nmemb;
	char *s = realloc(b->s, b->len + n + 1);
	if (!s)
		return 0;
	memcpy(s + b->len, data, n);
	b->s = s;
	b->len += n;
	s[b->len] = '\0';
	return n;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)ctx, (void)a, (void)b, (void)c, (void)d;
	return bench_interrupted(); /* non-zero aborts the transfer */
}

CURL *bench_curl_new(void)
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bench_curl_body);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	return h;
}

long bench_http(CURL *h, const char *who, const char *base, const char *method, const char *path,
                const char *body, int timeout_ms, char **resp)
{
	char url[512];
	snprintf(url, sizeof(url), "%s%s", base, path);
	struct bench_body b = {0};
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		if (strcmp(method, "GET"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode rc = curl_easy_perform(h);
	long status = -1;
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	else if (!bench_interrupted())
		say("%s: %s %s: %s", who, method, path, curl_easy_strerror(rc));
	if (resp)
		*resp = b.s ? b.s : strdup("");
	else
		free(b.s);
	return status;
}

int bench_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
