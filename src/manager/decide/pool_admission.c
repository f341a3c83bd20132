/* pool_admission.c - resource pools' reservations (pool_admission.h).
 * What a child takes from its parent: its reservation, or what is reserved
 * under it when it borrowed beyond that (expandable). Trees are small (a
 * cluster's pools), so sums are walked again at every question. */
#include "pool_admission.h"

#include <stdio.h>
#include <string.h>

const char *pool_res_name(enum pool_res r) { return r == POOL_CPU ? "CPU" : "memory"; }

/* "1024 MiB", "250% CPU" (percent of one CPU). */
static void amount(char *out, size_t n, enum pool_res r, int64_t v)
{
	if (r == POOL_MEM)
		snprintf(out, n, "%lld MiB", (long long)v);
	else
		snprintf(out, n, "%lld%% CPU", (long long)v);
}

static int64_t charge(const struct pool_node *nodes, int n, int i, enum pool_res r, int depth);

static int64_t reserved_at(const struct pool_node *nodes, int n, int i, enum pool_res r, int depth)
{
	int64_t sum = nodes[i].vms_reserved[r];
	if (depth > n) /* a cycle: pool_tree_valid says so; no endless walk */
		return sum;
	for (int c = 0; c < n; c++)
		if (c != i && nodes[c].parent == i)
			sum += charge(nodes, n, c, r, depth + 1);
	return sum;
}

static int64_t charge(const struct pool_node *nodes, int n, int i, enum pool_res r, int depth)
{
	int64_t under = reserved_at(nodes, n, i, r, depth);
	return under > nodes[i].reservation[r] ? under : nodes[i].reservation[r];
}

int64_t pool_reserved(const struct pool_node *nodes, int n, int i, enum pool_res r)
{
	return reserved_at(nodes, n, i, r, 0);
}

static bool refuse(struct pool_verdict *v, int i, enum pool_res r)
{
	v->ok = false;
	v->pool = i;
	v->res = r;
	return false;
}

/* Whether x more of r can be reserved under pool i; else v says why. */
static bool fits(const struct pool_node *nodes, int n, int i, enum pool_res r, int64_t x, int depth,
                 struct pool_verdict *v)
{
	if (x <= 0)
		return true;
	const struct pool_node *p = &nodes[i];
	int64_t res = pool_reserved(nodes, n, i, r);
	char want[40], have[40], cap[40];
	amount(want, sizeof(want), r, x);
	amount(have, sizeof(have), r, res);
	if (p->limit[r] != POOL_NO_LIMIT && res + x > p->limit[r]) {
		amount(cap, sizeof(cap), r, p->limit[r]);
		snprintf(v->reason, sizeof(v->reason),
		         "pool '%s' cannot reserve %s more: %s are reserved under it and its limit is %s; raise its "
		         "limit, or stop a VM in it", p->name, want, have, cap);
		return refuse(v, i, r);
	}
	int64_t free = p->reservation[r] - res;
	if (free >= x)
		return true;
	amount(cap, sizeof(cap), r, p->reservation[r]);
	if (p->parent < 0) {
		snprintf(v->reason, sizeof(v->reason),
		         "cluster '%s' cannot reserve %s more: %s of its %s capacity are reserved (by its pools and "
		         "running VMs); add a host, or stop a VM", p->name, want, have, cap);
		return refuse(v, i, r);
	}
	if (!p->expandable || depth > n) {
		snprintf(v->reason, sizeof(v->reason),
		         "pool '%s' cannot reserve %s more: %s of its %s reservation are reserved (by its running VMs "
		         "and child pools) and it is not expandable; raise its reservation, make it expandable, or stop "
		         "a VM in it", p->name, want, have, cap);
		return refuse(v, i, r);
	}
	/* Expandable: what goes beyond its reservation comes from its parent. */
	int64_t over_now = res > p->reservation[r] ? res - p->reservation[r] : 0;
	int64_t borrow = res + x - p->reservation[r] - over_now;
	if (fits(nodes, n, p->parent, r, borrow, depth + 1, v))
		return true;
	char lent[40], inner[POOL_REASON_MAX];
	amount(lent, sizeof(lent), r, borrow);
	snprintf(inner, sizeof(inner), "%s", v->reason);
	snprintf(v->reason, sizeof(v->reason), "pool '%s' (expandable) would borrow %s from '%s', which cannot give it: %s",
	         p->name, lent, nodes[p->parent].name, inner);
	return false;
}

bool pool_admit(struct pool_node *nodes, int n, int i, const int64_t need[POOL_NRES], struct pool_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->pool = i;
	if (i < 0 || i >= n) {
		snprintf(v->reason, sizeof(v->reason), "no such pool (#%d of %d)", i, n);
		return false;
	}
	for (int r = 0; r < POOL_NRES; r++)
		if (!fits(nodes, n, i, (enum pool_res)r, need[r], 0, v))
			return false;
	for (int r = 0; r < POOL_NRES; r++)
		nodes[i].vms_reserved[r] += need[r] > 0 ? need[r] : 0;
	v->ok = true;
	return true;
}

