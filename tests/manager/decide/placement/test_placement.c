/* test_placement.c - placement's contract as C tables (refused inputs, capacity
 * and score arithmetic, verdict numbers, sentence fallbacks), and a property
 * test checking decisions on random fleets against the filters restated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "placement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A small valid world that each table row then breaks in one way. */
struct world {
	struct placement_cluster clusters[2];
	struct placement_host hosts[3];
	struct placement_member members[2];
	struct placement_rule rules[2];
	int qrules[PLACEMENT_MAX_VM_RULES + 1];
	struct placement_snapshot s;
	struct placement_request q;
};

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->clusters[0] = (struct placement_cluster){"a", 4.0, 1.0, PLACEMENT_PACK};
	w->clusters[1] = (struct placement_cluster){"b", 1.0, 1.5, PLACEMENT_SPREAD};
	for (int i = 0; i < 3; i++) {
		w->hosts[i] = (struct placement_host){.name = NULL, .cluster = i % 2,
		                                      .state = PLACEMENT_CONNECTED, .cpus = 8,
		                                      .memory_mib = 16384};
		placement_set_add(&w->hosts[i].datastores, 0);
		placement_set_add(&w->hosts[i].networks, 1);
	}
	w->members[0] = (struct placement_member){"x", 0};
	w->members[1] = (struct placement_member){"y", -1};
	w->rules[0] = (struct placement_rule){"anti", PLACEMENT_ANTI_AFFINITY, w->members, 2};
	w->rules[1] = (struct placement_rule){"aff", PLACEMENT_AFFINITY, w->members, 1};
	w->s = (struct placement_snapshot){.hosts = w->hosts, .nhosts = 3, .clusters = w->clusters,
	                                   .nclusters = 2, .rules = w->rules, .nrules = 2};
	w->qrules[0] = 0;
	w->q = (struct placement_request){.vm = "y", .vcpus = 2, .memory_mib = 1024,
	                                  .datastore = 0, .cluster = -1, .rules = w->qrules,
	                                  .nrules = 1};
	placement_set_add(&w->q.networks, 1);
}

enum breakage {
	B_NONE, B_NHOSTS_NEG, B_HOSTS_NULL, B_NCLUSTERS_NEG, B_CLUSTERS_NULL, B_NO_HOSTS,
	B_CPU_OC, B_MEM_OC, B_POLICY, B_HOST_CLUSTER, B_HOST_STATE, B_HOST_CPUS, B_HOST_MEM,
	B_HOST_ALLOC_CPU, B_HOST_ALLOC_MEM, B_Q_VCPUS, B_Q_MEM, B_Q_DS, B_Q_CLUSTER, B_Q_RULE,
	B_Q_NRULES, B_RULE_TYPE, B_RULE_NMEMBERS, B_MEMBER_HOST, B_Q_RULES_NULL,
};

static void breakit(struct world *w, enum breakage b, double x)
{
	switch (b) {
	case B_NONE: break;
	case B_NHOSTS_NEG: w->s.nhosts = -1; break;
	case B_HOSTS_NULL: w->s.hosts = NULL; break;
	case B_NCLUSTERS_NEG: w->s.nclusters = -1; break;
	case B_CLUSTERS_NULL: w->s.clusters = NULL; break;
	case B_NO_HOSTS: w->s.nhosts = 0; break;
	case B_CPU_OC: w->clusters[1].cpu_overcommit = x; break;
	case B_MEM_OC: w->clusters[1].mem_overcommit = x; break;
	case B_POLICY: w->clusters[1].policy = (enum placement_policy)(int)x; break;
	case B_HOST_CLUSTER: w->hosts[2].cluster = (int)x; break;
	case B_HOST_STATE: w->hosts[2].state = (enum placement_host_state)(int)x; break;
	case B_HOST_CPUS: w->hosts[2].cpus = (int)x; break;
	case B_HOST_MEM: w->hosts[2].memory_mib = (int64_t)x; break;
	case B_HOST_ALLOC_CPU: w->hosts[2].alloc_vcpus = (int)x; break;
	case B_HOST_ALLOC_MEM: w->hosts[2].alloc_memory_mib = (int64_t)x; break;
	case B_Q_VCPUS: w->q.vcpus = (int)x; break;
	case B_Q_MEM: w->q.memory_mib = (int64_t)x; break;
	case B_Q_DS: w->q.datastore = (int)x; break;
	case B_Q_CLUSTER: w->q.cluster = (int)x; break;
	case B_Q_RULE: w->qrules[0] = (int)x; break;
	case B_Q_NRULES:
		for (int k = 0; k < (int)x && k < (int)ARRAY_LEN(w->qrules); k++)
			w->qrules[k] = 0;
		w->q.nrules = (int)x;
		break;
	case B_RULE_TYPE: w->rules[0].type = (enum placement_rule_type)(int)x; break;
	case B_RULE_NMEMBERS: w->rules[0].nmembers = (int)x; break;
	case B_MEMBER_HOST: w->members[1].host = (int)x; break;
	case B_Q_RULES_NULL: w->q.rules = NULL; break;
	}
}

