/* metric_table.h - the charted objects of one kind (VMs or hosts) by id,
 * each with the sample its next rates start from and its ring of points.
 * An object costs memory only once it has reported a sample, and is
 * dropped after a retention period without one. Pure (the time is an
 * argument); used from one thread. */
#ifndef VDC_METRIC_TABLE_H
#define VDC_METRIC_TABLE_H

#include "inv_map.h"
#include "metric_rate.h"
#include "metric_ring.h"

#include <stdbool.h>

struct metric_obj {
	char id[40];
	char owner[40];            /* a VM: the host whose samples it takes */
	struct metric_sample last; /* where the next rates start */
	bool has_last;
	struct metric_ring ring;
};

struct metric_table {
	const struct metric_schema *schema;
	struct inv_map map;
	int64_t step_ms;    /* the samples' interval: ones closer than half of it are skipped */
	int64_t max_gap_ms; /* samples further apart give no rates, and a gap in the chart */
	int64_t retention_ms;
	uint32_t max_points;
};

/* An empty table keeping retention_ms of points sampled every step_ms. */
void metric_table_init(struct metric_table *t, const struct metric_schema *s, int64_t step_ms,
                       int64_t retention_ms);
void metric_table_free(struct metric_table *t);

struct metric_obj *metric_table_get(const struct metric_table *t, const char *id);
/* Adds id (not present). NULL when memory ran out or id is too long. */
struct metric_obj *metric_table_add(struct metric_table *t, const char *id);
void metric_table_remove(struct metric_table *t, const char *id);

/* A sample of o taken at now_ms (epoch ms, vdcd's clock). Returns 1 when it
 * made a point, 0 when skipped (too soon after the last point, or the clock
 * went back), -1 when memory ran out. A gap longer than max_gap_ms since
 * the last point first adds a point of unknown values, so a chart breaks
 * its line there instead of drawing across the gap. */
int metric_table_take(const struct metric_table *t, struct metric_obj *o, int64_t now_ms,
                      const struct metric_sample *s);

/* Drops the objects with no point since now_ms - retention_ms. Returns how
 * many. */
size_t metric_table_drop_idle(struct metric_table *t, int64_t now_ms);

static inline size_t metric_table_count(const struct metric_table *t) { return t->map.n; }
/* Heap bytes of the table: objects, rings, map entries and buckets. */
size_t metric_table_bytes(const struct metric_table *t);

/* Parses a query's since: epoch seconds ("1765000000"), or a duration ago
 * ("90s", "15m", "1h"). Returns 0 with *out_ms (epoch ms), or -1. */
int metric_parse_since(const char *text, int64_t now_ms, int64_t *out_ms);

#endif
