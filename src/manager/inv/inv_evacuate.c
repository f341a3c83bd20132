/* inv_evacuate.c - the evacuation plan of a host over the index: the
 * snapshot of inv_place (the index's own arrays), with the rules of every
 * group any of the VMs to move belongs to, handed to decide/evacuate_plan. */
#include "evacuate_plan.h"
#include "inv_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void inv_plan_rules_free(struct inv_plan_rules *r)
{
	for (int i = 0; i < r->n; i++) {
		free((void *)r->v[i].members);
		free(r->keys[i]);
	}
	free(r->v);
	free(r->keys);
}

int inv_plan_rule(struct inv *iv, struct inv_plan_rules *r, enum placement_rule_type t, const char *project,
                  const char *name)
{
	char *key = inv_group_key(t, project, name);
	if (!key)
		return -1;
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->keys[i], key)) {
			free(key);
			return i;
		}
	if (r->n == r->cap) {
		int cap = r->cap ? 2 * r->cap : 8;
		struct placement_rule *v = realloc(r->v, sizeof(*v) * (size_t)cap);
		if (v)
			r->v = v;
		char **k = realloc(r->keys, sizeof(*k) * (size_t)cap);
		if (k)
			r->keys = k;
		if (!v || !k) {
			free(key);
			return -1;
		}
		r->cap = cap;
	}
	struct igroup *g = inv_map_get(&iv->groups, key);
	struct placement_member *members = NULL;
	if (g && g->n) {
		if (!(members = malloc(sizeof(*members) * (size_t)g->n))) {
			free(key);
			return -1;
		}
		for (int m = 0; m < g->n; m++)
			members[m] = (struct placement_member){g->m[m]->name, g->m[m]->host ? g->m[m]->host->slot : -1};
	}
	r->v[r->n] = (struct placement_rule){name, t, members, g ? g->n : 0};
	r->keys[r->n] = key;
	return r->n++;
}

int inv_plan_vm(struct inv *iv, struct inv_plan_rules *r, const struct inv_request *q, const char **net_names,
                struct placement_set *networks, int *ids, int *nrules)
{
	for (int i = 0; i < q->nnetworks; i++)
		placement_set_add(networks, inv_request_name(&iv->networks, net_names, q->networks[i] ?: ""));
	for (int t = 0; t < 2; t++) {
		const char *const *names = t ? q->anti_affinity : q->affinity;
		int n = t ? q->nanti_affinity : q->naffinity;
		for (int i = 0; i < n && *nrules < PLACEMENT_MAX_VM_RULES; i++) {
			if (!names[i])
				continue;
			int ri = inv_plan_rule(iv, r, t ? PLACEMENT_ANTI_AFFINITY : PLACEMENT_AFFINITY, q->project_id, names[i]);
			if (ri < 0)
				return -1;
			ids[(*nrules)++] = ri;
		}
	}
	return 0;
}

json_t *inv_evacuate(struct inv *iv, const char *host_id, const struct inv_request *vms, int nvms, char *err,
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
	struct evacuate_vm *ev = calloc((size_t)(nvms ? nvms : 1), sizeof(*ev));
	int *rule_ids = calloc((size_t)(nvms ? nvms : 1) * PLACEMENT_MAX_VM_RULES, sizeof(*rule_ids));
	struct evacuate_move *moves = calloc((size_t)(nvms ? nvms : 1), sizeof(*moves));
	if (!ev || !rule_ids || !moves) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	for (int k = 0; k < nvms; k++) {
		const struct inv_request *q = &vms[k];
		int *ids = rule_ids + (size_t)k * PLACEMENT_MAX_VM_RULES;
		ev[k] = (struct evacuate_vm){.name = q->vm, .vcpus = q->vcpus, .memory_mib = q->memory_mib,
		                             .reserve_cpu_pct = q->reserve_cpu_pct,
		                             .reserve_memory_mib = q->reserve_memory_mib,
		                             .datastore = q->datastore ? inv_request_name(&iv->datastores, ds_names, q->datastore)
		                                                       : -1,
		                             .rules = ids};
		if (inv_plan_vm(iv, &rules, q, net_names, &ev[k].networks, ids, &ev[k].nrules) < 0) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	struct placement_cluster none = {"none", 1, 1, PLACEMENT_PACK};
	struct placement_snapshot s = {
		iv->ph, iv->nhosts, iv->nclusters ? iv->pc : &none, iv->nclusters ? iv->nclusters : 1,
		rules.v, rules.n, ds_names, PLACEMENT_SET_BITS, net_names, PLACEMENT_SET_BITS};
	struct evacuate_plan p;
	if (evacuate_plan(&s, h->slot, ev, nvms, moves, &p) < 0) {
		snprintf(err, errlen, "%s", p.reason);
		goto done;
	}
	json_t *mv = json_array();
	for (int i = 0; i < p.nmoves; i++)
		json_array_append_new(mv, json_pack("{s:i, s:s, s:s, s:s}", "i", moves[i].vm, "to_id",
		                                    iv->hostv[moves[i].host]->id, "to", iv->hostv[moves[i].host]->name,
		                                    "reason", moves[i].reason));
	out = json_pack("{s:s, s:s, s:b, s:i, s:s, s:o}", "host", h->name, "host_id", h->id, "refused", p.stuck >= 0,
	                "stuck", p.stuck, "reason", p.reason, "moves", mv);
done:
	inv_plan_rules_free(&rules);
	free(moves);
	free(rule_ids);
	free(ev);
	return out;
}
