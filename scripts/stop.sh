#!/usr/bin/env bash
# stop.sh - `make stop`: powers off and removes the VM `make run` made, then
# stops the agent it started.
set -uo pipefail
STATE=/run/vdc-run
LISTEN=127.0.0.1:7441
TOKEN_FILE=/etc/vdc/agent.token
if [ ! -f "$STATE/agent.pid" ] || ! kill -0 "$(cat "$STATE/agent.pid")" 2>/dev/null; then
	echo "stop: no vdc-agent started by 'make run' is running"
	exit 0
fi
TOKEN=$(cat "$TOKEN_FILE")
api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
url=http://$LISTEN/api/v1
if [ "$(api "$url/vms/demo" | jq -r '.state // "absent"')" != absent ]; then
	echo "stop: powering off VM 'demo' (ACPI, 30 s, then hard)"
	api -X POST "$url/vms/demo/stop" -d '{"timeout_s":30}' >/dev/null
	api -X DELETE "$url/vms/demo" >/dev/null
fi
pid=$(cat "$STATE/agent.pid")
echo "stop: stopping vdc-agent (pid $pid)"
kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
rm -f "$STATE/agent.pid"
