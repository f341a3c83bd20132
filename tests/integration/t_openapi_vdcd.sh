#!/usr/bin/env bash
# t_openapi_vdcd.sh - docs/openapi.yaml and vdcd's route table (mgr_routes[]
# in src/manager/api_tasks.c, macros such as INVENTORY(coll) expanded) list
# the same (method, path) pairs, and both OpenAPI descriptions (vdcd's and
# the agent's) pass an OpenAPI linter: Spectral with its spectral:oas
# ruleset, pinned in tests/lint/package-lock.json. A lint error fails the
# test; warnings are shown as "# " lines.
#
# The linter is installed with `npm ci` into $VDC_CACHE/npm (never into the
# work tree) and reused from there: once installed, the test needs no
# network. Needs node (18.18+ or 20.17+) and npm: Debian's nodejs and npm.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

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

routes=$(code_routes "$VDC_ROOT/src/manager/api_tasks.c" | sort)
documented=$(doc_routes "$VDC_ROOT/docs/openapi.yaml" | sort)
nroutes=$(grep -c . <<<"$routes")
check "mgr_routes[] has routes ($nroutes found)" test "$nroutes" -ge 30
unknown=$(sed -n "s/^UNKNOWN-MACRO //p" <<<"$routes")
check "mgr_routes[] uses only macros defined in api_tasks.c${unknown:+ (unknown: $(oneline "$unknown"))}" test -z "$unknown"
dups=$(grep -v "^UNKNOWN-MACRO" <<<"$routes" | uniq -d)
routes=$(grep -v "^UNKNOWN-MACRO" <<<"$routes" | sort -u)
check "mgr_routes[] lists no route twice${dups:+ (twice: $(oneline "$dups"))}" test -z "$dups"
missing=$(comm -23 <(echo "$routes") <(echo "$documented"))
extra=$(comm -13 <(echo "$routes") <(echo "$documented"))
check "every vdcd route is in docs/openapi.yaml${missing:+ (missing: $(oneline "$missing"))}" test -z "$missing"
check "every route of docs/openapi.yaml exists in vdcd${extra:+ (extra: $(oneline "$extra"))}" test -z "$extra"

# --- (b) both descriptions pass the linter ---------------------------------

LINT_SRC=$VDC_ROOT/tests/lint
NPM_DIR=$CACHE/npm

# node_ok: node is a version the pinned linter supports (^18.18 || >=20.17).
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

# lint_install: the linter of tests/lint, installed once per lock file in
# $NPM_DIR/openapi-lint-<hash>; sets LINTER. Needs the npm registry only
# when that directory is not there yet.
lint_install() {
	local sum stage rc
	sum=$(cat "$LINT_SRC/package.json" "$LINT_SRC/package-lock.json" | sha256sum | cut -c1-16)
	LINT_DIR=$NPM_DIR/openapi-lint-$sum
	LINTER=$LINT_DIR/node_modules/@stoplight/spectral-cli/dist/index.js
	[ -f "$LINT_DIR/.installed" ] && [ -f "$LINTER" ] && return 0
	mkdir -p "$NPM_DIR" || return 1
	(
		# One installer at a time; the loser of a race finds it installed.
		flock 9
		[ -f "$LINT_DIR/.installed" ] && [ -f "$LINTER" ] && exit 0
		stage=$(mktemp -d "$NPM_DIR/.stage.XXXXXX") || exit 1
		cp "$LINT_SRC/package.json" "$LINT_SRC/package-lock.json" "$LINT_SRC/.npmrc" "$stage/"
		diag "installing the OpenAPI linter into $LINT_DIR (npm ci)"
		(cd "$stage" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --fetch-retries=1 --fetch-timeout=60000 \
			--cache "$NPM_DIR/_cacache") >"$TMP/npm-ci.log" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ] || [ ! -f "$stage/node_modules/@stoplight/spectral-cli/dist/index.js" ]; then
			diag "npm ci failed (status $rc):"
			tail -25 "$TMP/npm-ci.log" | sed 's/^/#   /'
			rm -rf "$stage"
			exit 1
		fi
		touch "$stage/.installed"
		rm -rf "$LINT_DIR"
		mv "$stage" "$LINT_DIR" || { rm -rf "$stage"; exit 1; }
		# Installs for older lock files are of no more use.
		for old in "$NPM_DIR"/openapi-lint-*; do
			[ "$old" = "$LINT_DIR" ] || rm -rf "$old"
		done
	) 9>"$NPM_DIR/.openapi-lint.lock"
}

# lint FILE: runs the linter on FILE (relative to the repo); passes unless it
# reports an error. Everything it says is shown as "# " lines.
lint() {
	local f=$1 out rc summary
	out=$(cd "$VDC_ROOT" && NO_COLOR=1 node "$LINTER" lint --ruleset "$LINT_SRC/.spectral.yaml" \
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

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	not_ok "node and npm are installed (Debian packages: nodejs npm)"
elif ! node_ok; then
	not_ok "node $(node -p process.versions.node) can run the linter (it needs 18.18+ or 20.17+)"
elif ! lint_install; then
	not_ok "the OpenAPI linter is installed (npm ci in $NPM_DIR)"
else
	diag "linter: @stoplight/spectral-cli $(node -p "require('$LINT_DIR/node_modules/@stoplight/spectral-cli/package.json').version") on node $(node -p process.versions.node)"
	lint docs/openapi.yaml
	lint docs/agent-openapi.yaml
fi
finish
