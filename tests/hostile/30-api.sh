# 30-api.sh - the API's own input: a create refused (a taken name, bad
# input) is a clean 4xx naming the name, never a crash or a 500, and is an
# audit event; names of VMs and templates are per project, so a refusal
# tells nothing of another project's objects.
# shellcheck shell=bash

vdcd_alive() { kill -0 "$(cat "$TMP/vdcd.pid")" 2>/dev/null && curl -sf -o /dev/null --max-time 5 --cacert "$MGR_CACERT" "$MGR_URL/healthz"; }
# refused_409 NAME: the last answer is 409 name_taken and names NAME.
refused_409() { [ "$STATUS" = 409 ] && [ "$(jget "$BODY" .error.code)" = name_taken ] && jget "$BODY" .error.message | grep -qF "'$1'"; }
# audited ACTION TARGET: the audit log has the refusal of ACTION for TARGET.
audited() {
	local b=$BODY s=$STATUS n
	mapi GET '/api/v1/events?limit=200'
	n=$(jq -r --arg a "$1" --arg t "$2" '[.items[] | select(.action == $a and .outcome == "refused" and .target_id == $t)] | length' <<<"$BODY")
	BODY=$b STATUS=$s
	[ "${n:-0}" -ge 1 ]
}

# --- duplicates: each is 409 name_taken naming the name, and audited ------
mapi POST /api/v1/users '{"name":"alice","password":"another-password"}'
attack API-1 "a second user 'alice' (with a password): 409 name_taken naming alice, no crash" refused_409 alice
mapi POST /api/v1/users '{"name":"alice"}'
attack API-1 "a second user 'alice' (no password): 409 name_taken naming alice" refused_409 alice
attack API-1 "vdcd is alive after duplicate users" vdcd_alive
attack API-1 "the refused user create is an audit event" audited user.create alice
mapi POST /api/v1/users '{"name":"bad name!","password":"long-enough-1"}'
attack API-1 "a user with a bad name: 400 naming name, and an audit event" \
	test "$STATUS/$(jget "$BODY" .error.field)/$(audited user.create 'bad name!' && echo audited)" = 400/name/audited
mapi POST /api/v1/users '{"name":"shorty","password":"2short"}'
attack API-1 "a user with a short password: 400 naming password, and an audit event" \
	test "$STATUS/$(jget "$BODY" .error.field)/$(audited user.create shorty && echo audited)" = 400/password/audited

mapi POST /api/v1/projects '{"name":"pa"}'
attack API-2 "a second project 'pa': 409 name_taken naming pa" refused_409 pa
attack API-2 "the refused project create is an audit event" audited project.create pa
mapi POST /api/v1/clusters '{"name":"c1"}'
attack API-3 "a second cluster 'c1': 409 name_taken naming c1" refused_409 c1
attack API-3 "the refused cluster create is an audit event" audited create c1
as "$T_A" POST /api/v1/networks '{"name":"api-net","bridge":"br0"}'
as "$T_A" POST /api/v1/networks '{"name":"api-net","bridge":"br0"}'
attack API-4 "a second network 'api-net': 409 name_taken naming api-net" refused_409 api-net
attack API-4 "the refused network create is an audit event" audited create api-net
as "$T_A" POST /api/v1/networks '{"name":"api-net2","bridge":"br0","vlan":"x"}'
attack API-4 "a network with a bad vlan: 400, and an audit event" \
	test "$STATUS/$(audited create api-net2 && echo audited)" = 400/audited
as "$T_A" DELETE /api/v1/networks/api-net
mgr_guest_template api-tpl "$T_A"
mgr_guest_template api-tpl "$T_A"
attack API-5 "a second template 'api-tpl' in pa: 409 name_taken naming api-tpl" refused_409 api-tpl
attack API-5 "the refused template create is an audit event" audited create api-tpl
as "$T_A" DELETE /api/v1/templates/api-tpl
as "$T_A" POST /api/v1/tokens '{"name":"hostile"}'
[ "$STATUS" = 409 ] || diag "$STATUS $BODY"
attack API-6 "a second token 'hostile' of alice: 409 name_taken naming hostile" refused_409 hostile
attack API-6 "the refused token create is an audit event" audited token.create hostile
attack API-6 "vdcd is alive after every duplicate" vdcd_alive

