#!/usr/bin/env bash
# t_ha_watchdog.sh - VM monitoring by the guest's watchdog (issue 14), on
# one namespace host: a protected VM with an emulated i6300esb whose guest
# arms it and then stops petting it (the test guest's vdc.watchdog=N, on
# the variant test-guest-wd whose kernel has the driver) is ended by its
# host's agent as crashed, cause "watchdog"; vdcd restarts it there, saying
# why, at most max_restarts times per window, and then leaves it alone with
# an event that says so. A VM without a watchdog has no such device. Bad
# values are refused naming the field. A stopped VM's watchdog is added and
# removed by a resize. vdcd's /metrics counts the firings.
source "$(dirname "$0")/lib.sh"

# The variant's kernel and initrd (Debian packages, into $CACHE; a no-op
# when up to date): only this test needs it, so it is built here.
if ! "$VDC_ROOT/guest/build-test-guest.sh" "$CACHE" wd >"$TMP/build-wd.log" 2>&1; then
	tail -5 "$TMP/build-wd.log" | sed 's/^/# /'
	not_ok "the watchdog test guest (test-guest-wd) builds"
	finish
	exit 1
fi
shared_up
vdcd_start --heartbeat-timeout-s 30 || { not_ok "vdcd starts"; finish; exit 1; }

# Admission off: with one host, room kept for a host failure would refuse
# every power-on. Two restarts per window, then the VM is left alone.
mapi POST /api/v1/clusters '{"name":"c1","ha":{"enabled":true,"default_priority":"disabled","net_timeout_ms":2000,"lease_ms":5000,"margin_ms":500,"max_restarts":2,"restart_window_s":600,"admission":{"policy":"none"}}}'
check "a cluster with HA on, two restarts per 10 min" test "$STATUS/$(jget "$BODY" .ha.max_restarts)" = 201/2
host_join h1 c1 --datastore "shared=$SHARED" || not_ok "h1 joins"
hosts_connected 1 || not_ok "h1 connects"

mgr_guest_images || not_ok "the test guest's images are imported"
for spec in "wd-kernel kernel test-guest-wd/vmlinuz" "wd-initrd initrd test-guest-wd/initrd.img"; do
	set -- $spec
	mapi POST /api/v1/images "$(jq -nc --arg n "$1" --arg k "$2" --arg p "$3" '{name:$n, kind:$k, format:"raw", import_from:$p}')"
	task_wait "$(jget "$BODY" .task.id)" 120
	check "the watchdog guest's $2 is imported" test "$TASK_STATE" = succeeded
done
# The guest pets its watchdog 3 times, then stops: it fires ~4 s later.
mapi POST /api/v1/templates '{"name":"wd","image":"guest-disk","kernel":"wd-kernel","initrd":"wd-initrd","cmdline":"console=ttyS0 quiet panic=-1 vdc.watchdog=3","vcpus":1,"memory_mib":192}'
check "a template of the watchdog guest" test "$STATUS" = 201
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'

# ---- bad values: 400 naming the field, nothing made ------------------------
for bad in '"ib700"' '"i6300esb,id=x"' '"I6300ESB"' '""' 'true' '7' '["i6300esb"]' '{"model":"i6300esb"}'; do
	mapi POST /api/v1/vms "{\"name\":\"bad\",\"template\":\"wd\",\"watchdog\":$bad,\"start\":false}"
	check "watchdog $bad is refused naming the field" \
		test "$STATUS/$(jget "$BODY" .error.field)" = 400/watchdog
done
mapi GET /api/v1/vms/bad
check "... and no VM was made" test "$STATUS" = 404
mapi POST '/api/v1/vms?dry_run=1' '{"name":"bad","template":"wd","watchdog":"ib700"}'
check "a dry run refuses it the same way" test "$STATUS/$(jget "$BODY" .error.field)" = 400/watchdog


# ---- a VM without a watchdog has none ---------------------------------------
mapi POST /api/v1/vms '{"name":"plain","template":"tiny","datastore":"shared","watchdog":null,"start":true}'
task_wait "$(jget "$BODY" .task.id)"
check "a VM with watchdog null starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/plain
PLAIN=$(jget "$BODY" .id)
check "... its config has no watchdog" test "$(jget "$BODY" '.config.watchdog // "none"')" = none
line=$(qemu_line "$PLAIN")
check "... and its QEMU has no i6300esb and no watchdog action" \
	test -n "$line" -a -z "$(grep -oE 'i6300esb|watchdog=' <<<"$line")"
mapi POST "/api/v1/vms/$PLAIN/resize" '{"watchdog":"i6300esb"}'
check "the watchdog changes only while the VM is stopped: 409" test "$STATUS/$(jget "$BODY" .error.code)" = 409/invalid_state
mapi POST "/api/v1/vms/$PLAIN/stop" '{"timeout_s":30}'
task_wait "$(jget "$BODY" .task.id)" 60
mapi POST "/api/v1/vms/$PLAIN/resize" '{"watchdog":"ib700"}'
check "a resize to another model is refused naming the field" test "$STATUS/$(jget "$BODY" .error.field)" = 400/watchdog
mapi POST "/api/v1/vms/$PLAIN/resize" '{"watchdog":"i6300esb"}'
task_wait "$(jget "$BODY" .task.id)" 60
api h1 GET "/api/v1/vms/$PLAIN"
check "a stopped VM gets a watchdog (vdcd's config and its host's spec)" \
	test "$TASK_STATE/$(vm_field h1 "$PLAIN" .spec.watchdog)/$(mapi GET /api/v1/vms/plain && jget "$BODY" .config.watchdog)" = \
	succeeded/i6300esb/i6300esb
