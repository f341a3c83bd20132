/* http_client.h - a small non-blocking HTTP/1.1 client on the event loop,
 * for the agent's calls to vdcd (join, heartbeats). One request per
 * connection (Connection: close); http:// only for now. The agent keeps
 * libcurl out of its address space: its memory budget is a few MiB. */
#ifndef VDC_HTTP_CLIENT_H
#define VDC_HTTP_CLIENT_H

struct loop;

/* Called once per request: status is the HTTP status, or 0 with body = an
 * error message when no answer came (connect failure, timeout, bad reply).
 * body is NUL-terminated and freed after the call. */
typedef void (*hc_done_fn)(void *ctx, int status, const char *body);

struct hc;

/* Starts METHOD url with body (may be NULL) and an optional bearer token.
 * Returns a handle (done will be called later, from the loop, after which
 * the handle is gone) or NULL when the URL is not http://HOST:PORT/PATH with
 * a numeric or resolvable host. */
struct hc *hc_request(struct loop *l, const char *method, const char *url, const char *bearer,
                      const char *body, int timeout_ms, hc_done_fn done, void *ctx);
/* Abandons a request before done is called; done never will be. */
void hc_cancel(struct hc *c);

#endif
