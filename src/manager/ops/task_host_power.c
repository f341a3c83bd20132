/* task_host_power.c - host.power: a worker runs the host's power driver
 * (ipmitool, seconds, never on the loop), records what the BMC said on the
 * host (power.state, power.checked_at, or the error) and writes the
 * outcome as an audit event host.power_on|off|cycle|status. A power off
 * is refused again here when VMs started on the host since the request
 * (unless forced): the request's count may be stale. */
#include "host_power.h"
#include "task_ops.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

static const char *tstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

int task_op_host_power(struct task_ctx *t, json_t *unused, const char *op, json_t *args, json_t **result,
                       struct errinfo *e)
{
	(void)unused;
	(void)op;
	char host_id[64], actor[128];
	snprintf(host_id, sizeof(host_id), "%s", tstr(t->doc, "target_id") ?: "");
	snprintf(actor, sizeof(actor), "%s", tstr(t->doc, "actor") ?: "?");
	enum host_power_action action;
	if (host_power_action_parse(tstr(args, "action"), &action) < 0)
		return errinfo_set(e, 400, "invalid_request", "action", "the task has no power action");
	bool force = json_is_true(json_object_get(args, "force"));
	json_t *host = store_get(t->st, STORE_HOST, host_id, e);
	if (!host)
		return -1;
	char name[128], what[40];
	snprintf(name, sizeof(name), "%s", tstr(host, "name") ?: host_id);
	snprintf(what, sizeof(what), "host.power_%s", host_power_action_name(action));
	struct host_power_driver d;
	int rc = host_power_driver_load(t->st, host, &d, e);
	json_decref(host);
	if (rc < 0)
		return -1;
	if ((action == HOST_POWER_OFF || action == HOST_POWER_CYCLE) && !force) {
		char names[200];
		int n = host_power_vms_running(t->st, host_id, names, sizeof(names), e);
		if (n != 0) {
			host_power_driver_wipe(&d);
			return n > 0 ? host_power_refuse_vms(e, name, host_power_action_name(action), n, names) : -1;
		}
	}
	char msg[400];
	snprintf(msg, sizeof(msg), "asking %s %s:%d for power %s", d.driver, d.address, d.port,
	         host_power_action_name(action));
	task_update(t, NULL, 10, msg);
	struct host_power_result r;
	rc = host_power_run(&d, action, &r);
	host_power_driver_wipe(&d);
	struct errinfo re = {0};
	if (host_power_record(t->st, host_id, &r, &re) < 0)
		log_warn("host_power_record_failed", "host=%s error=%s", host_id, log_quote(re.message));
	re = (struct errinfo){0};
	if (store_event_add(t->st, actor, what, "host", host_id, rc == 0 ? "succeeded" : "failed", r.message, &re) < 0)
		log_warn("event_write_failed", "action=%s error=%s", what, log_quote(re.message));
	pthread_mutex_lock(&t->m->lock);
	t->m->host_power[action][rc == 0 ? 0 : 1]++;
	pthread_mutex_unlock(&t->m->lock);
	*result = json_pack("{s:s, s:s, s:I, s:s}", "action", host_power_action_name(action), "state",
	                    host_power_state_name(r.state), "elapsed_ms", (json_int_t)r.elapsed_ms, "message", r.message);
	if (rc < 0)
		return errinfo_set(e, 502, r.code, NULL, "%s", r.message);
	return 0;
}
