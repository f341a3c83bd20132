#!/usr/bin/env bash
# t_lifecycle.sh - one VM through its whole life on one host: boot through the
# API, readiness on the console, TCP through the bridge, least privilege,
# cgroup limits, pause/resume/reset, metrics, clean stop, delete, nothing left.
source "$(dirname "$0")/lib.sh"

host_up h1 || { not_ok "agent starts"; finish; exit 1; }
ok "agent starts in a host namespace"

api h1 GET /api/v1/host
check "host info reports the accelerator" test "$(jget "$BODY" .accel)" = tcg -o "$(jget "$BODY" .accel)" = kvm
check "host info reports the QEMU version" grep -qE '^[0-9]+\.[0-9]+' <<<"$(jget "$BODY" .qemu_version)"

spec=$(guest_spec web1 10.213.0.11 | jq -c '.resources={cpu_weight:200, cpu_limit_pct:150, memory_limit_mib:512}')
api h1 POST /api/v1/vms "$spec"
check "define answers 201" test "$STATUS" = 201
check "a defined VM is stopped" test "$(jget "$BODY" .state)" = stopped
mac=$(jget "$BODY" '.spec.nics[0].mac')
check "the NIC got a stable MAC" grep -qE '^52:54:00(:[0-9a-f]{2}){3}$' <<<"$mac"
check "the spec names its kernel and initrd by image id" \
	test "$(jget "$BODY" '.spec.boot | "\(.kernel_image) \(.initrd_image)"')" = "guest-kernel guest-initrd"
check "... and no host file (the agent's paths stay its own)" bash -c '! grep -qF -- "$0" <<<"$1"' "$TMP" "$BODY"

api h1 POST /api/v1/vms/web1/start
check "start answers 200 running" test "$STATUS/$(jget "$BODY" .state)" = 200/running
pid=$(jget "$BODY" .runtime.pid)
tap=$(jget "$BODY" '.runtime.taps[0]')
check "the guest prints its readiness line" wait_console h1 web1 'VDC-GUEST-READY hostname=web1 ip=10.213.0.11' 60
check "the guest answers on TCP through the bridge" test "$(guest_req h1 10.213.0.11 ping)" = pong

api h1 GET /api/v1/vms/web1
uid=$(jget "$BODY" .identity.uid)
check "the VM has its own identity from the range" test "$uid" -ge 200000 -a "$uid" -le 299999
check "QEMU runs as the VM's own uid and gid" grep -qE "^Uid:\s+$uid\s+$uid\s+$uid\s+$uid\$" /proc/"$pid"/status
check "QEMU's only supplementary group is kvm" test "$(awk '/^Groups:/{print $2 $3}' /proc/"$pid"/status)" = "$(getent group kvm | cut -d: -f3)"
# The whole option: a bare "-sandbox on" would allow spawning and privileges.
check "QEMU runs with the seccomp sandbox, every deny in place" \
	grep -qF -- ' -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny ' <(tr '\0' ' ' </proc/"$pid"/cmdline)
check "QEMU boots the agent's copy of the kernel image" \
	grep -q -- "-kernel $(dir_of h1)/ds/images/guest-kernel -initrd $(dir_of h1)/ds/images/guest-initrd" <(tr '\0' ' ' </proc/"$pid"/cmdline)
check "QEMU is in its own session (agent signals do not reach it)" test "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid"
check "QEMU has no root privileges" grep -qE '^Uid:\s+[1-9]' /proc/"$pid"/status
check "the tap is on the bridge" in_ns h1 test -e "/sys/class/net/$tap/brif" -o -e "/sys/class/net/br0/brif/$tap"
check "the guest uses the NIC's MAC on the bridge" grep -qi "lladdr $mac" <(in_ns h1 ip neigh show 10.213.0.11)

