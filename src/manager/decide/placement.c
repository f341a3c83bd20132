/* placement.c - the placement decision: validate the snapshot, run the filters
 * over every host, weigh the survivors by their cluster's policy, order them.
 * Sentences for people are in placement_format.c, out of this hot path. */
#include "placement.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this many eligible hosts an insertion sort beats the radix sort. */
#define SMALL_SORT 48

int placement_result_init(struct placement_result *r, int max_hosts)
{
	memset(r, 0, sizeof(*r));
	r->host = -1;
	r->error_index = -1;
	if (max_hosts < 1 || max_hosts > (1 << 26))
		return -1;
	size_t n = (size_t)max_hosts;
	r->verdicts = calloc(n, sizeof(*r->verdicts));
	r->order = calloc(n, sizeof(*r->order));
	r->scratch_ = calloc(n, sizeof(*r->scratch_));
	if (!r->verdicts || !r->order || !r->scratch_) {
		placement_result_free(r);
		return -1;
	}
	r->max_hosts = max_hosts;
	return 0;
}

void placement_result_free(struct placement_result *r)
{
	free(r->verdicts);
	free(r->order);
	free(r->scratch_);
	memset(r, 0, sizeof(*r));
	r->host = -1;
	r->error_index = -1;
}

/* The filters run these on every host of the fleet for every request:
 * inlined there, the exported names are for the rest of vdcd. */
static inline int64_t capacity(int64_t physical, double ratio)
{
	/* Products such as 10 x 0.7 land a hair below the integer they mean;
	 * the slack is far below one unit at any size within the bounds. */
	double x = (double)physical * ratio + 1e-6;
	return x <= 0 ? 0 : (int64_t)x;
}

int64_t placement_capacity(int64_t physical, double ratio)
{
	return capacity(physical, ratio);
}

static inline int score(enum placement_policy policy, int64_t vcpus_after, int64_t cpu_cap,
                         int64_t mem_after, int64_t mem_cap)
{
	/* The mean of the two fractions, not the larger: packing on the mean
	 * fills the host whose leftover is smallest in both dimensions. Replaying
	 * the whole Azure trace (bench/placement --full), pack kept 1.124x the
	 * lower bound of hosts busy on the mean, 1.134x on the L2 norm, 1.139x
	 * on the max; first-fit 1.143x. */
	double fc = cpu_cap > 0 ? (double)vcpus_after / (double)cpu_cap : 1.0;
	double fm = mem_cap > 0 ? (double)mem_after / (double)mem_cap : 1.0;
	double u = 0.5 * (fc + fm) * PLACEMENT_SCORE_MAX + 0.5;
	int s = !(u > 0) ? 0 : u >= PLACEMENT_SCORE_MAX ? PLACEMENT_SCORE_MAX : (int)u;
	return policy == PLACEMENT_SPREAD ? PLACEMENT_SCORE_MAX - s : s;
}

int placement_score(enum placement_policy policy, int64_t vcpus_after, int64_t cpu_cap,
                    int64_t mem_after, int64_t mem_cap)
{
	return score(policy, vcpus_after, cpu_cap, mem_after, mem_cap);
}

/* What one decision precomputes from the request: the affinity constraints
 * reduced to "must be on host H", and the anti-affinity rules to apply. */
struct prepared {
	int naff;
	int aff_rule[PLACEMENT_MAX_VM_RULES];
	int aff_host[PLACEMENT_MAX_VM_RULES]; /* >= 0, or -2: partners on several hosts */
	int nanti;
	int anti_rule[PLACEMENT_MAX_VM_RULES];
	int ds_word;       /* -1: no datastore */
	uint64_t ds_bit;
	int nnet_words;
	int net_word[PLACEMENT_SET_BITS / 64];
	uint64_t net_bits[PLACEMENT_SET_BITS / 64];
};

static bool is_self(const struct placement_request *q, const struct placement_member *m)
{
	return q->vm && m->vm && strcmp(q->vm, m->vm) == 0;
}

static int fail(struct placement_result *r, int err, int index)
{
	r->host = -1;
	r->neligible = 0;
	r->nordered = 0;
	memset(r->count, 0, sizeof(r->count));
	r->error_index = index;
	return err;
}

