/* http.c - libmicrohttpd in external-epoll mode under our loop. One request is
 * one struct http_req: head checked, route matched and caller authorised as
 * soon as the headers are in, body gathered with a bound (or spooled to a
 * file), handler called once, reply queued now or, for deferred requests,
 * after resume. */
#include "http.h"

#include "http_guard.h"
#include "http_spool.h"

#include "log.h"
#include "loop.h"
#include "strbuf.h"
#include "tls.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_PARAMS 6
#define NBUCKETS 8
#define DEFAULT_MAX_CONNECTIONS 1000
#define DEFAULT_MAX_PER_ADDRESS 64
#define DEFAULT_IDLE_TIMEOUT_S 30
/* libmicrohttpd 0.9.75 cannot queue a reply while the body is arriving, so
 * a body past its bound is read and dropped to answer 413 at its end; past
 * this much dropped, the connection is cut instead. */
#define UPLOAD_DISCARD_MAX (64ull << 20)
/* libmicrohttpd 0.9.75 relays an upgraded HTTPS connection through a
 * socketpair, edge-triggered, and does not always make its timeout or its
 * epoll fd say that it holds bytes still to move; while any upgraded
 * connection is open, the loop runs it at least this often. */
#define UPGRADED_POLL_MS 5
static const double bucket_ms[NBUCKETS] = {0.5, 1, 2.5, 5, 10, 50, 250, 1000};

struct route_stats {
	unsigned long by_class[6]; /* 1xx..5xx by first digit */
	unsigned long buckets[NBUCKETS];
	double sum_ms;
	unsigned long count;
};

struct http_server {
	struct MHD_Daemon *mhd;
	struct loop *loop;
	struct http_server *next; /* servers sharing the loop (see prepare) */
	struct loop_watch *watch;
	const struct http_route *routes;
	size_t nroutes;
	struct route_stats *stats; /* one per route, + one for unmatched */
	char *token;
	http_auth_fn auth;
	size_t max_body;
	void *app;
	int port;
	/* HTTPS: kept for MHD's lifetime (it reads them at start). */
	char *tls_cert, *tls_key, *tls_trust;
	int require_client_cert;
	char *client_cn;
	char *spool_dir;
	int upgraded; /* upgraded connections open (see prepare) */
	const char *const *headers;
	const struct http_route *fallback;
	const char *fallback_exclude;
};

struct http_upgraded {
	struct MHD_UpgradeResponseHandle *urh;
	struct http_server *srv;
	int peer_fd;
	int app_fd;                  /* what on_upgraded handed over */
	gnutls_session_t tls;        /* HTTPS: the connection's session, for http_upgraded_send */
	int tls_held;                /* a record the session holds after GNUTLS_E_AGAIN */
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	char *path;
	const struct http_route *route;
	int route_index;
	const char *pnames[MAX_PARAMS];
	char *pvals[MAX_PARAMS];
	int nparams;
	struct strbuf body;
	int body_too_big;
	int started;     /* the head was checked, routed and authorised */
	int dispatched;  /* the handler ran (or the final reply was decided) */
	char bad_path[160]; /* what the raw path holds that it may not */
	struct http_spool *spool;
	unsigned long long discarded; /* body bytes dropped after a refusal */
	int deferred;
	int suspended;
	struct MHD_Response *pending;
	unsigned pending_status;
	char *hdr_names[4], *hdr_values[4];
	int nhdrs;
	uint64_t t_start_us;
	void *auth_data;
	void (*auth_free)(void *);
	char peer[INET6_ADDRSTRLEN];
	struct upgrade *upgrade; /* http_reply_upgrade's, until the request ends */
};

/* What an upgrade reply hands over once it is out. Owned by the request:
 * MHD keeps an upgraded connection's request until http_upgraded_close. */
