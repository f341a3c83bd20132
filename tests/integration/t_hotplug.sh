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

shared_up
for h in h1 h2; do
	host_ns "$h"
	agent_start "$h" --datastore "shared=$SHARED" || { not_ok "agent on $h starts"; finish; exit 1; }
done
# guest_wait HOST REQUEST REGEX: until the guest's answer to REQUEST
# matches (10 s: the guest probes a hot-plugged device in its own time);
# SEEN is the last answer.
guest_wait() {
	for _ in $(seq 1 50); do
		SEEN=$(guest_req "$1" $IP "$2")
		grep -qE "$3" <<<"$SEEN" && return 0
		sleep 0.2
	done
	return 1
}
IP=10.213.0.31
spec=$(guest_spec hp1 $IP | jq -c '.disks=[{name:"root", image:"guest-disk", copy:true, datastore:"shared"}]')
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
api h1 POST /api/v1/vms/hp1/disks '{"name":"d1","size_mib":32,"datastore":"shared"}'
check "a 32 MiB disk is hot-added (201, not pending)" \
	test "$STATUS/$(jget "$BODY" .change.pending)" = 201/false
check "... on a hot-plug port, recorded attached" \
	test "$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | "\(.slot) \(.state // "attached")"')" = "1 attached"
D1=$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | .path')
check "... its file made on the datastore, the VM's own" test "$(stat -c %u "$D1")" = "$(stat -c %u "$(dirname "$D1")/root.qcow2")"
guest_wait h1 disks 'vdb:65536'
check "the guest sees the new disk, 32 MiB ($SEEN)" grep -q 'vdb:65536' <<<"$SEEN"
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
guest_wait h1 links "$MAC"
check "the guest sees a link with its MAC ($SEEN)" grep -q "eth1:$MAC" <<<"$SEEN"
check "... which gets its carrier through the bridge" test "$(guest_req h1 $IP 'linkup eth1')" = carrier=1
check "the NIC's tap is on the bridge" in_ns h1 test -e "/sys/class/net/br0/brif/$(jget "$BODY" '.runtime.taps[1]')"

# ---- live migration keeps them: the receiver's QEMU has the same devices ----------
api h1 GET /api/v1/vms/hp1
mspec=$(jq -c .spec <<<"$BODY")
api h2 POST /api/v1/migrations/incoming "$(jq -nc --argjson s "$mspec" --arg a "$(cat "$(dir_of h2)/mgmt_ip")" '{spec:$s, address:$a}')"
check "h2 listens for the VM with its hot-plugged disk and NIC (201)" test "$STATUS" = 201
pid2=$(jget "$BODY" .runtime.pid)
check "... its QEMU has them on the same hot-plug ports" \
	grep -qF -- "id=disk-d1,bus=hp1" <(tr '\0' ' ' </proc/"$pid2"/cmdline)
api h1 POST /api/v1/vms/hp1/migrate "$(jq -nc --arg u "$(jget "$BODY" .migration.uri)" '{uri:$u}')"
check "h1 sends it (202)" test "$STATUS" = 202
for _ in $(seq 1 600); do
	api h1 GET /api/v1/vms/hp1/migration
	case $(jget "$BODY" .status) in completed | failed | cancelled) break ;; esac
	sleep 0.1
done
check "the live migration completes" test "$(jget "$BODY" .status)" = completed
api h1 DELETE '/api/v1/vms/hp1?force=true&leave_disks=true'
api h2 GET /api/v1/vms/hp1
check "h2 runs the guest" test "$(jget "$BODY" .state)" = running
check "the guest on h2 reads what it wrote to the hot-added disk" test "$(guest_req h2 $IP 'blkread vdb')" = hot-plugged
check "... and still has the hot-added NIC" grep -q "eth1:$MAC" <<<"$(guest_req h2 $IP links)"
TAP1=$(jget "$BODY" '.runtime.taps[1]')
# From here on the VM is h2's.
H=h2

api $H DELETE /api/v1/vms/hp1/nics/net1
check "the NIC is removed (200, the guest released it)" test "$STATUS/$(jget "$BODY" .change.pending)" = 200/false
guest_wait $H links "^[^ ]*\$"
check "... the guest no longer has it" bash -c '! grep -q "$0" <<<"$1"' "$MAC" "$(guest_req $H $IP links)"
check "... nor the host its tap" bash -c "! ip netns exec $(ns_of $H) test -e /sys/class/net/$TAP1"
check "AgentLog: the removal waited for DEVICE_DELETED" grep -q 'vm_device_deleted vm=hp1 device=nic1 waited=1' "$(dir_of $H)/agent.log"

api $H DELETE /api/v1/vms/hp1/nics/net0
check "the NIC made at create is on the root bus: removed at the next start (202 pending)" \
	test "$STATUS/$(jget "$BODY" .change.pending)/$(jget "$BODY" '.spec.nics[0].state')" = 202/true/pending_remove
