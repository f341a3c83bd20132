/* agent_async.c - agent calls in curl multi on vdcd's loop. curl says which
 * sockets it waits on (on_socket) and when it next needs a tick (on_timer);
 * the loop tells it what happened (curl_multi_socket_action), and finished
 * transfers are collected (reap) and handed to their callbacks. Everything
 * here runs on the loop thread. */
#include "agent_async.h"

#include "agent_xfer.h"
#include "fault.h"
#include "log.h"
#include "loop.h"
#include "manager.h"

#include <stdlib.h>
#include <string.h>

#define MAX_IN_FLIGHT 256 /* each holds a socket; beyond this, 503 */

struct agent_op {
	struct agent_async *aa;
	struct agent_op *prev, *next;
	struct agent_xfer x;
	agent_done_fn done;
	void *ctx;
};

/* A socket curl waits on, and our watch of it. */
struct agent_sock {
	struct agent_async *aa;
	struct agent_sock *prev, *next;
	curl_socket_t fd;
	struct loop_watch *watch;
};

struct agent_async {
	struct mgr *m;
	CURLM *multi;
	struct loop_timer *timer;
	struct agent_op *ops;     /* in flight */
	int nops;
	struct agent_sock *socks; /* watched */
};

static void list_unlink_op(struct agent_async *aa, struct agent_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		aa->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	aa->nops--;
}

/* Hands the outcome to the caller and frees the call (already out of the
 * multi handle). */
static void finish(struct agent_op *op, CURLcode cc, const struct errinfo *stop)
{
	struct agent_async *aa = op->aa;
	struct agent_reply r = {0};
	list_unlink_op(aa, op);
	if (stop)
		r.e = *stop;
	else if (agent_xfer_result(&op->x, cc, &r.status, &r.json, &r.text, &r.len, &r.e) < 0)
		r.status = 0;
	snprintf(r.header, sizeof(r.header), "%s", op->x.hdr_val);
	if (r.e.status)
		log_info("agent_call_failed", "host=%s status=%u error=%s", log_quote(op->x.host), r.e.status,
		         log_quote(r.e.message));
	op->done(aa->m, op->ctx, &r);
	json_decref(r.json);
	free(r.text);
	agent_xfer_free(&op->x);
	free(op);
}

/* Collects finished transfers. Their callbacks may start new calls. */
static void reap(struct agent_async *aa)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(aa->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode cc = msg->data.result;
		struct agent_op *op = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&op);
		curl_multi_remove_handle(aa->multi, easy);
		finish(op, cc, NULL);
	}
}

static void on_ready(void *ctx, uint32_t events)
{
	struct agent_sock *s = ctx;
	struct agent_async *aa = s->aa;
	int mask = (events & EPOLLIN ? CURL_CSELECT_IN : 0) | (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
	           (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
	int running;
	/* s may be freed inside (curl removes the socket): read nothing after. */
	curl_multi_socket_action(aa->multi, s->fd, mask, &running);
	reap(aa);
}

static void sock_free(struct agent_async *aa, struct agent_sock *s)
{
	loop_unwatch(aa->m->loop, s->watch);
	if (s->prev)
		s->prev->next = s->next;
	else
		aa->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct agent_async *aa = userp;
	struct agent_sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_free(aa, s);
		return 0;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return -1;
		s->aa = aa;
		s->fd = fd;
		s->next = aa->socks;
		if (aa->socks)
			aa->socks->prev = s;
		aa->socks = s;
		curl_multi_assign(aa->multi, fd, s);
	}
	/* The loop has no "modify": a new watch for the new interest. */
	loop_unwatch(aa->m->loop, s->watch);
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	s->watch = loop_watch_fd(aa->m->loop, fd, ev, on_ready, s);
	if (!s->watch) {
		log_error("agent_call_watch_failed", "fd=%d", (int)fd);
		return -1;
	}
	return 0;
}

static void on_timeout(void *ctx)
{
	struct agent_async *aa = ctx;
	aa->timer = NULL; /* fired: curl may set a new one inside */
	int running;
	curl_multi_socket_action(aa->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap(aa);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct agent_async *aa = userp;
	if (aa->timer) {
		loop_timer_cancel(aa->m->loop, aa->timer);
		aa->timer = NULL;
	}
	if (timeout_ms >= 0 && !(aa->timer = loop_timer_after(aa->m->loop, (uint64_t)timeout_ms, on_timeout, aa)))
		return -1;
	return 0;
}

int agent_async_init(struct mgr *m)
{
	struct agent_async *aa = calloc(1, sizeof(*aa));
	if (!aa || !(aa->multi = curl_multi_init())) {
		free(aa);
		return -1;
	}
	aa->m = m;
	curl_multi_setopt(aa->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(aa->multi, CURLMOPT_SOCKETDATA, aa);
	curl_multi_setopt(aa->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(aa->multi, CURLMOPT_TIMERDATA, aa);
	m->agent_async = aa;
	return 0;
}

int agent_async_call(struct mgr *m, const char *host_id, const char *method, const char *path,
                     const json_t *body, long timeout_s, const char *hdr_name, agent_done_fn done,
                     void *ctx, struct errinfo *e)
{
	struct agent_async *aa = m->agent_async;
	if (aa->nops >= MAX_IN_FLIGHT)
		return errinfo_set(e, 503, "busy", NULL,
		                   "vdcd is waiting on %d calls to hosts already; try again in a few seconds",
		                   aa->nops);
	struct agent_op *op = calloc(1, sizeof(*op));
	if (!op)
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	if (agent_xfer_prepare(&op->x, m->st, host_id, method, path, body, -1, 0, timeout_s, hdr_name, e) < 0) {
		free(op);
		return -1;
	}
	if (fault_hit(FAULT_AGENT)) { /* as a call that could not start */
		errinfo_set(e, 502, "host_unreachable", NULL, "host '%s' (%s) did not answer (injected fault)",
		            op->x.host, op->x.url);
		agent_xfer_free(&op->x);
		free(op);
		return -1;
	}
	op->aa = aa;
	op->done = done;
	op->ctx = ctx;
	curl_easy_setopt(op->x.curl, CURLOPT_PRIVATE, op);
	if (curl_multi_add_handle(aa->multi, op->x.curl) != CURLM_OK) {
		agent_xfer_free(&op->x);
		free(op);
		return errinfo_set(e, 500, "internal", NULL, "cannot start a call to a host (libcurl)");
	}
	op->next = aa->ops;
	if (aa->ops)
		aa->ops->prev = op;
	aa->ops = op;
	aa->nops++;
	return 0;
}

int agent_async_in_flight(const struct mgr *m)
{
	return m->agent_async ? m->agent_async->nops : 0;
}

void agent_async_free(struct mgr *m)
{
	struct agent_async *aa = m->agent_async;
	if (!aa)
		return;
	while (aa->ops) {
		struct agent_op *op = aa->ops;
		struct errinfo e = {0};
		errinfo_set(&e, 503, "stopping", NULL,
		            "vdcd is stopping; the call to host '%s' was abandoned: try again once it is back",
		            op->x.host);
		curl_multi_remove_handle(aa->multi, op->x.curl);
		finish(op, CURLE_OK, &e);
	}
	if (aa->timer)
		loop_timer_cancel(m->loop, aa->timer);
	aa->timer = NULL;
	curl_multi_cleanup(aa->multi);
	while (aa->socks)
		sock_free(aa, aa->socks);
	free(aa);
	m->agent_async = NULL;
}
