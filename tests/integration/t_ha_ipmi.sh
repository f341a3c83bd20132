#!/usr/bin/env bash
# t_ha_ipmi.sh - HA with a host stopped through its BMC (issue 14): a real
# IPMI endpoint (ipmi_sim, ipmi_lib.sh) powers h1 off, every process of its
# namespace killed. vdcd, which recorded the BMC's "off" after the host
# went silent, takes it as fenced at once and restarts its protected VM on
# h2, long before the host's lease (set to 30 s here) could have run out.
# Powered on again, h1 comes back, starts nothing by itself, and its stale
# copy of the VM is removed. A monitor never sees two copies run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipmi_lib.sh"
test_cleanup() { bmc_down; }

if ! command -v ipmitool >/dev/null || ! command -v "$IPMI_SIM" >/dev/null; then
	not_ok "ipmitool and ipmi_sim are installed (scripts/install-deps.sh installs ipmitool and openipmi)"
	finish
	exit 1
fi

shared_up
vdcd_start --heartbeat-timeout-s 60 || { not_ok "vdcd starts"; finish; exit 1; }
# Admission off: with one host joined so far, keeping room for a host failure would refuse every power-on.
mapi POST /api/v1/clusters '{"name":"c1","ha":{"enabled":true,"net_timeout_ms":2000,"lease_ms":30000,"admission":{"policy":"none"}}}'
check "a cluster with HA on and a 30 s lease" test "$STATUS/$(jget "$BODY" .ha.lease_ms)" = 201/30000
host_join h1 c1 --datastore "shared=$SHARED" || { not_ok "h1 joins"; finish; exit 1; }
hosts_connected 1 || not_ok "h1 connects"
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'
mapi POST /api/v1/vms '{"name":"vip","template":"tiny","datastore":"shared","ha":{"priority":"high"},"start":true}'
task_wait "$(jget "$BODY" .task.id)"
check "a protected VM starts on h1" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/vip
VM=$(jget "$BODY" .id)
host_join h2 c1 --datastore "shared=$SHARED" || not_ok "h2 joins"
hosts_connected 2 || not_ok "h1 and h2 connect"
H1=$(mapi GET /api/v1/hosts/h1 && jget "$BODY" .id)
H2=$(mapi GET /api/v1/hosts/h2 && jget "$BODY" .id)

PW="Pw$$-ha"
bmc_up h1 vdcadmin "$PW" || { not_ok "ipmi_sim starts as h1's BMC"; finish; exit 1; }
mapi PUT /api/v1/hosts/h1/power-driver "$(jq -nc --arg a "$BMC_ADDR" --argjson p "$BMC_PORT" --arg pw "$PW" \
	'{driver:"ipmi", address:$a, port:$p, username:"vdcadmin", password:$pw}')"
check "h1 has an IPMI power driver" test "$STATUS" = 200

confirmed=0
for _ in $(seq 1 50); do
	mapi GET /api/v1/hosts/h1
	[ "$(jget "$BODY" "(.ha_protected // []) | index(\"$VM\") != null")" = true ] && confirmed=1 && break
	sleep 0.1
done
check "h1 confirmed it fences the VM" test "$confirmed" = 1

python3 "$VDC_ROOT/tests/integration/copies_monitor.py" "$VM" "$TMP/monitor.log" &
MON=$!
sleep 1

T0=$(date +%s.%N)
mapi POST /api/v1/hosts/h1/power '{"action":"off","force":true}'
check "h1 is powered off through its BMC (202)" test "$STATUS" = 202
moved=0
for _ in $(seq 1 300); do
	mapi GET /api/v1/vms/vip
	if [ "$(jget "$BODY" .host_id)" = "$H2" ] && [ "$(jget "$BODY" .power_state)" = running ]; then
		moved=1
		break
	fi
	sleep 0.1
done
T1=$(date +%s.%N)
check "its protected VM runs on h2, $(echo "$T1 - $T0" | bc) s after the power-off (the lease is 30 s)" \
	test "$moved" = 1
mapi GET /api/v1/hosts/h1
check "h1 failed: powered off through its BMC ($(jget "$BODY" .ha.reason))" \
	grep -q "powered off through its BMC" <<<"$(jget "$BODY" .ha.reason)"
check "the power state vdcd recorded is off" test "$(jget "$BODY" .power.state)" = off
check "one QEMU runs the VM" test "$(pgrep -cf "qemu-system-x86_64 .*-uuid $VM( |\$)")" = 1

mapi POST /api/v1/hosts/h1/power '{"action":"on"}'
task_wait "$(jget "$BODY" .task.id)"
check "h1 is powered on again through its BMC" test "$TASK_STATE" = succeeded
gone=0
for _ in $(seq 1 150); do
	api h1 GET "/api/v1/vms/$VM"
	[ "$STATUS" = 404 ] && gone=1 && break
	sleep 0.1
done
check "back, h1's stale copy of the VM is removed" test "$gone" = 1
mapi GET /api/v1/vms/vip
check "... and the VM still runs on h2" test "$(jget "$BODY" .host_id)/$(jget "$BODY" .power_state)" = "$H2/running"

kill "$MON"
wait "$MON" 2>/dev/null
check "the monitor never saw two copies run the guest" test "$(grep -c '^TWO' "$TMP/monitor.log")" = 0
finish
