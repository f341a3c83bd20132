/* balance_plan.c - greedy live-migration moves that even a cluster's host
 * loads, under placement's rules and HA's admission control
 * (balance_plan.h). */
#include "balance_plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_put.h"

const struct balance_level balance_levels[BALANCE_LEVELS] = {
	{0.20, 0.020, 5}, /* 1: conservative: only clear imbalance, only big moves */
	{0.15, 0.010, 4},
	{0.10, 0.005, 3}, /* 3: the default */
	{0.07, 0.002, 2},
	{0.05, 0.001, 1}, /* 5: aggressive */
};

/* Sources searched per step once a move is found: the best move almost
 * always leaves one of the busiest hosts. */
#define BALANCE_SOURCES 3

const char *balance_stop_name(enum balance_stop s)
{
	switch (s) {
	case BALANCE_STOP_UNDER_TARGET: return "under_target";
	case BALANCE_STOP_HOLDING: return "holding";
	case BALANCE_STOP_NO_GAIN: return "no_gain";
	case BALANCE_STOP_CAP: return "cap";
	case BALANCE_STOP_TOO_FEW: return "too_few";
	}
	return "unknown";
}

struct ranked {
	double key;
	int host;
};

/* The working state of one plan. */
struct work {
	const struct balance_input *in;
	const struct placement_snapshot *s;
	struct placement_snapshot plan; /* s with the moves so far applied */
	struct placement_host *hosts;
	struct placement_rule *rules;
	struct placement_member **members;
	bool *counts;
	double *cpu, *mem;   /* demand per host: CPUs, MiB */
	int n;               /* hosts that count */
	double s1c, s2c, s1m, s2m; /* sums of load fractions and of their squares */
	int *head, *next, *prev; /* each host's VMs, as a list */
	bool *moved;
	signed char *cost_known; /* 0 not yet, 1 planned, -1 refused */
	struct migrate_plan *cost;
	int *moves_at;       /* moves each host takes part in this round */
	struct ha_admission_host *ha_hosts;
	struct placement_result r;
	struct ranked *order;
	/* Per step, beside order: each host's fractions and 1 / its size. */
	double *tc, *tm, *ic, *im;
	/* The best move refused this step: placement's filter and sentence. */
	enum placement_filter blocked_filter;
	char blocked_why[240];
};

static double ss(double s1, double s2, int n)
{
	double v = s2 - s1 * s1 / n;
	return v > 0 ? v : 0;
}

static double imbalance(const struct work *w)
{
	if (w->n < 1)
		return 0;
	return sqrt((ss(w->s1c, w->s2c, w->n) + ss(w->s1m, w->s2m, w->n)) / (2.0 * w->n));
}

static double frac_cpu(const struct work *w, int h)
{
	return w->cpu[h] / w->hosts[h].cpus;
}

static double frac_mem(const struct work *w, int h)
{
	return w->mem[h] / (double)w->hosts[h].memory_mib;
}

/* How a move changes one resource's sum of squared deviations: x leaves
 * a host at fraction fa, y arrives on one at fb (x and y differ when the
 * hosts' sizes do); s1 is the sum of fractions, inv_n 1 / hosts. */
static inline double delta_ss(double fa, double x, double fb, double y, double s1, double inv_n)
{
	double d1 = y - x;
	return x * x - 2 * fa * x + 2 * fb * y + y * y - (2 * s1 * d1 + d1 * d1) * inv_n;
}

/* The cut in n x imbalance^2 if v moved from the step's host k to its host
 * o (indices into w->order and the arrays beside it). */
static inline double gain(const struct work *w, double dc, double dm, int k, int o)
{
	double inv_n = 1.0 / w->n;
	return -(delta_ss(w->tc[k], dc * w->ic[k], w->tc[o], dc * w->ic[o], w->s1c, inv_n) +
	         delta_ss(w->tm[k], dm * w->im[k], w->tm[o], dm * w->im[o], w->s1m, inv_n)) / 2;
}

static void list_remove(struct work *w, int v, int h)
{
	if (w->prev[v] >= 0)
		w->next[w->prev[v]] = w->next[v];
	else
		w->head[h] = w->next[v];
	if (w->next[v] >= 0)
		w->prev[w->next[v]] = w->prev[v];
}

