/* inv_map.h - a string-keyed hash map for the inventory index: keys are
 * borrowed (they live in the values), chains in buckets that double. */
#ifndef VDC_INV_MAP_H
#define VDC_INV_MAP_H

#include <stddef.h>

struct inv_map_ent {
	struct inv_map_ent *next;
	const char *key;
	void *val;
	size_t hash;
};

struct inv_map {
	struct inv_map_ent **b;
	size_t nb, n;
};

void *inv_map_get(const struct inv_map *m, const char *key);
/* Adds key (must not be present; borrowed until deleted). 0 or -1 (memory). */
int inv_map_put(struct inv_map *m, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *inv_map_del(struct inv_map *m, const char *key);
void inv_map_free(struct inv_map *m);
/* Calls fn on every value. */
void inv_map_each(const struct inv_map *m, void (*fn)(void *val, void *ctx), void *ctx);

#endif
