/* qmp.c - QMP over a unix socket. Messages are JSON objects, one per line;
 * replies carry the id we sent, everything with "event" is an event. The
 * socket is non-blocking. On the loop, each command is a struct qmp_cmd with
 * its own deadline timer, ended by its reply, its deadline or the monitor's
 * close; without a loop, synchronous calls wait with poll and a deadline. */
#include "qmp.h"

#include "log.h"
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define QMP_MAX_LINE (16u * 1024 * 1024)

/* One asynchronous command. It outlives its qmp when the qmp is freed
 * first: then it ends with QMP_CLOSED from a timer of its own. */
struct qmp_cmd {
	struct qmp_cmd *next;
	struct qmp *q;       /* NULL once the qmp is gone */
	struct loop *loop;
	unsigned long id;    /* 0: the handshake, waiting for the greeting */
	char name[48];
	int timeout_ms;
	uint64_t deadline_ms;
	qmp_reply_fn cb;
	void *cb_ctx;
	struct loop_timer *timer;
	bool handshake;      /* the capabilities negotiation itself */
	json_t *held_args;   /* held until the negotiation is over (held) */
	bool held;
	int held_fd;         /* a held qmp_send_fd's copy of its descriptor, or -1 */
	bool ended;          /* st/err below are set: end it at the next turn */
	enum qmp_status st;
	char err[256];
};

struct qmp {
	int fd;
	char *buf;
	size_t len, cap;
	unsigned long next_id;
	int closed;
	qmp_event_fn on_event;
	void *ctx;
	/* On the loop. */
	struct loop *loop;
	struct loop_watch *watch;
	uint32_t watching;        /* the events watch is registered for */
	int timeout_ms;
	void (*on_closed)(void *ctx);
	bool closed_told;
	bool negotiating;         /* commands wait for the handshake's end */
	struct qmp_cmd *cmds;     /* sent (or about to be), not yet answered */
	char *out;                /* what the socket did not take yet */
	size_t outlen;
	int depth;                /* inside a dispatch: a free waits for its end */
	bool free_pending;
};

struct qmp *qmp_new(int fd, qmp_event_fn on_event, void *ctx)
{
	struct qmp *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->fd = fd;
	q->on_event = on_event;
	q->ctx = ctx;
	q->next_id = 1;
	q->timeout_ms = 30000;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return q;
}

static void cmd_end_later(struct qmp_cmd *c, enum qmp_status st, const char *err);

static void really_free(struct qmp *q)
{
	free(q->buf);
	free(q->out);
	free(q);
}

void qmp_free(struct qmp *q)
{
	if (!q || q->free_pending)
		return;
	if (q->watch)
		loop_unwatch(q->loop, q->watch);
	q->watch = NULL;
	close(q->fd);
	q->fd = -1;
	q->closed = 1;
	/* Whoever waits on a command hears that the monitor is gone, from the
	 * loop: never from inside this free (its caller may be mid-change). */
	while (q->cmds) {
		struct qmp_cmd *c = q->cmds;
		q->cmds = c->next;
		c->next = NULL;
		c->q = NULL;
		if (!c->ended)
			cmd_end_later(c, QMP_CLOSED, "QEMU closed its monitor connection (QEMU exited)");
	}
	if (q->depth > 0)
		q->free_pending = true; /* the dispatch under way frees it at its end */
	else
		really_free(q);
}

int qmp_fd(const struct qmp *q) { return q->fd; }

/* Reads once. Returns bytes read, 0 on EAGAIN, -1 on EOF/error. */
static int fill(struct qmp *q)
{
	if (q->closed)
		return -1;
	if (q->cap - q->len < 4096) {
		size_t ncap = q->cap ? q->cap * 2 : 8192;
		if (ncap > QMP_MAX_LINE + 8192) {
			q->closed = 1; /* a peer that never ends a line */
			return -1;
		}
		char *nb = realloc(q->buf, ncap);
		if (!nb)
			return -1;
		q->buf = nb;
		q->cap = ncap;
	}
	ssize_t n = read(q->fd, q->buf + q->len, q->cap - q->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		q->closed = 1;
		return -1;
	}
	q->len += (size_t)n;
	return (int)n;
}

