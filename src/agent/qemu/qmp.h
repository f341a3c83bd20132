/* qmp.h - the QEMU Machine Protocol client: greeting, capabilities, commands
 * with ids, and events. No other file speaks QMP's wire format. */
#ifndef VDC_QMP_H
#define VDC_QMP_H

#include <jansson.h>
#include <stddef.h>

struct qmp;

/* Called for every event; data may be NULL. Must not free the qmp. */
typedef void (*qmp_event_fn)(void *ctx, const char *event, json_t *data);

/* Wraps a connected unix socket (ownership passes to the qmp). */
struct qmp *qmp_new(int fd, qmp_event_fn on_event, void *ctx);
void qmp_free(struct qmp *q);
int qmp_fd(const struct qmp *q);

/* Reads the greeting and enters command mode. Returns 0, or -1 with err. */
int qmp_handshake(struct qmp *q, int timeout_ms, char *err, size_t errlen);

/* Runs one command; args (may be NULL) is consumed. Returns the "return"
 * value (a new reference), or NULL with err holding QEMU's own error text,
 * or why the call failed (timeout, monitor closed). Events that arrive
 * meanwhile are dispatched. */
json_t *qmp_call(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, char *err,
                 size_t errlen);

/* Reads what is available without blocking and dispatches events.
 * Returns 0, or -1 when the monitor is closed. */
int qmp_poll_events(struct qmp *q);

#endif
