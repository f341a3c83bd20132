#!/usr/bin/env bash
# t_faults.sh - fault injection sweep (SQLite's test_malloc.c style): vdcd
# runs with --fault-injection; for each VM operation (create, delete,
# resize, clone, snapshot) and each fault site (store: every store call;
# agent: every call to the host's agent, failing as a refused connection;
# alloc: every jansson allocation), N = 1, 2, ... arms the Nth call of the
# next operation (its API request, then its task: counted alone, so N is
# the same call on every run), runs the operation, and after each failure
# checks that nothing is half-made:
#  - no task left queued or running, no VM left creating or deleting;
#  - the project's quota usage is the sum of its VMs;
#  - the host's VMs (and the disks on its datastore) are exactly vdcd's,
#    except that a VM vdcd marks "error" may or may not be on the host;
#    vdcd's sizes of a VM are the host's;
#  - QEMU runs for the VMs the host says run, and for no other;
#  - a failed snapshot is not on the host;
#  - a VM left in "error" can be deleted (it is, before the next N).
# The sweep of a site ends at the N the operation no longer reaches (the
# fault did not fire and the operation succeeded); a fault-free run first
# counts the operation's calls at each site (a few dozen store calls, a
# few agent calls, hundreds of allocations). Time bounds the sweep (every
# run costs seconds on a loaded 2-core machine under ASan): agent calls
# are swept one by one; store calls are the first STORE_FIRST (4) and
# STORE_SAMPLES (7) more spread evenly over the rest (the request's and
# the task's); allocations the first ALLOC_FIRST (1) and ALLOC_SAMPLES (5)
# more. FAULT_FULL=1 sweeps every store call and 10 + 60 allocations
# (about 15 minutes).
# VMs are not started (no guest boots: time); FAULT_OPS and FAULT_SITES
# narrow the sweep.
source "$(dirname "$0")/lib.sh"

if [ "${FAULT_FULL:-0}" = 1 ]; then
	STORE_FIRST=1 STORE_SAMPLES=all ALLOC_FIRST=${ALLOC_FIRST:-10} ALLOC_SAMPLES=${ALLOC_SAMPLES:-60}
else
	STORE_FIRST=${STORE_FIRST:-4} STORE_SAMPLES=${STORE_SAMPLES:-7}
	ALLOC_FIRST=${ALLOC_FIRST:-1} ALLOC_SAMPLES=${ALLOC_SAMPLES:-5}
fi
STARTED=$SECONDS

fabric_up
vdcd_start --heartbeat-timeout-s 60 --fault-injection || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":8,"mem_overcommit":4}'
host_join h1 c1 || { not_ok "h1 joins"; finish; exit 1; }
hosts_connected 1
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=64'
check "the template is made" test "$STATUS" = 201
DS=$(dir_of h1)/ds
H1_URL=https://$(cat "$(dir_of h1)/mgmt_ip"):7441
CLIENT_CERT=$(mgr_client_cert)

# --- the debug route --------------------------------------------------------
mapi POST /api/v1/debug/faults '{"site":"disk","nth":1}'
check "an unknown site is 400 naming the site" test "$STATUS/$(jget "$BODY" .error.field)" = 400/site
mapi POST /api/v1/debug/faults '{"site":"store","nth":0}'
check "disarming answers the arm's state" test "$STATUS/$(jget "$BODY" .state)" = 200/disarmed

