/* qga.h - the QEMU guest agent client (qemu-ga in the guest, reached over
 * the VM's virtio-serial channel through QEMU's qga.sock). No other file
 * speaks its wire format (framing: lib/qga_frame.c).
 *
 * One session per connect: qga_call connects when needed, begins with
 * guest-sync-delimited and a random id (skipping whatever an earlier
 * session left in the channel up to the 0xFF), then sends the command.
 * The guest agent has no ids, so one command at a time; every call has a
 * deadline, and its callback runs from the loop, never inside qga_call. A
 * silent, absent or hostile guest agent costs a timeout, never the loop. */
#ifndef VDC_QGA_H
#define VDC_QGA_H

#include <jansson.h>
#include <stdbool.h>

struct loop;
struct qga;

enum qga_status {
	QGA_OK,      /* ret is the agent's "return" value */
	QGA_FAILED,  /* the guest agent answered an error (err), or said something malformed */
	QGA_TIMEOUT, /* no answer before the deadline (no guest agent running, or a silent one) */
	QGA_CLOSED,  /* the channel could not be reached or broke (QEMU gone) */
};

/* ret is borrowed (NULL unless QGA_OK); err is NULL on QGA_OK. The
 * callback may free the qga. */
typedef void (*qga_reply_fn)(void *ctx, enum qga_status st, json_t *ret, const char *err, const char *cmd);

/* A client for the socket at path (not connected yet). NULL: no memory. */
struct qga *qga_new(struct loop *l, const char *path);
/* Disconnects; a call in flight ends with QGA_CLOSED, from the loop. */
void qga_free(struct qga *g);
/* Closes the connection (the next call reconnects and syncs again). */
void qga_disconnect(struct qga *g);
/* Whether a call is in flight. */
bool qga_busy(const struct qga *g);

/* Sends cmd (args consumed, may be NULL) within timeout_ms (the sync
 * included). no_reply: a command the guest agent never answers on success
 * (guest-shutdown): it ends with QGA_OK once sent after a sync that did
 * answer. One call at a time: a second while busy ends QGA_FAILED. cb is
 * called exactly once, from the loop. */
void qga_call(struct qga *g, const char *cmd, json_t *args, int timeout_ms, bool no_reply, qga_reply_fn cb,
              void *cb_ctx);

/* Bytes skipped and lines refused so far (a flooding or broken guest). */
unsigned long qga_junk_bytes(const struct qga *g);

#endif
