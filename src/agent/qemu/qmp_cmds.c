/* qmp_cmds.c - the QMP commands the agent sends, each with its arguments
 * built here, all through one gate that takes the fault site. */
#include "qmp_cmds.h"

#include "fault.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* args consumed. */
static void send_cmd(struct qmp *q, const char *cmd, json_t *args, int timeout_ms,
                     qmp_reply_fn cb, void *ctx)
{
	if (fault_hit(FAULT_QMP)) {
		json_decref(args);
		qmp_reply_later(q, cmd, QMP_FAILED, "injected fault", cb, ctx);
		return;
	}
	qmp_send(q, cmd, args, timeout_ms, cb, ctx);
}

void qmp_reply_gone(qmp_reply_fn cb, void *ctx)
{
	cb(ctx, QMP_CLOSED, NULL, "QEMU closed its monitor connection (QEMU exited)", "query-status");
}

void qmp_cont(struct qmp *q, qmp_reply_fn cb, void *ctx) { send_cmd(q, "cont", NULL, 0, cb, ctx); }
void qmp_stop(struct qmp *q, qmp_reply_fn cb, void *ctx) { send_cmd(q, "stop", NULL, 0, cb, ctx); }

void qmp_system_reset(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "system_reset", NULL, 0, cb, ctx);
}

void qmp_system_powerdown(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "system_powerdown", NULL, 0, cb, ctx);
}

void qmp_quit(struct qmp *q, int timeout_ms, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "quit", NULL, timeout_ms, cb, ctx);
}

void qmp_query_status(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "query-status", NULL, 0, cb, ctx);
}

void qmp_query_blockstats(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "query-blockstats", NULL, 0, cb, ctx);
}

void qmp_query_jobs(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "query-jobs", NULL, 0, cb, ctx);
}

const json_t *qmp_job_find(const json_t *jobs, const char *job_id)
{
	size_t i;
	json_t *j;
	json_array_foreach(jobs, i, j)
		if (!strcmp(json_string_value(json_object_get(j, "id")) ?: "", job_id))
			return j;
	return NULL;
}

void qmp_job_dismiss(struct qmp *q, const char *job_id, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "job-dismiss", json_pack("{s:s}", "id", job_id), 0, cb, ctx);
}

void qmp_block_resize(struct qmp *q, const char *device, uint64_t size, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "block_resize", json_pack("{s:s, s:I}", "device", device, "size", (json_int_t)size),
	         0, cb, ctx);
}

void qmp_blockdev_change_medium(struct qmp *q, const char *id, const char *filename, qmp_reply_fn cb,
                                void *ctx)
{
	send_cmd(q, "blockdev-change-medium",
	         json_pack("{s:s, s:s, s:s, s:s}", "id", id, "filename", filename, "format", "raw", "read-only-mode",
	                   "read-only"),
	         0, cb, ctx);
}

void qmp_eject(struct qmp *q, const char *id, bool force, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "eject", json_pack("{s:s, s:b}", "id", id, "force", force), 0, cb, ctx);
}

void qmp_blockdev_add_qcow2(struct qmp *q, const char *node, const char *filename, qmp_reply_fn cb,
                            void *ctx)
{
	send_cmd(q, "blockdev-add",
	         json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "driver", "qcow2", "node-name", node, "discard",
	                   "unmap", "file", "driver", "file", "filename", filename, "discard", "unmap"),
	         0, cb, ctx);
}

void qmp_blockdev_del(struct qmp *q, const char *node, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "blockdev-del", json_pack("{s:s}", "node-name", node), 0, cb, ctx);
}

void qmp_blockdev_mirror(struct qmp *q, const char *job_id, const char *device, const char *target,
                         bool full, uint64_t speed_bps, qmp_reply_fn cb, void *ctx)
{
	json_t *args = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "job-id", job_id, "device", device, "target",
	                         target, "sync", full ? "full" : "top", "copy-mode", "write-blocking",
	                         "auto-dismiss", 0);
	if (speed_bps)
		json_object_set_new(args, "speed", json_integer((json_int_t)speed_bps));
	send_cmd(q, "blockdev-mirror", args, 0, cb, ctx);
}