bool pool_tree_valid(const struct pool_node *nodes, int n, struct pool_verdict *v)
{
	memset(v, 0, sizeof(*v));
	int roots = 0;
	for (int i = 0; i < n; i++) {
		const struct pool_node *p = &nodes[i];
		roots += p->parent < 0;
		if (p->parent >= n || p->parent == i) {
			snprintf(v->reason, sizeof(v->reason), "pool '%s' names no pool of this cluster as its parent", p->name);
			return refuse(v, i, POOL_CPU);
		}
		/* Up the tree to the root in fewer steps than there are pools. */
		int at = p->parent, steps = 0;
		while (at >= 0 && steps <= n) {
			at = nodes[at].parent;
			steps++;
		}
		if (at >= 0) {
			snprintf(v->reason, sizeof(v->reason), "pool '%s' is its own ancestor: pools form a tree", p->name);
			return refuse(v, i, POOL_CPU);
		}
		for (int r = 0; r < POOL_NRES; r++) {
			char a[40], b[40];
			if (p->reservation[r] < 0) {
				snprintf(v->reason, sizeof(v->reason), "pool '%s': a %s reservation cannot be negative", p->name,
				         pool_res_name((enum pool_res)r));
				return refuse(v, i, (enum pool_res)r);
			}
			if (p->limit[r] != POOL_NO_LIMIT && p->limit[r] < p->reservation[r]) {
				amount(a, sizeof(a), (enum pool_res)r, p->limit[r]);
				amount(b, sizeof(b), (enum pool_res)r, p->reservation[r]);
				snprintf(v->reason, sizeof(v->reason), "pool '%s': its limit %s is below its reservation %s",
				         p->name, a, b);
				return refuse(v, i, (enum pool_res)r);
			}
		}
	}
	if (roots != 1) {
		snprintf(v->reason, sizeof(v->reason), "a cluster has one root pool, not %d", roots);
		return refuse(v, 0, POOL_CPU);
	}
	/* Every pool holds what is reserved under it: within its reservation,
	 * or beyond it when expandable (the excess then counts in its parent,
	 * which this same check covers); within its limit always. */
	for (int i = 0; i < n; i++) {
		const struct pool_node *p = &nodes[i];
		for (int r = 0; r < POOL_NRES; r++) {
			int64_t under = pool_reserved(nodes, n, i, (enum pool_res)r);
			char a[40], b[40];
			amount(a, sizeof(a), (enum pool_res)r, under);
			if (p->limit[r] != POOL_NO_LIMIT && under > p->limit[r]) {
				amount(b, sizeof(b), (enum pool_res)r, p->limit[r]);
				snprintf(v->reason, sizeof(v->reason), "pool '%s': %s are reserved under it, over its limit %s",
				         p->name, a, b);
				return refuse(v, i, (enum pool_res)r);
			}
			if (under > p->reservation[r] && (p->parent < 0 || !p->expandable)) {
				amount(b, sizeof(b), (enum pool_res)r, p->reservation[r]);
				snprintf(v->reason, sizeof(v->reason),
				         "pool '%s': %s are reserved under it (its running VMs and child pools), over its "
				         "reservation %s%s", p->name, a, b,
				         p->parent < 0 ? " (the cluster's capacity)" : ", and it is not expandable");
				return refuse(v, i, (enum pool_res)r);
			}
		}
	}
	v->ok = true;
	return true;
}

bool pool_host_fits(const char *host, const int64_t cap[POOL_NRES], const int64_t reserved[POOL_NRES],
                    const int64_t need[POOL_NRES], struct pool_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->pool = -1;
	for (int r = 0; r < POOL_NRES; r++) {
		if (need[r] <= 0 || reserved[r] + need[r] <= cap[r])
			continue;
		char want[40], have[40], all[40];
		amount(want, sizeof(want), (enum pool_res)r, need[r]);
		amount(have, sizeof(have), (enum pool_res)r, reserved[r]);
		amount(all, sizeof(all), (enum pool_res)r, cap[r]);
		snprintf(v->reason, sizeof(v->reason),
		         "host '%s' cannot reserve %s more: its running VMs reserve %s of its %s; choose another host, "
		         "or lower a VM's reservation", host, want, have, all);
		v->res = (enum pool_res)r;
		return false;
	}
	v->ok = true;
	return true;
}

bool pool_vm_holds(const char *power_state, const char *desired_state)
{
	static const char *const on[] = {"running", "paused", "migrating"};
	for (int i = 0; i < 3; i++)
		if ((power_state && !strcmp(power_state, on[i])) || (desired_state && !strcmp(desired_state, on[i])))
			return true;
	return false;
}
