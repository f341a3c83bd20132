/* http.h - the REST server both daemons use: libmicrohttpd driven from our
 * epoll loop (no threads), a route table, bounded bodies, bearer-token auth,
 * HTTPS with optional client certificates, JSON replies, deferred replies
 * for operations that wait on a VM, and Prometheus counters per route. */
#ifndef VDC_HTTP_H
#define VDC_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct loop;
struct http_server;
struct http_req;

typedef void (*http_handler_fn)(struct http_req *req);

struct http_route {
	const char *method;  /* "GET", "POST", "DELETE", ... */
	const char *pattern; /* "/api/v1/vms/{name}/start" */
	http_handler_fn fn;
	int public_route;    /* 1: no token needed */
	int access;          /* what the app's auth function requires; opaque here */
	/* 0: the body is gathered in memory, bounded by max_body. Else the
	 * body is streamed to a file in spool_dir as it arrives, bounded by
	 * this many bytes (a larger Content-Length, or a chunked body growing
	 * past it, gets 413 and leaves no file); see http_upload. */
	unsigned long long upload_max;
};

/* Checks a bearer token (NULL when none was sent) for a non-public route
 * (req's route is NULL for an unknown path); returns 1 to let the request
 * through. Returning 0 answers 401, unless the function has replied itself
 * (e.g. 403). Runs on the loop thread. */
typedef int (*http_auth_fn)(void *app, const char *bearer, struct http_req *req);

struct http_config {
	const char *listen;      /* "127.0.0.1:7441", "[::1]:7441", "0.0.0.0:7441" */
	const char *token;       /* bearer token; NULL disables auth (tests only) */
	http_auth_fn auth;       /* instead of token, when set */
	size_t max_body;         /* bytes; larger bodies get 413 */
	void *app;               /* handed to handlers through http_app() */
	/* HTTPS when tls_cert is set (PEM strings, copied). tls_cert is the
	 * chain sent in the handshake, leaf first. With tls_trust, a client
	 * certificate is asked for (never demanded at the TLS level: users
	 * connect without one) and http_peer_cert tells what came. */
	const char *tls_cert;
	const char *tls_key;
	const char *tls_trust;
	/* Every non-public route (and unknown ones) needs a client certificate
	 * that verifies against tls_trust, and with client_cn set, that CN. */
	int require_client_cert;
	const char *client_cn;
	/* Where bodies of routes with upload_max are spooled (files
	 * .upload-XXXXXX, mode 0600); required when any route has one. */
	const char *spool_dir;
	/* Connection limits; 0 takes the default in brackets. Connections past
	 * them are closed at once (MHD logs it). */
	unsigned max_connections;             /* all clients together [1000] */
	unsigned max_connections_per_address; /* one client address [64] */
	unsigned idle_timeout_s;              /* a connection with no traffic [30] */
	/* Headers added to every response: name, value, ..., NULL (kept, not
	 * copied), e.g. a Content-Security-Policy. */
	const char *const *headers;
	/* A public route for the requests no route matches whose method is
	 * its method (HEAD too for GET) and whose path does not start with fallback_exclude
	 * (e.g. a web UI's files and client-side paths, while "/api/" keeps
	 * its 401s and JSON 404s). NULL: none. Kept, not copied. */
	const struct http_route *fallback;
	const char *fallback_exclude;
};

/* Starts listening. Returns NULL and fills errbuf on failure. */
struct http_server *http_server_start(const struct http_config *cfg,
                                      const struct http_route *routes, size_t nroutes,
                                      struct loop *loop, char *errbuf, size_t errlen);
void http_server_stop(struct http_server *srv);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *srv);
/* Appends vdc_http_requests_total and latency histograms to f. */
void http_server_metrics(struct http_server *srv, FILE *f, const char *prefix);

void *http_app(const struct http_req *req);
const char *http_method(const struct http_req *req);
/* A {placeholder} of the matched route, or NULL. */
const char *http_param(const struct http_req *req, const char *name);
/* A query-string argument, or NULL. */
const char *http_query(const struct http_req *req, const char *name);
/* The raw body (NUL-terminated) and its length. */
const char *http_body(const struct http_req *req, size_t *len);

/* For a route with upload_max: returns 0 and fills the out-params (any may
 * be NULL) with the spool file's path, its size in bytes and its lowercase
 * hex SHA-256 once the whole body has arrived; -1 for a request without a
 * spooled body. The handler may rename() the file (same file system) or
 * read it; whatever is still at path when the request ends is removed.
 * Auth ran before the first byte was written. */
int http_upload(struct http_req *req, const char **path, unsigned long long *size,
                const char **sha256_hex);

/* Parses the body as a JSON object. On failure replies 400 itself (naming
 * the line and column) and returns NULL. An empty body gives an empty object
 * when empty_ok, else a 400. The caller owns the result. */
json_t *http_body_json(struct http_req *req, int empty_ok);

/* Replies. Each takes ownership of what it is given. A request gets exactly
 * one reply; a deferred request may be replied to later from any callback. */
void http_reply_json(struct http_req *req, unsigned status, json_t *body);
void http_reply_text(struct http_req *req, unsigned status, const char *content_type,
                     char *data, size_t len);
