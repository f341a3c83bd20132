#!/usr/bin/env bash
# t_history.sh - the measured demand kept as history, end to end, with a
# real agent and a real guest (one heartbeat a second), vdcd's tiers 300
# times shorter (--history-speedup 300: "1m" buckets are 0.2 s, "30m" 6 s,
# "1d" 288 s; a flush every 0.2 s) so coarse tiers fill in seconds:
#  - a VM in a pool capped at 10% of a CPU, booting under TCG (it wants a
#    whole CPU): its cpu_demand is well above its cpu, which stays near the
#    cap; its memory_active is there; the host has cpu_demand too;
#  - ?resolution=30m answers buckets 6 s apart with an average and a max
#    per series (max >= average), ?since picks the tier that covers it, the
#    raw points answer as before; bad ?since / ?resolution are 400 naming
#    the parameter;
#  - the history survives a SIGTERM of vdcd whole, and a kill -9 but for
#    the bucket still open (at most the last flush);
#  - `vdc vm metrics --since/--resolution`; /metrics counts the writes;
#  - deleting the VM deletes its history from the store (the host's stays).
# HISTORY_PG=1 (t_history_pg.sh) runs it on PostgreSQL.
source "$(dirname "$0")/lib.sh"

SPEEDUP=300
store_flags=()
if [ "${HISTORY_PG:-0}" = 1 ]; then
	TEST_NAME=t_history_pg
	pgdir=$TMP/pg
	PG_URL=$("$VDC_ROOT/scripts/pg-test-server.sh" start "$pgdir") || { not_ok "a PostgreSQL server starts"; finish; exit 1; }
	trap '"$VDC_ROOT/scripts/pg-test-server.sh" stop "$pgdir" >/dev/null 2>&1; cleanup' EXIT
	store_flags=(--store "$PG_URL")
fi
start() { vdcd_start --heartbeat-timeout-s 3 --history-speedup $SPEEDUP "${store_flags[@]}"; }
# rows KIND ID: the history rows the store holds for the object.
rows() {
	local q="SELECT COUNT(*) FROM history WHERE kind = '$1' AND id = '$2'"
	if [ "${HISTORY_PG:-0}" = 1 ]; then psql -qtA "$PG_URL" -c "$q"; else sqlite3 "$TMP/vdcd/vdcd.db" "$q"; fi
}
# series NAME [FIELD]: values (or max) of series NAME in BODY, one a line.
series() { jq -r --arg n "$1" --arg f "${2:-values}" '.series[] | select(.name == $n) | .[$f][] | tostring' <<<"$BODY"; }
# mean NAME: the mean of series NAME's numbers in BODY.
mean() { series "$1" | awk '$1 != "null" { s += $1; n++ } END { printf "%.2f", n ? s / n : -1 }'; }
stamps() { jq -r '.timestamps[] | tostring' <<<"$BODY"; }

fabric_up
start || { not_ok "vdcd starts"; finish; exit 1; }
[ "${HISTORY_PG:-0}" = 1 ] && check "vdcd says it uses PostgreSQL" grep -q 'store=postgresql' "$TMP/vdcd.log"
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":8,"mem_overcommit":2}'
mapi POST /api/v1/networks '{"name":"n1","bridge":"br0"}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
mapi POST /api/v1/pools '{"name":"capped","cluster":"c1","cpu_limit_pct":10}'
check "a pool capped at 10% of a CPU is made" test "$STATUS" = 201
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=160'
host_join h1 c1 || not_ok "h1 joins"
host_connected h1 || not_ok "h1 is connected"
host_id=$(jget "$BODY" .id)
mapi POST /api/v1/vms '{"name":"busy","template":"tiny","networks":["n1"],"pool":"capped"}'
check "a VM is made in the capped pool (202)" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)"
check "the VM runs" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/busy
vm_id=$(jget "$BODY" .id)

# Demand: a guest booting under TCG wants a whole CPU; the pool gives it 10%.
for _ in $(seq 1 60); do
	mapi GET "/api/v1/vms/busy/metrics?metric=cpu,cpu_demand,memory,memory_active"
	[ "$(series cpu_demand | grep -vc null)" -ge 8 ] && break
	sleep 0.5
