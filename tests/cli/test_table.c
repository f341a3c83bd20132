/* test_table.c - column layout: alignment, display width of UTF-8, cutting
 * long cells, and control characters from the server made harmless. */
#include "clitest.h"

#include "table.h"

static char *render(size_t ncols, const char *const *headers, const int *widths,
                    const char *const *cells, size_t nrows)
{
	struct table *t = table_new(ncols, headers, widths);
	assert_non_null(t);
	for (size_t r = 0; r < nrows; r++)
		assert_int_equal(table_add_row(t, cells + r * ncols), 0);
	char *s = table_render(t);
	assert_non_null(s);
	table_free(t);
	return s;
}

static void test_alignment(void **state)
{
	const char *h[] = {"NAME", "STATE", "HOST"};
	const char *cells[] = {
		"web1",        "running", "host-a",
		"database-01", "stopped", NULL,
	};
	char *s = render(3, h, NULL, cells, 2);
	assert_string_equal(s, "NAME          STATE     HOST\n"
	                       "web1          running   host-a\n"
	                       "database-01   stopped   -\n");
	free(s);
}

/* No trailing blanks: empty last cells are dropped from the line. */
static void test_no_trailing_spaces(void **state)
{
	const char *h[] = {"A", "B"};
	const char *cells[] = {"x", "", "longer", "y"};
	char *s = render(2, h, NULL, cells, 2);
	assert_string_equal(s, "A        B\n"
	                       "x\n"
	                       "longer   y\n");
	free(s);
}

static void test_truncation(void **state)
{
	const char *h[] = {"NAME", "MESSAGE"};
	const int w[] = {0, 10};
	const char *cells[] = {"a", "creating disks on the host", "b", "short"};
	char *s = render(2, h, w, cells, 2);
	assert_string_equal(s, "NAME   MESSAGE\n"
	                       "a      creatin...\n"
	                       "b      short\n");
	free(s);
}

static void test_unicode_width(void **state)
{
	assert_int_equal(text_width(""), 0);
	assert_int_equal(text_width("abc"), 3);
	assert_int_equal(text_width("caf\xc3\xa9"), 4);                /* café, precomposed */
	assert_int_equal(text_width("cafe\xcc\x81"), 4);               /* e + combining acute */
	assert_int_equal(text_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);   /* 日本: wide */
	assert_int_equal(text_width("\xf0\x9f\x98\x80"), 2);           /* an emoji */
	assert_int_equal(text_width("a\xff" "b"), 3);                  /* a stray byte counts 1 */
	assert_int_equal(text_width("\xe6\x97"), 2);                   /* cut sequence: 2 stray */

	const char *h[] = {"NAME", "X"};
	const char *cells[] = {"\xe6\x97\xa5\xe6\x9c\xac", "1", "caf\xc3\xa9", "2"};
	char *s = render(2, h, NULL, cells, 2);
	assert_string_equal(s, "NAME   X\n"
	                       "\xe6\x97\xa5\xe6\x9c\xac   1\n"
	                       "caf\xc3\xa9   2\n");
	free(s);
}

static void test_truncate_function(void **state)
{
	char *s;
	s = text_truncate("hello", 5);
	assert_string_equal(s, "hello");
	free(s);
	s = text_truncate("hello world", 8);
	assert_string_equal(s, "hello...");
	free(s);
	s = text_truncate("hello", 2);
	assert_string_equal(s, "..");
	free(s);
	s = text_truncate("hello", 0);
	assert_string_equal(s, "");
	free(s);
	/* Never splits a character; a wide one that does not fit goes whole. */
	s = text_truncate("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4);
	assert_string_equal(s, "\xc3\xa9...");
	free(s);
	s = text_truncate("a\xe6\x97\xa5\xe6\x9c\xac\xe6\x97\xa5", 5);
	assert_string_equal(s, "a...");
	free(s);
}

static void test_sanitize(void **state)
{
	char *s = text_sanitize("a\tb\nc\rd\x1b[31mred\x7f" "e");
	assert_string_equal(s, "a b c d?[31mred?e");
	free(s);
	/* C1 controls (UTF-8 encoded or raw) go too; other text stays. */
	s = text_sanitize("x\xc2\x9b" "1m\x9b" "y caf\xc3\xa9");
	assert_string_equal(s, "x?1m?y caf\xc3\xa9");
	free(s);

	const char *h[] = {"NAME"};
	const char *cells[] = {"evil\x1b]0;title\x07"};
	char *t = render(1, h, NULL, cells, 1);
	assert_string_equal(t, "NAME\nevil?]0;title?\n");
	free(t);
}

static void test_many_rows(void **state)
{
	const char *h[] = {"N"};
	struct table *t = table_new(1, h, NULL);
	char cell[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(cell, sizeof(cell), "%d", i);
		const char *row[] = {cell};
		assert_int_equal(table_add_row(t, row), 0);
	}
	char *s = table_render(t);
	assert_non_null(strstr(s, "\n999\n"));
	free(s);
	table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_no_trailing_spaces),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_unicode_width),
		cmocka_unit_test(test_truncate_function),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_many_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
