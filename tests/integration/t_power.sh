#!/usr/bin/env bash
# t_power.sh - what power operations and reverts say is what happened,
# through vdcd and the CLI: a reset of a stopped VM is refused (as a pause
# is), a running VM is deleted only with --force, a stop that had to power
# off says so, a revert to a snapshot that no longer fits the VM's hardware
# is refused with why (and a resize warns of it), a revert that fails
# anyway leaves vdcd showing the VM's real state at once, and a revert to a
# missing snapshot is "not found".
source "$(dirname "$0")/lib.sh"

fabric_up
vdcd_start --heartbeat-timeout-s 60 || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":8,"mem_overcommit":2}'
host_join h1 c1 || { not_ok "h1 joins"; finish; exit 1; }
hosts_connected 1
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=160'
# A guest that ignores the power button: with ACPI off its kernel never
# sees it, so only a forced power-off ends it.
mgr_guest_template deaf "$ADMIN_TOKEN" '.memory_mib=160 | .cmdline += " acpi=off"'
check "the templates are made" test "$STATUS" = 201

VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP" >/dev/null 2>&1 ||
	not_ok "vdc login"

# vm_doc NAME: vdcd's document of the VM into BODY.
vm_doc() { mapi GET "/api/v1/vms/$1"; }
# agent_state NAME: the VM's state as its host says (not vdcd's view).
agent_state() {
	local id
	id=$(mapi GET "/api/v1/vms/$1" && jget "$BODY" .config.agent_name)
	api h1 GET "/api/v1/vms/$id"
	jget "$BODY" .state
}
# wait_ready NAME: the guest finished booting (its console says so).
wait_ready() {
	local _
	for _ in $(seq 1 300); do
		mapi GET "/api/v1/vms/$1/console"
		grep -q VDC-GUEST-READY <<<"$BODY" && return 0
		sleep 0.2
	done
	diag "$1 did not get ready"
	return 1
}
# mark: remembers the tasks there are now; last_task OP NAME: the task of
# OP on the VM made since (the newest, if more), into BODY.
mark() { mapi GET "/api/v1/tasks?limit=1000"; jq -r '.items[].id' <<<"$BODY" >"$TMP/seen"; }
last_task() {
	local id
	id=$(mapi GET "/api/v1/vms/$2" && jget "$BODY" .id)
	mapi GET "/api/v1/tasks?op=$1&target_id=$id&limit=1000"
	BODY=$(jq -c --rawfile seen "$TMP/seen" \
		'[.items[] | select(.id as $i | ($seen | split("\n") | index($i)) | not)] | last' <<<"$BODY")
}

# --- reset of a stopped VM: refused, as pause is ----------------------------
vdc vm create r1 --template tiny --no-start >/dev/null 2>&1
vm_doc r1
check "r1 is made stopped" test "$(jget "$BODY" .power_state)" = stopped
mark
vdc vm pause r1 >"$TMP/pause.out" 2>&1
pause_rc=$?
last_task vm.pause r1
pause_code=$(jget "$BODY" .error.code)
mark
vdc vm reset r1 >"$TMP/reset.out" 2>&1
reset_rc=$?
diag "reset of a stopped VM: exit $reset_rc: $(head -1 "$TMP/reset.out")"
check "vdc vm reset of a stopped VM fails (as pause does: exit $pause_rc)" test "$reset_rc" != 0 -a "$reset_rc" = "$pause_rc"
check "it does not claim to have reset it" test "$(grep -c 'r1 reset' "$TMP/reset.out")" = 0
check "it says the VM is stopped" grep -q stopped "$TMP/reset.out"
last_task vm.reset r1
check "the reset task failed with pause's code ($pause_code)" \
	test "$(jget "$BODY" .state)/$(jget "$BODY" .error.code)" = "failed/$pause_code"
vm_doc r1
check "the refused pause and reset leave r1 stopped, as desired, in sync" \
	test "$(jget "$BODY" .power_state)/$(jget "$BODY" .desired_state)/$(jget "$BODY" .in_sync)" = stopped/stopped/true
api h1 POST "/api/v1/vms/$(jget "$BODY" .config.agent_name)/reset"
check "the agent refuses the reset of a stopped VM (409 invalid_state)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 409/invalid_state

# --- a clean stop is told as one; delete of a running VM needs --force ----
vdc vm start r1 >/dev/null 2>&1
wait_ready r1
vdc vm delete r1 >"$TMP/del.out" 2>&1
del_rc=$?
diag "delete of a running VM: exit $del_rc: $(head -1 "$TMP/del.out")"
check "vdc vm delete of a running VM is refused (exit 4)" test "$del_rc" = 4
check "the refusal says to stop it first or use --force" grep -q -- "--force" "$TMP/del.out"
mapi DELETE /api/v1/vms/r1
check "DELETE of a running VM is 409 invalid_state, naming ?force=true" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.message | grep -c 'force=true')" = 409/invalid_state/1
vm_doc r1
r1_id=$(jget "$BODY" .id)
check "r1 is still there and running" test "$(jget "$BODY" .power_state)/$(qemu_count "$r1_id")" = running/1
mark
vdc vm stop r1 >"$TMP/stop.out" 2>&1
check "a stop the guest honours prints 'vm r1 stopped'" grep -qx "vm r1 stopped" "$TMP/stop.out"
last_task vm.stop r1
check "its task says it was not forced" test "$(jget "$BODY" '.result.forced // false')" = false
vdc vm start r1 >/dev/null 2>&1
vdc vm delete r1 --force >"$TMP/del.out" 2>&1
check "vdc vm delete --force deletes a running VM" test $? = 0
check "its QEMU is gone" test "$(qemu_count "$r1_id")" = 0
mapi GET /api/v1/vms/r1
check "and vdcd has it no more" test "$STATUS" = 404

