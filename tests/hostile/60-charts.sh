# 60-charts.sh - the charts' history (GET .../metrics): another project's
# VM is absent, hosts are for administrators, odd query strings are a clean
# 400 naming the parameter, and a tenant cannot feed samples.
# shellcheck shell=bash

ch_alive() { kill -0 "$(cat "$TMP/vdcd.pid")" 2>/dev/null && curl -sf -o /dev/null --max-time 5 --cacert "$MGR_CACERT" "$MGR_URL/healthz"; }
mgr_guest_template ch-tpl "$T_A"
as "$T_A" POST /api/v1/vms '{"name":"ch-vm","template":"ch-tpl","start":false}'
ch_vm=$(jget "$BODY" .vm.id)
task_wait "$(jget "$BODY" .task.id)"
ch_host=$(mapi GET /api/v1/hosts/h1 >/dev/null; jget "$BODY" .id)

as "$T_A" GET "/api/v1/vms/$ch_vm/metrics"
attack CH-1 "alice reads her VM's metrics (200, empty until it runs)" \
	test "$STATUS/$(jget "$BODY" '.timestamps | length')" = 200/0
as "$T_V" GET "/api/v1/vms/$ch_vm/metrics"
attack CH-1 "vera (viewer of pa) reads them too (200)" test "$STATUS" = 200
as "$T_B" GET "/api/v1/vms/$ch_vm/metrics"
attack CH-1 "bob reads alice's VM's metrics by id: 404, as for no VM" test "$STATUS" = 404
as "$T_B" GET "/api/v1/vms/ch-vm/metrics?project=pa"
attack CH-1 "bob by name with ?project=pa: 404" test "$STATUS" = 404
as "$T_B" GET "/api/v1/vms/$ch_vm/metrics?since=bogus"
attack CH-1 "bob with a bad parameter on alice's VM: still 404 (nothing told)" test "$STATUS" = 404
for q in "since=1y" "resolution=1d" "resolution=30m&since=7d" "resolution=bogus"; do
	as "$T_B" GET "/api/v1/vms/$ch_vm/metrics?$q"
	attack CH-1 "bob asks alice's VM's history (?$q): 404, the tiers as closed as the hour" test "$STATUS" = 404
done
as "$T_A" GET "/api/v1/vms/$ch_vm/metrics?since=1y"
attack CH-1 "alice reads her VM's year (200, the 1d tier)" test "$STATUS/$(jget "$BODY" .resolution)" = 200/1d
for t in "$T_A" "$T_B" "$T_V"; do
	as "$t" GET "/api/v1/hosts/$ch_host/metrics"
	attack CH-2 "a tenant reads a host's metrics: 403" test "$STATUS" = 403
	as "$t" GET "/api/v1/hosts/$ch_host/metrics?resolution=1d"
	attack CH-2 "a tenant reads a host's history: 403" test "$STATUS" = 403
done
as "" GET "/api/v1/vms/$ch_vm/metrics"
attack CH-2 "no token: 401" test "$STATUS" = 401

long=$(printf 'cpu,%.0s' $(seq 1 400))
for q in "metric=cpu%00memory" "metric=$long" "metric=%2e%2e%2fetc" "since=99999999999999999999" \
	"since=9223372036854775807" "since=1e9" "since=%20" "metric=cpu&metric=gpu" "since=9999999999y" \
	"since=0d" "resolution=1m%00" "resolution=$long" "resolution=1d&resolution=raw"; do
	as "$T_A" GET "/api/v1/vms/$ch_vm/metrics?$q"
	f=$(jget "$BODY" '.error.field // empty')
	attack CH-3 "alice's ?${q:0:40}: 400 naming the parameter or a clean 200, never a crash" \
		bash -c '[ "$1" = 200 ] || { [ "$1" = 400 ] && { [ "$2" = since ] || [ "$2" = metric ] || [ "$2" = resolution ]; }; }' _ "$STATUS" "$f"
done
attack CH-3 "vdcd is alive after odd metrics queries" ch_alive

as "$T_A" POST "/api/v1/hosts/$ch_host/heartbeat" \
	"{\"cpus\":1,\"memory_mib\":64,\"sample\":{\"at_ms\":1,\"cpu_busy_ms\":1},\"vms\":[{\"name\":\"x\",\"uuid\":\"$ch_vm\",\"state\":\"running\",\"sample\":{\"cpu_ns\":1}}]}"
attack CH-4 "alice posts samples for her VM as h1's heartbeat: refused (401/403)" \
	bash -c '[ "$1" = 401 ] || [ "$1" = 403 ]' _ "$STATUS"
as "$T_A" GET "/api/v1/vms/$ch_vm/metrics"
attack CH-4 "... and her VM's chart has no point from it" test "$(jget "$BODY" '.timestamps | length')" = 0

mapi DELETE "/api/v1/vms/$ch_vm?force=true"
task_wait "$(jget "$BODY" .task.id)"
as "$T_A" DELETE /api/v1/templates/ch-tpl
