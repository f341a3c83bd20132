#!/usr/bin/env bash
# t_storage_move.sh - storage migration: a running VM's disk moves to
# another datastore of its host while the guest writes to it (vdc vm
# move-disk; QEMU's blockdev-mirror, write-blocking), and the guest reads
# back the same bytes (a SHA-256 of a file, the page cache dropped) there
# and after a restart from the new file; every write made during the move
# is kept. Bad requests are refused, naming the problem; a cancel leaves
# the disk where it was; kill -9 of the agent while copying leaves the disk
# on its source, and while switching (QEMU killed too) on the copy, which
# holds every write. No file is left behind on either datastore.
source "$(dirname "$0")/lib.sh"

FAST=$TMP/fast
mkdir -p "$FAST"
# A datastore with 8 MiB of room: too small for any disk to move there.
TINY=$TMP/tiny
mkdir -p "$TINY"
mount -t tmpfs -o size=8m vdct-tiny "$TINY"
test_cleanup() { umount "$TINY" 2>/dev/null; }
fabric_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
host_join h1 c1 --datastore "fast=$FAST" --datastore "tiny=$TINY" || { not_ok "h1 joins"; finish; exit 1; }
hosts_connected 1 || not_ok "h1 connects"
LOCAL=$(dir_of h1)/ds

# The agent's flags as it joined (its certificate kept), to start it again.
AGENT_AGAIN=(--datastore "fast=$FAST" --datastore "tiny=$TINY" --listen 0.0.0.0:7441 --manager-url "$MGR_URL"
	--manager-ca-fingerprint "$CA_FP" --host-name h1 --advertise-url "https://$(cat "$(dir_of h1)/mgmt_ip"):7441")
restart_agent() { agent_start h1 "${AGENT_AGAIN[@]}"; }

VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
check "vdc logs in" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=128'
mapi POST /api/v1/vms '{"name":"sm","template":"tiny","start":true}'
task_wait "$(jget "$BODY" .task.id)"
check "the VM starts on datastore local" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/sm
VM=$(jget "$BODY" .id)
UUID=$(vm_field h1 "$VM" .uuid)

IP=$(ready_ip sm)
check "the guest is ready ($IP)" test -n "$IP"
check "it writes 24 MiB of random bytes to its disk" test "$(guest_req h1 "$IP" 'fill big 24')" = ok
SUM=$(guest_req h1 "$IP" 'sum big')
check "... whose SHA-256 it reads back ($SUM)" grep -qE '^[0-9a-f]{64}$' <<<"$SUM"

disk_file() { vm_field h1 "$VM" ".spec.disks[0].path"; }
FROM=$(disk_file)
check "the disk is a file of datastore local" test "${FROM#"$LOCAL"/}" != "$FROM" -a -f "$FROM"

# ---- bad requests: each refused, naming the problem; nothing moves ---------
mapi POST /api/v1/vms/sm/disks/root/move '{"datastore":"nowhere"}'
check "an unknown datastore: 400 naming the host's datastores" \
	test "$STATUS/$(jget "$BODY" .error.field)/$(grep -c "fast" <<<"$(jget "$BODY" .error.message)")" = 400/datastore/1
mapi POST /api/v1/vms/sm/disks/root/move '{"datastore":"local"}'
check "the datastore it is on: 409 same_datastore" test "$STATUS/$(jget "$BODY" .error.code)" = 409/same_datastore
mapi POST /api/v1/vms/sm/disks/data/move '{"datastore":"fast"}'
check "a disk it does not have: 404 naming root" \
	test "$STATUS/$(grep -c root <<<"$(jget "$BODY" .error.message)")" = 404/1
mapi POST /api/v1/vms/sm/disks/root/move '{"datastore":"fast","path":"/etc"}'
check "an unknown key (a path): 400" test "$STATUS/$(jget "$BODY" .error.code)" = 400/invalid_request
mapi POST /api/v1/vms/sm/disks/root/move '{"datastore":"../ds"}'
check "a datastore name that is a path: 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/datastore
api h1 POST "/api/v1/vms/$VM/disks/root/move" '{"datastore":"nowhere"}'
check "the agent too refuses an unknown datastore (400, naming its datastores)" \
	test "$STATUS/$(grep -c fast <<<"$(jget "$BODY" .error.message)")" = 400/1
mapi POST /api/v1/vms/sm/disks/root/move '{"datastore":"tiny"}'
task_wait "$(jget "$BODY" .task.id)"
check "a datastore without room: the task fails 507, naming the room and the need" \
	test "$TASK_STATE/$(jget "$BODY" .error.code)/$(grep -cE 'has [0-9]+ MiB free.*needs [0-9]+ MiB' <<<"$(jget "$BODY" .error.message)")" = failed/datastore_full/1
check "... and leaves nothing there" test -z "$(ls -A "$TINY")"
check "nothing moved" test "$(disk_file)" = "$FROM"

