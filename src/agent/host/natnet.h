/* natnet.h - the host's guest network, as libvirt's default network: the
 * NAT bridge with dnsmasq serving DHCP and DNS on it, and the nftables host
 * guard that keeps every guest (NAT or bridged) off its host. */
#ifndef VDC_NATNET_H
#define VDC_NATNET_H

struct agent;

/* At agent start: refuses a NAT subnet that is routed on the host already,
 * makes the bridge, turns on IPv4 forwarding, applies the ruleset (replacing
 * the agent's tables, so a restart never duplicates a rule) and starts
 * dnsmasq unless one of ours with the same config runs already. With
 * nat-network=off, only the guard. Then checks dnsmasq every few seconds and
 * restarts it if it died. Returns 0, or -1 (logged with what to do). */
int natnet_start(struct agent *a);

/* At agent exit: stops watching. The bridge, the rules and dnsmasq stay:
 * running VMs keep their network and their guard while the agent is away. */
void natnet_stop(struct agent *a);

#endif
