/* placement.c - bench: how long one placement decision takes among 1,000 (and
 * 10,000) hosts, and how many hosts pack and spread keep busy when a real VM
 * trace is replayed through placement, with first-fit as the peer. */
#include "placement.h"
#include "replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../fleet_rng.h"

#define NDATASTORES 24 /* 0..3 reach every host; 4.. belong to one cluster each */
#define NNETWORKS 40   /* 0..7 reach every host; 8.. per cluster */
#define NRULES 60
#define NREQUESTS 10000
#define NWARM 1000
#define DEFAULT_TRACE "/work/shared/traces/azure-v1-vms.csv.gz"

static void figure(const char *name, double value, const char *unit, int decimals)
{
	if (isnan(value))
		printf("figure %s nan %s\n", name, unit);
	else
		printf("figure %s %.*f %s\n", name, decimals, value, unit);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static const struct placement_cluster clusters[] = {
	{"prod-a", 4.0, 1.0, PLACEMENT_PACK},
	{"prod-b", 2.0, 1.0, PLACEMENT_SPREAD},
	{"dev", 8.0, 1.5, PLACEMENT_PACK},
	{"edge", 1.0, 1.0, PLACEMENT_SPREAD},
};
#define NCLUSTERS ((int)(sizeof(clusters) / sizeof(clusters[0])))

struct fleet {
	struct placement_host *hosts;
	char (*names)[16];
	struct placement_rule rules[NRULES];
	struct placement_member members[NRULES][6];
	char vm_names[NRULES][6][16];
	struct placement_snapshot snap;
};

/* Mixed sizes, 3% in maintenance, 1% disconnected, allocations 0-90%,
 * shared and per-cluster datastores and networks, affinity groups. */
static int fleet_build(struct fleet *f, int nhosts)
{
	static const int cpus[] = {16, 32, 48, 64, 96, 128};
	static const int gib[] = {64, 128, 256, 384, 512, 1024};
	memset(f, 0, sizeof(*f));
	f->hosts = calloc((size_t)nhosts, sizeof(*f->hosts));
	f->names = calloc((size_t)nhosts, sizeof(*f->names));
	if (!f->hosts || !f->names)
		return -1;
	for (int i = 0; i < nhosts; i++) {
		struct placement_host *h = &f->hosts[i];
		snprintf(f->names[i], sizeof(f->names[i]), "host-%d", i);
		h->name = f->names[i];
		h->cluster = pick(NCLUSTERS);
		int roll = pick(100);
		h->state = roll < 3 ? PLACEMENT_MAINTENANCE
		           : roll < 4 ? PLACEMENT_DISCONNECTED : PLACEMENT_CONNECTED;
		h->cpus = cpus[pick(6)];
		h->memory_mib = (int64_t)gib[pick(6)] * 1024;
		const struct placement_cluster *cl = &clusters[h->cluster];
		h->alloc_vcpus = (int)(placement_capacity(h->cpus, cl->cpu_overcommit) * pick(91) / 100);
		h->alloc_memory_mib =
			placement_capacity(h->memory_mib, cl->mem_overcommit) * pick(91) / 100;
		for (int d = 0; d < 4; d++)
			if (pick(100) < 95) /* a few hosts have lost a shared mount */
				placement_set_add(&h->datastores, d);
		for (int d = 4 + h->cluster; d < NDATASTORES; d += NCLUSTERS)
			placement_set_add(&h->datastores, d);
		for (int n = 0; n < 8; n++)
			placement_set_add(&h->networks, n);
		for (int n = 8 + h->cluster; n < NNETWORKS; n += NCLUSTERS)
			if (pick(100) < 90)
				placement_set_add(&h->networks, n);
	}
	for (int r = 0; r < NRULES; r++) {
		int nm = 2 + pick(5);
		for (int m = 0; m < nm; m++) {
			snprintf(f->vm_names[r][m], sizeof(f->vm_names[r][m]), "g%d-vm%d", r, m);
			f->members[r][m] = (struct placement_member){f->vm_names[r][m],
			                                            pick(4) ? pick(nhosts) : -1};
		}
		f->rules[r] = (struct placement_rule){NULL, r % 5 ? PLACEMENT_ANTI_AFFINITY
		                                                  : PLACEMENT_AFFINITY,
		                                      f->members[r], nm};
	}
	f->snap = (struct placement_snapshot){.hosts = f->hosts, .nhosts = nhosts,
	                                      .clusters = clusters, .nclusters = NCLUSTERS,
	                                      .rules = f->rules, .nrules = NRULES};
	return 0;
}

static void fleet_free(struct fleet *f)
{
	free(f->hosts);
	free(f->names);
}

struct req {
	struct placement_request q;
	int rule;
};

/* The trace's common sizes; most requests may go to any cluster and use a
 * shared datastore, which leaves the most hosts to weigh (the slow case). */
static void request_make(struct req *r)
{
	static const struct {
		int vcpus;
		int64_t mib;
	} sizes[] = {{1, 1792}, {1, 1792}, {1, 1792}, {2, 3584}, {2, 3584}, {4, 7168},
	             {8, 14336}, {8, 57344}, {16, 114688}};
	memset(r, 0, sizeof(*r));
	int s = pick((int)(sizeof(sizes) / sizeof(sizes[0])));
	r->q.vcpus = sizes[s].vcpus;
	r->q.memory_mib = sizes[s].mib;
	r->q.cluster = pick(100) < 20 ? pick(NCLUSTERS) : -1;
	r->q.datastore = pick(100) < 80 ? pick(4) : 4 + pick(NDATASTORES - 4);
	placement_set_add(&r->q.networks, pick(8));
	if (pick(2))
		placement_set_add(&r->q.networks, pick(NNETWORKS));
	if (pick(100) < 25) {
		r->rule = pick(NRULES);
		r->q.rules = &r->rule;
		r->q.nrules = 1;
	}
}

/* Times NREQUESTS decisions (after NWARM untimed ones) on a fleet of nhosts;
 * prints the median and p99 in microseconds. */
static int time_decisions(int nhosts, const char *name)
{
	struct fleet f;
	struct placement_result res;
	struct req *reqs = calloc(NREQUESTS, sizeof(*reqs));
	double *us = calloc(NREQUESTS, sizeof(*us));
	int rc = -1, placed = 0;
	if (placement_result_init(&res, nhosts) != 0 || !reqs || !us || fleet_build(&f, nhosts)) {
		fprintf(stderr, "placement: out of memory\n");
		goto cleanup;
	}
	for (int i = 0; i < NREQUESTS; i++) {
		request_make(&reqs[i]);
		reqs[i].q.rules = reqs[i].q.nrules ? &reqs[i].rule : NULL;
	}
	for (int i = 0; i < NWARM; i++)
		placement_choose_host(&f.snap, &reqs[i].q, &res);
	for (int i = 0; i < NREQUESTS; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int err = placement_choose_host(&f.snap, &reqs[i].q, &res);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (err) {
			fprintf(stderr, "placement: request %d: %s\n", i, placement_strerror(err));
			goto cleanup;
		}
		placed += res.host >= 0;
		us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(us, NREQUESTS, sizeof(*us), cmp_double);
	fprintf(stderr, "placement: %d hosts: %d of %d requests placed\n", nhosts, placed,
	        NREQUESTS);
	char fig[64];
	snprintf(fig, sizeof(fig), "placement_%s_hosts_us", name);
	figure(fig, us[NREQUESTS / 2], "us", 2);
	snprintf(fig, sizeof(fig), "placement_%s_hosts_p99_us", name);
	figure(fig, us[NREQUESTS * 99 / 100], "us", 2);
	rc = 0;
cleanup:
	fleet_free(&f);
	placement_result_free(&res);
	free(reqs);
	free(us);
	return rc;
}

/* Replays the trace's first narrivals VMs with pack, spread and first-fit. */
static int replay_figures(const char *path, int narrivals, int64_t from_s, const char *suffix)
{
	static const struct {
		enum replay_chooser how;
		const char *name;
	} runs[] = {{REPLAY_PACK, "pack"}, {REPLAY_SPREAD, "spread"}, {REPLAY_FIRST_FIT, "firstfit"}};
	int n;
	struct trace_vm *vms = trace_load(path, narrivals, &n);
	for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
		struct replay_stats st;
		char fig[80];
		snprintf(fig, sizeof(fig), "placement_trace_hosts_ratio_%s%s", runs[k].name, suffix);
		if (!vms || replay_run(vms, n, runs[k].how, from_s, &st) != 0) {
			figure(fig, NAN, "ratio", 3);
			continue;
		}
		fprintf(stderr, "placement: trace %d VMs %s: %.1f hosts busy on average, bound %.1f, "
		        "fleet grew to %d", n, runs[k].name, st.hosts_avg, st.bound_avg, st.hosts_max);
		if (runs[k].how != REPLAY_FIRST_FIT)
			fprintf(stderr, ", %.2f us per decision", st.decide_us);
		fputc('\n', stderr);
		figure(fig, st.hosts_avg / st.bound_avg, "ratio", 3);
	}
	free(vms);
	return vms ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *trace = getenv("VDC_TRACE") ? getenv("VDC_TRACE") : DEFAULT_TRACE;
	int full = argc > 1 && strcmp(argv[1], "--full") == 0;
	if (argc > 1 && !full) {
		fprintf(stderr, "usage: %s [--full]   (the trace: $VDC_TRACE or %s)\n", argv[0],
		        DEFAULT_TRACE);
		return 2;
	}
	int rc = 0;
	rc |= time_decisions(1000, "1k");
	rc |= time_decisions(10000, "10k");
	rc |= replay_figures(trace, 20000, 0, "");
	/* The whole trace measured from day 1, as the README's 1.12 is. */
	if (full)
		rc |= replay_figures(trace, 1 << 30, 86400, "_full");
	return rc ? 1 : 0;
}