static bool ratio_ok(double x)
{
	return isfinite(x) && x > 0 && x <= PLACEMENT_MAX_OVERCOMMIT;
}

/* Checks everything but the hosts (checked as the filters reach them). */
static int validate(const struct placement_snapshot *s, const struct placement_request *q,
                    struct placement_result *r)
{
	if (s->nhosts < 0 || s->nclusters < 0 || s->nrules < 0 || q->nrules < 0 ||
	    (s->nhosts > 0 && !s->hosts) || (s->nclusters > 0 && !s->clusters) ||
	    (s->nrules > 0 && !s->rules) || (q->nrules > 0 && !q->rules) || !r->verdicts)
		return fail(r, PLACEMENT_ERR_ARG, -1);
	if (s->nhosts == 0)
		return fail(r, PLACEMENT_ERR_NO_HOSTS, -1);
	if (s->nhosts > r->max_hosts)
		return fail(r, PLACEMENT_ERR_TOO_MANY, -1);
	for (int c = 0; c < s->nclusters; c++) {
		const struct placement_cluster *cl = &s->clusters[c];
		if (!ratio_ok(cl->cpu_overcommit) || !ratio_ok(cl->mem_overcommit) ||
		    (cl->policy != PLACEMENT_PACK && cl->policy != PLACEMENT_SPREAD))
			return fail(r, PLACEMENT_ERR_CLUSTER, c);
	}
	if (q->vcpus < 1 || q->vcpus > PLACEMENT_MAX_CPUS || q->memory_mib < 1 ||
	    q->memory_mib > PLACEMENT_MAX_MIB || q->datastore < -1 ||
	    q->datastore >= PLACEMENT_SET_BITS || q->cluster < -1 || q->cluster >= s->nclusters ||
	    (q->moving && (q->moving_from < 0 || q->moving_from >= s->nhosts)) || q->reserve_cpu_pct < 0 ||
	    q->reserve_cpu_pct > (int64_t)PLACEMENT_MAX_CPUS * 100 || q->reserve_memory_mib < 0 ||
	    q->reserve_memory_mib > PLACEMENT_MAX_MIB)
		return fail(r, PLACEMENT_ERR_REQUEST, -1);
	if (q->nrules > PLACEMENT_MAX_VM_RULES)
		return fail(r, PLACEMENT_ERR_RULE, -1);
	for (int k = 0; k < q->nrules; k++) {
		int ri = q->rules[k];
		if (ri < 0 || ri >= s->nrules)
			return fail(r, PLACEMENT_ERR_RULE, ri);
		const struct placement_rule *ru = &s->rules[ri];
		if ((ru->type != PLACEMENT_AFFINITY && ru->type != PLACEMENT_ANTI_AFFINITY) ||
		    ru->nmembers < 0 || (ru->nmembers > 0 && !ru->members))
			return fail(r, PLACEMENT_ERR_RULE, ri);
		for (int m = 0; m < ru->nmembers; m++)
			if (ru->members[m].host < -1 || ru->members[m].host >= s->nhosts)
				return fail(r, PLACEMENT_ERR_RULE, ri);
	}
	return 0;
}

static void prepare(const struct placement_snapshot *s, const struct placement_request *q,
                    struct prepared *p)
{
	p->naff = p->nanti = 0;
	for (int k = 0; k < q->nrules; k++) {
		const struct placement_rule *ru = &s->rules[q->rules[k]];
		if (ru->type == PLACEMENT_ANTI_AFFINITY) {
			p->anti_rule[p->nanti++] = q->rules[k];
			continue;
		}
		int where = -1;
		for (int m = 0; m < ru->nmembers; m++) {
			int h = ru->members[m].host;
			if (h < 0 || is_self(q, &ru->members[m]))
				continue;
			where = where == -1 || where == h ? h : -2;
		}
		if (where != -1) { /* no partner placed yet: no constraint */
			p->aff_rule[p->naff] = q->rules[k];
			p->aff_host[p->naff++] = where;
		}
	}
	p->ds_word = q->datastore < 0 ? -1 : q->datastore >> 6;
	p->ds_bit = q->datastore < 0 ? 0 : (uint64_t)1 << (q->datastore & 63);
	p->nnet_words = 0;
	for (int w = 0; w < PLACEMENT_SET_BITS / 64; w++)
		if (q->networks.w[w]) {
			p->net_word[p->nnet_words] = w;
			p->net_bits[p->nnet_words++] = q->networks.w[w];
		}
}

