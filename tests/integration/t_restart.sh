#!/usr/bin/env bash
# t_restart.sh - the agent is killed (-9) while VMs run, while a QEMU dies,
# and dies at every crash point of define, delete and start: VMs keep running, the
# restarted agent re-attaches with the same state, nothing is half-made, and
# no VM ever runs twice.
source "$(dirname "$0")/lib.sh"

host_up h1 || { not_ok "agent starts"; finish; exit 1; }

for vm in a:21 b:22; do
	api h1 POST '/api/v1/vms?start=true' "$(guest_spec "${vm%:*}" "10.213.0.${vm#*:}")"
	[ "$STATUS" = 201 ] || diag "create ${vm%:*}: $STATUS $BODY"
done
check "two VMs boot" wait_console h1 a VDC-GUEST-READY 60
wait_console h1 b VDC-GUEST-READY 60 >/dev/null
pid_a=$(qemu_pid_of h1 a)
pid_b=$(qemu_pid_of h1 b)
uuid_a=$(vm_field h1 a .uuid)

agent_kill9 h1
check "VM a keeps running when the agent is killed" kill -0 "$pid_a"
check "VM b keeps running when the agent is killed" kill -0 "$pid_b"
check "VM a still answers on the network without its agent" test "$(guest_req h1 10.213.0.21 ping)" = pong

check "the agent restarts" agent_start h1
check "a is re-attached running with the same QEMU" test "$(vm_field h1 a .state)/$(qemu_pid_of h1 a)" = "running/$pid_a"
check "b is re-attached running with the same QEMU" test "$(vm_field h1 b .state)/$(qemu_pid_of h1 b)" = "running/$pid_b"
api h1 POST /api/v1/vms/a/reset
check "the console is re-attached (a reboot shows up)" wait_console h1 a VDC-GUEST-READY 60 2
api h1 POST /api/v1/vms/b/pause
check "QMP is re-attached (pause works)" test "$(jget "$BODY" .state)" = paused
api h1 POST /api/v1/vms/b/resume
api h1 POST /api/v1/vms/a/stop '{"timeout_s":60}'
check "a re-attached VM stops cleanly" \
	bash -c 'case $1 in "200/the guest powered off, asked "*) ;; *) exit 1 ;; esac' _ "$STATUS/$(jget "$BODY" .last_exit.reason)"

kill -9 "$pid_b"
for _ in $(seq 1 50); do [ "$(vm_field h1 b .state)" = crashed ] && break; sleep 0.1; done
check "a re-attached QEMU killed -9 is reported crashed" test "$(vm_field h1 b .state)" = crashed
check "the crash has a reason" grep -q "without a shutdown event" <<<"$(vm_field h1 b .last_exit.reason)"

# QEMU dies while the agent is down.
api h1 POST /api/v1/vms/b/start
wait_console h1 b VDC-GUEST-READY 60 2 >/dev/null
pid_b=$(qemu_pid_of h1 b)
agent_kill9 h1
kill -9 "$pid_b"
wait_dead "$pid_b"
agent_start h1
check "a QEMU that died while the agent was down is reported crashed" test "$(vm_field h1 b .state)" = crashed
check "... with the reason" grep -q "while the agent was not running" <<<"$(vm_field h1 b .last_exit.reason)"
check "... and its cgroup is cleaned up" bash -c "! ls -d /sys/fs/cgroup/*/vdct$$h1/b /sys/fs/cgroup/vdct$$h1/b 2>/dev/null | grep -q ."
api h1 POST /api/v1/vms/b/start
check "a crashed VM starts again" test "$STATUS/$(jget "$BODY" .state)" = 200/running
api h1 POST /api/v1/vms/b/destroy
check "destroy powers off hard" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped
agent_stop h1

# Crash points of define: before the commit nothing remains, after it the VM
# does. crash_at shows the agent died at each point (its log, SIGKILL by
# itself, the define's reply lost).
for point in define:after_intent define:after_disks define:after_commit; do
	crash_at "$point" h1 lost -- api h1 POST /api/v1/vms "$(guest_spec c | jq -c '.disks=[{name:"d",image:"guest-disk"}]')"
	agent_start h1
	api h1 GET /api/v1/vms/c
	if [ "$point" = define:after_commit ]; then
		check "crash at $point: the VM is defined, stopped" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped
		check "crash at $point: its disk exists" test -f "$(dir_of h1)/ds/c/d.qcow2"
		check "crash at $point: its disk still names its image" test "$(vm_field h1 c '.spec.disks[0].image')" = guest-disk
		check "crash at $point: ... and is a clone of the agent's copy" \
			grep -q "backing file: $(dir_of h1)/ds/images/guest-disk" <(qemu-img info -U "$(dir_of h1)/ds/c/d.qcow2")
		api h1 DELETE /api/v1/vms/c
	else
		check "crash at $point: the VM does not exist" test "$STATUS" = 404
		check "crash at $point: no disk is left" test ! -e "$(dir_of h1)/ds/c"
		check "crash at $point: no state is left" test ! -e "$(dir_of h1)/st/vms/c"
	fi
	agent_stop h1
done

# Crash point of delete: the delete is finished at the next start.
agent_start h1
api h1 POST /api/v1/vms "$(guest_spec d | jq -c '.disks=[{name:"d",image:"guest-disk"}]')"
agent_stop h1
crash_at delete:after_intent h1 lost -- api h1 DELETE /api/v1/vms/d
agent_start h1
api h1 GET /api/v1/vms/d
check "crash in delete: the VM is gone" test "$STATUS" = 404
check "crash in delete: its disk is gone" test ! -e "$(dir_of h1)/ds/d"
agent_stop h1

# Crash points of start: the QEMU that was started is adopted, never doubled.
for point in start:before_pidfile start:after_spawn; do
	agent_start h1
	api h1 POST /api/v1/vms "$(guest_spec e 10.213.0.25)"
	uuid=$(jget "$BODY" .uuid)
	agent_stop h1
	crash_at "$point" h1 lost -- api h1 POST /api/v1/vms/e/start
	agent_start h1
	check "crash at $point: the VM is adopted running" test "$(vm_field h1 e .state)" = running
	check "crash at $point: the guest boots" wait_console h1 e VDC-GUEST-READY 60
	check "crash at $point: exactly one QEMU runs for the VM" test "$(qemu_count "$uuid")" = 1
	api h1 POST /api/v1/vms/e/start
	check "crash at $point: a second start is refused (409)" test "$STATUS" = 409
	check "crash at $point: still one QEMU" test "$(qemu_count "$uuid")" = 1
	api h1 DELETE '/api/v1/vms/e?force=true'
	check "crash at $point: forced delete removes it" test "$STATUS" = 204
	check "crash at $point: no QEMU is left" test "$(qemu_count "$uuid")" = 0
	agent_stop h1
done

agent_start h1
api h1 DELETE /api/v1/vms/a
api h1 DELETE /api/v1/vms/b
check "the agent stops cleanly (exit 0)" agent_stop h1
finish
