/* test_qga_frame.c - the guest agent's framing: what comes before the
 * 0xFF of a sync is skipped, lines split across reads join, bad lines are
 * refused one by one, and an oversize reply is refused without a buffer
 * growing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qga_frame.h"

static struct qga_frame f;

/* Feeds s (n bytes) whole; returns the messages' "return" values as a
 * JSON array and counts the refused lines in *bad. */
static json_t *feed_all(const char *s, size_t n, int *bad)
{
	json_t *out = json_array();
	*bad = 0;
	while (n) {
		size_t used = 0;
		json_t *msg;
		char err[200];
		enum qga_frame_result r = qga_frame_feed(&f, s, n, &used, &msg, err, sizeof(err));
		assert_true(used <= n);
		s += used;
		n -= used;
		if (r == QGA_FRAME_MSG) {
			json_array_append(out, json_object_get(msg, "return") ?: json_null());
			json_decref(msg);
		} else if (r == QGA_FRAME_BAD) {
			(*bad)++;
			assert_true(err[0] != '\0');
		} else {
			assert_int_equal(n, 0);
		}
	}
	return out;
}

static void skips_to_delimiter(void **state)
{
	(void)state;
	qga_frame_reset(&f, true);
	static const char in[] = "{\"return\": 1}\n{\"retu\xff{\"return\": 42}\n";
	int bad;
	json_t *got = feed_all(in, sizeof(in) - 1, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(json_array_size(got), 1); /* the stale reply before the 0xFF is skipped */
	assert_int_equal(json_integer_value(json_array_get(got, 0)), 42);
	assert_true(f.skipped >= 13);
	json_decref(got);
}

static void partial_lines_join(void **state)
{
	(void)state;
	qga_frame_reset(&f, false);
	static const char in[] = "{\"return\": {\"host-name\": \"g1\"}}\n\n{\"return\": 7}\n";
	json_t *all = json_array();
	/* One byte at a time: a line split across any number of reads. */
	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		int bad;
		json_t *got = feed_all(in + i, 1, &bad);
		assert_int_equal(bad, 0);
		json_array_extend(all, got);
		json_decref(got);
	}
	assert_int_equal(json_array_size(all), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "host-name")), "g1");
	assert_int_equal(json_integer_value(json_array_get(all, 1)), 7);
	json_decref(all);
}

static void malformed_refused(void **state)
{
	(void)state;
	qga_frame_reset(&f, false);
	static const char in[] = "{{{ not json\n[1,2]\n\"str\"\n{\"return\": 3}\n";
	int bad;
	json_t *got = feed_all(in, sizeof(in) - 1, &bad);
	assert_int_equal(bad, 3);
	assert_int_equal(json_array_size(got), 1);
	assert_int_equal(json_integer_value(json_array_get(got, 0)), 3);
	json_decref(got);
}

static void oversize_refused(void **state)
{
	(void)state;
	qga_frame_reset(&f, false);
	size_t big = 4 * QGA_FRAME_MAX;
	char *in = malloc(big + 64);
	assert_non_null(in);
	memcpy(in, "{\"return\": \"", 12);
	memset(in + 12, 'x', big - 12);
	size_t n = big;
	n += (size_t)sprintf(in + n, "\"}\n{\"return\": 5}\n");
	int bad;
	json_t *got = feed_all(in, n, &bad);
	assert_int_equal(bad, 1); /* refused once, then skipped to its end */
	assert_int_equal(json_array_size(got), 1);
	assert_int_equal(json_integer_value(json_array_get(got, 0)), 5);
	assert_true(f.skipped >= big);
	json_decref(got);
	free(in);
}

static void delimiter_drops_partial(void **state)
{
	(void)state;
	qga_frame_reset(&f, false);
	static const char in[] = "{\"return\": \"cut\xff{\"return\": 9}\n";
	int bad;
	json_t *got = feed_all(in, sizeof(in) - 1, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(json_array_size(got), 1);
	assert_int_equal(json_integer_value(json_array_get(got, 0)), 9);
	json_decref(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(skips_to_delimiter), cmocka_unit_test(partial_lines_join),
		cmocka_unit_test(malformed_refused), cmocka_unit_test(oversize_refused),
		cmocka_unit_test(delimiter_drops_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
