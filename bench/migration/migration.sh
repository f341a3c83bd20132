#!/usr/bin/env bash
# migration.sh - bench: live migration of the same guest, dirtying memory at
# a set rate, by vdc and by libvirt in the same run, between two hosts of a
# pool on this machine (scripts/pool.sh: each host a network namespace),
# on the same accelerator (TCG here: the agents detect it; libvirt gets the
# matching domain type). Then storage migration: the guest's disk, holding
# 48 MiB it wrote, moved between two datastores of its host while it runs,
# by vdc (`POST /api/v1/vms/{id}/disks/root/move`) and by libvirt (`virsh
# blockcopy --shallow --pivot`), with the guest's longest gap in its ticks
# meanwhile. Then the evacuation of a host running 6 VMs.
#
#   vdc:     `POST /api/v1/vms/{id}/migrate` through vdcd, the user's path
#            (placement, the plan, the agents), the VM on the shared
#            datastore and the agents' NAT network;
#   libvirt: `virsh migrate --live --unsafe` between two libvirtd, one per
#            host namespace (each in a mount namespace of its own with its
#            own /run/libvirt, /var/lib/libvirt and /etc/libvirt, started
#            here), the same kernel, initrd and disk image, user-mode NIC.
#
# Downtime is what the guest's peers see: the guest sends a UDP datagram
# every 1 ms (guest/vdc-tick.c) to this machine (tick_receiver.py); the
# longest gap between two arrivals while the migration runs is its
# downtime. Total time is wall time from the request to its end (the task's
# end; virsh's exit). Figures (medians over --runs, moving back and forth):
#   vdc_downtime_ms vdc_total_ms vdc_predicted_total_ms vdc_qemu_total_ms
#   libvirt_downtime_ms libvirt_total_ms evacuate_6vms_s evacuate_longest_single_s
#   vdc_disk_move_s vdc_disk_move_gap_ms libvirt_blockcopy_s libvirt_blockcopy_gap_ms
#   vdc_local_disk_migrate_ms vdc_local_disk_migrate_downtime_ms (the disk on
#   the host's own datastore, copied over NBD with the migration) and
#   libvirt_local_disk_migrate_ms libvirt_local_disk_migrate_downtime_ms
#   (`virsh migrate --copy-storage-all`)
# Progress on stderr; everything it starts is stopped on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
cache=${VDC_CACHE:-/var/cache/vdc}
runs=3
mem=256
dirty_mib=64
dirty_rate=8
libvirt=1
evacuate=1
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--dirty-rate) dirty_rate=$2; shift 2 ;;
	--no-libvirt) libvirt=0; shift ;;
	--no-evacuate) evacuate=0; shift ;;
	*)
		echo "usage: migration.sh [--build DIR] [--runs N] [--dirty-rate MIB_S] [--no-libvirt] [--no-evacuate]" >&2
		exit 2
		;;
	esac
done
say() { echo "migration: $*" >&2; }
die() { say "$*"; exit 1; }
vdcd=$build/src/manager/vdcd
guest=$cache/test-guest
[ -x "$vdcd" ] && [ -x "$build/src/agent/vdc-agent" ] || die "build first (ninja -C $build)"
[ -f "$guest/vmlinuz" ] || die "no test guest: run guest/build-test-guest.sh $cache"
[ "$(id -u)" = 0 ] || die "run as root (namespaces)"

tmp=$(mktemp -d /tmp/vdc-migbench.XXXXXX)
chmod 0755 "$tmp"
# A pool of its own: names and a subnet no interface of this machine has.
net=""
for n in $(seq 1 250); do
	ip -br addr | grep -q " 10\.218\.$n\.[0-9]*/" || { net=10.218.$n; break; }
done
[ -n "$net" ] || die "no free 10.218.N.0/24 for the pool"
export VDC_POOL_NAME=vb$$ VDC_POOL_DIR=$tmp/pool VDC_POOL_NET=$net VDC_POOL_AGENT=$build/src/agent/vdc-agent
. "$root/scripts/pool.sh"
pids=()
lv_pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${lv_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	pool_down
	rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }
