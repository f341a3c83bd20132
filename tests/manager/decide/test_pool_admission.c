/* test_pool_admission.c - resource pools' reservations and admission as
 * tables (decide/pool_admission.c). One tree throughout, small enough to
 * work out by hand:
 *
 *   c1 (root: the cluster, 800% CPU, 8192 MiB)
 *   +- prod   400% CPU, 4096 MiB, fixed
 *   +- dev    100% CPU, 1024 MiB, expandable, limit 3072 MiB
 *      +- dev-a  0% CPU, 512 MiB, expandable
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pool_admission.h"

enum { ROOT, PROD, DEV, DEV_A, NPOOLS };

static void tree(struct pool_node t[NPOOLS])
{
	memset(t, 0, sizeof(struct pool_node) * NPOOLS);
	t[ROOT] = (struct pool_node){"c1", -1, {800, 8192}, {POOL_NO_LIMIT, POOL_NO_LIMIT}, false, {0, 0}};
	t[PROD] = (struct pool_node){"prod", ROOT, {400, 4096}, {POOL_NO_LIMIT, POOL_NO_LIMIT}, false, {0, 0}};
	t[DEV] = (struct pool_node){"dev", ROOT, {100, 1024}, {POOL_NO_LIMIT, 3072}, true, {0, 0}};
	t[DEV_A] = (struct pool_node){"dev-a", DEV, {0, 512}, {POOL_NO_LIMIT, POOL_NO_LIMIT}, true, {0, 0}};
}

static void t_admit(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		int64_t before[NPOOLS][POOL_NRES]; /* VMs' reservations already running */
		int pool;
		int64_t need[POOL_NRES];
		bool ok;
		int refused_by;
		const char *reason; /* a part of it */
	} cases[] = {
		{"a VM within prod's reservation", {{0}}, PROD, {100, 1024}, true, 0, NULL},
		{"prod full to 3584 MiB: 1024 more is refused, naming prod and the numbers",
		 {[PROD] = {0, 3584}}, PROD, {0, 1024}, false, PROD,
		 "pool 'prod' cannot reserve 1024 MiB more: 3584 MiB of its 4096 MiB reservation are reserved (by its "
		 "running VMs and child pools) and it is not expandable"},
		{"exactly what is left fits", {[PROD] = {0, 3072}}, PROD, {0, 1024}, true, 0, NULL},
		{"dev lends from the root what its 1024 MiB lack (2048 asked)", {{0}}, DEV, {0, 2048}, true, 0, NULL},
		{"dev's limit: 4096 MiB is refused though the root has room", {{0}}, DEV, {0, 4096}, false, DEV,
		 "pool 'dev' cannot reserve 4096 MiB more: 512 MiB are reserved under it and its limit is 3072 MiB"},
		{"dev-a borrows through dev from the root", {{0}}, DEV_A, {0, 2048}, true, 0, NULL},
		{"dev-a over dev's limit: refused at dev, the chain said", {{0}}, DEV_A, {0, 3100}, false, DEV,
		 "pool 'dev-a' (expandable) would borrow 2588 MiB from 'dev', which cannot give it: pool 'dev' cannot "
		 "reserve 2588 MiB more: 512 MiB are reserved under it and its limit is 3072 MiB"},
		{"the root's capacity: a VM in the root when prod and dev hold 5120 of 8192", {[ROOT] = {0, 3000}}, ROOT,
		 {0, 100}, false, ROOT,
		 "cluster 'c1' cannot reserve 100 MiB more: 8120 MiB of its 8192 MiB capacity are reserved (by its pools "
		 "and running VMs); add a host, or stop a VM"},
		{"dev borrowing runs into the root's capacity", {[ROOT] = {0, 2500}}, DEV, {0, 1700}, false, ROOT,
		 "pool 'dev' (expandable) would borrow 1188 MiB from 'c1'"},
		{"CPU: 500% in prod's 400% is refused, naming CPU", {{0}}, PROD, {500, 0}, false, PROD,
		 "pool 'prod' cannot reserve 500% CPU more: 0% CPU of its 400% CPU reservation"},
		{"a VM reserving nothing always fits", {[PROD] = {400, 4096}}, PROD, {0, 0}, true, 0, NULL},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct pool_node t[NPOOLS];
		tree(t);
		for (int i = 0; i < NPOOLS; i++)
			memcpy(t[i].vms_reserved, cases[k].before[i], sizeof(t[i].vms_reserved));
		struct pool_node was[NPOOLS];
		memcpy(was, t, sizeof(t));
		struct pool_verdict v;
		bool ok = pool_admit(t, NPOOLS, cases[k].pool, cases[k].need, &v);
		print_message("%s: %s\n", cases[k].what, ok ? "admitted" : v.reason);
		assert_int_equal(ok, cases[k].ok);
		assert_int_equal(v.ok, cases[k].ok);
		if (ok) {
			assert_int_equal(t[cases[k].pool].vms_reserved[POOL_MEM],
			                 was[cases[k].pool].vms_reserved[POOL_MEM] + cases[k].need[POOL_MEM]);
			assert_int_equal(t[cases[k].pool].vms_reserved[POOL_CPU],
			                 was[cases[k].pool].vms_reserved[POOL_CPU] + cases[k].need[POOL_CPU]);
			struct pool_verdict tv;
			assert_true(pool_tree_valid(t, NPOOLS, &tv)); /* an admission never breaks the tree */
		} else {
			assert_int_equal(v.pool, cases[k].refused_by);
			assert_non_null(strstr(v.reason, cases[k].reason));
			assert_memory_equal(t, was, sizeof(t)); /* a refusal changes nothing */
		}
	}
}

