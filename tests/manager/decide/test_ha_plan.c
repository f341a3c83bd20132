/* test_ha_plan.c - the HA restart plan (decide/ha_plan.c): which VMs of
 * failed hosts restart where and in what order. Priorities, dependency
 * waves, cycles named, a dependency that gets no room, rules kept,
 * maintenance and reservations respected, high priority served first when
 * room is short; a rack of 1,000 hosts failing in a fleet of 10,000; and
 * the plan replayed against placement over the whole fleet. Hosts of 8
 * CPUs and 16 GiB, clusters packing (most allocated that fits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ha_plan.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct placement_cluster clusters[] = {
	{"c1", 1.0, 1.0, PLACEMENT_PACK},
	{"c2", 1.0, 1.0, PLACEMENT_PACK},
};

static struct placement_host host(const char *name, int cluster, enum placement_host_state st, int vcpus,
                                  int64_t mib)
{
	return (struct placement_host){.name = name, .cluster = cluster, .state = st, .cpus = 8,
	                               .memory_mib = 16384, .alloc_vcpus = vcpus, .alloc_memory_mib = mib};
}

static struct placement_snapshot snap(const struct placement_host *h, int n, const struct placement_rule *rules,
                                      int nrules)
{
	return (struct placement_snapshot){.hosts = h, .nhosts = n, .clusters = clusters, .nclusters = 2,
	                                   .rules = rules, .nrules = nrules};
}

/* A VM of failed host 0 in cluster c1. */
static struct ha_vm vm(const char *name, enum ha_priority prio, int vcpus, int64_t mib)
{
	return (struct ha_vm){.name = name, .host = 0, .priority = prio, .vcpus = vcpus, .memory_mib = mib,
	                      .datastore = -1, .cluster = 0};
}

/* The plan in one line: "a>h1/0 b>h2/1 | c:no_host", restarts as
 * name>host/wave in plan order, then the VMs not restarted (cut short
 * for large plans). */
struct planned {
	struct ha_restart *restarts;
	struct ha_skip *skipped;
	struct ha_plan plan;
	char line[1024];
};

static int plan(const struct placement_snapshot *s, const struct ha_vm *vms, int n, struct planned *p)
{
	p->restarts = calloc((size_t)n + 1, sizeof(*p->restarts));
	p->skipped = calloc((size_t)n + 1, sizeof(*p->skipped));
	assert_non_null(p->restarts);
	assert_non_null(p->skipped);
	int rc = ha_plan_restarts(s, vms, n, p->restarts, p->skipped, &p->plan);
	p->line[0] = '\0';
	if (rc < 0)
		return rc;
	/* Every VM ends in exactly one of the two lists. */
	assert_int_equal(p->plan.nrestarts + p->plan.nskipped, n);
	if (n > 20)
		return rc;
	size_t at = 0;
	for (int i = 0; i < p->plan.nrestarts && at < sizeof(p->line); i++)
		at += (size_t)snprintf(p->line + at, sizeof(p->line) - at, "%s%s>%s/%d", i ? " " : "",
		                       vms[p->restarts[i].vm].name, s->hosts[p->restarts[i].host].name,
		                       p->restarts[i].wave);
	if (p->plan.nskipped && at < sizeof(p->line))
		at += (size_t)snprintf(p->line + at, sizeof(p->line) - at, "%s|", at ? " " : "");
	for (int i = 0; i < p->plan.nskipped && at < sizeof(p->line); i++)
		at += (size_t)snprintf(p->line + at, sizeof(p->line) - at, " %s:%s", vms[p->skipped[i].vm].name,
		                       ha_skip_name(p->skipped[i].why));
	return rc;
}

static void unplan(struct planned *p)
{
	free(p->restarts);
	free(p->skipped);
}

static const char *restart_reason(const struct planned *p, const struct ha_vm *vms, const char *name)
{
	for (int i = 0; i < p->plan.nrestarts; i++)
		if (!strcmp(vms[p->restarts[i].vm].name, name))
			return p->restarts[i].reason;
	return "(not restarted)";
}

static const char *skip_reason(const struct planned *p, const struct ha_vm *vms, const char *name)
{
	for (int i = 0; i < p->plan.nskipped; i++)
		if (!strcmp(vms[p->skipped[i].vm].name, name))
			return p->skipped[i].reason;
	return "(restarted)";
}

/* Three failed-over hosts' worth of room: h0 failed, h1 empty, h2 half full. */
static void three_hosts(struct placement_host h[3])
{
	h[0] = host("h0", 0, PLACEMENT_DISCONNECTED, 8, 16384);
	h[1] = host("h1", 0, PLACEMENT_CONNECTED, 0, 0);
	h[2] = host("h2", 0, PLACEMENT_CONNECTED, 4, 8192);
}

static void t_priority_order(void **state)
{
	(void)state;
	struct placement_host h[3];
	three_hosts(h);
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	/* Given low first and largest: planned high, the two mediums largest
	 * first, then low; the disabled one never. */
	const struct ha_vm vms[] = {vm("low", HA_PRIO_LOW, 1, 4096), vm("med-s", HA_PRIO_MEDIUM, 1, 1024),
	                            vm("off", HA_PRIO_DISABLED, 1, 1024), vm("high", HA_PRIO_HIGH, 1, 2048),
	                            vm("med-l", HA_PRIO_MEDIUM, 1, 2048)};
	struct planned p;
	assert_int_equal(plan(&s, vms, 5, &p), 0);
	/* Packing: high fills h2 to 10 GiB, med-l to 12, med-s to 13; low (4
	 * GiB) then fits h2's last 3 GiB no more and goes to h1. */
	assert_string_equal(p.line, "high>h2/0 med-l>h2/0 med-s>h2/0 low>h1/0 | off:disabled");
	assert_string_equal(restart_reason(&p, vms, "high"),
	                    "high priority, wave 0: chosen (rank 1 of 2): score 0.625 under pack: most allocated "
	                    "that fits; after placement 5 of 8 vCPUs, 10240 of 16384 MiB");
	assert_string_equal(skip_reason(&p, vms, "off"), "restart priority disabled: HA leaves it stopped");
	assert_string_equal(p.plan.reason,
	                    "4 of 5 VMs of 1 failed host restart on 2 hosts in 1 wave; 1 not restarted: 1 priority "
	                    "disabled");
	assert_int_equal(p.plan.nwaves, 1);
	/* The caller's snapshot is untouched: the plan counted on a copy. */
	assert_int_equal(h[2].alloc_memory_mib, 8192);
	unplan(&p);
}

