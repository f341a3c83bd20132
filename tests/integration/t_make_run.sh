#!/usr/bin/env bash
# t_make_run.sh - the README's `make run` and `make stop` (scripts/run.sh
# and scripts/stop.sh, without the package install and the build), in a
# network namespace of their own with every directory moved into the test's
# temporary one: the pool comes up (vdcd and hosts h1 and h2, each a
# namespace with its agent, scripts/pool.sh), the demo VM boots, vdc is
# linked where the user finds it, `vdc vm migrate demo` moves it to the
# other host right away, and `make stop` powers off every VM of the pool,
# those vdcd manages and one made on an agent directly, says what it did
# and what is left, and removes the pool's namespaces.
. "$(dirname "$0")/lib.sh"

BUILD_DIR=${AGENT%/src/agent/vdc-agent}
R=$TMP/mr
POOL_NAME=vm$$
host_ns mr # its namespace (and cleanup, cgroups included)
mkdir -p "$R"
ENVS=(VDC_RUN_DIR="$R/run" VDC_LOG_DIR="$R/log" VDC_DATA_DIR="$R/data" VDC_POOL_DIR="$R/pool"
	VDC_POOL_NAME="$POOL_NAME" VDC_BUILD_DIR="$BUILD_DIR" VDC_BIN_DIR="$R/bin" VDC_SKIP_SETUP=1
	VDC_CACHE="$CACHE" VDC_CONFIG="$R/cli.json" VDC_STOP_TIMEOUT_S=5)
make_() { in_ns mr env "${ENVS[@]}" "$VDC_ROOT/scripts/in-host.sh" bash "$VDC_ROOT/scripts/$1.sh"; }
# The pool's hosts go whatever happens (their namespaces are global).
test_cleanup() { in_ns mr env "${ENVS[@]}" bash "$VDC_ROOT/scripts/pool.sh" down 2>/dev/null; }
vdc_() { in_ns mr env VDC_CONFIG="$R/cli.json" "$R/bin/vdc" "$@"; }
agent_() { # HOST METHOD PATH [BODY]: a host's agent as vdcd calls it (mutual TLS, its client certificate)
	in_ns mr curl -s --cacert "$R/data/tls/ca.pem" --cert "$R/data/tls/server.pem" --key "$R/data/tls/server.key" \
		-X "$2" -H "Authorization: Bearer $(cat "$R/pool/$1/agent.token")" \
		-H 'Content-Type: application/json' ${4:+--data "$4"} "https://$(cat "$R/pool/$1/mgmt_ip"):7441$3"
}
vm_state() { vdc_ vm get "$1" -o json 2>/dev/null | jq -r '"\(.power_state)/\(.desired_state)"'; }
qemu_pids() { # live QEMUs of the pool's hosts, by their pid files
	local pf pid
	for pf in "$R"/pool/h*/run/vms/*/qemu.pid; do
		[ -f "$pf" ] || continue
		pid=$(cut -d' ' -f1 "$pf")
		kill -0 "$pid" 2>/dev/null && echo "$pid"
	done
}

make_ run >"$TMP/run.out" 2>"$TMP/run.err"
rc=$?
check "make run exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || { tail -20 "$TMP/run.err" | sed 's/^/# /'; tail -20 "$R/log/vdcd.log" "$R"/pool/h*/agent.log | sed 's/^/# /'; }
check "make run shows a pool: h1 and h2 connected in vdc host list" \
	bash -c 'grep -Eq "^h1 +.*connected" "$1" && grep -Eq "^h2 +.*connected" "$1"' _ "$TMP/run.out"
