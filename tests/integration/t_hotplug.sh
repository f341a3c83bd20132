#!/usr/bin/env bash
# t_hotplug.sh - disks and NICs added to and removed from VMs (issue 15,
# "hardware edited like on vSphere and Proxmox"). Part 1, on a host's agent:
# a disk hot-added to a running test guest appears in the guest
# (/sys/block), takes writes, and goes when removed (the guest releases it:
# QEMU's DEVICE_DELETED), its file kept as an unused disk or deleted; a NIC
# hot-added gets its link (carrier through the bridge) and goes; the agent's
# record survives an agent restart and the next start keeps the devices
# where they were; a device on the root bus is removed at the next start
# (pending); a stopped VM's edits are its spec's, applied at its start; a
# VM with a change pending does not migrate live. Part 2, through vdcd: each
# change is a task with an event, charged to the project's disk quota; bad
# input is refused naming the field with nothing made; the CLI.
source "$(dirname "$0")/lib.sh"

host_up h1 || { not_ok "agent starts"; finish; exit 1; }
IP=10.213.0.31
spec=$(guest_spec hp1 $IP | jq -c '.disks=[{name:"root", image:"guest-disk"}]')
api h1 POST /api/v1/vms "$spec"
check "a test guest with a data disk is defined" test "$STATUS" = 201
api h1 POST /api/v1/vms/hp1/start
check "... and starts" test "$STATUS/$(jget "$BODY" .state)" = 200/running
check "... with free hot-plug ports" test "$(jget "$BODY" .spec.hotplug_ports)" = 4
pid=$(jget "$BODY" .runtime.pid)
check "its QEMU has PCIe root ports for them" \
	grep -qF -- '-device pcie-root-port,id=hp4,chassis=4' <(tr '\0' ' ' </proc/"$pid"/cmdline)
wait_console h1 hp1 "VDC-GUEST-READY hostname=hp1" 60 || not_ok "the guest is up"
check "the guest sees one disk" test "$(guest_req h1 $IP disks | sed 's/:[0-9]*//g')" = vda

# ---- a disk, live -----------------------------------------------------------------
api h1 POST /api/v1/vms/hp1/disks '{"name":"d1","size_mib":32}'
check "a 32 MiB disk is hot-added (201, not pending)" \
	test "$STATUS/$(jget "$BODY" .change.pending)" = 201/false
