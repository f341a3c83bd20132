/* ha_peers.c - see ha_peers.h. */
#include "ha_peers.h"

#include "inv_map.h"
#include "store.h"
#include "url.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cluster_peers {
	char *id;
	json_t *list;     /* [[host id, "IP:PORT"], ...] */
	int64_t until_ms;
};

struct ha_peers {
	struct inv_map clusters; /* id -> struct cluster_peers */
};

struct ha_peers *ha_peers_new(void)
{
	return calloc(1, sizeof(struct ha_peers));
}

static void free_entry(void *val, void *ctx)
{
	(void)ctx;
	struct cluster_peers *c = val;
	json_decref(c->list);
	free(c->id);
	free(c);
}

void ha_peers_free(struct ha_peers *p)
{
	if (!p)
		return;
	inv_map_each(&p->clusters, free_entry, NULL);
	inv_map_free(&p->clusters);
	free(p);
}

static json_t *list_cluster(struct store *st, const char *cluster_id)
{
	struct store_filter f = {"cluster_id", cluster_id};
	json_t *hosts = store_list_all(st, STORE_HOST, &f, 1, &(struct errinfo){0});
	json_t *list = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(hosts, i, o) {
		struct url u;
		char addr[300];
		const char *id = json_string_value(json_object_get(o, "id"));
		if (!id)
			continue;
		/* Listed even without an address (an agent URL by name): it is
		 * known, and no peer of the others. */
		bool ip = url_parse(json_string_value(json_object_get(o, "agent_url")) ?: "", &u) == 0 &&
		          url_host_is_ip(u.host);
		if (ip)
			snprintf(addr, sizeof(addr), "%s:%s", u.host, u.port);
		json_array_append_new(list, json_pack("[s, s?]", id, ip ? addr : NULL));
	}
	json_decref(hosts);
	return list;
}

static bool listed(const json_t *list, const char *host_id)
{
	size_t i;
	json_t *row;
	json_array_foreach(list, i, row)
		if (!strcmp(json_string_value(json_array_get(row, 0)) ?: "", host_id))
			return true;
	return false;
}

/* The cluster's list, read again once old, or when the asking host is not
 * in it (it just joined: the others learn of it from this read). */
static struct cluster_peers *entry(struct ha_peers *p, struct store *st, const char *cluster_id, const char *host_id,
                                   int64_t now_ms)
{
	struct cluster_peers *c = inv_map_get(&p->clusters, cluster_id);
	if (!c) {
		if (!(c = calloc(1, sizeof(*c))) || !(c->id = strdup(cluster_id)) ||
		    inv_map_put(&p->clusters, c->id, c) < 0) {
			if (c)
				free(c->id);
			free(c);
			return NULL;
		}
	}
	if (!c->list || now_ms >= c->until_ms || !listed(c->list, host_id)) {
		json_decref(c->list);
		c->list = list_cluster(st, cluster_id);
		c->until_ms = now_ms + HA_PEERS_TTL_MS;
	}
	return c;
}

/* FNV-1a: where in the list a host's slice starts. */
static size_t slice_start(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return n ? h % n : 0;
}

json_t *ha_peers_for(struct ha_peers *p, struct store *st, const char *cluster_id, const char *host_id,
                     int64_t now_ms)
{
	json_t *out = json_array();
	struct cluster_peers *c = p ? entry(p, st, cluster_id ?: "", host_id, now_ms) : NULL;
	size_t n = c ? json_array_size(c->list) : 0;
	size_t start = slice_start(host_id, n);
	for (size_t k = 0; k < n && json_array_size(out) < HA_MAX_PEERS; k++) {
		const json_t *row = json_array_get(c->list, (start + k) % n);
		if (strcmp(json_string_value(json_array_get(row, 0)) ?: "", host_id) && json_is_string(json_array_get(row, 1)))
			json_array_append(out, json_array_get(row, 1));
	}
	return out;
}
