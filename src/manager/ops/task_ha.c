/* task_ha.c - vm.ha_restart: a VM of a failed host starts on another one
 * (issue 14). The HA controller (ops/ha.c) queued it only after the failed
 * host's lease ran out past the safety margin, so that host has killed
 * its copy (or is off); it also moved the VM's record to the new host in
 * the same commit, so placement counts it there from that moment.
 *
 * Here: the new host gets the VM's boot images, defines the VM over its
 * disks on the shared datastore (the same define a cold migration's
 * receiver does: POST /api/v1/migrations/incoming with "cold"), and starts
 * it. Each step asks the host first, so a run again after a crash of
 * vdcd finds where the last one stopped and never defines or starts it
 * twice. */
#include "task_ops.h"

#include "agent_client.h"
#include "log.h"
#include "crashpoint.h"
#include "isotime.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The VM's state on host: "missing" when the host has no such VM; -1 with
 * e when the host does not answer. */
static int state_on(struct task_ctx *t, const char *host, const char *name, char *out, size_t n,
                    struct errinfo *e)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s", name);
	long status = 0;
	json_t *reply = NULL;
	if (agent_call(t->st, host, "GET", path, NULL, 30, &status, &reply, NULL, e) < 0)
		return -1;
	int rc = 0;
	if (status == 404)
		snprintf(out, n, "missing");
	else if (status == 200)
		snprintf(out, n, "%s", str(reply, "state") ?: "unknown");
	else
		rc = errinfo_set(e, 502, "agent_error", NULL, "the host answered %ld to GET %s", status, path);
	json_decref(reply);
	return rc;
}

static int call_ok(struct task_ctx *t, const char *host, const char *method, const char *path, const json_t *body,
                   const char *what, struct errinfo *e)
{
	long status = 0;
	json_t *reply = NULL;
	if (agent_call(t->st, host, method, path, body, 120, &status, &reply, NULL, e) < 0)
		return -1;
	int rc = 0;
	if (status != 200 && status != 201 && status != 204)
		rc = errinfo_set(e, (unsigned)status, str(json_object_get(reply, "error"), "code") ?: "agent_error", NULL,
		                 "%s: %s", what, str(json_object_get(reply, "error"), "message") ?: "no reason given");
	json_decref(reply);
	return rc;
}

/* QEMU's image lock refused the start: another process writes the VM's
 * disk, so the old host's copy runs on though its host was judged failed
 * (its agent and its lease keeper died, its QEMU did not). A second copy
 * would destroy the disk; the lock is the last line that caught it, and
 * vdcd must not then record the VM as stopped on the new host (it would
 * remove the running copy as stale when the old host returns). So the
 * new host's definition goes (the disks left: the running copy uses
 * them), the VM is recorded back on its old host, state unknown, and held:
 * HA leaves it until that host answers again (ops/ha.c). */
static int held_where_it_runs(struct task_ctx *t, json_t *vm, const char *name, const char *from, const char *to,
                              struct errinfo *e)
{
	const char *id = str(vm, "id");
	char path[300], why[1200], at[40];
	snprintf(path, sizeof(path), "/api/v1/vms/%s?leave_disks=1", name);
	struct errinfo de = {0};
	if (call_ok(t, to, "DELETE", path, NULL, "the new host could not remove its definition", &de) < 0)
		log_warn("ha_hold_undefine_failed", "vm=%s host=%s error=%s", id, to, log_quote(de.message));
	snprintf(why, sizeof(why),
	         "not started on the new host: its disk is in use by another process (QEMU's image lock), most likely its "
	         "copy on the old host, whose agent and lease keeper are down while its QEMU runs on. It stays recorded on "
	         "the old host and HA holds it (no restart elsewhere) until that host answers again: start vdc-agent "
	         "there (%s)",
	         e->message);
	iso_time_now_ms(at);
	struct errinfo pe = {0};
	if (task_vm_patch(t->st, id,
	                  json_pack("{s:s, s:s, s:n, s:{s:s, s:s, s:s}}", "host_id", from, "power_state", "unknown",
	                            "ha_restart", "ha_hold", "at", at, "tried_host_id", to, "reason", why),
	                  &pe) < 0)
		log_error("ha_hold_failed", "vm=%s error=%s", id, log_quote(pe.message));
	log_warn("ha_restart_held", "vm=%s from=%s to=%s", id, from, to);
	struct errinfo held = {0};
	errinfo_set(&held, 409, "disk_in_use", NULL, "%s", why);
	*e = held;
	return -1;
}

