/* test_units.c - durations, sizes and counts as typed: the good forms, the
 * bounds, and the words refused with a message that shows a good one. */
#include "clitest.h"

#include "units.h"

static void test_durations(void **state)
{
	struct {
		const char *in;
		long long s;
	} good[] = {
		{"90m", 5400}, {"12h", 43200}, {"30d", 2592000}, {"1h30m", 5400}, {"45s", 45},
		{"2w", 1209600}, {"3600", 3600}, {"1d12h", 129600}, {"36500d", 36500LL * 86400},
	};
	char err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		long long s = -1;
		if (units_parse_duration(good[i].in, &s, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", good[i].in, err);
		assert_int_equal(s, good[i].s);
	}
	const char *bad[] = {"", "m", "30x", "1h30", "-5m", " 5m", "5 m", "1.5h", "h1", "30dd",
	                     "0", "0m", "36501d", "99999999999999999999s", "9223372036854775807w"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long s = 7;
		if (units_parse_duration(bad[i], &s, err, sizeof(err)) != -1)
			fail_msg("'%s' accepted as %lld", bad[i], s);
		assert_int_equal(s, 7);
	}
	units_parse_duration("3 days", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'3 days' is not a duration: use a number and a unit (s, m, h, d, w), "
	                         "as 90m, 12h, 30d or 1h30m");
	units_parse_duration("0h", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'0h' is no time at all; give more than 0");
	units_parse_duration("200000d", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'200000d' is too long: at most 100 years");
}

static void test_sizes(void **state)
{
	struct {
		const char *in;
		long long mib;
	} good[] = {
		{"64G", 65536}, {"1T", 1048576}, {"512M", 512}, {"512", 512}, {"1.5G", 1536},
		{"64GiB", 65536}, {"64Gi", 65536}, {"64gb", 65536}, {"2048K", 2}, {"0", 0},
		{"1P", 1073741824LL}, {"0.5T", 524288},
	};
	char err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		long long m = -1;
		if (units_parse_size_mib(good[i].in, &m, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", good[i].in, err);
		assert_int_equal(m, good[i].mib);
	}
	const char *bad[] = {"", "G", "64X", "64GG", "-1G", ".5G", "1e3", "0x10", "64 G", "100K",
	                     "0.1G", "2000P", "unlimited"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long m = 7;
		if (units_parse_size_mib(bad[i], &m, err, sizeof(err)) != -1)
			fail_msg("'%s' accepted as %lld", bad[i], m);
		assert_int_equal(m, 7);
	}
	units_parse_size_mib("64X", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'64X' is not a size: use a number and a unit (M, G, T), as 512M, 64G "
	                         "or 1.5T; a bare number is MiB");
	units_parse_size_mib("100K", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'100K' is not a whole number of MiB");
	units_parse_size_mib("2000P", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'2000P' is too large: at most 1 EiB");
}

static void test_counts(void **state)
{
	char err[256];
	long long n = -1;
	assert_int_equal(units_parse_count("0", &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(units_parse_count("16", &n, err, sizeof(err)), 0);
	assert_int_equal(n, 16);
	const char *bad[] = {"", "-1", "+3", "1.5", "ten", "4k", "99999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (units_parse_count(bad[i], &n, err, sizeof(err)) != -1)
			fail_msg("'%s' accepted", bad[i]);
	assert_string_equal(err, "'99999999999' is not a count: use a whole number from 0 to 1000000000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
