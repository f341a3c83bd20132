/* test_qmp.c - the QMP client against a scripted fake QEMU on a socketpair.
 * The fake runs in a forked child: it expects exact commands, sends canned
 * bytes (split and interleaved as a real QEMU may), and exits non-zero on
 * anything it did not expect, which the parent turns into a test failure. */
#include "testutil.h"

#include "fault.h"
#include "log.h"
#include "loop.h"
#include "qmp.h"
#include "qmp_cmds.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum step_kind {
	SEND,   /* write text; "%ID%" becomes the id of the last command expected */
	EXPECT, /* read one command: "execute" must be text, "arguments" must equal args */
	PAUSE,  /* sleep ms, so the client sees separate reads */
	CLOSE,  /* close the socket and exit successfully */
	FLOOD,  /* write ms KiB without a newline; the client may hang up meanwhile */
	EXPECT_FD, /* as EXPECT, with a file descriptor passed along (SCM_RIGHTS) */
	END,
};

struct step {
	enum step_kind kind;
	const char *text;
	const char *args;
	int ms;
};

#define GREETING                                                                             \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "       \
	"\"capabilities\": [\"oob\"]}}\r\n"
#define SEND_(t) {.kind = SEND, .text = (t)}
#define EXPECT_(c, a) {.kind = EXPECT, .text = (c), .args = (a)}
#define PAUSE_(n) {.kind = PAUSE, .ms = (n)}
#define FLOOD_(kib) {.kind = FLOOD, .ms = (kib)}
#define CLOSE_ {.kind = CLOSE}
#define EXPECT_FD_(c, a) {.kind = EXPECT_FD, .text = (c), .args = (a)}
#define END_ {.kind = END}
#define HANDSHAKE                                                                            \
	SEND_(GREETING), EXPECT_("qmp_capabilities", NULL), SEND_("{\"return\": {}, \"id\": %ID%}\r\n")

/* Child exit codes, so a failure says what the fake saw. */
enum { FAKE_OK = 0, FAKE_READ_TIMEOUT = 10, FAKE_WRONG_COMMAND = 11, FAKE_EXTRA_COMMAND = 12,
       FAKE_NO_EOF = 13, FAKE_IO = 14, FAKE_NO_FD = 15 };

/* Reads the first byte of a command with recvmsg: 0 when a descriptor came
 * with it (closed again), or -FAKE_NO_FD / -FAKE_IO. */
static int fake_recv_fd(int fd, char *first)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = first, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 5000) <= 0 || recvmsg(fd, &mh, 0) != 1)
		return -FAKE_IO;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -FAKE_NO_FD;
	int got;
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	close(got);
	return 0;
}

static int fake_read_line(int fd, char *buf, size_t n)
{
	size_t len = 0;
	while (len + 1 < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0)
			return -FAKE_READ_TIMEOUT;
		ssize_t r = read(fd, buf + len, 1);
		if (r <= 0)
			return -FAKE_IO;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return (int)len;
}

static void fake_write(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);
		if (w <= 0)
			_exit(FAKE_IO);
		s += w;
		len -= (size_t)w;
	}
}

