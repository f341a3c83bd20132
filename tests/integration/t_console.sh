#!/usr/bin/env bash
# t_console.sh - a VM's live consoles through vdcd, with the real test guest
# (its initramfs shell on the serial port: rdinit=/bin/sh) and a real
# WebSocket client (bench/console/ws-console, wslay):
#  - a ticket (POST /api/v1/vms/{id}/console/ticket) opens the serial
#    console as a browser would (ticket as subprotocol); a command typed
#    there is answered by the guest; a bearer token works too (scripts);
#  - two viewers at once both see what the guest prints;
#  - the graphical console: RFB greeting, handshake as a shared client, a
#    full framebuffer update that is not all one colour;
#  - refused: no ticket, a used ticket, an expired one, a ticket of another
#    kind or another VM, another project's VM (tenant), a viewer, a ticket in
#    the URL (ignored: 401), a plain GET (426), a VM that is not running;
#  - the ticket never reaches vdcd's log.
source "$(dirname "$0")/lib.sh"

WS=${VDC_WS_CONSOLE:-$(dirname "$VDCD")/../../bench/console/ws-console}
[ -x "$WS" ] || { not_ok "the WebSocket client is built ($WS)"; finish; exit 1; }

as() { local t=$1; shift; ADMIN_TOKEN=$t mapi "$@"; }
# ws [ws-console args...]: the client against vdcd; sets WS_OUT and WS_RC.
ws() {
	local path=$1
	shift
	WS_OUT=$("$WS" "$MGR_URL$path" --cacert "$MGR_CACERT" "$@" 2>&1)
	WS_RC=$?
}
ticket() { # ticket TOKEN VM KIND: sets TICKET (and STATUS, BODY)
	as "$1" POST "/api/v1/vms/$2/console/ticket" "{\"kind\":\"$3\"}"
	TICKET=$(jget "$BODY" '.ticket // empty')
}

fabric_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":16,"mem_overcommit":4}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
# The guest's shell as PID 1 on ttyS0: what a console user types runs.
mgr_guest_template shell "$ADMIN_TOKEN" '.cmdline="console=ttyS0,115200 panic=-1 rdinit=/bin/sh" | .memory_mib=96'
check "a template whose guest has a shell on its serial console" test "$STATUS" = 201
host_join h1 c1 || not_ok "h1 joins"
hosts_connected 1

mapi POST /api/v1/projects '{"name":"pa"}'
mapi POST /api/v1/projects '{"name":"pb"}'
for u in carol vic mallory; do
	mapi POST /api/v1/users "{\"name\":\"$u\",\"password\":\"$u-password-1\"}"
done
mapi POST /api/v1/projects/pa/members '{"user":"carol","role":"operator"}'
mapi POST /api/v1/projects/pa/members '{"user":"vic","role":"viewer"}'
mapi POST /api/v1/projects/pb/members '{"user":"mallory","role":"admin"}'
login() {
	mapi POST /api/v1/auth/login "{\"user\":\"$1\",\"password\":\"$1-password-1\",\"token_name\":\"t\"}"
	jget "$BODY" .token
}
T_CAROL=$(login carol)
T_VIC=$(login vic)
T_MAL=$(login mallory)

as "$T_CAROL" POST /api/v1/vms '{"name":"c1","template":"shell","project":"pa"}'
check "carol creates a VM in pa (202)" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)"
as "$T_CAROL" POST /api/v1/vms '{"name":"c2","template":"shell","project":"pa","start":false}'
task_wait "$(jget "$BODY" .task.id)"
as "$T_MAL" POST /api/v1/vms '{"name":"m1","template":"shell","project":"pb","start":false}'
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/vms/c1
C1=$(jget "$BODY" .id)
check "c1 runs" test "$(jget "$BODY" .power_state)" = running
mapi GET /api/v1/vms/c2
C2=$(jget "$BODY" .id)
mapi GET /api/v1/vms/m1
M1=$(jget "$BODY" .id)
serial_shell_wait "$C1"

# --- the serial console -----------------------------------------------------
ticket "$T_CAROL" "$C1" serial
check "an operator gets a serial ticket (201, 30 s, its path)" \
	test "$STATUS/$(jget "$BODY" .kind)/$(jget "$BODY" .path)" = "201/serial//api/v1/vms/$C1/console/serial" -a -n "$TICKET"
word=hello-$RANDOM$RANDOM
ws "/api/v1/vms/$C1/console/serial" --ticket "$TICKET" serial "echo $word-\$((6*7))\\r" "$word-42"
check "a command typed on the serial console (ticket as subprotocol) is answered by the guest" \
	test "$WS_RC" = 0
grep -q '^protocol binary$' <<<"$WS_OUT"
check "vdcd answers the 'binary' subprotocol, never the ticket" test $? = 0
[ "$WS_RC" = 0 ] || diag "client: $(tail -c 400 <<<"$WS_OUT")"
ws "/api/v1/vms/$C1/console/serial" --ticket "$TICKET" handshake
check "a ticket is used up by its first stream (401 ticket_invalid)" \
	test "$(head -1 <<<"$WS_OUT")/$(sed -n 2p <<<"$WS_OUT" | jq -r .error.code)" = "status 401/ticket_invalid"