check "... the guest keeps it meanwhile (answers through it)" guest_wait $H ping '^pong$'

# ---- removing the disk ------------------------------------------------------------
api $H DELETE /api/v1/vms/hp1/disks/nope
check "removing a disk that is not there: 404 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 404/disk
api $H DELETE /api/v1/vms/hp1/disks/d1
check "the disk is removed live (200)" test "$STATUS" = 200
check "... kept as an unused disk, its file there" \
	test "$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | .state')" = unused -a -f "$D1"
guest_wait $H disks "^vda:[0-9]*\$"
check "... gone from the guest" bash -c '! grep -q vdb <<<"$0"' "$(guest_req $H $IP disks)"
check "AgentLog: the guest released it (DEVICE_DELETED)" grep -q 'vm_device_deleted vm=hp1 device=disk-d1 waited=1' "$(dir_of $H)/agent.log"

api $H POST /api/v1/vms/hp1/migrate '{"uri":"tcp:127.0.0.1:1"}'
check "a VM with a pending change or an unused disk does not migrate live, and says why" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 409/hardware_pending

api $H POST /api/v1/vms/hp1/disks '{"name":"d1"}'
check "the unused disk is attached again by its name" test "$STATUS" = 201
guest_wait $H disks vdb
check "... with what the guest wrote" test "$(guest_req $H $IP 'blkread vdb')" = hot-plugged
# A guest that does not let go (paused: it cannot answer the unplug).
api $H POST /api/v1/vms/hp1/pause
t0=$SECONDS
api $H DELETE /api/v1/vms/hp1/disks/d1
check "a paused guest does not release the disk: 409 not_released after 30 s ($((SECONDS - t0)) s)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 409/not_released -a $((SECONDS - t0)) -ge 29
api $H GET /api/v1/vms/hp1
check "... the disk stays, recorded attached" test "$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | .state // "attached"')" = attached
api $H POST /api/v1/vms/hp1/resume
for _ in $(seq 1 100); do
	api $H GET /api/v1/vms/hp1
	[ "$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | .state // "attached"')" = unused ] && break
	sleep 0.2
done
check "resumed, the guest releases it late: kept as an unused disk (nothing lost)" \
	test "$(jget "$BODY" '.spec.disks[] | select(.name=="d1") | .state')" = unused -a -f "$D1"
api $H DELETE '/api/v1/vms/hp1/disks/d1?delete=true'
check "removed with delete, its file goes" test "$STATUS" = 200 -a ! -e "$D1"
check "... and it leaves the spec" test "$(jget "$BODY" '[.spec.disks[].name] | join(",")')" = root

# ---- stopped: the spec changes; pending changes at the next start -----------------
api $H POST /api/v1/vms/hp1/stop '{"timeout_s":30}'
check "the VM stops" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped
api $H POST /api/v1/vms/hp1/disks '{"name":"d2","size_mib":16}'
check "a disk added to a stopped VM (201)" test "$STATUS" = 201
api $H POST /api/v1/vms/hp1/nics '{"bridge":"br0"}'
check "a NIC added to a stopped VM (201)" test "$STATUS" = 201
api $H POST /api/v1/vms/hp1/start
check "the next start applies the pending removal of net0 (net1 is the NIC added while stopped)" \
	test "$STATUS/$(jget "$BODY" '[.spec.nics[].id] | map(tostring) | join(",")')" = 200/1
NEWMAC=$(jget "$BODY" '.spec.nics[0].mac')
# h2's console log began with the migration: this is its first readiness line.
wait_console $H hp1 "VDC-GUEST-READY hostname=hp1" 60 || not_ok "the guest is up again"
# The guest's address came from the kernel command line on eth0, which is now the new NIC.
check "the guest has the disk added while stopped" grep -q 'vdb:32768' <<<"$(guest_req $H $IP disks)"
check "... and the NIC, as its only link" test "$(guest_req $H $IP links | cut -d: -f1-7)" = "eth0:$NEWMAC"

# ---- bad input: each names its field, nothing made --------------------------------
before=$(find "$SHARED" "$(dir_of $H)/ds" -name '*.qcow2' | sort)
for bad in '{"name":"x","size_mib":0}=size_mib' '{"name":"x","size_mib":99999999999}=size_mib' \
	'{"name":"x"}=size_mib' '{"name":"../x","size_mib":8}=name' '{"name":"x","size_mib":8,"datastore":"nope"}=datastore' \
	'{"name":"x","size_mib":8,"path":"/etc/shadow"}=path' '{"name":"x","size_mib":8,"datastore":"../../etc"}=datastore'; do
	api $H POST /api/v1/vms/hp1/disks "${bad%=*}"
	check "disk ${bad%=*} is refused naming ${bad##*=}" test "${STATUS:0:1}/$(jget "$BODY" .error.field)" = "4/${bad##*=}"
