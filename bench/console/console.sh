#!/usr/bin/env bash
# console.sh - bench: how long a key typed in a VM's serial console takes to
# come back (the guest's tty echoes it), through vdcd's WebSocket proxy and
# the agent, as a browser's xterm.js would see it. A real vdcd, a host in a
# network namespace and the test guest (its initramfs shell on ttyS0); the
# client is bench/console/ws-console. Prints serial_echo_ms (median),
# serial_echo_p95_ms and serial_echo_max_ms; progress and logs on stderr.
# Needs root (namespaces), like the integration tests whose helpers it uses.
#   console.sh [--build DIR] [--keys N]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
keys=200
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--keys) keys=$2; shift 2 ;;
	*) echo "usage: console.sh [--build DIR] [--keys N]" >&2; exit 2 ;;
	esac
done
export VDC_AGENT=$build/src/agent/vdc-agent VDC_VDCD=$build/src/manager/vdcd
# shellcheck source=../../tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
{
	fabric_up
	vdcd_start || exit 1
	shell_vm_up echo || { echo "console: the VM's shell did not come up" >&2; exit 1; }
} >&2
"$build/bench/console/ws-console" "$MGR_URL/api/v1/vms/echo/console/serial" --cacert "$MGR_CACERT" \
	--token "$ADMIN_TOKEN" --timeout 120 echo "$keys" | grep '^figure '
