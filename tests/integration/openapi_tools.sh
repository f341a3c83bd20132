# openapi_tools.sh - the OpenAPI tools of tests/lint (Spectral, the linter;
# Prism, a validating proxy), installed with `npm ci` from the pinned lock
# file into $VDC_CACHE/npm (never into the work tree), and Prism put in
# front of vdcd so that every answer of a route walk is checked against
# docs/openapi.yaml by a tool nobody here wrote. Sourced after lib.sh.
#
#   openapi_tools_install   sets TOOLS_DIR, LINTER and PRISM (0, or 1 after
#                           saying why as "# " lines)
#   prism_start [SPEC]      Prism on 127.0.0.1 proxying $MGR_URL, judging by
#                           SPEC (docs/openapi.yaml); sets PRISM_URL
#   papi METHOD PATH [BODY] mapi through Prism (as $ADMIN_TOKEN, "" for no
#                           token): STATUS, BODY, and VIOLATIONS, what Prism
#                           found wrong in the answer ("" when it matches)
#   prism_note ROUTE        adds ROUTE and VIOLATIONS to PRISM_BAD when any
#   prism_stop
# shellcheck shell=bash

TOOLS_SRC=$VDC_ROOT/tests/lint
NPM_DIR=$CACHE/npm
PRISM_BAD=""
PRISM_CALLS=0

# node_ok: node is a version the pinned tools support (^18.18 || >=20.17).
node_ok() {
	local v major minor
	v=$(node -p process.versions.node 2>/dev/null) || return 1
	major=${v%%.*}
	minor=${v#*.}
	minor=${minor%%.*}
	[ "$major" -eq 18 ] && [ "$minor" -ge 18 ] && return 0
	[ "$major" -eq 20 ] && [ "$minor" -ge 17 ] && return 0
	[ "$major" -ge 21 ]
}

openapi_tools_installed() { [ -f "$TOOLS_DIR/.installed" ] && [ -f "$LINTER" ] && [ -f "$PRISM" ]; }

openapi_tools_install() {
	local sum stage rc
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		diag "node and npm are missing (Debian packages: nodejs npm; scripts/install-deps.sh)"
		return 1
	fi
	if ! node_ok; then
		diag "node $(node -p process.versions.node) cannot run the tools (they need 18.18+ or 20.17+)"
		return 1
	fi
	sum=$(cat "$TOOLS_SRC/package.json" "$TOOLS_SRC/package-lock.json" | sha256sum | cut -c1-16)
	TOOLS_DIR=$NPM_DIR/openapi-lint-$sum
	LINTER=$TOOLS_DIR/node_modules/@stoplight/spectral-cli/dist/index.js
	PRISM=$TOOLS_DIR/node_modules/@stoplight/prism-cli/dist/index.js
	if openapi_tools_installed; then
		touch "$TOOLS_DIR" # in use
		return 0
	fi
	mkdir -p "$NPM_DIR" || return 1
	(
		# One installer at a time; the loser of a race finds it installed.
		flock 9
		openapi_tools_installed && exit 0
		stage=$(mktemp -d "$NPM_DIR/.stage.XXXXXX") || exit 1
		cp "$TOOLS_SRC/package.json" "$TOOLS_SRC/package-lock.json" "$TOOLS_SRC/.npmrc" "$stage/"
		diag "installing the OpenAPI tools into $TOOLS_DIR (npm ci)"
		(cd "$stage" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --fetch-retries=1 --fetch-timeout=60000 \
			--cache "$NPM_DIR/_cacache") >"$TMP/npm-ci.log" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ] || [ ! -f "${LINTER/$TOOLS_DIR/$stage}" ] || [ ! -f "${PRISM/$TOOLS_DIR/$stage}" ]; then
			diag "npm ci failed (status $rc), or left out Spectral or Prism:"
			tail -25 "$TMP/npm-ci.log" | sed 's/^/#   /'
			rm -rf "$stage"
			exit 1
		fi
		touch "$stage/.installed"
		rm -rf "$TOOLS_DIR"
		mv "$stage" "$TOOLS_DIR" || { rm -rf "$stage"; exit 1; }
		# Installs for other lock files unused for a day are of no more use
		# (not at once: other work trees may be running tests with them).
		find "$NPM_DIR" -mindepth 1 -maxdepth 1 -name 'openapi-lint-*' ! -path "$TOOLS_DIR" -mmin +1440 \
			-exec rm -rf {} +
	) 9>"$NPM_DIR/.openapi-lint.lock"
	openapi_tools_installed
}