ms_since() { echo "($(now) - $1) * 1000" | bc | cut -d. -f1; }

# ---- the pool and vdcd -------------------------------------------------------
pool_fabric_up
pool_host_up h1
pool_host_up h2
MGR=https://$POOL_MGR_IP:7443
"$vdcd" --listen "$POOL_MGR_IP:7443" --data-dir "$tmp/vdcd" --image-import-dir "$cache" --workers 8 >"$tmp/vdcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do
	curl -s -o /dev/null --cacert "$tmp/vdcd/tls/ca.pem" "$MGR/healthz" 2>/dev/null && break
	sleep 0.05
done
TOKEN=$(cat "$tmp/vdcd/admin.token")
# mapi METHOD PATH [BODY]: vdcd's API; sets BODY (and STATUS).
mapi() {
	local out=$tmp/mapi.out
	STATUS=$(curl -s -o "$out" -w '%{http_code}' --cacert "$tmp/vdcd/tls/ca.pem" -X "$1" \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+--data "$3"} "$MGR$2")
	BODY=$(cat "$out")
}
task_wait() { # ID: until it ends; TASK_STATE, BODY
	for _ in $(seq 1 6000); do
		mapi GET "/api/v1/tasks/$1"
		TASK_STATE=$(jq -r .state <<<"$BODY")
		case $TASK_STATE in succeeded | failed | cancelled) return 0 ;; esac
		sleep 0.05
	done
	return 1
}
mapi GET /api/v1/ca
CA_FP=$(jq -r .fingerprint <<<"$BODY")
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":4}'
for h in h1 h2; do
	mapi POST /api/v1/hosts/join-tokens '{"cluster":"c1"}'
	mkdir -p "$(pool_dir "$h")/own"
	pool_agent_start "$h" --datastore "own=$(pool_dir "$h")/own" --manager-url "$MGR" --manager-ca-fingerprint "$CA_FP" \
		--join-token "$(jq -r .token <<<"$BODY")" || die "the agent of $h did not start"
done
for _ in $(seq 1 200); do
	mapi GET '/api/v1/hosts?state=connected'
	[ "$(jq '.items | length' <<<"$BODY")" = 2 ] && break
	sleep 0.1
done
mapi GET /api/v1/hosts/h1
accel=$(jq -r '.accel // "tcg"' <<<"$BODY")
echo "accel $accel"
for spec in "g-disk disk qcow2 test-guest/data-template.qcow2" "g-kernel kernel raw test-guest/vmlinuz" \
	"g-initrd initrd raw test-guest/initrd.img"; do
	set -- $spec
	mapi POST /api/v1/images "$(jq -nc --arg n "$1" --arg k "$2" --arg f "$3" --arg p "$4" '{name:$n, kind:$k, format:$f, import_from:$p}')"
	task_wait "$(jq -r .task.id <<<"$BODY")"
done
mapi POST /api/v1/templates "$(jq -nc --argjson m "$mem" '{name:"g", image:"g-disk", kernel:"g-kernel", initrd:"g-initrd", cmdline:"console=ttyS0 quiet panic=-1", vcpus:1, memory_mib:$m}')"

