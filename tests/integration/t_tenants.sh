#!/usr/bin/env bash
# t_tenants.sh - users, roles, projects, tokens and quotas against a real
# vdcd (SQLite) with a real host:
#  - every route of docs/openapi.yaml is called without a token, with an
#    expired and with a revoked token (401), as a viewer for every mutating
#    route (403), and as a member of another project (404 for its objects
#    wherever the same call on one's own object is allowed);
#  - quotas hold under 50 concurrent creates that together exceed them, and
#    the refusal names the quota, the limit and what it would reach;
#  - repeated failed logins slow down and are audit events;
#  - no password, token or hash reaches a log, the audit log or the store;
#  - every answer of vdcd to the calls above (mapi and as) matches
#    docs/openapi.yaml, as Prism, a validating proxy in front of vdcd,
#    judges it: a violation fails a check naming the route.
source "$(dirname "$0")/lib.sh"
# shellcheck source=openapi_tools.sh
source "$(dirname "$0")/openapi_tools.sh"

# as TOKEN METHOD PATH [BODY]: mapi with another caller's token.
as() {
	local t=$1
	shift
	ADMIN_TOKEN=$t mapi "$@"
}

fabric_up
vdcd_start --heartbeat-timeout-s 30 || { not_ok "vdcd starts"; finish; exit 1; }
ok "vdcd starts"
prism_start || { not_ok "Prism, the validating proxy, runs in front of vdcd (npm ci of tests/lint)"; finish; exit 1; }
ok "Prism checks every answer below against docs/openapi.yaml"
# Every call of this test goes through Prism, and what it finds wrong in an
# answer is noted under the route.
mapi() { papi "$@"; prism_note "$1 $2"; }
# prism_clean WHAT: no answer so far violated the spec.
prism_clean() {
	check "every answer of vdcd matches docs/openapi.yaml: $1 ($PRISM_CALLS calls through Prism)${PRISM_BAD:+:$PRISM_BAD}" \
		test -z "$PRISM_BAD"
	PRISM_BAD=""
}

# --- the world: two projects, their users, objects in each ----------------
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":16,"mem_overcommit":4}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
mgr_guest_template tiny
check "an administrator's template is shared (no project)" test "$STATUS/$(jget "$BODY" '.project_id // "none"')" = 201/none
host_join h1 c1 || not_ok "h1 joins"
hosts_connected 1

PASS_ALICE='correct horse battery staple'
PASS_BOB='Tr0ub4dor&3-bob'
mapi POST /api/v1/projects '{"name":"pa","description":"project A"}'
check "a project is created" test "$STATUS" = 201
mapi POST /api/v1/projects '{"name":"pb"}'
mapi POST /api/v1/users "$(jq -nc --arg p "$PASS_ALICE" '{name:"alice", password:$p}')"
check "a user is created, without showing a password hash" \
	test "$STATUS/$(jget "$BODY" .has_password)/$(jget "$BODY" '.password_hash // "none"')" = 201/true/none
mapi POST /api/v1/users "$(jq -nc --arg p "$PASS_BOB" '{name:"bob", password:$p}')"
mapi POST /api/v1/users '{"name":"carol","password":"carol-password-1"}'
mapi POST /api/v1/users '{"name":"short","password":"2short"}'
check "a password under 8 characters is 400 naming password" test "$STATUS/$(jget "$BODY" .error.field)" = 400/password
mapi POST /api/v1/projects/pa/members '{"user":"alice","role":"viewer"}'
check "alice joins pa as a viewer (201)" test "$STATUS" = 201
mapi POST /api/v1/projects/pa/members '{"user":"carol","role":"operator"}'
mapi POST /api/v1/projects/pb/members '{"user":"bob","role":"operator"}'
mapi POST /api/v1/projects/pb/members '{"user":"bob","role":"admin"}'
check "changing a member's role is 200" test "$STATUS/$(jget "$BODY" .role)" = 200/admin
mapi POST /api/v1/projects/pa/members '{"user":"alice","role":"boss"}'
check "an unknown role is 400 naming role" test "$STATUS/$(jget "$BODY" .error.field)" = 400/role

login() { # login USER PASSWORD [TOKEN_NAME]: sets TOK
	mapi POST /api/v1/auth/login "$(jq -nc --arg u "$1" --arg p "$2" --arg n "${3:-t}" '{user:$u, password:$p, token_name:$n}')"
	TOK=$(jget "$BODY" '.token // empty')
}
login alice "$PASS_ALICE"
check "alice signs in with her password and gets a token" test "$STATUS" = 201 -a -n "$TOK"
T_ALICE=$TOK
login bob "$PASS_BOB"
T_BOB=$TOK
login carol carol-password-1
T_CAROL=$TOK
as "$T_ALICE" GET /api/v1/auth/whoami
check "whoami shows alice as viewer of pa" test "$(jget "$BODY" '.user.name + ":" + .projects[0].project + ":" + .projects[0].role')" = alice:pa:viewer

