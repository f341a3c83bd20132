/* test_balance_plan.c - balancing's moves as tables (decide/balance_plan.c):
 * the imbalance and when it acts (thresholds 1..5, hold rounds), which VMs
 * move where and why it stops (rules, maintenance, reservations, caps, an
 * excluded VM, a VM that fits nowhere else), HA's capacity kept, and no
 * ping-pong. Hosts of 8 CPUs and 16 GiB in one cluster (overcommit 4 for
 * CPU and 2 for memory), so a VM of 1.6 CPUs and 2 GiB is 20% CPU
 * and 12.5% memory of a host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "balance_plan.h"

#define MIB (1024LL * 1024)

static const struct placement_cluster clusters[] = {
	{"c1", 4.0, 2.0, PLACEMENT_PACK},
	{"c2", 4.0, 2.0, PLACEMENT_PACK},
};

struct fx {
	struct placement_host h[8];
	int nh;
	struct balance_vm v[40];
	int nv;
	struct placement_rule rules[2];
	struct placement_member members[2][4];
	int nrules;
	int rule_of[40]; /* the rule index each VM is a member of, or -1 */
	struct placement_snapshot s;
	struct balance_input in;
	struct balance_move m[40];
	struct balance_plan p;
};

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 40; i++)
		f->rule_of[i] = -1;
	f->in = (struct balance_input){.cluster = 0, .level = 3, .rounds_over = 10, .max_moves = 16,
	                               .max_per_host = 8, .bandwidth_bytes_s = 1024 * MIB,
	                               .migrate = {.downtime_limit_ms = 300, .max_throttle_pct = 99}};
}

static int fx_host(struct fx *f, const char *name, enum placement_host_state st)
{
	f->h[f->nh] = (struct placement_host){.name = name, .cluster = 0, .state = st, .cpus = 8,
	                                      .memory_mib = 16384};
	return f->nh++;
}

/* A VM of 2 vCPUs whose allocated memory is its demand (512 MiB at least). */
static int fx_vm(struct fx *f, const char *name, int host, double cpu, int64_t mem)
{
	f->v[f->nv] = (struct balance_vm){.name = name, .host = host, .cpu_demand = cpu, .mem_demand_mib = mem,
	                                  .vcpus = 2, .memory_mib = mem > 512 ? mem : 512, .datastore = -1};
	return f->nv++;
}

/* A rule of the given VMs (indices), -1 ended. */
static void fx_rule(struct fx *f, const char *name, enum placement_rule_type type, const int *vms)
{
	int r = f->nrules++, n = 0;
	for (; vms[n] >= 0; n++) {
		f->members[r][n] = (struct placement_member){f->v[vms[n]].name, f->v[vms[n]].host};
		f->rule_of[vms[n]] = r;
	}
	f->rules[r] = (struct placement_rule){name, type, f->members[r], n};
}

/* Plans with the hosts' allocations, reservations and rule members taken
 * from where the VMs are. */
static int fx_run(struct fx *f)
{
	static const int rule_idx[2] = {0, 1};
	for (int i = 0; i < f->nh; i++) {
		f->h[i].alloc_vcpus = 0;
		f->h[i].alloc_memory_mib = 0;
		f->h[i].reserved_cpu_pct = 0;
		f->h[i].reserved_memory_mib = 0;
	}
	for (int i = 0; i < f->nv; i++) {
		struct placement_host *h = &f->h[f->v[i].host];
		h->alloc_vcpus += f->v[i].vcpus;
		h->alloc_memory_mib += f->v[i].memory_mib;
		h->reserved_cpu_pct += f->v[i].reserve_cpu_pct;
		h->reserved_memory_mib += f->v[i].reserve_memory_mib;
		if (f->rule_of[i] >= 0) {
			f->v[i].rules = &rule_idx[f->rule_of[i]];
			f->v[i].nrules = 1;
			for (int m = 0; m < f->rules[f->rule_of[i]].nmembers; m++)
				if (!strcmp(f->members[f->rule_of[i]][m].vm, f->v[i].name))
					f->members[f->rule_of[i]][m].host = f->v[i].host;
		}
	}
	f->s = (struct placement_snapshot){.hosts = f->h, .nhosts = f->nh, .clusters = clusters, .nclusters = 2,
	                                   .rules = f->rules, .nrules = f->nrules};
	f->in.snap = &f->s;
	f->in.vms = f->v;
	f->in.nvms = f->nv;
	return balance_plan(&f->in, f->m, &f->p);
}

