#!/usr/bin/env bash
# t_firmware.sh - firmware boot (issue 15), on one namespace host through
# vdcd: the disk-booting test guest (guest/build-disk-guest.sh: GRUB for BIOS
# in the MBR gap, for UEFI on an ESP) boots from its disk under BIOS
# (SeaBIOS) and under UEFI (OVMF) to the guest's readiness line. A UEFI VM
# has a variable store of its own in its disk's folder, owned by its
# identity, gone with the VM; its QEMU maps the host's OVMF code read-only.
# Bad firmware and boot orders are refused naming the field, with no VM
# made; a stopped VM's firmware and boot order change by resize; the store
# follows the VM's disk to another datastore.
source "$(dirname "$0")/lib.sh"

if ! "$VDC_ROOT/guest/build-disk-guest.sh" "$CACHE" >"$TMP/build-disk.log" 2>&1; then
	tail -5 "$TMP/build-disk.log" | sed 's/^/# /'
	not_ok "the disk-booting test guest builds"
	finish
	exit 1
fi
shared_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
host_join h1 c1 --datastore "shared=$SHARED" || not_ok "h1 joins"
hosts_connected 1 || not_ok "h1 connects"

mapi POST /api/v1/images '{"name":"disk-guest","kind":"disk","format":"qcow2","import_from":"disk-guest/disk.qcow2"}'
task_wait "$(jget "$BODY" .task.id)" 120
check "the disk-booting guest is imported" test "$TASK_STATE" = succeeded
# No kernel: the VM boots through its firmware from its disk. UEFI's GRUB
# needs 256 MiB (it runs out of memory loading the kernel at 192).
mapi POST /api/v1/templates '{"name":"dg","image":"disk-guest","vcpus":1,"memory_mib":256}'
check "a template of it, with no kernel" test "$STATUS" = 201

READY='VDC-GUEST-READY hostname=disk-guest'

