#!/usr/bin/env bash
# t_clones.sh - linked clones of one uploaded image boot side by side and
# diverge without touching the image; a stopped VM's disk is copied into a
# new VM (never a running one's); disks resize (stopped and live);
# snapshots are created, listed, reverted and deleted. Images are kept on
# any datastore, also one on another filesystem than the upload spool.
source "$(dirname "$0")/lib.sh"

# A second datastore on a filesystem of its own (as an NFS share would be).
other=$(dir_of h1)/other
mkdir -p "$other"
mount -t tmpfs -o size=64m vdct-other "$other"
trap 'umount -l "$other" 2>/dev/null; cleanup' EXIT
host_up h1 --datastore "other=$other" || { not_ok "agent starts"; finish; exit 1; }
agent_put_image h1 base disk qcow2 "$GUEST/data-template.qcow2"
check "the template image is uploaded (201)" test "$STATUS/$(jget "$BODY" .format)" = 201/qcow2
# The agent's own copy: what clones are made from, and what must not change.
tmpl=$(dir_of h1)/ds/images/base
check "the agent keeps the image read-only" test "$(stat -c %a "$tmpl")" = 444
sum_before=$(sha256sum <"$GUEST/data-template.qcow2")
check "the agent's copy is the uploaded file" test "$(sha256sum <"$tmpl")" = "$sum_before"

clone_spec() { guest_spec "$1" "$2" | jq -c '.disks=[{name:"data", image:"base"}]'; }
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
api h1 DELETE /api/v1/images/base
check "an image clones use cannot be deleted (409 in_use)" test "$STATUS/$(jget "$BODY" .error.code)" = 409/in_use

# A new VM from a copy of another VM's disk: only of a stopped VM (c2 runs).
copy_spec() { guest_spec "$1" "$2" | jq -c --arg s "$3" '.disks=[{name:"data", source_vm:$s}]'; }
api h1 POST /api/v1/vms "$(copy_spec c3 10.213.0.33 c2)"
check "copying a running VM's disk is 409 naming disks[0].source_vm" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.field)" = 409/invalid_state/disks[0].source_vm
check "... saying to stop it first" grep -q "stop it first" <<<"$(jget "$BODY" .error.message)"
check "... and makes no disk" test ! -e "$(dir_of h1)/ds/c3"
api h1 POST /api/v1/vms "$(guest_spec c3 10.213.0.33 | jq -c '.disks=[{name:"data", source_vm:"c1", source_disk:"nope"}]')"
check "copying a disk the source VM does not have is 400 naming disks[0].source_vm" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/disks[0].source_vm
c1_sum=$(sha256sum <"$(dir_of h1)/ds/c1/data.qcow2")
api h1 POST '/api/v1/vms?start=true' "$(copy_spec c3 10.213.0.33 c1)"
check "a stopped VM's disk is copied into a new VM (201)" test "$STATUS" = 201
check "... as a full copy, not a clone" bash -c "! qemu-img info -U '$(dir_of h1)/ds/c3/data.qcow2' | grep -q 'backing file'"
check "... of the source's size" grep -q 'virtual size: 96 MiB' <(qemu-img info -U "$(dir_of h1)/ds/c3/data.qcow2")
check "c3 boots with the copied disk" wait_console h1 c3 'VDC-GUEST-READY.*data=mounted' 60
check "c3 reads what c1 wrote" test "$(guest_req h1 10.213.0.33 marker)" = "vdc-template|-c1"
guest_req h1 10.213.0.33 "write -c3" >/dev/null
check "c3 writes to its own copy" test "$(guest_req h1 10.213.0.33 marker)" = "vdc-template|-c1|-c3"
check "c1's disk is untouched by the copy and by c3" test "$(sha256sum <"$(dir_of h1)/ds/c1/data.qcow2")" = "$c1_sum"
api h1 POST /api/v1/vms/c1/start
check "the source VM starts while its copy runs" test "$STATUS/$(jget "$BODY" .state)" = 200/running
check "c1 still reads its own data" wait_console h1 c1 "VDC-GUEST-READY" 60 4
check "... without c3's write" test "$(guest_req h1 10.213.0.31 marker)" = "vdc-template|-c1"
api h1 POST /api/v1/vms/c1/stop '{"timeout_s":60}'
api h1 DELETE '/api/v1/vms/c3?force=true'
check "the copy is deleted" test "$STATUS" = 204 -a ! -e "$(dir_of h1)/ds/c3"