cg=vdct$$h1/web1
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	check "cgroup v2 cpu.weight is set" test "$(cat /sys/fs/cgroup/$cg/cpu.weight)" = 200
	check "cgroup v2 cpu.max is set" test "$(cat /sys/fs/cgroup/$cg/cpu.max)" = "150000 100000"
	check "cgroup v2 memory.max is set" test "$(cat /sys/fs/cgroup/$cg/memory.max)" = $((512 << 20))
	check "QEMU is in the VM's cgroup" grep -qx "$pid" /sys/fs/cgroup/$cg/cgroup.procs
else
	check "cgroup v1 cpu.shares is set" test "$(cat /sys/fs/cgroup/cpu/$cg/cpu.shares)" = 2048
	check "cgroup v1 cfs quota is set" test "$(cat /sys/fs/cgroup/cpu/$cg/cpu.cfs_quota_us)" = 150000
	check "cgroup v1 memory limit is set" test "$(cat /sys/fs/cgroup/memory/$cg/memory.limit_in_bytes)" = $((512 << 20))
	check "QEMU is in the VM's cgroup" grep -qx "$pid" /sys/fs/cgroup/cpu/$cg/cgroup.procs
fi

api h1 GET /metrics
# A guest that booted and answered has used CPU: 0 would be a broken reading.
cpu_s=$(sed -nE 's/^vdc_agent_vm_cpu_seconds_total\{vm="web1"\} ([0-9.e+-]+)$/\1/p' <<<"$BODY")
check "metrics show the VM's CPU time, above 0 ($cpu_s s)" awk -v v="$cpu_s" 'BEGIN { exit !(v != "" && v + 0 > 0) }'
check "metrics show the VM's memory" grep -qE '^vdc_agent_vm_memory_bytes\{vm="web1"\} [1-9]' <<<"$BODY"
check "metrics show the VM's network bytes" grep -qE '^vdc_agent_vm_net_bytes_total\{vm="web1",nic="0",dir="rx"\} [1-9]' <<<"$BODY"
check "metrics show host CPU" grep -qE '^vdc_agent_host_cpu_seconds_total\{mode="idle"\}' <<<"$BODY"
check "metrics count API requests" grep -qE '^vdc_agent_http_requests_total\{method="POST",route="/api/v1/vms/\{name\}/start",code="2xx"\} 1' <<<"$BODY"

# A connection opened before the pause: its request times out while the
# guest is paused (not refused, not reset), and is answered after the resume,
# so the silence was the pause and nothing else.
rm -f "$TMP/paused" "$TMP/resumed"
in_ns h1 timeout 60 /usr/bin/python3 -c '
import os, socket, sys, time
def until(p):
    while not os.path.exists(p):
        time.sleep(0.05)
try:
    s = socket.create_connection((sys.argv[1], 7777), timeout=5)
except OSError as e:
    print("connect failed: %r" % e, flush=True)
    sys.exit(1)
print("connected", flush=True)
until(sys.argv[2])
s.sendall(b"ping\n")
s.settimeout(2)
try:
    print("answered while paused: %r" % s.recv(100), flush=True)
except socket.timeout:
    print("timeout", flush=True)
except OSError as e:
    print("failed while paused: %r" % e, flush=True)
until(sys.argv[3])
s.settimeout(20)
try:
    print("after resume: " + s.recv(100).decode().strip(), flush=True)
except OSError as e:
    print("after resume: %r" % e, flush=True)' 10.213.0.11 "$TMP/paused" "$TMP/resumed" >"$TMP/pause.out" 2>&1 &
probe=$!
for _ in $(seq 1 100); do grep -q . "$TMP/pause.out" && break; sleep 0.05; done
api h1 POST /api/v1/vms/web1/pause
check "pause gives paused (from QMP)" test "$STATUS/$(jget "$BODY" .state)" = 200/paused
check "the agent still reports web1 paused" test "$(vm_field h1 web1 .state)" = paused
touch "$TMP/paused"
for _ in $(seq 1 100); do [ "$(wc -l <"$TMP/pause.out")" -ge 2 ] && break; sleep 0.05; done
check "a paused guest does not answer: a request on an open connection times out" \
	test "$(sed -n 1p "$TMP/pause.out")/$(sed -n 2p "$TMP/pause.out")" = connected/timeout
