/* scenario.c - scenario files for the simulated world (scenario.h).
 * The verbs are listed in check_cmd (with their usage) and documented in
 * README "Controllers and the fleet simulator". HA's: config ha=on lease=S
 * margin=S net_timeout=S boot=S quiet=on; host NAME rack=R; hosts COUNT
 * racks_of=N; T vm NAME HOST priority=P after=VM[,VM]; T fill PER_HOST
 * [priorities=P,...]; T rack-power-off R; T cut-network HOST; T cut-both
 * HOST; T power-on HOST (power and both paths back); T summary. */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_ARGS 16

struct cmd {
	struct sim_scenario *sc;
	int line;
	int64_t at_ms;
	int argc;
	char *argv[MAX_ARGS];
	char *text; /* argv points into it */
};

struct trace_vm {
	struct sim_scenario *sc;
	int64_t arrive_ms, depart_ms; /* depart -1: stays */
	int vcpus;
	int64_t memory_mib;
	int slot;                     /* -1: refused or not arrived */
	bool warm;                    /* running when the window starts */
	char name[24];
};

struct sim_scenario {
	struct sim_world *w;
	const char *path;
	struct cmd *cmds;
	int ncmds, cmds_cap;
	int64_t end_ms;
	struct trace_vm *trace;
	int ntrace;
	int trace_vms; /* how many the trace brought */
	long bursts;
};

static int fail(char *err, size_t n, const char *path, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, n, "%s:%d: %s", path, line, msg);
	return -1;
}

/* "key=value" in argv[from..], or NULL. */
static const char *opt(const struct cmd *c, int from, const char *key)
{
	size_t k = strlen(key);
	for (int i = from; i < c->argc; i++)
		if (!strncmp(c->argv[i], key, k) && c->argv[i][k] == '=')
			return c->argv[i] + k + 1;
	return NULL;
}

static int num(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Seconds, possibly with a fraction, as ms. */
static int seconds_ms(const char *s, int64_t *ms)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		return -1;
	*ms = (int64_t)(v * 1000.0 + 0.5);
	return 0;
}

/* Integer option key (default def) within [lo, hi]. */
static int opt_num(const struct cmd *c, int from, const char *key, int64_t def, int64_t lo, int64_t hi,
                   int64_t *out, char *err, size_t n)
{
	const char *v = opt(c, from, key);
	*out = def;
	if (v && num(v, lo, hi, out) < 0)
		return fail(err, n, c->sc->path, c->line, "%s=%s: not a whole number in %lld..%lld", key, v,
		            (long long)lo, (long long)hi);
	return 0;
}

static int need(const struct cmd *c, int nargs, const char *usage, char *err, size_t n)
{
	if (c->argc < nargs)
		return fail(err, n, c->sc->path, c->line, "usage: %s", usage);
	return 0;
}

/* ---- the trace ---- */

static void trace_depart(void *arg)
{
	struct trace_vm *t = arg;
	if (t->slot >= 0 && t->sc->w->vms[t->slot].live)
		sim_vm_delete(t->sc->w, t->slot);
	t->slot = -1;
}

/* Arrivals are in time order: each schedules the next, so the timer heap
 * holds one arrival at a time, not the whole trace. */
static void trace_arrive(void *arg)
{
	struct trace_vm *t = arg;
	struct sim_scenario *sc = t->sc;
	t->slot = sim_vm_create(sc->w, t->name, t->vcpus, t->memory_mib);
	if (t->slot >= 0 && t->depart_ms >= 0)
		sim_world_at(sc->w, t->depart_ms, trace_depart, t);
	if (t + 1 < sc->trace + sc->ntrace)
		sim_world_at(sc->w, t[1].arrive_ms, trace_arrive, t + 1);
}

/* Loads the VMs of window [from, from + span) of a trace (those running at
 * its start first, arriving at once), at most max, to arrive from at_ms on. */