# guest_req HOST IP REQUEST: one request to the guest's vdc-listen (port 7777).
guest_req() {
	ip netns exec "$(pool_ns "$1")" timeout 10 bash -c 'exec 3<>"/dev/tcp/$0/7777" || exit 1; printf "%s\n" "$1" >&3; cat <&3' "$2" "$3" 2>/dev/null
}
# vm_up NAME: creates and starts a VM of template g on the shared datastore;
# sets VM_IP (from its readiness line) and VM_HOST.
vm_up() {
	mapi POST /api/v1/vms "{\"name\":\"$1\",\"template\":\"g\",\"datastore\":\"shared\",\"start\":true}"
	task_wait "$(jq -r .task.id <<<"$BODY")"
	[ "$TASK_STATE" = succeeded ] || die "VM $1 did not start: $(jq -r .error.message <<<"$BODY")"
	VM_IP=""
	for _ in $(seq 1 300); do
		mapi GET "/api/v1/vms/$1/console"
		VM_IP=$(grep -oE 'VDC-GUEST-READY .* ip=[0-9.]+' <<<"$BODY" | tail -1 | sed -E 's/.* ip=//' || true)
		[ -n "$VM_IP" ] && break
		sleep 0.2
	done
	[ -n "$VM_IP" ] || die "VM $1's guest never said it was ready"
	vm_host "$1"
}
vm_host() {
	mapi GET "/api/v1/vms/$1"
	local id
	id=$(jq -r .host_id <<<"$BODY")
	mapi GET "/api/v1/hosts/$id"
	VM_HOST=$(jq -r .name <<<"$BODY")
}

# The guests' peer: an address of its own on the pool's bridge (the agents'
# firewall keeps guests from reaching vdcd's, rightly), standing for a
# client of the guest outside the cluster.
PEER_IP=$POOL_NET.2
ip addr add "$PEER_IP/24" dev "$POOL_BR"
# ticks_start FILE PORT: the receiver of a guest's tick stream.
ticks_start() {
	python3 "$root/bench/migration/tick_receiver.py" "$PEER_IP" "$2" "$1" &
	pids+=($!)
	TICK_PID=$!
}
gap_of() { python3 "$root/bench/migration/gaps.py" "$1" "$2" "$3"; }

# ---- vdc ---------------------------------------------------------------------
say "vdc: a ${mem} MiB guest dirtying $dirty_mib MiB at $dirty_rate MiB/s, $runs migrations between h1 and h2"
vm_up mig
ticks_start "$tmp/vdc.ticks" 47001
r=$(guest_req "$VM_HOST" "$VM_IP" "tick $PEER_IP 47001 3600" || true)
grep -q '^ok ticking' <<<"$r" || die "the guest does not tick: $r"
r=$(guest_req "$VM_HOST" "$VM_IP" "dirty $dirty_mib $dirty_rate" || true)
grep -q '^ok dirtying' <<<"$r" || die "the guest does not dirty memory: $r"
sleep 2
[ -s "$tmp/vdc.ticks" ] || die "no tick reached $PEER_IP:47001 from the guest (its NAT network)"
: >"$tmp/vdc.down" >"$tmp/vdc.total" >"$tmp/vdc.pred" >"$tmp/vdc.qemu"
# vdc_migrate RUN: one migration of mig through vdcd, to its end; sets
# BODY (the task), total (ms, request to end) and gap lost got (the guest's
# ticks meanwhile).
vdc_migrate() {
	local t0
	t0=$(now)
	mapi POST /api/v1/vms/mig/migrate '{}'
	[ "$STATUS" = 202 ] || die "migrate: $STATUS $BODY"
	task_wait "$(jq -r .task.id <<<"$BODY")"
	total=$(ms_since "$t0")
	[ "$TASK_STATE" = succeeded ] || die "run $1: the migration $TASK_STATE: $(jq -r .error.message <<<"$BODY")"
	sleep 1
	read -r gap lost got < <(gap_of "$tmp/vdc.ticks" "$t0" "$(now)")
}
for run in $(seq 1 "$runs"); do
	vdc_migrate "$run"
	pred=$(jq -r .result.predicted_total_ms <<<"$BODY")
	qemu=$(jq -r .result.total_ms <<<"$BODY")
	say "vdc run $run: total ${total} ms (QEMU ${qemu} ms, predicted ${pred} ms), guest's longest gap ${gap} ms, $lost datagrams lost of $got"
	echo "$gap" >>"$tmp/vdc.down"
	echo "$total" >>"$tmp/vdc.total"
	echo "$pred" >>"$tmp/vdc.pred"
	echo "$qemu" >>"$tmp/vdc.qemu"
	sleep 1
