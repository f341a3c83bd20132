/* qmp.h - the QEMU Machine Protocol client: greeting, capabilities, commands
 * with ids, and events. No other file speaks QMP's wire format; the commands
 * themselves are typed in qmp_cmds.h, the events named in qmp_events.h.
 *
 * Two ways to use it. On the agent's loop (qmp_attach): every command is
 * asynchronous with its own deadline, and its callback runs from the loop,
 * never inside the call that sent it; a QEMU that stops answering fails
 * that command alone. Without a loop (tests, fuzzers): qmp_handshake and
 * qmp_call wait with poll. */
#ifndef VDC_QMP_H
#define VDC_QMP_H

#include <jansson.h>
#include <stddef.h>

struct qmp;
struct loop;

/* Called for every event; data may be NULL. Must not free the qmp. */
typedef void (*qmp_event_fn)(void *ctx, const char *event, json_t *data);

enum qmp_status {
	QMP_OK,      /* ret is QEMU's "return" value */
	QMP_FAILED,  /* QEMU answered an error (err holds its text), or one was injected */
	QMP_TIMEOUT, /* no answer before the deadline; the command may still run later */
	QMP_CLOSED,  /* the monitor closed (QEMU exited) or could not be written */
};

/* The end of one asynchronous command: ret is borrowed (incref to keep),
 * NULL unless st is QMP_OK; err is NULL when st is QMP_OK; cmd is the
 * command's name (for messages). May free the qmp (the free is held until
 * the qmp is done with itself). */
typedef void (*qmp_reply_fn)(void *ctx, enum qmp_status st, json_t *ret, const char *err,
                 const char *cmd);

/* Wraps a connected unix socket (ownership passes to the qmp). */
struct qmp *qmp_new(int fd, qmp_event_fn on_event, void *ctx);
/* Closes the socket. Commands still waiting get QMP_CLOSED from the loop
 * (or are dropped without a call when the loop is no longer run). */
void qmp_free(struct qmp *q);
int qmp_fd(const struct qmp *q);

/* ---- on the loop ---------------------------------------------------------- */

/* Watches the socket on l: events and replies are dispatched as they come.
 * on_closed(ctx) runs once when QEMU hangs up (it may free the qmp).
 * timeout_ms: each command's default deadline. Returns 0 or -1 (errno). */
int qmp_attach(struct qmp *q, struct loop *l, int timeout_ms, void (*on_closed)(void *ctx));
int qmp_timeout_ms(const struct qmp *q);
/* Waits for the greeting and negotiates capabilities; cb gets QMP_OK when
 * commands can be sent. */
void qmp_handshake_async(struct qmp *q, qmp_reply_fn cb, void *cb_ctx);
/* Sends one command (args consumed, may be NULL). timeout_ms 0: the
 * default. cb is called exactly once, from the loop. */
void qmp_send(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, qmp_reply_fn cb,
              void *cb_ctx);
/* qmp_send with fd (the caller's still: QEMU gets its own copy) passed
 * along on the socket (SCM_RIGHTS): QEMU's getfd. Sent before the
 * handshake ends, it waits with a copy of fd as any command does. */
void qmp_send_fd(struct qmp *q, const char *cmd, json_t *args, int fd, qmp_reply_fn cb, void *cb_ctx);
/* Ends a command without sending it, as if QEMU had answered st/err. */
void qmp_reply_later(struct qmp *q, const char *cmd, enum qmp_status st, const char *err,
                     qmp_reply_fn cb, void *cb_ctx);
/* Commands sent and not yet answered. */
int qmp_pending(const struct qmp *q);
/* Before the loop runs (re-attach at start-up): drives the socket and the
 * deadlines with poll until no command is pending. */
void qmp_drain(struct qmp *q);

/* ---- without a loop ------------------------------------------------------- */

/* Reads the greeting and enters command mode. Returns 0, or -1 with err. */
int qmp_handshake(struct qmp *q, int timeout_ms, char *err, size_t errlen);

/* Runs one command; args (may be NULL) is consumed. Returns the "return"
 * value (a new reference), or NULL with err holding QEMU's own error text,
 * or why the call failed (timeout, monitor closed). Events that arrive
 * meanwhile are dispatched. */
json_t *qmp_call(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, char *err,
                 size_t errlen);

/* Reads what is available without blocking and dispatches events (and the
 * replies of asynchronous commands). Returns 0, or -1 when the monitor is
 * closed. */
int qmp_poll_events(struct qmp *q);

#endif