static void test_refused_inputs(void **state)
{
	static const struct {
		const char *what;
		enum breakage b;
		double x;
		int err;
		int index;
	} cases[] = {
		{"valid", B_NONE, 0, 0, -1},
		{"nhosts < 0", B_NHOSTS_NEG, 0, PLACEMENT_ERR_ARG, -1},
		{"hosts NULL", B_HOSTS_NULL, 0, PLACEMENT_ERR_ARG, -1},
		{"nclusters < 0", B_NCLUSTERS_NEG, 0, PLACEMENT_ERR_ARG, -1},
		{"clusters NULL", B_CLUSTERS_NULL, 0, PLACEMENT_ERR_ARG, -1},
		{"rules NULL with nrules", B_Q_RULES_NULL, 0, PLACEMENT_ERR_ARG, -1},
		{"no hosts", B_NO_HOSTS, 0, PLACEMENT_ERR_NO_HOSTS, -1},
		{"cpu overcommit 0", B_CPU_OC, 0, PLACEMENT_ERR_CLUSTER, 1},
		{"cpu overcommit < 0", B_CPU_OC, -2, PLACEMENT_ERR_CLUSTER, 1},
		{"cpu overcommit NaN", B_CPU_OC, NAN, PLACEMENT_ERR_CLUSTER, 1},
		{"cpu overcommit inf", B_CPU_OC, INFINITY, PLACEMENT_ERR_CLUSTER, 1},
		{"cpu overcommit 1000.5", B_CPU_OC, 1000.5, PLACEMENT_ERR_CLUSTER, 1},
		{"cpu overcommit 1000 is the limit", B_CPU_OC, 1000, 0, -1},
		{"cpu overcommit tiny", B_CPU_OC, 1e-9, 0, -1},
		{"mem overcommit 0", B_MEM_OC, 0, PLACEMENT_ERR_CLUSTER, 1},
		{"mem overcommit -inf", B_MEM_OC, -INFINITY, PLACEMENT_ERR_CLUSTER, 1},
		{"policy unknown", B_POLICY, 7, PLACEMENT_ERR_CLUSTER, 1},
		{"host cluster -1", B_HOST_CLUSTER, -1, PLACEMENT_ERR_HOST, 2},
		{"host cluster too big", B_HOST_CLUSTER, 2, PLACEMENT_ERR_HOST, 2},
		{"host state unknown", B_HOST_STATE, 9, PLACEMENT_ERR_HOST, 2},
		{"host cpus < 0", B_HOST_CPUS, -1, PLACEMENT_ERR_HOST, 2},
		{"host cpus 0 is a host that fits nothing", B_HOST_CPUS, 0, 0, -1},
		{"host cpus too many", B_HOST_CPUS, PLACEMENT_MAX_CPUS + 1, PLACEMENT_ERR_HOST, 2},
		{"host memory < 0", B_HOST_MEM, -1, PLACEMENT_ERR_HOST, 2},
		{"host memory at the limit", B_HOST_MEM, (double)PLACEMENT_MAX_MIB, 0, -1},
		{"host memory past the limit", B_HOST_MEM, (double)PLACEMENT_MAX_MIB + 1,
		 PLACEMENT_ERR_HOST, 2},
		{"host allocated vcpus < 0", B_HOST_ALLOC_CPU, -1, PLACEMENT_ERR_HOST, 2},
		{"host allocated memory < 0", B_HOST_ALLOC_MEM, -5, PLACEMENT_ERR_HOST, 2},
		{"request vcpus 0", B_Q_VCPUS, 0, PLACEMENT_ERR_REQUEST, -1},
		{"request vcpus < 0", B_Q_VCPUS, -4, PLACEMENT_ERR_REQUEST, -1},
		{"request memory 0", B_Q_MEM, 0, PLACEMENT_ERR_REQUEST, -1},
		{"request memory < 0", B_Q_MEM, -1, PLACEMENT_ERR_REQUEST, -1},
		{"request memory too big", B_Q_MEM, (double)PLACEMENT_MAX_MIB + 1,
		 PLACEMENT_ERR_REQUEST, -1},
		{"request datastore -2", B_Q_DS, -2, PLACEMENT_ERR_REQUEST, -1},
		{"request datastore 256", B_Q_DS, PLACEMENT_SET_BITS, PLACEMENT_ERR_REQUEST, -1},
		{"request no datastore", B_Q_DS, -1, 0, -1},
		{"request cluster -2", B_Q_CLUSTER, -2, PLACEMENT_ERR_REQUEST, -1},
		{"request cluster too big", B_Q_CLUSTER, 2, PLACEMENT_ERR_REQUEST, -1},
		{"request rule -1", B_Q_RULE, -1, PLACEMENT_ERR_RULE, -1},
		{"request rule too big", B_Q_RULE, 2, PLACEMENT_ERR_RULE, 2},
		{"request nrules < 0", B_Q_NRULES, -1, PLACEMENT_ERR_ARG, -1},
		{"request 16 rules", B_Q_NRULES, PLACEMENT_MAX_VM_RULES, 0, -1},
		{"request 17 rules", B_Q_NRULES, PLACEMENT_MAX_VM_RULES + 1, PLACEMENT_ERR_RULE, -1},
		{"rule type unknown", B_RULE_TYPE, 3, PLACEMENT_ERR_RULE, 0},
		{"rule nmembers < 0", B_RULE_NMEMBERS, -1, PLACEMENT_ERR_RULE, 0},
		{"member host too big", B_MEMBER_HOST, 3, PLACEMENT_ERR_RULE, 0},
		{"member host -2", B_MEMBER_HOST, -2, PLACEMENT_ERR_RULE, 0},
	};
	struct placement_result r;
	assert_int_equal(placement_result_init(&r, 3), 0);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct world w;
		world_init(&w);
		breakit(&w, cases[i].b, cases[i].x);
		r.host = 12345;
		int err = placement_choose_host(&w.s, &w.q, &r);
		if (err != cases[i].err || r.error_index != cases[i].index)
			fail_msg("%s: error %d index %d, want %d index %d", cases[i].what, err,
			         r.error_index, cases[i].err, cases[i].index);
		if (err && (r.host != -1 || r.neligible != 0))
			fail_msg("%s: an error must leave no choice (host %d)", cases[i].what, r.host);
		if (!err && r.host < 0)
			fail_msg("%s: valid input, nothing chosen", cases[i].what);
	}
	struct world w;
	world_init(&w);
	assert_int_equal(placement_choose_host(NULL, &w.q, &r), PLACEMENT_ERR_ARG);
	assert_int_equal(placement_choose_host(&w.s, NULL, &r), PLACEMENT_ERR_ARG);
	assert_int_equal(placement_choose_host(&w.s, &w.q, NULL), PLACEMENT_ERR_ARG);
	placement_result_free(&r);
	/* A result made for fewer hosts, and a zeroed one, are refused. */
	assert_int_equal(placement_result_init(&r, 2), 0);
	assert_int_equal(placement_choose_host(&w.s, &w.q, &r), PLACEMENT_ERR_TOO_MANY);
	placement_result_free(&r);
	assert_int_equal(placement_choose_host(&w.s, &w.q, &r), PLACEMENT_ERR_ARG);
	placement_result_free(&r); /* freeing a freed (zeroed) result is fine */
	assert_int_equal(placement_result_init(&r, 0), -1);
	assert_null(r.verdicts);
	assert_int_equal(placement_result_init(&r, -3), -1);
}

