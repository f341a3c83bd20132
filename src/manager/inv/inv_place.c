/* inv_place.c - placement over the index: the snapshot points at the
 * index's own arrays (no copy of the fleet), rules are built for the
 * request's groups only, and the report is bounded: the best few eligible
 * hosts and a few examples of each reason, with the count of each. */
#include "inv_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int inv_request_name(const struct inv_names *n, const char **names, const char *name)
{
	int id = inv_names_find(n, name);
	for (int i = 0; i < PLACEMENT_SET_BITS && id < 0; i++)
		if (names[i] && !strcmp(names[i], name))
			id = i;
	for (int i = 0; i < PLACEMENT_SET_BITS && id < 0; i++)
		if (!names[i]) {
			names[i] = name;
			id = i;
		}
	return id;
}

static json_t *host_entry(const struct placement_snapshot *s, const struct placement_request *pq,
                          const struct placement_result *r, int h)
{
	char why[512];
	placement_format_verdict(s, pq, r, h, why, sizeof(why));
	const struct placement_verdict *v = &r->verdicts[h];
	json_t *o = json_pack("{s:s?, s:b, s:s, s:s}", "host", s->hosts[h].name, "eligible",
	                      v->filter == PLACEMENT_OK, "filter", placement_filter_name(v->filter),
	                      "reason", why);
	if (v->filter == PLACEMENT_OK) {
		json_object_set_new(o, "rank", json_integer(v->rank));
		json_object_set_new(o, "score", json_real(v->score / (double)PLACEMENT_SCORE_MAX));
	}
	return o;
}

static json_t *report_of(const struct placement_snapshot *s, const struct placement_request *pq,
                         const struct placement_result *r, struct inv_report_limits lim)
{
	char summary[1024];
	placement_format_summary(s, pq, r, summary, sizeof(summary));
	json_t *hosts = json_array(), *rejected = json_object();
	for (int k = 0; k < r->nordered; k++)
		json_array_append_new(hosts, host_entry(s, pq, r, r->order[k]));
	/* A few examples of each reason, in host order: one pass over the
	 * verdicts that stops once every reason has its examples. */
	int shown[PLACEMENT_NFILTERS] = {0}, want = 0;
	for (int f = 1; f < PLACEMENT_NFILTERS; f++) {
		if (r->count[f])
			json_object_set_new(rejected, placement_filter_name((enum placement_filter)f),
			                    json_integer(r->count[f]));
		want += r->count[f] < lim.examples ? r->count[f] : lim.examples;
	}
	for (int h = 0; h < s->nhosts && want > 0; h++) {
		enum placement_filter f = r->verdicts[h].filter;
		if (f == PLACEMENT_OK || shown[f] >= lim.examples)
			continue;
		shown[f]++;
		want--;
		json_array_append_new(hosts, host_entry(s, pq, r, h));
	}
	return json_pack("{s:s?, s:s, s:i, s:i, s:o, s:o}", "host",
	                 r->host >= 0 ? s->hosts[r->host].name : NULL, "summary", summary, "eligible",
	                 r->neligible, "hosts_total", s->nhosts, "rejected", rejected, "hosts", hosts);
}

