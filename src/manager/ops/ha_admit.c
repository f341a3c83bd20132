/* ha_admit.c - see ha_admit.h. The cluster's hosts and its powered-on VMs
 * are read from the store (one list each): a power-on is rare next to the
 * work it starts. */
#include "ha_admit.h"

#include "ha.h"
#include "ha_admission.h"
#include "manager.h"
#include "placement.h"
#include "resources.h"

#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The cluster's admission policy: ha.admission {"policy": "none" |
 * "host_failures" | "percent", "host_failures", "cpu_pct", "mem_pct"};
 * with HA on and none given, one host failure is kept (vSphere's default). */
static void policy_of(const json_t *cluster, struct ha_policy *p)
{
	const json_t *ha = json_object_get(cluster, "ha"), *a = json_object_get(ha, "admission");
	const char *kind = str(a, "policy") ?: "host_failures";
	memset(p, 0, sizeof(*p));
	if (!json_is_true(json_object_get(ha, "enabled")) || !strcmp(kind, "none")) {
		p->kind = HA_POLICY_NONE;
	} else if (!strcmp(kind, "percent")) {
		p->kind = HA_POLICY_PERCENT;
		p->pct[HA_CPU] = (int)json_integer_value(json_object_get(a, "cpu_pct"));
		p->pct[HA_MEM] = (int)json_integer_value(json_object_get(a, "mem_pct"));
	} else {
		p->kind = HA_POLICY_HOST_FAILURES;
		p->host_failures = json_object_get(a, "host_failures") ? (int)json_integer_value(json_object_get(a, "host_failures")) : 1;
	}
}

static bool powered_on(const json_t *vm)
{
	const char *ps = str(vm, "power_state") ?: "";
	return !strcmp(ps, "running") || !strcmp(ps, "paused") || !strcmp(ps, "starting") ||
	       !strcmp(ps, "restarting") || !strcmp(str(vm, "desired_state") ?: "", "running");
}

/* The cluster as admission counts it; hosts[] are borrowed names from the
 * lists, which the caller frees after. */
static int cluster_view(struct store *st, const json_t *cluster, const char *skip_vm, json_t **hosts_out,
                        struct ha_admission_host **hosts, struct ha_admission_cluster *c, struct errinfo *e)
{
	struct store_filter f = {"cluster_id", str(cluster, "id") ?: ""};
	json_t *hl = store_list_all(st, STORE_HOST, &f, 1, e);
	json_t *vl = hl ? store_list_all(st, STORE_VM, &f, 1, e) : NULL;
	if (!vl) {
		json_decref(hl);
		return -1;
	}
	size_t n = json_array_size(hl);
	if (n > HA_ADMISSION_MAX_HOSTS)
		n = HA_ADMISSION_MAX_HOSTS;
	*hosts = calloc(n ? n : 1, sizeof(**hosts));
	if (!*hosts) {
		json_decref(hl);
		json_decref(vl);
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	}
	double cpu_oc = json_number_value(json_object_get(cluster, "cpu_overcommit")) ?: 4.0;
	double mem_oc = json_number_value(json_object_get(cluster, "mem_overcommit")) ?: 1.0;
	for (size_t i = 0; i < n; i++) {
		const json_t *h = json_array_get(hl, i), *cap = json_object_get(h, "capacity");
		(*hosts)[i] = (struct ha_admission_host){
			.name = str(h, "name") ?: "?",
			.counts = !strcmp(str(h, "state") ?: "", "connected") && !json_is_true(json_object_get(h, "maintenance")),
			.capacity = {placement_capacity(json_integer_value(json_object_get(cap, "cpus")), cpu_oc),
			             placement_capacity(json_integer_value(json_object_get(cap, "memory_mib")), mem_oc)}};
	}
	*c = (struct ha_admission_cluster){.name = str(cluster, "name") ?: "?", .hosts = *hosts, .nhosts = (int)n};
	size_t i;
	json_t *vm;
	json_array_foreach(vl, i, vm) {
		if (!powered_on(vm) || (skip_vm && !strcmp(str(vm, "id") ?: "", skip_vm)))
			continue;
		const json_t *cfg = json_object_get(vm, "config");
		c->load[HA_CPU] += json_integer_value(json_object_get(cfg, "vcpus"));
		c->load[HA_MEM] += json_integer_value(json_object_get(cfg, "memory_mib"));
	}
	json_decref(vl);
	*hosts_out = hl;
	return 0;
}

int ha_admit_power_on(struct store *st, const json_t *vm, struct errinfo *e)
{
	json_t *cluster = store_get(st, STORE_CLUSTER, str(vm, "cluster_id") ?: "", &(struct errinfo){0});
	struct ha_policy p;
	policy_of(cluster, &p);
	if (!cluster || p.kind == HA_POLICY_NONE) {
		json_decref(cluster);
		return 0;
	}
	json_t *hl = NULL;
	struct ha_admission_host *hosts = NULL;
	struct ha_admission_cluster c;
	int rc = cluster_view(st, cluster, str(vm, "id"), &hl, &hosts, &c, e);
	if (rc == 0) {
		const json_t *cfg = json_object_get(vm, "config");
		struct ha_admission_verdict v;
		if (!ha_admission_check(&c, &p, str(vm, "name") ?: "?", (int)json_integer_value(json_object_get(cfg, "vcpus")),
		                        json_integer_value(json_object_get(cfg, "memory_mib")), &v))
			rc = errinfo_set(e, 409, "ha_admission", NULL, "%s", v.reason);
	}
	free(hosts);
	json_decref(hl);
	json_decref(cluster);
	return rc;
}

json_t *ha_cluster_report(struct mgr *m, const json_t *cluster, struct errinfo *e)
{
	struct ha_policy p;
	policy_of(cluster, &p);
	json_t *hl = NULL;
	struct ha_admission_host *hosts = NULL;
	struct ha_admission_cluster c;
	if (cluster_view(m->st, cluster, NULL, &hl, &hosts, &c, e) < 0)
		return NULL;
	struct ha_capacity cap;
	char pol[160];
	ha_policy_format(&p, pol, sizeof(pol));
	json_t *capj = NULL;
	if (ha_admission_capacity(&c, &p, &cap) == 0)
		capj = json_pack("{s:i, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:i, s:b, s:s}", "hosts",
		                 cap.nhosts, "total", "vcpus", (json_int_t)cap.total[HA_CPU], "memory_mib",
		                 (json_int_t)cap.total[HA_MEM], "load", "vcpus", (json_int_t)cap.load[HA_CPU], "memory_mib",
		                 (json_int_t)cap.load[HA_MEM], "reserved", "vcpus", (json_int_t)cap.reserved[HA_CPU],
		                 "memory_mib", (json_int_t)cap.reserved[HA_MEM], "free", "vcpus",
		                 (json_int_t)cap.free[HA_CPU], "memory_mib", (json_int_t)cap.free[HA_MEM],
		                 "tolerates_host_failures", cap.tolerates, "overloaded", cap.overloaded, "summary",
		                 cap.reason);
	json_t *hj = json_array();
	size_t i;
	json_t *h;
	json_array_foreach(hl, i, h) {
		json_t *st = ha_host_status(m, str(h, "id") ?: "");
		json_t *row = json_pack("{s:O, s:O, s:O}", "id", json_object_get(h, "id"), "name", json_object_get(h, "name"),
		                        "state", json_object_get(h, "state"));
		if (st)
			json_object_set_new(row, "ha", st);
		else if (json_object_get(h, "ha"))
			json_object_set(row, "ha", json_object_get(h, "ha"));
		json_array_append_new(hj, row);
	}
	/* The settings in force: the cluster's, and the defaults it left. */
	const json_t *given = json_object_get(cluster, "ha");
	json_t *settings = json_pack("{s:b, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "enabled",
	                             json_is_true(json_object_get(given, "enabled")), "default_priority", "medium",
	                             "isolation_response", "leave", "net_timeout_ms", HA_DEFAULT_NET_TIMEOUT_MS,
	                             "lease_ms", HA_DEFAULT_LEASE_MS, "margin_ms", HA_DEFAULT_MARGIN_MS, "max_restarts",
	                             HA_DEFAULT_MAX_RESTARTS, "restart_window_s", HA_DEFAULT_RESTART_WINDOW_S,
	                             "ready_timeout_s", HA_DEFAULT_READY_TIMEOUT_S);
	if (json_is_object(given))
		json_object_update(settings, (json_t *)given);
	if (!json_object_get(settings, "admission"))
		json_object_set_new(settings, "admission", json_pack("{s:s, s:i}", "policy", "host_failures", "host_failures", 1));
	json_t *out = json_pack("{s:O, s:o, s:o, s:s, s:o*, s:o}", "cluster_id", json_object_get(cluster, "id"), "ha",
	                        settings, "enabled", json_boolean(json_is_true(json_object_get(given, "enabled"))),
	                        "admission", pol,
	                        "failover_capacity", capj, "hosts", hj);
	free(hosts);
	json_decref(hl);
	return out;
}
