/* ha_incident.c - see ha_incident.h. */
#include "ha_incident.h"

#include <stdlib.h>
#include <string.h>

const char *ha_inc_phase_name(enum ha_inc_phase p)
{
	static const char *const names[] = {"detected", "fenced", "placed", "started", "failed", "refused", "recovered",
	                                     "ready"};
	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "detected";
}

struct order {
	const struct ha_inc_item *items;
	int i;
};

static int by_time(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	const struct ha_inc_item *p = &x->items[x->i], *q = &y->items[y->i];
	if (p->at_ms != q->at_ms)
		return p->at_ms < q->at_ms ? -1 : 1;
	if (p->seq != q->seq)
		return p->seq < q->seq ? -1 : 1;
	return x->i - y->i;
}

static bool same(const char *a, const char *b) { return a && b && !strcmp(a, b); }

/* The host's incident open now (the newest not closed), or NULL. */
static struct ha_incident *open_of_host(struct ha_incident *inc, int n, const char *host)
{
	for (int k = n - 1; k >= 0; k--)
		if (!inc[k].of_vm && same(inc[k].host_id, host))
			return inc[k].closed_ms ? NULL : &inc[k];
	return NULL;
}

static struct ha_incident *newest_of_vm(struct ha_incident *inc, int n, const char *vm)
{
	for (int k = n - 1; k >= 0; k--)
		if (inc[k].of_vm && same(inc[k].vm_id, vm))
			return &inc[k];
	return NULL;
}

static int add_step(struct ha_incident *c, int item, enum ha_inc_phase ph, int64_t at)
{
	struct ha_inc_step *s = realloc(c->steps, sizeof(*s) * (size_t)(c->nsteps + 1));
	if (!s)
		return -1;
	c->steps = s;
	s[c->nsteps++] = (struct ha_inc_step){.item = item, .phase = ph, .at_ms = at};
	return 0;
}

/* A new incident at the end of *inc; NULL when memory ran out. */
static struct ha_incident *open_new(struct ha_incident **inc, int *n, int *cap, const struct ha_inc_item *it,
                                    int item, bool of_vm)
{
	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 8;
		struct ha_incident *m = realloc(*inc, sizeof(**inc) * (size_t)ncap);
		if (!m)
			return NULL;
		*inc = m;
		*cap = ncap;
	}
	struct ha_incident *c = &(*inc)[(*n)++];
	*c = (struct ha_incident){.of_vm = of_vm, .host_id = it->host_id, .vm_id = of_vm ? it->vm_id : NULL,
	                          .opened_by = item, .opened_ms = it->at_ms};
	return c;
}

/* A restart's steps: placed when queued, then how its task ended. */
static int restart_steps(struct ha_incident *c, const struct ha_inc_item *it, int item)
{
	if (add_step(c, item, HA_PH_PLACED, it->at_ms) < 0)
		return -1;
	c->placed++;
	if (!it->end_ms)
		return 0;
	bool ok = same(it->state, "succeeded");
	if (add_step(c, item, ok ? HA_PH_STARTED : HA_PH_FAILED, it->end_ms) < 0)
		return -1;
	if (ok) {
		c->started++;
		if (it->end_ms > c->last_started_ms)
			c->last_started_ms = it->end_ms;
	} else {
		c->failed++;
	}
	return 0;
}

/* The incident holding vm's newest restart queued at or before at_ms (its
 * step index in *step), or NULL. */
static struct ha_incident *restart_of(const struct ha_inc_item *items, struct ha_incident *inc, int n,
                                      const char *vm, int64_t at_ms, int *step)
{
	struct ha_incident *best = NULL;
	int64_t best_at = -1;
	for (int k = 0; k < n; k++)
		for (int s = 0; s < inc[k].nsteps; s++) {
			const struct ha_inc_item *r = &items[inc[k].steps[s].item];
			if (inc[k].steps[s].phase == HA_PH_PLACED && same(r->vm_id, vm) && r->at_ms <= at_ms &&
			    r->at_ms > best_at) {
				best = &inc[k];
				best_at = r->at_ms;
				*step = s;
			}
		}
	return best;
}