static int trace_load(struct sim_scenario *sc, const struct cmd *c, char *err, size_t n)
{
	int64_t from, span, max;
	if (opt_num(c, 2, "from", 0, 0, INT64_MAX / 4000, &from, err, n) < 0 ||
	    opt_num(c, 2, "for", 86400, 1, INT64_MAX / 4000, &span, err, n) < 0 ||
	    opt_num(c, 2, "vms", 1000000, 1, 10000000, &max, err, n) < 0)
		return -1;
	/* A relative trace is next to the scenario. */
	char path[4096];
	const char *slash = strrchr(sc->path, '/');
	if (c->argv[1][0] != '/' && slash)
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - sc->path), sc->path, c->argv[1]);
	else
		snprintf(path, sizeof(path), "%s", c->argv[1]);
	gzFile f = gzopen(path, "rb");
	if (!f)
		return fail(err, n, sc->path, c->line, "trace %s: cannot open it", c->argv[1]);
	char line[256];
	int lineno = 0, cap = 0, k = 0;
	struct trace_vm *v = NULL;
	int rc = 0;
	while (gzgets(f, line, sizeof(line))) {
		lineno++;
		if (lineno == 1 && !strncmp(line, "arrival_s", 9))
			continue;
		long long a, l, m;
		int cpus;
		if (sscanf(line, "%lld,%lld,%d,%lld", &a, &l, &cpus, &m) != 4 || cpus < 1 || m < 1 || a < 0) {
			rc = fail(err, n, sc->path, c->line, "trace %s:%d: not arrival_s,lifetime_s,vcpus,memory_mib",
			          c->argv[1], lineno);
			break;
		}
		bool running_at_start = a < from && (l < 0 || a + l > from);
		if (!(running_at_start || (a >= from && a < from + span)))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 65536;
			struct trace_vm *nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv) {
				rc = fail(err, n, sc->path, c->line, "trace %s: out of memory", c->argv[1]);
				break;
			}
			v = nv;
		}
		int64_t arrive = a < from ? 0 : a - from;
		v[k] = (struct trace_vm){.sc = sc, .arrive_ms = c->at_ms + arrive * 1000,
		                         .depart_ms = l < 0 ? -1 : c->at_ms + (a + l - from) * 1000,
		                         .vcpus = cpus, .memory_mib = m, .slot = -1, .warm = a < from};
		snprintf(v[k].name, sizeof(v[k].name), "t%d", lineno - 1);
		k++;
	}
	gzclose(f);
	if (rc < 0) {
		free(v);
		return -1;
	}
	/* Those running at the window's start come first (they arrive at 0). */
	int w = 0;
	struct trace_vm *sorted = malloc(((size_t)k + 1) * sizeof(*sorted));
	if (!sorted) {
		free(v);
		return fail(err, n, sc->path, c->line, "trace %s: out of memory", c->argv[1]);
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < k && w < max; i++)
			if (v[i].warm == (pass == 0))
				sorted[w++] = v[i];
	free(v);
	sc->trace = sorted;
	sc->ntrace = w;
	if (w)
		sim_world_at(sc->w, sorted[0].arrive_ms, trace_arrive, &sorted[0]);
	return 0;
}

/* ---- commands ---- */

static int vm_arg(const struct cmd *c, int i)
{
	int v = sim_vm_find(c->sc->w, c->argv[i]);
	if (v < 0 && c->sc->w->log)
		fprintf(c->sc->w->log, "! %s:%d: no VM '%s'\n", c->sc->path, c->line, c->argv[i]);
	return v;
}

static int host_now(const struct cmd *c, int i)
{
	return sim_host_find(c->sc->w, c->argv[i]);
}

/* A host to power on, or a VM to delete, later. */
struct repair_job {
	struct sim_world *w;
	int host;
};

static void repair_host(void *arg)
{
	struct repair_job *j = arg;
	sim_power_on(j->w, j->host);
	free(j);
}

