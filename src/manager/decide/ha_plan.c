/* ha_plan.c - restarts of failed hosts' VMs (ha_plan.h): the start order
 * first (cycles found, priorities raised along dependencies, then a
 * topological order by priority and size), then each VM placed in its
 * cluster as if the restarts before it had happened. */
#include "ha_plan.h"

#include "text_put.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What is known of a VM as the plan goes. */
enum { ST_ACTIVE, ST_DISABLED, ST_CYCLE, ST_NO_HOST, ST_RESTARTED };

/* In a cluster of this many hosts or more, placement's rankings of the
 * last few VM shapes are kept while at most so many of its hosts, and so
 * many restarts, changed since each (see choose). */
#define RANKING_MIN_HOSTS 256
#define RANKINGS 8
#define RANKING_MAX_HOSTS_CHANGED 32
#define RANKING_MAX_RESTARTS 1024

/* How many VM names a sentence lists before "and N more". */
#define NAMES_SHOWN 3
#define CYCLE_SHOWN 6

const char *ha_priority_name(enum ha_priority p)
{
	static const char *const names[] = {"disabled", "low", "medium", "high"};
	return (unsigned)p <= HA_PRIO_HIGH ? names[p] : "unknown";
}

const char *ha_skip_name(enum ha_skip_why w)
{
	static const char *const names[] = {"disabled", "no_host", "cycle"};
	return (unsigned)w <= HA_SKIP_CYCLE ? names[w] : "unknown";
}

/* A sentence written piece by piece into a bounded buffer: cut, never
 * overrun, always terminated. */

/* Placement's full answer to one request without rules, on one view:
 * every host's verdict and the eligible hosts best first. */
struct ranking {
	bool valid;
	struct placement_request q;
	int off, n;   /* the view: positions off .. off + n - 1 */
	int epoch;    /* restarts planned when it was made */
	int used;     /* when it last served, for replacing the least recently used */
	struct placement_result r;
};

/* The plan's working state. Hosts are held grouped by cluster ("positions"),
 * so that a VM is placed on a view of its own cluster's hosts alone. */
struct work {
	const struct placement_snapshot *s;
	const struct ha_vm *vms;
	int n;
	/* Hosts, counting the restarts planned so far, in cluster order. */
	struct placement_host *hosts;
	int *perm;            /* position -> index in s->hosts */
	int *pos;             /* index in s->hosts -> position */
	int *coff;            /* cluster c holds positions coff[c] .. coff[c + 1] - 1 */
	unsigned char *hmark; /* per host index: FAILED, USED */
	/* The rules' members, their hosts as positions (-1: not running). */
	struct placement_member **members;
	struct placement_member *vmembers; /* the members of one VM's rules, mapped to its view */
	/* Per VM. */
	int *st, *eprio, *raiser, *wave, *indeg, *order, *heap, *seen;
	int *roff, *rlist; /* who starts after VM d: rlist[roff[d] .. roff[d + 1]) */
	int *tidx, *low, *stk, *fv, *fe, *topo, *comp, *csize, *cnext, *cstart, *clen;
	int ntopo;
	/* Restarts planned so far, and on which position each went. */
	int epoch;
	int *log;
	int *hstamp; /* per position: hstamp_now when changed since the ranking in use, + 1 once re-asked */
	int hstamp_now;
	int nrank; /* 0, or RANKINGS when a cluster is large enough to use them */
	struct ranking rank[RANKINGS];
	struct placement_result one; /* a single host's verdict */
};

enum { FAILED = 1, USED = 2 };

