/* placement_format.c - placement's verdicts as sentences for the API and the
 * CLI: one per host, and one line for the whole decision. Not on the hot path:
 * the decision records enums and numbers; only a reader asks for words. */
#include "placement.h"

#include <stdarg.h>
#include <stdio.h>

/* An snprintf that appends: out->want counts what the whole text needs. */
struct out {
	char *buf;
	size_t len;
	size_t want;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	size_t at = o->want < o->len ? o->want : o->len ? o->len - 1 : 0;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->len ? o->buf + at : NULL, o->len ? o->len - at : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->want += (size_t)n;
}

static int done(struct out *o)
{
	return o->want > (size_t)2147483647 ? 2147483647 : (int)o->want;
}

const char *placement_filter_name(enum placement_filter f)
{
	static const char *const names[PLACEMENT_NFILTERS] = {
		[PLACEMENT_OK] = "ok",
		[PLACEMENT_F_CURRENT] = "current",
		[PLACEMENT_F_CLUSTER] = "cluster",
		[PLACEMENT_F_DISCONNECTED] = "disconnected",
		[PLACEMENT_F_MAINTENANCE] = "maintenance",
		[PLACEMENT_F_DATASTORE] = "datastore",
		[PLACEMENT_F_NETWORK] = "network",
		[PLACEMENT_F_AFFINITY] = "affinity",
		[PLACEMENT_F_ANTI_AFFINITY] = "anti_affinity",
		[PLACEMENT_F_CPU_COUNT] = "cpu_count",
		[PLACEMENT_F_CPU] = "cpu",
		[PLACEMENT_F_MEMORY] = "memory",
		[PLACEMENT_F_RESERVATION] = "reservation",
	};
	return (unsigned)f < PLACEMENT_NFILTERS ? names[f] : "unknown";
}

const char *placement_policy_name(enum placement_policy p)
{
	return p == PLACEMENT_PACK ? "pack" : p == PLACEMENT_SPREAD ? "spread" : "unknown";
}

const char *placement_strerror(int err)
{
	switch (err) {
	case 0: return "no error";
	case PLACEMENT_ERR_ARG: return "missing snapshot, request or result, or a negative count";
	case PLACEMENT_ERR_NO_HOSTS: return "the fleet has no hosts";
	case PLACEMENT_ERR_TOO_MANY: return "more hosts than the result was made for";
	case PLACEMENT_ERR_CLUSTER: return "a cluster's overcommit must be above 0 and at most 1000, "
	                                   "and its policy pack or spread";
	case PLACEMENT_ERR_HOST: return "a host has a size out of bounds, an unknown cluster or state";
	case PLACEMENT_ERR_REQUEST: return "the request needs at least 1 vCPU and 1 MiB, and known "
	                                   "datastore, network and cluster ids";
	case PLACEMENT_ERR_RULE: return "the request names an unknown rule, too many rules, or a "
	                                "rule places a member on an unknown host";
	default: return "unknown placement error";
	}
}

/* Prints a name, or what it is and its index when there is none. */
static void put_name(struct out *o, const char *name, const char *what, int index)
{
	if (name)
		put(o, "%s", name);
	else
		put(o, "%s %d", what, index);
}

static void put_id(struct out *o, const char *const *names, int nnames, const char *what, int id)
{
	put_name(o, names && id >= 0 && id < nnames ? names[id] : NULL, what, id);
}

static void put_host(struct out *o, const struct placement_snapshot *s, int h)
{
	put_name(o, h >= 0 && h < s->nhosts ? s->hosts[h].name : NULL, "host", h);
}

/* 4 prints as "4.0" and 1.25 as "1.25": a ratio always looks like one. */
static void put_ratio(struct out *o, double x)
{
	if (x == (double)(long long)x)
		put(o, "%.1f", x);
	else
		put(o, "%g", x);
}

static const char *plural(int64_t n)
{
	return n == 1 ? "" : "s";
}

/* "needs 4 vCPUs, 3 free of 32 (8 CPUs x overcommit 4.0)"; memory has no
 * plural ("MiB"), so cpu says whether its units take one. */
static void put_capacity(struct out *o, const struct placement_verdict *v, bool cpu,
                         int64_t physical, double ratio)
{
	if (cpu)
		put(o, "needs %lld vCPU%s, ", (long long)v->need, plural(v->need));
	else
		put(o, "needs %lld MiB, ", (long long)v->need);
	if (v->free >= 0)
		put(o, "%lld free", (long long)v->free);
	else
		put(o, "none free (%lld over)", (long long)-v->free);
	if (cpu)
		put(o, " of %lld (%lld CPU%s x overcommit ", (long long)v->capacity,
		    (long long)physical, plural(physical));
	else
		put(o, " of %lld (%lld MiB x overcommit ", (long long)v->capacity, (long long)physical);
	put_ratio(o, ratio);
	put(o, ")");
}

