/* qmp_cmds.h - one typed function per QMP command the agent uses. Nothing
 * outside qemu/ names a QMP command or builds its arguments. Each sends
 * on the loop (qmp_attach) and calls cb exactly once, from the loop, with
 * the command's "return" value (borrowed) or why it failed. Before sending,
 * each passes the fault site FAULT_QMP: an injected fault fails the command
 * as if QEMU had answered an error. */
#ifndef VDC_QMP_CMDS_H
#define VDC_QMP_CMDS_H

#include "qmp.h"

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
void qmp_job_dismiss(struct qmp *q, const char *job_id, qmp_reply_fn cb, void *ctx);
/* Grows the disk of device (the -drive id) to size bytes, live. */
void qmp_block_resize(struct qmp *q, const char *device, uint64_t size, qmp_reply_fn cb, void *ctx);

/* Live snapshots of nodes[0..nnodes) under tag, as the job job_id; the VM
 * state (RAM, devices) goes to nodes[0]. Their end is the job's (query-jobs). */
enum qmp_snapshot_op { QMP_SNAPSHOT_SAVE, QMP_SNAPSHOT_LOAD, QMP_SNAPSHOT_DELETE };
void qmp_snapshot(struct qmp *q, enum qmp_snapshot_op op, const char *job_id, const char *tag,
                  const char *const *nodes, int nnodes, qmp_reply_fn cb, void *ctx);

#endif