static void fake_run(int fd, const struct step *script)
{
	long last_id = -1;
	char line[4096];
	signal(SIGPIPE, SIG_IGN);
	for (const struct step *s = script; s->kind != END; s++) {
		switch (s->kind) {
		case SEND: {
			char out[4096], idbuf[32];
			snprintf(idbuf, sizeof(idbuf), "%ld", last_id);
			size_t o = 0;
			for (const char *c = s->text; *c && o + 32 < sizeof(out);) {
				if (!strncmp(c, "%ID%", 4)) {
					o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", idbuf);
					c += 4;
				} else {
					out[o++] = *c++;
				}
			}
			fake_write(fd, out, o);
			break;
		}
		case EXPECT:
		case EXPECT_FD: {
			int n = 0;
			if (s->kind == EXPECT_FD && (n = fake_recv_fd(fd, line)) < 0)
				_exit(-n);
			n = fake_read_line(fd, line + (s->kind == EXPECT_FD), sizeof(line) - 1);
			if (n < 0)
				_exit(-n);
			json_t *cmd = json_loads(line, 0, NULL);
			const char *ex = json_string_value(json_object_get(cmd, "execute"));
			json_t *id = json_object_get(cmd, "id");
			json_t *want_args = s->args ? json_loads(s->args, 0, NULL) : NULL;
			json_t *args = json_object_get(cmd, "arguments");
			bool ok = ex && !strcmp(ex, s->text) && json_is_integer(id) &&
			          json_integer_value(id) > last_id &&
			          (want_args ? json_equal(args, want_args) : args == NULL);
			if (!ok) {
				fprintf(stderr, "fake qemu: expected '%s' args %s, got: %s", s->text,
				        s->args ? s->args : "none", line);
				_exit(FAKE_WRONG_COMMAND);
			}
			last_id = (long)json_integer_value(id);
			json_decref(want_args);
			json_decref(cmd);
			break;
		}
		case PAUSE:
			usleep((useconds_t)s->ms * 1000);
			break;
		case CLOSE:
			close(fd);
			_exit(FAKE_OK);
		case FLOOD: {
			char chunk[1024];
			memset(chunk, 'x', sizeof(chunk));
			for (int i = 0; i < s->ms; i++)
				if (write(fd, chunk, sizeof(chunk)) <= 0)
					break;
			break;
		}
		case END:
			break;
		}
	}
	/* The script is done: anything but EOF is a command nobody scripted. */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 10000) <= 0)
		_exit(FAKE_NO_EOF);
	ssize_t r = read(fd, line, sizeof(line) - 1);
	if (r > 0) {
		line[r] = '\0';
		fprintf(stderr, "fake qemu: unexpected: %s", line);
		_exit(FAKE_EXTRA_COMMAND);
	}
	_exit(FAKE_OK);
}

struct fake {
	pid_t pid;
	int fd; /* the client's end */
};

static struct fake fake_start(const struct step *script)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		fake_run(sv[1], script);
	}
	close(sv[1]);
	return (struct fake){.pid = pid, .fd = sv[0]};
}

