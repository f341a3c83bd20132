/* world_ha.c - high availability in the simulated world (world.h): the
 * agents' side (a lease on one shared datastore renewed every second, an
 * alive report every second, self-fencing of the protected VMs once the
 * lease cannot be renewed), faults that HA must tell apart (power loss, a
 * cut management network, both), the HA controller's env callbacks
 * (ctl/ha_ctl.c runs over them as over vdcd) and restarts that really move
 * a VM, so that a VM running on two hosts at once is caught: it is logged
 * as "TWO COPIES" and counted, and the scenario test fails on it. */
#include "world.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HA_ROUNDS 20 /* alive reports spread over a second, in 50 ms rounds */
#define ALIVE_MS 1000

__attribute__((format(printf, 2, 3))) static void ha_log(struct sim_world *w, const char *fmt, ...)
{
	if (!w->log || w->quiet)
		return;
	sim_log_time(w);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(w->log, fmt, ap);
	va_end(ap);
}

/* ---- the agents ---- */

/* The agent kills its protected VMs this long after its last renewal: a
 * third of the lease (at least a second) before it runs out (as vdcd tells
 * real agents: fence_ms). */
static int64_t fence_ms(const struct sim_world *w)
{
	int64_t lease = w->ha.t.lease_ms, slack = lease / 3 > 1000 ? lease / 3 : 1000;
	return lease - slack;
}

static void fence(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	for (int k = 0; k < h->nvms; k++) {
		struct sim_vm *v = &w->vms[h->vms[k]];
		if (!v->in_inventory || v->priority == HA_PRIO_DISABLED || v->running_on != hi)
			continue;
		v->running_on = -1;
		v->on_agent = false; /* QEMU killed: its definition stays */
		w->ha.fenced++;
		ha_log(w, "agent %s fence %s: its lease could not be renewed\n", h->name, v->name);
	}
}

static int protected_running(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	int n = 0;
	for (int k = 0; k < h->nvms; k++) {
		struct sim_vm *v = &w->vms[h->vms[k]];
		n += v->in_inventory && v->priority != HA_PRIO_DISABLED && v->running_on == hi;
	}
	return n;
}

void sim_keeper_down(struct sim_world *w, int hi)
{
	w->hosts[hi].keeper_down = true;
}

/* One host's second: renew the lease if it reaches the datastore (or
 * fence once it has not for fence_ms), then say it is alive if it reaches
 * vdcd. A host with no power does neither; one whose agent is down has
 * its lease keeper renew (as agent-down) while protected VMs run there,
 * as the real one (src/agent/keeper/) does, and says nothing to vdcd. */
static void agent_second(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	if (!h->powered)
		return;
	bool keeper = !h->agent_up;
	if (keeper && !h->keeper_down && protected_running(w, hi) == 0) {
		h->keeper_down = true; /* nothing left to guard: it ends */
		ha_log(w, "keeper %s ends: no protected VM runs there\n", h->name);
	}
	if (keeper && h->keeper_down)
		return;
	if (h->storage_up) {
		h->lease_seq++;
		h->renewals[h->nrenewals++ % 8] = (struct sim_renewal){h->lease_seq, w->now_ms, keeper};
	} else {
		const struct sim_renewal *last = h->nrenewals ? &h->renewals[(h->nrenewals - 1) % 8] : NULL;
		if (!last || w->now_ms - last->at_ms >= fence_ms(w))
			fence(w, hi);
	}
	if (h->net_up && !keeper) {
		h->last_word_ms = w->now_ms;
		h->seq_at_word = h->nrenewals ? h->lease_seq : -1;
	}
}

static void ha_round(void *arg)
{
	struct sim_ha_round *r = arg;
	for (int k = 0; k < r->n; k++)
		agent_second(r->w, r->hosts[k]);
	sim_world_at(r->w, r->w->now_ms + ALIVE_MS, ha_round, r);
}

/* ---- faults ---- */

