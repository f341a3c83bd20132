/* resources_ha.c - HA settings in request bodies (issue 14): a cluster's
 * "ha" object and a VM's. Pure: errors name the field. */
#include "resources.h"

#include <string.h>

const char *const ha_priorities[] = {"high", "medium", "low", "disabled", NULL};
const char *const ha_isolation_responses[] = {"leave", "shutdown", "poweroff", NULL};

static int one_of(const char *v, const char *const *allowed)
{
	for (int i = 0; allowed[i]; i++)
		if (!strcmp(v, allowed[i]))
			return 0;
	return -1;
}

/* Given fields replace the cluster's (absent keeps them). The times: a
 * host silent net_timeout_ms is looked at; its lease runs out at lease_ms
 * (the host kills its protected VMs at two thirds of it); its VMs start
 * elsewhere after margin_ms more. */
int resource_parse_cluster_ha(const json_t *b, json_t *doc, struct jv_err *err)
{
	json_t *in = json_object_get(b, "ha");
	if (!in)
		return 0;
	if (!json_is_object(in))
		return jv_fail(err, "ha", "must be an object");
	static const char *const keys[] = {"enabled", "default_priority", "isolation_response", "net_timeout_ms", "lease_ms",
	                                   "margin_ms", "max_restarts", "restart_window_s", "ready_timeout_s", "admission",
	                                   NULL};
	if (jv_only_keys(in, "ha", keys, err) < 0)
		return -1;
	json_t *cur = json_object_get(doc, "ha");
	bool enabled = json_is_true(json_object_get(cur, "enabled"));
	const char *prio = NULL, *iso = NULL;
	int64_t net = 0, lease = 0, margin = 0, max_restarts = 0, window = 0, ready_timeout = 0;
	if (jv_bool(in, "ha", "enabled", false, &enabled, err) < 0 ||
	    jv_string(in, "ha", "default_priority", false, 16, &prio, err) < 0 ||
	    jv_string(in, "ha", "isolation_response", false, 16, &iso, err) < 0 ||
	    jv_int(in, "ha", "net_timeout_ms", false, 1000, 600000, &net, err) < 0 ||
	    jv_int(in, "ha", "lease_ms", false, 2000, 600000, &lease, err) < 0 ||
	    jv_int(in, "ha", "margin_ms", false, 0, 600000, &margin, err) < 0 ||
	    jv_int(in, "ha", "max_restarts", false, 0, 100, &max_restarts, err) < 0 ||
	    jv_int(in, "ha", "restart_window_s", false, 60, 7 * 86400, &window, err) < 0 ||
	    jv_int(in, "ha", "ready_timeout_s", false, 1, 3600, &ready_timeout, err) < 0)
		return -1;
	if (prio && one_of(prio, ha_priorities) < 0)
		return jv_fail(err, "ha.default_priority", "must be high, medium, low or disabled, not '%s'", prio);
	if (iso && one_of(iso, ha_isolation_responses) < 0)
		return jv_fail(err, "ha.isolation_response", "must be leave, shutdown or poweroff, not '%s'", iso);
	/* Admission control: {"policy": "none" | "host_failures" |
	 * "percent", "host_failures" 1..4096, "cpu_pct"/"mem_pct" 0..100}. */
	json_t *adm = json_object_get(in, "admission");
	const char *apol = NULL;
	int64_t hf = 1, cpct = 0, mpct = 0;
	if (adm) {
		static const char *const akeys[] = {"policy", "host_failures", "cpu_pct", "mem_pct", NULL};
		if (!json_is_object(adm))
			return jv_fail(err, "ha.admission", "must be an object");
		if (jv_only_keys(adm, "ha.admission", akeys, err) < 0 ||
		    jv_string(adm, "ha.admission", "policy", true, 16, &apol, err) < 0 ||
		    jv_int(adm, "ha.admission", "host_failures", false, 1, 4096, &hf, err) < 0 ||
		    jv_int(adm, "ha.admission", "cpu_pct", false, 0, 100, &cpct, err) < 0 ||
		    jv_int(adm, "ha.admission", "mem_pct", false, 0, 100, &mpct, err) < 0)
			return -1;
		if (strcmp(apol, "none") && strcmp(apol, "host_failures") && strcmp(apol, "percent"))
			return jv_fail(err, "ha.admission.policy", "must be none, host_failures or percent, not '%s'", apol);
		if (!strcmp(apol, "percent") && !json_object_get(adm, "cpu_pct") && !json_object_get(adm, "mem_pct"))
			return jv_fail(err, "ha.admission", "a percent policy gives cpu_pct, mem_pct or both");
	}
	json_t *pol = json_is_object(cur) ? json_deep_copy(cur) : json_object();
	if (adm) {
		json_t *a = json_pack("{s:s}", "policy", apol);
		if (!strcmp(apol, "host_failures"))
			json_object_set_new(a, "host_failures", json_integer(hf));
		if (!strcmp(apol, "percent")) {
			json_object_set_new(a, "cpu_pct", json_integer(cpct));
			json_object_set_new(a, "mem_pct", json_integer(mpct));
		}
		json_object_set_new(pol, "admission", a);
	}
	json_object_set_new(pol, "enabled", json_boolean(enabled));
	if (prio)
		json_object_set_new(pol, "default_priority", json_string(prio));
	if (iso)
		json_object_set_new(pol, "isolation_response", json_string(iso));
	if (net)
		json_object_set_new(pol, "net_timeout_ms", json_integer(net));
	if (lease)
		json_object_set_new(pol, "lease_ms", json_integer(lease));
	if (json_object_get(in, "margin_ms"))
		json_object_set_new(pol, "margin_ms", json_integer(margin));
	if (json_object_get(in, "max_restarts"))
		json_object_set_new(pol, "max_restarts", json_integer(max_restarts));
	if (window)
		json_object_set_new(pol, "restart_window_s", json_integer(window));
	if (ready_timeout)
		json_object_set_new(pol, "ready_timeout_s", json_integer(ready_timeout));
	/* The network is judged before the lease: a lease shorter than the
	 * network timeout would fail hosts that are only slow to answer. */
	int64_t n = json_integer_value(json_object_get(pol, "net_timeout_ms")) ?: HA_DEFAULT_NET_TIMEOUT_MS;
	int64_t l = json_integer_value(json_object_get(pol, "lease_ms")) ?: HA_DEFAULT_LEASE_MS;
	if (l <= n) {
		json_decref(pol);
		return jv_fail(err, "ha.lease_ms", "%lld ms must be longer than net_timeout_ms (%lld ms)", (long long)l,
		               (long long)n);
	}
	json_object_set_new(doc, "ha", pol);
	return 0;
}