/* {"error":{"code":CODE,"message":...,"field":FIELD}}; field may be NULL. */
void http_reply_error(struct http_req *req, unsigned status, const char *code,
                      const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Adds a header to the reply this request will get (e.g. Location for a
 * 201 or 202). Call before the http_reply_*; up to 4 per request. */
void http_add_header(struct http_req *req, const char *name, const char *value);

/* Marks the request as answered later: the connection is suspended when the
 * handler returns and resumed by the eventual http_reply_*. */
void http_defer(struct http_req *req);

/* A reply whose body is made as it goes (server-sent events): sent with
 * status and content_type (and the headers added before), no length.
 * fill is called on the loop thread whenever the client can take more:
 * it writes at most max bytes into buf and returns how many; 0 when it has
 * nothing now (the connection then sleeps until http_stream_wake); -1 to
 * end the body cleanly. closed(ctx) is called once, when the connection is
 * over for whatever reason (body ended, client gone or too slow, server
 * stopping); the stream must not be used after it. A sleeping stream does
 * not notice a client that went away until it is woken: wake it now and
 * then (a heartbeat). Returns NULL (having replied 500) when out of
 * memory; closed is not called then. */
struct http_stream;
typedef long (*http_stream_fill_fn)(void *ctx, char *buf, size_t max);
struct http_stream *http_reply_stream(struct http_req *req, unsigned status, const char *content_type,
                                      http_stream_fill_fn fill, void (*closed)(void *ctx), void *ctx);
/* Makes a sleeping stream ask fill again (loop thread). */
void http_stream_wake(struct http_stream *s);

/* The request's path as received (decoded), e.g. "/assets/x.js". */
const char *http_path(const struct http_req *req);

/* The bearer token sent with the request, or NULL. */
const char *http_bearer(const struct http_req *req);

/* The matched route's access field (0 when no route matched). */
int http_route_access(const struct http_req *req);

/* What the auth function learnt of the caller, kept for the handlers and
 * freed (with free_fn, if not NULL) when the request ends. */
void http_set_auth_data(struct http_req *req, void *data, void (*free_fn)(void *));
void *http_auth_data(const struct http_req *req);

/* The client's address as text ("10.0.0.5", "::1"); "" when unknown. */
const char *http_peer_address(struct http_req *req);

/* 1 when the client presented a certificate that verifies against the
 * server's tls_trust (for client use), filling its CN and fingerprint
 * ("sha256:..."; buffers of TLS_FP_LEN, either may be NULL); 0 otherwise,
 * and always 0 on a plain HTTP server. */
int http_peer_cert(struct http_req *req, char *cn, size_t cnlen, char *fp);

/* 1 when the server speaks HTTPS. */
int http_server_tls(const struct http_server *srv);

/* The route pattern matched ("/api/v1/vms/{name}"), or NULL. */
const char *http_route_pattern(const struct http_req *req);

/* A request header's value (name case-insensitive), or NULL. */
const char *http_header(const struct http_req *req, const char *name);

/* ---- protocol upgrades (WebSocket, raw console streams) ---- */

struct http_upgraded;
/* Called on the loop thread once the 101 reply is out: fd now carries the
 * new protocol (for HTTPS it is a local socketpair end that MHD relays
 * through TLS, so it must never be closed directly); extra holds bytes
 * the client sent after its request head, to be treated as read from fd.
 * fd stays the callee's until http_upgraded_close(up). When the
 * connection fails before the reply is out, fn is never called and
 * abandon(cls) is (if not NULL). */
typedef void (*http_upgrade_fn)(void *cls, int fd, const char *extra, size_t extra_len,
                                struct http_upgraded *up);
/* Replies 101 Switching Protocols with "Upgrade: protocol" and the headers
 * added with http_add_header. */
void http_reply_upgrade(struct http_req *req, const char *protocol, http_upgrade_fn fn,
                        void (*abandon)(void *cls), void *cls);
/* The client's own socket under an upgraded connection, for poll() with
 * POLLRDHUP only (never read, written or closed): libmicrohttpd 0.9.75 does
 * not pass a client's going away on to the relayed fd of an HTTPS
 * connection, so whoever serves the stream watches this too. -1 when
 * unknown. */
int http_upgraded_peer_fd(const struct http_upgraded *up);
/* Writes all of buf to the client of an upgraded connection, from any one
 * thread at a time, waiting while its socket is full (or until stop_fd,
 * -1 for none, is readable: -ECANCELED). 0 or -errno. For HTTPS it sends
 * through the connection's TLS session itself: libmicrohttpd 0.9.75 relays
 * the fd it hands over through buffers of 4 bytes each way (it gives them
 * what is left of the connection's memory pool, and the reply's write
 * buffer has taken all of it; 1.0 frees that buffer first), one TLS record
 * per 4 bytes, a loop turn each: some 4 KB/s, so that a VNC screen took
 * seconds. Whoever uses it for a connection writes nothing to its fd
 * (reading from the fd stays as it was). */
int http_upgraded_write_all(struct http_upgraded *up, const void *buf, size_t len, int stop_fd);
/* The same without waiting: how many of buf's bytes the connection took,
 * -EAGAIN when none (call again, with the same bytes first, once
 * http_upgraded_peer_fd, or over plain HTTP the fd, is writable), or
 * -errno. */
ssize_t http_upgraded_send(struct http_upgraded *up, const void *buf, size_t len);
/* Ends an upgraded connection (its fd is closed). Loop thread only. */
void http_upgraded_close(struct http_upgraded *up);

/* Case-insensitive query flag: "1", "true", "yes". */
int http_query_flag(const struct http_req *req, const char *name);

#endif
