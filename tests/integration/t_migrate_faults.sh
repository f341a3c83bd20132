#!/usr/bin/env bash
# t_migrate_faults.sh - a live migration that fails at each point leaves the
# VM running on exactly one host, and the inventory says which: a cancel, the
# receiving host's crash, the network between the hosts cut, kill -9 of the
# sending agent, of the receiving agent, and of vdcd at each step of its task.
# A monitor scans the VM's QEMU processes every 100 ms throughout and must
# never see two of them run the guest.
source "$(dirname "$0")/lib.sh"

shared_up
vdcd_start --heartbeat-timeout-s 30 || { not_ok "vdcd starts"; finish; exit 1; }
# Slow enough to act in the middle: the hosts' links carry 8 MiB/s (a
# kernel shaper on each; the cluster's policy says so for its plans).
mapi POST /api/v1/clusters '{"name":"c1","migration":{"link_mib_s":8}}'
check "a cluster with a migration policy (an 8 MiB/s link)" test "$STATUS/$(jget "$BODY" .migration.link_mib_s)" = 201/8
for h in h1 h2; do
	host_join "$h" c1 --datastore "shared=$SHARED" || not_ok "$h joins"
done
hosts_connected 2 || not_ok "h1 and h2 connect"
link_rate h1 64mbit
link_rate h2 64mbit
H1_ID=$(mapi GET /api/v1/hosts/h1 && jget "$BODY" .id)
H2_ID=$(mapi GET /api/v1/hosts/h2 && jget "$BODY" .id)
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=192'
mapi POST /api/v1/vms '{"name":"mv","template":"tiny","datastore":"shared","start":true}'
task_wait "$(jget "$BODY" .task.id)"
check "the VM starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/mv
VM=$(jget "$BODY" .id)

# restart_agent HOST: its agent again, as it joined (its certificate kept).
restart_agent() {
	agent_start "$1" --datastore "shared=$SHARED" --listen 0.0.0.0:7441 --manager-url "$MGR_URL" \
		--manager-ca-fingerprint "$CA_FP" --host-name "$1" \
		--advertise-url "https://$(cat "$(dir_of "$1")/mgmt_ip"):7441"
}

host_name_of() { [ "$1" = "$H1_ID" ] && echo h1 || echo h2; }
other() { [ "$1" = h1 ] && echo h2 || echo h1; }
where() { mapi GET /api/v1/vms/mv && host_name_of "$(jget "$BODY" .host_id)"; }

# The guest's address on its host's NAT network, from its readiness line.
IP=""
for _ in $(seq 1 150); do
	mapi GET /api/v1/vms/mv/console
	IP=$(grep -oE 'VDC-GUEST-READY .* ip=[0-9.]+' <<<"$BODY" | tail -1 | sed -E 's/.* ip=//')
	[ -n "$IP" ] && break
	sleep 0.2
done
check "the guest is ready with an address ($IP)" test -n "$IP"
# 32 MiB of guest memory written 4 MiB/s: pages to copy, and a vCPU that
# runs at least every 10 ms for the monitor to see.
check "the guest dirties memory" grep -q '^ok dirtying' <<<"$(guest_req "$(where)" "$IP" 'dirty 32 4')"

UP0=$(guest_req "$(where)" "$IP" uptime | cut -d' ' -f1 | cut -d. -f1)
T0=$SECONDS
python3 "$VDC_ROOT/tests/integration/copies_monitor.py" "$VM" "$TMP/monitor.log" &
MON=$!
sleep 1
check "the monitor sees the guest run, as one copy" grep -qE ' 1$' "$TMP/monitor.log"

# oopses: how many lines of a damaged kernel (oops, panic, lockup, stall)
# the guest's console holds.
oopses() {
	mapi GET /api/v1/vms/mv/console
	grep -cE 'Kernel panic|Oops|BUG:|soft lockup|rcu.*stall|general protection' <<<"$BODY"
}