static void list_add(struct work *w, int v, int h)
{
	w->prev[v] = -1;
	w->next[v] = w->head[h];
	if (w->head[h] >= 0)
		w->prev[w->head[h]] = v;
	w->head[h] = v;
}

/* The sums over the hosts that count, afresh (no drift from the updates). */
static void resum(struct work *w)
{
	w->n = 0;
	w->s1c = w->s2c = w->s1m = w->s2m = 0;
	for (int h = 0; h < w->s->nhosts; h++)
		if (w->counts[h]) {
			double fc = frac_cpu(w, h), fm = frac_mem(w, h);
			w->n++;
			w->s1c += fc, w->s2c += fc * fc, w->s1m += fm, w->s2m += fm * fm;
		}
}

/* Adds (sign 1) or takes (-1) v's demand on host h (resum after). */
static void load(struct work *w, const struct balance_vm *v, int h, int sign)
{
	w->cpu[h] += sign * v->cpu_demand;
	w->mem[h] += sign * (double)v->mem_demand_mib;
}

/* Moves v's allocation, reservations and rule memberships from a to b in
 * the working snapshot (sign -1 undoes it). */
static void place(struct work *w, const struct balance_vm *v, int a, int b)
{
	w->hosts[a].alloc_vcpus -= v->vcpus;
	w->hosts[a].alloc_memory_mib -= v->memory_mib;
	w->hosts[a].reserved_cpu_pct -= v->reserve_cpu_pct;
	w->hosts[a].reserved_memory_mib -= v->reserve_memory_mib;
	w->hosts[b].alloc_vcpus += v->vcpus;
	w->hosts[b].alloc_memory_mib += v->memory_mib;
	w->hosts[b].reserved_cpu_pct += v->reserve_cpu_pct;
	w->hosts[b].reserved_memory_mib += v->reserve_memory_mib;
	for (int j = 0; j < v->nrules; j++) {
		int ri = v->rules[j];
		if (ri < 0 || ri >= w->s->nrules || !w->members[ri])
			continue;
		for (int m = 0; m < w->rules[ri].nmembers; m++)
			if (v->name && w->members[ri][m].vm && !strcmp(w->members[ri][m].vm, v->name))
				w->members[ri][m].host = b;
	}
}

/* The cluster's failover capacity under the working snapshot. */
static int ha_now(struct work *w, struct ha_capacity *out)
{
	int nh = ha_admission_hosts(&w->plan, w->in->cluster, w->ha_hosts, w->s->nhosts ? w->s->nhosts : 1);
	if (nh < 0)
		return -1;
	struct ha_admission_cluster c = {.name = w->s->clusters[w->in->cluster].name, .hosts = w->ha_hosts,
	                                 .nhosts = nh};
	for (int i = 0; i < w->s->nhosts; i++)
		if (w->hosts[i].cluster == w->in->cluster) {
			c.load[HA_CPU] += w->hosts[i].alloc_vcpus;
			c.load[HA_MEM] += w->hosts[i].alloc_memory_mib;
		}
	return ha_admission_capacity(&c, &w->in->ha, out);
}

/* Whether after leaves the cluster's failover capacity no worse than
 * before did: no fewer host failures survived, and no resource pushed
 * (further) past what the policy keeps free. */
static bool ha_kept(const struct ha_capacity *before, const struct ha_capacity *after)
{
	if (after->tolerates < before->tolerates)
		return false;
	for (int r = 0; r < HA_NRES; r++)
		if (after->free[r] < 0 && after->free[r] < before->free[r])
			return false;
	return true;
}

static const struct migrate_plan *cost_of(struct work *w, int vi)
{
	if (!w->cost_known[vi]) {
		const struct balance_vm *v = &w->in->vms[vi];
		struct migrate_inputs mi = {.memory_bytes = v->memory_mib << 20, .dirty_bytes_s = v->dirty_bytes_s,
		                            .bandwidth_bytes_s = w->in->bandwidth_bytes_s};
		migrate_plan_decide(&mi, &w->in->migrate, &w->cost[vi]);
		w->cost_known[vi] = w->cost[vi].strategy == MIGRATE_REFUSED ? -1 : 1;
	}
	return w->cost_known[vi] > 0 ? &w->cost[vi] : NULL;
}

static int by_key_desc(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? 1 : -1;
	return x->host - y->host;
}

static const char *vname(const struct balance_vm *v)
{
	return v->name ? v->name : "?";
}