static void fail_random(struct sim_scenario *sc, const struct cmd *c)
{
	struct sim_world *w = sc->w;
	int64_t count = 0, repair_s = 0;
	num(c->argv[1], 0, 1000000, &count);
	const char *r = opt(c, 2, "repair");
	if (r)
		num(r, 0, 100000000, &repair_s);
	int powered = 0;
	for (int i = 0; i < w->nhosts; i++)
		powered += w->hosts[i].powered;
	for (int64_t k = 0; k < count && powered > 0; k++) {
		int pick = (int)(sim_rand(w) % (uint64_t)powered);
		for (int i = 0; i < w->nhosts; i++) {
			if (!w->hosts[i].powered || pick--)
				continue;
			sim_power_off(w, i);
			powered--;
			if (r) {
				struct repair_job *j = malloc(sizeof(*j));
				if (j) {
					*j = (struct repair_job){w, i};
					sim_world_at(w, w->now_ms + repair_s * 1000, repair_host, j);
				}
			}
			break;
		}
	}
}

static void burst_depart(void *arg)
{
	struct repair_job *j = arg; /* here: the VM */
	if (j->w->vms[j->host].live)
		sim_vm_delete(j->w, j->host);
	free(j);
}

static void burst(struct sim_scenario *sc, const struct cmd *c)
{
	int64_t count = 0, vcpus = 1, mem = 1024, life = -1;
	num(c->argv[1], 0, 10000000, &count);
	const char *s;
	if ((s = opt(c, 2, "vcpus")))
		num(s, 1, 1 << 20, &vcpus);
	if ((s = opt(c, 2, "mem")))
		num(s, 1, (int64_t)1 << 40, &mem);
	if ((s = opt(c, 2, "lifetime")))
		num(s, 0, INT64_MAX / 4000, &life);
	const char *prefix = opt(c, 2, "prefix");
	for (int64_t k = 0; k < count; k++) {
		char name[SIM_NAME_MAX];
		snprintf(name, sizeof(name), "%s%ld", prefix ? prefix : "burst-", sc->bursts++);
		int v = sim_vm_create(sc->w, name, (int)vcpus, mem);
		struct repair_job *j = v >= 0 && life >= 0 ? malloc(sizeof(*j)) : NULL;
		if (j) {
			*j = (struct repair_job){sc->w, v};
			sim_world_at(sc->w, sc->w->now_ms + life * 1000, burst_depart, j);
		}
	}
}

static int priority_of(const char *p, enum ha_priority *out)
{
	static const char *const names[] = {"disabled", "low", "medium", "high"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(p, names[i])) {
			*out = (enum ha_priority)i;
			return 0;
		}
	return -1;
}

/* A VM's HA settings from its options: priority=P after=A[,B...]. */
static void vm_ha_opts(struct sim_world *w, const struct cmd *c, int vm)
{
	struct sim_vm *v = &w->vms[vm];
	const char *p = opt(c, 3, "priority"), *after = opt(c, 3, "after");
	if (p)
		priority_of(p, &v->priority);
	else if (w->ha.on)
		v->priority = HA_PRIO_MEDIUM; /* vdcd's default priority */
	for (const char *a = after; a && *a && v->nafter < 4;) {
		size_t n = strcspn(a, ",");
		snprintf(v->after[v->nafter++], SIM_NAME_MAX, "%.*s", (int)n, a);
		a += n + (a[n] == ',');
	}
}

