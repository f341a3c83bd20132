#!/bin/sh
# run.sh [SECONDS] - builds each libFuzzer harness with ASan+UBSan into
# build-fuzz/ and runs it for SECONDS (default 20) on a scratch copy of its
# seed corpus, FUZZ_JOBS targets at a time (default: one per core). Prints
# one line per target, in a fixed order; exits non-zero if any failed.
# Non-interactive and self-contained, so CI can run it from a clean clone.
set -u

secs=${1:-20}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
out=build-fuzz
mkdir -p "$out"

cc=${CC:-}
if [ -z "$cc" ]; then
	for c in clang clang-14; do
		command -v "$c" >/dev/null 2>&1 && { cc=$c; break; }
	done
fi
if [ -z "$cc" ]; then
	echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi

jansson_cflags=$(pkg-config --cflags jansson 2>/dev/null)
jansson_libs=$(pkg-config --libs jansson 2>/dev/null || echo -ljansson)
cflags="-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
-D_GNU_SOURCE -Isrc/lib -Isrc/agent/daemon -Isrc/agent/qemu -Isrc/agent/vm -Isrc/agent/host -Isrc/agent/api -Isrc/manager/api -Isrc/manager/store $jansson_cflags"

# target: the sources it needs besides its harness.
sources() {
	case $1 in
	vm_spec) echo src/agent/vm/vm_spec.c src/agent/host/pool.c src/agent/qemu/qemu_cmdline.c src/lib/jsonv.c src/lib/boot_order.c ;;
	qmp) echo src/agent/qemu/qmp.c src/agent/qemu/qmp_cmds.c src/lib/fault.c src/lib/log.c src/lib/loop.c ;;
	# config.c checks --manager-ca-fingerprint with tls.c (GnuTLS).
	config) echo src/agent/daemon/config.c src/agent/host/nat_rules.c src/lib/jsonv.c src/lib/flags.c src/lib/tls.c src/lib/url.c src/lib/fsutil.c \
		"$(pkg-config --libs gnutls 2>/dev/null || echo -lgnutls)" ;;
	resources) echo src/manager/api/resources.c src/manager/api/resources_pool.c src/manager/api/resources_ha.c src/lib/jsonv.c src/lib/boot_order.c ;;
	image_format) echo src/lib/image_format.c ;;
	qga_frame) echo src/lib/qga_frame.c ;;
	esac
}

# fuzz_one TARGET: builds and runs one harness; its line (and what went
# wrong) in $out/TARGET.result, exit status 1 when it failed.
fuzz_one() {
	t=$1
	bin=$out/fuzz_$t
	log=$out/$t.log
	res=$out/$t.result
	# shellcheck disable=SC2046,SC2086 # word splitting of flag lists is wanted
	if ! $cc $cflags -o "$bin" tests/fuzz/fuzz_$t.c $(sources $t) $jansson_libs >"$log" 2>&1; then
		{
			echo "fuzz $t: FAILED (build, see $log)"
			sed 's/^/    /' "$log" | tail -20
		} >"$res"
		return 1
	fi
	corpus=$(mktemp -d "$out/corpus-$t.XXXXXX")
	cp tests/fuzz/seeds/$t/* "$corpus"/
	dict=
	[ -f tests/fuzz/$t.dict ] && dict=-dict=tests/fuzz/$t.dict
	# shellcheck disable=SC2086 # $dict is empty or one word
	UBSAN_OPTIONS=print_stacktrace=1 "$bin" -max_total_time="$secs" -timeout=5 \
		-rss_limit_mb=2048 -artifact_prefix="$out/$t-" $dict "$corpus" >>"$log" 2>&1
	rc=$?
	rm -rf "$corpus"
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
		echo "fuzz $t: ok ($runs runs)" >"$res"
	else
		{
			echo "fuzz $t: FAILED (exit $rc; log $log, inputs $out/$t-*)"
			grep -E -A12 'ERROR|property violated|runtime error' "$log" | head -40 | sed 's/^/    /'
		} >"$res"
		return 1
	fi
}

# FUZZ_JOBS targets at a time (default: one per core; each fuzzer is one
# process busy for SECONDS), their lines printed in the targets' order.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in
'' | *[!0-9]*) jobs=0 ;;
esac
[ "$jobs" -ge 1 ] || { echo "FUZZ_JOBS must be a number of 1 or more" >&2; exit 2; }
failed=0
set -- vm_spec qmp config resources image_format qga_frame
while [ $# -gt 0 ]; do
	batch=
	pids=
	n=0
	while [ $# -gt 0 ] && [ "$n" -lt "$jobs" ]; do
		rm -f "$out/$1.result"
		fuzz_one "$1" &
		pids="$pids $!"
		batch="$batch $1"
		n=$((n + 1))
		shift
	done
	for p in $pids; do
		wait "$p" || failed=1
	done
	for t in $batch; do
		cat "$out/$t.result" 2>/dev/null || { echo "fuzz $t: FAILED (no result)"; failed=1; }
	done
done
exit $failed
