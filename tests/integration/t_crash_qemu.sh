#!/usr/bin/env bash
# t_crash_qemu.sh - a QEMU that dies is reported crashed with its exit
# reason, cleaned up, and can start again; a guest that ignores the power
# button is stopped hard when the stop times out.
source "$(dirname "$0")/lib.sh"

host_up h1 || { not_ok "agent starts"; finish; exit 1; }

api h1 POST '/api/v1/vms?start=true' "$(guest_spec k1 10.213.0.51)"
check "k1 boots" wait_console h1 k1 VDC-GUEST-READY 60
pid=$(qemu_pid_of h1 k1)
tap=$(vm_field h1 k1 '.runtime.taps[0]')
kill -9 "$pid"
for _ in $(seq 1 50); do [ "$(vm_field h1 k1 .state)" = crashed ] && break; sleep 0.1; done
check "a QEMU killed -9 is reported crashed" test "$(vm_field h1 k1 .state)" = crashed
check "the reason names the signal" test "$(vm_field h1 k1 .last_exit.reason)" = "QEMU was killed by signal 9 (Killed)"
check "the exit records the signal number" test "$(vm_field h1 k1 .last_exit.signal)" = 9
check "... its name and the cause, for vdcd and the VM page (signal/SIGKILL)" \
	test "$(vm_field h1 k1 '"\(.last_exit.cause)/\(.last_exit.signal_name)"')" = signal/SIGKILL
check "the crashed VM's tap is gone" bash -c "! ip netns exec $(ns_of h1) test -e /sys/class/net/$tap"
check "the crashed VM's cgroup is gone" bash -c "! ls -d /sys/fs/cgroup/*/vdct$$h1/k1 /sys/fs/cgroup/vdct$$h1/k1 2>/dev/null | grep -q ."
api h1 GET /metrics
check "metrics show the crashed state" grep -q 'vdc_agent_vm_state{vm="k1",state="crashed"} 1' <<<"$BODY"
agent_stop h1
agent_start h1
check "the crash survives an agent restart" test "$(vm_field h1 k1 .state)" = crashed
api h1 POST /api/v1/vms/k1/start
check "a crashed VM starts again" test "$STATUS/$(jget "$BODY" .state)" = 200/running
check "and boots" wait_console h1 k1 VDC-GUEST-READY 60 2
pid=$(qemu_pid_of h1 k1)
kill -TERM "$pid"
for _ in $(seq 1 50); do [ "$(vm_field h1 k1 .state)" = crashed ] && break; sleep 0.1; done
check "a QEMU terminated by someone else is crashed too" test "$(vm_field h1 k1 .state)" = crashed
diag "reason: $(vm_field h1 k1 .last_exit.reason)"

# acpi=off: the guest never sees the power button.
api h1 POST '/api/v1/vms?start=true' "$(guest_spec deaf 10.213.0.52 | jq -c '.boot.cmdline += " acpi=off"')"
check "a guest without ACPI boots" wait_console h1 deaf VDC-GUEST-READY 60
start=$SECONDS
api h1 POST /api/v1/vms/deaf/stop '{"timeout_s":3}'
took=$((SECONDS - start))
check "a stop that times out ends stopped" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped
check "... after the timeout, not before ($took s)" test "$took" -ge 3 -a "$took" -le 10
check "... saying it was forced" grep -q "did not power off in time" <<<"$(jget "$BODY" .last_exit.reason)"
check "... and counted as a clean stop (not a crash)" test "$(jget "$BODY" .last_exit.clean)" = true
check "... marked forced, with why (for vdcd and the CLI to tell)" \
	test "$(jget "$BODY" '"\(.last_exit.forced)/\(.last_exit.forced_reason)"')" = "true/the guest did not shut down within 3 s"
check "... its cause: a stop asked for, forced (stopped_forced)" test "$(jget "$BODY" .last_exit.cause)" = stopped_forced

api h1 POST '/api/v1/vms/deaf/start'
api h1 POST '/api/v1/vms/deaf/stop?wait=false' '{"timeout_s":30}'
check "an asynchronous stop answers 202 stopping" test "$STATUS/$(jget "$BODY" .state)" = 202/stopping
api h1 POST /api/v1/vms/deaf/destroy
check "destroy during a stop powers off at once" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped

api h1 DELETE /api/v1/vms/k1
api h1 DELETE /api/v1/vms/deaf
check "the agent stops cleanly (exit 0)" agent_stop h1
finish