static void put_rejection(struct out *o, const struct placement_snapshot *s,
                          const struct placement_request *q, int host,
                          const struct placement_verdict *v)
{
	const struct placement_host *h = &s->hosts[host];
	const struct placement_cluster *cl = &s->clusters[h->cluster];
	const struct placement_rule *ru =
		v->id >= 0 && v->id < s->nrules ? &s->rules[v->id] : NULL;
	switch (v->filter) {
	case PLACEMENT_F_CURRENT:
		put(o, "runs the VM now");
		break;
	case PLACEMENT_F_CLUSTER:
		put(o, "not in cluster ");
		put_name(o, s->clusters[q->cluster].name, "cluster", q->cluster);
		put(o, " (host is in ");
		put_name(o, cl->name, "cluster", h->cluster);
		put(o, ")");
		break;
	case PLACEMENT_F_DISCONNECTED:
		put(o, "host is disconnected");
		break;
	case PLACEMENT_F_MAINTENANCE:
		put(o, "host is in maintenance");
		break;
	case PLACEMENT_F_DATASTORE:
		put(o, "does not reach datastore ");
		put_id(o, s->datastore_names, s->ndatastore_names, "datastore", v->id);
		break;
	case PLACEMENT_F_NETWORK:
		put(o, "does not reach network ");
		put_id(o, s->network_names, s->nnetwork_names, "network", v->id);
		break;
	case PLACEMENT_F_AFFINITY:
		put(o, "affinity rule ");
		put_name(o, ru ? ru->name : NULL, "rule", v->id);
		if (v->where >= 0) {
			put(o, ": its other members run on ");
			put_host(o, s, v->where);
		} else {
			put(o, ": its other members already run on several hosts");
		}
		break;
	case PLACEMENT_F_ANTI_AFFINITY:
		put(o, "anti-affinity rule ");
		put_name(o, ru ? ru->name : NULL, "rule", v->id);
		put(o, ": already runs member ");
		put_name(o, ru && v->where >= 0 && v->where < ru->nmembers ? ru->members[v->where].vm
		                                                            : NULL,
		         "member", v->where);
		break;
	case PLACEMENT_F_CPU_COUNT:
		put(o, "too few CPUs: the VM has %lld vCPU%s, the host only %lld CPU%s",
		    (long long)v->need, plural(v->need), (long long)v->capacity,
		    plural(v->capacity));
		break;
	case PLACEMENT_F_CPU:
		put(o, "not enough CPU: ");
		put_capacity(o, v, true, h->cpus, cl->cpu_overcommit);
		break;
	case PLACEMENT_F_MEMORY:
		put(o, "not enough memory: ");
		put_capacity(o, v, false, h->memory_mib, cl->mem_overcommit);
		break;
	case PLACEMENT_F_RESERVATION:
		if (v->id == 0)
			put(o, "cannot keep its reservation: it reserves %lld%% CPU, %lld%% of the host's %lld%% are free "
			    "of its running VMs' reservations", (long long)v->need, (long long)v->free, (long long)v->capacity);
		else
			put(o, "cannot keep its reservation: it reserves %lld MiB, %lld MiB of the host's %lld MiB are free "
			    "of its running VMs' reservations", (long long)v->need, (long long)v->free, (long long)v->capacity);
		break;
	default:
		put(o, "unknown reason %d", (int)v->filter);
	}
}

static void put_policy(struct out *o, enum placement_policy p)
{
	put(o, "%s", p == PLACEMENT_PACK ? "pack: most allocated that fits"
	                                 : "spread: least allocated that fits");
}

