#!/usr/bin/env bash
# t_ha_ready.sh - readiness probes (issue 14) on two namespace hosts sharing
# a datastore, with real guests (the test guest's request server listens on
# TCP 7777): a VM's probe makes it ready once its guest answers, as its
# host sees it from outside; after a host crash, a VM that starts after
# another ("start B after A is ready") is queued only once A answers again,
# and one whose A never answers goes on after the cluster's ready_timeout_s,
# saying so; a ready VM whose port stops answering (blocked on its host) is
# restarted there by VM monitoring, reason "readiness probe", within the
# restart budget, then left running with an event once the budget is spent.
# Bad probes are refused naming the field; a probe has a port, never an
# address: it only ever reaches the VM's own guest.
source "$(dirname "$0")/lib.sh"

shared_up
vdcd_start --heartbeat-timeout-s 30 || { not_ok "vdcd starts"; finish; exit 1; }

mapi POST /api/v1/clusters '{"name":"c1","ha":{"enabled":true,"default_priority":"high","net_timeout_ms":2000,"lease_ms":5000,"margin_ms":500,"max_restarts":1,"restart_window_s":600,"ready_timeout_s":20,"admission":{"policy":"none"}}}'
check "a cluster with HA on, waves waiting 20 s at most for readiness" \
	test "$STATUS/$(jget "$BODY" .ha.ready_timeout_s)" = 201/20
mapi POST /api/v1/clusters '{"name":"bad","ha":{"ready_timeout_s":0}}'
check "a ready_timeout_s of 0 is refused, naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/ha.ready_timeout_s
host_join h1 c1 --datastore "shared=$SHARED" || not_ok "h1 joins"
hosts_connected 1 || not_ok "h1 connects"
declare -A HID
mapi GET /api/v1/hosts/h1
HID[h1]=$(jget "$BODY" .id)
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'

