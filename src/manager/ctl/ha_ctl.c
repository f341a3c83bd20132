/* ha_ctl.c - the HA controller over struct ctl_env (ha_ctl.h). */
#include "ha_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fprintf(stderr, "ha: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p) {
		fprintf(stderr, "ha: out of memory\n");
		abort();
	}
	return p;
}

/* ---- the hosts' states, by id ---- */

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void put(struct ctl_ha *ha, struct ctl_ha_state *st)
{
	size_t i = hash(st->id) & (ha->cap - 1);
	while (ha->slots[i])
		i = (i + 1) & (ha->cap - 1);
	ha->slots[i] = st;
	ha->used++;
}

const struct ctl_ha_state *ctl_ha_host(const struct ctl_ha *ha, const char *id)
{
	if (!ha->cap)
		return NULL;
	for (size_t i = hash(id) & (ha->cap - 1); ha->slots[i]; i = (i + 1) & (ha->cap - 1))
		if (!strcmp(ha->slots[i]->id, id))
			return ha->slots[i];
	return NULL;
}

/* Its state, made on first sight: connected, its silence counting from
 * the env's last word time for it (never from before vdcd knew it). */
static struct ctl_ha_state *state_of(struct ctl_ha *ha, const struct ctl_ha_host *h, int64_t now)
{
	struct ctl_ha_state *st = (struct ctl_ha_state *)ctl_ha_host(ha, h->id);
	if (st)
		return st;
	if ((ha->used + 1) * 2 > ha->cap) {
		struct ctl_ha_state **old = ha->slots;
		size_t ocap = ha->cap;
		ha->cap = ocap ? ocap * 2 : 64;
		ha->slots = xcalloc(ha->cap, sizeof(*ha->slots));
		ha->used = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i])
				put(ha, old[i]);
		free(old);
	}
	st = xcalloc(1, sizeof(*st));
	st->id = xstrdup(h->id);
	st->state = HA_CONNECTED;
	st->since_ms = now;
	st->last_word_ms = INT64_MIN;
	st->seq_at_word = -1;
	put(ha, st);
	return st;
}

static void forget_said(struct ctl_ha_state *st)
{
	for (int i = 0; i < st->nsaid; i++) {
		free(st->said[i].vm_id);
		free(st->said[i].why);
	}
	st->nsaid = 0;
}

/* A refusal, said once per verdict on its host and reason. */
static void refuse_once(struct ctl_ha *ha, struct ctl_ha_state *st, const char *vm_id, const char *why)
{
	for (int i = 0; i < st->nsaid; i++)
		if (!strcmp(st->said[i].vm_id, vm_id)) {
			if (!strcmp(st->said[i].why, why))
				return;
			free(st->said[i].why);
			st->said[i].why = xstrdup(why);
			goto say;
		}
	if (st->nsaid == st->said_cap) {
		st->said_cap = st->said_cap ? st->said_cap * 2 : 8;
		st->said = realloc(st->said, (size_t)st->said_cap * sizeof(*st->said));
		if (!st->said)
			abort();
	}
	st->said[st->nsaid++] = (struct ctl_ha_said){xstrdup(vm_id), xstrdup(why)};
say:
	ha->env->decision(ha->env->ctx, CTL_INFO, "ha", vm_id, "refuse", why);
	ha->env->event(ha->env->ctx, "vdcd", "vm.ha_restart", "vm", vm_id, "refused", why);
}

/* ---- how the peers see a host's lease ---- */

struct lease_acc {
	int64_t now, net_timeout_ms;
	const char *peer;  /* the peer of the rows being read */
	int64_t peer_best; /* its freshest age of the lease; -1: none of its rows counted */
	struct ha_host_view *v;
	int64_t seen_seq;
};

static void close_peer(struct lease_acc *a)
{
	if (a->peer_best >= 0 && (a->v->observers++ == 0 || a->peer_best < a->v->lease_age_ms))
		a->v->lease_age_ms = a->peer_best;
	a->peer_best = -1;
}

static int on_lease_seen(void *arg, const struct ctl_ha_lease_seen *l)
{
	struct lease_acc *a = arg;
	if (!a->peer || strcmp(a->peer, l->peer)) {
		close_peer(a);
		a->peer = l->peer;
	}
	/* A peer that stopped answering itself tells nothing new. */
	if (a->now - l->peer_word_ms >= a->net_timeout_ms)
		return 0;
	int64_t age = l->unchanged_ms + (a->now - l->peer_word_ms);
	if (l->seq > a->seen_seq) {
		a->seen_seq = l->seq;
		a->v->agent_down = l->agent_down; /* the newest record says */
	}
	if (a->peer_best < 0 || age < a->peer_best)
		a->peer_best = age;
	return 0;
}