/* Ten power-ons of 512 MiB at once into prod (4096 MiB): decided one after
 * the other on the same tree, the first eight go and the rest are refused;
 * never more than the reservation. */
static void t_burst(void **state)
{
	(void)state;
	struct pool_node t[NPOOLS];
	tree(t);
	int admitted = 0;
	for (int i = 0; i < 10; i++) {
		struct pool_verdict v;
		int64_t need[POOL_NRES] = {25, 512};
		if (pool_admit(t, NPOOLS, PROD, need, &v))
			admitted++;
		else
			assert_non_null(strstr(v.reason, "4096 MiB of its 4096 MiB reservation"));
	}
	assert_int_equal(admitted, 8);
	assert_int_equal(pool_reserved(t, NPOOLS, PROD, POOL_MEM), 4096);
	assert_int_equal(pool_reserved(t, NPOOLS, ROOT, POOL_MEM), 4096 + 1024);
}

/* A host keeps the reservations of the VMs it runs: what fits, what does
 * not, and the refusal naming the host and the numbers. */
static void t_host(void **state)
{
	(void)state;
	static const struct {
		int64_t cap[POOL_NRES], reserved[POOL_NRES], need[POOL_NRES];
		bool ok;
		const char *says;
	} cases[] = {
		{{200, 4096}, {0, 0}, {0, 0}, true, NULL},
		{{200, 4096}, {200, 4096}, {0, 0}, true, NULL}, /* nothing asked: always */
		{{200, 4096}, {100, 2048}, {100, 2048}, true, NULL},
		{{200, 4096}, {100, 2048}, {101, 0}, false, "cannot reserve 101% CPU more: its running VMs reserve 100% CPU of its 200% CPU"},
		{{200, 4096}, {0, 4000}, {0, 97}, false, "cannot reserve 97 MiB more: its running VMs reserve 4000 MiB of its 4096 MiB"},
		{{200, 4096}, {0, 0}, {0, 4097}, false, "4097 MiB"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pool_verdict v;
		bool ok = pool_host_fits("h1", cases[i].cap, cases[i].reserved, cases[i].need, &v);
		if (ok != cases[i].ok)
			fail_msg("case %zu: %s, want %s (%s)", i, ok ? "fits" : "refused", cases[i].ok ? "fits" : "refused", v.reason);
		if (cases[i].says && (!strstr(v.reason, cases[i].says) || !strstr(v.reason, "host 'h1'")))
			fail_msg("case %zu: reason '%s' lacks '%s'", i, v.reason, cases[i].says);
	}
}

static void t_tree(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		int pool, parent;
		int64_t mem_res, mem_limit;
		bool expandable;
		bool ok;
		const char *reason;
	} cases[] = {
		{"the tree as it is", -1, 0, 0, 0, false, true, NULL},
		{"a limit below the reservation", DEV, ROOT, 1024, 512, true, false,
		 "pool 'dev': its limit 512 MiB is below its reservation 1024 MiB"},
		{"a cycle: dev under dev-a", DEV, DEV_A, 1024, 3072, true, false, "its own ancestor"},
		{"a parent that is no pool", DEV, 9, 1024, 3072, true, false, "names no pool"},
		{"dev made fixed: dev-a's 512 MiB within its 1024", DEV, ROOT, 1024, POOL_NO_LIMIT, false, true, NULL},
		{"prod's reservation over the root's capacity", PROD, ROOT, 9000, POOL_NO_LIMIT, false, false,
		 "pool 'c1': 10024 MiB are reserved under it (its running VMs and child pools), over its reservation "
		 "8192 MiB (the cluster's capacity)"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct pool_node t[NPOOLS];
		tree(t);
		if (cases[k].pool >= 0) {
			struct pool_node *p = &t[cases[k].pool];
			p->parent = cases[k].parent;
			p->reservation[POOL_MEM] = cases[k].mem_res;
			p->limit[POOL_MEM] = cases[k].mem_limit;
			p->expandable = cases[k].expandable;
		}
		struct pool_verdict v;
		bool ok = pool_tree_valid(t, NPOOLS, &v);
		print_message("%s: %s\n", cases[k].what, ok ? "valid" : v.reason);
		assert_int_equal(ok, cases[k].ok);
		if (!ok)
			assert_non_null(strstr(v.reason, cases[k].reason));
	}
	/* A child pool over a fixed parent: dev-a (512) under dev made fixed
	 * at 256 MiB. */
	struct pool_node t[NPOOLS];
	tree(t);
	t[DEV].reservation[POOL_MEM] = 256;
	t[DEV].expandable = false;
	struct pool_verdict v;
	assert_false(pool_tree_valid(t, NPOOLS, &v));
	assert_int_equal(v.pool, DEV);
	assert_non_null(strstr(v.reason, "512 MiB are reserved under it"));
	/* Two roots. */
	tree(t);
	t[PROD].parent = -1;
	assert_false(pool_tree_valid(t, NPOOLS, &v));
	assert_non_null(strstr(v.reason, "one root pool, not 2"));
}

/* Which VMs hold their reservations: running, paused or migrating, or asked to be. */
static void t_holds(void **state)
{
	(void)state;
	static const struct {
		const char *power, *desired;
		bool holds;
	} cases[] = {
		{"running", "running", true},   {"paused", NULL, true},        {"migrating", "running", true},
		{"stopped", "running", true},   {"stopped", "stopped", false}, {"crashed", NULL, false},
		{NULL, NULL, false},            {"starting", "stopped", false}, {"stopped", "paused", true},
		{"unknown", "migrating", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (pool_vm_holds(cases[i].power, cases[i].desired) != cases[i].holds)
			fail_msg("power %s, desired %s: holds should be %d", cases[i].power ? cases[i].power : "(none)",
			         cases[i].desired ? cases[i].desired : "(none)", cases[i].holds);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_admit),
		cmocka_unit_test(t_burst),
		cmocka_unit_test(t_tree),
		cmocka_unit_test(t_host),
		cmocka_unit_test(t_holds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
