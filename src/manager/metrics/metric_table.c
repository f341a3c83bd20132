/* metric_table.c - see metric_table.h. */
#include "metric_table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void metric_table_init(struct metric_table *t, const struct metric_schema *s, int64_t step_ms,
                       int64_t retention_ms)
{
	memset(t, 0, sizeof(*t));
	t->schema = s;
	t->step_ms = step_ms > 0 ? step_ms : 1000;
	/* A late beat or two still gives rates (averaged over the longer
	 * time); past that the chart shows a gap. */
	t->max_gap_ms = 3 * t->step_ms + 5000;
	t->retention_ms = retention_ms;
	/* Beats come a little later than asked, seldom sooner: an hour of
	 * them fits, with a few spare. */
	t->max_points = (uint32_t)((retention_ms + t->step_ms - 1) / t->step_ms) + 8;
}

static void free_obj(void *val, void *ctx)
{
	(void)ctx;
	struct metric_obj *o = val;
	metric_ring_free(&o->ring);
	free(o);
}

void metric_table_free(struct metric_table *t)
{
	inv_map_each(&t->map, free_obj, NULL);
	inv_map_free(&t->map);
}

struct metric_obj *metric_table_get(const struct metric_table *t, const char *id)
{
	return inv_map_get(&t->map, id);
}

struct metric_obj *metric_table_add(struct metric_table *t, const char *id)
{
	if (strlen(id) >= sizeof(((struct metric_obj *)0)->id))
		return NULL;
	struct metric_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	strcpy(o->id, id);
	metric_ring_init(&o->ring, t->schema->nseries, t->max_points);
	if (inv_map_put(&t->map, o->id, o) < 0) {
		free(o);
		return NULL;
	}
	return o;
}

void metric_table_remove(struct metric_table *t, const char *id)
{
	struct metric_obj *o = inv_map_del(&t->map, id);
	if (o)
		free_obj(o, NULL);
}

int metric_table_take(const struct metric_table *t, struct metric_obj *o, int64_t now_ms,
                      const struct metric_sample *s)
{
	int64_t last = metric_ring_last_time(&o->ring);
	if (o->ring.n && now_ms - last < t->step_ms / 2)
		return 0; /* the next sample's rates span the time since o->last */
	float v[METRIC_MAX_SERIES];
	metric_values(t->schema, o->has_last ? &o->last : NULL, s, t->max_gap_ms, v);
	if (o->ring.n && now_ms - last > t->max_gap_ms) {
		float unknown[METRIC_MAX_SERIES];
		for (int k = 0; k < METRIC_MAX_SERIES; k++)
			unknown[k] = NAN;
		if (metric_ring_push(&o->ring, last + t->step_ms, unknown) < 0)
			return -1;
	}
	int rc = metric_ring_push(&o->ring, now_ms, v);
	if (rc)
		return rc < 0 ? -1 : 0;
	o->last = *s;
	o->has_last = true;
	return 1;
}

struct idle_pass {
	int64_t before;
	char (*ids)[40];
	size_t n, cap;
};

static void collect_idle(void *val, void *ctx)
{
	struct metric_obj *o = val;
	struct idle_pass *p = ctx;
	if (metric_ring_last_time(&o->ring) >= p->before)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		char (*ids)[40] = realloc(p->ids, cap * sizeof(*ids));
		if (!ids)
			return; /* the next pass drops it */
		p->ids = ids;
		p->cap = cap;
	}
	memcpy(p->ids[p->n++], o->id, sizeof(o->id));
}

size_t metric_table_drop_idle(struct metric_table *t, int64_t now_ms)
{
	struct idle_pass p = {.before = now_ms - t->retention_ms};
	inv_map_each(&t->map, collect_idle, &p);
	for (size_t i = 0; i < p.n; i++)
		metric_table_remove(t, p.ids[i]);
	free(p.ids);
	return p.n;
}

static void add_bytes(void *val, void *ctx)
{
	struct metric_obj *o = val;
	*(size_t *)ctx += sizeof(*o) + metric_ring_bytes(&o->ring) + sizeof(struct inv_map_ent);
}

size_t metric_table_bytes(const struct metric_table *t)
{
	size_t n = t->map.nb * sizeof(*t->map.b);
	inv_map_each(&t->map, add_bytes, &n);
	return n;
}

int metric_parse_since(const char *text, int64_t now_ms, int64_t *out_ms)
{
	if (!text || !*text || *text == '-' || *text == '+')
		return -1;
	errno = 0;
	char *end;
	long long n = strtoll(text, &end, 10);
	if (errno || end == text)
		return -1;
	if (!*end) { /* epoch seconds */
		if (n > INT64_MAX / 1000)
			return -1;
		*out_ms = (int64_t)n * 1000;
		return 0;
	}
	int64_t unit = !strcmp(end, "s") ? 1000 : !strcmp(end, "m") ? 60000 : !strcmp(end, "h") ? 3600000 : 0;
	/* A duration ago; longer than a week is surely a mistake. */
	if (!unit || n > 7 * 24 * 3600000ll / unit)
		return -1;
	*out_ms = now_ms - (int64_t)n * unit;
	return 0;
}