done
cpu=$(mean cpu) demand=$(mean cpu_demand)
check "the raw points say so (resolution raw)" test "$(jget "$BODY" .resolution)" = raw
check "the capped VM's cpu stays near its cap (mean $cpu %)" awk -v c="$cpu" 'BEGIN { exit !(c > 0 && c < 20) }'
check "its cpu_demand is well above its cpu (mean $demand % against $cpu %)" \
	awk -v c="$cpu" -v d="$demand" 'BEGIN { exit !(d > 2 * c && d > 30) }'
active=$(series memory_active | grep -v null | tail -1) resident=$(series memory | grep -v null | tail -1)
check "its memory_active is known and at most its resident memory ($active of $resident bytes)" \
	awk -v a="$active" -v r="$resident" 'BEGIN { exit !(a > 0 && a <= r) }'
mapi GET "/api/v1/hosts/h1/metrics?metric=cpu,cpu_demand"
hcpu=$(mean cpu) hdemand=$(mean cpu_demand)
check "the host's cpu_demand counts its VM's throttled time ($hdemand % against $hcpu % busy)" \
	awk -v c="$hcpu" -v d="$hdemand" 'BEGIN { exit !(d > c) }'

# Coarse tiers fill: three "30m" buckets (6 s each here) closed.
for _ in $(seq 1 60); do
	mapi GET "/api/v1/vms/busy/metrics?resolution=30m"
	[ "$(jget "$BODY" '.timestamps | length')" -ge 4 ] && break
	sleep 1
done
check "?resolution=30m answers buckets of its tier (6 s here)" \
	test "$STATUS/$(jget "$BODY" .resolution)/$(jget "$BODY" .interval_s)/$(jget "$BODY" '.timestamps | length >= 4')" = 200/30m/6/true
check "every series has an average and a max per bucket" \
	test "$(jq '[.timestamps | length] + [.series[] | (.values | length), (.max | length)] | unique | length' <<<"$BODY")" = 1
check "bucket starts are 6 s apart, oldest first" \
	test "$(jq '[.timestamps | . as $t | range(1; length) | $t[.] - $t[. - 1]] | unique' -c <<<"$BODY")" = '[6]'
check "each bucket's max is at least its average (cpu_demand)" \
	jq -e '[.series[] | select(.name == "cpu_demand") | [.values, .max] | transpose[] | select(.[0] != null) | .[1] >= .[0] - 0.001] | all and length > 0' <<<"$BODY"
closed_cpu=$(jq '[.series[] | select(.name == "cpu") | .values[:-1][] | numbers] | add / length' <<<"$BODY")
closed_demand=$(jq '[.series[] | select(.name == "cpu_demand") | .values[:-1][] | numbers] | add / length' <<<"$BODY")
check "consolidated, cpu_demand stays above cpu ($closed_demand against $closed_cpu)" \
	awk -v c="$closed_cpu" -v d="$closed_demand" 'BEGIN { exit !(d > c) }'
mapi GET "/api/v1/vms/busy/metrics?since=2h"
check "?since=2h picks the tier that covers it (30m keeps 31 days / $SPEEDUP here)" test "$(jget "$BODY" .resolution)" = 30m
mapi GET "/api/v1/vms/busy/metrics?since=10m"
check "?since=10m is the raw points" test "$(jget "$BODY" .resolution)" = raw
mapi GET "/api/v1/vms/busy/metrics?resolution=1m&metric=cpu"
check "?resolution=1m answers minute buckets (0.2 s here), one series" \
	test "$(jget "$BODY" .resolution)/$(jget "$BODY" .interval_s)/$(jq -c '[.series[].name]' <<<"$BODY")/$(jget "$BODY" '.timestamps | length > 5')" = '1m/0.2/["cpu"]/true'
mapi GET "/api/v1/vms/busy/metrics?resolution=1d"
# 288 s buckets here: the test may have crossed into a second one.
check "?resolution=1d has the day's bucket (or two)" test "$(jget "$BODY" .resolution)/$(jget "$BODY" '.timestamps | length | . >= 1 and . <= 2')" = 1d/true
mapi GET "/api/v1/hosts/$host_id/metrics?resolution=30m&metric=cpu_demand"
check "the host's history too" test "$STATUS/$(jget "$BODY" '.timestamps | length >= 3')" = 200/true

