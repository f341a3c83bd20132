#!/usr/bin/env bash
# t_host_power.sh - host power through a BMC: a real IPMI endpoint
# (openipmi's ipmi_sim on a loopback address, ipmi_lib.sh) whose chassis
# power is the test host's: off kills every process of its namespace, on
# starts its agent again. Through vdcd and the CLI: bad inputs are refused
# naming the field; a project's operator may do none of it (403); status reads on; off with a VM running is refused
# (how many, how to proceed) unless --force; off stops the host's agent
# and its QEMU and the host shows power off, then disconnected; on brings
# the agent back and it heartbeats (connected); cycle restarts it; a wrong
# password is a clear auth error and changes nothing; a BMC that does not
# answer is a clear error within the timeout; the host's page sets the
# driver and reads the state in a browser (ui/tests/e2e_host_power.mjs,
# when the UI is built); the password is never in a GET, a log file, an
# event, the page, or ipmitool's command line (/proc/*/cmdline).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipmi_lib.sh"
test_cleanup() { bmc_down; }

if ! command -v ipmitool >/dev/null || ! command -v "$IPMI_SIM" >/dev/null; then
	not_ok "ipmitool and ipmi_sim are installed (scripts/install-deps.sh installs ipmitool and openipmi)"
	finish
	exit 1
fi

fabric_up
vdcd_start --heartbeat-timeout-s 6 || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":8,"mem_overcommit":2}'
host_join h1 c1 || { not_ok "h1 joins"; finish; exit 1; }
hosts_connected 1 || not_ok "h1 connects"
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'

# The BMC's password: unique to this run, so that finding it anywhere
# means it leaked.
PW="Pw$$-x%q!"
BMC_USER=vdcadmin
bmc_up h1 "$BMC_USER" "$PW" || { not_ok "ipmi_sim starts as h1's BMC"; finish; exit 1; }
diag "h1's BMC: $BMC_ADDR:$BMC_PORT (udp)"
printf '%s\n' "$PW" >"$TMP/bmc.pw"
chmod 600 "$TMP/bmc.pw"
printf '%s\n' "wrong-$$" >"$TMP/bad.pw"

VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP" >/dev/null 2>&1 ||
	not_ok "vdc logs in"

# Every ipmitool command line seen while the test runs, one per line, for
# the check that the password is never on one.
# Bash builtins only: a fork per process would load the machine.
( while :; do
	for f in /proc/[0-9]*/cmdline; do
		mapfile -d '' -n 1 a <"$f" 2>/dev/null || continue
		[ "${a[0]:-}" = ipmitool ] && mapfile -d '' a <"$f" 2>/dev/null && echo "${a[*]}"
	done
	sleep 0.02
done ) >"$TMP/ipmitool-cmdlines" 2>/dev/null &
WATCH=$!
test_cleanup() { kill "$WATCH" 2>/dev/null; bmc_down; }

power() { mapi POST /api/v1/hosts/h1/power "$1"; }
# power_task BODY: POST .../power, then the task's end into BODY (TASK_STATE).
power_task() {
	power "$1"
	[ "$STATUS" = 202 ] || { diag "power $1: $STATUS $BODY"; TASK_STATE=none; return 1; }
	task_wait "$(jget "$BODY" .task.id)" 60
}
driver() {
	jq -nc --arg a "${2:-$BMC_ADDR}" --argjson p "${3:-$BMC_PORT}" --arg u "$BMC_USER" --arg pw "$1" \
		'{driver:"ipmi", address:$a, port:$p, username:$u} + (if $pw == "" then {} else {password:$pw} end)'
}

# ---- refused before anything is set ---------------------------------------
power '{"action":"status"}'
check "power without a driver: 409 no_power_driver, saying how to set one" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(grep -c 'power-driver set' <<<"$(jget "$BODY" .error.message)")" = \
	409/no_power_driver/1

# ---- bad inputs: 400 naming the field -------------------------------------
mapi PUT /api/v1/hosts/h1/power-driver \
	'{"driver":"ipmi","address":"-oProxyCommand=touch /tmp/pwned","username":"u","password":"p"}'
