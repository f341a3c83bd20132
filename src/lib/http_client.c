/* http_client.c - connect, send, read to EOF, parse; all non-blocking under
 * the loop, with a deadline. Responses are bounded (1 MiB). */
#include "http_client.h"

#include "loop.h"

#include <errno.h>
#include <fcntl.h>
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
	struct loop_timer *timer;
	char *out;
	size_t out_len, out_off;
	char *in;
	size_t in_len, in_cap;
	int connected;
	hc_done_fn done;
	void *ctx;
};

static void release(struct hc *c)
{
	if (c->watch)
		loop_unwatch(c->loop, c->watch);
	if (c->timer)
		loop_timer_cancel(c->loop, c->timer);
	close(c->fd);
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

/* Parses "HTTP/1.1 200 ..." headers and the body (Content-Length or EOF). */
static void parse_reply(struct hc *c)
{
	if (c->in_len == 0) {
		finish(c, 0, "the server closed the connection without answering");
		return;
	}
	c->in[c->in_len] = '\0';
	int status = 0;
	char *hdr_end = strstr(c->in, "\r\n\r\n");
	if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1 || !hdr_end) {
		finish(c, 0, "the server's answer is not HTTP");
		return;
	}
	*hdr_end = '\0';
	char *body = hdr_end + 4;
	size_t blen = c->in_len - (size_t)(body - c->in);
	for (char *h = strstr(c->in, "\r\n"); h; h = strstr(h + 2, "\r\n"))
		if (!strncasecmp(h + 2, "Content-Length:", 15)) {
			size_t cl = strtoul(h + 17, NULL, 10);
			if (cl < blen)
				blen = cl;
		}
	body[blen] = '\0';
	finish(c, status, body);
}

static void on_io(void *ctx, uint32_t events)
{
	struct hc *c = ctx;
	if (!c->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			char msg[160];
			snprintf(msg, sizeof(msg), "cannot connect: %s", strerror(err));
			finish(c, 0, msg);
			return;
		}
		c->connected = 1;
	}
	if (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			finish(c, 0, "the connection broke while sending");
			return;
		}
		if (n > 0)
			c->out_off += (size_t)n;
		if (c->out_off == c->out_len) {
			loop_unwatch(c->loop, c->watch);
			c->watch = loop_watch_fd(c->loop, c->fd, EPOLLIN, on_io, c);
		}
		return;
	}
	for (;;) {
		if (c->in_cap - c->in_len < 4096) {
			if (c->in_cap >= HC_MAX_REPLY) {
				finish(c, 0, "the server's answer is too large");
				return;
			}
			c->in_cap = c->in_cap ? c->in_cap * 2 : 8192;
			c->in = realloc(c->in, c->in_cap + 1);
		}
		ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		parse_reply(c); /* EOF (Connection: close) or an error */
		return;
	}
}

static void on_timeout(void *ctx)
{
	struct hc *c = ctx;
	c->timer = NULL;
	finish(c, 0, "the server did not answer in time");
}

struct hc *hc_request(struct loop *l, const char *method, const char *url, const char *bearer,
                      const char *body, int timeout_ms, hc_done_fn done, void *ctx)
{
	char host[256], port[16] = "80";
	const char *p;
	if (strncmp(url, "http://", 7) != 0)
		return NULL;
	const char *h = url + 7, *slash = strchr(h, '/'), *colon = strchr(h, ':');
	size_t hlen = slash ? (size_t)(slash - h) : strlen(h);
	if (colon && (!slash || colon < slash)) {
		snprintf(port, sizeof(port), "%.*s", (int)((slash ? slash : h + hlen) - colon - 1), colon + 1);
		hlen = (size_t)(colon - h);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return NULL;
	snprintf(host, sizeof(host), "%.*s", (int)hlen, h);
	p = slash ? slash : "/";
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
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
	c->loop = l;
	c->fd = fd;
	c->done = done;
	c->ctx = ctx;
	size_t blen = body ? strlen(body) : 0;
	char auth[300] = "";
	if (bearer)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", bearer);
	int n = asprintf(&c->out,
	                 "%s %s HTTP/1.1\r\nHost: %s:%s\r\n%sContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                 method, p, host, port, auth, blen, body ? body : "");
	if (n < 0) {
		close(fd);
		free(c);
		return NULL;
	}
	c->out_len = (size_t)n;
	c->watch = loop_watch_fd(l, fd, EPOLLOUT, on_io, c);
	c->timer = loop_timer_after(l, (uint64_t)timeout_ms, on_timeout, c);
	return c;
}
