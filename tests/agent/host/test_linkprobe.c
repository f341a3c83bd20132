/* test_linkprobe.c - the link probe over real sockets on loopback: what the
 * sender writes, the sink reads, whole, and the rate is counted to the
 * sink's close; bad addresses and a port nobody listens on fail, saying so. */
#include "linkprobe.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

struct sink {
	int fd;
	int64_t bytes;
};

static void *run_sink(void *arg)
{
	struct sink *s = arg;
	s->bytes = linkprobe_sink(s->fd, 5000);
	return NULL;
}

static void test_probe_whole(void **state)
{
	(void)state;
	struct sink s = {0};
	int port = 0;
	s.fd = linkprobe_listen("127.0.0.1", &port);
	assert_true(s.fd >= 0);
	assert_true(port > 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_sink, &s), 0);
	int64_t sent = 0;
	int64_t rate = linkprobe_send("127.0.0.1", port, 50, &sent);
	pthread_join(t, NULL);
	close(s.fd);
	assert_true(rate > 0);
	assert_true(sent > 0);
	assert_int_equal(s.bytes, sent); /* counted to the sink's close: all of it arrived */
	/* 50 ms of writes: the rate is what went over that time, give or take */
	assert_true(rate >= sent); /* took at most a second */
}

static void test_bad_input(void **state)
{
	(void)state;
	int port = 0;
	assert_int_equal(linkprobe_listen("not-an-ip", &port), -EINVAL);
	assert_int_equal(linkprobe_listen("/tmp/x", &port), -EINVAL);
	int64_t sent = 0;
	assert_int_equal(linkprobe_send("999.1.1.1", 80, 10, &sent), -EINVAL);
	/* A port nobody listens on: the connection is refused. */
	int fd = linkprobe_listen("127.0.0.1", &port);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(linkprobe_send("127.0.0.1", port, 10, &sent), -ECONNREFUSED);
}

static void test_sink_times_out(void **state)
{
	(void)state;
	int port = 0;
	int fd = linkprobe_listen("127.0.0.1", &port);
	assert_true(fd >= 0);
	assert_int_equal(linkprobe_sink(fd, 50), -ETIMEDOUT); /* nobody wrote: it gives up */
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_whole),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_sink_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
