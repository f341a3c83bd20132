/* world.c - the simulated datacenter (world.h). */
#include "world.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum timer_kind { TIMER_CALL, TIMER_BEAT };

struct sim_timer {
	int64_t at_ms;
	uint64_t seq; /* ties run in the order they were set: runs are deterministic */
	enum timer_kind kind;
	int host; /* TIMER_BEAT: the round */
	void (*fn)(void *arg);
	void *arg;
};

static void *grow(void *p, int *cap, int need, size_t size)
{
	if (need <= *cap)
		return p;
	int n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(p, (size_t)n * size);
	if (!q) {
		fprintf(stderr, "vdc-sim: out of memory\n");
		exit(1);
	}
	memset((char *)q + (size_t)*cap * size, 0, (size_t)(n - *cap) * size);
	*cap = n;
	return q;
}

uint64_t sim_rand(struct sim_world *w)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- names ---- */

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int index_find(const struct sim_name_index *ix, const char *name, const char *(*name_of)(const void *, int),
                      const void *table)
{
	if (!ix->cap)
		return -1;
	for (size_t i = hash(name) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
		int s = ix->slots[i];
		if (s < 0)
			return -1;
		if (!strcmp(name_of(table, s), name))
			return s;
	}
}

static void index_put(struct sim_name_index *ix, const char *name, int slot,
                      const char *(*name_of)(const void *, int), const void *table)
{
	if ((ix->used + 1) * 2 > ix->cap) {
		size_t ncap = ix->cap ? ix->cap * 2 : 1024;
		int *old = ix->slots;
		size_t ocap = ix->cap;
		ix->slots = malloc(ncap * sizeof(int));
		if (!ix->slots) {
			fprintf(stderr, "vdc-sim: out of memory\n");
			exit(1);
		}
		memset(ix->slots, 0xff, ncap * sizeof(int));
		ix->cap = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i] >= 0) {
				size_t j = hash(name_of(table, old[i])) & (ncap - 1);
				while (ix->slots[j] >= 0)
					j = (j + 1) & (ncap - 1);
				ix->slots[j] = old[i];
			}
		free(old);
	}
	size_t j = hash(name) & (ix->cap - 1);
	while (ix->slots[j] >= 0)
		j = (j + 1) & (ix->cap - 1);
	ix->slots[j] = slot;
	ix->used++;
}

static const char *host_name_of(const void *t, int i)
{
	return ((const struct sim_host *)t)[i].name;
}

static const char *vm_name_of(const void *t, int i)
{
	return ((const struct sim_vm *)t)[i].name;
}

int sim_host_find(const struct sim_world *w, const char *name)
{
	return index_find(&w->host_index, name, host_name_of, w->hosts);
}

int sim_vm_find(const struct sim_world *w, const char *name)
{
	/* Names of deleted VMs stay in the index: the newest live one wins. */
	int s = index_find(&w->vm_index, name, vm_name_of, w->vms);
	return s >= 0 && w->vms[s].live ? s : -1;
}

/* ---- time ---- */

static bool timer_before(const struct sim_timer *a, const struct sim_timer *b)
{
	return a->at_ms != b->at_ms ? a->at_ms < b->at_ms : a->seq < b->seq;
}

static void timer_push(struct sim_world *w, struct sim_timer t)
{
	if (w->ntimers == w->timers_cap) {
		size_t n = w->timers_cap ? w->timers_cap * 2 : 1024;
		struct sim_timer *q = realloc(w->timers, n * sizeof(*q));
		if (!q) {
			fprintf(stderr, "vdc-sim: out of memory\n");
			exit(1);
		}
		w->timers = q;
		w->timers_cap = n;
	}
	t.seq = w->timer_seq++;
	size_t i = w->ntimers++;
	while (i > 0 && timer_before(&t, &w->timers[(i - 1) / 2])) {
		w->timers[i] = w->timers[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->timers[i] = t;
}

static struct sim_timer timer_pop(struct sim_world *w)
{
	struct sim_timer top = w->timers[0];
	struct sim_timer last = w->timers[--w->ntimers];
	size_t i = 0, n = w->ntimers;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && timer_before(&w->timers[c + 1], &w->timers[c]))
			c++;
		if (!timer_before(&w->timers[c], &last))
			break;
		w->timers[i] = w->timers[c];
		i = c;
	}
	if (n)
		w->timers[i] = last;
	return top;
}

