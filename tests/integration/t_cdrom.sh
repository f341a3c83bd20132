#!/usr/bin/env bash
# t_cdrom.sh - a VM's CD-ROM drive (issue 15), through vdcd on real QEMU:
# an ISO of the image library (kind iso: ISO 9660, checked by its CD001
# magic) boots a VM with a blank disk, as an OS installer would
# (guest/build-installer-iso.sh: the test guest writes the disk-booting
# guest onto /dev/vda); the medium is ejected and inserted while the VM
# runs (QEMU lets the ISO go, and takes it again); the boot order goes to
# the disk and the VM boots from it; a stopped VM's drive changes in its
# spec; the choice survives an agent restart and a live migration to a
# second host. Bad input (an unknown image, a disk as medium, a non-ISO
# uploaded or imported as an ISO, a host path) is a 4xx naming the field,
# with nothing made. Then the same under UEFI, and the CLI.
source "$(dirname "$0")/lib.sh"

if ! "$VDC_ROOT/guest/build-installer-iso.sh" "$CACHE" >"$TMP/build-iso.log" 2>&1; then
	tail -5 "$TMP/build-iso.log" | sed 's/^/# /'
	not_ok "the installer ISO builds"
	finish
	exit 1
fi
shared_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
host_join h1 c1 --datastore "shared=$SHARED" || not_ok "h1 joins"
hosts_connected 1 || not_ok "h1 connects"

# mupload ID FILE: PUT FILE as the library image's bytes; sets STATUS, BODY.
mupload() {
	STATUS=$(curl -s -o "$TMP/up-body" -w '%{http_code}' --max-time 120 -X PUT --cacert "$MGR_CACERT" \
		-H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/octet-stream' \
		-T "$2" "$MGR_URL/api/v1/images/$1/file")
	BODY=$(cat "$TMP/up-body")
}
# iso_open HOST VM: how many of the VM's QEMU's open files are the ISO.
iso_open() {
	local pid
	pid=$(vm_field "$1" "$2" '.runtime.pid // empty')
	[ -n "$pid" ] || { echo none; return; }
	ls -l "/proc/$pid/fd" 2>/dev/null | grep -c "/images/$ISO_ID\$"
}
# cdrom_task VM BODY: POST /cdrom and wait for its task (TASK_STATE).
cdrom_task() {
	mapi POST "/api/v1/vms/$1/cdrom" "$2"
	if [ "$STATUS" != 202 ]; then
		diag "POST cdrom $2: $STATUS $BODY"
		TASK_STATE=refused
		return 1
	fi
	task_wait "$(jget "$BODY" .task.id)" 120
}

# ---- the image library takes ISOs, and only ISOs -------------------------------
mapi POST /api/v1/images '{"name":"installer","kind":"iso","import_from":"installer-iso/installer.iso"}'
task_wait "$(jget "$BODY" .task.id)" 120
check "the installer ISO is imported as an image of kind iso" test "$TASK_STATE" = succeeded
mapi GET /api/v1/images/installer
ISO_ID=$(jget "$BODY" .id)
check "... active, raw, its size whole sectors" \
	test "$(jget "$BODY" '"\(.kind)/\(.format)/\(.state)/\(.size_bytes % 2048)"')" = iso/raw/active/0
mapi POST /api/v1/images '{"name":"not-iso","kind":"iso","import_from":"disk-guest/disk.qcow2"}'
tid=$(jget "$BODY" .task.id)
task_wait "$tid" 60
mapi GET "/api/v1/tasks/$tid"
check "a qcow2 imported as an ISO: the import fails naming the missing CD001 ($(jget "$BODY" .error.message | cut -c1-90))" \
	test "$TASK_STATE/$(jget "$BODY" .error.message | grep -c 'CD001')" = failed/1
mapi GET /api/v1/images/not-iso
check "... and no image is left" test "$STATUS" = 404
mapi POST /api/v1/images '{"name":"fake-iso","kind":"iso"}'
FAKE=$(jget "$BODY" .id)
head -c 1048576 /dev/zero >"$TMP/zeros.iso"
mupload "$FAKE" "$TMP/zeros.iso"
check "a file of zeros uploaded as an ISO: 400 invalid_image naming CD001" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.message | grep -c CD001)" = 400/invalid_image/1
mapi GET "/api/v1/images/$FAKE"
check "... and the image still waits for its file (nothing kept)" \
	test "$(jget "$BODY" .state)/$(ls "$TMP/vdcd/images" | grep -c "$FAKE")" = queued/0
