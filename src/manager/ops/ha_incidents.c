/* ha_incidents.c - a cluster's HA incidents as the API shows them: what
 * vdcd recorded (its hosts' HA verdicts and BMC fences in the audit log,
 * its vm.ha_restart tasks and their events) read from the store and made
 * into timelines by decide/ha_incident.c. Nothing is kept besides the log
 * and the tasks, so an incident reads the same after a restart of vdcd. */
#include "ha_incidents.h"

#include "ha_incident.h"
#include "isotime.h"
#include "manager.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* How far back the log is read for each kind of HA event. */
#define EVENTS_READ 5000

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* "2026-12-07T18:31:05.527Z" or "...:05Z" as epoch ms; 0 when not a time. */
static int64_t time_ms(const char *s)
{
	int64_t ms;
	iso_time_parse_ms(s, &ms);
	return ms;
}

static json_t *read_events(struct mgr *m, const char *prefix, struct errinfo *e)
{
	char *text = store_events_text_action(m->st, 0, false, prefix, EVENTS_READ, e);
	json_t *arr = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return arr;
}

/* The vm.ha_restart events read, sorted by VM, time and their place in
 * the log as read (newest first), so that a task finds its events by a
 * binary search instead of a scan of every event. */
struct restart_ev {
	const char *vm_id;
	int64_t at_ms;
	size_t pos;
	const json_t *ev;
};

static int restart_ev_cmp(const void *a, const void *b)
{
	const struct restart_ev *x = a, *y = b;
	int c = strcmp(x->vm_id, y->vm_id);
	if (c)
		return c;
	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The vm.ha_restart events of vm_events, sorted (free the array), or
 * NULL when memory ran out (*n = -1) or there are none (*n = 0). */
static struct restart_ev *restart_events(const json_t *vm_events, ssize_t *n)
{
	struct restart_ev *r = malloc(sizeof(*r) * (json_array_size(vm_events) + 1));
	*n = r ? 0 : -1;
	size_t i;
	const json_t *ev;
	json_array_foreach(vm_events, i, ev) {
		if (r && !strcmp(str(ev, "action") ?: "", "vm.ha_restart"))
			r[(*n)++] = (struct restart_ev){str(ev, "target_id") ?: "", time_ms(str(ev, "at")), i, ev};
	}
	if (r)
		qsort(r, (size_t)*n, sizeof(*r), restart_ev_cmp);
	return r;
}

/* The event of a VM's restart at or after from_ms, within a second of
 * when_s's second (task times are to the second, events to the ms): the
 * earliest, and of those the first in the log as read. */
static const struct restart_ev *restart_event(const struct restart_ev *r, ssize_t n, const char *vm_id,
                                              const char *outcome, int64_t from_ms, int64_t when_s)
{
	int64_t lo_ms = when_s > 0 && when_s * 1000 > from_ms ? when_s * 1000 : from_ms;
	ssize_t lo = 0, hi = n; /* the first of vm_id at lo_ms or later */
	while (lo < hi) {
		ssize_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r[mid].vm_id, vm_id);
		if (c < 0 || (!c && r[mid].at_ms < lo_ms))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !strcmp(r[lo].vm_id, vm_id) && r[lo].at_ms / 1000 <= when_s + 1; lo++) {
		const char *got = str(r[lo].ev, "outcome") ?: "";
		bool outcome_ok = outcome ? !strcmp(got, outcome) : strcmp(got, "accepted") && strcmp(got, "refused");
		if (outcome_ok && r[lo].at_ms >= from_ms && r[lo].at_ms / 1000 >= when_s)
			return &r[lo];
	}
	return NULL;
}

struct gathered {
	struct ha_inc_item *items;
	const json_t **sources; /* the event or task each item came from */
	int n, cap;
};

