#!/usr/bin/env bash
# t_hostile.sh - the hostile-tenant suite. A project operator with a token,
# working only through the public API (and from inside the guests it may
# boot), tries to leave its tenancy: host files, other tenants' disks and
# consoles, the host's loopback, a vdcd knocked offline, HTTP tricks. Every
# attack must be refused. One world is set up here; each file of
# tests/hostile/ plays one family of attacks against it, and every check
# names its attack: "[ID] what was tried: what must happen".
#
# The world: vdcd (SQLite, HTTPS) on the fabric, host h1 joined, projects
# pa (operator alice, token T_A) and pb (operator bob, token T_B), a
# viewer of pa (vera, T_V), and the admin ($ADMIN_TOKEN).
source "$(dirname "$0")/lib.sh"

# attack ID DESC CMD...: one check of the suite, named by its attack.
attack() {
	local id=$1 desc=$2
	shift 2
	check "[$id] $desc" "$@"
}
# as TOKEN METHOD PATH [BODY]: mapi with another caller's token ("" sends
# no Authorization header at all).
as() {
	local t=$1
	shift
	if [ -z "$t" ]; then
		local out=$TMP/as-body method=$1 path=$2 data=${3-}
		local args=(-s -o "$out" -w '%{http_code}' --max-time 60 -X "$method" --cacert "$MGR_CACERT" "$MGR_URL$path")
		[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
		STATUS=$(curl "${args[@]}")
		BODY=$(cat "$out")
	else
		ADMIN_TOKEN=$t mapi "$@"
	fi
}

fabric_up
# Uploads are bounded (64 MiB here, so a test can pass the bound cheaply).
vdcd_start --heartbeat-timeout-s 30 --image-max-bytes 64M --agent-listen "$MGR_IP:7444" || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":16,"mem_overcommit":4}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
host_join h1 c1 || { not_ok "h1 joins"; finish; exit 1; }
hosts_connected 1
mapi POST /api/v1/projects '{"name":"pa"}'
mapi POST /api/v1/projects '{"name":"pb"}'
for u in alice bob vera; do
	mapi POST /api/v1/users "{\"name\":\"$u\",\"password\":\"password-of-$u\"}"
done
mapi POST /api/v1/projects/pa/members '{"user":"alice","role":"operator"}'
mapi POST /api/v1/projects/pb/members '{"user":"bob","role":"operator"}'
mapi POST /api/v1/projects/pa/members '{"user":"vera","role":"viewer"}'
token_of() { # USER
	mapi POST /api/v1/auth/login "{\"user\":\"$1\",\"password\":\"password-of-$1\",\"token_name\":\"hostile\"}"
	jget "$BODY" .token
}
T_A=$(token_of alice)
T_B=$(token_of bob)
T_V=$(token_of vera)
if [ -z "$T_A" ] || [ -z "$T_B" ] || [ -z "$T_V" ]; then
	not_ok "the tenants sign in"
	finish
	exit 1
fi
ok "the world is up: vdcd, host h1, projects pa and pb with their operators"

for f in "$VDC_ROOT"/tests/hostile/*.sh; do
	[ -e "$f" ] || continue
	# HOSTILE_ONLY=87-guest-agent: one family (while writing it).
	[ -z "${HOSTILE_ONLY:-}" ] || [ "$(basename "$f" .sh)" = "$HOSTILE_ONLY" ] || continue
	diag "attacks: $(basename "$f" .sh)"
	# shellcheck source=/dev/null
	source "$f"
done

finish