static void mark_failed(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	if (w->ha.first_failure_ms < 0)
		w->ha.first_failure_ms = w->now_ms;
	for (int k = 0; k < h->nvms; k++)
		if (w->vms[h->vms[k]].failed_from < 0)
			w->vms[h->vms[k]].failed_from = hi;
}

void sim_cut_network(struct sim_world *w, int hi)
{
	w->hosts[hi].net_up = false;
}

void sim_cut_both(struct sim_world *w, int hi)
{
	w->hosts[hi].net_up = w->hosts[hi].storage_up = false;
	mark_failed(w, hi);
}

void sim_restore(struct sim_world *w, int hi)
{
	struct sim_host *h = &w->hosts[hi];
	if (!h->powered) {
		sim_power_on(w, hi);
		return;
	}
	h->net_up = h->storage_up = true;
}

void sim_rack_power_off(struct sim_world *w, int rack)
{
	for (int i = 0; i < w->nhosts; i++)
		if (w->hosts[i].rack == rack)
			sim_power_off(w, i);
}

/* ---- the HA controller's env ---- */

static int64_t ha_now_ms(void *ctx)
{
	return ((struct sim_world *)ctx)->now_ms;
}

static int each_ha_cluster(void *ctx, int (*fn)(void *arg, const struct ctl_ha_cluster *c), void *arg)
{
	struct sim_world *w = ctx;
	if (!w->ha.on)
		return 0;
	struct ctl_ha_cluster c = {.id = "sim", .t = w->ha.t};
	return fn(arg, &c) < 0 ? -1 : 0;
}

static struct ctl_ha_host ha_host_view(struct sim_world *w, int hi)
{
	const struct sim_host *h = &w->hosts[hi];
	return (struct ctl_ha_host){.id = h->name, .name = h->name, .last_word_ms = h->last_word_ms,
	                            .seq_at_word = h->seq_at_word, .ref = (void *)(intptr_t)hi};
}

static int hi_of(const struct ctl_ha_host *h)
{
	return (int)(intptr_t)h->ref;
}

static int each_ha_host(void *ctx, const struct ctl_ha_cluster *c, int (*fn)(void *arg, const struct ctl_ha_host *h),
                        void *arg)
{
	struct sim_world *w = ctx;
	(void)c;
	for (int i = 0; i < w->nhosts; i++) {
		struct ctl_ha_host v = ha_host_view(w, i);
		if (fn(arg, &v) < 0)
			return -1;
	}
	return 0;
}

/* What peer o saw of h's lease at its last alive report: the newest
 * renewal made by then. */
static int each_lease_seen(void *ctx, const struct ctl_ha_cluster *c, const struct ctl_ha_host *hv,
                           int (*fn)(void *arg, const struct ctl_ha_lease_seen *l), void *arg)
{
	struct sim_world *w = ctx;
	(void)c;
	int hi = hi_of(hv);
	const struct sim_host *h = &w->hosts[hi];
	for (int oi = 0; oi < w->nhosts; oi++) {
		const struct sim_host *o = &w->hosts[oi];
		if (oi == hi || !o->powered || !o->agent_up || !o->storage_up)
			continue;
		const struct sim_renewal *seen = NULL;
		int from = h->nrenewals > 8 ? h->nrenewals - 8 : 0;
		for (int k = h->nrenewals - 1; k >= from; k--)
			if (h->renewals[k % 8].at_ms <= o->last_word_ms) {
				seen = &h->renewals[k % 8];
				break;
			}
		if (!seen)
			continue;
		struct ctl_ha_lease_seen l = {.peer = o->name, .peer_word_ms = o->last_word_ms,
		                              .unchanged_ms = o->last_word_ms - seen->at_ms, .seq = seen->seq,
		                              .agent_down = seen->agent_down};
		if (fn(arg, &l) < 0)
			return -1;
	}
	return 0;
}