void sim_world_at(struct sim_world *w, int64_t at_ms, void (*fn)(void *arg), void *arg)
{
	timer_push(w, (struct sim_timer){.at_ms = at_ms, .kind = TIMER_CALL, .fn = fn, .arg = arg});
}

#define ROUND_MS 50

static void schedule_round(struct sim_world *w, int r, int64_t at_ms)
{
	timer_push(w, (struct sim_timer){.at_ms = at_ms, .kind = TIMER_BEAT, .host = r});
}

static void beat_round(struct sim_world *w, int r);
static void join_round(struct sim_world *w, int hi, int of);

void sim_world_run_until(struct sim_world *w, int64_t at_ms)
{
	while (w->ntimers && w->timers[0].at_ms <= at_ms) {
		struct sim_timer t = timer_pop(w);
		w->now_ms = t.at_ms;
		if (t.kind == TIMER_BEAT)
			beat_round(w, t.host);
		else
			t.fn(t.arg);
	}
	if (at_ms > w->now_ms)
		w->now_ms = at_ms;
}

/* ---- the decision log ---- */

void sim_log_time(struct sim_world *w)
{
	if (w->now_ms % 1000)
		fprintf(w->log, "%" PRId64 ".%03d ", w->now_ms / 1000, (int)(w->now_ms % 1000));
	else
		fprintf(w->log, "%" PRId64 " ", w->now_ms / 1000);
}

static void sim_decision(void *ctx, enum ctl_level level, const char *controller, const char *subject,
                         const char *verdict, const char *reason)
{
	struct sim_world *w = ctx;
	(void)level;
	if (!w->log || w->quiet)
		return;
	sim_log_time(w);
	fprintf(w->log, "%s %s %s: %s\n", controller, subject, verdict, reason);
}

static void sim_event(void *ctx, const char *actor, const char *action, const char *kind, const char *id,
                      const char *outcome, const char *detail)
{
	struct sim_world *w = ctx;
	(void)actor;
	(void)detail; /* the decision before it says why */
	if (!w->log || w->quiet)
		return;
	sim_log_time(w);
	fprintf(w->log, "event %s %s %s%s%s\n", action, kind, id, outcome ? " " : "", outcome ? outcome : "");
}

/* ---- struct ctl_env over the world ---- */

static const char *const host_state_names[] = {"connected", "disconnected", "maintenance"};

static int64_t sim_now(void *ctx)
{
	return ((struct sim_world *)ctx)->now_ms / 1000;
}

static struct ctl_host host_view(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	return (struct ctl_host){.id = h->name, .name = h->name, .state = host_state_names[h->state],
	                         .maintenance = h->maintenance, .last_heartbeat = h->last_heartbeat,
	                         .foreign = h->foreign_view, .nforeign = h->nforeign,
	                         .ref = (void *)(intptr_t)hi};
}

static int host_of(const struct ctl_host *h)
{
	return (int)(intptr_t)h->ref;
}

