/* heartbeat.c - the reconcile controller: what a host's heartbeat changes.
 * Each VM document of the host is brought in line with what the agent saw
 * (decide/reconcile.c decides, stale lists included), the VMs the agent
 * runs that vdcd does not know are tracked as foreign, and the host is
 * marked alive (decide/liveness.c). */
#include "controllers.h"
#include "liveness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Beats list a few VMs; larger lists take the heap. */
#define SMALL_LIST 64

void ctl_time_text(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Past this many VMs a beat's list is searched through a sorted index,
 * not scanned for each document. */
#define SCAN_MAX 8

struct reconcile_pass {
	const struct ctl_env *env;
	const struct ctl_host *host;
	const struct ctl_beat *beat;
	bool *known;  /* [beat->nvms]: the report names one of vdcd's VMs */
	size_t *by_name; /* NULL, or the report indices ordered by (name, index) */
};

static int cmp_report(const void *a, const void *b, void *vms)
{
	const struct reconcile_report *r = vms;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(r[x].name, r[y].name);
	return c ? c : (x > y) - (x < y);
}

/* The agent's entry for name (the last one, if the list names it twice),
 * marking every entry of that name known. */
static const struct reconcile_report *find_report(struct reconcile_pass *p, const char *name)
{
	const struct reconcile_report *vms = p->beat->vms, *seen = NULL;
	size_t n = p->beat->nvms;
	if (!p->by_name) {
		for (size_t k = 0; k < n; k++)
			if (!strcmp(vms[k].name, name)) {
				seen = &vms[k];
				p->known[k] = true;
			}
		return seen;
	}
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(vms[p->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !strcmp(vms[p->by_name[lo]].name, name); lo++) {
		seen = &vms[p->by_name[lo]];
		p->known[p->by_name[lo]] = true;
	}
	return seen;
}

static int reconcile_one(void *arg, const struct ctl_vm *vm)
{
	struct reconcile_pass *p = arg;
	const struct ctl_env *env = p->env;
	const struct reconcile_report *seen = vm->view.name ? find_report(p, vm->view.name) : NULL;
	struct reconcile_decision d;
	reconcile_decide(&vm->view, seen, p->beat->beat_seq, &d);
	if (d.action == RECONCILE_KEEP)
		return 0;
	char subject[160];
	snprintf(subject, sizeof(subject), "%s/%s", p->host->name, vm->view.name ? vm->view.name : "?");
	if (d.action == RECONCILE_OBSERVE && env->vm_observe(env->ctx, vm, &d) < 0)
		return 0; /* changed meanwhile: the next beat decides again */
	env->decision(env->ctx, d.action == RECONCILE_OBSERVE ? CTL_INFO : CTL_DEBUG, "reconcile", subject,
	              reconcile_action_name(d.action), d.reason);
	return 0;
}

static void foreign_news(const struct ctl_env *env, const struct ctl_host *h,
                         const struct foreign_vm *now, size_t nnow)
{
	char detail[512], subject[160];
	for (size_t i = 0; i < nnow; i++) {
		if (!foreign_confirmed(&now[i]))
			continue;
		snprintf(detail, sizeof(detail),
		         "VM '%s' (%s) runs on host %s but is not in vdcd's inventory; vdcd leaves it alone. "
		         "Delete it through the agent's API, or make it again through vdcd",
		         now[i].name, now[i].state ? now[i].state : "?", h->name);
		snprintf(subject, sizeof(subject), "%s/%s", h->name, now[i].name);
		env->decision(env->ctx, CTL_WARN, "foreign", subject, "report",
		              "listed by the agent in two heartbeats in a row, with no document in vdcd");
		env->event(env->ctx, h->name, "host.foreign_vm", "host", h->id, NULL, detail);
	}
	for (size_t i = 0; i < h->nforeign; i++) {
		if (!foreign_gone(&h->foreign[i], now, nnow))
			continue;
		snprintf(detail, sizeof(detail), "VM '%s', not in vdcd's inventory, is gone from host %s",
		         h->foreign[i].name, h->name);
		snprintf(subject, sizeof(subject), "%s/%s", h->name, h->foreign[i].name);
		env->decision(env->ctx, CTL_INFO, "foreign", subject, "gone",
		              "a foreign VM reported before is no longer listed");
		env->event(env->ctx, h->name, "host.foreign_vm_gone", "host", h->id, NULL, detail);
	}
}

int ctl_heartbeat(const struct ctl_env *env, const struct ctl_host *h, const struct ctl_beat *b)
{
	int64_t now = env->now(env->ctx);
	char now_text[32] = ""; /* first_seen of new foreign VMs: made when there are some */
	struct liveness_beat lb;
	liveness_on_beat(h->state, h->maintenance, &lb);

	bool small_known[SMALL_LIST] = {false};
	struct reconcile_report small_unknown[SMALL_LIST];
	struct foreign_vm small_foreign[SMALL_LIST];
	bool *known = small_known;
	struct reconcile_report *unknown = small_unknown;
	struct foreign_vm *foreign = small_foreign;
	size_t nforeign = 0;
	if (b->has_vms && b->nvms > SMALL_LIST) {
		known = calloc(b->nvms, sizeof(*known));
		unknown = calloc(b->nvms, sizeof(*unknown));
		foreign = calloc(b->nvms, sizeof(*foreign));
		if (!known || !unknown || !foreign) {
			free(known);
			free(unknown);
			free(foreign);
			env->decision(env->ctx, CTL_WARN, "reconcile", h->name, "skip",
			              "out of memory for the heartbeat's VM list");
			known = NULL;
		}
	}
	bool reconciled = b->has_vms && known;
	if (reconciled) {
		struct reconcile_pass p = {env, h, b, known, NULL};
		size_t small_order[SMALL_LIST];
		if (b->nvms > SCAN_MAX) {
			p.by_name = b->nvms <= SMALL_LIST ? small_order : calloc(b->nvms, sizeof(size_t));
			for (size_t k = 0; p.by_name && k < b->nvms; k++)
				p.by_name[k] = k;
			if (p.by_name)
				qsort_r(p.by_name, b->nvms, sizeof(size_t), cmp_report, (void *)b->vms);
		}
		env->each_vm_on_host(env->ctx, h, reconcile_one, &p);
		if (p.by_name != small_order)
			free(p.by_name);
		/* A VM a migration brings here, or took away, is the
		 * migration's: never foreign. */
		for (size_t k = 0; k < b->nvms; k++)
			if (!known[k] && !reconcile_in_migration(b->vms[k].state))
				unknown[nforeign++] = b->vms[k];
		if (nforeign)
			ctl_time_text(now, now_text);
		foreign_track(unknown, nforeign, h->foreign, h->nforeign, now_text, foreign);
	}
	struct ctl_host_write w = {.state = lb.state, .heartbeat_at = now, .facts = b->facts,
	                           .has_foreign = reconciled, .foreign = foreign, .nforeign = nforeign,
	                           .foreign_confirmed = reconciled ? foreign_count_confirmed(foreign, nforeign) : 0};
	int rc = env->host_beat(env->ctx, h, &w);
	if (rc == 0) {
		if (reconciled)
			foreign_news(env, h, foreign, nforeign);
		if (lb.reconnect) {
			env->decision(env->ctx, CTL_INFO, "liveness", h->name, "reconnect", lb.reason);
			env->event(env->ctx, h->name, "host.reconnect", "host", h->id, "succeeded", NULL);
		}
	}
	if (known && known != small_known) {
		free(known);
		free(unknown);
		free(foreign);
	}
	return rc;
}
