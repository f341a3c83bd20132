/* ha_admission.c - HA admission control (ha_admission.h): what a cluster
 * keeps free for failover under its policy, how many host failures its
 * load survives, and whether a power-on may proceed. The N largest hosts
 * are found by bisecting on a capacity threshold, so that nothing is
 * sorted or allocated: O(hosts x 64) per question. */
#include "ha_admission.h"

#include "text_put.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bounds of one host's and of a cluster's capacity (see the header). */
static const int64_t host_max[HA_NRES] = {(int64_t)PLACEMENT_MAX_CPUS * 1000, PLACEMENT_MAX_MIB * 1000};


/* "16 vCPUs", "1 vCPU", "16384 MiB". */
static void put_amount(struct text *t, enum ha_res r, int64_t v)
{
	if (r == HA_CPU)
		text_put(t, "%lld vCPU%s", (long long)v, v == 1 ? "" : "s");
	else
		text_put(t, "%lld MiB", (long long)v);
}

int ha_policy_format(const struct ha_policy *p, char *buf, size_t len)
{
	if (!p || (!buf && len))
		return -1;
	switch (p->kind) {
	case HA_POLICY_NONE: return snprintf(buf, len, "off");
	case HA_POLICY_HOST_FAILURES:
		return snprintf(buf, len, "tolerate %d host failure%s", p->host_failures, p->host_failures == 1 ? "" : "s");
	case HA_POLICY_PERCENT:
		return snprintf(buf, len, "keep %d%% CPU and %d%% memory free", p->pct[HA_CPU], p->pct[HA_MEM]);
	}
	return snprintf(buf, len, "unknown policy");
}

static const char *cluster_name(const struct ha_admission_cluster *c)
{
	return c->name ? c->name : "?";
}

/* How many hosts that count have more than t of r, and their sum. */
static void above(const struct ha_admission_cluster *c, enum ha_res r, int64_t t, int *count, int64_t *sum)
{
	*count = 0;
	*sum = 0;
	for (int i = 0; i < c->nhosts; i++)
		if (c->hosts[i].counts && c->hosts[i].capacity[r] > t) {
			(*count)++;
			*sum += c->hosts[i].capacity[r];
		}
}

/* The sum of the n largest capacities of r, for n below the hosts that
 * count: the smallest threshold t with at most n hosts above it, plus as
 * many hosts at exactly t as n still wants (there are enough: more than
 * n hosts have t or more). */
static int64_t largest_sum(const struct ha_admission_cluster *c, enum ha_res r, int n)
{
	int64_t lo = 0, hi = host_max[r], sum;
	int count;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		above(c, r, mid, &count, &sum);
		if (count <= n)
			hi = mid;
		else
			lo = mid + 1;
	}
	above(c, r, lo, &count, &sum);
	return sum + (int64_t)(n - count) * lo;
}

/* The largest k such that the k largest capacities of r sum to at most
 * slack (>= 0), of the m hosts that count: the smallest threshold t whose
 * hosts above it fit, plus as many hosts at exactly t as still fit. */
static int largest_fitting(const struct ha_admission_cluster *c, enum ha_res r, int64_t slack, int m)
{
	int64_t lo = 0, hi = host_max[r], sum;
	int count;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		above(c, r, mid, &count, &sum);
		if (sum <= slack)
			hi = mid;
		else
			lo = mid + 1;
	}
	above(c, r, lo, &count, &sum);
	if (lo == 0)
		return m; /* the rest have nothing to lose */
	int at_least;
	int64_t sum_at_least;
	above(c, r, lo - 1, &at_least, &sum_at_least);
	int64_t more = (slack - sum) / lo, at_t = at_least - count;
	return count + (int)(more < at_t ? more : at_t);
}