static void test_capacity(void **state)
{
	static const struct {
		int64_t physical;
		double ratio;
		int64_t cap;
	} cases[] = {
		{8, 4.0, 32},     {8, 1.0, 8},    {3, 1.1, 3},   {10, 1.1, 11},
		{100, 0.29, 29},  /* 28.999999999999996 in binary */
		{10, 0.7, 7},     {10240, 0.7, 7168}, {7, 1.5, 10}, {0, 4.0, 0},
		{1, 0.5, 0},      {PLACEMENT_MAX_MIB, 1000.0, PLACEMENT_MAX_MIB * 1000},
		{1048576, 1.2, 1258291}, /* 1258291.2 */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t got = placement_capacity(cases[i].physical, cases[i].ratio);
		if (got != cases[i].cap)
			fail_msg("%lld x %g: %lld, want %lld", (long long)cases[i].physical,
			         cases[i].ratio, (long long)got, (long long)cases[i].cap);
	}
}

static void test_score(void **state)
{
	static const struct {
		enum placement_policy p;
		int64_t vcpus, cpu_cap, mib, mem_cap;
		int score;
	} cases[] = {
		{PLACEMENT_PACK, 8, 8, 16384, 16384, 1000000},
		{PLACEMENT_SPREAD, 8, 8, 16384, 16384, 0},
		{PLACEMENT_PACK, 4, 8, 0, 16384, 250000},   /* mean, not max */
		{PLACEMENT_PACK, 1, 3, 0, 1, 166667},       /* rounded to nearest */
		{PLACEMENT_SPREAD, 1, 3, 0, 1, 833333},
		{PLACEMENT_PACK, 1, 0, 1, 0, 1000000},      /* no capacity counts as full */
		{PLACEMENT_PACK, 20, 8, 1, 1, 1000000},     /* clamped */
		{PLACEMENT_PACK, -5, 8, 0, 1, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int got = placement_score(cases[i].p, cases[i].vcpus, cases[i].cpu_cap, cases[i].mib,
		                          cases[i].mem_cap);
		if (got != cases[i].score)
			fail_msg("row %zu: score %d, want %d", i, got, cases[i].score);
	}
}

/* The numbers a rejected host's verdict carries, at and around the edges. */
static void test_verdict_numbers(void **state)
{
	static const struct {
		double cpu_oc, mem_oc;
		int cpus, alloc_vcpus;
		int64_t mib, alloc_mib;
		int vcpus;
		int64_t need_mib;
		enum placement_filter f;
		int64_t need, free, cap;
	} cases[] = {
		{4.0, 1.0, 8, 28, 16384, 0, 4, 1, PLACEMENT_OK, 0, 0, 0},
		{4.0, 1.0, 8, 29, 16384, 0, 4, 1, PLACEMENT_F_CPU, 4, 3, 32},
		{1.0, 1.0, 8, 9, 16384, 0, 1, 1, PLACEMENT_F_CPU, 1, -1, 8},
		{1.0, 1.5, 8, 0, 16384, 20480, 1, 4096, PLACEMENT_OK, 0, 0, 0},
		{1.0, 1.5, 8, 0, 16384, 20481, 1, 4096, PLACEMENT_F_MEMORY, 4096, 4095, 24576},
		{1.0, 0.5, 8, 0, 16384, 0, 1, 8193, PLACEMENT_F_MEMORY, 8193, 8192, 8192},
		{16.0, 1.0, 2, 0, 16384, 0, 3, 1, PLACEMENT_F_CPU_COUNT, 3, 0, 2},
		{16.0, 1.0, 2, 0, 16384, 0, 2, 1, PLACEMENT_OK, 0, 0, 0},
		{0.5, 1.0, 4, 0, 16384, 0, 3, 1, PLACEMENT_F_CPU, 3, 2, 2},
	};
	struct placement_result r;
	assert_int_equal(placement_result_init(&r, 1), 0);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct placement_cluster c = {"c", cases[i].cpu_oc, cases[i].mem_oc, PLACEMENT_PACK};
		struct placement_host h = {.name = "h", .cpus = cases[i].cpus,
		                           .memory_mib = cases[i].mib,
		                           .alloc_vcpus = cases[i].alloc_vcpus,
		                           .alloc_memory_mib = cases[i].alloc_mib};
		struct placement_snapshot s = {.hosts = &h, .nhosts = 1, .clusters = &c, .nclusters = 1};
		struct placement_request q = {.vcpus = cases[i].vcpus, .memory_mib = cases[i].need_mib,
		                              .datastore = -1, .cluster = -1};
		assert_int_equal(placement_choose_host(&s, &q, &r), 0);
		const struct placement_verdict *v = &r.verdicts[0];
		if (v->filter != cases[i].f)
			fail_msg("row %zu: %s, want %s", i, placement_filter_name(v->filter),
			         placement_filter_name(cases[i].f));
		if (v->filter == PLACEMENT_OK) {
			assert_int_equal(r.host, 0);
			assert_int_equal(v->rank, 1);
			continue;
		}
		assert_int_equal(r.host, -1);
		assert_int_equal(v->rank, 0);
		if (v->need != cases[i].need || (v->filter != PLACEMENT_F_CPU_COUNT &&
		                                 v->free != cases[i].free) || v->capacity != cases[i].cap)
			fail_msg("row %zu: need %lld free %lld cap %lld, want %lld %lld %lld", i,
			         (long long)v->need, (long long)v->free, (long long)v->capacity,
			         (long long)cases[i].need, (long long)cases[i].free,
			         (long long)cases[i].cap);
	}
	placement_result_free(&r);
}

