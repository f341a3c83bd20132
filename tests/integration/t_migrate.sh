#!/usr/bin/env bash
# t_migrate.sh - live migration between two namespace hosts that share a
# datastore: first the agents' own steps (listen, send, progress, the
# hand-over QEMU reports), then through vdcd.
source "$(dirname "$0")/lib.sh"

SHARED=$TMP/shared
mkdir -p "$SHARED"
chmod 755 "$SHARED"
fabric_up
for h in h1 h2; do
	host_ns "$h"
	agent_start "$h" --datastore "shared=$SHARED" || { not_ok "agent on $h starts"; finish; exit 1; }
done
ok "two hosts on one fabric, each seeing the shared datastore"
ip1=$(cat "$(dir_of h1)/mgmt_ip")
ip2=$(cat "$(dir_of h2)/mgmt_ip")

# mig_wait HOST VM: until the sender's migration ends; sets MIG_STATUS.
mig_wait() {
	local i
	for i in $(seq 1 600); do
		api "$1" GET "/api/v1/vms/$2/migration"
		MIG_STATUS=$(jget "$BODY" .status)
		case $MIG_STATUS in completed | failed | cancelled) return 0 ;; esac
		sleep 0.1
	done
	return 1
}

# ---- agents alone -------------------------------------------------------
api h1 POST '/api/v1/vms?start=true' "$(guest_spec web1 10.213.0.11)"
check "the VM starts on h1" test "$STATUS/$(jget "$BODY" .state)" = 201/running
check "its guest is ready" wait_console h1 web1 'VDC-GUEST-READY hostname=web1' 60
api h1 GET /api/v1/vms/web1
spec=$(jq -c .spec <<<"$BODY")
uuid=$(jget "$BODY" .uuid)
mac=$(jget "$BODY" '.spec.nics[0].mac')
pid1=$(jget "$BODY" .runtime.pid)
up1=$(guest_req h1 10.213.0.11 uptime | cut -d' ' -f1)

api h2 POST /api/v1/migrations/incoming "$(jq -nc --argjson s "$spec" --arg a "$ip2" '{spec:$s, address:$a}')"
check "h2 listens for the VM (201)" test "$STATUS" = 201
check "h2's VM waits as incoming" test "$(jget "$BODY" .state)" = incoming
uri=$(jget "$BODY" .migration.uri)
check "h2 names where to send it, on its own address" grep -qE "^tcp:$ip2:[0-9]+\$" <<<"$uri"
check "h2 keeps the VM's uuid and MAC" test "$(jget "$BODY" .uuid) $(jget "$BODY" '.spec.nics[0].mac')" = "$uuid $mac"

api h1 POST /api/v1/vms/web1/migrate "$(jq -nc --arg u "$uri" '{uri:$u, downtime_limit_ms:300}')"
check "h1 begins sending (202)" test "$STATUS" = 202
mig_wait h1 web1
check "the migration completes" test "$MIG_STATUS" = completed
check "the sender reports total time and downtime" test "$(jget "$BODY" '(.total_ms > 0) and (.downtime_ms >= 0)')" = true
api h1 GET /api/v1/vms/web1
check "h1's copy is migrated (paused, the guest gone)" test "$(jget "$BODY" .state)" = migrated
api h2 GET /api/v1/vms/web1
check "h2 runs the guest" test "$(jget "$BODY" .state)" = running
check "the guest answers on h2's bridge" test "$(guest_req h2 10.213.0.11 ping)" = pong
up2=$(guest_req h2 10.213.0.11 uptime | cut -d' ' -f1)
check "the guest's uptime continued (same guest, not a reboot)" awk -v a="$up1" -v b="$up2" 'BEGIN{exit !(b > a)}'

api h1 DELETE '/api/v1/vms/web1?force=true&leave_disks=true'
check "h1 lets go of its copy (204)" test "$STATUS" = 204
check "h1's QEMU is gone" proc_dead "$pid1"
check "the guest still answers on h2" test "$(guest_req h2 10.213.0.11 ping)" = pong

api h2 POST /api/v1/migrations/incoming "$(jq -nc --argjson s "$spec" '{spec:$s, address:"not-an-ip"}')"
check "a listen on a name, not an IP, is refused (409 name taken first)" test "$STATUS" = 409

finish
