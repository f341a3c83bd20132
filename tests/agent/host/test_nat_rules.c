/* test_nat_rules.c - the guest network's texts: the NAT subnet from the
 * config, the DHCP pool, the nftables ruleset every guard property depends
 * on (checked rule by rule, so a dropped rule fails here before any guest
 * boots), dnsmasq's config and the routed-subnet check. */
#include "testutil.h"

#include "nat_rules.h"

static struct nat_net net_of(const char *s)
{
	struct nat_net n;
	char err[256] = "";
	if (nat_net_parse(s, &n, err, sizeof(err)) != 0)
		fail_msg("%s: %s", s, err);
	return n;
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += n) {
		int starts = p == text || p[-1] == '\n' || p[-1] == '\t';
		if (starts && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

static void expect_line(const char *text, const char *line)
{
	if (!has_line(text, line))
		fail_msg("missing line '%s' in:\n%s", line, text);
}

static void test_parse_and_range(void **state)
{
	struct nat_net n = net_of(NAT_DEFAULT);
	assert_true(n.enabled);
	assert_int_equal(n.prefix, 24);
	assert_int_equal(nat_net_mask(&n), 0xffffff00u);
	char a[16];
	nat_addr_text(n.gw, a);
	assert_string_equal(a, "192.168.123.1");
	uint32_t first, last;
	nat_net_dhcp_range(&n, &first, &last);
	nat_addr_text(first, a);
	assert_string_equal(a, "192.168.123.2");
	nat_addr_text(last, a);
	assert_string_equal(a, "192.168.123.254");
	/* A gateway at the top: the pool lies below it. */
	n = net_of("10.0.0.254/24");
	nat_net_dhcp_range(&n, &first, &last);
	nat_addr_text(first, a);
	assert_string_equal(a, "10.0.0.1");
	nat_addr_text(last, a);
	assert_string_equal(a, "10.0.0.253");
	/* The smallest subnet: /29, 6 hosts, the gateway one of them. */
	n = net_of("10.0.0.3/29");
	nat_net_dhcp_range(&n, &first, &last);
	assert_true(first > n.gw && last == (n.gw & nat_net_mask(&n)) + 6);
	n = net_of("off");
	assert_false(n.enabled);
	char err[256];
	struct nat_net keep = net_of(NAT_DEFAULT);
	assert_int_equal(nat_net_parse("10.0.0.0/8", &keep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "gateway"));
	assert_int_equal(keep.gw, net_of(NAT_DEFAULT).gw); /* untouched on error */
}

static void test_ruleset_guard(void **state)
{
	struct nat_net n = net_of(NAT_DEFAULT);
	const char *mgr[] = {"10.214.7.1", "fd00::7"};
	char *r = nat_rules_ruleset(&n, mgr, 2);
	assert_non_null(r);
	/* Replaced whole: each table is added, deleted, then written once. */
	expect_line(r, "table bridge vdc_guard");
	expect_line(r, "delete table bridge vdc_guard");
	expect_line(r, "table inet vdc_guard");
	expect_line(r, "delete table inet vdc_guard");
	expect_line(r, "delete table ip vdc_nat");
	/* Every frame a bridge passes up to the host from a VM's tap is
	 * marked (at the bridge's input hook, not prerouting: bridged frames
	 * stay unmarked). */
	expect_line(r, "type filter hook input priority -300; policy accept;");
	expect_line(r, "iifname \"vt*\" meta mark set meta mark | 0x10000000");
	assert_null(strstr(r, "hook prerouting"));
	/* Input: unmarked passes; marked passes only as a reply, DHCP or DNS
	 * to the gateway; the rest is dropped. inet: IPv4 and IPv6 alike. */
	expect_line(r, "meta mark & 0x10000000 != 0x10000000 accept");
	expect_line(r, "ct state established,related accept");
	expect_line(r, "iifname \"vdcnat0\" udp sport 68 udp dport 67 accept");
	expect_line(r, "iifname \"vdcnat0\" ip daddr 192.168.123.1 udp dport 53 accept");
	expect_line(r, "iifname \"vdcnat0\" ip daddr 192.168.123.1 tcp dport 53 accept");
	expect_line(r, "counter drop comment \"a guest reaching its host\"");
	/* The drop is the input chain's last rule. */
	const char *in = strstr(r, "chain input");
	const char *drop = strstr(r, "a guest reaching its host");
	const char *fwd = strstr(r, "chain forward");
	assert_true(in && drop && fwd && in < drop && drop < fwd);
	assert_null(strstr(drop + 1, "a guest reaching its host"));
	/* Forward: nothing in from outside, bridged guests never routed,
	 * the manager never reached. */
	expect_line(r, "oifname \"vdcnat0\" counter drop comment \"into the NAT network from outside\"");
	expect_line(r, "iifname != \"vdcnat0\" counter drop comment \"a bridged guest routing through its host\"");
	expect_line(r, "ip daddr { 10.214.7.1 } counter drop comment \"a guest reaching the manager\"");
	expect_line(r, "ip6 daddr { fd00::7 } counter drop comment \"a guest reaching the manager\"");
	expect_line(r, "ip saddr 192.168.123.0/24 ip daddr != 192.168.123.0/24 masquerade");
	free(r);
}

static void test_ruleset_without_nat(void **state)
{
	struct nat_net n = net_of("off");
	char *r = nat_rules_ruleset(&n, NULL, 0);
	assert_non_null(r);
	/* The guard stays whole; the NAT table goes; nothing is let in. */
	expect_line(r, "iifname \"vt*\" meta mark set meta mark | 0x10000000");
	expect_line(r, "counter drop comment \"a guest reaching its host\"");
	expect_line(r, "delete table ip vdc_nat");
	assert_null(strstr(r, "dport 67"));
	assert_null(strstr(r, "dport 53"));
	assert_null(strstr(r, "masquerade"));
	assert_null(strstr(r, "reaching the manager")); /* no manager: no empty set */
	free(r);
	/* A manager address that is not numeric is refused, not written. */
	const char *bad[] = {"vdcd.example"};
	assert_null(nat_rules_ruleset(&n, bad, 1));
}

static void test_dnsmasq_conf(void **state)
{
	struct nat_net n = net_of(NAT_DEFAULT);
	char *c = nat_rules_dnsmasq_conf(&n, "/run/a/dnsmasq.pid", "/var/lib/a/leases", "/run/a/log");
	assert_non_null(c);
	expect_line(c, "interface=vdcnat0");
	expect_line(c, "except-interface=lo");
	expect_line(c, "bind-dynamic");
	expect_line(c, "no-hosts"); /* the host's /etc/hosts is not the guests' business */
	expect_line(c, "no-ping");
	expect_line(c, "dhcp-range=192.168.123.2,192.168.123.254,255.255.255.0,1h");
	expect_line(c, "dhcp-option=option:router,192.168.123.1");
	expect_line(c, "dhcp-option=option:dns-server,192.168.123.1");
	expect_line(c, "dhcp-lease-max=253");
	expect_line(c, "pid-file=/run/a/dnsmasq.pid");
	expect_line(c, "dhcp-leasefile=/var/lib/a/leases");
	free(c);
}

static const char routes_head[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

static void test_route_conflict(void **state)
{
	struct nat_net n = net_of(NAT_DEFAULT);
	char iface[32] = "";
	char text[1024];
	/* A default route and our own bridge's route are no conflict. */
	snprintf(text, sizeof(text),
	         "%seth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	         "vdcnat0\t007BA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	         "br0\t0000D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
	         routes_head);
	assert_int_equal(nat_rules_route_conflict(&n, text, iface, sizeof(iface)), 0);
	/* 192.168.123.0/24 on lan0. */
	snprintf(text, sizeof(text), "%slan0\t007BA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
	         routes_head);
	assert_int_equal(nat_rules_route_conflict(&n, text, iface, sizeof(iface)), 1);
	assert_string_equal(iface, "lan0");
	/* A wider route that holds the subnet (192.168.0.0/16). */
	snprintf(text, sizeof(text), "%swan0\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n",
	         routes_head);
	assert_int_equal(nat_rules_route_conflict(&n, text, iface, sizeof(iface)), 1);
	assert_string_equal(iface, "wan0");
	/* A narrower one inside it (192.168.123.128/25). */
	snprintf(text, sizeof(text), "%svpn0\t807BA8C0\t00000000\t0001\t0\t0\t0\t80FFFFFF\t0\t0\t0\n",
	         routes_head);
	assert_int_equal(nat_rules_route_conflict(&n, text, iface, sizeof(iface)), 1);
	/* The neighbour (192.168.122.0/24, libvirt's) is none. */
	snprintf(text, sizeof(text), "%svirbr0\t007AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
	         routes_head);
	assert_int_equal(nat_rules_route_conflict(&n, text, iface, sizeof(iface)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_range),
		cmocka_unit_test(test_ruleset_guard),
		cmocka_unit_test(test_ruleset_without_nat),
		cmocka_unit_test(test_dnsmasq_conf),
		cmocka_unit_test(test_route_conflict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
