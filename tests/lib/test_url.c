/* test_url.c - URL and listen-address splitting, and which hosts count as
 * loopback (the only place plain HTTP is allowed). */
#include "testutil.h"

#include "url.h"

static void test_parse(void **state)
{
	struct url u;
	assert_int_equal(url_parse("https://10.0.0.1:7443/api/v1/x", &u), 0);
	assert_string_equal(u.scheme, "https");
	assert_string_equal(u.host, "10.0.0.1");
	assert_string_equal(u.port, "7443");
	assert_string_equal(u.path, "/api/v1/x");
	assert_int_equal(url_parse("http://vdcd.example", &u), 0);
	assert_string_equal(u.port, "80");
	assert_string_equal(u.path, "/");
	assert_int_equal(url_parse("https://[::1]:7443/", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "7443");
	assert_int_equal(url_parse("https://[fe80::1]", &u), 0);
	assert_string_equal(u.port, "443");
	assert_int_equal(url_parse("ftp://x", &u), -1);
	assert_int_equal(url_parse("https://", &u), -1);
	assert_int_equal(url_parse("https://::1:7443/", &u), -1); /* v6 needs brackets */
	assert_int_equal(url_parse("https://h:/", &u), -1);
	assert_int_equal(url_parse("https://h:12x/", &u), -1);
}

static void test_hostport(void **state)
{
	char h[64], p[8];
	assert_int_equal(url_split_hostport("0.0.0.0:7441", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "0.0.0.0");
	assert_string_equal(p, "7441");
	assert_int_equal(url_split_hostport("[::]:7441", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "::");
	assert_int_equal(url_split_hostport("127.0.0.1", h, sizeof(h), p, sizeof(p)), -1);
}

static void test_loopback(void **state)
{
	assert_true(url_host_is_loopback("127.0.0.1"));
	assert_true(url_host_is_loopback("127.1.2.3"));
	assert_true(url_host_is_loopback("::1"));
	assert_true(url_host_is_loopback("::ffff:127.0.0.1"));
	assert_true(url_host_is_loopback("localhost"));
	assert_false(url_host_is_loopback("0.0.0.0"));
	assert_false(url_host_is_loopback("10.0.0.1"));
	assert_false(url_host_is_loopback("::"));
	assert_false(url_host_is_loopback("localhost.example"));
	assert_true(url_host_is_any("0.0.0.0"));
	assert_true(url_host_is_any("::"));
	assert_false(url_host_is_any("127.0.0.1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
