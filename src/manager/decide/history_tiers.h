/* history_tiers.h - how vdcd keeps measured demand for a year, as RRD
 * does: the charts' points (one per heartbeat, kept an hour in memory) are
 * consolidated into buckets of a few tiers (a minute for a day, half an
 * hour for a month, a day for a year), each bucket holding the average and
 * the maximum of every series; and which tier answers a query's range or
 * resolution. Pure: times are arguments, so tests are tables. */
#ifndef VDC_HISTORY_TIERS_H
#define VDC_HISTORY_TIERS_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_MAX_SERIES 10
#define HIST_NTIERS 3

struct hist_tier {
	const char *name; /* "1m", "30m", "1d": as ?resolution names it */
	int64_t step_ms;  /* a bucket's length */
	int64_t span_ms;  /* how long its buckets are kept */
};

/* The tiers vdcd keeps: 1m for a day, 30m for 31 days, 1d for 366 days,
 * with steps and spans divided by speedup (1: as named; tests pass more so
 * that coarse tiers fill in seconds). The names stay. */
void hist_tiers_default(struct hist_tier t[HIST_NTIERS], int speedup);

/* The start of the bucket of step_ms that holds t_ms (floor, also for
 * times before the epoch). */
int64_t hist_bucket_start(int64_t t_ms, int64_t step_ms);

/* One bucket being consolidated: per series, how many points had a value
 * (unknown ones, NAN, are left out), their sum and their maximum. */
struct hist_acc {
	int64_t start_ms; /* INT64_MIN: empty, no bucket yet */
	uint32_t n[HIST_MAX_SERIES];
	double sum[HIST_MAX_SERIES];
	float max[HIST_MAX_SERIES];
};

void hist_acc_reset(struct hist_acc *a, int64_t start_ms);
/* Adds one point's values (nseries of them; NAN skipped). */
void hist_acc_add(struct hist_acc *a, int nseries, const float *v);
/* The average and maximum of series k: NAN when no point had a value. */
float hist_acc_avg(const struct hist_acc *a, int k);
float hist_acc_max(const struct hist_acc *a, int k);
/* Series k of a stored bucket back into a (avg times n gives the sum),
 * to go on consolidating into it after a restart. */
void hist_acc_restore(struct hist_acc *a, int k, uint32_t n, float avg, float max);

/* Adds bucket b's points into a (a finer tier's bucket into a coarser
 * one: weighted by their counts, the maximum of both). */
void hist_acc_merge(struct hist_acc *a, const struct hist_acc *b);

/* Takes the point (t_ms, v) into a, the open bucket of step_ms. Returns 0
 * when it went into a's bucket (or started the first one), 1 when it
 * started a newer bucket: the one it closed is copied to *closed first;
 * -1 when it is older than a's bucket (a clock stepped back: dropped). */
int hist_acc_take(struct hist_acc *a, int64_t step_ms, int64_t t_ms, int nseries, const float *v,
                  struct hist_acc *closed);

/* What a query asked for: range_ms back from now (0: not given),
 * resolution_ms (0: not given, -1: "raw", the heartbeat points). */
struct hist_query {
	int64_t range_ms;
	int64_t resolution_ms;
};

/* The answer: tier -1 for the raw points (kept raw_span_ms), else an
 * index into tiers; or -1 from hist_pick with why (a sentence naming the
 * parameter) when the two cannot be met together. Without a resolution,
 * the finest that covers the range (the coarsest when none does); a
 * resolution must be raw or a tier's step, and its span must cover the
 * range. */
int hist_pick(const struct hist_tier *tiers, int ntiers, int64_t raw_span_ms, const struct hist_query *q,
              int *tier, char *why, int why_len);

/* Parses a duration: "90s", "15m", "1h", "7d", "2w", "1y" (a year: 365
 * days). Returns 0 with *ms, or -1 (a number without a unit, a sign, a
 * fraction, zero, overflow). */
int hist_parse_duration(const char *text, int64_t *ms);
/* Parses ?resolution: "raw" (-1), or a tier's name. 0 with *ms, or -1. */
int hist_parse_resolution(const struct hist_tier *tiers, int ntiers, const char *text, int64_t *ms);

#endif
