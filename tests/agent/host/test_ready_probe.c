/* test_ready_probe.c - a readiness probe's host side: a guest's address by
 * its MAC in dnsmasq's leases (any case, the newest line wins, IPv6 lines
 * skipped), nothing for a MAC it does not hold; a non-blocking connect on
 * loopback that succeeds where something listens and is refused where
 * nothing does; bad ports and addresses refused before any socket. */
#include "ready_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static void test_ip_of_mac(void **state)
{
	(void)state;
	char path[] = "/tmp/vdc-test-leases-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "1796684020 52:54:00:48:1f:ce 192.168.123.247 vdc-guest 01:52:54:00:48:1f:ce\n"
	                   "1796684019 52:54:00:6b:5e:0f 192.168.123.25 * 01:52:54:00:6b:5e:0f\n"
	                   "1796684030 52:54:00:6b:5e:0f fd00::25 * *\n"
	                   "1796684038 52:54:00:6B:5E:0F 192.168.123.26 * 01:52:54:00:6b:5e:0f\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char ip[48] = "";
	assert_int_equal(ready_probe_ip_of_mac(path, "52:54:00:48:1F:CE", ip, sizeof(ip)), 0);
	assert_string_equal(ip, "192.168.123.247");
	assert_int_equal(ready_probe_ip_of_mac(path, "52:54:00:6b:5e:0f", ip, sizeof(ip)), 0);
	assert_string_equal(ip, "192.168.123.26"); /* the newest, never the IPv6 line */
	/* Not in the leases, nor (a MAC nobody has) in the neighbour table. */
	assert_int_equal(ready_probe_ip_of_mac(path, "52:54:00:00:00:01", ip, sizeof(ip)), -1);
	assert_int_equal(ready_probe_ip_of_mac(NULL, "52:54:00:00:00:01", ip, sizeof(ip)), -1);
	assert_int_equal(ready_probe_ip_of_mac(path, "", ip, sizeof(ip)), -1);
	unlink(path);
}

/* Waits for a connect in flight, as the agent's loop does. */
static int finish(int fd, int done)
{
	if (done)
		return 0;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	assert_int_equal(poll(&p, 1, 5000), 1);
	return ready_probe_result(fd);
}

static void test_connect(void **state)
{
	(void)state;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	int port = ntohs(sa.sin_port);
	int done = 0;
	int fd = ready_probe_connect("127.0.0.1", port, &done);
	assert_true(fd >= 0);
	assert_int_equal(finish(fd, done), 0);
	close(fd);
	close(l); /* nothing listens there now */
	fd = ready_probe_connect("127.0.0.1", port, &done);
	int rc = fd < 0 ? fd : finish(fd, done);
	assert_int_equal(rc, -ECONNREFUSED);
	if (fd >= 0)
		close(fd);
	assert_int_equal(ready_probe_connect("127.0.0.1", 0, &done), -EINVAL);
	assert_int_equal(ready_probe_connect("127.0.0.1", 65536, &done), -EINVAL);
	assert_int_equal(ready_probe_connect("localhost", 22, &done), -EINVAL);
	assert_int_equal(ready_probe_connect("fd00::1", 22, &done), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_ip_of_mac), cmocka_unit_test(test_connect)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