/* "a:h1>h2 b:h1>h2". */
static const char *moves_str(const struct fx *f)
{
	static char out[512];
	out[0] = '\0';
	for (int i = 0; i < f->p.nmoves; i++) {
		size_t at = strlen(out);
		snprintf(out + at, sizeof(out) - at, "%s%s:%s>%s", i ? " " : "", f->v[f->m[i].vm].name,
		         f->h[f->m[i].from].name, f->h[f->m[i].to].name);
	}
	return out;
}

static void fx_apply(struct fx *f)
{
	for (int i = 0; i < f->p.nmoves; i++)
		f->v[f->m[i].vm].host = f->m[i].to;
}

static void has(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("\"%s\" lacks \"%s\"", text, part);
}

/* h1 runs a, b, c, d (1.6 CPUs and 2 GiB each: 80% CPU, 50% memory), h2
 * nothing: imbalance sqrt((0.4^2 + 0.25^2) / 2) = 0.334. */
static void heavy_pair(struct fx *f)
{
	fx_init(f);
	fx_host(f, "h1", PLACEMENT_CONNECTED);
	fx_host(f, "h2", PLACEMENT_CONNECTED);
	fx_vm(f, "a", 0, 1.6, 2048);
	fx_vm(f, "b", 0, 1.6, 2048);
	fx_vm(f, "c", 0, 1.6, 2048);
	fx_vm(f, "d", 0, 1.6, 2048);
}

static void t_imbalance(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	assert_int_equal(fx_run(&f), 0);
	assert_float_equal(f.p.sd_cpu, 0.4, 1e-9);
	assert_float_equal(f.p.sd_mem, 0.25, 1e-9);
	assert_float_equal(f.p.imbalance, 0.33354, 1e-4);
	assert_true(f.p.over_target && f.p.acts);
	assert_string_equal(moves_str(&f), "a:h1>h2 b:h1>h2");
	assert_int_equal(f.p.stop, BALANCE_STOP_UNDER_TARGET);
	assert_float_equal(f.p.imbalance_after, 0, 1e-6);
	/* The first move: 0.2 CPU and 0.125 memory across: (2 x 0.2 x 0.6 + 2 x 0.125 x 0.375) / 2. */
	assert_float_equal(f.m[0].gain, 0.166875, 1e-9);
	assert_float_equal(f.m[0].imbalance_before, f.p.imbalance, 1e-12);
	assert_float_equal(f.m[0].imbalance_after, f.m[1].imbalance_before, 1e-12);
	assert_int_equal(f.m[0].copy_mib, 2048);
	assert_int_equal(f.m[0].strategy, MIGRATE_PRECOPY);
	assert_true(f.m[0].predicted_ms >= 2000);
	has(f.m[0].reason, "move a from h1 (CPU 80%, memory 50%) to h2 (CPU 0%, memory 0%)");
	has(f.m[0].reason, "imbalance 0.334 -> ");
	has(f.m[0].reason, "copies 2048 MiB");
	has(f.p.reason, "imbalance 0.000 under target 0.100 after 2 moves");
	has(f.p.reason, "2 moves take the imbalance from 0.334 to 0.000");
	assert_string_equal(balance_stop_name(f.p.stop), "under_target");
}

/* The same mild imbalance under each level: h1 at 37.5% (three VMs of one
 * CPU and 2 GiB), h2 at 12.5%: imbalance 0.125. */
