/* ready_probe.c - a readiness probe's host side (ready_probe.h): where the
 * guest is, and a connect to it that does not block. */
#include "ready_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* dnsmasq's leases: "EXPIRY MAC IP HOSTNAME CLIENTID" per line. */
static int from_leases(const char *leases, const char *mac, char *ip, size_t n)
{
	FILE *f = leases ? fopen(leases, "re") : NULL;
	if (!f)
		return -1;
	char line[512], m[64], a[64];
	int rc = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %63s %63s", m, a) == 2 && !strcasecmp(m, mac) && strchr(a, '.')) {
			snprintf(ip, n, "%s", a); /* the last one wins: the newest lease */
			rc = 0;
		}
	fclose(f);
	return rc;
}

/* /proc/net/arp: "IP HWTYPE FLAGS MAC MASK DEVICE"; flags 0x2: complete. */
static int from_neighbours(const char *mac, char *ip, size_t n)
{
	FILE *f = fopen("/proc/net/arp", "re");
	if (!f)
		return -1;
	char line[512], a[64], m[64];
	unsigned flags;
	int rc = -1;
	while (rc < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %*s %x %63s", a, &flags, m) == 3 && (flags & 0x2) && !strcasecmp(m, mac)) {
			snprintf(ip, n, "%s", a);
			rc = 0;
		}
	fclose(f);
	return rc;
}

int ready_probe_ip_of_mac(const char *leases, const char *mac, char *ip, size_t n)
{
	if (!mac || !mac[0])
		return -1;
	return from_leases(leases, mac, ip, n) == 0 ? 0 : from_neighbours(mac, ip, n);
}

int ready_probe_connect(const char *ip, int port, int *done)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	*done = 0;
	if (port < 1 || port > 65535 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		*done = 1;
		return fd;
	}
	int err = errno;
	if (err == EINPROGRESS)
		return fd;
	close(fd);
	return -err;
}

int ready_probe_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}