for q in "resolution=5m" "resolution=" "resolution=RAW" "since=1d&resolution=raw" "since=3y" "since=abc" \
	"since=1w&resolution=1m"; do
	mapi GET "/api/v1/vms/busy/metrics?$q"
	want=${q##*&}
	want=${want%%=*}
	check "?$q is 400 naming $want" test "$STATUS/$(jget "$BODY" .error.field)" = "400/$want"
done
mapi GET "/api/v1/vms/busy/metrics?since=1w&resolution=1m"
diag "$(jget "$BODY" .error.message)"

mapi GET /metrics
written=$(sed -n 's/^vdcd_history_buckets_written_total //p' <<<"$BODY")
check "/metrics counts the buckets written ($written) in flushes, none failed" \
	test "${written:-0}" -gt 0 -a "$(sed -n 's/^vdcd_history_flush_failures_total //p' <<<"$BODY")" = 0
check "the store holds the VM's history" test "$(rows vm "$vm_id")" -gt 0

# Restarts: SIGTERM flushes everything; kill -9 loses at most the open bucket.
mapi GET "/api/v1/vms/busy/metrics?resolution=30m&metric=cpu"
before=$(stamps)
vdcd_stop
check "vdcd stops cleanly (sanitizers quiet)" test $? = 0
start || not_ok "vdcd starts again"
mapi GET "/api/v1/vms/busy/metrics?resolution=30m&metric=cpu"
after=$(stamps)
check "after a restart every bucket is still there ($(wc -l <<<"$before") buckets)" \
	test -z "$(comm -23 <(sort <<<"$before") <(sort <<<"$after"))"
sleep 7 # a new "30m" bucket opens and one more closes
mapi GET "/api/v1/vms/busy/metrics?resolution=30m&metric=cpu"
before=$(stamps)
check "buckets go on after the restart" test "$(wc -l <<<"$before")" -gt "$(wc -l <<<"$after")"
vdcd_kill9
start || not_ok "vdcd starts after kill -9"
mapi GET "/api/v1/vms/busy/metrics?resolution=30m&metric=cpu"
after=$(stamps)
check "after kill -9 every closed bucket is still there" \
	test -z "$(comm -23 <(head -n -1 <<<"$before" | sort) <(sort <<<"$after"))"

# The CLI.
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP" >/dev/null 2>&1
out=$(vdc vm metrics busy --resolution 30m 2>&1)
check "vdc vm metrics --resolution 30m says the tier" grep -q 'every 6 s (30m: averages, MAX the highest)' <<<"$out"
check "... and lists cpu_demand" grep -qE '^cpu_demand +[0-9.]+%' <<<"$out"
diag "$(head -4 <<<"$out")"
out=$(vdc host metrics h1 --since 2h --metric cpu,cpu_demand 2>&1)
check "vdc host metrics --since 2h picks the 30m tier" grep -q '(30m' <<<"$out"
out=$(vdc vm metrics busy --resolution 5m 2>&1)
check "vdc vm metrics --resolution 5m fails, naming resolution" grep -q resolution <<<"$out"

# Deleting the VM deletes its history (within a flush); the host's stays.
mapi POST /api/v1/vms/busy/stop
task_wait "$(jget "$BODY" .task.id)"
mapi DELETE /api/v1/vms/busy
task_wait "$(jget "$BODY" .task.id)"
check "the VM is deleted" test "$TASK_STATE" = succeeded
for _ in $(seq 1 50); do
	[ "$(rows vm "$vm_id")" = 0 ] && break
	sleep 0.2
done
check "its history is gone from the store" test "$(rows vm "$vm_id")" = 0
check "the host's history stays" test "$(rows host "$host_id")" -gt 0
mapi GET /metrics
check "/metrics counts the dropped history" test "$(sed -n 's/^vdcd_history_dropped_total //p' <<<"$BODY")" = 1
mapi GET "/api/v1/vms/$vm_id/metrics?resolution=30m"
check "its metrics are 404" test "$STATUS" = 404

agent_stop h1
check "the agent stops cleanly" test $? = 0
vdcd_stop
check "vdcd stops cleanly (sanitizers quiet)" test $? = 0
finish
