#!/usr/bin/env bash
# run.sh - `make run`: installs what is needed, builds, starts vdcd (SQLite)
# and an agent on this machine joined to it, registers the test guest as a
# template, creates and boots a VM from it through the CLI, and shows
# `vdc vm list` and the VM's console. Returns with both daemons and the VM
# running; `make stop` stops them. Links vdc, vdcd and vdc-agent into
# /usr/local/bin so `vdc` works from any shell afterwards.
#
# Every place it uses can be moved with an environment variable (the test
# of `make run` itself runs it in a network namespace with its own
# directories): VDC_RUN_DIR, VDC_LOG_DIR, VDC_DATA_DIR, VDC_AGENT_STATE,
# VDC_AGENT_RUN, VDC_AGENT_TOKEN, VDC_MANAGER_ADDR, VDC_AGENT_ADDR,
# VDC_BUILD_DIR, VDC_BIN_DIR, VDC_CGROUP_BASE; VDC_SKIP_SETUP=1 skips the
# package install and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/run-env.sh
VM=demo

step() { printf '==> %s\n' "$*" >&2; }
alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
wait_http() {
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://$1/healthz" && return 0
		alive "$2" || { tail -5 "$LOGS/$2.log" >&2; echo "run: $2 exited; see $LOGS/$2.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "run: $2 does not answer on $1" >&2
	exit 1
}

if [ "${VDC_SKIP_SETUP:-0}" != 1 ]; then
	step "installing packages"
	scripts/install-deps.sh
	step "building"
	scripts/build.sh "$BUILD"
fi
step "building the test guest (cached in $CACHE)"
guest/build-test-guest.sh "$CACHE" >&2
mkdir -p "$RUN" "$LOGS"
install_links

if alive vdcd; then
	step "vdcd already running (pid $(cat "$RUN/vdcd.pid"))"
else
	# Plain HTTP on loopback (the one place vdcd allows it) keeps the demo
	# simple: everything here talks over 127.0.0.1. Off loopback vdcd serves
	# HTTPS and agents join it with --manager-ca-fingerprint.
	step "starting vdcd on $MGR (plain HTTP, loopback only), SQLite in $DATA (log: $LOGS/vdcd.log)"
	setsid "$BUILD/src/manager/vdcd" --listen "$MGR" --data-dir "$DATA" --plain-http \
		--image-import-dir "$CACHE" </dev/null >>"$LOGS/vdcd.log" 2>&1 &
	echo $! >"$RUN/vdcd.pid"
	wait_http "$MGR" vdcd
fi
vdc login --server "http://$MGR" --token "$(cat "$DATA/admin.token")" >&2

vdc cluster get default >/dev/null 2>&1 || vdc cluster create default --policy pack >/dev/null
vdc datastore get local >/dev/null 2>&1 ||
	vdc datastore create local --path "$AGENT_STATE/datastore" >/dev/null
# The test guest's files become images of the library (imported from the
# cache, which vdcd was told it may import from), then a template.
for img in "test-guest-disk disk test-guest/data-template.qcow2" "test-guest-kernel kernel test-guest/vmlinuz" \
	"test-guest-initrd initrd test-guest/initrd.img"; do
	set -- $img
	vdc image get "$1" >/dev/null 2>&1 || vdc image import "$1" --kind "$2" --from "$3" >/dev/null
done
# A template from before the image library names host paths: make it anew.
if vdc template get test-guest -o json 2>/dev/null | jq -e '.image_id == null' >/dev/null; then
	vdc template delete test-guest >/dev/null 2>&1 || true
fi
vdc template get test-guest >/dev/null 2>&1 ||
	vdc template create test-guest --image test-guest-disk --kernel test-guest-kernel \
		--initrd test-guest-initrd --cmdline "console=ttyS0,115200 quiet panic=-1" --vcpus 1 --memory-mib 256 >/dev/null

host=$HOST_NAME
if alive agent; then
	step "vdc-agent already running (pid $(cat "$RUN/agent.pid"))"
else
	join=()
	if [ ! -f "$AGENT_STATE/manager.json" ]; then
		token=$(vdc host join-token --cluster default -o json | jq -r .token)
		join=(--join-token "$token")
	fi
	step "starting vdc-agent on $AGENT, joined to vdcd as host '$host' (log: $LOGS/agent.log)"
	setsid "$BUILD/src/agent/vdc-agent" --listen "$AGENT" --manager-url "http://$MGR" \
		--host-name "$host" --state-dir "$AGENT_STATE" --run-dir "$AGENT_RUN" \
		--token-file "$AGENT_TOKEN" --cgroup-base "$CGROUP_BASE" "${join[@]}" </dev/null >>"$LOGS/agent.log" 2>&1 &
	echo $! >"$RUN/agent.pid"
	wait_http "$AGENT" agent
fi
for _ in $(seq 1 100); do
	# Connected, and its first heartbeat (capacity, datastores) is in.
	[ "$(vdc host get "$host" -o json 2>/dev/null | jq -r '"\(.state)/\(.capacity != null)"')" = connected/true ] && break
	sleep 0.2
done

state=$(vdc vm get "$VM" -o json 2>/dev/null | jq -r '.power_state // "absent"' || echo absent)
if [ "$state" = absent ]; then
	step "creating VM '$VM' from template test-guest (placement picks the host)"
	vdc vm create "$VM" --template test-guest >&2
elif [ "$state" != running ]; then
	step "starting VM '$VM'"
	vdc vm start "$VM" >&2
fi
step "waiting for the guest's readiness line"
for _ in $(seq 1 300); do
	vdc vm console "$VM" 2>/dev/null | grep -q VDC-GUEST-READY && break
	sleep 0.1
done

echo
echo "\$ vdc vm list"
vdc vm list
echo
echo "\$ vdc vm console $VM   (last lines)"
vdc vm console "$VM" | tail -n 6
echo
echo "vdcd and vdc-agent keep running, and so does the VM. Try: vdc host list, vdc task list,"
echo "vdc vm stop $VM. Stop everything with: make stop (it powers off every VM on this host)."
path_hint
echo
# The token itself is not printed: terminals and CI logs keep what they show.
echo "Web UI: http://$MGR/ (served by vdcd; from another machine: ssh -L ${MGR##*:}:$MGR THIS-HOST)"
echo "  sign in with 'API token' and the admin token: sudo cat $DATA/admin.token"
echo "  or with a password: vdc user create NAME (asks for one), vdc project add-member ..."
