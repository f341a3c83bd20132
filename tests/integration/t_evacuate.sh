#!/usr/bin/env bash
# t_evacuate.sh - maintenance mode: a host with 6 running VMs is emptied by
# live migration after its plan is shown; a plan the rest of the cluster
# cannot take is refused up front naming the shortfall, and nothing
# changes; new VMs avoid a host in maintenance; a VM that cannot move is
# tried elsewhere, then named with why; exit stops a drain; kill -9 of
# vdcd in the middle of a drain is recovered from; a VM live migration
# cannot move goes cold when the cluster's policy allows it, and a stopped
# VM moves cold when asked.
source "$(dirname "$0")/lib.sh"

shared_up
vdcd_start --heartbeat-timeout-s 30 || { not_ok "vdcd starts"; finish; exit 1; }
# Each host reports this machine's CPUs: an overcommit of 4 lets one host
# run all six 1-vCPU VMs.
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":4}'
for h in h1 h2 h3; do
	host_join "$h" c1 --datastore "shared=$SHARED" || not_ok "$h joins"
done
hosts_connected 3 || not_ok "h1, h2 and h3 connect"
CPUS=$(mapi GET /api/v1/hosts/h1 && jget "$BODY" .capacity.cpus)
declare -A HOST_NAME
for h in h1 h2 h3; do
	mapi GET "/api/v1/hosts/$h"
	HOST_NAME[$(jget "$BODY" .id)]=$h
