#!/bin/sh
# bench/sim/sim.sh [--build DIR] [SCENARIO] - the fleet simulator's figure:
# the real time vdc-sim takes to simulate one day of the Azure trace on
# 10,000 hosts with 100,000 VMs (bench/sim/day.scenario), trace reading
# included. The simulator's summary goes to stderr; the figure to stdout:
#   figure sim_day_10k_hosts_s VALUE s
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
if [ "${1:-}" = --build ]; then
	build=$2
	shift 2
fi
scenario=${1:-$here/day.scenario}
sim=$build/src/sim/vdc-sim
[ -x "$sim" ] || { echo "sim.sh: no $sim; build first (meson setup build && ninja -C build)" >&2; exit 1; }
start=$(date +%s.%N)
"$sim" "$scenario" >&2
end=$(date +%s.%N)
echo "$start $end" | awk '{ printf "figure sim_day_10k_hosts_s %.1f s\n", $2 - $1 }'