static void test_names(void **state)
{
	static const char *const want[PLACEMENT_NFILTERS] = {
		"ok", "current", "cluster", "disconnected", "maintenance", "datastore", "network",
		"affinity", "anti_affinity", "cpu_count", "cpu", "memory", "reservation",
	};
	for (int f = 0; f < PLACEMENT_NFILTERS; f++)
		assert_string_equal(placement_filter_name((enum placement_filter)f), want[f]);
	assert_string_equal(placement_filter_name(PLACEMENT_NFILTERS), "unknown");
	assert_string_equal(placement_filter_name((enum placement_filter)-1), "unknown");
	assert_string_equal(placement_policy_name(PLACEMENT_PACK), "pack");
	assert_string_equal(placement_policy_name(PLACEMENT_SPREAD), "spread");
	assert_string_equal(placement_policy_name((enum placement_policy)5), "unknown");
	/* Every error has its own sentence. */
	for (int a = PLACEMENT_ERR_RULE; a <= 0; a++) {
		assert_true(strlen(placement_strerror(a)) > 5);
		for (int b = PLACEMENT_ERR_RULE; b < a; b++)
			assert_string_not_equal(placement_strerror(a), placement_strerror(b));
	}
	assert_string_equal(placement_strerror(-99), "unknown placement error");
}

