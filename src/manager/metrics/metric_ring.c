/* metric_ring.c - see metric_ring.h. */
#include "metric_ring.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 16

void metric_ring_init(struct metric_ring *r, int nseries, uint32_t max_points)
{
	memset(r, 0, sizeof(*r));
	r->nseries = (uint8_t)nseries;
	r->max = max_points ? max_points : 1;
}

void metric_ring_free(struct metric_ring *r)
{
	free(r->t_ms);
	free(r->v);
	r->t_ms = NULL;
	r->v = NULL;
	r->cap = r->n = r->head = 0;
}

static uint32_t slot(const struct metric_ring *r, uint32_t i) { return (r->head + i) % r->cap; }

/* Moves the points into storage for cap points, oldest first. */
static int grow(struct metric_ring *r, uint32_t cap)
{
	int64_t *t = malloc(sizeof(*t) * cap);
	float *v = malloc(sizeof(*v) * cap * r->nseries);
	if (!t || !v) {
		free(t);
		free(v);
		return -1;
	}
	for (uint32_t i = 0; i < r->n; i++) {
		uint32_t s = slot(r, i);
		t[i] = r->t_ms[s];
		memcpy(v + (size_t)i * r->nseries, r->v + (size_t)s * r->nseries, sizeof(float) * r->nseries);
	}
	free(r->t_ms);
	free(r->v);
	r->t_ms = t;
	r->v = v;
	r->cap = cap;
	r->head = 0;
	return 0;
}

int metric_ring_push(struct metric_ring *r, int64_t t_ms, const float *values)
{
	if (r->n && t_ms <= metric_ring_last_time(r))
		return 1;
	if (r->n == r->cap && r->cap < r->max) {
		uint32_t cap = r->cap ? r->cap * 2 : FIRST_CAP;
		if (grow(r, cap > r->max ? r->max : cap) < 0)
			return -1;
	}
	uint32_t s;
	if (r->n < r->cap) {
		s = slot(r, r->n);
		r->n++;
	} else { /* full: the newest takes the oldest's slot */
		s = r->head;
		r->head = (r->head + 1) % r->cap;
	}
	r->t_ms[s] = t_ms;
	memcpy(r->v + (size_t)s * r->nseries, values, sizeof(float) * r->nseries);
	return 0;
}

int64_t metric_ring_time(const struct metric_ring *r, uint32_t i) { return r->t_ms[slot(r, i)]; }

float metric_ring_value(const struct metric_ring *r, uint32_t i, int series)
{
	return r->v[(size_t)slot(r, i) * r->nseries + (size_t)series];
}

uint32_t metric_ring_first_since(const struct metric_ring *r, int64_t t_ms)
{
	uint32_t lo = 0, hi = r->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (metric_ring_time(r, mid) < t_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int64_t metric_ring_last_time(const struct metric_ring *r)
{
	return r->n ? metric_ring_time(r, r->n - 1) : INT64_MIN;
}

size_t metric_ring_bytes(const struct metric_ring *r)
{
	return (size_t)r->cap * (sizeof(int64_t) + sizeof(float) * r->nseries);
}
