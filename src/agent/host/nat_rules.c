/* nat_rules.c - the guest network's texts (nftables ruleset, dnsmasq
 * config) built from the agent's settings, and the routed-subnet check.
 * Pure, so a unit test pins every rule the host guard depends on. */
#include "nat_rules.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nat_net_parse(const char *s, struct nat_net *n, char *err, size_t errlen)
{
	if (!strcmp(s, "off")) {
		memset(n, 0, sizeof(*n));
		return 0;
	}
	char addr[32];
	const char *slash = strchr(s, '/');
	char *end = NULL;
	long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
	struct in_addr in;
	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !end || *end || end == slash + 1) {
		snprintf(err, errlen, "nat-network: give the gateway and the subnet length like %s, or off, "
		                      "not '%s'", NAT_DEFAULT, s);
		return -1;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
	if (inet_pton(AF_INET, addr, &in) != 1 || prefix < 8 || prefix > 29) {
		snprintf(err, errlen, "nat-network: '%s' needs an IPv4 gateway address and a length from 8 "
		                      "to 29, like %s", s, NAT_DEFAULT);
		return -1;
	}
	struct nat_net t = {.enabled = true, .gw = ntohl(in.s_addr), .prefix = (int)prefix};
	uint32_t mask = nat_net_mask(&t);
	if ((t.gw & ~mask) == 0 || (t.gw & ~mask) == ~mask) {
		snprintf(err, errlen, "nat-network: %s is the subnet's own or broadcast address; give the "
		                      "gateway's, like %s", addr, NAT_DEFAULT);
		return -1;
	}
	*n = t;
	return 0;
}

uint32_t nat_net_mask(const struct nat_net *n)
{
	return n->prefix <= 0 ? 0 : ~0u << (32 - n->prefix);
}

void nat_addr_text(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

void nat_net_dhcp_range(const struct nat_net *n, uint32_t *first, uint32_t *last)
{
	uint32_t mask = nat_net_mask(n), net = n->gw & mask, bcast = net | ~mask;
	if (bcast - 1 - n->gw >= n->gw - (net + 1)) {
		*first = n->gw + 1;
		*last = bcast - 1;
	} else {
		*first = net + 1;
		*last = n->gw - 1;
	}
}

/* How many of the manager's addresses are of family; -1 when one is not a
 * numeric address at all. */
static int count_addrs(const char *const *addrs, int n, int family)
{
	int count = 0;
	for (int i = 0; i < n; i++) {
		unsigned char buf[16];
		int fam = strchr(addrs[i], ':') ? AF_INET6 : AF_INET;
		if (inet_pton(fam, addrs[i], buf) != 1)
			return -1;
		count += fam == family;
	}
	return count;
}

/* "{ a, b }": the manager's addresses of one family. */
static void put_addrs(FILE *f, const char *const *addrs, int n, int family)
{
	int count = 0;
	for (int i = 0; i < n; i++) {
		if ((strchr(addrs[i], ':') ? AF_INET6 : AF_INET) != family)
			continue;
		fprintf(f, "%s%s", count++ ? ", " : "{ ", addrs[i]);
	}
	fputs(" }", f);
}

char *nat_rules_ruleset(const struct nat_net *nat, const char *const *manager_addrs, int nmanager)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	char gw[16], net[16];
	nat_addr_text(nat->gw, gw);
	nat_addr_text(nat->gw & nat_net_mask(nat), net);
	int bad = 0;
	/* "table X" then "delete table X": the delete always has something to
	 * remove, so the whole text replaces the agent's tables atomically. */
	/* Marked at the bridge's input hook, which sees only what a bridge
	 * passes up to the host (to its own MAC, or broadcast): what the host
	 * will deliver or route. Frames bridged between ports are never
	 * marked, so with br_netfilter loaded (Docker, Kubernetes hosts) the
	 * inet forward chain leaves plain bridging alone. */
	fprintf(f,
	        "table bridge vdc_guard\n"
	        "delete table bridge vdc_guard\n"
	        "table bridge vdc_guard {\n"
	        "\tchain input {\n"
	        "\t\ttype filter hook input priority -300; policy accept;\n"
	        "\t\tiifname \"vt*\" meta mark set meta mark | 0x%08x\n"
	        "\t}\n"
	        "}\n",
	        GUARD_MARK);
	fprintf(f,
	        "table inet vdc_guard\n"
	        "delete table inet vdc_guard\n"
	        "table inet vdc_guard {\n"
	        "\tchain input {\n"
	        "\t\ttype filter hook input priority -10; policy accept;\n"
	        "\t\tmeta mark & 0x%08x != 0x%08x accept\n"
	        "\t\tct state established,related accept\n",
	        GUARD_MARK, GUARD_MARK);
	if (nat->enabled)
		fprintf(f,
		        "\t\tiifname \"%s\" udp sport 68 udp dport 67 accept\n"
		        "\t\tiifname \"%s\" ip daddr %s udp dport 53 accept\n"
		        "\t\tiifname \"%s\" ip daddr %s tcp dport 53 accept\n",
		        NAT_BRIDGE, NAT_BRIDGE, gw, NAT_BRIDGE, gw);
	fprintf(f,
	        "\t\tcounter drop comment \"a guest reaching its host\"\n"
	        "\t}\n"
	        "\tchain forward {\n"
	        "\t\ttype filter hook forward priority -10; policy accept;\n");
	if (nat->enabled)
		fprintf(f,
		        "\t\toifname \"%s\" ct state established,related accept\n"
		        "\t\toifname \"%s\" counter drop comment \"into the NAT network from outside\"\n",
		        NAT_BRIDGE, NAT_BRIDGE);
	fprintf(f,
	        "\t\tmeta mark & 0x%08x != 0x%08x accept\n"
	        "\t\tiifname != \"%s\" counter drop comment \"a bridged guest routing through its host\"\n",
	        GUARD_MARK, GUARD_MARK, NAT_BRIDGE);
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		int n = count_addrs(manager_addrs, nmanager, family);
		if (n < 0)
			bad = 1;
		if (n <= 0)
			continue;
		fprintf(f, "\t\t%s daddr ", fam ? "ip6" : "ip");
		put_addrs(f, manager_addrs, nmanager, family);
		fputs(" counter drop comment \"a guest reaching the manager\"\n", f);
	}
	fputs("\t}\n}\n", f);
	fputs("table ip vdc_nat\ndelete table ip vdc_nat\n", f);
	if (nat->enabled)
		fprintf(f,
		        "table ip vdc_nat {\n"
		        "\tchain postrouting {\n"
		        "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		        "\t\tip saddr %s/%d ip daddr != %s/%d masquerade\n"
		        "\t}\n"
		        "}\n",
		        net, nat->prefix, net, nat->prefix);
	if (fclose(f) != 0 || bad) {
		free(out);
		return NULL;
	}
	return out;
}

