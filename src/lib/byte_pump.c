/* byte_pump.c - poll() over both fds and the stop fd; a read on one side is
 * written whole to the other before the next read (the buffer is the
 * bound). */
#include "byte_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#define PUMP_BUF (64 * 1024)

static int stopped(int stop_fd)
{
	if (stop_fd < 0)
		return 0;
	struct pollfd p = {.fd = stop_fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

int byte_pump_write_all(int fd, const void *buf, size_t len, int stop_fd)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -errno;
		struct pollfd pf[2] = {{.fd = fd, .events = POLLOUT}, {.fd = stop_fd, .events = POLLIN}};
		int n = poll(pf, stop_fd >= 0 ? 2 : 1, -1);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (stop_fd >= 0 && (pf[1].revents & POLLIN))
			return -ECANCELED;
		if (pf[0].revents & (POLLERR | POLLNVAL))
			return -EPIPE;
	}
	return 0;
}

/* Where a side's bytes go: its fd, or a writer of its own. */
struct sink {
	int fd;
	int (*write_all)(void *ctx, const void *buf, size_t len, int stop_fd);
	void *ctx;
};

static int fd_write_all(void *fd, const void *buf, size_t len, int stop_fd)
{
	return byte_pump_write_all((int)(intptr_t)fd, buf, len, stop_fd);
}

/* Reads what from has and writes it to to. 1 while open, 0 at EOF, -errno. */
static int move(int from, const struct sink *to, char *buf, int stop_fd)
{
	ssize_t n = read(from, buf, PUMP_BUF);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : -errno;
	if (n == 0)
		return 0;
	int rc = to->write_all(to->ctx, buf, (size_t)n, stop_fd);
	return rc < 0 ? (rc == -ECANCELED ? 0 : rc) : 1;
}

int byte_pump_run_to(int a, int (*write_all)(void *ctx, const void *buf, size_t len, int stop_fd), void *ctx,
                     int b, const char *first, size_t first_len, int stop_fd, int hup_fd)
{
	static __thread char buf[PUMP_BUF];
	struct sink to_a = {a, write_all, ctx}, to_b = {b, fd_write_all, (void *)(intptr_t)b};
	fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
	fcntl(b, F_SETFL, fcntl(b, F_GETFL) | O_NONBLOCK);
	if (first_len) {
		int rc = byte_pump_write_all(b, first, first_len, stop_fd);
		if (rc < 0)
			return rc == -ECANCELED ? 0 : rc;
	}
	for (;;) {
		struct pollfd pf[4] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN},
		                       {.fd = stop_fd, .events = POLLIN}, {.fd = hup_fd, .events = POLLRDHUP}};
		int n = poll(pf, 4, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (stopped(stop_fd) || pf[3].revents)
			return 0;
		int rc = 1;
		if (pf[0].revents)
			rc = move(a, &to_b, buf, stop_fd);
		if (rc > 0 && pf[1].revents)
			rc = move(b, &to_a, buf, stop_fd);
		if (rc <= 0)
			return rc;
	}
}

int byte_pump_run(int a, int b, const char *first, size_t first_len, int stop_fd, int hup_fd)
{
	return byte_pump_run_to(a, fd_write_all, (void *)(intptr_t)a, b, first, first_len, stop_fd, hup_fd);
}
