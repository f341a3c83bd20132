# ipmi_lib.sh - a real BMC for a test host: openipmi's ipmi_sim (IPMI 2.0
# over UDP, RMCP+ sessions with real authentication) on a loopback address
# of its own, whose chassis power is the host's: "off" kills every process
# of the host's namespace (its agent and its QEMUs, as a power cut would)
# and "on" starts its agent again, as the test first started it (a joined
# agent comes back from its state directory and heartbeats). ipmi_sim asks
# a chassis control program (its lan.conf's chassis_control) "get power"
# and "set power 0|1"; bmc_up writes that program. Source after lib.sh.
# shellcheck shell=bash

IPMI_SIM=${IPMI_SIM:-ipmi_sim}
# This run's loopback addresses: 127.77.N.x, N from the pid (a BMC's address
# is never another run's).
BMC_NET=127.77.$(($$ % 250))
BMC_INDEX=0
BMCS=()

# free_udp_port FIRST: the first UDP port from FIRST on that nothing is bound to.
free_udp_port() {
	local p=$1
	while ss -Huln "sport = :$p" 2>/dev/null | grep -q .; do p=$((p + 1)); done
	echo "$p"
}

# bmc_up HOST USER PASSWORD: a BMC for HOST, whose agent is running (it is
# started again, with the command line it runs with now, at power on).
# Sets BMC_ADDR and BMC_PORT; the BMC's files are in $(dir_of HOST)/bmc.
bmc_up() {
	local h=$1 user=$2 pw=$3 dir bdir pid i
	dir=$(dir_of "$h")
	bdir=$dir/bmc
	mkdir -p "$bdir/state"
	pid=$(agent_pid "$h")
	# The agent's own argv (NUL-separated), what power on runs again.
	cp "/proc/$pid/cmdline" "$bdir/agent.cmdline" || return 1
	BMC_INDEX=$((BMC_INDEX + 1))
	BMC_ADDR=$BMC_NET.$((10 + BMC_INDEX))
	BMC_PORT=$(free_udp_port $((16230 + ($$ % 500) * 4 + BMC_INDEX)))
	cat >"$bdir/chassis" <<EOF
#!/usr/bin/env bash
# ipmi_sim's chassis control for host $h: "get power", "set power 0|1".
NS=$(ns_of "$h")
DIR=$dir
ROOT=$VDC_ROOT
EOF
	cat >>"$bdir/chassis" <<'EOF'
# The agent runs (a zombie, a child of the test's shell killed, does not).
alive() {
	local p st
	p=$(cat "$DIR/agent.pid" 2>/dev/null) || return 1
	st=$(ps -o stat= -p "$p" 2>/dev/null)
	[ -n "$st" ] && [[ $st != Z* ]]
}
echo "$(date +%T.%N) $*" >>"$DIR/bmc/chassis.log"
case "$1 $2 ${3//\"/}" in
"get power ")
	if alive; then echo power:1; else echo power:0; fi ;;
"set power 0")
	# A power cut: every process of the host, at once.
	for _ in $(seq 1 60); do
		pids=$(ip netns pids "$NS" 2>/dev/null)
		[ -z "$pids" ] && break
		kill -9 $pids 2>/dev/null
		sleep 0.05
	done ;;
"set power 1")
	alive && exit 0
	# None of ipmi_sim's descriptors (its UDP socket) goes to the agent.
	for fd in /proc/$$/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
	done
	mapfile -d '' argv <"$DIR/bmc/agent.cmdline"
	setsid ip netns exec "$NS" "$ROOT/scripts/in-host.sh" "${argv[@]}" </dev/null >>"$DIR/agent.log" 2>&1 &
	echo $! >"$DIR/agent.pid" ;;
esac
exit 0
EOF
	chmod 755 "$bdir/chassis"
	cat >"$bdir/lan.conf" <<EOF
name "vdct$$$h"
set_working_mc 0x20
  startlan 1
    addr $BMC_ADDR $BMC_PORT
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789ab$(printf '%04x' "$BMC_INDEX")
  endlan
  user 2 true "$user" "$pw" admin 10 md5
  chassis_control "$bdir/chassis"
EOF
	cat >"$bdir/sim.emu" <<'EOF'
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
EOF
	chmod 600 "$bdir/lan.conf"
	"$IPMI_SIM" -n -c "$bdir/lan.conf" -f "$bdir/sim.emu" -s "$bdir/state" >"$bdir/sim.log" 2>&1 &
	echo $! >"$bdir/pid"
	BMCS+=("$h")
	for i in $(seq 1 50); do
		ss -Huln "sport = :$BMC_PORT" 2>/dev/null | grep -qF "$BMC_ADDR:" && return 0
		kill -0 "$(cat "$bdir/pid")" 2>/dev/null || break
		sleep 0.1
	done
	diag "ipmi_sim for $h did not listen on $BMC_ADDR:$BMC_PORT:"
	sed 's/^/# /' "$bdir/sim.log"
	return 1
}

# bmc_down: stops every BMC this test started (the test's own cleanup
# calls it).
bmc_down() {
	local h p
	for h in "${BMCS[@]}"; do
		p=$(cat "$(dir_of "$h")/bmc/pid" 2>/dev/null) || continue
		kill "$p" 2>/dev/null
		{ wait "$p"; } 2>/dev/null
	done
	BMCS=()
}

# agent_alive HOST: the host's agent runs (a zombie does not).
agent_alive() {
	local st
	st=$(ps -o stat= -p "$(agent_pid "$1")" 2>/dev/null)
	[ -n "$st" ] && [[ $st != Z* ]]
}
