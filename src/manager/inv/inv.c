/* inv.c - the inventory index: documents in, the placement snapshot's dense
 * arrays and the maps behind them kept in step. Out of memory aborts: an
 * index that silently misses a change would place VMs on full hosts. */
#include "inv_impl.h"

#include "pool_admission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "inventory index: out of memory\n");
		abort();
	}
	return p;
}

static char *dup_or_null(const char *s)
{
	return s ? must(strdup(s)) : NULL;
}

static const char *str(const json_t *doc, const char *key)
{
	return json_string_value(json_object_get(doc, key));
}

struct inv *inv_new(void)
{
	return must(calloc(1, sizeof(struct inv)));
}

int inv_count(const struct inv *iv, enum inv_kind k)
{
	return k == INV_CLUSTER ? iv->nclusters : k == INV_HOST ? iv->nhosts : (int)iv->vms.n;
}

/* ---- names ---- */

int inv_names_find(const struct inv_names *n, const char *name)
{
	for (int i = 0; i < PLACEMENT_SET_BITS; i++)
		if (n->v[i] && !strcmp(n->v[i], name))
			return i;
	return -1;
}

/* The id of name with one more reference, or -1 when all ids are taken
 * (the host then does not reach it, as before the index). */
static int names_acquire(struct inv_names *n, const char *name)
{
	int id = inv_names_find(n, name);
	if (id < 0)
		for (int i = 0; i < PLACEMENT_SET_BITS && id < 0; i++)
			if (!n->v[i]) {
				id = i;
				n->v[i] = must(strdup(name));
			}
	if (id >= 0)
		n->refs[id]++;
	return id;
}

static void names_release_set(struct inv_names *n, const struct placement_set *s)
{
	for (int i = 0; i < PLACEMENT_SET_BITS; i++)
		if (placement_set_has(s, i) && --n->refs[i] == 0) {
			free(n->v[i]);
			n->v[i] = NULL;
		}
}

static void names_add(struct inv_names *n, struct placement_set *s, const char *name)
{
	if (!name)
		return;
	int id = inv_names_find(n, name);
	if (id >= 0 && placement_set_has(s, id))
		return;
	placement_set_add(s, names_acquire(n, name));
}

/* ---- tombstones: ids deleted lately, so that a late update of one is not
 * taken for a new object ---- */

static char *tomb_key(enum inv_kind k, const char *id)
{
	size_t n = strlen(id) + 3;
	char *key = must(malloc(n));
	snprintf(key, n, "%d:%s", (int)k, id);
	return key;
}

static bool tombstoned(struct inv *iv, enum inv_kind k, const char *id)
{
	if (iv->tombs.n == 0)
		return false;
	char *key = tomb_key(k, id);
	bool dead = inv_map_get(&iv->tombs, key) != NULL;
	free(key);
	return dead;
}

static void tomb_add(struct inv *iv, enum inv_kind k, const char *id)
{
	char *key = tomb_key(k, id);
	if (inv_map_get(&iv->tombs, key)) {
		free(key);
		return;
	}
	char *old = iv->tomb_ring[iv->tomb_next];
	if (old) {
		inv_map_del(&iv->tombs, old);
		free(old);
	}
	iv->tomb_ring[iv->tomb_next] = key;
	iv->tomb_next = (iv->tomb_next + 1) % INV_TOMBSTONES;
	if (inv_map_put(&iv->tombs, key, key) < 0)
		must(NULL);
}

/* True when a document of this version is older than the one held. */
static bool stale(int64_t held, const json_t *doc)
{
	int64_t v = json_integer_value(json_object_get(doc, "version"));
	return held > 0 && v > 0 && v <= held;
}

/* ---- clusters ---- */

/* Points a host's snapshot entry at its cluster; a host whose cluster is
 * gone is never a candidate (disconnected, cluster 0), nor is one HA
 * judges other than connected in a cluster with HA on (silent, isolated,
 * failed...: HA notices in seconds, the heartbeat's liveness only after
 * its timeout, and a failed host's VMs must not be restarted onto another
 * host that is going down with it). */