# A raw image is read as raw, never probed: its bytes here are a vmdk
# descriptor naming a root-only host file, which qemu-img would follow if
# it guessed the format. The upload check refuses such a file; one that got
# past it (put in place here by hand) is still read as raw: its clone and
# its copy hold the descriptor's bytes, not the file.
secret=$TMP/root-only-secret
echo "VDC-HOST-SECRET-$$" >"$secret"
chmod 600 "$secret"
printf 'version=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 8 FLAT "%s" 0\n' \
	"$secret" >"$TMP/vmdk-desc.raw"
truncate -s 512 "$TMP/vmdk-desc.raw"
agent_put_image h1 desc disk raw "$TMP/vmdk-desc.raw"
check "a raw image that is a vmdk descriptor is refused at upload (400 invalid_image)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 400/invalid_image
check "... saying what it is" grep -q "declared raw but is a vmdk" <<<"$(jget "$BODY" .error.message)"
install -m 444 "$TMP/vmdk-desc.raw" "$(dir_of h1)/ds/images/desc"
jq -nc --arg s "$(sha256sum <"$TMP/vmdk-desc.raw" | cut -d' ' -f1)" \
	'{id:"desc", kind:"disk", format:"raw", sha256:$s, datastore:"local", size_bytes:512, virtual_bytes:512}' \
	>"$(dir_of h1)/ds/images/desc.json"
# disk_bytes VM: the VM's data disk as the guest sees it.
disk_bytes() { qemu-img convert -U -f qcow2 -O raw "$(dir_of h1)/ds/$1/data.qcow2" "$TMP/$1.raw" && cat "$TMP/$1.raw"; }
for how in clone copy; do
	api h1 POST /api/v1/vms "$(guest_spec "raw$how" | jq -c --argjson c "$([ $how = copy ] && echo true || echo false)" \
		'.disks=[{name:"data", image:"desc", copy:$c}]')"
	check "a VM with a $how of the raw image is defined" test "$STATUS" = 201
	check "... its disk holds the image's own bytes" grep -aq 'createType="monolithicFlat"' <(disk_bytes "raw$how")
	check "... and not the host file they name" bash -c 'test -s "$0" && ! grep -aq VDC-HOST-SECRET "$0"' "$TMP/raw$how.raw"
	api h1 DELETE "/api/v1/vms/raw$how"
done

api h1 DELETE '/api/v1/vms/c1?keep_disks=true'
check "delete keeping disks answers 204" test "$STATUS" = 204
check "the kept disk remains" test -f "$(dir_of h1)/ds/c1/data.qcow2"
api h1 POST /api/v1/vms "$(clone_spec c1 10.213.0.31)"
check "re-using the name of a kept disk is 409 naming the disk" test "$STATUS/$(jget "$BODY" .error.code)" = 409/disk_exists
api h1 DELETE '/api/v1/vms/c2?force=true'
check "forced delete of a running VM answers 204" test "$STATUS" = 204
check "no QEMU is left for c2" qemu_gone c2
check "c2's disk is gone" test ! -e "$(dir_of h1)/ds/c2"

# An image kept on the other datastore: moved there from the spool across
# filesystems, whole, and cloned from there.
api_put_file h1 "/api/v1/images/far?kind=disk&format=qcow2&datastore=other" "$GUEST/data-template.qcow2"
check "an image is kept on a datastore of another filesystem (201)" \
	test "$STATUS/$(jget "$BODY" .datastore)" = 201/other
check "... whole, in that datastore's images" cmp -s "$other/images/far" "$GUEST/data-template.qcow2"
check "... read-only" test "$(stat -c %a "$other/images/far")" = 444
check "... with nothing else left beside it or in the spool" \
	test "$(ls -A "$other/images" | paste -sd' ')/$(ls -A "$(dir_of h1)/ds/images/.spool")" = "far far.json/"
api h1 GET /api/v1/images
check "the image list shows it on its datastore" test "$(jget "$BODY" '.images[] | select(.id=="far") | .datastore')" = other
api h1 POST /api/v1/vms "$(guest_spec o1 | jq -c '.disks=[{name:"data", image:"far"}]')"
check "a VM's disk is cloned from it" \
	grep -q "backing file: $other/images/far" <(qemu-img info -U "$(dir_of h1)/ds/o1/data.qcow2")
api h1 DELETE /api/v1/vms/o1
api h1 DELETE /api/v1/images/far
check "it is deleted (204)" test "$STATUS" = 204 -a ! -e "$other/images/far" -a ! -e "$other/images/far.json"
check "the agent stops cleanly (exit 0)" agent_stop h1
finish
