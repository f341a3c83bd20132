/* qmp_cmds.h - one typed function per QMP command the agent uses. Nothing
 * outside qemu/ names a QMP command or builds its arguments. Each sends
 * on the loop (qmp_attach) and calls cb exactly once, from the loop, with
 * the command's "return" value (borrowed) or why it failed. Before sending,
 * each passes the fault site FAULT_QMP: an injected fault fails the command
 * as if QEMU had answered an error. */
#ifndef VDC_QMP_CMDS_H
#define VDC_QMP_CMDS_H

#include "qmp.h"

#include <stdbool.h>
#include <stdint.h>

/* For a VM whose monitor is already gone: cb(ctx, QMP_CLOSED, ...) at once,
 * named as a query-status would be. */
void qmp_reply_gone(qmp_reply_fn cb, void *ctx);

/* Runs a paused guest again. */
void qmp_cont(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* Pauses the guest (its vCPUs); QEMU stays. */
void qmp_stop(struct qmp *q, qmp_reply_fn cb, void *ctx);
void qmp_system_reset(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* Presses the power button: the guest decides. */
void qmp_system_powerdown(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* QEMU exits at once, no guest shutdown. timeout_ms 0: the default. */
void qmp_quit(struct qmp *q, int timeout_ms, qmp_reply_fn cb, void *ctx);
/* {"running": bool, "status": "..."} */
void qmp_query_status(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* [{"device": "drive-NAME", "stats": {...}}] */
void qmp_query_blockstats(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* [{"id", "status", "error"?}] */
void qmp_query_jobs(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* The job of that id in query-jobs' answer (borrowed), or NULL. */
const json_t *qmp_job_find(const json_t *jobs, const char *job_id);
void qmp_job_dismiss(struct qmp *q, const char *job_id, qmp_reply_fn cb, void *ctx);
/* Grows the disk of device (the -drive id) to size bytes, live. */
void qmp_block_resize(struct qmp *q, const char *device, uint64_t size, qmp_reply_fn cb, void *ctx);
/* The CD-ROM drive of device id (its qdev id, "cdrom0"): put the raw ISO
 * filename in, read-only, closing the tray (a medium already there is
 * taken out first), or take the medium out. force: even when the guest
 * has locked the tray. */
void qmp_blockdev_change_medium(struct qmp *q, const char *id, const char *filename, qmp_reply_fn cb,
                                void *ctx);
void qmp_eject(struct qmp *q, const char *id, bool force, qmp_reply_fn cb, void *ctx);

/* Storage migration (vm_disk_move.c); a mirror's speed_bps 0: no cap. A qcow2 image file opened as node
 * (its backing file as the image names it), discard passed down. */
void qmp_blockdev_add_qcow2(struct qmp *q, const char *node, const char *filename, qmp_reply_fn cb,
                            void *ctx);
void qmp_blockdev_del(struct qmp *q, const char *node, qmp_reply_fn cb, void *ctx);
/* Mirrors device (a node name) onto target as the job job_id: its top
 * image only (the target has the same backing), or with full the whole
 * disk as the guest sees it (its backing chain flattened), guest writes carried to
 * both sides at once once it is ready (copy-mode write-blocking, so it
 * always gets there), left concluded for the agent to read (no
 * auto-dismiss). */
void qmp_blockdev_mirror(struct qmp *q, const char *job_id, const char *device, const char *target,
                         bool full, uint64_t speed_bps, qmp_reply_fn cb, void *ctx);
/* [{"device" (the job id), "len", "offset", "ready", "status", ...}] */
void qmp_query_block_jobs(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* A ready mirror: switch the device to the target. */
void qmp_job_complete(struct qmp *q, const char *job_id, qmp_reply_fn cb, void *ctx);
/* A mirror stops, the device staying on its source. */
void qmp_job_cancel(struct qmp *q, const char *job_id, qmp_reply_fn cb, void *ctx);
/* Ends a mirror leaving its device on the source: without force, a ready
 * one first copies what is left, so the target is whole when it concludes. */
void qmp_block_job_cancel(struct qmp *q, const char *job_id, bool force, qmp_reply_fn cb, void *ctx);

/* [{"node-name", "drv", ...}]: every named node, flat. */
void qmp_query_named_block_nodes(struct qmp *q, qmp_reply_fn cb, void *ctx);

/* Local disks of a live migration: the receiver's QEMU serves its (blank)
 * copies over NBD, the sender's mirrors onto them. */
void qmp_nbd_server_start(struct qmp *q, const char *host, int port, qmp_reply_fn cb, void *ctx);
void qmp_nbd_server_stop(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* node exported writable as export_name (block export id). */
void qmp_block_export_add_nbd(struct qmp *q, const char *id, const char *node, const char *export_name,
                              qmp_reply_fn cb, void *ctx);
/* An NBD client node on host:port's export_name. */
void qmp_blockdev_add_nbd(struct qmp *q, const char *node, const char *host, int port, const char *export_name,
                          qmp_reply_fn cb, void *ctx);

/* [{"device": "drive-NAME", "inserted": {"node-name", "file", ...}}] */
void qmp_query_block(struct qmp *q, qmp_reply_fn cb, void *ctx);

/* Live snapshots of nodes[0..nnodes) under tag, as the job job_id; the VM
 * state (RAM, devices) goes to nodes[0]. Their end is the job's (query-jobs). */
enum qmp_snapshot_op { QMP_SNAPSHOT_SAVE, QMP_SNAPSHOT_LOAD, QMP_SNAPSHOT_DELETE };
void qmp_snapshot(struct qmp *q, enum qmp_snapshot_op op, const char *job_id, const char *tag,
                  const char *const *nodes, int nnodes, qmp_reply_fn cb, void *ctx);

/* Live migration. Capabilities must be set alike on both sides before
 * migrate / migrate-incoming (postcopy-ram in particular). */
struct qmp_migrate_caps {
	bool auto_converge; /* throttle the guest's vCPUs when it dirties faster than the link */
	bool postcopy;      /* allow migrate-start-postcopy later */
	/* The sender stops in "pre-switchover" (guest paused) until
	 * migrate-continue: its disk mirrors end there, whole. */
	bool pause_before_switchover;
	/* The receiver opens its disks for writing only at "cont", after its
	 * NBD exports are gone (they hold write access until then). */
	bool late_block_activate;
};
void qmp_migrate_set_caps(struct qmp *q, const struct qmp_migrate_caps *c, qmp_reply_fn cb, void *ctx);
/* 0 leaves a value as QEMU has it. */
struct qmp_migrate_params {
	uint64_t downtime_limit_ms;
	uint64_t max_bandwidth_bps; /* bytes per second */
};
void qmp_migrate_set_params(struct qmp *q, const struct qmp_migrate_params *p, qmp_reply_fn cb,
                            void *ctx);
/* Starts sending the VM to uri ("tcp:HOST:PORT"); its end is a MIGRATION event. */
void qmp_migrate(struct qmp *q, const char *uri, qmp_reply_fn cb, void *ctx);
/* A QEMU started with -incoming defer listens on uri (port 0: one the kernel picks). */
void qmp_migrate_incoming(struct qmp *q, const char *uri, qmp_reply_fn cb, void *ctx);
/* {"status", "ram": {...}, "expected-downtime", "cpu-throttle-percentage",
 *  "socket-address" (incoming side), ...} */
void qmp_query_migrate(struct qmp *q, qmp_reply_fn cb, void *ctx);
void qmp_migrate_cancel(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* Leaves "pre-switchover" (see pause_before_switchover). */
void qmp_migrate_continue(struct qmp *q, qmp_reply_fn cb, void *ctx);
void qmp_migrate_start_postcopy(struct qmp *q, qmp_reply_fn cb, void *ctx);
/* Samples the guest's page dirtying for seconds (page sampling: works
 * under TCG); query-dirty-rate reads the result once measured. */
void qmp_calc_dirty_rate(struct qmp *q, int seconds, qmp_reply_fn cb, void *ctx);
void qmp_query_dirty_rate(struct qmp *q, qmp_reply_fn cb, void *ctx);

/* Hot-plug. A virtio disk of block node `node` (qmp_blockdev_add_qcow2)
 * as device id on PCIe root port bus. */
void qmp_device_add_disk(struct qmp *q, const char *id, const char *node, const char *bus, qmp_reply_fn cb,
                         void *ctx);
/* A virtio NIC of netdev (qmp_netdev_add_*) with mac as device id on bus. */
void qmp_device_add_nic(struct qmp *q, const char *id, const char *netdev, const char *mac, const char *bus,
                        qmp_reply_fn cb, void *ctx);
/* Asks the guest to release device id: QEMU's DEVICE_DELETED event says
 * when it did (the answer itself only says the request was made). */
void qmp_device_del(struct qmp *q, const char *id, qmp_reply_fn cb, void *ctx);
/* Hands fd (a tap) to QEMU under fdname; closefd drops one not used. */
void qmp_getfd(struct qmp *q, const char *fdname, int fd, qmp_reply_fn cb, void *ctx);
void qmp_closefd(struct qmp *q, const char *fdname, qmp_reply_fn cb, void *ctx);
/* A tap backend on the fd given as fdname (vhost off, as at start). */
void qmp_netdev_add_tap(struct qmp *q, const char *id, const char *fdname, qmp_reply_fn cb, void *ctx);
/* A user-mode backend, restricted as at start. */
void qmp_netdev_add_user(struct qmp *q, const char *id, qmp_reply_fn cb, void *ctx);
void qmp_netdev_del(struct qmp *q, const char *id, qmp_reply_fn cb, void *ctx);

#endif