mapi POST /api/v1/images '{"name":"iso-qcow","kind":"iso","format":"qcow2"}'
check "an ISO declared qcow2: 400 naming format" test "$STATUS/$(jget "$BODY" .error.field)" = 400/format
mapi DELETE "/api/v1/images/$FAKE"

# A blank disk (an empty qcow2 image) for the VMs to install onto.
qemu-img create -q -f qcow2 "$TMP/blank.qcow2" 96M
mapi POST /api/v1/images '{"name":"blank","kind":"disk","format":"qcow2"}'
mupload "$(jget "$BODY" .id)" "$TMP/blank.qcow2"
check "a blank disk image is uploaded" test "$STATUS" = 200
mapi POST /api/v1/templates '{"name":"empty","image":"blank","vcpus":1,"memory_mib":256}'
check "a template of it" test "$STATUS" = 201

# ---- bad drives: 400 naming the field, nothing made ---------------------------
for bad in '{"image":"nosuch"}=cdrom.image=no image named' '{"image":"blank"}=cdrom.image=is of kind disk, not iso' \
	"{\"image\":\"$CACHE/installer-iso/installer.iso\"}=cdrom.image=never a host path" \
	'{"image":"../images/x"}=cdrom.image=never a host path' '"/tmp/x.iso"=cdrom=must be an object' \
	'{"path":"/etc/shadow"}=cdrom.path=unknown' '{"image":"installer","readonly":false}=cdrom.readonly=unknown'; do
	IFS='=' read -r val field words <<<"$bad"
	mapi POST /api/v1/vms "{\"name\":\"bad\",\"template\":\"empty\",\"datastore\":\"shared\",\"start\":false,\"cdrom\":$val}"
	check "cdrom $val: 400 naming $field ($(jget "$BODY" .error.message | cut -c1-70))" \
		test "$STATUS/$(jget "$BODY" .error.field)/$(jget "$BODY" .error.message | grep -c -- "$words")" = "400/$field/1"
done
mapi GET /api/v1/vms/bad
check "... no VM was made" test "$STATUS" = 404
check "... nor any disk on the datastore" test -z "$(ls -A "$SHARED" | grep -v '^images$')"

# ---- install from the ISO onto the blank disk (BIOS) ---------------------------
mapi POST /api/v1/vms '{"name":"inst","template":"empty","datastore":"shared","cdrom":{"image":"installer"},"boot_order":["cdrom","disk"],"start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a VM with a blank disk and the installer ISO starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/inst
VM=$(jget "$BODY" .id)
check "vdcd keeps its drive (the ISO by name and id)" \
	test "$(jget "$BODY" '"\(.config.cdrom.image)/\(.config.cdrom.image_id)"')" = "installer/$ISO_ID"