void qmp_query_block_jobs(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "query-block-jobs", NULL, 0, cb, ctx);
}

void qmp_job_complete(struct qmp *q, const char *job_id, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "job-complete", json_pack("{s:s}", "id", job_id), 0, cb, ctx);
}

void qmp_job_cancel(struct qmp *q, const char *job_id, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "job-cancel", json_pack("{s:s}", "id", job_id), 0, cb, ctx);
}

void qmp_query_named_block_nodes(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "query-named-block-nodes", json_pack("{s:b}", "flat", 1), 0, cb, ctx);
}

void qmp_block_job_cancel(struct qmp *q, const char *job_id, bool force, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "block-job-cancel", json_pack("{s:s, s:b}", "device", job_id, "force", force), 0, cb, ctx);
}

/* Port as a string: QEMU's InetSocketAddress says so. */
static json_t *inet_addr(const char *host, int port)
{
	char p[8];
	snprintf(p, sizeof(p), "%d", port);
	return json_pack("{s:s, s:s}", "host", host, "port", p);
}

void qmp_blockdev_add_nbd(struct qmp *q, const char *node, const char *host, int port, const char *export_name,
                          qmp_reply_fn cb, void *ctx)
{
	json_t *server = inet_addr(host, port);
	json_object_set_new(server, "type", json_string("inet"));
	send_cmd(q, "blockdev-add",
	         json_pack("{s:s, s:s, s:o, s:s}", "driver", "nbd", "node-name", node, "server", server, "export",
	                   export_name),
	         0, cb, ctx);
}

void qmp_nbd_server_start(struct qmp *q, const char *host, int port, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "nbd-server-start",
	         json_pack("{s:{s:s, s:o}}", "addr", "type", "inet", "data", inet_addr(host, port)), 0, cb, ctx);
}

void qmp_nbd_server_stop(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "nbd-server-stop", NULL, 0, cb, ctx);
}

void qmp_block_export_add_nbd(struct qmp *q, const char *id, const char *node, const char *export_name,
                              qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "block-export-add",
	         json_pack("{s:s, s:s, s:s, s:b, s:s}", "type", "nbd", "id", id, "node-name", node, "writable", 1,
	                   "name", export_name),
	         0, cb, ctx);
}

void qmp_migrate_continue(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "migrate-continue", json_pack("{s:s}", "state", "pre-switchover"), 0, cb, ctx);
}

void qmp_query_block(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "query-block", NULL, 0, cb, ctx);
}

void qmp_snapshot(struct qmp *q, enum qmp_snapshot_op op, const char *job_id, const char *tag,
                  const char *const *nodes, int nnodes, qmp_reply_fn cb, void *ctx)
{
	static const char *const cmds[] = {"snapshot-save", "snapshot-load", "snapshot-delete"};
	json_t *devices = json_array();
	for (int i = 0; i < nnodes; i++)
		json_array_append_new(devices, json_string(nodes[i]));
	json_t *args = json_pack("{s:s, s:s, s:o}", "job-id", job_id, "tag", tag, "devices", devices);
	if (op != QMP_SNAPSHOT_DELETE && nnodes > 0) /* RAM and device state live on the first disk */
		json_object_set_new(args, "vmstate", json_string(nodes[0]));
	send_cmd(q, cmds[op], args, 0, cb, ctx);
}

void qmp_migrate_set_caps(struct qmp *q, const struct qmp_migrate_caps *c, qmp_reply_fn cb, void *ctx)
{
	json_t *caps = json_pack("[{s:s, s:b}, {s:s, s:b}, {s:s, s:b}, {s:s, s:b}, {s:s, s:b}]", "capability",
	                         "auto-converge", "state", c->auto_converge, "capability", "postcopy-ram", "state",
	                         c->postcopy, "capability", "events", "state", 1, "capability",
	                         "pause-before-switchover", "state", c->pause_before_switchover, "capability",
	                         "late-block-activate", "state", c->late_block_activate);
	send_cmd(q, "migrate-set-capabilities", json_pack("{s:o}", "capabilities", caps), 0, cb, ctx);
}

