/* fuzz_qmp.c - libFuzzer harness for the QMP client: the input is whatever
 * a (broken or hostile) QEMU writes on the monitor socket. Drained with
 * qmp_poll_events, answered into a handshake and a qmp_call with short
 * timeouts, and into the asynchronous handshake and commands on a loop; it
 * must neither crash, leak, nor hang. */
#include "log.h"
#include "loop.h"
#include "qmp.h"
#include "qmp_cmds.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_INPUT (64 * 1024) /* well under a socketpair's buffer */

static void on_event(void *ctx, const char *event, json_t *data)
{
	int *n = ctx;
	/* Touch what we are given, so a dangling pointer shows up under ASan. */
	if (strlen(event) > 0 || data)
		(*n)++;
	if (data && json_is_object(data))
		(void)json_object_size(data);
}

/* A socketpair whose peer end already holds input. shut: SHUT_WR keeps
 * the peer able to receive our commands; -1 closes it entirely. */
static int feed(const uint8_t *data, size_t size, int shut, int *peer)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(sv[1], data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	if (shut < 0) {
		close(sv[1]);
		*peer = -1;
	} else {
		shutdown(sv[1], SHUT_WR);
		*peer = sv[1];
	}
	return sv[0];
}

struct async_run {
	struct loop *loop;
	int ended;
};

static void on_end(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct async_run *r = ctx;
	if (ret)
		(void)json_typeof(ret);
	if (err && cmd && strlen(err) + strlen(cmd) == 0)
		abort(); /* a failure always says why */
	if (++r->ended == 3)
		loop_stop(r->loop);
}

static void on_deadline(void *ctx) { loop_stop(ctx); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	log_set_level(LOG_ERROR);
	int events = 0, peer;

	/* 1. Events only: drain until the monitor reports the close. */
	struct qmp *q = qmp_new(feed(data, size, -1, &peer), on_event, &events);
	int rc = 0;
	for (int i = 0; i < 1000 && rc == 0; i++)
		rc = qmp_poll_events(q);
	if (rc != -1)
		abort(); /* a closed peer must be noticed */
	qmp_free(q);

	/* 2. The same bytes as answers to a handshake and a call. */
	q = qmp_new(feed(data, size, SHUT_WR, &peer), on_event, &events);
	char err[256];
	if (qmp_handshake(q, 20, err, sizeof(err)) == 0) {
		json_t *r = qmp_call(q, "query-status", NULL, 20, err, sizeof(err));
		json_decref(r);
	}
	json_decref(qmp_call(q, "cont", json_pack("{s:s}", "x", "y"), 20, err, sizeof(err)));
	qmp_free(q);
	close(peer);

	/* 3. The same bytes on the loop: a handshake and two commands, each of
	 * which must end (answered, failed, closed or timed out). */
	struct async_run ar = {.loop = loop_new()};
	q = qmp_new(feed(data, size, SHUT_WR, &peer), on_event, &events);
	if (qmp_attach(q, ar.loop, 20, NULL) == 0) {
		qmp_handshake_async(q, on_end, &ar);
		qmp_query_status(q, on_end, &ar);
		qmp_job_dismiss(q, "j", on_end, &ar);
		struct loop_timer *t = loop_timer_after(ar.loop, 2000, on_deadline, ar.loop);
		loop_run(ar.loop);
		if (ar.ended != 3)
			abort(); /* a command that never ended */
		loop_timer_cancel(ar.loop, t);
	}
	qmp_free(q);
	loop_free(ar.loop);
	close(peer);

	/* 4. A call straight away, against a peer that has gone. */
	q = qmp_new(feed(data, size, -1, &peer), on_event, &events);
	json_t *r = qmp_call(q, "query-status", NULL, 20, err, sizeof(err));
	json_decref(r);
	qmp_free(q);
	return 0;
}
