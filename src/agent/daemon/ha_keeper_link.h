/* ha_keeper_link.h - the agent's end of the HA lease keeper (issue 14;
 * the keeper itself: src/agent/keeper/). While HA is on, the agent starts
 * the keeper if none answers on RUN_DIR/ha-keeper.sock, and tells it every
 * tick what it must know to keep the leases and fence if the agent dies:
 * the lease settings and the protected VMs' QEMU pids. */
#ifndef VDC_HA_KEEPER_LINK_H
#define VDC_HA_KEEPER_LINK_H

#include <stdbool.h>
#include <stdint.h>

struct keeper_link;

struct keeper_link *keeper_link_new(const char *run_dir);
/* Closes the connection: the keeper takes the leases over if protected VMs
 * still run. */
void keeper_link_free(struct keeper_link *kl);

/* One tick with HA on: connects (starting the keeper when none answers)
 * and sends msg (JSON text). Returns whether the agent may renew the leases
 * itself: the keeper said it does not, or it cannot be reached (after a
 * few seconds, logged), or there is none to run. */
bool keeper_link_tick(struct keeper_link *kl, const char *msg, uint64_t now_ms);

/* Whether a keeper is connected. */
bool keeper_link_linked(const struct keeper_link *kl);

/* HA went off: tells a connected keeper so (msg has "enabled": false), and
 * it ends. */
void keeper_link_off(struct keeper_link *kl, const char *msg);

#endif
