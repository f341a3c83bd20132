/* test_progress.c - the progress bar string, and what the display writes on
 * a terminal (redrawn in place) and elsewhere (a line per change). */
#include "clitest.h"

#include "progress.h"

static void test_format(void **state)
{
	char b[256];
	progress_format(b, sizeof(b), 50, "creating disks on the host", 10, 0);
	assert_string_equal(b, "[#####.....] 50% creating disks on the host");
	progress_format(b, sizeof(b), 0, "queued", 10, 0);
	assert_string_equal(b, "[..........] 0% queued");
	progress_format(b, sizeof(b), 100, "done", 10, 0);
	assert_string_equal(b, "[##########] 100% done");
	progress_format(b, sizeof(b), 59, "", 10, 0);
	assert_string_equal(b, "[#####.....] 59%");
	progress_format(b, sizeof(b), 5, NULL, 20, 0);
	assert_string_equal(b, "[#...................] 5%");
	/* Out of range values are clamped. */
	progress_format(b, sizeof(b), -3, "x", 4, 0);
	assert_string_equal(b, "[....] 0% x");
	progress_format(b, sizeof(b), 250, "x", 4, 0);
	assert_string_equal(b, "[####] 100% x");
}

static void test_format_fits_width(void **state)
{
	char b[256];
	/* "[#####.....] 50% " is 17 columns: the message gets the rest. */
	progress_format(b, sizeof(b), 50, "creating disks on the host", 10, 30);
	assert_string_equal(b, "[#####.....] 50% creating d...");
	assert_int_equal(strlen(b), 30);
	progress_format(b, sizeof(b), 50, "msg", 10, 5);
	assert_string_equal(b, "[#####.....] 50%");
	/* Escapes in a message are not passed to the terminal. */
	progress_format(b, sizeof(b), 10, "a\x1b[2Jb\nc", 10, 0);
	assert_string_equal(b, "[#.........] 10% a?[2Jb c");
}

static char *run_display(int tty)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct progress p;
	progress_init(&p, f, tty, 60);
	progress_update(&p, 0, "queued");
	progress_update(&p, 0, "queued"); /* unchanged: nothing */
	progress_update(&p, 40, "copying");
	progress_update(&p, 100, "done");
	progress_end(&p);
	fclose(f);
	return out;
}

static void test_display(void **state)
{
	char *s = run_display(0);
	assert_string_equal(s, "  0% queued\n 40% copying\n100% done\n");
	free(s);
	s = run_display(1);
	assert_string_equal(s, "\r\033[K[....................] 0% queued"
	                       "\r\033[K[########............] 40% copying"
	                       "\r\033[K[####################] 100% done\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_fits_width),
		cmocka_unit_test(test_display),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