static void t_dependency_waves(void **state)
{
	(void)state;
	struct placement_host h[3];
	three_hosts(h);
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	/* web after app, app after db and cache; db is low but app, high,
	 * waits for it: db is raised to high. big (high, largest) is free to
	 * go first. */
	enum { DB, APP, WEB, BIG, CACHE };
	static const int app_after[] = {DB, CACHE}, web_after[] = {APP};
	struct ha_vm vms[] = {vm("db", HA_PRIO_LOW, 1, 1024), vm("app", HA_PRIO_HIGH, 1, 1024),
	                      vm("web", HA_PRIO_HIGH, 1, 1024), vm("big", HA_PRIO_HIGH, 1, 4096),
	                      vm("cache", HA_PRIO_MEDIUM, 1, 512)};
	vms[APP].after = app_after;
	vms[APP].nafter = 2;
	vms[WEB].after = web_after;
	vms[WEB].nafter = 1;
	struct planned p;
	assert_int_equal(plan(&s, vms, 5, &p), 0);
	/* big, then the raised db (larger than the raised cache), cache, then
	 * app once both are planned, then web; waves follow the links. */
	assert_string_equal(p.line, "big>h2/0 db>h2/0 cache>h2/0 app>h2/1 web>h1/2"); /* h2's CPUs all taken */
	assert_string_equal(restart_reason(&p, vms, "db"),
	                    "high priority (raised from low: app starts after it), wave 0: chosen (rank 1 of 2): "
	                    "score 0.781 under pack: most allocated that fits; after placement 6 of 8 vCPUs, "
	                    "13312 of 16384 MiB");
	assert_non_null(strstr(restart_reason(&p, vms, "app"), "high priority, wave 1 after db, cache are ready: "));
	assert_non_null(strstr(restart_reason(&p, vms, "web"), "high priority, wave 2 after app is ready: "));
	assert_int_equal(p.plan.nwaves, 3);
	unplan(&p);
}

static void t_cycle_named(void **state)
{
	(void)state;
	struct placement_host h[3];
	three_hosts(h);
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	/* a -> b -> c -> a; d after a (downstream of the cycle); e after
	 * itself; f <-> g with h also in their component (g <-> h). */
	enum { A, B, C, D, E, F, G, H };
	static const int a_after[] = {B}, b_after[] = {C}, c_after[] = {A}, d_after[] = {A}, e_after[] = {E},
	                 f_after[] = {G}, g_after[] = {F, H}, h_after[] = {G};
	static const int *const after[] = {a_after, b_after, c_after, d_after, e_after, f_after, g_after, h_after};
	static const int nafter[] = {1, 1, 1, 1, 1, 1, 2, 1};
	static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
	struct ha_vm vms[8];
	for (int i = 0; i < 8; i++) {
		vms[i] = vm(names[i], HA_PRIO_MEDIUM, 1, 512);
		vms[i].after = after[i];
		vms[i].nafter = nafter[i];
	}
	struct planned p;
	assert_int_equal(plan(&s, vms, 8, &p), 0);
	assert_string_equal(p.line, "d>h2/0 | a:cycle b:cycle c:cycle e:cycle f:cycle g:cycle h:cycle");
	assert_string_equal(skip_reason(&p, vms, "a"), "its start order is circular: a starts after b, which starts "
	                                               "after c, which starts after a");
	assert_string_equal(skip_reason(&p, vms, "c"), "its start order is circular: c starts after a, which starts "
	                                               "after b, which starts after c");
	assert_string_equal(skip_reason(&p, vms, "e"), "its start order is circular: it starts after itself");
	assert_string_equal(skip_reason(&p, vms, "g"), "its start order is circular: g starts after f, which starts "
	                                               "after g");
	assert_string_equal(skip_reason(&p, vms, "h"), "its start order is circular: it is one of 3 VMs that start "
	                                               "after one another, as f starts after g, which starts after f");
	/* d still restarts, at once, and says it does not wait. */
	assert_non_null(strstr(restart_reason(&p, vms, "d"),
	                        "medium priority, wave 0; does not wait for a (in a start-order cycle): chosen"));
	assert_string_equal(p.plan.reason, "1 of 8 VMs of 1 failed host restarts on 1 host in 1 wave; 7 not "
	                                   "restarted: 7 in a start-order cycle");
	unplan(&p);
}

static void t_dependency_without_room(void **state)
{
	(void)state;
	struct placement_host h[3];
	three_hosts(h);
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	/* db needs 20 GiB: no host has it. app and web wait for it, and for a
	 * disabled VM: both restart at once and say what they do not wait for. */
	enum { DB, APP, OFF, WEB };
	static const int app_after[] = {DB, OFF, DB}, web_after[] = {APP, DB};
	struct ha_vm vms[] = {vm("db", HA_PRIO_HIGH, 2, 20480), vm("app", HA_PRIO_HIGH, 1, 1024),
	                      vm("off", HA_PRIO_DISABLED, 1, 1024), vm("web", HA_PRIO_HIGH, 1, 1024)};
	vms[APP].after = app_after;
	vms[APP].nafter = 3;
	vms[WEB].after = web_after;
	vms[WEB].nafter = 2;
	struct planned p;
	assert_int_equal(plan(&s, vms, 4, &p), 0);
	assert_string_equal(p.line, "app>h2/0 web>h2/1 | off:disabled db:no_host");
	assert_string_equal(skip_reason(&p, vms, "db"), "high priority: VM 'db' (2 vCPUs, 20480 MiB) fits on no host "
	                                                "of cluster c1 (2 hosts lacked memory, 1 disconnected)");
	/* Named once each though app lists db twice. */
	assert_non_null(strstr(restart_reason(&p, vms, "app"), "high priority, wave 0; does not wait for db (no host "
	                                                       "fits), off (priority disabled): chosen"));
	assert_non_null(strstr(restart_reason(&p, vms, "web"), "high priority, wave 1 after app is ready; does not "
	                                                       "wait for db (no host fits): chosen"));
	unplan(&p);
}

