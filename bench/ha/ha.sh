#!/usr/bin/env bash
# ha.sh - bench: how fast HA (issue 14) brings back the protected VMs of a
# crashed host, against the same guests booted cold, in the same run, on
# the same accelerator (TCG here: the agents detect it); and how fast a
# host cut from both its network and its datastore lease fences itself.
#
# A pool of three hosts on this machine (scripts/pool.sh: each a network
# namespace with its agent, on a bridge; a shared datastore directory), one
# vdcd, one cluster with HA on and its DEFAULT times (net_timeout_ms 3000,
# lease_ms 4000, margin_ms 500); admission control off (policy "none": it
# only gates power-ons, and with one host joined at the start it would
# keep everything back). 10 VMs of the test guest (96 MiB, 1 vCPU, on the
# shared datastore, the agents' NAT network, "ha":{"priority":"high"})
# made while h1 alone has joined, so all run there; then h2 and h3 join;
# once h1 confirms it protects all 10 (GET /api/v1/hosts/h1 .ha_protected):
#
#   crash:      every process of h1's namespace killed (kill -9: agent,
#               QEMUs, dnsmasq), as a power cut would. Times from the kill:
#               detect_s (vdcd's verdict "failed": its log's decision line,
#               else GET /hosts/h1 .ha.state), crash_to_all_running_s (all
#               10 running elsewhere: vdcd says so and their QEMU runs in
#               that host's namespace), crash_to_all_ready_s (all 10 guests
#               answer a request on their TCP port: bench/ha/ha_watch.py).
#   cold boot:  the peer, right after on the same hosts: the same 10 VMs
#               powered off, then started at once through vdcd (10 POST
#               /vms/{id}/start in parallel); cold_boot_10_ready_s from the
#               first request until all 10 answer, watched the same way.
#               ready_gap_s = crash_to_all_ready_s - cold_boot_10_ready_s.
#   isolation:  the host running most of them cut from both: its lease
#               file made immutable (chattr +i), its management link down;
#               isolation_to_fenced_s to its agent's first "ha_fenced" log
#               line (the log's own timestamp), isolation_to_all_ready_s
#               until its VMs answer on the last host.
#
# double_runs: copies of one VM seen running at once, by
# tests/integration/copies_monitor.py watching all 10 UUIDs over the whole
# run (the guests dirty 1 MiB/s before each fault, so that a copy left
# running is seen running); must be 0. Each run builds its own pool and
# vdcd; figures are medians over --runs (double_runs: their sum).
# restart_to_all_ready_s (all ready after vdcd's verdict) and
# restart_ready_gap_s (it less the cold boot) are what HA's restart adds
# past detection. --vms N makes N VMs (cold_boot_N_ready_s); --keep keeps
# the logs (vdcd's, the agents', the watches, the monitor's) in /tmp.
#
#   ha.sh [--build DIR] [--runs N] [--vms N] [--keep]
# Progress on stderr, figures on stdout; everything it starts is stopped on
# exit. Needs root (namespaces, chattr) and the test guest.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
cache=${VDC_CACHE:-/var/cache/vdc}
runs=1
nvm=10
mem=96
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--vms) nvm=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*)
		echo "usage: ha.sh [--build DIR] [--runs N] [--vms N] [--keep]" >&2
		exit 2
		;;
	esac
done
say() { echo "ha: $*" >&2; }
die() { say "$*"; exit 1; }
vdcd=$build/src/manager/vdcd
guest=$cache/test-guest
[ -x "$vdcd" ] && [ -x "$build/src/agent/vdc-agent" ] || die "build first (ninja -C $build)"
[ -f "$guest/vmlinuz" ] || die "no test guest: run guest/build-test-guest.sh $cache"
[ "$(id -u)" = 0 ] || die "run as root (namespaces, chattr)"
command -v chattr >/dev/null || die "chattr is needed (e2fsprogs)"

tmp=$(mktemp -d /tmp/vdc-habench.XXXXXX)
chmod 0755 "$tmp"
# A pool of its own: names and a subnet no interface of this machine has.
net=""
for n in $(seq 1 250); do
	ip -br addr | grep -q " 10\.219\.$n\.[0-9]*/" || { net=10.219.$n; break; }
