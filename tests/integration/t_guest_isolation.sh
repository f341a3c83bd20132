#!/usr/bin/env bash
# t_guest_isolation.sh - a guest reaches nothing of its host but what its
# network provides (issue 9). Played from inside real guests, through the
# test guest's `connect` request (or vdc.probe on its console): a guest on
# the host's NAT network, one on a plain bridge and one in user mode try the
# host's addresses and ports. A dropped connection answers "timeout"; a
# reachable port answers "open" (something listens) or "refused" (nothing
# does), so every check below fails if the guard lets the packet through.
# Also: DHCP and DNS on the NAT gateway work, a server outside the host is
# reached through the NAT, the guard is one copy after an agent restart, and
# with the guard gone the same probe does get through (the test is live).
source "$(dirname "$0")/lib.sh"

GW=192.168.123.1
mapfile -t VNC_PORTS < <(seq 5900 5910)
OUTSIDE_PORT=8099

# decoy NS ADDR PORT...: something listening on each port (accepts and
# closes), so "open" is what a guest without a guard would see. ADDR "::"
# listens on IPv6 and IPv4 both.
decoy() {
	local ns=$1 addr=$2
	shift 2
	ip netns exec "$ns" python3 -c '
import selectors, socket, sys
sel = selectors.DefaultSelector()
v6 = ":" in sys.argv[1]
for p in sys.argv[2:]:
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((sys.argv[1], int(p))); s.listen(64); sel.register(s, selectors.EVENT_READ)
while True:
    for k, _ in sel.select():
        c, _ = k.fileobj.accept(); c.close()
' "$addr" "$@" >/dev/null 2>&1 &
	disown
}

# probe HOST GUEST_IP TARGET PORT...: the guest's verdict per port, "|"-joined.
probe() { guest_req "$1" "$2" "connect $3 ${*:4}"; }
# probe6: as probe, for an IPv6 source the guest may not hold yet: its
# link-local address is tentative until duplicate address detection ends
# (about a second after the link comes up), and a connect from it then
# fails with "Cannot assign requested address" without sending anything.
probe6() {
	local res i
	for i in $(seq 1 20); do
		res=$(probe "$@")
		[[ $res == *"Cannot assign requested address"* ]] || break
		sleep 0.5
	done
	echo "$res"
}

