/* metric_ring.h - the recent points of one object's series, oldest
 * overwritten first. The storage grows on demand (16 points, doubling) up
 * to max points, so an object that reported a few samples costs a few
 * points, not an hour's worth. Pure. */
#ifndef VDC_METRIC_RING_H
#define VDC_METRIC_RING_H

#include <stddef.h>
#include <stdint.h>

struct metric_ring {
	int64_t *t_ms;   /* [cap]: epoch ms of each point */
	float *v;        /* [cap * nseries] */
	uint32_t cap, max, head, n; /* head: the oldest point's slot */
	uint8_t nseries;
};

/* An empty ring (nothing allocated yet). */
void metric_ring_init(struct metric_ring *r, int nseries, uint32_t max_points);
void metric_ring_free(struct metric_ring *r);

/* Appends a point. Points must come in time order: one not later than the
 * newest is refused (returns 1; a clock stepped back). 0, or -1 when memory
 * ran out (the ring is unchanged). */
int metric_ring_push(struct metric_ring *r, int64_t t_ms, const float *values);

/* Point i, 0 the oldest of metric_ring_count(). */
static inline uint32_t metric_ring_count(const struct metric_ring *r) { return r->n; }
int64_t metric_ring_time(const struct metric_ring *r, uint32_t i);
float metric_ring_value(const struct metric_ring *r, uint32_t i, int series);
/* The first point at or after t_ms (metric_ring_count() when none). */
uint32_t metric_ring_first_since(const struct metric_ring *r, int64_t t_ms);
/* The newest point's time, or INT64_MIN when empty. */
int64_t metric_ring_last_time(const struct metric_ring *r);

/* Heap bytes the ring holds. */
size_t metric_ring_bytes(const struct metric_ring *r);

#endif