api h1 POST /api/v1/vms/web1/resume
check "resume gives running" test "$STATUS/$(jget "$BODY" .state)" = 200/running
touch "$TMP/resumed"
wait "$probe"
check "... and that request is answered once the guest runs again" test "$(sed -n 3p "$TMP/pause.out")" = "after resume: pong"
grep -q '^connected$' "$TMP/pause.out" && grep -q '^timeout$' "$TMP/pause.out" || diag "probe: $(tr '\n' '|' <"$TMP/pause.out")"
check "a resumed guest answers again" test "$(guest_req h1 10.213.0.11 ping)" = pong

api h1 POST /api/v1/vms/web1/reset
check "reset answers 200" test "$STATUS" = 200
check "after reset the guest boots again" wait_console h1 web1 'VDC-GUEST-READY hostname=web1' 60 2
check "the same QEMU process survives a reset" test "$(qemu_pid_of h1 web1)" = "$pid"

api h1 POST /api/v1/vms/web1/stop '{"timeout_s":60}'
check "stop answers 200 stopped" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped
# The guest powers off itself, asked through its guest agent when qemu-ga
# has answered a poll by now, else by the ACPI button: clean either way.
check "the stop was clean (the guest powered off)" \
	bash -c 'case $1 in "the guest powered off, asked "*) ;; *) exit 1 ;; esac' _ "$(jget "$BODY" .last_exit.reason)"
check "QEMU is gone after stop" bash -c "! kill -0 $pid 2>/dev/null"
check "the tap is gone after stop" bash -c "! ip netns exec $(ns_of h1) test -e /sys/class/net/$tap"

disk_dir=$(dir_of h1)/ds/web1
api h1 DELETE /api/v1/vms/web1
check "delete answers 204" test "$STATUS" = 204
api h1 GET /api/v1/vms/web1
check "a deleted VM is 404" test "$STATUS" = 404
check "no QEMU process is left" qemu_gone web1
check "no tap is left" bash -c "! ip netns exec $(ns_of h1) ls /sys/class/net | grep -q '^vt'"
check "no cgroup is left" bash -c "! ls -d /sys/fs/cgroup/*/$cg /sys/fs/cgroup/$cg 2>/dev/null | grep -q ."
check "no disk or directory is left in the datastore" test ! -e "$disk_dir"
check "no state is left" test -z "$(ls "$(dir_of h1)/st/vms")"
check "no runtime files are left" test -z "$(ls "$(dir_of h1)/run/vms")"

# A VNC display: a unix socket of the VM's own, never a TCP port.
api h1 POST '/api/v1/vms?start=true' "$(guest_spec vnc1 | jq -c 'del(.display) | .nics=[]')"
vpid=$(jget "$BODY" .runtime.pid)
vuid=$(jget "$BODY" .identity.uid)
vdir=$(dir_of h1)/run/vnc/vnc1
check "a VM with a display reports it as a socket, with no port" \
	test "$(jget "$BODY" '.runtime.vnc|tojson')" = '{"socket":true}'
check "QEMU listens on no TCP port" bash -c "! ip netns exec $(ns_of h1) ss -ltnpH | grep -q 'pid=$vpid,'"
check "the VNC socket is in a 0700 directory of the VM's uid" test "$(stat -c '%u %a' "$vdir")" = "$vuid 700"
check "the VNC socket is the VM's" test "$(stat -c '%u %F' "$vdir/vnc.sock")" = "$vuid socket"
check "VNC speaks RFB on its socket" grep -q '^RFB ' <(timeout 3 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
sys.stdout.write(s.recv(12).decode())' "$vdir/vnc.sock")
api h1 DELETE '/api/v1/vms/vnc1?force=true'

check "the agent stops cleanly (exit 0)" agent_stop h1
finish
