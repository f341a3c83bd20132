/* agent_client.h - vdcd's blocking calls to a host's agent (libcurl), for
 * task workers only, never while holding a lock. The loop thread (API
 * handlers, timers) calls agents through agent_async.h instead. */
#ifndef VDC_AGENT_CLIENT_H
#define VDC_AGENT_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "errinfo.h"
#include "store.h"

/* Calls METHOD agent_url+path on host_id's agent with body (may be NULL; not
 * consumed). On an HTTP answer returns 0 with *status and *reply (parsed
 * JSON or NULL; text bodies go to *text when text is not NULL). When the agent
 * does not answer returns -1 with e (504 host_timeout after timeout_s, else
 * 502 host_unreachable; both name the host and what to check). */
int agent_call(struct store *st, const char *host_id, const char *method, const char *path,
               const json_t *body, long timeout_s, long *status, json_t **reply, char **text,
               struct errinfo *e);

/* GETs a text resource (a console) as agent_call does, with its length
 * (*len; it may hold NULs) and the value of reply header hdr_name ("" when
 * absent) in hdr_val. */
int agent_get_text(struct store *st, const char *host_id, const char *path, long timeout_s,
                   const char *hdr_name, char *hdr_val, size_t hdr_len, long *status, json_t **reply,
                   char **text, size_t *len, struct errinfo *e);

/* PUTs the size bytes read from fd (from its current offset) to path on
 * host_id's agent, streamed; answers as agent_call. */
int agent_upload(struct store *st, const char *host_id, const char *path, int fd, uint64_t size,
                 long timeout_s, long *status, json_t **reply, struct errinfo *e);

/* Calls to agents over https present vdcd's client certificate (cert and
 * key files) and trust only ca for the agents' certificates. Set once at
 * start, before any worker runs; the strings must stay valid. */
void agent_client_set_tls(const char *cert, const char *key, const char *ca);

/* The agent's error message from a reply, or a generic one. */
const char *agent_error_message(const json_t *reply);

#endif