static void t_long_lists_are_cut(void **state)
{
	(void)state;
	struct placement_host h[3];
	three_hosts(h);
	h[1].cpus = h[2].cpus = 64;
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	/* v0 .. v7 start after one another in a ring; w starts after d0 .. d4
	 * (restarted) and after v0 (not); z after a VM of a very long name. */
	enum { NV = 8, ND = 5 };
	static const char *const names[] = {"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7",
	                                    "d0", "d1", "d2", "d3", "d4", "w", NULL};
	static int ring[NV], w_after[ND + 1];
	struct ha_vm vms[NV + ND + 3];
	for (int i = 0; i < NV; i++) {
		ring[i] = (i + 1) % NV;
		vms[i] = vm(names[i], HA_PRIO_HIGH, 1, 64);
		vms[i].after = &ring[i];
		vms[i].nafter = 1;
	}
	for (int i = 0; i < ND; i++) {
		vms[NV + i] = vm(names[NV + i], HA_PRIO_HIGH, 1, 64);
		w_after[i] = NV + i;
	}
	w_after[ND] = 0;
	vms[NV + ND] = vm("w", HA_PRIO_HIGH, 1, 64);
	vms[NV + ND].after = w_after;
	vms[NV + ND].nafter = ND + 1;
	static char long_name[600];
	memset(long_name, 'x', sizeof(long_name) - 1);
	vms[NV + ND + 1] = vm(long_name, HA_PRIO_HIGH, 1, 64);
	static const int z_after[] = {NV + ND + 1};
	vms[NV + ND + 2] = vm("z", HA_PRIO_HIGH, 1, 64);
	vms[NV + ND + 2].after = z_after;
	vms[NV + ND + 2].nafter = 1;
	struct planned p;
	assert_int_equal(plan(&s, vms, NV + ND + 3, &p), 0);
	assert_string_equal(skip_reason(&p, vms, "v0"),
	                    "its start order is circular: v0 starts after v1, which starts after v2, which starts after "
	                    "v3, which starts after v4, which starts after v5, which starts after v6, ... (8 VMs in all)");
	assert_non_null(strstr(restart_reason(&p, vms, "w"), "high priority, wave 1 after d0, d1, d2 and 2 more are "
	                                                     "ready; does not wait for v0 (in a start-order cycle): "));
	/* z's names the 599-letter VM it waits for: cut to its buffer. */
	const char *cut = restart_reason(&p, vms, "z");
	assert_int_equal(strlen(cut), HA_RESTART_REASON_MAX - 1);
	unplan(&p);
}

/* Two VMs a and b of failed h0, 2 vCPUs and 4 GiB each, both in rule 0. */
static void plan_pair(const struct placement_snapshot *s, struct planned *p)
{
	static const int r0[] = {0};
	static struct ha_vm vms[2];
	vms[0] = vm("a", HA_PRIO_MEDIUM, 2, 4096);
	vms[1] = vm("b", HA_PRIO_MEDIUM, 2, 4096);
	vms[0].rules = vms[1].rules = r0;
	vms[0].nrules = vms[1].nrules = 1;
	assert_int_equal(plan(s, vms, 2, p), 0);
}

static void t_anti_affine_pair_splits(void **state)
{
	(void)state;
	const struct placement_member mem[] = {{"a", 0}, {"b", 0}};
	const struct placement_rule rules[] = {{"apart", PLACEMENT_ANTI_AFFINITY, mem, 2}};
	const struct placement_host h[] = {host("h0", 0, PLACEMENT_DISCONNECTED, 4, 8192),
	                                   host("h1", 0, PLACEMENT_CONNECTED, 0, 0),
	                                   host("h2", 0, PLACEMENT_CONNECTED, 0, 0)};
	const struct placement_snapshot s = snap(h, 3, rules, 1);
	struct planned p;
	plan_pair(&s, &p);
	assert_string_equal(p.line, "a>h1/0 b>h2/0"); /* packing alone would put both on h1 */
	assert_int_equal(mem[0].host, 0);             /* the caller's rule is untouched */
	unplan(&p);
	/* A third member running on h2: b has nowhere to go. */
	const struct placement_member mem3[] = {{"a", 0}, {"b", 0}, {"c", 2}};
	const struct placement_rule rules3[] = {{"apart", PLACEMENT_ANTI_AFFINITY, mem3, 3}};
	const struct placement_snapshot s3 = snap(h, 3, rules3, 1);
	plan_pair(&s3, &p);
	assert_string_equal(p.line, "a>h1/0 | b:no_host");
	assert_string_equal(p.skipped[0].reason, "medium priority: VM 'b' (2 vCPUs, 4096 MiB) fits on no host of "
	                                         "cluster c1 (2 hosts running an anti-affinity partner, 1 "
	                                         "disconnected), counting the 1 restart planned before it");
	unplan(&p);
}

