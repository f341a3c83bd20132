/* replay.c - the trace replay behind the placement_trace_* figures: how many
 * hosts pack and spread keep busy on a real arrival and departure stream,
 * against the lower bound and against first-fit in the same run. */
#include "replay.h"

#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define HOST_VCPUS 32
#define HOST_MIB (128 * 1024)

struct trace_vm *trace_load(const char *path, int max, int *n)
{
	gzFile f = gzopen(path, "rb");
	if (!f) {
		fprintf(stderr, "placement: cannot open %s\n", path);
		return NULL;
	}
	struct trace_vm *v = NULL;
	char line[256];
	int k = 0, cap = 0, lineno = 0;
	while (k < max && gzgets(f, line, sizeof(line))) {
		long long a, l, m;
		int c;
		if (lineno++ == 0 && strncmp(line, "arrival_s", 9) == 0)
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 65536;
			struct trace_vm *nv = realloc(v, sizeof(*v) * (size_t)cap);
			if (!nv) {
				fprintf(stderr, "placement: out of memory reading %s\n", path);
				free(v);
				v = NULL;
				break;
			}
			v = nv;
		}
		if (sscanf(line, "%lld,%lld,%d,%lld", &a, &l, &c, &m) != 4 || c < 1 || m < 1 ||
		    c > HOST_VCPUS || m > HOST_MIB) {
			fprintf(stderr, "placement: %s:%d: not a trace row: %s", path, lineno, line);
			free(v);
			v = NULL;
			break;
		}
		v[k++] = (struct trace_vm){a, l, c, m};
	}
	gzclose(f);
	if (k == 0 && (v || lineno <= 1)) { /* empty, rather than already reported */
		fprintf(stderr, "placement: %s holds no rows\n", path);
		free(v);
		v = NULL;
	}
	*n = k;
	return v;
}

struct event {
	int64_t t;
	int arrive; /* 0 sorts first: departures free room before arrivals */
	int vm;
};

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->arrive != y->arrive)
		return x->arrive - y->arrive;
	return x->vm - y->vm;
}

struct sim {
	struct placement_host *hosts;
	int nhosts;
	int used;          /* hosts with at least one VM */
	int64_t sum_vcpus, sum_mib;
	struct placement_cluster cluster;
	struct placement_result res;
	double decide_ns;
	int decisions;
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int choose(struct sim *s, const struct trace_vm *vm, enum replay_chooser how)
{
	if (how == REPLAY_FIRST_FIT) {
		for (int h = 0; h < s->nhosts; h++)
			if (s->hosts[h].alloc_vcpus + vm->vcpus <= HOST_VCPUS &&
			    s->hosts[h].alloc_memory_mib + vm->memory_mib <= HOST_MIB)
				return h;
		return -1;
	}
	if (s->nhosts == 0)
		return -1;
	struct placement_snapshot snap = {.hosts = s->hosts, .nhosts = s->nhosts,
	                                  .clusters = &s->cluster, .nclusters = 1};
	struct placement_request q = {.vm = NULL, .vcpus = vm->vcpus, .memory_mib = vm->memory_mib,
	                              .datastore = -1, .cluster = -1};
	double t0 = now_ns();
	int err = placement_choose_host(&snap, &q, &s->res);
	s->decide_ns += now_ns() - t0;
	s->decisions++;
	if (err) {
		fprintf(stderr, "placement: replay: %s\n", placement_strerror(err));
		return -2;
	}
	return s->res.host;
}

static void put_vm(struct sim *s, int h, const struct trace_vm *vm, int sign)
{
	struct placement_host *host = &s->hosts[h];
	int was_used = host->alloc_vcpus > 0;
	host->alloc_vcpus += sign * vm->vcpus;
	host->alloc_memory_mib += sign * vm->memory_mib;
	s->used += (host->alloc_vcpus > 0) - was_used;
	s->sum_vcpus += sign * vm->vcpus;
	s->sum_mib += sign * vm->memory_mib;
}

static int64_t lower_bound(const struct sim *s)
{
	int64_t c = (s->sum_vcpus + HOST_VCPUS - 1) / HOST_VCPUS;
	int64_t m = (s->sum_mib + HOST_MIB - 1) / HOST_MIB;
	return c > m ? c : m;
}

int replay_run(const struct trace_vm *vms, int n, enum replay_chooser how, int64_t from_s,
               struct replay_stats *st)
{
	memset(st, 0, sizeof(*st));
	int64_t end = 0; /* the last arrival: later departures are not replayed */
	for (int i = 0; i < n; i++)
		end = vms[i].arrival_s > end ? vms[i].arrival_s : end;
	struct event *ev = malloc(sizeof(*ev) * 2 * (size_t)n);
	int *host_of = malloc(sizeof(*host_of) * (size_t)n);
	struct sim s = {.hosts = calloc((size_t)n, sizeof(*s.hosts)),
	                .cluster = {"replay", 1.0, 1.0,
	                            how == REPLAY_SPREAD ? PLACEMENT_SPREAD : PLACEMENT_PACK}};
	int rc = -1;
	if (!ev || !host_of || !s.hosts || placement_result_init(&s.res, n) != 0) {
		fprintf(stderr, "placement: replay: out of memory\n");
		goto cleanup;
	}
	int ne = 0;
	for (int i = 0; i < n; i++) {
		ev[ne++] = (struct event){vms[i].arrival_s, 1, i};
		if (vms[i].lifetime_s >= 0 && vms[i].arrival_s + vms[i].lifetime_s <= end)
			ev[ne++] = (struct event){vms[i].arrival_s + vms[i].lifetime_s, 0, i};
	}
	qsort(ev, (size_t)ne, sizeof(*ev), cmp_event);
	double hosts_area = 0, bound_area = 0, span = 0;
	int64_t t_prev = ev[0].t;
	for (int k = 0; k < ne; k++) {
		const struct event *e = &ev[k];
		int64_t a = t_prev > from_s ? t_prev : from_s;
		if (e->t > a) { /* the state held from t_prev until this event */
			hosts_area += (double)s.used * (double)(e->t - a);
			bound_area += (double)lower_bound(&s) * (double)(e->t - a);
			span += (double)(e->t - a);
		}
		t_prev = e->t;
		const struct trace_vm *vm = &vms[e->vm];
		if (!e->arrive) {
			put_vm(&s, host_of[e->vm], vm, -1);
			continue;
		}
		int h = choose(&s, vm, how);
		if (h == -2)
			goto cleanup;
		if (h < 0) { /* nothing fits: a new, empty host */
			h = s.nhosts++;
			s.hosts[h] = (struct placement_host){.name = NULL, .cluster = 0,
			                                     .state = PLACEMENT_CONNECTED,
			                                     .cpus = HOST_VCPUS, .memory_mib = HOST_MIB};
		}
		host_of[e->vm] = h;
		put_vm(&s, h, vm, +1);
	}
	if (span <= 0) {
		fprintf(stderr, "placement: replay: the trace spans no time after %lld s\n",
		        (long long)from_s);
		goto cleanup;
	}
	st->hosts_avg = hosts_area / span;
	st->bound_avg = bound_area / span;
	st->hosts_max = s.nhosts;
	st->decide_us = s.decisions ? s.decide_ns / s.decisions / 1e3 : 0;
	rc = 0;
cleanup:
	placement_result_free(&s.res);
	free(s.hosts);
	free(host_of);
	free(ev);
	return rc;
}
