/* linkprobe.c - the migration network's speed between two hosts, measured
 * rather than taken from a setting: the receiving host opens a sink (one
 * TCP connection, read to its end, then closed), the sending host writes
 * into it for a set time and times until the sink has read everything
 * (its close), so socket buffers do not make a short probe look fast.
 * Blocking I/O on a thread of the caller's (loop_jobs); each side is
 * bounded in time. */
#include "linkprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int addr_of(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

/* Waits until fd is ready for events or deadline (monotonic ms) passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int linkprobe_listen(const char *ip, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = addr_of(ip, 0, &ss, &len);
	if (rc < 0)
		return rc;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int64_t linkprobe_sink(int listen_fd, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int rc = wait_fd(listen_fd, POLLIN, deadline);
	if (rc < 0)
		return rc;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *buf = malloc(CHUNK);
	int64_t total = 0;
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
			break;
		ssize_t n = read(fd, buf, CHUNK);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			rc = -errno;
			break;
		}
		if (n > 0)
			total += n;
	}
	free(buf);
	close(fd);
	return rc < 0 ? rc : total;
}

int64_t linkprobe_send(const char *ip, int port, int ms, int64_t *bytes)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = addr_of(ip, port, &ss, &len);
	if (rc < 0)
		return rc;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	char *buf = calloc(1, CHUNK);
	int64_t sent = 0, start = mono_ms(), stop = start + ms, deadline = start + ms + 5000;
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		rc = -errno;
		goto out;
	}
	start = mono_ms();
	stop = start + ms;
	deadline = stop + 5000;
	while (mono_ms() < stop) {
		ssize_t n = write(fd, buf, CHUNK);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		if (n > 0)
			sent += n;
	}
	/* The sink has read everything when it closes: that is the end. */
	shutdown(fd, SHUT_WR);
	for (;;) {
		if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
			goto out;
		ssize_t n = read(fd, buf, CHUNK);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
	}
	int64_t took = mono_ms() - start;
	*bytes = sent;
	rc = 0;
	free(buf);
	close(fd);
	return took > 0 ? sent * 1000 / took : sent * 1000;
out:
	free(buf);
	close(fd);
	return rc;
}
