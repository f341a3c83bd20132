/* place.c - store → placement snapshot → decision → JSON report. Names are
 * interned to the small ids the pure placement code wants. */
#include "place.h"

#include "placement.h"

#include <stdlib.h>
#include <string.h>

struct names {
	const char *v[PLACEMENT_SET_BITS];
	int n;
};

/* The id of a name, added if new (-1 when the set is full). */
static int intern(struct names *ns, const char *s)
{
	for (int i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], s))
			return i;
	if (ns->n == PLACEMENT_SET_BITS)
		return -1;
	ns->v[ns->n] = s;
	return ns->n++;
}

/* Reads every object of a kind (all pages) into one JSON array. */
static json_t *load_all(struct store *st, enum store_kind k, struct errinfo *e)
{
	json_t *all = json_array();
	char *after = NULL;
	do {
		char *next = NULL;
		char *text = store_list_text(st, k, NULL, 0, after, 1000, &next, e);
		free(after);
		after = next;
		if (!text) {
			free(after);
			json_decref(all);
			return NULL;
		}
		json_t *page = json_loads(text, 0, NULL);
		free(text);
		json_array_extend(all, page);
		json_decref(page);
	} while (after);
	return all;
}

static int index_of(json_t *arr, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "id")) ?: "", id ?: ""))
			return (int)i;
	return -1;
}

struct group {
	const char *name;
	enum placement_rule_type type;
	struct placement_member *members;
	int n, cap;
};

static struct group *group_get(struct group **gs, int *ng, const char *name, enum placement_rule_type t)
{
	for (int i = 0; i < *ng; i++)
		if ((*gs)[i].type == t && !strcmp((*gs)[i].name, name))
			return &(*gs)[i];
	*gs = realloc(*gs, (size_t)(*ng + 1) * sizeof(**gs));
	(*gs)[*ng] = (struct group){.name = name, .type = t};
	return &(*gs)[(*ng)++];
}

static void group_add(struct group *g, const char *vm, int host)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->members = realloc(g->members, (size_t)g->cap * sizeof(*g->members));
	}
	g->members[g->n++] = (struct placement_member){vm, host};
}