struct upgrade {
	http_upgrade_fn fn;
	void (*abandon)(void *);
	void *cls;
	int started;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void *http_app(const struct http_req *req) { return req->srv->app; }
const char *http_method(const struct http_req *req) { return req->method; }

const char *http_header(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_path(const struct http_req *req) { return req->path ? req->path : ""; }

const char *http_param(const struct http_req *req, const char *name)
{
	for (int i = 0; i < req->nparams; i++)
		if (!strcmp(req->pnames[i], name))
			return req->pvals[i];
	return NULL;
}

const char *http_query(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int http_query_flag(const struct http_req *req, const char *name)
{
	const char *v = http_query(req, name);
	return v && (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"));
}

const char *http_body(const struct http_req *req, size_t *len)
{
	if (len)
		*len = req->body.len;
	return req->body.p ? req->body.p : "";
}

int http_upload(struct http_req *req, const char **path, unsigned long long *size,
                const char **sha256_hex)
{
	struct http_spool *sp = req->spool;
	if (!sp || !sp->path || !req->dispatched)
		return -1;
	if (path)
		*path = sp->path;
	if (size)
		*size = sp->size;
	if (sha256_hex)
		*sha256_hex = sp->hex;
	return 0;
}

static void record(struct http_req *req, unsigned status)
{
	struct route_stats *st = &req->srv->stats[req->route ? req->route_index : (int)req->srv->nroutes];
	unsigned cls = status / 100;
	if (cls < 6)
		st->by_class[cls]++;
	double ms = (double)(now_us() - req->t_start_us) / 1000.0;
	for (int i = 0; i < NBUCKETS; i++)
		if (ms <= bucket_ms[i])
			st->buckets[i]++;
	st->sum_ms += ms;
	st->count++;
}

/* Queues the response now, or keeps it until the suspended connection is
 * resumed and MHD calls the access handler again. */
void http_add_header(struct http_req *req, const char *name, const char *value)
{
	if (req->nhdrs == 4)
		return;
	req->hdr_names[req->nhdrs] = strdup(name);
	req->hdr_values[req->nhdrs] = strdup(value);
	req->nhdrs++;
}

static void deliver(struct http_req *req, unsigned status, struct MHD_Response *resp)
{
	for (int i = 0; i < req->nhdrs; i++)
		MHD_add_response_header(resp, req->hdr_names[i], req->hdr_values[i]);
	for (const char *const *h = req->srv->headers; h && h[0] && h[1]; h += 2)
		MHD_add_response_header(resp, h[0], h[1]);
	if (req->pending) { /* a second reply is a bug; keep the first */
		MHD_destroy_response(resp);
		log_error("http_double_reply", "status=%u", status);
		return;
	}
	req->pending = resp;
	req->pending_status = status;
	record(req, status);
	if (req->suspended) {
		req->suspended = 0;
		MHD_resume_connection(req->conn);
	}
}

void http_reply_text(struct http_req *req, unsigned status, const char *content_type,
                     char *data, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", content_type);
	deliver(req, status, r);
}

void http_reply_json(struct http_req *req, unsigned status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!s) {
		s = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		status = 500;
	}
	size_t len = strlen(s);
	/* A trailing newline makes curl output readable in a terminal. */
	char *withnl = realloc(s, len + 2);
	if (withnl) {
		withnl[len] = '\n';
		withnl[len + 1] = '\0';
		s = withnl;
		len++;
	}
	http_reply_text(req, status, "application/json", s, len);
}

void http_reply_error(struct http_req *req, unsigned status, const char *code,
                      const char *field, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *err = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (field && *field)
		json_object_set_new(err, "field", json_string(field));
	http_reply_json(req, status, json_pack("{s:o}", "error", err));
}

struct http_stream {
	struct MHD_Connection *conn;
	int sleeping; /* suspended by fill's "nothing now" */
	http_stream_fill_fn fill;
	void (*closed)(void *ctx);
	void *ctx;
	struct loop *loop;
	struct loop_watch *hup; /* the client's end of the socket, for its hang-up */
	int gone;               /* the client hung up */
};

/* What one stream may park in the kernel for a client that does not read
 * (autotuning would let it grow to megabytes on a fast link): past it,
 * the stream's own bound (its fill) decides what to do. */
#define STREAM_SNDBUF (32 * 1024)

/* MHD asks for more body: the stream's bytes, or nothing for now (the
 * connection is suspended: MHD allows that from here, and a reader that
 * returned 0 without it would be called again at once, a busy loop). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *s = cls;
	if (s->gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	long n = s->fill(s->ctx, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0) {
		s->sleeping = 1;
		MHD_suspend_connection(s->conn);
	}
	return (ssize_t)n;
}

/* The response goes when the connection is done with it. */
static void stream_free(void *cls)
{
	struct http_stream *s = cls;
	if (s->hup)
		loop_unwatch(s->loop, s->hup);
	s->closed(s->ctx);
	free(s);
}

/* The client closed its end. A suspended connection is not looked at by
 * MHD, so without this a stream would hold its place until its next
 * write (a heartbeat): resume it, to be closed at once. An SSE client
 * never half-closes and goes on reading. */
static void stream_hup(void *ctx, uint32_t events)
{
	struct http_stream *s = ctx;
	loop_unwatch(s->loop, s->hup);
	s->hup = NULL;
	s->gone = 1;
	http_stream_wake(s);
}

struct http_stream *http_reply_stream(struct http_req *req, unsigned status, const char *content_type,
                                      http_stream_fill_fn fill, void (*closed)(void *ctx), void *ctx)
{
	struct http_stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *r =
	    s ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, s, stream_free)
	      : NULL;
	if (!r) {
		free(s);
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	*s = (struct http_stream){req->conn, 0, fill, closed, ctx, req->srv->loop, NULL, 0};
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci) {
		int sndbuf = STREAM_SNDBUF;
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		s->hup = loop_watch_fd(req->srv->loop, ci->connect_fd, EPOLLRDHUP, stream_hup, s);
	}
	MHD_add_response_header(r, "Content-Type", content_type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	deliver(req, status, r);
	return s;
}

void http_stream_wake(struct http_stream *s)
{
	if (s->sleeping) {
		s->sleeping = 0;
		MHD_resume_connection(s->conn);
	}
}

static void on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct upgrade *u = cls;
	struct http_req *req = con_cls;
	struct http_upgraded *up = calloc(1, sizeof(*up));
	u->started = 1;
	if (!up) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		if (u->abandon)
			u->abandon(u->cls);
		return;
	}
	up->urh = urh;
	up->srv = req->srv;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	up->peer_fd = ci ? ci->connect_fd : -1;
	up->app_fd = sock;
	const union MHD_ConnectionInfo *ti = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	up->tls = ti && up->peer_fd >= 0 ? (gnutls_session_t)ti->tls_session : NULL;
	/* An upgraded stream is interactive (a key and its echo): no Nagle,
	 * whose wait for an ACK the client delays costs 40 ms a key. */
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CORK_OFF);
	int one = 1;
	if (up->peer_fd >= 0)
		setsockopt(up->peer_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	up->srv->upgraded++;
	u->fn(u->cls, sock, extra_in, extra_in_size, up);
}

void http_reply_upgrade(struct http_req *req, const char *protocol, http_upgrade_fn fn,
                        void (*abandon)(void *cls), void *cls)
{
	struct upgrade *u = calloc(1, sizeof(*u));
	struct MHD_Response *r = u ? MHD_create_response_for_upgrade(on_upgraded, u) : NULL;
	if (!r) {
		free(u);
		if (abandon)
			abandon(cls);
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	*u = (struct upgrade){.fn = fn, .abandon = abandon, .cls = cls};
	free(req->upgrade); /* a second reply is refused by deliver anyway */
	req->upgrade = u;
	MHD_add_response_header(r, "Upgrade", protocol);
	deliver(req, 101, r);
}

int http_upgraded_peer_fd(const struct http_upgraded *up) { return up->peer_fd; }

/* Waits until fd takes more bytes or stop_fd is readable. */
static int wait_writable(int fd, int stop_fd)
{
	struct pollfd pf[2] = {{.fd = fd, .events = POLLOUT}, {.fd = stop_fd, .events = POLLIN}};
	if (poll(pf, stop_fd >= 0 ? 2 : 1, -1) < 0)
		return errno == EINTR ? 0 : -errno;
	if (stop_fd >= 0 && (pf[1].revents & POLLIN))
		return -ECANCELED;
	return (pf[0].revents & (POLLERR | POLLNVAL)) ? -EPIPE : 0;
}

ssize_t http_upgraded_send(struct http_upgraded *up, const void *buf, size_t len)
{
	if (!up->tls) { /* plain HTTP: the fd is the client's socket */
		ssize_t w = write(up->app_fd, buf, len);
		return w >= 0 ? w : -errno;
	}
	/* HTTPS: straight into the connection's TLS session, around MHD's
	 * relay (see http.h). GnuTLS lets one thread send on a session while
	 * another (MHD's, relaying what the client sends) receives on it;
	 * nothing else sends on it, as nothing is written to the relayed fd.
	 * After GNUTLS_E_AGAIN the session holds the record (of the first
	 * bytes of buf) and sends it when called again with no data. */
	ssize_t w = up->tls_held ? gnutls_record_send(up->tls, NULL, 0) : gnutls_record_send(up->tls, buf, len);
	if (w >= 0) {
		up->tls_held = 0;
		return w;
	}
	if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
		up->tls_held = 1;
		return -EAGAIN;
	}
	return -EPIPE;
}

int http_upgraded_write_all(struct http_upgraded *up, const void *buf, size_t len, int stop_fd)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = http_upgraded_send(up, p, len);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w != -EAGAIN && w != -EINTR)
			return w < 0 ? (int)w : -EPIPE;
		int rc = wait_writable(up->tls ? up->peer_fd : up->app_fd, stop_fd);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void http_upgraded_close(struct http_upgraded *up)
{
	up->srv->upgraded--;
	MHD_upgrade_action(up->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(up);
}

json_t *http_body_json(struct http_req *req, int empty_ok)
{
	if (req->body.len == 0) {
		if (empty_ok)
			return json_object();
		http_reply_error(req, 400, "invalid_body", "body", "a JSON object body is required");
		return NULL;
	}
	json_error_t e;
	json_t *v = json_loadb(req->body.p, req->body.len, JSON_REJECT_DUPLICATES, &e);
	if (!v) {
		http_reply_error(req, 400, "invalid_json", "body",
		                 "the body is not valid JSON: %s (line %d, column %d)", e.text, e.line,
		                 e.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		http_reply_error(req, 400, "invalid_body", "body", "the body must be a JSON object");
		return NULL;
	}
	return v;
}

void http_defer(struct http_req *req) { req->deferred = 1; }

/* Matches path against pattern; on success fills the request's params. */
static int match(struct http_req *req, const char *pattern, const char *path)
{
	int np = 0;
	const char *names[MAX_PARAMS];
	const char *vstart[MAX_PARAMS];
	size_t vlen[MAX_PARAMS];
	const char *p = pattern, *u = path;
	while (*p && *u) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			if (!close || np == MAX_PARAMS)
				return 0;
			const char *seg_end = strchr(u, '/');
			size_t len = seg_end ? (size_t)(seg_end - u) : strlen(u);
			if (len == 0)
				return 0;
			names[np] = p + 1;
			vstart[np] = u;
			vlen[np] = len;
			np++;
			p = close + 1;
			u += len;
			continue;
		}
		if (*p != *u)
			return 0;
		p++;
		u++;
	}
	if (*p || *u)
		return 0;
	req->nparams = 0;
	for (int i = 0; i < np; i++) {
		/* pnames point into the pattern; the name ends at '}'. */
		size_t nlen = (size_t)(strchr(names[i], '}') - names[i]);
		char *name = strndup(names[i], nlen);
		char *val = strndup(vstart[i], vlen[i]);
		if (!name || !val) {
			free(name);
			free(val);
			return 0;
		}
		req->pnames[req->nparams] = name;
		req->pvals[req->nparams] = val;
		req->nparams++;
	}
	return 1;
}

