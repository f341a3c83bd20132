#!/usr/bin/env bash
# echo.sh - bench: serial_echo_ms as a user sees it, in headless Chromium:
# the time from a key typed into the web UI's serial console (xterm.js) to
# its echo drawn in the terminal, through vdcd's WebSocket proxy, the agent
# and the guest's tty (bench/ui/echo.mjs). A real vdcd, a host in a network
# namespace and the test guest (its initramfs shell on ttyS0), as
# bench/console/console.sh sets them up. Needs root (namespaces). Figures on
# stdout, progress on stderr.
#   echo.sh [--build DIR] [--keys N]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
keys=20
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--keys) keys=$2; shift 2 ;;
	*) echo "usage: echo.sh [--build DIR] [--keys N]" >&2; exit 2 ;;
	esac
done
build=$(cd "$build" && pwd) || exit 2
export VDC_AGENT=$build/src/agent/vdc-agent VDC_VDCD=$build/src/manager/vdcd
chromium=${VDC_CHROMIUM:-/usr/bin/chromium}
# shellcheck source=../../tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
{
	fabric_up
	vdcd_start || exit 1
	shell_vm_up echo || { echo "echo: the VM's shell did not come up" >&2; exit 1; }
} >&2
# Chromium trusts vdcd's certificate by its public key, as t_ui.sh does.
spki=$(openssl x509 -in "$TMP/vdcd/tls/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
VDC_UI_URL=$MGR_URL VDC_UI_SPKI=$spki VDC_ADMIN_TOKEN=$ADMIN_TOKEN VDC_CHROMIUM=$chromium \
	VDC_UI_MODULES=$build/ui-src/node_modules VDC_UI_PROFILE=$TMP/profile VDC_ECHO_KEYS=$keys \
	node "$root/bench/ui/echo.mjs"
rc=$?
vdcd_stop >&2
exit "$rc"
