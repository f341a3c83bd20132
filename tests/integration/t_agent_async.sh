#!/usr/bin/env bash
# t_agent_async.sh - a QEMU that stops answering QMP holds up its own VM's
# operation, nothing else: with one VM's QEMU frozen (SIGSTOP), the agent's
# API and an operation on another VM answer at once, the frozen VM's pause
# ends in a timeout error naming the VM and the command, and once QEMU runs
# again (SIGCONT) the VM is usable.
# AGENT_QMP_FLAGS: the agent's QMP timeout flags (empty to run against an
# agent that has no such flag, which then waits its built-in 30 s).
source "$(dirname "$0")/lib.sh"

read -ra qmp_flags <<<"${AGENT_QMP_FLAGS---qmp-timeout-ms 3000}"
host_up h1 "${qmp_flags[@]}" || { not_ok "agent starts"; finish; exit 1; }

api h1 POST '/api/v1/vms?start=true' "$(guest_spec a1 10.213.0.61)"
check "a1 starts" test "$STATUS/$(jget "$BODY" .state)" = 201/running
api h1 POST '/api/v1/vms?start=true' "$(guest_spec a2 10.213.0.62)"
check "a2 starts" test "$STATUS/$(jget "$BODY" .state)" = 201/running
pid1=$(qemu_pid_of h1 a1)

# ms_of CMD...: runs CMD, and sets MS to how long it took.
ms_of() {
	local t0
	t0=$(date +%s%N)
	"$@"
	MS=$((($(date +%s%N) - t0) / 1000000))
}

kill -STOP "$pid1"
diag "a1's QEMU (pid $pid1) is stopped"
# The pause of a1 waits on QEMU: in the background, with files of its own
# (api's are shared by every call).
in_ns h1 curl -s -o "$TMP/pause.body" -w '%{http_code}' --max-time 120 -X POST \
	-H "Authorization: Bearer $TOKEN" http://127.0.0.1:7441/api/v1/vms/a1/pause >"$TMP/pause.status" &
bg=$!
started=$SECONDS
sleep 0.3

ms_of api h1 GET /api/v1/host
check "GET /api/v1/host answers meanwhile ($MS ms)" test "$STATUS" = 200 -a "$MS" -lt 1000
ms_of api h1 GET /api/v1/vms
check "the VM list answers meanwhile ($MS ms)" test "$STATUS" = 200 -a "$MS" -lt 1000
check "... with both VMs" test "$(jget "$BODY" '[.vms[].name] | join(",")')" = a1,a2
ms_of api h1 POST /api/v1/vms/a2/pause
check "a2 pauses meanwhile ($MS ms)" test "$STATUS/$(jget "$BODY" .state)" = 200/paused -a "$MS" -lt 1000
ms_of api h1 POST /api/v1/vms/a2/resume
check "a2 resumes meanwhile ($MS ms)" test "$STATUS/$(jget "$BODY" .state)" = 200/running -a "$MS" -lt 1000

wait "$bg"
took=$((SECONDS - started))
status=$(cat "$TMP/pause.status")
body=$(cat "$TMP/pause.body")
diag "a1's pause: $status $body"
check "a1's pause ends in a timeout error" test "$status/$(jget "$body" .error.code)" = 504/qmp_timeout
check "... after the QMP timeout, not never ($took s)" test "$took" -ge 2 -a "$took" -le 15
check "... naming the VM and the command" \
	bash -c 'grep -q "VM '"'"'a1'"'"'" <<<"$1" && grep -q "'"'"'stop'"'"'" <<<"$1"' _ "$(jget "$body" .error.message)"
check "... and saying what to do" grep -q "destroy the VM" <<<"$(jget "$body" .error.message)"

kill -CONT "$pid1"
# The pause QEMU got late may still take effect: a1 settles paused.
for _ in $(seq 1 50); do [ "$(vm_field h1 a1 .state)" = paused ] && break; sleep 0.1; done
state=$(vm_field h1 a1 .state)
diag "a1 after SIGCONT: $state"
[ "$state" = paused ] && api h1 POST /api/v1/vms/a1/resume
check "a1 runs again after SIGCONT" test "$(vm_field h1 a1 .state)" = running
api h1 POST /api/v1/vms/a1/pause
check "a1 pauses again" test "$STATUS/$(jget "$BODY" .state)" = 200/paused
api h1 POST /api/v1/vms/a1/resume
check "a1 resumes again" test "$STATUS/$(jget "$BODY" .state)" = 200/running
api h1 POST /api/v1/vms/a1/stop '{"timeout_s":20}'
check "a1 stops" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped

api h1 POST /api/v1/vms/a2/destroy
api h1 DELETE /api/v1/vms/a1
api h1 DELETE /api/v1/vms/a2
check "the agent stops cleanly (exit 0)" agent_stop h1
finish