const char *http_bearer(const struct http_req *req)
{
	const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
	return h && !strncasecmp(h, "Bearer ", 7) && h[7] ? h + 7 : NULL;
}

int http_route_access(const struct http_req *req) { return req->route ? req->route->access : 0; }

void http_set_auth_data(struct http_req *req, void *data, void (*free_fn)(void *))
{
	if (req->auth_free)
		req->auth_free(req->auth_data);
	req->auth_data = data;
	req->auth_free = free_fn;
}

void *http_auth_data(const struct http_req *req) { return req->auth_data; }

const char *http_peer_address(struct http_req *req)
{
	if (!req->peer[0]) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const struct sockaddr *sa = ci ? ci->client_addr : NULL;
		if (sa && sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->peer,
			          sizeof(req->peer));
		else if (sa && sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->peer,
			          sizeof(req->peer));
	}
	return req->peer;
}

const char *http_route_pattern(const struct http_req *req)
{
	return req->route ? req->route->pattern : NULL;
}

static int token_ok(const struct http_server *srv, struct MHD_Connection *conn,
                    struct http_req *req)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (srv->auth)
		return srv->auth(srv->app, h && !strncasecmp(h, "Bearer ", 7) ? h + 7 : NULL, req);
	if (!srv->token)
		return 1;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	const char *given = h + 7;
	size_t glen = strlen(given), tlen = strlen(srv->token);
	/* Constant time in the token's content: always walk the whole token. */
	unsigned char diff = (unsigned char)(glen != tlen);
	for (size_t i = 0; i < tlen; i++)
		diff |= (unsigned char)(srv->token[i] ^ (i < glen ? given[i] : 0));
	return diff == 0;
}