check "address -oProxyCommand...: 400 naming address" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/address
diag "$(jget "$BODY" .error.message)"
mapi PUT /api/v1/hosts/h1/power-driver "$(driver "$PW" "$BMC_ADDR" 70000)"
check "port 70000: 400 naming port" test "$STATUS/$(jget "$BODY" .error.field)" = 400/port
mapi PUT /api/v1/hosts/h1/power-driver '{"driver":"ipmi","address":"10.0.0.5","username":"-E","password":"p"}'
check "username -E: 400 naming username" test "$STATUS/$(jget "$BODY" .error.field)" = 400/username
mapi PUT /api/v1/hosts/h1/power-driver '{"driver":"wol","address":"10.0.0.5","username":"u","password":"p"}'
check "an unknown driver: 400 naming driver" test "$STATUS/$(jget "$BODY" .error.field)" = 400/driver
mapi PUT /api/v1/hosts/h1/power-driver "$(driver "")"
check "no password and none kept: 400 naming password" test "$STATUS/$(jget "$BODY" .error.field)" = 400/password
power '{"action":"reboot"}'
check "action reboot: 400 naming action" test "$STATUS/$(jget "$BODY" .error.field)" = 400/action
vdc host power-driver set h1 --ipmi "$BMC_ADDR:70000" --user u --password-file "$TMP/bmc.pw" >"$TMP/out" 2>&1
check "the CLI refuses --ipmi ADDR:70000 (exit 2)" test $? = 2
vdc host power h1 reboot >"$TMP/out" 2>&1
check "the CLI refuses an unknown action (exit 2)" test $? = 2
mapi GET /api/v1/hosts/h1
check "... and h1 has no power driver" test "$(jget "$BODY" '.power // "none"')" = none

# ---- the driver, through the CLI: the password from a file ------------------
out=$(vdc host power-driver set h1 --ipmi "$BMC_ADDR:$BMC_PORT" --user "$BMC_USER" --password-file "$TMP/bmc.pw" 2>&1)
check "vdc host power-driver set" grep -q "host h1: power driver ipmi $BMC_ADDR:$BMC_PORT (user $BMC_USER) set" <<<"$out"
mapi GET /api/v1/hosts/h1
check "GET host shows power {driver, address, port, username, state}" \
	test "$(jget "$BODY" '.power | [.driver, .address, .port, .username, .state] | join(" ")')" = \
	"ipmi $BMC_ADDR $BMC_PORT $BMC_USER unknown"
check "... and no password" test "$(jget "$BODY" '.power | has("password")')/$(grep -cF -- "$PW" <<<"$BODY")" = false/0

# ---- a project's operator may do none of it ----------------------------------
mapi POST /api/v1/projects '{"name":"pa"}'
mapi POST /api/v1/users '{"name":"olga","password":"olga-password-1"}'
mapi POST /api/v1/projects/pa/members '{"user":"olga","role":"operator"}'
mapi POST /api/v1/auth/login '{"user":"olga","password":"olga-password-1","token_name":"t"}'
OPER=$(jget "$BODY" .token)
refused=""
for call in "POST /api/v1/hosts/h1/power {\"action\":\"off\",\"force\":true}" \
	"PUT /api/v1/hosts/h1/power-driver $(driver "$PW" 10.9.9.9)" "DELETE /api/v1/hosts/h1/power-driver" \
	"GET /api/v1/hosts/h1"; do
	set -- $call
	ADMIN_TOKEN=$OPER mapi "$1" "$2" "${*:3}"
	refused+="$STATUS "
done
check "an operator cannot power h1 off, set or clear its driver, or read it: 403 each" \
	test "$refused" = "403 403 403 403 "
mapi GET /api/v1/hosts/h1
check "... and h1's driver is unchanged" test "$(jget "$BODY" .power.address)/$(agent_alive h1 && echo up)" = "$BMC_ADDR/up"

# ---- status ---------------------------------------------------------------
out=$(vdc host power h1 status 2>&1)
check "vdc host power h1 status: power is on" grep -q "host h1: BMC $BMC_ADDR:$BMC_PORT: power is on" <<<"$out"
[ $? = 0 ] || diag "$out"
mapi GET /api/v1/hosts/h1
check "the host records power_state on, and when" \
	test "$(jget "$BODY" .power.state)/$(jget "$BODY" '.power.checked_at | test("^20[0-9-]+T")')" = on/true