done
echo "figure vdc_downtime_ms $(median <"$tmp/vdc.down") ms"
echo "figure vdc_total_ms $(median <"$tmp/vdc.total") ms"
echo "figure vdc_predicted_total_ms $(median <"$tmp/vdc.pred") ms"
echo "figure vdc_qemu_total_ms $(median <"$tmp/vdc.qemu") ms"
guest_req "$VM_HOST" "$VM_IP" "dirty stop" >/dev/null || true

# ---- storage migration by vdc -------------------------------------------------
vm_host mig
r=$(guest_req "$VM_HOST" "$VM_IP" "fill big 48" || true)
[ "$r" = ok ] || die "the guest could not fill its disk: $r"
say "vdc: the guest's disk (48 MiB written) moved between datastores shared and own of $VM_HOST, $runs times"
: >"$tmp/vdc.move" >"$tmp/vdc.movegap"
ds=own
for run in $(seq 1 "$runs"); do
	t0=$(now)
	mapi POST /api/v1/vms/mig/disks/root/move "{\"datastore\":\"$ds\"}"
	[ "$STATUS" = 202 ] || die "disk move: $STATUS $BODY"
	task_wait "$(jq -r .task.id <<<"$BODY")"
	took=$(ms_since "$t0")
	[ "$TASK_STATE" = succeeded ] || die "run $run: the disk move $TASK_STATE: $(jq -r .error.message <<<"$BODY")"
	sleep 1
	read -r gap lost got < <(gap_of "$tmp/vdc.ticks" "$t0" "$(now)")
	say "vdc disk move $run (to $ds): ${took} ms, guest's longest gap ${gap} ms"
	echo "$took" >>"$tmp/vdc.move"
	echo "$gap" >>"$tmp/vdc.movegap"
	[ "$ds" = own ] && ds=shared || ds=own
done
echo "figure vdc_disk_move_s $(echo "scale=2; $(median <"$tmp/vdc.move") / 1000" | bc) s"
echo "figure vdc_disk_move_gap_ms $(median <"$tmp/vdc.movegap") ms"

# ---- live migration with the disk on the host's own datastore ---------------------
# The receiving host does not share it: it is copied over NBD first.
mapi GET /api/v1/vms/mig
if [ "$(jq -r .config.datastore <<<"$BODY")" != own ]; then
	mapi POST /api/v1/vms/mig/disks/root/move '{"datastore":"own"}'
	task_wait "$(jq -r .task.id <<<"$BODY")"
fi
say "vdc: the guest's disk on its host's own datastore, $runs live migrations taking it along"
: >"$tmp/vdc.ltotal" >"$tmp/vdc.ldown"
for run in $(seq 1 "$runs"); do
	vdc_migrate "$run"
	[ "$(jq -r '.result.copied_disks | join(",")' <<<"$BODY")" = root ] || die "run $run: the disk was not copied: $BODY"
	copied=$(jq -r .result.copied_bytes <<<"$BODY")
	say "vdc local-disk run $run: total ${total} ms ($((copied >> 20)) MiB of disk), guest's longest gap ${gap} ms, $lost datagrams lost of $got"
	echo "$gap" >>"$tmp/vdc.ldown"
	echo "$total" >>"$tmp/vdc.ltotal"
	sleep 1
done
echo "figure vdc_local_disk_migrate_ms $(median <"$tmp/vdc.ltotal") ms"
echo "figure vdc_local_disk_migrate_downtime_ms $(median <"$tmp/vdc.ldown") ms"
vm_host mig
mapi POST /api/v1/vms/mig/destroy
task_wait "$(jq -r .task.id <<<"$BODY")" || true

