/* test_sse.c - the CLI's server-sent-events parser: whole events out of
 * bytes however they are cut, every line ending, comments, multi-line
 * data, ids that stick, and events with no data never dispatched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sse.h"

#include <stdio.h>
#include <string.h>

struct seen {
	int n;
	char got[16][160]; /* "id|event|data" */
	int stop_after;
};

static int collect(void *ctx, const struct sse_event *ev)
{
	struct seen *s = ctx;
	if (s->n < 16)
		snprintf(s->got[s->n], sizeof(s->got[0]), "%s|%s|%s", ev->id, ev->event, ev->data);
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? -1 : 0;
}

/* Feeds text cut into pieces of `step` bytes. */
static void run(const char *text, size_t step, struct seen *s)
{
	struct sse_parser p;
	sse_init(&p, collect, s);
	size_t len = strlen(text);
	for (size_t off = 0; off < len; off += step)
		if (sse_feed(&p, text + off, off + step > len ? len - off : step) < 0)
			break;
	sse_free(&p);
}

static const char stream[] =
	"retry: 3000\nid: e-0\nevent: hello\ndata: {\"resumed\":false}\n\n"
	": keepalive\n\n"
	"id: e-1\r\nevent: vm.state\r\ndata: {\"a\":1}\r\n\r\n"
	"event: no-data\n\n"
	"data:first\rdata: second\r\r"
	"id: e-3\nevent:task.ended\ndata\ndata: x\n\n"
	"data: partial, never ended";

static void t_events(void **state)
{
	static const char *const want[] = {
		"e-0|hello|{\"resumed\":false}",
		"e-1|vm.state|{\"a\":1}",
		"e-1|message|first\nsecond", /* no id line: the last one sticks */
		"e-3|task.ended|\nx",        /* "data" alone is an empty line of data */
	};
	/* However the bytes are cut, the same events come out. */
	for (size_t step = 1; step <= sizeof(stream); step++) {
		struct seen s = {0};
		run(stream, step, &s);
		assert_int_equal(s.n, 4);
		for (int i = 0; i < 4; i++)
			if (strcmp(s.got[i], want[i]))
				fail_msg("step %zu event %d: got '%s', want '%s'", step, i, s.got[i], want[i]);
	}
}

static void t_stop(void **state)
{
	struct seen s = {.stop_after = 2};
	struct sse_parser p;
	sse_init(&p, collect, &s);
	assert_int_equal(sse_feed(&p, stream, strlen(stream)), -1);
	assert_int_equal(s.n, 2);
	sse_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_events),
		cmocka_unit_test(t_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
