/* net.c - taps and bridges through ioctls: no `ip` child process on the VM
 * start path, which keeps a start within milliseconds of raw QEMU. */
#include "net.h"

#include "fsutil.h"

#include <errno.h>
#include <net/if_arp.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int net_link_exists(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	return fs_exists(path);
}

int net_bridge_exists(const char *bridge)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", bridge);
	return fs_exists(path);
}

int net_tap_open(const char *name, const char *bridge, const char *field, struct errinfo *e)
{
	int sock = -1;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		errinfo_set(e, 500, "tap", field, "cannot open /dev/net/tun: %s (is the tun module loaded?)",
		            strerror(errno));
		goto cleanup;
	}
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		errinfo_set(e, 500, "tap", field, "cannot create tap %s: %s", name, strerror(errno));
		goto cleanup;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		errinfo_set(e, 500, "tap", field, "socket: %s", strerror(errno));
		goto cleanup;
	}
	struct ifreq br = {0};
	snprintf(br.ifr_name, IFNAMSIZ, "%s", bridge);
	if (ioctl(sock, SIOCGIFMTU, &br) == 0) {
		struct ifreq m = {0};
		snprintf(m.ifr_name, IFNAMSIZ, "%s", name);
		m.ifr_mtu = br.ifr_mtu;
		ioctl(sock, SIOCSIFMTU, &m);
	}
	struct ifreq idx = {0};
	snprintf(idx.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(sock, SIOCGIFINDEX, &idx) < 0) {
		errinfo_set(e, 500, "tap", field, "cannot find tap %s: %s", name, strerror(errno));
		goto cleanup;
	}
	snprintf(br.ifr_name, IFNAMSIZ, "%s", bridge);
	br.ifr_ifindex = idx.ifr_ifindex;
	if (ioctl(sock, SIOCBRADDIF, &br) < 0) {
		errinfo_set(e, 400, "bridge", field, "cannot join tap %s to bridge %s: %s%s", name,
		            bridge, strerror(errno),
		            errno == ENODEV || errno == EINVAL ? " (does the bridge exist on this host?)" : "");
		goto cleanup;
	}
	struct ifreq up = {0};
	snprintf(up.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &up) == 0) {
		up.ifr_flags |= IFF_UP;
		if (ioctl(sock, SIOCSIFFLAGS, &up) < 0) {
			errinfo_set(e, 500, "tap", field, "cannot bring tap %s up: %s", name, strerror(errno));
			goto cleanup;
		}
	}
	close(sock);
	return fd;
cleanup:
	if (sock >= 0)
		close(sock);
	if (fd >= 0)
		close(fd);
	return -1;
}

int net_bridge_up(const char *bridge, uint32_t addr, int prefix, const unsigned char *mac, struct errinfo *e)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return errinfo_set(e, 500, "bridge", NULL, "socket: %s", strerror(errno));
	int rc = -1;
	if (!net_bridge_exists(bridge) && ioctl(sock, SIOCBRADDBR, bridge) < 0 && errno != EEXIST) {
		errinfo_set(e, 500, "bridge", NULL, "cannot create bridge %s: %s", bridge, strerror(errno));
		goto cleanup;
	}
	struct ifreq r = {0};
	snprintf(r.ifr_name, IFNAMSIZ, "%s", bridge);
	struct sockaddr_in *sin = (struct sockaddr_in *)&r.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(addr);
	if (ioctl(sock, SIOCSIFADDR, &r) < 0) {
		errinfo_set(e, 500, "bridge", NULL, "cannot give %s its address: %s", bridge, strerror(errno));
		goto cleanup;
	}
	sin->sin_addr.s_addr = htonl(prefix <= 0 ? 0 : ~0u << (32 - prefix));
	if (ioctl(sock, SIOCSIFNETMASK, &r) < 0) {
		errinfo_set(e, 500, "bridge", NULL, "cannot set %s's netmask: %s", bridge, strerror(errno));
		goto cleanup;
	}
	if (mac) {
		struct ifreq hw = {0};
		snprintf(hw.ifr_name, IFNAMSIZ, "%s", bridge);
		hw.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(hw.ifr_hwaddr.sa_data, mac, 6);
		if (ioctl(sock, SIOCSIFHWADDR, &hw) < 0) {
			errinfo_set(e, 500, "bridge", NULL, "cannot set %s's MAC: %s", bridge, strerror(errno));
			goto cleanup;
		}
	}
	struct ifreq up = {0};
	snprintf(up.ifr_name, IFNAMSIZ, "%s", bridge);
	if (ioctl(sock, SIOCGIFFLAGS, &up) < 0 ||
	    (up.ifr_flags |= IFF_UP, ioctl(sock, SIOCSIFFLAGS, &up)) < 0) {
		errinfo_set(e, 500, "bridge", NULL, "cannot bring %s up: %s", bridge, strerror(errno));
		goto cleanup;
	}
	rc = 0;
cleanup:
	close(sock);
	return rc;
}

static int64_t stat_value(const char *name, const char *what)
{
	char path[160];
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", name, what);
	char *s = fs_read_all(path, 64, NULL);
	if (!s)
		return -1;
	int64_t v = strtoll(s, NULL, 10);
	free(s);
	return v;
}

void net_tap_stats(const char *name, int64_t *rx_bytes, int64_t *tx_bytes, int64_t *rx_packets,
                   int64_t *tx_packets)
{
	/* The tap's transmit is the guest's receive and the other way round;
	 * report from the guest's point of view. */
	*rx_bytes = stat_value(name, "tx_bytes");
	*tx_bytes = stat_value(name, "rx_bytes");
	*rx_packets = stat_value(name, "tx_packets");
	*tx_packets = stat_value(name, "rx_packets");
}
