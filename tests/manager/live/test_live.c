/* test_live.c - the pure parts of live streams: who sees a change (the
 * same rule as the list routes), and the ring of frames: ids, eviction by
 * count and bytes, and where a client resuming with Last-Event-ID starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "live_filter.h"
#include "live_ring.h"

#include <stdio.h>
#include <string.h>

static struct auth_member members[] = {{"pa", ROLE_VIEWER}, {"pb", ROLE_OPERATOR}};
static const struct auth_ctx admin = {.admin = true};
static const struct auth_ctx alice = {.nmembers = 1, .members = members};        /* viewer of pa */
static const struct auth_ctx bob = {.nmembers = 1, .members = members + 1};      /* operator of pb */
static const struct auth_ctx nobody = {0};

static void t_filter(void **state)
{
	/* admin_only, scoped, shared, project -> who sees it */
	static const struct {
		bool admin_only, scoped, shared;
		const char *project;
		bool admin, alice, bob, nobody;
	} cases[] = {
		{false, false, false, NULL, 1, 1, 1, 1}, /* a cluster, a datastore */
		{true, false, false, NULL, 1, 0, 0, 0},  /* a host, an audit event */
		{false, true, false, "pa", 1, 1, 0, 0},  /* pa's VM or task */
		{false, true, false, "pb", 1, 0, 1, 0},  /* pb's VM */
		{false, true, true, "pa", 1, 1, 0, 0},   /* pa's template */
		{false, true, true, NULL, 1, 1, 1, 1},   /* a shared template */
		{false, true, false, NULL, 1, 0, 0, 0},  /* a task of no project */
		{false, true, false, "", 1, 0, 0, 0},    /* an empty project id is none */
		{false, true, false, "pc", 1, 0, 0, 0},  /* a project nobody here is in */
		{true, true, true, "pa", 1, 0, 0, 0},    /* admin_only wins */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct live_scope s = live_scope_of(cases[i].admin_only, cases[i].scoped, cases[i].shared, cases[i].project);
		bool got[4] = {live_visible(&admin, &s), live_visible(&alice, &s), live_visible(&bob, &s),
		               live_visible(&nobody, &s)};
		bool want[4] = {cases[i].admin, cases[i].alice, cases[i].bob, cases[i].nobody};
		for (int k = 0; k < 4; k++)
			if (got[k] != want[k])
				fail_msg("case %zu caller %d: got %d want %d", i, k, got[k], want[k]);
	}
	struct live_scope s = live_scope_of(false, true, false, "pa");
	assert_false(live_visible(NULL, &s)); /* no caller sees nothing */
	/* A member with no role (never stored, but) sees nothing of it. */
	struct auth_member none = {"pa", ROLE_NONE};
	struct auth_ctx weird = {.nmembers = 1, .members = &none};
	assert_false(live_visible(&weird, &s));
}

static const struct live_scope everyone = {LIVE_EVERYONE, ""};

static void t_ring_ids_and_frames(void **state)
{
	struct live_ring *r = live_ring_new("ep1", 4, 1 << 20);
	assert_non_null(r);
	assert_int_equal(live_ring_first(r), 1);
	assert_int_equal(live_ring_next(r), 1);
	assert_null(live_ring_get(r, 1));
	assert_int_equal(live_ring_push(r, &everyone, "vm.updated", "{\"a\":1}"), 1);
	assert_int_equal(live_ring_push(r, &everyone, "task.ended", "{}"), 2);
	const struct live_entry *e = live_ring_get(r, 1);
	assert_non_null(e);
	assert_string_equal(e->frame, "id: ep1-1\nevent: vm.updated\ndata: {\"a\":1}\n\n");
	assert_int_equal(e->len, strlen(e->frame));
	assert_int_equal(live_ring_bytes(r), strlen(e->frame) + strlen(live_ring_get(r, 2)->frame));
	/* A newline would end the frame early: refused, nothing added. */
	assert_int_equal(live_ring_push(r, &everyone, "x", "{\n}"), 0);
	assert_int_equal(live_ring_push(r, &everyone, "x", "{\r}"), 0);
	assert_int_equal(live_ring_next(r), 3);
	live_ring_free(r);
}

static void t_ring_evicts_by_count(void **state)
{
	struct live_ring *r = live_ring_new("ep", 3, 1 << 20);
	char data[32];
	for (int i = 1; i <= 10; i++) {
		snprintf(data, sizeof(data), "{\"n\":%d}", i);
		assert_int_equal(live_ring_push(r, &everyone, "e", data), i);
	}
	assert_int_equal(live_ring_first(r), 8);
	assert_int_equal(live_ring_next(r), 11);
	assert_null(live_ring_get(r, 7));
	for (int i = 8; i <= 10; i++) {
		snprintf(data, sizeof(data), "data: {\"n\":%d}", i);
		assert_non_null(strstr(live_ring_get(r, (uint64_t)i)->frame, data));
	}
	live_ring_free(r);
}

static void t_ring_evicts_by_bytes(void **state)
{
	/* Frames of 40 bytes ("id: b-N\nevent: e\ndata: " + 14 + "\n\n"), 100
	 * bytes kept at most: two fit. */
	struct live_ring *r = live_ring_new("b", 100, 100);
	const char *d = "{\"x\":\"123456\"}";
	for (int i = 0; i < 5; i++)
		live_ring_push(r, &everyone, "e", d);
	assert_true(live_ring_bytes(r) <= 100);
	assert_int_equal(live_ring_next(r) - live_ring_first(r), 2);
	/* One frame larger than the bound is kept, alone. */
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '"';
	big[sizeof(big) - 2] = '"';
	big[sizeof(big) - 1] = '\0';
	uint64_t id = live_ring_push(r, &everyone, "big", big);
	assert_int_equal(live_ring_first(r), id);
	assert_non_null(live_ring_get(r, id));
	live_ring_free(r);
}

static void t_ring_resume(void **state)
{
	struct live_ring *r = live_ring_new("abc", 3, 1 << 20);
	uint64_t next = 0;
	/* Nothing yet: "abc-0" (the hello's id) resumes at 1. */
	assert_int_equal(live_ring_resume(r, "abc-0", &next), 0);
	assert_int_equal(next, 1);
	for (int i = 0; i < 5; i++)
		live_ring_push(r, &everyone, "e", "{}");
	/* Kept: 3, 4, 5. After 2, 3 is next: nothing lost. */
	assert_int_equal(live_ring_resume(r, "abc-2", &next), 0);
	assert_int_equal(next, 3);
	assert_int_equal(live_ring_resume(r, "abc-5", &next), 0);
	assert_int_equal(next, 6);
	/* After 1, 2 would be next, and it is gone: reload. */
	assert_int_equal(live_ring_resume(r, "abc-1", &next), -1);
	/* Another run's ids, ids never given, and malformed ones: reload. */
	static const char *const bad[] = {"xyz-4", "abc-6", "abc-99", "abc-", "abc-3x", "abc", "abc--3", "ab-3",
	                                  "abcd-3", "", "-3", "abc-18446744073709551616"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (live_ring_resume(r, bad[i], &next) != -1)
			fail_msg("'%s' was taken for a place in the ring", bad[i]);
	live_ring_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_filter),
		cmocka_unit_test(t_ring_ids_and_frames),
		cmocka_unit_test(t_ring_evicts_by_count),
		cmocka_unit_test(t_ring_evicts_by_bytes),
		cmocka_unit_test(t_ring_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
