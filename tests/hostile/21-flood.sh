# 21-flood.sh - knocking vdcd offline without signing in: 2,000 idle TCP
# connections from one address, held ~24 s, while another client's GETs
# must stay quick and host h1's heartbeats must keep arriving (they go to
# vdcd's agents' listener, --agent-listen, which t_hostile.sh turns on).
# Sourced by t_hostile.sh.
# shellcheck shell=bash

H21_HOLD=24
H21_PY=$TMP/h21-flood.py
cat >"$H21_PY" <<'EOF'
# Opens N TCP connections to HOST:PORT, sends nothing, holds them HOLD
# seconds, closes them and exits. Prints how many connects were started.
import resource, socket, sys, time
host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    if s.connect_ex((host, port)) not in (0, 115):  # 115: EINPROGRESS
        s.close()
        continue
    socks.append(s)
print(len(socks), flush=True)
time.sleep(hold)
for s in socks:
    s.close()
EOF

# The host's last heartbeat (epoch seconds) and state, asked from h1's
# namespace: the root namespace is the flooding address.
h21_host() {
	in_ns h1 curl -s --max-time 5 --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN" \
		"$MGR_URL/api/v1/hosts" | jq -r '.items[] | select(.name == "h1") | "\(.last_heartbeat_epoch) \(.state)"'
}

# Connections vdcd holds on its API port from the flooding address.
h21_held() {
	ss -Htn state established "( sport = :7443 )" | awk -v ip="$MGR_IP" '$4 ~ "^"ip":" { n++ } END { print n + 0 }'
}

timeout $((H21_HOLD + 40)) python3 "$H21_PY" "$MGR_IP" 7443 2000 "$H21_HOLD" >"$TMP/h21-flood.out" 2>&1 &
H21_PID=$!
for _ in $(seq 1 100); do
	[ -s "$TMP/h21-flood.out" ] && break
	sleep 0.1
done
sleep 2 # the connects complete; vdcd accepts what it will
H21_STARTED=$(head -1 "$TMP/h21-flood.out")
H21_HELD=$(h21_held)
read -r H21_HB0 H21_STATE0 <<<"$(h21_host)"
diag "flood: $H21_STARTED connections started, vdcd holds $H21_HELD from $MGR_IP; h1 last beat $H21_HB0 ($H21_STATE0)"

# GETs from h1's address, one every ~2 s while the flood lasts.
H21_SLOW=0
H21_N=0
H21_END=$((SECONDS + H21_HOLD - 6))
while [ $SECONDS -lt $H21_END ]; do
	r=$(in_ns h1 curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 --cacert "$MGR_CACERT" \
		-H "Authorization: Bearer $T_A" "$MGR_URL/api/v1/vms")
	H21_N=$((H21_N + 1))
	if [ "${r%% *}" != 200 ] || ! awk -v t="${r#* }" 'BEGIN { exit !(t < 2.0) }'; then
		H21_SLOW=$((H21_SLOW + 1))
		diag "GET /api/v1/vms during the flood: $r"
	fi
	sleep 2
done
read -r H21_HB1 H21_STATE1 <<<"$(h21_host)"
H21_HELD_LATE=$(h21_held)

h21_flood_real() {
	if [ "${H21_STARTED:-0}" -lt 1900 ] || [ "${H21_HELD:-0}" -lt 32 ]; then
		diag "the flood did not take: started $H21_STARTED, held $H21_HELD"
		return 1
	fi
}
attack H21.0 "the flood is real: 2,000 connects from one address, vdcd holding dozens of them idle" h21_flood_real
h21_capped() {
	if [ "${H21_HELD:-0}" -gt 64 ] || [ "${H21_HELD_LATE:-0}" -gt 64 ]; then
		diag "vdcd held $H21_HELD, later $H21_HELD_LATE connections from one address (limit 64)"
		return 1
	fi
}
attack H21.1 "one address holds at most --max-connections-per-address (64) of vdcd's connections" h21_capped
h21_gets_quick() { [ "$H21_N" -ge 4 ] && [ "$H21_SLOW" = 0 ]; }
attack H21.2 "another client's GET /api/v1/vms during the flood: every one 200 in under 2 s ($H21_N tried)" h21_gets_quick
h21_beats() {
	if [ "$H21_STATE1" != connected ] || [ "${H21_HB1:-0}" -le "${H21_HB0:-0}" ]; then
		diag "h1: last beat $H21_HB0 -> $H21_HB1, state $H21_STATE1"
		return 1
	fi
}
attack H21.3 "h1 stays connected and its heartbeats keep arriving during the flood" h21_beats
h21_agent_listener() {
	grep -q "event=heartbeat_url url=https://$MGR_IP:7444" "$(dir_of h1)/agent.log" ||
		{ diag "h1's agent was not told the agents' listener"; return 1; }
}
attack H21.4 "h1 beats at vdcd's agents' listener (--agent-listen), apart from the flooded API port" h21_agent_listener
h21_ends() {
	for _ in $(seq 1 300); do
		kill -0 "$H21_PID" 2>/dev/null || { wait "$H21_PID"; return $?; }
		sleep 0.1
	done
	kill "$H21_PID" 2>/dev/null
	diag "the flood did not end by itself"
	return 1
}
attack H21.5 "the flood ends by itself" h21_ends
h21_after() {
	for _ in $(seq 1 50); do
		mapi GET /api/v1/vms
		[ "$STATUS" = 200 ] && return 0
		sleep 0.2
	done
	diag "GET from the flooding address after the flood: $STATUS"
	return 1
}
attack H21.6 "after the flood, the flooding address is served again" h21_after

# The agents' listener out of reach (nftables in h1's namespace rejects the
# port): h1 falls back to the manager URL, still accepted, and stays
# connected; then it goes back.
h21_fallback() {
	local log n0 hbf hb st1
	log=$(dir_of h1)/agent.log
	n0=$(grep -c "event=heartbeat_failed manager=https://$MGR_IP:7444" "$log")
	in_ns h1 nft -f - <<NFT || { diag "nft failed"; return 1; }
table inet h21 {
	chain out {
		type filter hook output priority 0;
		ip daddr $MGR_IP tcp dport 7444 reject with tcp reset
	}
}
NFT
	for _ in $(seq 1 30); do
		[ "$(grep -c "event=heartbeat_failed manager=https://$MGR_IP:7444" "$log")" -gt "$n0" ] && break
		sleep 1
	done
	read -r hbf _ <<<"$(h21_host)" # one beat at a time: any later one went elsewhere
	for _ in $(seq 1 30); do
		read -r hb st1 <<<"$(h21_host)"
		[ "${hb:-0}" -gt "${hbf:-0}" ] && break
		sleep 1
	done
	in_ns h1 nft delete table inet h21
	[ "$(grep -c "event=heartbeat_failed manager=https://$MGR_IP:7444" "$log")" -gt "$n0" ] ||
		{ diag "no heartbeat failed at the agents' listener: the block did not bite"; return 1; }
	if [ "${hb:-0}" -le "${hbf:-0}" ] || [ "$st1" != connected ]; then
		diag "h1 with its agents' listener blocked: last beat $hbf -> $hb, state $st1"
		return 1
	fi
}
attack H21.7 "the agents' listener unreachable: h1 beats at the manager URL instead and stays connected" h21_fallback