done
[ -n "$net" ] || die "no free 10.219.N.0/24 for the pool"
export VDC_POOL_NAME=vh$(($$ % 1000000)) VDC_POOL_DIR=$tmp/pool VDC_POOL_NET=$net VDC_POOL_AGENT=$build/src/agent/vdc-agent
. "$root/scripts/pool.sh"
pids=()        # vdcd, the monitor, watchers: this script's own
locked=""      # a lease file made immutable
cut=""         # a host whose management link is down
vdcd_pid=""
cleanup() {
	set +e
	[ -n "$locked" ] && chattr -i "$locked" 2>/dev/null
	[ -n "$cut" ] && ip -n "$(pool_ns "$cut")" link set mgmt0 up 2>/dev/null
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	pool_down
	if [ "$keep" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a - b }'; }
# ts_of LOGLINE: the epoch seconds of a vdc log line's "ts=...Z".
ts_of() { date -d "$(sed -E 's/^ts=([^ ]*)Z .*/\1Z/' <<<"$1")" +%s.%N; }

MGR=https://$POOL_MGR_IP:7443
# mapi METHOD PATH [BODY]: vdcd's API; sets BODY and STATUS.
mapi() {
	local out=$tmp/mapi.out
	STATUS=$(curl -s -o "$out" -w '%{http_code}' --max-time 60 --cacert "$tmp/vdcd/tls/ca.pem" -X "$1" \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+--data "$3"} "$MGR$2")
	BODY=$(cat "$out")
}
task_wait() { # ID [TIMEOUT_S]: until it ends; TASK_STATE, BODY
	local end=$((SECONDS + ${2:-120}))
	while [ $SECONDS -lt $end ]; do
		mapi GET "/api/v1/tasks/$1"
		TASK_STATE=$(jq -r .state <<<"$BODY")
		case $TASK_STATE in succeeded | failed | cancelled) return 0 ;; esac
		sleep 0.1
	done
	return 1
}
# guest_req HOST IP REQUEST: one request to the guest's vdc-listen (port 7777).
guest_req() {
	ip netns exec "$(pool_ns "$1")" timeout 10 bash -c 'exec 3<>"/dev/tcp/$0/7777" || exit 1; printf "%s\n" "$1" >&3; cat <&3' "$2" "$3" 2>/dev/null
}
declare -A HID HNAME VMID UUID
host_of() { mapi GET "/api/v1/vms/$1" && echo "${HNAME[$(jq -r .host_id <<<"$BODY")]:-?}"; }
# guest_ip VM: its address from its console's last readiness line (60 s).
guest_ip() {
	local ip=""
	for _ in $(seq 1 300); do
		mapi GET "/api/v1/vms/$1/console"
		ip=$(grep -oE 'VDC-GUEST-READY .* ip=[0-9.]+' <<<"$BODY" | tail -1 | sed -E 's/.* ip=//' || true)
		[ -n "$ip" ] && break
		sleep 0.2
	done
	[ -n "$ip" ] || die "VM $1's guest never said it was ready"
	echo "$ip"
}
# dirty VM...: each guest dirties 1 MiB of its memory at 1 MiB/s (100
# small batches a second): its vCPU runs every 10 ms, so the monitor sees
# a copy that runs.
dirty() {
	local vm h ip r
	for vm in "$@"; do
		h=$(host_of "$vm")
		ip=$(guest_ip "$vm")
		r=$(guest_req "$h" "$ip" "dirty 1 1" || true)
		grep -q '^ok dirtying' <<<"$r" || die "the guest of $vm on $h does not dirty memory: $r"
	done
}
# protected_on HOST VM...: until HOST confirmed it protects every VM (30 s).
protected_on() {
	local h=$1 names
	shift
	names=$(for vm in "$@"; do echo "${VMID[$vm]}"; done | jq -R . | jq -sc .)
	for _ in $(seq 1 300); do
		mapi GET "/api/v1/hosts/$h"
		[ "$(jq --argjson w "$names" '(.ha_protected // []) as $p | all($w[]; . as $n | $p | index($n) != null)' <<<"$BODY")" = true ] &&
			return 0
		sleep 0.1
	done
	return 1
}
# watch OUT [ha_watch flags...] -- VM...: ha_watch.py in the background
# (WATCH_PID), once it has read the consoles' offsets.
watch_start() {
	local out=$1
	shift
	rm -f "$tmp/armed"
	python3 "$root/bench/ha/ha_watch.py" --url "$MGR" --cacert "$tmp/vdcd/tls/ca.pem" --token-file "$tmp/vdcd/admin.token" \
		--hosts "$tmp/hosts.json" --armed "$tmp/armed" "$@" >"$out" &
	WATCH_PID=$!
	pids+=("$WATCH_PID")
	for _ in $(seq 1 300); do
		[ -f "$tmp/armed" ] && return 0
		kill -0 "$WATCH_PID" 2>/dev/null || die "ha_watch.py exited at start"
		sleep 0.05
	done
	die "ha_watch.py did not start"
}
watch_wait() { wait "$WATCH_PID" || { tail -5 "$1" >&2; die "$2: not all guests got ready in time (see above)"; }; }
# last_of OUT KIND: the latest time of KIND lines (running, ready) in a watch.
last_of() { awk -v k="$2" '$1 == k && $3 > m { m = $3 } END { printf "%.3f\n", m }' "$1"; }
first_of() { awk -v k="$2" '$1 == k && (m == "" || $3 < m) { m = $3 } END { printf "%.3f\n", m }' "$1"; }
spread_of() { awk '$1 == "ready" { n[$4]++ } END { for (h in n) { printf "%s%s: %d", s, h, n[h]; s = ", " } }' "$1"; }

