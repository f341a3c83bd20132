#!/usr/bin/env bash
# t_openapi.sh - docs/agent-openapi.yaml and the agent's route table list the
# same (method, path) pairs, so the API description cannot drift.
source "$(dirname "$0")/lib.sh"
routes=$(grep -oE '^\s*\{"(GET|POST|PUT|PATCH|DELETE)", "[^"]+"' "$VDC_ROOT/src/agent/api/api_vms.c" |
	sed -E 's/^\s*\{"([A-Z]+)", "([^"]+)"/\1 \2/' | sort)
documented=$(awk '
	/^  \/[^ ]*:$/ { path = $1; sub(/:$/, "", path); next }
	/^    (get|post|put|patch|delete):/ { m = $1; sub(/:$/, "", m); print toupper(m), path }
	' "$VDC_ROOT/docs/agent-openapi.yaml" | sort)
check "the route table has routes" test "$(wc -l <<<"$routes")" -ge 10
missing=$(comm -23 <(echo "$routes") <(echo "$documented"))
extra=$(comm -13 <(echo "$routes") <(echo "$documented"))
check "every route is documented${missing:+ (missing: $(echo $missing))}" test -z "$missing"
check "every documented route exists${extra:+ (extra: $(echo $extra))}" test -z "$extra"
finish