static int fail(struct ha_plan *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ha_plan *out, const char *fmt, ...)
{
	struct text t = {out->reason, sizeof(out->reason), 0};
	text_put(&t, "cannot plan the restarts: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason + t.at, sizeof(out->reason) - t.at, fmt, ap);
	va_end(ap);
	out->nrestarts = out->nskipped = out->nwaves = 0;
	return -1;
}

static const char *vm_name(const struct work *w, int v)
{
	return w->vms[v].name ? w->vms[v].name : "?";
}

static void put_cluster(struct text *t, const struct placement_snapshot *s, int c)
{
	if (s->clusters[c].name)
		text_put(t, "%s", s->clusters[c].name);
	else
		text_put(t, "cluster %d", c);
}

/* Checks what the plan itself indexes with; placement checks the rest
 * (sizes, datastores, rule types) as it places. 0, or -1 with the reason. */
static int validate(const struct placement_snapshot *s, const struct ha_vm *vms, int nvms, struct ha_plan *out,
                    size_t *nedges, size_t *max_vm_members)
{
	if (s->nhosts < 1 || !s->hosts || s->nclusters < 1 || !s->clusters || s->nrules < 0 ||
	    (s->nrules > 0 && !s->rules))
		return fail(out, "the snapshot needs hosts and clusters");
	for (int h = 0; h < s->nhosts; h++)
		if (s->hosts[h].cluster < 0 || s->hosts[h].cluster >= s->nclusters)
			return fail(out, "host #%d names no cluster of the snapshot", h);
	for (int ri = 0; ri < s->nrules; ri++) {
		const struct placement_rule *ru = &s->rules[ri];
		if (ru->nmembers < 0 || (ru->nmembers > 0 && !ru->members))
			return fail(out, "rule #%d has no members array", ri);
		for (int m = 0; m < ru->nmembers; m++)
			if (ru->members[m].host < -1 || ru->members[m].host >= s->nhosts)
				return fail(out, "rule #%d places a member on an unknown host", ri);
	}
	*nedges = 0;
	*max_vm_members = 0;
	for (int v = 0; v < nvms; v++) {
		const struct ha_vm *vm = &vms[v];
		const char *name = vm->name ? vm->name : "?";
		if (vm->host < 0 || vm->host >= s->nhosts)
			return fail(out, "VM '%s' ran on no host of the snapshot", name);
		if (s->hosts[vm->host].state != PLACEMENT_DISCONNECTED)
			return fail(out, "VM '%s' ran on host #%d, which is not disconnected: only a failed (fenced) "
			            "host's VMs are restarted", name, vm->host);
		if ((unsigned)vm->priority > HA_PRIO_HIGH)
			return fail(out, "VM '%s' has an unknown restart priority", name);
		if (vm->cluster < 0 || vm->cluster >= s->nclusters)
			return fail(out, "VM '%s' names no cluster of the snapshot", name);
		if (vm->nrules < 0 || vm->nrules > PLACEMENT_MAX_VM_RULES || (vm->nrules > 0 && !vm->rules))
			return fail(out, "VM '%s' names more than %d rules, or its list is missing", name,
			            PLACEMENT_MAX_VM_RULES);
		size_t members = 0;
		for (int k = 0; k < vm->nrules; k++) {
			if (vm->rules[k] < 0 || vm->rules[k] >= s->nrules)
				return fail(out, "VM '%s' names rule #%d, which the snapshot has not", name, vm->rules[k]);
			members += (size_t)s->rules[vm->rules[k]].nmembers;
		}
		if (members > *max_vm_members)
			*max_vm_members = members;
		if (vm->nafter < 0 || vm->nafter > HA_PLAN_MAX_AFTER || (vm->nafter > 0 && !vm->after))
			return fail(out, "VM '%s' starts after more than %d VMs, or its list is missing", name,
			            HA_PLAN_MAX_AFTER);
		for (int k = 0; k < vm->nafter; k++)
			if (vm->after[k] < 0 || vm->after[k] >= nvms)
				return fail(out, "VM '%s' starts after VM #%d, which is not in the plan", name, vm->after[k]);
		*nedges += (size_t)vm->nafter;
	}
	if (*nedges > HA_PLAN_MAX_DEPENDENCIES)
		return fail(out, "%zu start-after links, more than %d in one plan", *nedges, HA_PLAN_MAX_DEPENDENCIES);
	return 0;
}

/* The hosts grouped by cluster, keeping their order within it (so ties go
 * to the same host as on the whole snapshot), and the rules' members as
 * positions; a member on a failed host is not running. */
static void copy_snapshot(struct work *w, struct placement_member *mblock)
{
	const struct placement_snapshot *s = w->s;
	for (int c = 0; c <= s->nclusters; c++)
		w->coff[c] = 0;
	for (int h = 0; h < s->nhosts; h++)
		w->coff[s->hosts[h].cluster + 1]++;
	for (int c = 0; c < s->nclusters; c++)
		w->coff[c + 1] += w->coff[c];
	/* coff[c] serves as cluster c's cursor, ending at c + 1's start. */
	for (int h = 0; h < s->nhosts; h++)
		w->perm[w->coff[s->hosts[h].cluster]++] = h;
	for (int c = s->nclusters; c > 0; c--)
		w->coff[c] = w->coff[c - 1];
	w->coff[0] = 0;
	for (int p = 0; p < s->nhosts; p++) {
		w->pos[w->perm[p]] = p;
		w->hosts[p] = s->hosts[w->perm[p]];
	}
	for (int v = 0; v < w->n; v++)
		w->hmark[w->vms[v].host] |= FAILED;
	for (int ri = 0; ri < s->nrules; ri++) {
		w->members[ri] = mblock;
		for (int m = 0; m < s->rules[ri].nmembers; m++) {
			mblock[m] = s->rules[ri].members[m];
			int h = mblock[m].host;
			mblock[m].host = h < 0 || (w->hmark[h] & FAILED) ? -1 : w->pos[h];
		}
		mblock += s->rules[ri].nmembers;
	}
}

/* Tarjan's strongly connected components over the "starts after" links
 * of the VMs still active, without recursion (100,000 VMs deep would
 * overflow the stack). A component is emitted after every component it
 * starts after, so topo[] lists the VMs dependencies first. */
static void find_components(struct work *w)
{
	int counter = 0;
	w->ntopo = 0;
	for (int v = 0; v < w->n; v++)
		w->tidx[v] = w->comp[v] = -1;
	for (int r = 0; r < w->n; r++) {
		if (w->st[r] != ST_ACTIVE || w->tidx[r] >= 0)
			continue;
		int fp = 0, sp = 0;
		w->tidx[r] = w->low[r] = counter++;
		w->stk[sp++] = r;
		w->fv[fp] = r;
		w->fe[fp++] = 0;
		while (fp > 0) {
			int v = w->fv[fp - 1];
			if (w->fe[fp - 1] < w->vms[v].nafter) {
				int d = w->vms[v].after[w->fe[fp - 1]++];
				if (w->st[d] != ST_ACTIVE)
					continue;
				if (w->tidx[d] < 0) {
					w->tidx[d] = w->low[d] = counter++;
					w->stk[sp++] = d;
					w->fv[fp] = d;
					w->fe[fp++] = 0;
				} else if (w->comp[d] < 0 && w->tidx[d] < w->low[v]) { /* d is on the stack */
					w->low[v] = w->tidx[d];
				}
				continue;
			}
			fp--;
			if (fp > 0 && w->low[v] < w->low[w->fv[fp - 1]])
				w->low[w->fv[fp - 1]] = w->low[v];
			if (w->low[v] != w->tidx[v])
				continue;
			int x, size = 0;
			do {
				x = w->stk[--sp];
				w->comp[x] = v;
				w->topo[w->ntopo++] = x;
				size++;
			} while (x != v);
			w->csize[v] = size;
		}
	}
}

static bool starts_after_itself(const struct ha_vm *vm, int v)
{
	for (int k = 0; k < vm->nafter; k++)
		if (vm->after[k] == v)
			return true;
	return false;
}

/* Marks the VMs of circular components, and names one cycle in each: from
 * its root, follow links inside the component until a VM repeats. cnext
 * is then the next VM on that cycle (-1 off it). O(VMs + links). */
static void mark_cycles(struct work *w)
{
	for (int i = 0; i < w->ntopo; i++) {
		int v = w->topo[i];
		w->cnext[v] = -1;
		w->low[v] = -1; /* reused: the step at which the walk met v */
		if (w->csize[w->comp[v]] > 1 || starts_after_itself(&w->vms[v], v))
			w->st[v] = ST_CYCLE;
	}
	for (int i = 0; i < w->ntopo; i++) {
		int root = w->topo[i];
		if (w->st[root] != ST_CYCLE || w->comp[root] != root)
			continue;
		int len = 0, cur = root;
		while (w->low[cur] < 0) {
			w->low[cur] = len;
			w->stk[len++] = cur; /* reused: the walk */
			const struct ha_vm *vm = &w->vms[cur];
			int next = -1;
			for (int k = 0; k < vm->nafter && next < 0; k++)
				if (w->st[vm->after[k]] == ST_CYCLE && w->comp[vm->after[k]] == root)
					next = vm->after[k];
			cur = next; /* every VM of a circular component starts after one in it */
		}
		int from = w->low[cur];
		for (int k = from; k < len; k++)
			w->cnext[w->stk[k]] = k + 1 < len ? w->stk[k + 1] : w->stk[from];
		w->cstart[root] = w->stk[from];
		w->clen[root] = len - from;
	}
}

/* A VM that a higher-priority VM starts after is planned at that
 * priority. Dependents come before their dependencies in reverse topo
 * order, so each VM's priority is final before it is passed on. */
static void raise_priorities(struct work *w)
{
	for (int v = 0; v < w->n; v++) {
		w->eprio[v] = (int)w->vms[v].priority;
		w->raiser[v] = -1;
	}
	for (int i = w->ntopo - 1; i >= 0; i--) {
		int v = w->topo[i];
		if (w->st[v] != ST_ACTIVE)
			continue;
		for (int k = 0; k < w->vms[v].nafter; k++) {
			int d = w->vms[v].after[k];
			if (w->st[d] == ST_ACTIVE && w->eprio[v] > w->eprio[d]) {
				w->eprio[d] = w->eprio[v];
				w->raiser[d] = v;
			}
		}
	}
}

/* Whether VM a is planned before VM b once both are free to go: higher
 * priority, then more memory, then more vCPUs, then as given. */
static bool before(const struct work *w, int a, int b)
{
	if (w->eprio[a] != w->eprio[b])
		return w->eprio[a] > w->eprio[b];
	const struct ha_vm *x = &w->vms[a], *y = &w->vms[b];
	if (x->memory_mib != y->memory_mib)
		return x->memory_mib > y->memory_mib;
	if (x->vcpus != y->vcpus)
		return x->vcpus > y->vcpus;
	return a < b;
}

static void heap_push(struct work *w, int *nheap, int v)
{
	int i = (*nheap)++;
	for (; i > 0 && before(w, v, w->heap[(i - 1) / 2]); i = (i - 1) / 2)
		w->heap[i] = w->heap[(i - 1) / 2];
	w->heap[i] = v;
}

static int heap_pop(struct work *w, int *nheap)
{
	int top = w->heap[0], last = w->heap[--(*nheap)], i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= *nheap)
			break;
		if (c + 1 < *nheap && before(w, w->heap[c + 1], w->heap[c]))
			c++;
		if (!before(w, w->heap[c], last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (*nheap > 0)
		w->heap[i] = last;
	return top;
}

/* Kahn's order over the active VMs (a DAG once cycles are out), always
 * taking the best of those whose dependencies are planned. Since a VM's
 * dependencies carry at least its priority, the order runs high to low.
 * Returns how many VMs it ordered. */
static int order_active(struct work *w)
{
	int n = w->n;
	for (int v = 0; v <= n; v++)
		w->roff[v] = 0;
	for (int v = 0; v < n; v++) {
		w->indeg[v] = 0;
		if (w->st[v] != ST_ACTIVE)
			continue;
		for (int k = 0; k < w->vms[v].nafter; k++) {
			int d = w->vms[v].after[k];
			if (w->st[d] == ST_ACTIVE) {
				w->indeg[v]++;
				w->roff[d + 1]++;
			}
		}
	}
	for (int v = 0; v < n; v++)
		w->roff[v + 1] += w->roff[v];
	for (int v = 0; v < n; v++)
		w->seen[v] = w->roff[v]; /* fill cursors */
	for (int v = 0; v < n; v++) {
		if (w->st[v] != ST_ACTIVE)
			continue;
		for (int k = 0; k < w->vms[v].nafter; k++) {
			int d = w->vms[v].after[k];
			if (w->st[d] == ST_ACTIVE)
				w->rlist[w->seen[d]++] = v;
		}
	}
	int nheap = 0, nordered = 0;
	for (int v = 0; v < n; v++)
		if (w->st[v] == ST_ACTIVE && w->indeg[v] == 0)
			heap_push(w, &nheap, v);
	while (nheap > 0) {
		int v = heap_pop(w, &nheap);
		w->order[nordered++] = v;
		for (int k = w->roff[v]; k < w->roff[v + 1]; k++)
			if (--w->indeg[w->rlist[k]] == 0)
				heap_push(w, &nheap, w->rlist[k]);
	}
	return nordered;
}

static const char *not_restarted_why(int st)
{
	return st == ST_DISABLED ? "priority disabled" : st == ST_CYCLE ? "in a start-order cycle" : "no host fits";
}

/* "a starts after b, which starts after a", from v along the named cycle. */
static void put_cycle(struct text *t, const struct work *w, int v, int len)
{
	text_put(t, "%s", vm_name(w, v));
	int cur = v;
	for (int k = 0; k < len && k < CYCLE_SHOWN; k++) {
		cur = w->cnext[cur];
		text_put(t, "%s%s", k ? ", which starts after " : " starts after ", vm_name(w, cur));
	}
	if (len > CYCLE_SHOWN)
		text_put(t, ", ... (%d VMs in all)", len);
}

static void skip(struct ha_skip *skipped, struct ha_plan *out, int v, enum ha_skip_why why, struct text *t)
{
	struct ha_skip *sk = &skipped[out->nskipped++];
	sk->vm = v;
	sk->why = why;
	t->buf = sk->reason;
	t->len = sizeof(sk->reason);
	t->at = 0;
	sk->reason[0] = '\0';
}

static void skip_up_front(struct work *w, struct ha_skip *skipped, struct ha_plan *out)
{
	struct text t;
	for (int v = 0; v < w->n; v++) {
		if (w->st[v] == ST_DISABLED) {
			skip(skipped, out, v, HA_SKIP_DISABLED, &t);
			text_put(&t, "restart priority disabled: HA leaves it stopped");
		} else if (w->st[v] == ST_CYCLE) {
			skip(skipped, out, v, HA_SKIP_CYCLE, &t);
			int root = w->comp[v];
			text_put(&t, "its start order is circular: ");
			if (w->cnext[v] == v) {
				text_put(&t, "it starts after itself");
			} else if (w->cnext[v] >= 0) {
				put_cycle(&t, w, v, w->clen[root]);
			} else {
				text_put(&t, "it is one of %d VMs that start after one another, as ", w->csize[root]);
				put_cycle(&t, w, w->cstart[root], w->clen[root]);
			}
		}
	}
}

/* The sentence before placement's verdict: the priority (and who raised
 * it), the wave, what it waits for and what it does not. */
static void put_order(struct text *t, struct work *w, int v, int stamp)
{
	const struct ha_vm *vm = &w->vms[v];
	text_put(t, "%s priority", ha_priority_name((enum ha_priority)w->eprio[v]));
	if (w->raiser[v] >= 0)
		text_put(t, " (raised from %s: %s starts after it)", ha_priority_name(vm->priority),
		    vm_name(w, w->raiser[v]));
	text_put(t, ", wave %d", w->wave[v]);
	for (int pass = 0; pass < 2; pass++) {
		int shown = 0, more = 0;
		for (int k = 0; k < vm->nafter; k++) {
			int d = vm->after[k];
			if (w->seen[d] == stamp + pass || (w->st[d] == ST_RESTARTED) != (pass == 0))
				continue;
			w->seen[d] = stamp + pass; /* each VM named once */
			if (shown == NAMES_SHOWN) {
				more++;
				continue;
			}
			if (pass == 0)
				text_put(t, "%s%s", shown ? ", " : " after ", vm_name(w, d));
			else
				text_put(t, "%s%s (%s)", shown ? ", " : "; does not wait for ", vm_name(w, d),
				    not_restarted_why(w->st[d]));
			shown++;
		}
		if (more)
			text_put(t, " and %d more", more);
		if (pass == 0 && shown)
			text_put(t, " %s ready", shown + more == 1 ? "is" : "are");
	}
}

static bool same_request(const struct placement_request *a, const struct placement_request *b)
{
	return a->vcpus == b->vcpus && a->memory_mib == b->memory_mib && a->datastore == b->datastore &&
	       a->cluster == b->cluster && a->reserve_cpu_pct == b->reserve_cpu_pct &&
	       a->reserve_memory_mib == b->reserve_memory_mib && a->nrules == 0 && b->nrules == 0 &&
	       !memcmp(&a->networks, &b->networks, sizeof(a->networks));
}

/* How many hosts of k's view changed since k was made (stamped), or -1
 * when too many to re-ask placement about them one by one. */
static int changed_since(struct work *w, const struct ranking *k)
{
	if (w->epoch - k->epoch > RANKING_MAX_RESTARTS)
		return -1;
	int changed = 0;
	w->hstamp_now += 2;
	for (int e = k->epoch; e < w->epoch; e++) {
		int p = w->log[e];
		if (p < k->off || p >= k->off + k->n || w->hstamp[p] == w->hstamp_now)
			continue;
		w->hstamp[p] = w->hstamp_now;
		if (++changed > RANKING_MAX_HOSTS_CHANGED)
			return -1;
	}
	return changed;
}

/* The ranking of q on the view (positions off ..) to start from: a kept
 * one still fresh enough, or placement's full answer made now. */
static int ranking_for(struct work *w, const struct placement_snapshot *view, const struct placement_request *q,
                       int off, struct ranking **out)
{
	struct ranking *k = NULL;
	for (int i = 0; i < w->nrank; i++) {
		struct ranking *c = &w->rank[i];
		if (c->valid && c->off == off && c->n == view->nhosts && same_request(&c->q, q)) {
			k = c;
			break;
		}
	}
	if (!k || changed_since(w, k) < 0) {
		if (!k) {
			k = &w->rank[0];
			for (int i = 1; i < w->nrank; i++)
				if (!w->rank[i].valid || (k->valid && w->rank[i].used < k->used))
					k = &w->rank[i];
		}
		k->valid = false;
		k->r.top = 0;
		int prc = placement_choose_host(view, q, &k->r);
		if (prc < 0)
			return prc;
		k->valid = true;
		k->q = *q;
		k->off = off;
		k->n = view->nhosts;
		k->epoch = w->epoch;
		w->hstamp_now += 2; /* nothing changed since */
	}
	k->used = w->epoch;
	*out = k;
	return 0;
}

/* placement_choose_best's answer (the same choice, counts and neligible,
 * r->verdicts[r->host] and r->order[0]) for q on view (positions off ..).
 * In a large cluster, VMs of one shape (a fleet's VMs come in a few
 * sizes, and the plan's order groups them) need not cost every host each:
 * without rules a host's verdict depends only on that host, and the plan
 * changes only the hosts it restarts VMs on (packing: a few). So
 * placement's full ranking for q is kept; a VM of the same shape after
 * re-asks placement only about the hosts changed since (one at a time),
 * and takes the better of those and the first unchanged host of the
 * ranking, ties to the lower index as placement does. A ranking is made
 * again once RANKING_MAX_HOSTS_CHANGED of its hosts changed. Per VM
 * O(that + restarts since) instead of O(hosts); never worse than
 * O(hosts) plus a sort. */
static int choose(struct work *w, const struct placement_snapshot *view, const struct placement_request *q,
                  int off, struct placement_result *r)
{
	int n = view->nhosts;
	if (q->nrules > 0 || n < RANKING_MIN_HOSTS || !w->nrank)
		return placement_choose_best(view, q, r);
	struct ranking *k;
	int prc = ranking_for(w, view, q, off, &k);
	if (prc < 0)
		return prc;
	memcpy(r->count, k->r.count, sizeof(r->count));
	int best = -1;
	struct placement_verdict bv = {0};
	struct placement_snapshot one = *view;
	one.nhosts = 1;
	/* The hosts changed since, stamped by ranking_for: re-asked once each. */
	for (int e = k->epoch; e < w->epoch; e++) {
		int p = w->log[e];
		if (p < off || p >= off + n || w->hstamp[p] != w->hstamp_now)
			continue;
		w->hstamp[p] = w->hstamp_now + 1; /* asked */
		int i = p - off;
		one.hosts = view->hosts + i;
		if ((prc = placement_choose_host(&one, q, &w->one)) < 0)
			return prc;
		struct placement_verdict v = w->one.verdicts[0];
		r->count[k->r.verdicts[i].filter]--;
		r->count[v.filter]++;
		if (v.filter == PLACEMENT_OK && (best < 0 || v.score > bv.score || (v.score == bv.score && i < best))) {
			best = i;
			bv = v;
		}
	}
	/* The ranking's order holds for the hosts not changed since. */
	for (int j = 0; j < k->r.nordered; j++) {
		int i = k->r.order[j];
		if (w->hstamp[off + i] == w->hstamp_now + 1)
			continue;
		const struct placement_verdict *v = &k->r.verdicts[i];
		if (best < 0 || v->score > bv.score || (v->score == bv.score && i < best)) {
			best = i;
			bv = *v;
		}
		break;
	}
	r->neligible = r->count[PLACEMENT_OK];
	r->host = best;
	r->nordered = best >= 0;
	r->error_index = -1;
	if (best >= 0) {
		bv.rank = 1;
		r->verdicts[best] = bv;
		r->order[0] = best;
	}
	return 0;
}

/* Places VM v on the hosts of its cluster as the plan stands; 0 with the
 * restart or skip written, or a placement error. */
static int place(struct work *w, struct placement_result *r, int v, struct ha_restart *restarts,
                 struct ha_skip *skipped, struct ha_plan *out)
{
	static const int identity[PLACEMENT_MAX_VM_RULES] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	const struct placement_snapshot *s = w->s;
	const struct ha_vm *vm = &w->vms[v];
	int off = w->coff[vm->cluster], n = w->coff[vm->cluster + 1] - off;
	/* An affinity partner running outside the cluster binds it there: no
	 * host of the cluster fits, which placement says over the whole fleet. */
	for (int k = 0; k < vm->nrules; k++) {
		const struct placement_rule *ru = &s->rules[vm->rules[k]];
		if (ru->type != PLACEMENT_AFFINITY)
			continue;
		const struct placement_member *m = w->members[vm->rules[k]];
		for (int j = 0; j < ru->nmembers; j++)
			if (m[j].host >= 0 && (m[j].host < off || m[j].host >= off + n) &&
			    !(vm->name && m[j].vm && !strcmp(vm->name, m[j].vm)))
				off = 0, n = s->nhosts;
	}
	/* The VM's rules, their members as hosts of the view (-1 outside it:
	 * an anti-affine member there blocks no host of the view). */
	struct placement_rule vrules[PLACEMENT_MAX_VM_RULES];
	size_t at = 0;
	for (int k = 0; k < vm->nrules; k++) {
		int ri = vm->rules[k];
		vrules[k] = s->rules[ri];
		vrules[k].members = w->vmembers ? w->vmembers + at : NULL;
		for (int j = 0; j < s->rules[ri].nmembers; j++) {
			struct placement_member m = w->members[ri][j];
			m.host = m.host >= off && m.host < off + n ? m.host - off : -1;
			w->vmembers[at + (size_t)j] = m;
		}
		at += (size_t)s->rules[ri].nmembers;
	}
	struct placement_snapshot view = *s;
	view.hosts = w->hosts + off;
	view.nhosts = n;
	view.rules = vrules;
	view.nrules = vm->nrules;
	struct placement_request q = {.vm = vm->name, .vcpus = vm->vcpus, .memory_mib = vm->memory_mib,
	                              .reserve_cpu_pct = vm->reserve_cpu_pct,
	                              .reserve_memory_mib = vm->reserve_memory_mib, .datastore = vm->datastore,
	                              .networks = vm->networks, .cluster = vm->cluster, .rules = identity,
	                              .nrules = vm->nrules};
	int prc = n > 0 ? choose(w, &view, &q, off, r) : 0;
	if (prc < 0)
		return prc;
	int stamp = 2 * v + 1;
	struct text t;
	if (n == 0 || r->host < 0) {
		w->st[v] = ST_NO_HOST;
		skip(skipped, out, v, HA_SKIP_NO_HOST, &t);
		text_put(&t, "%s priority: VM '%s' (%d vCPU%s, %lld MiB) fits on no host of cluster ",
		    ha_priority_name((enum ha_priority)w->eprio[v]), vm_name(w, v), vm->vcpus, vm->vcpus == 1 ? "" : "s",
		    (long long)vm->memory_mib);
		put_cluster(&t, s, vm->cluster);
		if (n == 0) {
			text_put(&t, " (it has no hosts)");
			return 0;
		}
		char why[320];
		placement_format_summary(&view, &q, r, why, sizeof(why));
		static const char none[] = "no host fits: ";
		text_put(&t, " (%s)", strncmp(why, none, sizeof(none) - 1) ? why : why + sizeof(none) - 1);
		if (out->nrestarts)
			text_put(&t, ", counting the %d restart%s planned before it", out->nrestarts,
			    out->nrestarts == 1 ? "" : "s");
		return 0;
	}
	int p = off + r->host;
	w->wave[v] = 0;
	for (int k = 0; k < vm->nafter; k++) {
		int d = vm->after[k];
		if (w->st[d] == ST_RESTARTED && w->wave[d] + 1 > w->wave[v])
			w->wave[v] = w->wave[d] + 1;
	}
	struct ha_restart *rs = &restarts[out->nrestarts++];
	rs->vm = v;
	rs->host = w->perm[p];
	rs->wave = w->wave[v];
	t = (struct text){rs->reason, sizeof(rs->reason), 0};
	rs->reason[0] = '\0';
	put_order(&t, w, v, stamp);
	text_put(&t, ": ");
	placement_format_verdict(&view, &q, r, r->host, rs->reason + t.at, sizeof(rs->reason) - t.at);
	/* Count it there for the VMs after it. */
	struct placement_host *h = &w->hosts[p];
	h->alloc_vcpus += vm->vcpus;
	h->alloc_memory_mib += vm->memory_mib;
	h->reserved_cpu_pct += vm->reserve_cpu_pct;
	h->reserved_memory_mib += vm->reserve_memory_mib;
	for (int k = 0; k < vm->nrules; k++) {
		int ri = vm->rules[k];
		for (int j = 0; j < s->rules[ri].nmembers; j++)
			if (vm->name && w->members[ri][j].vm && !strcmp(w->members[ri][j].vm, vm->name))
				w->members[ri][j].host = p;
	}
	w->hmark[w->perm[p]] |= USED;
	w->log[w->epoch++] = p;
	w->st[v] = ST_RESTARTED;
	if (w->wave[v] + 1 > out->nwaves)
		out->nwaves = w->wave[v] + 1;
	return 0;
}

static void summarize(const struct work *w, struct ha_plan *out)
{
	int failed = 0, used = 0, why[3] = {0};
	for (int h = 0; h < w->s->nhosts; h++) {
		failed += (w->hmark[h] & FAILED) != 0;
		used += (w->hmark[h] & USED) != 0;
	}
	for (int v = 0; v < w->n; v++)
		why[0] += w->st[v] == ST_DISABLED, why[1] += w->st[v] == ST_NO_HOST, why[2] += w->st[v] == ST_CYCLE;
	struct text t = {out->reason, sizeof(out->reason), 0};
	text_put(&t, "%d of %d VM%s of %d failed host%s restart%s", out->nrestarts, w->n, w->n == 1 ? "" : "s", failed,
	    failed == 1 ? "" : "s", out->nrestarts == 1 ? "s" : "");
	if (out->nrestarts)
		text_put(&t, " on %d host%s in %d wave%s", used, used == 1 ? "" : "s", out->nwaves, out->nwaves == 1 ? "" : "s");
	if (out->nskipped) {
		static const char *const what[3] = {"priority disabled", "fitting on no host", "in a start-order cycle"};
		text_put(&t, "; %d not restarted:", out->nskipped);
		for (int k = 0, n = 0; k < 3; k++)
			if (why[k])
				text_put(&t, "%s %d %s", n++ ? "," : "", why[k], what[k]);
	}
}

int ha_plan_restarts(const struct placement_snapshot *s, const struct ha_vm *vms, int nvms,
                     struct ha_restart *restarts, struct ha_skip *skipped, struct ha_plan *out)
{
	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!s || nvms < 0 || (nvms > 0 && (!vms || !restarts || !skipped)))
		return fail(out, "an argument is missing");
	if (nvms > HA_PLAN_MAX_VMS)
		return fail(out, "%d VMs, more than %d in one plan: plan them in parts (by cluster)", nvms,
		            HA_PLAN_MAX_VMS);
	size_t nedges = 0, max_vm_members = 0; /* set by validate; zeroed for the compiler */
	if (validate(s, vms, nvms, out, &nedges, &max_vm_members) < 0)
		return -1;
	if (nvms == 0) {
		snprintf(out->reason, sizeof(out->reason), "no VM to restart");
		return 0;
	}
	size_t nmembers = 0;
	for (int ri = 0; ri < s->nrules; ri++)
		nmembers += (size_t)s->rules[ri].nmembers;
	/* All the working memory, taken up front and freed at the end. */
	size_t n = (size_t)nvms, nh = (size_t)s->nhosts;
	struct work w = {.s = s, .vms = vms, .n = nvms};
	int **per_vm[] = {&w.st, &w.eprio, &w.raiser, &w.wave, &w.indeg, &w.order, &w.heap, &w.seen, &w.roff,
	                  &w.tidx, &w.low, &w.stk, &w.fv, &w.fe, &w.topo, &w.comp, &w.csize, &w.cnext,
	                  &w.cstart, &w.clen, &w.log};
	const size_t nper_vm = sizeof(per_vm) / sizeof(per_vm[0]);
	int rc = -1;
	int *ints = malloc(sizeof(int) * (nper_vm * (n + 1) + nedges + 3 * nh + (size_t)s->nclusters + 1));
	w.hosts = malloc(sizeof(*w.hosts) * nh);
	w.hmark = calloc(nh, 1);
	w.members = s->nrules ? malloc(sizeof(*w.members) * (size_t)s->nrules) : NULL;
	struct placement_member *mblock = nmembers ? malloc(sizeof(*mblock) * nmembers) : NULL;
	w.vmembers = max_vm_members ? malloc(sizeof(*w.vmembers) * max_vm_members) : NULL;
	struct placement_result r = {0};
	if (!ints || !w.hosts || !w.hmark || (s->nrules && !w.members) || (nmembers && !mblock) ||
	    (max_vm_members && !w.vmembers) || placement_result_init(&r, s->nhosts) < 0 ||
	    placement_result_init(&w.one, 1) < 0) {
		fail(out, "out of memory");
		goto done;
	}
	int *at = ints;
	for (size_t k = 0; k < nper_vm; k++, at += n + 1)
		*per_vm[k] = at;
	w.rlist = at;
	at += nedges;
	w.perm = at;
	at += nh;
	w.pos = at;
	at += nh;
	w.coff = at;
	at += (size_t)s->nclusters + 1;
	w.hstamp = at;
	memset(w.hstamp, 0, sizeof(int) * nh);
	copy_snapshot(&w, mblock);
	int largest = 0;
	for (int c = 0; c < s->nclusters; c++)
		if (w.coff[c + 1] - w.coff[c] > largest)
			largest = w.coff[c + 1] - w.coff[c];
	if (largest >= RANKING_MIN_HOSTS) {
		for (int i = 0; i < RANKINGS; i++)
			if (placement_result_init(&w.rank[i].r, largest) < 0) {
				fail(out, "out of memory");
				goto done;
			}
		w.nrank = RANKINGS;
	}

	for (int v = 0; v < nvms; v++) {
		w.st[v] = vms[v].priority == HA_PRIO_DISABLED ? ST_DISABLED : ST_ACTIVE;
		w.seen[v] = 0;
		w.wave[v] = 0;
	}
	find_components(&w);
	mark_cycles(&w);
	raise_priorities(&w);
	int nordered = order_active(&w);
	for (int v = 0; v < nvms; v++)
		w.seen[v] = 0; /* from here: put_order's stamps */
	skip_up_front(&w, skipped, out);
	for (int k = 0; k < nordered; k++) {
		int v = w.order[k];
		int prc = place(&w, &r, v, restarts, skipped, out);
		if (prc < 0) {
			fail(out, "VM '%s': %s", vm_name(&w, v), placement_strerror(prc));
			goto done;
		}
	}
	summarize(&w, out);
	rc = 0;
done:
	placement_result_free(&r);
	for (int i = 0; i < RANKINGS; i++)
		placement_result_free(&w.rank[i].r);
	placement_result_free(&w.one);
	free(w.vmembers);
	free(mblock);
	free(w.members);
	free(w.hmark);
	free(w.hosts);
	free(ints);
	return rc;
}