static inline bool host_ok(const struct placement_host *h, int nclusters)
{
	return h->cluster >= 0 && h->cluster < nclusters && h->cpus >= 0 &&
	       h->cpus <= PLACEMENT_MAX_CPUS && h->memory_mib >= 0 &&
	       h->memory_mib <= PLACEMENT_MAX_MIB && h->alloc_vcpus >= 0 &&
	       h->alloc_vcpus <= PLACEMENT_MAX_CPUS * 1000 && h->alloc_memory_mib >= 0 &&
	       h->alloc_memory_mib <= PLACEMENT_MAX_MIB * 1000 && h->reserved_cpu_pct >= 0 &&
	       h->reserved_cpu_pct <= (int64_t)PLACEMENT_MAX_CPUS * 100 * 1000 && h->reserved_memory_mib >= 0 &&
	       h->reserved_memory_mib <= PLACEMENT_MAX_MIB * 1000 &&
	       (h->state == PLACEMENT_CONNECTED || h->state == PLACEMENT_DISCONNECTED ||
	        h->state == PLACEMENT_MAINTENANCE);
}

/* Runs the filters on host i; fills v and returns its verdict. Anti-affinity
 * is applied afterwards (apply_anti), from the few hosts the members are on. */
static enum placement_filter filter_host(const struct placement_snapshot *s,
                                         const struct placement_request *q,
                                         const struct prepared *p, int i,
                                         struct placement_verdict *v)
{
	const struct placement_host *h = &s->hosts[i];
	if (q->moving && i == q->moving_from)
		return PLACEMENT_F_CURRENT;
	if (q->cluster >= 0 && h->cluster != q->cluster)
		return PLACEMENT_F_CLUSTER;
	if (h->state == PLACEMENT_DISCONNECTED)
		return PLACEMENT_F_DISCONNECTED;
	if (h->state == PLACEMENT_MAINTENANCE)
		return PLACEMENT_F_MAINTENANCE;
	if (p->ds_word >= 0 && !(h->datastores.w[p->ds_word] & p->ds_bit)) {
		v->id = q->datastore;
		return PLACEMENT_F_DATASTORE;
	}
	for (int k = 0; k < p->nnet_words; k++) {
		uint64_t missing = p->net_bits[k] & ~h->networks.w[p->net_word[k]];
		if (missing) {
			v->id = p->net_word[k] * 64 + __builtin_ctzll(missing);
			return PLACEMENT_F_NETWORK;
		}
	}
	for (int k = 0; k < p->naff; k++)
		if (p->aff_host[k] != i) {
			v->id = p->aff_rule[k];
			v->where = p->aff_host[k];
			return PLACEMENT_F_AFFINITY;
		}
	if (q->vcpus > h->cpus) {
		v->need = q->vcpus;
		v->capacity = h->cpus;
		return PLACEMENT_F_CPU_COUNT;
	}
	const struct placement_cluster *cl = &s->clusters[h->cluster];
	int64_t cap = capacity(h->cpus, cl->cpu_overcommit);
	if (cap - h->alloc_vcpus < q->vcpus) {
		v->need = q->vcpus;
		v->free = cap - h->alloc_vcpus;
		v->capacity = cap;
		return PLACEMENT_F_CPU;
	}
	int64_t mcap = capacity(h->memory_mib, cl->mem_overcommit);
	if (mcap - h->alloc_memory_mib < q->memory_mib) {
		v->need = q->memory_mib;
		v->free = mcap - h->alloc_memory_mib;
		v->capacity = mcap;
		return PLACEMENT_F_MEMORY;
	}
	/* Reservations are promises of the host's own CPUs and memory: no
	 * overcommit stretches them. */
	const int64_t res_need[2] = {q->reserve_cpu_pct, q->reserve_memory_mib};
	const int64_t res_have[2] = {h->reserved_cpu_pct, h->reserved_memory_mib};
	const int64_t res_cap[2] = {(int64_t)h->cpus * 100, h->memory_mib};
	for (int k = 0; k < 2; k++)
		if (res_need[k] > 0 && res_cap[k] - res_have[k] < res_need[k]) {
			v->id = k;
			v->need = res_need[k];
			v->free = res_cap[k] - res_have[k];
			v->capacity = res_cap[k];
			return PLACEMENT_F_RESERVATION;
		}
	v->score = score(cl->policy, (int64_t)h->alloc_vcpus + q->vcpus, cap,
	                           h->alloc_memory_mib + q->memory_mib, mcap);
	return PLACEMENT_OK;
}

