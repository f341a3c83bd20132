/* net.h - a VM NIC's host side: a tap device joined to a Linux bridge. The
 * tap is not persistent: it lives exactly as long as QEMU holds its fd, so a
 * QEMU that dies leaves no tap behind. */
#ifndef VDC_NET_H
#define VDC_NET_H

#include <stdint.h>

#include "errinfo.h"

/* True when a bridge of that name exists in this network namespace. */
int net_bridge_exists(const char *bridge);

/* Creates tap `name` with a virtio-net header, gives it the bridge's MTU,
 * joins it to bridge and brings it up. Returns the tap fd (close-on-exec) or
 * -1 with e. */
int net_tap_open(const char *name, const char *bridge, const char *field, struct errinfo *e);

/* Makes bridge (if missing), gives it the IPv4 address addr/prefix (host
 * byte order; replaces its primary address) and the MAC mac (6 bytes; NULL
 * leaves the kernel's) and brings it up. Idempotent. Returns 0, or -1 with
 * e. */
int net_bridge_up(const char *bridge, uint32_t addr, int prefix, const unsigned char *mac, struct errinfo *e);

/* Bytes and packets as the host sees them on the tap; -1 when unknown. */
void net_tap_stats(const char *name, int64_t *rx_bytes, int64_t *tx_bytes, int64_t *rx_packets,
                   int64_t *tx_packets);

/* True when a network interface of that name exists. */
int net_link_exists(const char *name);

#endif
