/* placement.h - picks a host for a new VM: a pure function from a snapshot of
 * the fleet to a choice plus, for every host, why it was or was not chosen.
 * Filters first (the first one to reject a host is its reason), then weighers
 * (pack or spread, per cluster), as in Nova's filter scheduler. No I/O, no
 * allocation while deciding; names are interned to small ids by the caller. */
#ifndef VDC_PLACEMENT_H
#define VDC_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Datastore and network ids are 0 .. PLACEMENT_SET_BITS-1 (per snapshot). */
#define PLACEMENT_SET_BITS 256
/* Scores run 0 .. PLACEMENT_SCORE_MAX; higher is better. */
#define PLACEMENT_SCORE_MAX 1000000
/* A request may name at most this many rules. */
#define PLACEMENT_MAX_VM_RULES 16
/* Bounds that keep every sum and product exact (1 EiB; 1M CPUs; ratios). */
#define PLACEMENT_MAX_MIB ((int64_t)1 << 40)
#define PLACEMENT_MAX_CPUS (1 << 20)
#define PLACEMENT_MAX_OVERCOMMIT 1000.0

/* A set of small ids (datastores, networks) as a bitmap. */
struct placement_set {
	uint64_t w[PLACEMENT_SET_BITS / 64];
};

static inline void placement_set_add(struct placement_set *s, int id)
{
	if (id >= 0 && id < PLACEMENT_SET_BITS)
		s->w[id >> 6] |= (uint64_t)1 << (id & 63);
}

static inline bool placement_set_has(const struct placement_set *s, int id)
{
	return id >= 0 && id < PLACEMENT_SET_BITS && (s->w[id >> 6] >> (id & 63) & 1);
}

enum placement_policy {
	PLACEMENT_PACK,   /* the host most allocated after placement: fewest hosts in use */
	PLACEMENT_SPREAD, /* the host least allocated after placement: most headroom each */
};

enum placement_host_state {
	PLACEMENT_CONNECTED,
	PLACEMENT_DISCONNECTED,
	PLACEMENT_MAINTENANCE,
};

/* Rules between VMs. Only members already placed count, and never the VM
 * being placed (a member of the request's own name), so the same rules serve
 * re-placing a running VM. */
enum placement_rule_type {
	PLACEMENT_AFFINITY,      /* join the one host the placed members run on; when they
	                          * run on several hosts already, no host fits */
	PLACEMENT_ANTI_AFFINITY, /* no host that runs a placed member */
};

/* The filters in the order they run; a rejected host's verdict names the
 * first that failed. Structural reasons come before capacity, so "lacked
 * memory" means the host would otherwise have been a candidate. */
enum placement_filter {
	PLACEMENT_OK,            /* passed every filter: eligible */
	PLACEMENT_F_CURRENT,     /* runs the VM already (a running VM re-placed: a migration) */
	PLACEMENT_F_CLUSTER,     /* not in the cluster the request names */
	PLACEMENT_F_DISCONNECTED,
	PLACEMENT_F_MAINTENANCE,
	PLACEMENT_F_DATASTORE,   /* does not reach the VM's datastore */
	PLACEMENT_F_NETWORK,     /* does not reach one of the VM's networks */
	PLACEMENT_F_AFFINITY,    /* the VM's affinity partners run elsewhere */
	PLACEMENT_F_ANTI_AFFINITY, /* already runs a member of the VM's anti-affinity rule */
	PLACEMENT_F_CPU_COUNT,   /* fewer physical CPUs than the VM has vCPUs (never runs well) */
	PLACEMENT_F_CPU,         /* not enough vCPUs free under the cluster's overcommit */
	PLACEMENT_F_MEMORY,      /* not enough memory free under the cluster's overcommit */
	PLACEMENT_F_RESERVATION, /* cannot keep the VM's reservation beside its running VMs' */
	PLACEMENT_NFILTERS,
};

struct placement_cluster {
	const char *name;
	double cpu_overcommit; /* vCPUs per physical CPU, e.g. 4.0; 0 < x <= 1000 */
	double mem_overcommit; /* e.g. 1.0 (none); 0 < x <= 1000 */
	enum placement_policy policy;
};

