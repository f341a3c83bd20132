/* history.h - the measured demand of VMs and hosts kept for a year, as RRD
 * does: every chart point (ops/charts.c) is consolidated by average and
 * maximum into the tiers of decide/history_tiers.h (a minute for a day,
 * half an hour for a month, a day for a year); closed buckets are written
 * to the store every 30 s in one transaction, so heartbeats cost no
 * commit each and a kill -9 loses about the last minute. In the store
 * (not files) so that it is backed up, shared by vdcd peers on PostgreSQL
 * and trimmed by one indexed DELETE per tier. An object's history goes
 * when the object is deleted (a store observer). Loop thread only, except
 * the observer. */
#ifndef VDC_HISTORY_H
#define VDC_HISTORY_H

#include "errinfo.h"
#include "history_tiers.h"
#include "manager.h"
#include "metric_rate.h"

#include <stdint.h>
#include <stdio.h>

enum history_kind { HISTORY_VM, HISTORY_HOST };

/* Sets up m->history with tiers speedup times shorter (1: as named), and
 * observes deletions of VMs and hosts. -1 when memory ran out. */
int history_init(struct mgr *m, int speedup);
/* Arms the flush timer on m->loop. */
void history_start(struct mgr *m);
/* Flushes what is kept, the open buckets too, then frees m->history. */
void history_free(struct mgr *m);

/* A chart point of object id: nseries values at t_ms (epoch ms). */
void history_take(struct mgr *m, enum history_kind kind, const char *id, int64_t t_ms, int nseries,
                  const float *v);

/* Writes the buckets closed since the last flush in one transaction,
 * drops deleted objects' history and trims each tier to its span. 0 or -1
 * with e (what was not written is kept for the next flush). The open
 * buckets are written at a clean stop (history_free); after a kill, a
 * minute bucket that was open is lost and a coarser one is made again
 * from the finer tier's. */
int history_flush(struct mgr *m, struct errinfo *e);

/* The tiers in use, and how long the raw points are kept. */
const struct hist_tier *history_tiers(const struct mgr *m);

/* The buckets of object id of tier since since_ms, as JSON text
 * (malloc'd): {"id", "kind", "resolution", "interval_s", "retention_s",
 * "timestamps": [bucket starts, epoch s], "series": [{"name", "unit",
 * "values": [averages], "max": [maxima]}]} (null where unknown), with the
 * bucket still open in memory. Only the series in mask. NULL with e. */
char *history_render(struct mgr *m, enum history_kind kind, const char *id, const struct metric_schema *s,
                     int tier, int64_t since_ms, unsigned mask, struct errinfo *e);

/* Prometheus lines: objects, buckets written, flushes and failures. */
void history_prometheus(const struct mgr *m, FILE *f);

#endif
