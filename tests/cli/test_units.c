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
		/* fractions that come to whole seconds */
		{"1.5h", 5400}, {"0.5m", 30}, {"2.25m", 135}, {"1h0.5m", 3630}, {"007s", 7},
	};
	char err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		long long s = -1;
		if (units_parse_duration(good[i].in, &s, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", good[i].in, err);
		assert_int_equal(s, good[i].s);
	}
	const char *bad[] = {"", "m", "30x", "1h30", "-5m", " 5m", "5 m", "h1", "30dd",
	                     "0", "0m", "36501d", "99999999999999999999s", "9223372036854775807w",
	                     /* fractions: malformed, or not whole seconds */
	                     "0.5s", "1.s", ".5m", "1.5.5h", "1,5h", "0.0001m",
	                     /* case: units are lower case ("5M" could be months) */
	                     "5M", "5S", "1H30m",
	                     /* garbage and overflow around the parts */
	                     "5m ", "5m\n", "+5m", "5e3s", "0x10s", "1h-5m", "nan", "inf",
	                     "999999999999999999999999999999999999999999999999999999999999s"};
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
	units_parse_duration("0.5s", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'0.5s' is not a whole number of seconds");
	units_parse_duration("5M", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'5M' is not a duration: units are lower case (s, m, h, d, w), as "
	                         "90m, 12h, 30d or 1h30m");
}

/* A stop's timeout may be 0 (power off at once); the rest is the same. */
static void test_durations_zero(void **state)
{
	char err[256];
	long long s = -1;
	const char *zero[] = {"0", "0s", "0m", "0h0m"};
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		s = -1;
		if (units_parse_duration0(zero[i], &s, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", zero[i], err);
		assert_int_equal(s, 0);
	}
	assert_int_equal(units_parse_duration0("5m", &s, err, sizeof(err)), 0);
	assert_int_equal(s, 300);
	assert_int_equal(units_parse_duration0("60", &s, err, sizeof(err)), 0);
	assert_int_equal(s, 60);
	const char *bad[] = {"", "-1", "-0s", "5x", "0.5s", "36501d"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (units_parse_duration0(bad[i], &s, err, sizeof(err)) != -1)
			fail_msg("'%s' accepted as %lld", bad[i], s);
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
		/* suffix case: any (binary units only) */
		{"2g", 2048}, {"2GIB", 2048}, {"2Gb", 2048}, {"2gi", 2048}, {"1024m", 1024}, {"1t", 1048576},
	};
	char err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		long long m = -1;
		if (units_parse_size_mib(good[i].in, &m, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", good[i].in, err);
		assert_int_equal(m, good[i].mib);
	}
	const char *bad[] = {"", "G", "64X", "64GG", "-1G", ".5G", "1e3", "0x10", "64 G", "100K",
	                     "0.1G", "2000P", "unlimited", "-0", "+1G", "1.G", "2G ", "2GiBs", "2E",
	                     "99999999999999999999999999999999999999P", "1.5.5G", "nan", "inf"};
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

/* Sizes in bytes (a console's tail): a bare number is bytes. */
static void test_sizes_bytes(void **state)
{
	struct {
		const char *in;
		long long b;
	} good[] = {{"100", 100}, {"16K", 16384}, {"16k", 16384}, {"1M", 1048576}, {"1.5K", 1536},
	            {"0", 0}, {"1KiB", 1024}};
	char err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		long long b = -1;
		if (units_parse_size_bytes(good[i].in, &b, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", good[i].in, err);
		assert_int_equal(b, good[i].b);
	}
	const char *bad[] = {"", "-1", "1.5", "16X", "2P", "1e3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long b = 7;
		if (units_parse_size_bytes(bad[i], &b, err, sizeof(err)) != -1)
			fail_msg("'%s' accepted as %lld", bad[i], b);
		assert_int_equal(b, 7);
	}
	units_parse_size_bytes("1.5", &(long long){0}, err, sizeof(err));
	assert_string_equal(err, "'1.5' is not a whole number of bytes");
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
		cmocka_unit_test(test_durations_zero),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_sizes_bytes),
		cmocka_unit_test(test_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
