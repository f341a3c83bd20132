/* inv_ha.c - HA's restart plan for a failed host over the index: the
 * snapshot of inv_place (the index's own arrays), with the rules of every
 * group any of the VMs to restart belongs to, handed to decide/ha_plan. */
#include "ha_plan.h"
#include "inv_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *inv_ha_plan(struct inv *iv, const char *host_id, const struct inv_ha_request *vms, int nvms, char *err,
                    size_t errlen)
{
	struct ihost *h = host_id ? inv_map_get(&iv->hosts, host_id) : NULL;
	if (!h) {
		snprintf(err, errlen, "the inventory has no host '%s'", host_id ? host_id : "");
		return NULL;
	}
	json_t *out = NULL;
	const char *ds_names[PLACEMENT_SET_BITS], *net_names[PLACEMENT_SET_BITS];
	memcpy(ds_names, iv->datastores.v, sizeof(ds_names));
	memcpy(net_names, iv->networks.v, sizeof(net_names));
	struct inv_plan_rules rules = {0};
	size_t n = (size_t)(nvms ? nvms : 1);
	struct ha_vm *hv = calloc(n, sizeof(*hv));
	int *rule_ids = calloc(n * PLACEMENT_MAX_VM_RULES, sizeof(*rule_ids));
	struct ha_restart *restarts = calloc(n, sizeof(*restarts));
	struct ha_skip *skipped = calloc(n, sizeof(*skipped));
	if (!hv || !rule_ids || !restarts || !skipped) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	for (int k = 0; k < nvms; k++) {
		const struct inv_request *q = &vms[k].q;
		struct icluster *c = q->cluster_id ? inv_map_get(&iv->clusters, q->cluster_id) : NULL;
		int *ids = rule_ids + (size_t)k * PLACEMENT_MAX_VM_RULES;
		hv[k] = (struct ha_vm){.name = q->vm, .host = h->slot, .priority = vms[k].priority, .vcpus = q->vcpus,
		                       .memory_mib = q->memory_mib, .reserve_cpu_pct = q->reserve_cpu_pct,
		                       .reserve_memory_mib = q->reserve_memory_mib,
		                       .datastore = q->datastore ? inv_request_name(&iv->datastores, ds_names, q->datastore)
		                                                 : -1,
		                       .rules = ids, .cluster = c ? c->slot : -1, .after = vms[k].after,
		                       .nafter = vms[k].nafter};
		if (inv_plan_vm(iv, &rules, q, net_names, &hv[k].networks, ids, &hv[k].nrules) < 0) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	struct placement_cluster none = {"none", 1, 1, PLACEMENT_PACK};
	struct placement_snapshot s = {
		iv->ph, iv->nhosts, iv->nclusters ? iv->pc : &none, iv->nclusters ? iv->nclusters : 1,
		rules.v, rules.n, ds_names, PLACEMENT_SET_BITS, net_names, PLACEMENT_SET_BITS};
	struct ha_plan p;
	if (ha_plan_restarts(&s, hv, nvms, restarts, skipped, &p) < 0) {
		snprintf(err, errlen, "%s", p.reason);
		goto done;
	}
	json_t *rs = json_array(), *sk = json_array();
	for (int i = 0; i < p.nrestarts; i++)
		json_array_append_new(rs, json_pack("{s:i, s:s, s:s, s:i, s:s}", "i", restarts[i].vm, "to_id",
		                                    iv->hostv[restarts[i].host]->id, "to", iv->hostv[restarts[i].host]->name,
		                                    "wave", restarts[i].wave, "reason", restarts[i].reason));
	for (int i = 0; i < p.nskipped; i++)
		json_array_append_new(sk, json_pack("{s:i, s:s, s:s}", "i", skipped[i].vm, "why", ha_skip_name(skipped[i].why),
		                                    "reason", skipped[i].reason));
	out = json_pack("{s:o, s:o, s:i, s:s}", "restarts", rs, "skipped", sk, "waves", p.nwaves, "reason", p.reason);
done:
	inv_plan_rules_free(&rules);
	free(skipped);
	free(restarts);
	free(rule_ids);
	free(hv);
	return out;
}
