#!/usr/bin/env bash
# t_clones.sh - linked clones of one template boot side by side and diverge
# without touching the template; disks resize (stopped and live); snapshots
# are created, listed, reverted and deleted.
source "$(dirname "$0")/lib.sh"

host_up h1 || { not_ok "agent starts"; finish; exit 1; }
# A shared image in the datastore's images/ (an image root of the agent).
tmpl=$(dir_of h1)/ds/images/template.qcow2
mkdir -p "$(dirname "$tmpl")"
cp "$GUEST/data-template.qcow2" "$tmpl"
chmod 644 "$tmpl"
sum_before=$(sha256sum <"$tmpl")

clone_spec() { guest_spec "$1" "$2" | jq -c --arg t "$tmpl" '.disks=[{name:"data", template:$t}]'; }
api h1 POST '/api/v1/vms?start=true' "$(clone_spec c1 10.213.0.31)"
check "clone c1 is created and started" test "$STATUS" = 201
api h1 POST '/api/v1/vms?start=true' "$(clone_spec c2 10.213.0.32)"
check "clone c2 is created and started" test "$STATUS" = 201
check "c1 boots with its data disk" wait_console h1 c1 'VDC-GUEST-READY.*data=mounted' 60
check "c2 boots with its data disk" wait_console h1 c2 'VDC-GUEST-READY.*data=mounted' 60
check "c1 reads the template's data" test "$(guest_req h1 10.213.0.31 marker)" = vdc-template
check "c2 reads the template's data" test "$(guest_req h1 10.213.0.32 marker)" = vdc-template
check "the disk is a qcow2 overlay on the template" \
	grep -q "backing file: $tmpl" <(qemu-img info -U "$(dir_of h1)/ds/c1/data.qcow2")

guest_req h1 10.213.0.31 "write -c1" >/dev/null
check "c1 writes to its own clone" test "$(guest_req h1 10.213.0.31 marker)" = "vdc-template|-c1"
check "c2 does not see c1's write" test "$(guest_req h1 10.213.0.32 marker)" = vdc-template
api h1 GET /metrics
check "metrics show per-disk writes" grep -qE '^vdc_agent_vm_disk_bytes_total\{vm="c1",disk="data",op="write"\} [1-9]' <<<"$BODY"
check "metrics show per-disk read operations" grep -qE '^vdc_agent_vm_disk_ops_total\{vm="c1",disk="data",op="read"\} [1-9]' <<<"$BODY"

# Live resize through QMP, then a resize of a stopped VM through qemu-img.
api h1 POST /api/v1/vms/c2/disks/data/resize '{"size_mib":128}'
check "a running VM's disk grows (block_resize)" test "$STATUS" = 200
check "the image has the new size" grep -q 'virtual size: 128 MiB' <(qemu-img info -U "$(dir_of h1)/ds/c2/data.qcow2")
api h1 POST /api/v1/vms/c2/disks/data/resize '{"size_mib":32}'
check "shrinking is refused (400, names size_mib)" test "$STATUS/$(jget "$BODY" .error.field)" = 400/size_mib
api h1 POST /api/v1/vms/c2/disks/nope/resize '{"size_mib":256}'
check "resizing an unknown disk is 404" test "$STATUS" = 404