int place_vm(struct store *st, const json_t *req, json_t **host_doc, json_t **report,
             struct errinfo *e)
{
	int rc = -1;
	*host_doc = *report = NULL;
	json_t *hosts = load_all(st, STORE_HOST, e);
	json_t *clusters = hosts ? load_all(st, STORE_CLUSTER, e) : NULL;
	json_t *vms = clusters ? load_all(st, STORE_VM, e) : NULL;
	struct placement_host *ph = NULL;
	struct placement_cluster *pc = NULL;
	struct placement_rule *rules = NULL;
	struct group *groups = NULL;
	int ngroups = 0;
	int req_rules[PLACEMENT_MAX_VM_RULES];
	struct placement_result r = {0};
	struct names dsn = {0}, netn = {0};
	if (!vms)
		goto cleanup;
	int nh = (int)json_array_size(hosts), nc = (int)json_array_size(clusters);
	if (nh == 0) {
		errinfo_set(e, 409, "no_host", NULL, "no host has joined yet: make a join token "
		            "(POST /api/v1/hosts/join-tokens) and start an agent with it");
		goto cleanup;
	}
	pc = calloc((size_t)(nc ? nc : 1), sizeof(*pc));
	ph = calloc((size_t)nh, sizeof(*ph));
	size_t i;
	json_t *v;
	json_array_foreach(clusters, i, v) {
		pc[i].name = json_string_value(json_object_get(v, "name"));
		pc[i].cpu_overcommit = json_number_value(json_object_get(v, "cpu_overcommit"));
		pc[i].mem_overcommit = json_number_value(json_object_get(v, "mem_overcommit"));
		pc[i].policy = !strcmp(json_string_value(json_object_get(v, "policy")) ?: "", "spread")
		                   ? PLACEMENT_SPREAD : PLACEMENT_PACK;
	}
	json_array_foreach(hosts, i, v) {
		const char *state = json_string_value(json_object_get(v, "state")) ?: "";
		ph[i].name = json_string_value(json_object_get(v, "name"));
		ph[i].cluster = index_of(clusters, json_string_value(json_object_get(v, "cluster_id")));
		if (ph[i].cluster < 0) { /* its cluster is gone: never a candidate */
			ph[i].cluster = 0;
			state = "disconnected";
		}
		ph[i].state = !strcmp(state, "connected") ? PLACEMENT_CONNECTED
		              : !strcmp(state, "maintenance") ? PLACEMENT_MAINTENANCE : PLACEMENT_DISCONNECTED;
		json_t *cap = json_object_get(v, "capacity");
		ph[i].cpus = (int)json_integer_value(json_object_get(cap, "cpus"));
		ph[i].memory_mib = json_integer_value(json_object_get(cap, "memory_mib"));
		size_t k;
		json_t *d;
		json_array_foreach(json_object_get(v, "datastores"), k, d)
			placement_set_add(&ph[i].datastores, intern(&dsn, json_string_value(json_object_get(d, "name")) ?: ""));
		json_array_foreach(json_object_get(v, "bridges"), k, d)
			placement_set_add(&ph[i].networks, intern(&netn, json_string_value(d) ?: ""));
	}
	if (nc == 0) { /* hosts without clusters cannot exist, but stay safe */
		pc[0] = (struct placement_cluster){"none", 1, 1, PLACEMENT_PACK};
		nc = 1;
	}
	/* Allocations and rule groups from every VM already placed. */
	json_array_foreach(vms, i, v) {
		int h = index_of(hosts, json_string_value(json_object_get(v, "host_id")));
		json_t *cfg = json_object_get(v, "config");
		if (h >= 0) {
			ph[h].alloc_vcpus += (int)json_integer_value(json_object_get(cfg, "vcpus"));
			ph[h].alloc_memory_mib += json_integer_value(json_object_get(cfg, "memory_mib"));
		}
		json_t *pg = json_object_get(v, "placement_groups");
		size_t k;
		json_t *g;
		json_array_foreach(json_object_get(pg, "affinity"), k, g)
			group_add(group_get(&groups, &ngroups, json_string_value(g), PLACEMENT_AFFINITY),
			          json_string_value(json_object_get(v, "name")), h);
		json_array_foreach(json_object_get(pg, "anti_affinity"), k, g)
			group_add(group_get(&groups, &ngroups, json_string_value(g), PLACEMENT_ANTI_AFFINITY),
			          json_string_value(json_object_get(v, "name")), h);
	}
	struct placement_request q = {
		.vm = json_string_value(json_object_get(req, "name")),
		.vcpus = (int)json_integer_value(json_object_get(req, "vcpus")),
		.memory_mib = json_integer_value(json_object_get(req, "memory_mib")),
		.datastore = intern(&dsn, json_string_value(json_object_get(req, "datastore")) ?: "local"),
		.cluster = json_object_get(req, "cluster_id")
		               ? index_of(clusters, json_string_value(json_object_get(req, "cluster_id"))) : -1,
		.rules = req_rules,
	};
	json_array_foreach(json_object_get(req, "bridges"), i, v)
		placement_set_add(&q.networks, intern(&netn, json_string_value(v)));
	/* The request's own groups become rules (even with no member yet). */
	static const char *const keys[] = {"affinity", "anti_affinity"};
	for (int t = 0; t < 2; t++) {
		json_array_foreach(json_object_get(req, keys[t]), i, v) {
			if (q.nrules == PLACEMENT_MAX_VM_RULES)
				break;
			struct group *g = group_get(&groups, &ngroups, json_string_value(v),
			                            t ? PLACEMENT_ANTI_AFFINITY : PLACEMENT_AFFINITY);
			req_rules[q.nrules++] = (int)(g - groups);
		}
	}
	rules = calloc((size_t)(ngroups ? ngroups : 1), sizeof(*rules));
	for (int g = 0; g < ngroups; g++)
		rules[g] = (struct placement_rule){groups[g].name, groups[g].type, groups[g].members, groups[g].n};
	struct placement_snapshot s = {ph, nh, pc, nc, rules, ngroups, dsn.v, dsn.n, netn.v, netn.n};
	if (placement_result_init(&r, nh) < 0) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto cleanup;
	}
	int prc = placement_choose_host(&s, &q, &r);
	if (prc < 0) {
		errinfo_set(e, 500, "placement", NULL, "placement failed: %s", placement_strerror(prc));
		goto cleanup;
	}
	char buf[1024];
	placement_format_summary(&s, &q, &r, buf, sizeof(buf));
	json_t *per = json_array();
	for (int h = 0; h < nh; h++) {
		char why[512];
		placement_format_verdict(&s, &q, &r, h, why, sizeof(why));
		json_t *o = json_pack("{s:s, s:b, s:s, s:s}", "host", ph[h].name, "eligible",
		                      r.verdicts[h].filter == PLACEMENT_OK, "filter",
		                      placement_filter_name(r.verdicts[h].filter), "reason", why);
		if (r.verdicts[h].filter == PLACEMENT_OK) {
			json_object_set_new(o, "rank", json_integer(r.verdicts[h].rank));
			json_object_set_new(o, "score", json_real(r.verdicts[h].score / (double)PLACEMENT_SCORE_MAX));
		}
		json_array_append_new(per, o);
	}
	*report = json_pack("{s:s?, s:s, s:o}", "host", r.host >= 0 ? ph[r.host].name : NULL, "summary",
	                    buf, "hosts", per);
	if (r.host < 0) {
		errinfo_set(e, 409, "no_host", NULL, "%s", buf);
		goto cleanup;
	}
	*host_doc = json_incref(json_array_get(hosts, (size_t)r.host));
	rc = 0;
cleanup:
	placement_result_free(&r);
	for (int g = 0; g < ngroups; g++)
		free(groups[g].members);
	free(groups);
	free(rules);
	free(ph);
	free(pc);
	json_decref(hosts);
	json_decref(clusters);
	json_decref(vms);
	return rc;
}