/* Call after qmp_free (which closes the client's end). */
static void fake_finish(struct fake *f)
{
	int st = 0;
	assert_int_equal(waitpid(f->pid, &st, 0), f->pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != FAKE_OK)
		fail_msg("fake QEMU failed: %s %d", WIFEXITED(st) ? "exit" : "signal",
		         WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

struct events {
	int n;
	char name[16][64];
	char data[16][256];
};

static void on_event(void *ctx, const char *event, json_t *data)
{
	struct events *ev = ctx;
	if (ev->n >= 16)
		return;
	snprintf(ev->name[ev->n], sizeof(ev->name[0]), "%s", event);
	char *s = data ? json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	snprintf(ev->data[ev->n], sizeof(ev->data[0]), "%s", s ? s : "");
	free(s);
	ev->n++;
}

static void test_handshake(void **state)
{
	static const struct step script[] = {HANDSHAKE, END_};
	struct fake f = fake_start(script);
	struct qmp *q = qmp_new(f.fd, NULL, NULL);
	assert_non_null(q);
	assert_int_equal(qmp_fd(q), f.fd);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	qmp_free(q);
	fake_finish(&f);
}

static void test_call_returns_value(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("query-status", NULL),
		SEND_("{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": %ID%}\r\n"),
		EXPECT_("device_del", "{\"id\": \"nic1\"}"),
		SEND_("{\"return\": {}, \"id\": %ID%}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct qmp *q = qmp_new(f.fd, NULL, NULL);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	json_t *r = qmp_call(q, "query-status", NULL, 2000, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "running");
	assert_true(json_is_true(json_object_get(r, "running")));
	json_decref(r);
	r = qmp_call(q, "device_del", json_pack("{s:s}", "id", "nic1"), 2000, err, sizeof(err));
	assert_non_null(r);
	assert_true(json_is_object(r) && json_object_size(r) == 0);
	json_decref(r);
	qmp_free(q);
	fake_finish(&f);
}

static void test_call_error(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("device_del", "{\"id\": \"nope\"}"),
		SEND_("{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nope' not found\"}, "
		       "\"id\": %ID%}\r\n"),
		EXPECT_("stop", NULL),
		SEND_("{\"error\": {\"class\": \"GenericError\"}, \"id\": %ID%}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct qmp *q = qmp_new(f.fd, NULL, NULL);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	assert_null(qmp_call(q, "device_del", json_pack("{s:s}", "id", "nope"), 2000, err, sizeof(err)));
	assert_string_equal(err, "Device 'nope' not found"); /* QEMU's own words */
	assert_null(qmp_call(q, "stop", NULL, 2000, err, sizeof(err)));
	assert_non_null(strstr(err, "without a description"));
	qmp_free(q);
	fake_finish(&f);
}

static void test_events_before_reply(void **state)
{
	static const struct step script[] = {
		SEND_(GREETING "{\"event\": \"EARLY\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"),
		EXPECT_("qmp_capabilities", NULL),
		SEND_("{\"return\": {}, \"id\": %ID%}\r\n"),
		EXPECT_("system_powerdown", NULL),
		/* Two events in one write, a third on its own, then the reply. */
		SEND_("{\"timestamp\": {\"seconds\": 3, \"microseconds\": 0}, \"event\": \"POWERDOWN\"}\r\n"
		       "{\"event\": \"BLOCK_JOB_READY\", \"data\": {\"device\": \"d0\", \"len\": 5}}\r\n"),
		PAUSE_(30),
		SEND_("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}\r\n"
		       "{\"return\": {}, \"id\": %ID%}\r\n"
		       "{\"event\": \"AFTER\"}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct events ev = {0};
	struct qmp *q = qmp_new(f.fd, on_event, &ev);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.name[0], "EARLY");
	assert_string_equal(ev.data[0], ""); /* no "data": NULL to the callback */
	json_t *r = qmp_call(q, "system_powerdown", NULL, 2000, err, sizeof(err));
	assert_non_null(r);
	json_decref(r);
	assert_true(ev.n >= 4);
	assert_string_equal(ev.name[1], "POWERDOWN");
	assert_string_equal(ev.name[2], "BLOCK_JOB_READY");
	assert_string_equal(ev.data[2], "{\"device\":\"d0\",\"len\":5}");
	assert_string_equal(ev.name[3], "SHUTDOWN");
	assert_string_equal(ev.data[3], "{\"guest\":true}");
	/* The event after the reply is not lost: the next poll delivers it. */
	for (int i = 0; i < 100 && ev.n < 5; i++) {
		assert_int_equal(qmp_poll_events(q), 0);
		if (ev.n < 5)
			usleep(10000);
	}
	assert_int_equal(ev.n, 5);
	assert_string_equal(ev.name[4], "AFTER");
	qmp_free(q);
	fake_finish(&f);
}

static void test_split_writes(void **state)
{
	static const struct step script[] = {
		/* The greeting in three pieces, one ending mid-token. */
		SEND_("{\"QMP\": {\"vers"), PAUSE_(20),
		SEND_("ion\": {}, \"capabilities\": "), PAUSE_(20),
		SEND_("[]}}\r\n"),
		EXPECT_("qmp_capabilities", NULL),
		SEND_("{\"return\""), PAUSE_(20),
		SEND_(": {}, \"id\": %ID%}\r"), PAUSE_(20),
		SEND_("\n"),
		EXPECT_("query-name", NULL),
		/* A reply split mid-line, the event before it split across its end. */
		SEND_("{\"event\": \"SPL"), PAUSE_(20),
		SEND_("IT\"}\r\n{\"return\": {\"name\": \"v"), PAUSE_(20),
		SEND_("m1\"}, \"id\": %ID%}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct events ev = {0};
	struct qmp *q = qmp_new(f.fd, on_event, &ev);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	json_t *r = qmp_call(q, "query-name", NULL, 2000, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "vm1");
	json_decref(r);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.name[0], "SPLIT");
	qmp_free(q);
	fake_finish(&f);
}

/* Lines that are not JSON objects, and replies to other ids (a call that
 * timed out earlier), are skipped rather than taken as the answer. */
static void test_noise_is_skipped(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("query-status", NULL),
		SEND_("this is not json\r\n[1, 2]\r\n\r\n\"str\"\r\n"
		       "{\"return\": {\"status\": \"stale\"}, \"id\": 999}\r\n"
		       "{\"return\": {\"status\": \"stale\"}, \"id\": \"%ID%\"}\r\n"
		       "{\"return\": {\"status\": \"paused\"}, \"id\": %ID%}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct qmp *q = qmp_new(f.fd, NULL, NULL);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	json_t *r = qmp_call(q, "query-status", NULL, 2000, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "paused");
	json_decref(r);
	qmp_free(q);
	fake_finish(&f);
}

static void test_peer_closes_mid_call(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("query-status", NULL),
		SEND_("{\"return\": {\"stat"), /* half a reply, then gone */
		CLOSE_,
	};
	struct fake f = fake_start(script);
	struct qmp *q = qmp_new(f.fd, NULL, NULL);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	uint64_t t0 = loop_now_ms();
	assert_null(qmp_call(q, "query-status", NULL, 5000, err, sizeof(err)));
	assert_true(loop_now_ms() - t0 < 2000); /* an error at once, not at the deadline */
	assert_non_null(strstr(err, "closed"));
	assert_int_equal(qmp_poll_events(q), -1);
	qmp_free(q);
	fake_finish(&f);
}

/* A call on a monitor whose peer is already gone fails with an error; the
 * write must not raise SIGPIPE, whatever the process does with that signal. */
static void test_call_after_peer_gone(void **state)
{
	static const struct step script[] = {HANDSHAKE, CLOSE_};
	struct fake f = fake_start(script);
	struct qmp *q = qmp_new(f.fd, NULL, NULL);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	fake_finish(&f); /* the peer has closed its end */
	void (*old)(int) = signal(SIGPIPE, SIG_DFL);
	assert_null(qmp_call(q, "cont", NULL, 1000, err, sizeof(err)));
	signal(SIGPIPE, old);
	assert_true(err[0] != '\0');
	qmp_free(q);
}

static void test_timeout(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("query-status", NULL), /* ...and never a reply */
		END_,
	};
	struct fake f = fake_start(script);
	struct events ev = {0};
	struct qmp *q = qmp_new(f.fd, on_event, &ev);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	uint64_t t0 = loop_now_ms();
	assert_null(qmp_call(q, "query-status", NULL, 150, err, sizeof(err)));
	uint64_t took = loop_now_ms() - t0;
	assert_true(took >= 150 && took < 2000);
	assert_non_null(strstr(err, "did not answer"));
	assert_non_null(strstr(err, "150 ms"));
	qmp_free(q);
	fake_finish(&f);
}

static void test_silent_greeting(void **state)
{
	static const struct step script[] = {END_};
	struct fake f = fake_start(script);
	struct qmp *q = qmp_new(f.fd, NULL, NULL);
	char err[256] = "";
	uint64_t t0 = loop_now_ms();
	assert_int_equal(qmp_handshake(q, 100, err, sizeof(err)), -1);
	assert_true(loop_now_ms() - t0 >= 100);
	assert_non_null(strstr(err, "did not answer"));
	qmp_free(q);
	fake_finish(&f);
}

static void test_poll_events(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		SEND_("{\"event\": \"STOP\"}\r\n{\"event\": \"RESUME\", \"data\": {}}\r\n{\"event\": 5}\r\n"
		       "{\"event\": \"RTC_CHANGE\", \"data\": {\"offset\": 7}}\r\n"),
		PAUSE_(50),
		SEND_("{\"event\": \"LAST\"}\r\n"),
		CLOSE_,
	};
	struct fake f = fake_start(script);
	struct events ev = {0};
	struct qmp *q = qmp_new(f.fd, on_event, &ev);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	int rc = 0;
	uint64_t t0 = loop_now_ms();
	while (rc == 0 && loop_now_ms() - t0 < 3000) {
		struct pollfd p = {.fd = qmp_fd(q), .events = POLLIN};
		poll(&p, 1, 100);
		rc = qmp_poll_events(q);
	}
	assert_int_equal(rc, -1); /* the close is reported */
	assert_int_equal(ev.n, 4); /* an "event" that is not a string is no event */
	assert_string_equal(ev.name[0], "STOP");
	assert_string_equal(ev.name[1], "RESUME");
	assert_string_equal(ev.data[1], "{}");
	assert_string_equal(ev.name[2], "RTC_CHANGE");
	assert_string_equal(ev.data[2], "{\"offset\":7}");
	assert_string_equal(ev.name[3], "LAST");
	qmp_free(q);
	fake_finish(&f);
}

static void test_poll_idle(void **state)
{
	static const struct step script[] = {HANDSHAKE, END_};
	struct fake f = fake_start(script);
	struct events ev = {0};
	struct qmp *q = qmp_new(f.fd, on_event, &ev);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	assert_int_equal(qmp_poll_events(q), 0);
	assert_int_equal(qmp_poll_events(q), 0);
	assert_int_equal(ev.n, 0);
	qmp_free(q);
	fake_finish(&f);
}

/* A peer that never ends a line is cut off, not buffered without bound. */
static void test_endless_line(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("query-status", NULL),
		FLOOD_(20 * 1024), /* 20 MiB, more than any QMP line */
		END_,
	};
	struct fake f = fake_start(script);
	struct qmp *q = qmp_new(f.fd, NULL, NULL);
	char err[256] = "";
	assert_int_equal(qmp_handshake(q, 2000, err, sizeof(err)), 0);
	assert_null(qmp_call(q, "query-status", NULL, 10000, err, sizeof(err)));
	assert_non_null(strstr(err, "closed"));
	qmp_free(q);
	fake_finish(&f);
}

/* ---- on the loop ------------------------------------------------------------ */

/* What the asynchronous commands of a test ended with, in the order ended. */
struct ends {
	struct loop *loop;
	struct qmp *q;
	int n, want;
	enum qmp_status st[8];
	char cmd[8][48];
	char err[8][256];
	char ret[8][256];
	bool in_free;       /* set around qmp_free: no callback may run inside it */
	bool cb_in_free;
	int closed;         /* on_closed calls */
	bool free_on_close; /* on_closed frees the qmp (the free is held) */
};

static void on_end(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct ends *e = ctx;
	if (e->in_free)
		e->cb_in_free = true;
	if (e->n < 8) {
		e->st[e->n] = st;
		snprintf(e->cmd[e->n], sizeof(e->cmd[0]), "%s", cmd);
		snprintf(e->err[e->n], sizeof(e->err[0]), "%s", err ? err : "");
		char *r = ret ? json_dumps(ret, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
		snprintf(e->ret[e->n], sizeof(e->ret[0]), "%s", r ? r : "");
		free(r);
	}
	if (++e->n == e->want)
		loop_stop(e->loop);
}

/* After the stop's timeout: a command of its own, on the same monitor. */
static void on_end_then_cont(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                             const char *cmd)
{
	struct ends *e = ctx;
	on_end(ctx, st, ret, err, cmd);
	qmp_send(e->q, "cont", NULL, 3000, on_end, e); /* a deadline of its own */
}

static void on_closed(void *ctx)
{
	struct ends *e = *(struct ends **)ctx;
	e->closed++;
	if (e->free_on_close) {
		qmp_free(e->q);
		e->q = NULL;
	}
}

static void on_guard(void *ctx)
{
	struct ends *e = ctx;
	e->want = -1; /* the test's own deadline: what ended so far is checked */
	loop_stop(e->loop);
}

static void run_until(struct ends *e, int want)
{
	e->want = want;
	struct loop_timer *g = loop_timer_after(e->loop, 5000, on_guard, e);
	if (e->n < want)
		loop_run(e->loop);
	if (e->want != -1)
		loop_timer_cancel(e->loop, g);
}

static struct ends *ends_ctx; /* on_closed's (the qmp's event ctx is not ours) */

static struct qmp *async_qmp(struct fake *f, struct ends *e, int timeout_ms)
{
	e->loop = loop_new();
	ends_ctx = e;
	struct qmp *q = qmp_new(f->fd, NULL, NULL);
	assert_non_null(q);
	assert_int_equal(qmp_attach(q, e->loop, timeout_ms, NULL), 0);
	e->q = q;
	return q;
}

/* A command QEMU does not answer fails alone, at its deadline; a command
 * sent with it and one sent after are answered; its late reply is
 * dropped. Commands given before the handshake ends wait for it. */
static void test_async_timeout_is_one_command(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("stop", NULL),
		EXPECT_("query-status", NULL),
		SEND_("{\"return\": {\"running\": true, \"status\": \"running\"}, \"id\": %ID%}\r\n"),
		PAUSE_(400),
		SEND_("{\"return\": {}, \"id\": 2}\r\n"), /* the stop's, too late */
		EXPECT_("cont", NULL),
		SEND_("{\"return\": {}, \"id\": %ID%}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct ends e = {0};
	struct qmp *q = async_qmp(&f, &e, 200);
	qmp_handshake_async(q, on_end, &e);
	qmp_stop(q, on_end_then_cont, &e);
	qmp_query_status(q, on_end, &e);
	uint64_t t0 = loop_now_ms();
	run_until(&e, 4);
	assert_int_equal(e.n, 4);
	assert_string_equal(e.cmd[0], "qmp_capabilities");
	assert_int_equal(e.st[0], QMP_OK);
	assert_string_equal(e.cmd[1], "query-status");
	assert_int_equal(e.st[1], QMP_OK);
	assert_string_equal(e.ret[1], "{\"running\":true,\"status\":\"running\"}");
	assert_string_equal(e.cmd[2], "stop");
	assert_int_equal(e.st[2], QMP_TIMEOUT);
	assert_string_equal(e.err[2], "QEMU did not answer 'stop' within 200 ms");
	assert_string_equal(e.cmd[3], "cont");
	assert_int_equal(e.st[3], QMP_OK);
	assert_true(loop_now_ms() - t0 >= 400);
	assert_int_equal(qmp_pending(q), 0);
	qmp_free(q);
	loop_free(e.loop);
	fake_finish(&f);
}

/* The arguments each typed command builds, and QEMU's error as QMP_FAILED. */
static void test_async_typed_arguments(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("block_resize", "{\"device\": \"drive-d0\", \"size\": 2147483648}"),
		EXPECT_("job-dismiss", "{\"id\": \"j1\"}"),
		EXPECT_("snapshot-save", "{\"job-id\": \"j2\", \"tag\": \"t\", \"vmstate\": \"vdc-a\", "
		                         "\"devices\": [\"vdc-a\", \"vdc-b\"]}"),
		EXPECT_("snapshot-delete", "{\"job-id\": \"j3\", \"tag\": \"t\", \"devices\": [\"vdc-a\"]}"),
		EXPECT_("query-blockstats", NULL),
		SEND_("{\"return\": {}, \"id\": 2}\r\n"
		       "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no job j1\"}, \"id\": 3}\r\n"
		       "{\"return\": {}, \"id\": 4}\r\n{\"return\": {}, \"id\": 5}\r\n"
		       "{\"return\": [], \"id\": 6}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct ends e = {0};
	struct qmp *q = async_qmp(&f, &e, 2000);
	qmp_handshake_async(q, on_end, &e);
	qmp_block_resize(q, "drive-d0", 2048ull << 20, on_end, &e);
	qmp_job_dismiss(q, "j1", on_end, &e);
	const char *const nodes[] = {"vdc-a", "vdc-b"};
	qmp_snapshot(q, QMP_SNAPSHOT_SAVE, "j2", "t", nodes, 2, on_end, &e);
	qmp_snapshot(q, QMP_SNAPSHOT_DELETE, "j3", "t", nodes, 1, on_end, &e);
	qmp_query_blockstats(q, on_end, &e);
	run_until(&e, 6);
	assert_int_equal(e.n, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(e.st[i], i == 2 ? QMP_FAILED : QMP_OK);
	assert_string_equal(e.err[2], "no job j1"); /* QEMU's own words */
	assert_string_equal(e.cmd[2], "job-dismiss");
	assert_string_equal(e.ret[5], "[]");
	qmp_free(q);
	loop_free(e.loop);
	fake_finish(&f);
}

/* Hot-plug's commands: their arguments, and getfd's descriptor on the socket. */
static void test_async_hotplug(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_FD_("getfd", "{\"fdname\": \"tap-net1\"}"),
		EXPECT_("netdev_add", "{\"type\": \"tap\", \"id\": \"net1\", \"fd\": \"tap-net1\", \"vhost\": false}"),
		EXPECT_("device_add", "{\"driver\": \"virtio-net-pci\", \"id\": \"nic1\", \"netdev\": \"net1\", "
		                      "\"mac\": \"52:54:00:00:00:01\", \"bus\": \"hp2\"}"),
		EXPECT_("device_add", "{\"driver\": \"virtio-blk-pci\", \"id\": \"disk-d1\", \"drive\": \"vdc-d1\", "
		                      "\"bus\": \"hp1\"}"),
		EXPECT_("device_del", "{\"id\": \"disk-d1\"}"),
		EXPECT_("netdev_del", "{\"id\": \"net1\"}"),
		SEND_("{\"return\": {}, \"id\": 2}\r\n{\"return\": {}, \"id\": 3}\r\n{\"return\": {}, \"id\": 4}\r\n"
		      "{\"return\": {}, \"id\": 5}\r\n{\"return\": {}, \"id\": 6}\r\n{\"return\": {}, \"id\": 7}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct ends e = {0};
	struct qmp *q = async_qmp(&f, &e, 2000);
	qmp_handshake_async(q, on_end, &e);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	qmp_getfd(q, "tap-net1", pfd[0], on_end, &e); /* held until the handshake ends, with its fd */
	close(pfd[0]);
	qmp_netdev_add_tap(q, "net1", "tap-net1", on_end, &e);
	qmp_device_add_nic(q, "nic1", "net1", "52:54:00:00:00:01", "hp2", on_end, &e);
	qmp_device_add_disk(q, "disk-d1", "vdc-d1", "hp1", on_end, &e);
	qmp_device_del(q, "disk-d1", on_end, &e);
	qmp_netdev_del(q, "net1", on_end, &e);
	run_until(&e, 7);
	assert_int_equal(e.n, 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal(e.st[i], QMP_OK);
	close(pfd[1]);
	qmp_free(q);
	loop_free(e.loop);
	fake_finish(&f);
}

/* QEMU going away mid-command: QMP_CLOSED, on_closed once, and a free from
 * inside on_closed (as the agent does) is safe. */
static void closed_cb(void *ctx) { on_closed(&ends_ctx); }

static void test_async_closed(void **state)
{
	static const struct step script[] = {
		HANDSHAKE,
		EXPECT_("query-status", NULL),
		SEND_("{\"return\": {\"stat"),
		CLOSE_,
	};
	struct fake f = fake_start(script);
	struct ends e = {.free_on_close = true};
	e.loop = loop_new();
	ends_ctx = &e;
	e.q = qmp_new(f.fd, NULL, NULL);
	assert_int_equal(qmp_attach(e.q, e.loop, 2000, closed_cb), 0);
	qmp_handshake_async(e.q, on_end, &e);
	qmp_query_status(e.q, on_end, &e);
	run_until(&e, 2);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.st[1], QMP_CLOSED);
	assert_non_null(strstr(e.err[1], "closed"));
	assert_int_equal(e.closed, 1);
	assert_null(e.q); /* freed by on_closed */
	loop_free(e.loop);
	fake_finish(&f);
}

/* A qmp freed with a command in flight: the command ends QMP_CLOSED from
 * the loop, never from inside the free. */
static void test_async_free_with_pending(void **state)
{
	static const struct step script[] = {EXPECT_("query-jobs", NULL), END_};
	struct fake f = fake_start(script);
	struct ends e = {0};
	struct qmp *q = async_qmp(&f, &e, 2000);
	qmp_query_jobs(q, on_end, &e);
	e.in_free = true;
	qmp_free(q);
	e.in_free = false;
	assert_false(e.cb_in_free);
	assert_int_equal(e.n, 0);
	run_until(&e, 1);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.st[0], QMP_CLOSED);
	assert_string_equal(e.cmd[0], "query-jobs");
	loop_free(e.loop);
	fake_finish(&f);
}

/* The fault site FAULT_QMP: the armed command fails as if QEMU had said
 * "injected fault", and is never sent; the next one goes through. */
static void test_async_injected_fault(void **state)
{
	static const struct step script[] = {
		EXPECT_("cont", NULL),
		SEND_("{\"return\": {}, \"id\": %ID%}\r\n"),
		END_,
	};
	struct fake f = fake_start(script);
	struct ends e = {0};
	struct qmp *q = async_qmp(&f, &e, 2000);
	fault_arm(FAULT_QMP, 1);
	qmp_stop(q, on_end, &e);
	qmp_cont(q, on_end, &e);
	run_until(&e, 2);
	fault_arm(FAULT_QMP, 0);
	assert_int_equal(e.n, 2);
	int stop = strcmp(e.cmd[0], "stop") == 0 ? 0 : 1; /* either may end first */
	assert_string_equal(e.cmd[stop], "stop");
	assert_int_equal(e.st[stop], QMP_FAILED);
	assert_string_equal(e.err[stop], "injected fault");
	assert_string_equal(e.cmd[1 - stop], "cont");
	assert_int_equal(e.st[1 - stop], QMP_OK);
	qmp_free(q);
	loop_free(e.loop);
	fake_finish(&f);
}

int main(void)
{
	log_set_level(LOG_ERROR); /* the skipped-noise warnings are expected */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_async_timeout_is_one_command),
		cmocka_unit_test(test_async_typed_arguments),
		cmocka_unit_test(test_async_hotplug),
		cmocka_unit_test(test_async_closed),
		cmocka_unit_test(test_async_free_with_pending),
		cmocka_unit_test(test_async_injected_fault),
		cmocka_unit_test(test_call_returns_value),
		cmocka_unit_test(test_call_error),
		cmocka_unit_test(test_events_before_reply),
		cmocka_unit_test(test_split_writes),
		cmocka_unit_test(test_noise_is_skipped),
		cmocka_unit_test(test_peer_closes_mid_call),
		cmocka_unit_test(test_call_after_peer_gone),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_silent_greeting),
		cmocka_unit_test(test_poll_events),
		cmocka_unit_test(test_poll_idle),
		cmocka_unit_test(test_endless_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
