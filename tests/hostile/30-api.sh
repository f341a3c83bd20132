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
attack API-6 "a second token 'hostile' of alice: 409 name_taken naming hostile" refused_409 hostile
attack API-6 "the refused token create is an audit event" audited token.create hostile
attack API-6 "vdcd is alive after every duplicate" vdcd_alive