enum inv_place_outcome inv_place(struct inv *iv, const struct inv_request *q,
                                 struct inv_report_limits lim, json_t **report, char **host_id,
                                 char *err, size_t errlen)
{
	*report = NULL;
	*host_id = NULL;
	if (iv->nhosts == 0) {
		snprintf(err, errlen, "the inventory has no hosts");
		return INV_NO_HOSTS;
	}
	if (iv->result.max_hosts < iv->hosts_cap) {
		placement_result_free(&iv->result);
		if (placement_result_init(&iv->result, iv->hosts_cap) < 0) {
			snprintf(err, errlen, "out of memory");
			return INV_PLACE_ERROR;
		}
	}
	struct placement_result *r = &iv->result;
	r->top = lim.top > 0 ? lim.top : 1;
	const char *ds_names[PLACEMENT_SET_BITS], *net_names[PLACEMENT_SET_BITS];
	memcpy(ds_names, iv->datastores.v, sizeof(ds_names));
	memcpy(net_names, iv->networks.v, sizeof(net_names));
	struct icluster *c = q->cluster_id ? inv_map_get(&iv->clusters, q->cluster_id) : NULL;
	int req_rules[PLACEMENT_MAX_VM_RULES];
	struct placement_rule rules[PLACEMENT_MAX_VM_RULES];
	struct placement_member *members[PLACEMENT_MAX_VM_RULES] = {0};
	struct placement_request pq = {
		.vm = q->vm,
		.vcpus = q->vcpus,
		.memory_mib = q->memory_mib,
		.reserve_cpu_pct = q->reserve_cpu_pct,
		.reserve_memory_mib = q->reserve_memory_mib,
		.datastore = q->datastore ? inv_request_name(&iv->datastores, ds_names, q->datastore) : -1,
		.cluster = c ? c->slot : -1,
		.rules = req_rules,
	};
	struct ihost *from = q->moving_from ? inv_map_get(&iv->hosts, q->moving_from) : NULL;
	if (from) {
		pq.moving = true;
		pq.moving_from = from->slot;
	}
	for (int i = 0; i < q->nnetworks; i++)
		placement_set_add(&pq.networks, inv_request_name(&iv->networks, net_names, q->networks[i] ?: ""));
	/* The request's groups become rules (even with no member yet). */
	for (int t = 0; t < 2; t++) {
		const char *const *names = t ? q->anti_affinity : q->affinity;
		int n = t ? q->nanti_affinity : q->naffinity;
		for (int i = 0; i < n && pq.nrules < PLACEMENT_MAX_VM_RULES; i++) {
			if (!names[i])
				continue;
			char *key = inv_group_key(t ? PLACEMENT_ANTI_AFFINITY : PLACEMENT_AFFINITY, q->project_id, names[i]);
			struct igroup *g = inv_map_get(&iv->groups, key);
			free(key);
			int k = pq.nrules++;
			rules[k] = (struct placement_rule){names[i], t ? PLACEMENT_ANTI_AFFINITY : PLACEMENT_AFFINITY,
			                                   NULL, 0};
			if (g && g->n) {
				members[k] = malloc((size_t)g->n * sizeof(*members[k]));
				if (!members[k])
					abort();
				for (int m = 0; m < g->n; m++)
					members[k][m] = (struct placement_member){
						g->m[m]->name, g->m[m]->host ? g->m[m]->host->slot : -1};
				rules[k].members = members[k];
				rules[k].nmembers = g->n;
			}
			req_rules[k] = k;
		}
	}
	/* Hosts whose cluster is gone point at cluster 0: a cluster must exist. */
	struct placement_cluster none = {"none", 1, 1, PLACEMENT_PACK};
	struct placement_snapshot s = {
		iv->ph, iv->nhosts, iv->nclusters ? iv->pc : &none, iv->nclusters ? iv->nclusters : 1,
		rules, pq.nrules, ds_names, PLACEMENT_SET_BITS, net_names, PLACEMENT_SET_BITS};
	enum inv_place_outcome out;
	int prc = placement_choose_host(&s, &pq, r);
	if (prc < 0) {
		snprintf(err, errlen, "%s", placement_strerror(prc));
		out = INV_PLACE_ERROR;
	} else {
		struct ihost *only = q->only_host ? inv_map_get(&iv->hosts, q->only_host) : NULL;
		if (q->only_host)
			r->host = only && r->verdicts[only->slot].filter == PLACEMENT_OK ? only->slot : -1;
		*report = report_of(&s, &pq, r, lim);
		if (q->only_host && r->host < 0) {
			/* The host asked for, and why it cannot take the VM. */
			char why[512];
			if (only)
				placement_format_verdict(&s, &pq, r, only->slot, why, sizeof(why));
			char sum[700];
			snprintf(sum, sizeof(sum), "host %s cannot take it: %s", only ? only->name : q->only_host,
			         only ? why : "no such host");
			json_object_set_new(*report, "summary", json_string(sum));
		} else if (q->only_host) {
			json_object_set_new(*report, "host", json_string(only->name));
		}
		if (r->host >= 0) {
			*host_id = strdup(iv->hostv[r->host]->id);
			if (!*host_id)
				abort();
		}
		out = r->host >= 0 ? INV_PLACED : INV_NO_FIT;
	}
	for (int k = 0; k < pq.nrules; k++)
		free(members[k]);
	return out;
}
