#!/usr/bin/env bash
# pool.sh - a cluster on one machine: N hosts, each a network namespace with
# its own vdc-agent, joined by veth pairs to a bridge in the root namespace
# on which vdcd listens for agents, and a datastore directory every host
# sees (it stands for NFS). `make run` keeps its pool here; a bench or a
# test can source it for its functions.
#
#   scripts/pool.sh down     stops the pool's agents and every process of
#                            its hosts, removes its namespaces, links and
#                            cgroups (only what pool_ functions made: each
#                            is recorded in $POOL_DIR/made when made)
#   scripts/pool.sh status   the hosts, their agents and addresses
#
# Sourced: pool_fabric_up, pool_host_up NAME, pool_agent_start NAME
# [flags...], pool_agent_stop NAME, pool_ns NAME, pool_ip NAME, pool_down.
# Names and places (each movable by an environment variable, so that a test
# runs its own pool beside a user's): VDC_POOL_NAME (prefix of namespaces,
# links and cgroups, at most 8 characters), VDC_POOL_DIR, VDC_POOL_NET (the
# first three numbers of the bridge's /24), VDC_POOL_AGENT (the agent
# binary).
POOL_NAME=${VDC_POOL_NAME:-vdcpool}
POOL_DIR=${VDC_POOL_DIR:-/var/lib/vdc-pool}
POOL_NET=${VDC_POOL_NET:-10.217.0}
POOL_BR=${POOL_NAME}0
POOL_MGR_IP=$POOL_NET.1
POOL_SHARED=$POOL_DIR/shared
POOL_AGENT=${VDC_POOL_AGENT:-vdc-agent}
POOL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

pool_ns() { echo "$POOL_NAME-$1"; }
pool_dir() { echo "$POOL_DIR/$1"; }
# The host's address on the bridge: .11 for the first host made, .12 ...
pool_ip() { cat "$(pool_dir "$1")/mgmt_ip"; }
pool_hosts() { [ -f "$POOL_DIR/hosts" ] && cat "$POOL_DIR/hosts"; }

# Records what was made (KIND NAME), for pool_down to remove that only.
pool_made() { mkdir -p "$POOL_DIR" && echo "$1 $2" >>"$POOL_DIR/made"; }

# The bridge ($POOL_MGR_IP/24, no uplink: traffic stays on this machine).
pool_fabric_up() {
	mkdir -p "$POOL_SHARED"
	chmod 755 "$POOL_DIR" "$POOL_SHARED"
	ip link show "$POOL_BR" >/dev/null 2>&1 && return 0
	if ip -br addr | grep -q " $POOL_NET\.[0-9]*/"; then
		echo "pool: $POOL_NET.0/24 is in use by another interface; set VDC_POOL_NET" >&2
		return 1
	fi
	# A fixed MAC: else the bridge takes its lowest port's, changing as
	# hosts join, and hosts that learnt the old one lose frames for seconds.
	ip link add "$POOL_BR" address "$(echo -n "$POOL_BR" | md5sum | sed 's/^\(..\)\(..\)\(..\)\(..\)\(..\).*/02:\1:\2:\3:\4:\5/')" type bridge || return 1
	pool_made link "$POOL_BR"
	ip addr add "$POOL_MGR_IP/24" dev "$POOL_BR"
	ip link set "$POOL_BR" up
}

