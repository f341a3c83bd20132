/* test_pool.c - a resource pool chain: its JSON form read back unchanged,
 * and pool settings from vdcd reaching only the chains that name the same
 * levels (the same names from the root down). The parse's refusals are in
 * test_vm_spec.c, where a VM's spec meets them. */
#include "testutil.h"

#include "pool.h"

static struct pool_chain parse(const char *text)
{
	json_t *j = tu_json(text);
	struct pool_chain c;
	struct jv_err err = {0};
	if (pool_chain_parse(j, "pool", &c, &err) != 0)
		fail_msg("%s refused: %s: %s", text, err.field, err.message);
	json_decref(j);
	return c;
}

/* Field by field: a struct's padding is not its value. */
static bool chain_equal(const struct pool_chain *a, const struct pool_chain *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++) {
		const struct pool_level *x = &a->level[i], *y = &b->level[i];
		if (strcmp(x->name, y->name) || x->cpu_weight != y->cpu_weight || x->cpu_limit_pct != y->cpu_limit_pct ||
		    x->memory_limit_mib != y->memory_limit_mib || x->memory_reservation_mib != y->memory_reservation_mib)
			return false;
	}
	return true;
}

static void test_round_trip(void **state)
{
	static const char *const chains[] = {
		"[]",
		"[{'name':'prod'}]",
		"[{'name':'prod','cpu_weight':200,'memory_limit_mib':2048},{'name':'web','cpu_limit_pct':50}]",
		"[{'name':'a','cpu_weight':1,'cpu_limit_pct':1632000,'memory_limit_mib':268435456,"
		"'memory_reservation_mib':268435456},{'name':'b'},{'name':'c'},{'name':'d'},{'name':'e'},{'name':'f'}]",
	};
	for (size_t i = 0; i < ARRAY_LEN(chains); i++) {
		struct pool_chain a = parse(chains[i]), b;
		json_t *out = pool_chain_to_json(&a);
		struct jv_err err = {0};
		if (pool_chain_parse(out, "pool", &b, &err) != 0)
			fail_msg("case %zu: its own form refused: %s: %s", i, err.field, err.message);
		if (!chain_equal(&a, &b))
			fail_msg("case %zu: differs after the round trip", i);
		json_decref(out);
	}
}

static void test_adopt(void **state)
{
	static const struct {
		const char *dst, *src;
		bool changed;
		const char *want;
	} cases[] = {
		/* the pool itself */
		{"[{'name':'prod'}]", "[{'name':'prod','cpu_weight':400}]", true,
		 "[{'name':'prod','cpu_weight':400}]"},
		/* a VM deeper down takes its ancestors' settings, keeps its own level */
		{"[{'name':'prod'},{'name':'web','cpu_limit_pct':50}]", "[{'name':'prod','cpu_weight':400}]", true,
		 "[{'name':'prod','cpu_weight':400},{'name':'web','cpu_limit_pct':50}]"},
		/* a VM higher up takes the levels it shares, gains none */
		{"[{'name':'prod'}]", "[{'name':'prod','memory_limit_mib':64},{'name':'web','cpu_weight':7}]", true,
		 "[{'name':'prod','memory_limit_mib':64}]"},
		/* another root: nothing */
		{"[{'name':'test'},{'name':'web'}]", "[{'name':'prod','cpu_weight':400},{'name':'web','cpu_weight':9}]",
		 false, "[{'name':'test'},{'name':'web'}]"},
		/* the same name under another parent is another pool */
		{"[{'name':'a'},{'name':'web'}]", "[{'name':'a'},{'name':'web','cpu_weight':9}]", true,
		 "[{'name':'a'},{'name':'web','cpu_weight':9}]"},
		{"[{'name':'b'},{'name':'web'}]", "[{'name':'a'},{'name':'web','cpu_weight':9}]", false,
		 "[{'name':'b'},{'name':'web'}]"},
		/* the same settings again: no change to store */
		{"[{'name':'prod','cpu_weight':400}]", "[{'name':'prod','cpu_weight':400}]", false,
		 "[{'name':'prod','cpu_weight':400}]"},
		/* in no pool */
		{"[]", "[{'name':'prod','cpu_weight':400}]", false, "[]"},
		/* a reservation only */
		{"[{'name':'p','memory_reservation_mib':1}]", "[{'name':'p','memory_reservation_mib':2}]", true,
		 "[{'name':'p','memory_reservation_mib':2}]"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct pool_chain dst = parse(cases[i].dst), src = parse(cases[i].src), want = parse(cases[i].want);
		bool changed = pool_chain_adopt(&dst, &src);
		if (changed != cases[i].changed || !chain_equal(&dst, &want)) {
			json_t *got = pool_chain_to_json(&dst);
			char *s = json_dumps(got, JSON_COMPACT);
			fail_msg("case %zu: changed=%d %s, want changed=%d %s", i, changed, s, cases[i].changed,
			         cases[i].want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_adopt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