# Objects of pa (made by carol, an operator there) and of pb (by bob).
make_objects() { # TOKEN SUFFIX
	mgr_guest_template "tpl-$2" "$1"
	as "$1" POST /api/v1/images "{\"name\":\"img-$2\"}"
	[ "$STATUS" = 201 ] || diag "image img-$2: $STATUS $BODY"
	[ "$STATUS" = 201 ] || diag "template tpl-$2: $STATUS $BODY"
	as "$1" POST /api/v1/networks "{\"name\":\"net-$2\",\"bridge\":\"br0\"}"
	[ "$STATUS" = 201 ] || diag "network net-$2: $STATUS $BODY"
	as "$1" POST /api/v1/vms "{\"name\":\"vm-$2\",\"template\":\"tpl-$2\",\"start\":false}"
	[ "$STATUS" = 202 ] || diag "vm vm-$2: $STATUS $BODY"
	TASK=$(jget "$BODY" .task.id)
	task_wait "$TASK"
}
make_objects "$T_CAROL" a
TASK_A=$TASK
check "an operator's VM is in their project" test "$(jget "$BODY" .project_id)" != null
make_objects "$T_BOB" b
TASK_B=$TASK
mapi GET /api/v1/vms/vm-a
check "vm-a belongs to pa" test "$(jget "$BODY" .config.project)" = pa
as "$T_CAROL" POST /api/v1/vms/vm-a/snapshots '{"name":"s1"}'
task_wait "$(jget "$BODY" .task.id)"
as "$T_BOB" POST /api/v1/vms/vm-b/snapshots '{"name":"s1"}'
task_wait "$(jget "$BODY" .task.id)"

# Tokens: one expired (its expiry moved into the past in the store, as if
# time had passed), one revoked.
as "$T_ALICE" POST /api/v1/tokens '{"name":"soon-old","ttl_s":60}'
T_EXPIRED=$(jget "$BODY" .token)
sqlite3 "$TMP/vdcd/vdcd.db" "UPDATE tokens SET doc = json_set(doc, '\$.expires_at', 1000) WHERE name LIKE '%/soon-old'"
as "$T_ALICE" POST /api/v1/tokens '{"name":"to-revoke"}'
check "a token is created and shown once (201)" test "$STATUS" = 201 -a -n "$(jget "$BODY" '.token // empty')"
T_REVOKED=$(jget "$BODY" .token)
revoke_id=$(jget "$BODY" .id)
as "$T_REVOKED" GET /api/v1/auth/whoami
check "the new token works" test "$STATUS" = 200
as "$T_ALICE" GET /api/v1/tokens
check "the token list shows names, never secrets or hashes" \
	test "$(jget "$BODY" '[.items[] | select(.token or .secret_hash)] | length')/$(jget "$BODY" '[.items[].name] | index("to-revoke") != null')" = 0/true
as "$T_BOB" DELETE "/api/v1/tokens/$revoke_id"
check "another user's token cannot be revoked (404)" test "$STATUS" = 404
as "$T_ALICE" DELETE "/api/v1/tokens/$revoke_id"
check "alice revokes her token (204)" test "$STATUS" = 204