static void host_resolve(struct inv *iv, struct ihost *h)
{
	struct placement_host *p = &iv->ph[h->slot];
	struct icluster *c = h->cluster_id ? inv_map_get(&iv->clusters, h->cluster_id) : NULL;
	p->cluster = c ? c->slot : 0;
	p->state = c && !(c->ha_on && h->ha_out) ? h->state : PLACEMENT_DISCONNECTED;
}

static void hosts_resolve(struct inv *iv)
{
	for (int i = 0; i < iv->nhosts; i++)
		host_resolve(iv, iv->hostv[i]);
}

static void cluster_apply(struct inv *iv, const char *id, const json_t *doc)
{
	struct icluster *c = inv_map_get(&iv->clusters, id);
	if (!doc) {
		if (!c)
			return;
		inv_map_del(&iv->clusters, id);
		int last = --iv->nclusters;
		if (c->slot != last) {
			iv->pc[c->slot] = iv->pc[last];
			iv->clusterv[c->slot] = iv->clusterv[last];
			iv->clusterv[c->slot]->slot = c->slot;
		}
		free(c->id);
		free(c->name);
		free(c);
		hosts_resolve(iv);
		return;
	}
	if (c && stale(c->version, doc))
		return;
	bool fresh = !c;
	if (fresh) {
		c = must(calloc(1, sizeof(*c)));
		c->id = must(strdup(id));
		if (iv->nclusters == iv->clusters_cap) {
			iv->clusters_cap = iv->clusters_cap ? iv->clusters_cap * 2 : 8;
			iv->pc = must(realloc(iv->pc, (size_t)iv->clusters_cap * sizeof(*iv->pc)));
			iv->clusterv = must(realloc(iv->clusterv, (size_t)iv->clusters_cap * sizeof(*iv->clusterv)));
		}
		c->slot = iv->nclusters++;
		iv->clusterv[c->slot] = c;
		if (inv_map_put(&iv->clusters, c->id, c) < 0)
			must(NULL);
	}
	free(c->name);
	c->name = dup_or_null(str(doc, "name"));
	c->version = json_integer_value(json_object_get(doc, "version"));
	iv->pc[c->slot] = (struct placement_cluster){
		.name = c->name,
		.cpu_overcommit = json_number_value(json_object_get(doc, "cpu_overcommit")),
		.mem_overcommit = json_number_value(json_object_get(doc, "mem_overcommit")),
		.policy = !strcmp(str(doc, "policy") ?: "", "spread") ? PLACEMENT_SPREAD : PLACEMENT_PACK,
	};
	bool ha_on = json_is_true(json_object_get(json_object_get(doc, "ha"), "enabled"));
	bool ha_changed = ha_on != c->ha_on;
	c->ha_on = ha_on;
	if (fresh || ha_changed)
		hosts_resolve(iv);
}

/* ---- VMs on hosts ---- */

static void vm_attach(struct inv *iv, struct ivm *v)
{
	struct ihost *h = v->host_id ? inv_map_get(&iv->hosts, v->host_id) : NULL;
	v->host = h;
	if (!h) {
		iv->norphans += v->host_id != NULL;
		return;
	}
	v->hprev = NULL;
	v->hnext = h->vms;
	if (h->vms)
		h->vms->hprev = v;
	h->vms = v;
	h->nvms++;
	iv->ph[h->slot].alloc_vcpus += v->vcpus;
	iv->ph[h->slot].alloc_memory_mib += v->memory_mib;
	if (v->holds) {
		iv->ph[h->slot].reserved_cpu_pct += v->reserve_cpu_pct;
		iv->ph[h->slot].reserved_memory_mib += v->reserve_memory_mib;
	}
}

static void vm_detach(struct inv *iv, struct ivm *v)
{
	struct ihost *h = v->host;
	if (!h) {
		iv->norphans -= v->host_id != NULL;
		return;
	}
	if (v->hprev)
		v->hprev->hnext = v->hnext;
	else
		h->vms = v->hnext;
	if (v->hnext)
		v->hnext->hprev = v->hprev;
	v->hprev = v->hnext = NULL;
	h->nvms--;
	iv->ph[h->slot].alloc_vcpus -= v->vcpus;
	iv->ph[h->slot].alloc_memory_mib -= v->memory_mib;
	if (v->holds) {
		iv->ph[h->slot].reserved_cpu_pct -= v->reserve_cpu_pct;
		iv->ph[h->slot].reserved_memory_mib -= v->reserve_memory_mib;
	}
	v->host = NULL;
}