check "each host is a namespace of its own" bash -c "ip netns list 2>/dev/null | grep -qw $POOL_NAME-h1 && ip netns list 2>/dev/null | grep -qw $POOL_NAME-h2"
check "make run shows the demo VM running in vdc vm list" grep -Eq '^demo +.*running' "$TMP/run.out"
check "make run shows the guest's console with its readiness line" grep -q VDC-GUEST-READY "$TMP/run.out"
for p in cli/vdc manager/vdcd agent/vdc-agent; do
	check "make run links ${p#*/} into the bin directory, to this build's" \
		[ -L "$R/bin/${p#*/}" -a "$(readlink -f "$R/bin/${p#*/}")" = "$(readlink -f "$BUILD_DIR/src/$p")" ]
done
check "the linked vdc is signed in and answers (vdc vm get demo: running)" [ "$(vm_state demo)" = running/running ]
check "make run says the bin directory is not on PATH, with the line to run" \
	grep -qF "export PATH=$R/bin:\$PATH" "$TMP/run.out"
check "make run's last words name vdc vm migrate and make stop" \
	bash -c 'grep -q "vdc vm migrate demo" "$1" && grep -q "make stop" "$1"' _ "$TMP/run.out"
check "make run ends with the web UI's address, its CA and how to sign in" \
	bash -c 'grep -q "^Web UI: https://127.0.0.1:7443/" "$1" && grep -qF "$2/tls/ca.pem" "$1" && grep -qF "$2/admin.token" "$1"' \
	_ "$TMP/run.out" "$R/data"
check "the web UI answers there over TLS (its index.html, from vdcd)" \
	bash -c 'ip netns exec "$1" curl -s --cacert "$2" https://127.0.0.1:7443/ | grep -q "<div id=\"app\">"' _ "$(ns_of mr)" "$R/data/tls/ca.pem"

# Right after make run, the demo VM moves live to the other host.
before=$(vdc_ vm get demo -o json | jq -r .host_id)
vdc_ vm migrate demo >"$TMP/migrate.out" 2>&1
check "vdc vm migrate demo works right after make run" grep -q "vm demo migrated to h[12]" "$TMP/migrate.out"
[ -s "$TMP/migrate.out" ] && sed 's/^/# /' "$TMP/migrate.out" | tail -3
after=$(vdc_ vm get demo -o json | jq -r .host_id)
check "... it runs on the other host" [ -n "$after" -a "$after" != "$before" -a "$(vm_state demo)" = running/running ]
DEMO_HOST=$(vdc_ host list -o json | jq -r --arg id "$after" '(.items? // .)[] | select(.id == $id) | .name')

# A second VM through vdcd, and one made on an agent directly.
vdc_ vm create other --template test-guest --datastore shared --memory-mib 192 >/dev/null 2>&1
check "a second VM runs (vdc vm create other)" [ "$(vm_state other)" = running/running ]
kid=$(vdc_ image get test-guest-kernel -o json | jq -r .id)
iid=$(vdc_ image get test-guest-initrd -o json | jq -r .id)
agent_ "$DEMO_HOST" POST '/api/v1/vms?start=true' "{\"name\":\"onagent\",\"vcpus\":1,\"memory_mib\":160,\"boot\":{\"kernel_image\":\"$kid\",\"initrd_image\":\"$iid\",\"cmdline\":\"console=ttyS0 quiet\"}}" >"$TMP/onagent.json"
check "a VM made on $DEMO_HOST's agent directly runs" [ "$(jq -r .state "$TMP/onagent.json")" = running ]
[ "$(jq -r .state "$TMP/onagent.json")" = running ] || diag "$(head -c 300 "$TMP/onagent.json")"
pids=($(qemu_pids))
check "three QEMUs run before make stop (their pid files name live processes)" [ "${#pids[@]}" = 3 ]
vdcd_pid=$(cat "$R/run/vdcd.pid")
agent_pids="$(cat "$R/pool/h1/agent.pid") $(cat "$R/pool/h2/agent.pid")"

make_ stop >"$TMP/stop.out" 2>&1
rc=$?
sed 's/^/# stop: /' "$TMP/stop.out"
check "make stop exits 0" [ "$rc" -eq 0 ]
all_dead=1
for p in "${pids[@]}"; do
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && all_dead=0
done
check "make stop leaves no QEMU running (demo, other and the agent's own VM)" [ "$all_dead" = 1 ]
check "make stop powers off 'other' through vdcd (a stop task, not the agent's fallback)" \
	grep -q "VM other: succeeded" "$TMP/stop.out"
check "make stop says it powers off the VM vdcd does not manage" \
	grep -q "powering off VM 'onagent' on $DEMO_HOST's agent" "$TMP/stop.out"
check "make stop deletes the demo VM" grep -q "deleting VM 'demo'" "$TMP/stop.out"
check "make stop says what is left" grep -q "left on disk: vdcd's inventory" "$TMP/stop.out"
check "make stop says no VM is running" grep -q "no VM of the pool is running" "$TMP/stop.out"
dead=1
for p in $vdcd_pid $agent_pids; do kill -0 "$p" 2>/dev/null && dead=0; done
check "vdcd and the agents have exited" [ "$dead" = 1 ]
check "make stop removes the pool's namespaces and bridge" \
	bash -c "! ip netns list 2>/dev/null | grep -q $POOL_NAME- && ! ip netns exec $(ns_of mr) ip link show ${POOL_NAME}0 >/dev/null 2>&1"

# make run again: it starts from what is left; 'other' stays stopped.
make_ run >"$TMP/run2.out" 2>"$TMP/run2.err"
check "make run again exits 0 and boots demo again" grep -q VDC-GUEST-READY "$TMP/run2.out"
[ -s "$TMP/run2.err" ] && grep -q VDC-GUEST-READY "$TMP/run2.out" || tail -5 "$TMP/run2.err" | sed 's/^/# /'
check "after make stop and make run, 'other' is still in the inventory, stopped" [ "$(vm_state other)" = stopped/stopped ]
make_ stop >"$TMP/stop2.out" 2>&1
check "make stop again exits 0" [ $? -eq 0 ]
finish
