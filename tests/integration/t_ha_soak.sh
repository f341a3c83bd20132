#!/usr/bin/env bash
# t_ha_soak.sh - a bounded soak of HA (issue 14): random faults, one after
# the other, on three namespace hosts sharing a datastore with three
# protected VMs: a host crashed (every process killed), a host isolated
# (its network cut), a host cut from both (network, and its lease file made
# immutable), vdcd killed -9, a VM's QEMU killed, a host's agent alone
# killed -9 for longer than the lease (its lease keeper keeps the lease,
# so its VMs stay where they run). After each, the fault is
# healed and every VM must run again, each on exactly one host, the one the
# inventory names; a monitor scans the VMs' QEMUs every 100 ms throughout
# and must never see two copies of one run its guest. HA_SOAK_FAULTS faults
# (10 in the suite, to keep it short; the issue's 50 with HA_SOAK_FAULTS=50),
# from a seed printed first (HA_SOAK_SEED repeats a run).
source "$(dirname "$0")/lib.sh"

FAULTS=${HA_SOAK_FAULTS:-10}
SEED=${HA_SOAK_SEED:-$$}
RANDOM=$SEED
diag "seed $SEED, $FAULTS faults"
shared_up
VDCD_FLAGS=(--heartbeat-timeout-s 30)
vdcd_start "${VDCD_FLAGS[@]}" || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1","ha":{"enabled":true,"default_priority":"high","net_timeout_ms":2000,"lease_ms":4000,"margin_ms":500,"max_restarts":100,"admission":{"policy":"none"}}}'
check "a cluster with HA on" test "$STATUS" = 201
HOSTS_UP=(h1 h2 h3)
join() {
	agent_start "$1" --datastore "shared=$SHARED" --listen 0.0.0.0:7441 --manager-url "$MGR_URL" \
		--manager-ca-fingerprint "$CA_FP" --host-name "$1" \
		--advertise-url "https://$(cat "$(dir_of "$1")/mgmt_ip"):7441"
}
for h in "${HOSTS_UP[@]}"; do
	host_join "$h" c1 --datastore "shared=$SHARED" || not_ok "$h joins"
done
hosts_connected 3 || not_ok "three hosts connect"
declare -A HNAME
for h in h1 h2 h3; do
	mapi GET "/api/v1/hosts/$h"
	HNAME[$(jget "$BODY" .id)]=$h
done
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'
VMS=()
for v in s1 s2 s3; do
	mapi POST /api/v1/vms "{\"name\":\"$v\",\"template\":\"tiny\",\"datastore\":\"shared\",\"start\":true}"
	task_wait "$(jget "$BODY" .task.id)"
	[ "$TASK_STATE" = succeeded ] || not_ok "$v starts"
	mapi GET "/api/v1/vms/$v"
	VMS+=("$(jget "$BODY" .id)")
done
MONS=()
for id in "${VMS[@]}"; do
	python3 "$VDC_ROOT/tests/integration/copies_monitor.py" "$id" "$TMP/monitor-$id.log" &
	MONS+=($!)
done
test_cleanup() { for m in "${MONS[@]}"; do kill "$m" 2>/dev/null; done; chattr -i "$SHARED"/.vdc-ha/*.lease 2>/dev/null; }

copies() { pgrep -cf "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $1( |\$)" || true; }
host_of() { mapi GET "/api/v1/vms/$1" && echo "${HNAME[$(jget "$BODY" .host_id)]}"; }
# settled: every VM runs, once, where the inventory says, and the host
# confirmed it fences it (the next fault may hit it); up to 60 s.
settled() {
	local i id h ok
	for i in $(seq 1 300); do
		ok=1
		for id in "${VMS[@]}"; do
			mapi GET "/api/v1/vms/$id"
			h=${HNAME[$(jget "$BODY" .host_id)]:-}
			if [ -z "$h" ] || [ "$(jget "$BODY" .power_state)" != running ] || [ "$(copies "$id")" != 1 ]; then
				ok=0
				break
			fi
			api "$h" GET "/api/v1/vms/$id"
			[ "$(jget "$BODY" .state)" = running ] || { ok=0; break; }
			mapi GET "/api/v1/hosts/$h"
			[ "$(jget "$BODY" "(.ha_protected // []) | index(\"$id\") != null")" = true ] || { ok=0; break; }
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.2
	done
	return 1
}
# every_host_back: each host's agent runs and vdcd has it connected.
every_host_back() {
	local h
	for h in h1 h2 h3; do
		ip -n "$(ns_of "$h")" link set mgmt0 up 2>/dev/null
		chattr -i "$SHARED"/.vdc-ha/*.lease 2>/dev/null
		proc_dead "$(agent_pid "$h")" && join "$h" >/dev/null 2>&1
	done
	hosts_connected 3
}

check "the three VMs run, each once" settled
kinds=(crash isolate both vdcd qemu agent)
declare -A seen
for n in $(seq 1 "$FAULTS"); do
	kind=${kinds[$((RANDOM % ${#kinds[@]}))]}
	id=${VMS[$((RANDOM % ${#VMS[@]}))]}
	h=$(host_of "$id")
	seen[$kind]=$((${seen[$kind]:-0} + 1))
	t0=$SECONDS
	case $kind in
	crash) ip netns pids "$(ns_of "$h")" | xargs -r kill -9 ;;
	isolate) ip -n "$(ns_of "$h")" link set mgmt0 down; sleep 6 ;;
	both)
		mapi GET "/api/v1/hosts/$h"
		chattr +i "$SHARED/.vdc-ha/$(jget "$BODY" .id).lease"
		ip -n "$(ns_of "$h")" link set mgmt0 down ;;
	vdcd)
		vdcd_kill9
		vdcd_start "${VDCD_FLAGS[@]}" || not_ok "vdcd starts again" ;;
	qemu) pkill -9 -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $id( |\$)" ;;
	agent) kill -9 "$(agent_pid "$h")"; sleep 8 ;; # past the lease (4 s) and margin
	esac
	# Heal what needs healing once HA has had its time with the fault.
	if [ "$kind" = both ] || [ "$kind" = crash ]; then
		for _ in $(seq 1 150); do
			[ "$(host_of "$id")" != "$h" ] && break
			sleep 0.1
		done
	fi
	every_host_back || not_ok "fault $n ($kind on $h): the hosts connect again"
	if settled && [ "$kind" = agent ] && [ "$(host_of "$id")" != "$h" ]; then
		not_ok "fault $n: agent on $h (VM ${id:0:8}): the VM moved to $(host_of "$id") though its host ran it"
	elif settled; then
		ok "fault $n: $kind on $h (VM ${id:0:8}): every VM runs once again ($((SECONDS - t0)) s)"
	else
		not_ok "fault $n: $kind on $h (VM ${id:0:8}): every VM runs once again"
		for v in "${VMS[@]}"; do
			mapi GET "/api/v1/vms/$v"
			diag "${v:0:8}: host ${HNAME[$(jget "$BODY" .host_id)]:-?} power $(jget "$BODY" .power_state) copies $(copies "$v")"
		done
	fi
done
diag "faults: $(for k in "${kinds[@]}"; do printf '%s %s  ' "$k" "${seen[$k]:-0}"; done)"
for m in "${MONS[@]}"; do kill "$m" 2>/dev/null; done
wait "${MONS[@]}" 2>/dev/null
two=$(cat "$TMP"/monitor-*.log | grep -c '^TWO')
check "the monitors never saw two copies of a VM run its guest ($FAULTS faults)" test "$two" = 0
finish