static void t_levels(void **state)
{
	(void)state;
	static const struct {
		int level;
		enum balance_stop stop;
		const char *moves;
	} cases[] = {
		{1, BALANCE_STOP_UNDER_TARGET, ""},
		{2, BALANCE_STOP_UNDER_TARGET, ""},
		{3, BALANCE_STOP_UNDER_TARGET, "a:h1>h2"},
		{4, BALANCE_STOP_UNDER_TARGET, "a:h1>h2"},
		{5, BALANCE_STOP_UNDER_TARGET, "a:h1>h2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		fx_init(&f);
		fx_host(&f, "h1", PLACEMENT_CONNECTED);
		fx_host(&f, "h2", PLACEMENT_CONNECTED);
		fx_vm(&f, "a", 0, 1.0, 2048);
		fx_vm(&f, "b", 0, 1.0, 2048);
		fx_vm(&f, "c", 0, 1.0, 2048);
		fx_vm(&f, "d", 1, 1.0, 2048);
		f.in.level = cases[i].level;
		assert_int_equal(fx_run(&f), 0);
		assert_float_equal(f.p.imbalance, 0.125, 1e-9);
		assert_float_equal(f.p.target, balance_levels[cases[i].level - 1].target, 0);
		assert_int_equal(f.p.stop, cases[i].stop);
		assert_string_equal(moves_str(&f), cases[i].moves);
		assert_int_equal(f.p.over_target, cases[i].level >= 3);
	}
}

/* Minimum gains per level: only a tiny VM can move (0.08 CPU, 1% of a
 * host), from 61% to 20% CPU: it gains 0.01 x 0.40 = 0.0040, enough at 4
 * and 5 only; the imbalance 0.145 is over target from level 3. */
static void t_min_gain(void **state)
{
	(void)state;
	static const struct {
		int level;
		enum balance_stop stop;
		const char *moves, *reason;
	} cases[] = {
		{1, BALANCE_STOP_UNDER_TARGET, "", "imbalance 0.145 under target 0.200 (level 1)"},
		{2, BALANCE_STOP_UNDER_TARGET, "", "imbalance 0.145 under target 0.150 (level 2)"},
		{3, BALANCE_STOP_NO_GAIN, "", "no move gains at least 0.0050 (imbalance 0.145, target 0.100)"},
		{4, BALANCE_STOP_NO_GAIN, "t:h1>h2", "no move gains at least 0.0020"},
		{5, BALANCE_STOP_NO_GAIN, "t:h1>h2", "no move gains at least 0.0010"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		fx_init(&f);
		fx_host(&f, "h1", PLACEMENT_CONNECTED);
		fx_host(&f, "h2", PLACEMENT_CONNECTED);
		int big = fx_vm(&f, "big", 0, 4.8, 0);
		fx_vm(&f, "t", 0, 0.08, 0);
		int other = fx_vm(&f, "other", 1, 1.6, 0);
		f.v[big].excluded = f.v[other].excluded = true;
		f.in.level = cases[i].level;
		assert_int_equal(fx_run(&f), 0);
		assert_int_equal(f.p.stop, cases[i].stop);
		assert_string_equal(moves_str(&f), cases[i].moves);
		has(f.p.reason, cases[i].reason);
		if (f.p.nmoves)
			assert_float_equal(f.m[0].gain, 0.0040, 1e-9);
	}
}

/* Level 3 holds 3 rounds, level 5 one: the caller counts the rounds. */
static void t_hold(void **state)
{
	(void)state;
	static const struct {
		int level, rounds_over;
		bool acts;
		const char *reason;
	} cases[] = {
		{3, 0, false, "imbalance 0.334 over target 0.100 for 1 of 3 rounds: holding off"},
		{3, 1, false, "for 2 of 3 rounds: holding off"},
		{3, 2, true, "under target 0.100 after 2 moves"},
		{3, 9, true, "under target 0.100 after 2 moves"},
		{1, 3, false, "imbalance 0.334 over target 0.200 for 4 of 5 rounds"},
		{1, 4, true, "under target 0.200 after 1 move"},
		{5, 0, true, "under target 0.050 after 2 moves"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		heavy_pair(&f);
		f.in.level = cases[i].level;
		f.in.rounds_over = cases[i].rounds_over;
		assert_int_equal(fx_run(&f), 0);
		assert_true(f.p.over_target);
		assert_int_equal(f.p.acts, cases[i].acts);
		assert_int_equal(f.p.stop, cases[i].acts ? BALANCE_STOP_UNDER_TARGET : BALANCE_STOP_HOLDING);
		if (!cases[i].acts)
			assert_int_equal(f.p.nmoves, 0);
		has(f.p.reason, cases[i].reason);
	}
}

/* Degenerate clusters. */
static void t_small(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f); /* no host at all */
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.stop, BALANCE_STOP_TOO_FEW);
	has(f.p.reason, "c1 has 0 hosts that count: nothing to balance");

	fx_init(&f);
	fx_host(&f, "h1", PLACEMENT_CONNECTED);
	fx_vm(&f, "a", 0, 6.0, 8192);
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.stop, BALANCE_STOP_TOO_FEW);
	assert_int_equal(f.p.nmoves, 0);
	has(f.p.reason, "c1 has 1 host that counts");

	fx_init(&f); /* already balanced */
	fx_host(&f, "h1", PLACEMENT_CONNECTED);
	fx_host(&f, "h2", PLACEMENT_CONNECTED);
	fx_vm(&f, "a", 0, 1.6, 2048);
	fx_vm(&f, "b", 1, 1.6, 2048);
	f.in.level = 5;
	assert_int_equal(fx_run(&f), 0);
	assert_false(f.p.over_target);
	assert_int_equal(f.p.stop, BALANCE_STOP_UNDER_TARGET);
	assert_int_equal(f.p.nmoves, 0);
	has(f.p.reason, "imbalance 0.000 under target 0.050 (level 5)");
}

