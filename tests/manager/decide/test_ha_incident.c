/* test_ha_incident.c - HA incidents out of recorded verdicts, fences and
 * restarts, as a table: each case is its items (in any order) and the
 * incidents they must make, written out as one line each:
 * "host|vm ID open..close fenced=T placed/started/failed/refused: phase@T ...". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ha_incident.h"

#include <stdio.h>
#include <string.h>

#define V(t, h, s) {.kind = HA_INC_VERDICT, .at_ms = (t), .seq = (t), .host_id = (h), .state = (s)}
#define BMC(t, h, s) {.kind = HA_INC_BMC_FENCE, .at_ms = (t), .seq = (t), .host_id = (h), .state = (s)}
#define R(t, end, from, to, vm, s)                                                                               \
	{.kind = HA_INC_RESTART, .at_ms = (t), .end_ms = (end), .seq = (t), .host_id = (from), .to_host_id = (to), \
	 .vm_id = (vm), .state = (s)}
#define NO(t, h, vm) {.kind = HA_INC_REFUSED, .at_ms = (t), .seq = (t), .host_id = (h), .vm_id = (vm)}
#define MON(t, h, vm) {.kind = HA_INC_MONITOR, .at_ms = (t), .seq = (t), .host_id = (h), .vm_id = (vm)}
#define RDY(t, vm) {.kind = HA_INC_READY, .at_ms = (t), .seq = (t), .vm_id = (vm)}

static void render(const struct ha_incident *c, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%s %s %lld..%lld fenced=%lld %d/%d/%d/%d:", c->of_vm ? "vm" : "host",
	                            c->of_vm ? c->vm_id : c->host_id, (long long)c->opened_ms, (long long)c->closed_ms,
	                            (long long)c->fenced_ms, c->placed, c->started, c->failed, c->refused);
	for (int s = 0; s < c->nsteps && n < len; s++)
		n += (size_t)snprintf(out + n, len - n, " %s@%lld", ha_inc_phase_name(c->steps[s].phase),
		                      (long long)c->steps[s].at_ms);
}

static void t_ha_incidents(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		struct ha_inc_item items[12];
		int n;
		const char *want[3];
	} cases[] = {
		{"a crash: detected, fenced by its lease, two VMs placed and started, the host back",
		 {V(2000, "h1", "silent"), V(5000, "h1", "failed"), R(5000, 7000, "h1", "h2", "a", "succeeded"),
		  R(5100, 8000, "h1", "h3", "b", "succeeded"), V(20000, "h1", "connected")},
		 5,
		 {"host h1 2000..20000 fenced=5000 2/2/0/0: detected@2000 fenced@5000 placed@5000 placed@5100 started@7000 "
		  "started@8000 recovered@20000"}},
		{"the items in any order make the same incident",
		 {V(20000, "h1", "connected"), R(5100, 8000, "h1", "h3", "b", "succeeded"), V(5000, "h1", "failed"),
		  R(5000, 7000, "h1", "h2", "a", "succeeded"), V(2000, "h1", "silent")},
		 5,
		 {"host h1 2000..20000 fenced=5000 2/2/0/0: detected@2000 fenced@5000 placed@5000 placed@5100 started@7000 "
		  "started@8000 recovered@20000"}},
		{"still open: a restart under way, one failed, one refused",
		 {V(1000, "h1", "silent"), V(4000, "h1", "failed"), R(4000, 0, "h1", "h2", "a", "running"),
		  R(4000, 6000, "h1", "h2", "b", "failed"), NO(4000, "h1", "c")},
		 5,
		 {"host h1 1000..0 fenced=4000 2/0/1/1: detected@1000 fenced@4000 placed@4000 placed@4000 refused@4000 "
		  "failed@6000"}},
		{"isolated, then back: nothing fenced, nothing restarted",
		 {V(1000, "h1", "silent"), V(2500, "h1", "isolated"), V(9000, "h1", "connected")},
		 3,
		 {"host h1 1000..9000 fenced=0 0/0/0/0: detected@1000 detected@2500 recovered@9000"}},
		{"a BMC power-off fences before the lease would; a failed one is a failure",
		 {V(1000, "h1", "unknown"), BMC(1500, "h1", "failed"), BMC(2500, "h1", "succeeded"), V(2600, "h1", "failed"),
		  R(2600, 4000, "h1", "h2", "a", "succeeded")},
		 5,
		 {"host h1 1000..0 fenced=2500 1/1/0/0: detected@1000 failed@1500 fenced@2500 fenced@2600 placed@2600 "
		  "started@4000"}},
		{"two hosts, each its own incident; a second failure of h1 is a second incident",
		 {V(1000, "h1", "silent"), V(1200, "h2", "silent"), V(4000, "h1", "failed"), V(5000, "h1", "connected"),
		  V(6000, "h2", "connected"), V(7000, "h1", "silent"), R(4000, 4500, "h2", "h3", "x", "succeeded")},
		 7,
		 {"host h1 1000..5000 fenced=4000 0/0/0/0: detected@1000 fenced@4000 recovered@5000",
		  "host h2 1200..6000 fenced=0 1/1/0/0: detected@1200 placed@4000 started@4500 recovered@6000",
		  "host h1 7000..0 fenced=0 0/0/0/0: detected@7000"}},
		{"VM monitoring: a restart on its own host is the VM's incident; giving up closes it later",
		 {R(1000, 3000, "h1", "h1", "web", "succeeded"), R(5000, 6000, "h1", "h1", "web", "succeeded"),
		  MON(9000, "h1", "web")},
		 3,
		 {"vm web 1000..3000 fenced=0 1/1/0/0: placed@1000 started@3000",
		  "vm web 5000..9000 fenced=0 1/1/0/1: placed@5000 started@6000 refused@9000"}},
		{"ready: a restarted VM's first answer after its restart, once; another VM's or an earlier run's is not",
		 {V(1000, "h1", "silent"), V(4000, "h1", "failed"), R(4000, 6000, "h1", "h2", "db", "succeeded"),
		  R(4000, 0, "h1", "h2", "app", "running"), RDY(3000, "db"), RDY(8000, "db"), RDY(9000, "db"),
		  RDY(8500, "app"), RDY(8600, "other")},
		 9,
		 {"host h1 1000..0 fenced=4000 2/1/0/0: detected@1000 fenced@4000 placed@4000 placed@4000 started@6000 "
		  "ready@8000"}},
		{"VM monitoring's restart for its probe: over when the VM answers again",
		 {R(1000, 3000, "h1", "h1", "web", "succeeded"), RDY(5000, "web")},
		 2,
		 {"vm web 1000..5000 fenced=0 1/1/0/0: placed@1000 started@3000 ready@5000"}},
		{"what no incident covers is left out: a restart older than the verdicts read, a connected host",
		 {R(500, 900, "h1", "h2", "a", "succeeded"), NO(600, "h1", "b"), V(700, "h1", "connected"),
		  BMC(800, "h1", "succeeded")},
		 4,
		 {NULL}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ha_incident *inc;
		int n = ha_incidents_build(cases[i].items, cases[i].n, &inc);
		int want = 0;
		while (want < 3 && cases[i].want[want])
			want++;
		if (n != want)
			fail_msg("case '%s': %d incidents, want %d", cases[i].name, n, want);
		for (int k = 0; k < n; k++) {
			char got[600];
			render(&inc[k], got, sizeof(got));
			if (strcmp(got, cases[i].want[k]))
				fail_msg("case '%s', incident %d:\n got  %s\n want %s", cases[i].name, k, got, cases[i].want[k]);
		}
		ha_incidents_free(inc, n);
	}
	assert_string_equal(ha_inc_phase_name(HA_PH_RECOVERED), "recovered");
	assert_string_equal(ha_inc_phase_name(HA_PH_READY), "ready");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(t_ha_incidents)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