/* N VMs on every host, their priorities taken in turn from a list. */
static void fill(struct sim_scenario *sc, const struct cmd *c)
{
	struct sim_world *w = sc->w;
	int64_t per = 0, vcpus, mem;
	num(c->argv[1], 0, 1000, &per);
	opt_num(c, 2, "vcpus", 1, 1, 1 << 20, &vcpus, NULL, 0);
	opt_num(c, 2, "mem", 1024, 1, (int64_t)1 << 40, &mem, NULL, 0);
	const char *list = opt(c, 2, "priorities");
	enum ha_priority prios[8];
	int np = 0;
	for (const char *a = list; a && *a && np < 8;) {
		size_t n = strcspn(a, ",");
		char one[16];
		snprintf(one, sizeof(one), "%.*s", (int)n, a);
		if (priority_of(one, &prios[np]) == 0)
			np++;
		a += n + (a[n] == ',');
	}
	long k = 0;
	int nhosts = w->nhosts;
	for (int i = 0; i < nhosts; i++)
		for (int64_t j = 0; j < per; j++, k++) {
			char name[SIM_NAME_MAX];
			snprintf(name, sizeof(name), "%s-vm%lld", w->hosts[i].name, (long long)j);
			int v = sim_vm_add(w, name, i, "running", (int)vcpus, mem);
			w->vms[v].priority = np ? prios[k % np] : w->ha.on ? HA_PRIO_MEDIUM : HA_PRIO_DISABLED;
		}
}

/* Runs one command at its time. Setup errors were caught at load time;
 * here only names that are gone by now are reported, into the log. */
static void run_cmd(void *arg)
{
	struct cmd *c = arg;
	struct sim_scenario *sc = c->sc;
	struct sim_world *w = sc->w;
	const char *verb = c->argv[0];
	int h, v;
	if (!strcmp(verb, "vm")) {
		int64_t vcpus, mem;
		opt_num(c, 3, "vcpus", 1, 1, 1 << 20, &vcpus, NULL, 0);
		opt_num(c, 3, "mem", 1024, 1, (int64_t)1 << 40, &mem, NULL, 0);
		const char *state = opt(c, 3, "state");
		if ((h = host_now(c, 2)) >= 0)
			vm_ha_opts(w, c, sim_vm_add(w, c->argv[1], h, state ? state : "running", (int)vcpus, mem));
	} else if (!strcmp(verb, "create")) {
		int64_t vcpus, mem;
		opt_num(c, 2, "vcpus", 1, 1, 1 << 20, &vcpus, NULL, 0);
		opt_num(c, 2, "mem", 1024, 1, (int64_t)1 << 40, &mem, NULL, 0);
		sim_vm_create(w, c->argv[1], (int)vcpus, mem);
	} else if (!strcmp(verb, "delete")) {
		if ((v = vm_arg(c, 1)) >= 0)
			sim_vm_delete(w, v);
	} else if (!strcmp(verb, "crash")) {
		if ((v = vm_arg(c, 1)) >= 0)
			sim_agent_vm_state(w, v, "crashed");
	} else if (!strcmp(verb, "agent-state")) {
		if ((v = vm_arg(c, 1)) >= 0)
			sim_agent_vm_state(w, v, c->argv[2]);
	} else if (!strcmp(verb, "task")) {
		if ((v = vm_arg(c, 1)) >= 0)
			sim_task_vm_state(w, v, c->argv[2]);
	} else if (!strcmp(verb, "doc")) {
		if ((v = vm_arg(c, 1)) >= 0)
			sim_doc_vm_state(w, v, c->argv[2]);
	} else if (!strcmp(verb, "foreign")) {
		const char *state = opt(c, 3, "state");
		if ((h = host_now(c, 1)) >= 0)
			sim_foreign_add(w, h, c->argv[2], state ? state : "running");
	} else if (!strcmp(verb, "foreign-gone")) {
		if ((v = vm_arg(c, 1)) >= 0)
			sim_foreign_remove(w, v);
	} else if (!strcmp(verb, "show")) {
		sim_show(w);
	} else if (!strcmp(verb, "summary")) {
		sim_ha_summary(w);
	} else if (!strcmp(verb, "fill")) {
		fill(sc, c);
	} else if (!strcmp(verb, "rack-power-off")) {
		int64_t r = 0;
		num(c->argv[1], 0, 1000000, &r);
		sim_rack_power_off(w, (int)r);
	} else if ((h = c->argc > 1 ? host_now(c, 1) : -1) < 0 && strcmp(verb, "fail-random") &&
	           strcmp(verb, "burst") && strcmp(verb, "end")) {
		if (w->log)
			fprintf(w->log, "! %s:%d: no host '%s'\n", sc->path, c->line, c->argv[1]);
	} else if (!strcmp(verb, "agent-down")) {
		sim_agent_down(w, h);
	} else if (!strcmp(verb, "agent-up")) {
		sim_agent_up(w, h);
	} else if (!strcmp(verb, "keeper-down")) {
		sim_keeper_down(w, h);
	} else if (!strcmp(verb, "power-off")) {
		sim_power_off(w, h);
	} else if (!strcmp(verb, "power-on")) {
		sim_restore(w, h); /* power, and the paths a cut took */
	} else if (!strcmp(verb, "cut-network")) {
		sim_cut_network(w, h);
	} else if (!strcmp(verb, "cut-both")) {
		sim_cut_both(w, h);
	} else if (!strcmp(verb, "maintenance")) {
		sim_maintenance(w, h, !strcmp(c->argv[2], "on"));
	} else if (!strcmp(verb, "beat")) {
		sim_beat_now(w, h);
	} else if (!strcmp(verb, "hold")) {
		sim_hold_beat(w, h);
	} else if (!strcmp(verb, "deliver")) {
		sim_deliver_beat(w, h);
	} else if (!strcmp(verb, "fail-random")) {
		fail_random(sc, c);
	} else if (!strcmp(verb, "burst")) {
		burst(sc, c);
	}
}

