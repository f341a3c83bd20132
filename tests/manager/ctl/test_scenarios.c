/* test_scenarios.c - the controllers' scenario tests: each directory under
 * scenarios/ holds "events" (a scenario for the simulated world, src/sim)
 * and "expected" (the decision log it must produce: every decision of the
 * liveness, reconcile, foreign VM, placement and HA controllers with its
 * reason, and the events users would see). A scenario where a VM ever runs
 * on two simulated hosts at once fails, whatever its expected log says. The real controllers run over
 * the simulated environment in virtual time. Prints TAP; a mismatch shows
 * a line diff (- expected, + got). VDC_SCENARIO_UPDATE=1 writes the logs
 * as "expected" instead (read them before committing). */
#include "scenario.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static int split_lines(char *text, char ***out)
{
	int n = 0, cap = 16;
	char **v = malloc(sizeof(*v) * (size_t)cap);
	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (n == cap)
			v = realloc(v, sizeof(*v) * (size_t)(cap *= 2));
		v[n++] = p;
		p = nl ? nl + 1 : NULL;
	}
	*out = v;
	return n;
}

/* A line diff by longest common subsequence (scenario logs are short). */
static void print_diff(char *want, char *got)
{
	char **a, **b;
	int n = split_lines(want, &a), m = split_lines(got, &b);
	int *L = calloc((size_t)(n + 1) * (size_t)(m + 1), sizeof(int));
#define LCS(i, j) L[(size_t)(i) * (size_t)(m + 1) + (size_t)(j)]
	for (int i = n - 1; i >= 0; i--)
		for (int j = m - 1; j >= 0; j--)
			LCS(i, j) = !strcmp(a[i], b[j]) ? LCS(i + 1, j + 1) + 1
			            : LCS(i + 1, j) > LCS(i, j + 1) ? LCS(i + 1, j) : LCS(i, j + 1);
	int i = 0, j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && !strcmp(a[i], b[j])) {
			printf("#   %s\n", a[i]);
			i++, j++;
		} else if (i < n && (j == m || LCS(i + 1, j) >= LCS(i, j + 1))) {
			printf("# - %s\n", a[i++]);
		} else {
			printf("# + %s\n", b[j++]);
		}
	}
#undef LCS
	free(L);
	free(a);
	free(b);
}

static int run_one(const char *dir, const char *name, int k)
{
	char events[4096], expected[4096];
	snprintf(events, sizeof(events), "%s/%s/events", dir, name);
	snprintf(expected, sizeof(expected), "%s/%s/expected", dir, name);
	char *got = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&got, &len);
	static struct sim_world w;
	sim_world_init(&w, log);
	char err[512];
	struct sim_scenario *s = sim_scenario_load(&w, events, err, sizeof(err));
	long two_copies = 0;
	if (s) {
		sim_scenario_run(s);
		sim_scenario_free(s);
		two_copies = w.ha.two_copies;
	}
	sim_world_free(&w);
	fclose(log);
	if (!s) {
		printf("not ok %d - %s: %s\n", k, name, err);
		free(got);
		return 1;
	}
	if (getenv("VDC_SCENARIO_UPDATE")) {
		FILE *f = fopen(expected, "w");
		if (f) {
			fputs(got, f);
			fclose(f);
		}
	}
	/* Never two copies of a VM: whatever the expected log says. */
	if (two_copies) {
		printf("not ok %d - %s: a VM ran on two hosts at once (%ld times, TWO COPIES in the log)\n", k, name,
		       two_copies);
		free(got);
		return 1;
	}
	char *want = slurp(expected);
	int bad = !want || strcmp(want, got) != 0;
	printf("%s %d - scenario %s: the decision log is as expected\n", bad ? "not ok" : "ok", k, name);
	if (!want)
		printf("# %s: missing\n", expected);
	else if (bad)
		print_diff(want, got);
	free(want);
	free(got);
	return bad;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_scenario(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	/* scripts/test.sh runs every test_* with no arguments. */
	const char *dir = argc > 1 ? argv[1] : SCENARIO_DIR;
	struct dirent **names;
	int n = scandir(dir, &names, is_scenario, by_name);
	if (n <= 0) {
		printf("1..1\nnot ok 1 - scenarios in %s\n", dir);
		return 1;
	}
	printf("1..%d\n", n);
	int failed = 0;
	for (int i = 0; i < n; i++) {
		failed += run_one(dir, names[i]->d_name, i + 1);
		free(names[i]);
	}
	free(names);
	return failed ? 1 : 0;
}