static void t_affine_pair_together(void **state)
{
	(void)state;
	/* The first goes where packing says (h2, fuller); the second joins it
	 * though h1 has more room. */
	const struct placement_member mem[] = {{"a", 0}, {"b", 0}};
	const struct placement_rule rules[] = {{"together", PLACEMENT_AFFINITY, mem, 2}};
	const struct placement_host h[] = {host("h0", 0, PLACEMENT_DISCONNECTED, 4, 8192),
	                                   host("h1", 0, PLACEMENT_CONNECTED, 0, 0),
	                                   host("h2", 0, PLACEMENT_CONNECTED, 2, 2048)};
	const struct placement_snapshot s = snap(h, 3, rules, 1);
	struct planned p;
	plan_pair(&s, &p);
	assert_string_equal(p.line, "a>h2/0 b>h2/0");
	unplan(&p);
	/* A partner running on h1: both follow it there. */
	const struct placement_member mem3[] = {{"a", 0}, {"b", 0}, {"c", 1}};
	const struct placement_rule rules3[] = {{"together", PLACEMENT_AFFINITY, mem3, 3}};
	const struct placement_snapshot s3 = snap(h, 3, rules3, 1);
	plan_pair(&s3, &p);
	assert_string_equal(p.line, "a>h1/0 b>h1/0");
	unplan(&p);
	/* A partner running in the other cluster: no host of c1 can join it,
	 * and the reason says so (placement over the whole fleet). */
	const struct placement_host h4[] = {host("h0", 0, PLACEMENT_DISCONNECTED, 4, 8192),
	                                    host("h1", 0, PLACEMENT_CONNECTED, 0, 0),
	                                    host("h2", 0, PLACEMENT_CONNECTED, 2, 2048),
	                                    host("x1", 1, PLACEMENT_CONNECTED, 0, 0)};
	const struct placement_member mem4[] = {{"a", 0}, {"b", 0}, {"c", 3}};
	const struct placement_rule rules4[] = {{"together", PLACEMENT_AFFINITY, mem4, 3}};
	const struct placement_snapshot s4 = snap(h4, 4, rules4, 1);
	plan_pair(&s4, &p);
	assert_string_equal(p.line, "| a:no_host b:no_host");
	assert_string_equal(p.skipped[0].reason, "medium priority: VM 'a' (2 vCPUs, 4096 MiB) fits on no host of "
	                                         "cluster c1 (2 hosts away from its affinity partners, 1 outside "
	                                         "cluster c1, 1 disconnected)");
	unplan(&p);
}

static void t_maintenance_and_other_clusters_never(void **state)
{
	(void)state;
	/* The fullest hosts that fit are in maintenance, disconnected (another
	 * failure, not this plan's) and in c2: packing would pick them. */
	const struct placement_host h[] = {
		host("h0", 0, PLACEMENT_DISCONNECTED, 2, 2048), host("serviced", 0, PLACEMENT_MAINTENANCE, 6, 12288),
		host("other", 1, PLACEMENT_CONNECTED, 6, 12288), host("down", 0, PLACEMENT_DISCONNECTED, 6, 12288),
		host("ok", 0, PLACEMENT_CONNECTED, 0, 0)};
	const struct placement_snapshot s = snap(h, 5, NULL, 0);
	const struct ha_vm vms[] = {vm("a", HA_PRIO_HIGH, 2, 2048), vm("b", HA_PRIO_LOW, 2, 2048)};
	struct planned p;
	assert_int_equal(plan(&s, vms, 2, &p), 0);
	assert_string_equal(p.line, "a>ok/0 b>ok/0");
	assert_string_equal(p.plan.reason, "2 of 2 VMs of 1 failed host restart on 1 host in 1 wave");
	unplan(&p);
}

static void t_reservations_counted(void **state)
{
	(void)state;
	/* h1 is fuller (packing prefers it) but its VMs reserve 14 GiB of its
	 * 16; h2's reserve nothing. a and b reserve 4 GiB each: h1 cannot
	 * keep that, h2 can, twice. c reserves 10 GiB: h1 keeps 2 free, h2
	 * now 8, counting a and b: no host. */
	struct placement_host h[] = {host("h0", 0, PLACEMENT_DISCONNECTED, 0, 0),
	                             host("h1", 0, PLACEMENT_CONNECTED, 2, 2048),
	                             host("h2", 0, PLACEMENT_CONNECTED, 1, 1024)};
	h[1].reserved_memory_mib = 14336;
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	struct ha_vm vms[] = {vm("a", HA_PRIO_HIGH, 1, 4096), vm("b", HA_PRIO_HIGH, 1, 4096),
	                      vm("c", HA_PRIO_LOW, 1, 1024)};
	vms[0].reserve_memory_mib = vms[1].reserve_memory_mib = 4096;
	vms[2].reserve_memory_mib = 10240;
	struct planned p;
	assert_int_equal(plan(&s, vms, 3, &p), 0);
	assert_string_equal(p.line, "a>h2/0 b>h2/0 | c:no_host");
	assert_string_equal(p.skipped[0].reason, "low priority: VM 'c' (1 vCPU, 1024 MiB) fits on no host of cluster "
	                                         "c1 (2 hosts could not keep its reservation, 1 disconnected), "
	                                         "counting the 2 restarts planned before it");
	unplan(&p);
}

static void t_short_of_room_high_first(void **state)
{
	(void)state;
	/* Two hosts with 8 GiB free each; 20 GiB of VMs. The low one is the
	 * largest and given first: without priorities it would take a host. */
	const struct placement_host h[] = {host("h0", 0, PLACEMENT_DISCONNECTED, 0, 0),
	                                   host("h1", 0, PLACEMENT_CONNECTED, 0, 8192),
	                                   host("h2", 0, PLACEMENT_CONNECTED, 0, 8192)};
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	const struct ha_vm vms[] = {vm("low", HA_PRIO_LOW, 1, 8192), vm("high1", HA_PRIO_HIGH, 1, 6144),
	                            vm("med", HA_PRIO_MEDIUM, 1, 4096), vm("high2", HA_PRIO_HIGH, 1, 2048)};
	struct planned p;
	assert_int_equal(plan(&s, vms, 4, &p), 0);
	assert_string_equal(p.line, "high1>h1/0 high2>h1/0 med>h2/0 | low:no_host");
	assert_string_equal(p.skipped[0].reason, "low priority: VM 'low' (1 vCPU, 8192 MiB) fits on no host of "
	                                         "cluster c1 (2 hosts lacked memory, 1 disconnected), counting the 3 "
	                                         "restarts planned before it");
	assert_string_equal(p.plan.reason, "3 of 4 VMs of 1 failed host restart on 2 hosts in 1 wave; 1 not "
	                                   "restarted: 1 fitting on no host");
	unplan(&p);
}

