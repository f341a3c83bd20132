/* ha_ready.c - readiness probes on vdcd's side (ha_ready.h): the probes
 * go to hosts in heartbeat replies, the hosts' verdicts come back in
 * heartbeats and are kept on the VM, with an event at each change. */
#include "ha_ready.h"

#include "isotime.h"
#include "log.h"
#include "manager.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static const char *agent_name(const json_t *vm)
{
	return str(json_object_get(vm, "config"), "agent_name") ?: str(vm, "name");
}

json_t *ha_ready_probes(struct mgr *m, const char *host_id)
{
	struct store_filter f = {"host_id", host_id};
	json_t *vms = store_list_all(m->st, STORE_VM, &f, 1, &(struct errinfo){0});
	json_t *out = json_object();
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm) {
		const json_t *p = json_object_get(json_object_get(vm, "config"), "ready_probe");
		if (json_is_object(p) && agent_name(vm))
			json_object_set(out, agent_name(vm), (json_t *)p);
	}
	json_decref(vms);
	return out;
}

/* Whether seen (the host's word) says something else than had (the VM's). */
static bool changed(const json_t *had, const json_t *seen)
{
	if (!had || !seen)
		return had != seen;
	return !json_equal(json_object_get(had, "ready") ?: json_null(), json_object_get(seen, "ready") ?: json_null()) ||
	       json_is_true(json_object_get(had, "lost")) != json_is_true(json_object_get(seen, "lost")) ||
	       strcmp(str(had, "since") ?: "", str(seen, "since") ?: "") ||
	       strcmp(str(had, "reason") ?: "", str(seen, "reason") ?: "") ||
	       strcmp(str(had, "ip") ?: "", str(seen, "ip") ?: "");
}

/* Writes seen as *vm's readiness when it changed; *vm becomes the stored
 * document (its new version, for the next taker of the same beat). */
static void take_one(struct mgr *m, json_t **vmp, const json_t *seen)
{
	const json_t *vm = *vmp;
	const json_t *had = json_object_get(vm, "readiness");
	if (!changed(had, seen))
		return;
	json_t *upd = json_deep_copy(vm);
	const char *id = str(vm, "id");
	char at[ISO_TIME_LEN];
	iso_time_now_ms(at);
	if (seen) {
		json_t *r = json_pack("{s:O, s:b, s:s}", "ready", json_object_get(seen, "ready") ?: json_null(), "lost",
		                      json_is_true(json_object_get(seen, "lost")), "at", at);
		static const char *const keys[] = {"since", "reason", "ip"};
		for (int k = 0; k < 3; k++)
			if (json_is_string(json_object_get(seen, keys[k])))
				json_object_set(r, keys[k], json_object_get(seen, keys[k]));
		json_object_set_new(upd, "readiness", r);
	} else {
		json_object_del(upd, "readiness");
	}
	struct errinfo e = {0};
	json_t *stored = NULL;
	int rc = store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), &stored, &e);
	json_decref(upd);
	if (rc < 0)
		return; /* changed meanwhile: the next beat tells again */
	bool was = had && json_is_true(json_object_get(had, "ready"));
	bool is = seen && json_is_true(json_object_get(seen, "ready"));
	char detail[400];
	if (is && !was) {
		snprintf(detail, sizeof(detail), "ready: its readiness probe answers on %s:%lld",
		         str(seen, "ip") ?: "?", json_integer_value(json_object_get(json_object_get(seen, "probe"), "tcp_port")));
		mgr_event(m, "vdcd", "vm.ready", "vm", id, "succeeded", detail);
	} else if (!is && was && json_is_true(json_object_get(seen, "lost"))) {
		snprintf(detail, sizeof(detail), "not ready: its readiness probe stopped answering (%lld failures in a row: %s)",
		         json_integer_value(json_object_get(json_object_get(seen, "probe"), "failures")),
		         str(seen, "reason") ?: "no reason given");
		mgr_event(m, "vdcd", "vm.ready", "vm", id, "failed", detail);
	}
	log_info("vm_readiness", "vm=%s ready=%s lost=%d reason=%s", id,
	         !seen || json_is_null(json_object_get(seen, "ready")) ? "null" : is ? "true" : "false",
	         (int)json_is_true(json_object_get(seen, "lost")), log_quote(str(seen, "reason") ?: ""));
	json_decref(*vmp); /* had, id and vm pointed into it */
	*vmp = stored;
}

void ha_ready_take_vm(struct mgr *m, json_t **vm, const json_t *report)
{
	const json_t *seen = json_object_get(report, "ready");
	bool probe = json_is_object(json_object_get(json_object_get(*vm, "config"), "ready_probe"));
	/* A probe the VM no longer has says nothing any more; one its host
	 * has not learnt yet (it restarted: the reply to this beat names it)
	 * leaves the last word as it was. */
	if (probe && !json_is_object(seen))
		return;
	take_one(m, vm, probe ? seen : NULL);
}