/* Applied, then planned again: nothing. And over many rounds of a random
 * steady load, no VM ever goes back to a host it left. */
static void t_no_ping_pong(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	f.in.level = 5;
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nmoves, 2);
	fx_apply(&f);
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nmoves, 0);
	assert_int_equal(f.p.stop, BALANCE_STOP_UNDER_TARGET);

	static const char *names[] = {"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",
	                              "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19",
	                              "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29"};
	static const char *hosts[] = {"h0", "h1", "h2", "h3", "h4", "h5"};
	for (int level = 1; level <= 5; level++) {
		fx_init(&f);
		for (int h = 0; h < 6; h++)
			fx_host(&f, hosts[h], PLACEMENT_CONNECTED);
		uint32_t x = 12345u + (uint32_t)level;
		for (int i = 0; i < 30; i++) {
			x = x * 1103515245u + 12345u;
			double cpu = 0.1 + (double)(x >> 16 & 1023) / 1023.0 * 1.4;
			x = x * 1103515245u + 12345u;
			int64_t mem = 256 + (int64_t)(x >> 16 & 2047);
			fx_vm(&f, names[i], i % 2, cpu, mem);
		}
		f.in.level = level;
		f.in.max_moves = 3;
		int left[30][6] = {{0}};
		int rounds = 0;
		for (; rounds < 40; rounds++) {
			assert_int_equal(fx_run(&f), 0);
			if (!f.p.nmoves)
				break;
			for (int i = 0; i < f.p.nmoves; i++) {
				const struct balance_move *m = &f.m[i];
				if (left[m->vm][m->to])
					fail_msg("level %d round %d: %s back to %s", level, rounds, names[m->vm], hosts[m->to]);
				left[m->vm][m->from] = 1;
				assert_true(m->imbalance_after < m->imbalance_before);
			}
			fx_apply(&f);
		}
		assert_true(rounds < 40);
		assert_int_not_equal(f.p.stop, BALANCE_STOP_CAP);
	}
}

/* Anti-affinity and affinity: the move that would gain most breaks a rule,
 * and the stop reason names it. */
static void t_rules(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	fx_host(&f, "h1", PLACEMENT_CONNECTED);
	fx_host(&f, "h2", PLACEMENT_CONNECTED);
	int a = fx_vm(&f, "a", 0, 3.2, 4096);
	int b = fx_vm(&f, "b", 0, 3.2, 4096);
	int c = fx_vm(&f, "c", 1, 0.4, 1024);
	f.v[b].excluded = true;
	fx_rule(&f, "sep", PLACEMENT_ANTI_AFFINITY, (const int[]){a, c, -1});
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nmoves, 0);
	assert_int_equal(f.p.stop, BALANCE_STOP_NO_GAIN);
	assert_int_equal(f.p.blocked_vm, a);
	assert_int_equal(f.p.blocked_rule, 0);
	assert_int_equal(f.p.blocked_filter, PLACEMENT_F_ANTI_AFFINITY);
	has(f.p.reason, "the best, a to h2 (gain ");
	has(f.p.reason, "would break anti-affinity rule sep");

	/* Without the rule, a moves. */
	f.nrules = 0;
	f.rule_of[a] = f.rule_of[c] = -1;
	f.v[a].nrules = f.v[c].nrules = 0;
	assert_int_equal(fx_run(&f), 0);
	assert_string_equal(moves_str(&f), "a:h1>h2");

	fx_init(&f);
	fx_host(&f, "h1", PLACEMENT_CONNECTED);
	fx_host(&f, "h2", PLACEMENT_CONNECTED);
	a = fx_vm(&f, "a", 0, 3.2, 4096);
	b = fx_vm(&f, "b", 0, 3.2, 4096);
	fx_rule(&f, "together", PLACEMENT_AFFINITY, (const int[]){a, b, -1});
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nmoves, 0);
	assert_int_equal(f.p.stop, BALANCE_STOP_NO_GAIN);
	has(f.p.reason, "would break affinity rule together");

	/* A third VM of h1 outside the rule moves instead. */
	fx_vm(&f, "x", 0, 3.2, 4096);
	assert_int_equal(fx_run(&f), 0);
	assert_string_equal(moves_str(&f), "x:h1>h2");
}