int http_server_tls(const struct http_server *srv) { return srv->tls_cert != NULL; }

int http_peer_cert(struct http_req *req, char *cn, size_t cnlen, char *fp)
{
	if (!req->srv->tls_trust)
		return 0;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return 0;
	return tls_session_peer((gnutls_session_t)ci->tls_session, cn, cnlen, fp);
}

/* For servers that take only their one client (the agent takes vdcd):
 * replies and returns 0 unless the client certificate is there and right. */
static int client_cert_ok(struct http_req *req)
{
	struct http_server *srv = req->srv;
	char cn[256];
	if (!http_peer_cert(req, cn, sizeof(cn), NULL)) {
		http_reply_error(req, 401, "client_certificate_required", NULL,
		                 "this API needs a client certificate from the manager's CA; "
		                 "connect with vdcd's certificate (mutual TLS)");
		return 0;
	}
	if (srv->client_cn && strcmp(cn, srv->client_cn) != 0) {
		log_warn("client_cert_refused", "cn=%s want=%s", log_quote(cn), srv->client_cn);
		http_reply_error(req, 403, "forbidden", NULL,
		                 "a client certificate for '%s' may not use this API; only %s's may", cn,
		                 srv->client_cn);
		return 0;
	}
	return 1;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	http_framing_add(cls, key, value);
	return MHD_YES;
}

