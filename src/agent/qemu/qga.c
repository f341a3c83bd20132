/* qga.c - the guest agent client (qga.h): a non-blocking unix socket to
 * QEMU's qga0 chardev, one call at a time with a deadline timer, replies
 * framed by lib/qga_frame.c. A call that times out or meets a broken
 * channel disconnects: the next one reconnects and syncs again, so a late
 * answer can never be taken for the next command's. */
#include "qga.h"

#include "log.h"
#include "loop.h"
#include "qga_frame.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Read at most this much per wake-up: a flooding guest shares the loop. */
#define QGA_READ_PER_WAKE (256u * 1024)

struct qga {
	struct loop *loop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct loop_watch *watch;
	uint32_t watching;
	struct qga_frame *frame;
	bool synced;
	json_int_t sync_id;
	char *out;
	size_t outlen;
	unsigned long junk;
	unsigned bad_lines; /* refused in this call: the first is logged */
	/* The call in flight. */
	bool busy, no_reply, sent;
	enum { PH_SYNC, PH_CMD } phase;
	char cmd[64];
	json_t *args;
	qga_reply_fn cb;
	void *cb_ctx;
	int timeout_ms;
	struct loop_timer *timer;
	bool ended; /* st/err set: end at the timer's turn */
	enum qga_status st;
	char err[256];
	int depth;
	bool free_pending;
};

/* A call that ends without its qga (refused while busy, or the qga freed). */
struct qga_late {
	qga_reply_fn cb;
	void *cb_ctx;
	enum qga_status st;
	char cmd[64], err[160];
};

static void on_late(void *ctx)
{
	struct qga_late *lt = ctx;
	lt->cb(lt->cb_ctx, lt->st, NULL, lt->err, lt->cmd);
	free(lt);
}

static void end_without(struct loop *l, qga_reply_fn cb, void *cb_ctx, const char *cmd, enum qga_status st,
                        const char *err)
{
	struct qga_late *lt = calloc(1, sizeof(*lt));
	if (!lt)
		abort(); /* a callback promised and no memory to keep the promise */
	*lt = (struct qga_late){.cb = cb, .cb_ctx = cb_ctx, .st = st};
	snprintf(lt->cmd, sizeof(lt->cmd), "%s", cmd);
	snprintf(lt->err, sizeof(lt->err), "%s", err);
	loop_timer_after(l, 0, on_late, lt);
}

struct qga *qga_new(struct loop *l, const char *path)
{
	struct qga *g = calloc(1, sizeof(*g));
	if (!g || !(g->frame = malloc(sizeof(*g->frame)))) {
		free(g);
		return NULL;
	}
	g->loop = l;
	g->fd = -1;
	snprintf(g->path, sizeof(g->path), "%s", path);
	return g;
}

void qga_disconnect(struct qga *g)
{
	if (g->watch)
		loop_unwatch(g->loop, g->watch);
	g->watch = NULL;
	g->watching = 0;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	g->synced = false;
	g->outlen = 0;
}

static void really_free(struct qga *g)
{
	free(g->out);
	free(g->frame);
	free(g);
}

void qga_free(struct qga *g)
{
	if (!g || g->free_pending)
		return;
	qga_disconnect(g);
	if (g->timer)
		loop_timer_cancel(g->loop, g->timer);
	g->timer = NULL;
	if (g->busy) {
		g->busy = false;
		json_decref(g->args);
		g->args = NULL;
		end_without(g->loop, g->cb, g->cb_ctx, g->cmd, QGA_CLOSED, "the VM's guest agent channel was closed");
	}
	if (g->depth > 0)
		g->free_pending = true;
	else
		really_free(g);
}

bool qga_busy(const struct qga *g) { return g->busy; }
unsigned long qga_junk_bytes(const struct qga *g) { return g->junk + g->frame->skipped; }

