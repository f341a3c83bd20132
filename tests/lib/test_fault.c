/* test_fault.c - src/lib/fault: which call of a site fails after an arm, by
 * tables of arm/hit sequences; specs; counting from many threads (exactly
 * one call fires); scoped counting (only threads inside a scope count). */
#include "testutil.h"

#include "fault.h"

#include <pthread.h>

/* One step of a sequence: arm the site with nth (when arm), or make one
 * call and expect it to fail or not. */
struct step {
	bool arm;
	long nth;
	bool fails;
};

struct seq_case {
	const char *what;
	struct step steps[12];
	int nsteps;
	long calls; /* fault_calls after the steps */
	bool fired;
};

static const struct seq_case seq_cases[] = {
	{"disarmed: nothing fails and nothing is counted", {{0, 0, false}, {0, 0, false}}, 2, 0, false},
	{"the first call", {{1, 1, 0}, {0, 0, true}, {0, 0, false}, {0, 0, false}}, 4, 3, true},
	{"the third call, once",
	 {{1, 3, 0}, {0, 0, false}, {0, 0, false}, {0, 0, true}, {0, 0, false}, {0, 0, false}}, 6, 5, true},
	{"not reached: not fired", {{1, 5, 0}, {0, 0, false}, {0, 0, false}}, 3, 2, false},
	{"re-arming resets the count",
	 {{1, 2, 0}, {0, 0, false}, {1, 2, 0}, {0, 0, false}, {0, 0, true}}, 5, 2, true},
	{"disarming (0) stops it", {{1, 2, 0}, {1, 0, 0}, {0, 0, false}, {0, 0, false}}, 4, 0, false},
	{"a negative N disarms", {{1, -4, 0}, {0, 0, false}}, 2, 0, false},
	{"arming after it fired fires again",
	 {{1, 1, 0}, {0, 0, true}, {1, 1, 0}, {0, 0, true}, {0, 0, false}}, 5, 2, true},
};

static void test_sequences(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_LEN(seq_cases); c++) {
		const struct seq_case *sc = &seq_cases[c];
		fault_arm(FAULT_STORE, 0);
		for (int i = 0; i < sc->nsteps; i++) {
			const struct step *s = &sc->steps[i];
			if (s->arm) {
				fault_arm(FAULT_STORE, s->nth);
				continue;
			}
			if (fault_hit(FAULT_STORE) != s->fails)
				fail_msg("%s: step %d should %s", sc->what, i, s->fails ? "fail" : "pass");
		}
		if (fault_calls(FAULT_STORE) != sc->calls || fault_fired(FAULT_STORE) != sc->fired)
			fail_msg("%s: calls %ld fired %d, want %ld %d", sc->what, fault_calls(FAULT_STORE),
			         fault_fired(FAULT_STORE), sc->calls, sc->fired);
	}
	fault_arm(FAULT_STORE, 0);
}

static void test_sites_apart(void **state)
{
	(void)state;
	fault_arm(FAULT_AGENT, 2);
	assert_false(fault_hit(FAULT_STORE));
	assert_false(fault_hit(FAULT_ALLOC));
	assert_false(fault_hit(FAULT_AGENT));
	assert_false(fault_hit(FAULT_QMP));
	assert_true(fault_hit(FAULT_AGENT));
	assert_int_equal(fault_calls(FAULT_STORE), 0);
	assert_false(fault_hit((enum fault_site)FAULT_NSITES)); /* out of range: never */
	assert_false(fault_hit((enum fault_site)-1));
	fault_arm(FAULT_AGENT, 0);
}

