/* test_cgroup.c - the pure parts of cgroup.c: the conversions from vdc's
 * limits to cgroup values (v1 cpu.shares from the v2-style weight, CFS
 * quota, v2 cpu.max), a VM's cgroup name under its pool levels, and which
 * cgroup /proc/PID/cgroup puts a process in. */
#include "testutil.h"

#include "cgroup.h"

static void test_v1_shares(void **state)
{
	static const struct {
		int weight;
		unsigned shares;
	} cases[] = {
		{100, 1024},     /* the default share on both versions */
		{50, 512},   {200, 2048}, {1, 10},        {10, 102},
		{10000, 102400}, /* the largest weight vdc accepts */
		{0, 2},          /* the kernel's minimum */
		{25600, 262144}, {100000, 262144},        /* clamped to the kernel's maximum */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (cgroup_v1_shares(cases[i].weight) != cases[i].shares)
			fail_msg("weight %d: shares %u, want %u", cases[i].weight,
			         cgroup_v1_shares(cases[i].weight), cases[i].shares);
}

static void test_v1_quota(void **state)
{
	static const struct {
		int pct;
		int64_t quota_us;
	} cases[] = {
		{0, -1},   {-5, -1},   /* no limit */
		{1, 1000}, {50, 50000}, {100, 100000}, {150, 150000},
		{25500, 25500000},     /* 255 full CPUs */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (cgroup_v1_quota_us(cases[i].pct) != cases[i].quota_us)
			fail_msg("pct %d: quota %lld, want %lld", cases[i].pct,
			         (long long)cgroup_v1_quota_us(cases[i].pct), (long long)cases[i].quota_us);
}

static void test_cpu_max(void **state)
{
	static const struct {
		int pct;
		const char *v2;
	} cases[] = {
		{0, "max 100000"},  {-1, "max 100000"},   {1, "1000 100000"},
		{50, "50000 100000"}, {100, "100000 100000"}, {400, "400000 100000"},
		{25500, "25500000 100000"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char out[64];
		memset(out, '#', sizeof(out));
		cgroup_cpu_max(cases[i].pct, out, sizeof(out));
		if (strcmp(out, cases[i].v2) != 0)
			fail_msg("pct %d: cpu.max '%s', want '%s'", cases[i].pct, out, cases[i].v2);
	}
	/* A short buffer is cut, never overrun. */
	char small[8];
	memset(small, '#', sizeof(small));
	cgroup_cpu_max(50, small, 6);
	assert_string_equal(small, "50000");
	assert_int_equal(small[6], '#');
}

/* A chain of levels named by a space-separated list ("" for none). */
static struct pool_chain chain_of(const char *names)
{
	struct pool_chain c;
	memset(&c, 0, sizeof(c));
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", names);
	char *save = NULL;
	for (char *t = strtok_r(buf, " ", &save); t && c.n < POOL_MAX_DEPTH; t = strtok_r(NULL, " ", &save))
		snprintf(c.level[c.n++].name, sizeof(c.level[0].name), "%s", t);
	return c;
}

static void test_rel_name(void **state)
{
	char n63[64];
	memset(n63, 'p', 63);
	n63[63] = '\0';
	char six63[512], want63[CG_REL_MAX];
	snprintf(six63, sizeof(six63), "%s %s %s %s %s %s", n63, n63, n63, n63, n63, n63);
	snprintf(want63, sizeof(want63), "pool:%s/pool:%s/pool:%s/pool:%s/pool:%s/pool:%s/%s", n63, n63, n63, n63,
	         n63, n63, n63);
	static const struct {
		const char *pools, *vm, *want;
	} cases[] = {
		{"", "web1", "web1"},                                 /* in no pool: as before pools */
		{"prod", "web1", "pool:prod/web1"},
		{"prod web", "web1", "pool:prod/pool:web/web1"},      /* root first */
		{"a b c d e f", "v", "pool:a/pool:b/pool:c/pool:d/pool:e/pool:f/v"},
		{"web", "web", "pool:web/web"},                       /* a pool and a VM of one name */
		{"A_b-c.d 0", "x.y", "pool:A_b-c.d/pool:0/x.y"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct pool_chain c = chain_of(cases[i].pools);
		char out[CG_REL_MAX];
		if (cgroup_rel_name(&c, cases[i].vm, out, sizeof(out)) != 0 || strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: '%s', want '%s'", i, out, cases[i].want);
	}
	/* The longest there can be fits CG_REL_MAX. */
	struct pool_chain c = chain_of(six63);
	char out[CG_REL_MAX];
	assert_int_equal(cgroup_rel_name(&c, n63, out, sizeof(out)), 0);
	assert_string_equal(out, want63);
	/* A buffer too short gives -1 and "", never a cut name (that would be
	 * another cgroup). */
	c = chain_of("prod web");
	char small[16];
	memset(small, '#', sizeof(small));
	assert_int_equal(cgroup_rel_name(&c, "web1", small, sizeof(small)), -1);
	assert_string_equal(small, "");
	memset(small, '#', sizeof(small));
	assert_int_equal(cgroup_rel_name(&c, "web1", small, 15), -1);
	assert_int_equal(small[15], '#');
	char exact[sizeof("pool:prod/pool:web/web1")];
	assert_int_equal(cgroup_rel_name(&c, "web1", exact, sizeof(exact)), 0);
	assert_string_equal(exact, "pool:prod/pool:web/web1");
}

static void test_parse_proc(void **state)
{
	static const char v1[] = "12:pids:/vdc/pool:prod/web1\n"
	                         "11:memory:/vdc/pool:prod/web1\n"
	                         "10:cpuset:/\n"
	                         "4:cpuacct:/vdc/pool:prod/web1\n"
	                         "3:cpu:/vdc/pool:prod/pool:web/web1\n"
	                         "1:name=systemd:/user.slice\n"
	                         "0::/user.slice/session-1.scope\n";
	static const char v1_joined[] = "5:cpu,cpuacct:/vdc/web1\n2:cpuset:/vdc\n";
	static const char v2[] = "0::/vdc/pool:prod/web1\n";
	static const struct {
		const char *text;
		int version;
		const char *base;
		int rc;
		const char *want;
	} cases[] = {
		{v1, 1, "vdc", 0, "pool:prod/pool:web/web1"}, /* by the cpu hierarchy, not cpuacct */
		{v1_joined, 1, "vdc", 0, "web1"},             /* cpu,cpuacct mounted together */
		{v2, 2, "vdc", 0, "pool:prod/web1"},
		{v1, 2, "vdc", 0, ""},                        /* hybrid: v2's line is outside */
		{v2, 2, "vdc2", 0, ""},                       /* another base: outside ours */
		{"0::/vdc\n", 2, "vdc", 0, ""},              /* the base itself holds no VM */
		{"0::/vdcx/web1\n", 2, "vdc", 0, ""},
		{"3:cpuset:/vdc/web1\n4:cpuacct:/vdc/web1\n", 1, "vdc", -1, ""}, /* no cpu line */
		{"", 2, "vdc", -1, ""},
		{"garbage", 1, "vdc", -1, ""},
		{"3:cpu:/vdc/web1", 1, "vdc", 0, "web1"},     /* no final newline */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char out[CG_REL_MAX] = "unset";
		int rc = cgroup_parse_proc(cases[i].text, cases[i].version, cases[i].base, out, sizeof(out));
		if (rc != cases[i].rc || (rc == 0 && strcmp(out, cases[i].want) != 0))
			fail_msg("case %zu: rc %d '%s', want %d '%s'", i, rc, out, cases[i].rc, cases[i].want);
	}
}

/* cpu.stat and memory.stat lines, as v1 and v2 write them. */
static void test_stat_value(void **state)
{
	(void)state;
	const char *v1 = "nr_periods 120\nnr_throttled 40\nthrottled_time 2500000000\nnr_bursts 0\n";
	const char *v2 = "usage_usec 900\nuser_usec 600\nsystem_usec 300\nnr_periods 5\nnr_throttled 2\n"
	                 "throttled_usec 1500\n";
	const char *mem = "inactive_anon 4096\nactive_anon 1048576\ninactive_file 8192\nactive_file 2097152\n"
	                  "total_active_anon 99\n";
	assert_int_equal(cgroup_stat_value(v1, "throttled_time"), 2500000000ll);
	assert_int_equal(cgroup_stat_value(v1, "nr_throttled"), 40);
	assert_int_equal(cgroup_stat_value(v2, "throttled_usec"), 1500);
	assert_int_equal(cgroup_stat_value(v2, "usage_usec"), 900);
	/* a key is a whole word at a line's start: not a longer key's tail or head */
	assert_int_equal(cgroup_stat_value(mem, "active_anon"), 1048576);
	assert_int_equal(cgroup_stat_value(mem, "active_file"), 2097152);
	assert_int_equal(cgroup_stat_value(mem, "anon"), -1);
	assert_int_equal(cgroup_stat_value(mem, "active"), -1);
	assert_int_equal(cgroup_stat_value(v1, "throttled_usec"), -1);
	assert_int_equal(cgroup_stat_value("throttled_time x\n", "throttled_time"), -1);
	assert_int_equal(cgroup_stat_value("", "throttled_time"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_shares),
		cmocka_unit_test(test_v1_quota),
		cmocka_unit_test(test_cpu_max),
		cmocka_unit_test(test_rel_name),
		cmocka_unit_test(test_parse_proc),
		cmocka_unit_test(test_stat_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