power_task '{"action":"status"}'
check "POST power status: a host.power task that succeeds, result state on" \
	test "$TASK_STATE/$(jget "$BODY" .op)/$(jget "$BODY" .result.state)" = succeeded/host.power/on

# ---- off is refused while a VM runs -----------------------------------------
mapi POST /api/v1/vms '{"name":"v1","template":"tiny","start":true}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a VM runs on h1" test "$TASK_STATE" = succeeded
VM_ID=$(mapi GET /api/v1/vms/v1 && jget "$BODY" .id)
power '{"action":"off"}'
msg=$(jget "$BODY" .error.message)
check "off with a VM running: 409 host_has_vms" test "$STATUS/$(jget "$BODY" .error.code)" = 409/host_has_vms
check "... saying how many, which, and how to proceed" \
	grep -q "still runs 1 VM (v1).*maintenance enter h1.*\"force\": true.*--force" <<<"$msg"
diag "$msg"
vdc host power h1 cycle >"$TMP/out" 2>&1
check "the CLI's cycle is refused too (exit 4), naming --force" \
	test "$?/$(grep -c -- '--force' "$TMP/out")" = 4/1
check "... and h1's agent and the VM's QEMU still run" test "$(agent_alive h1 && echo y)/$(qemu_count "$VM_ID")" = y/1

# ---- a wrong password: a clear auth error, nothing changes -------------------
vdc host power-driver set h1 --ipmi "$BMC_ADDR:$BMC_PORT" --user "$BMC_USER" --password-file "$TMP/bad.pw" >/dev/null 2>&1
out=$(vdc host power h1 off --force 2>&1)
rc=$?
check "off --force with a wrong password fails (exit 1) as an auth error" \
	grep -q "host.power failed (bmc_auth_failed): BMC $BMC_ADDR:$BMC_PORT refused the login of user '$BMC_USER': wrong password" <<<"$out"
[ "$rc" = 1 ] || diag "exit $rc: $out"
check "... and changed nothing: the agent and the VM run" test "$(agent_alive h1 && echo y)/$(qemu_count "$VM_ID")" = y/1
mapi GET /api/v1/hosts/h1
check "... the host keeps power on, with the error" \
	test "$(jget "$BODY" .power.state)/$(jget "$BODY" .power.error.code)" = on/bmc_auth_failed
mapi PUT /api/v1/hosts/h1/power-driver "$(driver "$PW")"
check "the right password again (PUT)" test "$STATUS" = 200

# ---- a BMC that does not answer: a clear error within the timeout ------------
mapi PUT /api/v1/hosts/h1/power-driver "$(driver "" "$BMC_NET.250")"
check "PUT without a password keeps the one stored (200)" test "$STATUS" = 200
t0=$SECONDS
power_task '{"action":"status"}'
took=$((SECONDS - t0))
check "no answer: the task fails as bmc_unreachable, within the 10 s timeout ($took s)" \
	test "$TASK_STATE/$(jget "$BODY" .error.code)/$((took <= 11))" = failed/bmc_unreachable/1
diag "$(jget "$BODY" .error.message)"
mapi PUT /api/v1/hosts/h1/power-driver "$(driver "" "$BMC_NET.250" | jq -c '.timeout_s=2')"
t0=$SECONDS
power_task '{"action":"status"}'
took=$((SECONDS - t0))
check "with timeout_s 2: ipmitool is stopped, bmc_timeout, in about 2 s ($took s)" \
	test "$TASK_STATE/$(jget "$BODY" .error.code)/$((took <= 4))" = failed/bmc_timeout/1
check "... saying so" grep -q "did not answer within 2 s" <<<"$(jget "$BODY" .error.message)"
check "... and no ipmitool is left running" test "$(pgrep -c -x ipmitool)" = 0
mapi PUT /api/v1/hosts/h1/power-driver "$(driver "")"

