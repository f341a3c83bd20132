#!/usr/bin/env bash
# t_migrate_disks.sh - live migration of a VM whose disk is on its host's
# own datastore: the disk moves with it (the receiver serves a blank copy
# over NBD, the sender's QEMU mirrors onto it, write-blocking, before the
# memory goes). The guest writes throughout and reads back the same bytes
# (SHA-256, page cache dropped) on the new host; every write is there; the
# sender's file is gone. A cancel during the copy, the receiver's QEMU
# killed during it, and kill -9 of the sending agent during it each leave
# the VM running where it was, on one host, with no copy left on the
# receiver; the next migration succeeds. A file in the way on the receiver
# is refused, naming it; with copy_local_disks off the receiver refuses the
# VM (disk_not_shared).
source "$(dirname "$0")/lib.sh"

fabric_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
for h in h1 h2; do
	host_join "$h" c1 || { not_ok "$h joins"; finish; exit 1; }
done
hosts_connected 2
check "h1 and h2 join c1, each with its own datastore 'local' only" test "$(jget "$BODY" '.items | length')" = 2

VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
check "vdc logs in" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'
mapi POST /api/v1/vms '{"name":"dm","template":"tiny","datastore":"local","start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a VM on the host-local datastore starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/dm
VM=$(jget "$BODY" .id)
UUID=$VM # the agents run it under its id, as uuid too

