#!/usr/bin/env bash
# t_ha.sh - high availability (issue 14) on three namespace hosts sharing a
# datastore: each host renews a lease there and vdcd hears every second
# from each; a host whose every process is killed (a crash) is found
# failed once its lease ran out past the margin, and its protected VM runs
# again on another host; a host cut from the network whose lease is still
# renewed is isolated, not failed, and its VM stays; a host cut from both
# kills its protected VM itself before its lease runs out, and only then
# does the VM start elsewhere; a host that comes back has its stale copy
# removed. A monitor scans every QEMU of the VM every 100 ms throughout
# and must never see two run the guest.
source "$(dirname "$0")/lib.sh"

shared_up
vdcd_start --heartbeat-timeout-s 30 || { not_ok "vdcd starts"; finish; exit 1; }

mapi POST /api/v1/clusters '{"name":"c1","ha":{"enabled":true,"default_priority":"low","net_timeout_ms":2000,"lease_ms":5000,"margin_ms":500}}'
check "a cluster with HA on (its times given)" \
	test "$STATUS/$(jget "$BODY" .ha.enabled)/$(jget "$BODY" .ha.lease_ms)" = 201/true/5000
mapi POST /api/v1/clusters '{"name":"bad","ha":{"lease_ms":1000}}'
check "a lease shorter than 2 s is refused, naming the field" test "$STATUS/$(jget "$BODY" .error.field)" = 400/ha.lease_ms
mapi POST /api/v1/clusters '{"name":"bad","ha":{"net_timeout_ms":5000,"lease_ms":4000}}'
check "a lease no longer than the network timeout is refused" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/ha.lease_ms
mapi PATCH /api/v1/clusters/c1 '{"ha":{"default_priority":"urgent"}}'
check "an unknown priority is refused, naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/ha.default_priority

join() {
	host_join "$1" c1 --datastore "shared=$SHARED"
}
for h in h1 h2 h3; do
	join "$h" || not_ok "$h joins"
done
hosts_connected 3 || not_ok "three hosts connect"
declare -A HID
for h in h1 h2 h3; do
	mapi GET "/api/v1/hosts/$h"
	HID[$h]=$(jget "$BODY" .id)
done
host_name_of() {
	local h
	for h in h1 h2 h3; do [ "${HID[$h]}" = "$1" ] && echo "$h"; done
}
# agent_again HOST: its agent started again, as it joined.
agent_again() {
	agent_start "$1" --datastore "shared=$SHARED" --listen 0.0.0.0:7441 --manager-url "$MGR_URL" \
		--manager-ca-fingerprint "$CA_FP" --host-name "$1" \
		--advertise-url "https://$(cat "$(dir_of "$1")/mgmt_ip"):7441"
}
# agent_back HOST: its agent started again, and HA has it connected (up to 10 s;
# BODY is the host as last read).
agent_back() {
	agent_again "$1" || not_ok "$1's agent starts again"
	for _ in $(seq 1 100); do
		mapi GET "/api/v1/hosts/$1"
		[ "$(jget "$BODY" .ha.state)" = connected ] && break
		sleep 0.1
	done
}

# Each host's lease on the shared datastore, renewed every second.
sleep 2.5
seq_of() { jq -r .seq "$SHARED/.vdc-ha/${HID[$1]}.lease" 2>/dev/null; }
s1=$(seq_of h1)
sleep 2.2
s2=$(seq_of h1)
check "each host keeps a lease on the shared datastore, renewed every second ($s1 -> $s2)" \
	test -n "$s1" -a -n "$s2" -a "${s2:-0}" -ge $((${s1:-0} + 1)) -a -f "$SHARED/.vdc-ha/${HID[h2]}.lease" \
	-a -f "$SHARED/.vdc-ha/${HID[h3]}.lease"

mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'
mapi POST /api/v1/vms '{"name":"vip","template":"tiny","datastore":"shared","ha":{"priority":"high"},"start":true,"placement":{"affinity":["pair"]}}'
task_wait "$(jget "$BODY" .task.id)"
check "a protected VM (priority high) on the shared datastore starts" test "$TASK_STATE" = succeeded
# Restart order: app starts after vip once both must restart (on vip's
# host, by their affinity group).
mapi POST /api/v1/vms '{"name":"app","template":"tiny","datastore":"shared","ha":{"priority":"low","restart_after":["vip"]},"start":true,"placement":{"affinity":["pair"]}}'
task_wait "$(jget "$BODY" .task.id)"
check "a VM that starts after vip (restart order) starts beside it" \
	test "$TASK_STATE/$(mapi GET /api/v1/vms/app && jget "$BODY" .ha.restart_after[0])" = succeeded/vip
APP=$(mapi GET /api/v1/vms/app && jget "$BODY" .id)
mapi POST /api/v1/vms '{"name":"bad","template":"tiny","ha":{"priority":"urgent"}}'
check "a VM's unknown priority is refused, naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/ha.priority
mapi GET /api/v1/vms/vip
VM=$(jget "$BODY" .id)
check "its priority is kept" test "$(jget "$BODY" .ha.priority)" = high
where() { mapi GET /api/v1/vms/vip && host_name_of "$(jget "$BODY" .host_id)"; }
H=$(where)
# An unprotected VM: HA leaves it where it is, whatever happens.
mapi POST /api/v1/vms '{"name":"free","template":"tiny","datastore":"shared","ha":{"priority":"disabled"},"start":true}'
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/free
FREE_HOST=$(jget "$BODY" .host_id)

# ---- the CLI ----------------------------------------------------------------
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
"$VDC" login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP" >/dev/null 2>&1 || not_ok "vdc logs in"
out=$("$VDC" cluster ha c1 2>&1)
check "vdc cluster ha shows the admission policy and each host's HA state" \
	test "$(grep -c "^admission *tolerate 1 host failure" <<<"$out")" = 1 -a "$(grep -cE 'h[123] +connected +connected' <<<"$out")" = 3
out=$("$VDC" vm ha free --priority disabled --isolation-response shutdown 2>&1)
check "vdc vm ha sets a VM's priority and isolation response ($out)" \
	test "$out" = "vm free: HA priority disabled, isolation response shutdown"
mapi POST /api/v1/vms/free/ha '{"isolation_response":null}'
check "null puts a VM's isolation response back to the cluster's (its priority kept)" \
	test "$STATUS/$(jget "$BODY" .ha.isolation_response)/$(jget "$BODY" .ha.priority)" = 200/null/disabled
"$VDC" vm ha free >/dev/null 2>&1
check "vdc vm ha without a setting is a usage error (exit 2)" test $? = 2
"$VDC" cluster update c1 --ha-default-priority urgent >/dev/null 2>&1
check "vdc cluster update with a bad priority is refused (exit 2: vdcd's 400)" test $? = 2
out=$("$VDC" cluster update c1 --ha-max-restarts 3 --ha-ready-timeout 90 2>&1)
check "vdc cluster update --ha-max-restarts --ha-ready-timeout" \
	test "$(grep -c "cluster c1 updated" <<<"$out")/$(mapi GET /api/v1/clusters/c1 && jget "$BODY" .ha.ready_timeout_s)" = 1/90

# ---- admission control: the room kept for failover ------------------------
mapi GET /api/v1/clusters/c1/ha
check "the cluster's failover capacity is shown: 3 hosts, 1 host failure kept by default ($(jget "$BODY" .failover_capacity.summary))" \
	test "$STATUS/$(jget "$BODY" .admission)/$(jget "$BODY" .failover_capacity.hosts)" = "200/tolerate 1 host failure/3"
check "... with each host's HA state ($(jq -c '[.hosts[] | .ha.state]' <<<"$BODY"))" \
	test "$(jget "$BODY" '[.hosts[] | select(.ha.state == "connected")] | length')" = 3
