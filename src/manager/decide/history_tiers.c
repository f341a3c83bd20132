/* history_tiers.c - buckets, consolidation and tier choice (see
 * history_tiers.h). */
#include "history_tiers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS 60000ll
#define DAY_MS (24 * 3600000ll)

void hist_tiers_default(struct hist_tier t[HIST_NTIERS], int speedup)
{
	int64_t k = speedup > 1 ? speedup : 1;
	t[0] = (struct hist_tier){"1m", MIN_MS / k, DAY_MS / k};
	t[1] = (struct hist_tier){"30m", 30 * MIN_MS / k, 31 * DAY_MS / k};
	t[2] = (struct hist_tier){"1d", DAY_MS / k, 366 * DAY_MS / k};
	for (int i = 0; i < HIST_NTIERS; i++)
		if (t[i].step_ms < 1)
			t[i].step_ms = 1;
}

int64_t hist_bucket_start(int64_t t_ms, int64_t step_ms)
{
	int64_t r = t_ms % step_ms;
	return t_ms - (r < 0 ? r + step_ms : r);
}

void hist_acc_reset(struct hist_acc *a, int64_t start_ms)
{
	memset(a, 0, sizeof(*a));
	a->start_ms = start_ms;
	for (int k = 0; k < HIST_MAX_SERIES; k++)
		a->max[k] = NAN;
}

void hist_acc_add(struct hist_acc *a, int nseries, const float *v)
{
	for (int k = 0; k < nseries && k < HIST_MAX_SERIES; k++) {
		if (isnan(v[k]) || isinf(v[k]))
			continue;
		a->sum[k] += v[k];
		if (a->n[k]++ == 0 || v[k] > a->max[k])
			a->max[k] = v[k];
	}
}

float hist_acc_avg(const struct hist_acc *a, int k)
{
	return a->n[k] ? (float)(a->sum[k] / a->n[k]) : NAN;
}

float hist_acc_max(const struct hist_acc *a, int k)
{
	return a->n[k] ? a->max[k] : NAN;
}

void hist_acc_restore(struct hist_acc *a, int k, uint32_t n, float avg, float max)
{
	if (k < 0 || k >= HIST_MAX_SERIES || n == 0 || isnan(avg) || isnan(max))
		return;
	a->n[k] = n;
	a->sum[k] = (double)avg * n;
	a->max[k] = max;
}

void hist_acc_merge(struct hist_acc *a, const struct hist_acc *b)
{
	for (int k = 0; k < HIST_MAX_SERIES; k++) {
		if (!b->n[k])
			continue;
		if (!a->n[k] || b->max[k] > a->max[k])
			a->max[k] = b->max[k];
		a->n[k] += b->n[k];
		a->sum[k] += b->sum[k];
	}
}

int hist_acc_take(struct hist_acc *a, int64_t step_ms, int64_t t_ms, int nseries, const float *v,
                  struct hist_acc *closed)
{
	int64_t b = hist_bucket_start(t_ms, step_ms);
	int rc = 0;
	if (a->start_ms == INT64_MIN) {
		hist_acc_reset(a, b);
	} else if (b < a->start_ms) {
		return -1;
	} else if (b > a->start_ms) {
		*closed = *a;
		hist_acc_reset(a, b);
		rc = 1;
	}
	hist_acc_add(a, nseries, v);
	return rc;
}

/* "1d", "31d" ...: a span for a sentence. */
static void span_text(int64_t ms, char out[24])
{
	if (ms % DAY_MS == 0)
		snprintf(out, 24, "%lldd", (long long)(ms / DAY_MS));
	else if (ms % 3600000 == 0)
		snprintf(out, 24, "%lldh", (long long)(ms / 3600000));
	else
		snprintf(out, 24, "%llds", (long long)(ms / 1000));
}

int hist_pick(const struct hist_tier *tiers, int ntiers, int64_t raw_span_ms, const struct hist_query *q,
              int *tier, char *why, int why_len)
{
	char span[24];
	if (q->resolution_ms == 0) {
		if (q->range_ms <= raw_span_ms) {
			*tier = -1;
			return 0;
		}
		for (int i = 0; i < ntiers; i++)
			if (q->range_ms <= tiers[i].span_ms || i == ntiers - 1) {
				*tier = i;
				return 0;
			}
		*tier = -1; /* no tiers: the raw points are all there is */
		return 0;
	}
	if (q->resolution_ms < 0) {
		if (q->range_ms > raw_span_ms) {
			span_text(raw_span_ms, span);
			snprintf(why, (size_t)why_len,
			         "resolution raw keeps only %s: ask since=%s or less, or a coarser resolution", span, span);
			return -1;
		}
		*tier = -1;
		return 0;
	}
	for (int i = 0; i < ntiers; i++) {
		if (tiers[i].step_ms != q->resolution_ms)
			continue;
		if (q->range_ms > tiers[i].span_ms) {
			span_text(tiers[i].span_ms, span);
			snprintf(why, (size_t)why_len,
			         "resolution %s keeps only %s: ask a shorter since or a coarser resolution", tiers[i].name,
			         span);
			return -1;
		}
		*tier = i;
		return 0;
	}
	snprintf(why, (size_t)why_len, "resolution must be raw or one of the tiers' steps");
	return -1;
}

int hist_parse_duration(const char *text, int64_t *ms)
{
	if (!text || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	char *end;
	long long n = strtoll(text, &end, 10);
	if (errno || end == text || n <= 0)
		return -1;
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"s", 1000}, {"m", MIN_MS}, {"h", 3600000}, {"d", DAY_MS}, {"w", 7 * DAY_MS}, {"y", 365 * DAY_MS}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (n > INT64_MAX / units[i].ms)
			return -1;
		*ms = (int64_t)n * units[i].ms;
		return 0;
	}
	return -1;
}

int hist_parse_resolution(const struct hist_tier *tiers, int ntiers, const char *text, int64_t *ms)
{
	if (!text)
		return -1;
	if (!strcmp(text, "raw")) {
		*ms = -1;
		return 0;
	}
	for (int i = 0; i < ntiers; i++)
		if (!strcmp(text, tiers[i].name)) {
			*ms = tiers[i].step_ms;
			return 0;
		}
	return -1;
}
