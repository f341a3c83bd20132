#!/usr/bin/env bash
# t_vdcd_pg.sh - vdcd on PostgreSQL end to end (a throwaway server started
# here): a host joins, a VM is created, placed, started and deleted through
# tasks, and vdcd restarts onto the same database with its inventory intact.
source "$(dirname "$0")/lib.sh"

pgdir=$TMP/pg
url=$("$VDC_ROOT/scripts/pg-test-server.sh" start "$pgdir") || { not_ok "a PostgreSQL server starts"; finish; exit 1; }
trap '"$VDC_ROOT/scripts/pg-test-server.sh" stop "$pgdir" >/dev/null 2>&1; cleanup' EXIT
fabric_up
vdcd_start --store "$url" --heartbeat-timeout-s 6 || { not_ok "vdcd starts on PostgreSQL"; finish; exit 1; }
ok "vdcd starts on PostgreSQL"
check "vdcd says it uses PostgreSQL" grep -q 'store=postgresql' "$TMP/vdcd.log"

mapi POST /api/v1/clusters '{"name":"c1"}'
# The test guest's images go into the library (in PostgreSQL too).
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=160'
check "a template is stored in PostgreSQL" test "$STATUS" = 201
host_join h1 c1 || not_ok "h1 joins"
for _ in $(seq 1 100); do
	mapi GET /api/v1/hosts/h1
	[ "$(jget "$BODY" '.capacity.cpus // empty')" != "" ] && break
	sleep 0.1
done
check "the host joins and heartbeats" test "$(jget "$BODY" .state)" = connected

mapi POST /api/v1/vms '{"name":"p1","template":"tiny"}'
check "VM create answers 202" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)"
check "the create task succeeds" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/p1
check "the VM runs" test "$(jget "$BODY" .power_state)" = running

vdcd_stop
vdcd_start --store "$url" --heartbeat-timeout-s 6
mapi GET /api/v1/vms/p1
check "after a restart the inventory is intact" test "$STATUS/$(jget "$BODY" .power_state)" = 200/running
mapi DELETE "/api/v1/vms/p1?force=true"
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/p1
check "the VM is deleted" test "$STATUS" = 404
check "vdcd stops cleanly (exit 0)" vdcd_stop
finish