int task_op_ha_restart(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                       struct errinfo *e)
{
	(void)op;
	const char *id = str(vm, "id"), *name = vm_agent_name(vm);
	const char *to = str(args, "to_host_id"), *from = str(args, "from_host_id");
	if (!to || !from || !name)
		return errinfo_set(e, 500, "internal", NULL, "the restart's task names no hosts");
	if (strcmp(str(vm, "host_id") ?: "", to))
		return errinfo_set(e, 409, "moved", NULL, "the VM is on another host now; this restart is not its own");
	if (task_point_of_no_return(t, e) < 0)
		return -1;
	char st[32] = "";
	if (state_on(t, to, name, st, sizeof(st), e) < 0)
		goto failed;
	if (!strcmp(st, "missing")) {
		task_update(t, NULL, 20, "giving the new host the VM's boot images");
		if (task_vm_push_boot_images(t, vm, to, 20, e) < 0)
			goto failed;
		task_update(t, NULL, 40, "defining it on the new host over its disks on the shared datastore");
		json_t *spec = vm_agent_spec(vm);
		json_t *body = spec ? json_pack("{s:o, s:b}", "spec", spec, "cold", 1) : NULL;
		int rc = body ? call_ok(t, to, "POST", "/api/v1/migrations/incoming", body,
		                        "the new host could not define the VM", e)
		              : errinfo_set(e, 500, "internal", NULL, "out of memory");
		json_decref(body);
		if (rc < 0)
			goto failed;
		crash_point("task:vm.ha_restart:defined");
		snprintf(st, sizeof(st), "stopped");
	}
	/* VM monitoring's restart of a VM whose readiness probe stopped
	 * answering: it runs, on its own host; powered off first. */
	if (json_is_true(json_object_get(args, "power_cycle")) && !strcmp(to, from) &&
	    (!strcmp(st, "running") || !strcmp(st, "starting") || !strcmp(st, "paused"))) {
		task_update(t, NULL, 50, "powering it off (its readiness probe stopped answering)");
		char path[256];
		snprintf(path, sizeof(path), "/api/v1/vms/%s/destroy", name);
		if (call_ok(t, to, "POST", path, NULL, "the host could not power the VM off", e) < 0)
			goto failed;
		snprintf(st, sizeof(st), "stopped");
	}
	if (strcmp(st, "running") && strcmp(st, "starting")) {
		task_update(t, NULL, 70, "starting it on the new host");
		char path[256];
		snprintf(path, sizeof(path), "/api/v1/vms/%s/start", name);
		if (call_ok(t, to, "POST", path, NULL, "the new host could not start the VM", e) < 0)
			goto failed;
	}
	task_vm_patch(t->st, id, json_pack("{s:s, s:n}", "power_state", "running", "ha_restart"), e);
	*result = json_pack("{s:s, s:s, s:s}", "vm_id", id, "from_host_id", from, "to_host_id", to);
	log_info("ha_restarted", "vm=%s from=%s to=%s", id, from, to);
	return 0;
failed:
	if (!strcmp(e->code, "disk_in_use"))
		return held_where_it_runs(t, vm, name, from, to, e);
	/* It stays recorded on the new host, stopped: the controller tries it
	 * again (ops/ha.c), and a user can start it there. */
	task_vm_patch(t->st, id, json_pack("{s:s}", "power_state", "stopped"), &(struct errinfo){0});
	log_warn("ha_restart_failed", "vm=%s to=%s error=%s", id, to, log_quote(e->message));
	return -1;
}
