/* console_proxy.c - see console_proxy.h. The agent's side is a libcurl easy
 * handle in CONNECT_ONLY mode (so the TLS set-up, certificates and error
 * messages are agent_xfer's), driven with curl_easy_send/recv; the
 * browser's side is the upgraded MHD connection. Threads come from a
 * loop_jobs set; every end (done callbacks, an abandoned upgrade) runs on
 * the loop thread, where MHD's upgraded connections are closed. */
#include "console_proxy.h"

#include "agent_client.h"
#include "agent_xfer.h"
#include "http.h"
#include "log.h"
#include "loop_jobs.h"
#include "manager.h"
#include "task_ops.h"
#include "ws_relay.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 16384
#define AGENT_WAIT_MS 10000

struct console_proxy {
	struct loop_jobs *jobs;
	int stop_fd;
	int n; /* streams opening or open */
};

struct stream {
	struct mgr *m;
	struct http_req *req; /* until it is answered */
	struct agent_xfer x;
	char request[1024]; /* the upgrade request sent to the agent */
	char vm[128];
	char kind[8];
	char accept[29];
	char protocol[16];
	/* What the agent answered. */
	struct errinfo e;
	int failed;         /* no answer: e says why */
	long status;        /* its HTTP status */
	char code[64], message[512];
	curl_socket_t sock;
	char *rest;         /* bytes after the 101 head: the console's first */
	size_t rest_len, rest_off;
	/* The browser's side. */
	int fd;
	int hup_fd; /* the browser's socket, polled for its going away */
	struct http_upgraded *up;
	char *extra;
	size_t extra_len;
	uint64_t opened_ms;
};

static struct console_proxy *proxy(struct mgr *m)
{
	if (!m->console_proxy && (m->console_proxy = calloc(1, sizeof(*m->console_proxy)))) {
		m->console_proxy->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		/* a stream's relay and, briefly, its connect */
		m->console_proxy->jobs = loop_jobs_new(m->loop, 2 * CONSOLE_MAX_STREAMS);
		if (m->console_proxy->stop_fd < 0 || !m->console_proxy->jobs) {
			if (m->console_proxy->stop_fd >= 0)
				close(m->console_proxy->stop_fd);
			loop_jobs_free(m->console_proxy->jobs);
			free(m->console_proxy);
			m->console_proxy = NULL;
		}
	}
	return m->console_proxy;
}

int console_proxy_count(const struct mgr *m) { return m->console_proxy ? m->console_proxy->n : 0; }