/* Sentences without names fall back to kind and index; short buffers are cut
 * and terminated; the return value is the full length, as snprintf's. */
static void test_format_fallbacks(void **state)
{
	struct world w;
	world_init(&w);
	w.rules[0].name = NULL;
	w.members[0].vm = NULL; /* member 0 on host 0 */
	w.q.datastore = 3;
	placement_set_add(&w.hosts[1].datastores, 3);
	struct placement_result r;
	assert_int_equal(placement_result_init(&r, 3), 0);
	assert_int_equal(placement_choose_host(&w.s, &w.q, &r), 0);
	char buf[512];
	placement_format_verdict(&w.s, &w.q, &r, 0, buf, sizeof(buf));
	assert_string_equal(buf, "does not reach datastore datastore 3");
	placement_format_verdict(&w.s, &w.q, &r, 2, buf, sizeof(buf));
	assert_string_equal(buf, "does not reach datastore datastore 3");
	/* Host 0 reaches it now; the anti-affinity member (unnamed) sits there. */
	placement_set_add(&w.hosts[0].datastores, 3);
	assert_int_equal(placement_choose_host(&w.s, &w.q, &r), 0);
	placement_format_verdict(&w.s, &w.q, &r, 0, buf, sizeof(buf));
	assert_string_equal(buf, "anti-affinity rule rule 0: already runs member member 0");
	int full = placement_format_summary(&w.s, &w.q, &r, buf, sizeof(buf));
	assert_string_equal(buf, "placed on host 1 (spread: least allocated that fits, score "
	                         "0.854); 1 of 3 hosts eligible; 1 host without datastore "
	                         "datastore 3, 1 running an anti-affinity partner");
	assert_int_equal(full, (int)strlen(buf));
	for (size_t len = 0; len < 12; len++) {
		char small[12];
		memset(small, '#', sizeof(small));
		int n = placement_format_summary(&w.s, &w.q, &r, len ? small : NULL, len);
		assert_int_equal(n, full);
		if (len) {
			assert_int_equal(strlen(small), len - 1);
			assert_memory_equal(small, buf, len - 1);
		}
	}
	char small[7];
	assert_int_equal(placement_format_verdict(&w.s, &w.q, &r, 1, small, sizeof(small)),
	                 (int)strlen("chosen (rank 1 of 1): score 0.815 under spread: least "
	                             "allocated that fits; after placement 2 of 8 vCPUs, 1024 of "
	                             "24576 MiB"));
	assert_string_equal(small, "chosen");
	assert_int_equal(placement_format_verdict(&w.s, &w.q, &r, 3, buf, sizeof(buf)), -1);
	assert_int_equal(placement_format_verdict(&w.s, &w.q, &r, -1, buf, sizeof(buf)), -1);
	assert_int_equal(placement_format_verdict(NULL, &w.q, &r, 0, buf, sizeof(buf)), -1);
	assert_int_equal(placement_format_summary(&w.s, &w.q, NULL, buf, sizeof(buf)), -1);
	assert_int_equal(placement_format_summary(&w.s, &w.q, &r, NULL, 5), -1);
	placement_result_free(&r);
}

/* ---- property test ---- */

static uint64_t rng = 20240611;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

#define P_HOSTS 300
#define P_RULES 6
#define P_MEMBERS 5

struct rfleet {
	struct placement_cluster clusters[4];
	struct placement_host hosts[P_HOSTS];
	struct placement_rule rules[P_RULES];
	struct placement_member members[P_RULES][P_MEMBERS];
	int qrules[P_RULES];
	struct placement_snapshot s;
	struct placement_request q;
};

