/* test_auth.c - the pure decisions of vdcd's access control and quotas, as
 * tables: which routes a caller may use, a caller's role in a project, how
 * failed logins slow down, and when a quota refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "access.h"
#include "quota_math.h"

static struct auth_member members[] = {{"pa", ROLE_VIEWER}, {"pb", ROLE_OPERATOR}, {"pc", ROLE_ADMIN}};
static const struct auth_ctx admin = {.admin = true};
static const struct auth_ctx viewer = {.nmembers = 1, .members = members};     /* viewer of pa */
static const struct auth_ctx operator = {.nmembers = 2, .members = members};   /* + operator of pb */
static const struct auth_ctx padmin = {.nmembers = 3, .members = members};     /* + admin of pc */
static const struct auth_ctx nobody = {0};

static void t_decide(void **state)
{
	static const struct {
		const struct auth_ctx *who;
		enum mgr_access acc;
		bool mutating;
		int want;
	} cases[] = {
		{&admin, ACC_ADMIN, true, 0},     {&admin, ACC_WRITE, true, 0},   {&admin, ACC_ANY, false, 0},
		{&viewer, ACC_ANY, false, 0},     {&viewer, ACC_ANY, true, 403},  {&viewer, ACC_WRITE, false, 0},
		{&viewer, ACC_WRITE, true, 403},  {&viewer, ACC_SELF, true, 0},   {&viewer, ACC_ADMIN, false, 403},
		{&viewer, ACC_ADMIN, true, 403},  {&operator, ACC_WRITE, true, 0}, {&operator, ACC_ADMIN, true, 403},
		{&padmin, ACC_WRITE, true, 0},    {&padmin, ACC_ADMIN, false, 403}, {&nobody, ACC_ANY, false, 0},
		{&nobody, ACC_WRITE, true, 403},  {&nobody, ACC_SELF, true, 0},   {&nobody, ACC_ADMIN, false, 403},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = auth_decide(cases[i].who, cases[i].acc, cases[i].mutating);
		if (got != cases[i].want)
			fail_msg("case %zu: access %d mutating %d: got %d, want %d", i, cases[i].acc,
			         cases[i].mutating, got, cases[i].want);
	}
}

static void t_role_in(void **state)
{
	static const struct {
		const struct auth_ctx *who;
		const char *project;
		enum mgr_role want;
	} cases[] = {
		{&admin, "anything", ROLE_ADMIN}, {&admin, NULL, ROLE_ADMIN},      {&viewer, "pa", ROLE_VIEWER},
		{&viewer, "pb", ROLE_NONE},       {&operator, "pb", ROLE_OPERATOR}, {&padmin, "pc", ROLE_ADMIN},
		{&padmin, NULL, ROLE_NONE},       {&nobody, "pa", ROLE_NONE},       {&padmin, "p", ROLE_NONE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(auth_role_in(cases[i].who, cases[i].project), cases[i].want);
}

static void t_roles(void **state)
{
	enum mgr_role r = ROLE_NONE;
	static const char *const good[] = {"viewer", "operator", "admin"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(role_parse(good[i], &r), 0);
		assert_int_equal(r, ROLE_VIEWER + i);
		assert_string_equal(role_name(r), good[i]);
	}
	static const char *const bad[] = {"none", "Admin", "", "operator ", "root"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(role_parse(bad[i], &r), -1);
	assert_int_equal(role_parse(NULL, &r), -1);
	assert_string_equal(role_name((enum mgr_role)42), "none");
}

static void t_throttle(void **state)
{
	static const struct {
		int failures;
		unsigned delay_ms;
		bool locked;
	} cases[] = {
		{0, 0, false},    {2, 0, false},    {3, 250, false},  {4, 500, false},   {5, 1000, false},
		{7, 4000, false}, {8, 8000, false}, {19, 8000, false}, {20, 8000, true}, {1000, 8000, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(throttle_delay_ms(cases[i].failures), cases[i].delay_ms);
		assert_int_equal(throttle_locked(cases[i].failures), cases[i].locked);
	}
}

static void t_quota(void **state)
{
	static const struct {
		int64_t limit[QUOTA_N], usage[QUOTA_N], delta[QUOTA_N];
		int which;
		int64_t would_be;
	} cases[] = {
		{{-1, -1, -1, -1}, {100, 100, 100, 100}, {1, 64, 1 << 20, 1 << 20}, -1, 0}, /* unlimited */
		{{5, 8, 4096, 0}, {4, 7, 4000, 0}, {1, 1, 96, 0}, -1, 0},                 /* exactly full */
		{{5, 8, 4096, -1}, {5, 0, 0, 0}, {1, 1, 64, 0}, QUOTA_VMS, 6},
		{{5, 8, 4096, -1}, {0, 7, 0, 0}, {1, 2, 64, 0}, QUOTA_VCPUS, 9},
		{{5, 8, 4096, -1}, {0, 0, 4096, 0}, {1, 1, 1, 0}, QUOTA_MEMORY_MIB, 4097},
		{{-1, -1, -1, 100}, {0, 0, 0, 50}, {1, 1, 1, 51}, QUOTA_DISK_MIB, 101},
		{{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, -1, 0},                         /* asks nothing */
		{{1, 1, 1, 1}, {9, 9, 9, 9}, {-1, -1, -1, -1}, -1, 0},                     /* shrinking is fine */
		{{2, 1, -1, -1}, {2, 5, 0, 0}, {0, 1, 0, 0}, QUOTA_VCPUS, 6},              /* first exceeded wins */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t would = 0;
		int got = quota_exceeds(cases[i].limit, cases[i].usage, cases[i].delta, &would);
		if (got != cases[i].which || (got >= 0 && would != cases[i].would_be))
			fail_msg("case %zu: got %d (%lld), want %d (%lld)", i, got, (long long)would, cases[i].which,
			         (long long)cases[i].would_be);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_decide),   cmocka_unit_test(t_role_in), cmocka_unit_test(t_roles),
		cmocka_unit_test(t_throttle), cmocka_unit_test(t_quota),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