done
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
check "vdc logs in" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"
# on_host NAME: the VMs of the last list (BODY) the inventory puts on host NAME.
on_host() { jq -r --arg h "$1" --argjson ids "$(for k in "${!HOST_NAME[@]}"; do echo "{\"$k\":\"${HOST_NAME[$k]}\"}"; done | jq -s add)" '[.items[] | select($ids[.host_id] == $h)] | length' <<<"$BODY"; }
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'

# ---- a host with no VM enters maintenance at once ---------------------------
for h in h2 h3; do
	mapi POST "/api/v1/hosts/$h/maintenance" '{"enabled":true}'
	check "$h (no VM) enters maintenance at once (200, no task)" \
		test "$STATUS/$(jget "$BODY" .state)/$(jget "$BODY" '.task // "none"')" = 200/maintenance/none
done

# ---- six VMs, all on h1: new VMs avoid hosts in maintenance ---------------
tasks=()
for i in 1 2 3 4 5 6; do
	mapi POST /api/v1/vms "{\"name\":\"e$i\",\"template\":\"tiny\",\"datastore\":\"shared\",\"start\":true}"
	[ "$STATUS" = 202 ] || diag "create e$i: $STATUS $BODY"
	tasks+=("$(jget "$BODY" .task.id)")
	[ "$i" = 1 ] && check "a VM is placed on h1, the reason for h2 naming maintenance" \
		grep -q "^h1/.*maintenance" <<<"$(jget "$BODY" .placement.host)/$(jget "$BODY" '[.placement.hosts[] | select(.host=="h2") | .reason][0]')"
done
for t in "${tasks[@]}"; do task_wait "$t" 120; [ "$TASK_STATE" = succeeded ] || diag "a create: $TASK_STATE"; done
mapi GET '/api/v1/vms?limit=100'
check "the six VMs run on h1" test "$(on_host h1)" = 6
for h in h2 h3; do
	mapi POST "/api/v1/hosts/$h/maintenance" '{"enabled":false}'
	check "$h exits maintenance" test "$STATUS/$(jget "$BODY" .state)" = 200/connected
done

# guest_ip VM: its address, from its last readiness line.
guest_ip() {
	local i ip
	for i in $(seq 1 300); do
		mapi GET "/api/v1/vms/$1/console"
		ip=$(grep -oE 'VDC-GUEST-READY .* ip=[0-9.]+' <<<"$BODY" | tail -1 | sed -E 's/.* ip=//')
		[ -n "$ip" ] && { echo "$ip"; return 0; }
		sleep 0.2
	done
	return 1
}
declare -A IPS
for i in 1 2 3 4 5 6; do IPS[e$i]=$(guest_ip "e$i"); done
check "the six guests are ready" test "$(printf '%s\n' "${IPS[@]}" | grep -c .)" = 6

# host_of VM: the name of the host the inventory says runs it.
host_of() { mapi GET "/api/v1/vms/$1" && echo "${HOST_NAME[$(jget "$BODY" .host_id)]}"; }
# vm_doc VM: sets BODY to the VM and VMHOST to its host's name.
vm_doc() { mapi GET "/api/v1/vms/$1"; VMHOST=${HOST_NAME[$(jget "$BODY" .host_id)]}; }

# one_place VM: the VM runs on the host the inventory names, and on no
# other host (each agent asked), and its guest answers there.
one_place() {
	local vm=$1 h n=0 where="" x id
	vm_doc "$vm"
	h=$VMHOST
	id=$(jget "$BODY" .id)
	for x in h1 h2 h3; do
		api "$x" GET "/api/v1/vms/$id"
		[ "$STATUS" = 200 ] && { n=$((n + 1)); where+=" $x/$(jget "$BODY" .state)"; }
	done
	check "$vm runs on $h only, as the inventory says" test "$n$where" = "1 $h/running"
	[ "$n$where" = "1 $h/running" ] || diag "$vm: on$where"
	local answer="" k
	for k in 1 2 3 4 5; do
		answer=$(guest_req "$h" "${IPS[$vm]}" ping)
		[ "$answer" = pong ] && break
		sleep 1
	done
	check "$vm's guest answers on $h" test "$answer" = pong
}

# ---- a plan the rest of the cluster cannot take is refused, whole ------------
# An overcommit of 1: h2 and h3 take $CPUS 1-vCPU VMs each, not six between them.
mapi PATCH /api/v1/clusters/c1 '{"cpu_overcommit":1}'
if [ "$((2 * CPUS))" -lt 6 ]; then
	mapi POST '/api/v1/hosts/h1/maintenance?dry_run=true' '{"enabled":true}'
	check "a dry run of a plan that cannot be whole is refused (409 evacuation_refused)" \
		test "$STATUS/$(jget "$BODY" .error.code)" = 409/evacuation_refused
	msg=$(jget "$BODY" .error.message)
	diag "refused: $msg"
	check "... naming the VM that fits nowhere and the shortfall (vCPUs)" \
		grep -qE "h1 cannot be emptied: VM .e[1-6]. \(1 vCPU, 96 MiB\) fits on no other host of its cluster \(.*CPU" <<<"$msg"
	check "... with the moves that did fit" test "$(jget "$BODY" '.error.plan.moves | length')" = "$((2 * CPUS))"
	out=$(vdc host maintenance enter h1 2>&1)
	check "the CLI's enter is refused, printing the plan and the shortfall" \
		grep -q "fits on no other host" <<<"$out"
	mapi GET /api/v1/hosts/h1
	check "... and nothing changed: h1 is connected, not in maintenance" \
		test "$(jget "$BODY" '"\(.state) \(.maintenance)"')" = "connected false"
else
	diag "this machine has $CPUS CPUs: two hosts take six VMs at overcommit 1; the refusal is not tried"
fi
mapi PATCH /api/v1/clusters/c1 '{"cpu_overcommit":4}'

# ---- the plan, then the evacuation of six VMs -------------------------------
mapi POST '/api/v1/hosts/h1/maintenance?dry_run=true' '{"enabled":true}'
check "the dry run shows a plan: six moves" test "$STATUS/$(jget "$BODY" '.plan.moves | length')" = 200/6
check "... each to h2 or h3, with placement's reason" \
	test "$(jget "$BODY" '[.plan.moves[] | select((.to=="h2" or .to=="h3") and (.reason | test("chosen")))] | length')" = 6
diag "plan: $(jget "$BODY" .plan.reason)"
mapi GET /api/v1/hosts/h1
check "a dry run changes nothing" test "$(jget "$BODY" .state)" = connected

T0=$(date +%s.%N)
out=$(vdc host maintenance enter h1 2>"$TMP/enter.err")
rc=$?
T1=$(date +%s.%N)
check "vdc host maintenance enter h1 empties it ($out)" test "$rc/$out" = "0/host h1: in maintenance, emptied (6 of 6 VMs moved)"
check "... after showing the plan (each VM, its host, the reason)" test "$(grep -cE '^  e[1-6] +-> h[23] +chosen' "$TMP/enter.err")" = 6
diag "evacuation of 6 VMs: $(echo "$T1 - $T0" | bc) s"
mapi GET /api/v1/hosts/h1
check "h1 is in maintenance, its drain done" test "$(jget "$BODY" '"\(.state) \(.drain.phase)"')" = "maintenance done"
DRAIN=$(jget "$BODY" .drain.task_id)
mapi GET "/api/v1/tasks/$DRAIN"
check "the evacuation task succeeded: 6 of 6 moved" \
	test "$(jget "$BODY" '"\(.state) \(.result.moved)/\(.result.total) \(.progress)"')" = "succeeded 6/6 100"
for i in 1 2 3 4 5 6; do one_place "e$i"; done
# The cluster's limit (migration.max_per_host 2) held: the progress the CLI
# drew never showed more than two moving at once, and it did show two.
peak=$(grep -oE '[0-9]+ moving' "$TMP/enter.err" | cut -d' ' -f1 | sort -n | tail -1)
check "at most two VMs moved at once (the cluster's max_per_host), and two did (peak $peak)" test "$peak" = 2
mapi POST /api/v1/vms '{"name":"n1","template":"tiny","datastore":"shared","start":true}'
check "a new VM avoids h1 in maintenance" test "$(jget "$BODY" .placement.host)" != h1
task_wait "$(jget "$BODY" .task.id)" 120
mapi POST /api/v1/hosts/h1/maintenance '{"enabled":false}'
check "h1 exits maintenance" test "$STATUS/$(jget "$BODY" .state)" = 200/connected

# ---- kill -9 of vdcd in the middle of a drain -------------------------------
FROM=$(host_of e1)
vdcd_stop || not_ok "vdcd stops cleanly"
enter_once_connected() {
	hosts_connected 3 || diag "the hosts did not connect to the new vdcd"
	mapi POST "/api/v1/hosts/$FROM/maintenance" '{"enabled":true}'
	[ "$STATUS" = 202 ] || diag "enter: $STATUS $BODY"
}
crash_at "task:host.evacuate:after_launch" vdcd any --heartbeat-timeout-s 30 -- enter_once_connected
vdcd_start --heartbeat-timeout-s 30 || not_ok "vdcd restarts"
t=$(requeued_task host.evacuate)
check "vdcd queues the evacuation again at its start" test -n "$t"
[ -n "$t" ] && task_wait "$t" 180
check "the re-run evacuation succeeds" test "$TASK_STATE" = succeeded
[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
mapi GET "/api/v1/vms?limit=100"
check "no VM is left on $FROM" test "$(on_host "$FROM")" = 0
for i in 1 2 3 4 5 6; do one_place "e$i"; done
mapi POST "/api/v1/hosts/$FROM/maintenance" '{"enabled":false}'

# ---- a VM that cannot move: tried elsewhere, then named with why ------------
# Its disk on a host's own datastore, and a policy that moves no disk
# with a live migration: every other host refuses it (disk_not_shared).
mapi PATCH /api/v1/clusters/c1 '{"migration":{"copy_local_disks":false}}'
mapi POST /api/v1/vms '{"name":"loc","template":"tiny","datastore":"local","start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a VM on a host's local datastore starts" test "$TASK_STATE" = succeeded
# Its address now: a console's history stays with the host that ran it.
IPS[loc]=$(guest_ip loc)
LH=$(host_of loc)
mapi POST "/api/v1/hosts/$LH/maintenance" '{"enabled":true}'
check "its host's evacuation starts (202)" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)" 180
check "the evacuation ends incomplete, naming the VM and why" \
	test "$TASK_STATE/$(jget "$BODY" .error.code)" = failed/evacuation_incomplete
msg=$(jget "$BODY" .error.message)
diag "incomplete: $msg"
check "... its two attempts on the two other hosts failed (disk_not_shared)" \
	grep -qE "'loc': .*(2 attempts failed|failed on every host).*(shared|datastore)" <<<"$msg"
check "... the others moved" test "$(jget "$BODY" '.result.left | length')/$(jget "$BODY" '.result.moved == .result.total - 1')" = 1/true
mapi GET "/api/v1/hosts/$LH"
check "the host stays in maintenance, its drain incomplete, naming loc" \
	test "$(jget "$BODY" '"\(.state) \(.drain.phase) \(.drain.left[0].vm)"')" = "maintenance incomplete loc"
vm_doc loc
check "loc still runs on $LH" test "$VMHOST $(jget "$BODY" .power_state)" = "$LH running"
mapi POST "/api/v1/hosts/$LH/maintenance" '{"enabled":false}'
mapi PATCH /api/v1/clusters/c1 '{"migration":{"copy_local_disks":true}}'
# The policy back on (the default), the same drain moves loc, its disk
# copied to the host it goes to.
mapi POST "/api/v1/hosts/$LH/maintenance" '{"enabled":true}'
task_wait "$(jget "$BODY" .task.id)" 180
check "with copy_local_disks on, $LH's drain succeeds" test "$TASK_STATE" = succeeded
[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
one_place loc
LOC_ID=$(vm_doc loc && jget "$BODY" .id)
mapi GET "/api/v1/tasks?op=vm.migrate&target_id=$LOC_ID&limit=100"
check "... loc's migration copied its disk" \
	test "$(jget "$BODY" '[.items[] | select(.state == "succeeded")] | last | .result.copied_disks | join(",")')" = root
mapi POST "/api/v1/hosts/$LH/maintenance" '{"enabled":false}'

# ---- exit stops a drain under way --------------------------------------------
mapi PATCH /api/v1/clusters/c1 '{"migration":{"max_per_host":1}}'
EX=$(host_of e1)
mapi POST "/api/v1/hosts/$EX/maintenance" '{"enabled":true}'
check "a drain starts on $EX" test "$STATUS" = 202
DT=$(jget "$BODY" .task.id)
mapi POST "/api/v1/hosts/$EX/maintenance" '{"enabled":false}'
check "exit answers at once (200), the host connected again" test "$STATUS/$(jget "$BODY" .state)" = 200/connected
task_wait "$DT" 120
check "the drain ends cancelled, saying what moved" \
	grep -qE "^cancelled (cancelled on request|the host left maintenance): [0-9] of [0-9] VMs moved" <<<"$TASK_STATE $(jget "$BODY" .error.message)"
diag "stopped: $(jget "$BODY" .error.message)"
for i in 1 2 3 4 5 6; do one_place "e$i"; done

# Since vdcd's restart: the re-run drain, the incomplete one, the stopped one.
mapi GET /metrics
check "/metrics counts the evacuations by outcome (2 succeeded, 1 failed, 1 cancelled)" \
	test "$(grep -E '^vdcd_evacuations_total' <<<"$BODY" | awk '{print $2}' | paste -sd,)" = "2,1,1"

# ---- cold migration: the fallback of an evacuation, and asked for ------------
# Cluster cc of h4 and h5, whose migration network is down: h5 drops what
# h4 sends it (vdcd still reaches both), so every live attempt is stopped
# as overdue; the policy allows a cold migration instead, which needs no
# traffic between the hosts (their datastore is shared). (A guest dirtying
# faster than the link was tried first: under a loaded CI its measured
# rate came out 0 MiB/s, and it moved live.)
mapi POST /api/v1/clusters '{"name":"cc","cpu_overcommit":4,"migration":{"link_mib_s":32,"cold_fallback":true}}'
check "a cluster whose policy allows cold migration as the fallback" \
	test "$STATUS/$(jget "$BODY" .migration.cold_fallback)" = 201/true
for h in h4 h5; do
	host_join "$h" cc --datastore "shared=$SHARED" || not_ok "$h joins"
	mapi GET "/api/v1/hosts/$h"
	HOST_NAME[$(jget "$BODY" .id)]=$h
done
mapi POST /api/v1/hosts/h5/maintenance '{"enabled":true}'
mapi POST /api/v1/vms '{"name":"cv","template":"tiny","cluster":"cc","datastore":"shared","start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
mapi POST /api/v1/hosts/h5/maintenance '{"enabled":false}'
IPS[cv]=$(guest_ip cv)
vm_doc cv
check "cv runs on h4" test "$VMHOST/$(jget "$BODY" .power_state)" = h4/running
in_ns h5 nft -f - <<EOF
table inet vdctcut {
	chain in {
		type filter hook input priority -10;
		ip saddr $(cat "$(dir_of h4)/mgmt_ip") tcp dport != 7441 drop
	}
}
EOF
check "the migration network between h4 and h5 is cut (h5 drops h4's packets)" in_ns h5 nft list table inet vdctcut
mapi POST /api/v1/hosts/h4/maintenance '{"enabled":true}'
check "h4's evacuation starts" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)" 240
check "the evacuation succeeds: cv moved cold once live could not" test "$TASK_STATE" = succeeded
[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
mapi GET "/api/v1/tasks?op=vm.migrate&target_id=$(vm_doc cv && jget "$BODY" .id)&limit=20"
check "... after live attempts stopped as overdue (will_not_converge, naming the prediction)" \
	test "$(jget "$BODY" '[.items[] | select(.args.cold != true and .state == "failed" and .error.code == "will_not_converge" and (.error.message | test("predict")))] | length > 0')" = true
check "... then one cold migration that succeeded" \
	test "$(jget "$BODY" '[.items[] | select(.args.cold == true and .state == "succeeded" and .result.strategy == "cold")] | length')" = 1
[ "$(jget "$BODY" '[.items[] | select(.args.cold == true and .state == "succeeded")] | length')" = 1 ] ||
	diag "cv's migrations: $(jget "$BODY" '[.items[] | {cold: .args.cold, state, code: .error.code, strategy: .result.strategy}]' | tr -d '\n ')" \
		"plans: $(grep -E 'migrate_planned|migrate_dirty_rate_unread' "$TMP/vdcd.log" | tail -4 | tr '\n' '|')"
vm_doc cv
check "cv runs on h5 now" test "$VMHOST/$(jget "$BODY" .power_state)" = h5/running
api h4 GET "/api/v1/vms/$(vm_doc cv && jget "$BODY" .id)"
check "... and h4's agent has it no more (404): one copy" test "$STATUS" = 404
IPS[cv]=$(guest_ip cv)
reply=$(guest_req h5 "${IPS[cv]}" ping)
check "cv's guest booted again there and answers" test "$reply" = pong
in_ns h5 nft delete table inet vdctcut
[ "$reply" = pong ] || diag "cv at '${IPS[cv]}' answered '$reply'"
mapi POST /api/v1/hosts/h4/maintenance '{"enabled":false}'

# A stopped VM moves cold when asked ("cold": true), and stays stopped.
mapi POST /api/v1/vms/cv/stop '{"timeout_s":30}'
task_wait "$(jget "$BODY" .task.id)" 60
mapi POST /api/v1/vms/cv/migrate '{}'
check "a stopped VM does not migrate live: 409 naming cold" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(grep -c cold <<<"$(jget "$BODY" .error.message)")" = 409/invalid_state/1
out=$(vdc vm migrate cv --cold 2>"$TMP/cold.err")
check "vdc vm migrate cv --cold moves the stopped VM ($out)" test "$out" = "vm cv moved cold to h4 (stopped there)"
[ -n "$out" ] || diag "$(tail -3 "$TMP/cold.err")"
vm_doc cv
check "cv is on h4 now, still stopped" test "$VMHOST/$(jget "$BODY" .power_state)" = h4/stopped

# kill -9 of vdcd once the guest is shut down, before the receiver has it:
# the re-run defines it there, hands it over and starts it; one copy.
mapi POST /api/v1/vms/cv/start
task_wait "$(jget "$BODY" .task.id)" 60
vdcd_stop || not_ok "vdcd stops cleanly"
cold_once_connected() {
	hosts_connected 5 || diag "the hosts did not connect to the new vdcd"
	mapi POST /api/v1/vms/cv/migrate '{"cold":true}'
	[ "$STATUS" = 202 ] || diag "cold migrate: $STATUS $BODY"
}
crash_at "task:vm.migrate:cold_stopped" vdcd any --heartbeat-timeout-s 30 -- cold_once_connected
vdcd_start --heartbeat-timeout-s 30 || not_ok "vdcd restarts after the crash"
t=$(requeued_task vm.migrate)
check "vdcd queues the cold migration again at its start" test -n "$t"
[ -n "$t" ] && task_wait "$t" 120
check "the re-run cold migration succeeds" test "$TASK_STATE" = succeeded
[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
vm_doc cv
check "cv runs on h5, as the inventory says" test "$VMHOST/$(jget "$BODY" .power_state)" = h5/running
api h4 GET "/api/v1/vms/$(jget "$BODY" .id)"
check "... and h4 has no copy (404)" test "$STATUS" = 404

finish
