/* api_clusters.c - PATCH /api/v1/clusters/{id}: an administrator changes a
 * cluster's overcommit ratios, placement policy, live migration policy or
 * description (its list,
 * get, create and delete are api_inventory.c's). The inventory index and
 * live streams follow the commit as they follow every other; placement
 * uses the new ratios from the next decision on. */
#include "api.h"

#include "log.h"
#include "resources.h"

#include <stdio.h>
#include <string.h>

/* "cpu_overcommit 4 -> 8, policy pack -> spread": the audit event's detail. */
static void describe_change(const json_t *was, const json_t *now, char *buf, size_t n)
{
	static const char *const keys[] = {"cpu_overcommit", "mem_overcommit", "policy", "description"};
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < 4 && o < n; i++) {
		json_t *a = json_object_get(was, keys[i]), *b = json_object_get(now, keys[i]);
		/* A ratio seeded as 1 and written back as 1.0 is no change. */
		if ((!a && !b) || (a && b && json_equal(a, b)) ||
		    (json_is_number(a) && json_is_number(b) && json_number_value(a) == json_number_value(b)))
			continue;
		char x[64], y[64];
		if (json_is_number(b) || json_is_number(a)) {
			snprintf(x, sizeof(x), "%g", json_number_value(a));
			snprintf(y, sizeof(y), "%g", json_number_value(b));
		} else {
			snprintf(x, sizeof(x), "%s", a ? (i == 3 ? "(text)" : json_string_value(a)) : "(none)");
			snprintf(y, sizeof(y), "%s", b ? (i == 3 ? "(text)" : json_string_value(b)) : "(none)");
		}
		o += (size_t)snprintf(buf + o, n - o, "%s%s %s -> %s", o ? ", " : "", keys[i], x, y);
	}
	if (!json_equal(json_object_get(was, "migration") ?: json_null(), json_object_get(now, "migration") ?: json_null()) &&
	    o < n)
		o += (size_t)snprintf(buf + o, n - o, "%smigration policy changed", o ? ", " : "");
	if (!buf[0])
		snprintf(buf, n, "no change");
}

int cpu_baseline_check_hosts(struct store *st, const char *cluster_id, const char *model, struct errinfo *e)
{
	struct store_filter f = {"cluster_id", cluster_id};
	json_t *hosts = store_list_all(st, STORE_HOST, &f, 1, e);
	if (!hosts)
		return -1;
	char lacking[600] = "";
	int n = 0;
	size_t i;
	json_t *h;
	json_array_foreach(hosts, i, h) {
		if (cpu_models_offer(json_object_get(h, "cpu_models"), model))
			continue;
		size_t at = strlen(lacking);
		snprintf(lacking + at, sizeof(lacking) - at, "%s%s", n++ ? ", " : "",
		         json_string_value(json_object_get(h, "name")) ?: "?");
	}
	json_decref(hosts);
	if (n)
		return errinfo_set(e, 409, "cpu_baseline_unsupported", "cpu_baseline",
		                   "CPU model '%s' is not offered by %d host%s of the cluster (%s): choose a model every "
		                   "host lists in its cpu_models (GET /api/v1/hosts/{id})", model, n, n == 1 ? "" : "s",
		                   lacking);
	return 0;
}

bool cpu_models_offer(const json_t *models, const char *model)
{
	size_t i;
	json_t *m;
	json_array_foreach(models, i, m)
		if (!strcmp(json_string_value(m) ?: "", model))
			return true;
	return false;
}

/* A new baseline every host of the cluster offers, or none. */
static int check_baseline(struct mgr *m, const json_t *was, json_t *doc, struct errinfo *e)
{
	const char *base = json_string_value(json_object_get(doc, "cpu_baseline"));
	if (base && !json_equal(json_object_get(doc, "cpu_baseline"), json_object_get(was, "cpu_baseline")))
		return cpu_baseline_check_hosts(m->st, json_string_value(json_object_get(was, "id")), base, e);
	return 0;
}

void api_clusters_update(struct http_req *req)
{
	static const struct mgr_update u = {STORE_CLUSTER, "cluster.update", "cluster", resource_parse_cluster_update,
	                                    check_baseline, describe_change};
	json_t *stored = mgr_update_object(req, &u);
	if (stored)
		http_reply_json(req, 200, stored);
}