int resource_parse_vm_ha(const json_t *in, json_t *out, struct jv_err *err)
{
	if (!json_is_object(in))
		return jv_fail(err, "ha", "must be an object");
	static const char *const keys[] = {"priority", "isolation_response", "restart_after", NULL};
	const char *prio = NULL, *iso = NULL;
	if (jv_only_keys(in, "ha", keys, err) < 0)
		return -1;
	/* Restart order: the VMs (of its project, by name) it starts after
	 * once they run again; [] or null: none. */
	json_t *ra = json_object_get(in, "restart_after");
	if (ra && !json_is_null(ra)) {
		if (!json_is_array(ra) || json_array_size(ra) > 16)
			return jv_fail(err, "ha.restart_after", "must be a list of at most 16 VM names");
		size_t i;
		json_t *v;
		json_array_foreach(ra, i, v)
			if (!json_is_string(v) || !jv_is_safe_name(json_string_value(v)))
				return jv_fail(err, "ha.restart_after", "item %zu is not a VM name", i);
		json_object_set(out, "restart_after", ra);
	}
	/* null: back to the cluster's (the key goes from the VM). */
	json_t *cleared = json_object();
	for (int i = 0; keys[i]; i++)
		if (json_is_null(json_object_get(in, keys[i])))
			json_object_set_new(cleared, keys[i], json_null());
	json_t *given = json_deep_copy(in);
	for (int i = 0; keys[i]; i++)
		if (json_object_get(cleared, keys[i]))
			json_object_del(given, keys[i]);
	json_object_del(given, "restart_after");
	int rc = jv_string(given, "ha", "priority", false, 16, &prio, err) < 0 ||
	         jv_string(given, "ha", "isolation_response", false, 16, &iso, err) < 0;
	if (rc) {
		json_decref(given);
		json_decref(cleared);
		return -1;
	}
	json_object_update(out, cleared);
	json_decref(cleared);
	if (json_object_size(out) && !prio && !iso) { /* only cleared, or restart_after */
		json_decref(given);
		return 0;
	}
	rc = 0;
	if (!prio && !iso)
		rc = jv_fail(err, "ha", "give priority, isolation_response or restart_after (null: the cluster's)");
	else if (prio && one_of(prio, ha_priorities) < 0)
		rc = jv_fail(err, "ha.priority", "must be high, medium, low or disabled, not '%s'", prio);
	else if (iso && one_of(iso, ha_isolation_responses) < 0)
		rc = jv_fail(err, "ha.isolation_response", "must be leave, shutdown or poweroff, not '%s'", iso);
	if (!rc && prio)
		json_object_set_new(out, "priority", json_string(prio));
	if (!rc && iso)
		json_object_set_new(out, "isolation_response", json_string(iso));
	json_decref(given); /* prio and iso pointed into it */
	return rc;
}