static const char *hname(const struct work *w, int h)
{
	return w->s->hosts[h].name ? w->s->hosts[h].name : "?";
}

struct candidate {
	int vm, from, to;
	double gain;
};

/* Finds the best allowed move, or vm -1; notes in blocked the best move
 * a rule refused (when it would have beaten every allowed one). Returns 0
 * or placement's error. */
static int best_move(struct work *w, struct candidate *best, struct candidate *blocked, int *blocked_rule)
{
	const struct balance_input *in = w->in;
	int nh = w->s->nhosts, no = 0;
	double mc = w->s1c / w->n, mm = w->s1m / w->n;
	for (int h = 0; h < nh; h++)
		if (w->counts[h] && w->moves_at[h] < in->max_per_host)
			w->order[no++] = (struct ranked){frac_cpu(w, h) - mc + frac_mem(w, h) - mm, h};
	qsort(w->order, (size_t)no, sizeof(*w->order), by_key_desc);
	for (int o = 0; o < no; o++) {
		int h = w->order[o].host;
		w->tc[o] = frac_cpu(w, h);
		w->tm[o] = frac_mem(w, h);
		w->ic[o] = 1.0 / w->hosts[h].cpus;
		w->im[o] = 1.0 / (double)w->hosts[h].memory_mib;
	}
	*best = (struct candidate){-1, -1, -1, balance_levels[in->level - 1].min_gain};
	bool found = false;
	for (int k = 0; k < no; k++) {
		if (found && k >= BALANCE_SOURCES)
			break;
		int a = w->order[k].host;
		for (int vi = w->head[a]; vi >= 0; vi = w->next[vi]) {
			const struct balance_vm *v = &in->vms[vi];
			if (v->excluded || w->moved[vi])
				continue;
			/* The best target by load alone: placement is asked only
			 * when that could beat the best move so far. */
			double top = -1, dc = v->cpu_demand, dm = (double)v->mem_demand_mib;
			int tb = -1;
			for (int o = 0; o < no; o++) {
				double g = gain(w, dc, dm, k, o);
				if (g > top && o != k)
					top = g, tb = w->order[o].host;
			}
			if (tb < 0 || top < best->gain || (found && top <= best->gain))
				continue;
			if (!cost_of(w, vi))
				continue;
			struct placement_request q = {.vm = v->name, .vcpus = v->vcpus, .memory_mib = v->memory_mib,
			                              .reserve_cpu_pct = v->reserve_cpu_pct,
			                              .reserve_memory_mib = v->reserve_memory_mib, .datastore = v->datastore,
			                              .networks = v->networks, .cluster = in->cluster, .rules = v->rules,
			                              .nrules = v->nrules, .moving = true, .moving_from = a};
			w->r.top = 1;
			int prc = placement_choose_host(&w->plan, &q, &w->r);
			if (prc < 0)
				return prc;
			enum placement_filter f = w->r.verdicts[tb].filter;
			if (f != PLACEMENT_OK && top > blocked->gain) {
				*blocked = (struct candidate){vi, a, tb, top};
				w->blocked_filter = f;
				*blocked_rule = f == PLACEMENT_F_AFFINITY || f == PLACEMENT_F_ANTI_AFFINITY
				                        ? w->r.verdicts[tb].id
				                        : -1;
				placement_format_verdict(&w->plan, &q, &w->r, tb, w->blocked_why, sizeof(w->blocked_why));
			}
			for (int o = 0; o < no; o++) {
				int b = w->order[o].host;
				if (b == a || w->r.verdicts[b].filter != PLACEMENT_OK)
					continue;
				double g = gain(w, dc, dm, k, o);
				if (g > best->gain || (!found && g >= best->gain)) {
					*best = (struct candidate){vi, a, b, g};
					found = true;
				}
			}
		}
	}
	if (!found)
		best->vm = -1;
	return 0;
}

static void describe(struct work *w, struct balance_move *mv, const struct migrate_plan *c, double ca,
                     double ma, double cb, double mb)
{
	const struct balance_vm *v = &w->in->vms[mv->vm];
	struct text t = {mv->reason, sizeof(mv->reason), 0};
	text_put(&t, "move %s from %s (CPU %.0f%%, memory %.0f%%) to %s (CPU %.0f%%, memory %.0f%%): ", vname(v),
	         hname(w, mv->from), ca * 100, ma * 100, hname(w, mv->to), cb * 100, mb * 100);
	text_put(&t, "imbalance %.3f -> %.3f, gain %.4f (at least %.4f); ", mv->imbalance_before,
	         mv->imbalance_after, mv->gain, balance_levels[w->in->level - 1].min_gain);
	text_put(&t, "copies %lld MiB dirtying %lld MiB/s: %s, about %.1f s", (long long)mv->copy_mib,
	         (long long)(mv->dirty_bytes_s >> 20), migrate_strategy_name(c->strategy),
	         (double)c->predicted_total_ms / 1000);
}