/* Checks a timed command's shape at load time: arity, names of hosts
 * that exist from the start, options. */
static int check_cmd(struct sim_scenario *sc, struct cmd *c, char *err, size_t n)
{
	static const struct {
		const char *verb;
		int nargs;
		const char *usage;
	} verbs[] = {
		{"vm", 3, "T vm NAME HOST [state=running] [vcpus=1] [mem=1024] [priority=P] [after=VM[,VM]]"},
		{"fill", 2, "T fill PER_HOST [vcpus=1] [mem=1024] [priorities=P[,P...]]"},
		{"rack-power-off", 2, "T rack-power-off RACK"},
		{"cut-network", 2, "T cut-network HOST"},
		{"cut-both", 2, "T cut-both HOST"},
		{"summary", 1, "T summary"},
		{"create", 2, "T create NAME [vcpus=1] [mem=1024]"},
		{"delete", 2, "T delete VM"},
		{"crash", 2, "T crash VM"},
		{"agent-state", 3, "T agent-state VM STATE"},
		{"task", 3, "T task VM STATE"},
		{"doc", 3, "T doc VM STATE"},
		{"foreign", 3, "T foreign HOST NAME [state=running]"},
		{"foreign-gone", 2, "T foreign-gone NAME"},
		{"agent-down", 2, "T agent-down HOST"},
		{"agent-up", 2, "T agent-up HOST"},
		{"keeper-down", 2, "T keeper-down HOST"},
		{"power-off", 2, "T power-off HOST"},
		{"power-on", 2, "T power-on HOST"},
		{"maintenance", 3, "T maintenance HOST on|off"},
		{"beat", 2, "T beat HOST"},
		{"hold", 2, "T hold HOST"},
		{"deliver", 2, "T deliver HOST"},
		{"fail-random", 2, "T fail-random COUNT [repair=S]"},
		{"burst", 2, "T burst COUNT [vcpus=1] [mem=1024] [prefix=burst-]"},
		{"trace", 2, "T trace FILE [from=S] [for=S] [vms=N]"},
		{"show", 1, "T show"},
		{"end", 1, "T end"},
	};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verbs[i].verb, c->argv[0]))
			continue;
		if (need(c, verbs[i].nargs, verbs[i].usage, err, n) < 0)
			return -1;
		if (!strcmp(c->argv[0], "maintenance") && strcmp(c->argv[2], "on") && strcmp(c->argv[2], "off"))
			return fail(err, n, sc->path, c->line, "maintenance: on or off, not '%s'", c->argv[2]);
		int64_t x;
		if ((!strcmp(c->argv[0], "fail-random") || !strcmp(c->argv[0], "burst")) &&
		    num(c->argv[1], 0, 10000000, &x) < 0)
			return fail(err, n, sc->path, c->line, "%s: '%s' is not a count", c->argv[0], c->argv[1]);
		if ((!strcmp(c->argv[0], "fill") || !strcmp(c->argv[0], "rack-power-off")) &&
		    num(c->argv[1], 0, 1000000, &x) < 0)
			return fail(err, n, sc->path, c->line, "%s: '%s' is not a number", c->argv[0], c->argv[1]);
		const char *p = opt(c, 1, "priority");
		enum ha_priority pr;
		if (p && priority_of(p, &pr) < 0)
			return fail(err, n, sc->path, c->line, "priority=%s: high, medium, low or disabled", p);
		static const char *const numeric[] = {"vcpus", "mem", "repair", "lifetime", "from", "for", "vms"};
		for (size_t k = 0; k < sizeof(numeric) / sizeof(numeric[0]); k++)
			if (opt_num(c, 1, numeric[k], 0, 0, (int64_t)1 << 40, &x, err, n) < 0)
				return -1;
		return 0;
	}
	return fail(err, n, sc->path, c->line, "unknown command '%s'", c->argv[0]);
}

