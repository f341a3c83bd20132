#!/bin/sh
# bench/run.sh [NAME] [ARGS...] - builds the tree, then runs benchmark NAME
# (every benchmark when NAME is omitted) against this checkout's agent and
# the cached test guest. ARGS go to the benchmark; figures go to stdout.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${VDC_CACHE:-/var/cache/vdc}
all="vm-start placement balance history api images scale ui"

names=$all
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	names=$1
	shift
fi

# Build output on stderr: stdout carries only figures.
[ -d "$root/build" ] || meson setup "$root/build" "$root" >&2
ninja -C "$root/build" >&2

for name in $names; do
	case $name in
	vm-start)
		"$root/build/bench/vm-start" --agent "$root/build/src/agent/vdc-agent" \
			--vdcd "$root/build/src/manager/vdcd" \
			--guest "$cache/test-guest" "$@"
		;;
	placement)
		"$root/build/bench/placement/placement" "$@"
		;;
	balance) # pure: one balancing round over 1,000 hosts and 10,000 VMs
		"$root/build/bench/balance/balance" "$@"
		;;
	history) # the demand history: writes for 10,000 VMs, a year's query (SQLite in /tmp)
		"$root/build/bench/history/history" "$@"
		;;
	api)
		"$root/bench/api/api.sh" --build "$root/build" "$@"
		;;
	images)
		"$root/bench/images/images.sh" --build "$root/build" "$@"
		;;
	scale) # creates and start at fleet scale, then a simulated day (bench/sim)
		"$root/bench/scale/scale.sh" --build "$root/build" "$@"
		"$root/bench/sim/sim.sh" --build "$root/build"
		;;
	ui) # the web UI in headless Chromium (its build: scripts/build.sh)
		"$root/scripts/build.sh" build >&2
		"$root/bench/ui/ui.sh" --build "$root/build" "$@"
		;;
	console) # not in $all: needs root (namespaces) and the test guest
		"$root/bench/console/console.sh" --build "$root/build" "$@"
		;;
	migration) # not in $all: needs root (a pool of namespace hosts) and the test guest
		"$root/bench/migration/migration.sh" --build "$root/build" "$@"
		;;
	ha) # not in $all: needs root (a pool of namespace hosts, chattr) and the test guest
		"$root/bench/ha/ha.sh" --build "$root/build" "$@"
		;;
	firmware) # not in $all: needs root (a namespace host) and the disk-booting test guest
		"$root/bench/firmware/firmware.sh" --build "$root/build" "$@"
		;;
	sim) # not in $all: a minute of CPU (bench/sim/sim.sh)
		"$root/bench/sim/sim.sh" --build "$root/build" "$@"
		;;
	*)
		echo "run.sh: no benchmark '$name' (known: $all sim console migration ha firmware)" >&2
		exit 2
		;;
	esac
done
