/* test_cgroup.c - the pure conversions from vdc's limits to cgroup values:
 * v1 cpu.shares from the v2-style weight, CFS quota, and v2 cpu.max. */
#include "testutil.h"

#include "cgroup.h"

static void test_v1_shares(void **state)
{
	static const struct {
		int weight;
		unsigned shares;
	} cases[] = {
		{100, 1024},     /* the default share on both versions */
		{50, 512},   {200, 2048}, {1, 10},        {10, 102},
		{10000, 102400}, /* the largest weight vdc accepts */
		{0, 2},          /* the kernel's minimum */
		{25600, 262144}, {100000, 262144},        /* clamped to the kernel's maximum */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (cgroup_v1_shares(cases[i].weight) != cases[i].shares)
			fail_msg("weight %d: shares %u, want %u", cases[i].weight,
			         cgroup_v1_shares(cases[i].weight), cases[i].shares);
}

static void test_v1_quota(void **state)
{
	static const struct {
		int pct;
		int64_t quota_us;
	} cases[] = {
		{0, -1},   {-5, -1},   /* no limit */
		{1, 1000}, {50, 50000}, {100, 100000}, {150, 150000},
		{25500, 25500000},     /* 255 full CPUs */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (cgroup_v1_quota_us(cases[i].pct) != cases[i].quota_us)
			fail_msg("pct %d: quota %lld, want %lld", cases[i].pct,
			         (long long)cgroup_v1_quota_us(cases[i].pct), (long long)cases[i].quota_us);
}

static void test_cpu_max(void **state)
{
	static const struct {
		int pct;
		const char *v2;
	} cases[] = {
		{0, "max 100000"},  {-1, "max 100000"},   {1, "1000 100000"},
		{50, "50000 100000"}, {100, "100000 100000"}, {400, "400000 100000"},
		{25500, "25500000 100000"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char out[64];
		memset(out, '#', sizeof(out));
		cgroup_cpu_max(cases[i].pct, out, sizeof(out));
		if (strcmp(out, cases[i].v2) != 0)
			fail_msg("pct %d: cpu.max '%s', want '%s'", cases[i].pct, out, cases[i].v2);
	}
	/* A short buffer is cut, never overrun. */
	char small[8];
	memset(small, '#', sizeof(small));
	cgroup_cpu_max(50, small, 6);
	assert_string_equal(small, "50000");
	assert_int_equal(small[6], '#');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_shares),
		cmocka_unit_test(test_v1_quota),
		cmocka_unit_test(test_cpu_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
