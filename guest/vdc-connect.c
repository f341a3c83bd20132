/*
 * vdc-connect - tries outbound TCP connections from the vdc test guest, so a
 * test can ask the guest what it can reach (the host guard's checks).
 *
 * Usage: vdc-connect TIMEOUT_MS IP PORT [PORT...]
 *
 * Connects to every IP:PORT at once (IPv4 or IPv6; a link-local IPv6 names
 * its interface: fe80::1%eth0) and prints one line per
 * port, in the order given: "PORT open", "PORT refused" (an RST came back),
 * "PORT timeout" (nothing came back within TIMEOUT_MS: dropped),
 * "PORT unreachable" (ICMP unreachable, or no route) or "PORT error: ...".
 * Exit status 0, or 2 on bad usage.
 *
 * Built static for the vdc test guest's initramfs:
 *   gcc -static -O2 -Wall -Wextra -o vdc-connect vdc-connect.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64

static const char *verdict(int err)
{
	switch (err) {
	case 0: return "open";
	case ECONNREFUSED: return "refused";
	case ETIMEDOUT: return "timeout";
	case EHOSTUNREACH:
	case ENETUNREACH: return "unreachable";
	default: return NULL;
	}
}

/* "ADDR" or "ADDR%IFACE" into s6; 1 when it is one. */
static int parse_v6(const char *text, struct sockaddr_in6 *s6)
{
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	snprintf(addr, sizeof(addr), "%s", text);
	char *pct = strchr(addr, '%');
	if (pct) {
		*pct = '\0';
		s6->sin6_scope_id = if_nametoindex(pct + 1);
		if (!s6->sin6_scope_id)
			return 0;
	}
	return inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc - 3 > MAX_PORTS) {
		fprintf(stderr, "usage: vdc-connect TIMEOUT_MS IP PORT [PORT...] (at most %d ports)\n",
		        MAX_PORTS);
		return 2;
	}
	long timeout = atol(argv[1]);
	struct sockaddr_storage ss = {0};
	socklen_t slen;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	int family;
	if (inet_pton(AF_INET, argv[2], &s4->sin_addr) == 1) {
		family = AF_INET;
		slen = sizeof(*s4);
	} else if (parse_v6(argv[2], s6)) {
		family = AF_INET6;
		slen = sizeof(*s6);
	} else {
		fprintf(stderr, "vdc-connect: '%s' is not an IP address\n", argv[2]);
		return 2;
	}
	ss.ss_family = (sa_family_t)family;
	int n = argc - 3;
	int fd[MAX_PORTS], err[MAX_PORTS];
	struct pollfd pf[MAX_PORTS];
	for (int i = 0; i < n; i++) {
		int port = atoi(argv[3 + i]);
		fd[i] = -1;
		err[i] = ETIMEDOUT;
		pf[i].fd = -1;
		pf[i].events = POLLOUT;
		if (port <= 0 || port > 65535) {
			err[i] = EINVAL;
			continue;
		}
		if (family == AF_INET)
			s4->sin_port = htons((unsigned short)port);
		else
			s6->sin6_port = htons((unsigned short)port);
		fd[i] = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd[i] < 0) {
			err[i] = errno;
			continue;
		}
		if (connect(fd[i], (struct sockaddr *)&ss, slen) == 0)
			err[i] = 0;
		else if (errno == EINPROGRESS)
			pf[i].fd = fd[i];
		else
			err[i] = errno;
	}
	long deadline = now_ms() + timeout;
	for (;;) {
		int waiting = 0;
		for (int i = 0; i < n; i++)
			waiting += pf[i].fd >= 0;
		long left = deadline - now_ms();
		if (!waiting || left <= 0)
			break;
		if (poll(pf, (nfds_t)n, (int)left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			int e = 0;
			socklen_t el = sizeof(e);
			getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &e, &el);
			err[i] = e;
			pf[i].fd = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		const char *v = verdict(err[i]);
		if (v)
			printf("%s %s\n", argv[3 + i], v);
		else
			printf("%s error: %s\n", argv[3 + i], strerror(err[i]));
		if (fd[i] >= 0)
			close(fd[i]);
	}
	return 0;
}
