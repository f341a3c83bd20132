/* bench_http.h - HTTP for the benchmarks' peers (see bench_http.c). */
#ifndef VDC_BENCH_HTTP_H
#define VDC_BENCH_HTTP_H

#include <curl/curl.h>

/* A handle for a JSON API: bodies kept, Nagle off, aborted by a Ctrl-C or
 * the bench's deadline. Headers (token, content type) are the caller's. */
CURL *bench_curl_new(void);
/* A body read by bench_curl_body (a CURLOPT_WRITEFUNCTION): NUL-ended. */
struct bench_body {
	char *s;
	size_t len;
};
size_t bench_curl_body(char *data, size_t size, size_t nmemb, void *ctx);
/* One request to base+path; the HTTP status, or -1 when there was no answer
 * (said as "who: METHOD path: why" unless interrupted). *resp (when resp is
 * set) gets the body, to free. */
long bench_http(CURL *h, const char *who, const char *base, const char *method, const char *path,
                const char *body, int timeout_ms, char **resp);
/* A TCP port free on 127.0.0.1 right now, or -1. */
int bench_free_port(void);

#endif
