#!/usr/bin/env bash
# t_make_run.sh - the README's `make run` and `make stop` (scripts/run.sh
# and scripts/stop.sh, without the package install and the build), in a
# network namespace of their own with every directory moved into the test's
# temporary one: the demo VM boots, vdc is linked where the user finds it,
# and `make stop` powers off every VM of the host, those vdcd manages and
# one made on the agent directly, says what it did and what is left.
. "$(dirname "$0")/lib.sh"

BUILD_DIR=${AGENT%/src/agent/vdc-agent}
R=$TMP/mr
host_ns mr # its namespace (and cleanup, cgroups included)
mkdir -p "$R"
ENVS=(VDC_RUN_DIR="$R/run" VDC_LOG_DIR="$R/log" VDC_DATA_DIR="$R/data" VDC_AGENT_STATE="$R/agent"
	VDC_AGENT_RUN="$R/agent-run" VDC_AGENT_TOKEN="$R/agent.token" VDC_BUILD_DIR="$BUILD_DIR"
	VDC_BIN_DIR="$R/bin" VDC_CGROUP_BASE="$(ns_of mr)" VDC_SKIP_SETUP=1 VDC_CACHE="$CACHE"
	VDC_CONFIG="$R/cli.json" VDC_STOP_TIMEOUT_S=5)
make_() { in_ns mr env "${ENVS[@]}" "$VDC_ROOT/tests/integration/in-host.sh" bash "$VDC_ROOT/scripts/$1.sh"; }
vdc_() { in_ns mr env VDC_CONFIG="$R/cli.json" "$R/bin/vdc" "$@"; }
agent_() { # METHOD PATH [BODY]
	in_ns mr curl -s -X "$1" -H "Authorization: Bearer $(cat "$R/agent.token")" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} "http://127.0.0.1:7441$2"
}
vm_state() { vdc_ vm get "$1" -o json 2>/dev/null | jq -r '"\(.power_state)/\(.desired_state)"'; }
qemu_pid_file() { cat "$R/agent-run/vms/$1/qemu.pid" 2>/dev/null | cut -d' ' -f1; }

make_ run >"$TMP/run.out" 2>"$TMP/run.err"
rc=$?
cp "$R/run/agent.pid" "$R/agent.pid" 2>/dev/null || : >"$R/agent.pid" # for lib.sh's cleanup
check "make run exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || { tail -20 "$TMP/run.err" | sed 's/^/# /'; tail -20 "$R/log/vdcd.log" "$R/log/agent.log" | sed 's/^/# /'; }
check "make run shows the demo VM running in vdc vm list" grep -Eq '^demo +.*running' "$TMP/run.out"
check "make run shows the guest's console with its readiness line" grep -q VDC-GUEST-READY "$TMP/run.out"
for p in cli/vdc manager/vdcd agent/vdc-agent; do
	check "make run links ${p#*/} into the bin directory, to this build's" \
		[ -L "$R/bin/${p#*/}" -a "$(readlink -f "$R/bin/${p#*/}")" = "$(readlink -f "$BUILD_DIR/src/$p")" ]
done
check "the linked vdc is signed in and answers (vdc vm get demo: running)" [ "$(vm_state demo)" = running/running ]
check "make run says the bin directory is not on PATH, with the line to run" \
	grep -qF "export PATH=$R/bin:\$PATH" "$TMP/run.out"
check "make run's last word names make stop" grep -q "make stop" "$TMP/run.out"
check "make run ends with the web UI's address and how to sign in" \
	bash -c 'grep -q "^Web UI: http://127.0.0.1:7443/" "$1" && grep -qF "$2/admin.token" "$1"' _ "$TMP/run.out" "$R/data"
check "the web UI answers there (its index.html, from vdcd)" \
	bash -c 'ip netns exec "$1" curl -s http://127.0.0.1:7443/ | grep -q "<div id=\"app\">"' _ "$(ns_of mr)"

# A second VM through vdcd, and one made on the agent directly.
vdc_ vm create other --template test-guest --memory-mib 192 >/dev/null 2>&1
check "a second VM runs (vdc vm create other)" [ "$(vm_state other)" = running/running ]
kid=$(vdc_ image get test-guest-kernel -o json | jq -r .id)
iid=$(vdc_ image get test-guest-initrd -o json | jq -r .id)
agent_ POST '/api/v1/vms?start=true' "{\"name\":\"onagent\",\"vcpus\":1,\"memory_mib\":160,\"boot\":{\"kernel_image\":\"$kid\",\"initrd_image\":\"$iid\",\"cmdline\":\"console=ttyS0 quiet\"}}" >"$TMP/onagent.json"
check "a VM made on the agent directly runs" [ "$(jq -r .state "$TMP/onagent.json")" = running ]
demo_id=$(vdc_ vm get demo -o json | jq -r .id)
other_id=$(vdc_ vm get other -o json | jq -r .id)
pids=()
for n in "$demo_id" "$other_id" onagent; do
	p=$(qemu_pid_file "$n")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && pids+=("$p")
done
check "three QEMUs run before make stop (their pid files name live processes)" [ "${#pids[@]}" = 3 ]
vdcd_pid=$(cat "$R/run/vdcd.pid")
agent_pid=$(cat "$R/run/agent.pid")

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
check "make stop leaves no VM of vdcd's to the agent's fallback" \
	bash -c "! grep -q \"powering off VM '$other_id' on the agent\" '$TMP/stop.out'"
check "make stop says it powers off the VM vdcd does not manage" \
	grep -q "powering off VM 'onagent' on the agent" "$TMP/stop.out"
check "make stop deletes the demo VM" grep -q "deleting VM 'demo'" "$TMP/stop.out"
check "make stop says what is left" grep -q "left on disk: vdcd's inventory" "$TMP/stop.out"
check "make stop says no VM is running" grep -q "no VM of this host is running" "$TMP/stop.out"
check "vdcd and the agent have exited" bash -c "! kill -0 $vdcd_pid 2>/dev/null && ! kill -0 $agent_pid 2>/dev/null"

# make run again: it starts from what is left; 'other' stays stopped.
make_ run >"$TMP/run2.out" 2>"$TMP/run2.err"
check "make run again exits 0 and boots demo again" grep -q VDC-GUEST-READY "$TMP/run2.out"
check "after make stop and make run, 'other' is still in the inventory, stopped" [ "$(vm_state other)" = stopped/stopped ]
make_ stop >"$TMP/stop2.out" 2>&1
check "make stop again exits 0" [ $? -eq 0 ]
finish
