# 87-guest-agent.sh - the guest agent's channel (virtio-serial to qemu-ga)
# is the guest's to write: a guest that kills its qemu-ga and floods the
# channel with oversized and malformed JSON costs its host's agent a
# bounded buffer and one log line a poll, nothing more (the VM runs on, the
# agent answers at once, vdcd says the VM has no guest agent, a stop falls
# back to ACPI); the channel's host socket is out of the VM's identity's
# reach; and another project never sees what a guest reports.
# shellcheck shell=bash

mgr_guest_template ga-tpl "$T_A" '.memory_mib = 192'
as "$T_A" POST /api/v1/vms '{"name":"ga-h","template":"ga-tpl"}'
task_wait "$(jget "$BODY" .task.id)"
as "$T_A" GET /api/v1/vms/ga-h
GA_ID=$(jget "$BODY" .id)
GA_NAME=$(jget "$BODY" '.config.agent_name // .name')
ga_ip() { # the address on the guest's readiness line, as alice sees its console
	local end=$((SECONDS + 90)) ip
	while [ $SECONDS -lt $end ]; do
		as "$T_A" GET "/api/v1/vms/ga-h/console?bytes=65536"
		ip=$(grep -o 'VDC-GUEST-READY .*' <<<"$BODY" | tail -1 | sed -n 's/.* ip=\([^ \r]*\).*/\1/p')
		[ -n "$ip" ] && { echo "$ip"; return 0; }
		sleep 0.5
	done
	return 1
}
GA_IP=$(ga_ip)
ga_wait() { # ga_wait JQ_TEST TIMEOUT_S: until alice's view of the VM passes it
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		as "$T_A" GET /api/v1/vms/ga-h
		[ "$(jget "$BODY" "$1")" = true ] && return 0
		sleep 0.5
	done
	return 1
}
ga_wait '.guest.agent == true' 60
attack GA-0 "(set-up) the guest's qemu-ga answers: vdcd shows its address ($GA_IP)" \
	test "$(jget "$BODY" '.guest.agent')" = true
GA_UID=$(vm_field h1 "$GA_NAME" .identity.uid)
GA_SOCK=$(find "$(dir_of h1)/run" -path "*$GA_NAME*" -name qga.sock | head -1)
attack GA-1 "the VM's identity (uid $GA_UID) connects to its guest agent socket on the host: EACCES" \
	test "$(probe_as "$GA_UID" sock "$GA_SOCK")" = EACCES
as "$T_B" GET "/api/v1/vms/$GA_ID"
attack GA-2 "another project's operator reads the VM's guest report: 404" test "$STATUS" = 404
bad0=$(grep -c 'qga_bad_reply' "$(dir_of h1)/agent.log")
attack GA-3 "(set-up) the guest kills its qemu-ga and floods the channel" test "$(guest_req h1 "$GA_IP" 'qga flood')" = ok
# A poll round (every 30 s) meets the flood: the agent's API is timed all
# along, until vdcd says the VM has no guest agent.
max=0 calls=0 end=$((SECONDS + 50))
while [ $SECONDS -lt $end ]; do
	ms=$(agent_answer_ms h1)
	calls=$((calls + 1))
	[ "${ms:-99999}" -gt $max ] && max=${ms:-99999}
	as "$T_A" GET /api/v1/vms/ga-h
	[ "$(jget "$BODY" .guest.agent)" = false ] && break
	sleep 0.3
done
attack GA-3 "a flooding guest: vdcd shows no guest agent ($(jget "$BODY" .guest.error))" \
	test "$(jget "$BODY" .guest.agent)" = false
attack GA-4 "... its host's agent answered within 1 s all along ($calls calls, slowest $max ms)" test "$max" -lt 1000
attack GA-5 "... the VM runs on" test "$(vm_field h1 "$GA_NAME" .state)" = running
bad1=$(grep -c 'qga_bad_reply' "$(dir_of h1)/agent.log")
attack GA-6 "... the refused lines are logged, one line per poll, not one per junk line ($((bad1 - bad0)))" \
	test $((bad1 - bad0)) -ge 1 -a $((bad1 - bad0)) -le 4
as "$T_A" POST /api/v1/vms/ga-h/stop '{"timeout_s":60}'
task_wait "$(jget "$BODY" .task.id)" 90
attack GA-7 "... and it stops by the ACPI button: $(jget "$BODY" .message)" \
	test "$TASK_STATE/$(jget "$BODY" .result.stop_via)" = succeeded/acpi
as "$T_A" DELETE "/api/v1/vms/$GA_ID?force=true"
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" DELETE /api/v1/templates/ga-tpl
