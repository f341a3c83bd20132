#!/usr/bin/env bash
# t_migrate.sh - live migration between two namespace hosts that share a
# datastore: first the agents' own steps (listen, send, progress, the
# hand-over QEMU reports), then through vdcd.
source "$(dirname "$0")/lib.sh"

shared_up
for h in h1 h2; do
	host_ns "$h"
	agent_start "$h" --datastore "shared=$SHARED" || { not_ok "agent on $h starts"; finish; exit 1; }
done
ok "two hosts on one fabric, each seeing the shared datastore"
ip1=$(cat "$(dir_of h1)/mgmt_ip")
ip2=$(cat "$(dir_of h2)/mgmt_ip")

# mig_wait HOST VM: until the sender's migration ends; sets MIG_STATUS.
mig_wait() {
	local i
	for i in $(seq 1 600); do
		api "$1" GET "/api/v1/vms/$2/migration"
		MIG_STATUS=$(jget "$BODY" .status)
		case $MIG_STATUS in completed | failed | cancelled) return 0 ;; esac
		sleep 0.1
	done
	return 1
}

# ---- agents alone -------------------------------------------------------
api h1 POST '/api/v1/vms?start=true' "$(guest_spec web1 10.213.0.11)"
check "the VM starts on h1" test "$STATUS/$(jget "$BODY" .state)" = 201/running
check "its guest is ready" wait_console h1 web1 'VDC-GUEST-READY hostname=web1' 60
api h1 GET /api/v1/vms/web1
spec=$(jq -c .spec <<<"$BODY")
uuid=$(jget "$BODY" .uuid)
mac=$(jget "$BODY" '.spec.nics[0].mac')
pid1=$(jget "$BODY" .runtime.pid)
up1=$(guest_req h1 10.213.0.11 uptime | cut -d' ' -f1)

api h2 POST /api/v1/migrations/incoming "$(jq -nc --argjson s "$spec" --arg a "$ip2" '{spec:$s, address:$a}')"
check "h2 listens for the VM (201)" test "$STATUS" = 201
check "h2's VM waits as incoming" test "$(jget "$BODY" .state)" = incoming
uri=$(jget "$BODY" .migration.uri)
check "h2 names where to send it, on its own address" grep -qE "^tcp:$ip2:[0-9]+\$" <<<"$uri"
check "h2 keeps the VM's uuid and MAC" test "$(jget "$BODY" .uuid) $(jget "$BODY" '.spec.nics[0].mac')" = "$uuid $mac"

api h1 POST /api/v1/vms/web1/migrate "$(jq -nc --arg u "$uri" '{uri:$u, downtime_limit_ms:300}')"
check "h1 begins sending (202)" test "$STATUS" = 202
mig_wait h1 web1
check "the migration completes" test "$MIG_STATUS" = completed
v=$(jget "$BODY" '(.total_ms > 0) and (.downtime_ms >= 0)')
check "the sender reports total time and downtime" test "$v" = true
[ "$v" = true ] || diag "$BODY"
api h1 GET /api/v1/vms/web1
check "h1's copy is migrated (paused, the guest gone)" test "$(jget "$BODY" .state)" = migrated
api h2 GET /api/v1/vms/web1
check "h2 runs the guest" test "$(jget "$BODY" .state)" = running
check "the guest answers on h2's bridge" test "$(guest_req h2 10.213.0.11 ping)" = pong
up2=$(guest_req h2 10.213.0.11 uptime | cut -d' ' -f1)
check "the guest's uptime continued (same guest, not a reboot)" awk -v a="$up1" -v b="$up2" 'BEGIN{exit !(b > a)}'

api h1 DELETE '/api/v1/vms/web1?force=true&leave_disks=true'
check "h1 lets go of its copy (204)" test "$STATUS" = 204
check "h1's QEMU is gone" proc_dead "$pid1"
check "the guest still answers on h2" test "$(guest_req h2 10.213.0.11 ping)" = pong

