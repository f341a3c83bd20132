#!/usr/bin/env bash
# api.sh - bench: how many reads per second vdcd's API serves, and their p99,
# with 10,000 VMs in the inventory, on SQLite and on PostgreSQL: GET one VM
# by id and GET a page of 100, driven by wrk (see bench/api/README.md).
# Figures on stdout, progress on stderr; everything it starts is stopped and
# its temporary directory removed on exit, failure or Ctrl-C.
set -euo pipefail

usage() {
	cat >&2 <<'EOF'
usage: api.sh [--build DIR] [--vms N] [--duration S] [--warmup S] [--threads N]
              [--connections N] [--no-postgres] [--no-placement] [--keep-tmp]
  --build DIR        where vdcd, api-seed and placement were built (default: build/)
  --vms N            VMs seeded (10000)
  --duration S       seconds of each timed wrk run (10)
  --warmup S         seconds of untimed wrk before each timed run (2)
  --threads N        wrk threads (2)
  --connections N    wrk connections, kept alive (32)
  --no-postgres      SQLite only (postgres_* figures print as nan)
  --no-placement     do not run the placement bench for placement_1k_hosts_us
  --keep-tmp         keep the temporary directory (databases, logs, wrk output)
EOF
	exit 2
}

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
vms=10000 duration=10 warmup=2 threads=2 conns=32
use_pg=1 use_placement=1 keep_tmp=0
while [ $# -gt 0 ]; do
	case $1 in --build | --vms | --duration | --warmup | --threads | --connections)
		[ $# -ge 2 ] || usage ;;
	esac
	case $1 in
	--build) build=$2; shift 2 ;;
	--vms) vms=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--connections) conns=$2; shift 2 ;;
	--no-postgres) use_pg=0; shift ;;
	--no-placement) use_placement=0; shift ;;
	--keep-tmp) keep_tmp=1; shift ;;
	*) usage ;;
	esac
done
for n in "$vms" "$duration" "$warmup" "$threads" "$conns"; do
	case $n in '' | *[!0-9]*) usage ;; esac
done
if [ "$vms" -le 100 ] || [ "$duration" -lt 1 ] || [ "$threads" -lt 1 ] || [ "$conns" -lt "$threads" ]; then
	usage
fi

vdcd=$build/src/manager/vdcd
seeder=$build/bench/api/api-seed
placement=$build/bench/placement/placement
lua=$root/bench/api/api.lua
pgctl=$root/scripts/pg-test-server.sh

BENCH=api
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"

for t in wrk curl; do
	command -v "$t" >/dev/null || die "$t is not installed (apt-get install $t)"
done
[ -x "$vdcd" ] || die "no $vdcd: build first (ninja -C $build)"
[ -x "$seeder" ] || die "no $seeder: build first (is subdir('api') in bench/meson.build?)"

# A short path: PostgreSQL's socket (DIR/pg/sock/.s.PGSQL.PORT) must fit in sun_path.
# The postgres user must reach the server's directory inside it.
tmp=$(mktemp -d /tmp/vdc-api.XXXXXX)
chmod 0755 "$tmp"

# Checks that what wrk will ask for is answered right before timing it.
check_answers() {
	local list=$1 id name one page n
	read -r id name <"$list"
	one=$(curl -sf "${curl_tls[@]}" --max-time 5 -H "Authorization: Bearer $token" "$base/api/v1/vms/$id") ||
		die "GET /api/v1/vms/$id failed"
	case $one in *"\"name\":\"$name\""*) ;; *) die "GET /api/v1/vms/$id is not VM $name" ;; esac
	page=$(curl -sf "${curl_tls[@]}" --max-time 5 -H "Authorization: Bearer $token" \
		"$base/api/v1/vms?limit=100&after=$name") || die "GET /api/v1/vms?limit=100 failed"
	n=$(grep -o '"power_state":' <<<"$page" | wc -l)
	[ "$n" -eq 100 ] || die "GET /api/v1/vms?limit=100 returned $n VMs, not 100"
	say "answers checked: one VM is ${#one} bytes, a page of 100 is ${#page} bytes"
}

# Runs wrk for mode (get|list) against the started vdcd and prints the
# figures PREFIX_rps and PREFIX_p99_ms (nan when wrk saw any error).
measure() {
	local mode=$1 list=$2 prefix=$3 out=$tmp/wrk-$3.txt
	local args=(-t"$threads" -c"$conns" --latency -H "Authorization: Bearer $token"
		-s "$lua" "$base" -- "$mode" "$list")
	if [ "$warmup" -gt 0 ]; then
		run_child timeout $((warmup + 30)) wrk -d"${warmup}s" "${args[@]}" >"$out" ||
			die "wrk (warm-up, $mode) failed: $(cat "$out")"
	fi
	local c0 c1
	c0=$(cpu_s "$vdcd_pid")
	run_child timeout $((duration + 30)) wrk -d"${duration}s" "${args[@]}" >"$out" ||
		die "wrk ($mode) failed: $(cat "$out")"
	c1=$(cpu_s "$vdcd_pid")
	local rps p99 errs
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p99=$(to_ms "$(awk '/^ +99%/ {print $2}' "$out")")
	errs=$(wrk_errors "$out")
	say "$prefix: $(awk '/requests in/ {r = $1 " requests in " $4}
		/^ +Latency / && $2 != "Distribution" {l = "latency mean " $2 ", stdev " $3 ", max " $4}
		/^ +(50|75|90)%/ {p = p " p" substr($1, 1, 2) " " $2} /^Transfer/ {t = $2 "/s"}
		END {print r " " t "; " l ";" p}' "$out");" \
		"vdcd CPU $(awk -v a="$c0" -v b="$c1" -v d="$duration" 'BEGIN {printf "%.0f", 100 * (b - a) / d}')% of a core"
	if [ -z "$rps" ] || [ "$p99" = nan ] || [ "$errs" -ne 0 ]; then
		say "$prefix: wrk saw $errs errors or printed no figures:"
		sed 's/^/    /' "$out" >&2
		rps=nan p99=nan
		failed=1
	fi
	[ "$rps" = nan ] || rps=$(awk -v r="$rps" 'BEGIN {printf "%.0f", r}')
	echo "figure ${prefix}_rps $rps req/s"
	echo "figure ${prefix}_p99_ms $p99 ms"
	last_rps=$rps
}

