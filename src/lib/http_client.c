/* http_client.c - connect, (TLS handshake and server check), send, read,
 * parse; all non-blocking under the loop, with a deadline. A TLS step that
 * would block says whether it waits to read or to write
 * (gnutls_record_get_direction), and the fd is watched for that. Responses
 * are bounded (1 MiB). */
#include "http_client.h"

#include "loop.h"
#include "tls.h"
#include "url.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HC_MAX_REPLY (1u << 20)

struct hc {
	struct loop *loop;
	int fd;
	struct loop_watch *watch;
	uint32_t watching; /* the events watch is for */
	struct loop_timer *timer;
	char *out;
	size_t out_len, out_off;
	char *in;
	size_t in_len, in_cap;
	int connected;
	struct tls_client *tc; /* NULL: plain HTTP */
	gnutls_session_t tls;
	int handshaken;
	char host[256];
	hc_done_fn done;
	void *ctx;
};

static void on_io(void *ctx, uint32_t events);

static void watch(struct hc *c, uint32_t events)
{
	if (c->watch && c->watching == events)
		return;
	if (c->watch)
		loop_unwatch(c->loop, c->watch);
	c->watch = loop_watch_fd(c->loop, c->fd, events, on_io, c);
	c->watching = events;
}

static void release(struct hc *c)
{
	if (c->watch)
		loop_unwatch(c->loop, c->watch);
	if (c->timer)
		loop_timer_cancel(c->loop, c->timer);
	if (c->tls)
		gnutls_deinit(c->tls);
	close(c->fd);
	/* The request carried a bearer secret or a join token. */
	if (c->out)
		explicit_bzero(c->out, c->out_len);
	free(c->out);
	free(c->in);
	free(c);
}

static void finish(struct hc *c, int status, const char *body)
{
	/* done may start a new request: release this one's resources after. */
	if (c->watch)
		loop_unwatch(c->loop, c->watch);
	c->watch = NULL;
	if (c->timer)
		loop_timer_cancel(c->loop, c->timer);
	c->timer = NULL;
	c->done(c->ctx, status, body);
	release(c);
}

void hc_cancel(struct hc *c)
{
	if (c)
		release(c);
}

/* The reply's status, body start and Content-Length (-1: none), once the
 * headers are all in; 0 while they are not, -1 when it is not HTTP. */
static int headers(struct hc *c, int *status, char **body, long *clen)
{
	c->in[c->in_len] = '\0';
	char *end = strstr(c->in, "\r\n\r\n");
	if (!end)
		return 0;
	if (sscanf(c->in, "HTTP/1.%*d %d", status) != 1)
		return -1;
	*body = end + 4;
	*clen = -1;
	for (char *h = strstr(c->in, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
		if (!strncasecmp(h + 2, "Content-Length:", 15))
			*clen = strtol(h + 17, NULL, 10);
	return 1;
}

/* Finishes with the reply when it is complete; at EOF (eof=1) with what
 * came, or an error. Returns 1 when finished. */
static int try_reply(struct hc *c, int eof)
{
	int status = 0;
	char *body = NULL;
	long clen = -1;
	int h = c->in_len ? headers(c, &status, &body, &clen) : 0;
	if (h < 0 || (eof && h == 0)) {
		finish(c, 0, c->in_len ? "the server's answer is not HTTP"
		                       : "the server closed the connection without answering");
		return 1;
	}
	if (h == 0)
		return 0;
	size_t blen = c->in_len - (size_t)(body - c->in);
	if (clen >= 0 && blen >= (size_t)clen) {
		body[clen] = '\0';
		finish(c, status, body);
		return 1;
	}
	if (!eof)
		return 0;
	if (clen >= 0) {
		finish(c, 0, "the server's answer was cut short");
		return 1;
	}
	finish(c, status, body);
	return 1;
}

/* Waits for what a TLS step blocked on. */
static void tls_wait(struct hc *c)
{
	watch(c, gnutls_record_get_direction(c->tls) ? EPOLLOUT : EPOLLIN);
}

static void tls_fail(struct hc *c, const char *what, int rc)
{
	char msg[400];
	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
		snprintf(msg, sizeof(msg), "%s with %s: the server refused (%s)", what, c->host,
		         gnutls_alert_get_name(gnutls_alert_get(c->tls)));
	else
		snprintf(msg, sizeof(msg), "%s with %s: %s (is it an HTTPS server?)", what, c->host,
		         gnutls_strerror(rc));
	finish(c, 0, msg);
}

/* Returns 1 when the handshake is done and the server checked out. */
static int handshake(struct hc *c)
{
	int rc = gnutls_handshake(c->tls);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		tls_wait(c);
		return 0;
	}
	if (rc < 0) {
		tls_fail(c, "the TLS handshake", rc);
		return 0;
	}
	char err[600];
	if (tls_client_verify(c->tc, c->tls, c->host, err, sizeof(err)) < 0) {
		finish(c, 0, err);
		return 0;
	}
	c->handshaken = 1;
	watch(c, EPOLLOUT);
	return 1;
}

static void do_send(struct hc *c)
{
	size_t left = c->out_len - c->out_off;
	ssize_t n;
	if (c->tls) {
		n = gnutls_record_send(c->tls, c->out + c->out_off, left);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			tls_wait(c);
			return;
		}
		if (n < 0) {
			tls_fail(c, "sending over TLS", (int)n);
			return;
		}
	} else {
		n = send(c->fd, c->out + c->out_off, left, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			finish(c, 0, "the connection broke while sending");
			return;
		}
	}
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len)
		watch(c, EPOLLIN);
}

