#!/usr/bin/env bash
# integration-tests.sh [TEST...] - runs tests/integration/t_*.sh (or the
# TESTs named, as t_X or a path) against the sanitized build, VDC_TEST_JOBS
# at a time (default: one per core). `make test` runs it after the unit
# tests; it also runs on its own.
#
# Per test, when it ends: its "not ok" and "#" lines, then
# "# t_X.sh: N s". Last line: "N passed, N failed" (every test's ok / not ok
# lines; a test that failed without saying which check did counts as one
# failure, "not ok - t_X.sh exited with status N"). Each test's whole
# output is in $VDC_TEST_LOG/t_X (a new directory unless given), every
# counted line in $VDC_TEST_LOG/integration.tally.
#
# Tests run side by side: each names what it makes after its own pid
# (namespaces, bridges, cgroups, management subnet, ports; see
# tests/integration/lib.sh). The ones in SERIAL run alone, first.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export VDC_AGENT=${VDC_AGENT:-$PWD/build-san/src/agent/vdc-agent}
export VDC_VDCD=${VDC_VDCD:-$PWD/build-san/src/manager/vdcd}
export VDC_CACHE=${VDC_CACHE:-/var/cache/vdc}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOG=${VDC_TEST_LOG:-$(mktemp -d /tmp/vdc-test-log.XXXXXX)}
mkdir -p "$LOG"
TALLY=$LOG/integration.tally
: >"$TALLY"

# Alone, before the others:
#  - t_agent_async, t_vdcd_async: they time answers (under 1 s) while other
#    calls hang; on a machine made busy by other tests a slow answer would
#    fail them, not the code.
#  - t_cloud_image: the heaviest guest (Debian with systemd, 1 GiB, under
#    TCG), given 240 s to run cloud-init; beside another test's guests on a
#    busy machine it missed that.
SERIAL="t_agent_async t_vdcd_async t_cloud_image"
JOBS=${VDC_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "VDC_TEST_JOBS must be a number of 1 or more, not '$JOBS'" >&2; exit 2; }
# How long each test took last time (kept in the cache, machine-wide): the
# longest start first, so the last to end is a short one; a test not timed
# yet counts as the longest.
TIMES=$VDC_CACHE/integration-times

tests=()
if [ $# -eq 0 ]; then
	tests=(tests/integration/t_*.sh)
else
	for t in "$@"; do
		t=tests/integration/$(basename "$t" .sh).sh
		[ -f "$t" ] || { echo "no such integration test: $t" >&2; exit 2; }
		tests+=("$t")
	done
fi

name_of() { basename "$1" .sh; }
is_serial() { [[ " $SERIAL " == *" $(name_of "$1") "* ]]; }

# ordered: the tests, longest last time first.
ordered() {
	local t
	for t in "${tests[@]}"; do
		printf '%s %s\n' "$(awk -v n="$(name_of "$t")" '$1 == n { print $2 }' "$TIMES" 2>/dev/null | grep . || echo 999999)" "$t"
	done | sort -k1,1nr -k2,2 | cut -d' ' -f2
}

declare -A RUNNING=() # subshell pid -> test
passed=0
failed=0

# start T: runs one test in the background; its output goes to $LOG/NAME,
# its exit status and seconds to $LOG/NAME.end.
start() {
	local out
	out=$LOG/$(name_of "$1")
	(
		t0=$SECONDS
		bash "$1" >"$out" 2>&1
		echo "$? $((SECONDS - t0))" >"$out.end"
	) &
	RUNNING[$!]=$1
}

# reap: waits for one running test to end and reports it.
reap() {
	local pid t n out rc secs p f
	wait -n -p pid "${!RUNNING[@]}"
	t=${RUNNING[$pid]}
	unset "RUNNING[$pid]"
	n=$(name_of "$t")
	out=$LOG/$n
	read -r rc secs <"$out.end" 2>/dev/null || { rc=1 secs=0; }
	grep -E '^(not ok|#)' "$out"
	echo "# $n.sh: $secs s"
	grep -E '^(ok|not ok) ' "$out" >>"$TALLY"
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $n.sh exited with status $rc" | tee -a "$TALLY"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	# A failed test's time says little (cut short, or a timeout waited out).
	[ "$rc" -eq 0 ] && echo "$n $secs" >>"$LOG/times"
}

# Interrupted: the running tests are stopped too (started in the
# background, they ignore the terminal's ^C); their EXIT traps clean up.
interrupted() {
	local p
	for p in "${!RUNNING[@]}"; do pkill -TERM -P "$p"; done
	wait
	exit 130
}
trap interrupted INT TERM

t0=$SECONDS
for t in $(ordered); do
	is_serial "$t" || continue
	start "$t"
	reap
done
for t in $(ordered); do
	is_serial "$t" && continue
	while [ "${#RUNNING[@]}" -ge "$JOBS" ]; do reap; done
	start "$t"
done
while [ "${#RUNNING[@]}" -gt 0 ]; do reap; done
echo "# integration tests: $((SECONDS - t0)) s, $JOBS at a time"

# The next run's order: every test's time (this run's when it passed, or
# the last known), written whole and then renamed (other work trees may read
# it meanwhile).
if [ -s "$LOG/times" ] && mkdir -p "$VDC_CACHE" 2>/dev/null; then
	{
		cat "$LOG/times"
		[ -f "$TIMES" ] && awk 'NR == FNR { seen[$1] = 1; next } !($1 in seen)' "$LOG/times" "$TIMES"
		true
	} >"$TIMES.$$" && mv "$TIMES.$$" "$TIMES"
fi

echo "logs: $LOG"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