# ---- bad probes: 400 naming the field, nothing made --------------------------
for bad in '{"tcp_port":0}:ready_probe.tcp_port' '{"tcp_port":65536}:ready_probe.tcp_port' \
	'{"tcp_port":"22"}:ready_probe.tcp_port' '{}:ready_probe.tcp_port' '7777:ready_probe' '"10.0.0.1:22":ready_probe' \
	'{"tcp_port":22,"host":"10.0.0.1"}:ready_probe.host' '{"tcp_port":22,"ip":"127.0.0.1"}:ready_probe.ip' \
	'{"tcp_port":22,"period_s":1,"timeout_s":2}:ready_probe.timeout_s' '{"tcp_port":22,"failures":0}:ready_probe.failures'; do
	probe=${bad%:*} field=${bad##*:}
	mapi POST /api/v1/vms "{\"name\":\"bad\",\"template\":\"tiny\",\"ready_probe\":$probe,\"start\":false}"
	check "ready_probe $probe is refused naming $field" test "$STATUS/$(jget "$BODY" .error.field)" = "400/$field"
done
mapi GET /api/v1/vms/bad
check "... and no VM was made" test "$STATUS" = 404

# ---- four protected VMs on h1 (one affinity group) ----------------------------
# db answers on 7777; app starts after db. nodb's probe port has nothing
# listening; app2 starts after nodb.
mk() { # mk NAME PROBE_PORT|- [AFTER]
	local probe=null after='[]'
	[ "$2" != - ] && probe="{\"tcp_port\":$2,\"period_s\":1,\"timeout_s\":1,\"failures\":3}"
	[ -n "${3:-}" ] && after="[\"$3\"]"
	mapi POST /api/v1/vms "{\"name\":\"$1\",\"template\":\"tiny\",\"datastore\":\"shared\",\"ready_probe\":$probe,\"ha\":{\"restart_after\":$after},\"start\":true,\"placement\":{\"affinity\":[\"g\"]}}"
	task_wait "$(jget "$BODY" .task.id)" 120
	check "$1 starts (probe $2${3:+, after $3})" test "$TASK_STATE" = succeeded
}
mk db 7777
mk app - db
mk nodb 7778
mk app2 - nodb
declare -A ID
for v in db app nodb app2; do ID[$v]=$(mapi GET "/api/v1/vms/$v" && jget "$BODY" .id); done
mapi GET /api/v1/vms/db
check "db keeps its probe, with the defaults filled in" \
	test "$(jq -c .config.ready_probe <<<"$BODY")" = '{"tcp_port":7777,"period_s":1,"timeout_s":1,"failures":3}'

ready_of() { mapi GET "/api/v1/vms/$1" && jget "$BODY" '.readiness.ready | tostring'; }
wait_ready() { # wait_ready VM VALUE [TRIES of 0.2 s]
	local i
	for i in $(seq 1 "${3:-300}"); do
		[ "$(ready_of "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
check "db becomes ready: its guest answers on 7777" wait_ready db true
mapi GET /api/v1/vms/db
DB_IP=$(jget "$BODY" .readiness.ip)
check "... found at its own address ($DB_IP), since a time" test -n "$DB_IP" -a -n "$(jget "$BODY" '.readiness.since // empty')"
event_of() { # event_of ACTION ID [OUTCOME]: the newest such event's detail
	mapi GET '/api/v1/events?limit=300'
	jget "$BODY" "[.items[] | select(.action == \"$1\" and .target_id == \"$2\" and .outcome == \"${3:-succeeded}\")] | first | .detail // empty"
}
check "... an event says so" grep -q "ready: its readiness probe answers on $DB_IP:7777" <<<"$(event_of vm.ready "${ID[db]}")"
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
"$VDC" login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP" >/dev/null 2>&1 || not_ok "vdc logs in"
out=$("$VDC" vm show db 2>&1)
check "vdc vm show says it is ready ($(grep 'ready probe' <<<"$out"))" grep -q "^ready probe *TCP 7777 every 1 s: ready since 20" <<<"$out"
out=$("$VDC" vm create cli-vm --template tiny --no-start --ready-port 8080 --ready-period 5 --ready-timeout 2 \
	--ready-failures 4 2>&1)
mapi GET /api/v1/vms/cli-vm
check "vdc vm create --ready-port/--ready-period/--ready-timeout/--ready-failures makes its probe" \
	test "$(jq -c .config.ready_probe <<<"$BODY")" = '{"tcp_port":8080,"period_s":5,"timeout_s":2,"failures":4}'
mapi DELETE /api/v1/vms/cli-vm
task_wait "$(jget "$BODY" .task.id)" 60
api h1 GET "/api/v1/vms/${ID[db]}"
check "its host shows the probe's word in its VM listing" test "$(jget "$BODY" .ready.ready)/$(jget "$BODY" .ready.ip)" = "true/$DB_IP"
refused() {
	local i
	for i in $(seq 1 300); do
		mapi GET /api/v1/vms/nodb
		[ "$(jget "$BODY" '.readiness.ready | tostring')" = false ] && jget "$BODY" .readiness.reason | grep -qi refused && return 0
		sleep 0.2
	done
	return 1
}
refused
check "nodb is not ready: nothing answers on 7778 ($(jget "$BODY" .readiness.reason))" \
	test "$(jget "$BODY" '.readiness.ready | tostring')" = false -a -n "$(jget "$BODY" .readiness.reason | grep -i refused)"
mapi GET /api/v1/vms/app
check "a VM without a probe has no readiness" test "$(jget "$BODY" '.readiness // "none"')" = none

# ---- a crash of h1: waves wait for readiness ----------------------------------
host_join h2 c1 --datastore "shared=$SHARED" || not_ok "h2 joins"
hosts_connected 2 || not_ok "h2 connects"
mapi GET /api/v1/hosts/h2
HID[h2]=$(jget "$BODY" .id)
protected() {
	local i
	for i in $(seq 1 100); do
		mapi GET /api/v1/hosts/h1
		[ "$(jget "$BODY" "[(.ha_protected // [])[] | select(. == \"${ID[db]}\" or . == \"${ID[nodb]}\")] | length")" = 2 ] && return 0
		sleep 0.1
	done
	return 1
}
check "h1 confirmed it fences db and nodb" protected
ip netns pids "$(ns_of h1)" | xargs -r kill -9
on_h2_running() { mapi GET "/api/v1/vms/$1" && [ "$(jget "$BODY" .host_id)/$(jget "$BODY" .power_state)" = "${HID[h2]}/running" ]; }
all=0
for _ in $(seq 1 600); do
	on_h2_running db && on_h2_running app && on_h2_running nodb && on_h2_running app2 && all=1 && break
	sleep 0.2
done
check "after h1 crashed, all four run on h2" test "$all" = 1
mapi GET '/api/v1/events?limit=400'
EV=$BODY
ev_id() { jget "$EV" "[.items[] | select(.action == \"$1\" and .target_id == \"$2\" and .outcome == \"$3\")] | first | .id // 0"; }
ev_at() { jget "$EV" "[.items[] | select(.action == \"$1\" and .target_id == \"$2\" and .outcome == \"$3\")] | first | .at // empty"; }
db_ready=$(ev_id vm.ready "${ID[db]}" succeeded)
db_started=$(ev_id vm.ha_restart "${ID[db]}" succeeded)
app_queued=$(ev_id vm.ha_restart "${ID[app]}" accepted)
check "app was queued only once db's probe answered on h2 (events: db started $db_started, ready $db_ready, app queued $app_queued)" \
	test "$db_ready" -gt "$db_started" -a "$app_queued" -gt "$db_ready"
waved=$(jget "$EV" "[.items[] | select(.action == \"vm.ha_wave\" and .target_id == \"${ID[nodb]}\")] | first | .detail // empty")
check "nodb never answered: app2 went on after 20 s, and an event says so ($waved)" \
	grep -q "nodb's readiness probe did not answer within 20 s of its restart: going on without it" <<<"$waved"
t_nodb=$(ev_at vm.ha_restart "${ID[nodb]}" accepted)
t_app2=$(ev_at vm.ha_restart "${ID[app2]}" accepted)
secs() { date -d "$1" +%s.%N; }
check "... app2 was queued at least 20 s after nodb ($t_nodb -> $t_app2)" \
	test "$(echo "$(secs "$t_app2") - $(secs "$t_nodb") >= 19.9" | bc)" = 1
mapi GET "/api/v1/clusters/c1/ha/incidents?host=h1&limit=1"
INC=$(jget "$BODY" '.items[0]')
check "h1's incident has a ready step for db after its start ($(jq -r '[.steps[].phase] | join(" ")' <<<"$INC"))" \
	test "$(jq -r "[.steps[] | select(.vm.name == \"db\") | .phase] | join(\" \")" <<<"$INC")" = "placed started ready"
check "... and counts it (vms_ready 1, to_ready_s given)" \
	test "$(jq -r '.summary.vms_ready' <<<"$INC")" = 1 -a "$(jq -r '.summary.to_ready_s > 0' <<<"$INC")" = true
mapi DELETE "/api/v1/vms/nodb?force=true"
task_wait "$(jget "$BODY" .task.id)" 60
mapi DELETE "/api/v1/vms/app2?force=true"
task_wait "$(jget "$BODY" .task.id)" 60

# ---- VM monitoring: db's port stops answering on h2 --------------------------
check "db is ready on h2" wait_ready db true
mapi GET /api/v1/vms/db
DB_IP=$(jget "$BODY" .readiness.ip)
qpid() { pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid ${ID[db]}( |\$)"; }
PID1=$(qpid)
block() { in_ns h2 nft -f - <<EOF
table inet vdct_ready_block {
	chain out { type filter hook output priority 0; ip daddr $DB_IP tcp dport 7777 drop; }
}
EOF
}
unblock() { in_ns h2 nft delete table inet vdct_ready_block; }
block || not_ok "db's port is blocked on h2"
restarted=""
for _ in $(seq 1 300); do
	restarted=$(event_of vm.ha_restart "${ID[db]}" accepted)
	grep -q "readiness probe" <<<"$restarted" && break
	sleep 0.2
done
check "db's probe stopped answering: vdcd restarts it on h2, saying why ($restarted)" \
	grep -q "its readiness probe stopped answering on h2 (no answer on $DB_IP:7777 within 1 s); restarted there (restart 1 of at most 1 in 10 min)" <<<"$restarted"
check "... an event says it is not ready" grep -q "not ready: its readiness probe stopped answering (3 failures in a row" \
	<<<"$(event_of vm.ready "${ID[db]}" failed)"
back=0
for _ in $(seq 1 300); do
	PID2=$(qpid)
	[ -n "$PID2" ] && [ "$PID2" != "$PID1" ] && on_h2_running db && back=1 && break
	sleep 0.2
done
check "... in a new QEMU" test "$back" = 1
unblock
check "unblocked, the new run answers: ready again" wait_ready db true
mapi GET "/api/v1/clusters/c1/ha/incidents?limit=5"
check "the monitoring restart is db's incident, over when it answered (placed started ready)" \
	test "$(jget "$BODY" "[.items[] | select(.kind == \"vm\" and .vm.name == \"db\")] | first | [.steps[].phase] | join(\" \")")" = "placed started ready"
block
gave_up=""
for _ in $(seq 1 300); do
	gave_up=$(event_of vm.ha_monitor "${ID[db]}" refused)
	[ -n "$gave_up" ] && break
	sleep 0.2
done
check "again, past the budget: left running, saying so ($gave_up)" \
	grep -q "its readiness probe stopped answering on h2 (.*); left running, not ready: restarted 1 times in the last 10 min" <<<"$gave_up"
sleep 2
check "... it still runs in the same QEMU" test "$(qpid)" = "$PID2"
check "... after exactly 1 monitoring restart" \
	test "$(mapi GET '/api/v1/events?limit=300' && jget "$BODY" "[.items[] | select(.action == \"vm.ha_restart\" and .target_id == \"${ID[db]}\" and .outcome == \"accepted\" and (.detail | contains(\"readiness\")))] | length")" = 1
unblock

# ---- the probe changes with a resize, at any time -------------------------------
mapi POST "/api/v1/vms/db/resize" '{"ready_probe":{"tcp_port":70000}}'
check "a resize to a bad port is refused naming the field" test "$STATUS/$(jget "$BODY" .error.field)" = 400/ready_probe.tcp_port
out=$("$VDC" vm resize db --no-ready-probe 2>&1)
mapi GET /api/v1/vms/db
check "a running VM's probe is removed by a resize, at once ($out)" \
	test "$out/$(jget "$BODY" '.config.ready_probe // "none"')" = "vm db: readiness probe removed/none"
none=0
for _ in $(seq 1 100); do
	api h2 GET "/api/v1/vms/${ID[db]}"
	[ "$(jget "$BODY" '.ready // "none"')" = none ] && none=1 && break
	sleep 0.2
done
check "... its host stops probing it (next heartbeat)" test "$none" = 1
out=$("$VDC" vm resize db --ready-port 7777 2>&1)
mapi GET /api/v1/vms/db
check "... and gets one again, the default period ($out)" \
	test "$out/$(jget "$BODY" .config.ready_probe.period_s)" = "vm db: readiness probe set/2"
"$VDC" vm resize db --ready-port 0 >/dev/null 2>&1
check "vdc vm resize --ready-port 0 is refused (exit 2: vdcd's 400)" test $? = 2
check "... which answers" wait_ready db true 300

agent_stop h2 || not_ok "the agent on h2 stops cleanly"
finish