static void do_recv(struct hc *c)
{
	for (;;) {
		if (c->in_cap - c->in_len < 4096) {
			if (c->in_cap >= HC_MAX_REPLY) {
				finish(c, 0, "the server's answer is too large");
				return;
			}
			c->in_cap = c->in_cap ? c->in_cap * 2 : 8192;
			char *ni = realloc(c->in, c->in_cap + 1);
			if (!ni) {
				finish(c, 0, "out of memory");
				return;
			}
			c->in = ni;
		}
		size_t room = c->in_cap - c->in_len;
		ssize_t n;
		if (c->tls) {
			n = gnutls_record_recv(c->tls, c->in + c->in_len, room);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				tls_wait(c);
				return;
			}
			/* A close without close_notify is how many servers end a
			 * Connection: close reply; Content-Length guards the body. */
			if (n == GNUTLS_E_PREMATURE_TERMINATION)
				n = 0;
			if (n < 0) {
				tls_fail(c, "receiving over TLS", (int)n);
				return;
			}
		} else {
			n = recv(c->fd, c->in + c->in_len, room, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
		}
		if (n <= 0) {
			try_reply(c, 1); /* EOF (Connection: close) or an error */
			return;
		}
		c->in_len += (size_t)n;
		if (try_reply(c, 0))
			return;
	}
}

static void on_io(void *ctx, uint32_t events)
{
	struct hc *c = ctx;
	if (!c->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			char msg[400];
			snprintf(msg, sizeof(msg), "cannot connect to %s: %s", c->host, strerror(err));
			finish(c, 0, msg);
			return;
		}
		c->connected = 1;
		if (c->tc) {
			char msg[300];
			if (tls_client_session(c->tc, c->fd, c->host, &c->tls, msg, sizeof(msg)) < 0) {
				finish(c, 0, msg);
				return;
			}
		}
	}
	if (c->tls && !c->handshaken) {
		handshake(c);
		return;
	}
	if (c->out_off < c->out_len)
		do_send(c);
	else
		do_recv(c);
}

static void on_timeout(void *ctx)
{
	struct hc *c = ctx;
	c->timer = NULL;
	finish(c, 0, "the server did not answer in time");
}

struct hc *hc_request(struct loop *l, const char *method, const char *url, struct tls_client *tls,
                      const char *bearer, const char *body, int timeout_ms, hc_done_fn done,
                      void *ctx)
{
	struct url u;
	if (url_parse(url, &u) < 0 || (!strcmp(u.scheme, "https") && !tls))
		return NULL;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(u.host, u.port, &hints, &ai) != 0)
		return NULL;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return NULL;
	}
	int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0 && errno != EINPROGRESS) {
		close(fd);
		return NULL;
	}
	struct hc *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->loop = l;
	c->fd = fd;
	c->done = done;
	c->ctx = ctx;
	c->tc = !strcmp(u.scheme, "https") ? tls : NULL;
	snprintf(c->host, sizeof(c->host), "%s", u.host);
	size_t blen = body ? strlen(body) : 0;
	char auth[300] = "";
	if (bearer)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", bearer);
	int v6 = strchr(u.host, ':') != NULL;
	int n = asprintf(&c->out,
	                 "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n%sContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                 method, u.path, v6 ? "[" : "", u.host, v6 ? "]" : "", u.port, auth, blen,
	                 body ? body : "");
	explicit_bzero(auth, sizeof(auth));
	if (n < 0) {
		close(fd);
		free(c);
		return NULL;
	}
	c->out_len = (size_t)n;
	watch(c, EPOLLOUT);
	c->timer = loop_timer_after(l, (uint64_t)timeout_ms, on_timeout, c);
	return c;
}