/* Mostly ids 0..3, reached by most hosts; now and then a high id, to use the
 * upper words of the sets (and to be missed). */
static int some_id(void)
{
	return pick(12) ? pick(4) : 200 + pick(56);
}

static void add_ids(struct placement_set *set)
{
	for (int id = 0; id < 4; id++)
		if (pick(100) < 85)
			placement_set_add(set, id);
	if (!pick(4))
		placement_set_add(set, 200 + pick(56));
}

static void rfleet_make(struct rfleet *f, bool all_pack)
{
	static const double ratios[] = {0.5, 1.0, 1.1, 1.5, 2.0, 4.0, 0.29};
	static const char *const vms[] = {"v0", "v1", "v2", "v3", "v4", "v5", "v6"};
	memset(f, 0, sizeof(*f));
	int nc = 1 + pick(4);
	for (int c = 0; c < nc; c++)
		f->clusters[c] = (struct placement_cluster){
			NULL, ratios[pick(7)], ratios[pick(7)],
			all_pack || pick(2) ? PLACEMENT_PACK : PLACEMENT_SPREAD};
	/* Sizes straddle the insertion-sort / radix-sort switch. */
	int nh = pick(3) ? 1 + pick(60) : 1 + pick(P_HOSTS);
	for (int i = 0; i < nh; i++) {
		struct placement_host *h = &f->hosts[i];
		if (i > 0 && !pick(4)) { /* identical hosts make ties */
			*h = f->hosts[pick(i)];
			continue;
		}
		h->cluster = pick(nc);
		int st = pick(20);
		h->state = st == 0 ? PLACEMENT_MAINTENANCE : st == 1 ? PLACEMENT_DISCONNECTED
		                                                     : PLACEMENT_CONNECTED;
		h->cpus = pick(8) ? 4 << pick(4) : pick(3);
		h->memory_mib = (int64_t)(1 + pick(64)) * 1024;
		/* Allocations up to and past capacity. */
		h->alloc_vcpus = pick(h->cpus * 2 + 1);
		h->alloc_memory_mib = pick(3) ? pick((int)h->memory_mib + 1) : 0;
		/* Reservations up to the host's own capacity, on a few hosts. */
		h->reserved_cpu_pct = pick(4) ? 0 : pick(h->cpus * 100 + 1);
		h->reserved_memory_mib = pick(4) ? 0 : pick((int)h->memory_mib + 1);
		add_ids(&h->datastores);
		add_ids(&h->networks);
	}
	int nr = pick(P_RULES + 1);
	for (int r = 0; r < nr; r++) {
		int nm = pick(P_MEMBERS + 1);
		for (int m = 0; m < nm; m++)
			f->members[r][m] = (struct placement_member){vms[pick(7)],
			                                            pick(3) ? pick(nh) : -1};
		f->rules[r] = (struct placement_rule){NULL, pick(3) ? PLACEMENT_ANTI_AFFINITY
		                                                    : PLACEMENT_AFFINITY,
		                                      f->members[r], nm};
	}
	f->s = (struct placement_snapshot){.hosts = f->hosts, .nhosts = nh,
	                                   .clusters = f->clusters, .nclusters = nc,
	                                   .rules = f->rules, .nrules = nr};
	f->q = (struct placement_request){.vm = pick(2) ? vms[pick(7)] : NULL,
	                                  .vcpus = 1 + pick(8),
	                                  .memory_mib = 1 + pick(8 * 1024),
	                                  .datastore = pick(3) ? some_id() : -1,
	                                  .cluster = pick(4) ? -1 : pick(nc),
	                                  .rules = f->qrules};
	if (pick(4) == 0) { /* a VM that reserves some of its host */
		f->q.reserve_cpu_pct = pick(2) ? 0 : 1 + pick(200);
		f->q.reserve_memory_mib = pick(2) ? 0 : 1 + pick(4096);
	}
	if (pick(8) == 0) { /* a migration: re-placing a VM away from its host */
		f->q.moving = true;
		f->q.moving_from = pick(nh);
	}
	for (int k = pick(3); k < 2; k++)
		placement_set_add(&f->q.networks, some_id());
	for (int r = 0; r < nr; r++)
		if (pick(2))
			f->qrules[f->q.nrules++] = r;
}

static bool self(const struct placement_request *q, const struct placement_member *m)
{
	return q->vm && m->vm && strcmp(q->vm, m->vm) == 0;
}