ws "/api/v1/vms/c1/console/serial" --token "$T_CAROL" serial "echo token-\$((40+2))\\r" "token-42"
check "a bearer token opens the console too (scripts; the VM by name)" test "$WS_RC" = 0
[ "$WS_RC" = 0 ] || diag "client: $(tail -c 400 <<<"$WS_OUT")"

# Two viewers at once: both see what the guest prints.
word2=both-$RANDOM
ws1=$TMP/ws1.out
ws2=$TMP/ws2.out
"$WS" "$MGR_URL/api/v1/vms/$C1/console/serial" --cacert "$MGR_CACERT" --token "$T_CAROL" --timeout 20 watch "$word2-ok" >"$ws1" 2>&1 &
p1=$!
"$WS" "$MGR_URL/api/v1/vms/$C1/console/serial" --cacert "$MGR_CACERT" --token "$T_CAROL" --timeout 20 watch "$word2-ok" >"$ws2" 2>&1 &
p2=$!
for _ in $(seq 1 100); do
	grep -q ready "$ws1" 2>/dev/null && grep -q ready "$ws2" 2>/dev/null && break
	sleep 0.05
done
ws "/api/v1/vms/$C1/console/serial" --token "$T_CAROL" serial "echo $word2-o\${x}k\\r" "$word2-ok"
wait "$p1"; rc1=$?
wait "$p2"; rc2=$?
check "three viewers share the serial console: the two watching see the third's command's output" \
	test "$WS_RC/$rc1/$rc2" = 0/0/0
[ "$WS_RC/$rc1/$rc2" = 0/0/0 ] || diag "viewers: $WS_RC/$rc1/$rc2: $(tail -c 200 "$ws1")"
grep -rqa --include=console.log "$word2-ok" "$(dir_of h1)/st"
check "the console log keeps what the guest printed while viewers watched" test $? = 0

# Streams whose client went away are closed on both sides (libmicrohttpd
# 0.9.75 does not say so through the relayed socket): more streams opened
# and dropped than a VM takes viewers (16) leave the console usable.
"$WS" "$MGR_URL/api/v1/vms/$C1/console/serial" --cacert "$MGR_CACERT" --token "$T_CAROL" --timeout 60 watch never >/dev/null 2>&1 &
pk=$!
sleep 2
kill -9 "$pk"
wait "$pk" 2>/dev/null
for _ in $(seq 1 18); do
	ws "/api/v1/vms/$C1/console/serial" --token "$T_CAROL" handshake
done
sleep 1
ws "/api/v1/vms/$C1/console/serial" --token "$T_CAROL" serial "echo still-\$((1+1))\r" "still-2"
check "a killed client and 18 dropped streams leave no viewer behind: the console still opens" test "$WS_RC" = 0
sleep 1
check "vdcd closed every stream it opened" \
	test "$(grep -c event=console_opened "$TMP/vdcd.log")" = "$(grep -c event=console_closed "$TMP/vdcd.log")"
check "the agent's serial viewers are all gone" \
	test "$(grep event=console_viewer_left "$(dir_of h1)/agent.log" | tail -1 | sed 's/.*viewers=//')" = 0

# The echo of single keys, sent through vdcd to the guest and back.
ws "/api/v1/vms/$C1/console/serial" --token "$T_CAROL" --timeout 60 echo 30
check "single keys echo through the proxy ($(grep serial_echo_ms <<<"$WS_OUT" | cut -d' ' -f3) ms median)" \
	grep -q '^figure serial_echo_ms ' <<<"$WS_OUT"

# --- the graphical console --------------------------------------------------
# At 8 bits a pixel and for a region (QEMU may still send the whole screen
# first: 288 KB, raw); the browser's noVNC is checked in t_ui.sh.
ticket "$T_CAROL" "$C1" vnc
ws "/api/v1/vms/$C1/console/vnc" --ticket "$TICKET" --timeout 60 vnc 100x100
check "the VNC console greets with RFB 003.008" grep -q '^rfb RFB 003.008$' <<<"$WS_OUT"
colors=$(sed -n 's/.* colors \([0-9]*\)$/\1/p' <<<"$WS_OUT")
check "a framebuffer update of the guest's screen comes, not all one colour (${colors:-no} colours)" \
	test "${colors:-0}" -ge 2
[ "${colors:-0}" -ge 2 ] || diag "client: $(tail -c 300 <<<"$WS_OUT")"
# Two graphical viewers at once (QEMU runs VNC force-shared).
"$WS" "$MGR_URL/api/v1/vms/$C1/console/vnc" --cacert "$MGR_CACERT" --token "$T_CAROL" --timeout 60 vnc 64x64 >"$TMP/vnc1" 2>&1 &
p1=$!
"$WS" "$MGR_URL/api/v1/vms/$C1/console/vnc" --cacert "$MGR_CACERT" --token "$T_CAROL" --timeout 60 vnc 64x64 >"$TMP/vnc2" 2>&1 &
p2=$!
wait "$p1"; rc1=$?
wait "$p2"; rc2=$?
check "two graphical viewers at once both get the screen" \
	test "$rc1/$rc2/$(grep -c ' colors ' "$TMP/vnc1" "$TMP/vnc2" | cut -d: -f2 | paste -sd/)" = 0/0/1/1

