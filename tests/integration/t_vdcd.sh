#!/usr/bin/env bash
# t_vdcd.sh - the manager end to end on SQLite: hosts join with one-time
# tokens and heartbeat; VMs are created from a template where placement puts
# them (with reasons), driven through tasks, reconciled from heartbeats; bad
# input is refused by field; kill -9 of vdcd in the middle of a task leaves
# nothing half-made; a silent host goes disconnected.
source "$(dirname "$0")/lib.sh"

fabric_up
vdcd_start --heartbeat-timeout-s 4 || { not_ok "vdcd starts"; finish; exit 1; }
ok "vdcd starts on SQLite"
check "the admin token file is private" test "$(stat -c %a "$TMP/vdcd/admin.token")" = 600
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" "$MGR_URL/api/v1/clusters")
check "no token is 401" test "$STATUS" = 401

mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":4,"mem_overcommit":1,"policy":"pack"}'
check "a cluster is created" test "$STATUS" = 201
loc=$(curl -s -D - -o /dev/null --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN" -X POST "$MGR_URL/api/v1/clusters" \
	-d '{"name":"c-loc"}' | tr -d '\r' | sed -n 's/^Location: //p')
check "a create answers with the new object's Location" grep -qE '^/api/v1/clusters/[0-9a-f-]{36}$' <<<"$loc"
mapi DELETE "$loc"
mapi POST /api/v1/clusters '{"name":"c1"}'
check "a duplicate cluster name is 409" test "$STATUS" = 409
mapi POST /api/v1/networks '{"name":"n1","bridge":"br0"}'
check "a network is created" test "$STATUS" = 201
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
check "a datastore is created" test "$STATUS" = 201
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=160'
check "a template is created from the library's images" test "$STATUS/$(jget "$BODY" .image)" = 201/guest-disk

host_join h1 c1 || not_ok "h1 joins"
tok_h1_body=$BODY
host_join h2 c1 || not_ok "h2 joins"
hosts_connected 2
check "both hosts join and are connected" test "$(jget "$BODY" '.items | length')" = 2
check "hosts report their capacity" test "$(jget "$BODY" '.items[0].capacity.cpus')" -ge 1
used=$(jget "$tok_h1_body" .token)
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" -X POST "$MGR_URL/api/v1/hosts/join" \
	-d "{\"token\":\"$used\",\"name\":\"intruder\",\"agent_url\":\"http://x\",\"agent_token\":\"y\"}")
check "a join token works only once (401)" test "$STATUS" = 401

# Create, with placement reasons for every host.
mapi POST /api/v1/vms '{"name":"v1","template":"tiny","networks":["n1"]}'
check "VM create answers 202 with a task" test "$STATUS" = 202 -a -n "$(jget "$BODY" '.task.id // empty')"
check "the create task names its VM (target_name)" test "$(jget "$BODY" .task.target_name)" = v1
check "the placement shows a reason for every host" test "$(jget "$BODY" '.placement.hosts | length')" = 2
diag "placement: $(jget "$BODY" .placement.summary)"
task=$(jget "$BODY" .task.id)
task_wait "$task"
check "the create task succeeds" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/v1
check "v1 is running" test "$(jget "$BODY" .power_state)" = running
check "v1 is as desired (running, in sync)" test "$(jget "$BODY" .desired_state)/$(jget "$BODY" .in_sync)" = running/true
v1_id=$(jget "$BODY" .id)
v1_host=$(jget "$BODY" .placement.host)
check "v1 runs on its host under vdcd's id" test "$(qemu_count "$v1_id")" = 1
for _ in $(seq 1 100); do
	mapi GET /api/v1/vms/v1/console
	grep -q VDC-GUEST-READY <<<"$BODY" && break
	sleep 0.2
done
check "the console is proxied from the host" grep -q VDC-GUEST-READY <<<"$BODY"

# Anti-affinity puts two VMs on two hosts, even under pack.
for v in v2 v3; do
	mapi POST /api/v1/vms "{\"name\":\"$v\",\"template\":\"tiny\",\"placement\":{\"anti_affinity\":[\"g1\"]}}"
	task_wait "$(jget "$BODY" .task.id)"
done
mapi GET /api/v1/vms/v2
h_v2=$(jget "$BODY" .host_id)
mapi GET /api/v1/vms/v3
check "anti-affinity keeps v2 and v3 apart" test "$h_v2" != "$(jget "$BODY" .host_id)"

# Maintenance first plans where the host's running VMs go: v3 cannot
# leave h2 (anti-affine with v2 on h1, the only other host), so entering
# is refused whole, naming it.
mapi POST /api/v1/hosts/h2/maintenance '{"enabled":true}'
check "entering maintenance is refused when a VM fits nowhere else (anti-affinity)" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.plan.stuck.vm)" = 409/evacuation_refused/v3
mapi GET /api/v1/hosts/h2
check "... and the host is not in maintenance" test "$(jget "$BODY" '"\(.state) \(.maintenance)"')" = "connected false"
# Stopped, v3 stays registered on h2, which then enters at once: a host in
# maintenance is out of placement, with the reason shown.
mapi POST /api/v1/vms/v3/stop
task_wait "$(jget "$BODY" .task.id)"
mapi POST /api/v1/hosts/h2/maintenance '{"enabled":true}'
check "a host enters maintenance (its stopped VM stays)" \
	test "$(jget "$BODY" '"\(.state) \(.plan.stays[0].vm)"')" = "maintenance v3"