static void test_names_and_specs(void **state)
{
	(void)state;
	static const char *const names[] = {"alloc", "store", "agent", "qmp"};
	for (int i = 0; i < FAULT_NSITES; i++) {
		assert_string_equal(fault_site_name((enum fault_site)i), names[i]);
		assert_int_equal(fault_site_parse(names[i]), i);
	}
	assert_int_equal(fault_site_parse("disk"), -1);
	assert_int_equal(fault_site_parse(NULL), -1);
	assert_string_equal(fault_site_name(FAULT_NSITES), "unknown");

	static const struct {
		const char *spec;
		int rc;
	} specs[] = {
	    {"store:3", 0}, {"agent:1,qmp:2", 0}, {"store:0", 0}, {"store", -1}, {"store:", -1},
	    {"store:x", -1}, {"store:3x", -1}, {"disk:1", -1}, {"store:-1", -1}, {NULL, -1},
	};
	for (size_t i = 0; i < ARRAY_LEN(specs); i++)
		if (fault_arm_spec(specs[i].spec) != specs[i].rc)
			fail_msg("spec '%s' should give %d", specs[i].spec ? specs[i].spec : "(null)", specs[i].rc);
	/* "agent:1,qmp:2" armed both */
	assert_int_equal(fault_arm_spec("agent:1,qmp:2"), 0);
	assert_true(fault_hit(FAULT_AGENT));
	assert_false(fault_hit(FAULT_QMP));
	assert_true(fault_hit(FAULT_QMP));
	fault_arm(FAULT_AGENT, 0);
	fault_arm(FAULT_QMP, 0);
	fault_arm(FAULT_STORE, 0);
}

#define NTHREADS 8
#define PER_THREAD 5000

struct race {
	bool scoped_thread; /* enters a scope before hitting */
	int fired;
};

static void *hammer(void *arg)
{
	struct race *r = arg;
	if (r->scoped_thread)
		fault_scope_enter();
	for (int i = 0; i < PER_THREAD; i++)
		r->fired += fault_hit(FAULT_ALLOC);
	if (r->scoped_thread)
		fault_scope_leave();
	return NULL;
}

static int run_threads(struct race *r)
{
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &r[i]), 0);
	int fired = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		fired += r[i].fired;
	}
	return fired;
}

/* From many threads at once, the armed call fires exactly once and every
 * call is counted. */
static void test_threads(void **state)
{
	(void)state;
	static const long nths[] = {1, 777, NTHREADS * PER_THREAD, NTHREADS * PER_THREAD + 1};
	for (size_t c = 0; c < ARRAY_LEN(nths); c++) {
		struct race r[NTHREADS] = {0};
		fault_arm(FAULT_ALLOC, nths[c]);
		int fired = run_threads(r);
		bool reach = nths[c] <= NTHREADS * PER_THREAD;
		assert_int_equal(fired, reach ? 1 : 0);
		assert_int_equal(fault_fired(FAULT_ALLOC), reach);
		assert_int_equal(fault_calls(FAULT_ALLOC), NTHREADS * PER_THREAD);
	}
	fault_arm(FAULT_ALLOC, 0);
}

/* Scoped: only threads in a scope count; the others pass untouched, so the
 * Nth call is the Nth of the scoped thread whatever the others do. */
static void test_scoped(void **state)
{
	(void)state;
	fault_set_scoped(true);
	assert_false(fault_in_scope());
	fault_arm(FAULT_STORE, 1);
	assert_false(fault_hit(FAULT_STORE)); /* this thread is outside */
	assert_int_equal(fault_calls(FAULT_STORE), 0);
	fault_scope_enter();
	assert_true(fault_in_scope());
	assert_true(fault_hit(FAULT_STORE));
	fault_scope_leave();
	assert_false(fault_in_scope());

	struct race r[NTHREADS] = {0};
	r[3].scoped_thread = true;
	fault_arm(FAULT_ALLOC, PER_THREAD); /* the scoped thread's last call */
	assert_int_equal(run_threads(r), 1);
	assert_int_equal(r[3].fired, 1);
	assert_int_equal(fault_calls(FAULT_ALLOC), PER_THREAD);
	fault_set_scoped(false);
	fault_arm(FAULT_ALLOC, 0);
	fault_arm(FAULT_STORE, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_sites_apart),
		cmocka_unit_test(test_names_and_specs),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_scoped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