static void t_two_failed_hosts(void **state)
{
	(void)state;
	/* h0 and h3 fail at once (c1 and c2); each VM stays in its cluster. */
	const struct placement_host h[] = {
		host("h0", 0, PLACEMENT_DISCONNECTED, 4, 8192), host("h1", 0, PLACEMENT_CONNECTED, 0, 0),
		host("h2", 1, PLACEMENT_CONNECTED, 0, 0), host("h3", 1, PLACEMENT_DISCONNECTED, 4, 8192),
		host("h4", 0, PLACEMENT_CONNECTED, 4, 8192)};
	const struct placement_snapshot s = snap(h, 5, NULL, 0);
	struct ha_vm vms[] = {vm("a", HA_PRIO_MEDIUM, 2, 4096), vm("b", HA_PRIO_MEDIUM, 2, 4096),
	                      vm("x", HA_PRIO_MEDIUM, 2, 4096), vm("y", HA_PRIO_HIGH, 2, 4096)};
	vms[2].host = vms[3].host = 3;
	vms[2].cluster = vms[3].cluster = 1;
	struct planned p;
	assert_int_equal(plan(&s, vms, 4, &p), 0);
	/* y first (high); then a, b, x as given (equal sizes). a and b pack
	 * h4 (8 GiB free); x joins y on h2. */
	assert_string_equal(p.line, "y>h2/0 a>h4/0 b>h4/0 x>h2/0");
	assert_string_equal(p.plan.reason, "4 of 4 VMs of 2 failed hosts restart on 2 hosts in 1 wave");
	unplan(&p);
}

static void t_large_cluster_ties_to_the_lower_index(void **state)
{
	(void)state;
	/* 300 empty hosts (h1 with 4 CPUs, the others 8): large enough that
	 * the plan keeps placement's ranking for s1's shape and re-asks only
	 * about the hosts changed since. s1 packs onto h1 (fullest after
	 * placement); m1 and m2 (anti-affine) cannot join it and go to h2 and
	 * h3; s2, the same shape as s1, then ties h2 and h3 (both changed
	 * since the ranking): the lower index, as placement would choose. */
	static struct placement_host h[300];
	static char names[300][8];
	for (int i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "h%d", i);
		h[i] = host(names[i], 0, i ? PLACEMENT_CONNECTED : PLACEMENT_DISCONNECTED, 0, 0);
	}
	h[1].cpus = 4;
	const struct placement_member mem[] = {{"m1", 0}, {"m2", 0}};
	const struct placement_rule rules[] = {{"apart", PLACEMENT_ANTI_AFFINITY, mem, 2}};
	const struct placement_snapshot s = snap(h, 300, rules, 1);
	static const int r0[] = {0};
	struct ha_vm vms[] = {vm("s1", HA_PRIO_HIGH, 3, 2048), vm("m1", HA_PRIO_MEDIUM, 2, 4096),
	                      vm("m2", HA_PRIO_MEDIUM, 2, 4096), vm("s2", HA_PRIO_LOW, 3, 2048)};
	vms[1].rules = vms[2].rules = r0;
	vms[1].nrules = vms[2].nrules = 1;
	struct planned p;
	assert_int_equal(plan(&s, vms, 4, &p), 0);
	assert_string_equal(p.line, "s1>h1/0 m1>h2/0 m2>h3/0 s2>h2/0");
	assert_string_equal(restart_reason(&p, vms, "s2"),
	                    "low priority, wave 0: chosen (rank 1 of 298): score 0.500 under pack: most allocated that "
	                    "fits; after placement 5 of 8 vCPUs, 6144 of 16384 MiB");
	unplan(&p);
}

static void t_refused_inputs(void **state)
{
	(void)state;
	struct placement_host h[3];
	three_hosts(h);
	const struct placement_snapshot s = snap(h, 3, NULL, 0);
	struct ha_restart rs[2];
	struct ha_skip sk[2];
	struct ha_plan out;
	assert_int_equal(ha_plan_restarts(&s, NULL, 0, NULL, NULL, &out), 0);
	assert_string_equal(out.reason, "no VM to restart");
	struct ha_vm vms[] = {vm("a", HA_PRIO_HIGH, 1, 1024), vm("b", HA_PRIO_HIGH, 1, 1024)};
	static const int bad_after[] = {2};
	static const struct {
		const char *what;
		int field, value;
		const char *reason;
	} cases[] = {
		{"a VM of a live host: it could run twice", 0, 1,
		 "cannot plan the restarts: VM 'a' ran on host #1, which is not disconnected: only a failed (fenced) "
		 "host's VMs are restarted"},
		{"no such host", 0, 7, "cannot plan the restarts: VM 'a' ran on no host of the snapshot"},
		{"no such cluster", 1, 2, "cannot plan the restarts: VM 'a' names no cluster of the snapshot"},
		{"an unknown priority", 2, 9, "cannot plan the restarts: VM 'a' has an unknown restart priority"},
		{"after a VM not in the plan", 3, 0, "cannot plan the restarts: VM 'a' starts after VM #2, which is not in "
		                                     "the plan"},
		{"a rule the snapshot has not", 4, 0, "cannot plan the restarts: VM 'a' names rule #0, which the snapshot "
		                                      "has not"},
		{"a size placement refuses", 5, 0, "cannot plan the restarts: VM 'a': the request needs at least 1 vCPU "
		                                   "and 1 MiB, and known datastore, network and cluster ids"},
	};
	static const int r0[] = {0};
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct ha_vm v[2] = {vms[0], vms[1]};
		switch (cases[k].field) {
		case 0: v[0].host = cases[k].value; break;
		case 1: v[0].cluster = cases[k].value; break;
		case 2: v[0].priority = (enum ha_priority)cases[k].value; break;
		case 3: v[0].after = bad_after, v[0].nafter = 1; break;
		case 4: v[0].rules = r0, v[0].nrules = 1; break;
		case 5: v[0].vcpus = 0; break;
		}
		print_message("%s\n", cases[k].what);
		assert_int_equal(ha_plan_restarts(&s, v, 2, rs, sk, &out), -1);
		assert_string_equal(out.reason, cases[k].reason);
		assert_int_equal(out.nrestarts, 0);
	}
	assert_int_equal(ha_plan_restarts(&s, vms, HA_PLAN_MAX_VMS + 1, rs, sk, &out), -1);
	assert_string_equal(out.reason, "cannot plan the restarts: 100001 VMs, more than 100000 in one plan: plan them "
	                                "in parts (by cluster)");
	/* 1,000 VMs each after the same 1,001: past the links a plan takes. */
	enum { MANY = 1000, AFTER = 1001 };
	static int many_after[AFTER];
	static struct ha_vm many[MANY + 1];
	for (int i = 0; i < AFTER; i++)
		many_after[i] = i % MANY;
	for (int i = 0; i < MANY; i++) {
		many[i] = vm("m", HA_PRIO_LOW, 1, 64);
		many[i].after = many_after;
		many[i].nafter = AFTER;
	}
	struct ha_restart *mrs = calloc(MANY, sizeof(*mrs));
	struct ha_skip *msk = calloc(MANY, sizeof(*msk));
	assert_true(mrs && msk);
	assert_int_equal(ha_plan_restarts(&s, many, MANY, mrs, msk, &out), -1);
	assert_string_equal(out.reason, "cannot plan the restarts: 1001000 start-after links, more than 1000000 in one "
	                                "plan");
	free(mrs);
	free(msk);
	assert_int_equal(ha_plan_restarts(NULL, vms, 2, rs, sk, &out), -1);
	assert_string_equal(out.reason, "cannot plan the restarts: an argument is missing");
}