/* Rejects the hosts that already run a member of one of the VM's
 * anti-affinity rules, unless an earlier filter rejected them already. */
static void apply_anti(const struct placement_snapshot *s, const struct placement_request *q,
                       const struct prepared *p, struct placement_result *r)
{
	for (int k = 0; k < p->nanti; k++) {
		const struct placement_rule *ru = &s->rules[p->anti_rule[k]];
		for (int m = 0; m < ru->nmembers; m++) {
			int h = ru->members[m].host;
			if (h < 0 || is_self(q, &ru->members[m]))
				continue;
			struct placement_verdict *v = &r->verdicts[h];
			if (v->filter != PLACEMENT_OK && v->filter <= PLACEMENT_F_ANTI_AFFINITY)
				continue;
			r->count[v->filter]--;
			r->count[PLACEMENT_F_ANTI_AFFINITY]++;
			*v = (struct placement_verdict){.filter = PLACEMENT_F_ANTI_AFFINITY,
			                                .id = p->anti_rule[k], .where = m};
		}
	}
}

/* Orders the n eligible hosts in a by score, highest first; a stable sort
 * keeps equal scores in index order. tmp holds n ints. */
static void sort_by_score(const struct placement_verdict *v, int *a, int *tmp, int n)
{
	if (n <= SMALL_SORT) {
		for (int i = 1; i < n; i++) {
			int x = a[i], j = i;
			for (; j > 0 && v[a[j - 1]].score < v[x].score; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
		return;
	}
	/* LSD radix on key = MAX - score (20 bits): two stable passes of 10. */
	int lo[1025] = {0}, hi[1025] = {0};
	for (int i = 0; i < n; i++) {
		unsigned key = (unsigned)(PLACEMENT_SCORE_MAX - v[a[i]].score);
		lo[(key & 1023) + 1]++;
		hi[(key >> 10) + 1]++;
	}
	for (int b = 0; b < 1024; b++) {
		lo[b + 1] += lo[b];
		hi[b + 1] += hi[b];
	}
	for (int i = 0; i < n; i++) {
		unsigned key = (unsigned)(PLACEMENT_SCORE_MAX - v[a[i]].score);
		tmp[lo[key & 1023]++] = a[i];
	}
	for (int i = 0; i < n; i++) {
		unsigned key = (unsigned)(PLACEMENT_SCORE_MAX - v[tmp[i]].score);
		a[hi[key >> 10]++] = tmp[i];
	}
}

/* Keeps the best `top` of the n eligible hosts in a, best first (score,
 * then the lower index), as a stable sort would order them; returns how many. */
static int select_top(const struct placement_verdict *v, int *a, int n, int top)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		int x = a[i];
		/* a is in index order, so x loses every tie with those kept. */
		if (k == top && v[a[k - 1]].score >= v[x].score)
			continue;
		int j = k < top ? k++ : k - 1;
		for (; j > 0 && v[a[j - 1]].score < v[x].score; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
	return k;
}

/* What both entry points do first: check the arguments and the snapshot,
 * precompute the request, clear the counts. 0, or the error (set in r). */
static int begin(const struct placement_snapshot *s, const struct placement_request *q,
                 struct placement_result *r, struct prepared *p)
{
	if (!r)
		return PLACEMENT_ERR_ARG;
	if (!s || !q)
		return fail(r, PLACEMENT_ERR_ARG, -1);
	int err = validate(s, q, r);
	if (err)
		return err;
	prepare(s, q, p);
	memset(r->count, 0, sizeof(r->count));
	return 0;
}

int placement_choose_host(const struct placement_snapshot *s, const struct placement_request *q,
                          struct placement_result *r)
{
	struct prepared p;
	int err = begin(s, q, r, &p);
	if (err)
		return err;
	int n = 0;
	for (int i = 0; i < s->nhosts; i++) {
		if (!host_ok(&s->hosts[i], s->nclusters))
			return fail(r, PLACEMENT_ERR_HOST, i);
		struct placement_verdict *v = &r->verdicts[i];
		*v = (struct placement_verdict){.id = -1, .where = -1};
		v->filter = filter_host(s, q, &p, i, v);
		r->count[v->filter]++;
		if (v->filter == PLACEMENT_OK)
			r->order[n++] = i;
	}
	if (p.nanti) {
		apply_anti(s, q, &p, r);
		int kept = 0;
		for (int k = 0; k < n; k++)
			if (r->verdicts[r->order[k]].filter == PLACEMENT_OK)
				r->order[kept++] = r->order[k];
		n = kept;
	}
	int ranked = n;
	if (r->top > 0 && n > r->top)
		ranked = select_top(r->verdicts, r->order, n, r->top);
	else
		sort_by_score(r->verdicts, r->order, r->scratch_, n);
	for (int k = 0; k < ranked; k++)
		r->verdicts[r->order[k]].rank = k + 1;
	r->nordered = ranked;
	r->neligible = n;
	r->host = n ? r->order[0] : -1;
	r->error_index = -1;
	return 0;
}

/* Whether host i runs a placed member of one of the request's anti-affinity
 * rules (other than the VM itself). */
static bool anti_blocks(const struct placement_snapshot *s, const struct placement_request *q,
                        const struct prepared *p, int i)
{
	for (int k = 0; k < p->nanti; k++) {
		const struct placement_rule *ru = &s->rules[p->anti_rule[k]];
		for (int m = 0; m < ru->nmembers; m++)
			if (ru->members[m].host == i && !is_self(q, &ru->members[m]))
				return true;
	}
	return false;
}

/* Whether the filters and the score see a and b the same way when the
 * request has no affinity (which names hosts by index). */
static bool same_host(const struct placement_host *a, const struct placement_host *b)
{
	return a->cluster == b->cluster && a->state == b->state && a->cpus == b->cpus &&
	       a->memory_mib == b->memory_mib && a->alloc_vcpus == b->alloc_vcpus &&
	       a->alloc_memory_mib == b->alloc_memory_mib &&
	       !memcmp(&a->datastores, &b->datastores, sizeof(a->datastores)) &&
	       !memcmp(&a->networks, &b->networks, sizeof(a->networks));
}

int placement_choose_best(const struct placement_snapshot *s, const struct placement_request *q,
                          struct placement_result *r)
{
	struct prepared p;
	int err = begin(s, q, r, &p);
	if (err)
		return err;
	int n = 0, best = -1, memo = -1;
	struct placement_verdict bv = {0}, memo_v = {0};
	for (int i = 0; i < s->nhosts; i++) {
		if (!host_ok(&s->hosts[i], s->nclusters))
			return fail(r, PLACEMENT_ERR_HOST, i);
		struct placement_verdict v = {.id = -1, .where = -1};
		/* Fleets are mostly runs of alike hosts (empty ones above all):
		 * a host like the one before gets its verdict without the
		 * arithmetic. Affinity names hosts by index, so not with it. */
		if (memo >= 0 && !p.naff && same_host(&s->hosts[i], &s->hosts[memo])) {
			v = memo_v;
		} else {
			v.filter = filter_host(s, q, &p, i, &v);
			memo = i;
			memo_v = v;
		}
		/* As apply_anti: it outranks the capacity filters, not the others. */
		if ((v.filter == PLACEMENT_OK || v.filter > PLACEMENT_F_ANTI_AFFINITY) && p.nanti &&
		    anti_blocks(s, q, &p, i))
			v.filter = PLACEMENT_F_ANTI_AFFINITY;
		r->count[v.filter]++;
		if (v.filter != PLACEMENT_OK)
			continue;
		n++;
		if (best < 0 || v.score > bv.score) { /* ties: the lower index, as in the full sort */
			best = i;
			bv = v;
		}
	}
	r->neligible = n;
	r->host = best;
	r->error_index = -1;
	if (best >= 0) {
		bv.rank = 1;
		r->verdicts[best] = bv;
		r->order[0] = best;
	}
	return 0;
}
