/* test_strbuf.c - the growable buffer (strbuf.h) and the one formatter and
 * parser of API times (isotime.h): what the callers that replaced their own
 * copies rely on. */
#include "testutil.h"

#include "isotime.h"
#include "strbuf.h"

#include <time.h>

static void test_empty(void **state)
{
	struct strbuf b = {0};
	assert_null(b.p);
	assert_null(strbuf_take(&b)); /* nothing added: NULL, as callers test */
	strbuf_free(&b);
	/* Adding nothing still gives a NUL-terminated string (store lists
	 * strdup the last name even when it was empty). */
	assert_int_equal(strbuf_add(&b, "", 0), 0);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	assert_int_equal(b.len, 0);
	strbuf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len + b.cap, 0);
}

static void test_grows_in_pieces(void **state)
{
	struct strbuf b = {0};
	char want[20001];
	for (int i = 0; i < 20000; i++) {
		char c = (char)('a' + i % 26);
		want[i] = c;
		assert_int_equal(strbuf_add(&b, &c, 1), 0);
		assert_true(b.cap > b.len);
		assert_int_equal(b.p[b.len], '\0');
	}
	want[20000] = '\0';
	assert_int_equal(b.len, 20000);
	assert_string_equal(b.p, want);
	assert_true(b.cap <= 2 * 20001); /* doubling, not one realloc per byte */
	char *s = strbuf_take(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_string_equal(s, want);
	free(s);
}

static void test_binary_and_reuse(void **state)
{
	struct strbuf b = {0};
	assert_int_equal(strbuf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "a\0b", 4);
	b.len = 0; /* reused as the store's "last name" is */
	assert_int_equal(strbuf_add(&b, "xy", 2), 0);
	assert_string_equal(b.p, "xy");
	assert_int_equal(strbuf_reserve(&b, 100000), 0);
	assert_true(b.cap >= b.len + 100001);
	assert_string_equal(b.p, "xy");
	/* A size that cannot be is refused, and the buffer is left as it was. */
	assert_int_equal(strbuf_reserve(&b, (size_t)-1), -1);
	assert_string_equal(b.p, "xy");
	strbuf_free(&b);
}

static void test_iso_time(void **state)
{
	static const struct {
		int64_t epoch;
		const char *want;
	} cases[] = {
	    {0, "1970-01-01T00:00:00Z"},
	    {1, "1970-01-01T00:00:01Z"},
	    {951782400, "2000-02-29T00:00:00Z"},   /* a leap day */
	    {1796528433, "2026-12-06T03:40:33Z"},
	    {4102444799, "2099-12-31T23:59:59Z"},
	    {-1, "1969-12-31T23:59:59Z"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char out[ISO_TIME_LEN];
		iso_time(cases[i].epoch, out);
		assert_string_equal(out, cases[i].want);
	}
	char now[ISO_TIME_LEN], then[ISO_TIME_LEN];
	time_t t0 = time(NULL);
	iso_time_now(now);
	iso_time((int64_t)t0, then);
	/* The same second, or the next one if the clock ticked between. */
	char next[ISO_TIME_LEN];
	iso_time((int64_t)t0 + 1, next);
	assert_true(!strcmp(now, then) || !strcmp(now, next));
	assert_int_equal(strlen(now), 20);
}

static void test_iso_time_parse(void **state)
{
	static const struct {
		const char *in;
		int rc;
		int64_t want_ms;
	} cases[] = {
	    {"1970-01-01T00:00:00Z", 0, 0},
	    {"2026-12-07T18:31:05Z", 0, 1796668265000},        /* no fraction */
	    {"2026-12-07T18:31:05.527Z", 0, 1796668265527},    /* ms, as events have */
	    {"2026-12-07T18:31:05.5Z", 0, 1796668265500},      /* a tenth */
	    {"2026-12-07T18:31:05.123456Z", 0, 1796668265123}, /* past the ms: dropped */
	    {"2026-12-07T18:31:05.Z", 0, 1796668265000},       /* a dot, no digits */
	    {"2026-12-07T18:31:05", 0, 1796668265000},         /* no zone: older logs */
	    {"2026-12-07T20:31:05.250+02:00", 0, 1796668265250},
	    {"2026-12-07T16:31:05-02:00", 0, 1796668265000},
	    {"2000-02-29T00:00:00Z", 0, 951782400000}, /* a leap day */
	    {"1969-12-31T23:59:59Z", 0, -1000},
	    {"", -1, 0},
	    {"yesterday", -1, 0},
	    {"2026-12-07", -1, 0},
	    {"2026-12-07T18:31:05X", -1, 0},
	    {"2026-12-07T18:31:05Zjunk", -1, 0},
	    {"2026-12-07T18:31:05+02", -1, 0},
	    {"2026-13-07T18:31:05Z", -1, 0},
	    {NULL, -1, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t ms = 42;
		int rc = iso_time_parse_ms(cases[i].in, &ms);
		if (rc != cases[i].rc || ms != cases[i].want_ms)
			fail_msg("\"%s\": rc %d ms %lld, want %d %lld", cases[i].in ?: "(null)", rc, (long long)ms,
			         cases[i].rc, (long long)cases[i].want_ms);
	}
	/* What iso_time_ms writes, it reads back. */
	for (int64_t t = -1500; t < 1796668265527 * 2; t = t < 0 ? t + 997 : t * 3 + 7) {
		char out[ISO_TIME_LEN];
		int64_t back;
		iso_time_ms(t, out);
		assert_int_equal(iso_time_parse_ms(out, &back), 0);
		assert_int_equal(back, t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_grows_in_pieces),
	    cmocka_unit_test(test_binary_and_reuse),
	    cmocka_unit_test(test_iso_time),
	    cmocka_unit_test(test_iso_time_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