void qmp_migrate_set_params(struct qmp *q, const struct qmp_migrate_params *p, qmp_reply_fn cb,
                            void *ctx)
{
	json_t *args = json_object();
	if (p->downtime_limit_ms)
		json_object_set_new(args, "downtime-limit", json_integer((json_int_t)p->downtime_limit_ms));
	if (p->max_bandwidth_bps)
		json_object_set_new(args, "max-bandwidth", json_integer((json_int_t)p->max_bandwidth_bps));
	send_cmd(q, "migrate-set-parameters", args, 0, cb, ctx);
}

void qmp_migrate(struct qmp *q, const char *uri, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "migrate", json_pack("{s:s}", "uri", uri), 0, cb, ctx);
}

void qmp_migrate_incoming(struct qmp *q, const char *uri, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "migrate-incoming", json_pack("{s:s}", "uri", uri), 0, cb, ctx);
}

void qmp_query_migrate(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "query-migrate", NULL, 0, cb, ctx);
}

void qmp_migrate_cancel(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "migrate_cancel", NULL, 0, cb, ctx);
}

void qmp_migrate_start_postcopy(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "migrate-start-postcopy", NULL, 0, cb, ctx);
}

void qmp_calc_dirty_rate(struct qmp *q, int seconds, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "calc-dirty-rate", json_pack("{s:i, s:s}", "calc-time", seconds, "mode", "page-sampling"),
	         0, cb, ctx);
}

void qmp_query_dirty_rate(struct qmp *q, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "query-dirty-rate", NULL, 0, cb, ctx);
}

/* ---- hot-plug (vm_hotplug.c) ---------------------------------------------- */

void qmp_device_add_disk(struct qmp *q, const char *id, const char *node, const char *bus, qmp_reply_fn cb,
                         void *ctx)
{
	send_cmd(q, "device_add",
	         json_pack("{s:s, s:s, s:s, s:s}", "driver", "virtio-blk-pci", "id", id, "drive", node, "bus", bus), 0,
	         cb, ctx);
}

void qmp_device_add_nic(struct qmp *q, const char *id, const char *netdev, const char *mac, const char *bus,
                        qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "device_add",
	         json_pack("{s:s, s:s, s:s, s:s, s:s}", "driver", "virtio-net-pci", "id", id, "netdev", netdev, "mac",
	                   mac, "bus", bus),
	         0, cb, ctx);
}

void qmp_device_del(struct qmp *q, const char *id, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "device_del", json_pack("{s:s}", "id", id), 0, cb, ctx);
}

void qmp_getfd(struct qmp *q, const char *fdname, int fd, qmp_reply_fn cb, void *ctx)
{
	if (fault_hit(FAULT_QMP)) {
		qmp_reply_later(q, "getfd", QMP_FAILED, "injected fault", cb, ctx);
		return;
	}
	qmp_send_fd(q, "getfd", json_pack("{s:s}", "fdname", fdname), fd, cb, ctx);
}

void qmp_closefd(struct qmp *q, const char *fdname, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "closefd", json_pack("{s:s}", "fdname", fdname), 0, cb, ctx);
}

void qmp_netdev_add_tap(struct qmp *q, const char *id, const char *fdname, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "netdev_add", json_pack("{s:s, s:s, s:s, s:b}", "type", "tap", "id", id, "fd", fdname, "vhost", 0),
	         0, cb, ctx);
}

void qmp_netdev_add_user(struct qmp *q, const char *id, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "netdev_add", json_pack("{s:s, s:s, s:b}", "type", "user", "id", id, "restrict", 1), 0, cb, ctx);
}

void qmp_netdev_del(struct qmp *q, const char *id, qmp_reply_fn cb, void *ctx)
{
	send_cmd(q, "netdev_del", json_pack("{s:s}", "id", id), 0, cb, ctx);
}