mapi POST "/api/v1/vms/$PLAIN/resize" '{"watchdog":null}'
task_wait "$(jget "$BODY" .task.id)" 60
check "... and loses it again with null" \
	test "$TASK_STATE/$(vm_field h1 "$PLAIN" '.spec.watchdog // "none"')/$(mapi GET /api/v1/vms/plain && jget "$BODY" '.config.watchdog // "none"')" = \
	succeeded/none/none
mapi POST "/api/v1/vms/$PLAIN/resize" '{"watchdog":null}'
check "... a resize to what it is already has nothing to change: 400" test "$STATUS" = 400
# Gone: its CPU is the watched VM's (TCG, 2 cores).
mapi DELETE "/api/v1/vms/$PLAIN?force=true"
task_wait "$(jget "$BODY" .task.id)" 60

# ---- a protected VM whose guest stops petting its watchdog ------------------
mapi POST /api/v1/vms '{"name":"dog","template":"wd","datastore":"shared","watchdog":"i6300esb","ha":{"priority":"high"},"start":true}'
task_wait "$(jget "$BODY" .task.id)"
check "a protected VM with watchdog i6300esb starts" test "$TASK_STATE" = succeeded
mapi GET /api/v1/vms/dog
VM=$(jget "$BODY" .id)
check "... its config keeps the watchdog" test "$(jget "$BODY" .config.watchdog)" = i6300esb
line=$(qemu_line "$VM")
check "... its QEMU has the device, and does nothing itself when it fires" \
	grep -q -- "-device i6300esb,id=watchdog0 .*-action watchdog=none" <<<"$line"
PID1=$(pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $VM( |\$)")
wait_console h1 "$VM" "VDC-WATCHDOG-STOPPED pets=3" 120
check "the guest armed its i6300esb, petted it 3 times and stopped" \
	grep -q "VDC-WATCHDOG-ARMED pets=3" <<<"$BODY"

event_of() { # event_of ACTION ID [OUTCOME]: the newest such event's detail
	mapi GET '/api/v1/events?limit=200'
	jget "$BODY" "[.items[] | select(.action == \"$1\" and .target_id == \"$2\" and .outcome == \"${3:-succeeded}\")] | first | .detail // empty"
}
events_of() { # events_of ACTION ID OUTCOME: how many
	mapi GET '/api/v1/events?limit=200'
	jget "$BODY" "[.items[] | select(.action == \"$1\" and .target_id == \"$2\" and .outcome == \"$3\")] | length"
}
WHY="the guest's watchdog (i6300esb) fired: the guest stopped petting it"
restarted=""
for _ in $(seq 1 300); do
	restarted=$(event_of vm.ha_restart "$VM" accepted)
	[ -n "$restarted" ] && break
	sleep 0.2
done
check "vdcd restarts it on its host, saying why ($restarted)" \
	grep -q "crashed on h1 ($WHY.*restart 1 of at most 2 in 10 min" <<<"$restarted"
check "the agent logged the watchdog and the crash" \
	grep -q "vm_watchdog.*watchdog=i6300esb qemu_action=none" "$(dir_of h1)/agent.log"
mapi GET /api/v1/vms/dog
check "vdcd's last exit: cause watchdog, not clean, the agent's reason" \
	test "$(jget "$BODY" '.last_exit.cause + "/" + (.last_exit.clean | tostring)')" = watchdog/false -a \
	-n "$(jget "$BODY" .last_exit.reason | grep -F "$WHY")"
back=0
for _ in $(seq 1 300); do
	PID2=$(pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $VM( |\$)")
	mapi GET /api/v1/vms/dog
	[ -n "$PID2" ] && [ "$PID2" != "$PID1" ] && [ "$(jget "$BODY" .power_state)" = running ] && back=1 && break
	sleep 0.2
done
check "... and it runs again there, in a new QEMU" test "$back" = 1

# It hangs again each time: the second restart, then none.
gave_up=""
for _ in $(seq 1 900); do
	gave_up=$(event_of vm.ha_monitor "$VM" refused)
	[ -n "$gave_up" ] && break
	sleep 0.2
done
check "after 2 restarts in the window it is left alone, saying so ($gave_up)" \
	grep -q "crashed on h1 ($WHY.*left stopped: restarted 2 times" <<<"$gave_up"
check "... after exactly 2 restarts" test "$(events_of vm.ha_restart "$VM" accepted)" = 2
sleep 2
mapi GET /api/v1/vms/dog
check "... it stays crashed, cause watchdog, and no QEMU runs it" \
	test "$(jget "$BODY" '.power_state + "/" + .last_exit.cause')/$(pgrep -cf "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $VM( |\$)")" = crashed/watchdog/0
check "the agent ended QEMU three times for the watchdog" \
	test "$(grep -c "vm_watchdog.*watchdog=i6300esb" "$(dir_of h1)/agent.log")" = 3
mapi GET /metrics
check "vdcd's /metrics counts the three firings" \
	grep -qx "vdcd_vm_watchdog_fired_total 3" <<<"$BODY"

agent_stop h1 || not_ok "the agent stops cleanly"
finish