/* The filters restated plainly, from their definitions, to compare with. */
static enum placement_filter reference(const struct rfleet *f, int i)
{
	const struct placement_host *h = &f->hosts[i];
	const struct placement_request *q = &f->q;
	const struct placement_cluster *c = &f->clusters[h->cluster];
	if (q->moving && i == q->moving_from)
		return PLACEMENT_F_CURRENT;
	if (q->cluster >= 0 && h->cluster != q->cluster)
		return PLACEMENT_F_CLUSTER;
	if (h->state == PLACEMENT_DISCONNECTED)
		return PLACEMENT_F_DISCONNECTED;
	if (h->state == PLACEMENT_MAINTENANCE)
		return PLACEMENT_F_MAINTENANCE;
	if (q->datastore >= 0 && !placement_set_has(&h->datastores, q->datastore))
		return PLACEMENT_F_DATASTORE;
	for (int id = 0; id < PLACEMENT_SET_BITS; id++)
		if (placement_set_has(&q->networks, id) && !placement_set_has(&h->networks, id))
			return PLACEMENT_F_NETWORK;
	/* Affinity: every placed partner of every affinity rule is on this host. */
	for (int k = 0; k < q->nrules; k++) {
		const struct placement_rule *r = &f->rules[q->rules[k]];
		for (int m = 0; r->type == PLACEMENT_AFFINITY && m < r->nmembers; m++)
			if (r->members[m].host >= 0 && !self(q, &r->members[m]) &&
			    r->members[m].host != i)
				return PLACEMENT_F_AFFINITY;
	}
	/* Anti-affinity: no placed partner of any anti-affinity rule is here. */
	for (int k = 0; k < q->nrules; k++) {
		const struct placement_rule *r = &f->rules[q->rules[k]];
		for (int m = 0; r->type == PLACEMENT_ANTI_AFFINITY && m < r->nmembers; m++)
			if (r->members[m].host == i && !self(q, &r->members[m]))
				return PLACEMENT_F_ANTI_AFFINITY;
	}
	if (q->vcpus > h->cpus)
		return PLACEMENT_F_CPU_COUNT;
	if (h->alloc_vcpus + q->vcpus > (int64_t)floor(h->cpus * c->cpu_overcommit + 1e-6))
		return PLACEMENT_F_CPU;
	if (h->alloc_memory_mib + q->memory_mib >
	    (int64_t)floor((double)h->memory_mib * c->mem_overcommit + 1e-6))
		return PLACEMENT_F_MEMORY;
	/* Reservations: of the host's own capacity, no overcommit. */
	if ((q->reserve_cpu_pct > 0 && h->reserved_cpu_pct + q->reserve_cpu_pct > (int64_t)h->cpus * 100) ||
	    (q->reserve_memory_mib > 0 && h->reserved_memory_mib + q->reserve_memory_mib > h->memory_mib))
		return PLACEMENT_F_RESERVATION;
	return PLACEMENT_OK;
}

/* The score, restated: mean of the fractions after placement, in millionths. */
static int reference_score(const struct rfleet *f, int i)
{
	const struct placement_host *h = &f->hosts[i];
	const struct placement_cluster *c = &f->clusters[h->cluster];
	double cpu = (double)(h->alloc_vcpus + f->q.vcpus) /
	             floor(h->cpus * c->cpu_overcommit + 1e-6);
	double mem = (double)(h->alloc_memory_mib + f->q.memory_mib) /
	             floor((double)h->memory_mib * c->mem_overcommit + 1e-6);
	long s = lround((cpu + mem) / 2 * 1e6);
	return c->policy == PLACEMENT_PACK ? (int)s : 1000000 - (int)s;
}