static int each_ha_vm(void *ctx, const struct ctl_ha_host *hv, int (*fn)(void *arg, const struct ctl_ha_vm *vm),
                      void *arg)
{
	struct sim_world *w = ctx;
	struct sim_host *h = &w->hosts[hi_of(hv)];
	for (int k = 0; k < h->nvms; k++) {
		struct sim_vm *v = &w->vms[h->vms[k]];
		if (!v->in_inventory)
			continue;
		const char *after[4];
		for (int a = 0; a < v->nafter; a++)
			after[a] = v->after[a];
		struct ctl_ha_vm cv = {.id = v->name, .name = v->name, .priority = v->priority, .vcpus = v->vcpus,
		                       .memory_mib = v->memory_mib, .after = after, .nafter = v->nafter,
		                       /* An isolated host here keeps its VMs (the response
		                        * "leave"; the world has no other). */
		                       .not_eligible = strcmp(v->desired_state, "running") || v->restarting ||
		                                               hv->judged == HA_ISOLATED
		                                           ? ""
		                                           : NULL,
		                       .ref = (void *)(intptr_t)h->vms[k]};
		if (fn(arg, &cv) < 0)
			return -1;
	}
	return 0;
}

static bool ha_vm_restarting(void *ctx, const struct ctl_ha_vm *vm, const char *name)
{
	struct sim_world *w = ctx;
	(void)vm;
	int s = sim_vm_find(w, name);
	return s >= 0 && w->vms[s].restarting;
}

/* decide/ha_plan over the world's placement view: one cluster, no rules,
 * datastores or networks. */
static int ha_plan(void *ctx, const struct ctl_ha_host *h, const struct ctl_ha_vm *vms, const int *const *after,
                   const int *nafter, int n, struct ha_restart *restarts, struct ha_skip *skipped,
                   struct ha_plan *out)
{
	struct sim_world *w = ctx;
	struct ha_vm *hv = calloc((size_t)n + 1, sizeof(*hv));
	if (!hv) {
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++)
		hv[i] = (struct ha_vm){.name = vms[i].name, .host = hi_of(h), .priority = vms[i].priority,
		                       .vcpus = vms[i].vcpus, .memory_mib = vms[i].memory_mib, .datastore = -1,
		                       .cluster = 0, .after = after[i], .nafter = nafter[i]};
	struct placement_snapshot snap = {.hosts = w->phosts, .nhosts = w->nhosts, .clusters = &w->cluster,
	                                  .nclusters = 1};
	int rc = ha_plan_restarts(&snap, hv, n, restarts, skipped, out);
	free(hv);
	return rc;
}

static const char *ha_host_name(void *ctx, int to)
{
	struct sim_world *w = ctx;
	return to >= 0 && to < w->nhosts ? w->hosts[to].name : "?";
}

struct boot {
	struct sim_world *w;
	int vm, host;
};

/* A restarted VM comes up on its new host, if that host still runs. */
static void boot(void *arg)
{
	struct boot *b = arg;
	struct sim_world *w = b->w;
	struct sim_vm *v = &w->vms[b->vm];
	struct sim_host *h = &w->hosts[b->host];
	free(b);
	if (!v->live || v->host != (int)(h - w->hosts) || !v->restarting)
		return;
	v->restarting = false;
	int hi = v->host;
	if (!h->powered || !h->agent_up) {
		sim_copy(v->power_state, sizeof(v->power_state), "stopped");
		ha_log(w, "vm %s did not start on %s: the host is down\n", v->name, h->name);
		return;
	}
	if (v->running_on >= 0 && v->running_on != hi) {
		w->ha.two_copies++;
		fprintf(stderr, "vdc-sim: TWO COPIES of VM %s: on %s and %s\n", v->name, w->hosts[v->running_on].name,
		        h->name);
		if (w->log) {
			sim_log_time(w);
			fprintf(w->log, "TWO COPIES vm %s runs on %s and %s\n", v->name, w->hosts[v->running_on].name,
			        h->name);
		}
	}
	v->running_on = hi;
	v->on_agent = true;
	sim_copy(v->agent_state, sizeof(v->agent_state), "running");
	v->agent_seq = ++h->agent_seq;
	sim_copy(v->power_state, sizeof(v->power_state), "running");
	v->state_seq = v->agent_seq;
	v->in_sync = 1; /* HA's task read it back running, as desired */
	w->ha.last_running_ms = w->now_ms;
	ha_log(w, "vm %s running on %s\n", v->name, h->name);
}