check "... and how many host failures the load survives" test "$(jget "$BODY" .failover_capacity.tolerates_host_failures)" -ge 2
mapi PATCH /api/v1/clusters/c1 '{"ha":{"admission":{"policy":"percent","mem_pct":100}}}'
check "an admission policy that keeps all memory free is set" test "$STATUS/$(jget "$BODY" .ha.admission.mem_pct)" = 200/100
mapi POST /api/v1/vms '{"name":"more","template":"tiny","datastore":"shared","start":true}'
msg=$(jget "$BODY" .error.message)
check "a power-on that would break it is refused (409 ha_admission), naming the policy and the numbers ($msg)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 409/ha_admission -a -n "$(grep -E '100%.*MiB' <<<"$msg")"
mapi GET /api/v1/vms/more
check "... and nothing of it is left" test "$STATUS" = 404
mapi POST /api/v1/vms/free/stop '{"timeout_s":1}'
task_wait "$(jget "$BODY" .task.id)"
mapi POST /api/v1/vms/free/start
check "starting a stopped VM is refused the same way" test "$STATUS/$(jget "$BODY" .error.code)" = 409/ha_admission
mapi PATCH /api/v1/clusters/c1 '{"ha":{"admission":{"policy":"bogus"}}}'
check "an unknown admission policy is refused, naming the field" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/ha.admission.policy
mapi PATCH /api/v1/clusters/c1 '{"ha":{"admission":{"policy":"host_failures","host_failures":1}}}'
mapi POST /api/v1/vms/free/start
task_wait "$(jget "$BODY" .task.id)"
check "with one host failure kept, it starts" test "$TASK_STATE" = succeeded

python3 "$VDC_ROOT/tests/integration/copies_monitor.py" "$VM" "$TMP/monitor.log" &
MON=$!

