#!/usr/bin/env bash
# t_guest_agent.sh - the guest agent (issue 15), on one namespace host
# through vdcd, with the real test guest (qemu-ga on its virtio-serial
# port org.qemu.guest_agent.0): the VM's hostname, OS and the address the
# test reaches it by appear on the VM (API, vdc vm show, vdc vm list); a
# stop goes through the guest agent and says so; a guest agent that goes
# silent (SIGSTOP) never slows the agent's API and shows agent false; a
# guest that floods its channel with oversize and malformed JSON (its
# qemu-ga killed) costs nothing but that: the VM runs on, and stops by the
# ACPI button, which the stop's message says.
source "$(dirname "$0")/lib.sh"

fabric_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
host_join h1 c1 || { not_ok "h1 joins"; finish; exit 1; }
hosts_connected 1 || not_ok "h1 connects"
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
check "vdc logs in" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"
mgr_guest_template ga "$ADMIN_TOKEN" '.memory_mib=192'

start_vm() {
	mapi POST "/api/v1/vms/ga/start" '{}'
	task_wait "$(jget "$BODY" .task.id)" 120
}
# guest_wait JQ_TEST TIMEOUT_S: until vdcd's VM document passes the test.
guest_wait() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		mapi GET /api/v1/vms/ga
		[ "$(jget "$BODY" "$1")" = true ] && return 0
		sleep 0.5
	done
	diag "vdcd's guest report: $(jget "$BODY" .guest)"
	return 1
}

mapi POST /api/v1/vms '{"name":"ga","template":"ga","start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a VM of the test guest starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/ga
VM=$(jget "$BODY" .id)
line=$(pgrep -af "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $(vm_field h1 "$VM" .uuid)( |\$)" | head -1)
check "its QEMU has the guest agent's virtio-serial port" \
	grep -q 'virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0' <<<"$line"
SOCK=$(dirname "$(find "$(dir_of h1)/run" -name qga.sock | head -1)")
check "... on a socket in the VM's run dir that only root reaches (0700 dir)" \
	test -S "$SOCK/qga.sock" -a "$(stat -c %a:%u "$SOCK")" = 700:0
IP=$(ready_ip ga)
check "the guest is ready ($IP)" test -n "$IP"

t0=$SECONDS
guest_wait '.guest.agent == true and (.guest.interfaces // [] | length) > 0' 60
check "vdcd shows its guest agent answering ($((SECONDS - t0)) s after ready)" test "$(jget "$BODY" .guest.agent)" = true
check "... its hostname (vdc-guest)" test "$(jget "$BODY" .guest.hostname)" = vdc-guest
check "... its OS (guest-get-osinfo: the guest's /etc/os-release)" \
	test "$(jget "$BODY" '.guest.os.id + "/" + .guest.os.kernel_release')" = "vdc-test-guest/$(cat "$GUEST/kernel-release")"
check "... the address the test reaches it by, on its bridged NIC ($IP)" \
	test "$(jget "$BODY" '[.guest.interfaces[].ips[] | select(startswith("'"$IP"'/"))] | length')" -ge 1
OUT=$(vdc vm show ga 2>&1)
check "vdc vm show prints the guest agent, hostname and address" \
	bash -c 'grep -q "^guest agent *yes" <<<"$0" && grep -q "hostname *vdc-guest" <<<"$0" && grep -q "$1/" <<<"$0"' "$OUT" "$IP"
OUT=$(vdc vm list 2>&1)
check "vdc vm list has an AGENT column that says true" \
	bash -c 'head -1 <<<"$0" | grep -q AGENT && grep "^ga " <<<"$0" | grep -q true' "$OUT"

# ---- stop through the guest agent ---------------------------------------------
mapi POST /api/v1/vms/ga/stop '{"timeout_s":60}'
task_wait "$(jget "$BODY" .task.id)" 90
check "a stop succeeds" test "$TASK_STATE" = succeeded
check "... and its message says the guest agent was asked ($(jget "$BODY" .message))" \
	test "$(jget "$BODY" '.message + "/" + .result.stop_via')" = "the guest powered off, asked through its guest agent/guest_agent"