/* Datastores and networks: a host that lacks the VM's is no target. */
static void t_reach(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	fx_host(&f, "h3", PLACEMENT_CONNECTED);
	for (int h = 0; h < 3; h++)
		placement_set_add(&f.h[h].networks, 1);
	placement_set_add(&f.h[0].datastores, 0);
	placement_set_add(&f.h[2].datastores, 0);
	f.v[0].datastore = 0; /* a and b need datastore 0, which h2 lacks */
	f.v[1].datastore = 0;
	for (int i = 0; i < 4; i++)
		placement_set_add(&f.v[i].networks, 1);
	assert_int_equal(fx_run(&f), 0);
	/* a goes to h3 although h2 is as empty (and first); c then to h2. */
	assert_string_equal(moves_str(&f), "a:h1>h3 c:h1>h2");
	/* h3 off network 1 too: nothing takes a or b, c and d go to h2. */
	f.h[2].networks = (struct placement_set){{0}};
	assert_int_equal(fx_run(&f), 0);
	assert_string_equal(moves_str(&f), "c:h1>h2 d:h1>h2");
	assert_int_equal(f.p.stop, BALANCE_STOP_NO_GAIN);
}

/* A host in maintenance is neither source nor target, nor counted. */
static void t_maintenance(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	f.h[1].state = PLACEMENT_MAINTENANCE;
	fx_host(&f, "h3", PLACEMENT_CONNECTED);
	fx_vm(&f, "e", 1, 1.6, 2048);
	fx_vm(&f, "g", 1, 1.6, 2048);
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nhosts, 2);
	assert_string_equal(moves_str(&f), "a:h1>h3 b:h1>h3");

	/* Nor a host of another cluster. */
	f.h[2].cluster = 1;
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nhosts, 1);
	assert_int_equal(f.p.stop, BALANCE_STOP_TOO_FEW);
	f.h[2].cluster = 0;

	/* A disconnected host neither. */
	f.h[1].state = PLACEMENT_DISCONNECTED;
	assert_int_equal(fx_run(&f), 0);
	assert_string_equal(moves_str(&f), "a:h1>h3 b:h1>h3");
}

/* Reservations: h2 is reserved almost full by z (idle), so VMs that
 * reserve memory go to h3 although h2 is as empty. */
static void t_reservations(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	fx_host(&f, "h3", PLACEMENT_CONNECTED);
	for (int i = 0; i < 4; i++)
		f.v[i].reserve_memory_mib = 2048;
	int z = fx_vm(&f, "z", 1, 0, 0);
	f.v[z].reserve_memory_mib = 15360;
	assert_int_equal(fx_run(&f), 0);
	assert_true(f.p.nmoves >= 1);
	for (int i = 0; i < f.p.nmoves; i++)
		assert_int_equal(f.m[i].to, 2);
	/* Without the reservation, h2 (first of the equally empty) takes one. */
	f.v[z].reserve_memory_mib = 0;
	assert_int_equal(fx_run(&f), 0);
	assert_string_equal(moves_str(&f), "a:h1>h2 b:h1>h3");
}

/* HA admission: the plan leaves the failover capacity as it was (moves
 * inside a cluster change neither its capacity nor its load). */
static void t_ha(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	fx_host(&f, "h3", PLACEMENT_CONNECTED);
	f.in.ha = (struct ha_policy){.kind = HA_POLICY_HOST_FAILURES, .host_failures = 1};
	assert_int_equal(fx_run(&f), 0);
	assert_true(f.p.nmoves >= 1);
	assert_int_equal(f.p.ha_before.tolerates, f.p.ha_after.tolerates);
	assert_true(f.p.ha_before.tolerates >= 1);
	for (int r = 0; r < HA_NRES; r++) {
		assert_int_equal(f.p.ha_before.free[r], f.p.ha_after.free[r]);
		assert_int_equal(f.p.ha_before.reserved[r], f.p.ha_after.reserved[r]);
	}
	/* Over its policy already: balancing still plans, leaving it no worse. */
	f.in.ha = (struct ha_policy){.kind = HA_POLICY_PERCENT, .pct = {100, 100}};
	assert_int_equal(fx_run(&f), 0);
	assert_true(f.p.ha_before.free[HA_CPU] < 0);
	assert_true(f.p.nmoves >= 1);
	assert_int_equal(f.p.ha_before.free[HA_CPU], f.p.ha_after.free[HA_CPU]);
}

