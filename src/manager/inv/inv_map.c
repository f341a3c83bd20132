/* inv_map.c - see inv_map.h. FNV-1a; the table doubles past 1 entry per bucket. */
#include "inv_map.h"

#include <stdlib.h>
#include <string.h>

static size_t hash_of(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void *inv_map_get(const struct inv_map *m, const char *key)
{
	if (!m->nb || !key)
		return NULL;
	size_t h = hash_of(key);
	for (struct inv_map_ent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
		if (e->hash == h && !strcmp(e->key, key))
			return e->val;
	return NULL;
}

static int grow(struct inv_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct inv_map_ent **b = calloc(nb, sizeof(*b));
	if (!b)
		return -1;
	for (size_t i = 0; i < m->nb; i++)
		for (struct inv_map_ent *e = m->b[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int inv_map_put(struct inv_map *m, const char *key, void *val)
{
	if (m->n >= m->nb && grow(m) < 0)
		return -1;
	struct inv_map_ent *e = malloc(sizeof(*e));
	if (!e)
		return -1;
	e->key = key;
	e->val = val;
	e->hash = hash_of(key);
	e->next = m->b[e->hash & (m->nb - 1)];
	m->b[e->hash & (m->nb - 1)] = e;
	m->n++;
	return 0;
}

void *inv_map_del(struct inv_map *m, const char *key)
{
	if (!m->nb)
		return NULL;
	size_t h = hash_of(key);
	for (struct inv_map_ent **p = &m->b[h & (m->nb - 1)]; *p; p = &(*p)->next) {
		struct inv_map_ent *e = *p;
		if (e->hash == h && !strcmp(e->key, key)) {
			void *val = e->val;
			*p = e->next;
			free(e);
			m->n--;
			return val;
		}
	}
	return NULL;
}

void inv_map_each(const struct inv_map *m, void (*fn)(void *val, void *ctx), void *ctx)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct inv_map_ent *e = m->b[i], *next; e; e = next) {
			next = e->next; /* fn may free the value (not the entry) */
			fn(e->val, ctx);
		}
}

void inv_map_free(struct inv_map *m)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct inv_map_ent *e = m->b[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(m->b);
	memset(m, 0, sizeof(*m));
}
