/* manager_link.h - the agent's link to vdcd: joins once with a one-time
 * token over TLS, pinning vdcd's CA by its fingerprint (keeping the host id,
 * secret and certificate it gets in the state directory), then heartbeats
 * what it observes every few seconds over mutual TLS. */
#ifndef VDC_MANAGER_LINK_H
#define VDC_MANAGER_LINK_H

struct agent;

/* Starts the link when manager-url is set; a->token is what vdcd will use
 * to drive this agent. Refuses (-1, logged with what to do) plain HTTP to a
 * vdcd that is not on loopback, and an https join without the CA
 * fingerprint. Sets a->awaiting_join when the API must wait for the join's
 * certificate. Returns 0 (also when there is nothing to do) or -1. */
int manager_link_start(struct agent *a);
void manager_link_stop(struct agent *a);

/* The host's id in vdcd once joined, else NULL. */
const char *manager_link_host_id(void);
/* POSTs body (JSON text) to vdcd's PATH under /api/v1/hosts/HOST_ID/ (e.g.
 * "alive") the way heartbeats go (their URL, TLS and the host's secret);
 * done as hc_request's. NULL when not joined or the request could not
 * start. */
struct hc *manager_link_post(const char *path, const char *body, int timeout_ms,
                             void (*done)(void *ctx, int status, const char *body), void *ctx);

/* Sends the next heartbeat within 100 ms instead of at its interval:
 * news vdcd should have now (a readiness probe's verdict, a VM that
 * started and may have a probe to learn). */
void manager_link_beat_soon(void);

#endif
