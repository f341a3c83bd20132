/* test_sim_fleet.c - the fleet simulator (src/sim, vdc-sim) on a small
 * fleet: the first 3,000 VMs of the Azure trace through vdcd's placement,
 * random host failures found by the liveness controller, an agent restart,
 * a burst. With a fixed seed the summary is always the same: it must equal
 * sim/small.expected, run after run, and a decision log must not change
 * the outcome (the simulator places with placement_choose_best without
 * one and placement_choose_host with one). Prints TAP. */
#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *run(const char *path, bool with_log, char *err, size_t errlen)
{
	char *out = NULL, *logbuf = NULL;
	size_t len = 0, loglen = 0;
	FILE *f = open_memstream(&out, &len);
	FILE *log = with_log ? open_memstream(&logbuf, &loglen) : NULL;
	static struct sim_world w;
	sim_world_init(&w, log);
	struct sim_scenario *s = sim_scenario_load(&w, path, err, errlen);
	if (s) {
		sim_scenario_run(s);
		sim_summary(f, &w, s);
		sim_scenario_free(s);
	}
	sim_world_free(&w);
	fclose(f);
	if (log)
		fclose(log);
	free(logbuf);
	if (!s) {
		free(out);
		return NULL;
	}
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 16);
	size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	(void)n;
	fclose(f);
	return buf;
}

/* Prints text as TAP comments, line by line. */
static void comment(const char *text)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		printf("#   %.*s\n", len, p);
		p += len + (nl != NULL);
	}
}

int main(void)
{
	const char *scenario = SIM_DIR "/small.scenario", *expected = SIM_DIR "/small.expected";
	char err[512];
	printf("1..3\n");
	char *a = run(scenario, false, err, sizeof(err));
	if (!a) {
		printf("not ok 1 - the small fleet scenario runs: %s\nnot ok 2 - # skipped\nnot ok 3 - # skipped\n", err);
		return 1;
	}
	if (getenv("VDC_SCENARIO_UPDATE")) {
		FILE *f = fopen(expected, "w");
		if (f) {
			fputs(a, f);
			fclose(f);
		}
	}
	char *want = slurp(expected);
	int failed = 0;
	bool same = want && !strcmp(a, want);
	printf("%s 1 - the small fleet's summary is %s\n", same ? "ok" : "not ok", expected);
	if (!same) {
		printf("# got:\n");
		comment(a);
		printf("# want:\n");
		comment(want ? want : "(missing)\n");
	}
	failed += !same;
	char *b = run(scenario, false, err, sizeof(err));
	same = b && !strcmp(a, b);
	printf("%s 2 - a second run with the same seed gives the same summary\n", same ? "ok" : "not ok");
	failed += !same;
	char *c = run(scenario, true, err, sizeof(err));
	same = c && !strcmp(a, c);
	printf("%s 3 - with a decision log (full placement) the outcome is the same\n", same ? "ok" : "not ok");
	if (!same && c) {
		printf("# with the log:\n");
		comment(c);
	}
	failed += !same;
	free(a);
	free(b);
	free(c);
	free(want);
	return failed ? 1 : 0;
}
