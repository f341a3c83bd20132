/* api_ha.c - HA settings of one VM (issue 14): POST /api/v1/vms/{id}/ha
 * {"priority"?, "isolation_response"?}. System administrators only: a
 * restart priority decides who gets a failed host's capacity first. */
#include "api.h"
#include "ha.h"
#include "auth.h"
#include "ha_admit.h"
#include "ha_incidents.h"
#include "resources.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

void api_vms_ha(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *vm = mgr_get_visible(req, STORE_VM, http_param(req, "id"));
	if (!vm)
		return;
	if (mgr_scope(req)) {
		http_reply_error(req, 403, "forbidden", NULL, "only a system administrator sets a VM's HA restart priority "
		                 "or isolation response (a priority decides who gets a failed host's capacity first); "
		                 "ask one");
		json_decref(vm);
		return;
	}
	json_t *body = http_body_json(req, 0);
	if (!body) {
		json_decref(vm);
		return;
	}
	json_t *asked = json_object(), *stored = NULL;
	struct jv_err jerr = {0};
	struct errinfo e = {0};
	if (resource_parse_vm_ha(body, asked, &jerr) < 0) {
		mgr_refuse_jv(req, "vm.ha", "vm", str(vm, "id"), &jerr);
		goto out;
	}
	json_t *upd = json_deep_copy(vm);
	json_t *ha = json_object_get(upd, "ha");
	if (!json_is_object(ha)) {
		ha = json_object();
		json_object_set_new(upd, "ha", ha);
	}
	json_object_update(ha, asked);
	const char *key;
	json_t *val;
	void *tmp;
	json_object_foreach_safe(ha, tmp, key, val)
		if (json_is_null(val)) /* back to the cluster's */
			json_object_del(ha, key);
	char detail[160];
	snprintf(detail, sizeof(detail), "priority %s, isolation response %s", str(ha, "priority") ?: "(the cluster's)",
	         str(ha, "isolation_response") ?: "(the cluster's)");
	if (store_begin(m->st, &e) < 0 ||
	    store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), &stored, &e) < 0 ||
	    store_event_add(m->st, mgr_actor(req), "vm.ha", "vm", str(vm, "id"), "succeeded", detail, &e) < 0 ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		json_decref(stored);
		stored = NULL;
		mgr_refuse(req, "vm.ha", "vm", str(vm, "id"), &e);
	}
	json_decref(upd);
	if (stored) {
		ha_vm_settings_changed(m, str(stored, "host_id"));
		http_reply_json(req, 200, stored);
	}
out:
	json_decref(asked);
	json_decref(body);
	json_decref(vm);
}

/* GET /api/v1/clusters/{id}/ha: HA settings, failover capacity under the
 * admission policy, and each host's HA verdict. */
void api_clusters_ha(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	json_t *cluster = store_get(m->st, STORE_CLUSTER, http_param(req, "id"), &e);
	json_t *report = cluster ? ha_cluster_report(m, cluster, &e) : NULL;
	if (report)
		http_reply_json(req, 200, report);
	else
		mgr_reply_err(req, &e);
	json_decref(cluster);
}

/* GET /api/v1/clusters/{id}/ha/incidents[?host=NAME|ID][&limit=N]: the
 * cluster's HA incidents, newest first, each a timeline. Like the failover
 * report, system administrators only: it names hosts. */
void api_clusters_ha_incidents(struct http_req *req)
{
	struct mgr *m = http_app(req);
	int limit;
	const char *after;
	if (mgr_page_args_max(req, 200, &limit, &after) < 0)
		return;
	if (after) {
		http_reply_error(req, 400, "invalid_query", "after",
		                 "incidents are not paged: use limit (at most 200) and host to narrow them");
		return;
	}
	struct errinfo e = {0};
	json_t *cluster = store_get(m->st, STORE_CLUSTER, http_param(req, "id"), &e);
	if (!cluster) {
		mgr_reply_err(req, &e);
		return;
	}
	const char *host = http_query(req, "host");
	json_t *h = NULL;
	if (host) {
		h = store_get(m->st, STORE_HOST, host, &e);
		if (!h || strcmp(str(h, "cluster_id") ?: "", str(cluster, "id") ?: "")) {
			http_reply_error(req, 404, "not_found", "host", "no host '%s' in cluster %s", host, str(cluster, "name"));
			json_decref(h);
			json_decref(cluster);
			return;
		}
	}
	json_t *report = ha_incidents_report(m, cluster, h ? str(h, "id") : NULL, limit, &e);
	if (report)
		http_reply_json(req, 200, report);
	else
		mgr_reply_err(req, &e);
	json_decref(h);
	json_decref(cluster);
}
