#!/usr/bin/env bash
# ui.sh - bench: the web UI in headless Chromium against vdcd on a store of
# 10,000 VMs (seeded by api-seed, hosts on 127.x): a cold first load, from
# the address to a usable inventory after a token sign-in, and the bytes it
# took; the VM list of all of them drawn, and its frames while scrolling
# (bench/ui/ui.mjs); then a key typed in the serial console page to its
# echo drawn, against a real VM (bench/ui/echo.sh, as root). Figures on
# stdout, progress on stderr.
set -euo pipefail

usage() {
	echo "usage: ui.sh [--build DIR] [--vms N] [--runs N] [--keep-tmp]" >&2
	exit 2
}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build vms=10000 runs=5 keep_tmp=0
while [ $# -gt 0 ]; do
	case $1 in
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--vms) [ $# -ge 2 ] || usage; vms=$2; shift 2 ;;
	--runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
	--keep-tmp) keep_tmp=1; shift ;;
	*) usage ;;
	esac
done
build=$(cd "$build" && pwd) # the browser's node finds its modules by an absolute path
vdcd=$build/src/manager/vdcd
seeder=$build/bench/api/api-seed
pgctl=$root/scripts/pg-test-server.sh
chromium=${VDC_CHROMIUM:-/usr/bin/chromium}
BENCH=ui
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
[ -x "$vdcd" ] && [ -x "$seeder" ] || die "build first (scripts/build.sh $build)"
[ -f "$build/ui/index.html" ] || die "no $build/ui: the UI is built by scripts/build.sh $build"
[ -d "$build/ui-src/node_modules/playwright-core" ] || die "no playwright-core in $build/ui-src (scripts/build.sh $build)"
[ -x "$chromium" ] || die "no $chromium (scripts/install-deps.sh installs Debian's chromium)"
command -v node >/dev/null || die "node is not installed"

tmp=$(mktemp -d /tmp/vdc-ui-bench.XXXXXX)
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $vms VMs"
mkdir -p "$tmp/sqlite"
run_child timeout 300 "$seeder" --store "sqlite:$tmp/sqlite/vdcd.db" --out "$tmp/sqlite/vms.txt" --vms "$vms" \
	2>"$tmp/seed.log" || { cat "$tmp/seed.log" >&2; die "seeding failed"; }
# HTTPS, as users reach it: each cold walk pays its TLS handshakes.
# Chromium trusts vdcd's certificate by its public key, as t_ui.sh does.
start_vdcd "sqlite:$tmp/sqlite/vdcd.db" "$tmp/sqlite" https
spki=$(openssl x509 -in "$tmp/sqlite/tls/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
say "vdcd on $base (UI from $build/ui)"
VDC_UI_URL=$base VDC_UI_SPKI=$spki VDC_ADMIN_TOKEN=$token VDC_CHROMIUM=$chromium VDC_UI_MODULES=$build/ui-src/node_modules \
	VDC_UI_PROFILE=$tmp/profile VDC_UI_RUNS=$runs VDC_UI_VMS=$vms run_child node "$root/bench/ui/ui.mjs" || failed=1
stop_vdcd
# The serial console's echo needs a real VM: bench/ui/echo.sh starts its
# own vdcd, a host in a network namespace and the test guest (root only).
if [ "$(id -u)" = 0 ]; then
	run_child "$root/bench/ui/echo.sh" --build "$build" || failed=1
else
	say "serial_echo_ms: needs root (a host in a network namespace and a real guest): bench/ui/echo.sh"
	echo "figure serial_echo_ms nan ms"
fi
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$failed"
