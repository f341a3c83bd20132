/* evacuate_plan.c - a host's VMs placed elsewhere, largest first, each as if
 * those before it had moved (evacuate_plan.h). */
#include "evacuate_plan.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether VM a is planned before VM b: more memory first, then more
 * vCPUs, then as given. */
static bool before(const struct evacuate_vm *vms, int a, int b)
{
	if (vms[a].memory_mib != vms[b].memory_mib)
		return vms[a].memory_mib > vms[b].memory_mib;
	if (vms[a].vcpus != vms[b].vcpus)
		return vms[a].vcpus > vms[b].vcpus;
	return a < b;
}

static int fail(struct evacuate_plan *out, const char *why)
{
	snprintf(out->reason, sizeof(out->reason), "cannot plan the evacuation: %s", why);
	return -1;
}

int evacuate_plan(const struct placement_snapshot *s, int host, const struct evacuate_vm *vms, int nvms,
                  struct evacuate_move *moves, struct evacuate_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->stuck = -1;
	if (!s || nvms < 0 || (nvms > 0 && (!vms || !moves)))
		return fail(out, "an argument is missing");
	if (host < 0 || host >= s->nhosts)
		return fail(out, "no such host");
	const char *hname = s->hosts[host].name ? s->hosts[host].name : "the host";
	if (nvms == 0) {
		snprintf(out->reason, sizeof(out->reason), "%s runs no VM: nothing to move", hname);
		return 0;
	}
	int rc = -1;
	struct placement_host *hosts = malloc(sizeof(*hosts) * (size_t)s->nhosts);
	struct placement_rule *rules = s->nrules ? calloc((size_t)s->nrules, sizeof(*rules)) : NULL;
	struct placement_member **members = s->nrules ? calloc((size_t)s->nrules, sizeof(*members)) : NULL;
	int *order = malloc(sizeof(*order) * (size_t)nvms);
	struct placement_result r = {0};
	if (!hosts || (s->nrules && (!rules || !members)) || !order || placement_result_init(&r, s->nhosts) < 0) {
		fail(out, "out of memory");
		goto done;
	}
	memcpy(hosts, s->hosts, sizeof(*hosts) * (size_t)s->nhosts);
	hosts[host].state = PLACEMENT_MAINTENANCE;
	/* The rules as the plan goes: a member on the host being emptied is
	 * not placed yet (it moves as well). */
	for (int i = 0; i < s->nrules; i++) {
		rules[i] = s->rules[i];
		if (rules[i].nmembers <= 0)
			continue;
		members[i] = malloc(sizeof(**members) * (size_t)rules[i].nmembers);
		if (!members[i]) {
			fail(out, "out of memory");
			goto done;
		}
		for (int m = 0; m < rules[i].nmembers; m++) {
			members[i][m] = s->rules[i].members[m];
			if (members[i][m].host == host)
				members[i][m].host = -1;
		}
		rules[i].members = members[i];
	}
	struct placement_snapshot plan = *s;
	plan.hosts = hosts;
	plan.rules = rules;
	/* A host runs tens of VMs, hundreds at most: an insertion sort. */
	for (int i = 0; i < nvms; i++) {
		int j = i;
		for (; j > 0 && before(vms, i, order[j - 1]); j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (int k = 0; k < nvms; k++) {
		const struct evacuate_vm *v = &vms[order[k]];
		struct placement_request q = {.vm = v->name, .vcpus = v->vcpus, .memory_mib = v->memory_mib,
		                              .reserve_cpu_pct = v->reserve_cpu_pct,
		                              .reserve_memory_mib = v->reserve_memory_mib, .datastore = v->datastore, .networks = v->networks,
		                              .cluster = s->hosts[host].cluster, .rules = v->rules,
		                              .nrules = v->nrules};
		int prc = placement_choose_best(&plan, &q, &r);
		if (prc < 0) {
			snprintf(out->reason, sizeof(out->reason), "cannot plan the evacuation of %s: VM '%s': %s", hname,
			         v->name ? v->name : "?", placement_strerror(prc));
			goto done;
		}
		if (r.host < 0) {
			char why[320];
			placement_format_summary(&plan, &q, &r, why, sizeof(why));
			static const char none[] = "no host fits: ";
			const char *counts = strncmp(why, none, sizeof(none) - 1) ? why : why + sizeof(none) - 1;
			out->stuck = order[k];
			snprintf(out->reason, sizeof(out->reason),
			         "%s cannot be emptied: VM '%s' (%d vCPU%s, %lld MiB) fits on no other host of its "
			         "cluster (%s)%s",
			         hname, v->name ? v->name : "?", v->vcpus, v->vcpus == 1 ? "" : "s",
			         (long long)v->memory_mib, counts,
			         k ? ", counting the VMs planned before it where they would go" : "");
			rc = 0;
			goto done;
		}
		struct evacuate_move *mv = &moves[out->nmoves++];
		mv->vm = order[k];
		mv->host = r.host;
		placement_format_verdict(&plan, &q, &r, r.host, mv->reason, sizeof(mv->reason));
		hosts[r.host].alloc_vcpus += v->vcpus;
		hosts[r.host].alloc_memory_mib += v->memory_mib;
		hosts[r.host].reserved_cpu_pct += v->reserve_cpu_pct;
		hosts[r.host].reserved_memory_mib += v->reserve_memory_mib;
		for (int j = 0; j < v->nrules; j++) {
			int ri = v->rules[j];
			if (ri < 0 || ri >= s->nrules)
				continue;
			for (int m = 0; m < rules[ri].nmembers; m++)
				if (v->name && members[ri][m].vm && !strcmp(members[ri][m].vm, v->name))
					members[ri][m].host = r.host;
		}
	}
	int used = 0;
	for (int i = 0; i < s->nhosts; i++)
		for (int m = 0; m < out->nmoves; m++)
			if (moves[m].host == i) {
				used++;
				break;
			}
	snprintf(out->reason, sizeof(out->reason), "%d VM%s of %s go%s to %d other host%s", out->nmoves,
	         out->nmoves == 1 ? "" : "s", hname, out->nmoves == 1 ? "es" : "", used, used == 1 ? "" : "s");
	rc = 0;
done:
	placement_result_free(&r);
	for (int i = 0; members && i < s->nrules; i++)
		free(members[i]);
	free(members);
	free(rules);
	free(order);
	free(hosts);
	return rc;
}
