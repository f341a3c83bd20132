/* http_client.h - a small non-blocking HTTP/1.1 client on the event loop,
 * for the agent's calls to vdcd (join, heartbeats). One request per
 * connection (Connection: close), over http:// or https:// (GnuTLS, the
 * server checked by a tls_client). The agent keeps libcurl out of its
 * address space: its memory budget is a few MiB. */
#ifndef VDC_HTTP_CLIENT_H
#define VDC_HTTP_CLIENT_H

struct loop;
struct tls_client;

/* Called once per request: status is the HTTP status, or 0 with body = an
 * error message when no answer came (connect failure, TLS handshake or
 * certificate check failed, timeout, bad reply). body is NUL-terminated and
 * freed after the call. */
typedef void (*hc_done_fn)(void *ctx, int status, const char *body);

struct hc;

/* Starts METHOD url with body (may be NULL) and an optional bearer token.
 * An https:// URL needs tls (which must outlive the request); the server
 * is checked by it after the handshake, before anything is sent. Returns
 * a handle (done will be called later, from the loop, after which the
 * handle is gone) or NULL when the URL is not http(s)://HOST[:PORT]/PATH
 * with a numeric or resolvable host, or is https without tls. */
struct hc *hc_request(struct loop *l, const char *method, const char *url, struct tls_client *tls,
                      const char *bearer, const char *body, int timeout_ms, hc_done_fn done,
                      void *ctx);
/* Abandons a request before done is called; done never will be. */
void hc_cancel(struct hc *c);

#endif