nan_figures() {
	local f
	for f in get_vm list_vms; do
		echo "figure ${1}_${f}_rps nan req/s"
		echo "figure ${1}_${f}_p99_ms nan ms"
	done
}

# One backend: seed, start vdcd, check, time GET one VM and GET a page, stop.
run_backend() {
	local b=$1 url=$2 dir=$tmp/$1 t0=$SECONDS
	mkdir -p "$dir"
	run_child timeout 300 "$seeder" --store "$url" --out "$dir/vms.txt" --vms "$vms" \
		2>"$dir/seed.log" || { cat "$dir/seed.log" >&2; die "seeding $b failed"; }
	grep '^api-seed' "$dir/seed.log" >&2 || true
	start_vdcd "$url" "$dir"
	say "$b: vdcd pid $vdcd_pid on $base; wrk -t$threads -c$conns," \
		"$warmup s warm-up then $duration s timed, per figure"
	check_answers "$dir/vms.txt"
	measure get "$dir/vms.txt" "${b}_get_vm"
	[ "$b" = sqlite ] && http_rps=$last_rps
	measure list "$dir/vms.txt" "${b}_list_vms"
	[ "$b" = sqlite ] && tenant_figures "$dir"
	stop_vdcd
	say "$b: done in $((SECONDS - t0)) s"
}

# What authentication and TLS cost: a member of project "bench" (a viewer,
# the seeded VMs' project) signs in with a password, then GET one VM is
# timed over HTTPS as that member and as the admin, against the admin over
# plain HTTP just measured (http_rps). Same store, same data, keep-alive.
tenant_figures() {
	local dir=$1 member
	curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d '{"name":"bench-viewer","password":"bench-viewer-pw"}' "$base/api/v1/users" || die "cannot make a user"
	curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d '{"user":"bench-viewer","role":"viewer"}' "$base/api/v1/projects/bench/members" || die "cannot add a member"
	stop_vdcd
	start_vdcd "sqlite:$dir/vdcd.db" "$dir" https
	local admin=$token
	member=$(curl -sf "${curl_tls[@]}" -H 'Content-Type: application/json' \
		-d '{"user":"bench-viewer","password":"bench-viewer-pw"}' "$base/api/v1/auth/login" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
	[ -n "$member" ] || die "the bench member cannot sign in"
	token=$member
	check_answers "$dir/vms.txt"
	measure get "$dir/vms.txt" sqlite_get_vm_project_token_https
	local member_rps=$last_rps
	echo "figure sqlite_get_vm_rps_project_token $member_rps req/s"
	token=$admin
	measure get "$dir/vms.txt" sqlite_get_vm_admin_https
	local https_rps=$last_rps
	awk -v h="$http_rps" -v s="$https_rps" -v m="$member_rps" 'BEGIN {
		if (h + 0 > 0 && s + 0 > 0) printf "figure https_overhead_pct %.1f %%\n", 100 * (h - s) / h
		else print "figure https_overhead_pct nan %"
		if (h + 0 > 0 && m + 0 > 0) printf "figure project_token_https_vs_admin_http_pct %.1f %%\n", 100 * (h - m) / h
		else print "figure project_token_https_vs_admin_http_pct nan %"
	}'
}

say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $vms VMs"
if awk '{exit !($1 > 0.5)}' /proc/loadavg; then
	say "warning: the host is busy: vdcd and wrk share its CPUs with that load, so these" \
		"figures come out lower and noisier than on an idle host"
fi
run_backend sqlite "sqlite:$tmp/sqlite/vdcd.db"

if [ "$use_pg" = 0 ]; then
	say "postgres: skipped (--no-postgres)"
	nan_figures postgres
else
	pg_dir=$tmp/pg
	if pg_url=$("$pgctl" start "$pg_dir"); then
		run_backend postgres "$pg_url"
	else
		say "postgres: no throwaway server could be started (see above): postgres_* figures are nan"
		nan_figures postgres
		failed=1
	fi
	stop_pg
fi

if [ "$use_placement" = 1 ]; then
	if [ -x "$placement" ]; then
		# Only the 1,000-host decision time; the rest is `run.sh placement`.
		"$placement" 2>/dev/null | grep '^figure placement_1k_hosts_' || failed=1
	else
		say "no $placement: placement_1k_hosts_us is missing"
		failed=1
	fi
fi
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$failed"