host_of() { mapi GET /api/v1/vms/dm && jget "$BODY" .placement.host; }
# agent_again H: starts H's agent again as it joined (its certificate kept).
agent_again() {
	agent_start "$1" --listen 0.0.0.0:7441 --manager-url "$MGR_URL" --manager-ca-fingerprint "$CA_FP" \
		--host-name "$1" --advertise-url "https://$(cat "$(dir_of "$1")/mgmt_ip"):7441"
}
other() { [ "$1" = h1 ] && echo h2 || echo h1; }
disk_of() { echo "$(dir_of "$1")/ds/$VM/root.qcow2"; }
# copies H: QEMU processes of the VM on host H's namespace.
copies() {
	local n=0 p
	for p in $(pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $UUID( |$)"); do
		[ "$(ip netns identify "$p" 2>/dev/null)" = "$(ns_of "$1")" ] && n=$((n + 1))
	done
	echo "$n"
}
# on_one_host H: the VM runs on H alone (inventory, agents, processes), and
# the other host keeps no file of it.
on_one_host() {
	local o
	o=$(other "$1")
	mapi GET /api/v1/vms/dm
	[ "$(jget "$BODY" '"\(.placement.host) \(.power_state) \(.migration // "none")"')" = "$1 running none" ] &&
		[ "$(copies "$1")/$(copies "$o")" = 1/0 ] && [ ! -e "$(disk_of "$o")" ] && [ -f "$(disk_of "$1")" ] ||
		{ diag "inventory: $(jget "$BODY" '"\(.placement.host) \(.power_state) \(.migration // "none")"'), qemu $1:$(copies "$1") $o:$(copies "$o"), files: $(ls "$(dir_of "$o")/ds/$VM" 2>&1 | paste -sd' ')"; return 1; }
}

FROM=$(host_of)
TO=$(other "$FROM")
IP=$(ready_ip dm "$FROM")
check "the guest is ready on $FROM ($IP)" test -n "$IP"
check "it writes 24 MiB of random bytes to its disk" test "$(guest_req "$FROM" "$IP" 'fill big 24')" = ok
SUM=$(guest_req "$FROM" "$IP" 'sum big')
check "... whose SHA-256 it reads back" grep -qE '^[0-9a-f]{64}$' <<<"$SUM"
UP1=$(guest_req "$FROM" "$IP" uptime | cut -d' ' -f1)
check "its disk is a file of $FROM's own datastore" test -f "$(disk_of "$FROM")" -a ! -e "$(disk_of "$TO")"

# ---- the move, while the guest writes ------------------------------------
# A monitor looks every 100 ms at which of the VM's QEMUs run the guest.
python3 "$VDC_ROOT/tests/integration/copies_monitor.py" "$UUID" "$TMP/monitor.log" &
MONITOR=$!
vdc vm migrate dm >"$TMP/mig.out" 2>"$TMP/mig.err" &
MIGRATOR=$!
n=0 fails=0
while kill -0 "$MIGRATOR" 2>/dev/null && [ $n -lt 600 ]; do
	# The guest answers from its host; after the hand-over, from the new one.
	r=$(guest_req "$FROM" "$IP" "write during-$((n + 1))")
	[ "$r" = ok ] || r=$(guest_req "$TO" "$IP" "write during-$((n + 1))")
	if [ "$r" = ok ]; then n=$((n + 1)); else fails=$((fails + 1)); sleep 0.05; fi
done
wait "$MIGRATOR"
rc=$?
kill "$MONITOR"
wait "$MONITOR" 2>/dev/null
check "vdc vm migrate dm succeeds, naming the new host ($(cat "$TMP/mig.out"))" \
	grep -qE "^vm dm migrated to $TO in [0-9]+ ms" <<<"$(cat "$TMP/mig.out")"
[ "$rc" = 0 ] || diag "$(tail -3 "$TMP/mig.err")"
check "the guest wrote $n times while it moved" test "$n" -gt 3
check "the VM runs on $TO alone; $FROM keeps no file of it" on_one_host "$TO"
check "the monitor saw the guest run ($(wc -l <"$TMP/monitor.log") looks), never two copies at once" \
	bash -c "grep -qE ' 1\$' '$TMP/monitor.log' && ! grep -q '^TWO' '$TMP/monitor.log'"
mapi GET "/api/v1/tasks?op=vm.migrate&target_id=$VM&limit=1"
check "the task's result names the disk it copied" test "$(jget "$BODY" '.items[0].result.copied_disks | join(",")')" = root
check "... its bytes, and the prediction counts them" \
	test "$(jget "$BODY" '.items[0].result | .copied_bytes > 0 and .predicted_total_ms > 0')" = true
COPIED=$(jget "$BODY" '.items[0].result.copied_bytes')
check "... and the link it measured before the start (no speed set in the policy)" \
	test "$(jget "$BODY" '.items[0].result.link_measured_mib_s > 0')" = true
diag "the link between the namespace hosts measured $(jget "$BODY" '.items[0].result.link_measured_mib_s') MiB/s, QEMU moved $(jget "$BODY" '.items[0].result.qemu_mib_s') MiB/s"
FIRST_QEMU=$(jget "$BODY" '.items[0].result.qemu_mib_s')
check "... and what QEMU moved over it" test "$FIRST_QEMU" -gt 0
mapi GET /metrics
check "/metrics counts the bytes of disks migrations copied" \
	grep -qx "vdcd_migration_disk_bytes_total $COPIED" <<<"$BODY"
check "the sender's agent copied the disk, then ended the mirror in pre-switchover" \
	test "$(grep -oE 'vm_migration_disks_copying|vm_migration_switchover' "$(dir_of "$FROM")/agent.log" | sort -u | paste -sd,)" = vm_migration_disks_copying,vm_migration_switchover
check "the receiver ran the guest only after its NBD export was gone" \
	grep -q "BLOCK_EXPORT_DELETED" <(grep -oE 'qmp_event=[A-Z_]+' "$(dir_of "$TO")/agent.log" | sed -n '/BLOCK_EXPORT_DELETED/,/RESUME/p')
UP2=$(guest_req "$TO" "$IP" uptime | cut -d' ' -f1)
check "the guest's uptime went on ($UP1 -> $UP2 s: the same guest, not a reboot)" \
	awk -v a="$UP1" -v b="$UP2" 'BEGIN{exit !(b > a)}'
check "it reads back the same bytes on $TO (SHA-256)" test "$(guest_req "$TO" "$IP" 'sum big')" = "$SUM"
# A write whose answer was lost was sent again under the same name.
got=$(guest_req "$TO" "$IP" marker | tr '|' '\n' | grep '^during-' | sort -u | wc -l)
check "every write made during the move is there ($n; $got found)" test "$got" -ge "$n" -a "$got" -le "$((n + 1))"
api "$TO" GET "/api/v1/vms/$VM"
check "the receiver's disk is its own file now (no copy mark in its store)" \
	test "$(jget "$BODY" '.spec.disks[0].path')/$(jq -r '.disks[0].copy_in // false' "$(dir_of "$TO")/st/vms/$VM/spec.json")" = "$(disk_of "$TO")/false"

FROM=$TO
TO=$(other "$FROM")

# ---- a file in the way on the receiver -------------------------------------
mkdir -p "$(dirname "$(disk_of "$TO")")"
echo stale >"$(disk_of "$TO")"
mapi POST /api/v1/vms/dm/migrate '{}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a file of the disk's name on the receiver: the migration fails 409 disk_conflict" \
	test "$TASK_STATE/$(jget "$BODY" .error.code)" = failed/disk_conflict
check "... naming the file" grep -qF "$(disk_of "$TO")" <<<"$(jget "$BODY" .error.message)"
check "... which is left as it was" test "$(cat "$(disk_of "$TO")")" = stale
rm -rf "$(dirname "$(disk_of "$TO")")"
mapi GET /api/v1/vms/dm
check "... and the VM runs where it was" test "$(jget "$BODY" '"\(.placement.host) \(.power_state)"')" = "$FROM running"

# ---- failures during the copy ----------------------------------------------
# A slow link (4 MiB/s: the mirror keeps to the cap too) leaves time to
# act while the disk is copied.
mapi PATCH /api/v1/clusters/c1 '{"migration":{"max_bandwidth_mib_s":4}}'
# copying_task: starts a migration and waits until the copy is under way.
copying_task() {
	local i
	mapi POST /api/v1/vms/dm/migrate '{}'
	TASK=$(jget "$BODY" .task.id)
	for i in $(seq 1 200); do
		mapi GET "/api/v1/tasks/$TASK"
		[ "$(jget "$BODY" '.live.status // ""')" = copying-disks ] && [ "$(jget "$BODY" '.live.disk_copied_bytes // 0')" -gt 0 ] && return 0
		[ "$(jget "$BODY" .state)" = running ] || [ "$(jget "$BODY" .state)" = queued ] || break
		sleep 0.1
	done
	diag "the task did not reach the copy: $(jget "$BODY" '"\(.state) \(.message) \(.error.message // "")"')"
	return 1
}

check "a migration copying its disk shows how far (live.status copying-disks)" copying_task
check "... and its message names the bytes" grep -qE "copying 1 disk to the receiving host: [0-9]+ MiB of [0-9]+ MiB" <<<"$(jget "$BODY" .message)"
mapi POST "/api/v1/tasks/$TASK/cancel"
task_wait "$TASK" 60
check "a cancel during the copy ends the task" test "$TASK_STATE" != succeeded -a "$TASK_STATE" != running
check "... the VM runs where it was, alone, and the receiver's copy is gone" on_one_host "$FROM"

if copying_task; then
	for p in $(pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $UUID( |$)"); do
		[ "$(ip netns identify "$p")" = "$(ns_of "$TO")" ] && kill -9 "$p"
	done
	task_wait "$TASK" 120
	check "the receiver's QEMU killed during the copy: the migration fails" test "$TASK_STATE" = failed
	diag "why: $(jget "$BODY" .error.message)"
	check "... the VM runs where it was, alone, and the receiver's copy is gone" on_one_host "$FROM"
else
	not_ok "a second copy starts"
fi

# The sending agent killed (-9) during the copy, then started again: its
# QEMU (and the guest) live on; vdcd hears that no migration is under way
# and rolls back.
if copying_task; then
	kill -9 "$(agent_pid "$FROM")"
	sleep 1
	check "the guest still answers while its agent is down" test "$(guest_req "$FROM" "$IP" ping)" = pong
	agent_again "$FROM" || not_ok "the agent on $FROM starts again"
	task_wait "$TASK" 180
	check "kill -9 of the sending agent during the copy: the migration fails" test "$TASK_STATE" = failed
	diag "why: $(jget "$BODY" .error.message)"
	for _ in $(seq 1 50); do on_one_host "$FROM" >/dev/null 2>&1 && break; sleep 0.2; done
	check "... the VM runs where it was, alone, and the receiver's copy is gone" on_one_host "$FROM"
else
	not_ok "a third copy starts"
fi
check "the guest still reads the same bytes" test "$(guest_req "$FROM" "$IP" 'sum big')" = "$SUM"

mapi PATCH /api/v1/clusters/c1 '{"migration":{"max_bandwidth_mib_s":0}}'
mapi POST /api/v1/vms/dm/migrate '{}'
task_wait "$(jget "$BODY" .task.id)" 180
check "after all that, the next migration succeeds" test "$TASK_STATE" = succeeded
[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
check "... the VM on $TO alone" on_one_host "$TO"
check "... reading the same bytes" test "$(guest_req "$TO" "$IP" 'sum big')" = "$SUM"
FROM=$TO
TO=$(other "$FROM")

# ---- kill -9 of the receiving agent once the guest's state has arrived --------
# QEMU there waits (paused) for its NBD export to go; the agent restarted
# finds it so, ends the export and runs the guest.
agent_stop "$TO"
crash_at migrate:incoming_arrived "$TO" any --listen 0.0.0.0:7441 --manager-url "$MGR_URL" \
	--manager-ca-fingerprint "$CA_FP" --host-name "$TO" --advertise-url "https://$(cat "$(dir_of "$TO")/mgmt_ip"):7441" \
	-- mapi POST /api/v1/vms/dm/migrate '{}'
TASK=$(jget "$BODY" .task.id)
agent_again "$TO" || not_ok "the agent on $TO starts again"
task_wait "$TASK" 180
check "the migration that lost its receiving agent at the arrival succeeds once it is back" test "$TASK_STATE" = succeeded
[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
# The same direction as the first migration: its plan took QEMU's rate of
# then when that was below the link's measure now.
check "a plan over a link QEMU moved less than its measure takes QEMU's rate ($FIRST_QEMU MiB/s then, $(jget "$BODY" .result.link_measured_mib_s) measured now)" \
	test "$(jq -r --argjson q "$FIRST_QEMU" '.result | ((.link_measured_mib_s - $q) | fabs) <= 1 or
		((.planned_with == "qemu_rate") == ($q < .link_measured_mib_s))' <<<"$BODY")" = true
for _ in $(seq 1 100); do on_one_host "$TO" >/dev/null 2>&1 && break; sleep 0.2; done
check "... the VM runs on $TO alone, $FROM's file gone" on_one_host "$TO"
check "... its agent, restarted, ended the export and ran the guest" \
	grep -q "vm_migration_incoming_recover vm=$VM state=paused resume=1" "$(dir_of "$TO")/agent.log"
check "... its disk, in its store, no longer a copy of its own to remove" \
	test "$(jq -r '.disks[0].copy_in // false' "$(dir_of "$TO")/st/vms/$VM/spec.json")" = false
check "... reading the same bytes" test "$(guest_req "$TO" "$IP" 'sum big')" = "$SUM"
FROM=$TO
TO=$(other "$FROM")

# ---- the link's speed is measured: a shaped link is seen as such ------------
link_rate h1 80mbit
link_rate h2 80mbit
mapi POST /api/v1/vms/dm/migrate '{}'
task_wait "$(jget "$BODY" .task.id)" 180
link_rate h1 off
link_rate h2 off
check "over links shaped to 80 Mbit/s (9.5 MiB/s) the migration succeeds" test "$TASK_STATE" = succeeded
check "... having measured 5 to 12 MiB/s ($(jget "$BODY" .result.link_measured_mib_s))" \
	test "$(jget "$BODY" '.result.link_measured_mib_s | . >= 5 and . <= 12')" = true
check "... and planned with it (its prediction covers the disk at that speed: over 4 s)" \
	test "$(jget "$BODY" '.result.predicted_total_ms > 4000')" = true
FROM=$TO
TO=$(other "$FROM")
mapi PATCH /api/v1/clusters/c1 '{"migration":{"link_mib_s":50}}'
mapi POST /api/v1/vms/dm/migrate '{}'
task_wait "$(jget "$BODY" .task.id)" 180
check "a link speed set in the policy is taken as given, not measured" \
	test "$TASK_STATE/$(jget "$BODY" '.result.link_measured_mib_s // "none"')" = succeeded/none
mapi PATCH /api/v1/clusters/c1 '{"migration":{"link_mib_s":0}}'
check "link_mib_s 0 removes it (each migration measures again)" \
	test "$STATUS/$(jget "$BODY" '.migration.link_mib_s // "none"')" = 200/none
FROM=$TO
TO=$(other "$FROM")

# ---- the agents' link probe refuses bad requests ---------------------------------
api "$FROM" POST /api/v1/link/sink '{"address":"/tmp/x"}'
check "a sink on an address that is no IP: 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/address
api "$FROM" POST /api/v1/link/probe '{"host":"127.0.0.1","port":1,"ms":60000}'
check "a probe longer than 2 s: 400 naming ms" test "$STATUS/$(jget "$BODY" .error.field)" = 400/ms
api "$FROM" POST /api/v1/link/probe '{"host":"127.0.0.1","port":1}'
check "a probe to a port nobody listens on: 502 saying so" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 502/link_probe_failed

# ---- the policy off: the receiver refuses what it does not share ----------
vdc cluster update c1 --no-migration-copy-local-disks >/dev/null
mapi GET /api/v1/clusters/c1
check "vdc cluster update --no-migration-copy-local-disks sets the policy" \
	test "$(jget "$BODY" .migration.copy_local_disks)" = false
mapi POST /api/v1/vms/dm/migrate '{}'
task_wait "$(jget "$BODY" .task.id)" 120
check "with it off, the migration fails: the disk is not shared (disk_not_shared)" \
	test "$TASK_STATE/$(jget "$BODY" .error.code)" = failed/disk_not_shared
check "... and the VM runs where it was" on_one_host "$FROM"
mapi PATCH /api/v1/clusters/c1 '{"migration":{"copy_local_disks":"yes"}}'
check "a policy value that is no boolean is refused, naming it" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/migration.copy_local_disks

# ---- the agents refuse bad requests -----------------------------------------
api "$FROM" POST "/api/v1/vms/$VM/migrate" '{"uri":"tcp:127.0.0.1:1","nbd":{"host":"127.0.0.1","port":1,"disks":["nope"]}}'
check "a disk the VM lacks: 400 naming it" \
	test "$STATUS/$(jget "$BODY" .error.field)/$(grep -c nope <<<"$(jget "$BODY" .error.message)")" = 400/nbd.disks/1
api "$FROM" POST "/api/v1/vms/$VM/migrate" '{"uri":"tcp:127.0.0.1:1","nbd":{"host":"/etc/passwd","port":1,"disks":["root"]}}'
check "an NBD host that is no IP (a path): 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/nbd.host
api "$FROM" POST "/api/v1/vms/$VM/migrate" '{"uri":"tcp:127.0.0.1:1","nbd":{"host":"127.0.0.1","port":0,"disks":["root"]}}'
check "port 0: 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/nbd.port
api "$FROM" POST "/api/v1/vms/$VM/migrate" '{"uri":"tcp:127.0.0.1:1","postcopy":true,"nbd":{"host":"127.0.0.1","port":9,"disks":["root"]}}'
check "post-copy with disks copied: 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/postcopy
api "$FROM" DELETE "/api/v1/vms/$VM?leave_disks=true&remove_disks=nope"
check "a delete naming a disk the VM lacks in remove_disks: 400, nothing deleted" \
	test "$STATUS/$(jget "$BODY" .error.field)/$(vm_field "$FROM" "$VM" .state)" = 400/remove_disks/running
api "$TO" POST /api/v1/migrations/incoming "$(jq -nc --arg u "$UUID" '{address:"127.0.0.1", spec:{name:"x1", uuid:$u, vcpus:1, memory_mib:64, disks:[{name:"root", size_mib:8, datastore:"local"}]}, storage:{token:"t", disks:[{name:"root", size_bytes:1000}]}}')"
check "a copy's size that is no whole MiB: 400 naming storage.disks" test "$STATUS/$(jget "$BODY" .error.field)" = 400/storage.disks
check "... and nothing is left on the receiver" test ! -e "$(dir_of "$TO")/ds/x1"
api "$FROM" GET "/api/v1/vms/$VM"
check "the VM still runs on $FROM" test "$(jget "$BODY" .state)" = running

finish
