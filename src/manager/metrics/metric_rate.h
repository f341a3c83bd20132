/* metric_rate.h - what the charts show, from an agent's samples: counters
 * (cumulative since their owner started) become rates or percentages
 * between two samples, gauges are shown as they are, and a value is left
 * unknown (NAN) rather than guessed where counters reset (a VM restarted,
 * a host rebooted) or samples are too far apart. Pure. */
#ifndef VDC_METRIC_RATE_H
#define VDC_METRIC_RATE_H

#include <stdint.h>

#define METRIC_MAX_RAW 10
#define METRIC_MAX_SERIES 8

enum metric_kind {
	METRIC_GAUGE, /* raw, as it is */
	METRIC_RATE,  /* d(raw) per second, times scale */
	METRIC_RATIO, /* d(raw) / d(per), times scale */
};

struct metric_def {
	const char *name; /* as the API names the series */
	const char *unit;
	enum metric_kind kind;
	int raw;          /* index of the input */
	int per;          /* METRIC_RATIO: index of the denominator */
	double scale;
};

/* What one kind of object (a VM, a host) reports and what is charted. */
struct metric_schema {
	const char *kind;
	int nraw;
	const char *const *raw_names; /* the keys of a heartbeat's "sample" */
	int nseries;
	const struct metric_def *series;
};
extern const struct metric_schema metric_vm_schema, metric_host_schema;

struct metric_sample {
	int64_t at_ms; /* the agent's monotonic clock when it read the counters */
	int64_t run;   /* what restarts the counters (a VM's QEMU pid); 0: unknown */
	int64_t raw[METRIC_MAX_RAW]; /* -1: unknown */
};

/* The values of s's series at cur, prev being the sample before it (NULL:
 * none). Rates are NAN without prev, when the two are more than max_gap_ms
 * apart or not in order (the agent's clock restarted), when run changed,
 * and for each counter that went down (it was reset). */
void metric_values(const struct metric_schema *s, const struct metric_sample *prev,
                   const struct metric_sample *cur, int64_t max_gap_ms, float out[METRIC_MAX_SERIES]);

/* The series index of name in s, or -1. */
int metric_series_index(const struct metric_schema *s, const char *name);

#endif