# --- a forced power-off is told as one -------------------------------------
vdc vm create d1 --template deaf >/dev/null 2>&1
wait_ready d1
mark
vdc vm stop d1 --timeout 12 >"$TMP/stop.out" 2>&1
stop_rc=$?
diag "stop of a guest that ignores ACPI: exit $stop_rc: $(tr '\r' '\n' <"$TMP/stop.out" | tail -1)"
check "a stop that timed out says it powered off, and why" \
	grep -qx "vm d1 powered off (forced: the guest did not shut down within 12 s)" <(tr '\r' '\n' <"$TMP/stop.out")
last_task vm.stop d1
check "its task result says forced, with the reason" \
	test "$(jget "$BODY" .result.forced)/$(jget "$BODY" .result.reason)" = "true/the guest did not shut down within 12 s"
# A guest may miss the first press (one still booting has no ACPI listener
# yet): the agent presses the power button again every 10 s of the timeout.
vm_doc d1
check "the agent pressed the power button again 10 s into the stop" \
	grep -q "vm_stop_press_again.*vm=$(jget "$BODY" .id)" "$(dir_of h1)/agent.log"
vm_doc d1
check "d1 is stopped" test "$(jget "$BODY" .power_state)" = stopped
vdc vm delete d1 >/dev/null 2>&1
check "a stopped VM is deleted without --force" test $? = 0

# --- snapshots and the VM's hardware ----------------------------------------
vdc vm create s1 --template tiny --vcpus 2 --memory-mib 256 >/dev/null 2>&1
wait_ready s1
vdc vm snapshot s1 ram1 >/dev/null 2>&1
check "a live snapshot (with RAM) is taken at 2 vCPUs / 256 MiB" test $? = 0
vdc vm revert s1 nosuch >"$TMP/rev.out" 2>&1
rev_rc=$?
diag "revert to a missing snapshot: exit $rev_rc: $(head -1 "$TMP/rev.out")"
check "vdc vm revert to a missing snapshot exits 3 (not found)" test "$rev_rc" = 3
check "it names the missing snapshot" grep -q "nosuch" "$TMP/rev.out"
mapi GET /api/v1/vms/s1/snapshots
check "the snapshot list shows the hardware ram1 was taken with" \
	test "$(jget "$BODY" '.snapshots[] | select(.name=="ram1") | "\(.vcpus)/\(.memory_mib)"')" = 2/256
vdc vm stop s1 >/dev/null 2>&1
mark
vdc vm resize s1 --vcpus 1 --memory-mib 320 >"$TMP/resize.out" 2>&1
check "the resize succeeds" test $? = 0
diag "resize: $(cat "$TMP/resize.out")"
check "the resize warns that ram1 can no longer be reverted to with RAM" grep -q "warning: .*ram1" "$TMP/resize.out"
last_task vm.resize s1
check "the resize task's result carries the warning" \
	test "$(jget "$BODY" '.result.warnings | map(select(contains("ram1"))) | length')" = 1
vdc vm start s1 >/dev/null 2>&1
wait_ready s1
mark
vdc vm revert s1 ram1 >"$TMP/rev.out" 2>&1
rev_rc=$?
diag "revert to a snapshot of other hardware: exit $rev_rc: $(cat "$TMP/rev.out")"
check "a revert to a RAM snapshot of other hardware is refused" test "$rev_rc" != 0
last_task vm.snapshot_revert s1
check "the task says why: snapshot_incompatible, the hardware, what to do" \
	test "$(jget "$BODY" .error.code)/$(jget "$BODY" .error.message | grep -c '2 vCPUs.*256 MiB.*resize')" = snapshot_incompatible/1
check "the refused revert leaves s1 running (agent)" test "$(agent_state s1)" = running
vm_doc s1
check "and vdcd says so, in sync" test "$(jget "$BODY" .power_state)/$(jget "$BODY" .in_sync)" = running/true

# A RAM snapshot whose hardware is not recorded (taken by an agent before
# the record existed): the revert is tried, fails in QEMU, and vdcd shows
# the VM as the host has it right away, not at the next heartbeat (60 s).
vm_doc s1
rm -f "$(dir_of h1)/st/vms/$(jget "$BODY" .config.agent_name)/snapshots.json"
vdc vm revert s1 ram1 >"$TMP/rev.out" 2>&1
diag "revert that fails in QEMU: $(cat "$TMP/rev.out")"
real=$(agent_state s1)
vm_doc s1
check "after a failed revert vdcd shows the host's state ($real) at once" \
	test "$(jget "$BODY" .power_state)" = "$real" -a "$real" != ""
check "it is not shown in sync when it is not running" \
	test "$real" = running -o "$(jget "$BODY" .in_sync)" = false
check "the failure says what state the VM is left in" grep -q "$real" "$TMP/rev.out"
vdc vm delete s1 --force >/dev/null 2>&1
check "s1 is deleted" test $? = 0

check "vdcd stops cleanly" vdcd_stop
check "the agent stops cleanly" agent_stop h1
finish