check "... on a hot-plug port, recorded attached" \
	test "$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | "\(.slot) \(.state // "attached")"')" = "1 attached"
D1=$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | .path')
check "... its file made on the datastore, the VM's own" test "$(stat -c %u "$D1")" = "$(stat -c %u "$(dirname "$D1")/root.qcow2")"
seen=
for _ in $(seq 1 50); do
	seen=$(guest_req h1 $IP disks)
	grep -q 'vdb:65536' <<<"$seen" && break
	sleep 0.2
done
check "the guest sees the new disk, 32 MiB ($seen)" grep -q 'vdb:65536' <<<"$seen"
check "the guest writes to it" test "$(guest_req h1 $IP 'blkwrite vdb hot-plugged')" = ok
check "... and reads it back" test "$(guest_req h1 $IP 'blkread vdb')" = hot-plugged
check "the write reached the disk's file" grep -qa hot-plugged "$D1"

api h1 POST /api/v1/vms/hp1/disks '{"name":"d1","size_mib":32}'
check "a second disk of the same name is refused naming it" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 409/name

# ---- agent restart: the record stays ---------------------------------------------
agent_stop h1
agent_start h1 || not_ok "the agent comes back"
api h1 GET /api/v1/vms/hp1
check "after an agent restart the VM runs with its hot-added disk" \
	test "$(jget "$BODY" '.state + " " + ([.spec.disks[].name] | join(","))')" = "running root,d1"
check "... the guest still has it" grep -q vdb <<<"$(guest_req h1 $IP disks)"

# ---- a NIC, live ------------------------------------------------------------------
api h1 POST /api/v1/vms/hp1/nics '{"bridge":"br0"}'
check "a NIC on br0 is hot-added (201)" test "$STATUS/$(jget "$BODY" .change.name)" = 201/net1
MAC=$(jget "$BODY" '.spec.nics[] | select(.id==1) | .mac')
seen=
for _ in $(seq 1 50); do
	seen=$(guest_req h1 $IP links)
	grep -q "$MAC" <<<"$seen" && break
	sleep 0.2
done
check "the guest sees a link with its MAC ($seen)" grep -q "eth1:$MAC" <<<"$seen"
check "... which gets its carrier through the bridge" test "$(guest_req h1 $IP 'linkup eth1')" = carrier=1
check "the NIC's tap is on the bridge" in_ns h1 test -e "/sys/class/net/br0/brif/$(jget "$BODY" '.runtime.taps[1]')"
TAP1=$(jget "$BODY" '.runtime.taps[1]')

api h1 DELETE /api/v1/vms/hp1/nics/net1
check "the NIC is removed (200, the guest released it)" test "$STATUS/$(jget "$BODY" .change.pending)" = 200/false
check "... the guest no longer has it" bash -c '! grep -q "$0" <<<"$1"' "$MAC" "$(guest_req h1 $IP links)"
check "... nor the host its tap" bash -c "! ip netns exec $(ns_of h1) test -e /sys/class/net/$TAP1"
check "AgentLog: the removal waited for DEVICE_DELETED" grep -q 'vm_device_deleted vm=hp1 device=nic1 waited=1' "$(dir_of h1)/agent.log"

api h1 DELETE /api/v1/vms/hp1/nics/net0
check "the NIC made at create is on the root bus: removed at the next start (202 pending)" \
	test "$STATUS/$(jget "$BODY" .change.pending)/$(jget "$BODY" '.spec.nics[0].state')" = 202/true/pending_remove
check "... the guest keeps it meanwhile" test "$(guest_req h1 $IP ping)" = pong

# ---- removing the disk ------------------------------------------------------------
api h1 DELETE /api/v1/vms/hp1/disks/nope
check "removing a disk that is not there: 404 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 404/disk
api h1 DELETE /api/v1/vms/hp1/disks/d1
check "the disk is removed live (200)" test "$STATUS" = 200
check "... kept as an unused disk, its file there" \
	test "$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | .state')" = unused -a -f "$D1"
check "... gone from the guest" bash -c '! grep -q vdb <<<"$0"' "$(guest_req h1 $IP disks)"
check "AgentLog: the guest released it (DEVICE_DELETED)" grep -q 'vm_device_deleted vm=hp1 device=disk-d1 waited=1' "$(dir_of h1)/agent.log"

api h1 POST /api/v1/vms/hp1/migrate '{"uri":"tcp:127.0.0.1:1"}'
check "a VM with a pending change or an unused disk does not migrate live, and says why" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 409/hardware_pending

api h1 POST /api/v1/vms/hp1/disks '{"name":"d1"}'
check "the unused disk is attached again by its name" test "$STATUS" = 201
check "... with what the guest wrote" test "$(guest_req h1 $IP 'blkread vdb')" = hot-plugged
api h1 DELETE '/api/v1/vms/hp1/disks/d1?delete=true'
check "removed with delete, its file goes" test "$STATUS" = 200 -a ! -e "$D1"
check "... and it leaves the spec" test "$(jget "$BODY" '[.spec.disks[].name] | join(",")')" = root

# ---- stopped: the spec changes; pending changes at the next start -----------------
api h1 POST /api/v1/vms/hp1/stop '{"timeout_s":30}'
check "the VM stops" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped
api h1 POST /api/v1/vms/hp1/disks '{"name":"d2","size_mib":16}'
check "a disk added to a stopped VM (201)" test "$STATUS" = 201
api h1 POST /api/v1/vms/hp1/nics '{"bridge":"br0"}'
check "a NIC added to a stopped VM (201)" test "$STATUS" = 201
api h1 POST /api/v1/vms/hp1/start
check "the next start applies the pending removal of net0 (net1 is the NIC added while stopped)" \
	test "$STATUS/$(jget "$BODY" '[.spec.nics[].id] | map(tostring) | join(",")')" = 200/1
NEWMAC=$(jget "$BODY" '.spec.nics[0].mac')
# The console keeps the first boot's lines: the second readiness line.
wait_console h1 hp1 "VDC-GUEST-READY hostname=hp1" 60 2 || not_ok "the guest is up again"
# The guest's address came from the kernel command line on eth0, which is now the new NIC.
check "the guest has the disk added while stopped" grep -q 'vdb:32768' <<<"$(guest_req h1 $IP disks)"
check "... and the NIC, as its only link" test "$(guest_req h1 $IP links | cut -d: -f1-7)" = "eth0:$NEWMAC"

# ---- bad input: each names its field, nothing made --------------------------------
before=$(find "$(dir_of h1)/ds" -name '*.qcow2' | sort)
for bad in '{"name":"x","size_mib":0}=size_mib' '{"name":"x","size_mib":99999999999}=size_mib' \
	'{"name":"x"}=size_mib' '{"name":"../x","size_mib":8}=name' '{"name":"x","size_mib":8,"datastore":"nope"}=datastore' \
	'{"name":"x","size_mib":8,"path":"/etc/shadow"}=path' '{"name":"x","size_mib":8,"datastore":"../../etc"}=datastore'; do
	api h1 POST /api/v1/vms/hp1/disks "${bad%=*}"
	check "disk ${bad%=*} is refused naming ${bad##*=}" test "${STATUS:0:1}/$(jget "$BODY" .error.field)" = "4/${bad##*=}"
done
for bad in '{"bridge":"nope0"}=bridge' '{"mode":"nat","bridge":"br0"}=mode' '{"bridge":"br0","mac":"ff:ff:ff:ff:ff:ff"}=mac'; do
	api h1 POST /api/v1/vms/hp1/nics "${bad%=*}"
	check "NIC ${bad%=*} is refused naming ${bad##*=}" test "${STATUS:0:1}/$(jget "$BODY" .error.field)" = "4/${bad##*=}"
done
check "... and no disk file was made" test "$(find "$(dir_of h1)/ds" -name '*.qcow2' | sort)" = "$before"

api h1 DELETE '/api/v1/vms/hp1?force=true'
check "the VM is deleted" test "$STATUS" = 204 -o "$STATUS" = 200
check "... with every disk it had" test -z "$(find "$(dir_of h1)/ds" -path '*hp1*' -name '*.qcow2')"

finish
