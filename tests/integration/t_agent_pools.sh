#!/usr/bin/env bash
# t_agent_pools.sh - resource pools as cgroup levels on one host: a VM
# defined in a chain of two pools boots under <base>/pool:prod/pool:web with
# each level's knobs; a pool's new settings pushed by PUT /api/v1/pools
# reach its level (and the VM's spec); the running VM moves to another pool
# (every thread, the guest answering throughout) and the levels it leaves
# empty go; an agent that dies in the middle of a move puts QEMU back where
# the stored spec says; bad input is refused naming the field; a deleted VM
# leaves no level behind.
source "$(dirname "$0")/lib.sh"

host_up h1 || { not_ok "agent starts"; finish; exit 1; }
ok "agent starts in a host namespace"

base=vdct$$h1
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	V=2 CPU=/sys/fs/cgroup/$base MEM=/sys/fs/cgroup/$base
else
	V=1 CPU=/sys/fs/cgroup/cpu/$base MEM=/sys/fs/cgroup/memory/$base
fi
diag "cgroup v$V; cpu: $CPU; memory: $MEM"

# knob DIR FILE: the file's content (what the kernel reads back).
knob() { cat "$1/$2" 2>/dev/null; }
# in_cgroup PID REL: QEMU is listed in REL's cgroup.procs in the cpu and
# memory hierarchies.
in_cgroup() { grep -qx "$1" "$CPU/$2/cgroup.procs" && grep -qx "$1" "$MEM/$2/cgroup.procs"; }
# threads_in PID REL: every thread of PID is in REL (by /proc, cpu hierarchy).
threads_in() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$V" = 2 ]; then
			grep -qx "0::/$base/$2" "$t/cgroup" || return 1
		else
			grep -qE "^[0-9]+:([a-z_]+,)*cpu(,[a-z_]+)*:/$base/$2\$" "$t/cgroup" || return 1
		fi
	done
}
# gone REL: no directory REL under the base in any hierarchy.
gone() {
	local d
	for d in /sys/fs/cgroup/*/"$base/$1" /sys/fs/cgroup/"$base/$1"; do
		[ -e "$d" ] && return 1
	done
	return 0
}
# bad_field FIELD: the last answer is a 400 naming FIELD.
bad_field() { [ "$STATUS" = 400 ] && [ "$(jget "$BODY" .error.field)" = "$1" ]; }

chain='[{"name":"prod","cpu_weight":200,"memory_limit_mib":2048},{"name":"web","cpu_limit_pct":50}]'
api h1 POST '/api/v1/vms?start=true' "$(guest_spec pw1 10.213.0.11 | jq -c --argjson p "$chain" '.pool=$p')"
check "a VM in two pools is defined and started (201 running)" test "$STATUS/$(jget "$BODY" .state)" = 201/running
pid=$(jget "$BODY" .runtime.pid)
check "its spec shows the chain, root first, defaults filled" \
	test "$(jget "$BODY" '.spec.pool | map("\(.name):\(.cpu_weight):\(.cpu_limit_pct):\(.memory_limit_mib):\(.memory_reservation_mib)") | join(" ")')" \
	= "prod:200:0:2048:0 web:100:50:0:0"
check "the guest boots" wait_console h1 pw1 'VDC-GUEST-READY hostname=pw1 ip=10.213.0.11' 60
check "the guest answers on TCP" test "$(guest_req h1 10.213.0.11 ping)" = pong

if [ "$V" = 2 ]; then
	check "pool:prod has cpu.weight 200" test "$(knob "$CPU/pool:prod" cpu.weight)" = 200
	check "pool:prod/pool:web has cpu.max 50000 100000" test "$(knob "$CPU/pool:prod/pool:web" cpu.max)" = "50000 100000"
	check "pool:prod has memory.max 2 GiB" test "$(knob "$MEM/pool:prod" memory.max)" = 2147483648
	check "pool:prod hands cpu and memory to its children" grep -qE 'cpu.*memory|memory.*cpu' "$CPU/pool:prod/cgroup.subtree_control"
else
	check "pool:prod has cpu.shares 2048" test "$(knob "$CPU/pool:prod" cpu.shares)" = 2048
	check "pool:prod/pool:web has cpu.cfs_quota_us 50000" test "$(knob "$CPU/pool:prod/pool:web" cpu.cfs_quota_us)" = 50000
	check "pool:prod has memory.limit_in_bytes 2 GiB" test "$(knob "$MEM/pool:prod" memory.limit_in_bytes)" = 2147483648
	check "pool:prod/pool:web has no memory limit of its own" test "$(knob "$MEM/pool:prod/pool:web" memory.limit_in_bytes)" -gt 2147483648
fi
check "QEMU is in pool:prod/pool:web/pw1 (cpu and memory)" in_cgroup "$pid" pool:prod/pool:web/pw1
check "... every thread of it" threads_in "$pid" pool:prod/pool:web/pw1
check "... and not in a cgroup beside the levels" gone pw1
api h1 GET /metrics
check "metrics read the VM's CPU time under its pools" grep -qE '^vdc_agent_vm_cpu_seconds_total\{vm="pw1"\} [0-9]' <<<"$BODY"

# A pool's settings changed: vdcd pushes them to the host.
api h1 PUT /api/v1/pools '{"pool":[{"name":"prod","cpu_weight":400,"memory_limit_mib":2048}]}'
check "PUT /api/v1/pools answers 200 with the chain applied and the cgroup version" \
	test "$STATUS/$(jget "$BODY" '"\(.pool[0].name):\(.pool[0].cpu_weight) v\(.cgroup_version)"')" = "200/prod:400 v$V"
if [ "$V" = 2 ]; then
	check "pool:prod's cpu.weight is now 400" test "$(knob "$CPU/pool:prod" cpu.weight)" = 400
else
	check "pool:prod's cpu.shares is now 4096" test "$(knob "$CPU/pool:prod" cpu.shares)" = 4096
fi
check "the VM's spec takes prod's new weight and keeps web's limit" \
	test "$(vm_field h1 pw1 '.spec.pool | "\(.[0].cpu_weight) \(.[1].cpu_limit_pct)"')" = "400 50"
check "... stored (a restart keeps it)" \
	test "$(jq -r '.pool[0].cpu_weight' "$(dir_of h1)/st/vms/pw1/spec.json")" = 400

# A pool's CPU limit goes below a pool's inside it, then away: v1 takes no
# quota above an ancestor's, so the one inside comes down first and comes
# back after (v2 takes the smaller by itself).
api h1 PUT /api/v1/pools '{"pool":[{"name":"prod","cpu_weight":400,"memory_limit_mib":2048,"cpu_limit_pct":30}]}'
check "a pool's CPU limit below its child pool's: 200" test "$STATUS" = 200
if [ "$V" = 2 ]; then
	check "pool:prod's cpu.max is 30000 100000" test "$(knob "$CPU/pool:prod" cpu.max)" = "30000 100000"
	check "... pool:web keeps its own (the kernel takes the smaller)" test "$(knob "$CPU/pool:prod/pool:web" cpu.max)" = "50000 100000"
else
	check "pool:prod's cfs quota is 30000" test "$(knob "$CPU/pool:prod" cpu.cfs_quota_us)" = 30000
	check "... pool:web's came down to it first" test "$(knob "$CPU/pool:prod/pool:web" cpu.cfs_quota_us)" = 30000
fi
api h1 PUT /api/v1/pools '{"pool":[{"name":"prod","cpu_weight":400,"memory_limit_mib":2048}]}'
check "the pool's CPU limit lifted: 200" test "$STATUS" = 200
if [ "$V" = 2 ]; then
	check "pool:prod's cpu.max is max again" test "$(knob "$CPU/pool:prod" cpu.max)" = "max 100000"
else
	check "pool:prod's cfs quota is -1 again" test "$(knob "$CPU/pool:prod" cpu.cfs_quota_us)" = -1
	check "... and pool:web has its own 50000 back" test "$(knob "$CPU/pool:prod/pool:web" cpu.cfs_quota_us)" = 50000
fi

# Bad input: 400 naming the field; nothing changes.
api h1 PUT /api/v1/pools '{"pool":[]}'
check "PUT /api/v1/pools with no level: 400 naming pool" bad_field pool
api h1 PUT /api/v1/pools '{}'
check "PUT /api/v1/pools without pool: 400 naming pool" bad_field pool
api h1 PUT /api/v1/pools '{"pool":[{"name":"prod"}],"pools":[]}'
check "an unknown key: 400 naming it" bad_field pools
api h1 PUT /api/v1/pools '{"pool":[{"name":"prod"},{"name":"web","cpu_wight":300}]}'
check "a misspelt knob: 400 naming pool[1].cpu_wight" bad_field 'pool[1].cpu_wight'
api h1 PUT /api/v1/pools '{"pool":[{"name":"../etc"}]}'
check "a pool name that is a path: 400 naming pool[0].name" bad_field 'pool[0].name'
api h1 PUT /api/v1/pools '{"pool":[{"name":"prod","cpu_weight":0}]}'
check "cpu_weight 0: 400 naming pool[0].cpu_weight" bad_field 'pool[0].cpu_weight'
api h1 PUT /api/v1/pools "$(jq -nc '{pool:[range(7) | {name:"p\(.)"}]}')"
check "seven levels: 400 naming pool" bad_field pool
api h1 PUT /api/v1/vms/pw1/pool '{"pool":[{"name":"tiny","memory_limit_mib":64}]}'
check "a pool whose memory limit is below the VM's memory: 400 naming pool[0].memory_limit_mib" \
	bad_field 'pool[0].memory_limit_mib'
api h1 PUT /api/v1/vms/pw1/pool '{"pool":"batch"}'
check "a chain that is no array: 400 naming pool" bad_field pool
api h1 PUT /api/v1/vms/nosuch/pool '{"pool":[]}'
check "the pool of an unknown VM: 404" test "$STATUS" = 404
check "after the refusals QEMU is where it was" in_cgroup "$pid" pool:prod/pool:web/pw1
check "... and no refused pool was made" gone pool:tiny
api h1 POST /api/v1/vms "$(guest_spec pwx | jq -c '.pool=[{name:"prod"},{name:"web",cpu_wight:1}]')"
check "a VM spec with a misspelt pool knob: 400 naming pool[1].cpu_wight" bad_field 'pool[1].cpu_wight'

# The running VM moves to another pool.
api h1 PUT /api/v1/vms/pw1/pool '{"pool":[{"name":"batch"}]}'
check "PUT /vms/pw1/pool answers 200 with the VM in batch" \
	test "$STATUS/$(jget "$BODY" '.spec.pool | map(.name) | join("/")')/$(jget "$BODY" .runtime.pid)" = "200/batch/$pid"
check "QEMU is in pool:batch/pw1 now (cpu and memory)" in_cgroup "$pid" pool:batch/pw1
check "... every thread of it" threads_in "$pid" pool:batch/pw1
check "the old pool:prod/pool:web level is gone" gone pool:prod/pool:web
check "... and pool:prod, left empty, too" gone pool:prod
check "the guest still answers" test "$(guest_req h1 10.213.0.11 ping)" = pong
check "the new pool is in the stored spec" \
	test "$(jq -c '[.pool[].name]' "$(dir_of h1)/st/vms/pw1/spec.json")" = '["batch"]'

# A stopped VM changes pools in its spec only: it has no cgroup to move.
api h1 POST /api/v1/vms "$(guest_spec pw2 | jq -c '.pool=[{name:"idle"}]')"
check "a stopped VM in a pool is defined" test "$STATUS" = 201
check "... and makes no level while it does not run" gone pool:idle
api h1 PUT /api/v1/vms/pw2/pool '{"pool":[]}'
check "a stopped VM leaves every pool (200, no pool in its spec)" test "$STATUS/$(jget "$BODY" '.spec | has("pool")')" = 200/false
api h1 DELETE /api/v1/vms/pw2

# The agent dies after QEMU moved, before the spec was stored: the
# restarted agent puts QEMU back where the spec says and clears the rest.
agent_stop h1
crash_at pool:after_move h1 lost -- api h1 PUT /api/v1/vms/pw1/pool '{"pool":[{"name":"gold"}]}'
check "QEMU keeps running when the agent dies mid-move" kill -0 "$pid"
check "the agent restarts" agent_start h1
check "the VM is re-attached running, in the pool its stored spec names" \
	test "$(vm_field h1 pw1 '"\(.state) \(.spec.pool[0].name)"')" = "running batch"
check "QEMU is back in pool:batch/pw1" in_cgroup "$pid" pool:batch/pw1
check "... every thread of it" threads_in "$pid" pool:batch/pw1
check "the half-made pool:gold is gone" gone pool:gold
check "the guest answers" test "$(guest_req h1 10.213.0.11 ping)" = pong

api h1 POST /api/v1/vms/pw1/stop '{"timeout_s":60}'
check "stop answers 200 stopped" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped
api h1 DELETE /api/v1/vms/pw1
check "delete answers 204" test "$STATUS" = 204
check "pool:batch is gone with its last VM" gone pool:batch
check "nothing is left under the cgroup base" test -z "$(find "$CPU" "$MEM" -mindepth 1 -type d 2>/dev/null)"

check "the agent stops cleanly (exit 0)" agent_stop h1
finish
