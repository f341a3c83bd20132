/* test_placement_cases.c - runs every case file under cases/ (one cmocka test
 * each): decides its request and compares the log with its expect section.
 * PLACEMENT_UPDATE=1 rewrites the expect sections instead (review the diff). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PLACEMENT_CASES_DIR
#define PLACEMENT_CASES_DIR "cases"
#endif

static int rewrite(const char *path, const struct fixture *f, const char *actual)
{
	FILE *fp = fopen(path, "we");
	if (!fp)
		return -1;
	fputs(f->input, fp);
	fputs(actual, fp);
	return fclose(fp);
}

/* Prints the first line where the two logs part, then the whole actual log. */
static void show_difference(const char *want, const char *got)
{
	int line = 1;
	const char *w = want, *g = got;
	while (*w && *w == *g) {
		if (*w == '\n')
			line++;
		w++;
		g++;
	}
	const char *ws = w, *gs = g;
	while (ws > want && ws[-1] != '\n')
		ws--, gs--;
	print_error("line %d differs\n  want: %.*s\n  got:  %.*s\nwhole log:\n%s", line,
	            (int)strcspn(ws, "\n"), ws, (int)strcspn(gs, "\n"), gs, got);
}

static void run_case(void **state)
{
	const char *path = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	char err[512];
	if (fixture_load(path, f, err, sizeof(err)) != 0) {
		fixture_free(f);
		free(f);
		fail_msg("bad case file: %s", err);
	}
	char *got = fixture_decide(f);
	assert_non_null(got);
	int differs = strcmp(got, f->expect) != 0;
	if (differs && getenv("PLACEMENT_UPDATE")) {
		assert_int_equal(rewrite(path, f, got), 0);
		print_message("# rewrote %s\n", path);
		differs = 0;
	}
	if (differs)
		show_difference(f->expect, got);
	free(got);
	fixture_free(f);
	free(f);
	if (differs)
		fail_msg("%s: the decision log differs from its expect section", path);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_case(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 5 && strcmp(d->d_name + n - 5, ".case") == 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : PLACEMENT_CASES_DIR;
	struct dirent **ents;
	int n = scandir(dir, &ents, is_case, by_name);
	if (n <= 0) {
		fprintf(stderr, "test_placement_cases: no *.case files in %s\n", dir);
		return 1;
	}
	struct CMUnitTest *tests = calloc((size_t)n, sizeof(*tests));
	char **paths = calloc((size_t)n, sizeof(*paths));
	char **names = calloc((size_t)n, sizeof(*names));
	if (!tests || !paths || !names)
		return 1;
	for (int i = 0; i < n; i++) {
		if (asprintf(&paths[i], "%s/%s", dir, ents[i]->d_name) < 0)
			return 1;
		names[i] = strndup(ents[i]->d_name, strlen(ents[i]->d_name) - 5);
		tests[i] = (struct CMUnitTest){names[i], run_case, NULL, NULL, paths[i]};
		free(ents[i]);
	}
	free(ents);
	int failed = _cmocka_run_group_tests("placement_cases", tests, (size_t)n, NULL, NULL);
	for (int i = 0; i < n; i++) {
		free(paths[i]);
		free(names[i]);
	}
	free(paths);
	free(names);
	free(tests);
	return failed ? 1 : 0;
}