mapi POST /api/v1/vms '{"name":"v4","template":"tiny","start":false}'
check "a VM is placed away from maintenance" test "$(jget "$BODY" .placement.host)" = h1
check "the reason names maintenance" grep -q maintenance <<<"$(jget "$BODY" '.placement.hosts[] | select(.host=="h2") | .reason')"
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/v4
check "a VM created with start=false is stopped" test "$(jget "$BODY" .power_state)" = stopped
mapi POST /api/v1/hosts/h2/maintenance '{"enabled":false}'

# Snapshots of a stopped VM, routed to its host as tasks.
mapi POST /api/v1/vms/v4/snapshots '{"name":"s1"}'
task_wait "$(jget "$BODY" .task.id)"
check "a snapshot is taken through vdcd" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/v4/snapshots
check "snapshots are listed from the host" test "$(jget "$BODY" '.snapshots[0].name')" = s1
mapi POST /api/v1/vms/v4/snapshots/s1/revert
task_wait "$(jget "$BODY" .task.id)"
check "a revert succeeds" test "$TASK_STATE" = succeeded
mapi DELETE /api/v1/vms/v4/snapshots/s1
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/v4/snapshots
check "a snapshot is deleted" test "$TASK_STATE/$(jget "$BODY" '.snapshots | length')" = succeeded/0
mapi POST /api/v1/vms/v1/snapshots '{"name":"live"}'
task_wait "$(jget "$BODY" .task.id)"
check "a running VM's snapshot is taken live through vdcd" test "$TASK_STATE" = succeeded
mapi POST /api/v1/vms/v1/snapshots '{"name":"live"}'
task_wait "$(jget "$BODY" .task.id)"
check "a second snapshot of the same name fails with the host's reason" \
	test "$TASK_STATE/$(jget "$BODY" .error.code)" = failed/snapshot_exists

# The CLI against this vdcd.
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" </dev/null >/dev/null 2>&1
check "vdc login without a terminal will not trust an unknown CA by itself" test $? -ne 0
vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "sha256:$(printf '0%.0s' $(seq 64))" >/dev/null 2>&1
check "vdc login refuses a CA of another fingerprint" test $? -ne 0
check "vdc login works, pinning vdcd's CA by its fingerprint" \
	vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"
mapi POST /api/v1/users '{"name":"ops","password":"ops-password-42"}'
mapi POST /api/v1/projects/default/members '{"user":"ops","role":"viewer"}'
check "vdc login --user signs in with a password read from stdin" \
	sh -c 'echo ops-password-42 | "$0" login --server "$1" --user ops' "$VDC" "$MGR_URL"