# running_on HOST: vdcd has the VM on HOST, running, and HOST's agent runs it.
running_on() {
	local h=$1 i
	for i in $(seq 1 ${2:-300}); do
		mapi GET /api/v1/vms/vip
		if [ "$(host_name_of "$(jget "$BODY" .host_id)")" = "$h" ] && [ "$(jget "$BODY" .power_state)" = running ]; then
			api "$h" GET "/api/v1/vms/$VM"
			[ "$(jget "$BODY" .state)" = running ] && return 0
		fi
		sleep 0.1
	done
	return 1
}
# moved_from HOST [TRIES]: until the VM runs on a host other than HOST; echoes it.
moved_from() {
	local h=$1 i to
	for i in $(seq 1 ${2:-300}); do
		mapi GET /api/v1/vms/vip
		to=$(host_name_of "$(jget "$BODY" .host_id)")
		if [ -n "$to" ] && [ "$to" != "$h" ] && [ "$(jget "$BODY" .power_state)" = running ]; then
			echo "$to"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
event_of() { # event_of ACTION ID [OUTCOME]: the newest such event's detail
	mapi GET '/api/v1/events?limit=200'
	jget "$BODY" "[.items[] | select(.action == \"$1\" and .target_id == \"$2\" and .outcome == \"${3:-succeeded}\")] | first | .detail // empty"
}
running_copies() { pgrep -cf "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $VM( |\$)" || true; }

# HA restarts elsewhere only what a host confirmed it fences (in its alive
# report, kept as the host's ha_protected): a host that dies before its
# next report after taking a VM keeps it.
protected_on() {
	local i
	for i in $(seq 1 50); do
		mapi GET "/api/v1/hosts/$1"
		[ "$(jget "$BODY" "(.ha_protected // []) | index(\"$VM\") != null")" = true ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- a crash: every process of the host killed ---------------------------
check "the VM's host confirmed it fences it" protected_on "$H"
T0=$(date +%s.%N)
ip netns pids "$(ns_of "$H")" | xargs -r kill -9
TO=$(moved_from "$H" 300)
T1=$(date +%s.%N)
check "after $H crashed, the protected VM runs on another host ($TO, $(echo "$T1 - $T0" | bc) s after the crash)" \
	test -n "$TO"
why=$(event_of host.ha_failed "${HID[$H]}")
check "vdcd says why the host failed: its lease ran out ($why)" grep -q "lease not renewed" <<<"$why"
check "a crash is never taken for isolation (its lease stopped with its word)" \
	test -z "$(event_of host.ha_isolated "${HID[$H]}")"
mapi GET "/api/v1/hosts/$H"
check "the host's record shows it failed, and disconnected" \
	test "$(jget "$BODY" .ha.state)/$(jget "$BODY" .state)" = failed/disconnected
check "the restart is an event with where and why" grep -q "failed; restarted on $TO" <<<"$(event_of vm.ha_restart "$VM" accepted)"
# app's restart was queued only once vip's had run (events are numbered in order).
app_ok=0
for _ in $(seq 1 100); do
	mapi GET /api/v1/vms/app
	[ "$(jget "$BODY" .power_state)" = running ] && [ "$(host_name_of "$(jget "$BODY" .host_id)")" = "$TO" ] && app_ok=1 && break
	sleep 0.1
done
mapi GET '/api/v1/events?limit=300'
vip_done=$(jget "$BODY" "[.items[] | select(.action == \"vm.ha_restart\" and .target_id == \"$VM\" and .outcome == \"succeeded\")] | last | .id")
app_queued=$(jget "$BODY" "[.items[] | select(.action == \"vm.ha_restart\" and .target_id == \"$APP\" and .outcome == \"accepted\")] | last | .id")
check "the VM that starts after it runs on $TO too, queued only once vip ran (event $app_queued after $vip_done)" \
	test "$app_ok" = 1 -a "${app_queued:-0}" -gt "${vip_done:-999999999}"

# The crash as one incident: its timeline in order, from detection through
# the fence to each VM placed and running again.
mapi GET "/api/v1/clusters/c1/ha/incidents?host=$H&limit=1"
INC=$(jget "$BODY" '.items[0]')
phases=$(jq -r '[.steps[].phase] | join(" ")' <<<"$INC")
check "the crash is an incident of $H, read from the API, its phases in order ($phases)" \
	test "$(jq -r '.kind + "/" + .host.name' <<<"$INC")" = "host/$H" -a \
	"$(jq -r '[.steps[].phase] | (index("detected") < index("fenced")) and (index("fenced") < index("placed")) and (index("placed") < index("started"))' <<<"$INC")" = true
check "... each step timed to the ms, in time order" \
	test "$(jq -r '[.steps[].at] | (. == sort) and all(test("\\.[0-9]{3}Z$"))' <<<"$INC")" = true
check "... with its figures: fenced $(jq -r .summary.to_fenced_s <<<"$INC") s after detection, both VMs placed and started" \
	test "$(jq -r '(.summary.to_fenced_s > 0) and (.summary.vms_placed >= 2) and (.summary.vms_started == .summary.vms_placed)' <<<"$INC")" = true
check "... and which VM went where (vip to $TO)" \
	test "$(jq -r "[.steps[] | select(.phase == \"placed\" and .vm.name == \"vip\") | .to_host.name] | first" <<<"$INC")" = "$TO"
out=$("$VDC" cluster incidents c1 --host "$H" --limit 1 2>&1)
echo "$out" >"$TMP/incidents.txt"
check "vdc cluster incidents prints the timeline" \
	test "$(grep -cE '^ +\+[0-9.]+s +(detected|fenced|placed|started) ' <<<"$out")" -ge 5 -a "$(grep -cE "^event-[0-9]+  host $H  " <<<"$out")" = 1
mapi GET "/api/v1/clusters/c1/ha/incidents?host=nohost"
check "incidents of a host not in the cluster: 404 naming host" test "$STATUS/$(jget "$BODY" .error.field)" = 404/host
mapi GET "/api/v1/clusters/c1/ha/incidents?limit=0"
check "a limit of 0: 400 naming limit" test "$STATUS/$(jget "$BODY" .error.field)" = 400/limit
mapi GET "/api/v1/events?action=host.ha_&limit=1000"
check "the log filters by action: only HA verdicts" \
	test "$STATUS/$(jget "$BODY" '[.items[].action | startswith("host.ha_")] | all')/$(jget "$BODY" '.items | length > 0')" = 200/true/true
mapi GET "/api/v1/events?action=host.ha%25"
check "an action filter with a wildcard is refused, naming action" test "$STATUS/$(jget "$BODY" .error.field)" = 400/action
# app has served (the tests below move vip alone).
mapi DELETE '/api/v1/vms/app?force=true'
task_wait "$(jget "$BODY" .task.id)"
check "one QEMU runs the VM" test "$(running_copies)" = 1
mapi GET /api/v1/vms/free
check "the unprotected VM is not restarted: it stays where it was" \
	test "$(jget "$BODY" .host_id)" = "$FREE_HOST" -a -z "$(event_of vm.ha_restart "$(jget "$BODY" .id)" accepted)"

# ---- the failed host comes back -----------------------------------------
OLD=$H
agent_again "$OLD" || not_ok "$OLD's agent starts again"
gone=0
for _ in $(seq 1 100); do
	api "$OLD" GET "/api/v1/vms/$VM"
	[ "$STATUS" = 404 ] && gone=1 && break
	sleep 0.1
done
check "the returning host's stale copy of the VM is removed" test "$gone" = 1
check "... its disk stays, in use where the VM runs now" test -f "$SHARED/$VM/root.qcow2"
check "... and the VM still runs on $TO" running_on "$TO" 20
api "$OLD" GET /api/v1/vms
check "the returning host did not start any VM by itself" \
	test "$(jget "$BODY" '[.vms[] | select(.state == "running")] | length')" = 0
host_connected "$OLD" >/dev/null
check "it is connected again" test "$(jget "$BODY" .state)" = connected

# ---- isolation: the network cut, the datastore kept ---------------------
H=$TO
ip -n "$(ns_of "$H")" link set mgmt0 down
for _ in $(seq 1 100); do
	mapi GET "/api/v1/hosts/$H"
	[ "$(jget "$BODY" .ha.state)" = isolated ] && break
	sleep 0.1
done
check "a host cut from the network whose lease is renewed is isolated, not failed ($(jget "$BODY" .ha.reason))" \
	test "$(jget "$BODY" .ha.state)" = isolated
check "... and its VM is not started elsewhere" test "$(where)" = "$H"
check "... it still runs there, once" test "$(running_copies)" = 1
ip -n "$(ns_of "$H")" link set mgmt0 up
for _ in $(seq 1 60); do
	mapi GET "/api/v1/hosts/$H"
	[ "$(jget "$BODY" .ha.state)" = connected ] && break
	sleep 0.1
done
check "back on the network, it is connected again" test "$(jget "$BODY" .ha.state)" = connected

# ---- isolation with the response "poweroff" -------------------------------
mapi POST /api/v1/vms/vip/ha '{"isolation_response":"poweroff"}'
check "a VM's isolation response is set (its priority kept)" \
	test "$STATUS/$(jget "$BODY" .ha.isolation_response)/$(jget "$BODY" .ha.priority)" = 200/poweroff/high
mapi POST /api/v1/vms/vip/ha '{"isolation_response":"reboot"}'
check "an unknown isolation response is refused, naming it" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/ha.isolation_response
mapi POST /api/v1/vms/vip/ha '{}'
check "an empty HA setting is refused" test "$STATUS/$(jget "$BODY" .error.field)" = 400/ha
sleep 1.5 # the host hears of it in its next alive answer
H=$(where)
# An affinity partner that stays running on the isolated host (unprotected,
# response leave) holds nothing there: the host is out of placement.
mapi POST /api/v1/vms '{"name":"buddy","template":"tiny","datastore":"shared","ha":{"priority":"disabled"},"start":true,"placement":{"affinity":["pair"]}}'
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/buddy
check "an affinity partner of vip runs beside it" test "$(host_name_of "$(jget "$BODY" .host_id)")/$(jget "$BODY" .power_state)" = "$H/running"
T0=$(date +%s.%N)
ip -n "$(ns_of "$H")" link set mgmt0 down
TO=$(moved_from "$H" 300)
check "an isolated host powers its VM off (its response) and the VM runs elsewhere, its partner left there ($TO, $(echo "$(date +%s.%N) - $T0" | bc) s)" \
	test -n "$TO"
check "... the isolated host did it itself" grep -q "ha_isolation_response vm=$VM response=poweroff" "$(dir_of "$H")/agent.log"
check "... and the restart says why" grep -q "is isolated and stopped it" <<<"$(event_of vm.ha_restart "$VM" accepted)"
mapi GET "/api/v1/hosts/$H"
check "... the host stays isolated, not failed (its lease is renewed)" test "$(jget "$BODY" .ha.state)" = isolated
check "one QEMU runs the VM" test "$(running_copies)" = 1
ip -n "$(ns_of "$H")" link set mgmt0 up
gone=0
for _ in $(seq 1 100); do
	api "$H" GET "/api/v1/vms/$VM"
	[ "$STATUS" = 404 ] && gone=1 && break
	sleep 0.1
done
check "back on the network, the isolated host's stopped copy is removed" test "$gone" = 1
mapi DELETE '/api/v1/vms/buddy?force=true'
task_wait "$(jget "$BODY" .task.id)"

# ---- both cut: the network, and the lease (its file made immutable) ------
# The VM's isolation response back to "leave": what stops it now is its
# host's fencing, not the response.
mapi POST /api/v1/vms/vip/ha '{"isolation_response":"leave"}'
sleep 1.5
H=$(where)
LEASE=$SHARED/.vdc-ha/${HID[$H]}.lease
test_cleanup() { chattr -i "$LEASE" 2>/dev/null; }
T0=$(date +%s.%N)
chattr +i "$LEASE"
ip -n "$(ns_of "$H")" link set mgmt0 down
TO=$(moved_from "$H" 300)
check "a host cut from both fences itself and its VM runs elsewhere ($TO, $(echo "$(date +%s.%N) - $T0" | bc) s)" \
	test -n "$TO"
check "the cut host killed its protected VM itself (its agent says fenced)" \
	grep -q 'ha_fenced vm='"$VM" "$(dir_of "$H")/agent.log"
check "one QEMU runs the VM" test "$(running_copies)" = 1
chattr -i "$LEASE"
ip -n "$(ns_of "$H")" link set mgmt0 up

# ---- vdcd killed in the middle of a restart -------------------------------
for _ in $(seq 1 60); do # the last host cut is back
	mapi GET "/api/v1/hosts/$H"
	[ "$(jget "$BODY" .ha.state)" = connected ] && break
	sleep 0.1
done
H=$(where)
check "the VM's host confirmed it fences it" protected_on "$H"
vdcd_stop || not_ok "vdcd stops"
crash_at task:vm.ha_restart:defined vdcd any --heartbeat-timeout-s 30 -- \
	sh -c "ip netns pids $(ns_of "$H") | xargs -r kill -9"
vdcd_start --heartbeat-timeout-s 30 || not_ok "vdcd starts again"
check "the restart's task is queued again after vdcd's restart" requeued_task vm.ha_restart
TO=$(moved_from "$H" 300)
check "... and the VM runs on another host ($TO)" test -n "$TO"
check "one QEMU runs the VM" test "$(running_copies)" = 1

# ---- the agent alone down past the lease, its QEMUs running on ------------
# Its lease keeper (vdc-ha-keeper, a process of its own) keeps the lease as
# "agent-down": the host reads as alive, and its VMs are not started a
# second time elsewhere. The returning agent takes the lease back.
keeper_of() { # keeper_of HOST: the pid of the host's lease keeper
	local p
	for p in $(ip netns pids "$(ns_of "$1")"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '^[^ ]*vdc-ha-keeper ' && echo "$p"
	done
}
H=$(where)
check "the VM's host confirmed it fences it" protected_on "$H"
KEEPER=$(keeper_of "$H")
check "the host's agent started its lease keeper ($KEEPER)" test -n "$KEEPER"
kill -9 "$(agent_pid "$H")"
sleep 9 # the network timeout (2 s), the lease (5 s) and its margin (0.5 s), and more
mapi GET "/api/v1/hosts/$H"
check "a host whose agent is down but whose keeper renews its lease is alive, said so ($(jget "$BODY" .ha.reason))" \
	grep -q "isolated/.*its agent is down, but its lease keeper renews" <<<"$(jget "$BODY" .ha.state)/$(jget "$BODY" .ha.reason)"
check "... its VM is not started elsewhere" test "$(where)" = "$H"
check "... it still runs there, once" test "$(running_copies)" = 1
check "... the keeper took the lease over" grep -q "keeper_take_over host=${HID[$H]}" "$(dir_of "$H")/agent.log"
check "... and renews it as agent-down" test "$(jq -r .state "$SHARED/.vdc-ha/${HID[$H]}.lease")" = agent-down
agent_back "$H"
check "the returning agent is connected, and the VM runs on there" \
	test "$(jget "$BODY" .ha.state)" = connected -a "$(where)" = "$H" -a "$(running_copies)" = 1
check "... it took the lease back from the same keeper" \
	test "$(keeper_of "$H")" = "$KEEPER" -a "$(grep -c "keeper_hand_back" "$(dir_of "$H")/agent.log")" -ge 1
sleep 1.5
check "... and renews it itself again" test "$(jq -r .state "$SHARED/.vdc-ha/${HID[$H]}.lease")" = alive

# ---- the agent down, then the datastore lost: the keeper fences -----------
H=$(where)
check "the VM's host confirmed it fences it" protected_on "$H"
kill -9 "$(agent_pid "$H")"
for _ in $(seq 1 40); do
	[ "$(jq -r .state "$SHARED/.vdc-ha/${HID[$H]}.lease" 2>/dev/null)" = agent-down ] && break
	sleep 0.1
done
LEASE=$SHARED/.vdc-ha/${HID[$H]}.lease
test_cleanup() { chattr -i "$LEASE" 2>/dev/null; }
T0=$(date +%s.%N)
chattr +i "$LEASE"
TO=$(moved_from "$H" 300)
check "with its agent down and its lease not renewable, the keeper fences the VM and it runs elsewhere ($TO, $(echo "$(date +%s.%N) - $T0" | bc) s)" \
	test -n "$TO"
check "... the keeper killed it" grep -q "keeper_fenced vm=$VM" "$(dir_of "$H")/agent.log"
check "... and ended, nothing left to guard" grep -q "keeper_exit reason=.*nothing to guard" "$(dir_of "$H")/agent.log"
check "one QEMU runs the VM" test "$(running_copies)" = 1
chattr -i "$LEASE"
agent_back "$H"
check "its agent back, the host is connected" test "$(jget "$BODY" .ha.state)" = connected

# ---- the agent and its keeper both killed, the QEMU running on ------------
# Two faults: the lease runs out and the host is judged failed while its
# QEMU still runs. QEMU's image lock refuses the second copy; vdcd then
# records the VM back on its old host and holds it there (not stopped on
# the new one, which would make the running copy "stale"), until the old
# host answers again.
H=$(where)
check "the VM's host confirmed it fences it" protected_on "$H"
kill -9 "$(agent_pid "$H")" $(keeper_of "$H")
held=""
for _ in $(seq 1 300); do
	mapi GET /api/v1/vms/vip
	held=$(jget "$BODY" '.ha_hold.reason // empty')
	[ -n "$held" ] && break
	sleep 0.1
done
check "a restart refused by the disk's image lock holds the VM, saying why ($held)" \
	grep -q "its disk is in use by another process (QEMU's image lock)" <<<"$held"
check "... recorded back on its old host ($H), state unknown" \
	test "$(host_name_of "$(jget "$BODY" .host_id)")/$(jget "$BODY" .power_state)" = "$H/unknown"
TRIED=$(host_name_of "$(jget "$BODY" .ha_hold.tried_host_id)")
api "$TRIED" GET "/api/v1/vms/$VM"
check "... the host it was tried on ($TRIED) keeps no definition of it" test "$STATUS" = 404
check "... its disk is still there" test -f "$SHARED/$VM/root.qcow2"
check "... one QEMU runs it, on the old host" test "$(running_copies)" = 1
check "... and vdc vm show says it is held, and why" \
	grep -q "^ha hold *held since .*its disk is in use by another process" <<<"$("$VDC" vm show vip 2>&1)"
sleep 3
mapi GET /api/v1/vms/vip
check "... HA does not try it again while held" \
	test "$(host_name_of "$(jget "$BODY" .host_id)")" = "$H" -a "$(running_copies)" = 1
agent_again "$H" || not_ok "$H's agent starts again"
released=0
for _ in $(seq 1 150); do
	mapi GET /api/v1/vms/vip
	[ -z "$(jget "$BODY" '.ha_hold // empty')" ] && [ "$(jget "$BODY" .power_state)" = running ] && released=1 && break
	sleep 0.1
done
check "its host back, the hold is released and the VM runs there, as before" \
	test "$released/$(where)/$(running_copies)" = "1/$H/1"
check "... the release is an event" grep -q "released" <<<"$(event_of vm.ha_hold "$VM")"

# ---- VM monitoring: its QEMU crashes, on a host that is fine ---------------
H=$(where)
mapi PATCH /api/v1/clusters/c1 '{"ha":{"max_restarts":1,"restart_window_s":600}}'
check "the cluster's restart budget is set" test "$STATUS/$(jget "$BODY" .ha.max_restarts)" = 200/1
PID1=$(pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $VM( |\$)")
kill -9 "$PID1"
back=0
for _ in $(seq 1 400); do
	PID2=$(pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $VM( |\$)")
	[ -n "$PID2" ] && [ "$PID2" != "$PID1" ] && running_on "$H" 1 && back=1 && break
	sleep 0.1
done
check "a protected VM whose QEMU crashed runs again on its host ($H)" test "$back" = 1
check "... the restart says why (crashed; 1 of at most 1 in 10 min)" \
	grep -q "crashed on $H.*restart 1 of at most 1 in 10 min" <<<"$(event_of vm.ha_restart "$VM" accepted)"
kill -9 "$PID2"
gave_up=""
for _ in $(seq 1 400); do
	gave_up=$(event_of vm.ha_monitor "$VM" refused)
	[ -n "$gave_up" ] && break
	sleep 0.1
done
check "a second crash within the window is left alone, saying so ($gave_up)" grep -q "left stopped: restarted 1 times" <<<"$gave_up"
sleep 1
check "... and no QEMU runs it" test "$(running_copies)" = 0

kill "$MON"
wait "$MON" 2>/dev/null
check "the monitor never saw two copies run the guest" test "$(grep -c '^TWO' "$TMP/monitor.log")" = 0
check "the monitor saw the guest run (it looked $(wc -l <"$TMP/monitor.log") times)" \
	test "$(grep -cE ' 1$' "$TMP/monitor.log")" -gt 50
finish