struct placement_host {
	const char *name;
	int cluster; /* index into the snapshot's clusters */
	enum placement_host_state state;
	int cpus;                 /* physical CPUs, 0 .. PLACEMENT_MAX_CPUS */
	int64_t memory_mib;       /* physical (usable) memory, 0 .. PLACEMENT_MAX_MIB */
	int alloc_vcpus;          /* already given to VMs, 0 .. PLACEMENT_MAX_CPUS * 1000 */
	int64_t alloc_memory_mib; /* 0 .. PLACEMENT_MAX_MIB * 1000 */
	/* What its running VMs reserve (resource pools): never more than the
	 * host has, whatever the overcommit. CPU in percent of one CPU. */
	int64_t reserved_cpu_pct;    /* 0 .. PLACEMENT_MAX_CPUS * 100 * 1000 */
	int64_t reserved_memory_mib; /* 0 .. PLACEMENT_MAX_MIB * 1000 */
	struct placement_set datastores;
	struct placement_set networks;
};

/* A VM named by a rule and where it runs now (-1: not placed). */
struct placement_member {
	const char *vm;
	int host;
};

struct placement_rule {
	const char *name;
	enum placement_rule_type type;
	const struct placement_member *members;
	int nmembers;
};

struct placement_snapshot {
	const struct placement_host *hosts;
	int nhosts;
	const struct placement_cluster *clusters;
	int nclusters;
	const struct placement_rule *rules; /* only those a request names are read */
	int nrules;
	/* Optional (NULL): names of datastore / network ids, for the sentences. */
	const char *const *datastore_names;
	int ndatastore_names;
	const char *const *network_names;
	int nnetwork_names;
};

struct placement_request {
	const char *vm;        /* its name; rule members of this name are itself (may be NULL) */
	int vcpus;             /* >= 1 */
	int64_t memory_mib;    /* >= 1 */
	int datastore;         /* id, or -1 when it needs none */
	struct placement_set networks;
	int cluster;           /* index, or -1 for any cluster */
	const int *rules;      /* indices of the rules the VM is a member of */
	int nrules;            /* 0 .. PLACEMENT_MAX_VM_RULES */
	int64_t reserve_cpu_pct;    /* what it reserves while it runs: 0 .. PLACEMENT_MAX_CPUS * 100 */
	int64_t reserve_memory_mib; /* 0 .. PLACEMENT_MAX_MIB */
	bool moving;           /* a running VM re-placed (migration): never onto moving_from */
	int moving_from;       /* with moving: the index of the host it runs on */
};

/* Why one host was or was not chosen. The numbers belong to the filter. */
struct placement_verdict {
	enum placement_filter filter; /* PLACEMENT_OK or the first filter that rejected */
	int rank;     /* eligible: 1 (the choice), 2, ...; rejected: 0 */
	int score;    /* eligible: 0..PLACEMENT_SCORE_MAX under its cluster's policy */
	int id;       /* DATASTORE/NETWORK: the id not reached; (ANTI_)AFFINITY: rule index;
	               * RESERVATION: 0 CPU (percent of one), 1 memory (MiB) */
	int where;    /* AFFINITY: host the partners run on, -2 when on several;
	               * ANTI_AFFINITY: index of the member already on this host */
	int64_t need; /* CPU, CPU_COUNT: vCPUs; MEMORY: MiB the VM needs;
	               * RESERVATION: what it reserves */
	int64_t free; /* CPU/MEMORY: capacity - allocated (negative when over);
	               * RESERVATION: capacity - reserved */
	int64_t capacity; /* CPU/MEMORY: physical x overcommit, rounded down;
	                   * CPU_COUNT: the host's physical CPUs;
	                   * RESERVATION: physical (CPUs x 100, or MiB) */
};

struct placement_result {
	int host;       /* the chosen host index, or -1 when none fits */
	int neligible;
	int count[PLACEMENT_NFILTERS]; /* hosts per verdict; count[PLACEMENT_OK] == neligible */
	int error_index; /* after an error: the host, cluster or rule at fault, else -1 */
	struct placement_verdict *verdicts; /* [nhosts], in host order */
	int *order;     /* [nordered]: eligible host indices, best first */
	int nordered;   /* how many hosts order ranks: neligible, or top when fewer */
	int top;        /* set by the caller: > 0 ranks only the best `top` eligible
	                 * hosts (the others keep rank 0), in O(hosts x top) instead
	                 * of sorting them all; 0 ranks every eligible host */
	int max_hosts;  /* capacity of the arrays */
	int *scratch_;  /* internal */
};