check "its host's spec names the ISO by id, no path" \
	test "$(vm_field h1 "$VM" '"\(.spec.cdrom.image)/\(.spec.cdrom.path // "none")"')" = "$ISO_ID/none"
line=$(qemu_line "$VM")
check "its QEMU has the ISO read-only on an ide-cd, booted first, the disk second" \
	grep -q "file=$SHARED/images/$ISO_ID,format=raw,if=none,id=drive-cdrom0,media=cdrom,readonly=on -device ide-cd,drive=drive-cdrom0,bus=ide.0,id=cdrom0,bootindex=1 " <<<"$line"
check "... and the disk bootindex=2" grep -q "id=disk-root,bootindex=2" <<<"$line"
t0=$SECONDS
wait_console h1 "$VM" 'VDC-INSTALL-DONE dev=/dev/vda' 180
check "it boots the ISO through SeaBIOS and GRUB and installs onto its disk ($((SECONDS - t0)) s)" \
	grep -q 'VDC-INSTALL-DONE' <<<"$BODY"
wait_console h1 "$VM" 'VDC-GUEST-READY hostname=installer' 60
check "... then runs the guest from the CD ($((SECONDS - t0)) s)" grep -q 'VDC-GUEST-READY hostname=installer' <<<"$BODY"
check "QEMU holds the ISO open" test "$(iso_open h1 "$VM")" -ge 1

# ---- eject and insert while it runs -----------------------------------------------
mapi DELETE /api/v1/images/installer
check "an ISO in a drive cannot be deleted: 409 naming the VM" \
	test "$STATUS/$(jget "$BODY" .error.message | grep -c "VM 'inst' in its CD-ROM drive")" = 409/1
mapi POST "/api/v1/vms/$VM/cdrom" '{"drive":false}'
check "removing the drive of a running VM: 409" test "$STATUS/$(jget "$BODY" .error.code)" = 409/invalid_state
cdrom_task "$VM" '{"image":null}'
check "the medium is ejected while the VM runs (task vm.cdrom)" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/inst
check "... vdcd's config and the host's spec say the drive is empty" \
	test "$(jget "$BODY" '.config.cdrom | tojson')/$(vm_field h1 "$VM" '.spec.cdrom | tojson')" = '{}/{}'
check "... and QEMU has let the ISO go" test "$(iso_open h1 "$VM")" = 0
mapi GET "/api/v1/events?limit=200"
check "... events say so (accepted, then the task's)" \
	test "$(jget "$BODY" "[.. | objects | select(.action? == \"vm.cdrom\" and .target_id? == \"$VM\")] | length")" -ge 2
mapi POST "/api/v1/vms/$VM/cdrom" '{"image":null}'
check "ejecting an empty drive: 400 nothing to change" test "$STATUS/$(jget "$BODY" .error.message | grep -c 'nothing to change')" = 400/1
cdrom_task "$VM" '{"image":"installer"}'
check "the ISO is inserted again while it runs" \
	test "$TASK_STATE/$(iso_open h1 "$VM")/$(vm_field h1 "$VM" .spec.cdrom.image)" = "succeeded/1/$ISO_ID"
mapi POST "/api/v1/vms/$VM/cdrom" '{"image":"blank"}'
check "a disk image as medium: 400 naming image" test "$STATUS/$(jget "$BODY" .error.field)" = 400/image
mapi POST "/api/v1/vms/$VM/cdrom" "{\"image\":\"$SHARED/images/$ISO_ID\"}"
check "a host path as medium: 400 naming image" test "$STATUS/$(jget "$BODY" .error.field)" = 400/image

# ---- the medium survives an agent restart -------------------------------------------
agent_again() {
	agent_start "$1" --datastore "shared=$SHARED" --listen 0.0.0.0:7441 --manager-url "$MGR_URL" \
		--manager-ca-fingerprint "$CA_FP" --host-name "$1" \
		--advertise-url "https://$(cat "$(dir_of "$1")/mgmt_ip"):7441"
}
pid=$(vm_field h1 "$VM" .runtime.pid)
check "the agent stops cleanly" agent_stop h1
check "... and starts again" agent_again h1
check "after the restart the host still says the drive holds the ISO, QEMU (pid $pid) still has it" \
	test "$(vm_field h1 "$VM" '"\(.spec.cdrom.image)/\(.runtime.pid)"')/$(iso_open h1 "$VM")" = "$ISO_ID/$pid/1"
hosts_connected 1 || diag "h1 did not reconnect"

# ---- it moves with the VM: live migration to h2 ---------------------------------------
host_join h2 c1 --datastore "shared=$SHARED" || not_ok "h2 joins"
hosts_connected 2 || not_ok "h2 connects"
mapi POST "/api/v1/vms/$VM/migrate" '{}'
task_wait "$(jget "$BODY" .task.id)" 180
check "the VM with its ISO inserted migrates live to h2" \
	test "$TASK_STATE/$(mapi GET /api/v1/vms/inst && jget "$BODY" .placement.host)" = succeeded/h2
check "... h2 runs it with the same ISO in its drive, open in its QEMU" \
	test "$(vm_field h2 "$VM" .spec.cdrom.image)/$(iso_open h2 "$VM")" = "$ISO_ID/1"
api h2 GET "/api/v1/images/$ISO_ID"
check "... h2 has the ISO (as vdcd gave it, kind iso)" test "$STATUS/$(jget "$BODY" .kind)" = 200/iso
check "... where it runs on (h2's agent: running)" test "$(vm_field h2 "$VM" .state)" = running

# ---- to the disk: eject, boot order disk, restart --------------------------------------
cdrom_task "$VM" '{"image":null}'
check "on h2, once the migration is done, the medium is ejected live" \
	test "$TASK_STATE/$(iso_open h2 "$VM")/$(vm_field h2 "$VM" '.spec.cdrom | tojson')" = 'succeeded/0/{}'
mapi POST "/api/v1/vms/$VM/stop" '{"timeout_s":5}'
task_wait "$(jget "$BODY" .task.id)" 60
mapi POST "/api/v1/vms/$VM/resize" '{"boot_order":["disk","cdrom"]}'
task_wait "$(jget "$BODY" .task.id)" 60
check "ejected and stopped, its boot order goes to the disk" \
	test "$TASK_STATE/$(mapi GET /api/v1/vms/inst && jget "$BODY" '.config.boot_order | join(",")')" = succeeded/disk,cdrom
mapi POST "/api/v1/vms/$VM/start"
task_wait "$(jget "$BODY" .task.id)" 120
t0=$SECONDS
HOST=$(mapi GET /api/v1/vms/inst && jget "$BODY" .placement.host)
wait_console "$HOST" "$VM" 'VDC-GUEST-READY hostname=disk-guest' 120
check "it boots from the disk it installed ($((SECONDS - t0)) s)" grep -q 'VDC-GUEST-READY hostname=disk-guest' <<<"$BODY"

# ---- a stopped VM's drive: kept in its spec, taken at the next start -----------------
mapi POST "/api/v1/vms/$VM/stop" '{"timeout_s":5}'
task_wait "$(jget "$BODY" .task.id)" 60
cdrom_task "$VM" '{"image":"installer"}'
check "a stopped VM gets the ISO in its spec" \
	test "$TASK_STATE/$(vm_field "$HOST" "$VM" .spec.cdrom.image)/$(vm_field "$HOST" "$VM" .state)" = "succeeded/$ISO_ID/stopped"
cdrom_task "$VM" '{"drive":false}'
check "... and its drive is removed" \
	test "$TASK_STATE/$(vm_field "$HOST" "$VM" '.spec.cdrom // "none"')/$(mapi GET /api/v1/vms/inst && jget "$BODY" '.config.cdrom // "none"')" = succeeded/none/none
mapi DELETE /api/v1/images/installer
check "an ISO no VM holds any more is not refused for that one (it goes: 204)" test "$STATUS" = 204
mapi POST /api/v1/images '{"name":"installer","kind":"iso","import_from":"installer-iso/installer.iso"}'
task_wait "$(jget "$BODY" .task.id)" 120
mapi GET /api/v1/images/installer
ISO_ID=$(jget "$BODY" .id)
mapi POST "/api/v1/vms/$VM/start"
task_wait "$(jget "$BODY" .task.id)" 120
check "started without a drive: its QEMU has no ide-cd" test -z "$(qemu_line "$VM" | grep -o ide-cd)"
wait_console "$HOST" "$VM" 'VDC-GUEST-READY hostname=disk-guest' 120 2
check "... and boots its disk again" test "$(grep -c 'VDC-GUEST-READY hostname=disk-guest' <<<"$BODY")" -ge 2
mapi POST "/api/v1/vms/$VM/cdrom" '{"image":"installer"}'
check "a running VM without a drive cannot get a medium: 409 (stop it to add one)" \
	test "$STATUS/$(jget "$BODY" .error.message | grep -c 'stop it to add one')" = 409/1
mapi DELETE "/api/v1/vms/$VM?force=true"
task_wait "$(jget "$BODY" .task.id)" 60

# ---- UEFI: OVMF boots the ISO's EFI image -----------------------------------------------
mapi POST /api/v1/vms '{"name":"inst-uefi","template":"empty","datastore":"shared","firmware":"uefi","cdrom":{"image":"installer"},"boot_order":["disk","cdrom"],"start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a UEFI VM with a blank disk and the ISO (boot order disk,cdrom) starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/inst-uefi
UVM=$(jget "$BODY" .id)
UHOST=$(jget "$BODY" .placement.host)
t0=$SECONDS
wait_console "$UHOST" "$UVM" 'VDC-INSTALL-DONE dev=/dev/vda' 240
check "OVMF falls through the blank disk to the CD and installs ($((SECONDS - t0)) s)" grep -q 'VDC-INSTALL-DONE' <<<"$BODY"
wait_console "$UHOST" "$UVM" 'VDC-GUEST-READY hostname=installer' 60
cdrom_task "$UVM" '{"image":null}'
check "the UEFI VM's medium is ejected live" test "$TASK_STATE/$(iso_open "$UHOST" "$UVM")" = succeeded/0
mapi POST "/api/v1/vms/$UVM/reset"
task_wait "$(jget "$BODY" .task.id)" 60
t0=$SECONDS
wait_console "$UHOST" "$UVM" 'VDC-GUEST-READY hostname=disk-guest' 240
check "ejected and reset, it boots its own disk through UEFI ($((SECONDS - t0)) s)" \
	grep -q 'VDC-GUEST-READY hostname=disk-guest' <<<"$BODY"
mapi DELETE "/api/v1/vms/$UVM?force=true"
task_wait "$(jget "$BODY" .task.id)" 60

# ---- the CLI -------------------------------------------------------------------------
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
check "vdc logs in" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"
check "vdc vm create --cdrom installer --boot-order cdrom,disk" \
	vdc vm create cli-cd --template empty --datastore shared --cdrom installer --boot-order cdrom,disk --no-start
check "... vdc vm show shows the drive" eval 'vdc vm show cli-cd | grep -qx "cdrom       installer"'
check "vdc vm cdrom cli-cd eject" vdc vm cdrom cli-cd eject
check "... vdc vm show: an empty drive" eval 'vdc vm show cli-cd | grep -qx "cdrom       (empty)"'
vdc vm cdrom cli-cd insert blank >"$TMP/out" 2>&1
rc=$?
check "vdc vm cdrom insert a disk image: refused (exit $rc: $(head -1 "$TMP/out"))" \
	test "$rc" != 0 -a "$(grep -c 'of kind disk, not iso' "$TMP/out")" -ge 1
check "vdc vm cdrom cli-cd remove" vdc vm cdrom cli-cd remove
vdc vm cdrom cli-cd sideways >"$TMP/out" 2>&1
check "vdc vm cdrom with an unknown verb: usage, exit 2" test "$?" = 2
vdc vm create cli-bad --template empty --datastore shared --cdrom /etc/shadow --no-start >"$TMP/out" 2>&1
check "vdc vm create --cdrom /etc/shadow: refused naming the field ($(head -1 "$TMP/out"))" grep -q 'cdrom' "$TMP/out"
vdc vm delete cli-cd >/dev/null 2>&1
finish
