# 85-firmware.sh - a VM's firmware is a name ("bios" or "uefi") and its
# boot order a list of device kinds, never a file: a tenant can neither
# point QEMU at a firmware or variable store of their choosing (the host's
# OVMF is the agent's pick; the store is the VM's own, beside its disk) nor
# smuggle QEMU options through either field, at create or by resize; and
# another project's VM cannot be changed (404 before any 403).
# shellcheck shell=bash

mgr_guest_template fw-tpl "$T_A"
for fw in '"/usr/share/OVMF/OVMF_CODE.secboot.fd":firmware' '"uefi,file=/etc/shadow":firmware' \
	'"../../etc/shadow":firmware' '{"code":"/tmp/x.fd","vars":"/etc/shadow"}:firmware' \
	'"bios -bios /tmp/evil.bin":firmware'; do
	as "$T_A" POST /api/v1/vms "{\"name\":\"fw-vm\",\"template\":\"fw-tpl\",\"project\":\"pa\",\"start\":false,\"firmware\":${fw%:*}}"
	attack FW-1 "an operator's firmware ${fw%:*} (a path or QEMU options): 400 naming firmware, no VM" \
		test "$STATUS/$(jget "$BODY" .error.field)/$(as "$T_A" GET /api/v1/vms/fw-vm && echo "$STATUS")" = 400/firmware/404
done
for bo in '["/dev/sda"]:boot_order[0]' '["disk,bootindex=9"]:boot_order[0]' '["disk","net","cdrom","disk"]:boot_order' \
	'["disk","disk"]:boot_order[1]' '"disk -drive file=/etc/shadow":boot_order'; do
	as "$T_A" POST /api/v1/vms "{\"name\":\"fw-vm\",\"template\":\"fw-tpl\",\"project\":\"pa\",\"start\":false,\"boot_order\":${bo%:*}}"
	attack FW-2 "an operator's boot order ${bo%:*}: 400 naming ${bo##*:}, no VM" \
		test "$STATUS/$(jget "$BODY" .error.field)/$(as "$T_A" GET /api/v1/vms/fw-vm && echo "$STATUS")" = "400/${bo##*:}/404"
done
as "$T_A" POST /api/v1/vms '{"name":"fw-vm","template":"fw-tpl","project":"pa","start":false,"firmware":"uefi"}'
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" GET /api/v1/vms/fw-vm
fw_vm=$(jget "$BODY" .id)
as "$T_A" POST "/api/v1/vms/$fw_vm/resize" '{"firmware":"/etc/shadow"}'
attack FW-3 "... and as a resize of their own VM: 400 naming firmware" test "$STATUS/$(jget "$BODY" .error.field)" = 400/firmware
as "$T_B" POST "/api/v1/vms/$fw_vm/resize" '{"firmware":"bios"}'
attack FW-4 "another project's operator changes the VM's firmware: 404" test "$STATUS" = 404
vars=$(dirname "$(vm_field h1 "$fw_vm" '.spec.disks[0].path')")/uefi-vars.fd
attack FW-5 "the VM's UEFI store is its own: in its disk's folder, its identity's, 0640" \
	test "$(stat -c %a "$vars" 2>/dev/null)/$(stat -c %u "$vars" 2>/dev/null)" = "640/$(stat -c %u "$(vm_field h1 "$fw_vm" '.spec.disks[0].path')")"
as "$T_A" DELETE "/api/v1/vms/$fw_vm?force=true"
task_wait "$(jget "$BODY" .task.id)" 60
attack FW-5 "... and goes with it" test ! -e "$vars"
as "$T_A" DELETE /api/v1/templates/fw-tpl
