#!/usr/bin/env bash
# run.sh - `make run`: installs what is needed, builds, starts vdc-agent on this
# machine, boots the test guest through the agent's API, shows the VM and its
# console, and returns with the agent and the VM left running (`make stop`).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${VDC_CACHE:-/var/cache/vdc}
STATE=/run/vdc-run
LISTEN=127.0.0.1:7441
TOKEN_FILE=/etc/vdc/agent.token
VM=demo

step() { printf '==> %s\n' "$*" >&2; }

step "installing packages"
scripts/install-deps.sh
step "building"
scripts/build.sh build
step "building the test guest (cached in $CACHE)"
guest/build-test-guest.sh "$CACHE" >&2

mkdir -p "$STATE" /var/log/vdc
if [ -f "$STATE/agent.pid" ] && kill -0 "$(cat "$STATE/agent.pid")" 2>/dev/null; then
	step "vdc-agent already running (pid $(cat "$STATE/agent.pid"))"
else
	step "starting vdc-agent on $LISTEN (log: /var/log/vdc/agent.log)"
	setsid build/src/agent/vdc-agent --listen "$LISTEN" --token-file "$TOKEN_FILE" \
		</dev/null >>/var/log/vdc/agent.log 2>&1 &
	echo $! >"$STATE/agent.pid"
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://$LISTEN/healthz" && break
		kill -0 "$(cat "$STATE/agent.pid")" 2>/dev/null || {
			tail -5 /var/log/vdc/agent.log >&2
			echo "run: vdc-agent exited; see /var/log/vdc/agent.log" >&2
			exit 1
		}
		sleep 0.1
	done
fi
TOKEN=$(cat "$TOKEN_FILE")
api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
url=http://$LISTEN/api/v1

state=$(api "$url/vms/$VM" | jq -r '.state // "absent"')
if [ "$state" = absent ]; then
	step "creating VM '$VM' from the test guest"
	spec=$(jq -nc --arg k "$CACHE/test-guest/vmlinuz" --arg i "$CACHE/test-guest/initrd.img" \
		--arg d "$CACHE/test-guest/data-template.qcow2" \
		'{name:"demo", vcpus:1, memory_mib:256,
		  boot:{kernel:$k, initrd:$i, cmdline:"console=ttyS0 quiet panic=-1 vdc.hostname=demo"},
		  disks:[{name:"data", template:$d}], nics:[{mode:"user"}]}')
	api -X POST "$url/vms" -d "$spec" | jq -e '.name' >/dev/null
	state=stopped
fi
if [ "$state" != running ]; then
	step "starting VM '$VM'"
	api -X POST "$url/vms/$VM/start" | jq -e 'if .error then error(.error.message) else . end' >/dev/null
fi
step "waiting for the guest's readiness line"
for _ in $(seq 1 300); do
	api "$url/vms/$VM/console" | grep -q VDC-GUEST-READY && break
	sleep 0.1
done

echo
echo "VMs on this host:"
api "$url/vms" | jq -r '["NAME","STATE","VCPUS","MEMORY","PID","ACCEL"],
	(.vms[] | [.name, .state, .spec.vcpus, "\(.spec.memory_mib) MiB", (.runtime.pid // "-"), (.runtime.accel // "-")])
	| @tsv' | column -t
echo
echo "Console of '$VM' (last lines):"
api "$url/vms/$VM/console?bytes=2048" | tail -n 8
echo
echo "The agent and the VM keep running. Try:"
echo "  curl -H \"Authorization: Bearer \$(cat $TOKEN_FILE)\" $url/vms/$VM"
echo "Stop them with: make stop"