/* Replies to a request refused on its head; the connection is closed after
 * the reply, so that no body (or what hides in it) is read as a request. */
static void refuse_head(struct http_req *req, unsigned status, const char *code,
                        const char *msg)
{
	http_add_header(req, "Connection", "close");
	http_reply_error(req, status, code, NULL, "%s", msg);
}

/* Unknown routes need a token too, so that which routes exist does not
 * leak to someone without one. Replies 401 unless auth replied itself. */
static int authorised(struct http_req *req)
{
	if (token_ok(req->srv, req->conn, req))
		return 1;
	if (!req->pending) /* else the auth function answered (403) */
		http_reply_error(req, 401, "unauthorized", NULL,
		                 "a valid bearer token is required: send 'Authorization: Bearer <token>'");
	return 0;
}

/* Finds the route for url and checks the caller. Leaves a reply pending
 * when the request goes no further. */
static void route_and_auth(struct http_req *req, const char *url)
{
	struct http_server *srv = req->srv;
	int path_matched = 0, public_path = 0;
	for (size_t i = 0; i < srv->nroutes; i++) {
		const struct http_route *r = &srv->routes[i];
		if (!match(req, r->pattern, url))
			continue;
		path_matched = 1;
		public_path |= r->public_route;
		if (strcmp(r->method, req->method) != 0) {
			for (int k = 0; k < req->nparams; k++) {
				free((char *)req->pnames[k]);
				free(req->pvals[k]);
			}
			req->nparams = 0;
			continue;
		}
		req->route = r;
		req->route_index = (int)i;
		break;
	}
	const struct http_route *fb = srv->fallback;
	if (!req->route && !path_matched && fb &&
	    (!strcmp(fb->method, req->method) ||
	     (!strcmp(fb->method, "GET") && !strcmp(req->method, "HEAD"))) &&
	    (!srv->fallback_exclude ||
	     strncmp(url, srv->fallback_exclude, strlen(srv->fallback_exclude)) != 0)) {
		req->route = fb;
		req->route_index = (int)srv->nroutes; /* counted with the unmatched */
	}
	int is_public = req->route ? req->route->public_route : public_path;
	if (srv->require_client_cert && !is_public && !client_cert_ok(req))
		return;
	if (!req->route && !public_path && !authorised(req))
		return;
	if (!req->route && !path_matched) {
		http_reply_error(req, 404, "not_found", NULL, "no such route: %s %s", req->method, url);
		return;
	}
	if (!req->route) {
		http_reply_error(req, 405, "method_not_allowed", NULL,
		                 "%s is not allowed on %s", req->method, url);
		return;
	}
	if (!req->route->public_route && !authorised(req))
		return;
}

/* For an upload route: refuses a declared size past the bound, else opens
 * the spool file. Leaves a reply pending on refusal. */
static void spool_start(struct http_req *req)
{
	unsigned long long max = req->route->upload_max;
	const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
	if (cl) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno || end == cl || *end || n > max) {
			http_add_header(req, "Connection", "close");
			http_reply_error(req, 413, "body_too_large", "body",
			                 "the upload is %s bytes; this route takes at most %llu bytes", cl,
			                 max);
			return;
		}
	}
	req->spool = calloc(1, sizeof(*req->spool));
	if (!req->spool || !req->srv->spool_dir ||
	    http_spool_open(req->spool, req->srv->spool_dir, max) < 0) {
		int err = errno;
		free(req->spool);
		req->spool = NULL;
		log_error("http_spool_failed", "dir=%s error=%s",
		          log_quote(req->srv->spool_dir ? req->srv->spool_dir : "(none)"),
		          log_quote(strerror(err)));
		http_add_header(req, "Connection", "close");
		http_reply_error(req, 500, "internal", NULL,
		                 "cannot store the upload: %s (see the server's log)", strerror(err));
	}
}

/* Everything decided from the request's head alone, before any byte of its
 * body is read: framing, path, route, caller, and an upload's size. */