static int setup_line(struct sim_scenario *sc, struct cmd *c, char *err, size_t n)
{
	struct sim_world *w = sc->w;
	const char *verb = c->argv[0];
	if (!strcmp(verb, "config")) {
		for (int i = 1; i < c->argc; i++) {
			char *eq = strchr(c->argv[i], '=');
			if (!eq)
				return fail(err, n, sc->path, c->line, "config: '%s' is not key=value", c->argv[i]);
			*eq = '\0';
			const char *k = c->argv[i], *v = eq + 1;
			int64_t x, ms;
			if (!strcmp(k, "timeout") && num(v, 1, 86400, &x) == 0)
				w->env.heartbeat_timeout_s = (int)x;
			else if (!strcmp(k, "beat") && seconds_ms(v, &ms) == 0 && ms >= 1)
				w->beat_interval_ms = (int)ms;
			else if (!strcmp(k, "liveness") && seconds_ms(v, &ms) == 0 && ms >= 1)
				w->liveness_interval_ms = (int)ms;
			else if (!strcmp(k, "seed") && num(v, 0, INT64_MAX, &x) == 0)
				w->rng = (uint64_t)x;
			else if (!strcmp(k, "policy") && (!strcmp(v, "pack") || !strcmp(v, "spread")))
				w->cluster.policy = !strcmp(v, "pack") ? PLACEMENT_PACK : PLACEMENT_SPREAD;
			else if (!strcmp(k, "cpu_overcommit") && (w->cluster.cpu_overcommit = strtod(v, NULL)) > 0)
				;
			else if (!strcmp(k, "mem_overcommit") && (w->cluster.mem_overcommit = strtod(v, NULL)) > 0)
				;
			else if (!strcmp(k, "ha") && (!strcmp(v, "on") || !strcmp(v, "off")))
				w->ha.on = !strcmp(v, "on");
			else if (!strcmp(k, "quiet") && (!strcmp(v, "on") || !strcmp(v, "off")))
				w->quiet = !strcmp(v, "on");
			else if (!strcmp(k, "lease") && seconds_ms(v, &ms) == 0 && ms >= 1)
				w->ha.t.lease_ms = ms;
			else if (!strcmp(k, "margin") && seconds_ms(v, &ms) == 0)
				w->ha.t.margin_ms = ms;
			else if (!strcmp(k, "net_timeout") && seconds_ms(v, &ms) == 0 && ms >= 1)
				w->ha.t.net_timeout_ms = ms;
			else if (!strcmp(k, "boot") && seconds_ms(v, &ms) == 0)
				w->ha.boot_ms = (int)ms;
			else
				return fail(err, n, sc->path, c->line,
				            "config: bad %s=%s (keys: timeout, beat, liveness, seed, policy, "
				            "cpu_overcommit, mem_overcommit, ha, quiet, lease, margin, net_timeout, boot)", k, v);
		}
		return 0;
	}
	int64_t cpus, mem;
	if (!strcmp(verb, "host") || !strcmp(verb, "hosts")) {
		int64_t rack, racks_of;
		if (need(c, 2, "host NAME [cpus=32] [mem=131072] [rack=R] | hosts COUNT [prefix=host-] [cpus=] [mem=] "
		         "[racks_of=N]", err, n) < 0 ||
		    opt_num(c, 2, "rack", 0, 0, 1000000, &rack, err, n) < 0 ||
		    opt_num(c, 2, "racks_of", 0, 0, 1000000, &racks_of, err, n) < 0 ||
		    opt_num(c, 2, "cpus", 32, 1, 1 << 20, &cpus, err, n) < 0 ||
		    opt_num(c, 2, "mem", 131072, 1, (int64_t)1 << 40, &mem, err, n) < 0)
			return -1;
		if (!strcmp(verb, "host")) {
			int hi = sim_host_add(w, c->argv[1], (int)cpus, mem);
			if (hi < 0)
				return fail(err, n, sc->path, c->line, "host '%s' twice", c->argv[1]);
			w->hosts[hi].rack = (int)rack;
			return 0;
		}
		int64_t count;
		if (num(c->argv[1], 1, 10000000, &count) < 0)
			return fail(err, n, sc->path, c->line, "hosts: '%s' is not a count", c->argv[1]);
		const char *prefix = opt(c, 2, "prefix");
		for (int64_t i = 0; i < count; i++) {
			char name[SIM_NAME_MAX];
			snprintf(name, sizeof(name), "%s%lld", prefix ? prefix : "host-", (long long)i);
			int hi = sim_host_add(w, name, (int)cpus, mem);
			if (hi < 0)
				return fail(err, n, sc->path, c->line, "host '%s' twice", name);
			w->hosts[hi].rack = racks_of ? (int)(i / racks_of) : (int)rack;
		}
		return 0;
	}
	return fail(err, n, sc->path, c->line, "'%s' needs a time (T %s ...) or is unknown", verb, verb);
}