# ---- a TCP stream across the move ------------------------------------------
# The guest on a VM network both hosts share; a client in the root namespace
# keeps a connection open while the guest moves: no reset, every number
# once, in order, and the count goes on after the move.
vmnet_up h1 h2 || not_ok "a VM network shared by h1 and h2"
TIP=$VMNET_NET.21
api h1 POST '/api/v1/vms?start=true' "$(guest_spec tcp1 "$TIP" | jq -c '.nics=[{bridge:"vmnet0"}]')"
check "a VM on the shared VM network starts on h1" test "$STATUS/$(jget "$BODY" .state)" = 201/running
check "... and is ready" wait_console h1 tcp1 'VDC-GUEST-READY hostname=tcp1' 60
exec {CNT}<>"/dev/tcp/$TIP/7777"
printf 'count\n' >&"$CNT"
cat <&"$CNT" >"$TMP/count.out" &
reader=$!
for _ in $(seq 1 100); do [ "$(wc -l <"$TMP/count.out")" -ge 50 ] && break; sleep 0.1; done
before=$(wc -l <"$TMP/count.out")
check "the guest streams its count to a client outside both hosts" test "$before" -ge 50
api h1 GET /api/v1/vms/tcp1
tspec=$(jq -c .spec <<<"$BODY")
api h2 POST /api/v1/migrations/incoming "$(jq -nc --argjson s "$tspec" --arg a "$ip2" '{spec:$s, address:$a}')"
api h1 POST /api/v1/vms/tcp1/migrate "$(jq -nc --arg u "$(jget "$BODY" .migration.uri)" '{uri:$u}')"
mig_wait h1 tcp1
check "the streaming VM migrates to h2" test "$MIG_STATUS" = completed
api h1 DELETE '/api/v1/vms/tcp1?force=true&leave_disks=true'
at_move=$(wc -l <"$TMP/count.out")
sleep 3
after=$(wc -l <"$TMP/count.out")
check "the connection survived the move (no reset: the reader still reads)" kill -0 "$reader"
check "the count went on after the move ($at_move lines at the hand-over, $after 3 s later)" test "$after" -gt $((at_move + 20))
exec {CNT}>&-
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
# Whole lines only: the last may have been cut by the kill.
check "every number came once, in order, none lost ($after lines)" \
	awk '$0 != NR - 1 { print "# line " NR " is " $0; bad = 1; exit } END { exit bad }' <(head -n -1 "$TMP/count.out")
api h2 DELETE '/api/v1/vms/tcp1?force=true'

api h2 POST /api/v1/migrations/incoming "$(jq -nc --argjson s "$spec" '{spec:$s, address:"not-an-ip"}')"
check "a second VM of the name on the receiver is refused (409 name_taken)" test "$STATUS/$(jget "$BODY" .error.code)" = 409/name_taken
api h2 DELETE '/api/v1/vms/web1?force=true'
api h2 POST /api/v1/migrations/incoming "$(jq -nc --argjson s "$spec" '{spec:$s, address:"not-an-ip"}')"
check "a listen address that is no IP is refused, naming it (400)" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/address
api h2 GET /api/v1/vms/web1
check "... and leaves no VM behind" test "$STATUS" = 404

# ---- through vdcd ------------------------------------------------------
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
for h in h3 h4; do
	host_join "$h" c1 --datastore "shared=$SHARED" || not_ok "$h joins"
done
hosts_connected 2
check "h3 and h4 join cluster c1" test "$(jget "$BODY" '.items | length')" = 2
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'
mapi POST /api/v1/vms '{"name":"mv","template":"tiny","datastore":"shared","start":true}'
task_wait "$(jget "$BODY" .task.id)"
check "a VM on the shared datastore starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/mv
from=$(jget "$BODY" .placement.host)
vm_id=$(jget "$BODY" .id)
to=h3
[ "$from" = h3 ] && to=h4