# ---- off (forced): the host's agent and QEMU die; on brings it back ----------
AGENT0=$(agent_pid h1)
out=$(vdc host power h1 off --force 2>&1)
{ wait "$AGENT0"; } 2>/dev/null # lib.sh started it: reaped here, quietly
check "vdc host power h1 off --force: power is off" grep -q "took power off; power is off now" <<<"$out"
[ $? = 0 ] || diag "$out"
check "... h1's agent is dead" bash -c "! kill -0 $AGENT0 2>/dev/null || ps -o stat= -p $AGENT0 | grep -q Z"
check "... and so is the VM's QEMU" test "$(qemu_count "$VM_ID")" = 0
check "... and nothing runs in h1's namespace" test -z "$(ip netns pids "$(ns_of h1)")"
mapi GET /api/v1/hosts/h1
check "the host shows power_state off" test "$(jget "$BODY" .power.state)" = off
for _ in $(seq 1 150); do
	mapi GET /api/v1/hosts/h1
	[ "$(jget "$BODY" .state)" = disconnected ] && break
	sleep 0.1
done
check "... and becomes disconnected (no heartbeats)" test "$(jget "$BODY" .state)" = disconnected
power_task '{"action":"status"}'
check "status now reads off" test "$TASK_STATE/$(jget "$BODY" .result.state)" = succeeded/off

out=$(vdc host power h1 on 2>&1)
check "vdc host power h1 on: power is on" grep -q "took power on; power is on now" <<<"$out"
check "... h1's agent runs again (a new process)" test "$(agent_alive h1 && echo y)/$([ "$(agent_pid h1)" != "$AGENT0" ] && echo new)" = y/new
for _ in $(seq 1 300); do
	mapi GET /api/v1/hosts/h1
	[ "$(jget "$BODY" .state)" = connected ] && break
	sleep 0.1
done
check "... and heartbeats: h1 is connected" test "$(jget "$BODY" .state)/$(jget "$BODY" .power.state)" = connected/on

# ---- cycle: no VM runs now, so no --force is needed ---------------------------
mapi DELETE /api/v1/vms/v1?force=true
task_wait "$(jget "$BODY" .task.id)" 60
check "v1 (its QEMU gone with the power) is deleted" test "$TASK_STATE" = succeeded
AGENT1=$(agent_pid h1)
power_task '{"action":"cycle"}'
check "cycle: the task succeeds with power on" test "$TASK_STATE/$(jget "$BODY" .result.state)" = succeeded/on
[ "$TASK_STATE" = succeeded ] || diag "$BODY"
check "... with a new agent" test "$(agent_alive h1 && echo y)/$([ "$(agent_pid h1)" != "$AGENT1" ] && echo new)" = y/new
host_connected h1 || host_connected h1
check "... which heartbeats" test "$(jget "$BODY" .state)" = connected

# ---- events and metrics ----------------------------------------------------
mapi GET '/api/v1/events?limit=1000'
for ev in "host.power_driver_set succeeded" "host.power_status succeeded" "host.power_off accepted" \
	"host.power_off refused" "host.power_off succeeded" "host.power_off failed" "host.power_on succeeded" \
	"host.power_cycle succeeded" "host.power succeeded"; do
	set -- $ev
	check "event $1 ($2)" test "$(jq --arg a "$1" --arg o "$2" '[.items[] | select(.action == $a and .outcome == $o)] | length' <<<"$BODY")" -ge 1