/* A fleet of nclusters x per hosts, clusters interleaved (host i in
 * cluster i % nclusters) so that grouping by cluster is exercised; hosts
 * 0 .. nfailed - 1 fail, each with vms_per VMs; the others (32 CPUs,
 * host_mib) are up to half used, one in 97 in maintenance. Half the VMs
 * come in pairs of one rule each (with affinity, one in three affinity,
 * the others anti-affinity), the others name none; one in five reserves its memory; every third VM starts
 * after the one before it (same host, same priority). */
struct fleet {
	struct placement_host *hosts;
	struct placement_cluster *clusters;
	struct placement_rule *rules;
	struct placement_member *members;
	struct ha_vm *vms;
	int *rule_of, *after_of;
	char (*names)[16];
	struct placement_snapshot s;
	int nvms;
};

static void fleet_make(struct fleet *f, int nclusters, int per, int nfailed, int vms_per, int64_t host_mib,
                       bool affinity, unsigned seed)
{
	int nh = nclusters * per, n = nfailed * vms_per;
	f->hosts = calloc((size_t)nh, sizeof(*f->hosts));
	f->clusters = calloc((size_t)nclusters, sizeof(*f->clusters));
	f->rules = calloc((size_t)n / 2 + 1, sizeof(*f->rules));
	f->members = calloc((size_t)n, sizeof(*f->members));
	f->vms = calloc((size_t)n, sizeof(*f->vms));
	f->rule_of = calloc((size_t)n, sizeof(int));
	f->after_of = calloc((size_t)n, sizeof(int));
	f->names = calloc((size_t)n + (size_t)nh, sizeof(*f->names));
	assert_true(f->hosts && f->clusters && f->rules && f->members && f->vms && f->rule_of && f->after_of &&
	            f->names);
	for (int c = 0; c < nclusters; c++)
		f->clusters[c] = (struct placement_cluster){"c", 4.0, 1.0, c % 3 ? PLACEMENT_PACK : PLACEMENT_SPREAD};
	for (int i = 0; i < nh; i++) {
		seed = seed * 1103515245u + 12345u;
		snprintf(f->names[n + i], sizeof(f->names[0]), "h%d", i);
		f->hosts[i] = (struct placement_host){.name = f->names[n + i], .cluster = i % nclusters,
		                                      .state = i < nfailed ? PLACEMENT_DISCONNECTED : PLACEMENT_CONNECTED,
		                                      .cpus = 32, .memory_mib = host_mib,
		                                      .alloc_vcpus = (int)(seed >> 16) % 64,
		                                      .alloc_memory_mib = (int64_t)((seed >> 8) % 128) * host_mib / 256};
		if (i >= nfailed && i % 97 == 5)
			f->hosts[i].state = PLACEMENT_MAINTENANCE;
	}
	for (int v = 0; v < n; v++) {
		seed = seed * 1103515245u + 12345u;
		int h = v / vms_per;
		snprintf(f->names[v], sizeof(f->names[0]), "vm%d", v);
		f->vms[v] = (struct ha_vm){.name = f->names[v], .host = h, .priority = (enum ha_priority)((seed >> 12) % 4),
		                           .vcpus = 1 + (int)((seed >> 4) % 4), .memory_mib = 1024 * (1 + (int)((seed >> 7) % 16)),
		                           .datastore = -1, .cluster = h % nclusters};
		if (v % 5 == 0)
			f->vms[v].reserve_memory_mib = f->vms[v].memory_mib;
		f->members[v] = (struct placement_member){f->names[v], h};
		f->rule_of[v] = v / 2;
		if (v / 2 % 2 == 0) { /* half the VMs, in pairs; the others name no rule */
			f->vms[v].rules = &f->rule_of[v];
			f->vms[v].nrules = 1;
		}
		if (v % 3 == 2) { /* after the one before it: same host, so same cluster; same priority */
			f->after_of[v] = v - 1;
			f->vms[v].after = &f->after_of[v];
			f->vms[v].nafter = 1;
			f->vms[v].priority = f->vms[v - 1].priority;
		}
	}
	for (int r = 0; r < n / 2; r++)
		f->rules[r] = (struct placement_rule){"pair", affinity && r % 3 == 0 ? PLACEMENT_AFFINITY : PLACEMENT_ANTI_AFFINITY,
		                                      &f->members[2 * r], 2};
	f->s = (struct placement_snapshot){.hosts = f->hosts, .nhosts = nh, .clusters = f->clusters,
	                                   .nclusters = nclusters, .rules = f->rules, .nrules = n / 2};
	f->nvms = n;
}

