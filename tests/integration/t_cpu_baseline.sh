#!/usr/bin/env bash
# t_cpu_baseline.sh - a cluster's CPU baseline (like vSphere's EVC): its VMs
# run with that CPU model on every host (QEMU's -cpu), so they move live to
# any host of it; a host whose QEMU cannot offer it is refused at join,
# naming the model; a baseline some host cannot offer is refused, naming
# the hosts; bad names are refused.
source "$(dirname "$0")/lib.sh"

shared_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }

mapi POST /api/v1/clusters '{"name":"bad","cpu_baseline":"host,+vmx"}'
check "a baseline that is not a model name is refused (400, naming cpu_baseline)" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/cpu_baseline
mapi POST /api/v1/clusters '{"name":"cb","cpu_baseline":"Nehalem"}'
check "a cluster with CPU baseline Nehalem" test "$STATUS/$(jget "$BODY" .cpu_baseline)" = 201/Nehalem
for h in h1 h2; do
	host_join "$h" cb --datastore "shared=$SHARED" || not_ok "$h joins"
done
hosts_connected 2 || not_ok "h1 and h2 connect"
mapi GET /api/v1/hosts/h1
check "a host reports the CPU models its QEMU offers (Nehalem among them)" \
	test "$(jget "$BODY" '.cpu_models | index("Nehalem") != null')" = true
MISSING=$(jget "$BODY" '["Skylake-Server", "Icelake-Server", "EPYC-Milan", "Cooperlake"] - .cpu_models | .[0] // empty')

# qemu_cpu HOST VM_ID: the -cpu QEMU runs the VM with there ("none": no -cpu).
qemu_cpu() {
	local pid
	pid=$(qemu_pid_of "$1" "$2")
	[ -n "$pid" ] || { echo "no-qemu"; return; }
	tr '\0' '\n' <"/proc/$pid/cmdline" | awk 'p { print; exit } /^-cpu$/ { p = 1 } END { if (!p) print "none" }'
}
mgr_guest_template tiny
mapi POST /api/v1/vms '{"name":"v1","template":"tiny","datastore":"shared","start":true}'
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/v1
VM=$(jget "$BODY" .id)
check "the VM keeps the cluster's baseline (config.cpu_model)" test "$(jget "$BODY" .config.cpu_model)" = Nehalem
from=$( [ "$(jget "$BODY" .host_id)" = "$(mapi GET /api/v1/hosts/h1 && jget "$BODY" .id)" ] && echo h1 || echo h2)
check "its QEMU on $from runs -cpu Nehalem" test "$(qemu_cpu "$from" "$VM")" = Nehalem
mapi POST /api/v1/vms/v1/migrate '{}'
task_wait "$(jget "$BODY" .task.id)"
check "it migrates live" test "$TASK_STATE" = succeeded
to=$([ "$from" = h1 ] && echo h2 || echo h1)
check "... and runs -cpu Nehalem on $to too" test "$(qemu_cpu "$to" "$VM")" = Nehalem

if [ -n "$MISSING" ]; then
	mapi PATCH /api/v1/clusters/cb "{\"cpu_baseline\":\"$MISSING\"}"
	check "a baseline the hosts cannot offer is refused (409 cpu_baseline_unsupported), naming them" \
		test "$STATUS/$(jget "$BODY" .error.code)" = 409/cpu_baseline_unsupported
	grep -q "h1" <<<"$(jget "$BODY" .error.message)" && grep -q "h2" <<<"$(jget "$BODY" .error.message)" ||
		not_ok "the refusal names h1 and h2: $(jget "$BODY" .error.message)"
	mapi GET /api/v1/clusters/cb
	check "... and the baseline is unchanged" test "$(jget "$BODY" .cpu_baseline)" = Nehalem

	# A host whose QEMU cannot offer a cluster's baseline cannot join it.
	mapi POST /api/v1/clusters "{\"name\":\"cb2\",\"cpu_baseline\":\"$MISSING\"}"
	mapi POST /api/v1/hosts/join-tokens '{"cluster":"cb2"}'
	tok=$(jget "$BODY" .token)
	host_ns h3
	agent_launch h3 --listen 0.0.0.0:7441 --manager-url "$MGR_URL" --manager-ca-fingerprint "$CA_FP" \
		--join-token "$tok" --host-name h3 --advertise-url "https://$(cat "$(dir_of h3)/mgmt_ip"):7441"
	for _ in $(seq 1 100); do
		grep -q join_failed "$(dir_of h3)/agent.log" && break
		sleep 0.1
	done
	check "a host that cannot offer $MISSING is refused at join, naming the model" \
		grep -qE "join_failed .*status=409 .*cannot offer cluster cb2's CPU baseline '$MISSING'" "$(dir_of h3)/agent.log"
	mapi GET /api/v1/hosts/h3
	check "... and is not in the inventory" test "$STATUS" = 404
	kill "$(agent_pid h3)" 2>/dev/null
	wait "$(agent_pid h3)" 2>/dev/null
else
	diag "every model tried is offered here (KVM on a recent CPU?): the refusals are not tried"
fi

mapi PATCH /api/v1/clusters/cb '{"cpu_baseline":""}'
check "the baseline is removed with ''" test "$STATUS/$(jget "$BODY" '.cpu_baseline // "none"')" = 200/none
mapi POST /api/v1/vms '{"name":"v2","template":"tiny","datastore":"shared","start":true}'
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/v2
V2=$(jget "$BODY" .id)
v2h=$([ "$(jget "$BODY" .host_id)" = "$(mapi GET /api/v1/hosts/h1 && jget "$BODY" .id)" ] && echo h1 || echo h2)
accel=$(mapi GET /api/v1/hosts/h1 && jget "$BODY" .accel)
want=none
[ "$accel" = kvm ] && want=host
check "a VM made after has the host's default CPU ($want under $accel)" test "$(qemu_cpu "$v2h" "$V2")" = "$want"
finish
