#!/usr/bin/env bash
# t_charts.sh - the charts' history end to end: a real agent sends samples
# of its host and of a real guest with its heartbeats (every second here:
# --heartbeat-timeout-s 3), and vdcd answers them as series:
#  - the VM's cpu and memory are above 0, its disk read shows the boot,
#    points are spaced by the heartbeat interval, every series has one value
#    per timestamp; the host's cpu and memory too;
#  - ?metric= and ?since= narrow the answer; bad ones are 400 naming the
#    parameter; another project's VM is 404, a host is admin-only (403);
#  - vdcd's /metrics counts what it tracks; `vdc vm/host metrics` show it.
source "$(dirname "$0")/lib.sh"

as() { # as TOKEN METHOD PATH [BODY]
	local t=$1
	shift
	ADMIN_TOKEN=$t mapi "$@"
}
# series NAME: the values of series NAME in BODY, one a line ("null" kept).
series() { jq -r --arg n "$1" '.series[] | select(.name == $n) | .values[] | tostring' <<<"$BODY"; }
# some_above NAME MIN: a value of series NAME in BODY is above MIN.
some_above() { series "$1" | awk -v m="$2" '$1 != "null" && $1 + 0 > m { f = 1 } END { exit !f }'; }

fabric_up
vdcd_start --heartbeat-timeout-s 3 || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":8,"mem_overcommit":2}'
mapi POST /api/v1/networks '{"name":"n1","bridge":"br0"}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=160'
host_join h1 c1 || not_ok "h1 joins"
host_connected h1 || not_ok "h1 is connected"
host_id=$(jget "$BODY" .id)
for p in pa pb; do mapi POST /api/v1/projects "{\"name\":\"$p\"}"; done
mapi POST /api/v1/users '{"name":"alice","password":"alice-password-1"}'
mapi POST /api/v1/users '{"name":"bob","password":"bob-password-1"}'
mapi POST /api/v1/projects/pa/members '{"user":"alice","role":"operator"}'
mapi POST /api/v1/projects/pb/members '{"user":"bob","role":"operator"}'
mapi POST /api/v1/auth/login '{"user":"alice","password":"alice-password-1","token_name":"t"}'
T_A=$(jget "$BODY" .token)
mapi POST /api/v1/auth/login '{"user":"bob","password":"bob-password-1","token_name":"t"}'
T_B=$(jget "$BODY" .token)

as "$T_A" POST /api/v1/vms '{"name":"web","template":"tiny","networks":["n1"]}'
check "alice creates a VM in pa (202)" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)"
check "the VM runs" test "$TASK_STATE" = succeeded
as "$T_A" GET /api/v1/vms/web
vm_id=$(jget "$BODY" .id)

# Until the VM has a CPU rate above 0 (its second sample on) and its boot
# read the disk: a few seconds at one beat a second.
for _ in $(seq 1 60); do
	as "$T_A" GET /api/v1/vms/web/metrics
	some_above cpu 0 && some_above disk_read 0 && [ "$(jget "$BODY" '.timestamps | length')" -ge 5 ] && break
	sleep 0.5
done
check "the VM's metrics answer 200 as alice" test "$STATUS" = 200
check "they are the VM's, by its id" test "$(jget "$BODY" .id)/$(jget "$BODY" .kind)" = "$vm_id/vm"
check "the VM's cpu is above 0 ($(series cpu | tail -1) %)" some_above cpu 0
check "the VM's memory is above 0 ($(series memory | tail -1) bytes)" some_above memory 0
check "the VM's disk reads show its boot" some_above disk_read 0
check "its disk writes and its bridged NIC's bytes are counted (numbers, not null)" \
	bash -c 'for s in disk_write net_rx net_tx; do jq -e --arg n "$s" "[.series[] | select(.name == \$n) | .values[] | numbers] | length > 0" <<<"$1" >/dev/null || exit 1; done' _ "$BODY"
check "every series has one value per timestamp, with its unit" \
	test "$(jq '[.timestamps | length] + [.series[] | .values | length] | unique | length' <<<"$BODY")/$(jq -r '[.series[] | .name + ":" + .unit] | join(",")' <<<"$BODY")" = \
	"1/cpu:percent,memory:bytes,disk_read:bytes_per_second,disk_write:bytes_per_second,net_rx:bytes_per_second,net_tx:bytes_per_second,cpu_demand:percent,memory_active:bytes"
