/* nat_rules.h - what the host's guest network is made of, as text: the NAT
 * subnet from the config, the nftables ruleset that keeps every guest off
 * its host (and NATs the NAT network out), dnsmasq's configuration, and the
 * check that the subnet is not routed on the host already. Pure: the I/O
 * that applies them is natnet.c. */
#ifndef VDC_NAT_RULES_H
#define VDC_NAT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The NAT network's bridge; a NIC of mode "nat" joins it. */
#define NAT_BRIDGE "vdcnat0"
/* Set (OR) on every frame a bridge passes up to the host from a VM's tap
 * ("vt..."); the inet chains drop what carries it toward the host. One bit,
 * so it leaves other users of the mark alone. */
#define GUARD_MARK 0x10000000u
/* libvirt's default network is 192.168.122.0/24; vdc takes the next one so
 * both can run on one host. */
#define NAT_DEFAULT "192.168.123.1/24"

struct nat_net {
	bool enabled;
	uint32_t gw;  /* the host's address on the bridge, host byte order */
	int prefix;   /* 8..29 */
};

/* Parses "off" or "A.B.C.D/PREFIX" (the gateway address and the subnet's
 * length; the gateway must be a host address of the subnet). Returns 0, or
 * -1 with a message in err (n untouched). */
int nat_net_parse(const char *s, struct nat_net *n, char *err, size_t errlen);
uint32_t nat_net_mask(const struct nat_net *n);
/* Dotted text of a host-order address into out (16 bytes). */
void nat_addr_text(uint32_t a, char out[16]);
/* The DHCP pool: every host address of the subnet on one side of the gateway
 * (the larger side). */
void nat_net_dhcp_range(const struct nat_net *n, uint32_t *first, uint32_t *last);

/* The agent's nftables ruleset as one transaction that replaces its tables
 * (bridge/inet "vdc_guard", ip "vdc_nat") whatever was there, so applying it
 * twice leaves one copy. The guard holds for every VM NIC: frames from taps
 * named vt* that a bridge passes up to the host are marked; marked packets addressed to the host (any local
 * address, IPv4 and IPv6) are dropped unless they answer a connection the
 * host opened, or are DHCP/DNS to the NAT gateway; marked packets the host
 * would route are dropped unless they come from the NAT bridge, and never
 * reach the manager's addresses (numeric, IPv4 or IPv6; may be none). With
 * nat disabled, the NAT table is removed. Returns a malloc'd string, or
 * NULL when out of memory or an address is not numeric. */
char *nat_rules_ruleset(const struct nat_net *nat, const char *const *manager_addrs, int nmanager);

/* dnsmasq's configuration for the NAT bridge (it reads no other file):
 * DHCP over the pool, DNS on the gateway, no /etc/hosts. Paths are the
 * agent's. Returns a malloc'd string or NULL. */
char *nat_rules_dnsmasq_conf(const struct nat_net *nat, const char *pid_file,
                             const char *lease_file, const char *log_file);

/* Looks through the text of /proc/net/route for a route, other than a
 * default route and routes on NAT_BRIDGE, that overlaps the subnet. Returns
 * 1 and names the interface in iface, or 0. */
int nat_rules_route_conflict(const struct nat_net *nat, const char *proc_net_route, char *iface,
                             size_t ifacelen);

#endif
