#!/usr/bin/env bash
# scale.sh - bench: VM create through the API at fleet scale (100,000 VMs on
# 10,000 simulated hosts in the store), on SQLite and on PostgreSQL: creates
# per second and their p99 up to the 202 answer (placement on the inventory
# index, the VM and task inserts), and how long vdcd takes to start on such
# a store (the index rebuilt). Figures on stdout, progress on stderr.
#
# The hosts are simulated: documents seeded by api-seed, with agent URLs on
# 127.x where nothing listens. Each create queues a vm.create task; its one
# worker (--workers 1) is refused by the "agent" at once and records the
# failure, so tasks cost a connect() and two commits each, on another thread,
# and never wait on a network timeout. That work is part of what vdcd does
# per create, and is left in the figures.
set -euo pipefail

usage() {
	cat >&2 <<'EOF2'
usage: scale.sh [--build DIR] [--vms N] [--hosts N] [--duration S] [--threads N]
                [--connections N] [--no-postgres] [--keep-tmp]
  --build DIR        where vdcd and api-seed were built (default: build/)
  --vms N            VMs seeded (100000)
  --hosts N          simulated hosts seeded (10000)
  --duration S       seconds of each timed wrk run (10)
  --threads N        wrk threads (1)
  --connections N    wrk connections, kept alive (2)
  --no-postgres      SQLite only (postgres_* figures print as nan)
  --keep-tmp         keep the temporary directory
EOF2
	exit 2
}

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
vms=100000 hosts=10000 duration=10 threads=1 conns=2 use_pg=1 keep_tmp=0
while [ $# -gt 0 ]; do
	case $1 in --build | --vms | --hosts | --duration | --threads | --connections)
		[ $# -ge 2 ] || usage ;;
	esac
	case $1 in
	--build) build=$2; shift 2 ;;
	--vms) vms=$2; shift 2 ;;
	--hosts) hosts=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--connections) conns=$2; shift 2 ;;
	--no-postgres) use_pg=0; shift ;;
	--keep-tmp) keep_tmp=1; shift ;;
	*) usage ;;
	esac
done

vdcd=$build/src/manager/vdcd
seeder=$build/bench/api/api-seed
lua=$root/bench/scale/create.lua
pgctl=$root/scripts/pg-test-server.sh
BENCH=scale VDCD_WORKERS=1 VDCD_LOG_LEVEL=info
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
for t in wrk curl; do command -v "$t" >/dev/null || die "$t is not installed"; done
if [ ! -x "$vdcd" ] || [ ! -x "$seeder" ]; then die "build first (ninja -C $build)"; fi

tmp=$(mktemp -d /tmp/vdc-scale.XXXXXX)
chmod 0755 "$tmp"

# Times creates with wrk; prints PREFIX_create_vm_rps and _p99_ms.
measure() {
	local prefix=$1 out=$tmp/wrk-$1.txt
	local args=(-t"$threads" -c"$conns" --latency -H "Authorization: Bearer $token" -s "$lua" "$base")
	# One create by hand first: it must be a 202 on a simulated host.
	local code
	code=$(curl -s -o "$tmp/one.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' -d '{"name":"probe-'"$prefix"'","template":"alpine-3.20","start":false}' \
		"$base/api/v1/vms")
	[ "$code" = 202 ] || die "$prefix: a create answered $code: $(head -c 300 "$tmp/one.json")"
	say "$prefix: a create is placed: $(sed -n 's/.*"summary":"\([^"]*\)".*/\1/p' "$tmp/one.json" | head -1 | cut -c1-160)"
	timeout $((duration + 30)) wrk -d2s "${args[@]}" -- "w$prefix" >"$out" || die "wrk (warm-up) failed"
	local c0 c1
	c0=$(cpu_s "$vdcd_pid")
	timeout $((duration + 30)) wrk -d"${duration}s" "${args[@]}" -- "t$prefix" >"$out" || die "wrk failed"
	c1=$(cpu_s "$vdcd_pid")
	local rps p99 errs
	rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
	p99=$(to_ms "$(awk '/^ +99%/ {print $2}' "$out")")
	errs=$(wrk_errors "$out")
	say "$prefix: $(awk '/requests in/ {print $1 " creates in " $4} /^ +(50|90)%/ {print "p" substr($1, 1, 2) " " $2}' "$out" | tr '\n' ' ')"
	# Answers other than 202 (e.g. 409 version_conflict) and wrk timeouts
	# (over 2 s) are counted, shown and fail the run, but the rates and the
	# latency of what was answered are still printed.
	if [ -z "$rps" ] || [ "$p99" = nan ]; then
		rps=nan p99=nan failed=1
	fi
	if [ "$errs" -ne 0 ]; then
		say "$prefix: wrk saw $errs answers other than 202 or timeouts:"; sed 's/^/    /' "$out" >&2
		failed=1
	fi
	echo "figure ${prefix}_create_vm_rps $rps req/s"
	echo "figure ${prefix}_create_vm_p99_ms $p99 ms"
	echo "figure ${prefix}_create_vm_errors $errs count"
	# vdcd's CPU time (all threads: the API's and the worker's) per create:
	# unlike the rate, it barely moves when other work shares the machine.
	echo "figure ${prefix}_create_vm_cpu_us $(awk -v a="$c0" -v b="$c1" -v n="$(awk '/requests in/ {print $1}' "$out")" \
		'BEGIN {if (n > 0) printf "%.0f", (b - a) * 1e6 / n; else print "nan"}') us"
}

run_backend() {
	local b=$1 url=$2 dir=$tmp/$1 t0=$SECONDS
	mkdir -p "$dir"
	timeout 1800 "$seeder" --store "$url" --out "$dir/vms.txt" --vms "$vms" --hosts "$hosts" \
		2>"$dir/seed.log" || { cat "$dir/seed.log" >&2; die "seeding $b failed"; }
	grep '^api-seed' "$dir/seed.log" >&2 || true
	start_vdcd "$url" "$dir"
	say "$b: vdcd started in $start_s s ($(grep -o 'inventory_index_built.*' "$dir/vdcd.log" | tail -1))"
	# The first start also made the admin and the CA: time a second one.
	stop_vdcd
	start_vdcd "$url" "$dir"
	say "$b: again in $start_s s ($(grep -o 'inventory_index_built.*' "$dir/vdcd.log" | tail -1))"
	[ "$b" = sqlite ] && echo "figure vdcd_start_$((vms / 1000))k_vms_s $start_s s"
	measure "$b"
	stop_vdcd
	say "$b: done in $((SECONDS - t0)) s"
}

say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $vms VMs on $hosts hosts"
run_backend sqlite "sqlite:$tmp/sqlite/vdcd.db"
pg_done=0
if [ "$use_pg" = 1 ]; then
	pg_dir=$tmp/pg
	if pg_url=$("$pgctl" start "$pg_dir"); then
		run_backend postgres "$pg_url"
		pg_done=1
	else
		say "postgres: no server could be started: postgres_* figures are nan"
		failed=1
	fi
	stop_pg
fi
if [ "$pg_done" = 0 ]; then
	echo "figure postgres_create_vm_rps nan req/s"
	echo "figure postgres_create_vm_p99_ms nan ms"
fi
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$failed"
