# 40-guest-network.sh - from inside a guest, a tenant tries its host: the
# agent, vdcd, the consoles and the host's loopback (issue 9: user-mode
# networking made 10.0.2.2 the host's 127.0.0.1). A VM made through vdcd
# without networks is on the host's NAT network; the guard drops whatever a
# guest sends its host. The test guest's `connect` request answers per port:
# "timeout" is a dropped packet, "open"/"refused" a reachable host, so every
# check fails if the packet got through. Sourced by t_hostile.sh.
# shellcheck shell=bash

NET_GW=192.168.123.1
# A machine beyond the host (neither the host nor vdcd): a namespace of its
# own on the fabric, removed with the world whatever happens.
host_ns nout
: >"$(dir_of nout)/agent.pid" # no agent there, for the cleanup
NET_OUTSIDE=$(cat "$(dir_of nout)/mgmt_ip")
NET_OUTSIDE_PORT=8099
in_ns nout python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
' "$NET_OUTSIDE" "$NET_OUTSIDE_PORT" >/dev/null 2>&1 &
disown

# net_probe IP TARGET PORT...: the guest's verdicts, "|"-joined.
net_probe() { guest_req h1 "$1" "connect $2 ${*:3}"; }
# net_probe6: the same from an IPv6 link-local source, waiting out its
# duplicate address detection ("Cannot assign requested address" until then).
net_probe6() {
	local res
	for _ in $(seq 1 20); do
		res=$(net_probe "$@")
		[[ $res == *"Cannot assign requested address"* ]] || break
		sleep 0.5
	done
	echo "$res"
}
# net_all VERDICT RESULT: every port got VERDICT.
net_all() {
	local v=$1 line n=0
	IFS='|' read -ra lines <<<"$2"
	for line in "${lines[@]}"; do
		[ "${line#* }" = "$v" ] || { diag "got: $2"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { diag "no answer from the guest"; return 1; }
}
# net_guest_ip VM: the address on the guest's readiness line (through vdcd's
# console proxy, as alice), waiting for it up to 90 s.
net_guest_ip() {
	local end=$((SECONDS + 90)) ip
	while [ $SECONDS -lt $end ]; do
		as "$T_A" GET "/api/v1/vms/$1/console?bytes=65536"
		ip=$(grep -o 'VDC-GUEST-READY .*' <<<"$BODY" | tail -1 | sed -n 's/.* ip=\([^ \r]*\).*/\1/p')
		[ -n "$ip" ] && { echo "$ip"; return 0; }
		sleep 0.5
	done
	diag "no readiness line with an address on $1's console; its tail:" >&2
	tail -5 <<<"$BODY" | sed 's/^/# /' >&2
	return 1
}
net_drops() {
	in_ns h1 nft list chain inet vdc_guard input |
		sed -n 's/.*counter packets \([0-9]*\).*reaching its host.*/\1/p'
}

# --- A VM of alice's with no networks: the NAT network. ----------------------
# 192 MiB: the guest's cloud kernel does not boot in the templates' 64.
mgr_guest_template net-tpl "$T_A" '.memory_mib = 192 | .cmdline += " vdc.hostname=netnat"'
as "$T_A" POST /api/v1/vms '{"name":"net-nat","template":"net-tpl"}'
task_wait "$(jget "$BODY" .task.id)"
NET_IP=$(net_guest_ip net-nat)
# The host knows it by vdcd's id for it.
as "$T_A" GET /api/v1/vms/net-nat
api h1 GET "/api/v1/vms/$(jget "$BODY" '.config.agent_name // .name')"
attack NET-1 "a VM made through vdcd without networks: on the NAT network, never user mode" \
	test "$(jget "$BODY" '[.spec.nics[].mode] | join(",")')" = nat
attack NET-2 "DHCP on the NAT network: the guest has an address of it, router and DNS the gateway" \
	test "$(guest_req h1 "$NET_IP" net)" = "ip=$NET_IP router=$NET_GW dns=$NET_GW"
attack NET-3 "DNS on the gateway: answers (the guest's own name)" \
	test "$(guest_req h1 "$NET_IP" "dns netnat $NET_GW")" = "${NET_IP:-no address}"
attack NET-4 "a server beyond the host: reached through the NAT (the network works)" \
	net_all open "$(net_probe "$NET_IP" "$NET_OUTSIDE" "$NET_OUTSIDE_PORT")"
attack NET-5 "the agent's API (0.0.0.0:7441) on the NAT gateway: dropped" \
	net_all timeout "$(net_probe "$NET_IP" "$NET_GW" 7441)"
attack NET-6 "the agent's API on the host's management address: dropped" \
	net_all timeout "$(net_probe "$NET_IP" "$(cat "$(dir_of h1)/mgmt_ip")" 7441 22)"
# A live migration's streams listen on the host's management address while
# it runs (the memory, the disks' NBD export, the link probe's sink): one
# such listener, opened as vdcd would, is out of the guest's reach too.
api h1 POST /api/v1/link/sink "{\"address\":\"$(cat "$(dir_of h1)/mgmt_ip")\"}"
NET_SINK=$(jget "$BODY" '.port // empty')
NET_SINK_R=$(net_probe "$NET_IP" "$(cat "$(dir_of h1)/mgmt_ip")" "${NET_SINK:-1}")
attack NET-16 "a migration listener (the link probe's sink, port ${NET_SINK:-none}) on the host's management address: dropped" \
	bash -c "[ -n '${NET_SINK:-}' ] && [ '$NET_SINK_R' = '${NET_SINK:-} timeout' ]"
attack NET-7 "the host's br0 address (another of its addresses): dropped" \
	net_all timeout "$(net_probe "$NET_IP" 10.213.0.1 7441 5900)"
NET_GW6=$(ip -n "$(ns_of h1)" -6 addr show dev vdcnat0 scope link | sed -n 's/.*inet6 \(fe80[^/]*\).*/\1/p' | head -1)
attack NET-15 "the gateway's IPv6 link-local ($NET_GW6): the agent and VNC ports dropped" \
	net_all timeout "$(net_probe6 "$NET_IP" "$NET_GW6%eth0" 7441 5900)"
attack NET-8 "vdcd ($MGR_IP:7443) through the NAT: dropped" \
	net_all timeout "$(net_probe "$NET_IP" "$MGR_IP" 7443)"
attack NET-9 "VNC consoles 5900-5910 on the gateway and the management address: dropped" \
	net_all timeout "$(net_probe "$NET_IP" "$NET_GW" $(seq 5900 5910))|$(net_probe "$NET_IP" \
		"$(cat "$(dir_of h1)/mgmt_ip")" $(seq 5900 5910))"
# The host's loopback: the guest sends 127.0.0.1 to its gateway, on a host
# that takes loopback addresses from outside (route_localnet=1, as
# kube-proxy sets it); the guard's drop counter must move.
net_localnet() { in_ns h1 sh -c "for c in all vdcnat0; do echo $1 >/proc/sys/net/ipv4/conf/\$c/route_localnet; done"; }
net_localnet 1
NET_BEFORE=$(net_drops)
guest_req h1 "$NET_IP" "route-loopback $NET_GW" >/dev/null
NET_LO=$(net_probe "$NET_IP" 127.0.0.1 7441 5900)
NET_AFTER=$(net_drops)
attack NET-10 "127.0.0.1:7441 and :5900 through the gateway (host with route_localnet): dropped by the guard" \
	bash -c "[ '$NET_LO' = '7441 timeout|5900 timeout' ] && [ ${NET_AFTER:-0} -ge $((${NET_BEFORE:-0} + 2)) ]"
net_localnet 0
attack NET-11 "the guard names vdcd's address (its manager-url) in its forward chain" \
	bash -c "ip netns exec $(ns_of h1) nft list table inet vdc_guard | grep -q 'ip daddr $MGR_IP .*reaching the manager'"

# --- A VM of alice's on a plain bridge (br0; the host is 10.213.0.1 there). ----
as "$T_A" POST /api/v1/networks '{"name":"net-br0","bridge":"br0"}'
mgr_guest_template net-tpl-br "$T_A" '.memory_mib = 192 |
	.cmdline += " vdc.hostname=netbr vdc.ip=10.213.0.60/24 vdc.gw=10.213.0.1"'
as "$T_A" POST /api/v1/vms '{"name":"net-br","template":"net-tpl-br","networks":["net-br0"]}'
task_wait "$(jget "$BODY" .task.id)"
net_guest_ip net-br >/dev/null
attack NET-12 "a bridged guest -> the agent on 10.213.0.1:7441 and VNC 5900-5910: dropped" \
	net_all timeout "$(net_probe 10.213.0.60 10.213.0.1 7441 $(seq 5900 5910))"
attack NET-13 "a bridged guest -> vdcd, routed through its host: dropped" \
	net_all timeout "$(net_probe 10.213.0.60 "$MGR_IP" 7443)"
attack NET-14 "a bridged guest -> beyond the host, routed through it: dropped (bridged means the bridge's own network)" \
	net_all timeout "$(net_probe 10.213.0.60 "$NET_OUTSIDE" "$NET_OUTSIDE_PORT")"

for vm in net-nat net-br; do
	as "$T_A" DELETE "/api/v1/vms/$vm?force=true"
	[ "$STATUS" = 202 ] && task_wait "$(jget "$BODY" .task.id)"
done
as "$T_A" DELETE /api/v1/networks/net-br0
for t in net-tpl net-tpl-br; do as "$T_A" DELETE "/api/v1/templates/$t"; done