# --- names are per project: a 409 tells nothing of another project -------
mgr_guest_template base "$T_A"
s_a=$STATUS
mgr_guest_template base "$T_B"
attack API-7 "pa and pb each make a template 'base' (201, 201)" test "$s_a/$STATUS" = 201/201
as "$T_A" POST /api/v1/vms '{"name":"web","template":"base","start":false}'
s_a=$STATUS web_a=$(jget "$BODY" .vm.id) task_a=$(jget "$BODY" .task.id)
as "$T_B" POST /api/v1/vms '{"name":"web","template":"base","start":false}'
web_b=$(jget "$BODY" .vm.id) task_b=$(jget "$BODY" .task.id)
attack API-7 "pa and pb each make a VM 'web' (202, 202)" test "$s_a/$STATUS" = 202/202
task_wait "$task_a"
t_a=$TASK_STATE
task_wait "$task_b"
attack API-7 "both VMs 'web' are made on the one host h1 (no clash of names there)" test "$t_a/$TASK_STATE" = succeeded/succeeded
api h1 GET "/api/v1/vms/$web_a"
s_a=$STATUS
api h1 GET "/api/v1/vms/$web_b"
attack API-7 "h1 knows each by vdcd's id for it, not by the name they share" test "$s_a/$STATUS" = 200/200
pa_id=$(mapi GET /api/v1/projects/pa >/dev/null; jget "$BODY" .id)
as "$T_B" POST /api/v1/vms '{"name":"web","template":"base","start":false}'
attack API-8 "bob's second 'web' in pb is 409 name_taken" test "$STATUS/$(jget "$BODY" .error.code)" = 409/name_taken
attack API-8 "... and the refusal says nothing of pa" \
	bash -c '! grep -qw -e pa -e "$1" <<<"$2"' _ "$pa_id" "$BODY"
mgr_guest_template base "$T_B"
attack API-8 "bob's second template 'base' is 409 name_taken, saying nothing of pa" \
	bash -c '[ "$1" = 409 ] && ! grep -qw -e pa -e "$2" <<<"$3"' _ "$STATUS" "$pa_id" "$BODY"
as "$T_B" GET /api/v1/vms/web
attack API-8 "bob's GET /vms/web is his own VM" test "$STATUS/$(jget "$BODY" .id)" = "200/$web_b"
as "$T_A" GET /api/v1/templates/base
attack API-8 "alice's GET /templates/base is pa's" test "$STATUS/$(jget "$BODY" .project_id)" = "200/$pa_id"
as "$T_B" GET "/api/v1/vms/web?project=pa"
attack API-8 "bob cannot reach pa's 'web' with ?project=pa (404)" test "$STATUS" = 404
mapi GET /api/v1/vms/web
attack API-9 "the admin's GET /vms/web is 409 ambiguous_name naming pa and pb" \
	bash -c '[ "$1/$(jq -r .error.code <<<"$2")" = 409/ambiguous_name ] && grep -qw pa <<<"$2" && grep -qw pb <<<"$2"' _ "$STATUS" "$BODY"
mapi GET "/api/v1/vms/$web_a"
attack API-9 "... and works by id" test "$STATUS/$(jget "$BODY" .id)" = "200/$web_a"
mapi GET "/api/v1/vms/web?project=pb"
attack API-9 "... or with ?project=pb" test "$STATUS/$(jget "$BODY" .id)" = "200/$web_b"
seen="" after=""
for _ in $(seq 1 50); do
	mapi GET "/api/v1/vms?limit=1${after:+&after=$after}"
	seen+=" $(jget "$BODY" '.items[0].id')"
	after=$(jget "$BODY" '.next // empty')
	[ -n "$after" ] || break
done
attack API-9 "the admin's list, a VM a page, pages through both VMs named 'web'" \
	bash -c 'grep -qw "$1" <<<"$3" && grep -qw "$2" <<<"$3"' _ "$web_a" "$web_b" "$seen"
for v in "$web_a" "$web_b"; do
	mapi DELETE "/api/v1/vms/$v?force=true"
	task_wait "$(jget "$BODY" .task.id)"
done
as "$T_A" DELETE /api/v1/templates/base
as "$T_B" DELETE /api/v1/templates/base
