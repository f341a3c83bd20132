# lib.sh - what the shell benchmarks that drive vdcd with wrk share (sourced
# by bench/api/api.sh and bench/scale/scale.sh): messages, starting and
# stopping vdcd and a throwaway PostgreSQL, free ports, wrk's figures, and
# the cleanup on exit. The sourcing script sets BENCH (its name, for
# messages), vdcd, pgctl, tmp and keep_tmp, and may set VDCD_WORKERS and
# VDCD_LOG_LEVEL.
# shellcheck shell=bash

say() { echo "$BENCH: $*" >&2; }
die() { say "$*"; exit 1; }

vdcd_pid='' pg_dir='' child_pid='' failed=0
: "${tmp:=}" "${keep_tmp:=0}"

stop_vdcd() {
	[ -n "$vdcd_pid" ] || return 0
	kill -TERM "$vdcd_pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$vdcd_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$vdcd_pid" 2>/dev/null; then
		say "vdcd (pid $vdcd_pid) did not stop within 10 s of SIGTERM: killing it"
		kill -KILL "$vdcd_pid" 2>/dev/null || true
	fi
	wait "$vdcd_pid" 2>/dev/null || true
	vdcd_pid=
}

stop_pg() {
	[ -n "$pg_dir" ] || return 0
	"$pgctl" stop "$pg_dir" >&2 || say "could not stop the PostgreSQL server in $pg_dir"
	pg_dir=
}

# shellcheck disable=SC2317 # (reached through the trap)
bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$child_pid" ]; then
		kill -TERM "$child_pid" 2>/dev/null || true
		wait "$child_pid" 2>/dev/null || true
	fi
	stop_vdcd
	stop_pg
	if [ -z "$tmp" ]; then :; elif [ "$keep_tmp" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
	exit "$rc"
}
trap bench_cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p"; then echo "$p"; return 0; fi
	done
	die "no free TCP port on 127.0.0.1"
}

# CPU seconds (user + system) a process has used so far: fields 14 and 15
# of /proc/PID/stat, counted after the ")" that ends the command name.
cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' \
		"/proc/$1/stat" 2>/dev/null || echo 0
}

# Runs a command in the background and waits for it, so that a signal to this
# script is handled at once (the cleanup kills it) rather than after it ends.
run_child() {
	"$@" &
	child_pid=$!
	local rc=0
	wait "$child_pid" || rc=$?
	child_pid=
	return "$rc"
}

# Converts wrk's "781.00us", "2.77ms", "1.02s" or "1.50m" to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /s$/ && v !~ /ms$/) n *= 1000;
		else if (v ~ /m$/) n *= 60000; else if (v !~ /ms$/) { print "nan"; exit }
		printf "%.2f\n", n
	}'
}

# Answers other than 2xx/3xx and socket errors (timeouts) in wrk's output.
wrk_errors() {
	awk '/Non-2xx or 3xx responses:/ {n += $NF}
		/Socket errors:/ {for (i = 4; i <= NF; i += 2) n += $i + 0} END {print n + 0}' "$1"
}

# Starts vdcd on the store url with data in dir and waits for /healthz; sets
# vdcd_pid, port, base, token, curl_tls and start_s (launch to first answer:
# the store opened, the index rebuilt, the listener up). With "https" as a
# third argument it serves HTTPS with its own CA (made in dir at the first
# such start), else plain HTTP on loopback.
start_vdcd() {
	local url=$1 dir=$2 scheme=${3:-http} plain=--plain-http t0 t1
	port=$(free_port)
	[ "$scheme" = https ] && plain=
	base=$scheme://127.0.0.1:$port
	curl_tls=()
	t0=$(date +%s.%N)
	"$vdcd" --listen "127.0.0.1:$port" --data-dir "$dir" --store "$url" --workers "${VDCD_WORKERS:-2}" \
		$plain --heartbeat-timeout-s 3600 --log-level "${VDCD_LOG_LEVEL:-warn}" </dev/null >>"$dir/vdcd.log" 2>&1 &
	vdcd_pid=$!
	for _ in $(seq 1 3000); do
		if ! kill -0 "$vdcd_pid" 2>/dev/null; then
			vdcd_pid=
			tail -n 5 "$dir/vdcd.log" >&2
			die "vdcd exited at start (log above, from $dir/vdcd.log)"
		fi
		[ "$scheme" = https ] && [ -f "$dir/tls/ca.pem" ] && curl_tls=(--cacert "$dir/tls/ca.pem")
		if curl -sf "${curl_tls[@]}" -o /dev/null --max-time 1 "$base/healthz"; then
			t1=$(date +%s.%N)
			start_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
			token=$(cat "$dir/admin.token")
			return 0
		fi
		sleep 0.01
	done
	die "vdcd did not answer $base/healthz within 30 s"
}
