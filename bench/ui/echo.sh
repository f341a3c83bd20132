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
	mapi POST /api/v1/clusters '{"name":"c1"}'
	mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
	mgr_guest_template shell "$ADMIN_TOKEN" '.cmdline="console=ttyS0 panic=-1 rdinit=/bin/sh" | .memory_mib=96'
	host_join h1 c1 || exit 1
	hosts_connected 1
	mapi POST /api/v1/vms '{"name":"echo","template":"shell"}'
	task_wait "$(jget "$BODY" .task.id)"
	[ "$TASK_STATE" = succeeded ] || { echo "echo: the VM did not start" >&2; exit 1; }
	for _ in $(seq 1 150); do
		mapi GET /api/v1/vms/echo/console
		grep -q '#' <<<"$BODY" && break
		sleep 0.2
	done
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
