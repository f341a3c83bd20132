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

#endif