/* Takes the next complete message off the buffer, or returns NULL. */
static json_t *next_message(struct qmp *q)
{
	for (;;) {
		if (q->len == 0)
			return NULL; /* also: buf is still NULL before the first read */
		char *nl = memchr(q->buf, '\n', q->len);
		if (!nl)
			return NULL;
		size_t linelen = (size_t)(nl - q->buf) + 1;
		json_error_t e;
		json_t *msg = json_loadb(q->buf, linelen, 0, &e);
		memmove(q->buf, q->buf + linelen, q->len - linelen);
		q->len -= linelen;
		if (msg && json_is_object(msg))
			return msg;
		json_decref(msg);
		log_warn("qmp_bad_message", "error=%s", log_quote(e.text));
	}
}

static void dispatch_event(struct qmp *q, json_t *msg)
{
	const char *ev = json_string_value(json_object_get(msg, "event"));
	if (ev && q->on_event)
		q->on_event(q->ctx, ev, json_object_get(msg, "data"));
}

static void route_message(struct qmp *q, json_t *msg);

int qmp_poll_events(struct qmp *q)
{
	int rc;
	q->depth++;
	do {
		rc = fill(q);
		json_t *msg;
		/* Also what is left in the buffer from a previous call. */
		while (!q->free_pending && (msg = next_message(q))) {
			route_message(q, msg);
			json_decref(msg);
		}
	} while (rc > 0 && !q->free_pending);
	q->depth--;
	if (q->free_pending && q->depth == 0) {
		really_free(q);
		return -1;
	}
	return rc < 0 ? -1 : 0;
}

/* Waits for a message that satisfies want (an id, or 0 for the greeting). */
static json_t *wait_message(struct qmp *q, unsigned long want_id, int timeout_ms, char *err,
                            size_t errlen)
{
	uint64_t deadline = loop_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		json_t *msg;
		while ((msg = next_message(q))) {
			if (json_object_get(msg, "event")) {
				dispatch_event(q, msg);
			} else if (want_id == 0 && json_object_get(msg, "QMP")) {
				return msg;
			} else if (want_id && json_integer_value(json_object_get(msg, "id")) ==
			                          (json_int_t)want_id) {
				return msg;
			}
			json_decref(msg);
		}
		if (q->closed) {
			snprintf(err, errlen, "QEMU closed its monitor connection (QEMU exited)");
			return NULL;
		}
		uint64_t now = loop_now_ms();
		if (now >= deadline) {
			snprintf(err, errlen, "QEMU did not answer on its monitor within %d ms", timeout_ms);
			return NULL;
		}
		struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll on the QMP socket failed: %s", strerror(errno));
			return NULL;
		}
		if (pr > 0)
			fill(q);
	}
}

static int write_all(int fd, const char *s, size_t len, int timeout_ms)
{
	uint64_t deadline = loop_now_ms() + (uint64_t)timeout_ms;
	while (len) {
		/* send, not write: a QEMU that just exited must give EPIPE, never a
		 * SIGPIPE that kills whoever links this file. */
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		uint64_t now = loop_now_ms();
		if (now >= deadline)
			return -1;
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		poll(&pfd, 1, (int)(deadline - now));
	}
	return 0;
}

int qmp_handshake(struct qmp *q, int timeout_ms, char *err, size_t errlen)
{
	json_t *greeting = wait_message(q, 0, timeout_ms, err, errlen);
	if (!greeting)
		return -1;
	json_decref(greeting);
	json_t *r = qmp_call(q, "qmp_capabilities", NULL, timeout_ms, err, errlen);
	if (!r)
		return -1;
	json_decref(r);
	return 0;
}

json_t *qmp_call(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, char *err,
                 size_t errlen)
{
	unsigned long id = q->next_id++;
	json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	if (args)
		json_object_set_new(req, "arguments", args);
	char *s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	size_t len = strlen(s);
	char *line = realloc(s, len + 2);
	if (!line) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	int wrc = write_all(q->fd, line, len + 1, timeout_ms);
	free(line);
	if (wrc < 0) {
		snprintf(err, errlen, "cannot send '%s' to QEMU: %s", cmd,
		         errno ? strerror(errno) : "timed out");
		return NULL;
	}
	json_t *reply = wait_message(q, id, timeout_ms, err, errlen);
	if (!reply)
		return NULL;
	json_t *ret = json_object_get(reply, "return");
	if (ret) {
		json_incref(ret);
		json_decref(reply);
		return ret;
	}
	json_t *e = json_object_get(reply, "error");
	const char *desc = json_string_value(json_object_get(e, "desc"));
	snprintf(err, errlen, "%s", desc ? desc : "QEMU returned an error without a description");
	json_decref(reply);
	return NULL;
}

/* ---- on the loop ---------------------------------------------------------- */

