/* test_liveness_reconcile.c - the pure decisions behind vdcd's controllers,
 * as tables: when a host is silent, what a heartbeat does to a host's
 * state, what an agent's report does to a VM document (stale reports
 * included), which unknown VMs are news; and that placement_choose_best
 * picks what placement_choose_host ranks first, with the same counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "liveness.h"
#include "placement.h"
#include "reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void t_liveness_check(void **state)
{
	static const struct {
		int64_t now, last;
		int timeout;
		bool disconnect;
		int64_t silent;
		const char *reason;
	} cases[] = {
		{100, 90, 15, false, 10, ""},
		{100, 85, 15, false, 15, ""}, /* exactly the timeout: still alive */
		{100, 84, 15, true, 16, "no heartbeat for 16 s (timeout 15 s)"},
		{100, 0, 15, true, 100, "no heartbeat for 100 s (timeout 15 s)"},
		{100, 250, 15, false, 0, ""}, /* stamped in the future (a clock step) */
		{1000000, 999000, 600, true, 1000, "no heartbeat for 1000 s (timeout 600 s)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct liveness_decision d;
		liveness_check(cases[i].now, cases[i].last, cases[i].timeout, &d);
		if (d.disconnect != cases[i].disconnect || d.silent_s != cases[i].silent ||
		    strcmp(d.reason, cases[i].reason))
			fail_msg("case %zu: got %d %lld '%s'", i, d.disconnect, (long long)d.silent_s, d.reason);
	}
}