static int invalid(char *reason, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int invalid(char *reason, size_t len, const char *fmt, ...)
{
	struct text t = {reason, len, 0};
	text_put(&t, "cannot decide HA admission: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason + t.at, len - t.at, fmt, ap);
	va_end(ap);
	return -1;
}

static int validate(const struct ha_admission_cluster *c, const struct ha_policy *p, char *reason, size_t len)
{
	if (!c || !p || c->nhosts < 0 || (c->nhosts > 0 && !c->hosts))
		return invalid(reason, len, "an argument is missing");
	if (c->nhosts > HA_ADMISSION_MAX_HOSTS)
		return invalid(reason, len, "cluster %s has %d hosts, more than %d", cluster_name(c), c->nhosts,
		               HA_ADMISSION_MAX_HOSTS);
	for (int i = 0; i < c->nhosts; i++)
		for (int r = 0; r < HA_NRES; r++)
			if (c->hosts[i].capacity[r] < 0 || c->hosts[i].capacity[r] > host_max[r])
				return invalid(reason, len, "host %s of cluster %s has a capacity out of bounds",
				               c->hosts[i].name ? c->hosts[i].name : "?", cluster_name(c));
	for (int r = 0; r < HA_NRES; r++)
		if (c->load[r] < 0 || c->load[r] > host_max[r] * HA_ADMISSION_MAX_HOSTS)
			return invalid(reason, len, "cluster %s's load is out of bounds", cluster_name(c));
	switch (p->kind) {
	case HA_POLICY_NONE: break;
	case HA_POLICY_HOST_FAILURES:
		if (p->host_failures < 1 || p->host_failures > HA_ADMISSION_MAX_HOSTS)
			return invalid(reason, len, "a policy tolerates 1 to %d host failures, not %d", HA_ADMISSION_MAX_HOSTS,
			               p->host_failures);
		break;
	case HA_POLICY_PERCENT:
		if (p->pct[HA_CPU] < 0 || p->pct[HA_CPU] > 100 || p->pct[HA_MEM] < 0 || p->pct[HA_MEM] > 100)
			return invalid(reason, len, "a policy keeps 0 to 100%% free, not %d%% CPU and %d%% memory",
			               p->pct[HA_CPU], p->pct[HA_MEM]);
		break;
	default: return invalid(reason, len, "unknown policy %d", (int)p->kind);
	}
	return 0;
}

static double pct_of(int64_t part, int64_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The numbers of ha_capacity, once the input is valid. */
static void compute(const struct ha_admission_cluster *c, const struct ha_policy *p, struct ha_capacity *k)
{
	int m = 0;
	for (int i = 0; i < c->nhosts; i++)
		m += c->hosts[i].counts;
	k->nhosts = m;
	k->all_reserved = p->kind == HA_POLICY_HOST_FAILURES && p->host_failures >= m;
	k->tolerates = m;
	for (int r = 0; r < HA_NRES; r++) {
		int count;
		above(c, (enum ha_res)r, -1, &count, &k->total[r]);
		k->load[r] = c->load[r];
		if (p->kind == HA_POLICY_NONE)
			k->reserved[r] = 0;
		else if (k->all_reserved)
			k->reserved[r] = k->total[r];
		else if (p->kind == HA_POLICY_HOST_FAILURES)
			k->reserved[r] = largest_sum(c, (enum ha_res)r, p->host_failures);
		else /* the percentage rounded up, without the product that could overflow */
			k->reserved[r] = k->total[r] / 100 * p->pct[r] + (k->total[r] % 100 * p->pct[r] + 99) / 100;
		k->free[r] = k->total[r] - k->reserved[r] - k->load[r];
		k->load_pct[r] = pct_of(k->load[r], k->total[r]);
		k->reserved_pct[r] = pct_of(k->reserved[r], k->total[r]);
		k->free_pct[r] = pct_of(k->free[r], k->total[r]);
		if (k->load[r] > k->total[r]) {
			k->overloaded = true;
			k->tolerates = 0;
			continue;
		}
		int survives = largest_fitting(c, (enum ha_res)r, k->total[r] - k->load[r], m);
		if (survives < k->tolerates)
			k->tolerates = survives;
	}
}

/* "56 vCPUs (43.8%)", or "none (8 vCPUs over)" when v is negative. */
static void put_share(struct text *t, enum ha_res r, int64_t v, double pct, int64_t total)
{
	if (v < 0) {
		text_put(t, "none (");
		put_amount(t, r, -v);
		text_put(t, " over)");
		return;
	}
	put_amount(t, r, v);
	if (total > 0)
		text_put(t, " (%.1f%%)", pct);
}

int ha_admission_capacity(const struct ha_admission_cluster *c, const struct ha_policy *p, struct ha_capacity *out)
{
	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (validate(c, p, out->reason, sizeof(out->reason)) < 0)
		return -1;
	compute(c, p, out);
	struct text t = {out->reason, sizeof(out->reason), 0};
	char policy[80];
	ha_policy_format(p, policy, sizeof(policy));
	text_put(&t, "cluster %s: ", cluster_name(c));
	if (out->nhosts) {
		text_put(&t, "%d host%s with ", out->nhosts, out->nhosts == 1 ? "" : "s");
		put_amount(&t, HA_CPU, out->total[HA_CPU]);
		text_put(&t, " and ");
		put_amount(&t, HA_MEM, out->total[HA_MEM]);
	} else {
		text_put(&t, "no host connected and out of maintenance");
	}
	text_put(&t, "; its powered-on VMs use ");
	put_share(&t, HA_CPU, out->load[HA_CPU], out->load_pct[HA_CPU], out->total[HA_CPU]);
	text_put(&t, " and ");
	put_share(&t, HA_MEM, out->load[HA_MEM], out->load_pct[HA_MEM], out->total[HA_MEM]);
	if (out->overloaded)
		text_put(&t, ", more than it has with every host up");
	else if (out->tolerates)
		text_put(&t, ": it survives %d host failure%s", out->tolerates, out->tolerates == 1 ? "" : "s");
	else
		text_put(&t, ": it survives no host failure");
	if (p->kind == HA_POLICY_NONE) {
		text_put(&t, "; HA admission control is off, leaving ");
	} else if (out->all_reserved) {
		text_put(&t, "; its policy (%s) keeps all of it free (%d host%s count%s): no power-on is admitted", policy,
		    out->nhosts,
		    out->nhosts == 1 ? "" : "s", out->nhosts == 1 ? "s" : "");
		return 0;
	} else {
		text_put(&t, "; its policy (%s) keeps ", policy);
		put_share(&t, HA_CPU, out->reserved[HA_CPU], out->reserved_pct[HA_CPU], out->total[HA_CPU]);
		text_put(&t, " and ");
		put_share(&t, HA_MEM, out->reserved[HA_MEM], out->reserved_pct[HA_MEM], out->total[HA_MEM]);
		text_put(&t, " free, leaving ");
	}
	put_share(&t, HA_CPU, out->free[HA_CPU], out->free_pct[HA_CPU], out->total[HA_CPU]);
	text_put(&t, " and ");
	put_share(&t, HA_MEM, out->free[HA_MEM], out->free_pct[HA_MEM], out->total[HA_MEM]);
	text_put(&t, " for power-ons");
	return 0;
}

/* The resources flagged in which, each written by f, sep between. */
static void put_each(struct text *t, const bool which[HA_NRES], const int64_t v[HA_NRES], const char *sep,
                     void (*f)(struct text *, enum ha_res, int64_t))
{
	for (int r = 0, n = 0; r < HA_NRES; r++)
		if (which[r]) {
			if (n++)
				text_put(t, "%s", sep);
			f(t, (enum ha_res)r, v[r]);
		}
}

/* "16384 MiB of memory", "16 vCPUs": what is kept. */
static void put_kept(struct text *t, enum ha_res r, int64_t v)
{
	put_amount(t, r, v);
	if (r == HA_MEM)
		text_put(t, " of memory");
}

/* What a power-on would leave: "12288 MiB", or "none (4096 MiB more
 * than the cluster has)". */
static void put_left(struct text *t, enum ha_res r, int64_t v)
{
	if (v >= 0) {
		put_amount(t, r, v);
		return;
	}
	text_put(t, "none (");
	put_amount(t, r, -v);
	text_put(t, " more than the cluster has)");
}

static bool refuse(struct ha_admission_verdict *v)
{
	v->ok = false;
	return false;
}

bool ha_admission_check(const struct ha_admission_cluster *c, const struct ha_policy *p, const char *vm, int vcpus,
                        int64_t memory_mib, struct ha_admission_verdict *v)
{
	if (!v)
		return false;
	memset(v, 0, sizeof(*v));
	if (validate(c, p, v->reason, sizeof(v->reason)) < 0)
		return refuse(v);
	const char *name = vm ? vm : "the VM";
	if (vcpus < 1 || vcpus > PLACEMENT_MAX_CPUS || memory_mib < 1 || memory_mib > PLACEMENT_MAX_MIB) {
		invalid(v->reason, sizeof(v->reason), "%s needs 1 to %d vCPUs and 1 to %lld MiB", name, PLACEMENT_MAX_CPUS,
		        (long long)PLACEMENT_MAX_MIB);
		return refuse(v);
	}
	struct text t = {v->reason, sizeof(v->reason), 0};
	if (p->kind == HA_POLICY_NONE) {
		text_put(&t, "HA admission control is off in cluster %s: %s may power on", cluster_name(c), name);
		v->ok = true;
		return true;
	}
	struct ha_capacity k = {0};
	compute(c, p, &k);
	char policy[80];
	ha_policy_format(p, policy, sizeof(policy));
	const int64_t need[HA_NRES] = {vcpus, memory_mib};
	if (k.nhosts == 0) {
		text_put(&t, "cluster %s has no host connected and out of maintenance: HA admission control (%s) cannot "
		        "admit %s (%d vCPU%s, %lld MiB); add a host, or end a host's maintenance",
		    cluster_name(c), policy, name, vcpus, vcpus == 1 ? "" : "s", (long long)memory_mib);
		v->short_of[HA_CPU] = v->short_of[HA_MEM] = true;
		return refuse(v);
	}
	if (k.all_reserved) {
		text_put(&t, "HA admission control (%s) keeps all of cluster %s free: it has %d host%s connected and out of "
		        "maintenance, so no VM may power on and %s is refused; lower the policy or add hosts",
		    policy, cluster_name(c), k.nhosts, k.nhosts == 1 ? "" : "s", name);
		v->short_of[HA_CPU] = v->short_of[HA_MEM] = true;
		return refuse(v);
	}
	int64_t left[HA_NRES], after[HA_NRES];
	bool any = false;
	for (int r = 0; r < HA_NRES; r++) {
		left[r] = k.total[r] - k.load[r] - need[r]; /* what the power-on would leave free */
		after[r] = left[r] - k.reserved[r];         /* beyond what the policy keeps */
		v->short_of[r] = after[r] < 0;
		any |= v->short_of[r];
	}
	if (any) {
		text_put(&t, "HA admission control (%s) keeps ", policy);
		put_each(&t, v->short_of, k.reserved, " and ", put_kept);
		text_put(&t, " free in cluster %s; powering on %s (", cluster_name(c), name);
		put_each(&t, v->short_of, need, ", ", put_amount);
		text_put(&t, ") would leave ");
		put_each(&t, v->short_of, left, " and ", put_left);
		text_put(&t, ": lower the policy or add capacity");
		return refuse(v);
	}
	text_put(&t, "HA admission control (%s) admits %s (%d vCPU%s, %lld MiB) in cluster %s: ", policy, name, vcpus,
	    vcpus == 1 ? "" : "s", (long long)memory_mib, cluster_name(c));
	put_amount(&t, HA_CPU, after[HA_CPU]);
	text_put(&t, " and ");
	put_amount(&t, HA_MEM, after[HA_MEM]);
	text_put(&t, " stay free beyond the ");
	put_amount(&t, HA_CPU, k.reserved[HA_CPU]);
	text_put(&t, " and ");
	put_amount(&t, HA_MEM, k.reserved[HA_MEM]);
	text_put(&t, " kept for failover");
	v->ok = true;
	return true;
}

int ha_admission_hosts(const struct placement_snapshot *s, int cluster, struct ha_admission_host *hosts, int max)
{
	if (!s || (s->nhosts > 0 && !s->hosts) || cluster < 0 || cluster >= s->nclusters || !s->clusters ||
	    max < 0 || (max > 0 && !hosts))
		return -1;
	const struct placement_cluster *cl = &s->clusters[cluster];
	int n = 0;
	for (int i = 0; i < s->nhosts; i++) {
		const struct placement_host *h = &s->hosts[i];
		if (h->cluster != cluster)
			continue;
		if (n == max)
			return -1;
		hosts[n++] = (struct ha_admission_host){
			.name = h->name,
			.counts = h->state == PLACEMENT_CONNECTED,
			.capacity = {placement_capacity(h->cpus, cl->cpu_overcommit),
			             placement_capacity(h->memory_mib, cl->mem_overcommit)},
		};
	}
	return n;
}