static int ha_restart(void *ctx, const struct ctl_ha_vm *vm, int to, const char *reason)
{
	struct sim_world *w = ctx;
	(void)reason;
	int s = (int)(intptr_t)vm->ref;
	struct sim_vm *v = &w->vms[s];
	if (!v->live || to < 0 || to >= w->nhosts)
		return -1;
	struct boot *b = malloc(sizeof(*b));
	if (!b)
		return -1;
	/* Its old host keeps its definition (fenced or powered off): a stale
	 * copy, removed when that host answers again. */
	v->stale_on = v->host;
	sim_host_detach(w, s);
	sim_host_attach(w, to, s);
	v->restarting = true;
	v->restarts++;
	sim_copy(v->power_state, sizeof(v->power_state), "restarting");
	w->ha.restarts++;
	*b = (struct boot){w, s, to};
	sim_world_at(w, w->now_ms + w->ha.boot_ms, boot, b);
	return 0;
}

static void ha_verdict(void *ctx, const struct ctl_ha_host *hv, enum ha_host_state s, const char *reason)
{
	struct sim_world *w = ctx;
	(void)reason;
	int hi = hi_of(hv);
	w->ha.verdicts[s]++;
	if (s == HA_FAILED && w->hosts[hi].state == SIM_CONNECTED)
		sim_set_host_state(w, hi, SIM_DISCONNECTED);
	/* No restart lands on a host HA does not judge connected (in the
	 * simulator: placement keeps off it until it is). */
	if (s == HA_CONNECTED)
		sim_set_host_state(w, hi, w->hosts[hi].state);
	else
		w->phosts[hi].state = PLACEMENT_DISCONNECTED;
}

static int each_stale_copy(void *ctx, const struct ctl_ha_host *hv, int (*fn)(void *arg, const char *vm_id),
                           void *arg)
{
	struct sim_world *w = ctx;
	int hi = hi_of(hv);
	for (int i = 0; i < w->nvms; i++)
		if (w->vms[i].live && w->vms[i].stale_on == hi && fn(arg, w->vms[i].name) < 0)
			return -1;
	return 0;
}

static int remove_stale_copy(void *ctx, const struct ctl_ha_host *hv, const char *vm_id)
{
	struct sim_world *w = ctx;
	int s = sim_vm_find(w, vm_id);
	if (s < 0 || w->vms[s].stale_on != hi_of(hv))
		return -1;
	/* Never started there: had it run, its copy would show as running_on. */
	if (w->vms[s].running_on == hi_of(hv)) {
		w->ha.two_copies++;
		fprintf(stderr, "vdc-sim: TWO COPIES of VM %s: a stale copy runs on %s\n", vm_id, hv->name);
	}
	w->vms[s].stale_on = -1;
	w->ha.stale_removed++;
	return 0;
}

void sim_ha_init(struct sim_world *w)
{
	w->ha.t = (struct ha_times){.net_timeout_ms = 3000, .lease_ms = 4000, .margin_ms = 500};
	w->ha.boot_ms = 1000;
	w->ha.first_failure_ms = w->ha.last_running_ms = -1;
	w->env.now_ms = ha_now_ms;
	w->env.each_ha_cluster = each_ha_cluster;
	w->env.each_ha_host = each_ha_host;
	w->env.each_lease_seen = each_lease_seen;
	w->env.each_ha_vm = each_ha_vm;
	w->env.ha_vm_restarting = ha_vm_restarting;
	w->env.ha_plan = ha_plan;
	w->env.ha_host_name = ha_host_name;
	w->env.ha_restart = ha_restart;
	w->env.ha_verdict = ha_verdict;
	w->env.each_stale_copy = each_stale_copy;
	w->env.remove_stale_copy = remove_stale_copy;
}