/* ---- hosts ---- */

static void host_set(struct inv *iv, struct ihost *h, const json_t *doc)
{
	struct placement_host *p = &iv->ph[h->slot];
	free(h->name);
	free(h->cluster_id);
	h->name = dup_or_null(str(doc, "name"));
	h->cluster_id = dup_or_null(str(doc, "cluster_id"));
	h->version = json_integer_value(json_object_get(doc, "version"));
	h->last_heartbeat = json_integer_value(json_object_get(doc, "last_heartbeat_epoch"));
	const char *state = str(doc, "state") ?: "";
	h->state = !strcmp(state, "connected") ? PLACEMENT_CONNECTED
	           : !strcmp(state, "maintenance") ? PLACEMENT_MAINTENANCE : PLACEMENT_DISCONNECTED;
	const char *ha = str(json_object_get(doc, "ha"), "state");
	h->ha_out = ha && strcmp(ha, "connected");
	json_t *cap = json_object_get(doc, "capacity");
	p->name = h->name;
	p->cpus = (int)json_integer_value(json_object_get(cap, "cpus"));
	p->memory_mib = json_integer_value(json_object_get(cap, "memory_mib"));
	/* The new names first, then the old let go: a name kept is not churned. */
	struct placement_set ds = {{0}}, nets = {{0}};
	size_t k;
	json_t *d;
	json_array_foreach(json_object_get(doc, "datastores"), k, d)
		names_add(&iv->datastores, &ds, str(d, "name") ?: "");
	json_array_foreach(json_object_get(doc, "bridges"), k, d)
		names_add(&iv->networks, &nets, json_string_value(d) ?: "");
	names_release_set(&iv->datastores, &p->datastores);
	names_release_set(&iv->networks, &p->networks);
	p->datastores = ds;
	p->networks = nets;
	host_resolve(iv, h);
}

static void adopt_orphan(void *val, void *ctx)
{
	struct ivm *v = val;
	struct inv *iv = ctx;
	if (!v->host && v->host_id && inv_map_get(&iv->hosts, v->host_id)) {
		vm_detach(iv, v); /* counts the orphan off */
		vm_attach(iv, v);
	}
}

static void host_apply(struct inv *iv, const char *id, const json_t *doc)
{
	struct ihost *h = inv_map_get(&iv->hosts, id);
	if (!doc) {
		if (!h)
			return;
		while (h->vms) { /* its VMs stay, on a host no longer known */
			struct ivm *v = h->vms;
			vm_detach(iv, v);
			v->host = NULL;
			iv->norphans++;
		}
		inv_map_del(&iv->hosts, id);
		struct placement_host *p = &iv->ph[h->slot];
		names_release_set(&iv->datastores, &p->datastores);
		names_release_set(&iv->networks, &p->networks);
		int last = --iv->nhosts;
		if (h->slot != last) {
			iv->ph[h->slot] = iv->ph[last];
			iv->hostv[h->slot] = iv->hostv[last];
			iv->hostv[h->slot]->slot = h->slot;
		}
		free(h->id);
		free(h->name);
		free(h->cluster_id);
		free(h);
		return;
	}
	if (h && stale(h->version, doc))
		return;
	if (!h) {
		h = must(calloc(1, sizeof(*h)));
		h->id = must(strdup(id));
		if (iv->nhosts == iv->hosts_cap) {
			iv->hosts_cap = iv->hosts_cap ? iv->hosts_cap * 2 : 64;
			iv->ph = must(realloc(iv->ph, (size_t)iv->hosts_cap * sizeof(*iv->ph)));
			iv->hostv = must(realloc(iv->hostv, (size_t)iv->hosts_cap * sizeof(*iv->hostv)));
		}
		h->slot = iv->nhosts++;
		iv->hostv[h->slot] = h;
		iv->ph[h->slot] = (struct placement_host){0};
		if (inv_map_put(&iv->hosts, h->id, h) < 0)
			must(NULL);
		host_set(iv, h, doc);
		if (iv->norphans)
			inv_map_each(&iv->vms, adopt_orphan, iv);
		return;
	}
	host_set(iv, h, doc);
}

