/* samples.h - what this host and its running VMs measure, for vdcd's
 * charts: cumulative counters (CPU time, disk and network bytes) and
 * gauges (memory), read together so vdcd can turn two samples into rates.
 * The disk counters come from each QEMU (query-blockstats), so a sample is
 * gathered asynchronously; a QEMU that does not answer has its disks left
 * out (-1), never the heartbeat held. */
#ifndef VDC_AGENT_SAMPLES_H
#define VDC_AGENT_SAMPLES_H

#include <jansson.h>

struct agent;
struct samples_gather;

/* sample: {"host": {"at_ms", counters...}, "vms": {NAME: {"run", counters...}}},
 * owned by the callee; NULL when memory ran out. */
typedef void (*samples_done_fn)(void *ctx, json_t *sample);

/* Starts gathering; done is called once, maybe before this returns. The
 * handle is valid until then. */
struct samples_gather *samples_gather(struct agent *a, samples_done_fn done, void *ctx);
/* done will not be called (the link is going away). */
void samples_cancel(struct samples_gather *g);

#endif