mapi GET /api/v1/vms/ga
check "... the guest powered off itself (clean, not forced, stop_via guest_agent)" \
	test "$(jget "$BODY" '.power_state + "/" + (.last_exit.clean|tostring) + "/" + (.last_exit.forced // false | tostring) + "/" + .last_exit.stop_via')" = stopped/true/false/guest_agent
wait_console h1 "$VM" 'shutdown through the guest agent \(poweroff\)' 5
check "... through its /sbin/shutdown, run by qemu-ga" grep -q 'shutdown through the guest agent' <<<"$BODY"
guest_wait '.guest.agent == false' 20
check "a stopped VM shows agent false" test "$(jget "$BODY" .guest.agent)" = false

# ---- a silent guest agent: the agent's loop stays responsive ------------------
start_vm
check "it starts again" test "$TASK_STATE" = succeeded
IP=$(ready_ip ga)
guest_wait '.guest.agent == true' 60
check "its guest agent answers again" test "$(jget "$BODY" .guest.agent)" = true
check "the guest's qemu-ga is stopped (SIGSTOP)" test "$(guest_req h1 "$IP" 'qga stop')" = ok
# The next poll (within 30 s) waits on it: the agent's API must not.
max=0 end=$((SECONDS + 50)) calls=0
while [ $SECONDS -lt $end ]; do
	ms=$(agent_answer_ms h1)
	calls=$((calls + 1))
	[ "${ms:-99999}" -gt $max ] && max=${ms:-99999}
	mapi GET /api/v1/vms/ga
	[ "$(jget "$BODY" .guest.agent)" = false ] && break
	sleep 0.3
done
check "vdcd shows agent false once it goes silent ($(jget "$BODY" .guest.error))" test "$(jget "$BODY" .guest.agent)" = false
check "the agent's API answered within 1 s all along ($calls calls, slowest $max ms)" test "$max" -lt 1000
mapi GET '/api/v1/events?limit=200'
check "... with an event vm.guest_agent failed" \
	test "$(jget "$BODY" "[.items[] | select(.action == \"vm.guest_agent\" and .target_id == \"$VM\" and .outcome == \"failed\")] | length")" -ge 1

# ---- a hostile guest floods its channel; stop by ACPI ------------------------
check "the guest kills its qemu-ga and floods the channel with oversize, malformed JSON" \
	test "$(guest_req h1 "$IP" 'qga flood')" = ok
# A poll round (every 30 s) meets the flood, the API timed all along.
max=0 calls=0 end=$((SECONDS + 40))
while [ $SECONDS -lt $end ]; do
	ms=$(agent_answer_ms h1)
	calls=$((calls + 1))
	[ "${ms:-99999}" -gt $max ] && max=${ms:-99999}
	grep -q 'qga_bad_reply' "$(dir_of h1)/agent.log" && [ $calls -gt 20 ] && break
	sleep 0.3
done
check "the VM runs on" test "$(vm_field h1 "$VM" .state)" = running
check "the agent logged the refused reply lines" grep -q 'qga_bad_reply' "$(dir_of h1)/agent.log"
check "... and answered its API within 1 s meanwhile ($calls calls, slowest $max ms)" test "$max" -lt 1000
mapi GET /api/v1/vms/ga
check "vdcd shows agent false" test "$(jget "$BODY" .guest.agent)" = false
mapi POST /api/v1/vms/ga/stop '{"timeout_s":60}'
task_wait "$(jget "$BODY" .task.id)" 90
check "a stop without a guest agent succeeds" test "$TASK_STATE" = succeeded
check "... by the ACPI power button, as its message says ($(jget "$BODY" .message))" \
	test "$(jget "$BODY" .result.stop_via)" = acpi
mapi GET /api/v1/vms/ga
check "... cleanly" test "$(jget "$BODY" '.power_state + "/" + (.last_exit.clean|tostring)')" = stopped/true

finish