/* ---- groups ---- */

/* A group's key: its type, its project and its name. A group is its
 * project's: another tenant naming the same group neither meets its
 * members (steering a VM next to them, or learning where they run) nor
 * moves them, as OpenStack's server groups are a project's. */
static char *group_key(enum placement_rule_type t, const char *project, const char *name, size_t *name_at)
{
	const char *prefix = t == PLACEMENT_AFFINITY ? "affinity:" : "anti_affinity:";
	size_t n = strlen(prefix) + (project ? strlen(project) + 1 : 0) + strlen(name) + 1;
	char *key = must(malloc(n));
	int at = snprintf(key, n, "%s%s%s", prefix, project ? project : "", project ? "/" : "");
	snprintf(key + at, n - (size_t)at, "%s", name);
	if (name_at)
		*name_at = (size_t)at;
	return key;
}

char *inv_group_key(enum placement_rule_type t, const char *project, const char *name)
{
	return group_key(t, project, name, NULL);
}

static void group_join(struct inv *iv, struct ivm *v, enum placement_rule_type t, const char *project,
                       const char *name)
{
	size_t at;
	char *key = group_key(t, project, name, &at);
	struct igroup *g = inv_map_get(&iv->groups, key);
	if (!g) {
		g = must(calloc(1, sizeof(*g)));
		g->key = key;
		g->name = key + at;
		g->type = t;
		if (inv_map_put(&iv->groups, g->key, g) < 0)
			must(NULL);
	} else {
		free(key);
	}
	for (int i = 0; i < v->ngroups; i++)
		if (v->groups[i] == g)
			return; /* named twice: one membership */
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 4;
		g->m = must(realloc(g->m, (size_t)g->cap * sizeof(*g->m)));
	}
	g->m[g->n++] = v;
	v->groups = must(realloc(v->groups, (size_t)(v->ngroups + 1) * sizeof(*v->groups)));
	v->groups[v->ngroups++] = g;
}

static void groups_leave(struct inv *iv, struct ivm *v)
{
	for (int i = 0; i < v->ngroups; i++) {
		struct igroup *g = v->groups[i];
		for (int j = 0; j < g->n; j++)
			if (g->m[j] == v) {
				g->m[j] = g->m[--g->n];
				break;
			}
		if (g->n == 0) {
			inv_map_del(&iv->groups, g->key);
			free(g->key);
			free(g->m);
			free(g);
		}
	}
	free(v->groups);
	v->groups = NULL;
	v->ngroups = 0;
}

/* ---- VMs ---- */

static void vm_free(struct ivm *v)
{
	free(v->id);
	free(v->name);
	free(v->host_id);
	free(v);
}

static void vm_apply(struct inv *iv, const char *id, const json_t *doc)
{
	struct ivm *v = inv_map_get(&iv->vms, id);
	if (!doc) {
		if (!v)
			return;
		vm_detach(iv, v);
		groups_leave(iv, v);
		inv_map_del(&iv->vms, id);
		vm_free(v);
		return;
	}
	if (v && stale(v->version, doc))
		return;
	if (v) {
		vm_detach(iv, v);
		groups_leave(iv, v);
	} else {
		v = must(calloc(1, sizeof(*v)));
		v->id = must(strdup(id));
		if (inv_map_put(&iv->vms, v->id, v) < 0)
			must(NULL);
	}
	free(v->name);
	free(v->host_id);
	v->name = dup_or_null(str(doc, "name"));
	v->host_id = dup_or_null(str(doc, "host_id"));
	v->version = json_integer_value(json_object_get(doc, "version"));
	json_t *cfg = json_object_get(doc, "config");
	v->vcpus = (int)json_integer_value(json_object_get(cfg, "vcpus"));
	v->memory_mib = json_integer_value(json_object_get(cfg, "memory_mib"));
	v->reserve_cpu_pct = json_integer_value(json_object_get(cfg, "cpu_reservation_pct"));
	v->reserve_memory_mib = json_integer_value(json_object_get(cfg, "mem_reservation_mib"));
	v->holds = pool_vm_holds(str(doc, "power_state"), str(doc, "desired_state"));
	vm_attach(iv, v);
	json_t *pg = json_object_get(doc, "placement_groups");
	const char *project = str(doc, "project_id");
	size_t k;
	json_t *g;
	if (v->name) { /* a member is known by its name */
		json_array_foreach(json_object_get(pg, "affinity"), k, g)
			if (json_string_value(g))
				group_join(iv, v, PLACEMENT_AFFINITY, project, json_string_value(g));
		json_array_foreach(json_object_get(pg, "anti_affinity"), k, g)
			if (json_string_value(g))
				group_join(iv, v, PLACEMENT_ANTI_AFFINITY, project, json_string_value(g));
	}
}