/* Error codes (negative) of placement_choose_host. */
enum placement_error {
	PLACEMENT_ERR_ARG = -1,      /* NULL pointer, or a count < 0 */
	PLACEMENT_ERR_NO_HOSTS = -2, /* the snapshot has no hosts */
	PLACEMENT_ERR_TOO_MANY = -3, /* more hosts than the result was made for */
	PLACEMENT_ERR_CLUSTER = -4,  /* overcommit <= 0, > 1000 or not finite; bad policy */
	PLACEMENT_ERR_HOST = -5,     /* size out of bounds, bad cluster index or state */
	PLACEMENT_ERR_REQUEST = -6,  /* vcpus or memory < 1 or too large; id out of range */
	PLACEMENT_ERR_RULE = -7,     /* bad rule index or type, member host out of range */
};

/* Allocates r's arrays for snapshots of up to max_hosts hosts (>= 1), so that
 * deciding allocates nothing. Returns 0, or -1 (out of memory, bad size) with
 * r zeroed. Free with placement_result_free. */
int placement_result_init(struct placement_result *r, int max_hosts);
/* Frees r's arrays and zeroes it; a zeroed r is fine. */
void placement_result_free(struct placement_result *r);

/* Decides where q goes in s. Fills r completely: the choice (r->host, -1 when
 * no host passes every filter, which is not an error), a verdict per host,
 * the eligible hosts best first and the count per reason. Reads s and q only;
 * r may be reused for any number of decisions. Each eligible host is scored
 * by its own cluster's policy (placement_score); ties go to the lower index.
 * Returns 0, or a placement_error with r->host = -1, r->neligible and the
 * counts 0 and r->error_index set; the verdicts are then not meaningful.
 * Costs O(hosts + members of the request's rules), no allocation. */
int placement_choose_host(const struct placement_snapshot *s, const struct placement_request *q,
                          struct placement_result *r);

/* The same choice, count per reason and neligible as placement_choose_host,
 * for callers that need only the winner (a simulator placing 100,000 VMs):
 * no ordering of the eligible hosts. Only r->verdicts[r->host] and
 * r->order[0] are filled (so placement_format_summary works; the other
 * verdicts do not). Costs O(hosts), no allocation. */
int placement_choose_best(const struct placement_snapshot *s, const struct placement_request *q,
                          struct placement_result *r);

/* The score a host gets under policy when a VM of (vcpus, memory) lands on it
 * and its capacities are (cpu_cap, mem_cap): the mean of the two allocated
 * fractions after placement, in millionths (pack), or its complement (spread).
 * Exposed so that tests and tools can check it. */
int placement_score(enum placement_policy policy, int64_t vcpus_after, int64_t cpu_cap,
                    int64_t mem_after, int64_t mem_cap);

/* Capacity under overcommit: floor(physical x ratio), robust to binary
 * rounding (3 x 1.1 is 3; 10 x 0.7 is 7). */
int64_t placement_capacity(int64_t physical, double ratio);

/* Stable lower-case names for the API: "ok", "cluster", "disconnected",
 * "maintenance", "datastore", "network", "affinity", "anti_affinity",
 * "cpu_count", "cpu", "memory"; "unknown" otherwise. */
const char *placement_filter_name(enum placement_filter f);
/* "pack" or "spread". */
const char *placement_policy_name(enum placement_policy p);
/* A sentence for an error code of placement_choose_host. */
const char *placement_strerror(int err);

/* Writes the sentence for host's verdict in r (the result of deciding q in
 * s), e.g. "not enough memory: needs 4096 MiB, 2048 free of 16384 (16384 MiB
 * x overcommit 1.0)". snprintf's contract: returns the length it wanted,
 * the text is cut (and NUL-terminated) to len; -1 on a bad argument. */
int placement_format_verdict(const struct placement_snapshot *s, const struct placement_request *q,
                             const struct placement_result *r, int host, char *buf, size_t len);
/* Writes the decision in one line: "placed on host-7 (pack: most allocated
 * that fits, score 0.912); 12 of 20 hosts eligible; 3 hosts lacked memory, 1
 * in maintenance", or "no host fits: ..." naming every blocking reason with its
 * count, largest first. Same contract as placement_format_verdict. */
int placement_format_summary(const struct placement_snapshot *s, const struct placement_request *q,
                             const struct placement_result *r, char *buf, size_t len);

#endif