/* Ends the call in flight: its callback, at most once. */
static void finish(struct qga *g, enum qga_status st, json_t *ret, const char *err)
{
	if (!g->busy)
		return;
	if (g->timer)
		loop_timer_cancel(g->loop, g->timer);
	g->timer = NULL;
	g->busy = g->ended = false;
	json_decref(g->args);
	g->args = NULL;
	g->junk += g->frame->skipped;
	g->frame->skipped = 0;
	/* Unsure where the channel stands (a late answer may come): start over. */
	if (st == QGA_TIMEOUT || st == QGA_CLOSED)
		qga_disconnect(g);
	char cmd[sizeof(g->cmd)], errbuf[sizeof(g->err)];
	memcpy(cmd, g->cmd, sizeof(cmd));
	snprintf(errbuf, sizeof(errbuf), "%s", err ? err : "");
	g->depth++;
	g->cb(g->cb_ctx, st, st == QGA_OK ? ret : NULL, st == QGA_OK ? NULL : errbuf, cmd);
	g->depth--;
}

static void on_timer(void *ctx)
{
	struct qga *g = ctx;
	g->timer = NULL;
	if (g->ended) {
		finish(g, g->st, NULL, g->err);
	} else {
		char err[200];
		snprintf(err, sizeof(err), "the guest agent did not answer '%s' within %d ms", g->cmd, g->timeout_ms);
		finish(g, QGA_TIMEOUT, NULL, err);
	}
	if (g->free_pending && g->depth == 0)
		really_free(g);
}

/* Ends the call at the loop's next turn (never inside qga_call). */
static void end_later(struct qga *g, enum qga_status st, const char *err)
{
	g->ended = true;
	g->st = st;
	snprintf(g->err, sizeof(g->err), "%s", err);
	if (g->timer)
		loop_timer_cancel(g->loop, g->timer);
	g->timer = loop_timer_after(g->loop, 0, on_timer, g);
}

static void on_ready(void *ctx, uint32_t events);

static void update_watch(struct qga *g)
{
	uint32_t want = EPOLLIN | (g->outlen ? EPOLLOUT : 0);
	if (g->fd < 0 || want == g->watching)
		return;
	if (g->watch)
		loop_unwatch(g->loop, g->watch);
	g->watch = loop_watch_fd(g->loop, g->fd, want, on_ready, g);
	g->watching = g->watch ? want : 0;
}

/* Sends what is queued as far as the socket takes it; -1: broken. */
static int flush_out(struct qga *g)
{
	while (g->outlen) {
		ssize_t n = send(g->fd, g->out, g->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			memmove(g->out, g->out + n, g->outlen - (size_t)n);
			g->outlen -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		return -1;
	}
	update_watch(g);
	return 0;
}

/* Queues one request line. (No 0xFF before a sync: qemu-ga 7.2 answers
 * it with a parse error, and a stale half-request only costs that sync.) */
static int queue(struct qga *g, const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:s}", "execute", cmd);
	if (req && args)
		json_object_set(req, "arguments", args);
	char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	size_t len = s ? strlen(s) : 0;
	char *nb = s ? realloc(g->out, g->outlen + len + 2) : NULL;
	if (!nb) {
		free(s);
		return -1;
	}
	g->out = nb;
	memcpy(g->out + g->outlen, s, len);
	g->out[g->outlen + len] = '\n';
	g->outlen += len + 1;
	free(s);
	return 0;
}

static void send_command(struct qga *g)
{
	g->phase = PH_CMD;
	if (queue(g, g->cmd, g->args) < 0) {
		end_later(g, QGA_FAILED, "out of memory");
		return;
	}
	g->sent = false;
	if (flush_out(g) < 0) {
		end_later(g, QGA_CLOSED, "cannot write to the guest agent channel (QEMU gone?)");
		return;
	}
	if (g->no_reply && g->outlen == 0) {
		g->sent = true;
		end_later(g, QGA_OK, "");
	}
}

static void take_message(struct qga *g, json_t *msg)
{
	json_t *ret = json_object_get(msg, "return");
	json_t *error = json_object_get(msg, "error");
	if (g->phase == PH_SYNC) {
		/* Only the answer to this session's id: anything else is stale. */
		if (json_is_integer(ret) && json_integer_value(ret) == g->sync_id) {
			g->synced = true;
			send_command(g);
		}
		return;
	}
	if (g->ended || g->no_reply)
		return;
	if (ret) {
		finish(g, QGA_OK, ret, NULL);
	} else if (json_is_object(error)) {
		const char *desc = json_string_value(json_object_get(error, "desc"));
		char err[256];
		snprintf(err, sizeof(err), "%.200s", desc ? desc : "the guest agent returned an error without a description");
		finish(g, QGA_FAILED, NULL, err);
	}
}