static struct ha_inc_item *add(struct gathered *g, const json_t *source)
{
	if (g->n == g->cap) {
		int ncap = g->cap ? g->cap * 2 : 64;
		struct ha_inc_item *it = realloc(g->items, sizeof(*it) * (size_t)ncap);
		if (it)
			g->items = it;
		const json_t **src = realloc(g->sources, sizeof(*src) * (size_t)ncap);
		if (src)
			g->sources = src;
		if (!it || !src)
			return NULL;
		g->cap = ncap;
	}
	g->sources[g->n] = source;
	g->items[g->n] = (struct ha_inc_item){0};
	return &g->items[g->n++];
}

static const char *name_of(const json_t *names, const char *id)
{
	return id ? json_string_value(json_object_get(names, id)) : NULL;
}

static json_t *step_json(const struct ha_inc_step *s, const struct ha_inc_item *it, const json_t *src,
                         const json_t *host_names, const json_t *vm_names)
{
	char at[32];
	iso_time_ms(s->at_ms, at);
	json_t *j = json_pack("{s:s, s:s}", "at", at, "phase", ha_inc_phase_name(s->phase));
	if (it->kind == HA_INC_RESTART) {
		json_object_set_new(j, "vm", json_pack("{s:s, s:s?}", "id", it->vm_id, "name", name_of(vm_names, it->vm_id)));
		json_object_set_new(j, "to_host", json_pack("{s:s?, s:s?}", "id", it->to_host_id, "name",
		                                            name_of(host_names, it->to_host_id)));
		json_object_set(j, "task_id", json_object_get(src, "id"));
		const json_t *args = json_object_get(src, "args");
		if (s->phase == HA_PH_PLACED)
			json_object_set(j, "detail", json_object_get(args, "reason"));
		else if (s->phase == HA_PH_FAILED)
			json_object_set(j, "detail", json_object_get(json_object_get(src, "error"), "message"));
		else
			json_object_set_new(j, "detail", json_sprintf("runs on %s", name_of(host_names, it->to_host_id) ?: "?"));
	} else {
		if (it->vm_id)
			json_object_set_new(j, "vm", json_pack("{s:s, s:s?}", "id", it->vm_id, "name",
			                                       name_of(vm_names, it->vm_id)));
		json_object_set(j, "action", json_object_get(src, "action"));
		json_object_set(j, "detail", json_object_get(src, "detail"));
		json_object_set(j, "event_id", json_object_get(src, "id"));
	}
	return j;
}

static json_t *incident_json(const struct ha_incident *c, const struct gathered *g, const json_t *host_names,
                             const json_t *vm_names)
{
	const json_t *opener = g->sources[c->opened_by];
	char id[80], opened[32], closed[32];
	/* Its id: what opened it, an event's id or a task's. */
	if (g->items[c->opened_by].kind == HA_INC_RESTART)
		snprintf(id, sizeof(id), "task-%s", str(opener, "id") ?: "");
	else
		snprintf(id, sizeof(id), "event-%lld", (long long)json_integer_value(json_object_get(opener, "id")));
	iso_time_ms(c->opened_ms, opened);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "kind", c->of_vm ? "vm" : "host", "state",
	                      c->closed_ms ? "closed" : "open", "opened_at", opened);
	json_object_set_new(j, "host", json_pack("{s:s?, s:s?}", "id", c->host_id, "name", name_of(host_names, c->host_id)));
	if (c->of_vm)
		json_object_set_new(j, "vm", json_pack("{s:s?, s:s?}", "id", c->vm_id, "name", name_of(vm_names, c->vm_id)));
	if (c->closed_ms) {
		iso_time_ms(c->closed_ms, closed);
		json_object_set_new(j, "closed_at", json_string(closed));
	} else {
		json_object_set_new(j, "closed_at", json_null());
	}
	/* The figures users ask first: how long until it was fenced, and
	 * until the last of its VMs ran again. */
	json_t *sum = json_pack("{s:i, s:i, s:i, s:i}", "vms_placed", c->placed, "vms_started", c->started, "vms_failed",
	                        c->failed, "vms_refused", c->refused);
	json_object_set_new(sum, "to_fenced_s", c->fenced_ms ? json_real((double)(c->fenced_ms - c->opened_ms) / 1000.0)
	                                                     : json_null());
	json_object_set_new(sum, "to_all_started_s",
	                    c->started && c->started == c->placed
	                        ? json_real((double)(c->last_started_ms - c->opened_ms) / 1000.0)
	                        : json_null());
	json_object_set_new(sum, "vms_ready", json_integer(c->ready));
	json_object_set_new(sum, "to_ready_s", c->last_ready_ms ? json_real((double)(c->last_ready_ms - c->opened_ms) / 1000.0)
	                                                        : json_null());
	json_object_set_new(j, "summary", sum);
	json_t *steps = json_array();
	for (int s = 0; s < c->nsteps; s++)
		json_array_append_new(steps, step_json(&c->steps[s], &g->items[c->steps[s].item],
		                                       g->sources[c->steps[s].item], host_names, vm_names));
	json_object_set_new(j, "steps", steps);
	return j;
}

