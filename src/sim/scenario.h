/* scenario.h - drives a simulated world from a scenario file: one command a
 * line, "[T] VERB ARGS..." with T in seconds of virtual time (lines without
 * T set the world up before it starts). The verbs are in README.md
 * ("Fleet simulator") and scenario.c. */
#ifndef VDC_SIM_SCENARIO_H
#define VDC_SIM_SCENARIO_H

#include "world.h"

struct sim_scenario;

/* Reads path, sets w up and schedules the commands. Returns the scenario
 * (free with sim_scenario_free), or NULL with err naming the file, the line
 * and the problem. */
struct sim_scenario *sim_scenario_load(struct sim_world *w, const char *path, char *err, size_t errlen);
/* Runs the world to the scenario's end (its "end" command, else its last
 * command). */
void sim_scenario_run(struct sim_scenario *s);
void sim_scenario_free(struct sim_scenario *s);

/* The summary: VMs placed, refused and why, host failures detected, VMs
 * affected, what heartbeats changed. Deterministic for a scenario. */
void sim_summary(FILE *out, const struct sim_world *w, const struct sim_scenario *s);

#endif