/* ---- restarts ---- */

struct vm_list {
	struct ctl_ha *ha;
	struct ctl_ha_state *st;
	struct ctl_ha_vm *v;
	char ***after; /* copies: the env's arrays live for its call only */
	int n, cap;
	char **waiting; /* names of the VMs of the host that wait for another */
	int nwaiting, waiting_cap;
	int64_t retry;
};

static void add_waiting(struct vm_list *l, const char *name)
{
	if (l->nwaiting == l->waiting_cap) {
		l->waiting_cap = l->waiting_cap ? l->waiting_cap * 2 : 8;
		l->waiting = realloc(l->waiting, (size_t)l->waiting_cap * sizeof(*l->waiting));
		if (!l->waiting)
			abort();
	}
	l->waiting[l->nwaiting++] = xstrdup(name);
}

static bool is_waiting(const struct vm_list *l, const char *name)
{
	for (int i = 0; i < l->nwaiting; i++)
		if (!strcmp(l->waiting[i], name))
			return true;
	return false;
}

/* A VM that starts after one of its host's VMs that waits, waits too:
 * planned without it, it would start at once, before the VM it waits for
 * (the planner starts a VM whose dependency is not in the plan without
 * waiting for it). Until nothing changes: chains wait as a whole. */
static void wait_for_waiting(struct vm_list *l)
{
	for (bool changed = true; changed;) {
		changed = false;
		for (int c = 0; c < l->n; c++) {
			bool waits = false;
			for (int a = 0; a < l->v[c].nafter && !waits; a++)
				waits = is_waiting(l, l->v[c].after[a]);
			if (!waits)
				continue;
			add_waiting(l, l->v[c].name);
			for (int a = 0; a < l->v[c].nafter; a++)
				free(l->after[c][a]);
			free(l->after[c]);
			free((char *)l->v[c].id);
			free((char *)l->v[c].name);
			l->v[c] = l->v[l->n - 1];
			l->after[c] = l->after[l->n - 1];
			l->n--;
			c--;
			changed = true;
		}
	}
}

static int on_vm(void *arg, const struct ctl_ha_vm *vm)
{
	struct vm_list *l = arg;
	if (vm->priority == HA_PRIO_DISABLED || (vm->not_eligible && !vm->not_eligible[0]))
		return 0;
	if (vm->not_eligible) {
		refuse_once(l->ha, l->st, vm->id, vm->not_eligible);
		return 0;
	}
	/* It waits while a VM it starts after is being restarted. */
	const struct ctl_env *env = l->ha->env;
	for (int a = 0; a < vm->nafter; a++)
		if (env->ha_vm_restarting(env->ctx, vm, vm->after[a])) {
			l->retry = CTL_HA_WAVE_POLL_MS;
			add_waiting(l, vm->name);
			return 0;
		}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = realloc(l->v, (size_t)l->cap * sizeof(*l->v));
		l->after = realloc(l->after, (size_t)l->cap * sizeof(*l->after));
		if (!l->v || !l->after)
			abort();
	}
	struct ctl_ha_vm c = *vm;
	c.id = xstrdup(vm->id);
	c.name = xstrdup(vm->name);
	char **after = xcalloc((size_t)vm->nafter, sizeof(*after));
	for (int a = 0; a < vm->nafter; a++)
		after[a] = xstrdup(vm->after[a]);
	c.after = (const char *const *)after;
	l->after[l->n] = after;
	l->v[l->n++] = c;
	return 0;
}

static void vm_list_free(struct vm_list *l)
{
	for (int i = 0; i < l->n; i++) {
		for (int a = 0; a < l->v[i].nafter; a++)
			free(l->after[i][a]);
		free(l->after[i]);
		free((char *)l->v[i].id);
		free((char *)l->v[i].name);
	}
	free(l->after);
	free(l->v);
	for (int i = 0; i < l->nwaiting; i++)
		free(l->waiting[i]);
	free(l->waiting);
}

/* A failed host's VMs, or those an isolated host's isolation response
 * stopped, planned together (priorities, room, "start after" waves; an
 * affinity partner still running on an isolated host holds nothing
 * there, its host being out of placement): the first wave starts now;
 * later waves and VMs no host fits are looked at again. Returns when to
 * look again (ms), 0 when done. */