static void read_some(struct qga *g)
{
	char buf[16384];
	size_t total = 0;
	while (g->fd >= 0 && total < QGA_READ_PER_WAKE && !g->free_pending) {
		ssize_t n = recv(g->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (g->busy && !g->ended)
				finish(g, QGA_CLOSED, NULL, "the guest agent channel closed (QEMU gone?)");
			qga_disconnect(g);
			return;
		}
		total += (size_t)n;
		if (!g->busy || g->ended) { /* nobody asked: dropped */
			g->junk += (size_t)n;
			continue;
		}
		const char *p = buf;
		size_t left = (size_t)n;
		while (left && g->busy && !g->ended && !g->free_pending) {
			size_t used = 0;
			json_t *msg = NULL;
			char err[200];
			enum qga_frame_result r = qga_frame_feed(g->frame, p, left, &used, &msg, err, sizeof(err));
			p += used;
			left -= used;
			if (r == QGA_FRAME_MSG)
				take_message(g, msg);
			else if (r == QGA_FRAME_BAD && g->bad_lines++ == 0) /* once a call: a flood logs one line */
				log_warn("qga_bad_reply", "socket=%s command=%s error=%s", log_quote(g->path), g->cmd,
				         log_quote(err));
			json_decref(msg);
		}
		g->junk += left;
	}
}

static void on_ready(void *ctx, uint32_t events)
{
	struct qga *g = ctx;
	g->depth++;
	if ((events & EPOLLOUT) && g->fd >= 0) {
		if (flush_out(g) < 0) {
			finish(g, QGA_CLOSED, NULL, "cannot write to the guest agent channel (QEMU gone?)");
			qga_disconnect(g);
		} else if (g->busy && !g->ended && g->phase == PH_CMD && g->no_reply && g->outlen == 0) {
			finish(g, QGA_OK, NULL, NULL);
		}
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && g->fd >= 0 && !g->free_pending)
		read_some(g);
	g->depth--;
	if (g->free_pending && g->depth == 0)
		really_free(g);
}

static int connect_channel(struct qga *g, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot reach the guest agent channel: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	g->fd = fd;
	g->synced = false;
	update_watch(g);
	if (!g->watch) {
		snprintf(err, errlen, "cannot watch the guest agent channel: %s", strerror(errno));
		qga_disconnect(g);
		return -1;
	}
	return 0;
}

void qga_call(struct qga *g, const char *cmd, json_t *args, int timeout_ms, bool no_reply, qga_reply_fn cb,
              void *cb_ctx)
{
	if (g->busy) {
		json_decref(args);
		end_without(g->loop, cb, cb_ctx, cmd, QGA_FAILED, "another guest agent command is under way");
		return;
	}
	g->busy = true;
	g->ended = false;
	g->bad_lines = 0;
	g->no_reply = no_reply;
	snprintf(g->cmd, sizeof(g->cmd), "%s", cmd);
	g->args = args;
	g->cb = cb;
	g->cb_ctx = cb_ctx;
	g->timeout_ms = timeout_ms;
	g->timer = loop_timer_after(g->loop, (uint64_t)timeout_ms, on_timer, g);
	char err[200];
	if (g->fd < 0 && connect_channel(g, err, sizeof(err)) < 0) {
		end_later(g, QGA_CLOSED, err);
		return;
	}
	if (g->synced) {
		qga_frame_reset(g->frame, false);
		send_command(g);
		return;
	}
	/* A session's first call: sync on a random id, then the command. */
	uint32_t id = 0;
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint32_t)loop_now_ms();
	g->sync_id = (json_int_t)(id & 0x7fffffff);
	g->phase = PH_SYNC;
	qga_frame_reset(g->frame, true);
	json_t *sargs = json_pack("{s:I}", "id", g->sync_id);
	int rc = queue(g, "guest-sync-delimited", sargs);
	json_decref(sargs);
	if (rc < 0) {
		end_later(g, QGA_FAILED, "out of memory");
		return;
	}
	if (flush_out(g) < 0)
		end_later(g, QGA_CLOSED, "cannot write to the guest agent channel (QEMU gone?)");
}