static void check_head(struct http_req *req, const char *url)
{
	struct http_framing f = {0};
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_framing, &f);
	const char *code = NULL;
	char msg[256];
	unsigned st = http_guard_framing(&f, &code, msg, sizeof(msg));
	if (st) {
		log_warn("http_framing_refused", "method=%s url=%s code=%s peer=%s", req->method,
		         log_quote(url), code, http_peer_address(req));
		refuse_head(req, st, code, msg);
		return;
	}
	if (req->bad_path[0]) {
		refuse_head(req, 400, "invalid_path", req->bad_path);
		return;
	}
	if (!http_utf8_valid(url)) {
		refuse_head(req, 400, "invalid_path",
		            "the path is not valid UTF-8 once decoded; names and ids are UTF-8 text");
		return;
	}
	route_and_auth(req, url);
	if (req->pending) {
		/* A body behind the refusal is not read: close after the reply. */
		if (f.n_transfer_encoding ||
		    (f.n_content_length &&
		     strcmp(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length"), "0")))
			http_add_header(req, "Connection", "close");
		return;
	}
	if (req->route->upload_max)
		spool_start(req);
}

/* The whole body is in: the final refusals, or the handler. */
static void dispatch(struct http_req *req)
{
	struct http_server *srv = req->srv;
	if (req->body_too_big) {
		http_reply_error(req, 413, "body_too_large", "body",
		                 "the body is larger than %zu bytes", srv->max_body);
		return;
	}
	if (req->spool && req->spool->over) {
		http_reply_error(req, 413, "body_too_large", "body",
		                 "the upload grew past %llu bytes, the most this route takes",
		                 req->spool->max);
		return;
	}
	if (req->spool && req->spool->err) {
		log_error("http_spool_write_failed", "dir=%s error=%s", log_quote(srv->spool_dir),
		          log_quote(strerror(req->spool->err)));
		http_reply_error(req, req->spool->err == ENOSPC ? 507 : 500,
		                 req->spool->err == ENOSPC ? "insufficient_storage" : "internal", NULL,
		                 "cannot store the upload: %s", strerror(req->spool->err));
		return;
	}
	if (req->spool)
		http_spool_finish(req->spool);
	req->route->fn(req);
}

/* Called by MHD with the raw request target before it is decoded: the one
 * place where %2f and %00 can still be seen. Its result is the request's
 * context; NULL makes access_cb drop the connection. */
static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_req *req = calloc(1, sizeof(*req));
	if (!req)
		return NULL;
	req->srv = cls;
	req->conn = conn;
	req->t_start_us = now_us();
	http_guard_raw_path(uri, req->bad_path, sizeof(req->bad_path));
	return req;
}

static void gather_body(struct http_req *req, const char *data, size_t len)
{
	struct http_server *srv = req->srv;
	if (req->spool) {
		if (http_spool_write(req->spool, data, len) < 0) /* file gone, rest dropped */
			req->discarded += len;
		return;
	}
	if (req->body_too_big) {
		req->discarded += len;
		return;
	}
	if (req->body.len + len > srv->max_body || strbuf_add(&req->body, data, len) < 0) {
		/* answered 413 once the rest is in */
		req->body_too_big = 1;
		strbuf_free(&req->body);
		req->discarded += len;
	}
}

static enum MHD_Result queue_pending(struct http_req *req)
{
	enum MHD_Result rc = MHD_queue_response(req->conn, req->pending_status, req->pending);
	MHD_destroy_response(req->pending);
	req->pending = NULL;
	return rc;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct http_req *req = *con_cls;
	if (!req)
		return MHD_NO; /* uri_cb ran out of memory */
	if (!req->started) {
		req->started = 1;
		req->method = method;
		req->path = strdup(url);
		check_head(req, url);
		if (req->pending) {
			req->dispatched = 1;
			return queue_pending(req);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		gather_body(req, upload_data, *upload_size);
		*upload_size = 0;
		if (req->discarded > UPLOAD_DISCARD_MAX) {
			log_warn("http_body_cut", "url=%s peer=%s bytes_dropped=%llu reason=%s",
			         log_quote(url), http_peer_address(req), req->discarded,
			         req->spool && req->spool->err ? log_quote(strerror(req->spool->err))
			                                       : "too_large");
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (!req->dispatched) {
		req->dispatched = 1;
		dispatch(req);
		if (!req->pending) {
			if (!req->deferred) {
				log_error("http_no_reply", "url=%s", log_quote(url));
				http_reply_error(req, 500, "internal", NULL, "the handler gave no reply");
			} else {
				req->suspended = 1;
				MHD_suspend_connection(conn);
				return MHD_YES;
			}
		}
	}
	if (!req->pending)
		return MHD_YES; /* still deferred; spurious call */
	return queue_pending(req);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http_req *req = *con_cls;
	if (!req)
		return;
	for (int k = 0; k < req->nparams; k++) {
		free((char *)req->pnames[k]);
		free(req->pvals[k]);
	}
	if (req->pending)
		MHD_destroy_response(req->pending);
	for (int i = 0; i < req->nhdrs; i++) {
		free(req->hdr_names[i]);
		free(req->hdr_values[i]);
	}
	if (req->auth_free)
		req->auth_free(req->auth_data);
	if (req->spool) {
		http_spool_discard(req->spool);
		free(req->spool);
	}
	if (req->upgrade && !req->upgrade->started && req->upgrade->abandon)
		req->upgrade->abandon(req->upgrade->cls);
	free(req->upgrade);
	strbuf_free(&req->body);
	free(req->path);
	free(req);
	*con_cls = NULL;
}

static void on_mhd_ready(void *ctx, uint32_t events)
{
	struct http_server *srv = ctx;
	MHD_run(srv->mhd);
}

/* Every running server. A loop has one prepare hook, so the servers on one
 * loop (vdcd's API and agents' listeners) share it: prepare(loop) runs each
 * of them. Changed only at start and stop, on the loop's thread. */
static struct http_server *all_servers;

static unsigned open_connections(struct http_server *srv)
{
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return di ? di->num_connections : 0;
}

static int prepare(void *ctx)
{
	struct loop *loop = ctx;
	int timeout = -1;
	for (struct http_server *srv = all_servers; srv; srv = srv->next) {
		if (srv->loop != loop)
			continue;
		/* Resumed connections and timeouts are handled by a run here. A
		 * daemon at its connection limit takes its listening socket out
		 * of its epoll set and puts it back only at the start of a run,
		 * so after a run that closed connections, run once more: else,
		 * with nothing else to wake it, it would never accept again. */
		unsigned before = open_connections(srv), now;
		MHD_run(srv->mhd);
		for (int i = 0; i < 3 && (now = open_connections(srv)) < before; i++) {
			before = now;
			MHD_run(srv->mhd);
		}
		MHD_UNSIGNED_LONG_LONG to = 60000;
		int has_timeout = MHD_get_timeout(srv->mhd, &to) == MHD_YES;
		if (has_timeout || srv->upgraded) {
			int t = to > 60000 ? 60000 : (int)to;
			if (srv->upgraded && t > UPGRADED_POLL_MS)
				t = UPGRADED_POLL_MS;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
	}
	return timeout;
}

/* libmicrohttpd's own messages (a failed TLS handshake, a client that
 * went away) as our log lines rather than free text on stderr. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	log_info("http_server_note", "message=%s", log_quote(msg));
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sl,
                        char *errbuf, size_t errlen)
{
	char host[256];
	const char *port;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':') {
			snprintf(errbuf, errlen, "listen address '%s' is not [host]:port", listen);
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(close - listen - 1), listen + 1);
		port = close + 2;
	} else {
		const char *colon = strrchr(listen, ':');
		if (!colon) {
			snprintf(errbuf, errlen, "listen address '%s' is not host:port", listen);
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
		port = colon + 1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(errbuf, errlen, "listen address '%s': %s (use a numeric address)", listen,
		         gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

struct http_server *http_server_start(const struct http_config *cfg,
                                      const struct http_route *routes, size_t nroutes,
                                      struct loop *loop, char *errbuf, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (parse_listen(cfg->listen, &ss, &sl, errbuf, errlen) < 0)
		return NULL;
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->routes = routes;
	srv->nroutes = nroutes;
	srv->stats = calloc(nroutes + 1, sizeof(*srv->stats));
	srv->token = cfg->token ? strdup(cfg->token) : NULL;
	srv->auth = cfg->auth;
	srv->max_body = cfg->max_body;
	srv->app = cfg->app;
	srv->headers = cfg->headers;
	srv->fallback = cfg->fallback;
	srv->fallback_exclude = cfg->fallback_exclude;
	srv->loop = loop;
	for (size_t i = 0; i < nroutes; i++)
		if (routes[i].upload_max && !cfg->spool_dir) {
			snprintf(errbuf, errlen, "route %s %s takes uploads but no spool directory is set",
			         routes[i].method, routes[i].pattern);
			goto cleanup;
		}
	if (cfg->spool_dir && (sodium_init() < 0 || !(srv->spool_dir = strdup(cfg->spool_dir)))) {
		snprintf(errbuf, errlen, "cannot set up upload hashing (libsodium)");
		goto cleanup;
	}
	unsigned max_conn = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;
	unsigned per_addr = cfg->max_connections_per_address ? cfg->max_connections_per_address
	                                                     : DEFAULT_MAX_PER_ADDRESS;
	unsigned idle_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : DEFAULT_IDLE_TIMEOUT_S;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem tls_opts[4] = {{MHD_OPTION_END, 0, NULL}};
	if (cfg->tls_cert) {
		if (!cfg->tls_key || (cfg->require_client_cert && !cfg->tls_trust)) {
			snprintf(errbuf, errlen, "HTTPS needs a key, and client certificates a CA to trust");
			goto cleanup;
		}
		flags |= MHD_USE_TLS;
		srv->tls_cert = strdup(cfg->tls_cert);
		srv->tls_key = strdup(cfg->tls_key);
		srv->tls_trust = cfg->tls_trust ? strdup(cfg->tls_trust) : NULL;
		srv->require_client_cert = cfg->require_client_cert;
		srv->client_cn = cfg->client_cn ? strdup(cfg->client_cn) : NULL;
		int n = 0;
		tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
		tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
		/* A trust CA makes MHD ask for (not require) a client certificate. */
		if (srv->tls_trust)
			tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->tls_trust};
		tls_opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	} else if (cfg->require_client_cert) {
		snprintf(errbuf, errlen, "client certificates need HTTPS");
		goto cleanup;
	}
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, srv,
	                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, /* first, or MHD warns */
	                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                            MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
	                            MHD_OPTION_URI_LOG_CALLBACK, uri_cb, srv,
	                            MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
	                            MHD_OPTION_CONNECTION_LIMIT, max_conn,
	                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_addr,
	                            MHD_OPTION_ARRAY, tls_opts,
	                            MHD_OPTION_END);
	if (!srv->mhd) {
		if (cfg->tls_cert)
			snprintf(errbuf, errlen,
			         "cannot serve HTTPS on %s: %s (is another daemon using it, or do the "
			         "certificate and key not load?)", cfg->listen, strerror(errno));
		else
			snprintf(errbuf, errlen, "cannot listen on %s: %s (is another daemon using it?)",
			         cfg->listen, strerror(errno));
		goto cleanup;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	srv->watch = loop_watch_fd(loop, info->epoll_fd, EPOLLIN, on_mhd_ready, srv);
	if (!srv->watch) {
		snprintf(errbuf, errlen, "cannot watch the HTTP server: %s", strerror(errno));
		goto cleanup;
	}
	const union MHD_DaemonInfo *pinfo = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = pinfo ? pinfo->port : 0;
	srv->next = all_servers;
	all_servers = srv;
	loop_set_prepare(loop, prepare, loop);
	return srv;
cleanup:
	http_server_stop(srv);
	return NULL;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->watch)
		loop_unwatch(srv->loop, srv->watch);
	int others = 0;
	for (struct http_server **p = &all_servers; *p;) {
		if (*p == srv) {
			*p = srv->next;
			continue;
		}
		others |= (*p)->loop == srv->loop;
		p = &(*p)->next;
	}
	if (srv->mhd) {
		if (!others)
			loop_set_prepare(srv->loop, NULL, NULL);
		MHD_stop_daemon(srv->mhd);
	}
	free(srv->stats);
	free(srv->token);
	free(srv->tls_cert);
	tls_free_secret(srv->tls_key);
	free(srv->tls_trust);
	free(srv->client_cn);
	free(srv->spool_dir);
	free(srv);
}

int http_server_port(const struct http_server *srv) { return srv->port; }

void http_server_metrics(struct http_server *srv, FILE *f, const char *prefix)
{
	fprintf(f, "# HELP %s_http_requests_total HTTP requests by route and status class.\n"
	           "# TYPE %s_http_requests_total counter\n", prefix, prefix);
	for (size_t i = 0; i <= srv->nroutes; i++) {
		const char *m = i < srv->nroutes ? srv->routes[i].method : "";
		const char *p = i < srv->nroutes ? srv->routes[i].pattern : "unmatched";
		for (int c = 1; c < 6; c++)
			if (srv->stats[i].by_class[c])
				fprintf(f, "%s_http_requests_total{method=\"%s\",route=\"%s\",code=\"%dxx\"} %lu\n",
				        prefix, m, p, c, srv->stats[i].by_class[c]);
	}
	fprintf(f, "# HELP %s_http_request_duration_seconds HTTP request latency by route.\n"
	           "# TYPE %s_http_request_duration_seconds histogram\n", prefix, prefix);
	for (size_t i = 0; i <= srv->nroutes; i++) {
		struct route_stats *st = &srv->stats[i];
		if (!st->count)
			continue;
		const char *m = i < srv->nroutes ? srv->routes[i].method : "";
		const char *p = i < srv->nroutes ? srv->routes[i].pattern : "unmatched";
		for (int b = 0; b < NBUCKETS; b++)
			fprintf(f, "%s_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %lu\n",
			        prefix, m, p, bucket_ms[b] / 1000.0, st->buckets[b]);
		fprintf(f, "%s_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %lu\n",
		        prefix, m, p, st->count);
		fprintf(f, "%s_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %g\n", prefix,
		        m, p, st->sum_ms / 1000.0);
		fprintf(f, "%s_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %lu\n",
		        prefix, m, p, st->count);
	}
}