# mget PATH FILE [PATH FILE...]: GETs from vdcd as admin into files, in
# one curl (one process, one connection: on a loaded machine every process
# costs a few hundred ms, and this test makes many calls).
mget() {
	local args=(-s --max-time 60 --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN")
	while [ $# -ge 2 ]; do
		args+=("$MGR_URL$1" -o "$2")
		shift 2
	done
	curl "${args[@]}"
}

# arm SITE N: the Nth call of the next operation fails.
arm() {
	local st
	st=$(curl -s -o "$TMP/arm-out" -w '%{http_code}' --max-time 60 --cacert "$MGR_CACERT" \
		-H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
		--data-binary "{\"site\":\"$1\",\"nth\":$2}" "$MGR_URL/api/v1/debug/faults")
	[ "$st" = 200 ] || diag "arm $1 $2: $st $(<"$TMP/arm-out")"
}

# run_op OP: runs the operation; sets OP_OK (1: it succeeded, request and
# task), OP_WHAT (how it ended) and FIRED (the armed fault fired). JSON is
# read with bash patterns here, not jq: this runs hundreds of times.
run_op() {
	OP_OK=0
	case $1 in
	create) mapi POST /api/v1/vms '{"name":"fc","template":"tiny","start":false}' ;;
	delete) mapi DELETE /api/v1/vms/fd ;;
	resize) mapi POST /api/v1/vms/fr/resize "$(resize_body)" ;;
	clone) mapi POST /api/v1/vms/fs/clone '{"name":"fk"}' ;;
	snapshot) SNAP=sn$((++NSNAP)); mapi POST /api/v1/vms/fs/snapshots "{\"name\":\"$SNAP\"}" ;;
	esac
	OP_WHAT="request $STATUS"
	local task="" state="" i
	[[ $BODY =~ \"task\":\{\"id\":\"([0-9a-f-]+)\" ]] && task=${BASH_REMATCH[1]}
	if [ "$STATUS" = 202 ] && [ -n "$task" ]; then
		for ((i = 0; i < 600; i++)); do
			mget "/api/v1/tasks/$task" "$TMP/op-task"
			[[ $(<"$TMP/op-task") =~ [{,]\"state\":\"([a-z]+)\" ]] && state=${BASH_REMATCH[1]}
			case $state in succeeded | failed) break ;; esac
			sleep 0.1
		done
		OP_WHAT="task $state"
		[ "$state" = succeeded ] && OP_OK=1
		[ "$state" = failed ] && [[ $(<"$TMP/op-task") =~ \"error\":\{[^}]*\"message\":\"([^\"]*)\" ]] &&
			OP_WHAT+=": ${BASH_REMATCH[1]}"
	elif [[ $BODY =~ \"message\":\"([^\"]*)\" ]]; then
		OP_WHAT+=": ${BASH_REMATCH[1]}"
	fi
	mget /api/v1/debug/faults "$TMP/op-fault"
	FIRED=0
	[[ $(<"$TMP/op-fault") =~ \"fired\":true ]] && FIRED=1
	CALLS=0
	[[ $(<"$TMP/op-fault") =~ \"calls\":([0-9]+) ]] && CALLS=${BASH_REMATCH[1]}
}

# resize_body: the next sizes of fr (vCPUs and memory go back and forth,
# the disk grows by 1 MiB), from vdcd's document.
resize_body() {
	mapi GET /api/v1/vms/fr
	jq -c '.config | {vcpus: (3 - .vcpus), memory_mib: (if .memory_mib == 64 then 80 else 64 end),
		disk_size_mib: (.disk_size_mib + 1)}' <<<"$BODY"
}

# make_vm NAME: a stopped VM of the template (no fault armed).
make_vm() {
	grep -qx "$1" "$TMP/hm-names" 2>/dev/null && return 0
	mapi POST /api/v1/vms "{\"name\":\"$1\",\"template\":\"tiny\",\"start\":false}"
	[ "$STATUS" = 202 ] || { diag "create $1: $STATUS $BODY"; return 1; }
	task_wait "$(jget "$BODY" .task.id)" 60
	echo "$1" >>"$TMP/hm-names"
}

# drop_vm NAME: deletes the VM if it exists (no fault armed); fails when
# the delete does.
drop_vm() {
	grep -qx "$1" "$TMP/hm-names" 2>/dev/null || return 0
	mapi DELETE "/api/v1/vms/$1?force=true"
	[ "$STATUS" = 202 ] || { diag "delete $1: $STATUS $BODY"; return 1; }
	task_wait "$(jget "$BODY" .task.id)" 60
	[ "$TASK_STATE" = succeeded ] || { diag "delete $1: task $TASK_STATE"; return 1; }
	sed -i "/^$1\$/d" "$TMP/hm-names"
}

# baseline OP: what the operation starts from (vdcd's VMs as the last
# half_made saw them, in $TMP/hm-names).
baseline() {
	case $1 in
	create) drop_vm fc ;;
	delete) make_vm fd ;;
	resize) make_vm fr ;;
	clone) drop_vm fk && make_vm fs ;;
	snapshot) make_vm fs ;;
	esac
}

# half_made: what is inconsistent now (empty: nothing), one problem a line.
# Leaves vdcd's VM names in $TMP/hm-names and those in "error" in
# $TMP/hm-errors. One jq program over vdcd's tasks, VMs and quota, the
# host's VMs, the datastore's entries and QEMU's command lines.
half_made() {
	local i busy=1
	for ((i = 0; i < 300; i++)); do
		mget '/api/v1/tasks?order=desc&limit=50' "$TMP/hm-tasks" '/api/v1/vms?limit=1000' "$TMP/hm-vms" \
			/api/v1/projects/default/quota "$TMP/hm-quota"
		[[ $(<"$TMP/hm-tasks") =~ [{,]\"state\":\"(queued|running)\" ]] || { busy=0; break; }
		sleep 0.1
	done
	[ $busy = 0 ] || echo "tasks are still queued or running"
	local st
	st=$(in_ns h1 curl -s -o "$TMP/hm-host" -w '%{http_code}' --max-time 60 -H "Authorization: Bearer $TOKEN" \
		--cacert "$TMP/vdcd/tls/ca.pem" --cert "$CLIENT_CERT.pem" --key "$CLIENT_CERT.key" "$H1_URL/api/v1/vms")
	[ "$st" = 200 ] || { echo "the host's VM list: $st"; return; }
	local d ds="" qemu="" line
	for d in "$DS"/*; do
		[ -e "$d" ] && [ "${d##*/}" != images ] && ds+="\"${d##*/}\","
	done
	while read -r line; do
		[[ $line =~ -uuid\ ([0-9a-f-]+) ]] && qemu+="\"${BASH_REMATCH[1]}\","
	done < <(pgrep -af '^(/[^ ]*/)?qemu-system-x86_64 ')
	jq -rn --slurpfile v "$TMP/hm-vms" --slurpfile q "$TMP/hm-quota" --slurpfile h "$TMP/hm-host" \
		--argjson ds "[${ds%,}]" --argjson qemu "[${qemu%,}]" '
	($v[0].items) as $vms | ($h[0].vms) as $hvms |
	($vms[] | "N \(.name)"), ($vms[] | select(.power_state == "error") | "E \(.name)"),
	($vms[] | select(.power_state == "creating" or .power_state == "deleting") |
		"P VM \(.name) is left \(.power_state)"),
	([$vms[] | select(.project_id != null)] |
		{vms: length, vcpus: (map(.config.vcpus) | add // 0), memory_mib: (map(.config.memory_mib) | add // 0),
		 disk_mib: (map(.config.disk_size_mib) | add // 0)}) as $want |
	($q[0].usage | {vms, vcpus, memory_mib, disk_mib}) as $usage |
	(if $usage != $want then "P quota usage \($usage | tojson) is not the sum of the VMs \($want | tojson)" else empty end),
	# Every VM of the host is one of vdcd'"'"'s; every VM of vdcd not in error
	# is on the host, with vdcd'"'"'s sizes.
	($hvms[] | .name as $n | select([$vms[] | .config.agent_name] | index($n) | not) |
		"P the host has VM \($n), which vdcd does not know"),
	($vms[] | select(.power_state != "error") | . as $vm |
		([$hvms[] | select(.name == $vm.config.agent_name)] | first) as $hv |
		if $hv == null then "P VM \(.name) (\(.power_state)) is not on the host"
		elif [$hv.spec.vcpus, $hv.spec.memory_mib, ($hv.spec.disks[0].size_mib // .config.disk_size_mib)] !=
			[.config.vcpus, .config.memory_mib, .config.disk_size_mib] then
			"P VM \(.name): vdcd says \(.config.vcpus) vCPUs \(.config.memory_mib) MiB disk \(.config.disk_size_mib) MiB, the host \($hv.spec.vcpus) \($hv.spec.memory_mib) \($hv.spec.disks[0].size_mib)"
		else empty end),
	# Disks: a directory of the datastore per VM of the host, no other.
	($ds[] | select(. as $d | [$hvms[] | .name] | index($d) | not) |
		"P the datastore has \(.), which no VM of the host is"),
	# QEMU: for the VMs the host says run, and no other of ours.
	($hvms[] | (.uuid as $u | [$qemu[] | select(. == $u)] | length) as $n |
		select((.state == "running") != ($n == 1) or $n > 1) |
		"P VM \(.name) is \(.state) on the host with \($n) QEMU processes"),
	($qemu[] | select(. as $u | [$vms[] | .id] | index($u)) | . as $u |
		select([$hvms[] | select(.uuid == $u)] | length == 0) | "P QEMU runs for \($u), which the host does not list")
	' >"$TMP/hm-out"
	: >"$TMP/hm-names"
	: >"$TMP/hm-errors"
	while read -r line; do
		case $line in
		"N "*) echo "${line#N }" >>"$TMP/hm-names" ;;
		"E "*) echo "${line#E }" >>"$TMP/hm-errors" ;;
		"P "*) echo "${line#P }" ;;
		esac
	done <"$TMP/hm-out"
}

# repair: deletes every VM vdcd left in "error" (no fault armed; the list
# half_made made): a failed operation may leave one, but it must be
# deletable.
repair() {
	local n
	for n in $(cat "$TMP/hm-errors"); do
		drop_vm "$n" || echo "VM $n in error cannot be deleted"
	done
}

# snapshot_left: a failed snapshot that the host has anyway.
snapshot_left() {
	mapi GET /api/v1/vms/fs/snapshots
	jq -e --arg s "$SNAP" '.snapshots[] | select(.name == $s)' <<<"$BODY" >/dev/null &&
		echo "the failed snapshot $SNAP is on the host"
}

# points TOTAL FIRST SAMPLES: the Ns to try for an operation that made
# TOTAL calls without a fault: the first FIRST, then SAMPLES more spread
# evenly over the rest (every N when that is all of them, or SAMPLES is
# "all"), then TOTAL+1.
points() {
	local total=$1 first=$2 samples=$3 n
	if [ "$samples" = all ] || [ "$total" -le $((first + samples)) ]; then
		seq 1 "$total"
	else
		seq 1 "$first"
		for ((n = 0; n < samples; n++)); do
			echo $((first + 1 + n * (total - first) / samples))
		done
	fi
	echo $((total + 1))
}

# sweep OP SITE: the sweep of one site for one operation: a fault-free run
# counts the calls, then one run per N.
sweep() {
	local op=$1 site=$2 n problems bad=0 runs=0 fired_fail=0 t0=$SECONDS
	baseline "$op" || { not_ok "$op/$site: the baseline"; return; }
	arm "$site" 1000000000
	run_op "$op"
	local total=$CALLS
	[ "$OP_OK" = 1 ] && [ "$total" -gt 0 ] ||
		{ not_ok "$op/$site: a fault-free run succeeds and counts calls ($total, $OP_WHAT)"; return; }
	half_made >/dev/null
	local first=$STORE_FIRST samples=$STORE_SAMPLES
	[ "$site" = agent ] && samples=all
	[ "$site" = alloc ] && first=$ALLOC_FIRST samples=$ALLOC_SAMPLES
	for n in $(points "$total" "$first" "$samples"); do
		baseline "$op" || { not_ok "$op/$site: the baseline before N=$n"; return; }
		arm "$site" "$n"
		run_op "$op"
		runs=$((runs + 1))
		if [ "$FIRED" = 0 ]; then
			[ "$OP_OK" = 1 ] || { bad=$((bad + 1)); diag "$op/$site N=$n: failed without a fault: $OP_WHAT"; }
			half_made >/dev/null
			break
		fi
		[ "$OP_OK" = 1 ] || fired_fail=$((fired_fail + 1))
		problems=$(half_made)
		[ "$op" = snapshot ] && [ "$OP_OK" = 0 ] && problems+=$(snapshot_left)
		problems+=$(repair)
		if [ -n "$problems" ]; then
			bad=$((bad + 1))
			diag "$op/$site N=$n ($OP_WHAT):"
			sed 's/^/#   /' <<<"$problems"
		fi
	done
	diag "$op/$site: $total calls without a fault; $runs runs, $fired_fail failed by the fault; $((SECONDS - t0)) s"
	check "$op, $site fault at each of $runs points: nothing half-made" test "$bad" = 0
	[ "$fired_fail" -gt 0 ] || [ "$site" = alloc ] ||
		not_ok "$op/$site: no fault made the operation fail (is the site wired?)"
}

# qmp: the agent's site; vdcd cannot arm it, and no VM here runs QEMU.
case " ${FAULT_SITES:-} " in *" qmp "*)
	diag "qmp: skipped (armed on the agent, with VDC_FAULT at its start; this sweep runs no QEMU)" ;;
esac
NSNAP=0
half_made >/dev/null
OPS=${FAULT_OPS:-create delete resize clone snapshot}
SITES=${FAULT_SITES:-store agent alloc}
for op in $OPS; do
	for site in $SITES; do
		[ "$site" = qmp ] && continue
		sweep "$op" "$site"
	done
done
arm store 0

problems=$(half_made)
check "at the end, nothing is half-made${problems:+: $problems}" test -z "$problems"
diag "the sweep took $((SECONDS - STARTED)) s"
check "vdcd stops cleanly" vdcd_stop

# Without --fault-injection the route is absent: 404, as any unknown path.
vdcd_start --heartbeat-timeout-s 60 || not_ok "vdcd starts again without --fault-injection"
mapi GET /api/v1/debug/faults
check "without --fault-injection GET /api/v1/debug/faults is 404" test "$STATUS/$(jget "$BODY" .error.code)" = 404/not_found
mapi POST /api/v1/debug/faults '{"site":"store","nth":1}'
check "and POST is 404 too" test "$STATUS/$(jget "$BODY" .error.code)" = 404/not_found
check "vdcd stops cleanly" vdcd_stop
check "the agent stops cleanly" agent_stop h1
finish