static void fleet_free(struct fleet *f)
{
	free(f->hosts);
	free(f->clusters);
	free(f->rules);
	free(f->members);
	free(f->vms);
	free(f->rule_of);
	free(f->after_of);
	free(f->names);
}

/* What must hold of any plan over a fleet: each VM restarts once, in its
 * cluster, on a connected host, within every host's capacity and
 * reservations; priorities never rise along the plan; a VM comes after the
 * VMs it waits for, one wave later; the pairs are apart. */
static void check_plan(const struct fleet *f, const struct planned *p)
{
	const struct placement_snapshot *s = &f->s;
	int64_t *vcpus = calloc((size_t)s->nhosts, sizeof(int64_t)), *mib = calloc((size_t)s->nhosts, sizeof(int64_t));
	int64_t *reserved = calloc((size_t)s->nhosts, sizeof(int64_t));
	int *at = malloc(sizeof(int) * (size_t)f->nvms), *where = malloc(sizeof(int) * (size_t)f->nvms);
	assert_true(vcpus && mib && reserved && at && where);
	for (int v = 0; v < f->nvms; v++)
		at[v] = where[v] = -1;
	int last_prio = HA_PRIO_HIGH;
	for (int i = 0; i < p->plan.nrestarts; i++) {
		const struct ha_restart *r = &p->restarts[i];
		const struct ha_vm *vm = &f->vms[r->vm];
		assert_int_equal(at[r->vm], -1);
		at[r->vm] = i;
		where[r->vm] = r->host;
		assert_int_equal(s->hosts[r->host].state, PLACEMENT_CONNECTED);
		assert_int_equal(s->hosts[r->host].cluster, vm->cluster);
		assert_true(vm->priority != HA_PRIO_DISABLED);
		assert_true((int)vm->priority <= last_prio);
		last_prio = (int)vm->priority;
		vcpus[r->host] += vm->vcpus;
		mib[r->host] += vm->memory_mib;
		reserved[r->host] += vm->reserve_memory_mib;
		int wave = 0;
		for (int k = 0; k < vm->nafter; k++) {
			int d = vm->after[k];
			if (at[d] >= 0 && p->restarts[at[d]].wave + 1 > wave)
				wave = p->restarts[at[d]].wave + 1;
		}
		assert_int_equal(r->wave, wave);
	}
	for (int h = 0; h < s->nhosts; h++) {
		const struct placement_host *ho = &s->hosts[h];
		double cpu_cap = ho->cpus * s->clusters[ho->cluster].cpu_overcommit;
		assert_true(ho->alloc_vcpus + vcpus[h] <= (int64_t)cpu_cap || vcpus[h] == 0);
		assert_true(ho->alloc_memory_mib + mib[h] <= ho->memory_mib || mib[h] == 0);
		assert_true(ho->reserved_memory_mib + reserved[h] <= ho->memory_mib);
	}
	for (int r = 0; r < s->nrules; r += 2) { /* the rules its VMs name */
		int a = 2 * r, b = 2 * r + 1;
		if (where[a] >= 0 && where[b] >= 0 && s->rules[r].type == PLACEMENT_ANTI_AFFINITY)
			assert_int_not_equal(where[a], where[b]);
		if (where[a] >= 0 && where[b] >= 0 && s->rules[r].type == PLACEMENT_AFFINITY)
			assert_int_equal(where[a], where[b]);
	}
	/* A VM is planned after every VM it waits for that restarts. */
	for (int i = 0; i < p->plan.nrestarts; i++) {
		const struct ha_vm *vm = &f->vms[p->restarts[i].vm];
		for (int k = 0; k < vm->nafter; k++)
			if (where[vm->after[k]] >= 0)
				assert_true(at[vm->after[k]] < i);
	}
	for (int i = 0; i < p->plan.nskipped; i++) {
		assert_int_equal(at[p->skipped[i].vm], -1);
		at[p->skipped[i].vm] = -2;
		if (p->skipped[i].why == HA_SKIP_DISABLED)
			assert_int_equal(f->vms[p->skipped[i].vm].priority, HA_PRIO_DISABLED);
	}
	for (int v = 0; v < f->nvms; v++)
		assert_int_not_equal(at[v], -1);
	free(vcpus);
	free(mib);
	free(reserved);
	free(at);
	free(where);
}

static void t_rack_of_1000_hosts_in_10000(void **state)
{
	(void)state;
	/* 100 clusters of 100 hosts; a rack row of 1,000 hosts fails (10 of
	 * each cluster) with 10 VMs each. The plan costs VMs x hosts of their
	 * cluster (10,000 x 100), not VMs x the fleet. */
	struct fleet f;
	fleet_make(&f, 100, 100, 1000, 10, 262144, false, 7);
	struct planned p;
	clock_t t0 = clock();
	assert_int_equal(plan(&f.s, f.vms, f.nvms, &p), 0);
	print_message("10,000 VMs of 1,000 failed hosts on 10,000: %.3f s of CPU (sanitized build)\n",
	              (double)(clock() - t0) / CLOCKS_PER_SEC);
	check_plan(&f, &p);
	int disabled = 0;
	for (int v = 0; v < f.nvms; v++)
		disabled += f.vms[v].priority == HA_PRIO_DISABLED;
	/* The survivors have room for all (and anti-affinity only, which
	 * packing cannot corner: an affine partner packed onto a full host can
	 * leave the other no room): everything not disabled restarts. */
	assert_int_equal(p.plan.nskipped, disabled);
	assert_int_equal(p.plan.nrestarts, f.nvms - disabled);
	assert_int_equal(p.plan.nwaves, 2);
	print_message("%s\n", p.plan.reason);
	unplan(&p);
	fleet_free(&f);
}

/* How many restarts a VM without room was planned after: its reason
 * says "counting the N restarts planned before it" (none: 0). */