/* Caps: moves per round, migrations in flight, moves per host. */
static void t_caps(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	f.in.max_moves = 1;
	assert_int_equal(fx_run(&f), 0);
	assert_string_equal(moves_str(&f), "a:h1>h2");
	assert_int_equal(f.p.stop, BALANCE_STOP_CAP);
	has(f.p.reason, "cap of 1 moves reached (1 planned, 0 in flight)");

	heavy_pair(&f);
	f.in.max_moves = 2;
	f.in.in_flight = 2;
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nmoves, 0);
	assert_int_equal(f.p.stop, BALANCE_STOP_CAP);
	has(f.p.reason, "cap of 2 moves reached (0 planned, 2 in flight)");

	heavy_pair(&f);
	fx_host(&f, "h3", PLACEMENT_CONNECTED);
	f.in.max_per_host = 1;
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nmoves, 1);
	assert_int_equal(f.p.stop, BALANCE_STOP_NO_GAIN);
	has(f.p.reason, "2 hosts at the cap of 1 move each this round");
}

/* Per-VM overrides, and VMs no other host can take. */
static void t_vm_limits(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	f.v[0].excluded = true;
	assert_int_equal(fx_run(&f), 0);
	assert_string_equal(moves_str(&f), "b:h1>h2 c:h1>h2");

	heavy_pair(&f);
	for (int i = 0; i < 4; i++)
		f.v[i].excluded = true;
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nmoves, 0);
	assert_int_equal(f.p.stop, BALANCE_STOP_NO_GAIN);
	assert_int_equal(f.p.blocked_vm, -1);

	/* h2 has every vCPU allocated (32 under 4x overcommit) to an idle VM. */
	heavy_pair(&f);
	int z = fx_vm(&f, "z", 1, 0, 0);
	f.v[z].vcpus = 32;
	assert_int_equal(fx_run(&f), 0);
	assert_int_equal(f.p.nmoves, 0);
	assert_int_equal(f.p.stop, BALANCE_STOP_NO_GAIN);
	assert_int_equal(f.p.blocked_vm, 0);
	assert_int_equal(f.p.blocked_filter, PLACEMENT_F_CPU);
	assert_int_equal(f.p.blocked_rule, -1);
	has(f.p.reason, "; the best, a to h2 (gain 0.1669), is refused: ");

	/* A VM that dirties memory faster than the link copies it, with no
	 * post-copy or auto-converge allowed, is not moved. */
	heavy_pair(&f);
	f.v[0].dirty_bytes_s = 2048 * MIB;
	assert_int_equal(fx_run(&f), 0);
	assert_string_equal(moves_str(&f), "b:h1>h2 c:h1>h2");
}

static void t_bad_input(void **state)
{
	(void)state;
	struct fx f;
	heavy_pair(&f);
	f.in.level = 0;
	assert_int_equal(fx_run(&f), -1);
	has(f.p.reason, "level must be 1");
	heavy_pair(&f);
	f.in.level = 6;
	assert_int_equal(fx_run(&f), -1);
	heavy_pair(&f);
	f.h[1].cluster = 1;
	fx_vm(&f, "elsewhere", 1, 1, 1024);
	assert_int_equal(fx_run(&f), -1);
	has(f.p.reason, "VM 'elsewhere' runs on no host of the cluster");
	heavy_pair(&f);
	f.v[2].vcpus = 0;
	assert_int_equal(fx_run(&f), -1);
	has(f.p.reason, "VM 'c' has a negative or unbounded demand or size");
	heavy_pair(&f);
	f.in.ha.kind = (enum ha_policy_kind)7;
	assert_int_equal(fx_run(&f), -1);
	has(f.p.reason, "HA admission");
	heavy_pair(&f);
	f.in.max_moves = 0;
	assert_int_equal(fx_run(&f), -1);
	assert_int_equal(balance_plan(NULL, NULL, &f.p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_imbalance),   cmocka_unit_test(t_levels),       cmocka_unit_test(t_min_gain),
		cmocka_unit_test(t_hold),        cmocka_unit_test(t_small),        cmocka_unit_test(t_no_ping_pong),
		cmocka_unit_test(t_rules),       cmocka_unit_test(t_reach),        cmocka_unit_test(t_maintenance),  cmocka_unit_test(t_reservations),
		cmocka_unit_test(t_ha),          cmocka_unit_test(t_caps),         cmocka_unit_test(t_vm_limits),
		cmocka_unit_test(t_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