static void cmd_unlink(struct qmp_cmd *c)
{
	if (!c->q)
		return;
	for (struct qmp_cmd **pp = &c->q->cmds; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->q = NULL;
}

/* Ends c: its callback, then it is gone. */
static void cmd_finish(struct qmp_cmd *c, enum qmp_status st, json_t *ret, const char *err)
{
	cmd_unlink(c);
	if (c->timer)
		loop_timer_cancel(c->loop, c->timer);
	c->timer = NULL;
	json_decref(c->held_args);
	if (c->held_fd >= 0)
		close(c->held_fd);
	qmp_reply_fn cb = c->cb;
	void *ctx = c->cb_ctx;
	char errbuf[sizeof(c->err)], name[sizeof(c->name)];
	snprintf(errbuf, sizeof(errbuf), "%s", err ? err : "");
	memcpy(name, c->name, sizeof(name));
	free(c);
	cb(ctx, st, st == QMP_OK ? ret : NULL, st == QMP_OK ? NULL : errbuf, name);
}

static void on_cmd_timer(void *ctx)
{
	struct qmp_cmd *c = ctx;
	c->timer = NULL;
	if (c->ended) {
		cmd_finish(c, c->st, NULL, c->err);
		return;
	}
	char err[256];
	snprintf(err, sizeof(err), "QEMU did not answer '%s' within %d ms", c->name, c->timeout_ms);
	cmd_finish(c, QMP_TIMEOUT, NULL, err);
}

static void cmd_end_later(struct qmp_cmd *c, enum qmp_status st, const char *err)
{
	c->ended = true;
	c->st = st;
	snprintf(c->err, sizeof(c->err), "%s", err);
	if (c->timer)
		loop_timer_cancel(c->loop, c->timer);
	c->timer = loop_timer_after(c->loop, 0, on_cmd_timer, c);
}

static void on_qmp_ready(void *ctx, uint32_t events);

static void update_watch(struct qmp *q)
{
	uint32_t want = EPOLLIN | (q->outlen ? EPOLLOUT : 0);
	if (!q->loop || q->closed || want == q->watching)
		return;
	if (q->watch)
		loop_unwatch(q->loop, q->watch);
	q->watch = loop_watch_fd(q->loop, q->fd, want, on_qmp_ready, q);
	q->watching = q->watch ? want : 0;
}

/* Sends what is queued, as far as the socket takes it. -1 when the socket
 * is broken (errno). */
static int flush_out(struct qmp *q)
{
	while (q->outlen) {
		ssize_t n = send(q->fd, q->out, q->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			memmove(q->out, q->out + n, q->outlen - (size_t)n);
			q->outlen -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		return -1;
	}
	update_watch(q);
	return 0;
}

static void fail_all(struct qmp *q, enum qmp_status st, const char *err)
{
	for (struct qmp_cmd *c = q->cmds; c; c = c->next)
		if (!c->ended)
			cmd_end_later(c, st, err);
}

/* Sends the line s with fd attached to its first byte (SCM_RIGHTS), as
 * QEMU's getfd wants it; what the socket does not take at once is queued
 * as any command's rest. 0, or -1 with errno. */
static int send_with_fd(struct qmp *q, const char *s, size_t len, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	memset(ctl, 0, sizeof(ctl));
	struct iovec iov = {.iov_base = (void *)s, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(q->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	size_t rest = len - (size_t)n;
	if (rest) {
		char *nb = realloc(q->out, q->outlen + rest);
		if (!nb)
			return -1;
		q->out = nb;
		memcpy(q->out + q->outlen, s + n, rest);
		q->outlen += rest;
	}
	update_watch(q);
	return 0;
}

/* c's command as one line of JSON, c given its id now (args consumed),
 * without its newline; NULL when out of memory (c then ended). */
static char *cmd_json(struct qmp *q, struct qmp_cmd *c, json_t *args)
{
	c->id = q->next_id++;
	json_t *req = json_pack("{s:s, s:I}", "execute", c->name, "id", (json_int_t)c->id);
	if (args)
		json_object_set_new(req, "arguments", args);
	char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!s)
		cmd_end_later(c, QMP_FAILED, "out of memory");
	return s;
}

static void cmd_send_failed(struct qmp *q, struct qmp_cmd *c)
{
	char err[256];
	snprintf(err, sizeof(err), "cannot send '%s' to QEMU: %s", c->name, strerror(errno));
	fail_all(q, QMP_CLOSED, err);
}

/* Queues the command line for c; fd >= 0 goes with it. */
static void cmd_write_fd(struct qmp *q, struct qmp_cmd *c, json_t *args, int fd)
{
	/* The fd must ride on the command's own bytes: not behind others. */
	if (q->outlen) {
		json_decref(args);
		cmd_end_later(c, QMP_FAILED, "the monitor is still sending an earlier command; try again");
		return;
	}
	char *s = cmd_json(q, c, args), *line = s ? realloc(s, strlen(s) + 2) : NULL;
	if (!line) {
		if (s)
			cmd_end_later(c, QMP_FAILED, "out of memory");
		free(s);
		return;
	}
	size_t len = strlen(line);
	line[len++] = '\n';
	line[len] = '\0';
	int rc = send_with_fd(q, line, len, fd);
	free(line);
	if (rc < 0)
		cmd_send_failed(q, c);
}

/* Queues the command line for c. */
static void cmd_write(struct qmp *q, struct qmp_cmd *c, json_t *args)
{
	char *s = cmd_json(q, c, args);
	if (!s)
		return;
	size_t len = strlen(s);
	char *nb = realloc(q->out, q->outlen + len + 1);
	if (!nb) {
		free(s);
		cmd_end_later(c, QMP_FAILED, "out of memory");
		return;
	}
	q->out = nb;
	memcpy(q->out + q->outlen, s, len);
	q->out[q->outlen + len] = '\n';
	q->outlen += len + 1;
	free(s);
	if (flush_out(q) < 0)
		cmd_send_failed(q, c);
}

static struct qmp_cmd *cmd_new(struct qmp *q, const char *name, int timeout_ms, qmp_reply_fn cb,
                               void *cb_ctx)
{
	struct qmp_cmd *c = calloc(1, sizeof(*c));
	if (!c)
		abort(); /* a callback promised and no memory to keep the promise */
	c->q = q;
	c->loop = q->loop;
	c->held_fd = -1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : q->timeout_ms;
	c->deadline_ms = loop_now_ms() + (uint64_t)c->timeout_ms;
	c->cb = cb;
	c->cb_ctx = cb_ctx;
	/* Kept in the order sent: the oldest first. */
	struct qmp_cmd **pp = &q->cmds;
	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
	c->timer = loop_timer_after(q->loop, (uint64_t)c->timeout_ms, on_cmd_timer, c);
	return c;
}

void qmp_send(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, qmp_reply_fn cb,
              void *cb_ctx)
{
	struct qmp_cmd *c = cmd_new(q, cmd, timeout_ms, cb, cb_ctx);
	if (q->closed) {
		json_decref(args);
		cmd_end_later(c, QMP_CLOSED, "QEMU closed its monitor connection (QEMU exited)");
		return;
	}
	if (q->negotiating) { /* QEMU takes nothing else before it: sent after */
		c->held = true;
		c->held_args = args;
		return;
	}
	cmd_write(q, c, args);
}

void qmp_send_fd(struct qmp *q, const char *cmd, json_t *args, int fd, qmp_reply_fn cb, void *cb_ctx)
{
	struct qmp_cmd *c = cmd_new(q, cmd, 0, cb, cb_ctx);
	if (q->closed) {
		json_decref(args);
		cmd_end_later(c, QMP_CLOSED, "QEMU closed its monitor connection (QEMU exited)");
		return;
	}
	if (q->negotiating) { /* sent after, with a copy of fd kept meanwhile */
		if ((c->held_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			json_decref(args);
			cmd_end_later(c, QMP_FAILED, "cannot keep the descriptor to pass: out of descriptors");
			return;
		}
		c->held = true;
		c->held_args = args;
		return;
	}
	cmd_write_fd(q, c, args, fd);
}

void qmp_reply_later(struct qmp *q, const char *cmd, enum qmp_status st, const char *err,
                     qmp_reply_fn cb, void *cb_ctx)
{
	cmd_end_later(cmd_new(q, cmd, 0, cb, cb_ctx), st, err);
}

void qmp_handshake_async(struct qmp *q, qmp_reply_fn cb, void *cb_ctx)
{
	struct qmp_cmd *c = cmd_new(q, "qmp_capabilities", 0, cb, cb_ctx);
	c->handshake = true;
	q->negotiating = true;
	if (q->closed)
		cmd_end_later(c, QMP_CLOSED, "QEMU closed its monitor connection (QEMU exited)");
	/* id 0 until the greeting comes: then the capabilities are sent. */
}

/* A reply (or the greeting) for an asynchronous command. */
static void route_message(struct qmp *q, json_t *msg)
{
	if (json_object_get(msg, "event")) {
		dispatch_event(q, msg);
		return;
	}
	if (json_object_get(msg, "QMP")) {
		for (struct qmp_cmd *c = q->cmds; c; c = c->next)
			if (c->handshake && c->id == 0 && !c->ended) {
				cmd_write(q, c, NULL);
				break;
			}
		return;
	}
	json_t *idv = json_object_get(msg, "id");
	if (!json_is_integer(idv))
		return;
	struct qmp_cmd *c = q->cmds;
	while (c && (c->id == 0 || (json_int_t)c->id != json_integer_value(idv) || c->ended))
		c = c->next;
	if (!c)
		return; /* a command that timed out earlier: nobody waits for it now */
	json_t *ret = json_object_get(msg, "return");
	if (ret && c->handshake) {
		/* In command mode: what was held goes now, in the order given. */
		q->negotiating = false;
		for (struct qmp_cmd *h = q->cmds; h; h = h->next)
			if (h->held && !h->ended) {
				h->held = false;
				json_t *args = h->held_args;
				h->held_args = NULL;
				if (h->held_fd >= 0) {
					int fd = h->held_fd;
					h->held_fd = -1;
					cmd_write_fd(q, h, args, fd);
					close(fd);
				} else {
					cmd_write(q, h, args);
				}
			}
	}
	if (ret) {
		cmd_finish(c, QMP_OK, ret, NULL);
		return;
	}
	const char *desc = json_string_value(json_object_get(json_object_get(msg, "error"), "desc"));
	cmd_finish(c, QMP_FAILED, NULL, desc ? desc : "QEMU returned an error without a description");
}

static void on_qmp_ready(void *ctx, uint32_t events)
{
	struct qmp *q = ctx;
	q->depth++;
	if ((events & EPOLLOUT) && flush_out(q) < 0)
		fail_all(q, QMP_CLOSED, "cannot write to QEMU's monitor");
	q->depth--;
	if (q->free_pending && q->depth == 0) {
		really_free(q);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	q->depth++; /* held across on_closed, which may free q */
	int rc = qmp_poll_events(q);
	if (rc < 0 && !q->free_pending && !q->closed_told) {
		q->closed_told = true;
		if (q->watch)
			loop_unwatch(q->loop, q->watch);
		q->watch = NULL;
		fail_all(q, QMP_CLOSED, "QEMU closed its monitor connection (QEMU exited)");
		if (q->on_closed)
			q->on_closed(q->ctx);
	}
	q->depth--;
	if (q->free_pending && q->depth == 0)
		really_free(q);
}

int qmp_attach(struct qmp *q, struct loop *l, int timeout_ms, void (*on_closed)(void *ctx))
{
	q->loop = l;
	if (timeout_ms > 0)
		q->timeout_ms = timeout_ms;
	q->on_closed = on_closed;
	update_watch(q);
	return q->watch ? 0 : -1;
}

int qmp_timeout_ms(const struct qmp *q) { return q->timeout_ms; }

int qmp_pending(const struct qmp *q)
{
	int n = 0;
	for (const struct qmp_cmd *c = q->cmds; c; c = c->next)
		n++;
	return n;
}

void qmp_drain(struct qmp *q)
{
	q->depth++;
	while (q->cmds && !q->free_pending) {
		uint64_t now = loop_now_ms(), next = UINT64_MAX;
		struct qmp_cmd *due = NULL;
		for (struct qmp_cmd *c = q->cmds; c && !due; c = c->next) {
			if (c->ended || now >= c->deadline_ms)
				due = c;
			else if (c->deadline_ms < next)
				next = c->deadline_ms;
		}
		if (due) {
			if (due->ended) {
				char err[sizeof(due->err)];
				memcpy(err, due->err, sizeof(err));
				cmd_finish(due, due->st, NULL, err);
			} else {
				char err[256];
				snprintf(err, sizeof(err), "QEMU did not answer '%s' within %d ms", due->name,
				         due->timeout_ms);
				cmd_finish(due, QMP_TIMEOUT, NULL, err);
			}
			continue;
		}
		struct pollfd pfd = {.fd = q->fd, .events = POLLIN | (q->outlen ? POLLOUT : 0)};
		if (poll(&pfd, 1, (int)(next - now)) <= 0)
			continue;
		if (pfd.revents & POLLOUT)
			flush_out(q);
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			on_qmp_ready(q, EPOLLIN);
	}
	q->depth--;
	if (q->free_pending && q->depth == 0)
		really_free(q);
}