interval=$(jget "$BODY" .interval_s)
gaps=$(jq -r '.timestamps | [range(1; length) as $i | .[$i] - .[$i - 1]] | map(tostring) | join(" ")' <<<"$BODY")
check "the heartbeat interval is 1 s" test "$interval" = 1
check "points are spaced by the interval, oldest first (gaps: $gaps)" \
	awk -v g="$gaps" -v i="$interval" 'BEGIN { n = split(g, a, " "); if (n < 4) exit 1; for (k = 1; k <= n; k++) if (a[k] < i * 0.5 || a[k] > i * 2.5) exit 1 }'
newest=$(jget "$BODY" '.timestamps[-1]')
age=$(awk -v t="$newest" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - t }')
# Within a few heartbeats: a loaded machine (tests side by side) delays one.
check "the newest point is recent ($age s old)" awk -v a="$age" 'BEGIN { exit !(a < 8 && a > -1) }'

as "$T_A" GET "/api/v1/vms/web/metrics?metric=cpu,memory"
check "?metric=cpu,memory gives those two series only" test "$(jq -c '[.series[].name]' <<<"$BODY")" = '["cpu","memory"]'
all=$(as "$T_A" GET /api/v1/vms/web/metrics; jget "$BODY" '.timestamps | length')
as "$T_A" GET "/api/v1/vms/web/metrics?since=3s"
check "?since=3s gives the last points only ($(jget "$BODY" '.timestamps | length') of $all)" \
	test "$(jget "$BODY" '.timestamps | length')" -lt "$all" -a "$(jget "$BODY" '.timestamps | length')" -ge 1
as "$T_A" GET "/api/v1/vms/web/metrics?since=$(($(date +%s) + 100))"
check "?since in the future gives no points (200)" test "$STATUS/$(jget "$BODY" '.timestamps | length')" = 200/0

