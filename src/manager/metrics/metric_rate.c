/* metric_rate.c - counters to rates and percentages (see metric_rate.h). */
#include "metric_rate.h"

#include <math.h>
#include <string.h>

static const char *const vm_raw[] = {"cpu_ns",       "memory_bytes", "disk_read_bytes", "disk_write_bytes",
                                     "net_rx_bytes", "net_tx_bytes", "cpu_demand_ns",   "memory_active_bytes"};
enum { VM_CPU, VM_MEM, VM_RD, VM_WR, VM_RX, VM_TX, VM_DEMAND, VM_ACTIVE };
static const struct metric_def vm_series[] = {
    /* ns of CPU per second -> percent of one host CPU (several vCPUs: over 100) */
    {"cpu", "percent", METRIC_RATE, VM_CPU, 0, 1e-7},
    {"memory", "bytes", METRIC_GAUGE, VM_MEM, 0, 1},
    {"disk_read", "bytes_per_second", METRIC_RATE, VM_RD, 0, 1},
    {"disk_write", "bytes_per_second", METRIC_RATE, VM_WR, 0, 1},
    {"net_rx", "bytes_per_second", METRIC_RATE, VM_RX, 0, 1},
    {"net_tx", "bytes_per_second", METRIC_RATE, VM_TX, 0, 1},
    /* what it wanted: its CPU time plus the time its CPU limit held it
     * back (an agent without it: unknown) */
    {"cpu_demand", "percent", METRIC_RATE, VM_DEMAND, 0, 1e-7},
    /* the memory it touches lately (cgroup active lists), below "memory" */
    {"memory_active", "bytes", METRIC_GAUGE, VM_ACTIVE, 0, 1},
};
const struct metric_schema metric_vm_schema = {"vm", 8, vm_raw, 8, vm_series};

static const char *const host_raw[] = {"cpu_busy_ms", "cpu_total_ms", "memory_used_bytes",
                                       "memory_total_bytes", "disk_read_bytes", "disk_write_bytes",
                                       "net_rx_bytes", "net_tx_bytes", "cpu_demand_ms"};
enum { H_BUSY, H_TOTAL, H_USED, H_MEMTOTAL, H_RD, H_WR, H_RX, H_TX, H_DEMAND };
static const struct metric_def host_series[] = {
    /* busy time over all time of all CPUs: 100 = every CPU busy */
    {"cpu", "percent", METRIC_RATIO, H_BUSY, H_TOTAL, 100},
    {"memory_used", "bytes", METRIC_GAUGE, H_USED, 0, 1},
    {"memory_total", "bytes", METRIC_GAUGE, H_MEMTOTAL, 0, 1},
    {"disk_read", "bytes_per_second", METRIC_RATE, H_RD, 0, 1},
    {"disk_write", "bytes_per_second", METRIC_RATE, H_WR, 0, 1},
    {"net_rx", "bytes_per_second", METRIC_RATE, H_RX, 0, 1},
    {"net_tx", "bytes_per_second", METRIC_RATE, H_TX, 0, 1},
    /* busy time plus its VMs' throttled time, over all CPUs' time: over
     * 100 when capped VMs want more than the host has */
    {"cpu_demand", "percent", METRIC_RATIO, H_DEMAND, H_TOTAL, 100},
};
const struct metric_schema metric_host_schema = {"host", 9, host_raw, 8, host_series};

/* The increase of counter i from prev to cur, or -1 when unknown or reset. */
static int64_t delta(const struct metric_sample *prev, const struct metric_sample *cur, int i)
{
	int64_t a = prev->raw[i], b = cur->raw[i];
	if (a < 0 || b < 0 || b < a)
		return -1;
	return b - a;
}

void metric_values(const struct metric_schema *s, const struct metric_sample *prev,
                   const struct metric_sample *cur, int64_t max_gap_ms, float out[METRIC_MAX_SERIES])
{
	int64_t dt = prev ? cur->at_ms - prev->at_ms : 0;
	/* One pair of samples for every rate, or none at all: a restarted run
	 * or clock makes every counter start over, even one that happens to
	 * be higher than before. */
	int rates = prev && dt > 0 && dt <= max_gap_ms && prev->run == cur->run;
	for (int k = 0; k < METRIC_MAX_SERIES; k++)
		out[k] = NAN;
	for (int k = 0; k < s->nseries; k++) {
		const struct metric_def *d = &s->series[k];
		if (d->kind == METRIC_GAUGE) {
			if (cur->raw[d->raw] >= 0)
				out[k] = (float)((double)cur->raw[d->raw] * d->scale);
			continue;
		}
		if (!rates)
			continue;
		int64_t dv = delta(prev, cur, d->raw);
		if (dv < 0)
			continue;
		if (d->kind == METRIC_RATE) {
			out[k] = (float)((double)dv * 1000.0 / (double)dt * d->scale);
		} else {
			int64_t dp = delta(prev, cur, d->per);
			if (dp > 0)
				out[k] = (float)((double)dv / (double)dp * d->scale);
		}
	}
}

int metric_series_index(const struct metric_schema *s, const char *name)
{
	for (int k = 0; k < s->nseries; k++)
		if (!strcmp(s->series[k].name, name))
			return k;
	return -1;
}
