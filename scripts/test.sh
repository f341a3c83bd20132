#!/usr/bin/env bash
# test.sh - `make test`: installs, builds with ASan+UBSan, builds the guests,
# then runs the unit tests, the fuzzers and the integration tests against the
# sanitized binaries. Every check prints "ok - ..." or "not ok - ..."; the
# last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
CACHE=${VDC_CACHE:-/var/cache/vdc}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
LOG=$(mktemp -d /tmp/vdc-test-log.XXXXXX)
# Tests that keep artefacts (t_ui.sh: screenshots) put them here.
export VDC_TEST_LOG=$LOG
passed=0
failed=0

step() { printf '==> %s\n' "$*"; }
# tally NAME STATUS FILE: counts the ok / not ok lines of one suite's output;
# a suite that failed without saying which check did counts as one failure.
tally() {
	local name=$1 status=$2 file=$3 p f
	p=$(grep -c '^ok ' "$file")
	f=$(grep -c '^not ok ' "$file")
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $status"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

step "installing packages"
scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
step "building with AddressSanitizer and UndefinedBehaviorSanitizer"
if ! scripts/build.sh build-san -Dtests=true -Db_sanitize=address,undefined -Db_lundef=false; then
	echo "not ok - the sanitized build"
	echo "0 passed, 1 failed"
	exit 1
fi
step "building the test guest and the Debian cloud image (cached in $CACHE)"
guest/build-test-guest.sh "$CACHE" || echo "not ok - building the test guest" | tee -a "$LOG/guest"
guest/build-cloud-image.sh "$CACHE" || echo "not ok - building the cloud image" | tee -a "$LOG/guest"
touch "$LOG/guest"
tally guest-build 0 "$LOG/guest"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=TAP

step "starting a throwaway PostgreSQL server for the store tests"
PGDIR=$(mktemp -d /tmp/vdc-test-pg.XXXXXX)
if VDC_TEST_PG_URL=$(scripts/pg-test-server.sh start "$PGDIR"); then
	export VDC_TEST_PG_URL
	echo "ok - a PostgreSQL server starts for the tests" >"$LOG/pg"
else
	echo "not ok - a PostgreSQL server starts for the tests" | tee "$LOG/pg"
fi
tally postgresql 0 "$LOG/pg"
trap 'scripts/pg-test-server.sh stop "$PGDIR" >/dev/null 2>&1' EXIT

step "unit tests (agent, store on SQLite and PostgreSQL, placement, CLI)"
for t in $(find build-san/tests -type f -name 'test_*' -perm -u+x -not -path '*.p/*' | sort); do
	case $t in *.so | *.a) continue ;; esac
	out=$LOG/unit-$(basename "$t")
	"$t" >"$out" 2>&1
	rc=$?
	sed -n 's/^\(not ok\|ok\) [0-9]* - \(.*\)/\1 - unit '"$(basename "$t")"': \2/p' "$out" >"$out.tally"
	grep '^not ok' "$out.tally"
	tally "$(basename "$t")" "$rc" "$out.tally"
	[ "$rc" -ne 0 ] && sed 's/^/# /' "$out" | tail -20
done

step "layers (the agent's; vdcd's decide/ is checked by the build itself)"
if out=$(sh tests/lint/agent_layers.sh src/agent 2>&1); then
	echo "ok - lint agent layers: QMP only in qemu/, no HTTP in vm/" >"$LOG/layers"
else
	{ echo "not ok - lint agent layers"; sed 's/^/# /' <<<"$out"; } | tee "$LOG/layers"
fi
tally layers 0 "$LOG/layers"

step "fuzzing (${FUZZ_SECONDS}s per target)"
if [ -x tests/fuzz/run.sh ]; then
	tests/fuzz/run.sh "$FUZZ_SECONDS" >"$LOG/fuzz" 2>"$LOG/fuzz.err"
	rc=$?
	sed -n 's/^fuzz \(.*\): ok\(.*\)/ok - fuzz \1\2/p; s/^fuzz \(.*\): FAILED\(.*\)/not ok - fuzz \1\2/p' "$LOG/fuzz" >"$LOG/fuzz.tally"
	cat "$LOG/fuzz.tally"
	tally fuzz "$rc" "$LOG/fuzz.tally"
	[ "$rc" -ne 0 ] && tail -30 "$LOG/fuzz.err" | sed 's/^/# /'
fi

step "the CLI against a scripted stand-in for vdcd"
bash tests/cli/t_fake_vdcd.sh build-san/src/cli/vdc tests/cli/fake_vdcd.py >"$LOG/cli" 2>&1
rc=$?
grep -E '^not ok' "$LOG/cli"
tally cli-e2e "$rc" "$LOG/cli"

step "integration tests (real QEMU guests, agents in network namespaces; ${VDC_TEST_JOBS:-$(nproc)} at a time)"
# Its own last line ("N passed, N failed" of these) is left out: the one
# below counts everything.
VDC_AGENT=$PWD/build-san/src/agent/vdc-agent VDC_VDCD=$PWD/build-san/src/manager/vdcd VDC_CACHE=$CACHE \
	VDC_TEST_LOG=$LOG scripts/integration-tests.sh | grep --line-buffered -Ev '^([0-9]+ passed, [0-9]+ failed|logs: .*)$'
rc=${PIPESTATUS[0]}
tally integration "$rc" "$LOG/integration.tally"

echo "logs: $LOG"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