# ---- bad values: 400 naming the field, nothing made ------------------------
for bad in 'firmware:"efi"=firmware' 'firmware:"/usr/share/OVMF/OVMF_CODE.fd"=firmware' 'firmware:1=firmware' \
	'boot_order:[]=boot_order' 'boot_order:"disk"=boot_order' 'boot_order:["disk","floppy"]=boot_order[1]' \
	'boot_order:["/dev/sda"]=boot_order[0]' 'boot_order:["net","disk","net"]=boot_order[2]'; do
	field=${bad##*=}
	kv=${bad%=*}
	mapi POST /api/v1/vms "{\"name\":\"bad\",\"template\":\"dg\",\"datastore\":\"shared\",\"start\":false,\"${kv%%:*}\":${kv#*:}}"
	check "$kv is refused naming $field" test "$STATUS/$(jget "$BODY" .error.field)" = "400/$field"
done
mapi GET /api/v1/vms/bad
check "... and no VM was made" test "$STATUS" = 404
check "... nor any file on the datastore" test -z "$(ls -A "$SHARED")"

# ---- BIOS: the default -------------------------------------------------------
mapi POST /api/v1/vms '{"name":"bios","template":"dg","datastore":"shared","start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a VM of the disk image with the default firmware starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/bios
BIOS=$(jget "$BODY" .id)
line=$(qemu_line "$BIOS")
check "... its QEMU has no pflash and boots its disk first" \
	test -n "$line" -a -z "$(grep -o pflash <<<"$line")" -a -n "$(grep -o 'id=disk-root,bootindex=1' <<<"$line")"
t0=$SECONDS
wait_console h1 "$BIOS" "$READY" 120
check "it boots through SeaBIOS and GRUB to the readiness line ($((SECONDS - t0)) s)" grep -q "$READY" <<<"$BODY"
mapi DELETE "/api/v1/vms/$BIOS?force=true"
task_wait "$(jget "$BODY" .task.id)" 60

# ---- UEFI ---------------------------------------------------------------------
mapi POST /api/v1/vms '{"name":"uefi","template":"dg","datastore":"shared","firmware":"uefi","boot_order":["disk","net"],"start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a UEFI VM of the disk image starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/uefi
UEFI=$(jget "$BODY" .id)
check "... vdcd keeps its firmware and boot order" \
	test "$(jget "$BODY" '.config.firmware + "/" + (.config.boot_order | join(","))')" = uefi/disk,net
check "... and so does its host" \
	test "$(vm_field h1 "$UEFI" '.spec.firmware + "/" + (.spec.boot_order | join(","))')" = uefi/disk,net
DISK=$(vm_field h1 "$UEFI" '.spec.disks[0].path')
VARS=$(dirname "$DISK")/uefi-vars.fd
check "its UEFI variable store is in its disk's folder ($VARS)" test -f "$VARS"
check "... a copy of the host's OVMF_VARS (its size)" \
	test "$(stat -c %s "$VARS")" = "$(stat -c %s /usr/share/OVMF/OVMF_VARS_4M.fd)"
check "... owned by the VM's identity, as its disk is" \
	test "$(stat -c %u:%g "$VARS")" = "$(stat -c %u:%g "$DISK")" -a "$(stat -c %u "$VARS")" != 0
line=$(qemu_line "$UEFI")
check "its QEMU maps the host's OVMF code read-only and its own store" \
	grep -q -- "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE[_4M]*.fd -drive if=pflash,format=raw,unit=1,file=$VARS" <<<"$line"
check "... and boots its disk, then the network" \
	grep -q "id=disk-root,bootindex=1 .*id=nic0,mac=[0-9a-f:]*,bootindex=2" <<<"$line"
t0=$SECONDS
wait_console h1 "$UEFI" "$READY" 180
check "it boots through OVMF and GRUB to the readiness line ($((SECONDS - t0)) s)" grep -q "$READY" <<<"$BODY"

# ---- changes while stopped --------------------------------------------------
mapi POST "/api/v1/vms/$UEFI/resize" '{"firmware":"bios"}'
check "firmware changes only while the VM is stopped: 409" test "$STATUS/$(jget "$BODY" .error.code)" = 409/invalid_state
mapi POST "/api/v1/vms/$UEFI/stop" '{"timeout_s":5}'
task_wait "$(jget "$BODY" .task.id)" 60
mapi POST "/api/v1/vms/$UEFI/resize" '{"boot_order":["net","cdrom","cdrom"]}'
check "a resize to a bad boot order is refused naming the entry" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/boot_order[2]
mapi POST "/api/v1/vms/$UEFI/resize" '{"firmware":"bios","boot_order":null}'
task_wait "$(jget "$BODY" .task.id)" 60
check "a stopped VM goes to BIOS and the default order (vdcd and its host)" \
	test "$TASK_STATE/$(vm_field h1 "$UEFI" '.spec.firmware + "/" + (.spec.boot_order // [] | join(","))')/$(mapi GET /api/v1/vms/uefi && jget "$BODY" '(.config.firmware // "bios")')" = \
	succeeded/bios//bios
mapi POST "/api/v1/vms/$UEFI/resize" '{"firmware":"uefi"}'
task_wait "$(jget "$BODY" .task.id)" 60
check "... and back to UEFI" test "$TASK_STATE/$(vm_field h1 "$UEFI" .spec.firmware)" = succeeded/uefi

# ---- the store follows the disk to another datastore --------------------------
mapi POST "/api/v1/vms/$UEFI/disks/root/move" '{"datastore":"local"}'
task_wait "$(jget "$BODY" .task.id)" 120
check "the stopped UEFI VM's disk moves to datastore local" test "$TASK_STATE" = succeeded
DISK2=$(vm_field h1 "$UEFI" '.spec.disks[0].path')
VARS2=$(dirname "$DISK2")/uefi-vars.fd
check "... its UEFI store with it ($VARS2), still the VM's" \
	test -f "$VARS2" -a ! -e "$VARS" -a "$(stat -c %u:%g "$VARS2" 2>/dev/null)" = "$(stat -c %u:%g "$DISK2")"
VARS=$VARS2
mapi POST "/api/v1/vms/$UEFI/start"
task_wait "$(jget "$BODY" .task.id)" 120
t0=$SECONDS
wait_console h1 "$UEFI" "$READY" 180 2
check "it boots again through UEFI from there ($((SECONDS - t0)) s)" test "$TASK_STATE" = succeeded

# ---- a UEFI template: its VMs boot through UEFI unless they say otherwise -----
mapi POST /api/v1/templates '{"name":"dg-uefi","image":"disk-guest","vcpus":1,"memory_mib":256,"firmware":"uefi"}'
check "a template with firmware uefi" test "$STATUS/$(jget "$BODY" .firmware)" = 201/uefi
mapi POST /api/v1/templates '{"name":"dg-bad","image":"disk-guest","firmware":"/tmp/OVMF.fd"}'
check "... a template's firmware is a name too: 400 naming firmware" test "$STATUS/$(jget "$BODY" .error.field)" = 400/firmware
mapi POST /api/v1/vms '{"name":"from-t","template":"dg-uefi","datastore":"shared","start":false}'
task_wait "$(jget "$BODY" .task.id)" 60
mapi POST /api/v1/vms '{"name":"from-t-bios","template":"dg-uefi","datastore":"shared","firmware":"bios","start":false}'
task_wait "$(jget "$BODY" .task.id)" 60
check "a VM of it is UEFI; one that asks for BIOS is BIOS" \
	test "$(mapi GET /api/v1/vms/from-t && jget "$BODY" .config.firmware)/$(mapi GET /api/v1/vms/from-t-bios && jget "$BODY" .config.firmware)" = uefi/bios
for v in from-t from-t-bios; do
	mapi DELETE "/api/v1/vms/$v"
	task_wait "$(jget "$BODY" .task.id)" 60
done

# ---- the CLI -------------------------------------------------------------------
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
check "vdc logs in" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"
check "vdc vm create --firmware uefi --boot-order net,disk" \
	vdc vm create cli-fw --template dg --datastore shared --firmware uefi --boot-order net,disk --no-start
check "... vdc vm show shows them" eval 'vdc vm show cli-fw | grep -qx "firmware    uefi, boot net,disk"'
vdc vm create cli-bad --template dg --datastore shared --boot-order disk,floppy --no-start >"$TMP/out" 2>&1
rc=$?
check "vdc vm create --boot-order disk,floppy: refused (exit 2), naming the flag ($(head -1 "$TMP/out"))" \
	test "$rc" = 2 -a -n "$(grep -E 'boot.order' "$TMP/out")"
check "vdc vm resize --firmware bios --boot-order default" vdc vm resize cli-fw --firmware bios --boot-order default
check "... vdcd has BIOS and the default order" \
	test "$(mapi GET /api/v1/vms/cli-fw && jget "$BODY" '(.config.firmware // "bios") + "/" + (.config.boot_order // [] | join(","))')" = bios/
vdc vm delete cli-fw >/dev/null 2>&1

# ---- deleted with the VM ------------------------------------------------------
mapi DELETE "/api/v1/vms/$UEFI?force=true"
task_wait "$(jget "$BODY" .task.id)" 60
check "the VM is deleted" test "$TASK_STATE" = succeeded
check "... and its UEFI variable store with it" test ! -e "$VARS"
check "... and its folder" test ! -e "$(dirname "$VARS")"
finish