vdc whoami >"$TMP/whoami.out" 2>&1
rc=$?
check "vdc whoami shows the signed-in user: ops, viewer of default (exit 0)" \
	eval 'test $rc = 0 && grep -qx "user  *ops" "$TMP/whoami.out" && grep -qx "projects  *default (viewer)" "$TMP/whoami.out"'
[ $rc = 0 ] || diag "vdc whoami: rc $rc: $(cat "$TMP/whoami.out")"
check "vdc login as admin again" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN"
check "vdc vm list shows v1 running (an admin sees its project)" grep -qE '^v1 +default +running' <(vdc vm list)
check "vdc vm snapshots lists nothing for v4" test -z "$(vdc vm snapshots v4 | tail -n +2)"
check "vdc vm get of an existing VM exits 0" eval 'vdc vm get v1 >/dev/null'
vdc vm get nosuchvm >"$TMP/get.out" 2>&1
rc=$?
# Exit 3 alone could come from another error: the message names the VM.
check "vdc exits 3 for a VM that does not exist, naming it" \
	eval 'test $rc = 3 && grep -q "no vm has the id or name '"'nosuchvm'"'" "$TMP/get.out"'
[ $rc = 3 ] || diag "vdc vm get nosuchvm: rc $rc: $(cat "$TMP/get.out")"
vdc --token wrong vm list >/dev/null 2>&1
check "vdc exits 5 for a bad token" test $? = 5

# The image library through the CLI: an upload streamed from a local file,
# an administrator's import, a template of them.
vdc image upload cli-disk "$GUEST/data-template.qcow2" >"$TMP/img.out" 2>&1
check "vdc image upload streams a local qcow2 into the library" grep -q "image cli-disk uploaded" "$TMP/img.out"
vdc image import cli-kernel --kind kernel --from test-guest/vmlinuz >"$TMP/img.out" 2>&1
check "vdc image import brings a kernel from vdcd's import directory" grep -q "image cli-kernel imported" "$TMP/img.out"
check "vdc image list shows both, active" \
	test "$(vdc image list | grep -cE '^cli-(disk +disk +qcow2|kernel +kernel +raw) +active')" = 2
vdc image upload cli-bad "$GUEST/vmlinuz" >"$TMP/img.out" 2>&1
rc=$?
check "vdc image upload of a kernel as a qcow2 disk fails (exit 2), saying why" \
	eval 'test $rc = 2 && grep -q "not a qcow2 image" "$TMP/img.out"'
check "... and leaves no image behind" eval '! vdc image get cli-bad >/dev/null 2>&1'
check "vdc template create names library images" \
	vdc template create cli-tpl --image cli-disk --kernel cli-kernel --initrd guest-initrd
vdc template create cli-path --image /etc/shadow >"$TMP/img.out" 2>&1
check "vdc template create with a host path is refused, saying so" grep -q "looks like a host path" "$TMP/img.out"

mapi POST /api/v1/vms/v1/resize '{"vcpus":2}'
check "a running VM's vCPUs cannot change (409 invalid_state)" test "$STATUS/$(jget "$BODY" .error.code)" = 409/invalid_state
mapi POST /api/v1/vms/v1/clone '{"name":"v1-copy"}'
check "a running VM cannot be cloned (409 invalid_state)" test "$STATUS/$(jget "$BODY" .error.code)" = 409/invalid_state
vdc vm resize v1 --vcpus 2 >"$TMP/resize.out" 2>&1
rc=$?; check "vdc vm resize of a running VM fails with exit 4 (conflict)" test $rc = 4; [ $rc = 4 ] || diag "rc $rc: $(cat "$TMP/resize.out")"
mapi POST /api/v1/vms '{"name":"huge","template":"tiny","memory_mib":4000000}'
check "a VM no host can hold is 409 no_host" test "$STATUS/$(jget "$BODY" .error.code)" = 409/no_host
check "... with every host's reason" test "$(jget "$BODY" '.error.placement.hosts | length')" = 2
diag "no host: $(jget "$BODY" .error.message)"
huge_msg=$(jget "$BODY" .error.message)
mapi GET /api/v1/vms/huge
check "... and nothing allocated" test "$STATUS" = 404