# --- refusals ---------------------------------------------------------------
ws "/api/v1/vms/$C1/console/serial" --protocols binary handshake
check "no ticket and no token: 401 before the upgrade" test "$(head -1 <<<"$WS_OUT")" = "status 401"
ticket "$T_CAROL" "$C1" serial
ws "/api/v1/vms/$C1/console/serial?ticket=$TICKET" --protocols binary handshake
check "a ticket in the URL is ignored (401)" test "$(head -1 <<<"$WS_OUT")" = "status 401"
ws "/api/v1/vms/$C1/console/vnc" --ticket "$TICKET" handshake
check "a serial ticket does not open the VNC console (403 ticket_mismatch)" \
	test "$(head -1 <<<"$WS_OUT")/$(sed -n 2p <<<"$WS_OUT" | jq -r .error.code)" = "status 403/ticket_mismatch"
ticket "$T_CAROL" "$C2" serial
ws "/api/v1/vms/$C1/console/serial" --ticket "$TICKET" handshake
check "a ticket for another VM is refused (403)" test "$(head -1 <<<"$WS_OUT")" = "status 403"
ws "/api/v1/vms/$C2/console/serial" --token "$T_CAROL" handshake
check "a VM that does not run has no console (409 from its host)" test "$(head -1 <<<"$WS_OUT")" = "status 409"
ticket "$T_VIC" "$C1" serial
check "a viewer gets no console ticket (403)" test "$STATUS" = 403 -a -z "$TICKET"
ws "/api/v1/vms/$C1/console/serial" --token "$T_VIC" handshake
check "a viewer's token does not open the console either (403)" test "$(head -1 <<<"$WS_OUT")" = "status 403"
ticket "$T_MAL" "$C1" serial
check "another project's admin gets no ticket for pa's VM (404)" test "$STATUS" = 404
ticket "$T_MAL" "$M1" serial
ws "/api/v1/vms/$C1/console/serial" --ticket "$TICKET" handshake
check "mallory's ticket (for her own VM) does not open pa's VM (404)" test "$(head -1 <<<"$WS_OUT")" = "status 404"
ws "/api/v1/vms/$C1/console/serial" --token "$T_MAL" handshake
check "mallory's token does not open pa's VM (404)" test "$(head -1 <<<"$WS_OUT")" = "status 404"
ticket "$T_CAROL" "$C1" serial
ws "/api/v1/vms/$C1/console/serial" --ticket "$TICKET" --protocols "vdc-ticket.$TICKET" handshake
check "a handshake that does not offer 'binary' is 400" test "$(head -1 <<<"$WS_OUT")" = "status 400"
curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" -H "Authorization: Bearer $T_CAROL" \
	"$MGR_URL/api/v1/vms/$C1/console/serial" >"$TMP/plain"
check "a plain GET of a console stream is 426 upgrade_required" test "$(cat "$TMP/plain")" = 426
as "$T_CAROL" POST "/api/v1/vms/$C1/console/ticket" '{"kind":"ssh"}'
check "a ticket of an unknown kind is 400 naming kind" test "$STATUS/$(jget "$BODY" .error.field)" = 400/kind
ticket "$T_CAROL" "$C1" serial
old=$TICKET
sleep 31
ws "/api/v1/vms/$C1/console/serial" --ticket "$old" handshake
check "an expired ticket (30 s) is refused (401)" test "$(head -1 <<<"$WS_OUT")" = "status 401"
check "no ticket ever reaches vdcd's log" bash -c "! grep -q vdck_ '$TMP/vdcd.log'"

# The guest powers itself off: the VM's last exit, from the heartbeat,
# names the guest (not a stop anyone asked for).
ws "/api/v1/vms/$C1/console/serial" --token "$T_CAROL" serial "\rpoweroff -f\r" "Power down" # a fresh line: an earlier check left x typed on this one
for _ in $(seq 1 100); do
	mapi GET "/api/v1/vms/$C1"
	[ "$(jget "$BODY" .last_exit.cause)" = guest_poweroff ] && break
	sleep 0.2
done
check "a guest's own poweroff shows as the VM's last exit: guest_poweroff, stopped, clean" \
	test "$(jget "$BODY" '"\(.last_exit.cause)/\(.power_state)/\(.last_exit.clean)"')" = guest_poweroff/stopped/true
diag "last exit: $(jq -c .last_exit <<<"$BODY"), power state $(jget "$BODY" .power_state); the console said: $(tail -c 300 <<<"$WS_OUT" | tr -d "\r" | tr "\n" " ")"
vdcd_stop
check "vdcd stops cleanly after the console streams" test $? = 0
agent_stop h1
check "the agent stops cleanly after the console streams" test $? = 0
finish