# prism_start: Prism as a proxy in front of vdcd (node trusts vdcd's CA).
# Requests are forwarded whatever they hold (the route walks send wrong
# ones on purpose); every answer is validated against docs/openapi.yaml and
# what does not match comes back in the sl-violations header. 0, or 1
# after saying why.
prism_start() {
	local port i
	port=$(free_port $((20000 + $$ % 20000 + ${PRISM_STARTS:-0})))
	PRISM_STARTS=$((${PRISM_STARTS:-0} + 1))
	openapi_tools_install || return 1
	NODE_EXTRA_CA_CERTS=$MGR_CACERT node "$PRISM" proxy "${1:-$VDC_ROOT/docs/openapi.yaml}" "$MGR_URL" \
		--host 127.0.0.1 --port "$port" --errors=false >>"$TMP/prism.log" 2>&1 &
	echo $! >"$TMP/prism.pid"
	PRISM_URL=http://127.0.0.1:$port
	for i in $(seq 1 300); do
		curl -s -o /dev/null --max-time 1 "$PRISM_URL/healthz" && return 0
		kill -0 "$(cat "$TMP/prism.pid")" 2>/dev/null || break
		sleep 0.1
	done
	diag "Prism did not start:"
	tail -15 "$TMP/prism.log" | sed 's/^/#   /'
	return 1
}

prism_stop() {
	[ -f "$TMP/prism.pid" ] || return 0
	local pid
	pid=$(cat "$TMP/prism.pid")
	kill "$pid" 2>/dev/null
	wait_dead "$pid"
	rm -f "$TMP/prism.pid"
}
trap 'prism_stop; cleanup' EXIT

papi() {
	local method=$1 path=$2 data=${3-}
	local out=$TMP/papi-body
	local args=(-s -o "$out" -D "$out.hdr" -w '%{http_code}' --max-time 60 -X "$method" "$PRISM_URL$path")
	[ -n "${ADMIN_TOKEN:-}" ] && args+=(-H "Authorization: Bearer $ADMIN_TOKEN")
	if [ -n "$data" ]; then
		printf '%s' "$data" >"$out.req"
		args+=(-H 'Content-Type: application/json' --data-binary "@$out.req")
	fi
	STATUS=$(curl "${args[@]}")
	BODY=$(cat "$out")
	PRISM_CALLS=$((PRISM_CALLS + 1))
	# Only the answer's violations: the requests are wrong on purpose.
	VIOLATIONS=$(sed -n 's/^sl-violations: //Ip' "$out.hdr" | tr -d '\r' |
		jq -r '.[]? | select(.location[0] == "response") | "\(.location | join(".")): \(.message)"' 2>/dev/null |
		paste -sd ';')
	[ "$STATUS" = 000 ] && VIOLATIONS="no answer through Prism"
	# Prism's own refusal (it could not forward the call) is not vdcd's answer.
	if grep -qi '^content-type: application/problem+json' "$out.hdr" &&
		jq -e '(.type // "") | startswith("https://stoplight.io/prism/errors")' <<<"$BODY" >/dev/null 2>&1; then
		VIOLATIONS="Prism did not forward the call: $(jq -r .title <<<"$BODY")"
	fi
	return 0
}

prism_note() {
	[ -z "$VIOLATIONS" ] || PRISM_BAD+=" [$1 -> $STATUS: ${VIOLATIONS:0:300}]"
}