# Dry run: the same checks as create, placement's verdict, nothing written.
last_event() { mapi GET '/api/v1/events?limit=1'; jget "$BODY" '.items[0].id'; }
mapi GET '/api/v1/vms?limit=1000'; n_vms=$(jget "$BODY" '.items | length')
mapi GET /api/v1/projects/default/quota; usage_before=$(jq -c .usage <<<"$BODY")
ev_before=$(last_event)
mapi POST '/api/v1/vms?dry_run=true' '{"name":"huge","template":"tiny","memory_mib":4000000}'
check "a dry run of a VM no host can hold is refused as create is (409 no_host, same message)" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.message)" = "409/no_host/$huge_msg"
mapi POST '/api/v1/vms?dry_run=true' '{"name":"v1","template":"tiny"}'
check "a dry run of a taken name is refused as create is (409 name_taken)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 409/name_taken
mapi POST '/api/v1/vms?dry_run=true' '{"name":"dry1","template":"nosuch"}'
check "a dry run with a missing template is 400 naming the field" test "$STATUS/$(jget "$BODY" .error.field)" = 400/template
mapi POST '/api/v1/vms?dry_run=maybe' '{"name":"dry1","template":"tiny"}'
check "dry_run=maybe is 400 naming dry_run" test "$STATUS/$(jget "$BODY" .error.field)" = 400/dry_run
mapi POST '/api/v1/vms?dry_run=true' '{"name":"dry1","template":"tiny","placement":{"anti_affinity":["g1"]}}'
check "a dry run against anti-affinity g1 (on both hosts) is 409 no_host with every host's reason" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" '.error.placement.hosts | length')" = 409/no_host/2
mapi POST '/api/v1/vms?dry_run=true' '{"name":"dry1","template":"tiny"}'
check "a dry run that fits answers 200 with the host, every host's reason and the VM without an id" \
	test "$STATUS/$(jget "$BODY" .dry_run)/$(jget "$BODY" '.placement.hosts | length')/$(jget "$BODY" .vm.id)" = 200/true/2/null \
	-a "$(jget "$BODY" .placement.host)" = "$(jget "$BODY" .vm.placement.host)"
check "dry runs wrote no audit event" test "$(last_event)" = "$ev_before"
mapi PUT /api/v1/projects/default/quota "{\"vms\":$n_vms}"
mapi POST /api/v1/vms '{"name":"dry1","template":"tiny","start":false}'
create_err=$(jq -c .error <<<"$BODY")
ev_before=$(last_event)
mapi POST '/api/v1/vms?dry_run=true' '{"name":"dry1","template":"tiny","start":false}'
check "with the VM quota full, a dry run is refused as create is (409 quota_exceeded, same error)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 409/quota_exceeded -a "$(jq -c .error <<<"$BODY")" = "$create_err"
check "... and writes no event (the create's refusal did)" test "$(last_event)" = "$ev_before"
mapi PUT /api/v1/projects/default/quota '{"vms":null}'
mapi GET '/api/v1/vms?limit=1000'
check "dry runs made no VM" test "$(jget "$BODY" '.items | length')" = "$n_vms"
mapi GET /api/v1/projects/default/quota
check "dry runs charged no quota" test "$(jq -c .usage <<<"$BODY")" = "$usage_before"
# A table's columns only (?fields): id and name always, the rest as asked.
mapi GET '/api/v1/vms?limit=2&fields=power_state,placement.host'
check "?fields keeps only id, name and the fields asked for (one level down too)" \
	test "$(jget "$BODY" '.items[0] | keys | join(",")')/$(jget "$BODY" '.items[0].placement | keys | join(",")')/$(jget "$BODY" '.next != null')" = "id,name,placement,power_state/host/true"
mapi GET '/api/v1/vms?fields=name,Bad!'
check "a malformed ?fields is 400 naming fields" test "$STATUS/$(jget "$BODY" .error.field)" = 400/fields
mapi GET '/api/v1/vms?limit=5000'
check "whole documents come at most 1,000 a page (400 naming limit)" test "$STATUS/$(jget "$BODY" .error.field)" = 400/limit
mapi GET '/api/v1/vms?limit=5000&fields=name'
check "... and up to 10,000 with ?fields" test "$STATUS/$(jget "$BODY" '.items | length')" = "200/$n_vms"
vdc vm create dry2 --template tiny --dry-run >"$TMP/dry.out" 2>&1
rc=$?
check "vdc vm create --dry-run prints where the VM would go and why (exit 0)" \
	eval 'test $rc = 0 && grep -qE "^vm dry2 would be placed on h[12] " "$TMP/dry.out" && grep -qE "^  h[12] +eligible " "$TMP/dry.out"'