# What else loads the machine (the figures are wall times on 2 cores).
load_note() {
	local all mine=0 vm
	all=$(pgrep -c qemu-system || true)
	for vm in "${VMS[@]}"; do
		if [ -n "${UUID[$vm]:-}" ] && pgrep -f -- "-uuid ${UUID[$vm]}" >/dev/null; then mine=$((mine + 1)); fi
	done
	say "$1: load average $(cut -d' ' -f1-3 /proc/loadavg); $((all - mine)) QEMU processes not this bench's"
}

mapfile -t VMS < <(for i in $(seq 1 "$nvm"); do printf "ha%02d\n" "$i"; done)

one_run() {
	local run=$1 vm h i t0 t1 line
	mkdir -p "$tmp/vdcd"
	pool_fabric_up
	for h in h1 h2 h3; do pool_host_up "$h"; done
	"$vdcd" --listen "$POOL_MGR_IP:7443" --data-dir "$tmp/vdcd" --image-import-dir "$cache" >"$tmp/vdcd.log" 2>&1 &
	vdcd_pid=$!
	pids+=("$vdcd_pid")
	for _ in $(seq 1 200); do
		curl -s -o /dev/null --cacert "$tmp/vdcd/tls/ca.pem" "$MGR/healthz" 2>/dev/null && break
		sleep 0.05
	done
	TOKEN=$(cat "$tmp/vdcd/admin.token")
	mapi GET /api/v1/ca
	CA_FP=$(jq -r .fingerprint <<<"$BODY")
	mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":8,"ha":{"enabled":true,"admission":{"policy":"none"}}}'
	[ "$STATUS" = 201 ] || die "cluster: $STATUS $BODY"
	say "run $run: cluster c1, HA on, its times the defaults (none given: $(jq -c .ha <<<"$BODY"))"
	for spec in "g-disk disk qcow2 test-guest/data-template.qcow2" "g-kernel kernel raw test-guest/vmlinuz" \
		"g-initrd initrd raw test-guest/initrd.img"; do
		set -- $spec
		mapi POST /api/v1/images "$(jq -nc --arg n "$1" --arg k "$2" --arg f "$3" --arg p "$4" '{name:$n, kind:$k, format:$f, import_from:$p}')"
		task_wait "$(jq -r .task.id <<<"$BODY")"
	done
	mapi POST /api/v1/templates "$(jq -nc --argjson m "$mem" '{name:"g", image:"g-disk", kernel:"g-kernel", initrd:"g-initrd", cmdline:"console=ttyS0 quiet panic=-1", vcpus:1, memory_mib:$m}')"
	[ "$STATUS" = 201 ] || die "template: $STATUS $BODY"
	join() {
		mapi POST /api/v1/hosts/join-tokens '{"cluster":"c1"}'
		pool_agent_start "$1" --manager-url "$MGR" --manager-ca-fingerprint "$CA_FP" \
			--join-token "$(jq -r .token <<<"$BODY")" || die "the agent of $1 did not start"
		# Not a job of this shell: its crash (kill -9) is not reported as one.
		disown "$(cat "$(pool_dir "$1")/agent.pid")" 2>/dev/null || true
	}
	connected() {
		for _ in $(seq 1 300); do
			mapi GET '/api/v1/hosts?state=connected'
			[ "$(jq '.items | length' <<<"$BODY")" = "$1" ] && return 0
			sleep 0.1
		done
		die "not $1 hosts connected: $(jq -c '[.items[].name]' <<<"$BODY")"
	}

	# ---- 10 protected VMs on h1, then h2 and h3 join -----------------------
	join h1
	connected 1
	say "run $run: $nvm VMs of $mem MiB made and started on h1"
	for vm in "${VMS[@]}"; do
		mapi POST /api/v1/vms "{\"name\":\"$vm\",\"template\":\"g\",\"datastore\":\"shared\",\"ha\":{\"priority\":\"high\"},\"start\":true}"
		[ "$STATUS" = 202 ] || die "VM $vm: $STATUS $BODY"
		task_wait "$(jq -r .task.id <<<"$BODY")"
		[ "$TASK_STATE" = succeeded ] || die "VM $vm did not start: $(jq -r .error.message <<<"$BODY")"
		mapi GET "/api/v1/vms/$vm"
		VMID[$vm]=$(jq -r '.config.agent_name // .name' <<<"$BODY")
		UUID[$vm]=$(jq -r .id <<<"$BODY")
	done
	join h2
	join h3
	connected 3
	echo '{}' >"$tmp/hosts.json"
	for h in h1 h2 h3; do
		mapi GET "/api/v1/hosts/$h"
		HID[$h]=$(jq -r .id <<<"$BODY")
		HNAME[${HID[$h]}]=$h
		jq --arg id "${HID[$h]}" --arg n "$h" --arg ns "$(pool_ns "$h")" '.[$id] = {name: $n, ns: $ns}' \
			"$tmp/hosts.json" >"$tmp/hosts.new" && mv "$tmp/hosts.new" "$tmp/hosts.json"
	done
	mapi GET /api/v1/hosts/h1
	accel=$(jq -r '.accel // "tcg"' <<<"$BODY")
	for vm in "${VMS[@]}"; do
		[ "$(host_of "$vm")" = h1 ] || die "VM $vm is not on h1"
	done
	protected_on h1 "${VMS[@]}" || die "h1 does not confirm it protects the $nvm VMs: $(jq -c .ha_protected <<<"$BODY")"
	# Every guest up, and dirtying (the monitor's sight of a running copy).
	dirty "${VMS[@]}"
	# The other hosts see h1's lease renewed (HA restarts only what sits on a
	# datastore a host that answers shares): a few renewals.
	sleep 3
	mapi GET /api/v1/clusters/c1/ha
	say "run $run: accel $accel; hosts' HA states $(jq -c '[.hosts[] | {(.name): .ha.state}] | add' <<<"$BODY")"
	uuids=$(for vm in "${VMS[@]}"; do echo "${UUID[$vm]}"; done | paste -sd,)
	python3 "$root/tests/integration/copies_monitor.py" "$uuids" "$tmp/monitor.log" &
	mon=$!
	pids+=("$mon")
	sleep 2

	# ---- the crash of h1 --------------------------------------------------
	ids=$(for vm in "${VMS[@]}"; do echo "${UUID[$vm]}"; done)
	load_note "run $run, before the crash"
	watch_start "$tmp/crash.watch" --not-on "${HID[h1]}" --failed h1 -- $ids
	say "run $run: h1 crashes (every process of $(pool_ns h1) killed)"
	t0=$(now)
	ip netns pids "$(pool_ns h1)" | xargs -r kill -9
	watch_wait "$tmp/crash.watch" "crash"
	line=$(grep -E 'event=decision controller=ha subject=h1 verdict=failed' "$tmp/vdcd.log" | head -1 || true)
	if [ -n "$line" ]; then t1=$(ts_of "$line"); else t1=$(awk '$1 == "failed" { print $2 }' "$tmp/crash.watch"); fi
	detect=$(sub "$t1" "$t0")
	running=$(sub "$(last_of "$tmp/crash.watch" running)" "$t0")
	ready=$(sub "$(last_of "$tmp/crash.watch" ready)" "$t0")
	restart=$(sub "$(last_of "$tmp/crash.watch" ready)" "$t1")
	mapi GET '/api/v1/events?limit=500'
	nfail=$(jq --arg id "${HID[h1]}" '[.items[] | select(.action == "host.ha_failed" and .target_id == $id)] | length' <<<"$BODY")
	nrest=$(jq '[.items[] | select(.action == "vm.ha_restart" and .outcome == "accepted")] | length' <<<"$BODY")
	why=$(jq -r --arg id "${HID[h1]}" '[.items[] | select(.action == "host.ha_failed" and .target_id == $id)] | first | .detail // ""' <<<"$BODY")
	[ "$nfail" -ge 1 ] || die "no host.ha_failed event for h1"
	say "run $run: h1 failed after ${detect} s ($why); $nrest restarts queued; all running after ${running} s," \
		"all ready after ${ready} s (first ready $(sub "$(first_of "$tmp/crash.watch" ready)" "$t0") s; on $(spread_of "$tmp/crash.watch"))"
	for vm in "${VMS[@]}"; do
		n=$(pgrep -cf "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid ${UUID[$vm]}( |\$)" || true)
		[ "$n" = 1 ] || die "VM $vm has $n QEMU processes after the restart"
	done
	echo "$detect" >>"$tmp/f.detect"
	echo "$running" >>"$tmp/f.running"
	echo "$ready" >>"$tmp/f.ready"
	echo "$restart" >>"$tmp/f.restart"

	# ---- the peer: the same 10 guests booted cold, at once -----------------
	say "run $run: the $nvm VMs powered off, then started at once"
	for vm in "${VMS[@]}"; do
		mapi POST "/api/v1/vms/$vm/destroy"
		[ "$STATUS" = 202 ] || die "power off $vm: $STATUS $BODY"
		echo "$(jq -r .task.id <<<"$BODY")" >"$tmp/off.$vm"
	done
	for vm in "${VMS[@]}"; do
		task_wait "$(cat "$tmp/off.$vm")"
		[ "$TASK_STATE" = succeeded ] || die "power off $vm: $TASK_STATE"
	done
	sleep 2 # the machine quiet again
	load_note "run $run, before the cold boot"
	watch_start "$tmp/cold.watch" -- $ids
	local starts=()
	t0=$(now)
	for vm in "${VMS[@]}"; do
		curl -s -o "$tmp/start.$vm" -w '%{http_code}\n' --max-time 60 --cacert "$tmp/vdcd/tls/ca.pem" -X POST \
			-H "Authorization: Bearer $TOKEN" "$MGR/api/v1/vms/$vm/start" >"$tmp/start.$vm.status" &
		starts+=($!)
	done
	wait "${starts[@]}" || true
	for vm in "${VMS[@]}"; do
		[ "$(cat "$tmp/start.$vm.status")" = 202 ] || die "start $vm: $(cat "$tmp/start.$vm.status") $(cat "$tmp/start.$vm")"
	done
	watch_wait "$tmp/cold.watch" "cold boot"
	cold=$(sub "$(last_of "$tmp/cold.watch" ready)" "$t0")
	say "run $run: cold boot of $nvm: all running after $(sub "$(last_of "$tmp/cold.watch" running)" "$t0") s," \
		"all ready after ${cold} s (first ready $(sub "$(first_of "$tmp/cold.watch" ready)" "$t0") s; on $(spread_of "$tmp/cold.watch"))"
	echo "$cold" >>"$tmp/f.cold"
	sub "$ready" "$cold" >>"$tmp/f.gap"
	sub "$restart" "$cold" >>"$tmp/f.rgap"

	# ---- isolation: network and lease cut -----------------------------------
	local iso=h2 n2=0 n3=0 on=()
	for vm in "${VMS[@]}"; do
		case $(host_of "$vm") in h2) n2=$((n2 + 1)) ;; h3) n3=$((n3 + 1)) ;; esac
	done
	if [ "$n3" -gt "$n2" ]; then iso=h3; fi
	for vm in "${VMS[@]}"; do
		if [ "$(host_of "$vm")" = "$iso" ]; then on+=("$vm"); fi
	done
	protected_on "$iso" "${on[@]}" || die "$iso does not confirm it protects its VMs"
	dirty "${on[@]}"
	sleep 2
	ids=$(for vm in "${on[@]}"; do echo "${UUID[$vm]}"; done)
	watch_start "$tmp/iso.watch" --not-on "${HID[$iso]}" -- $ids
	local lease=$POOL_SHARED/.vdc-ha/${HID[$iso]}.lease logoff
	[ -f "$lease" ] || die "no lease file $lease"
	logoff=$(stat -c %s "$(pool_dir "$iso")/agent.log")
	load_note "run $run, before the isolation"
	say "run $run: $iso (${#on[@]} VMs) cut from its network and its lease"
	t0=$(now)
	chattr +i "$lease"
	locked=$lease
	ip -n "$(pool_ns "$iso")" link set mgmt0 down
	cut=$iso
	line=""
	for _ in $(seq 1 200); do
		line=$(tail -c +"$((logoff + 1))" "$(pool_dir "$iso")/agent.log" | grep 'event=ha_fenced' | head -1 || true)
		[ -n "$line" ] && break
		sleep 0.1
	done
	[ -n "$line" ] || die "$iso never logged ha_fenced within 20 s"
	fenced=$(sub "$(ts_of "$line")" "$t0")
	watch_wait "$tmp/iso.watch" "isolation"
	isoready=$(sub "$(last_of "$tmp/iso.watch" ready)" "$t0")
	nf=$(tail -c +"$((logoff + 1))" "$(pool_dir "$iso")/agent.log" | grep -c 'event=ha_fenced' || true)
	say "run $run: $iso fenced its VMs after ${fenced} s ($nf ha_fenced lines: $(sed -E 's/.*(renewed_ago_ms=[0-9]+).*/\1/' <<<"$line"));" \
		"they answer on $(spread_of "$tmp/iso.watch") after ${isoready} s"
	echo "$fenced" >>"$tmp/f.fenced"
	echo "$isoready" >>"$tmp/f.isoready"
	chattr -i "$lease"
	locked=""
	ip -n "$(pool_ns "$iso")" link set mgmt0 up
	cut=""
	sleep 1

	# ---- the monitor's word ------------------------------------------------------
	kill "$mon" 2>/dev/null || true
	wait "$mon" 2>/dev/null || true
	local two looks
	two=$(grep -c '^TWO' "$tmp/monitor.log" || true)
	looks=$(grep -cvE '^TWO| 0$' "$tmp/monitor.log" || true)
	say "run $run: the monitor saw two copies of one VM run $two times ($looks of $(grep -cv '^TWO' "$tmp/monitor.log") looks saw a guest run)"
	[ "$looks" -gt 50 ] || say "WARNING: the monitor hardly saw any guest run: its double_runs proves little"
	grep '^TWO' "$tmp/monitor.log" | head -5 >&2 || true
	echo "$two" >>"$tmp/f.two"

	# ---- this run's pool goes ------------------------------------------------
	kill -TERM "$vdcd_pid" 2>/dev/null || true
	wait "$vdcd_pid" 2>/dev/null || true
	pool_down
	if [ "$keep" = 1 ]; then
		mkdir -p "$tmp/run$run"
		cp "$tmp/vdcd.log" "$tmp"/*.watch "$tmp/monitor.log" "$tmp/run$run/" 2>/dev/null || true
		for h in h1 h2 h3; do cp "$(pool_dir "$h")/agent.log" "$tmp/run$run/agent-$h.log" 2>/dev/null || true; done
	fi
	rm -rf "$POOL_DIR" "$tmp/vdcd" "$tmp/vdcd.log"
}

for run in $(seq 1 "$runs"); do
	one_run "$run"
done
echo "figure detect_s $(median <"$tmp/f.detect") s"
echo "figure crash_to_all_running_s $(median <"$tmp/f.running") s"
echo "figure crash_to_all_ready_s $(median <"$tmp/f.ready") s"
echo "figure restart_to_all_ready_s $(median <"$tmp/f.restart") s"
echo "figure cold_boot_${nvm}_ready_s $(median <"$tmp/f.cold") s"
echo "figure ready_gap_s $(median <"$tmp/f.gap") s"
echo "figure restart_ready_gap_s $(median <"$tmp/f.rgap") s"
echo "figure isolation_to_fenced_s $(median <"$tmp/f.fenced") s"
echo "figure isolation_to_all_ready_s $(median <"$tmp/f.isoready") s"
echo "figure double_runs $(awk '{ n += $1 } END { print n + 0 }' "$tmp/f.two") copies"