void sim_ha_start(struct sim_world *w)
{
	if (!w->ha.on)
		return;
	for (int i = 0; i < w->nhosts; i++) {
		struct sim_ha_round *r = &w->ha.rounds[(int)((int64_t)i * HA_ROUNDS / w->nhosts)];
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 16;
			r->hosts = realloc(r->hosts, (size_t)r->cap * sizeof(int));
			if (!r->hosts) {
				fprintf(stderr, "vdc-sim: out of memory\n");
				exit(1);
			}
		}
		r->hosts[r->n++] = i;
	}
	for (int k = 0; k < HA_ROUNDS; k++) {
		w->ha.rounds[k].w = w;
		if (w->ha.rounds[k].n)
			sim_world_at(w, w->now_ms + (int64_t)k * ALIVE_MS / HA_ROUNDS, ha_round, &w->ha.rounds[k]);
	}
	ctl_ha_start(&w->ha.ctl, &w->env);
}

void sim_ha_free(struct sim_world *w)
{
	for (int k = 0; k < HA_ROUNDS; k++)
		free(w->ha.rounds[k].hosts);
	ctl_ha_free(&w->ha.ctl);
}

void sim_ha_summary(struct sim_world *w)
{
	if (!w->log)
		return;
	long prot = 0, back = 0, twice = 0, notback = 0, unprot = 0, left = 0;
	for (int i = 0; i < w->nvms; i++) {
		const struct sim_vm *v = &w->vms[i];
		if (!v->live || !v->in_inventory || v->failed_from < 0)
			continue;
		if (v->priority == HA_PRIO_DISABLED) {
			unprot++;
			left += v->host == v->failed_from && v->restarts == 0;
			continue;
		}
		prot++;
		bool up = v->running_on >= 0 && v->running_on != v->failed_from && w->hosts[v->running_on].powered;
		back += up && v->restarts == 1;
		twice += v->restarts > 1;
		notback += !up;
	}
	long hosts_failed = 0;
	for (int i = 0; i < w->nhosts; i++)
		hosts_failed += !w->hosts[i].powered || !w->hosts[i].storage_up;
	sim_log_time(w);
	fprintf(w->log, "summary hosts %d, down %ld; HA verdicts: silent %ld, unknown %ld, isolated %ld, fencing %ld, "
	                "failed %ld, connected again %ld\n",
	        w->nhosts, hosts_failed, w->ha.verdicts[HA_SILENT], w->ha.verdicts[HA_UNKNOWN],
	        w->ha.verdicts[HA_ISOLATED], w->ha.verdicts[HA_FENCING], w->ha.verdicts[HA_FAILED],
	        w->ha.verdicts[HA_CONNECTED]);
	sim_log_time(w);
	fprintf(w->log, "summary protected VMs on failed hosts %ld: running again on another host %ld (restarted "
	                "exactly once), restarted more than once %ld, not running %ld\n",
	        prot, back, twice, notback);
	sim_log_time(w);
	fprintf(w->log, "summary unprotected VMs on failed hosts %ld: left there %ld; restarts %ld, fenced by their "
	                "hosts %ld, stale copies removed %ld, TWO COPIES %ld\n",
	        unprot, left, w->ha.restarts, w->ha.fenced, w->ha.stale_removed, w->ha.two_copies);
	sim_log_time(w);
	if (w->ha.first_failure_ms >= 0 && w->ha.last_running_ms >= w->ha.first_failure_ms)
		fprintf(w->log, "summary first failure at %.1f s, last restarted VM running at %.1f s: recovered in "
		                "%.1f s of virtual time\n",
		        (double)w->ha.first_failure_ms / 1000.0, (double)w->ha.last_running_ms / 1000.0,
		        (double)(w->ha.last_running_ms - w->ha.first_failure_ms) / 1000.0);
	else
		fprintf(w->log, "summary no restart since the first failure\n");
}