int placement_format_verdict(const struct placement_snapshot *s, const struct placement_request *q,
                             const struct placement_result *r, int host, char *buf, size_t len)
{
	if (!s || !q || !r || !r->verdicts || (!buf && len) || host < 0 || host >= s->nhosts ||
	    host >= r->max_hosts)
		return -1;
	struct out o = {buf, len, 0};
	if (len)
		buf[0] = '\0';
	const struct placement_verdict *v = &r->verdicts[host];
	if (v->filter != PLACEMENT_OK) {
		put_rejection(&o, s, q, host, v);
		return done(&o);
	}
	const struct placement_host *h = &s->hosts[host];
	const struct placement_cluster *cl = &s->clusters[h->cluster];
	put(&o, "%s (rank %d of %d): score %.3f under ", v->rank == 1 ? "chosen" : "eligible",
	    v->rank, r->neligible, (double)v->score / PLACEMENT_SCORE_MAX);
	put_policy(&o, cl->policy);
	put(&o, "; after placement %lld of %lld vCPUs, %lld of %lld MiB",
	    (long long)h->alloc_vcpus + q->vcpus,
	    (long long)placement_capacity(h->cpus, cl->cpu_overcommit),
	    (long long)(h->alloc_memory_mib + q->memory_mib),
	    (long long)placement_capacity(h->memory_mib, cl->mem_overcommit));
	return done(&o);
}

/* How a count of hosts rejected by f reads after the number. */
static void put_reason(struct out *o, const struct placement_snapshot *s,
                       const struct placement_request *q, enum placement_filter f)
{
	int nnet = 0, net = -1;
	switch (f) {
	case PLACEMENT_F_CURRENT: put(o, "running it now"); break;
	case PLACEMENT_F_CLUSTER:
		put(o, "outside cluster ");
		put_name(o, s->clusters[q->cluster].name, "cluster", q->cluster);
		break;
	case PLACEMENT_F_DISCONNECTED: put(o, "disconnected"); break;
	case PLACEMENT_F_MAINTENANCE: put(o, "in maintenance"); break;
	case PLACEMENT_F_DATASTORE:
		put(o, "without datastore ");
		put_id(o, s->datastore_names, s->ndatastore_names, "datastore", q->datastore);
		break;
	case PLACEMENT_F_NETWORK:
		for (int id = 0; id < PLACEMENT_SET_BITS; id++)
			if (placement_set_has(&q->networks, id)) {
				nnet++;
				net = id;
			}
		if (nnet == 1) {
			put(o, "without network ");
			put_id(o, s->network_names, s->nnetwork_names, "network", net);
		} else {
			put(o, "without one of its networks");
		}
		break;
	case PLACEMENT_F_AFFINITY: put(o, "away from its affinity partners"); break;
	case PLACEMENT_F_ANTI_AFFINITY: put(o, "running an anti-affinity partner"); break;
	case PLACEMENT_F_CPU_COUNT: put(o, "with fewer CPUs than its vCPUs"); break;
	case PLACEMENT_F_CPU: put(o, "lacked CPU"); break;
	case PLACEMENT_F_MEMORY: put(o, "lacked memory"); break;
	case PLACEMENT_F_RESERVATION: put(o, "could not keep its reservation"); break;
	default: put(o, "unknown"); break;
	}
}

int placement_format_summary(const struct placement_snapshot *s, const struct placement_request *q,
                             const struct placement_result *r, char *buf, size_t len)
{
	if (!s || !q || !r || (!buf && len) || (r->host >= 0 && (!s->hosts || r->host >= s->nhosts)))
		return -1;
	struct out o = {buf, len, 0};
	if (len)
		buf[0] = '\0';
	if (r->host >= 0) {
		const struct placement_host *h = &s->hosts[r->host];
		put(&o, "placed on ");
		put_host(&o, s, r->host);
		put(&o, " (");
		put_policy(&o, s->clusters[h->cluster].policy);
		put(&o, ", score %.3f); %d of %d hosts eligible",
		    (double)r->verdicts[r->host].score / PLACEMENT_SCORE_MAX, r->neligible,
		    s->nhosts);
	} else {
		put(&o, "no host fits");
	}
	/* The reasons, most common first; equal counts in filter order. */
	bool used[PLACEMENT_NFILTERS] = {false};
	for (int k = 0;; k++) {
		int best = -1;
		for (int f = 1; f < PLACEMENT_NFILTERS; f++)
			if (!used[f] && r->count[f] > 0 && (best < 0 || r->count[f] > r->count[best]))
				best = f;
		if (best < 0) {
			if (k == 0 && r->host < 0)
				put(&o, ": the fleet has no hosts");
			break;
		}
		used[best] = true;
		if (k)
			put(&o, ", %d ", r->count[best]);
		else
			put(&o, "%s%d %s ", r->host >= 0 ? "; " : ": ", r->count[best],
			    r->count[best] == 1 ? "host" : "hosts");
		put_reason(&o, s, q, (enum placement_filter)best);
	}
	return done(&o);
}
