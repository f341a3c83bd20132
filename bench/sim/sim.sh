#!/usr/bin/env bash
# bench/sim/sim.sh [--build DIR] [SCENARIO] - the fleet simulator's figures:
# the real time vdc-sim takes to simulate one day of the Azure trace on
# 10,000 hosts with 100,000 VMs (bench/sim/day.scenario), trace reading
# included, and the CPU time it used (the real time also counts what other
# programs on a busy machine took from it). The simulator's summary goes to
# stderr; the figures to stdout:
#   figure sim_day_10k_hosts_s VALUE s
#   figure sim_day_10k_hosts_cpu_s VALUE s
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
if [ "${1:-}" = --build ]; then
	build=$2
	shift 2
fi
scenario=${1:-$here/day.scenario}
sim=$build/src/sim/vdc-sim
[ -x "$sim" ] || { echo "sim.sh: no $sim; build first (meson setup build && ninja -C build)" >&2; exit 1; }
TIMEFORMAT='%R %U %S'
exec 3>&2 # the summary: to stderr, past the capture of time's line
times=$( { time "$sim" "$scenario" >&3 2>&3; } 2>&1)
read -r real user sys <<<"$times"
echo "figure sim_day_10k_hosts_s $real s"
awk -v u="$user" -v s="$sys" 'BEGIN { printf "figure sim_day_10k_hosts_cpu_s %.3f s\n", u + s }'