done
for bad in '{"bridge":"nope0"}=bridge' '{"mode":"nat","bridge":"br0"}=mode' '{"bridge":"br0","mac":"ff:ff:ff:ff:ff:ff"}=mac'; do
	api $H POST /api/v1/vms/hp1/nics "${bad%=*}"
	check "NIC ${bad%=*} is refused naming ${bad##*=}" test "${STATUS:0:1}/$(jget "$BODY" .error.field)" = "4/${bad##*=}"
done
check "... and no disk file was made" test "$(find "$SHARED" "$(dir_of $H)/ds" -name '*.qcow2' | sort)" = "$before"

api $H DELETE '/api/v1/vms/hp1?force=true'
check "the VM is deleted" test "$STATUS" = 204 -o "$STATUS" = 200
check "... with every disk it had" test -z "$(find "$SHARED" "$(dir_of $H)/ds" -path '*hp1*' -name '*.qcow2')"

# =================== part 2: through vdcd, as tasks ==================================
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":16,"mem_overcommit":4}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
mgr_guest_template hpt "$ADMIN_TOKEN" '.cmdline="console=ttyS0 quiet panic=-1 vdc.hostname=hv vdc.ip=10.213.0.41/24" | .memory_mib=192'
host_join h3 c1 || not_ok "h3 joins"
hosts_connected 1
mapi POST /api/v1/networks '{"name":"n1","bridge":"br0"}'
mapi POST /api/v1/projects '{"name":"pq"}'
mapi POST /api/v1/vms '{"name":"hv","template":"hpt","project":"pq","networks":["n1"]}'
task_wait "$(jget "$BODY" .task.id)" 120
check "vdcd makes and starts a VM of project pq" test "$TASK_STATE" = succeeded
HV=$(mapi GET /api/v1/vms/hv && jget "$BODY" .id)
IP=10.213.0.41
wait_console h3 "$HV" "VDC-GUEST-READY hostname=hv" 60 || not_ok "its guest is up"
mapi GET /api/v1/projects/pq
U0=$(jget "$BODY" .usage.disk_mib)
mapi PUT /api/v1/projects/pq/quota "{\"disk_mib\":$((U0 + 100))}"
check "pq's disk quota is 100 MiB above its use ($U0 MiB)" test "$STATUS" = 200

VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
"$VDC" login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP" >/dev/null 2>&1 || not_ok "vdc logs in"
out=$("$VDC" vm disk-add hv d1 --size 64M 2>"$TMP/cli-err")
check "vdc vm disk-add hv d1 --size 64M: the task ends, saying so ($out)" test "$out" = "vm hv: added disk d1"
mapi GET /api/v1/vms/hv
check "the VM's record has the disk, attached, on its datastore, on a hot-plug port" \
	test "$(jget "$BODY" '.config.extra_disks[0] | "\(.name) \(.size_mib) \(.datastore) \(.state) \(.slot)"')" = "d1 64 local attached 1"
mapi GET /api/v1/projects/pq
check "the project's disk use grew by 64 MiB" test "$(jget "$BODY" .usage.disk_mib)" = $((U0 + 64))
guest_wait h3 disks 'vdb:131072'
check "the guest sees it ($SEEN)" grep -q 'vdb:131072' <<<"$SEEN"
mapi GET '/api/v1/events?limit=50'
check "an event records the change (vm.disk_add)" \
	test "$(jget "$BODY" '[.items[] | select(.action == "vm.disk_add" and .target_id == "'"$HV"'")] | length')" -ge 1
check "vdc vm show lists it" grep -qE '^ +d1 64 MiB on local$' <("$VDC" vm show hv)

files=$(find "$(dir_of h3)" -name '*.qcow2' | sort)
for bad in '{"name":"x","size_mib":0}=400/size_mib' '{"name":"x","size_mib":8,"datastore":"nope"}=400/datastore' \
	'{"name":"root","size_mib":8}=409/name' '{"name":"d1","size_mib":8}=409/name' '{"name":"x"}=400/size_mib' \
	'{"name":"x","size_mib":70000000}=400/size_mib' '{"name":"big","size_mib":50}=409/disk_mib' \
	'{"name":"x","size_mib":8,"path":"/etc/shadow"}=400/path'; do
	mapi POST "/api/v1/vms/$HV/disks" "${bad%=*}"
	check "disk ${bad%=*}: ${bad##*=} ($(jget "$BODY" .error.message | cut -c1-90))" test "$STATUS/$(jget "$BODY" .error.field)" = "${bad##*=}"
