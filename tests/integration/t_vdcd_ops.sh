#!/usr/bin/env bash
# t_vdcd_ops.sh - what the operator of vdcd sees and scrapes: a VM made on an
# agent directly is reported as foreign (on the host, in an event and in
# /metrics) and left alone, never adopted or mixed up with vdcd's own; the
# metrics token reads GET /metrics and nothing else.
source "$(dirname "$0")/lib.sh"

fabric_up
vdcd_start --heartbeat-timeout-s 3 || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
host_join h1 c1 || not_ok "h1 joins"
host_connected h1
check "h1 is connected" test "$(jget "$BODY" .state)" = connected
h1_id=$(jget "$BODY" .id)

# ---- foreign VMs ----
# One VM through vdcd (it must never be called foreign, not even while it
# is being made), one made on the agent directly.
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=160'
mapi POST /api/v1/vms '{"name":"mine","template":"tiny"}'
mine_task=$(jget "$BODY" .task.id)
api h1 POST '/api/v1/vms?start=true' '{"name":"stray","vcpus":1,"memory_mib":64,"display":"none","disks":[{"name":"root","size_mib":8}]}'
check "a VM is made on h1's agent directly (201, running)" test "$STATUS/$(jget "$BODY" .state)" = 201/running
[ "$STATUS" = 201 ] || diag "$BODY"
task_wait "$mine_task"
check "vdcd's own VM is made meanwhile" test "$TASK_STATE" = succeeded
mine_id=$(mapi GET /api/v1/vms/mine && jget "$BODY" .id)
count=""
for _ in $(seq 1 100); do
	mapi GET /api/v1/hosts/h1
	count=$(jget "$BODY" '.foreign_vm_count // empty')
	[ "$count" = 1 ] && break
	sleep 0.1
done
check "h1 reports one foreign VM after two heartbeats (foreign_vm_count 1)" test "$count" = 1
check "the foreign VM is named with its state" \
	test "$(jget "$BODY" '[.foreign_vms[] | select(.beats >= 2) | "\(.name)/\(.state)"] | join(",")')" = stray/running
check "vdcd's own VM (known by its id on the agent) is never among the foreign ones" \
	test -n "$mine_id" -a "$(jget "$BODY" '[.foreign_vms[] | select(.name == "'"$mine_id"'")] | length')" = 0
mapi GET /api/v1/vms
check "vdcd does not adopt it: it is not in vdcd's VM list" \
	test "$(jget "$BODY" '[.items[] | select(.name == "stray")] | length')/$(jget "$BODY" '.items | length')" = 0/1
mapi GET '/api/v1/events?limit=100'
ev=$(jget "$BODY" '[.items[] | select(.action == "host.foreign_vm")] | .[0].detail // ""')
check "an event host.foreign_vm names it and says vdcd leaves it alone" \
	grep -q "VM 'stray' (running) runs on host h1 but is not in vdcd's inventory; vdcd leaves it alone" <<<"$ev"
check "the event is written once, not at every heartbeat" \
	test "$(jget "$BODY" '[.items[] | select(.action == "host.foreign_vm")] | length')" = 1