static int fail(struct balance_plan *out, const char *why)
{
	snprintf(out->reason, sizeof(out->reason), "cannot plan balancing: %s", why);
	return -1;
}

static void work_free(struct work *w)
{
	placement_result_free(&w->r);
	for (int i = 0; w->members && i < w->s->nrules; i++)
		free(w->members[i]);
	free(w->members);
	free(w->rules);
	free(w->hosts);
	free(w->counts);
	free(w->cpu);
	free(w->mem);
	free(w->head);
	free(w->next);
	free(w->prev);
	free(w->moved);
	free(w->cost_known);
	free(w->cost);
	free(w->moves_at);
	free(w->ha_hosts);
	free(w->order);
	free(w->tc);
	free(w->tm);
	free(w->ic);
	free(w->im);
}

/* Allocates and fills w from in; 0, or -1 with out->reason. */
static int work_init(struct work *w, const struct balance_input *in, struct balance_plan *out)
{
	const struct placement_snapshot *s = in->snap;
	/* At least one of each, so that an empty cluster allocates as any. */
	size_t nh = s->nhosts ? (size_t)s->nhosts : 1, nv = in->nvms ? (size_t)in->nvms : 1;
	w->in = in;
	w->s = s;
	w->hosts = malloc(sizeof(*w->hosts) * nh);
	w->rules = s->nrules ? calloc((size_t)s->nrules, sizeof(*w->rules)) : NULL;
	w->members = s->nrules ? calloc((size_t)s->nrules, sizeof(*w->members)) : NULL;
	w->counts = calloc(nh, sizeof(*w->counts));
	w->cpu = calloc(nh, sizeof(*w->cpu));
	w->mem = calloc(nh, sizeof(*w->mem));
	w->head = malloc(sizeof(*w->head) * nh);
	w->next = malloc(sizeof(*w->next) * nv);
	w->prev = malloc(sizeof(*w->prev) * nv);
	w->moved = calloc(nv, sizeof(*w->moved));
	w->cost_known = calloc(nv, sizeof(*w->cost_known));
	w->cost = malloc(sizeof(*w->cost) * nv);
	w->moves_at = calloc(nh, sizeof(*w->moves_at));
	w->ha_hosts = malloc(sizeof(*w->ha_hosts) * nh);
	w->order = malloc(sizeof(*w->order) * nh);
	w->tc = malloc(sizeof(*w->tc) * nh);
	w->tm = malloc(sizeof(*w->tm) * nh);
	w->ic = malloc(sizeof(*w->ic) * nh);
	w->im = malloc(sizeof(*w->im) * nh);
	if (!w->hosts || (s->nrules && (!w->rules || !w->members)) || !w->counts || !w->cpu || !w->mem ||
	    !w->head || !w->next || !w->prev || !w->moved || !w->cost_known || !w->cost || !w->moves_at ||
	    !w->ha_hosts || !w->order || !w->tc || !w->tm || !w->ic || !w->im || placement_result_init(&w->r, (int)nh) < 0)
		return fail(out, "out of memory");
	if (s->nhosts)
		memcpy(w->hosts, s->hosts, sizeof(*w->hosts) * (size_t)s->nhosts);
	for (int i = 0; i < s->nrules; i++) {
		w->rules[i] = s->rules[i];
		if (w->rules[i].nmembers <= 0)
			continue;
		w->members[i] = malloc(sizeof(**w->members) * (size_t)w->rules[i].nmembers);
		if (!w->members[i])
			return fail(out, "out of memory");
		memcpy(w->members[i], s->rules[i].members, sizeof(**w->members) * (size_t)w->rules[i].nmembers);
		w->rules[i].members = w->members[i];
	}
	w->plan = *s;
	w->plan.hosts = w->hosts;
	w->plan.rules = w->rules;
	for (int h = 0; h < s->nhosts; h++) {
		const struct placement_host *ph = &s->hosts[h];
		w->counts[h] = ph->cluster == in->cluster && ph->state == PLACEMENT_CONNECTED && ph->cpus > 0 &&
		               ph->memory_mib > 0;
		w->head[h] = -1;
	}
	for (int i = in->nvms - 1; i >= 0; i--) { /* backwards: each host's list in the VMs' order */
		const struct balance_vm *v = &in->vms[i];
		if (v->host < 0 || v->host >= s->nhosts || s->hosts[v->host].cluster != in->cluster) {
			char why[200];
			snprintf(why, sizeof(why), "VM '%s' runs on no host of the cluster", vname(v));
			return fail(out, why);
		}
		if (!(v->cpu_demand >= 0) || !isfinite(v->cpu_demand) || v->mem_demand_mib < 0 || v->vcpus < 1 ||
		    v->vcpus > PLACEMENT_MAX_CPUS || v->memory_mib < 1 || v->memory_mib > PLACEMENT_MAX_MIB ||
		    v->dirty_bytes_s < 0) {
			char why[200];
			snprintf(why, sizeof(why), "VM '%s' has a negative or unbounded demand or size", vname(v));
			return fail(out, why);
		}
		w->cpu[v->host] += v->cpu_demand;
		w->mem[v->host] += (double)v->mem_demand_mib;
		list_add(w, i, v->host);
	}
	resum(w);
	return 0;
}