# all_are VERDICT RESULT: every port of a probe result got VERDICT.
all_are() {
	local v=$1 res=$2 line n=0
	IFS='|' read -ra lines <<<"$res"
	for line in "${lines[@]}"; do
		[ "${line#* }" = "$v" ] || { diag "got: $res"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { diag "no answer from the guest"; return 1; }
}

# guest_ip HOST VM: the address of the guest's readiness line.
guest_ip() {
	api "$1" GET "/api/v1/vms/$2/console?bytes=65536"
	grep -o 'VDC-GUEST-READY .*' <<<"$BODY" | tail -1 | sed -n 's/.* ip=\([^ ]*\).*/\1/p'
}

fabric_up
# A server outside the host: another address on the fabric, not the host's.
OUTSIDE=$FABRIC_NET.250
ip addr add "$OUTSIDE/24" dev "$FABRIC_BR"
# (in the root namespace, which has no name for `ip netns exec`)
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
' "$OUTSIDE" "$OUTSIDE_PORT" >/dev/null 2>&1 &
OUTSIDE_PID=$!
trap 'kill $OUTSIDE_PID 2>/dev/null; cleanup' EXIT

host_up h1 || { not_ok "agent starts"; finish; exit 1; }
NS=$(ns_of h1)
MGMT_IP=$(cat "$(dir_of h1)/mgmt_ip")
# The host's services a guest must not reach: consoles (VNC ports) and a
# service on every address; the agent itself listens on 127.0.0.1:7441.
decoy "$NS" :: "${VNC_PORTS[@]}" 7442
decoys_up() {
	for _ in $(seq 1 50); do
		in_ns h1 timeout 2 bash -c "exec 3<>/dev/tcp/$MGMT_IP/5910" 2>/dev/null &&
			timeout 2 bash -c "exec 3<>/dev/tcp/$OUTSIDE/$OUTSIDE_PORT" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
check "decoys listen on the host and outside (seen from the host itself)" decoys_up

# --- The ruleset. -------------------------------------------------------------
rules=$(in_ns h1 nft list ruleset)
check "the guard's tables are there" grep -q 'table inet vdc_guard' <<<"$rules"
check "the NAT bridge has the gateway address" \
	bash -c "ip -n $NS -4 addr show vdcnat0 | grep -q 'inet $GW/24'"
check "dnsmasq runs in the host for the NAT network" \
	bash -c "ip netns pids $NS | xargs -r ps -o args= -p | grep -q '^dnsmasq --conf-file=$(dir_of h1)/run/nat/dnsmasq.conf'"

# --- A guest on the NAT network. --------------------------------------------
spec=$(guest_spec nat1 | jq -c '.nics=[{mode:"nat"}]')
api h1 POST /api/v1/vms "$spec"
check "a VM with a NAT NIC is defined (201)" test "$STATUS" = 201
check "its spec says mode nat" test "$(jget "$BODY" '.spec.nics[0].mode')" = nat
api h1 POST /api/v1/vms/nat1/start
wait_console h1 nat1 'VDC-GUEST-READY' 60
NAT_IP=$(guest_ip h1 nat1)
check "DHCP on the NAT network gave the guest an address ($NAT_IP)" \
	bash -c "[[ '$NAT_IP' == 192.168.123.* ]]"
check "the guest's router and DNS server are the gateway" \
	test "$(guest_req h1 "$NAT_IP" net)" = "ip=$NAT_IP router=$GW dns=$GW"
check "DNS answers on the gateway (the guest's own name)" \
	test "$(guest_req h1 "$NAT_IP" "dns nat1 $GW")" = "$NAT_IP"
check "a server outside the host is reached through the NAT (open)" \
	all_are open "$(probe h1 "$NAT_IP" "$OUTSIDE" "$OUTSIDE_PORT")"
check "NAT guest -> the agent's port on the gateway: dropped" \
	all_are timeout "$(probe h1 "$NAT_IP" "$GW" 7441 7442 22)"
check "NAT guest -> VNC ports 5900-5910 on the gateway: dropped" \
	all_are timeout "$(probe h1 "$NAT_IP" "$GW" "${VNC_PORTS[@]}")"
check "NAT guest -> the host's management address, any port: dropped" \
	all_are timeout "$(probe h1 "$NAT_IP" "$MGMT_IP" 7441 7442 5900 22)"
check "NAT guest -> the host's br0 address: dropped" \
	all_are timeout "$(probe h1 "$NAT_IP" 10.213.0.1 7441 5900)"
# IPv6: the host's link-local addresses on the NAT bridge and on br0.
GW6=$(ip -n "$NS" -6 addr show dev vdcnat0 scope link | sed -n 's/.*inet6 \(fe80[^/]*\).*/\1/p' | head -1)
check "NAT guest -> the gateway's IPv6 link-local ($GW6), any port: dropped" \
	all_are timeout "$(probe6 h1 "$NAT_IP" "$GW6%eth0" 7441 7442 5900 53)"
check "NAT guest -> the gateway's DNS over TCP is allowed (open)" \
	all_are open "$(probe h1 "$NAT_IP" "$GW" 53)"

# The host's loopback: the guest routes 127.0.0.1 to its gateway, on a host
# that accepts loopback addresses from outside (route_localnet=1, as
# kube-proxy sets it). The guard must drop the packets (its counter moves);
# without it they reach the host's listeners.
drops() { in_ns h1 nft list chain inet vdc_guard input | sed -n 's/.*counter packets \([0-9]*\).*reaching its host.*/\1/p'; }
in_ns h1 sh -c 'echo 1 >/proc/sys/net/ipv4/conf/all/route_localnet; echo 1 >/proc/sys/net/ipv4/conf/vdcnat0/route_localnet'
before=$(drops)
check "NAT guest routes 127.0.0.1 to its gateway" test "$(guest_req h1 "$NAT_IP" "route-loopback $GW")" = ok
LO=$(probe h1 "$NAT_IP" 127.0.0.1 7441 5900)
after=$(drops)
check "NAT guest -> 127.0.0.1:7441 and :5900 through the gateway: dropped by the guard ($before -> $after)" \
	bash -c "[ '${LO//\'/}' = '7441 timeout|5900 timeout' ] && [ ${after:-0} -ge $((${before:-0} + 2)) ]"
in_ns h1 sh -c 'echo 0 >/proc/sys/net/ipv4/conf/all/route_localnet; echo 0 >/proc/sys/net/ipv4/conf/vdcnat0/route_localnet'

# --- A guest on a plain bridge (br0, 10.213.0.1 is the host). ----------------
api h1 POST /api/v1/vms "$(guest_spec br1 10.213.0.51 | jq -c '.boot.cmdline += " vdc.gw=10.213.0.1"')"
api h1 POST /api/v1/vms/br1/start
wait_console h1 br1 'VDC-GUEST-READY' 60
check "bridged guest -> the host's br0 address 10.213.0.1:7441 and 5900-5910: dropped" \
	all_are timeout "$(probe h1 10.213.0.51 10.213.0.1 7441 7442 "${VNC_PORTS[@]}")"
BR6=$(ip -n "$NS" -6 addr show dev br0 scope link | sed -n 's/.*inet6 \(fe80[^/]*\).*/\1/p' | head -1)
check "bridged guest -> the host's IPv6 link-local on br0 ($BR6): dropped" \
	all_are timeout "$(probe6 h1 10.213.0.51 "$BR6%eth0" 7441 7442 5900)"
check "bridged guest -> the host's management address: dropped" \
	all_are timeout "$(probe h1 10.213.0.51 "$MGMT_IP" 7441 7442 5900)"
check "bridged guest -> the NAT gateway: dropped" \
	all_are timeout "$(probe h1 10.213.0.51 "$GW" 53 7441 5900)"
check "bridged guest -> routing through its host to the outside: dropped" \
	all_are timeout "$(probe h1 10.213.0.51 "$OUTSIDE" "$OUTSIDE_PORT")"
check "bridged guest -> its NAT neighbour through the host: dropped" \
	all_are timeout "$(probe h1 10.213.0.51 "$NAT_IP" 7777)"
check "the host still reaches its guests (bridged guest answers)" \
	test "$(guest_req h1 10.213.0.51 ping)" = pong

# --- A guest in user mode: restrict=on, 10.0.2.2 is the host's loopback. -------
probes="10.0.2.2:7441:7442:5900:5905,10.0.2.3:53,$OUTSIDE:$OUTSIDE_PORT"
api h1 POST /api/v1/vms "$(guest_spec usr1 | jq -c --arg p "$probes" \
	'.nics=[{mode:"user"}] | .boot.cmdline += " vdc.probe=" + $p')"
api h1 POST /api/v1/vms/usr1/start
wait_console h1 usr1 'VDC-PROBE-DONE' 90
api h1 GET "/api/v1/vms/usr1/console?bytes=65536"
USR=$BODY
check "user-mode guest got its DHCP address" grep -q 'VDC-GUEST-READY .* ip=10.0.2.15 ' <<<"$USR"
# slirp with restrict=on answers every connection to the host with a reset,
# so "refused" on a port that listens (the agent's 7441, the decoys) is the
# proof: without restrict=on the same probe says "open".
not_open() { # CONSOLE ADDR PORT
	grep -qE "VDC-PROBE $2 $3 (refused|timeout|unreachable)" <<<"$1" ||
		{ diag "got: $(grep "VDC-PROBE $2 $3 " <<<"$1")"; return 1; }
}
for p in 7441 7442 5900 5905; do
	check "user-mode guest -> 10.0.2.2:$p (the host's loopback, listening): not reached" \
		not_open "$USR" 10.0.2.2 "$p"
done
check "user-mode guest -> the outside: not reached (restrict=on)" \
	not_open "$USR" "$OUTSIDE" "$OUTSIDE_PORT"

# --- Restart: one copy of the rules, VMs and dnsmasq keep running. ----------
QPID=$(qemu_pid_of h1 nat1)
DNSMASQ_PID=$(cat "$(dir_of h1)/run/nat/dnsmasq.pid")
check "agent stops cleanly" agent_stop h1
check "while the agent is away the guard stays" in_ns h1 nft list table inet vdc_guard >/dev/null
agent_start h1 || not_ok "agent restarts"
check "after a restart each table is there once" \
	test "$(in_ns h1 nft list tables | sort | uniq -c | awk '$1 != 1' | wc -l)" = 0
check "after a restart the input guard is one chain with one drop" \
	test "$(in_ns h1 nft list table inet vdc_guard | grep -c 'a guest reaching its host')" = 1
check "the VM kept running across the restart" test "$(qemu_pid_of h1 nat1)" = "$QPID"
check "dnsmasq kept running across the restart" \
	test "$(cat "$(dir_of h1)/run/nat/dnsmasq.pid")" = "$DNSMASQ_PID"

# --- The test is live: without the guard the same probe gets through. -----
in_ns h1 nft delete table inet vdc_guard
check "without the guard the NAT guest reaches the gateway's decoy (open)" \
	all_are open "$(probe h1 "$NAT_IP" "$GW" 5900 7442)"
check "without the guard the NAT guest reaches it over IPv6 too (open)" \
	all_are open "$(probe6 h1 "$NAT_IP" "$GW6%eth0" 5900 7442)"
check "agent stops cleanly (guard removed by hand)" agent_stop h1
agent_start h1 || not_ok "agent restarts"
check "the restarted agent puts the guard back: dropped again" \
	all_are timeout "$(probe h1 "$NAT_IP" "$GW" 5900 7442)|$(probe6 h1 "$NAT_IP" "$GW6%eth0" 5900 7442)"

# --- dnsmasq dies: the agent starts it again. ------------------------------
kill "$(cat "$(dir_of h1)/run/nat/dnsmasq.pid")"
for _ in $(seq 1 100); do
	p=$(cat "$(dir_of h1)/run/nat/dnsmasq.pid" 2>/dev/null)
	[ -n "$p" ] && [ "$p" != "$DNSMASQ_PID" ] && kill -0 "$p" 2>/dev/null && break
	sleep 0.1
done
check "a dead dnsmasq is started again by the agent" \
	bash -c "grep -q 'event=dnsmasq_gone' '$(dir_of h1)/agent.log' && kill -0 \$(cat '$(dir_of h1)/run/nat/dnsmasq.pid')"
check "DNS answers again on the gateway" \
	test "$(guest_req h1 "$NAT_IP" "dns nat1 $GW")" = "$NAT_IP"

# --- A subnet the host routes already is refused at start. ----------------
host_ns h2
ip -n "$(ns_of h2)" link add lan0 type bridge
ip -n "$(ns_of h2)" addr add 192.168.123.7/24 dev lan0
ip -n "$(ns_of h2)" link set lan0 up
agent_launch h2
for _ in $(seq 1 100); do kill -0 "$(agent_pid h2)" 2>/dev/null || break; sleep 0.1; done
check "an agent whose NAT subnet is routed already refuses to start" \
	bash -c "! kill -0 $(agent_pid h2) 2>/dev/null && grep -q 'event=nat_subnet_routed .*via=lan0' '$(dir_of h2)/agent.log'"
check "with another --nat-network it starts" agent_start h2 --nat-network 192.168.124.1/24
check "its dnsmasq serves the other subnet" \
	grep -q '^dhcp-range=192.168.124.2,192.168.124.254,' "$(dir_of h2)/run/nat/dnsmasq.conf"
check "agent on h2 stops cleanly" agent_stop h2
check "with --nat-network off it starts" agent_start h2 --nat-network off
check "with NAT off: the guard stays, the NAT table and dnsmasq go" \
	bash -c "ip netns exec $(ns_of h2) nft list table inet vdc_guard >/dev/null &&
		! ip netns exec $(ns_of h2) nft list table ip vdc_nat >/dev/null 2>&1 &&
		! ip netns pids $(ns_of h2) | xargs -r ps -o args= -p | grep -q '^dnsmasq'"
api h2 POST /api/v1/vms "$(guest_spec natoff | jq -c '.nics=[{mode:"nat"}]')"
check "with NAT off a NAT NIC is refused (400, nics[0].mode)" \
	test "$STATUS:$(jget "$BODY" .error.field)" = "400:nics[0].mode"

for vm in nat1 br1 usr1; do api h1 POST "/api/v1/vms/$vm/destroy" >/dev/null; done
finish
