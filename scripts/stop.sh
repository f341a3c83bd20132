#!/usr/bin/env bash
# stop.sh - `make stop`: deletes the VM `make run` made (power-off first),
# then stops the agent and vdcd it started. The inventory stays in the store.
set -uo pipefail
cd "$(dirname "$0")/.."
RUN=/run/vdc-run
export PATH=$PWD/build/src/cli:$PATH
alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
if alive vdcd && vdc vm get demo >/dev/null 2>&1; then
	echo "stop: deleting VM 'demo'"
	vdc vm stop demo --timeout 30 >/dev/null 2>&1
	vdc vm delete demo --force >/dev/null 2>&1
fi
for d in agent vdcd; do
	if alive "$d"; then
		pid=$(cat "$RUN/$d.pid")
		echo "stop: stopping $d (pid $pid)"
		kill -TERM "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$RUN/$d.pid"
done
# The agent's NAT network outlives the agent on purpose (guests keep their
# leases across agent restarts); make stop ends it too.
nat=/run/vdc-agent/nat/dnsmasq.pid
if [ -f "$nat" ] && kill -0 "$(cat "$nat")" 2>/dev/null; then
	echo "stop: stopping the NAT network's dnsmasq (pid $(cat "$nat"))"
	kill -TERM "$(cat "$nat")"
	rm -f "$nat"
fi