[ $rc = 0 ] || diag "vdc vm create --dry-run: rc $rc: $(cat "$TMP/dry.out")"
check "... and creates nothing" eval '! vdc vm get dry2 >/dev/null 2>&1'
vdc vm create huge --template tiny --memory-mib 4000000 --dry-run >"$TMP/dry.out" 2>&1
check "vdc vm create --dry-run of a VM no host holds exits 4 (conflict)" test $? = 4

# Power operations as tasks.
mapi POST /api/v1/vms/v1/stop '{"timeout_s":60}'
check "a power task names its VM (target_name)" test "$(jget "$BODY" .task.target_name)" = v1
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/v1
check "stop through vdcd stops the VM" test "$TASK_STATE/$(jget "$BODY" .power_state)" = succeeded/stopped
mapi POST /api/v1/vms/v1/start
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/v1
check "start through vdcd starts it" test "$TASK_STATE/$(jget "$BODY" .power_state)" = succeeded/running

# Observed state is reconciled from heartbeats.
# The host's agent says which process is v1's QEMU (names may repeat across
# test runs on one machine; the agent's answer is exact).
api "$v1_host" GET "/api/v1/vms/$v1_id" # the host knows it by vdcd's id
pid=$(jget "$BODY" .runtime.pid)
check "v1's host reports its QEMU process" test -n "$pid" -a "$pid" != null
kill -9 "$pid"
for _ in $(seq 1 200); do
	mapi GET /api/v1/vms/v1
	[ "$(jget "$BODY" .power_state)" = crashed ] && break
	sleep 0.1
done
if [ "$(jget "$BODY" .power_state)" = crashed ]; then
	ok "a QEMU crash reaches vdcd through the heartbeat"
else
	not_ok "a QEMU crash reaches vdcd through the heartbeat"
	diag "v1 is $(jget "$BODY" .power_state); its host's log: $(grep -E 'vm=v1 ' "$(dir_of "$v1_host")/agent.log" | tail -3)"
	diag "vdcd: $(grep -E 'vm_observed|heartbeat' "$TMP/vdcd.log" | tail -3)"
fi
check "the crash shows as drift from the desired state" test "$(jget "$BODY" .desired_state)/$(jget "$BODY" .in_sync)" = running/false
check "the VM's last exit, from the heartbeat, names the signal (signal/SIGKILL/9)" \
	test "$(jget "$BODY" '"\(.last_exit.cause)/\(.last_exit.signal_name)/\(.last_exit.signal)"')" = signal/SIGKILL/9
[ "$(jget "$BODY" .last_exit.cause)" = signal ] || diag "v1's last exit: $(jget "$BODY" '.last_exit|tojson')"
# A stop, a start and this kill can fall in one second: the exit's time has
# its milliseconds, or vdcd would take the crash for the stop's exit.
check "the last exit's time has its milliseconds" \
	eval '[[ "$(jget "$BODY" .last_exit.at)" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]]'
vdc vm show v1 >"$TMP/show.out" 2>&1
check "vdc vm show says the last exit was SIGKILL, and why placement chose its host" \
	eval 'grep -qE "^last exit +signal SIGKILL at .*: QEMU was killed by signal 9" "$TMP/show.out" && grep -qE "^  why +chosen" "$TMP/show.out"'
grep -q "^last exit" "$TMP/show.out" || diag "vdc vm show: $(cat "$TMP/show.out")"
mapi GET /api/v1/datastores/local
check "a datastore shows the hosts that reach it" test "$(jget "$BODY" '.hosts | length')" = 2
check "a datastore shows capacity and free space" test "$(jget "$BODY" .capacity_bytes)" -gt 0 -a "$(jget "$BODY" .free_bytes)" -gt 0