# pool_host_up NAME: its namespace, with loopback, a bridge br0 for its
# VMs' own networks and a management veth into the pool's bridge; its
# directories. Nothing when it exists.
pool_host_up() {
	local h=$1 ns dir n
	ns=$(pool_ns "$h")
	dir=$(pool_dir "$h")
	mkdir -p "$dir/state" "$dir/run"
	[ -f "$dir/agent.token" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/agent.token")
	grep -qx "$h" "$POOL_DIR/hosts" 2>/dev/null || echo "$h" >>"$POOL_DIR/hosts"
	ip netns list | grep -qw "$ns" && return 0
	n=$(grep -nx "$h" "$POOL_DIR/hosts" | cut -d: -f1)
	ip netns add "$ns" || return 1
	pool_made netns "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add br0 type bridge
	ip -n "$ns" link set br0 up
	ip link add "$ns" type veth peer name mgmt0 netns "$ns" || return 1
	pool_made link "$ns"
	ip link set "$ns" master "$POOL_BR" up
	ip -n "$ns" addr add "$POOL_NET.$((10 + n))/24" dev mgmt0
	ip -n "$ns" link set mgmt0 up
	echo "$POOL_NET.$((10 + n))" >"$dir/mgmt_ip"
}

pool_agent_alive() { local p; p=$(cat "$(pool_dir "$1")/agent.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }

# pool_agent_start NAME [flags...]: the host's agent in its namespace (its
# cgroups mounted there: scripts/in-host.sh), listening on its address,
# seeing the shared datastore as "shared"; waits until it answers.
pool_agent_start() {
	local h=$1 dir ns
	shift
	dir=$(pool_dir "$h")
	ns=$(pool_ns "$h")
	pool_made cgroup "$ns"
	setsid ip netns exec "$ns" "$POOL_ROOT/scripts/in-host.sh" "$POOL_AGENT" --listen 0.0.0.0:7441 \
		--host-name "$h" --state-dir "$dir/state" --run-dir "$dir/run" --token-file "$dir/agent.token" \
		--datastore "shared=$POOL_SHARED" --cgroup-base "$ns" --advertise-url "https://$(pool_ip "$h"):7441" \
		"$@" </dev/null >>"$dir/agent.log" 2>&1 &
	echo $! >"$dir/agent.pid"
	for _ in $(seq 1 200); do
		ip netns exec "$ns" curl -sk -o /dev/null --max-time 1 https://127.0.0.1:7441/healthz && return 0
		ip netns exec "$ns" curl -s -o /dev/null --max-time 1 http://127.0.0.1:7441/healthz && return 0
		pool_agent_alive "$h" || { tail -5 "$dir/agent.log" >&2; return 1; }
		sleep 0.05
	done
	echo "pool: the agent of $h does not answer (log: $dir/agent.log)" >&2
	return 1
}

# pool_agent_stop NAME: SIGTERM, then SIGKILL after 5 s.
pool_agent_stop() {
	local p
	p=$(cat "$(pool_dir "$1")/agent.pid" 2>/dev/null) || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
}

# pool_down: the agents, then every process left in a host's namespace
# (QEMUs, dnsmasq), its cgroups, namespaces and links, as recorded.
pool_down() {
	local h kind name d
	for h in $(pool_hosts); do
		pool_agent_stop "$h"
		ip netns pids "$(pool_ns "$h")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	done
	[ -f "$POOL_DIR/made" ] || return 0
	sleep 0.2
	while read -r kind name; do
		case $kind in
		cgroup)
			for d in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
				[ -d "$d" ] || continue
				find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
				rmdir "$d" 2>/dev/null
			done
			;;
		netns) ip netns del "$name" 2>/dev/null ;;
		link) ip link del "$name" 2>/dev/null ;;
		esac
	done < <(tac "$POOL_DIR/made")
	rm -f "$POOL_DIR/made"
}

pool_status() {
	local h
	for h in $(pool_hosts); do
		printf '%-6s %-16s %-14s agent %s\n' "$h" "$(pool_ns "$h")" "$(pool_ip "$h" 2>/dev/null)" \
			"$(pool_agent_alive "$h" && echo "running (pid $(cat "$(pool_dir "$h")/agent.pid"))" || echo stopped)"
	done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case ${1:-} in
	down) pool_down ;;
	status) pool_status ;;
	*)
		echo "usage: $0 down|status (make run builds the pool; source this file for its functions)" >&2
		exit 2
		;;
	esac
fi