# Snapshots on a stopped VM: all disks under one name.
# Live snapshots of a running VM keep its RAM too: a revert brings back
# the running guest as it was, disk and memory.
api h1 POST /api/v1/vms/c1/snapshots '{"name":"live1"}'
check "a running VM's snapshot is taken live (201)" test "$STATUS/$(jget "$BODY" .live)" = 201/true
api h1 GET /api/v1/vms/c1/snapshots
check "the live snapshot holds the VM's RAM" test "$(jget "$BODY" '.snapshots[] | select(.name=="live1") | .vm_state_bytes')" -gt 0
check "the VM runs on after a live snapshot" test "$(guest_req h1 10.213.0.31 ping)" = pong
guest_req h1 10.213.0.31 "write -gone" >/dev/null
check "c1 writes after the live snapshot" test "$(guest_req h1 10.213.0.31 marker)" = "vdc-template|-c1|-gone"
api h1 POST /api/v1/vms/c1/snapshots/live1/revert
check "a live revert answers 200 running" test "$STATUS/$(jget "$BODY" .state)" = 200/running
check "after a live revert the guest's disk is as it was" test "$(guest_req h1 10.213.0.31 marker)" = "vdc-template|-c1"
api h1 DELETE /api/v1/vms/c1/snapshots/live1
check "a live snapshot is deleted while the VM runs (204)" test "$STATUS" = 204
api h1 GET /api/v1/vms/c1/snapshots
check "no live snapshot is left" test "$(jget "$BODY" '.snapshots | length')" = 0

api h1 POST /api/v1/vms/c1/stop '{"timeout_s":60}'
api h1 POST /api/v1/vms/c1/snapshots '{"name":"s1"}'
check "snapshot s1 is created" test "$STATUS" = 201
api h1 POST /api/v1/vms/c1/snapshots '{"name":"s1"}'
check "a second s1 is 409" test "$STATUS" = 409
api h1 POST /api/v1/vms/c1/snapshots '{"name":"../x"}'
check "a bad snapshot name is 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/name
api h1 GET /api/v1/vms/c1/snapshots
check "snapshots are listed" test "$(jget "$BODY" '.snapshots[].name')" = s1
api h1 POST /api/v1/vms/c1/start
wait_console h1 c1 'VDC-GUEST-READY' 60 2 >/dev/null
guest_req h1 10.213.0.31 "write -after" >/dev/null
check "c1 changes its disk after the snapshot" test "$(guest_req h1 10.213.0.31 marker)" = "vdc-template|-c1|-after"
api h1 POST /api/v1/vms/c1/stop '{"timeout_s":60}'
api h1 POST /api/v1/vms/c1/snapshots/s1/revert
check "revert answers 200" test "$STATUS" = 200
api h1 POST /api/v1/vms/c1/start
wait_console h1 c1 'VDC-GUEST-READY' 60 3 >/dev/null
check "after revert the disk is as it was at s1" test "$(guest_req h1 10.213.0.31 marker)" = "vdc-template|-c1"
api h1 POST /api/v1/vms/c1/stop '{"timeout_s":60}'
api h1 DELETE /api/v1/vms/c1/snapshots/s1
check "snapshot delete answers 204" test "$STATUS" = 204
api h1 GET /api/v1/vms/c1/snapshots
check "no snapshot is left" test "$(jget "$BODY" '.snapshots | length')" = 0
api h1 POST /api/v1/vms/c1/snapshots/s1/revert
check "reverting a deleted snapshot is 404" test "$STATUS" = 404
api h1 POST /api/v1/vms/c1/disks/data/resize '{"size_mib":96}'
check "a stopped VM's disk grows (qemu-img)" grep -q 'virtual size: 96 MiB' <(qemu-img info -U "$(dir_of h1)/ds/c1/data.qcow2")

check "the template is unchanged" test "$(sha256sum <"$tmpl")" = "$sum_before"

api h1 DELETE '/api/v1/vms/c1?keep_disks=true'
check "delete keeping disks answers 204" test "$STATUS" = 204
check "the kept disk remains" test -f "$(dir_of h1)/ds/c1/data.qcow2"
api h1 POST /api/v1/vms "$(clone_spec c1 10.213.0.31)"
check "re-using the name of a kept disk is 409 naming the disk" test "$STATUS/$(jget "$BODY" .error.code)" = 409/disk_exists
api h1 DELETE '/api/v1/vms/c2?force=true'
check "forced delete of a running VM answers 204" test "$STATUS" = 204
check "no QEMU is left for c2" qemu_gone c2
check "c2's disk is gone" test ! -e "$(dir_of h1)/ds/c2"
check "the agent stops cleanly (exit 0)" agent_stop h1
finish
