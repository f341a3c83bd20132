#!/usr/bin/env bash
# t_ui.sh - the web UI in a real browser (Debian's chromium driven by
# playwright-core, see ui/tests/e2e.mjs) against a real vdcd over its HTTPS
# and a real agent in a network namespace: sign in, create a VM and see it
# running, stop and delete it; a viewer sees no mutating button and the API
# refuses them anyway; live updates, tasks and cancel, events and charts
# (ui/tests/e2e_live.mjs); the consoles (ui/tests/consoles.mjs): the serial
# console answered by a guest whose shell is on ttyS0, shared by two pages,
# the graphical one drawn and changing with what that shell writes to the
# screen, refused to a viewer and to another project; the same walk at
# phone size (390x844); resource pools (ui/tests/e2e_pools.mjs): a tree of
# pools made, edited and refused on its page, a VM moved between pools, the
# pools in the inventory tree; no console error on any page; axe-core
# finds no serious or critical violation; the UI's headers (CSP, nosniff)
# and routes (client paths, /api/ 404s, no path traversal). Screenshots go to $VDC_TEST_LOG/t_ui-screens (make test's log
# dir) or a /tmp folder that is named at the end.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

CHROMIUM=${VDC_CHROMIUM:-/usr/bin/chromium}
UI_DIR=$(cd "$(dirname "$VDCD")/../.." && pwd)/ui
UI_MODULES=$(cd "$(dirname "$VDCD")/../.." && pwd)/ui-src/node_modules
if [ ! -x "$CHROMIUM" ] || [ ! -f "$UI_DIR/index.html" ] || [ ! -d "$UI_MODULES/playwright-core" ]; then
	not_ok "the UI test has what it needs: $CHROMIUM, $UI_DIR/index.html, $UI_MODULES/playwright-core (scripts/install-deps.sh, scripts/build.sh)"
	finish
	exit 1
fi
SHOTS=${VDC_TEST_LOG:+$VDC_TEST_LOG/t_ui-screens}
SHOTS=${SHOTS:-$(mktemp -d /tmp/vdc-t_ui-screens.XXXXXX)}
mkdir -p "$SHOTS"

fabric_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
ok "vdcd starts and serves the UI from $UI_DIR"

# --- what vdcd answers around the UI, before any browser -------------------
hdrs=$(curl -s -D - -o "$TMP/index.html" --cacert "$MGR_CACERT" "$MGR_URL/" | tr -d '\r')
check "/ is the UI's index.html, not cached" \
	bash -c 'grep -q "^HTTP/1.1 200" <<<"$1" && grep -qi "^Cache-Control: no-cache" <<<"$1" && grep -q "<div id=\"app\">" "$2"' _ "$hdrs" "$TMP/index.html"
check "the UI has a strict Content-Security-Policy (no inline script or style, frame-ancestors 'none')" \
	bash -c "grep -qiE \"^Content-Security-Policy: default-src 'self'; script-src 'self'( 'report-sample')?; style-src 'self'( 'report-sample')?;.*connect-src 'self'.*frame-ancestors 'none'\" <<<\"\$1\" && ! grep -qiE 'unsafe-|nonce-|sha256-' <<<\"\$1\"" _ "$hdrs"
check "index.html has no inline script (the CSP would refuse it)" \
	bash -c '! grep -q "<script>" "$1" && ! grep -qE "<script[^>]*>[^<]" "$1"' _ "$TMP/index.html"
check "answers are nosniff and no-referrer" bash -c 'grep -qi "^X-Content-Type-Options: nosniff" <<<"$1" && grep -qi "^Referrer-Policy: no-referrer" <<<"$1"' _ "$hdrs"
check "the UI is cross-origin isolated (COOP same-origin, COEP require-corp: the serial console's shared ring needs it)" \
	bash -c 'grep -qi "^Cross-Origin-Opener-Policy: same-origin" <<<"$1" && grep -qi "^Cross-Origin-Embedder-Policy: require-corp" <<<"$1"' _ "$hdrs"
# The serial console's ring, under node (no browser).
node "$VDC_ROOT/ui/tests/serial_ring.mjs" >"$TMP/ring.out" 2>&1
cat "$TMP/ring.out"
PASSED=$((PASSED + $(grep -c '^ok ' "$TMP/ring.out")))
FAILED=$((FAILED + $(grep -c '^not ok ' "$TMP/ring.out")))
grep -q '^ok ' "$TMP/ring.out" || not_ok "the serial ring's test ran"
asset=$(grep -o '/assets/[^"]*\.js' "$TMP/index.html" | head -1)
ahdrs=$(curl -s -D - -o "$TMP/asset.gz" -H 'Accept-Encoding: gzip' --cacert "$MGR_CACERT" "$MGR_URL$asset" | tr -d '\r')
check "hashed assets are cached for a year and sent gzipped" \
	bash -c 'grep -qi "^Cache-Control: public, max-age=31536000, immutable" <<<"$1" && grep -qi "^Content-Encoding: gzip" <<<"$1" && gunzip -t "$2"' _ "$ahdrs" "$TMP/asset.gz"
