/* qmp.c - QMP over a unix socket. Messages are JSON objects, one per line;
 * replies carry the id we sent, everything with "event" is an event. The
 * socket is non-blocking; synchronous calls wait with poll and a deadline. */
#include "qmp.h"

#include "log.h"
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define QMP_MAX_LINE (16u * 1024 * 1024)

struct qmp {
	int fd;
	char *buf;
	size_t len, cap;
	unsigned long next_id;
	int closed;
	qmp_event_fn on_event;
	void *ctx;
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
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return q;
}

void qmp_free(struct qmp *q)
{
	if (!q)
		return;
	close(q->fd);
	free(q->buf);
	free(q);
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

int qmp_poll_events(struct qmp *q)
{
	int rc;
	while ((rc = fill(q)) > 0) {
		json_t *msg;
		while ((msg = next_message(q))) {
			if (json_object_get(msg, "event"))
				dispatch_event(q, msg);
			json_decref(msg);
		}
	}
	/* Dispatch anything left in the buffer from a previous call. */
	json_t *msg;
	while ((msg = next_message(q))) {
		if (json_object_get(msg, "event"))
			dispatch_event(q, msg);
		json_decref(msg);
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