metrics=$(curl -s --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN" "$MGR_URL/metrics")
check "/metrics counts it: vdcd_foreign_vms{host=\"h1\"} 1" grep -qx 'vdcd_foreign_vms{host="h1"} 1' <<<"$metrics"
sleep 1.2
check "vdcd leaves it alone: still running on the agent" test "$(vm_field h1 stray .state)" = running
api h1 POST /api/v1/vms/stray/destroy
api h1 DELETE /api/v1/vms/stray
check "it is deleted on the agent" test "$STATUS" = 204 -o "$STATUS" = 200
for _ in $(seq 1 100); do
	mapi GET /api/v1/hosts/h1
	[ "$(jget "$BODY" '.foreign_vm_count')" = 0 ] && break
	sleep 0.1
done
check "once it is gone h1 reports no foreign VM" test "$(jget "$BODY" '.foreign_vm_count')/$(jget "$BODY" '.foreign_vms | length')" = 0/0
mapi GET '/api/v1/events?limit=100'
check "an event host.foreign_vm_gone says it went" \
	grep -q "VM 'stray', not in vdcd's inventory, is gone from host h1" \
	<<<"$(jget "$BODY" '[.items[] | select(.action == "host.foreign_vm_gone")] | .[0].detail // ""')"

# ---- a heartbeat listed before a task ended cannot undo what it saw ----
# The agent numbers every state change (state_seq); the task reads the
# state back with its seq, and a heartbeat carrying an older seq is stale.
beat() { # VMS_JSON: a heartbeat as h1 (its certificate and secret)
	local d
	d=$(dir_of h1)/st
	curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" --cert "$d/tls/agent.pem" \
		--key "$d/tls/agent.key" -H "Authorization: Bearer $(jq -r .host_secret "$d/manager.json")" \
		-H 'Content-Type: application/json' -X POST "$MGR_URL/api/v1/hosts/$h1_id/heartbeat" \
		-d "{\"cpus\":2,\"memory_mib\":4096,\"vms\":$1}"
}
mapi POST /api/v1/vms/mine/stop '{"timeout_s":20}'
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/mine
seq=$(jget "$BODY" '.state_seq // 0')
# The real agent is held while the forged beats are checked: its own beat,
# landing between a forged one and the GET after it, would set the state
# back (seen once in CI). The forged beats keep h1 alive meanwhile.
kill -STOP "$(agent_pid h1)"
check "a stop through vdcd records the host's state and its seq" test "$(jget "$BODY" .power_state)" = stopped -a "$seq" -gt 0
check "a heartbeat as h1 is taken (200)" \
	test "$(beat "[{\"name\":\"$mine_id\",\"state\":\"running\",\"state_seq\":$((seq - 1))}]")" = 200
mapi GET /api/v1/vms/mine
check "a heartbeat listing the VM running with an older seq leaves it stopped" \
	test "$(jget "$BODY" .power_state)/$(jget "$BODY" .state_seq)" = "stopped/$seq"
beat "[], \"state_seq\":$((seq - 1))" >/dev/null
mapi GET /api/v1/vms/mine
check "a heartbeat built before that (older state_seq) without the VM does not make it missing" \
	test "$(jget "$BODY" .power_state)" = stopped
beat "[{\"name\":\"$mine_id\",\"state\":\"running\"}]" >/dev/null
mapi GET /api/v1/vms/mine
check "... while one without a seq (an older agent) is taken as it was before" test "$(jget "$BODY" .power_state)" = running
kill -CONT "$(agent_pid h1)"
for _ in $(seq 1 50); do
	mapi GET /api/v1/vms/mine
	[ "$(jget "$BODY" .power_state)" = stopped ] && break
	sleep 0.1
done
check "... and the agent's next real heartbeat (seq as recorded) sets it stopped again" \
	test "$(jget "$BODY" .power_state)" = stopped

# ---- the metrics token ----
MT=$TMP/vdcd/metrics.token
check "vdcd made a metrics token file at first start, private (0600)" test "$(stat -c %a "$MT" 2>/dev/null)" = 600
mtok=$(cat "$MT")
scrape() { # TOKEN|- METHOD PATH: the status; "-" sends no Authorization header at all
	local h=()
	[ "$1" = - ] || h=(-H "Authorization: Bearer $1")
	curl -s -o "$TMP/scrape" -w '%{http_code}' -X "$2" --cacert "$MGR_CACERT" "${h[@]}" "$MGR_URL$3"
}
check "the metrics token reads GET /metrics (200, vdcd_up 1)" \
	test "$(scrape "$mtok" GET /metrics)/$(grep -c '^vdcd_up 1$' "$TMP/scrape")" = 200/1
check "the metrics token cannot read the API (GET /api/v1/vms: 403, saying what it is for)" \
	test "$(scrape "$mtok" GET /api/v1/vms)/$(jq -r .error.message "$TMP/scrape")" = \
	"403/this is vdcd's metrics token: it may read GET /metrics and nothing else"
check "the metrics token cannot change anything (POST /api/v1/clusters: 403)" \
	test "$(scrape "$mtok" POST /api/v1/clusters)" = 403
check "the metrics token is no user (GET /api/v1/auth/whoami: 403)" test "$(scrape "$mtok" GET /api/v1/auth/whoami)" = 403
check "/metrics without an Authorization header is 401" test "$(scrape - GET /metrics)" = 401
check "/metrics with a wrong token is 401" test "$(scrape "${mtok}x" GET /metrics)" = 401
check "an administrator's token still reads /metrics" test "$(scrape "$ADMIN_TOKEN" GET /metrics)" = 200
check "vdcd stops cleanly" vdcd_stop
vdcd_start --heartbeat-timeout-s 3
check "after a restart the same metrics token works (read from its file)" test "$(scrape "$mtok" GET /metrics)" = 200
vdcd_stop
vdcd_start --heartbeat-timeout-s 3 --metrics-token-file none
check "with --metrics-token-file none the metrics token is refused (401)" test "$(scrape "$mtok" GET /metrics)" = 401
vdcd_stop
echo short >"$TMP/short.token"
"$VDCD" --listen "$MGR_IP:7443" --data-dir "$TMP/vdcd" --metrics-token-file "$TMP/short.token" >"$TMP/short.log" 2>&1
rc=$?
check "a metrics token file holding no real token stops vdcd at start, saying why" \
	test "$rc" != 0 -a "$(grep -c 'metrics_token_invalid.*delete the file' "$TMP/short.log")" = 1
vdcd_start --heartbeat-timeout-s 3
check "the agent stops cleanly" agent_stop h1
check "vdcd stops cleanly at the end" vdcd_stop
finish