# ---- the move, while the guest writes ------------------------------------
out_file=$TMP/move.out
log_off=$(stat -c %s "$(dir_of h1)/agent.log")
vdc vm move-disk sm fast >"$out_file" 2>"$TMP/move.err" &
MOVER=$!
n=0
while kill -0 "$MOVER" 2>/dev/null && [ $n -lt 400 ]; do
	n=$((n + 1))
	[ "$(guest_req h1 "$IP" "write during-$n")" = ok ] || { diag "write $n failed"; break; }
done
wait "$MOVER"
rc=$?
check "vdc vm move-disk sm fast succeeds ($(cat "$out_file"))" \
	test "$rc/$(cat "$out_file")" = "0/vm sm: disk root moved from datastore local to fast"
[ "$rc" = 0 ] || diag "$(tail -3 "$TMP/move.err")"
check "the guest wrote $n times while its disk moved" test "$n" -gt 1
TO=$(disk_file)
check "the disk is now a file of datastore fast ($TO)" test "${TO#"$FAST"/}" != "$TO" -a -f "$TO"
check "the old file is gone" test ! -e "$FROM"
mapi GET /api/v1/vms/sm
check "the inventory says datastore fast" test "$(jget "$BODY" .config.datastore)" = fast
check "the guest still runs and answers" test "$(guest_req h1 "$IP" ping)" = pong
check "it was paused for the switch (QMP stop flushes the copy too), then ran again" \
	test "$(tail -c +"$((log_off + 1))" "$(dir_of h1)/agent.log" | grep -oE 'qmp_event=(STOP|RESUME)' | paste -sd,)" = "qmp_event=STOP,qmp_event=RESUME"
check "it reads back the same bytes (SHA-256)" test "$(guest_req h1 "$IP" 'sum big')" = "$SUM"
check "every write made during the move is there ($n)" \
	test "$(guest_req h1 "$IP" marker | tr '|' '\n' | grep -c '^during-')" = "$n"
mapi GET "/api/v1/tasks?op=vm.disk_move&target_id=$VM&limit=5"
check "the task succeeded, naming both datastores" \
	test "$(jget "$BODY" '[.items[] | select(.state == "succeeded")][0] | "\(.result.from_datastore) \(.result.datastore)"')" = "local fast"

# A fresh boot reads the new file only.
mapi POST /api/v1/vms/sm/stop '{"timeout_s":30}'
task_wait "$(jget "$BODY" .task.id)"
mapi POST /api/v1/vms/sm/start
task_wait "$(jget "$BODY" .task.id)"
IP=$(ready_ip sm)
check "after a restart, from the new file: the same bytes" test "$(guest_req h1 "$IP" 'sum big')" = "$SUM"
check "... and the writes made during the move" \
	test "$(guest_req h1 "$IP" marker | tr '|' '\n' | grep -c '^during-')" = "$n"

# ---- kill -9 of vdcd once the host moves the disk: the re-run follows it ----
vdcd_stop || not_ok "vdcd stops cleanly"
move_once_connected() {
	host_connected h1 || diag "h1 did not connect to the new vdcd"
	mapi POST /api/v1/vms/sm/disks/root/move '{"datastore":"local","bandwidth_mib_s":8}'
	[ "$STATUS" = 202 ] || diag "disk move: $STATUS $BODY"
}
crash_at "task:vm.disk_move:after_start" vdcd any --heartbeat-timeout-s 30 -- move_once_connected
vdcd_start --heartbeat-timeout-s 30 || not_ok "vdcd restarts after the crash"
t=$(requeued_task vm.disk_move)
check "vdcd queues the disk move again at its start" test -n "$t"
[ -n "$t" ] && task_wait "$t" 120
check "the re-run follows the host's move to its end" test "$TASK_STATE" = succeeded
[ "$TASK_STATE" = succeeded ] || diag "$(jget "$BODY" .error.message)"
mapi GET /api/v1/vms/sm
check "... and the inventory says datastore local" test "$(jget "$BODY" .config.datastore)" = local
check "... as the host does" test "$(disk_file)" = "$FROM"
check "the guest reads the same bytes" test "$(guest_req h1 "$IP" 'sum big')" = "$SUM"
# Back to fast for the cases below.
mapi POST /api/v1/vms/sm/disks/root/move '{"datastore":"fast"}'
task_wait "$(jget "$BODY" .task.id)"
check "... and it moves back to fast" test "$TASK_STATE/$(disk_file)" = "succeeded/$TO"

# ---- a cancel: the disk stays where it was --------------------------------
# The copy capped at 1 MiB/s: 24 MiB of data take over 20 s, so the cancel
# comes while it copies.
mapi POST /api/v1/vms/sm/disks/root/move '{"datastore":"local","bandwidth_mib_s":1}'
T=$(jget "$BODY" .task.id)
for _ in $(seq 1 100); do
	mapi GET "/api/v1/tasks/$T"
	[ "$(jget "$BODY" '.live.done_bytes // 0')" -gt 0 ] && break
	sleep 0.1
done
check "while it copies, the task shows the bytes copied of the total ($(jget "$BODY" .message))" \
	test "$(jget "$BODY" '.state == "running" and .live.total_bytes > 0 and .live.done_bytes <= .live.total_bytes')/$(grep -cE 'of [0-9]+ MiB' <<<"$(jget "$BODY" .message)")" = true/1