done
check "no event carries the password" test "$(grep -cF -- "$PW" <<<"$BODY")" = 0
METRICS=$(curl -s --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN" "$MGR_URL/metrics")
check "/metrics counts power orders" grep -q 'vdcd_host_power_total{action="off",outcome="succeeded"} 1' <<<"$METRICS"

# ---- clear ------------------------------------------------------------------
out=$(vdc host power-driver clear h1 2>&1)
check "vdc host power-driver clear" grep -q "host h1: power driver cleared" <<<"$out"
mapi GET /api/v1/hosts/h1
check "... the host has no power driver" test "$(jget "$BODY" '.power // "none"')" = none
mapi PUT /api/v1/hosts/h1/power-driver "$(driver "")"
check "... and its password is gone (a PUT without one: 400)" test "$STATUS/$(jget "$BODY" .error.field)" = 400/password

# ---- the host's page in a browser: the form, the state, the buttons ----------
UI_DIR=$(cd "$(dirname "$VDCD")/../.." && pwd)/ui
UI_MODULES=$(cd "$(dirname "$VDCD")/../.." && pwd)/ui-src/node_modules
CHROMIUM=${VDC_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ] && [ -f "$UI_DIR/index.html" ] && [ -d "$UI_MODULES/playwright-core" ]; then
	SPKI=$(openssl x509 -in "$TMP/vdcd/tls/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64)
	mapi GET /api/v1/hosts/h1
	VDC_UI_URL=$MGR_URL VDC_UI_SPKI=$SPKI VDC_CHROMIUM=$CHROMIUM VDC_UI_MODULES=$UI_MODULES \
		VDC_ADMIN_TOKEN=$ADMIN_TOKEN VDC_UI_PROFILE=$TMP/chromium-profile VDC_HOST_ID=$(jget "$BODY" .id) \
		VDC_BMC_ADDR=$BMC_ADDR VDC_BMC_PORT=$BMC_PORT VDC_BMC_USER=$BMC_USER VDC_BMC_PW=$PW \
		VDC_UI_SHOTS=${VDC_TEST_LOG:-} NODE_EXTRA_CA_CERTS=$MGR_CACERT \
		timeout 300 node "$VDC_ROOT/ui/tests/e2e_host_power.mjs" 2>"$TMP/e2e.err" | tee "$TMP/e2e.out"
	rc=${PIPESTATUS[0]}
	PASSED=$((PASSED + $(grep -c '^ok ' "$TMP/e2e.out")))
	FAILED=$((FAILED + $(grep -c '^not ok ' "$TMP/e2e.out")))
	if [ "$rc" != 0 ] && ! grep -q '^not ok ' "$TMP/e2e.out"; then
		not_ok "the browser walk ran to its end (exit status $rc)"
		tail -20 "$TMP/e2e.err" | sed 's/^/# /'
	fi
	rm -rf "$TMP/chromium-profile"
else
	diag "the web UI's walk is skipped: no $CHROMIUM, built UI ($UI_DIR) or playwright-core (scripts/build-ui.sh)"
fi

# ---- the password is nowhere it should not be --------------------------------
kill "$WATCH" 2>/dev/null
wait "$WATCH" 2>/dev/null
n=$(sort -u "$TMP/ipmitool-cmdlines" | wc -l)
check "ipmitool ran with -E, the password in its environment ($n command lines seen)" \
	test "$n" -gt 0 -a "$(grep -vc -- ' -E ' "$TMP/ipmitool-cmdlines")" = 0
check "... never on its command line" test "$(grep -cF -- "$PW" "$TMP/ipmitool-cmdlines")" = 0
mapi GET /api/v1/hosts
check "no host list shows it" test "$(grep -cF -- "$PW" <<<"$BODY")" = 0
mapi GET '/api/v1/tasks?op=host.power&limit=1000'
check "no task shows it" test "$(grep -cF -- "$PW" <<<"$BODY")" = 0
# Not the BMC's own files (its lan.conf), the password file, the test's
# own request bodies or vdcd's store (where the secret is kept).
leaks=$(find "$TMP" -type f ! -path "$TMP/vdcd/*" ! -path "*/bmc/*" ! -name bmc.pw ! -name mapi-body.req \
	-exec grep -lF -- "$PW" {} + 2>/dev/null)
check "no log file holds it (vdcd's, the agent's, the CLI's)" test -z "$leaks"
[ -z "$leaks" ] || diag "found in: $leaks"

# ---- removing the host deletes its BMC password too ---------------------------
bmc_secrets() { sqlite3 "$TMP/vdcd/vdcd.db" "SELECT count(*) FROM secrets WHERE kind = 'bmc'"; }
mapi PUT /api/v1/hosts/h1/power-driver "$(driver "$PW")"
before=$(bmc_secrets)
mapi DELETE /api/v1/hosts/h1
check "removing h1 (204) deletes its BMC password from the store ($before before, $(bmc_secrets) after)" \
	test "$STATUS/$before/$(bmc_secrets)" = 204/1/0

check "vdcd stops cleanly" vdcd_stop
finish
