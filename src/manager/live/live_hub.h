/* live_hub.h - live updates: every commit of a watched kind (tasks, VMs,
 * hosts, the other inventory, the audit log) becomes an event in one
 * bounded ring, and each open stream (GET /api/v1/stream) sends the events
 * its caller may see as server-sent events. Commits happen on any thread;
 * streams live on the loop thread, which an eventfd wakes. */
#ifndef VDC_LIVE_HUB_H
#define VDC_LIVE_HUB_H

#include <stdio.h>

struct mgr;
struct http_req;
struct auth_ctx;
struct live_hub;

struct live_limits {
	unsigned max_streams;   /* open streams at once; more get 503 */
	unsigned ring_events;   /* events kept for resuming; a stream further behind is dropped */
	unsigned heartbeat_ms;  /* a comment this often, and the caller checked again */
};

/* Starts observing the store (before any other thread opens a handle).
 * NULL when out of memory or no eventfd. */
struct live_hub *live_hub_new(struct mgr *m, const struct live_limits *lim);
/* Ends every stream (their connections close once the server stops). */
void live_hub_close_streams(struct live_hub *h);
/* Stops observing and frees; after the HTTP server stopped. */
void live_hub_free(struct live_hub *h);

/* Opens a stream for the request's caller (bearer hash: the SHA-256 of
 * the token it came with, to check it again at every heartbeat), resuming
 * after last_event_id (NULL: from now). Replies itself: 200 and the
 * stream, or 503 when max_streams are open. */
void live_hub_open(struct live_hub *h, struct http_req *req, const struct auth_ctx *caller,
                   const char *bearer_hash, const char *last_event_id);

/* Prometheus lines: open streams, events, streams dropped by reason. */
void live_hub_metrics(struct live_hub *h, FILE *f);

#endif
