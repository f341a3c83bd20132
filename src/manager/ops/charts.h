/* charts.h - the history behind the UI's charts, kept by vdcd in memory:
 * each heartbeat's samples (the host's, and its running VMs') become
 * points (metrics/: rates from counters, rings per object); the API reads
 * them back as series. A VM's samples are taken only from the host vdcd
 * placed it on, so one host cannot write another's VM charts. Loop thread
 * only, as the API. */
#ifndef VDC_CHARTS_H
#define VDC_CHARTS_H

#include "jsonv.h"
#include "manager.h"
#include "metric_table.h"

#include <jansson.h>

#define CHARTS_RETENTION_S 3600

struct charts {
	struct metric_table vms, hosts;
	int64_t next_sweep_ms; /* when objects with no recent point are next dropped */
	uint64_t points_taken, samples_refused; /* since start, for /metrics */
};

/* Sets up m->charts for points every step_s (the heartbeat interval). */
int charts_init(struct mgr *m, int step_s);
void charts_free(struct mgr *m);

/* Checks a heartbeat's samples (its "sample" and each VM's): -1 with err
 * naming the field when one is malformed. Nothing is taken. */
int charts_check_beat(const json_t *body, struct jv_err *err);
/* Takes a checked heartbeat of host_id at now_ms (epoch ms). */
void charts_take_beat(struct mgr *m, const char *host_id, const json_t *body, int64_t now_ms);

/* The series of VM or host id since since_ms, as JSON text (malloc'd):
 * {"id", "kind", "interval_s", "retention_s", "timestamps": [epoch s],
 *  "series": [{"name", "unit", "values": [number or null]}]}. Only the
 * series whose bit is set in mask (bit k: the schema's series k). */
char *charts_render(const struct metric_table *t, const char *id, int64_t since_ms, unsigned mask);

/* Parses ?metric=a,b (NULL: all) against schema s into *mask. -1 when a
 * name is unknown (bad names the first one). */
int charts_metric_mask(const struct metric_schema *s, const char *list, unsigned *mask, char bad[64]);

#endif
