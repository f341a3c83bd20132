/* test_output.c - how values look in tables (sizes, ages, percentages,
 * lists) and the key/value listing of one document. */
#include "clitest.h"

#include "cli.h"

#include <jansson.h>

static const char *cell(const char *json, enum col_fmt fmt, time_t now)
{
	static char buf[256];
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	assert_non_null(v);
	fmt_cell(v, fmt, now, buf, sizeof(buf));
	json_decref(v);
	return buf;
}

static void test_cells(void **state)
{
	assert_string_equal(cell("\"web1\"", FMT_TEXT, 0), "web1");
	assert_string_equal(cell("42", FMT_TEXT, 0), "42");
	assert_string_equal(cell("4.0", FMT_TEXT, 0), "4");
	assert_string_equal(cell("1.5", FMT_TEXT, 0), "1.5");
	assert_string_equal(cell("true", FMT_TEXT, 0), "true");
	assert_string_equal(cell("null", FMT_TEXT, 0), "-");
	assert_string_equal(cell("[\"a\",\"b\"]", FMT_TEXT, 0), "a,b");
	assert_string_equal(cell("[{\"name\":\"n1\"},{\"name\":\"n2\"}]", FMT_TEXT, 0), "n1,n2");
	assert_string_equal(cell("[]", FMT_TEXT, 0), "-");
	assert_string_equal(cell("{\"a\":1}", FMT_TEXT, 0), "{...}");
	fmt_cell(NULL, FMT_TEXT, 0, (char[8]){0}, 8);

	assert_string_equal(cell("512", FMT_MIB, 0), "512Mi");
	assert_string_equal(cell("2048", FMT_MIB, 0), "2Gi");
	assert_string_equal(cell("1536", FMT_MIB, 0), "1.5Gi");
	assert_string_equal(cell("3145728", FMT_MIB, 0), "3Ti");
	assert_string_equal(cell("0", FMT_MIB, 0), "-");
	assert_string_equal(cell("\"odd\"", FMT_MIB, 0), "odd");
	assert_string_equal(cell("1073741824", FMT_BYTES, 0), "1Gi");
	assert_string_equal(cell("52428800", FMT_BYTES, 0), "50Mi");
	assert_string_equal(cell("50", FMT_PERCENT, 0), "50%");
}

static void test_ages(void **state)
{
	time_t t0 = 1700000000; /* 2023-11-14T22:13:20Z */
	assert_string_equal(cell("\"2023-11-14T22:13:20Z\"", FMT_AGE, t0 + 5), "5s");
	assert_string_equal(cell("\"2023-11-14T22:13:20.123456Z\"", FMT_AGE, t0 + 300), "5m");
	assert_string_equal(cell("\"2023-11-14T22:13:20Z\"", FMT_AGO, t0 + 3 * 3600), "3h ago");
	assert_string_equal(cell("1700000000", FMT_AGE, t0 + 300), "5m"); /* epoch seconds */
	assert_string_equal(cell("0", FMT_EXPIRES, t0), "never");
	assert_string_equal(cell("1700043200", FMT_EXPIRES, t0), "in 12h");
	assert_string_equal(cell("1700000000", FMT_EXPIRES, t0 + 2 * 86400), "expired 2d ago");
	/* vdcd writes times as RFC 3339 strings, null for never. */
	assert_string_equal(cell("null", FMT_EXPIRES, t0), "never");
	assert_string_equal(cell("\"2023-11-15T10:13:20Z\"", FMT_EXPIRES, t0), "in 12h");
	assert_string_equal(cell("\"2023-11-15T12:13:20+02:00\"", FMT_EXPIRES, t0), "in 12h");
	assert_string_equal(cell("\"2023-11-14T22:13:20.5Z\"", FMT_EXPIRES, t0 + 2 * 86400), "expired 2d ago");
	assert_string_equal(cell("\"2023-11-14T22:13:20Zjunk\"", FMT_EXPIRES, t0), "2023-11-14T22:13:20Zjunk");
	assert_string_equal(cell("\"soon\"", FMT_EXPIRES, t0), "soon");
	assert_string_equal(cell("\"2023-11-14T22:13:20Z\"", FMT_AGE, t0 + 3 * 86400), "3d");
	assert_string_equal(cell("\"2023-11-14T22:13:20Z\"", FMT_AGE, t0 - 10), "0s");
	assert_string_equal(cell("\"yesterday\"", FMT_AGE, t0), "yesterday");
	char b[16];
	fmt_age(119, b, sizeof(b));
	assert_string_equal(b, "119s");
	fmt_age(120, b, sizeof(b));
	assert_string_equal(b, "2m");
	fmt_age(47 * 3600, b, sizeof(b));
	assert_string_equal(b, "47h");
	fmt_age(48 * 3600, b, sizeof(b));
	assert_string_equal(b, "2d");
}

static void test_json_path(void **state)
{
	json_t *d = json_loads("{\"a\":{\"b\":{\"c\":7}},\"x\":1}", 0, NULL);
	assert_int_equal(json_integer_value(json_path(d, "a.b.c")), 7);
	assert_int_equal(json_integer_value(json_path(d, "x")), 1);
	assert_null(json_path(d, "a.z"));
	assert_null(json_path(d, "x.y"));
	assert_null(json_path(NULL, "x"));
	json_decref(d);
}

static void test_detail(void **state)
{
	json_t *d = json_loads("{\"id\":\"abc\",\"name\":\"web1\",\"config\":{\"vcpus\":2,"
	                       "\"networks\":[{\"name\":\"front\",\"vlan\":10}],\"tags\":[\"a\",\"b\"],"
	                       "\"empty\":{}},\"note\":\"two\\nlines\",\"gone\":null}", 0, NULL);
	assert_non_null(d);
	char *s = detail_render(d);
	assert_string_equal(s, "id                        abc\n"
	                       "name                      web1\n"
	                       "config.vcpus              2\n"
	                       "config.networks[0].name   front\n"
	                       "config.networks[0].vlan   10\n"
	                       "config.tags               a,b\n"
	                       "config.empty              -\n"
	                       "note                      two lines\n"
	                       "gone                      -\n");
	free(s);
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_ages),
		cmocka_unit_test(test_json_path),
		cmocka_unit_test(test_detail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