# one_place WHAT [OOPSES_BEFORE]: the guest runs on exactly one host, the
# inventory names that host, no migration is left on the VM, the other host
# lists no copy, and the guest answers. With OOPSES_BEFORE, a guest that
# does not answer because it oopsed since (more oops lines on its console)
# is told, not judged: QEMU 7.2 under TCG damages guests in migrations that
# last (README: Live migration). A guest silent without an oops fails.
one_place() {
	local what=$1 oops_before=${2:-} h o st_h st_o i
	for i in $(seq 1 100); do
		h=$(where)
		o=$(other "$h")
		mapi GET /api/v1/vms/mv
		[ "$(jget "$BODY" '.migration // "none"')" = none ] && break
		sleep 0.2
	done
	api "$h" GET "/api/v1/vms/$VM"
	st_h=$STATUS/$(jget "$BODY" .state)
	api "$o" GET "/api/v1/vms/$VM"
	st_o=$STATUS
	mapi GET /api/v1/vms/mv
	check "$what: the VM runs on $h only, as the inventory says (migration cleared)" \
		test "$st_h $st_o $(jget "$BODY" '"\(.power_state) \(.migration // "none")"')" = "200/running 404 running none"
	[ "$st_h $st_o" = "200/running 404" ] || diag "on $h: $st_h; on $o: $st_o"
	local t0=$SECONDS answer="" tries=5
	# After a long throttled migration a loaded TCG guest may need longer.
	[ -n "$oops_before" ] && tries=15
	for i in $(seq 1 $tries); do
		answer=$(guest_req "$h" "$IP" ping)
		[ "$answer" = pong ] && break
		sleep 1 # a guest just moved: the host's first ARP for it may go unanswered
	done
	if [ "$answer" != pong ] && [ -n "$oops_before" ] && [ "$(oopses)" -gt "$oops_before" ]; then
		diag "$what: the guest oopsed after the migration and does not answer yet (QEMU 7.2 under TCG; see the README): told, not judged"
	else
		check "$what: the guest still answers" test "$answer" = pong
		if [ "$answer" != pong ]; then
			mapi GET /api/v1/vms/mv/console
			diag "$what: the guest's console ends: $(tail -5 <<<"$BODY" | tr '\n' '|')"
		fi
	fi
	[ $((SECONDS - t0)) -gt 5 ] && diag "$what: the guest took $((SECONDS - t0)) s to answer on $h"
}

# migrate_bg: starts a migration to the other host; sets MTASK.
migrate_bg() {
	mapi POST /api/v1/vms/mv/migrate '{}'
	MTASK=$(jget "$BODY" .task.id)
	[ "$STATUS" = 202 ] || diag "migrate: $STATUS $BODY"
}

# sending: until the task reports QEMU sending (live.status active).
sending() {
	for _ in $(seq 1 200); do
		mapi GET "/api/v1/tasks/$MTASK"
		[ "$(jget "$BODY" '.live.status // ""')" = active ] && return 0
		sleep 0.1
	done
	diag "the migration never reported 'active': $(jget "$BODY" .message)"
	return 1
}

# ---- a cancel ------------------------------------------------------------
from=$(where)
migrate_bg
sending
mapi POST "/api/v1/tasks/$MTASK/cancel"
check "a cancel while it sends is accepted" test "$STATUS" = 202 -o "$STATUS" = 200
task_wait "$MTASK" 60
check "the cancelled migration's task ends cancelled" test "$TASK_STATE" = cancelled
check "... and the VM is still on $from" test "$(where)" = "$from"
one_place "cancel"

# ---- the receiving host crashes ------------------------------------------
from=$(where)
to=$(other "$from")
migrate_bg
sending
ip netns pids "$(ns_of "$to")" | xargs -r kill -9
sleep 1
# The host comes back (its agent; its QEMU is gone for good).
restart_agent "$to" || not_ok "$to's agent restarts"
task_wait "$MTASK" 90
check "a receiver that crashed fails the migration" test "$TASK_STATE" = failed
diag "reason: $(jget "$BODY" .error.message)"
host_connected "$to"
check "the VM stayed on $from" test "$(where)" = "$from"
one_place "receiver crash"

# ---- the network between the hosts is cut (vdcd still reaches both) --------
# A quicker plan (32 MiB/s): overdue sooner.
mapi PATCH /api/v1/clusters/c1 '{"migration":{"link_mib_s":32}}'
link_rate h1 256mbit
link_rate h2 256mbit
from=$(where)
to=$(other "$from")
migrate_bg
sending
in_ns "$to" nft -f - <<EOF
table inet vdctcut {
	chain in {
		type filter hook input priority -10;
		ip saddr $(cat "$(dir_of "$from")/mgmt_ip") tcp dport != 7441 drop
	}
}
EOF
check "the link between the hosts is cut (the receiver drops the sender's packets)" \
	in_ns "$to" nft list table inet vdctcut
task_wait "$MTASK" 120
check "a migration whose link is cut is stopped, not left hanging" test "$TASK_STATE" = failed
check "... and says it overstayed its prediction, with the numbers" grep -q "predict" <<<"$(jget "$BODY" .error.message)"
diag "reason: $(jget "$BODY" .error.message)"
in_ns "$to" nft delete table inet vdctcut
one_place "link cut"

# ---- kill -9 of the sending agent, then of the receiving one --------------
mapi PATCH /api/v1/clusters/c1 '{"migration":{"link_mib_s":8}}'
link_rate h1 64mbit
link_rate h2 64mbit
for who in sender receiver; do
	from=$(where)
	to=$(other "$from")
	migrate_bg
	sending
	victim=$from
	[ "$who" = receiver ] && victim=$to
	agent_kill9 "$victim"
	sleep 2
	restart_agent "$victim" || not_ok "$victim's agent restarts"
	task_wait "$MTASK" 120
	check "kill -9 of the $who's agent mid-way: the migration still completes" test "$TASK_STATE" = succeeded
	[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
	check "... to $to" test "$(where)" = "$to"
	one_place "kill -9 of the $who's agent"
done

# ---- kill -9 of vdcd at each step of the task ------------------------------
# A vdcd just started knows its hosts once they beat again.
migrate_once_connected() {
	hosts_connected 2 || diag "the hosts did not connect to the new vdcd"
	mapi POST /api/v1/vms/mv/migrate '{}'
	[ "$STATUS" = 202 ] || diag "migrate: $STATUS $BODY"
}
# Fast migrations from here: the crash points need no window.
mapi PATCH /api/v1/clusters/c1 '{"migration":{"link_mib_s":100}}'
link_rate h1 off
link_rate h2 off
from=$(where)
vdcd_stop || not_ok "vdcd stops cleanly"
for point in after_receiver after_send before_handover after_handover after_sender_gone; do
	crash_at "task:vm.migrate:$point" vdcd any --heartbeat-timeout-s 30 -- migrate_once_connected
	vdcd_start --heartbeat-timeout-s 30 || not_ok "vdcd restarts after the crash at $point"
	t=$(requeued_task vm.migrate)
	check "crash at $point: vdcd queues the migration again at its start" test -n "$t"
	[ -n "$t" ] && task_wait "$t" 120
	check "crash at $point: the re-run migration succeeds" test "$TASK_STATE" = succeeded
	[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
	check "crash at $point: the VM moved from $from" test "$(where)" = "$(other "$from")"
	one_place "crash at $point"
	from=$(where)
	vdcd_stop || not_ok "vdcd stops cleanly after $point"
done
vdcd_start --heartbeat-timeout-s 30 || not_ok "vdcd starts again"
hosts_connected 2 || not_ok "the hosts connect again"

# A reboot in between: a migration that damaged the guest's memory shows
# as an oops and a fresh boot (panic=-1), which a ping alone misses.
# Told, not judged: under TCG, QEMU 7.2 has damaged guests in migrations
# that last (README: Live migration), more often on a loaded host.
up1=$(guest_req "$(where)" "$IP" uptime | cut -d' ' -f1 | cut -d. -f1)
if [ -n "$up1" ] && [ "$up1" -lt $((UP0 + (SECONDS - T0) / 2)) ]; then
	diag "the guest rebooted on the way (uptime $UP0 s, then $up1 s, $((SECONDS - T0)) s later): an oops after a migration (QEMU 7.2 under TCG; see the README)"
fi

# ---- a guest dirtying memory faster than the link carries it -------------
# A fresh boot first (a reset: same QEMU, the monitor keeps watching): this
# case judges the plan, not whatever the crash cases above left in the guest.
mapi GET /api/v1/vms/mv/console
ready0=$(grep -c 'VDC-GUEST-READY' <<<"$BODY")
mapi POST /api/v1/vms/mv/reset
[ "$STATUS" = 202 ] && task_wait "$(jget "$BODY" .task.id)"
IP=""
for _ in $(seq 1 150); do
	mapi GET /api/v1/vms/mv/console
	if [ "$(grep -c 'VDC-GUEST-READY' <<<"$BODY")" -gt "$ready0" ]; then
		IP=$(grep -oE 'VDC-GUEST-READY .* ip=[0-9.]+' <<<"$BODY" | tail -1 | sed -E 's/.* ip=//')
		break
	fi
	sleep 0.2
done
check "the reset guest is ready again ($IP)" test -n "$IP"
# 24 MiB/s against a 12 MiB/s link: without auto-converge the plan refuses
# it up front, naming the numbers; with it, QEMU throttles the guest until
# it converges. Neither hangs.
check "the guest dirties 24 MiB/s" grep -q '^ok dirtying' <<<"$(guest_req "$(where)" "$IP" 'dirty 32 24')"
mapi PATCH /api/v1/clusters/c1 '{"migration":{"link_mib_s":12,"auto_converge":false}}'
link_rate h1 96mbit
link_rate h2 96mbit
from=$(where)
migrate_bg
task_wait "$MTASK" 60
check "without auto-converge, a guest faster than the link is refused (will_not_converge)" \
	test "$TASK_STATE/$(jget "$BODY" .error.code)" = failed/will_not_converge
check "... the refusal names the dirty rate and the link" \
	grep -qE 'dirty rate [0-9.]+ MiB/s exceeds bandwidth 12(\.0)? MiB/s; enable auto-converge or post-copy' <<<"$(jget "$BODY" .error.message)"
diag "refused: $(jget "$BODY" .error.message)"
one_place "refused as not converging"
mapi PATCH /api/v1/clusters/c1 '{"migration":{"auto_converge":true}}'
oops0=$(oopses)
migrate_bg
# Bounded by the overdue stop at twice the prediction (about 60 to 80 s
# here, longer on a loaded machine): 300 s is well past it.
task_wait "$MTASK" 300
check "with auto-converge the same migration ends (converged, or stopped saying why), never hangs" \
	test "$TASK_STATE" = succeeded -o "$(jget "$BODY" .error.code)" = will_not_converge
diag "with auto-converge: $TASK_STATE $(jget "$BODY" '.result // .error // {message, live} | tostring')"
one_place "auto-converge" "$oops0"
# A long throttled migration under TCG has damaged guests (README: Live
# migration); whether this one did is told, not judged.
[ "$(oopses)" -gt "$oops0" ] && diag "after the auto-converge migration the guest oopsed (QEMU 7.2 under TCG; see the README)"
kill "$MON"
wait "$MON" 2>/dev/null
looks=$(grep -c '^[0-9]' "$TMP/monitor.log")
check "the monitor looked throughout ($looks looks, none missed for over 1 s)" \
	awk '/^[0-9]/ { if (prev && $1 - prev > 1.0) bad = 1; prev = $1; n++ } END { exit !(n > 100 && !bad) }' "$TMP/monitor.log"
check "the monitor saw two processes at once (the migrations happened under it)" \
	grep -qE '^[0-9.]+ [0-9]+,[0-9]+ ' "$TMP/monitor.log"
check "the monitor never saw two copies run the guest" bash -c "! grep -q '^TWO' '$TMP/monitor.log'"
grep '^TWO' "$TMP/monitor.log" | head -3 | sed 's/^/# /'

finish