# --- the route matrix -----------------------------------------------------
# "METHOD PATH" for every operation in docs/openapi.yaml.
mapfile -t ROUTES < <(awk '
	/^  \/[^ ]*:$/ { path = $1; sub(/:$/, "", path); next }
	/^[^ ]/ { path = "" }
	path != "" && /^    (get|post|put|delete|patch):$/ { m = $1; sub(/:$/, "", m); print toupper(m) " " path }
' "$VDC_ROOT/docs/openapi.yaml")
check "the route matrix has the routes of the spec (${#ROUTES[@]})" test "${#ROUTES[@]}" -ge 60
PUBLIC=" GET / | GET /healthz | POST /api/v1/auth/login | POST /api/v1/hosts/join | POST /api/v1/hosts/{id}/heartbeat | POST /api/v1/hosts/{id}/alive | GET /api/v1/ca "
# A viewer changes their own things: tokens and password.
SELF=" POST /api/v1/tokens | DELETE /api/v1/tokens/{id} | POST /api/v1/users/{id}/password "

host_id=$(mapi GET /api/v1/hosts/h1 && jget "$BODY" .id)
# fill PATH SUFFIX: the path with objects of project SUFFIX (a or b).
fill() {
	local p=$1 s=$2 id
	case $p in
	/api/v1/vms/*) id=vm-$s ;;
	/api/v1/templates/*) id=tpl-$s ;;
	/api/v1/images/*) id=img-$s ;;
	/api/v1/networks/*) id=net-$s ;;
	/api/v1/tasks/*) id=$([ "$s" = a ] && echo "$TASK_A" || echo "$TASK_B") ;;
	/api/v1/projects/*) id=p$s ;;
	/api/v1/users/*) id=$([ "$s" = a ] && echo alice || echo bob) ;;
	/api/v1/tokens/*) id=$revoke_id ;;
	/api/v1/clusters/*) id=c1 ;;
	/api/v1/datastores/*) id=local ;;
	/api/v1/hosts/*) id=$host_id ;;
	*) id=x ;;
	esac
	p=${p//\{id\}/$id}
	p=${p//\{snap\}/s1}
	p=${p//\{user\}/$([ "$s" = a ] && echo alice || echo bob)}
	echo "$p"
}
bad_401="" bad_403="" bad_404="" checked_404=0
for r in "${ROUTES[@]}"; do
	m=${r%% *} p=${r#* }
	case $PUBLIC in *" $r "*) continue ;; esac
	path=$(fill "$p" a)
	# A body on every call but GETs (Prism forwards no GET with a body).
	body='{}'
	[ "$m" = GET ] && body=
	for t in "" "$T_EXPIRED" "$T_REVOKED"; do
		as "$t" "$m" "$path" "$body"
		[ "$STATUS" = 401 ] || bad_401+=" [$r ${t:0:8}:$STATUS]"
	done
	if [ "$m" != GET ]; then
		case $SELF in *" $r "*) ;; *)
			as "$T_ALICE" "$m" "$path" "$body"
			[ "$STATUS" = 403 ] || bad_403+=" [$r:$STATUS]"
			;;
		esac
	fi
	# Bob (admin of pb) on pb's object, then on pa's: whatever he may do to
	# his own, pa's must look absent. Deletes are tried on pa's only: a
	# 404 there is the answer, and pb's objects stay for the next routes.
	if [[ $p == *"{"* ]]; then
		own=200
		if [ "$m" = GET ]; then
			as "$T_BOB" GET "$(fill "$p" b)"
			own=$STATUS
		fi
		case $own in 403 | 401) continue ;; esac
		# Clusters and datastores belong to no project: all users read them.
		case $p in /api/v1/clusters/* | /api/v1/datastores/*) continue ;; esac
		as "$T_BOB" "$m" "$path" "$body"
		case $STATUS in 404) checked_404=$((checked_404 + 1)) ;; 403) [[ $p == /api/v1/hosts/* || $p == /api/v1/pools/* || $p == /api/v1/clusters/* || $p == /api/v1/datastores/* || $r == "DELETE /api/v1/users/{id}" || $r == "DELETE /api/v1/projects/{id}" || $r == "PUT /api/v1/projects/{id}/quota" ]] || bad_404+=" [$r:$STATUS]" ;; *) bad_404+=" [$r:$STATUS]" ;; esac
	fi
done
check "every route is 401 without a token, with an expired and with a revoked token${bad_401:+:$bad_401}" test -z "$bad_401"
check "every mutating route is 403 for a viewer${bad_403:+:$bad_403}" test -z "$bad_403"
check "another project's objects are 404 on every route ($checked_404 calls)${bad_404:+:$bad_404}" \
	test -z "$bad_404" -a "$checked_404" -ge 20
prism_clean "the world and the route matrix"

# --- the web UI's routes ----------------------------------------------------
# Public HTML with no data in it: the same bytes whoever asks, with or
# without a token; its client-side paths never reach the API's objects,
# and /api/ paths keep asking for a token (straight to vdcd: Prism knows
# only the API's paths).
ui_get() { curl -s --cacert "$MGR_CACERT" ${1:+-H "Authorization: Bearer $1"} "$MGR_URL$2"; }
same=1
for p in / /vms/vm-a /vms/vm-b /objects/hosts/$host_id /admin/users /tasks /events /vms/vm-a/charts "/hosts/$host_id/charts"; do
	h0=$(ui_get "" "$p" | sha256sum)
	if [ "$h0" != "$(ui_get "$T_ALICE" "$p" | sha256sum)" ] || [ "$h0" != "$(ui_get "$T_BOB" "$p" | sha256sum)" ] ||
		! ui_get "" "$p" | grep -q 'id="app"' || ui_get "$T_BOB" "$p" | grep -q 'vm-a\|"id"'; then
		same=0
		diag "$p is not the same public page for everyone"
	fi
done
check "the web UI's pages are one public HTML for anyone, holding no object (/, /vms/..., /admin/users, /tasks, /events, charts)" test "$same" = 1
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_CACERT" "$MGR_URL/api/v1/vms/vm-a/anything")
check "an unknown /api/ path is still 401 without a token, not the UI" test "$code" = 401
code=$(curl -s -o "$TMP/ui-body" -w '%{http_code}' --cacert "$MGR_CACERT" -H "Authorization: Bearer $T_BOB" "$MGR_URL/api/v1/vms/vm-a/anything")
check "an unknown /api/ path is a JSON 404 with a token" test "$code/$(jq -r .error.code "$TMP/ui-body" 2>/dev/null)" = 404/not_found
code=$(curl -s -o "$TMP/ui-body" -w '%{http_code}' --cacert "$MGR_CACERT" -H "Authorization: Bearer $T_BOB" "$MGR_URL/api/v1/vms?q=vm-")
check "a name search (?q=) lists only the caller's projects' VMs" \
	test "$code/$(jq -r '[.items[].name] | join(",")' "$TMP/ui-body")" = "200/vm-b"
for what in vms templates images networks tasks projects; do
	as "$T_BOB" GET "/api/v1/$what"
	n=$(jget "$BODY" '[.items[] | select((.name // "") | test("-a$|^pa$")) , select(.target_id? == "'"$(mapi GET /api/v1/vms/vm-a >/dev/null; jget "$BODY" .id)"'")] | length')
	check "bob's list of $what shows nothing of pa" test "$n" = 0
done
as "$T_ALICE" GET /api/v1/templates
check "alice sees pa's template and the shared one, not pb's" \
	test "$(jget "$BODY" '[.items[].name] | sort | join(",")')" = "tiny,tpl-a"
as "$T_ALICE" GET /api/v1/vms/vm-a/console
check "a viewer may not read a console (403)" test "$STATUS" = 403
# Live consoles: a ticket is bound to its VM; another project's VM and a
# viewer are refused before any upgrade (t_console.sh has the rest).
WS=${VDC_WS_CONSOLE:-$(dirname "$VDCD")/../../bench/console/ws-console}
as "$T_BOB" POST /api/v1/vms/vm-b/console/ticket '{"kind":"serial"}'
check "bob gets a console ticket for his own VM (201)" test "$STATUS" = 201
ws_status=$("$WS" "$MGR_URL/api/v1/vms/vm-a/console/serial" --cacert "$MGR_CACERT" --ticket "$(jget "$BODY" .ticket)" handshake 2>&1 | head -1)
check "bob's ticket does not open pa's VM's console (404 before the upgrade)" test "$ws_status" = "status 404"
ws_status=$("$WS" "$MGR_URL/api/v1/vms/vm-a/console/vnc" --cacert "$MGR_CACERT" --token "$T_ALICE" handshake 2>&1 | head -1)
check "a viewer's token does not open a console stream (403)" test "$ws_status" = "status 403"

as "$T_ALICE" POST /api/v1/users/alice/password '{"password":"a new long password"}'
check "a viewer changes her own password (204)" test "$STATUS" = 204
as "$T_ALICE" POST /api/v1/users/bob/password '{"password":"a new long password"}'
check "but not another user's (404)" test "$STATUS" = 404
as "$T_CAROL" POST /api/v1/vms '{"name":"x1","template":"tpl-b","start":false}'
check "another project's template cannot be used (400 naming template)" test "$STATUS/$(jget "$BODY" .error.field)" = 400/template
as "$T_CAROL" POST /api/v1/vms '{"name":"x1","template":"tiny","project":"pb","start":false}'
check "nobody creates in a project they are not in (400 naming project)" test "$STATUS/$(jget "$BODY" .error.field)" = 400/project
as "$T_BOB" DELETE /api/v1/projects/pb/members/alice
check "removing a non-member is 404" test "$STATUS" = 404
as "$T_CAROL" POST /api/v1/projects/pa/members '{"user":"bob","role":"viewer"}'
check "an operator may not add members (403)" test "$STATUS" = 403

# --- quotas ---------------------------------------------------------------
mapi POST /api/v1/projects '{"name":"pq","quota":{"vms":5,"vcpus":7}}'
mapi POST /api/v1/projects/pq/members '{"user":"carol","role":"operator"}'
mapi PUT /api/v1/projects/pq/quota '{"memory_mib":4096,"vcpus":null}'
check "a quota is changed in part, null lifting a limit" \
	test "$(jget "$BODY" '"\(.quota.vms)/\(.quota.vcpus)/\(.quota.memory_mib)"')" = 5/null/4096
mapi PUT /api/v1/projects/pq/quota '{"vms":-1}'
check "a negative quota is 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/vms
mapi PUT /api/v1/projects/pq/quota '{"vcpus":7}'
out=$TMP/q
mkdir -p "$out"
pids=()
for i in $(seq 1 50); do
	curl -s -o "$out/b$i" -w '%{http_code}' --max-time 60 -X POST -H "Authorization: Bearer $T_CAROL" \
		-H 'Content-Type: application/json' "${MGR_URL:-http://$MGR_IP:7443}/api/v1/vms" ${MGR_CACERT:+--cacert "$MGR_CACERT"} \
		-d "{\"name\":\"q$i\",\"template\":\"tiny\",\"project\":\"pq\",\"start\":false}" >"$out/s$i" &
	pids+=($!)
done
wait "${pids[@]}" # not a bare wait: vdcd and the agent are children too
accepted=$(cat "$out"/s* | grep -o 202 | wc -l)
refused=$(grep -l quota_exceeded "$out"/b* | wc -l)
others=$(grep -L 'quota_exceeded\|"task"' "$out"/b* | head -3 | xargs -r cat | head -c 600)
[ -z "$others" ] || diag "other answers: $others"
check "50 concurrent creates against a quota of 5 VMs: 5 accepted, 45 refused ($accepted, $refused)" \
	test "$accepted/$refused" = 5/45
mapi GET /api/v1/projects/pq/quota
check "usage shows 5 VMs and 5 vCPUs" test "$(jget "$BODY" '"\(.usage.vms)/\(.usage.vcpus)"')" = 5/5
mapi GET '/api/v1/vms?project=pq'
check "the project holds exactly 5 VMs" test "$(jget "$BODY" '.items | length')" = 5
# Their creates finish (each host gets the template's images pushed first).
for f in $(grep -l '"task"' "$out"/b*); do task_wait "$(jq -r .task.id "$f")" 120; done
one=$(grep -l quota_exceeded "$out"/b* | head -1)
check "the refusal names the quota, the limit and what it would be" \
	test "$(jq -r '.error | "\(.field)/\(.limit)/\(.would_be)"' "$one")" = vms/5/6
# The message, word for word (the CLI prints it; tests/cli's fake server
# writes the same, so the CLI's tests see what users see).
check "the refusal says it in words: quota, usage, what it would bring" test "$(jq -r .error.message "$one")" = \
	"project 'pq': the vms quota is 5 and 5 in use; this request would bring it to 6 (ask an administrator to raise it, or free some)"
# Deleting gives back; then vCPUs bind: 2 more VMs of 1 vCPU fit in 7.
mapi PUT /api/v1/projects/pq/quota '{"vms":10}'
as "$T_CAROL" POST /api/v1/vms '{"name":"q-big","template":"tiny","project":"pq","vcpus":3,"start":false}'
check "a create over the vCPU quota is 409 naming vcpus (7 -> 8)" \
	test "$STATUS/$(jget "$BODY" '"\(.error.field)/\(.error.limit)/\(.error.would_be)"')" = 409/vcpus/7/8
[ "$STATUS" = 409 ] || diag "$STATUS $BODY"
first=$(grep -l '"task"' "$out"/b* | head -1)
as "$T_CAROL" DELETE "/api/v1/vms/$(jq -r .vm.name "$first")?force=true"
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/projects/pq/quota
check "a deleted VM gives its usage back" test "$(jget "$BODY" '"\(.usage.vms)/\(.usage.vcpus)"')" = 4/4

# agent_name_of VM: the name its host knows it by (vdcd's id for it).
agent_name_of() { mapi GET "/api/v1/vms/$1" >/dev/null; jget "$BODY" '.config.agent_name // .name'; }
# Resize is charged like a create: q-r is one of pq's stopped VMs.
rvm=$(jq -r .vm.name "$(grep -l '"task"' "$out"/b* | sed -n 2p)")
# Its create task must be done: a VM being created is busy (409 busy).
task_wait "$(jq -r .task.id "$(grep -l '"task"' "$out"/b* | sed -n 2p)")"
as "$T_CAROL" POST "/api/v1/vms/$rvm/resize" '{"vcpus":5}'
check "a resize over the vCPU quota is 409 naming vcpus (7 -> 8)" \
	test "$STATUS/$(jget "$BODY" '"\(.error.field)/\(.error.limit)/\(.error.would_be)"')" = 409/vcpus/7/8
[ "$STATUS" = 409 ] && [ "$(jget "$BODY" .error.field)" = vcpus ] || diag "$STATUS $BODY"
as "$T_BOB" POST "/api/v1/vms/$rvm/resize" '{"vcpus":2}'
check "another project's VM cannot be resized (404)" test "$STATUS" = 404
as "$T_CAROL" POST "/api/v1/vms/$rvm/resize" '{"vcpus":2,"memory_mib":96}'
task_wait "$(jget "$BODY" .task.id)"
check "a resize within the quota succeeds" test "$TASK_STATE" = succeeded
mapi GET /api/v1/projects/pq/quota
check "... and is charged (5 vCPUs, 64+64+64+96 MiB)" \
	test "$(jget "$BODY" '"\(.usage.vcpus)/\(.usage.memory_mib)"')" = 5/288
check "... and the host's VM has the new sizes" \
	test "$(api h1 GET "/api/v1/vms/$(agent_name_of "$rvm")" >/dev/null; jget "$BODY" '"\(.spec.vcpus // .vcpus)/\(.spec.memory_mib // .memory_mib)"')" = 2/96
as "$T_CAROL" POST "/api/v1/vms/$rvm/resize" '{"disk_size_mib":1}'
check "a disk never shrinks below its image (400 naming disk_size_mib)" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/disk_size_mib
# A VM its host no longer has (removed behind vdcd's back): the host
# refuses the resize, and the quota it charged comes back.
gone=$(jq -r .vm.name "$(grep -l '"task"' "$out"/b* | sed -n 3p)")
mapi GET "/api/v1/vms/$gone"
api h1 DELETE "/api/v1/vms/$(jget "$BODY" '.config.agent_name // .name')?force=true"
as "$T_CAROL" POST "/api/v1/vms/$gone/resize" '{"disk_size_mib":128}'
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/projects/pq/quota
check "a resize the host refuses fails and gives the quota back (4 disks of 64 MiB)" \
	test "$TASK_STATE/$(jget "$BODY" .usage.disk_mib)" = failed/256
as "$T_CAROL" POST "/api/v1/vms/$rvm/clone" '{"name":"rclone"}'
task_wait "$(jget "$BODY" .task.id)"
mapi GET /api/v1/projects/pq/quota
check "a clone of a stopped VM is made and charged (7 vCPUs)" test "$TASK_STATE/$(jget "$BODY" .usage.vcpus)" = succeeded/7
check "... as a full copy on the host, not a linked clone" \
	test "$(api h1 GET "/api/v1/vms/$(agent_name_of rclone)" >/dev/null; jget "$BODY" '"\(.spec.vcpus)/\(.spec.disks[0].copy)"')" = 2/true
as "$T_CAROL" POST "/api/v1/vms/$rvm/clone" '{"name":"rclone2"}'
check "a clone over the vCPU quota is 409 naming vcpus (7 -> 9)" \
	test "$STATUS/$(jget "$BODY" '"\(.error.field)/\(.error.limit)/\(.error.would_be)"')" = 409/vcpus/7/9
as "$T_CAROL" DELETE /api/v1/vms/rclone
task_wait "$(jget "$BODY" .task.id)"
as "$T_CAROL" POST "/api/v1/vms/$rvm/resize" '{"vcpus":0}'
check "a bad size is 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/vcpus
vdcd_stop
vdcd_start --heartbeat-timeout-s 30 || not_ok "vdcd restarts"
mapi GET /api/v1/projects/pq/quota
check "usage survives a restart (recounted from the VMs)" test "$(jget "$BODY" '"\(.usage.vms)/\(.usage.vcpus)"')" = 4/5
as "$T_ALICE" GET /api/v1/auth/whoami
check "tokens survive a restart" test "$STATUS" = 200

# --- the last free memory: two creates never both take it -----------------
# What h1 has free (in the refusal of a VM no host can hold), then 6
# concurrent creates that each fit alone and no two together: one wins.
mapi POST /api/v1/vms '{"name":"mem-probe","template":"tiny","memory_mib":4194304,"start":false}'
mem_free=$(jget "$BODY" '.error.placement.hosts[] | select(.host=="h1") | .reason' | sed -nE 's/.*not enough memory: needs [0-9]+ MiB, ([0-9]+) free of.*/\1/p')
mpids=()
if [ -n "$mem_free" ] && [ "$mem_free" -gt 64 ]; then
	for i in $(seq 1 6); do
		curl -s -o "$out/m$i" -w '%{http_code}' --max-time 60 -X POST -H "Authorization: Bearer $ADMIN_TOKEN" \
			-H 'Content-Type: application/json' "${MGR_URL:-http://$MGR_IP:7443}/api/v1/vms" ${MGR_CACERT:+--cacert "$MGR_CACERT"} \
			-d "{\"name\":\"mem$i\",\"template\":\"tiny\",\"memory_mib\":$((mem_free - 8)),\"start\":false}" >"$out/ms$i" &
		mpids+=($!)
	done
	wait "${mpids[@]}"
	won=$(cat "$out"/ms* | grep -o 202 | wc -l)
	lost=$(grep -l '"no_host"' "$out"/m[0-9]* | wc -l)
	check "6 concurrent creates for h1's last $mem_free MiB: exactly one placed, 5 refused no_host ($won, $lost)" \
		test "$won/$lost" = 1/5
	for f in $(grep -l '"task"' "$out"/m[0-9]*); do
		task_wait "$(jq -r .task.id "$f")" 120
		mapi DELETE "/api/v1/vms/$(jq -r .vm.name "$f")"
		task_wait "$(jget "$BODY" .task.id)" 120
	done
else
	not_ok "h1's free memory is read from a refusal (got '$mem_free': $STATUS $BODY)"
fi

# --- login throttling -----------------------------------------------------
for i in 1 2 3; do login bob wrong-password; done
check "a wrong password is 401 invalid_credentials" test "$STATUS/$(jget "$BODY" .error.code)" = 401/invalid_credentials
t0=$(date +%s%N)
login bob wrong-password
t1=$(date +%s%N)
login bob wrong-password
t2=$(date +%s%N)
check "after 3 failures the next is slowed ($(((t1 - t0) / 1000000)) ms, then $(((t2 - t1) / 1000000)) ms)" \
	test $(((t1 - t0) / 1000000)) -ge 250 -a $(((t2 - t1) / 1000000)) -ge 500
login nobody-at-all wrong-password
check "an unknown user is told the same as a wrong password" test "$STATUS/$(jget "$BODY" .error.code)" = 401/invalid_credentials
mapi GET '/api/v1/events?limit=100'
check "failed logins are audit events" test "$(jget "$BODY" '[.items[] | select(.action == "auth.login" and .outcome == "failed")] | length')" -ge 5
login bob "$PASS_BOB"
check "the right password still works after failures" test "$STATUS" = 201

# Straight to vdcd (not through Prism), each caller from an address of its
# own on the fabric, as the throttle counts by the peer's address.
login_from() { # login_from ADDR USER PASSWORD ("": none): sets STATUS, BODY, RETRY (Retry-After), SERVER_MS
	local out=$TMP/lf-$1-$RANDOM t
	t=$(curl -s -o "$out" -D "$out.h" -w '%{http_code} %{time_pretransfer} %{time_starttransfer}' --max-time 60 \
		--interface "$1" --cacert "$TMP/vdcd/tls/ca.pem" -X POST -H 'Content-Type: application/json' \
		"https://$MGR_IP:7443/api/v1/auth/login" \
		-d "$(jq -nc --arg u "$2" --arg p "$3" 'if $p == "" then {user:$u} else {user:$u, password:$p} end')")
	STATUS=${t%% *}
	# The server's time: request sent to first byte back (no TLS handshake).
	SERVER_MS=$(awk -v a="${t#* }" 'BEGIN { split(a, v, " "); printf "%d", (v[2] - v[1]) * 1000 }')
	BODY=$(cat "$out" 2>/dev/null)
	RETRY=$(tr -d '\r' <"$out.h" 2>/dev/null | sed -n 's/^[Rr]etry-[Aa]fter: //p')
}
for n in $(seq 201 212); do ip addr add "$FABRIC_NET.$n/24" dev "$FABRIC_BR"; done
ADDR_A=$FABRIC_NET.201 ADDR_B=$FABRIC_NET.202

# An unknown user costs the same hash as a wrong password: the server's
# time for each, least of 3 (each from a fresh address, under the throttle's
# free failures), against a refusal that hashes nothing (no password: 400).
known=() unknown=() nohash=()
for i in 1 2 3; do
	login_from "$FABRIC_NET.$((202 + i))" alice "wrong-password-$i"
	[ "$STATUS" = 401 ] && known+=("$SERVER_MS")
	login_from "$FABRIC_NET.$((205 + i))" "nobody-$i-$RANDOM" "wrong-password-$i"
	[ "$STATUS" = 401 ] && unknown+=("$SERVER_MS")
	login_from "$FABRIC_NET.$((208 + i))" "nobody-$i" ""
	[ "$STATUS" = 400 ] && nohash+=("$SERVER_MS")
done
least() { printf '%s\n' "$@" | sort -n | head -1; }
k=$(least "${known[@]}") u=$(least "${unknown[@]}") z=$(least "${nohash[@]}")
check "an unknown user takes as long as a wrong password (least of 3: ${u:-?} ms vs ${k:-?} ms; no hash: ${z:-?} ms)" \
	test "${#known[@]}/${#unknown[@]}/${#nohash[@]}" = 3/3/3 -a "${u:-0}" -ge $((${k:-0} / 2)) -a "${u:-0}" -ge $((${z:-0} + 20))
check "... and the comparison can tell: a wrong password costs a hash (${k:-?} ms > ${z:-?} ms + 20)" \
	test "${k:-0}" -ge $((${z:-0} + 20))

# The lockout is per address: 20 failures from A, each for another user
# name (so only A's count grows), in waves of 8 (what vdcd hashes at once).
lock_n=0 lock_status=""
for wave in 1 2 3; do
	lpids=()
	for i in $(seq 1 8); do
		[ "$lock_n" -lt 20 ] || break
		lock_n=$((lock_n + 1))
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 --interface "$ADDR_A" --cacert "$TMP/vdcd/tls/ca.pem" \
			-X POST -H 'Content-Type: application/json' "https://$MGR_IP:7443/api/v1/auth/login" \
			-d "{\"user\":\"stranger-$lock_n\",\"password\":\"guess-$lock_n\"}" >>"$TMP/lock.status" &
		lpids+=($!)
	done
	wait "${lpids[@]}"
done
check "20 failed logins from one address, each as another user: all 401" \
	test "$(grep -c '^401$' "$TMP/lock.status")" = 20
login_from "$ADDR_A" carol carol-password-1
check "then that address is locked, even with a right password: 429, Retry-After 900 s (15 minutes)" \
	test "$STATUS/$RETRY/$(jget "$BODY" .error.code)" = 429/900/too_many_attempts
check "... saying for how long" grep -q "try again in 15 minutes" <<<"$BODY"
login_from "$ADDR_B" carol carol-password-1
check "another address is not locked (carol signs in from it: 201)" test "$STATUS" = 201

# --- deleting projects and users ------------------------------------------
mapi DELETE /api/v1/projects/pq
check "a project that still has VMs is not deleted (409 in_use)" test "$STATUS/$(jget "$BODY" .error.code)" = 409/in_use
mapi POST /api/v1/projects '{"name":"pz"}'
mapi POST /api/v1/projects/pz/members '{"user":"carol","role":"viewer"}'
mapi DELETE /api/v1/projects/pz
as "$T_CAROL" GET /api/v1/auth/whoami
check "an empty project is deleted with its memberships" \
	test "$STATUS/$(jget "$BODY" '[.projects[].project] | index("pz")')" = 200/null
mapi DELETE /api/v1/users/bob
as "$T_BOB" GET /api/v1/auth/whoami
check "a deleted user's tokens stop working at once (401)" test "$STATUS" = 401
mapi GET /api/v1/projects/pb/members
check "... and their memberships are gone" test "$(jget "$BODY" '.items | length')" = 0

# --- no secrets anywhere --------------------------------------------------
mapi GET '/api/v1/events?limit=1000'
echo "$BODY" >"$TMP/events.json"
leaks=""
for s in "$PASS_ALICE" "$PASS_BOB" carol-password-1 "a new long password" "$T_ALICE" "$T_BOB" "$T_CAROL" "$T_REVOKED" \
	"$T_EXPIRED" "$ADMIN_TOKEN" '$argon2id'; do
	for f in "$TMP/vdcd.log" "$(dir_of h1)/agent.log" "$TMP/events.json"; do
		grep -qF -- "$s" "$f" && leaks+=" [${s:0:6}... in $(basename "$f")]"
	done
	[ "$s" = '$argon2id' ] && continue
	grep -qaF -- "$s" "$TMP/vdcd/"vdcd.db* && leaks+=" [${s:0:6}... in the store]"
done
check "no password, token or hash in the logs, the audit log or the store${leaks:+:$leaks}" test -z "$leaks"

prism_clean "lists, quotas, resize, clone, logins, deletes"
check "vdcd stops cleanly (exit 0)" vdcd_stop
finish
