# 87-hotplug.sh - a VM's added disks and NICs (issue 15): a disk is a name
# and a size on one of its host's datastores, never a file: a tenant cannot
# point a new disk at a host path (by its name, its datastore or a path
# key), nor put a NIC on another project's network, nor add to or remove
# from another project's VM (404 before any 403); a viewer changes nothing.
# shellcheck shell=bash

mgr_guest_template hp-tpl "$T_A"
as "$T_A" POST /api/v1/vms '{"name":"hp-vm","template":"hp-tpl","project":"pa","start":false}'
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" GET /api/v1/vms/hp-vm
hp_vm=$(jget "$BODY" .id)
hp_dir=$(dirname "$(vm_field h1 "$hp_vm" '.spec.disks[0].path')")
for d in '{"name":"/etc/shadow","size_mib":8}:name' '{"name":"../../../etc/x","size_mib":8}:name' \
	'{"name":"x","size_mib":8,"datastore":"/etc"}:datastore' '{"name":"x","size_mib":8,"datastore":"../.."}:datastore' \
	'{"name":"x","size_mib":8,"path":"/etc/shadow"}:path' '{"name":"x","size_mib":8,"file":"/dev/sda"}:file' \
	'{"name":"x,file=/etc/shadow","size_mib":8}:name' '{"name":"x","size_mib":8,"datastore":"nope"}:datastore'; do
	as "$T_A" POST "/api/v1/vms/$hp_vm/disks" "${d%:*}"
	attack HP-1 "an operator's disk ${d%:*} (a host path or QEMU options): 4xx naming ${d##*:}, nothing made" \
		test "${STATUS:0:1}/$(jget "$BODY" .error.field)/$(ls "$hp_dir" | grep -vc '^root.qcow2$')" = "4/${d##*:}/0"
done
as "$T_B" POST /api/v1/networks '{"name":"hp-net-b","bridge":"br0"}'
as "$T_A" POST "/api/v1/vms/$hp_vm/nics" '{"network":"hp-net-b"}'
attack HP-2 "a NIC on another project's network: 400 naming network (no such network for this project)" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/network
as "$T_A" POST "/api/v1/vms/$hp_vm/nics" '{"network":"hp-net-b","bridge":"br0"}'
attack HP-2 "... nor a bridge given beside it: 400 naming bridge" test "$STATUS/$(jget "$BODY" .error.field)" = 400/bridge
as "$T_B" POST "/api/v1/vms/$hp_vm/disks" '{"name":"evil","size_mib":8}'
attack HP-3 "another project's operator adds a disk to the VM: 404" test "$STATUS" = 404
as "$T_B" DELETE "/api/v1/vms/$hp_vm/disks/root?delete=true"
attack HP-3 "... or removes its disk: 404" test "$STATUS" = 404
as "$T_V" POST "/api/v1/vms/$hp_vm/disks" '{"name":"v","size_mib":8}'
attack HP-4 "a viewer adds a disk: 403" test "$STATUS" = 403
as "$T_A" DELETE "/api/v1/vms/$hp_vm/disks/root?delete=true"
attack HP-5 "the VM's own root disk cannot be removed through this (409 naming disk)" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 409/disk
as "$T_A" DELETE "/api/v1/vms/$hp_vm?force=true"
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_B" DELETE /api/v1/networks/hp-net-b
as "$T_A" DELETE /api/v1/templates/hp-tpl