int inv_apply(struct inv *iv, enum inv_kind k, const char *id, const json_t *doc)
{
	if (!id)
		return -1;
	if (!doc) {
		tomb_add(iv, k, id);
	} else if (tombstoned(iv, k, id)) {
		return 0;
	}
	switch (k) {
	case INV_CLUSTER: cluster_apply(iv, id, doc); break;
	case INV_HOST: host_apply(iv, id, doc); break;
	case INV_VM: vm_apply(iv, id, doc); break;
	default: return -1;
	}
	return 0;
}

/* ---- freeing ---- */

static void free_vm_val(void *val, void *ctx)
{
	(void)ctx;
	struct ivm *v = val;
	free(v->groups);
	vm_free(v);
}

static void free_group_val(void *val, void *ctx)
{
	(void)ctx;
	struct igroup *g = val;
	free(g->key);
	free(g->m);
	free(g);
}

void inv_free(struct inv *iv)
{
	if (!iv)
		return;
	inv_map_each(&iv->vms, free_vm_val, NULL);
	inv_map_each(&iv->groups, free_group_val, NULL);
	for (int i = 0; i < iv->nhosts; i++) {
		free(iv->hostv[i]->id);
		free(iv->hostv[i]->name);
		free(iv->hostv[i]->cluster_id);
		free(iv->hostv[i]);
	}
	for (int i = 0; i < iv->nclusters; i++) {
		free(iv->clusterv[i]->id);
		free(iv->clusterv[i]->name);
		free(iv->clusterv[i]);
	}
	for (int i = 0; i < PLACEMENT_SET_BITS; i++) {
		free(iv->datastores.v[i]);
		free(iv->networks.v[i]);
	}
	for (int i = 0; i < INV_TOMBSTONES; i++)
		free(iv->tomb_ring[i]);
	inv_map_free(&iv->vms);
	inv_map_free(&iv->groups);
	inv_map_free(&iv->hosts);
	inv_map_free(&iv->clusters);
	inv_map_free(&iv->tombs);
	free(iv->ph);
	free(iv->hostv);
	free(iv->pc);
	free(iv->clusterv);
	placement_result_free(&iv->result);
	free(iv);
}

int inv_connected_hosts(const struct inv *iv, struct inv_beat **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t k = 0;
	for (int i = 0; i < iv->nhosts; i++)
		k += iv->hostv[i]->state == PLACEMENT_CONNECTED;
	struct inv_beat *b = calloc(k ? k : 1, sizeof(*b));
	if (!b)
		return -1;
	size_t j = 0;
	for (int i = 0; i < iv->nhosts && j < k; i++) {
		const struct ihost *h = iv->hostv[i];
		if (h->state != PLACEMENT_CONNECTED)
			continue;
		b[j] = (struct inv_beat){.id = strdup(h->id), .name = strdup(h->name ? h->name : h->id),
		                         .last_heartbeat = h->last_heartbeat};
		if (!b[j].id || !b[j].name) {
			inv_beats_free(b, j + 1);
			return -1;
		}
		j++;
	}
	*out = b;
	*n = j;
	return 0;
}

void inv_beats_free(struct inv_beat *b, size_t n)
{
	for (size_t i = 0; b && i < n; i++) {
		free(b[i].id);
		free(b[i].name);
	}
	free(b);
}
