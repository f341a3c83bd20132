/* test_ha_detect.c - what vdcd makes of a silent host, as a table: the
 * network timeout, isolation (its lease renewed twice since its last word,
 * counted, not timed), the lease running
 * out, the safety margin, a host nobody shares a datastore with, and a
 * host its BMC powered off. Each boundary is on both sides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ha_detect.h"

#include <stdio.h>
#include <string.h>

static void t_ha_detect(void **state)
{
	(void)state;
	const struct ha_times t = {.net_timeout_ms = 3000, .lease_ms = 6000, .margin_ms = 1000};
	static const struct {
		struct ha_host_view v;
		enum ha_host_state want;
		const char *reason; /* a part of the reason that must be there */
	} cases[] = {
		{{.silent_ms = 0, .observers = 1, .lease_age_ms = 0}, HA_CONNECTED, "answered 0.0 s ago"},
		{{.silent_ms = 2999, .observers = 0}, HA_CONNECTED, "answered 3.0 s ago"},
		/* Silent past the network timeout: the leases decide. */
		{{.silent_ms = 3000, .observers = 0}, HA_UNKNOWN, "no host that answers shares a datastore"},
		/* Its lease renewed twice or more after its last word: alive,
		 * however long ago that word was. */
		{{.silent_ms = 3500, .observers = 2, .lease_age_ms = 500, .renewals = 2}, HA_ISOLATED, "2 hosts saw its datastore lease renewed 2 times since, last 0.5 s ago"},
		{{.silent_ms = 3000, .observers = 1, .lease_age_ms = 0, .renewals = 3}, HA_ISOLATED, "1 host saw"},
		{{.silent_ms = 30000, .observers = 1, .lease_age_ms = 5999, .renewals = 27}, HA_ISOLATED, "1 host saw"},
		/* Its agent is down, its lease keeper renews: alive, said so. */
		{{.silent_ms = 20000, .observers = 2, .lease_age_ms = 300, .renewals = 900000, .agent_down = true}, HA_ISOLATED,
		 "its agent is down, but its lease keeper renews its datastore lease (last 0.3 s ago)"},
		{{.silent_ms = 4000, .observers = 1, .lease_age_ms = 0, .renewals = 5, .agent_down = true}, HA_ISOLATED,
		 "not started elsewhere; start vdc-agent on it"},
		/* ... until the keeper is gone too: its lease runs out as any. */
		{{.silent_ms = 20000, .observers = 1, .lease_age_ms = 6000, .renewals = 9, .agent_down = true}, HA_FENCING,
		 "waiting 1.0 s more"},
		{{.silent_ms = 20000, .observers = 1, .lease_age_ms = 7000, .renewals = 9, .agent_down = true}, HA_FAILED,
		 "it has fenced itself"},
		/* A crash of the keeper's host with an agent-down record: not yet renewed twice, so silent. */
		{{.silent_ms = 5000, .observers = 1, .lease_age_ms = 500, .renewals = 1, .agent_down = true}, HA_SILENT,
		 "crashed or cut off"},
		/* Once more (the renewal under way at its last word) is what a
		 * crash leaves: not evidence, however the times look. */
		{{.silent_ms = 5000, .observers = 1, .lease_age_ms = 500, .renewals = 1}, HA_SILENT, "renewed 1 time since its last word"},
		{{.silent_ms = 9000, .observers = 1, .lease_age_ms = 10, .renewals = 1}, HA_SILENT, "crashed or cut off"},
		{{.silent_ms = 3000, .observers = 2, .lease_age_ms = 500}, HA_SILENT, "renewed 0 times since its last word (last 0.5 s ago"},
		/* A sequence number behind its last word (an observer's stale
		 * read) is no evidence either. */
		{{.silent_ms = 4000, .observers = 1, .lease_age_ms = 100, .renewals = -1}, HA_SILENT, "renewed 0 times"},
		/* Not renewed since: a crash looks like this at first. */
		{{.silent_ms = 3000, .observers = 1, .lease_age_ms = 1001}, HA_SILENT, "last 1.0 s ago, runs out at 6.0 s"},
		{{.silent_ms = 5000, .observers = 1, .lease_age_ms = 4500}, HA_SILENT, "crashed or cut off"},
		/* Renewed twice, but then not for the lease time: it died later;
		 * the lease's age decides. */
		{{.silent_ms = 9000, .observers = 1, .lease_age_ms = 6000, .renewals = 2}, HA_FENCING, "waiting 1.0 s more"},
		{{.silent_ms = 8000, .observers = 1, .lease_age_ms = 6000}, HA_FENCING, "waiting 1.0 s more"},
		{{.silent_ms = 8000, .observers = 1, .lease_age_ms = 6999}, HA_FENCING, "runs out at 6.0 s"},
		{{.silent_ms = 8000, .observers = 1, .lease_age_ms = 7000}, HA_FAILED, "not renewed for 7.0 s (lease 6.0 s + margin 1.0 s)"},
		/* A BMC's power-off fences at once, even with a fresh lease
		 * (the lease file can lag the power). */
		{{.silent_ms = 3000, .observers = 1, .lease_age_ms = 100, .powered_off = true}, HA_FAILED, "powered off through its BMC"},
		{{.silent_ms = 3000, .observers = 1, .lease_age_ms = 2900, .powered_off = true}, HA_FAILED, "powered off"},
		{{.silent_ms = 3000, .observers = 0, .powered_off = true}, HA_FAILED, "powered off"},
		/* A connected host is connected whatever else is said of it. */
		{{.silent_ms = 100, .observers = 0, .powered_off = true}, HA_CONNECTED, "answered"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ha_detection d;
		ha_detect(&cases[i].v, &t, &d);
		if (d.state != cases[i].want || !strstr(d.reason, cases[i].reason))
			fail_msg("case %zu: %s (%s), want %s with '%s'", i, ha_state_name(d.state), d.reason,
			         ha_state_name(cases[i].want), cases[i].reason);
	}
	assert_string_equal(ha_state_name(HA_FAILED), "failed");
	assert_string_equal(ha_state_name((enum ha_host_state)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(t_ha_detect)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