static int64_t restart_planned(struct ctl_ha *ha, struct ctl_ha_state *st, const struct ctl_ha_host *judged)
{
	const struct ctl_env *env = ha->env;
	struct ctl_ha_host hc = *judged;
	hc.judged = st->state;
	const struct ctl_ha_host *h = &hc;
	struct vm_list l = {.ha = ha, .st = st};
	env->each_ha_vm(env->ctx, h, on_vm, &l);
	wait_for_waiting(&l);
	int64_t retry = l.retry;
	if (!l.n)
		goto done;
	const int **after = xcalloc((size_t)l.n, sizeof(*after));
	int *nafter = xcalloc((size_t)l.n, sizeof(*nafter));
	struct ha_restart *restarts = xcalloc((size_t)l.n, sizeof(*restarts));
	struct ha_skip *skipped = xcalloc((size_t)l.n, sizeof(*skipped));
	int *ids = NULL;
	/* Its order among those restarting with it, by name. */
	size_t nlinks = 0;
	for (int c = 0; c < l.n; c++)
		nlinks += (size_t)l.v[c].nafter;
	ids = xcalloc(nlinks, sizeof(*ids));
	size_t used = 0;
	for (int c = 0; c < l.n; c++) {
		after[c] = ids + used;
		for (int a = 0; a < l.v[c].nafter && nafter[c] < HA_PLAN_MAX_AFTER; a++)
			for (int d = 0; d < l.n; d++)
				if (d != c && !strcmp(l.v[d].name, l.v[c].after[a])) {
					ids[used + (size_t)nafter[c]++] = d;
					break;
				}
		used += (size_t)nafter[c];
	}
	struct ha_plan p;
	if (env->ha_plan(env->ctx, h, l.v, after, nafter, l.n, restarts, skipped, &p) < 0) {
		env->decision(env->ctx, CTL_WARN, "ha", h->name, "plan-failed", p.reason);
		retry = CTL_HA_RETRY_MS;
	} else {
		for (int i = 0; i < p.nrestarts; i++) {
			const struct ha_restart *r = &restarts[i];
			if (r->wave > 0) {
				retry = CTL_HA_WAVE_POLL_MS; /* after the waves before it run */
				continue;
			}
			char reason[HA_RESTART_REASON_MAX + 200];
			snprintf(reason, sizeof(reason), "host %s %s; restarted on %s: %s", h->name,
			         h->judged == HA_ISOLATED ? "is isolated and stopped it (its isolation response)" : "failed",
			         env->ha_host_name(env->ctx, r->host), r->reason);
			const struct ctl_ha_vm *v = &l.v[r->vm];
			if (env->ha_restart(env->ctx, v, r->host, reason) < 0) {
				retry = CTL_HA_RETRY_MS;
				continue;
			}
			env->decision(env->ctx, CTL_INFO, "ha", v->id, "restart", reason);
			env->event(env->ctx, "vdcd", "vm.ha_restart", "vm", v->id, "accepted", reason);
		}
		for (int i = 0; i < p.nskipped; i++) {
			const struct ha_skip *k = &skipped[i];
			bool later = k->why == HA_SKIP_NO_HOST;
			char why[HA_RESTART_REASON_MAX + 64];
			snprintf(why, sizeof(why), "not restarted%s: %s", later ? " yet (tried again every 5 s)" : "",
			         k->reason);
			refuse_once(ha, st, l.v[k->vm].id, why);
			if (later && !retry)
				retry = CTL_HA_RETRY_MS;
		}
	}
	free(ids);
	free(skipped);
	free(restarts);
	free(nafter);
	free(after);
done:
	vm_list_free(&l);
	return retry;
}

/* ---- judging ---- */

struct stale {
	const struct ctl_env *env;
	const struct ctl_ha_host *h;
	char **ids;
	int n, cap;
};

static int on_stale(void *arg, const char *vm_id)
{
	struct stale *s = arg;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->ids = realloc(s->ids, (size_t)s->cap * sizeof(*s->ids));
		if (!s->ids)
			abort();
	}
	s->ids[s->n++] = xstrdup(vm_id);
	return 0;
}

/* A host that answers again still has copies of VMs HA restarted
 * elsewhere: they go (never started: it fenced them, or lost them with
 * its power), so no VM ever runs twice once it is back. */
static void remove_stale_copies(const struct ctl_env *env, const struct ctl_ha_host *h)
{
	if (!env->each_stale_copy)
		return;
	struct stale s = {.env = env, .h = h};
	env->each_stale_copy(env->ctx, h, on_stale, &s);
	for (int i = 0; i < s.n; i++) {
		char detail[300];
		snprintf(detail, sizeof(detail), "host %s came back with a copy of it; HA restarted it elsewhere, so that "
		         "copy is removed (its disks stay)", h->name);
		if (env->remove_stale_copy(env->ctx, h, s.ids[i]) == 0) {
			env->decision(env->ctx, CTL_INFO, "ha", s.ids[i], "remove-stale-copy", detail);
			env->event(env->ctx, "vdcd", "vm.ha_stale_copy", "vm", s.ids[i], "accepted", detail);
		}
		free(s.ids[i]);
	}
	free(s.ids);
}

