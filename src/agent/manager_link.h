/* manager_link.h - the agent's link to vdcd: joins once with a one-time
 * token (keeping the host id and secret it gets in the state directory),
 * then heartbeats what it observes every few seconds. */
#ifndef VDC_MANAGER_LINK_H
#define VDC_MANAGER_LINK_H

struct agent;

/* Starts the link when manager-url is set. agent_token is what vdcd will use
 * to drive this agent. Returns 0 (also when there is nothing to do) or -1. */
int manager_link_start(struct agent *a, const char *agent_token);
void manager_link_stop(struct agent *a);

#endif