# Bad input, each naming its field; nothing created.
while IFS= read -r line; do
	body=${line% @@ *}
	field=${line##* @@ }
	mapi POST /api/v1/vms "$body"
	if [ "$STATUS" = 400 ] && [ "$(jget "$BODY" '.error.field // empty')" = "$field" ]; then
		ok "400 naming $field for $body"
	else
		not_ok "400 naming $field for $body (got $STATUS $BODY)"
	fi
done <<'EOF2'
{"template":"tiny"} @@ name
{"name":"a b","template":"tiny"} @@ name
{"name":"x","template":"tiny","colour":"red"} @@ colour
{"name":"x","template":"nope"} @@ template
{"name":"x","template":"tiny","vcpus":"2"} @@ vcpus
{"name":"x","template":"tiny","networks":["nonet"]} @@ networks[0]
{"name":"x","template":"tiny","cluster":"nocluster"} @@ cluster
{"name":"x","template":"tiny","placement":{"affinty":["g"]}} @@ placement.affinty
EOF2
mapi POST /api/v1/clusters '{"name":"c2","policy":"fastest"}'
check "a bad cluster policy is 400 naming policy" test "$STATUS/$(jget "$BODY" .error.field)" = 400/policy
mapi POST /api/v1/networks '{"name":"n2","bridge":"br0","vlan":5000}'
check "a VLAN out of range is 400 naming vlan" test "$STATUS/$(jget "$BODY" .error.field)" = 400/vlan
mapi GET '/api/v1/vms?limit=0'
check "a bad page size is 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/limit
mapi GET /api/v1/vms/x
check "no VM was created by bad input" test "$STATUS" = 404

# guest_ready VM N: until the VM's console (through vdcd) shows the guest's
# readiness line N times (60 s). A stop sent before the guest's ACPI daemon
# runs is not seen, and waits out its whole timeout (60 s) before the hard
# stop.
guest_ready() {
	local i
	for i in $(seq 1 300); do
		mapi GET "/api/v1/vms/$1/console"
		[ "$(grep -c VDC-GUEST-READY <<<"$BODY")" -ge "$2" ] && return 0
		sleep 0.2
	done
	diag "the console of $1 did not show VDC-GUEST-READY x$2 in 60 s"
	return 1
}

# vdcd dies (SIGKILL, by its crash points) in the middle of tasks; each crash
# is shown to happen where named (crash_at), and after the restart the task
# is run again to its end: no VM lost, none running twice.
# In a create, after the host made the VM, before vdcd recorded it.
vdcd_stop
crash_at task:vm.create:after_agent vdcd any --heartbeat-timeout-s 4 -- \
	mapi POST /api/v1/vms '{"name":"v5","template":"tiny"}'
v5_id=$(jget "$BODY" .vm.id)
vdcd_start --heartbeat-timeout-s 4
t5=$(requeued_task vm.create)
check "after the crash the unfinished create task is queued again" test -n "$t5"
task_wait "$t5"
check "after the crash the create task finishes" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/v5
check "v5 is running" test "$(jget "$BODY" .power_state)" = running
check "exactly one QEMU runs for v5" test "$(qemu_count "$v5_id")" = 1
v5_host=$(jget "$BODY" .placement.host)

# Right after a worker claimed a stop, before it did anything.
guest_ready v5 1
vdcd_stop
crash_at task:claimed vdcd any --heartbeat-timeout-s 4 -- mapi POST /api/v1/vms/v5/stop '{"timeout_s":60}'
vdcd_start --heartbeat-timeout-s 4
t5=$(requeued_task vm.stop)
check "after the crash the claimed stop task is queued again" test -n "$t5"
task_wait "$t5"
mapi GET /api/v1/vms/v5
check "after the crash the stop finishes: v5 stopped" test "$TASK_STATE/$(jget "$BODY" .power_state)" = succeeded/stopped
check "no QEMU is left for v5" test "$(qemu_count "$v5_id")" = 0

# After the host started the VM, before vdcd recorded the task's end: the
# start is run again and must not start a second QEMU.
vdcd_stop
crash_at task:before_finish vdcd any --heartbeat-timeout-s 4 -- mapi POST /api/v1/vms/v5/start
check "... by then the host had started v5 (one QEMU)" test "$(qemu_count "$v5_id")" = 1
vdcd_start --heartbeat-timeout-s 4
t5=$(requeued_task vm.start)
check "after the crash the unfinished start task is queued again" test -n "$t5"
task_wait "$t5"
mapi GET /api/v1/vms/v5
check "after the crash the start finishes: v5 running" test "$TASK_STATE/$(jget "$BODY" .power_state)" = succeeded/running
check "still exactly one QEMU runs for v5" test "$(qemu_count "$v5_id")" = 1
guest_ready v5 2
mapi POST /api/v1/vms/v5/stop '{"timeout_s":60}'
task_wait "$(jget "$BODY" .task.id)"

# In a delete, after the host removed the VM, before vdcd forgot it and gave
# its resources back.
vdcd_stop
crash_at task:vm.delete:after_agent vdcd any --heartbeat-timeout-s 4 -- mapi DELETE /api/v1/vms/v5
api "$v5_host" GET "/api/v1/vms/$v5_id"
check "... by then the host had removed v5 (404 on $v5_host)" test "$STATUS" = 404
vdcd_start --heartbeat-timeout-s 4
t5=$(requeued_task vm.delete)
check "after the crash the unfinished delete task is queued again" test -n "$t5"
task_wait "$t5"
check "after the crash the delete task finishes" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/v5
check "v5 is gone from vdcd" test "$STATUS" = 404
check "no QEMU is left for v5" test "$(qemu_count "$v5_id")" = 0

mapi DELETE "/api/v1/vms/v2?force=true"
task_wait "$(jget "$BODY" .task.id)"
check "delete removes the VM from its host" test "$TASK_STATE" = succeeded
mapi GET /api/v1/events?limit=1000
check "the audit log records creates and deletes" test -n "$(jget "$BODY" '.items[] | select(.action=="vm.create" and .outcome=="succeeded") | .id' | head -1)"
mapi GET /metrics
check "metrics count hosts by state" grep -q 'vdcd_hosts{state="connected"} 2' <<<"$BODY"
check "metrics count API requests" grep -q 'vdcd_http_requests_total' <<<"$BODY"
check "metrics count the library's images by state (5 active)" grep -q 'vdcd_images{state="active"} 5' <<<"$BODY"

# A host that stops heartbeating goes disconnected.
mapi GET /api/v1/hosts/h2
h2_id=$(jget "$BODY" .id)
agent_kill9 h2
for _ in $(seq 1 150); do
	mapi GET /api/v1/hosts/h2
	[ "$(jget "$BODY" .state)" = disconnected ] && break
	sleep 0.1
done
check "a silent host is disconnected" test "$(jget "$BODY" .state)" = disconnected
mapi DELETE /api/v1/hosts/h2
check "a host that still holds VMs is not removed (409)" test "$STATUS" = 409
host_join h3 c1 || not_ok "h3 joins"
host_connected h3
h3_id=$(jget "$BODY" .id)
h3_secret=$(jq -r .host_secret "$(dir_of h3)/st/manager.json")
mapi DELETE /api/v1/hosts/h3
check "a host without VMs is removed" test "$STATUS" = 204
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" -X POST -H "Authorization: Bearer $h3_secret" \
	"$MGR_URL/api/v1/hosts/$h3_id/heartbeat" -d '{"cpus":1,"memory_mib":1}')
check "a removed host's secret no longer works (401)" test "$STATUS" = 401
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" "$MGR_URL/api/v1/no-such-route")
check "unknown routes need a token too (401)" test "$STATUS" = 401

mapi GET /api/v1/events?limit=1000
flaps=$(jq -r --arg h2 "$h2_id" '[.items[] | select(.action=="host.disconnect" and .target_id!=$h2)] | length' <<<"$BODY")
check "no heartbeating host was ever marked disconnected ($flaps times)" test "$flaps" = 0
check "vdcd stops cleanly (exit 0)" vdcd_stop
finish