struct judge_ctx {
	struct ctl_ha *ha;
	const struct ctl_ha_cluster *c;
	int64_t now;
};

static int judge(void *arg, const struct ctl_ha_host *h)
{
	struct judge_ctx *j = arg;
	struct ctl_ha *ha = j->ha;
	const struct ctl_env *env = ha->env;
	const struct ha_times *t = &j->c->t;
	struct ctl_ha_state *st = state_of(ha, h, j->now);
	if (h->last_word_ms != st->last_word_ms) {
		st->last_word_ms = h->last_word_ms;
		st->seq_at_word = h->seq_at_word;
	}
	struct ha_host_view v = {.silent_ms = j->now - h->last_word_ms};
	/* The leases matter only once it is silent: ha_detect judges a host
	 * that answers connected whatever they say, and a fleet's peers'
	 * reports are many. */
	if (v.silent_ms >= t->net_timeout_ms) {
		struct lease_acc a = {.now = j->now, .net_timeout_ms = t->net_timeout_ms, .peer_best = -1, .v = &v,
		                      .seen_seq = -1};
		env->each_lease_seen(env->ctx, j->c, h, on_lease_seen, &a);
		close_peer(&a);
		/* Renewals since its last word: a crashed host makes at most one. */
		if (st->seq_at_word < 0)
			st->seq_at_word = a.seen_seq;
		v.renewals = a.seen_seq >= 0 && st->seq_at_word >= 0 ? a.seen_seq - st->seq_at_word : 0;
		v.powered_off = h->powered_off;
	}
	struct ha_detection d;
	ha_detect(&v, t, &d);
	if (d.state != st->state) {
		forget_said(st);
		st->state = d.state;
		st->since_ms = j->now;
		snprintf(st->reason, sizeof(st->reason), "%s", d.reason);
		env->decision(env->ctx, CTL_INFO, "ha", h->name, ha_state_name(d.state), d.reason);
		char action[48];
		snprintf(action, sizeof(action), "host.ha_%s", ha_state_name(d.state));
		env->event(env->ctx, "vdcd", action, "host", h->id, "succeeded", d.reason);
		env->ha_verdict(env->ctx, h, d.state, d.reason);
		st->next_restart_ms = d.state == HA_FAILED || d.state == HA_ISOLATED ? j->now : 0;
		if (d.state == HA_CONNECTED)
			remove_stale_copies(env, h);
	}
	if ((st->state == HA_FAILED || st->state == HA_ISOLATED) && st->next_restart_ms && j->now >= st->next_restart_ms) {
		int64_t again = restart_planned(ha, st, h);
		/* An isolated host stops VMs as its agent applies their responses
		 * (a shutdown may take a minute): looked at again while it lasts. */
		if (st->state == HA_ISOLATED && !again)
			again = CTL_HA_ISOLATED_POLL_MS;
		st->next_restart_ms = again ? j->now + again : 0;
	}
	return 0;
}

static int on_cluster(void *arg, const struct ctl_ha_cluster *c)
{
	struct ctl_ha *ha = arg;
	struct judge_ctx j = {.ha = ha, .c = c, .now = ha->env->now_ms(ha->env->ctx)};
	ha->env->each_ha_host(ha->env->ctx, c, judge, &j);
	return 0;
}

void ctl_ha_tick(struct ctl_ha *ha)
{
	ha->env->each_ha_cluster(ha->env->ctx, on_cluster, ha);
}

static void tick_timer(void *arg)
{
	struct ctl_ha *ha = arg;
	if (!ha->running)
		return;
	ctl_ha_tick(ha);
	ha->env->timer(ha->env->ctx, CTL_HA_TICK_MS, tick_timer, ha);
}

void ctl_ha_start(struct ctl_ha *ha, const struct ctl_env *env)
{
	ha->env = env;
	ha->running = true;
	env->timer(env->ctx, CTL_HA_TICK_MS, tick_timer, ha);
}

void ctl_ha_free(struct ctl_ha *ha)
{
	for (size_t i = 0; i < ha->cap; i++) {
		struct ctl_ha_state *st = ha->slots[i];
		if (!st)
			continue;
		forget_said(st);
		free(st->said);
		free(st->id);
		free(st);
	}
	free(ha->slots);
	memset(ha, 0, sizeof(*ha));
}
