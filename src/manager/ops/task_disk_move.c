/* task_disk_move.c - vm.disk_move: storage migration, a running VM's disk
 * moved to another datastore of its host while the guest runs. The host's
 * agent does the move (QEMU mirrors the disk, then switches to the copy:
 * agent vm/vm_disk_move.c); this task starts it, follows its progress and
 * records the new datastore. Asking the agent again is harmless (a move
 * under way is followed, one done is answered done), so a run after a
 * crash of vdcd converges. Cancellable until the switch. */
#include "task_ops.h"

#include "agent_client.h"
#include "crashpoint.h"
#include "log.h"
#include "store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MOVE_POLL_MS 200
/* The host not answering for this long ends the task; the move goes on
 * (or ended) there, and running the move again finds out which. */
#define MOVE_SILENCE_S 60

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The datastore of disk `disk` in the agent's VM. */
static const char *disk_datastore(const json_t *agent_vm, const char *disk)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(json_object_get(agent_vm, "spec"), "disks"), i, d)
		if (!strcmp(str(d, "name") ?: "", disk))
			return str(d, "datastore");
	json_array_foreach(json_object_get(agent_vm, "disks"), i, d)
		if (!strcmp(str(d, "name") ?: "", disk))
			return str(d, "datastore");
	return NULL;
}

/* The VM's record says the disk is on `to` now: its config as it is now
 * (read again: it may have changed while the disk moved), that one field
 * changed. */
static int record(struct store *st, const json_t *vm, const char *to, struct errinfo *e)
{
	return task_vm_patch_config(st, str(vm, "id") ?: "", "datastore", json_string(to), e);
}

int task_op_disk_move(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                      struct errinfo *e)
{
	(void)op;
	const char *host = str(vm, "host_id"), *name = vm_agent_name(vm), *id = str(vm, "id");
	const char *disk = str(args, "disk") ?: "root", *to = str(args, "datastore") ?: "";
	const char *from = str(json_object_get(vm, "config"), "datastore") ?: "";
	char path[384], msg[200];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/disks/%s/move", name, disk);
	long status = 0;
	json_t *reply = NULL, *body = json_pack("{s:s}", "datastore", to);
	if (json_is_integer(json_object_get(args, "bandwidth_mib_s")))
		json_object_set(body, "bandwidth_mib_s", json_object_get(args, "bandwidth_mib_s"));
	task_update(t, NULL, 1, "starting the move on the host");
	int rc = agent_call(t->st, host, "POST", path, body, 120, &status, &reply, NULL, e);
	json_decref(body);
	if (rc < 0)
		return -1;
	if (status != 200 && status != 202) {
		errinfo_set(e, (unsigned)status, str(json_object_get(reply, "error"), "code") ?: "agent_error",
		            str(json_object_get(reply, "error"), "field"), "%s", agent_error_message(reply));
		json_decref(reply);
		return -1;
	}
	crash_point("task:vm.disk_move:after_start");
	/* Follow it: the agent's VM shows the move until it ends. */
	char vpath[320];
	snprintf(vpath, sizeof(vpath), "/api/v1/vms/%s", name);
	time_t heard = time(NULL);
	bool cancel_sent = false;
	while (status == 202 || (json_object_get(reply, "disk_move") && status == 200)) {
		json_t *mv = json_object_get(reply, "disk_move");
		if (!mv)
			break;
		json_int_t done = json_integer_value(json_object_get(mv, "done_bytes"));
		json_int_t total = json_integer_value(json_object_get(mv, "total_bytes"));
		int pct = total > 0 ? (int)(5 + 90 * done / total) : 5;
		snprintf(msg, sizeof(msg), "%s disk %s to datastore %s: %lld of %lld MiB", str(mv, "phase") ?: "moving",
		         disk, to, (long long)(done >> 20), (long long)(total >> 20));
		task_update_live(t, pct, msg, json_pack("{s:I, s:I, s:s}", "done_bytes", done, "total_bytes", total,
		                                        "phase", str(mv, "phase") ?: ""));
		struct errinfo ce = {0};
		if (!cancel_sent && strcmp(str(mv, "phase") ?: "", "completing") && task_checkpoint(t, &ce) < 0) {
			/* Asked to stop: the agent cancels the mirror, the disk stays. */
			long cs = 0;
			json_t *cr = NULL;
			agent_call(t->st, host, "DELETE", path, NULL, 30, &cs, &cr, NULL, &(struct errinfo){0});
			json_decref(cr);
			cancel_sent = true;
		}
		usleep(MOVE_POLL_MS * 1000);
		json_decref(reply);
		reply = NULL;
		struct errinfo ge = {0};
		if (agent_call(t->st, host, "GET", vpath, NULL, 30, &status, &reply, NULL, &ge) == 0 && status == 200) {
			heard = time(NULL);
			continue;
		}
		if (time(NULL) - heard > MOVE_SILENCE_S) {
			json_decref(reply);
			return errinfo_set(e, 504, "host_unreachable", NULL,
			                   "the host has not answered for %d s (%s); the move goes on there or ended: run "
			                   "it again to see", MOVE_SILENCE_S, ge.message[0] ? ge.message : "no answer");
		}
		status = 202; /* still following */
		reply = json_pack("{s:{s:s}}", "disk_move", "phase", "moving");
	}
	const char *now = disk_datastore(reply, disk);
	if (!now || strcmp(now, to)) {
		const char *why = str(reply, "disk_move_error");
		if (cancel_sent)
			errinfo_set(e, 409, "cancelled", NULL, "cancelled on request; disk %s stays on datastore %s", disk,
			            now ? now : from);
		else
			errinfo_set(e, 500, "disk_move_failed", NULL, "%s", why ? why : "the host ended the move with the "
			            "disk where it was");
		json_decref(reply);
		return -1;
	}
	json_decref(reply);
	if (record(t->st, vm, to, e) < 0)
		return -1;
	log_info("vm_disk_moved", "vm=%s disk=%s from=%s to=%s", id, disk, from, to);
	*result = json_pack("{s:s, s:s, s:s, s:s}", "vm_id", id, "disk", disk, "from_datastore", from, "datastore", to);
	return 0;
}