static int planned_after(const char *reason)
{
	const char *at = strstr(reason, "counting the ");
	int n = 0;
	if (at)
		assert_int_equal(sscanf(at, "counting the %d", &n), 1);
	return n;
}

/* Replays a plan with placement over the whole fleet (no cluster views,
 * no kept rankings), in the plan's order, counting each restart where it
 * went: each choice must be the same and its reason end with the same
 * verdict; each VM without room must fit nowhere, for the same reasons. */
static void replay(const struct fleet *f, const struct planned *p)
{
	const struct placement_snapshot *s = &f->s;
	struct placement_host *hosts = malloc(sizeof(*hosts) * (size_t)s->nhosts);
	struct placement_member *members = malloc(sizeof(*members) * (size_t)f->nvms);
	struct placement_rule *rules = malloc(sizeof(*rules) * ((size_t)s->nrules + 1));
	assert_true(hosts && members && rules);
	memcpy(hosts, s->hosts, sizeof(*hosts) * (size_t)s->nhosts);
	for (int v = 0; v < f->nvms; v++)
		members[v] = (struct placement_member){f->vms[v].name, -1}; /* all on failed hosts */
	for (int r = 0; r < s->nrules; r++) {
		rules[r] = s->rules[r];
		rules[r].members = &members[2 * r];
	}
	struct placement_snapshot whole = *s;
	whole.hosts = hosts;
	whole.rules = rules;
	struct placement_result res;
	assert_int_equal(placement_result_init(&res, s->nhosts), 0);
	char text[512], want[512];
	for (int i = 0; i <= p->plan.nrestarts; i++) {
		for (int k = 0; k < p->plan.nskipped; k++) {
			const struct ha_skip *sk = &p->skipped[k];
			if (sk->why != HA_SKIP_NO_HOST || planned_after(sk->reason) != i)
				continue;
			const struct ha_vm *vm = &f->vms[sk->vm];
			struct placement_request q = {.vm = vm->name, .vcpus = vm->vcpus, .memory_mib = vm->memory_mib,
			                              .reserve_memory_mib = vm->reserve_memory_mib, .datastore = -1,
			                              .cluster = vm->cluster, .rules = vm->rules, .nrules = vm->nrules};
			assert_int_equal(placement_choose_host(&whole, &q, &res), 0);
			assert_int_equal(res.host, -1);
			/* The plan looked at its cluster's hosts only. */
			res.count[PLACEMENT_F_CLUSTER] = 0;
			placement_format_summary(&whole, &q, &res, text, sizeof(text));
			snprintf(want, sizeof(want), "(%s)", text + strlen("no host fits: "));
			assert_non_null(strstr(sk->reason, want));
		}
		if (i == p->plan.nrestarts)
			break;
		const struct ha_restart *r = &p->restarts[i];
		const struct ha_vm *vm = &f->vms[r->vm];
		struct placement_request q = {.vm = vm->name, .vcpus = vm->vcpus, .memory_mib = vm->memory_mib,
		                              .reserve_memory_mib = vm->reserve_memory_mib, .datastore = -1,
		                              .cluster = vm->cluster, .rules = vm->rules, .nrules = vm->nrules};
		assert_int_equal(placement_choose_host(&whole, &q, &res), 0);
		assert_int_equal(res.host, r->host);
		placement_format_verdict(&whole, &q, &res, r->host, text, sizeof(text));
		snprintf(want, sizeof(want), ": %s", text);
		assert_string_equal(r->reason + strlen(r->reason) - strlen(want), want);
		hosts[r->host].alloc_vcpus += vm->vcpus;
		hosts[r->host].alloc_memory_mib += vm->memory_mib;
		hosts[r->host].reserved_memory_mib += vm->reserve_memory_mib;
		members[r->vm].host = r->host;
	}
	placement_result_free(&res);
	free(hosts);
	free(members);
	free(rules);
}

static void t_same_choices_as_placement_on_the_whole_fleet(void **state)
{
	(void)state;
	/* From roomy to tight (small hosts, many VMs per failed host), so
	 * that some VMs fit nowhere; the last two with clusters large enough
	 * for the plan to keep placement's rankings (300 and 400 hosts). */
	static const struct {
		int nclusters, per, nfailed, vms_per;
		int64_t host_mib;
	} shapes[] = {{1, 12, 3, 8, 262144}, {3, 10, 6, 12, 65536}, {7, 9, 14, 20, 32768}, {20, 30, 60, 16, 32768},
	              {1, 300, 30, 30, 32768}, {2, 400, 40, 40, 65536}};
	for (size_t k = 0; k < ARRAY_LEN(shapes); k++)
		for (unsigned seed = 1; seed <= 5; seed++) {
			struct fleet f;
			fleet_make(&f, shapes[k].nclusters, shapes[k].per, shapes[k].nfailed, shapes[k].vms_per,
			           shapes[k].host_mib, true, seed);
			struct planned p;
			assert_int_equal(plan(&f.s, f.vms, f.nvms, &p), 0);
			check_plan(&f, &p);
			replay(&f, &p);
			if (seed == 1)
				print_message("%s\n", p.plan.reason);
			unplan(&p);
			fleet_free(&f);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_priority_order),
		cmocka_unit_test(t_dependency_waves),
		cmocka_unit_test(t_cycle_named),
		cmocka_unit_test(t_dependency_without_room),
		cmocka_unit_test(t_long_lists_are_cut),
		cmocka_unit_test(t_anti_affine_pair_splits),
		cmocka_unit_test(t_affine_pair_together),
		cmocka_unit_test(t_maintenance_and_other_clusters_never),
		cmocka_unit_test(t_reservations_counted),
		cmocka_unit_test(t_short_of_room_high_first),
		cmocka_unit_test(t_two_failed_hosts),
		cmocka_unit_test(t_large_cluster_ties_to_the_lower_index),
		cmocka_unit_test(t_refused_inputs),
		cmocka_unit_test(t_rack_of_1000_hosts_in_10000),
		cmocka_unit_test(t_same_choices_as_placement_on_the_whole_fleet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