static void check_decision(const struct rfleet *f, const struct placement_result *r, int iter)
{
	int count[PLACEMENT_NFILTERS] = {0}, eligible = 0, best = -1;
	for (int i = 0; i < f->s.nhosts; i++) {
		const struct placement_verdict *v = &r->verdicts[i];
		enum placement_filter want = reference(f, i);
		if (v->filter != want)
			fail_msg("fleet %d host %d: %s, the definition says %s", iter, i,
			         placement_filter_name(v->filter), placement_filter_name(want));
		count[want]++;
		if (want != PLACEMENT_OK) {
			if (v->rank != 0)
				fail_msg("fleet %d host %d: rejected with rank %d", iter, i, v->rank);
			continue;
		}
		eligible++;
		if (abs(v->score - reference_score(f, i)) > 1)
			fail_msg("fleet %d host %d: score %d, restated %d", iter, i, v->score,
			         reference_score(f, i));
		if (best < 0 || v->score > r->verdicts[best].score)
			best = i;
	}
	assert_memory_equal(count, r->count, sizeof(count));
	assert_int_equal(r->neligible, eligible);
	/* The choice is the first host of the highest score, and it passes every filter. */
	assert_int_equal(r->host, best);
	if (best >= 0)
		assert_int_equal(reference(f, best), PLACEMENT_OK);
	/* order[] is every eligible host once, by score then index; ranks match. */
	for (int k = 0; k < eligible; k++) {
		const struct placement_verdict *v = &r->verdicts[r->order[k]];
		if (v->filter != PLACEMENT_OK || v->rank != k + 1)
			fail_msg("fleet %d: order[%d] = host %d with rank %d", iter, k, r->order[k],
			         v->rank);
		if (k > 0) {
			const struct placement_verdict *u = &r->verdicts[r->order[k - 1]];
			if (u->score < v->score || (u->score == v->score && r->order[k - 1] > r->order[k]))
				fail_msg("fleet %d: order[%d..%d] out of order", iter, k - 1, k);
		}
	}
	/* Every verdict and the summary can be said (and ASan watches the saying). */
	char buf[512];
	for (int i = 0; i < f->s.nhosts; i++)
		assert_true(placement_format_verdict(&f->s, &f->q, r, i, buf, sizeof(buf)) > 0);
	assert_true(placement_format_summary(&f->s, &f->q, r, buf, sizeof(buf)) > 0);
}

static void run_property(bool all_pack, int iterations)
{
	struct rfleet *f = malloc(sizeof(*f));
	struct placement_result r;
	assert_non_null(f);
	assert_int_equal(placement_result_init(&r, P_HOSTS), 0);
	int placed = 0, big = 0, ties = 0, seen[PLACEMENT_NFILTERS] = {0};
	for (int it = 0; it < iterations; it++) {
		rfleet_make(f, all_pack);
		assert_int_equal(placement_choose_host(&f->s, &f->q, &r), 0);
		check_decision(f, &r, it);
		placed += r.host >= 0;
		for (int k = 0; k < PLACEMENT_NFILTERS; k++)
			seen[k] += r.count[k];
		big += r.neligible > 48;
		ties += r.neligible > 1 && r.verdicts[r.order[0]].score ==
		                           r.verdicts[r.order[1]].score;
		/* The same input decides the same way, verdict for verdict. */
		static struct placement_verdict again[P_HOSTS];
		memcpy(again, r.verdicts, sizeof(again[0]) * (size_t)f->s.nhosts);
		assert_int_equal(placement_choose_host(&f->s, &f->q, &r), 0);
		assert_memory_equal(again, r.verdicts, sizeof(again[0]) * (size_t)f->s.nhosts);
		/* Ranking only the best few gives the same first few, the same
		 * choice and counts, and rank 0 to the others. */
		static int full[P_HOSTS];
		int neligible = r.neligible, chosen = r.host;
		memcpy(full, r.order, sizeof(full[0]) * (size_t)neligible);
		r.top = 1 + pick(5);
		assert_int_equal(placement_choose_host(&f->s, &f->q, &r), 0);
		assert_int_equal(r.neligible, neligible);
		assert_int_equal(r.host, chosen);
		assert_int_equal(r.nordered, neligible < r.top ? neligible : r.top);
		assert_memory_equal(full, r.order, sizeof(full[0]) * (size_t)r.nordered);
		for (int k = r.nordered; k < neligible; k++)
			assert_int_equal(r.verdicts[full[k]].rank, 0);
		r.top = 0;
	}
	/* The generator must reach the interesting cases, or the test proves little. */
	print_message("# %d fleets: %d placed, %d with over 48 eligible, %d ties for first\n",
	              iterations, placed, big, ties);
	/* (Reservations, since they came, refuse a few fleets more: at least
	 * two in five placed still shows both outcomes are common.) */
	if (placed < iterations * 2 / 5 || placed > iterations * 19 / 20 || big < iterations / 50 ||
	    ties < iterations / 20)
		fail_msg("generator off: %d placed, %d with many eligible, %d ties of %d", placed, big,
		         ties, iterations);
	for (int k = 0; k < PLACEMENT_NFILTERS; k++)
		if (seen[k] < 20)
			fail_msg("generator off: only %d hosts rejected by %s", seen[k],
			         placement_filter_name((enum placement_filter)k));
	placement_result_free(&r);
	free(f);
}

static void test_property_pack(void **state)
{
	run_property(true, 3000);
}

static void test_property_mixed(void **state)
{
	run_property(false, 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_inputs),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_score),
		cmocka_unit_test(test_verdict_numbers),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_format_fallbacks),
		cmocka_unit_test(test_property_pack),
		cmocka_unit_test(test_property_mixed),
	};
	return cmocka_run_group_tests_name("placement", tests, NULL, NULL);
}
