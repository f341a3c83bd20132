/* agent_async.h - vdcd's calls to agents from the loop thread (API handlers,
 * timers) without blocking it: the transfers run in libcurl's multi
 * interface, driven by the loop's fd watches and one timer, and each call
 * ends in a callback on the loop thread. A host that does not answer holds
 * up only the request that asked it. */
#ifndef VDC_AGENT_ASYNC_H
#define VDC_AGENT_ASYNC_H

#include <jansson.h>
#include <stddef.h>

#include "errinfo.h"

struct mgr;

/* How a call ended. */
struct agent_reply {
	long status;       /* the agent's HTTP status; 0 when it did not answer */
	json_t *json;      /* the body parsed as JSON, or NULL */
	char *text;        /* the body (NUL-terminated; may hold NULs, see len), or NULL */
	size_t len;
	char header[128];  /* the value of the reply header asked for, "" when absent */
	struct errinfo e;  /* when status is 0: why (504 host_timeout, 502
	                    * host_unreachable, 503 when vdcd stops first) */
};

/* Called once per call, on the loop thread, never from inside
 * agent_async_call. It may take r->text or r->json (setting the field to
 * NULL); the rest is freed after it returns. */
typedef void (*agent_done_fn)(struct mgr *m, void *ctx, struct agent_reply *r);

/* Sets up m->agent_async on m->loop. 0, or -1 (out of memory). */
int agent_async_init(struct mgr *m);
/* Ends every call still in flight (done gets a 503: vdcd is stopping) and
 * frees the rest. Call before the HTTP servers stop, so that the requests
 * waiting on agents are answered. */
void agent_async_free(struct mgr *m);

/* Starts METHOD path on host_id's agent (body may be NULL; not consumed)
 * with a timeout of timeout_s; hdr_name (static; may be NULL) names a reply
 * header to keep. done(m, ctx, reply) follows from the loop. Returns 0, or
 * -1 with e when the call cannot start (unknown host, no credentials, too
 * many calls in flight: 503); done is then never called. */
int agent_async_call(struct mgr *m, const char *host_id, const char *method, const char *path,
                     const json_t *body, long timeout_s, const char *hdr_name, agent_done_fn done,
                     void *ctx, struct errinfo *e);

/* Calls in flight (for tests and metrics). */
int agent_async_in_flight(const struct mgr *m);

#endif