static int split(struct cmd *c, char *line)
{
	c->text = strdup(line);
	if (!c->text)
		return -1;
	c->argc = 0;
	for (char *p = strtok(c->text, " \t\r\n"); p && c->argc < MAX_ARGS; p = strtok(NULL, " \t\r\n"))
		c->argv[c->argc++] = p;
	return 0;
}

struct sim_scenario *sim_scenario_load(struct sim_world *w, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct sim_scenario *sc = calloc(1, sizeof(*sc));
	if (!sc) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sc->w = w;
	sc->path = path;
	char line[1024];
	int lineno = 0, rc = 0;
	int64_t last = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		struct cmd c = {.sc = sc, .line = lineno};
		if (split(&c, line) < 0) {
			rc = fail(err, errlen, path, lineno, "out of memory");
			break;
		}
		if (c.argc == 0) {
			free(c.text);
			continue;
		}
		if (!isdigit((unsigned char)c.argv[0][0])) {
			rc = setup_line(sc, &c, err, errlen);
			free(c.text);
			continue;
		}
		if (seconds_ms(c.argv[0], &c.at_ms) < 0 || c.argc < 2) {
			rc = fail(err, errlen, path, lineno, "'%s': a time in seconds, then a command", c.argv[0]);
			free(c.text);
			break;
		}
		if (c.at_ms < last) {
			rc = fail(err, errlen, path, lineno, "time %s is before the line above's", c.argv[0]);
			free(c.text);
			break;
		}
		last = c.at_ms;
		memmove(c.argv, c.argv + 1, sizeof(c.argv[0]) * (size_t)(c.argc - 1));
		c.argc--;
		if (check_cmd(sc, &c, err, errlen) < 0) {
			free(c.text);
			rc = -1;
			break;
		}
		sc->cmds = realloc(sc->cmds, sizeof(*sc->cmds) * (size_t)(sc->ncmds + 1));
		if (!sc->cmds) {
			free(c.text);
			rc = fail(err, errlen, path, lineno, "out of memory");
			break;
		}
		sc->cmds[sc->ncmds++] = c;
		if (!strcmp(c.argv[0], "end"))
			sc->end_ms = c.at_ms;
		else if (c.at_ms > sc->end_ms)
			sc->end_ms = c.at_ms;
	}
	fclose(f);
	if (rc < 0) {
		sim_scenario_free(sc);
		return NULL;
	}
	/* The commands point at their scenario only now that cmds is final. */
	for (int i = 0; i < sc->ncmds; i++) {
		struct cmd *c = &sc->cmds[i];
		c->sc = sc;
		if (!strcmp(c->argv[0], "trace")) {
			if (sc->trace) {
				fail(err, errlen, path, c->line, "one trace a scenario");
				sim_scenario_free(sc);
				return NULL;
			}
			if (trace_load(sc, c, err, errlen) < 0) {
				sim_scenario_free(sc);
				return NULL;
			}
			sc->trace_vms = sc->ntrace;
		} else if (strcmp(c->argv[0], "end")) {
			sim_world_at(w, c->at_ms, run_cmd, c);
		}
	}
	sim_world_start(w);
	return sc;
}