mapi POST '/api/v1/vms/mv/migrate?dry_run=true' '{}'
check "a dry run names placement's choice: the other host" test "$STATUS/$(jget "$BODY" .host)" = "200/$to"
check "... with the VM's own host rejected as its current one" \
	test "$(jget "$BODY" '[.placement.hosts[] | select(.filter == "current")] | length')" = 1
mapi GET /api/v1/vms/mv
check "... and nothing moved" test "$(jget "$BODY" .placement.host)/$(jget "$BODY" '.migration // "none"')" = "$from/none"

mapi POST /api/v1/vms/mv/migrate '{}'
check "migrate answers 202 with a task" test "$STATUS" = 202
task=$(jget "$BODY" .task.id)
task_wait "$task" 120
check "the migration task succeeds" test "$TASK_STATE" = succeeded
[ "$TASK_STATE" = succeeded ] || diag "$BODY"
check "its result has QEMU's total time and pause" test "$(jget "$BODY" '(.result.total_ms > 0) and (.result.downtime_ms >= 0)')" = true
check "its result names the strategy and the prediction" test "$(jget "$BODY" '.result.strategy != null and .result.predicted_total_ms > 0')" = true
mapi GET /api/v1/vms/mv
check "the VM now lives on the other host, running" test "$(jget "$BODY" '"\(.host_id) \(.power_state)"')" = "$(mapi GET /api/v1/hosts/$to && jget "$BODY" .id) running"
mapi GET /api/v1/vms/mv
check "... and no migration is left on it" test "$(jget "$BODY" '.migration // "none"')" = none
api "$to" GET "/api/v1/vms/$vm_id"
check "the receiving agent runs it" test "$(jget "$BODY" .state)" = running
api "$from" GET "/api/v1/vms/$vm_id"
check "the sending agent has let go of it" test "$STATUS" = 404
check "the disk stayed in the shared datastore" test -f "$SHARED/$vm_id/root.qcow2"

VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
check "vdc logs in" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"
vdc cluster update c1 --migration-downtime-ms 200 --migration-bandwidth-mib-s 0 --no-migration-postcopy >/dev/null
mapi GET /api/v1/clusters/c1
check "vdc cluster update sets the migration policy's fields given" \
	test "$(jget "$BODY" '.migration | "\(.downtime_limit_ms) \(.max_bandwidth_mib_s) \(.postcopy)"')" = "200 0 false"
mapi PATCH /api/v1/clusters/c1 '{"migration":{"downtime_limit_ms":0}}'
check "a downtime limit of 0 is refused, naming the field" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/migration.downtime_limit_ms
mapi PATCH /api/v1/clusters/c1 '{"migration":{"max_per_host":1,"what":1}}'
check "an unknown migration policy field is refused, naming it" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/migration.what
out=$(vdc vm migrate mv --host "$from" --dry-run 2>&1)
check "vdc vm migrate --dry-run says where and why" grep -q "would be placed on $from" <<<"$out"
out=$(vdc vm migrate mv --host "$from" 2>"$TMP/cli.err")
check "vdc vm migrate --host moves it back and says how long it paused" \
	grep -qE "^vm mv migrated to $from in [0-9]+ ms \(paused [0-9]+ ms; (precopy|auto-converge)\)\$" <<<"$out"
[ -n "$out" ] || diag "$(tail -3 "$TMP/cli.err")"
mapi GET /api/v1/vms/mv
check "... and it runs there" test "$(mapi GET /api/v1/hosts/$from && jget "$BODY" .id) running" = "$(mapi GET /api/v1/vms/mv && jget "$BODY" '"\(.host_id) \(.power_state)"')"

mapi POST /api/v1/vms/mv/migrate "{\"host\":\"$from\"}"
check "to the host it runs on: 409 same_host" test "$STATUS/$(jget "$BODY" .error.code)" = 409/same_host
mapi POST /api/v1/vms/mv/migrate '{"host":"nowhere"}'
check "to an unknown host: 404 naming the host" test "$STATUS/$(jget "$BODY" .error.field)" = 404/host
mapi POST /api/v1/vms/mv/migrate '{"hots":"h3"}'
check "an unknown field: 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/hots