/* A page of vm.ha_restart tasks: those from or to one of the cluster's
 * hosts are kept (ctx: {hosts by id, the tasks kept}). */
struct task_pick {
	const json_t *host_names;
	json_t *kept;
};

static int pick_tasks(void *ctx, json_t *page)
{
	struct task_pick *p = ctx;
	size_t i;
	json_t *o;
	json_array_foreach(page, i, o) {
		const json_t *args = json_object_get(o, "args");
		if (str(o, "target_id") && (name_of(p->host_names, str(args, "from_host_id")) ||
		                            name_of(p->host_names, str(args, "to_host_id"))) &&
		    json_array_append(p->kept, o) < 0)
			return -1;
	}
	return 0;
}

json_t *ha_incidents_report(struct mgr *m, const json_t *cluster, const char *host_id, int limit, struct errinfo *e)
{
	struct store_filter cf = {"cluster_id", str(cluster, "id") ?: ""};
	json_t *hosts = store_list_all(m->st, STORE_HOST, &cf, 1, e);
	json_t *vms = hosts ? store_list_all(m->st, STORE_VM, &cf, 1, e) : NULL;
	json_t *out = NULL, *host_names = json_object(), *vm_names = json_object(), *vm_host = json_object();
	size_t i;
	json_t *o;
	json_array_foreach(hosts, i, o)
		json_object_set(host_names, str(o, "id") ?: "", json_object_get(o, "name"));
	json_array_foreach(vms, i, o) {
		json_object_set(vm_names, str(o, "id") ?: "", json_object_get(o, "name"));
		json_object_set(vm_host, str(o, "id") ?: "", json_object_get(o, "host_id"));
	}
	/* Only the cluster's restarts are kept of the store's pages: a task
	 * names its hosts in its args, which the store does not index. */
	struct store_filter tf = {"op", "vm.ha_restart"};
	json_t *tasks = vms ? json_array() : NULL;
	if (tasks && store_list_each(m->st, STORE_TASK, &tf, 1, pick_tasks,
	                             &(struct task_pick){host_names, tasks}, e) < 0) {
		if (!e->status)
			errinfo_set(e, 500, "internal", NULL, "out of memory");
		json_decref(tasks);
		tasks = NULL;
	}
	json_t *host_events = tasks ? read_events(m, "host.ha_", e) : NULL;
	json_t *vm_events = host_events ? read_events(m, "vm.ha_", e) : NULL;
	json_t *ready_events = vm_events ? read_events(m, "vm.ready", e) : NULL; /* ops/ha_ready.c */
	struct gathered g = {0};
	ssize_t nrev = 0;
	struct restart_ev *rev = ready_events ? restart_events(vm_events, &nrev) : NULL;
	if (!ready_events || nrev < 0) {
		if (nrev < 0)
			errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto done;
	}
	bool oom = false;
	json_array_foreach(host_events, i, o) {
		const char *action = str(o, "action") ?: "", *target = str(o, "target_id");
		if (!name_of(host_names, target))
			continue;
		struct ha_inc_item *it = add(&g, o);
		if (!(oom |= !it)) {
			bool bmc = !strcmp(action, "host.ha_bmc_fence");
			*it = (struct ha_inc_item){.kind = bmc ? HA_INC_BMC_FENCE : HA_INC_VERDICT,
			                           .at_ms = time_ms(str(o, "at")), .seq = json_integer_value(json_object_get(o, "id")),
			                           .host_id = target, .state = bmc ? str(o, "outcome") : action + strlen("host.ha_")};
		}
	}
	json_array_foreach(vm_events, i, o) {
		const char *action = str(o, "action") ?: "", *target = str(o, "target_id"), *outcome = str(o, "outcome") ?: "";
		bool refused = !strcmp(action, "vm.ha_restart") && !strcmp(outcome, "refused");
		bool gave_up = !strcmp(action, "vm.ha_monitor");
		if ((!refused && !gave_up) || !name_of(vm_names, target))
			continue;
		struct ha_inc_item *it = add(&g, o);
		if (!(oom |= !it))
			*it = (struct ha_inc_item){.kind = refused ? HA_INC_REFUSED : HA_INC_MONITOR,
			                           .at_ms = time_ms(str(o, "at")), .seq = json_integer_value(json_object_get(o, "id")),
			                           .host_id = json_string_value(json_object_get(vm_host, target)), .vm_id = target};
	}
	json_array_foreach(ready_events, i, o) {
		const char *target = str(o, "target_id");
		if (strcmp(str(o, "outcome") ?: "", "succeeded") || !name_of(vm_names, target))
			continue;
		struct ha_inc_item *it = add(&g, o);
		if (!(oom |= !it))
			*it = (struct ha_inc_item){.kind = HA_INC_READY, .at_ms = time_ms(str(o, "at")),
			                           .seq = json_integer_value(json_object_get(o, "id")), .vm_id = target};
	}
	json_array_foreach(tasks, i, o) {
		const json_t *args = json_object_get(o, "args");
		const char *from = str(args, "from_host_id"), *to = str(args, "to_host_id"), *vm = str(o, "target_id");
		/* Queued and ended as its events say (to the ms), else as the
		 * task says (to the second). */
		int64_t created = time_ms(str(o, "created_at")), finished = time_ms(str(o, "finished_at"));
		const struct restart_ev *placed = restart_event(rev, nrev, vm, "accepted", created, created / 1000);
		int64_t placed_ms = placed ? placed->at_ms : created;
		const struct restart_ev *ended =
		    finished ? restart_event(rev, nrev, vm, NULL, placed_ms, finished / 1000) : NULL;
		struct ha_inc_item *it = add(&g, o);
		if (!(oom |= !it))
			*it = (struct ha_inc_item){.kind = HA_INC_RESTART, .at_ms = placed_ms,
			                           .end_ms = ended ? ended->at_ms : finished,
			                           .seq = placed ? json_integer_value(json_object_get(placed->ev, "id")) : INT64_MAX,
			                           .host_id = from, .to_host_id = to, .vm_id = vm, .state = str(o, "state")};
	}
	struct ha_incident *inc = NULL;
	int n = oom ? -1 : ha_incidents_build(g.items, g.n, &inc);
	if (n < 0) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto done;
	}
	/* Newest first, as the log reads; ?host= keeps one host's. */
	json_t *items = json_array();
	for (int k = n - 1; k >= 0 && (int)json_array_size(items) < limit; k--)
		if (!host_id || (inc[k].host_id && !strcmp(inc[k].host_id, host_id)))
			json_array_append_new(items, incident_json(&inc[k], &g, host_names, vm_names));
	ha_incidents_free(inc, n);
	out = json_pack("{s:O, s:O, s:o}", "cluster_id", json_object_get(cluster, "id"), "cluster",
	                json_object_get(cluster, "name"), "items", items);
done:
	free(rev);
	free(g.items);
	free(g.sources);
	json_decref(host_names);
	json_decref(vm_names);
	json_decref(vm_host);
	json_decref(hosts);
	json_decref(vms);
	json_decref(tasks);
	json_decref(host_events);
	json_decref(vm_events);
	json_decref(ready_events);
	return out;
}