void sim_scenario_run(struct sim_scenario *s)
{
	sim_world_run_until(s->w, s->end_ms);
}

void sim_scenario_free(struct sim_scenario *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->ncmds; i++)
		free(s->cmds[i].text);
	free(s->cmds);
	free(s->trace);
	free(s);
}

void sim_summary(FILE *out, const struct sim_world *w, const struct sim_scenario *s)
{
	const struct sim_stats *st = &w->st;
	int live = 0;
	for (int i = 0; i < w->nvms; i++)
		live += w->vms[i].live && w->vms[i].in_inventory;
	fprintf(out, "simulated %.0f s: %d hosts, %d VMs from the trace, %ld placement decisions\n",
	        (double)w->now_ms / 1000.0, w->nhosts, s->trace_vms, st->placed + st->refused);
	fprintf(out, "placed %ld, refused %ld", st->placed, st->refused);
	const char *sep = ": ";
	for (int f = 0; f < PLACEMENT_NFILTERS; f++)
		if (st->refused_by[f]) {
			fprintf(out, "%s%ld %s", sep, st->refused_by[f], placement_filter_name(f));
			sep = ", ";
		}
	fprintf(out, "\ndeparted %ld, running at the end %d\n", st->departed, live);
	fprintf(out, "host failures %ld, detected %ld (mean %.1f s after), disconnects %ld, reconnects %ld\n",
	        st->failures, st->detected, st->detected ? st->detect_s_sum / (double)st->detected : 0.0,
	        st->disconnects, st->reconnects);
	fprintf(out, "VMs affected %ld (on hosts when they were marked disconnected)\n", st->vms_affected);
	fprintf(out, "heartbeats %ld: VM states observed %ld (missing %ld), stale ignored %ld, "
	             "task-owned %ld, foreign reported %ld\n",
	        st->beats, st->observed, st->observed_missing, st->stale, st->task_owns, st->foreign_reports);
}