# A VM whose disk is on a host's own datastore moves with its disk (the
# receiver does not share it: it is copied over NBD; t_migrate_disks.sh
# tries it hard), while mv's disk above stayed on the shared datastore.
mapi POST /api/v1/vms '{"name":"loc","template":"tiny","datastore":"local","start":true}'
task_wait "$(jget "$BODY" .task.id)"
loc_from=$(mapi GET /api/v1/vms/loc && jget "$BODY" .placement.host)
mapi POST /api/v1/vms/loc/migrate '{}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a VM on a host-local datastore migrates, its disk copied" \
	test "$TASK_STATE/$(jget "$BODY" '.result.copied_disks | join(",")')" = succeeded/root
mapi GET /api/v1/vms/loc
check "... and runs on the other host, with no migration left" \
	test "$(jget "$BODY" '"\(.placement.host != "'"$loc_from"'") \(.power_state) \(.migration // "none")"')" = "true running none"
mapi GET "/api/v1/tasks?op=vm.migrate&target_id=$vm_id&limit=1"
check "mv's migration copied no disk (shared)" test "$(jget "$BODY" '.items[0].result.copied_disks // "none"')" = none

# The cluster's limit per host: with one migration under way between the
# two hosts, another from either is refused, naming the host and the limit.
mapi PATCH /api/v1/clusters/c1 '{"migration":{"max_per_host":1,"link_mib_s":1}}'
link_rate h3 8mbit
link_rate h4 8mbit
mapi POST /api/v1/vms/mv/migrate '{}'
slow=$(jget "$BODY" .task.id)
mapi POST /api/v1/vms/loc/migrate '{}'
check "past the cluster's migrations per host: 409 too_many_migrations naming the limit" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(grep -c 'max_per_host 1' <<<"$(jget "$BODY" .error.message)")" = 409/too_many_migrations/1
mapi POST /api/v1/vms/mv/migrate '{}'
check "a second migration of a VM being migrated: 409 migration_running" test "$STATUS/$(jget "$BODY" .error.code)" = 409/migration_running
# And the limit of the whole cluster (the slow migration still under way).
mapi PATCH /api/v1/clusters/c1 '{"migration":{"max_per_host":4,"max_per_cluster":1}}'
mapi POST /api/v1/vms/loc/migrate '{}'
check "past the cluster's migrations in all: 409 too_many_migrations naming max_per_cluster" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(grep -c 'max_per_cluster 1' <<<"$(jget "$BODY" .error.message)")" = 409/too_many_migrations/1
mapi POST "/api/v1/tasks/$slow/cancel"
task_wait "$slow" 60
check "... and the first, cancelled, leaves it running where it was" \
	test "$TASK_STATE $(mapi GET /api/v1/vms/mv && jget "$BODY" '"\(.power_state) \(.migration // "none")"')" = "cancelled running none"
mapi PATCH /api/v1/clusters/c1 '{"migration":{"max_per_host":2,"max_per_cluster":8,"link_mib_s":100}}'
link_rate h3 off
link_rate h4 off

mapi GET /metrics
mig_count() { grep -E "^vdcd_migrations_total\\{outcome=\"$1\"\\}" <<<"$BODY" | awk '{print $2}'; }
check "/metrics counts the migrations by outcome (3 succeeded, 0 failed, 1 cancelled)" \
	test "$(mig_count succeeded),$(mig_count failed),$(mig_count cancelled)" = "3,0,1"
check "/metrics has the last migration's total time and pause" \
	grep -qE '^vdcd_migration_last_total_ms [1-9][0-9]*$' <<<"$BODY"

mapi POST /api/v1/vms/mv/stop '{"timeout_s":1}'
task_wait "$(jget "$BODY" .task.id)"
mapi POST /api/v1/vms/mv/migrate '{}'
check "a stopped VM: 409 invalid_state" test "$STATUS/$(jget "$BODY" .error.code)" = 409/invalid_state

finish
