/* test_history_tiers.c - the history's decisions as tables: bucket starts,
 * consolidation by average and maximum (unknown values left out, a
 * restored bucket going on where it stopped), points closing buckets, the
 * tier a query's range or resolution picks (and the errors that name the
 * parameter), durations and resolutions parsed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "history_tiers.h"

#include <math.h>
#include <string.h>

#define X NAN
#define MIN 60000ll
#define DAY (24 * 3600000ll)

static int same(float got, float want)
{
	if (isnan(want))
		return isnan(got);
	return !isnan(got) && fabsf(got - want) <= 1e-4f * fmaxf(1.0f, fabsf(want));
}

static void t_tiers(void **state)
{
	(void)state;
	struct hist_tier t[HIST_NTIERS];
	hist_tiers_default(t, 1);
	assert_string_equal(t[0].name, "1m");
	assert_int_equal(t[0].step_ms, MIN);
	assert_int_equal(t[0].span_ms, DAY);
	assert_int_equal(t[1].step_ms, 30 * MIN);
	assert_int_equal(t[1].span_ms, 31 * DAY);
	assert_int_equal(t[2].step_ms, DAY);
	assert_int_equal(t[2].span_ms, 366 * DAY);
	/* A year of daily points per series, a month of half hours, a day of
	 * minutes: what one object costs at most. */
	assert_int_equal(t[2].span_ms / t[2].step_ms, 366);
	/* The test knob: 600 times faster, the same names. */
	hist_tiers_default(t, 600);
	assert_int_equal(t[0].step_ms, 100);
	assert_int_equal(t[1].step_ms, 3000);
	assert_int_equal(t[2].step_ms, 144000);
	assert_string_equal(t[2].name, "1d");
}