mapi POST "/api/v1/tasks/$T/cancel"
task_wait "$T"
if [ "$TASK_STATE" = succeeded ]; then
	diag "the move ended before the cancel reached it; the check below is of a cancel, so it fails"
fi
check "a cancelled move ends cancelled" test "$TASK_STATE/$(jget "$BODY" .error.code)" = cancelled/cancelled
diag "cancelled: $TASK_STATE $(jget "$BODY" '.error // .result | tostring')"
check "... the disk stays on fast" test "$(disk_file)" = "$TO"
check "... and no copy is left on local" test -z "$(find "$LOCAL" -name 'root.qcow2' -newer "$out_file")"
check "... the guest answers" test "$(guest_req h1 "$IP" ping)" = pong

# ---- kill -9 of the agent while copying: the disk stays on its source -----
move_to_local() {
	host_connected h1 || diag "h1 is not connected"
	mapi POST /api/v1/vms/sm/disks/root/move "{\"datastore\":\"local\"$1}"
	CT=$(jget "$BODY" .task.id)
}
agent_stop h1 || not_ok "the agent stops"
crash_at "disk_move:copying" h1 any "${AGENT_AGAIN[@]}" -- move_to_local ',"bandwidth_mib_s":1'
restart_agent || not_ok "the agent starts again"
task_wait "$CT" 90
check "the interrupted move's task fails, saying the disk stays" \
	test "$TASK_STATE/$(grep -c 'stays where it was' <<<"$(jget "$BODY" .error.message)")" = failed/1
diag "interrupted: $TASK_STATE $(jget "$BODY" '.error // .result | tostring')"
check "the disk is still the one on fast" test "$(disk_file)" = "$TO"
check "no copy is left on local" test ! -e "$FROM"
check "the guest answers, and reads the same bytes" \
	test "$(guest_req h1 "$IP" ping)/$(guest_req h1 "$IP" 'sum big')" = "pong/$SUM"

# ---- kill -9 of the agent as it switches, and of QEMU: the copy is the disk -
guest_req h1 "$IP" "write before-switch" >/dev/null
agent_stop h1 || not_ok "the agent stops"
crash_at "disk_move:completing" h1 any "${AGENT_AGAIN[@]}" -- move_to_local ""
pid=$(pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $UUID( |$)" | head -1)
check "QEMU still runs after its agent died ($pid)" test -n "$pid"
[ -n "$pid" ] && kill -9 "$pid"
restart_agent || not_ok "the agent starts again"
task_wait "$CT" 90
check "the disk is the copy on local now (the mirror was in step: it has every write)" \
	test "$(disk_file)" = "$FROM" -a -f "$FROM"
check "the file on fast is gone" test ! -e "$TO"
mapi POST /api/v1/vms/sm/start
task_wait "$(jget "$BODY" .task.id)"
IP=$(ready_ip sm)
check "the VM boots from it: the same bytes" test "$(guest_req h1 "$IP" 'sum big')" = "$SUM"
check "... with the write made just before the switch" \
	grep -q 'before-switch' <<<"$(guest_req h1 "$IP" marker)"
check "nothing of the VM is left on fast" test -z "$(ls -A "$FAST/$VM" 2>/dev/null)"

# ---- a stopped VM: its file is copied, then is the disk ---------------------
mapi POST /api/v1/vms/sm/stop '{"timeout_s":30}'
task_wait "$(jget "$BODY" .task.id)"
out=$(vdc vm move-disk sm fast 2>"$TMP/move2.err")
check "a stopped VM's disk moves to fast ($out)" test "$out" = "vm sm: disk root moved from datastore local to fast"
check "... the file is on fast, the old one gone" test "$(disk_file)" = "$TO" -a -f "$TO" -a ! -e "$FROM"
mapi GET /api/v1/vms/sm
check "... the VM still stopped, the inventory saying fast" \
	test "$(jget "$BODY" '"\(.power_state) \(.config.datastore)"')" = "stopped fast"
# kill -9 of the agent once the copy is whole, before the spec names it:
# the copy is the disk at the next start.
agent_stop h1 || not_ok "the agent stops"
crash_at "disk_move:copied" h1 any "${AGENT_AGAIN[@]}" -- move_to_local ""
restart_agent || not_ok "the agent starts again"
task_wait "$CT" 90
check "a stopped VM's move cut short once copied: the copy on local is the disk" \
	test "$(disk_file)" = "$FROM" -a -f "$FROM" -a ! -e "$TO"
mapi POST /api/v1/vms/sm/start
task_wait "$(jget "$BODY" .task.id)"
IP=$(ready_ip sm)
check "it boots from there: the same bytes, and every write" \
	test "$(guest_req h1 "$IP" 'sum big')/$(guest_req h1 "$IP" marker | tr '|' '\n' | grep -c '^during-')" = "$SUM/$n"

agent_stop h1 || not_ok "the agent stops cleanly (no leak, no error)"
vdcd_stop || not_ok "vdcd stops cleanly (no leak, no error)"
finish