static void stream_free(struct stream *s)
{
	if (s->x.curl)
		agent_xfer_free(&s->x);
	free(s->rest);
	free(s->extra);
	if (s->m->console_proxy) /* else vdcd stopped and forgot them all */
		s->m->console_proxy->n--;
	free(s);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until the agent's socket is ready for events; -1 at the deadline
 * or when vdcd stops. */
static int wait_sock(struct stream *s, short events, uint64_t deadline)
{
	uint64_t now = now_ms();
	if (now >= deadline)
		return -1;
	struct pollfd pf[2] = {{.fd = s->sock, .events = events},
	                       {.fd = s->m->console_proxy->stop_fd, .events = POLLIN}};
	int n = poll(pf, 2, (int)(deadline - now));
	return n > 0 && !pf[1].revents ? 0 : (n < 0 && errno == EINTR ? 0 : -1);
}

static void fail(struct stream *s, const char *what)
{
	s->failed = 1;
	errinfo_set(&s->e, 502, "host_unreachable", NULL,
	            "host '%s' (%s) did not open the console of VM '%s': %s; check that its vdc-agent is "
	            "running and reachable from vdcd, then try again",
	            s->x.host, s->x.url, s->vm, what);
}

/* Reads the agent's answer head (and, for a refusal, its JSON body). */
static void read_answer(struct stream *s, uint64_t deadline)
{
	char *buf = malloc(HEAD_MAX + 1);
	size_t len = 0;
	char *end = NULL;
	if (!buf) {
		fail(s, "out of memory");
		return;
	}
	while (!end && len < HEAD_MAX) {
		size_t got = 0;
		CURLcode cc = curl_easy_recv(s->x.curl, buf + len, HEAD_MAX - len, &got);
		if (cc == CURLE_AGAIN) {
			if (wait_sock(s, POLLIN, deadline) < 0) {
				fail(s, "no answer in time");
				free(buf);
				return;
			}
			continue;
		}
		if (cc != CURLE_OK || got == 0) {
			fail(s, cc != CURLE_OK ? curl_easy_strerror(cc) : "it closed the connection");
			free(buf);
			return;
		}
		len += got;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end || sscanf(buf, "HTTP/1.%*d %ld", &s->status) != 1) {
		fail(s, "an answer that is not HTTP");
		free(buf);
		return;
	}
	char *body = end + 4;
	size_t blen = len - (size_t)(body - buf);
	if (s->status == 101) {
		if (blen && (s->rest = malloc(blen))) {
			memcpy(s->rest, body, blen);
			s->rest_len = blen;
		}
		free(buf);
		return;
	}
	/* A refusal: its error body (small JSON) is in, or comes right after. */
	for (int i = 0; i < 20 && blen < 2 && !strchr(body, '}'); i++) {
		size_t got = 0;
		if (curl_easy_recv(s->x.curl, buf + len, HEAD_MAX - len, &got) == CURLE_OK && got) {
			len += got;
			blen += got;
			buf[len] = '\0';
		} else if (wait_sock(s, POLLIN, now_ms() + 100) < 0) {
			break;
		}
	}
	json_t *j = json_loads(body, JSON_DISABLE_EOF_CHECK, NULL);
	json_t *err = json_object_get(j, "error");
	snprintf(s->code, sizeof(s->code), "%s", json_string_value(json_object_get(err, "code")) ?: "agent_error");
	snprintf(s->message, sizeof(s->message), "%s", agent_error_message(j));
	json_decref(j);
	free(buf);
}

static void connect_work(void *arg)
{
	struct stream *s = arg;
	uint64_t deadline = now_ms() + AGENT_WAIT_MS;
	curl_easy_setopt(s->x.curl, CURLOPT_CONNECT_ONLY, 1L);
	CURLcode cc = curl_easy_perform(s->x.curl);
	long status;
	json_t *reply = NULL;
	if (cc != CURLE_OK) {
		s->failed = 1;
		agent_xfer_result(&s->x, cc, &status, &reply, NULL, NULL, &s->e);
		json_decref(reply);
		return;
	}
	if (curl_easy_getinfo(s->x.curl, CURLINFO_ACTIVESOCKET, &s->sock) != CURLE_OK) {
		fail(s, "no socket");
		return;
	}
	size_t off = 0, len = strlen(s->request);
	while (off < len) {
		size_t sent = 0;
		cc = curl_easy_send(s->x.curl, s->request + off, len - off, &sent);
		if (cc == CURLE_AGAIN) {
			if (wait_sock(s, POLLOUT, deadline) < 0) {
				fail(s, "it took no request in time");
				return;
			}
			continue;
		}
		if (cc != CURLE_OK) {
			fail(s, curl_easy_strerror(cc));
			return;
		}
		off += sent;
	}
	read_answer(s, deadline);
}

/* ---- the relay ---- */

static ssize_t peer_recv(void *ctx, void *buf, size_t n)
{
	struct stream *s = ctx;
	if (s->rest_off < s->rest_len) {
		size_t k = s->rest_len - s->rest_off < n ? s->rest_len - s->rest_off : n;
		memcpy(buf, s->rest + s->rest_off, k);
		s->rest_off += k;
		return (ssize_t)k;
	}
	size_t got = 0;
	CURLcode cc = curl_easy_recv(s->x.curl, buf, n, &got);
	if (cc == CURLE_AGAIN)
		return -EAGAIN;
	return cc == CURLE_OK ? (ssize_t)got : -EIO;
}

static ssize_t peer_send(void *ctx, const void *buf, size_t n)
{
	struct stream *s = ctx;
	size_t sent = 0;
	CURLcode cc = curl_easy_send(s->x.curl, buf, n, &sent);
	if (cc == CURLE_AGAIN)
		return -EAGAIN;
	return cc == CURLE_OK ? (ssize_t)sent : -EIO;
}

static int upgraded_write_all(void *up, const void *buf, size_t len, int stop_fd)
{
	return http_upgraded_write_all(up, buf, len, stop_fd);
}

static void relay_work(void *arg)
{
	struct stream *s = arg;
	struct ws_peer peer = {.fd = s->sock, .recv = peer_recv, .send = peer_send, .ctx = s};
	/* To the browser through the TLS session itself (http.h says why). */
	struct ws_sink sink = {upgraded_write_all, s->up};
	int rc = ws_relay_run(s->fd, &sink, s->extra, s->extra_len, &peer, s->m->console_proxy->stop_fd, s->hup_fd);
	if (rc < 0)
		log_info("console_relay_error", "vm=%s kind=%s error=%d", s->vm, s->kind, rc);
}

static void relay_done(void *arg)
{
	struct stream *s = arg;
	http_upgraded_close(s->up);
	log_info("console_closed", "vm=%s kind=%s seconds=%.1f streams=%d", s->vm, s->kind,
	         (double)(now_ms() - s->opened_ms) / 1000.0, s->m->console_proxy->n - 1);
	stream_free(s);
}

static void on_upgraded(void *cls, int fd, const char *extra, size_t extra_len, struct http_upgraded *up)
{
	struct stream *s = cls;
	s->fd = fd;
	s->up = up;
	s->hup_fd = http_upgraded_peer_fd(up);
	s->opened_ms = now_ms();
	if (extra_len && (s->extra = malloc(extra_len))) {
		memcpy(s->extra, extra, extra_len);
		s->extra_len = extra_len;
	}
	if (loop_jobs_start(s->m->console_proxy->jobs, relay_work, relay_done, s) < 0) {
		log_warn("console_refused", "vm=%s kind=%s reason=\"no thread\"", s->vm, s->kind);
		http_upgraded_close(up);
		stream_free(s);
		return;
	}
	log_info("console_opened", "vm=%s kind=%s streams=%d", s->vm, s->kind, s->m->console_proxy->n);
}

static void on_abandoned(void *cls) { stream_free(cls); }

static void connect_done(void *arg)
{
	struct stream *s = arg;
	struct http_req *req = s->req;
	s->req = NULL;
	if (s->failed) {
		mgr_reply_err(req, &s->e);
		stream_free(s);
		return;
	}
	if (s->status != 101) {
		/* The agent's refusal (the VM is not running, has no display...)
		 * is the caller's answer. */
		http_reply_error(req, s->status >= 400 && s->status < 600 ? (unsigned)s->status : 502, s->code,
		                 NULL, "%s", s->message);
		stream_free(s);
		return;
	}
	http_add_header(req, "Sec-WebSocket-Accept", s->accept);
	if (s->protocol[0])
		http_add_header(req, "Sec-WebSocket-Protocol", s->protocol);
	http_reply_upgrade(req, "websocket", on_upgraded, on_abandoned, s);
}

void console_proxy_open(struct http_req *req, const json_t *vm, const char *kind, const char *accept,
                        const char *protocol)
{
	struct mgr *m = http_app(req);
	struct console_proxy *p = proxy(m);
	if (!p) {
		http_reply_error(req, 500, "internal", NULL, "cannot set up console streams (out of memory)");
		return;
	}
	if (p->n >= CONSOLE_MAX_STREAMS) {
		http_reply_error(req, 503, "too_many_consoles", NULL,
		                 "vdcd has %d console streams open, the most it serves at once; close one or "
		                 "try again later", CONSOLE_MAX_STREAMS);
		return;
	}
	struct stream *s = calloc(1, sizeof(*s));
	if (!s) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	s->m = m;
	s->req = req;
	s->fd = -1;
	snprintf(s->vm, sizeof(s->vm), "%s", json_string_value(json_object_get(vm, "name")) ?: "?");
	snprintf(s->kind, sizeof(s->kind), "%s", kind);
	snprintf(s->accept, sizeof(s->accept), "%s", accept);
	snprintf(s->protocol, sizeof(s->protocol), "%s", protocol ? protocol : "");
	p->n++;
	char path[384];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/console/%s", vm_agent_name(vm), kind);
	struct errinfo e = {0};
	const char *host_id = json_string_value(json_object_get(vm, "host_id"));
	if (!host_id) {
		http_reply_error(req, 409, "not_placed", NULL, "VM '%s' is on no host yet; its console opens once it runs",
		                 s->vm);
		stream_free(s);
		return;
	}
	if (agent_xfer_prepare(&s->x, m->st, host_id, "GET", path, NULL, -1, 0, AGENT_WAIT_MS / 1000, NULL,
	                       &e) < 0) {
		mgr_reply_err(req, &e);
		stream_free(s);
		return;
	}
	/* The agent's token is the Authorization header agent_xfer made. */
	const char *auth = s->x.headers ? s->x.headers->data : "";
	snprintf(s->request, sizeof(s->request),
	         "GET %s HTTP/1.1\r\nHost: vdc-agent\r\n%s\r\nConnection: Upgrade\r\nUpgrade: vdc-console\r\n\r\n",
	         path, auth);
	if (loop_jobs_start(p->jobs, connect_work, connect_done, s) < 0) {
		http_reply_error(req, 503, "too_many_consoles", NULL, "no thread to open the console on; try again");
		stream_free(s);
		return;
	}
	http_defer(req);
}

void console_proxy_stop(struct mgr *m)
{
	struct console_proxy *p = m->console_proxy;
	if (!p)
		return;
	uint64_t one = 1;
	if (write(p->stop_fd, &one, sizeof(one)) < 0)
		log_warn("console_stop_signal_failed", "error=%s", log_quote(strerror(errno)));
	loop_jobs_free(p->jobs);
	close(p->stop_fd);
	free(p);
	m->console_proxy = NULL;
}
