#!/usr/bin/env bash
# t_openapi_vdcd.sh - docs/openapi.yaml and vdcd's route table (mgr_routes[]
# in src/manager/api/routes.c, macros such as INVENTORY(coll) expanded) list
# the same (method, path) pairs, and both OpenAPI descriptions (vdcd's and
# the agent's) pass an OpenAPI linter: Spectral with its spectral:oas
# ruleset, pinned in tests/lint/package-lock.json. A lint error fails the
# test; warnings are shown as "# " lines. Then a live vdcd answers a walk
# of calls through Prism, a validating proxy: any answer that does not match
# docs/openapi.yaml fails a check naming the call (and Prism is first shown
# to catch a broken answer, so a clean walk means something).
#
# The tools are installed with `npm ci` into $VDC_CACHE/npm (never into the
# work tree) and reused from there: once installed, the test needs no
# network. Needs node (18.18+ or 20.17+) and npm: Debian's nodejs and npm.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=openapi_tools.sh
source "$(dirname "$0")/openapi_tools.sh"

# --- (a) the route table and the description list the same routes ---------

# Prints "METHOD PATH" for every entry of mgr_routes[], expanding the
# function-like macros (#define NAME(arg) {"GET", "/api/v1/" arg, ...}, \ ...)
# that the table uses.
code_routes() {
	awk '
	# One route entry {"METHOD", <path: "literals" and arg>, ...} at s; the
	# macro argument (if any) becomes \001. Prints nothing for other text.
	function entry(s, arg,    m, rest, path, tok) {
		if (!match(s, /\{"[A-Z]+",/))
			return ""
		m = substr(s, RSTART + 2, RLENGTH - 4)
		rest = substr(s, RSTART + RLENGTH)
		path = ""
		for (;;) {
			sub(/^[ \t]+/, "", rest)
			if (substr(rest, 1, 1) == "\"") {
				rest = substr(rest, 2)
				path = path substr(rest, 1, index(rest, "\"") - 1)
				rest = substr(rest, index(rest, "\"") + 1)
			} else if (arg != "" && substr(rest, 1, length(arg)) == arg) {
				path = path "\001"
				rest = substr(rest, length(arg) + 1)
			} else {
				break
			}
		}
		return m " " path
	}
	/^#define [A-Za-z_][A-Za-z0-9_]*\(/ {
		name = $2
		sub(/\(.*/, "", name)
		arg = $0
		sub(/^[^(]*\(/, "", arg)
		sub(/\).*/, "", arg)
		inmacro = 1
		nt[name] = 0
	}
	inmacro {
		e = entry($0, arg)
		if (e != "")
			tmpl[name, ++nt[name]] = e
		if ($0 !~ /\\$/)
			inmacro = 0
		next
	}
	/mgr_routes\[\][ \t]*=/ { intable = 1; next }
	intable && /^\};/ { intable = 0 }
	intable {
		e = entry($0, "")
		if (e != "") {
			print e
			next
		}
		if (match($0, /^[ \t]*[A-Za-z_][A-Za-z0-9_]*\("[^"]*"\)/)) {
			call = substr($0, RSTART, RLENGTH)
			sub(/^[ \t]*/, "", call)
			name = call
			sub(/\(.*/, "", name)
			val = call
			sub(/^[^"]*"/, "", val)
			sub(/".*/, "", val)
			if (!(name in nt)) {
				print "UNKNOWN-MACRO " name
				next
			}
			for (i = 1; i <= nt[name]; i++) {
				e = tmpl[name, i]
				gsub(/\001/, val, e)
				print e
			}
		}
	}
	' "$1"
}

# Prints "METHOD PATH" for every operation under paths: (two-space paths,
# four-space methods, as docs/*.yaml are written).
doc_routes() {
	awk '
	/^[^ #]/ { inpaths = ($0 ~ /^paths:/) }
	inpaths && /^  \/[^ ]*:[ \t]*$/ { path = $1; sub(/:$/, "", path); next }
	inpaths && /^    (get|put|post|delete|options|head|patch|trace):/ { m = $1; sub(/:$/, "", m); print toupper(m), path }
	' "$1"
}

# oneline TEXT: its lines joined by spaces.
oneline() { paste -sd" " <<<"$1"; }

routes=$(code_routes "$VDC_ROOT/src/manager/api/routes.c" | sort)
documented=$(doc_routes "$VDC_ROOT/docs/openapi.yaml" | sort)
nroutes=$(grep -c . <<<"$routes")
check "mgr_routes[] has routes ($nroutes found)" test "$nroutes" -ge 30
unknown=$(sed -n "s/^UNKNOWN-MACRO //p" <<<"$routes")
check "mgr_routes[] uses only macros defined in routes.c${unknown:+ (unknown: $(oneline "$unknown"))}" test -z "$unknown"
dups=$(grep -v "^UNKNOWN-MACRO" <<<"$routes" | uniq -d)
routes=$(grep -v "^UNKNOWN-MACRO" <<<"$routes" | sort -u)
check "mgr_routes[] lists no route twice${dups:+ (twice: $(oneline "$dups"))}" test -z "$dups"
missing=$(comm -23 <(echo "$routes") <(echo "$documented"))
extra=$(comm -13 <(echo "$routes") <(echo "$documented"))
check "every vdcd route is in docs/openapi.yaml${missing:+ (missing: $(oneline "$missing"))}" test -z "$missing"
check "every route of docs/openapi.yaml exists in vdcd${extra:+ (extra: $(oneline "$extra"))}" test -z "$extra"

# --- (b) both descriptions pass the linter ---------------------------------

# lint FILE: runs the linter on FILE (relative to the repo); passes unless it
# reports an error. Everything it says is shown as "# " lines.
lint() {
	local f=$1 out rc summary
	out=$(cd "$VDC_ROOT" && NO_COLOR=1 node "$LINTER" lint --ruleset "$TOOLS_SRC/.spectral.yaml" \
		--format stylish --fail-severity error "$f" 2>&1)
	rc=$?
	summary=$(grep -oE '[0-9]+ problems? \([0-9]+ errors?, [0-9]+ warnings?' <<<"$out" | sed 's/ problems* (/: /')
	grep -v '^[[:space:]]*$' <<<"$out" | sed 's/^/# /'
	if [ "$rc" -eq 0 ]; then
		ok "$f passes the OpenAPI linter${summary:+ (${summary#*: })}"
	else
		not_ok "$f passes the OpenAPI linter (status $rc${summary:+; ${summary#*: }})"
	fi
}

if ! openapi_tools_install; then
	not_ok "the OpenAPI tools are installed (npm ci of tests/lint into $NPM_DIR)"
	finish
	exit 1
fi
diag "linter: @stoplight/spectral-cli $(node -p "require('$TOOLS_DIR/node_modules/@stoplight/spectral-cli/package.json').version") on node $(node -p process.versions.node)"
lint docs/openapi.yaml
lint docs/agent-openapi.yaml

# --- (c) vdcd's answers, judged by Prism -----------------------------------
# A live vdcd (no host) behind Prism: every answer must match the spec.

fabric_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
# First Prism itself: against a copy of the spec that wants a field no list
# has, it must report the answer, or a clean walk below would prove nothing.
sed 's/^      required: \[items, next\]$/      required: [items, next, canary]/' "$VDC_ROOT/docs/openapi.yaml" >"$TMP/canary.yaml"
prism_start "$TMP/canary.yaml" || { not_ok "Prism runs in front of vdcd"; finish; exit 1; }
papi GET /api/v1/clusters
check "Prism reports an answer that breaks the spec (a list without 'canary')" grep -q canary <<<"$VIOLATIONS"
prism_stop
prism_start || { not_ok "Prism runs in front of vdcd with docs/openapi.yaml"; finish; exit 1; }
walk() { papi "$@"; prism_note "$1 $2"; }
walk GET /healthz
walk GET /api/v1/ca
walk GET /api/v1/auth/whoami
walk POST /api/v1/users '{"name":"walker","password":"walker-password"}'
check "a user is created through Prism (201)" test "$STATUS" = 201
walk POST /api/v1/users '{"name":"walker","password":"walker-password"}'
check "a duplicate user is 409 name_taken, documented" test "$STATUS/$(jget "$BODY" .error.code)" = 409/name_taken
walk POST /api/v1/users '{"name":"walker"}'
walk POST /api/v1/users '{"name":"x y"}'
walk GET /api/v1/users
walk GET /api/v1/users/walker
walk POST /api/v1/projects '{"name":"p1","quota":{"vms":2}}'
walk POST /api/v1/projects '{"name":"p1"}'
walk POST /api/v1/projects/p1/members '{"user":"walker","role":"operator"}'
walk GET /api/v1/projects/p1/members
walk PUT /api/v1/projects/p1/quota '{"vcpus":4}'
walk GET /api/v1/projects/p1/quota
walk GET /api/v1/projects
walk POST /api/v1/clusters '{"name":"c1"}'
walk POST /api/v1/clusters '{"name":"c1"}'
walk PATCH /api/v1/clusters/c1 '{"cpu_overcommit":8,"policy":"spread","description":"walked"}'
check "a cluster is edited through Prism (200)" test "$STATUS/$(jget "$BODY" .policy)" = 200/spread
walk PATCH /api/v1/clusters/c1 '{"name":"c2"}'
walk POST /api/v1/pools '{"name":"gold","cluster":"c1","mem_reservation_mib":0,"cpu_shares":200}'
walk POST /api/v1/pools '{"name":"gold","cluster":"c1"}'
walk POST /api/v1/pools '{"name":"bad","cluster":"c1","mem_reservation_mib":64,"mem_limit_mib":32}'
walk POST /api/v1/pools '{"name":"bad","cluster":"nowhere"}'
walk PATCH /api/v1/pools/gold '{"cpu_limit_pct":400,"description":"walked"}'
walk PATCH /api/v1/pools/gold '{"mem_limit_mib":null}'
walk GET /api/v1/pools
walk GET /api/v1/pools/gold
walk GET /api/v1/clusters/c1/pools
walk POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
walk GET /api/v1/datastores/local
walk POST /api/v1/networks '{"name":"n1","bridge":"br0"}'
walk GET /api/v1/networks
# The image library: an image made, its file uploaded, one imported (an
# administrator's, from vdcd's import directory), and one refused.
walk POST /api/v1/images '{"name":"up1","kind":"kernel"}'
img_up=$(jget "$BODY" .id)
walk GET "/api/v1/images/$img_up"
walk POST /api/v1/images '{"name":"imp1","import_from":"../etc/shadow"}'
mgr_guest_images || not_ok "the test guest's images are imported"
walk GET /api/v1/images
walk GET /api/v1/images/guest-disk
walk DELETE "/api/v1/images/$img_up"
walk POST /api/v1/templates '{"name":"t0", "image":"/nowhere/x.qcow2"}'
check "a template naming a host path is 400 naming image" test "$STATUS/$(jget "$BODY" .error.field)" = 400/image
walk POST /api/v1/templates "$(jq -nc '{name:"t1", image:"guest-disk", vcpus:1, memory_mib:64}')"
walk GET /api/v1/templates/t1
walk POST /api/v1/projects '{"name":"p2"}'
for p in p1 p2; do
	walk POST /api/v1/templates "$(jq -nc --arg p "$p" '{name:"tb", project:$p, image:"guest-disk", vcpus:1, memory_mib:64}')"
done
check "two projects each have a template 'tb' (201)" test "$STATUS" = 201
walk GET /api/v1/templates/tb
check "GET /templates/tb of the two is 409 ambiguous_name, documented" test "$STATUS/$(jget "$BODY" .error.code)" = 409/ambiguous_name
walk GET '/api/v1/templates/tb?project=p2'
check "... and with ?project=p2 is p2's" test "$STATUS" = 200
walk GET '/api/v1/templates?limit=1'
walk GET "/api/v1/templates?limit=1&after=$(jget "$BODY" .next)"
for p in p1 p2; do walk DELETE "/api/v1/templates/tb?project=$p"; done
walk POST /api/v1/vms '{"name":"v1","template":"t1","start":false}'
check "a VM with no host to go to is 409 with placement's report" test "$STATUS" = 409
walk GET /api/v1/vms
walk POST /api/v1/vms/v1/pool '{"mem_reservation_mib":64}'
walk POST /api/v1/vms/v1/pool '{"pool":"gold"}'
walk POST /api/v1/vms/v1/pool '{"pool":"nowhere"}'
walk DELETE /api/v1/pools/gold
walk GET /api/v1/vms/nothing
walk GET '/api/v1/tasks?op=vm.resize'
walk GET '/api/v1/tasks?op=vm.snapshot_revert'
walk GET /api/v1/hosts
walk POST /api/v1/hosts/join-tokens '{"cluster":"c1"}'
walk POST /api/v1/tokens '{"name":"walk"}'
walk POST /api/v1/tokens '{"name":"walk"}'
walk GET /api/v1/tokens
walk GET '/api/v1/events?limit=50'
walk DELETE /api/v1/templates/t1
walk DELETE /api/v1/networks/n1
walk DELETE /api/v1/users/walker
walk GET /metrics
check "every answer of vdcd matches docs/openapi.yaml ($PRISM_CALLS calls through Prism)${PRISM_BAD:+:$PRISM_BAD}" \
	test -z "$PRISM_BAD"
finish