# Bad parameters: 400 naming the parameter.
for q in "since=yesterday" "since=-5" "since=3y" "since=" "since=1h&metric=cpu,gpu" "metric=" "metric=memory_used"; do
	as "$T_A" GET "/api/v1/vms/web/metrics?$q"
	want=${q##*&}
	want=${want%%=*}
	check "?$q is 400 naming $want" test "$STATUS/$(jget "$BODY" .error.field)" = "400/$want"
done
mapi GET "/api/v1/hosts/h1/metrics?metric=memory"
check "a VM's series name is not a host's (400 naming metric)" test "$STATUS/$(jget "$BODY" .error.field)" = 400/metric

# Who may read them: as the VM or the host itself.
as "$T_B" GET "/api/v1/vms/$vm_id/metrics"
check "bob (another project) gets 404 for alice's VM's metrics by id" test "$STATUS" = 404
as "$T_B" GET "/api/v1/vms/web/metrics"
check "... and by name" test "$STATUS" = 404
as "$T_B" GET "/api/v1/vms/$vm_id/metrics?metric=nope"
check "... even with a bad parameter (404 before 400: nothing told)" test "$STATUS" = 404
as "" GET "/api/v1/vms/$vm_id/metrics"
check "no token is 401" test "$STATUS" = 401
as "$T_A" GET /api/v1/hosts/h1/metrics
check "a tenant may not read a host's metrics (403)" test "$STATUS" = 403
mapi GET /api/v1/vms/no-such-vm/metrics
check "an unknown VM is 404" test "$STATUS" = 404

# The host, as the admin (by name and by id).
for _ in $(seq 1 20); do
	mapi GET /api/v1/hosts/h1/metrics
	some_above cpu 0 && break
	sleep 0.5
done
check "the host's metrics answer 200 for the admin, by name" test "$STATUS/$(jget "$BODY" .id)" = "200/$host_id"
check "the host's cpu is above 0 ($(series cpu | tail -1) %)" some_above cpu 0
check "the host's memory used and total are above 0" some_above memory_used 0
total=$(series memory_total | grep -v null | tail -1)
check "the host's memory total is its memory ($total bytes)" test "${total%.*}" -gt 0
mapi GET "/api/v1/hosts/$host_id/metrics?metric=cpu"
check "by id too, one series" test "$STATUS/$(jq -c '[.series[].name]' <<<"$BODY")" = '200/["cpu"]'

mapi GET /metrics
check "vdcd's /metrics counts the VMs and hosts it keeps charts of" \
	test "$(grep -c -e '^vdcd_chart_objects{kind="vm"} 1$' -e '^vdcd_chart_objects{kind="host"} 1$' <<<"$BODY")" = 2
bytes=$(sed -n 's/^vdcd_chart_bytes //p' <<<"$BODY")
diag "the charts' history holds $bytes bytes for 1 VM and 1 host"

# The CLI, signed in as alice, then as the admin.
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
vdc login --server "$MGR_URL" --token "$T_A" --ca-fingerprint "$CA_FP" >/dev/null 2>&1
out=$(vdc vm metrics web 2>&1)
check "vdc vm metrics shows the series with their last values" grep -qE '^cpu +[0-9.]+%' <<<"$out"
diag "$(head -3 <<<"$out")"
vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP" >/dev/null 2>&1
out=$(vdc host metrics h1 --metric memory_total 2>&1)
check "vdc host metrics --metric memory_total shows one series, in bytes" \
	test "$(grep -cE '^memory_total +[0-9.]+ [KMGT]iB' <<<"$out")/$(grep -c '^cpu ' <<<"$out")" = 1/0
out=$(vdc vm metrics web --since yesterday 2>&1)
check "vdc vm metrics --since yesterday fails, naming since" grep -q since <<<"$out"

# Forged heartbeats as h1 (its certificate and secret): samples are checked
# by field, and a VM's samples count only for a VM vdcd placed on that host.
beat() { # BODY: POSTs a heartbeat as h1; sets STATUS and BODY
	local d
	d=$(dir_of h1)/st
	STATUS=$(curl -s -o "$TMP/beat" -w '%{http_code}' --cacert "$MGR_CACERT" --cert "$d/tls/agent.pem" \
		--key "$d/tls/agent.key" -H "Authorization: Bearer $(jq -r .host_secret "$d/manager.json")" \
		-H 'Content-Type: application/json' -X POST "$MGR_URL/api/v1/hosts/$host_id/heartbeat" -d "$1")
	BODY=$(cat "$TMP/beat")
}
real_vm="{\"name\":\"$vm_id\",\"uuid\":\"$vm_id\",\"state\":\"running\"}"
beat "{\"cpus\":2,\"memory_mib\":4096,\"sample\":{\"at_ms\":\"soon\"},\"vms\":[$real_vm]}"
check "a heartbeat whose sample.at_ms is not a number is 400 naming it" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/sample.at_ms
beat "{\"cpus\":2,\"memory_mib\":4096,\"vms\":[$real_vm,{\"name\":\"x\",\"uuid\":\"x\",\"state\":\"running\",\"sample\":{\"cpu_ns\":1}}]}"
check "a VM's sample without the beat's own is 400 naming vms[1].sample" \
	test "$STATUS/$(jget "$BODY" .error.field)" = "400/vms[1].sample"
beat "{\"cpus\":2,\"memory_mib\":4096,\"sample\":{\"at_ms\":1,\"gpu_ms\":1},\"vms\":[$real_vm]}"
check "an unknown counter is 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/sample.gpu_ms
stray=00000000-0000-4000-8000-000000000001
beat "{\"cpus\":2,\"memory_mib\":4096,\"sample\":{\"at_ms\":1},\"vms\":[$real_vm,{\"name\":\"stray\",\"uuid\":\"$stray\",\"state\":\"running\",\"sample\":{\"run\":1,\"cpu_ns\":5}}]}"
check "a beat with a sample for a VM vdcd did not place on h1 is taken (200)" test "$STATUS" = 200
mapi GET /metrics
check "... but that VM's sample is refused, and no chart is made for it" \
	test "$(sed -n 's/^vdcd_chart_samples_refused_total //p' <<<"$BODY")/$(sed -n 's/^vdcd_chart_objects{kind="vm"} //p' <<<"$BODY")" = 1/1

agent_stop h1
check "the agent stops cleanly (its sampling leaks nothing)" test $? = 0
vdcd_stop
check "vdcd stops cleanly (sanitizers quiet)" test $? = 0
finish