static int sim_each_connected_host(void *ctx, int (*fn)(void *arg, const struct ctl_host *h), void *arg)
{
	struct sim_world *w = ctx;
	for (int i = 0; i < w->nhosts; i++) {
		if (w->hosts[i].state != SIM_CONNECTED)
			continue;
		struct ctl_host v = host_view(w, i);
		if (fn(arg, &v) < 0)
			break;
	}
	return 0;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

static int sim_each_vm_on_host(void *ctx, const struct ctl_host *h, int (*fn)(void *arg, const struct ctl_vm *vm),
                               void *arg)
{
	struct sim_world *w = ctx;
	struct sim_host *host = &w->hosts[host_of(h)];
	for (int k = 0; k < host->nvms; k++) {
		struct sim_vm *v = &w->vms[host->vms[k]];
		if (!v->in_inventory)
			continue;
		struct ctl_vm cv = {.id = v->name,
		                    .view = {.name = v->name, .power_state = or_null(v->power_state),
		                             .desired_state = or_null(v->desired_state), .state_seq = v->state_seq},
		                    .ref = (void *)(intptr_t)host->vms[k]};
		if (fn(arg, &cv) < 0)
			break;
	}
	return 0;
}

static long inventory_vms_on(const struct sim_world *w, int hi)
{
	long n = 0;
	for (int k = 0; k < w->hosts[hi].nvms; k++)
		n += w->vms[w->hosts[hi].vms[k]].in_inventory;
	return n;
}

static enum placement_host_state placement_state(enum sim_host_state s)
{
	return s == SIM_CONNECTED ? PLACEMENT_CONNECTED
	       : s == SIM_DISCONNECTED ? PLACEMENT_DISCONNECTED : PLACEMENT_MAINTENANCE;
}

void sim_set_host_state(struct sim_world *w, int hi, enum sim_host_state s)
{
	w->hosts[hi].state = s;
	w->phosts[hi].state = placement_state(s);
}

static int sim_host_disconnect(void *ctx, const struct ctl_host *h)
{
	struct sim_world *w = ctx;
	int hi = host_of(h);
	struct sim_host *host = &w->hosts[hi];
	if (host->state != SIM_CONNECTED || host->last_heartbeat != h->last_heartbeat)
		return -1;
	sim_set_host_state(w, hi, SIM_DISCONNECTED);
	w->st.disconnects++;
	w->st.vms_affected += inventory_vms_on(w, hi);
	if (host->failed_at_ms >= 0) {
		w->st.detected++;
		w->st.detect_s_sum += (double)(w->now_ms - host->failed_at_ms) / 1000.0;
		host->failed_at_ms = -1;
	}
	return 0;
}

void sim_copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}
#define copy sim_copy

