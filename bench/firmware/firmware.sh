#!/usr/bin/env bash
# firmware.sh - bench: how long the disk-booting test guest
# (guest/build-disk-guest.sh) takes from "start" to its readiness line on the
# serial console, booting through UEFI (OVMF) and BIOS (SeaBIOS): through
# vdcd (POST /vms with start, the console read back through vdcd) against
# the same image under raw QEMU (the same machine, accelerator, memory and
# firmware files; the serial console to a file). A real vdcd and a host in a
# network namespace, as the integration tests (whose helpers it uses). Prints
# uefi_ready_ms, raw_uefi_ready_ms, bios_ready_ms, raw_bios_ready_ms
# (medians of --runs); progress on stderr. Needs root.
#   firmware.sh [--build DIR] [--runs N]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: firmware.sh [--build DIR] [--runs N]" >&2; exit 2 ;;
	esac
done
export VDC_AGENT=$build/src/agent/vdc-agent VDC_VDCD=$build/src/manager/vdcd
# shellcheck source=../../tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
READY='VDC-GUEST-READY hostname=disk-guest'
MEM=256
now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "nan") }'; }
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd

{
	"$root/guest/build-disk-guest.sh" "$CACHE" || exit 1
	SHARED=$TMP/shared
	mkdir -p "$SHARED" && chmod 755 "$SHARED"
	fabric_up
	vdcd_start || exit 1
	mapi POST /api/v1/clusters '{"name":"c1"}'
	host_join h1 c1 --datastore "shared=$SHARED" || exit 1
	hosts_connected 1 || exit 1
	# The accelerator the agent found (a /dev/kvm may be there and not
	# work): raw QEMU runs with the same.
	api h1 GET /api/v1/host
	jget "$BODY" .accel >"$TMP/accel"
	mapi POST /api/v1/images '{"name":"disk-guest","kind":"disk","format":"qcow2","import_from":"disk-guest/disk.qcow2"}'
	task_wait "$(jget "$BODY" .task.id)" 120
	[ "$TASK_STATE" = succeeded ] || { echo "firmware: the image import $TASK_STATE" >&2; exit 1; }
	mapi POST /api/v1/templates "{\"name\":\"dg\",\"image\":\"disk-guest\",\"vcpus\":1,\"memory_mib\":$MEM}"
} >&2
accel=$(cat "$TMP/accel")
[ -n "$accel" ] || { echo "firmware: the agent reports no accelerator" >&2; exit 1; }

# vdcd_ready FIRMWARE N: ms from POST /vms (started) to the readiness line.
vdcd_ready() {
	local t0 ms=
	t0=$(now_ms)
	mapi POST /api/v1/vms "{\"name\":\"b$2\",\"template\":\"dg\",\"datastore\":\"shared\",\"firmware\":\"$1\",\"start\":true}"
	[ "$STATUS" = 202 ] || { echo "firmware: create $STATUS $BODY" >&2; return 1; }
	for _ in $(seq 1 1200); do
		mapi GET "/api/v1/vms/b$2/console"
		if grep -q "$READY" <<<"$BODY"; then ms=$(($(now_ms) - t0)); break; fi
		sleep 0.05
	done
	mapi DELETE "/api/v1/vms/b$2?force=true"
	task_wait "$(jget "$BODY" .task.id)" 60
	[ -n "$ms" ] && echo "$ms"
}

# raw_ready FIRMWARE N: the same under a QEMU started by hand.
raw_ready() {
	local d=$TMP/raw$2 t0 ms= pid fw=()
	mkdir -p "$d"
	qemu-img create -q -f qcow2 -F qcow2 -b "$CACHE/disk-guest/disk.qcow2" "$d/disk.qcow2"
	if [ "$1" = uefi ]; then
		cp "$OVMF_VARS" "$d/vars.fd"
		fw=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,unit=1,file=$d/vars.fd")
	fi
	: >"$d/serial.log"
	t0=$(now_ms)
	qemu-system-x86_64 -machine "q35,accel=$accel" -m $MEM -smp 1 -nodefaults -no-user-config -display none \
		-serial "file:$d/serial.log" "${fw[@]}" \
		-drive "file=$d/disk.qcow2,format=qcow2,if=none,id=d0" -device virtio-blk-pci,drive=d0,bootindex=1 \
		</dev/null >"$d/qemu.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 2400); do
		if grep -aq "$READY" "$d/serial.log"; then ms=$(($(now_ms) - t0)); break; fi
		sleep 0.025
	done
	kill "$pid" 2>/dev/null
	wait_dead "$pid"
	rm -rf "$d"
	[ -n "$ms" ] && echo "$ms"
}

for fw in uefi bios; do
	: >"$TMP/$fw.vdcd" && : >"$TMP/$fw.raw"
	for i in $(seq 1 "$runs"); do
		vdcd_ready "$fw" "$fw$i" >>"$TMP/$fw.vdcd" 2>/dev/null
		raw_ready "$fw" "$fw$i" >>"$TMP/$fw.raw"
		echo "firmware: $fw run $i: vdcd $(tail -1 "$TMP/$fw.vdcd") ms, raw $(tail -1 "$TMP/$fw.raw") ms" >&2
	done
	echo "firmware: $fw: through vdcd and raw QEMU, $accel, $MEM MiB, medians of $runs" >&2
	echo "figure ${fw}_ready_ms $(median <"$TMP/$fw.vdcd") ms"
	echo "figure raw_${fw}_ready_ms $(median <"$TMP/$fw.raw") ms"
done