/* The first answer of a restarted VM's probe after its restart started it. */
static int ready_step(const struct ha_inc_item *items, struct ha_incident *inc, int n, const struct ha_inc_item *it,
                      int item)
{
	int s = -1;
	struct ha_incident *c = restart_of(items, inc, n, it->vm_id, it->at_ms, &s);
	if (!c)
		return 0;
	const struct ha_inc_item *r = &items[c->steps[s].item];
	if (!same(r->state, "succeeded") || !r->end_ms || r->end_ms > it->at_ms + 1000)
		return 0; /* not started (yet): this answer is another run's (the task's end is to the second) */
	for (int k = 0; k < c->nsteps; k++)
		if (c->steps[k].phase == HA_PH_READY && same(items[c->steps[k].item].vm_id, it->vm_id) &&
		    c->steps[k].at_ms >= r->at_ms)
			return 0; /* said already */
	if (add_step(c, item, HA_PH_READY, it->at_ms) < 0)
		return -1;
	c->ready++;
	if (it->at_ms > c->last_ready_ms)
		c->last_ready_ms = it->at_ms;
	if (c->of_vm && c->closed_ms && c->closed_ms < it->at_ms)
		c->closed_ms = it->at_ms; /* VM monitoring's is over when it answers */
	return 0;
}

static int by_step_time(const void *a, const void *b)
{
	const struct ha_inc_step *x = a, *y = b;
	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	return x->item != y->item ? x->item - y->item : (int)x->phase - (int)y->phase;
}

int ha_incidents_build(const struct ha_inc_item *items, int n, struct ha_incident **out)
{
	*out = NULL;
	struct order *ord = malloc(sizeof(*ord) * (size_t)(n > 0 ? n : 1));
	if (!ord)
		return -1;
	for (int i = 0; i < n; i++)
		ord[i] = (struct order){items, i};
	qsort(ord, (size_t)n, sizeof(*ord), by_time);
	struct ha_incident *inc = NULL;
	int ninc = 0, cap = 0, rc = 0;
	for (int o = 0; o < n && rc == 0; o++) {
		int i = ord[o].i;
		const struct ha_inc_item *it = &items[i];
		struct ha_incident *c = NULL;
		switch (it->kind) {
		case HA_INC_VERDICT:
			c = open_of_host(inc, ninc, it->host_id);
			if (same(it->state, "connected")) {
				if (c) {
					rc = add_step(c, i, HA_PH_RECOVERED, it->at_ms);
					c->closed_ms = it->at_ms;
				}
				break;
			}
			if (!c && !(c = open_new(&inc, &ninc, &cap, it, i, false))) {
				rc = -1;
				break;
			}
			/* Failed is fenced: past its lease and the margin it has
			 * killed its protected VMs itself, or its BMC said off. */
			if (same(it->state, "failed")) {
				if (!c->fenced_ms)
					c->fenced_ms = it->at_ms;
				rc = add_step(c, i, HA_PH_FENCED, it->at_ms);
			} else {
				rc = add_step(c, i, HA_PH_DETECTED, it->at_ms);
			}
			break;
		case HA_INC_BMC_FENCE:
			if (!(c = open_of_host(inc, ninc, it->host_id)))
				break;
			if (same(it->state, "succeeded")) {
				if (!c->fenced_ms)
					c->fenced_ms = it->at_ms;
				rc = add_step(c, i, HA_PH_FENCED, it->at_ms);
			} else {
				rc = add_step(c, i, HA_PH_FAILED, it->at_ms);
			}
			break;
		case HA_INC_RESTART:
			if (same(it->host_id, it->to_host_id)) {
				/* VM monitoring: its own incident, over when it ends. */
				if (!(c = open_new(&inc, &ninc, &cap, it, i, true))) {
					rc = -1;
					break;
				}
				rc = restart_steps(c, it, i);
				c->closed_ms = it->end_ms;
			} else if ((c = open_of_host(inc, ninc, it->host_id))) {
				rc = restart_steps(c, it, i);
			}
			break;
		case HA_INC_REFUSED:
			if ((c = open_of_host(inc, ninc, it->host_id))) {
				rc = add_step(c, i, HA_PH_REFUSED, it->at_ms);
				c->refused++;
			}
			break;
		case HA_INC_MONITOR:
			c = newest_of_vm(inc, ninc, it->vm_id);
			if (!c && !(c = open_new(&inc, &ninc, &cap, it, i, true))) {
				rc = -1;
				break;
			}
			rc = add_step(c, i, HA_PH_REFUSED, it->at_ms);
			c->refused++;
			if (!c->closed_ms || c->closed_ms < it->at_ms)
				c->closed_ms = it->at_ms;
			break;
		case HA_INC_READY:
			rc = ready_step(items, inc, ninc, it, i);
			break;
		}
	}
	free(ord);
	if (rc < 0) {
		ha_incidents_free(inc, ninc);
		return -1;
	}
	/* A restart's end comes after later things: each timeline in time
	 * order. */
	for (int k = 0; k < ninc; k++)
		qsort(inc[k].steps, (size_t)inc[k].nsteps, sizeof(*inc[k].steps), by_step_time);
	*out = inc;
	return ninc;
}

void ha_incidents_free(struct ha_incident *inc, int n)
{
	for (int k = 0; k < n; k++)
		free(inc[k].steps);
	free(inc);
}