done
mapi GET /api/v1/vms/hv
check "... nothing half-made: the record has its one added disk" test "$(jget "$BODY" '.config.extra_disks | length')" = 1
check "... nor any file" test "$(find "$(dir_of h3)" -name '*.qcow2' | sort)" = "$files"
mapi GET /api/v1/projects/pq
check "... nor any quota taken" test "$(jget "$BODY" .usage.disk_mib)" = $((U0 + 64))
mapi POST "/api/v1/vms/$HV/nics" '{"network":"nope"}'
check "a NIC on an unknown network: 400 naming network" test "$STATUS/$(jget "$BODY" .error.field)" = 400/network
mapi DELETE "/api/v1/vms/$HV/disks/nope"
check "removing a disk that is not there: 404 naming disk" test "$STATUS/$(jget "$BODY" .error.field)" = 404/disk

out=$("$VDC" vm nic-add hv --network n1 2>"$TMP/cli-err")
check "vdc vm nic-add hv --network n1 ($out)" test "$out" = "vm hv: added NIC net1"
mapi GET /api/v1/vms/hv
MAC=$(jget "$BODY" '.config.extra_nics[0].mac')
check "the record has the NIC on n1, attached" \
	test "$(jget "$BODY" '.config.extra_nics[0] | "\(.name) \(.network) \(.state)"')" = "net1 n1 attached"
guest_wait h3 links "eth1:$MAC"
check "the guest sees it" grep -q "eth1:$MAC" <<<"$SEEN"
mapi DELETE "/api/v1/vms/$HV/nics/net1"
task_wait "$(jget "$BODY" .task.id)" 60
check "the NIC is removed (task)" test "$TASK_STATE/$(mapi GET /api/v1/vms/hv && jget "$BODY" '.config.extra_nics | length')" = succeeded/0
mapi DELETE "/api/v1/vms/$HV/nics/net0"
check "a NIC of the VM's networks is not removed here: 404 naming nic" test "$STATUS/$(jget "$BODY" .error.field)" = 404/nic

mapi DELETE "/api/v1/vms/$HV/disks/d1"
task_wait "$(jget "$BODY" .task.id)" 60
mapi GET /api/v1/vms/hv
check "removed without delete, the disk is unused in the VM's record (its file kept, still counted)" \
	test "$TASK_STATE/$(jget "$BODY" '.config.extra_disks[0].state')/$(mapi GET /api/v1/projects/pq && jget "$BODY" .usage.disk_mib)" = "succeeded/unused/$((U0 + 64))"
guest_wait h3 disks '^vda:[0-9]*$'
check "... and gone from the guest ($SEEN)" test "${SEEN%%:*}" = vda -a -z "$(grep -o vdb <<<"$SEEN")"
mapi POST "/api/v1/vms/$HV/disks" '{"name":"d1"}'
task_wait "$(jget "$BODY" .task.id)" 60
check "an unused disk is attached again by its name alone" \
	test "$TASK_STATE/$(mapi GET /api/v1/vms/hv && jget "$BODY" '.config.extra_disks[0].state')" = succeeded/attached
guest_wait h3 disks 'vdb:131072'
check "... and the guest has it again" grep -q 'vdb:131072' <<<"$SEEN"
D1=$(vm_field h3 "$HV" '.spec.disks[] | select(.name == "d1") | .path')
out=$("$VDC" vm disk-remove hv d1 --delete 2>"$TMP/cli-err")
check "vdc vm disk-remove hv d1 --delete ($out)" test "$out" = "vm hv: removed and deleted disk d1"
check "... its file is gone" test -n "$D1" -a ! -e "$D1"
mapi GET /api/v1/projects/pq
check "... and its 64 MiB are the project's again" test "$(jget "$BODY" .usage.disk_mib)" = "$U0"

mapi POST "/api/v1/vms/$HV/stop" '{"timeout_s":30}'
task_wait "$(jget "$BODY" .task.id)" 60
mapi POST "/api/v1/vms/$HV/disks" '{"name":"d2","size_mib":16}'
task_wait "$(jget "$BODY" .task.id)" 60
check "a disk added to the stopped VM (task)" test "$TASK_STATE" = succeeded
mapi POST "/api/v1/vms/$HV/start"
task_wait "$(jget "$BODY" .task.id)" 60
wait_console h3 "$HV" "VDC-GUEST-READY hostname=hv" 60 2 || not_ok "its guest is up again"
check "the guest has it after the start" grep -q 'vdb:32768' <<<"$(guest_req h3 $IP disks)"
mapi DELETE "/api/v1/vms/$HV?force=true"
task_wait "$(jget "$BODY" .task.id)" 60
check "the VM is deleted with its added disk" test -z "$(find "$(dir_of h3)" -path "*$HV*" -name '*.qcow2')"
mapi GET /api/v1/projects/pq
check "... and the project's disk use is 0 again" test "$(jget "$BODY" .usage.disk_mib)" = 0

finish
