/* ready_probe.h - what a readiness probe needs of the host: the guest's
 * IPv4 address, known only by its MAC (the NAT network's dnsmasq leases,
 * else the host's neighbour table), and a TCP connect that never blocks
 * (the agent's loop waits for it). The probe only ever connects to the
 * address its own VM's MAC holds: a tenant cannot aim it elsewhere. */
#ifndef VDC_READY_PROBE_H
#define VDC_READY_PROBE_H

#include <stddef.h>

/* The IPv4 address (dotted) that mac ("52:54:00:..", any case) holds in
 * the dnsmasq leases file leases (NULL: none), else in /proc/net/arp
 * (complete entries only). 0 with ip filled, or -1 when neither knows it. */
int ready_probe_ip_of_mac(const char *leases, const char *mac, char *ip, size_t n);

/* Starts a TCP connect to ip:port on a non-blocking socket: its fd
 * (connected already when *done is 1, else in progress: wait for
 * EPOLLOUT, then ready_probe_result), or -errno (a refusal may come at
 * once: -ECONNREFUSED). The caller closes the fd. */
int ready_probe_connect(const char *ip, int port, int *done);

/* The outcome of a connect in progress once fd is writable: 0, or -errno
 * (-ECONNREFUSED, -EHOSTUNREACH...). */
int ready_probe_result(int fd);

#endif