# ---- libvirt -------------------------------------------------------------------
# lv_start HOST: a libvirtd of the host's own, in its namespace.
lv_conn() { echo "qemu+unix:///system?socket=$tmp/lv/$1/run/libvirt-sock"; }
lv_start() {
	local h=$1 d=$tmp/lv/$1
	mkdir -p "$d/run" "$d/lib" "$d/etc/qemu" "$d/cache" "$d/log"
	cp -r /etc/libvirt/. "$d/etc/" 2>/dev/null || true
	rm -f "$d/etc/qemu/networks/autostart/"* 2>/dev/null || true
	{
		echo "host_uuid = \"$(cat /proc/sys/kernel/random/uuid)\""
		echo 'unix_sock_dir = "/run/libvirt"'
		echo 'log_outputs = "3:stderr"'
	} >"$d/etc/libvirtd.conf"
	# As the agent's QEMU: root, no cgroup or security driver in the way,
	# stdio to a file (no virtlogd).
	{
		echo 'user = "root"'
		echo 'group = "root"'
		echo 'dynamic_ownership = 0'
		echo 'security_driver = "none"'
		echo 'cgroup_controllers = [ ]'
		echo 'stdio_handler = "file"'
		echo 'namespaces = [ ]'
		echo "migration_address = \"$(pool_ip "$h")\""
	} >"$d/etc/qemu.conf"
	ip netns exec "$(pool_ns "$h")" unshare -m --propagation private bash -c '
		mount --bind "$1/run" /run/libvirt && mount --bind "$1/lib" /var/lib/libvirt &&
		mount --bind "$1/etc" /etc/libvirt && mount --bind "$1/cache" /var/cache/libvirt &&
		mount --bind "$1/log" /var/log/libvirt && exec libvirtd -f /etc/libvirt/libvirtd.conf -p "$1/libvirtd.pid"' _ "$d" \
		>"$d/libvirtd.out" 2>&1 &
	lv_pids+=($!)
	for _ in $(seq 1 100); do
		virsh -q -c "$(lv_conn "$h")" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tail -5 "$d/libvirtd.out" >&2
	return 1
}
if [ "$libvirt" = 1 ] && command -v libvirtd >/dev/null && command -v virsh >/dev/null; then
	mkdir -p /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
	if lv_start h1 && lv_start h2; then
		dtype=qemu
		[ "$accel" = kvm ] && dtype=kvm
		disk=$POOL_SHARED/lv-disk.qcow2
		qemu-img create -q -f qcow2 -F qcow2 -b "$guest/data-template.qcow2" "$disk"
		cat >"$tmp/lv.xml" <<-XML
			<domain type='$dtype'>
			  <name>lvmig</name>
			  <memory unit='MiB'>$mem</memory>
			  <vcpu>1</vcpu>
			  <os><type arch='x86_64' machine='q35'>hvm</type>
			    <kernel>$guest/vmlinuz</kernel><initrd>$guest/initrd.img</initrd>
			    <cmdline>console=ttyS0 quiet panic=-1</cmdline></os>
			  <devices>
			    <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>
			      <source file='$disk'/><target dev='vda' bus='virtio'/></disk>
			    <interface type='user'><model type='virtio'/></interface>
			    <serial type='file'><source path='$tmp/lv/console.log'/></serial>
			    <memballoon model='none'/>
			  </devices>
			</domain>
		XML
		virsh -q -c "$(lv_conn h1)" create "$tmp/lv.xml" >/dev/null || die "libvirt: virsh create failed"
		for _ in $(seq 1 300); do grep -q VDC-GUEST-READY "$tmp/lv/console.log" 2>/dev/null && break; sleep 0.2; done
		# User-mode networking: the guest is 10.0.2.15 behind QEMU's own
		# NAT; its requests come in through a forwarded port, so the handler
		# is asked through virsh's QEMU monitor: hostfwd_add.
		virsh -q -c "$(lv_conn h1)" qemu-monitor-command lvmig --hmp 'hostfwd_add tcp:127.0.0.1:17777-:7777' >/dev/null
		lv_req() { ip netns exec "$(pool_ns "$1")" timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/17777 || exit 1; printf "%s\n" "$0" >&3; cat <&3' "$2" 2>/dev/null; }
		ticks_start "$tmp/lv.ticks" 47002
		r=$(lv_req h1 "tick $PEER_IP 47002 3600" || true)
		grep -q '^ok ticking' <<<"$r" || die "libvirt's guest does not tick: $r"
		lv_req h1 "dirty $dirty_mib $dirty_rate" | grep -q '^ok dirtying' || die "libvirt's guest does not dirty memory"
		sleep 2
		: >"$tmp/lv.down" >"$tmp/lv.total"
		from=h1 to=h2
		for run in $(seq 1 "$runs"); do
			t0=$(now)
			virsh -q -c "$(lv_conn $from)" migrate --live --unsafe lvmig "$(lv_conn $to)" \
				"tcp://$(pool_ip $to)" >"$tmp/lv.migrate" 2>&1 ||
				die "libvirt: virsh migrate failed: $(cat "$tmp/lv.migrate")"
			total=$(ms_since "$t0")
			sleep 1
			read -r gap lost got < <(gap_of "$tmp/lv.ticks" "$t0" "$(now)")
			say "libvirt run $run: total ${total} ms, guest's longest gap ${gap} ms, $lost datagrams lost of $got"
			echo "$gap" >>"$tmp/lv.down"
			echo "$total" >>"$tmp/lv.total"
			t=$from from=$to to=$t
			sleep 1
		done
		echo "figure libvirt_downtime_ms $(median <"$tmp/lv.down") ms"
		echo "figure libvirt_total_ms $(median <"$tmp/lv.total") ms"
		# Storage migration: blockcopy of the same disk to a file of the
		# host's own folder and back (--shallow: the template stays under
		# it, as vdc's copy), pivoted when in step.
		# The port forward is the QEMU's own: set again where it runs now.
		virsh -q -c "$(lv_conn $from)" qemu-monitor-command lvmig --hmp 'hostfwd_add tcp:127.0.0.1:17777-:7777' >/dev/null
		lv_req "$from" "dirty stop" >/dev/null || true
		r=$(lv_req "$from" "fill big 48" || true)
		[ "$r" = ok ] || die "libvirt's guest could not fill its disk: $r"
		: >"$tmp/lv.move" >"$tmp/lv.movegap"
		src=$disk
		for run in $(seq 1 "$runs"); do
			dst=$(pool_dir "$from")/own/lv-disk-$run.qcow2
			t0=$(now)
			virsh -q -c "$(lv_conn $from)" blockcopy lvmig vda "$dst" --shallow --wait --pivot --transient-job \
				>"$tmp/lv.copy" 2>&1 || die "libvirt: virsh blockcopy failed: $(cat "$tmp/lv.copy")"
			took=$(ms_since "$t0")
			sleep 1
			read -r gap lost got < <(gap_of "$tmp/lv.ticks" "$t0" "$(now)")
			say "libvirt blockcopy $run: ${took} ms, guest's longest gap ${gap} ms"
			echo "$took" >>"$tmp/lv.move"
			echo "$gap" >>"$tmp/lv.movegap"
			[ "$src" = "$disk" ] || rm -f "$src"
			src=$dst
		done
		echo "figure libvirt_blockcopy_s $(echo "scale=2; $(median <"$tmp/lv.move") / 1000" | bc) s"
		echo "figure libvirt_blockcopy_gap_ms $(median <"$tmp/lv.movegap") ms"
		# Live migration taking the disk along: --copy-storage-all (NBD, as
		# vdc), the disk now in the host's own folder; the receiver's file
		# (a blank image of the same size, as vdc's receiver makes) is named
		# in the destination XML: both hosts' folders are on this machine's
		# one file system, so the same path would be the source itself.
		: >"$tmp/lv.ltotal" >"$tmp/lv.ldown"
		size=$(qemu-img info -U --output=json "$src" | jq -r '."virtual-size"')
		for run in $(seq 1 "$runs"); do
			dst=$(pool_dir "$to")/own/lv-mig-$run.qcow2
			qemu-img create -q -f qcow2 "$dst" "$size"
			virsh -q -c "$(lv_conn $from)" dumpxml --migratable lvmig | sed "s|$src|$dst|" >"$tmp/lv.dst.xml"
			t0=$(now)
			virsh -q -c "$(lv_conn $from)" migrate --live --unsafe --copy-storage-all --xml "$tmp/lv.dst.xml" lvmig \
				"$(lv_conn $to)" "tcp://$(pool_ip $to)" >"$tmp/lv.migrate" 2>&1 ||
				die "libvirt: virsh migrate --copy-storage-all failed: $(cat "$tmp/lv.migrate")"
			total=$(ms_since "$t0")
			sleep 1
			read -r gap lost got < <(gap_of "$tmp/lv.ticks" "$t0" "$(now)")
			say "libvirt local-disk run $run: total ${total} ms, guest's longest gap ${gap} ms, $lost datagrams lost of $got"
			echo "$gap" >>"$tmp/lv.ldown"
			echo "$total" >>"$tmp/lv.ltotal"
			rm -f "$src"
			src=$dst
			t=$from from=$to to=$t
			virsh -q -c "$(lv_conn $from)" qemu-monitor-command lvmig --hmp 'hostfwd_add tcp:127.0.0.1:17777-:7777' >/dev/null
			sleep 1
		done
		echo "figure libvirt_local_disk_migrate_ms $(median <"$tmp/lv.ltotal") ms"
		echo "figure libvirt_local_disk_migrate_downtime_ms $(median <"$tmp/lv.ldown") ms"
		virsh -q -c "$(lv_conn $from)" destroy lvmig >/dev/null 2>&1 || true
	else
		say "libvirt: its daemons did not start (see above); no libvirt figures"
	fi
else
	say "libvirt: skipped (--no-libvirt, or libvirtd/virsh not installed)"
fi

# ---- the evacuation of a host running 6 VMs ---------------------------------------
if [ "$evacuate" = 1 ]; then
	say "evacuation: 6 VMs on h1, the cluster's limit 6 migrations per host"
	mapi PATCH /api/v1/clusters/c1 '{"migration":{"max_per_host":6}}'
	mapi POST /api/v1/hosts/h2/maintenance '{"enabled":true}'
	for i in 1 2 3 4 5 6; do vm_up "ev$i"; done
	mapi POST /api/v1/hosts/h2/maintenance '{"enabled":false}'
	# The longest single migration of one of them, there and back.
	longest=0
	for i in 1 2 3 4 5 6; do
		t0=$(now)
		mapi POST "/api/v1/vms/ev$i/migrate" '{}'
		task_wait "$(jq -r .task.id <<<"$BODY")"
		one=$(ms_since "$t0")
		mapi POST "/api/v1/vms/ev$i/migrate" '{}'
		task_wait "$(jq -r .task.id <<<"$BODY")"
		[ "$one" -gt "$longest" ] && longest=$one
	done
	t0=$(now)
	mapi POST /api/v1/hosts/h1/maintenance '{"enabled":true}'
	[ "$STATUS" = 202 ] || die "maintenance enter: $STATUS $BODY"
	task_wait "$(jq -r .task.id <<<"$BODY")"
	ev=$(ms_since "$t0")
	[ "$TASK_STATE" = succeeded ] || die "the evacuation $TASK_STATE: $(jq -r .error.message <<<"$BODY")"
	say "evacuation: 6 VMs in ${ev} ms; a single migration ${longest} ms"
	echo "figure evacuate_6vms_s $(echo "scale=2; $ev / 1000" | bc) s"
	echo "figure evacuate_longest_single_s $(echo "scale=2; $longest / 1000" | bc) s"
fi
