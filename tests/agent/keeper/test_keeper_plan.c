/* test_keeper_plan.c - the HA lease keeper's decisions, as a table: it
 * listens while the agent speaks, takes the leases over when the agent dies
 * or hangs with protected VMs running, hands them back when an agent
 * returns, fences what sits on a datastore it cannot renew, and ends when
 * nothing is left to guard or HA is off. */
#include "keeper_plan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

struct row {
	const char *name;
	struct keeper_view v;
	enum keeper_action want;
	unsigned want_fence;
	const char *reason_has;
};

#define UP .heard = true, .enabled = true, .connected = true, .agent_silent_ms = 250
#define GONE .heard = true, .enabled = true, .connected = false, .agent_silent_ms = 400

static const struct row rows[] = {
	{"fresh keeper, no agent yet", {.agent_silent_ms = 2000}, KEEPER_WAIT, 0, NULL},
	{"no agent ever spoke", {.agent_silent_ms = KEEPER_FIRST_WORD_MS}, KEEPER_EXIT, 0, "no agent spoke"},
	{"agent speaks, HA on", {UP, .protected_running = 3}, KEEPER_WAIT, 0, NULL},
	{"agent speaks, keeper not writing, no VMs", {UP}, KEEPER_WAIT, 0, NULL},
	{"HA turned off", {.heard = true, .enabled = false, .connected = true, .protected_running = 2}, KEEPER_EXIT, 0,
	 "HA is off"},
	{"agent gone with VMs running", {GONE, .protected_running = 2}, KEEPER_TAKE_OVER, 0, "gone with 2 protected VMs"},
	{"agent hung (silent) with one VM", {.heard = true, .enabled = true, .connected = true, .agent_silent_ms = KEEPER_AGENT_SILENT_MS, .protected_running = 1},
	 KEEPER_TAKE_OVER, 0, "silent with 1 protected VM running"},
	{"agent just slow (under the silence)", {.heard = true, .enabled = true, .connected = true, .agent_silent_ms = KEEPER_AGENT_SILENT_MS - 1,
	  .protected_running = 1},
	 KEEPER_WAIT, 0, NULL},
	{"agent gone, nothing protected runs", {GONE}, KEEPER_EXIT, 0, "nothing to guard"},
	{"writing, protected VMs all ended", {GONE, .writing = true}, KEEPER_EXIT, 0, "lease runs out"},
	{"writing, leases fresh", {GONE, .writing = true, .nds = 2, .renewed_ago_ms = {900, 100}, .fence_ms = 4000,
	  .protected_running = 1}, KEEPER_WAIT, 0, NULL},
	{"writing, second datastore stale: fence it only",
	 {GONE, .writing = true, .nds = 2, .renewed_ago_ms = {900, 4000}, .fence_ms = 4000, .protected_running = 1},
	 KEEPER_WAIT, 2u, "fenced"},
	{"writing, both stale", {GONE, .writing = true, .nds = 2, .renewed_ago_ms = {5000, 4100}, .fence_ms = 4000,
	  .protected_running = 4}, KEEPER_WAIT, 3u, "fenced"},
	{"agent back while writing", {UP, .writing = true, .protected_running = 2}, KEEPER_HAND_BACK, 0, "agent is back"},
	{"agent back while writing, no VMs", {UP, .writing = true}, KEEPER_HAND_BACK, 0, NULL},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct keeper_plan p;
		keeper_plan(&r->v, &p);
		if (p.action != r->want || p.fence_mask != r->want_fence ||
		    (r->reason_has && !strstr(p.reason, r->reason_has)))
			fail_msg("%s: got %s fence=%u (%s), want %s fence=%u (reason with \"%s\")", r->name,
			         keeper_action_name(p.action), p.fence_mask, p.reason, keeper_action_name(r->want), r->want_fence,
			         r->reason_has ? r->reason_has : "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_table)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