static int sim_host_beat(void *ctx, const struct ctl_host *h, const struct ctl_host_write *wr)
{
	struct sim_world *w = ctx;
	int hi = host_of(h);
	struct sim_host *host = &w->hosts[hi];
	/* "connected", "disconnected" or "maintenance" (liveness_on_beat's) */
	enum sim_host_state s = wr->state[0] == 'm' ? SIM_MAINTENANCE
	                        : wr->state[0] == 'd' ? SIM_DISCONNECTED : SIM_CONNECTED;
	if (host->state == SIM_DISCONNECTED && s != SIM_DISCONNECTED)
		w->st.reconnects++;
	sim_set_host_state(w, hi, s);
	host->last_heartbeat = wr->heartbeat_at;
	if (!wr->has_foreign)
		return 0;
	/* wr->foreign may point into host->foreign: build the new list aside. */
	struct sim_foreign *nf = wr->nforeign ? calloc(wr->nforeign, sizeof(*nf)) : NULL;
	struct foreign_vm *nv = wr->nforeign ? calloc(wr->nforeign, sizeof(*nv)) : NULL;
	if (wr->nforeign && (!nf || !nv)) {
		fprintf(stderr, "vdc-sim: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < wr->nforeign; i++) {
		copy(nf[i].name, sizeof(nf[i].name), wr->foreign[i].name);
		copy(nf[i].state, sizeof(nf[i].state), wr->foreign[i].state);
		copy(nf[i].first_seen, sizeof(nf[i].first_seen), wr->foreign[i].first_seen);
		nf[i].beats = wr->foreign[i].beats;
	}
	for (size_t i = 0; i < wr->nforeign; i++)
		nv[i] = (struct foreign_vm){nf[i].name, nf[i].state, nf[i].first_seen, nf[i].beats};
	free(host->retired);
	free(host->retired_view);
	host->retired = host->foreign;
	host->retired_view = host->foreign_view;
	host->foreign = nf;
	host->foreign_view = nv;
	host->nforeign = wr->nforeign;
	return 0;
}

static int sim_vm_observe(void *ctx, const struct ctl_vm *vm, const struct reconcile_decision *d)
{
	struct sim_world *w = ctx;
	struct sim_vm *v = &w->vms[(int)(intptr_t)vm->ref];
	copy(v->power_state, sizeof(v->power_state), d->power_state);
	if (d->state_seq)
		v->state_seq = d->state_seq;
	if (d->in_sync >= 0)
		v->in_sync = d->in_sync;
	w->st.observed++;
	w->st.observed_missing += !strcmp(d->power_state, "missing");
	return 0;
}

/* Counts the decisions that do not write anything, then logs. */
static void sim_decision_counted(void *ctx, enum ctl_level level, const char *controller,
                                 const char *subject, const char *verdict, const char *reason)
{
	struct sim_world *w = ctx;
	if (!strcmp(verdict, "ignore-stale"))
		w->st.stale++;
	else if (!strcmp(verdict, "task-owns"))
		w->st.task_owns++;
	else if (!strcmp(controller, "foreign") && !strcmp(verdict, "report"))
		w->st.foreign_reports++;
	sim_decision(ctx, level, controller, subject, verdict, reason);
}

static void sim_timer_env(void *ctx, int64_t after_ms, void (*fn)(void *arg), void *arg)
{
	struct sim_world *w = ctx;
	sim_world_at(w, w->now_ms + (after_ms < 0 ? 0 : after_ms), fn, arg);
}

void sim_world_init(struct sim_world *w, FILE *log)
{
	memset(w, 0, sizeof(*w));
	w->log = log;
	w->rng = 1;
	w->beat_interval_ms = 5000;
	w->liveness_interval_ms = 2000;
	w->cluster = (struct placement_cluster){"sim", 1.0, 1.0, PLACEMENT_PACK};
	w->env = (struct ctl_env){.ctx = w, .heartbeat_timeout_s = 15, .now = sim_now,
	                          .each_connected_host = sim_each_connected_host,
	                          .each_vm_on_host = sim_each_vm_on_host,
	                          .host_disconnect = sim_host_disconnect, .host_beat = sim_host_beat,
	                          .vm_observe = sim_vm_observe, .decision = sim_decision_counted,
	                          .event = sim_event, .timer = sim_timer_env};
	sim_ha_init(w);
}

static void held_free(struct sim_held *h)
{
	free(h->vms);
	free(h->names);
	free(h->states);
	memset(h, 0, sizeof(*h));
}

void sim_world_free(struct sim_world *w)
{
	sim_ha_free(w);
	for (int i = 0; i < w->nhosts; i++) {
		free(w->hosts[i].foreign);
		free(w->hosts[i].foreign_view);
		free(w->hosts[i].retired);
		free(w->hosts[i].retired_view);
		free(w->hosts[i].vms);
		held_free(&w->hosts[i].held);
	}
	for (int r = 0; r < w->nrounds; r++)
		free(w->rounds[r].hosts);
	free(w->rounds);
	free(w->hosts);
	free(w->phosts);
	free(w->vms);
	free(w->timers);
	free(w->host_index.slots);
	free(w->vm_index.slots);
	free(w->scratch);
	placement_result_free(&w->res);
	memset(w, 0, sizeof(*w));
}

/* ---- hosts and their agents ---- */

int sim_host_add(struct sim_world *w, const char *name, int cpus, int64_t memory_mib)
{
	if (sim_host_find(w, name) >= 0)
		return -1;
	int cap = w->hosts_cap;
	struct sim_host *was = w->hosts;
	w->hosts = grow(w->hosts, &w->hosts_cap, w->nhosts + 1, sizeof(*w->hosts));
	w->phosts = grow(w->phosts, &cap, w->nhosts + 1, sizeof(*w->phosts));
	if (w->hosts != was) /* placement names the hosts by their name buffers */
		for (int i = 0; i < w->nhosts; i++)
			w->phosts[i].name = w->hosts[i].name;
	int hi = w->nhosts++;
	struct sim_host *h = &w->hosts[hi];
	copy(h->name, sizeof(h->name), name);
	h->state = SIM_CONNECTED;
	h->last_heartbeat = w->now_ms / 1000;
	h->powered = h->agent_up = true;
	h->agent_seq = 1000;
	h->failed_at_ms = -1;
	h->net_up = h->storage_up = true;
	h->last_word_ms = w->now_ms;
	h->seq_at_word = -1;
	w->phosts[hi] = (struct placement_host){.name = h->name, .cluster = 0, .state = PLACEMENT_CONNECTED,
	                                        .cpus = cpus, .memory_mib = memory_mib};
	index_put(&w->host_index, h->name, hi, host_name_of, w->hosts);
	if (w->started) /* a host joining later beats from now on */
		join_round(w, hi, hi);
	return hi;
}

void sim_host_attach(struct sim_world *w, int hi, int vm)
{
	struct sim_host *h = &w->hosts[hi];
	h->vms = grow(h->vms, &h->vms_cap, h->nvms + 1, sizeof(*h->vms));
	h->vms[h->nvms++] = vm;
	w->vms[vm].host = hi;
	w->phosts[hi].alloc_vcpus += w->vms[vm].vcpus;
	w->phosts[hi].alloc_memory_mib += w->vms[vm].memory_mib;
}

void sim_host_detach(struct sim_world *w, int vm)
{
	int hi = w->vms[vm].host;
	if (hi < 0)
		return;
	struct sim_host *h = &w->hosts[hi];
	for (int k = 0; k < h->nvms; k++)
		if (h->vms[k] == vm) {
			h->vms[k] = h->vms[--h->nvms];
			break;
		}
	w->phosts[hi].alloc_vcpus -= w->vms[vm].vcpus;
	w->phosts[hi].alloc_memory_mib -= w->vms[vm].memory_mib;
	w->vms[vm].host = -1;
}

/* The heartbeat the agent would send now: its VMs and its counter. */
static int build_report(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	w->scratch = grow(w->scratch, &w->scratch_cap, h->nvms + 1, sizeof(*w->scratch));
	int n = 0;
	for (int k = 0; k < h->nvms; k++) {
		const struct sim_vm *v = &w->vms[h->vms[k]];
		if (v->on_agent)
			w->scratch[n++] = (struct reconcile_report){v->name, v->agent_state, v->agent_seq};
	}
	return n;
}

static void deliver(struct sim_world *w, int hi, const struct reconcile_report *vms, int n, int64_t seq)
{
	struct ctl_host v = host_view(w, hi);
	struct ctl_beat b = {.beat_seq = seq, .has_vms = true, .vms = vms, .nvms = (size_t)n};
	w->st.beats++;
	ctl_heartbeat(&w->env, &v, &b);
}

void sim_beat_now(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	if (!h->agent_up || !h->net_up)
		return;
	int n = build_report(w, hi);
	deliver(w, hi, w->scratch, n, h->agent_seq);
}

static void beat_round(struct sim_world *w, int r)
{
	const struct sim_beat_round *round = &w->rounds[r];
	for (int k = 0; k < round->n; k++)
		sim_beat_now(w, round->hosts[k]); /* a host whose agent is down sends none */
	schedule_round(w, r, w->now_ms + w->beat_interval_ms);
}

/* Host hi beats in the round of its phase: spread evenly over an interval. */
static void join_round(struct sim_world *w, int hi, int of)
{
	int64_t phase = (int64_t)w->beat_interval_ms * (hi + 1) / (of + 1);
	int r = (int)(phase / ROUND_MS) % w->nrounds;
	struct sim_beat_round *round = &w->rounds[r];
	round->hosts = grow(round->hosts, &round->cap, round->n + 1, sizeof(int));
	round->hosts[round->n++] = hi;
}

void sim_hold_beat(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	held_free(&h->held);
	int n = build_report(w, hi);
	h->held.vms = calloc((size_t)n + 1, sizeof(*h->held.vms));
	h->held.names = calloc((size_t)n + 1, sizeof(*h->held.names));
	h->held.states = calloc((size_t)n + 1, sizeof(*h->held.states));
	if (!h->held.vms || !h->held.names || !h->held.states) {
		fprintf(stderr, "vdc-sim: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		copy(h->held.names[i], SIM_NAME_MAX, w->scratch[i].name);
		copy(h->held.states[i], SIM_STATE_MAX, w->scratch[i].state);
		h->held.vms[i] = (struct reconcile_report){h->held.names[i], h->held.states[i],
		                                           w->scratch[i].state_seq};
	}
	h->held.n = n;
	h->held.beat_seq = h->agent_seq;
	h->has_held = true;
}

void sim_deliver_beat(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	if (!h->has_held)
		return;
	struct sim_held held = h->held;
	memset(&h->held, 0, sizeof(h->held));
	h->has_held = false;
	deliver(w, hi, held.vms, held.n, held.beat_seq);
	held_free(&held);
}

void sim_agent_down(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	h->agent_up = false;
}

void sim_agent_up(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	if (h->agent_up || !h->powered)
		return;
	h->agent_up = true;
	h->keeper_down = false; /* the agent starts one again */
	/* The real agent starts its counter at the wall clock in µs: past
	 * every value an earlier run handed out. Re-attaching gives each VM a
	 * new seq. */
	h->agent_seq += 1000000;
	for (int k = 0; k < h->nvms; k++) {
		struct sim_vm *v = &w->vms[h->vms[k]];
		if (v->on_agent)
			v->agent_seq = ++h->agent_seq;
	}
	sim_beat_now(w, hi); /* at once, then in its round */
}

void sim_power_off(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	if (!h->powered)
		return;
	sim_agent_down(w, hi);
	h->powered = false;
	if (h->failed_at_ms < 0) {
		h->failed_at_ms = w->now_ms;
		w->st.failures++;
	}
	/* Every QEMU dies with the host; foreign VMs go for good. */
	if (w->ha.first_failure_ms < 0)
		w->ha.first_failure_ms = w->now_ms;
	for (int k = 0; k < h->nvms;) {
		struct sim_vm *v = &w->vms[h->vms[k]];
		v->on_agent = false;
		v->running_on = -1;
		if (v->failed_from < 0)
			v->failed_from = hi;
		if (!v->in_inventory) {
			v->live = false;
			sim_host_detach(w, h->vms[k]);
			continue;
		}
		k++;
	}
}

void sim_power_on(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	if (h->powered)
		return;
	h->powered = true;
	h->keeper_down = false;
	h->net_up = h->storage_up = true;
	h->failed_at_ms = -1;
	sim_agent_up(w, hi);
}

void sim_maintenance(struct sim_world *w, int hi, bool on)
{
	struct sim_host *h = &w->hosts[hi];
	h->maintenance = on;
	if (on)
		sim_set_host_state(w, hi, SIM_MAINTENANCE);
	else if (h->state == SIM_MAINTENANCE)
		sim_set_host_state(w, hi, SIM_CONNECTED);
}

void sim_world_start(struct sim_world *w)
{
	if (w->started)
		return;
	w->started = true;
	ctl_liveness_start(&w->liveness, &w->env, w->liveness_interval_ms);
	sim_ha_start(w);
	/* The agents beat out of phase, as real ones do. */
	w->nrounds = w->beat_interval_ms / ROUND_MS > 0 ? w->beat_interval_ms / ROUND_MS : 1;
	w->rounds = calloc((size_t)w->nrounds, sizeof(*w->rounds));
	if (!w->rounds) {
		fprintf(stderr, "vdc-sim: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < w->nhosts; i++)
		join_round(w, i, w->nhosts);
	for (int r = 0; r < w->nrounds; r++)
		if (w->rounds[r].n)
			schedule_round(w, r, w->now_ms + (int64_t)r * ROUND_MS);
}

/* ---- VMs ---- */

static int vm_slot(struct sim_world *w, const char *name, int vcpus, int64_t memory_mib)
{
	w->vms = grow(w->vms, &w->vms_cap, w->nvms + 1, sizeof(*w->vms));
	int s = w->nvms++;
	struct sim_vm *v = &w->vms[s];
	copy(v->name, sizeof(v->name), name);
	v->live = true;
	v->host = -1;
	v->vcpus = vcpus;
	v->memory_mib = memory_mib;
	v->in_sync = -1;
	v->running_on = v->stale_on = v->failed_from = -1;
	v->priority = HA_PRIO_DISABLED;
	index_put(&w->vm_index, v->name, s, vm_name_of, w->vms);
	return s;
}

int sim_vm_add(struct sim_world *w, const char *name, int hi, const char *state, int vcpus, int64_t memory_mib)
{
	int s = vm_slot(w, name, vcpus, memory_mib);
	struct sim_vm *v = &w->vms[s];
	struct sim_host *h = &w->hosts[hi];
	v->in_inventory = true;
	copy(v->power_state, sizeof(v->power_state), state);
	copy(v->desired_state, sizeof(v->desired_state), state);
	v->on_agent = h->powered;
	copy(v->agent_state, sizeof(v->agent_state), state);
	v->agent_seq = v->state_seq = ++h->agent_seq;
	v->running_on = h->powered && !strcmp(state, "running") ? hi : -1;
	sim_host_attach(w, hi, s);
	return s;
}

int sim_vm_create(struct sim_world *w, const char *name, int vcpus, int64_t memory_mib)
{
	if (w->nhosts == 0)
		return -1;
	if (w->res_cap < w->nhosts) {
		placement_result_free(&w->res);
		if (placement_result_init(&w->res, w->hosts_cap) != 0) {
			fprintf(stderr, "vdc-sim: out of memory\n");
			exit(1);
		}
		w->res_cap = w->hosts_cap;
	}
	struct placement_snapshot snap = {.hosts = w->phosts, .nhosts = w->nhosts, .clusters = &w->cluster,
	                                  .nclusters = 1};
	struct placement_request q = {.vm = name, .vcpus = vcpus, .memory_mib = memory_mib, .datastore = -1,
	                              .cluster = -1};
	int err = w->log ? placement_choose_host(&snap, &q, &w->res) : placement_choose_best(&snap, &q, &w->res);
	if (err) {
		fprintf(stderr, "vdc-sim: placement of %s: %s\n", name, placement_strerror(err));
		exit(1);
	}
	if (w->log) {
		char summary[512];
		placement_format_summary(&snap, &q, &w->res, summary, sizeof(summary));
		sim_decision(w, CTL_INFO, "placement", name, w->res.host >= 0 ? "place" : "refuse", summary);
	}
	if (w->res.host < 0) {
		w->st.refused++;
		int top = -1; /* the reason that stopped the most hosts */
		for (int f = 1; f < PLACEMENT_NFILTERS; f++)
			if (w->res.count[f] > 0 && (top < 0 || w->res.count[f] > w->res.count[top]))
				top = f;
		w->st.refused_by[top < 0 ? 0 : top]++;
		return -1;
	}
	w->st.placed++;
	return sim_vm_add(w, name, w->res.host, "running", vcpus, memory_mib);
}

void sim_vm_delete(struct sim_world *w, int s)
{
	sim_host_detach(w, s);
	w->vms[s].live = false;
	w->vms[s].in_inventory = w->vms[s].on_agent = false;
	w->vms[s].running_on = -1;
	w->st.departed++;
}

void sim_agent_vm_state(struct sim_world *w, int s, const char *state)
{
	struct sim_vm *v = &w->vms[s];
	if (v->host < 0 || !v->on_agent)
		return;
	copy(v->agent_state, sizeof(v->agent_state), state);
	v->agent_seq = ++w->hosts[v->host].agent_seq;
	v->running_on = !strcmp(state, "running") ? v->host : -1;
}

void sim_task_vm_state(struct sim_world *w, int s, const char *state)
{
	struct sim_vm *v = &w->vms[s];
	sim_agent_vm_state(w, s, state);
	copy(v->power_state, sizeof(v->power_state), state);
	copy(v->desired_state, sizeof(v->desired_state), state);
	v->state_seq = v->agent_seq;
}

void sim_doc_vm_state(struct sim_world *w, int s, const char *state)
{
	copy(w->vms[s].power_state, sizeof(w->vms[s].power_state), state);
}

int sim_foreign_add(struct sim_world *w, int hi, const char *name, const char *state)
{
	int s = vm_slot(w, name, 1, 1);
	struct sim_vm *v = &w->vms[s];
	v->on_agent = true;
	copy(v->agent_state, sizeof(v->agent_state), state);
	v->agent_seq = ++w->hosts[hi].agent_seq;
	sim_host_attach(w, hi, s);
	return s;
}

void sim_foreign_remove(struct sim_world *w, int s)
{
	sim_host_detach(w, s);
	w->vms[s].live = false;
	w->vms[s].on_agent = false;
}

void sim_show(struct sim_world *w)
{
	if (!w->log)
		return;
	for (int i = 0; i < w->nhosts; i++) {
		const struct sim_host *h = &w->hosts[i];
		sim_log_time(w);
		fprintf(w->log, "show host %s: %s, last heartbeat %" PRId64 ", %zu foreign%s\n", h->name,
		        host_state_names[h->state], h->last_heartbeat, h->nforeign,
		        !h->powered ? " (powered off)" : !h->agent_up ? " (agent down)" : "");
		for (int k = 0; k < h->nvms; k++) {
			const struct sim_vm *v = &w->vms[h->vms[k]];
			if (!v->in_inventory)
				continue;
			sim_log_time(w);
			fprintf(w->log, "show vm %s on %s: %s (desired %s%s), state_seq %" PRId64 "\n", v->name,
			        h->name, v->power_state[0] ? v->power_state : "-",
			        v->desired_state[0] ? v->desired_state : "-",
			        v->in_sync == 0 ? ", out of sync" : v->in_sync == 1 ? ", in sync" : "", v->state_seq);
		}
	}
}