static void t_liveness_on_beat(void **state)
{
	static const struct {
		const char *state;
		bool maintenance;
		const char *want;
		bool reconnect;
	} cases[] = {
		{"connected", false, "connected", false},
		{"disconnected", false, "connected", true},
		{"disconnected", true, "maintenance", true},
		{"maintenance", true, "maintenance", false},
		{"maintenance", false, "connected", false}, /* maintenance was turned off */
		{NULL, false, "connected", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct liveness_beat b;
		liveness_on_beat(cases[i].state, cases[i].maintenance, &b);
		if (strcmp(b.state, cases[i].want) || b.reconnect != cases[i].reconnect ||
		    (b.reason[0] != '\0') != cases[i].reconnect)
			fail_msg("case %zu: got %s %d '%s'", i, b.state, b.reconnect, b.reason);
	}
}

static void t_reconcile(void **state)
{
	static const struct {
		struct reconcile_vm vm;
		bool listed;
		struct reconcile_report seen;
		int64_t beat_seq;
		enum reconcile_action action;
		const char *to;
		int64_t seq;
		int in_sync;
		const char *reason;
		int exit; /* a newer last exit recorded with a new state (else: only "a newer last exit") */
	} cases[] = {
		/* agreement: nothing to do or say */
		{{"a", "running", "running", 3}, true, {"a", "running", 4}, 5, RECONCILE_KEEP, NULL, 0, -1, ""},
		/* a task owns it, whatever the agent says */
		{{"a", "creating", "running", 3}, true, {"a", "stopped", 9}, 9, RECONCILE_TASK_OWNS, NULL, 0, -1,
		 "a task owns it (creating); the agent reports stopped"},
		{{"a", "deleting", NULL, 3}, false, {0}, 9, RECONCILE_TASK_OWNS, NULL, 0, -1,
		 "a task owns it (deleting); the agent reports missing"},
		{{"a", "error", NULL, 3}, true, {"a", "running", 9}, 9, RECONCILE_TASK_OWNS, NULL, 0, -1,
		 "a task owns it (error); the agent reports running"},
		{{"a", NULL, NULL, 0}, true, {"a", "running", 9}, 9, RECONCILE_TASK_OWNS, NULL, 0, -1,
		 "a task owns it (no state yet); the agent reports running"},
		/* a live migration's task owns it: the doc says so, or the agent
		 * reports a state only a migration has (the sender's copy after
		 * the hand-over, the receiver's before) */
		{{"a", "running", "running", 3, NULL, true}, true, {"a", "paused", 9}, 9, RECONCILE_TASK_OWNS, NULL,
		 0, -1, "a live migration's task owns it; the agent reports paused"},
		{{"a", "running", "running", 3}, true, {"a", "migrated", 9}, 9, RECONCILE_TASK_OWNS, NULL, 0, -1,
		 "a live migration's task owns it; the agent reports migrated"},
		{{"a", "running", "running", 3}, true, {"a", "incoming", 9}, 9, RECONCILE_TASK_OWNS, NULL, 0, -1,
		 "a live migration's task owns it; the agent reports incoming"},
		/* a crash, newer than what was recorded */
		{{"a", "running", "running", 3}, true, {"a", "crashed", 5}, 6, RECONCILE_OBSERVE, "crashed", 5, 0,
		 "the agent reports crashed (was running, state_seq 5); desired state differs"},
		{{"a", "stopped", "running", 3}, true, {"a", "running", 5}, 6, RECONCILE_OBSERVE, "running", 5, 1,
		 "the agent reports running (was stopped, state_seq 5); in sync"},
		{{"a", "stopped", NULL, 3}, true, {"a", "running", 5}, 6, RECONCILE_OBSERVE, "running", 5, -1,
		 "the agent reports running (was stopped, state_seq 5)"},
		/* the per-VM seq is older than the recorded state: stale */
		{{"a", "stopped", "stopped", 7}, true, {"a", "running", 5}, 8, RECONCILE_STALE, NULL, 0, -1,
		 "stale: the agent's running has state_seq 5, older than the recorded stopped at 7"},
		/* the same seq is not older */
		{{"a", "stopped", "stopped", 7}, true, {"a", "running", 7}, 8, RECONCILE_OBSERVE, "running", 7, 0,
		 "the agent reports running (was stopped, state_seq 7); desired state differs"},
		/* not listed by a beat built before the VM's recorded state: stale */
		{{"a", "running", "running", 7}, false, {0}, 6, RECONCILE_STALE, NULL, 0, -1,
		 "stale: the heartbeat (missing) was built at state_seq 6, before the recorded running at 7"},
		/* not listed by a newer beat: missing */
		{{"a", "running", "running", 7}, false, {0}, 8, RECONCILE_OBSERVE, "missing", 0, 0,
		 "the agent does not list it (was running); desired state differs"},
		/* an agent of before state_seq: no seqs at all */
		{{"a", "running", "running", 7}, false, {0}, 0, RECONCILE_OBSERVE, "missing", 0, 0,
		 "the agent does not list it (was running); desired state differs"},
		{{"a", "running", NULL, 0}, true, {"a", NULL, 0}, 0, RECONCILE_OBSERVE, "unknown", 0, -1,
		 "the agent reports unknown (was running, state_seq 0)"},
		/* a newer last exit with the same state (killed and restarted
		 * between beats): recorded */
		{{"a", "running", "running", 3, "2026-01-01T00:00:00Z"}, true,
		 {"a", "running", 5, "2026-01-01T00:00:09Z", "x"}, 6, RECONCILE_OBSERVE, "running", 5, 1,
		 "the agent reports a newer last exit (at 2026-01-01T00:00:09Z); still running"},
		{{"a", "stopped", NULL, 3, NULL}, true, {"a", "stopped", 5, "2026-01-01T00:00:09Z", "x"}, 6,
		 RECONCILE_OBSERVE, "stopped", 5, -1,
		 "the agent reports a newer last exit (at 2026-01-01T00:00:09Z); still stopped"},
		/* the same or an older exit: nothing new */
		{{"a", "crashed", NULL, 3, "2026-01-01T00:00:09Z"}, true, {"a", "crashed", 5, "2026-01-01T00:00:09Z", "x"},
		 6, RECONCILE_KEEP, NULL, 0, -1, ""},
		{{"a", "crashed", NULL, 3, "2026-01-01T00:00:09Z"}, true, {"a", "crashed", 5, "2026-01-01T00:00:01Z", "x"},
		 6, RECONCILE_KEEP, NULL, 0, -1, ""},
		/* a stop, a start and a kill in one second: the crash's exit is
		 * newer by its milliseconds, recorded with the new state */
		{{"a", "running", "running", 3, "2026-01-01T00:00:09.100Z"}, true,
		 {"a", "crashed", 5, "2026-01-01T00:00:09.900Z", "x"}, 6, RECONCILE_OBSERVE, "crashed", 5, 0,
		 "the agent reports crashed (was running, state_seq 5); desired state differs", 1},
		/* the same exit with a new state: the state only */
		{{"a", "running", "running", 3, "2026-01-01T00:00:09.100Z"}, true,
		 {"a", "crashed", 5, "2026-01-01T00:00:09.100Z", "x"}, 6, RECONCILE_OBSERVE, "crashed", 5, 0,
		 "the agent reports crashed (was running, state_seq 5); desired state differs", 0},
		/* recorded from an agent that timed exits to the second: a later
		 * millisecond of that second is newer, the same instant is not */
		{{"a", "running", "running", 3, "2026-01-01T00:00:09Z"}, true,
		 {"a", "running", 5, "2026-01-01T00:00:09.250Z", "x"}, 6, RECONCILE_OBSERVE, "running", 5, 1,
		 "the agent reports a newer last exit (at 2026-01-01T00:00:09.250Z); still running"},
		{{"a", "crashed", NULL, 3, "2026-01-01T00:00:09Z"}, true, {"a", "crashed", 5, "2026-01-01T00:00:09.000Z", "x"},
		 6, RECONCILE_KEEP, NULL, 0, -1, ""},
		/* a newer exit in a stale report is not taken either */
		{{"a", "stopped", NULL, 7, NULL}, true, {"a", "crashed", 5, "2026-01-01T00:00:09Z", "x"}, 8,
		 RECONCILE_STALE, NULL, 0, -1, "stale: the agent's crashed has state_seq 5, older than the recorded stopped at 7"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reconcile_decision d;
		reconcile_decide(&cases[i].vm, cases[i].listed ? &cases[i].seen : NULL, cases[i].beat_seq, &d);
		const char *to = d.action == RECONCILE_OBSERVE ? d.power_state : NULL;
		if (d.action != cases[i].action || (to == NULL) != (cases[i].to == NULL) ||
		    (to && strcmp(to, cases[i].to)) || (d.action == RECONCILE_OBSERVE &&
		    (d.state_seq != cases[i].seq || d.in_sync != cases[i].in_sync ||
		     /* the exit to record: only with a newer one */
		     (d.last_exit != NULL) != (cases[i].exit || strstr(cases[i].reason, "newer last exit") != NULL))) ||
		    strcmp(d.reason, cases[i].reason))
			fail_msg("case %zu: got %s %s seq %lld in_sync %d '%s'", i, reconcile_action_name(d.action),
			         to ? to : "-", (long long)d.state_seq, d.in_sync, d.reason);
	}
}

/* Exit times as agents write them, to the second or to the millisecond. */
static void t_time_order(void **state)
{
	static const struct {
		const char *a, *b;
		bool after;
	} cases[] = {
		{"2026-01-01T00:00:10Z", "2026-01-01T00:00:09Z", true},
		{"2026-01-01T00:00:09Z", "2026-01-01T00:00:09Z", false},
		{"2026-01-01T00:00:09Z", "2026-01-01T00:00:10Z", false},
		{"2026-01-01T00:00:09.900Z", "2026-01-01T00:00:09.100Z", true},
		{"2026-01-01T00:00:09.100Z", "2026-01-01T00:00:09.900Z", false},
		{"2026-01-01T00:00:09.5Z", "2026-01-01T00:00:09.499Z", true}, /* a fraction is not an integer */
		{"2026-01-01T00:00:09.001Z", "2026-01-01T00:00:09Z", true},   /* none reads as .000 */
		{"2026-01-01T00:00:09Z", "2026-01-01T00:00:09.001Z", false},
		{"2026-01-01T00:00:09.000Z", "2026-01-01T00:00:09Z", false},
		{"2026-01-01T00:00:10Z", "2026-01-01T00:00:09.999Z", true},
		{"2027-01-01T00:00:00Z", "2026-12-31T23:59:59.999Z", true},
		{"", "2026-01-01T00:00:09Z", false}, /* too short: compared as text */
		{"x", "", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (reconcile_time_after(cases[i].a, cases[i].b) != cases[i].after)
			fail_msg("case %zu: %s after %s should be %d", i, cases[i].a, cases[i].b, cases[i].after);
}

static void t_foreign(void **state)
{
	const struct foreign_vm before[] = {
		{"seen-once", "running", "T0", 1},
		{"old", "running", "T0", 5},
		{"gone-early", "running", "T0", 1}, /* listed once, then not: never news */
		{"gone-late", "stopped", "T0", 2},
	};
	const struct reconcile_report unknown[] = {{"seen-once", "running", 1}, {"old", "stopped", 2}, {"new", "running", 3}};
	struct foreign_vm now[3];
	foreign_track(unknown, 3, before, 4, "T1", now);
	assert_string_equal(now[0].name, "seen-once");
	assert_int_equal(now[0].beats, 2);
	assert_string_equal(now[0].first_seen, "T0");
	assert_true(foreign_confirmed(&now[0]));
	assert_int_equal(now[1].beats, 6);
	assert_string_equal(now[1].state, "stopped");
	assert_false(foreign_confirmed(&now[1])); /* news once, at its second beat */
	assert_int_equal(now[2].beats, 1);
	assert_string_equal(now[2].first_seen, "T1");
	assert_false(foreign_confirmed(&now[2]));
	assert_false(foreign_gone(&before[0], now, 3));
	assert_false(foreign_gone(&before[1], now, 3));
	assert_false(foreign_gone(&before[2], now, 3));
	assert_true(foreign_gone(&before[3], now, 3));
	assert_int_equal(foreign_count_confirmed(now, 3), 2);
	struct foreign_vm cap = {"x", "running", "T0", 1000000};
	foreign_track(&(struct reconcile_report){"x", "running", 1}, 1, &cap, 1, "T1", now);
	assert_int_equal(now[0].beats, 1000000); /* the count stops, it does not wrap */
	/* Only a live migration's states mark a VM as the migration's. */
	static const struct {
		const char *state;
		bool in_migration;
	} states[] = {{"incoming", true}, {"migrated", true}, {"running", false}, {"paused", false},
	              {"stopped", false}, {"", false}, {NULL, false}, {"Incoming", false}};
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (reconcile_in_migration(states[i].state) != states[i].in_migration)
			fail_msg("state %s: in migration should be %d", states[i].state ?: "(null)",
			         states[i].in_migration);
}

static uint64_t rng = 12345;

static int rnd(int n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (int)((rng >> 33) % (uint64_t)n);
}

/* On random fleets, requests and rules, the best-only variant agrees with
 * the full decision: the same host, eligible count, counts per reason and
 * the winner's verdict. */
static void t_choose_best(void **state)
{
	enum { NH = 60 };
	struct placement_host hosts[NH];
	struct placement_cluster clusters[2] = {{"a", 2.0, 1.0, PLACEMENT_PACK}, {"b", 1.0, 1.5, PLACEMENT_SPREAD}};
	struct placement_member members[2][4];
	struct placement_rule rules[2] = {{"aff", PLACEMENT_AFFINITY, members[0], 4},
	                                  {"anti", PLACEMENT_ANTI_AFFINITY, members[1], 4}};
	struct placement_result full, best;
	assert_int_equal(placement_result_init(&full, NH), 0);
	assert_int_equal(placement_result_init(&best, NH), 0);
	for (int round = 0; round < 2000; round++) {
		int nh = 1 + rnd(NH);
		for (int i = 0; i < nh; i++) {
			hosts[i] = (struct placement_host){.name = "h", .cluster = rnd(2), .state = rnd(10) == 0 ? rnd(3) : 0,
			                                   .cpus = 1 + rnd(16), .memory_mib = 1024 * (1 + rnd(16))};
			hosts[i].alloc_vcpus = rnd(hosts[i].cpus * 2 + 1);
			hosts[i].alloc_memory_mib = rnd((int)hosts[i].memory_mib + 1);
			placement_set_add(&hosts[i].datastores, rnd(3));
			placement_set_add(&hosts[i].networks, rnd(3));
			if (i > 0 && rnd(2)) { /* runs of alike hosts, as real fleets have, */
				hosts[i] = hosts[i - 1];
				switch (rnd(8)) { /* some differing in one thing only */
				case 0: hosts[i].alloc_vcpus += 1 + rnd(4); break;
				case 1: hosts[i].alloc_memory_mib += 512 * (1 + rnd(4)); break;
				case 2: hosts[i].cpus += 1 + rnd(4); break;
				case 3: hosts[i].memory_mib += 1024 * (1 + rnd(4)); break;
				case 4: hosts[i].state = (hosts[i].state + 1) % 3; break;
				case 5: hosts[i].cluster = 1 - hosts[i].cluster; break;
				case 6: placement_set_add(&hosts[i].datastores, rnd(3)); break;
				case 7: placement_set_add(&hosts[i].networks, rnd(3)); break;
				}
			}
		}
		for (int r = 0; r < 2; r++)
			for (int m = 0; m < 4; m++)
				members[r][m] = (struct placement_member){m == 0 ? "self" : "other", rnd(nh + 1) - 1};
		int qrules[2] = {0, 1}, nr = rnd(3), off = nr == 2 ? 0 : rnd(2);
		struct placement_request q = {.vm = "self", .vcpus = 1 + rnd(8), .memory_mib = 512 * (1 + rnd(16)),
		                              .datastore = rnd(4) - 1, .cluster = rnd(3) - 1,
		                              .rules = qrules + off, .nrules = nr};
		placement_set_add(&q.networks, rnd(3));
		struct placement_snapshot s = {.hosts = hosts, .nhosts = nh, .clusters = clusters, .nclusters = 2,
		                               .rules = rules, .nrules = 2};
		int e1 = placement_choose_host(&s, &q, &full);
		int e2 = placement_choose_best(&s, &q, &best);
		if (e1 != e2 || full.host != best.host || full.neligible != best.neligible ||
		    memcmp(full.count, best.count, sizeof(full.count)))
			fail_msg("round %d: full host %d (%d eligible), best host %d (%d eligible)", round, full.host,
			         full.neligible, best.host, best.neligible);
		if (full.host >= 0)
			assert_int_equal(full.verdicts[full.host].score, best.verdicts[best.host].score);
	}
	placement_result_free(&full);
	placement_result_free(&best);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_liveness_check),
		cmocka_unit_test(t_liveness_on_beat),
		cmocka_unit_test(t_reconcile),
		cmocka_unit_test(t_time_order),
		cmocka_unit_test(t_foreign),
		cmocka_unit_test(t_choose_best),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
