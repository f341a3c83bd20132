/* vdc-sim - runs vdcd's controllers (ctl/) and placement (decide/) over a
 * simulated fleet in virtual time, driven by a scenario file, and prints
 * what happened. See README.md, "Fleet simulator". */
#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: vdc-sim [--log FILE] [--seed N] SCENARIO\n"
	           "  --log FILE  write the decision log (every decision with its reason) to FILE\n"
	           "              ('-': stdout); placements are then fully explained (slower)\n"
	           "  --seed N    the seed of the random choices (default: the scenario's, else 1)\n");
}

int main(int argc, char **argv)
{
	const char *log_path = NULL, *scenario = NULL;
	long long seed = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--log") && i + 1 < argc) {
			log_path = argv[++i];
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			char *end;
			seed = strtoll(argv[++i], &end, 10);
			if (*end || seed < 0) {
				fprintf(stderr, "vdc-sim: --seed: '%s' is not a whole number >= 0\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || scenario) {
			usage(stderr);
			return 2;
		} else {
			scenario = argv[i];
		}
	}
	if (!scenario) {
		usage(stderr);
		return 2;
	}
	FILE *log = NULL;
	if (log_path && !(log = strcmp(log_path, "-") ? fopen(log_path, "w") : stdout)) {
		perror(log_path);
		return 1;
	}
	static struct sim_world w;
	sim_world_init(&w, log);
	char err[512];
	struct sim_scenario *s = sim_scenario_load(&w, scenario, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "vdc-sim: %s\n", err);
		return 1;
	}
	if (seed >= 0)
		w.rng = (uint64_t)seed;
	sim_scenario_run(s);
	sim_summary(stdout, &w, s);
	sim_scenario_free(s);
	sim_world_free(&w);
	if (log && log != stdout)
		fclose(log);
	return 0;
}