static void t_bucket_start(void **state)
{
	(void)state;
	static const struct {
		int64_t t, step, want;
	} cases[] = {
		{0, MIN, 0},
		{59999, MIN, 0},
		{60000, MIN, 60000},
		{1765000123456, MIN, 1765000080000},
		{1765000123456, DAY, 1764979200000},
		{-1, MIN, -60000}, /* floor before the epoch too */
		{-60000, MIN, -60000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (hist_bucket_start(cases[i].t, cases[i].step) != cases[i].want)
			fail_msg("case %zu: %lld", i, (long long)hist_bucket_start(cases[i].t, cases[i].step));
}

static void t_consolidate(void **state)
{
	(void)state;
	/* Three series over four points: average and max of the known values. */
	static const struct {
		const char *what;
		float pts[4][3];
		int npts;
		float avg[3], max[3];
	} cases[] = {
		{"one point", {{10, 0, X}}, 1, {10, 0, X}, {10, 0, X}},
		{"average and max", {{10, 1, 5}, {30, 3, 5}, {20, 2, 5}}, 3, {20, 2, 5}, {30, 3, 5}},
		{"unknowns left out", {{X, 4, X}, {50, X, X}, {X, 8, X}}, 3, {50, 6, X}, {50, 8, X}},
		{"a busy peak shows in max, not in avg", {{5, 0, 0}, {5, 0, 0}, {5, 0, 0}, {185, 0, 0}}, 4,
		 {50, 0, 0}, {185, 0, 0}},
		{"negative values", {{-3, 0, 0}, {-1, 0, 0}}, 2, {-2, 0, 0}, {-1, 0, 0}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hist_acc a;
		hist_acc_reset(&a, 0);
		for (int p = 0; p < cases[i].npts; p++)
			hist_acc_add(&a, 3, cases[i].pts[p]);
		for (int k = 0; k < 3; k++)
			if (!same(hist_acc_avg(&a, k), cases[i].avg[k]) || !same(hist_acc_max(&a, k), cases[i].max[k]))
				fail_msg("%s: series %d avg %g max %g", cases[i].what, k, (double)hist_acc_avg(&a, k),
				         (double)hist_acc_max(&a, k));
	}
	/* A stored bucket restored (vdcd restarted) goes on as if never stopped. */
	struct hist_acc whole, resumed;
	float pts[4][1] = {{10}, {20}, {90}, {40}};
	hist_acc_reset(&whole, 0);
	for (int p = 0; p < 4; p++)
		hist_acc_add(&whole, 1, pts[p]);
	struct hist_acc first;
	hist_acc_reset(&first, 0);
	hist_acc_add(&first, 1, pts[0]);
	hist_acc_add(&first, 1, pts[1]);
	hist_acc_reset(&resumed, 0);
	hist_acc_restore(&resumed, 0, first.n[0], hist_acc_avg(&first, 0), hist_acc_max(&first, 0));
	hist_acc_restore(&resumed, 1, 0, X, X); /* nothing stored: stays unknown */
	hist_acc_add(&resumed, 1, pts[2]);
	hist_acc_add(&resumed, 1, pts[3]);
	assert_true(same(hist_acc_avg(&resumed, 0), hist_acc_avg(&whole, 0)));
	assert_true(same(hist_acc_max(&resumed, 0), 90));
	assert_true(isnan(hist_acc_avg(&resumed, 1)));
}

static void t_merge(void **state)
{
	(void)state;
	/* Two minute buckets into a half hour: the same as taking every point
	 * into the half hour directly (how a restarted vdcd rebuilds an open
	 * coarse bucket from the finer tier's rows). */
	float pts[5][2] = {{10, X}, {20, 4}, {60, X}, {30, 8}, {X, X}};
	struct hist_acc direct, m1, m2, merged;
	hist_acc_reset(&direct, 0);
	hist_acc_reset(&m1, 0);
	hist_acc_reset(&m2, 60000);
	for (int p = 0; p < 5; p++) {
		hist_acc_add(&direct, 2, pts[p]);
		hist_acc_add(p < 2 ? &m1 : &m2, 2, pts[p]);
	}
	hist_acc_reset(&merged, 0);
	hist_acc_merge(&merged, &m1);
	hist_acc_merge(&merged, &m2);
	for (int k = 0; k < 2; k++) {
		assert_true(same(hist_acc_avg(&merged, k), hist_acc_avg(&direct, k)));
		assert_true(same(hist_acc_max(&merged, k), hist_acc_max(&direct, k)));
	}
	assert_true(same(hist_acc_avg(&merged, 0), 30));
	assert_true(same(hist_acc_max(&merged, 1), 8));
	/* An empty bucket changes nothing. */
	struct hist_acc empty;
	hist_acc_reset(&empty, 0);
	hist_acc_merge(&merged, &empty);
	assert_true(same(hist_acc_avg(&merged, 1), 6));
	assert_int_equal(merged.start_ms, 0);
}

static void t_take(void **state)
{
	(void)state;
	/* Points at these times into 1-minute buckets: what each returns and
	 * which bucket it closed. */
	static const struct {
		int64_t t;
		float v;
		int rc;
		int64_t closed_start;
		float closed_avg, closed_max;
	} steps[] = {
		{1000, 10, 0, 0, 0, 0},       /* starts bucket 0 */
		{30000, 20, 0, 0, 0, 0},      /* same bucket */
		{61000, 50, 1, 0, 15, 20},    /* closes 0 (avg 15, max 20) */
		{59000, 99, -1, 0, 0, 0},     /* older than the open bucket: dropped */
		{119999, 70, 0, 0, 0, 0},     /* still bucket 60000 */
		{300000, 1, 1, 60000, 60, 70}, /* a gap: closes 60000, opens 300000 */
	};
	struct hist_acc a, closed;
	hist_acc_reset(&a, INT64_MIN);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		memset(&closed, 0, sizeof(closed));
		int rc = hist_acc_take(&a, MIN, steps[i].t, 1, &steps[i].v, &closed);
		if (rc != steps[i].rc)
			fail_msg("step %zu: rc %d", i, rc);
		if (rc == 1 && (closed.start_ms != steps[i].closed_start || !same(hist_acc_avg(&closed, 0), steps[i].closed_avg) ||
		                !same(hist_acc_max(&closed, 0), steps[i].closed_max)))
			fail_msg("step %zu: closed %lld avg %g max %g", i, (long long)closed.start_ms,
			         (double)hist_acc_avg(&closed, 0), (double)hist_acc_max(&closed, 0));
	}
	assert_int_equal(a.start_ms, 300000);
}

static void t_pick(void **state)
{
	(void)state;
	struct hist_tier t[HIST_NTIERS];
	hist_tiers_default(t, 1);
	const int64_t raw = 3600000;
	static const struct {
		const char *what;
		int64_t range, resolution;
		int rc, tier;
		const char *why; /* a part of the error */
	} cases[] = {
		{"nothing asked: raw", 0, 0, 0, -1, NULL},
		{"15 minutes: raw", 15 * MIN, 0, 0, -1, NULL},
		{"an hour: raw", 60 * MIN, 0, 0, -1, NULL},
		{"two hours: minutes", 120 * MIN, 0, 0, 0, NULL},
		{"a day: minutes", DAY, 0, 0, 0, NULL},
		{"a week: half hours", 7 * DAY, 0, 0, 1, NULL},
		{"31 days: half hours", 31 * DAY, 0, 0, 1, NULL},
		{"a year: days", 365 * DAY, 0, 0, 2, NULL},
		{"ten years: days, all there is", 3650 * DAY, 0, 0, 2, NULL},
		{"raw asked", 0, -1, 0, -1, NULL},
		{"raw for a day", DAY, -1, -1, 0, "resolution raw keeps only 1h"},
		{"minutes for a week", 7 * DAY, MIN, -1, 0, "resolution 1m keeps only 1d"},
		{"days for a week", 7 * DAY, DAY, 0, 2, NULL},
		{"days, no range", 0, DAY, 0, 2, NULL},
		{"half hours for a day", DAY, 30 * MIN, 0, 1, NULL},
		{"not a tier's step", 0, 5 * MIN, -1, 0, "resolution must be"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hist_query q = {cases[i].range, cases[i].resolution};
		int tier = 99;
		char why[160] = "";
		int rc = hist_pick(t, HIST_NTIERS, raw, &q, &tier, why, sizeof(why));
		if (rc != cases[i].rc || (rc == 0 && tier != cases[i].tier))
			fail_msg("%s: rc %d tier %d (%s)", cases[i].what, rc, tier, why);
		if (cases[i].why && !strstr(why, cases[i].why))
			fail_msg("%s: why '%s'", cases[i].what, why);
	}
}

static void t_parse(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
		int64_t ms;
	} durations[] = {
		{"90s", 0, 90000},   {"15m", 0, 15 * MIN}, {"1h", 0, 3600000}, {"7d", 0, 7 * DAY},
		{"2w", 0, 14 * DAY}, {"1y", 0, 365 * DAY}, {"0d", -1, 0},      {"5", -1, 0},
		{"-5m", -1, 0},      {"+5m", -1, 0},       {"1.5h", -1, 0},    {"1dd", -1, 0},
		{"", -1, 0},         {"d", -1, 0},         {"99999999999999999y", -1, 0},
	};
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		int64_t ms = 0;
		int rc = hist_parse_duration(durations[i].text, &ms);
		if (rc != durations[i].rc || (rc == 0 && ms != durations[i].ms))
			fail_msg("'%s': rc %d ms %lld", durations[i].text, rc, (long long)ms);
	}
	assert_int_equal(hist_parse_duration(NULL, &(int64_t){0}), -1);
	struct hist_tier t[HIST_NTIERS];
	hist_tiers_default(t, 1);
	static const struct {
		const char *text;
		int rc;
		int64_t ms;
	} res[] = {{"raw", 0, -1}, {"1m", 0, MIN}, {"30m", 0, 30 * MIN}, {"1d", 0, DAY},
	           {"5m", -1, 0},  {"", -1, 0},    {"RAW", -1, 0}};
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		int64_t ms = 0;
		int rc = hist_parse_resolution(t, HIST_NTIERS, res[i].text, &ms);
		if (rc != res[i].rc || (rc == 0 && ms != res[i].ms))
			fail_msg("'%s': rc %d ms %lld", res[i].text, rc, (long long)ms);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_tiers), cmocka_unit_test(t_bucket_start), cmocka_unit_test(t_consolidate), cmocka_unit_test(t_merge),
		cmocka_unit_test(t_take),  cmocka_unit_test(t_pick),         cmocka_unit_test(t_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