int balance_plan(const struct balance_input *in, struct balance_move *moves, struct balance_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->blocked_vm = out->blocked_rule = -1;
	if (!in || !in->snap || in->nvms < 0 || (in->nvms > 0 && !in->vms) || in->snap->nhosts < 0 ||
	    (in->snap->nhosts > 0 && !in->snap->hosts))
		return fail(out, "an argument is missing");
	if (in->level < 1 || in->level > BALANCE_LEVELS)
		return fail(out, "the threshold level must be 1 (conservative) to 5 (aggressive)");
	if (in->cluster < 0 || in->cluster >= in->snap->nclusters || !in->snap->clusters)
		return fail(out, "no such cluster");
	if (in->max_moves < 1 || in->max_per_host < 1 || in->in_flight < 0 || in->bandwidth_bytes_s <= 0 ||
	    (in->max_moves > 0 && !moves))
		return fail(out, "the caps and the link must be positive");
	const struct balance_level *lv = &balance_levels[in->level - 1];
	out->target = lv->target;
	out->min_gain = lv->min_gain;
	out->hold_rounds = lv->hold_rounds;
	struct work w = {0};
	int rc = -1;
	if (work_init(&w, in, out) < 0)
		goto done;
	out->nhosts = w.n;
	if (w.n > 0) {
		out->sd_cpu = sqrt(ss(w.s1c, w.s2c, w.n) / w.n);
		out->sd_mem = sqrt(ss(w.s1m, w.s2m, w.n) / w.n);
	}
	out->imbalance = out->imbalance_after = imbalance(&w);
	if (ha_now(&w, &out->ha_before) < 0) {
		snprintf(out->reason, sizeof(out->reason), "cannot plan balancing: HA admission: %s",
		         out->ha_before.reason);
		goto done;
	}
	out->ha_after = out->ha_before;
	const char *cname = in->snap->clusters[in->cluster].name ? in->snap->clusters[in->cluster].name : "?";
	struct text t = {out->reason, sizeof(out->reason), 0};
	rc = 0;
	if (w.n < 2) {
		out->stop = BALANCE_STOP_TOO_FEW;
		text_put(&t, "%s has %d host%s that count%s: nothing to balance", cname, w.n, w.n == 1 ? "" : "s",
		         w.n == 1 ? "s" : "");
		goto done;
	}
	out->over_target = out->imbalance > lv->target;
	if (!out->over_target) {
		out->stop = BALANCE_STOP_UNDER_TARGET;
		text_put(&t, "imbalance %.3f under target %.3f (level %d)", out->imbalance, lv->target, in->level);
		goto done;
	}
	out->acts = in->rounds_over + 1 >= lv->hold_rounds;
	if (!out->acts) {
		out->stop = BALANCE_STOP_HOLDING;
		text_put(&t, "imbalance %.3f over target %.3f for %d of %d rounds: holding off", out->imbalance,
		         lv->target, in->rounds_over + 1, lv->hold_rounds);
		goto done;
	}
	for (;;) {
		struct candidate blocked = {-1, -1, -1, 0};
		int blocked_rule = -1;
		double now = imbalance(&w);
		if (now <= lv->target) {
			out->stop = BALANCE_STOP_UNDER_TARGET;
			text_put(&t, "imbalance %.3f under target %.3f after %d move%s", now, lv->target, out->nmoves,
			         out->nmoves == 1 ? "" : "s");
			break;
		}
		if (out->nmoves + in->in_flight >= in->max_moves) {
			out->stop = BALANCE_STOP_CAP;
			text_put(&t, "cap of %d moves reached (%d planned, %d in flight); imbalance %.3f, target %.3f",
			         in->max_moves, out->nmoves, in->in_flight, now, lv->target);
			break;
		}
		struct candidate best;
		int prc = best_move(&w, &best, &blocked, &blocked_rule);
		if (prc < 0) {
			snprintf(out->reason, sizeof(out->reason), "cannot plan balancing: placement: %s",
			         placement_strerror(prc));
			rc = -1;
			goto done;
		}
		if (best.vm < 0) {
			out->stop = BALANCE_STOP_NO_GAIN;
			text_put(&t, "no move gains at least %.4f (imbalance %.3f, target %.3f)", lv->min_gain, now,
			         lv->target);
			int capped = 0;
			for (int h = 0; h < in->snap->nhosts; h++)
				capped += w.counts[h] && w.moves_at[h] >= in->max_per_host;
			if (capped)
				text_put(&t, "; %d host%s at the cap of %d move%s each this round", capped,
				         capped == 1 ? "" : "s", in->max_per_host, in->max_per_host == 1 ? "" : "s");
			if (blocked.vm >= 0) {
				out->blocked_vm = blocked.vm;
				out->blocked_rule = blocked_rule;
				out->blocked_filter = w.blocked_filter;
				text_put(&t, "; the best, %s to %s (gain %.4f), ", vname(&in->vms[blocked.vm]),
				         hname(&w, blocked.to), blocked.gain);
				if (blocked_rule >= 0) {
					const struct placement_rule *ru = &in->snap->rules[blocked_rule];
					text_put(&t, "would break %s rule %s",
					         ru->type == PLACEMENT_AFFINITY ? "affinity" : "anti-affinity",
					         ru->name ? ru->name : "?");
				} else {
					text_put(&t, "is refused: %s", w.blocked_why);
				}
			}
			break;
		}
		const struct balance_vm *v = &in->vms[best.vm];
		double ca = frac_cpu(&w, best.from), ma = frac_mem(&w, best.from);
		double cb = frac_cpu(&w, best.to), mb = frac_mem(&w, best.to);
		place(&w, v, best.from, best.to);
		struct ha_capacity after;
		if (ha_now(&w, &after) < 0 || !ha_kept(&out->ha_after, &after)) {
			/* Cannot happen while moves stay inside a cluster (its
			 * capacity and load are unchanged), but a plan must not
			 * rely on that. */
			place(&w, v, best.to, best.from);
			w.moved[best.vm] = true;
			continue;
		}
		out->ha_after = after;
		load(&w, v, best.from, -1);
		load(&w, v, best.to, 1);
		resum(&w);
		list_remove(&w, best.vm, best.from);
		list_add(&w, best.vm, best.to);
		w.moved[best.vm] = true;
		w.moves_at[best.from]++;
		w.moves_at[best.to]++;
		struct balance_move *mv = &moves[out->nmoves++];
		const struct migrate_plan *c = cost_of(&w, best.vm);
		*mv = (struct balance_move){.vm = best.vm, .from = best.from, .to = best.to, .gain = best.gain,
		                            .imbalance_before = now, .imbalance_after = imbalance(&w),
		                            .copy_mib = v->memory_mib, .dirty_bytes_s = v->dirty_bytes_s,
		                            .strategy = c->strategy, .predicted_ms = c->predicted_total_ms};
		describe(&w, mv, c, ca, ma, cb, mb);
	}
	out->imbalance_after = imbalance(&w);
	if (out->nmoves)
		text_put(&t, "; %d move%s take the imbalance from %.3f to %.3f", out->nmoves,
		         out->nmoves == 1 ? "" : "s", out->imbalance, out->imbalance_after);
done:
	work_free(&w);
	return rc;
}
