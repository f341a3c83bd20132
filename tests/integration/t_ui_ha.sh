#!/usr/bin/env bash
# t_ui_ha.sh - high availability in the web UI (ui/tests/e2e_ha.mjs, in
# Debian's chromium through playwright-core) against a real vdcd and two
# namespace hosts sharing a datastore (as t_ha.sh): cluster c1 with HA off
# and VM vip (project dev) running on one host. In the browser an
# administrator turns HA on in the cluster's HA form (a bad lease refused
# first, naming it), reads the failover capacity and each host's HA state,
# sets vip's restart priority on its page and a readiness probe in its
# resize form (the page shows it ready); an operator of dev is told who
# may change it. Then vip's host crashes (every process of its namespace
# killed, by the walk through $TMP/kill_host): the incident timeline shows
# the failure and the restart, the host's HA badge says failed on the host
# list and page, and vip's page shows its last HA restart. Here, after the
# walk: vip runs on the other host, once. Skipped (with a diagnostic) when
# the UI is not built or chromium or playwright-core is missing, as
# t_host_power.sh's walk is. Screenshots go to $VDC_TEST_LOG when set.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

UI_DIR=$(cd "$(dirname "$VDCD")/../.." && pwd)/ui
UI_MODULES=$(cd "$(dirname "$VDCD")/../.." && pwd)/ui-src/node_modules
CHROMIUM=${VDC_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ] || [ ! -f "$UI_DIR/index.html" ] || [ ! -d "$UI_MODULES/playwright-core" ]; then
	diag "the web UI's HA walk is skipped: no $CHROMIUM, built UI ($UI_DIR) or playwright-core (scripts/build-ui.sh)"
	finish
	exit 0
fi

shared_up
vdcd_start --heartbeat-timeout-s 30 || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
check "cluster c1, HA off" test "$STATUS/$(jget "$BODY" '.ha.enabled // false')" = 201/false
for h in h1 h2; do
	host_join "$h" c1 --datastore "shared=$SHARED" || not_ok "$h joins"
done
hosts_connected 2 || not_ok "two hosts connect"
declare -A HID
for h in h1 h2; do
	mapi GET "/api/v1/hosts/$h"
	HID[$h]=$(jget "$BODY" .id)
done
host_name_of() {
	local h
	for h in h1 h2; do [ "${HID[$h]}" = "$1" ] && echo "$h"; done
}

mapi POST /api/v1/projects '{"name":"dev"}'
OPER_PASS='operator-password-1'
mapi POST /api/v1/users "$(jq -nc --arg p "$OPER_PASS" '{name:"olga", password:$p}')"
mapi POST /api/v1/projects/dev/members '{"user":"olga","role":"operator"}'
check "olga, an operator of project dev" test "$STATUS" = 201
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=96'
mapi POST /api/v1/vms '{"name":"vip","template":"tiny","project":"dev","datastore":"shared","start":true}'
task_wait "$(jget "$BODY" .task.id)"
check "vip runs, its disks on the shared datastore" test "$TASK_STATE" = succeeded
mapi GET '/api/v1/vms/vip?project=dev'
VM=$(jget "$BODY" .id)
FROM=$(host_name_of "$(jget "$BODY" .host_id)")
diag "vip runs on $FROM"

# The walk's crash: every process of a host's namespace.
cat >"$TMP/kill_host" <<EOF
#!/usr/bin/env bash
ip netns pids "vdct$$\$1" | xargs -r kill -9
EOF
chmod 755 "$TMP/kill_host"

SPKI=$(openssl x509 -in "$TMP/vdcd/tls/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
VDC_UI_URL=$MGR_URL VDC_UI_SPKI=$SPKI VDC_CHROMIUM=$CHROMIUM VDC_UI_MODULES=$UI_MODULES \
	VDC_ADMIN_TOKEN=$ADMIN_TOKEN VDC_UI_PROFILE=$TMP/chromium-profile VDC_OPER_PASS=$OPER_PASS \
	VDC_KILL_HOST=$TMP/kill_host VDC_UI_SHOTS=${VDC_TEST_LOG:-} NODE_EXTRA_CA_CERTS=$MGR_CACERT \
	timeout 300 node "$VDC_ROOT/ui/tests/e2e_ha.mjs" 2>"$TMP/e2e.err" | tee "$TMP/e2e.out"
rc=${PIPESTATUS[0]}
PASSED=$((PASSED + $(grep -c '^ok ' "$TMP/e2e.out")))
FAILED=$((FAILED + $(grep -c '^not ok ' "$TMP/e2e.out")))
if [ "$rc" != 0 ] && ! grep -q '^not ok ' "$TMP/e2e.out"; then
	not_ok "the browser walk ran to its end (exit status $rc)"
	tail -20 "$TMP/e2e.err" | sed 's/^/# /'
fi
rm -rf "$TMP/chromium-profile"

# ---- what the walk did, as the API and the hosts tell it ---------------------
mapi GET "/api/v1/hosts/$FROM"
check "$FROM, killed in the walk, is failed and disconnected" \
	test "$(jget "$BODY" .ha.state)/$(jget "$BODY" .state)" = failed/disconnected
mapi GET '/api/v1/vms/vip?project=dev'
TO=$(host_name_of "$(jget "$BODY" .host_id)")
check "vip runs on the other host ($TO), its priority high (set in the walk)" \
	test -n "$TO" -a "$TO" != "$FROM" -a "$(jget "$BODY" .power_state)/$(jget "$BODY" .ha.priority)" = running/high
check "one QEMU runs vip" test "$(qemu_count "$VM")" = 1
mapi GET '/api/v1/events?limit=200'
check "the audit log has vip's priority, set by the administrator in the walk (vm.ha)" \
	test "$(jget "$BODY" '[.items[] | select(.action == "vm.ha" and .target_id == "'"$VM"'")] | length')" -ge 1
vdcd_stop || not_ok "vdcd stops cleanly"
finish