diag "first load (gzip): index $(gzip -9c "$UI_DIR/index.html" | wc -c) B, $(for f in $(grep -oE '/assets/[^"]+' "$TMP/index.html"); do curl -s -H 'Accept-Encoding: gzip' --cacert "$MGR_CACERT" "$MGR_URL$f" | wc -c; done | awk "{s+=\$1} END {print s}") B of assets"
code=$(curl -s -o "$TMP/b" -w '%{http_code} %{content_type}' --cacert "$MGR_CACERT" "$MGR_URL/vms/some-vm")
check "a client-side path gets index.html" test "$code" = "200 text/html; charset=utf-8"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" "$MGR_URL/api/v1/no-such-thing")
check "an unknown /api/ path without a token stays 401" test "$code" = 401
code=$(curl -s -o "$TMP/b" -w '%{http_code}' --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN" "$MGR_URL/api/v1/no-such-thing")
check "an unknown /api/ path stays a JSON 404" test "$code/$(jq -r .error.code "$TMP/b")" = 404/not_found
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" "$MGR_URL/assets/missing.js")
check "a missing asset is 404, not the index page" test "$code" = 404
bad=0
for p in '/../../etc/passwd' '/assets/%2e%2e/%2e%2e/etc/passwd' '/assets/..%2f..%2fetc%2fpasswd' '/.hidden' '/assets//x.js'; do
	code=$(curl -s --path-as-is -o "$TMP/b" -w '%{http_code}' --cacert "$MGR_CACERT" "$MGR_URL$p")
	if [ "$code" = 200 ] && ! grep -q 'id="app"' "$TMP/b"; then bad=1; diag "$p: $code"; fi
	grep -q 'root:' "$TMP/b" && { bad=1; diag "$p served /etc/passwd"; }
done
check "path traversal is refused" test "$bad" = 0

# --- the world the browser walks ---------------------------------------------
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":16,"mem_overcommit":4}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
mgr_guest_template tiny
check "a template for the walk" test "$STATUS" = 201
# A shared ISO in the library for the VM page's CD-ROM section.
mkdir -p "$TMP/ui-iso" && echo vdc >"$TMP/ui-iso/readme.txt"
genisoimage -quiet -V UI_ISO -o "$TMP/ui.iso" "$TMP/ui-iso"
mapi POST /api/v1/images '{"name":"ui-iso","kind":"iso"}'
check "an ISO for the walk" test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" -X PUT \
	-H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/octet-stream' -T "$TMP/ui.iso" \
	"$MGR_URL/api/v1/images/$(jget "$BODY" .id)/file")" = 200
host_join h1 c1 || not_ok "h1 joins"
hosts_connected 1 || not_ok "h1 is connected"
mapi POST /api/v1/projects '{"name":"dev"}'
OPER_PASS='operator-password-1'
VIEW_PASS='viewer-password-1'
mapi POST /api/v1/users "$(jq -nc --arg p "$OPER_PASS" '{name:"olivia", password:$p}')"
mapi POST /api/v1/users "$(jq -nc --arg p "$VIEW_PASS" '{name:"victor", password:$p}')"
mapi POST /api/v1/projects/dev/members '{"user":"olivia","role":"operator"}'
mapi POST /api/v1/projects/dev/members '{"user":"victor","role":"viewer"}'
check "an operator and a viewer of project dev" test "$STATUS" = 201
# The consoles' VM (ui/tests/consoles.mjs): the guest's shell on its serial
# port, and the kernel's console on the screen too (console=tty0), so what
# is typed on the serial console can be drawn on the graphical one.
mgr_guest_template shell "$ADMIN_TOKEN" '.cmdline="console=tty0 console=ttyS0,115200 panic=-1 rdinit=/bin/sh" | .memory_mib=96'
mapi POST /api/v1/vms '{"name":"con-1","template":"shell","project":"dev"}'
CON_TASK=$(jget "$BODY" .task.id)
mapi POST /api/v1/projects '{"name":"other"}'
mapi POST /api/v1/users '{"name":"oscar","password":"oscar-password-1"}'
mapi POST /api/v1/projects/other/members '{"user":"oscar","role":"admin"}'
mapi POST /api/v1/auth/login '{"user":"oscar","password":"oscar-password-1","token_name":"t"}'
OTHER_TOKEN=$(jget "$BODY" .token)
check "an administrator of another project, for the consoles' refusals" test -n "$OTHER_TOKEN"
mapi POST /api/v1/vms '{"name":"shown-to-viewer","template":"tiny","project":"dev","start":false}'
task_wait "$(jget "$BODY" .task.id)"
check "a stopped VM of dev for the viewer to look at" test "$TASK_STATE" = succeeded
# Enough VMs that the search must not list them all: it asks by prefix.
for i in $(seq 1 20); do
	mapi POST /api/v1/vms "{\"name\":\"bulk-$i\",\"template\":\"tiny\",\"project\":\"dev\",\"start\":false}"
done
mapi GET '/api/v1/vms?q=bulk-1&limit=5'
check "?q= lists VMs by name prefix, bounded, saying more match" \
	test "$(jget "$BODY" '[.items[].name] | join(",")')/$(jget "$BODY" .more)" = "bulk-1,bulk-10,bulk-11,bulk-12,bulk-13/true"

# The live walk's VM (ui/tests/e2e_live.mjs): a guest that ignores the
# power button, so that stops hold vdcd's workers and a task waits queued.
# It boots while the other walks run.
mgr_guest_template deaf "$ADMIN_TOKEN" '.cmdline="console=ttyS0 quiet panic=-1 rdinit=/bin/sh"'
mapi POST /api/v1/vms '{"name":"ui-live","template":"deaf","project":"dev"}'
check "the live walk's VM is being made (202)" test "$STATUS" = 202
task_wait "$CON_TASK"
check "the consoles' VM runs" test "$TASK_STATE" = succeeded
check "the consoles' VM has its shell on the serial console" serial_shell_wait con-1

# The migration walk's VM (ui/tests/e2e_migrate.mjs): cluster "mig" of two
# hosts sharing a datastore, their links shaped to 32 MiB/s (a copy long
# enough to be drawn).
SHARED=$TMP/shared
mkdir -p "$SHARED"
chmod 755 "$SHARED"
mapi POST /api/v1/clusters '{"name":"mig","migration":{"link_mib_s":32}}'
for h in m1 m2; do
	mkdir -p "$TMP/fast-$h"
	host_join "$h" mig --datastore "shared=$SHARED" --datastore "fast=$TMP/fast-$h" || not_ok "$h joins cluster mig"
	link_rate "$h" 256mbit
done
hosts_connected 3 || not_ok "m1 and m2 are connected"
mapi POST /api/v1/vms '{"name":"ui-mig","template":"tiny","cluster":"mig","datastore":"shared"}'
task_wait "$(jget "$BODY" .task.id)"
check "the migration walk's VM runs in cluster mig" test "$TASK_STATE" = succeeded

# Chromium trusts vdcd's certificate by its public key (nothing else is
# let through), as an operator would trust vdcd's CA.
SPKI=$(openssl x509 -in "$TMP/vdcd/tls/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
export VDC_UI_URL=$MGR_URL VDC_UI_SPKI=$SPKI VDC_CHROMIUM=$CHROMIUM VDC_UI_MODULES=$UI_MODULES
export VDC_UI_SHOTS=$SHOTS VDC_ADMIN_TOKEN=$ADMIN_TOKEN VDC_UI_PROFILE=$TMP/chromium-profile
export VDC_OPER_PASS=$OPER_PASS VDC_VIEW_PASS=$VIEW_PASS NODE_EXTRA_CA_CERTS=$MGR_CACERT VDC_OTHER_TOKEN=$OTHER_TOKEN
timeout 900 node "$VDC_ROOT/ui/tests/e2e.mjs" 2>"$TMP/e2e.err" | tee "$TMP/e2e.out"
rc=${PIPESTATUS[0]}
PASSED=$((PASSED + $(grep -c '^ok ' "$TMP/e2e.out")))
FAILED=$((FAILED + $(grep -c '^not ok ' "$TMP/e2e.out")))
if [ "$rc" != 0 ] && ! grep -q '^not ok ' "$TMP/e2e.out"; then
	not_ok "the browser walk ran to its end (exit status $rc)"
	tail -20 "$TMP/e2e.err" | sed 's/^/# /'
fi

mapi GET /api/v1/vms/ui-desk
check "the VM made and deleted on the desktop walk is gone" test "$STATUS" = 404
mapi GET /api/v1/vms/ui-phone
check "the VM made and deleted on the phone walk is gone" test "$STATUS" = 404
mapi GET /api/v1/vms/ui-live
check "the live walk's VM is deleted" test "$STATUS" = 404
mapi GET /api/v1/clusters/c1/pools
pools_left=$STATUS/$(jget "$BODY" '.pools | length')
mapi GET '/api/v1/vms/shown-to-viewer?project=dev'
check "the pools walk left no pool in c1, and the VM it moved at the cluster's root" \
	test "$pools_left/$(jget "$BODY" '.pool_id // "root"')" = 200/0/root
diag "screenshots: $SHOTS"
vdcd_stop || not_ok "vdcd stops cleanly"
finish