char *nat_rules_dnsmasq_conf(const struct nat_net *nat, const char *pid_file,
                             const char *lease_file, const char *log_file)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	uint32_t first, last;
	nat_net_dhcp_range(nat, &first, &last);
	char a[16], b[16], gw[16], mask[16];
	nat_addr_text(first, a);
	nat_addr_text(last, b);
	nat_addr_text(nat->gw, gw);
	nat_addr_text(nat_net_mask(nat), mask);
	fprintf(f,
	        "# vdc-agent's NAT network: written at every agent start, do not edit\n"
	        "strict-order\n"
	        "no-hosts\n"
	        "except-interface=lo\n"
	        "interface=%s\n"
	        "bind-dynamic\n"
	        "listen-address=%s\n"
	        "pid-file=%s\n"
	        "log-facility=%s\n"
	        "dhcp-range=%s,%s,%s,1h\n"
	        "dhcp-option=option:router,%s\n"
	        "dhcp-option=option:dns-server,%s\n"
	        /* The pool is the agent's alone: no 3 s ping before an offer,
	         * which outlasts a quick DHCP client's first tries. */
	        "no-ping\n"
	        "dhcp-authoritative\n"
	        "dhcp-no-override\n"
	        "dhcp-lease-max=%u\n"
	        "dhcp-leasefile=%s\n",
	        NAT_BRIDGE, gw, pid_file, log_file, a, b, mask, gw, gw, last - first + 1, lease_file);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int nat_rules_route_conflict(const struct nat_net *nat, const char *text, char *iface,
                             size_t ifacelen)
{
	uint32_t mask = nat_net_mask(nat), net = nat->gw & mask;
	const char *line = strchr(text, '\n'); /* the header */
	while (line && *++line) {
		char name[32];
		unsigned dst, gwy, flags, m;
		int refcnt, use, metric;
		if (sscanf(line, "%31s %x %x %x %d %d %d %x", name, &dst, &gwy, &flags, &refcnt, &use,
		           &metric, &m) == 8) {
			/* The kernel prints the raw network-order words. */
			uint32_t rdst = ntohl(dst), rmask = ntohl(m), both = rmask & mask;
			if (rmask != 0 && strcmp(name, NAT_BRIDGE) != 0 && (rdst & both) == (net & both)) {
				snprintf(iface, ifacelen, "%s", name);
				return 1;
			}
		}
		line = strchr(line, '\n');
	}
	return 0;
}
