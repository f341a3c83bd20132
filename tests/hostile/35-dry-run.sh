# 35-dry-run.sh - POST /api/v1/vms?dry_run=true, placement's forecast, as a
# way in: a viewer or another project's operator must be refused exactly as
# a create would refuse them; a tenant's verdict names no host (hosts are
# the administrators': no names, ids or free capacity) and nothing of
# another project, whose rule groups are not the tenant's even by name;
# and a dry run, accepted or refused, makes nothing: no VM, task, quota
# usage or audit event. Nor is a real create a way around it: refused, it
# names no host; accepted, only its own VM's. Sourced by t_hostile.sh.
# shellcheck shell=bash

t_dry=$SECONDS
mgr_guest_template dry-tpl "$T_A"
mgr_guest_template dry-tpl-b "$T_B"
h1_id=$(mapi GET /api/v1/hosts/h1 >/dev/null; jget "$BODY" .id)
pb_id=$(mapi GET /api/v1/projects/pb >/dev/null; jget "$BODY" .id)
# pb's VM in an anti-affinity group whose name a tenant of pa may guess.
as "$T_B" POST /api/v1/vms '{"name":"pb-secret-vm","template":"dry-tpl-b","start":false,"placement":{"anti_affinity":["shared-g"]}}'
pb_vm=$(jget "$BODY" .vm.id 2>/dev/null)
[ "$STATUS" = 202 ] && task_wait "$(jget "$BODY" .task.id)"

# What a dry run may not change, read by the administrator.
world() {
	local b=$BODY s=$STATUS out=""
	mapi GET '/api/v1/vms?limit=1000&fields=name'
	out+="vms=$(jget "$BODY" '.items | length')"
	mapi GET '/api/v1/tasks?limit=1000'
	out+=" tasks=$(jget "$BODY" '.items | length')"
	mapi GET /api/v1/projects/pa/quota
	out+=" usage=$(jq -c .usage <<<"$BODY")"
	mapi GET '/api/v1/events?limit=1'
	out+=" event=$(jget "$BODY" '.items[0].id')"
	BODY=$b STATUS=$s
	echo "$out"
}

# The creates DRY-1 and DRY-2 compare with (refused, and audited as such).
as "$T_V" POST /api/v1/vms '{"name":"dry-v","template":"dry-tpl","project":"pa","start":false}'
create_v="$STATUS/$(jget "$BODY" .error.code)"
as "$T_B" POST /api/v1/vms '{"name":"dry-b","template":"dry-tpl","project":"pa","start":false}'
create_b="$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.field)"
before=$(world)

# DRY-1: a viewer's dry run is a viewer's create: 403.
as "$T_V" POST '/api/v1/vms?dry_run=true' '{"name":"dry-v","template":"dry-tpl","project":"pa","start":false}'
attack DRY-1 "vera (viewer of pa) dry-runs a VM into pa: 403, as her create ($create_v)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = "$create_v" -a "${create_v%%/*}" = 403

# DRY-2: bob (pb) dry-runs into pa, or with pa's template.
as "$T_B" POST '/api/v1/vms?dry_run=true' '{"name":"dry-b","template":"dry-tpl","project":"pa","start":false}'
attack DRY-2 "bob dry-runs a VM into pa, where he is no member: refused as his create ($create_b)" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.field)" = "$create_b" -a "${create_b%%/*}" = 400
as "$T_B" POST '/api/v1/vms?dry_run=true' '{"name":"dry-b","template":"dry-tpl","start":false}'
attack DRY-2 "bob dry-runs from pa's template 'dry-tpl': 400 naming template, as if it did not exist" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/template

# DRY-3: a tenant's verdict names no host.
as "$T_A" POST '/api/v1/vms?dry_run=true' '{"name":"dry-a","template":"dry-tpl","start":false}'
attack DRY-3 "alice's dry run that fits: 200, hosts_hidden, no host list, no host_id" \
	test "$STATUS/$(jget "$BODY" .placement.hosts_hidden)/$(jget "$BODY" '.placement.hosts | length')/$(jget "$BODY" '.vm | has("host_id")')" = 200/true/0/false
attack DRY-3 "... its answer has neither h1's name nor its id (summary: $(jget "$BODY" .placement.summary | cut -c1-40))" \
	bash -c '! grep -qw -e h1 -e "$1" <<<"$2"' _ "$h1_id" "$BODY"
as "$T_A" POST '/api/v1/vms?dry_run=true' '{"name":"dry-a","template":"dry-tpl","vcpus":200,"start":false}'
attack DRY-3 "alice's dry run no host fits: 409 no_host with counts, no host named" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.placement.rejected.cpu_count)/$(jget "$BODY" '.error.placement.hosts | length')" = 409/no_host/1/0
attack DRY-3 "... and neither h1's name nor its id" bash -c '! grep -qw -e h1 -e "$1" <<<"$2"' _ "$h1_id" "$BODY"
VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
VDC_CONFIG=$TMP/dry-vdc-config "$VDC" login --server "$MGR_URL" --token "$T_A" --ca-fingerprint "$CA_FP" >/dev/null 2>&1
VDC_CONFIG=$TMP/dry-vdc-config "$VDC" vm create dry-a --template dry-tpl --dry-run >"$TMP/dry-cli.out" 2>&1
attack DRY-3 "alice's vdc vm create --dry-run says a host fits, naming none" \
	bash -c 'grep -q "^vm dry-a would be placed on a host that fits" "$1" && ! grep -qw -e h1 -e "$2" "$1"' _ "$TMP/dry-cli.out" "$h1_id"
mapi POST '/api/v1/vms?dry_run=true' '{"name":"dry-a","template":"dry-tpl","project":"pa","start":false}'
attack DRY-3 "(the administrator's dry run still names the host: $(jget "$BODY" .placement.host))" \
	test "$STATUS/$(jget "$BODY" .placement.host)/$(jget "$BODY" '.placement.hosts[0].host')" = 200/h1/h1

# DRY-4: nothing of pb through a group name pb uses. Groups are a
# project's own: pb's 'shared-g' is not pa's, so it neither keeps alice's
# VM off h1 (which would tell her a pb VM of that group runs there) nor
# draws it next to pb's (a co-residency attack).
as "$T_A" POST '/api/v1/vms?dry_run=true' '{"name":"dry-a","template":"dry-tpl","start":false,"placement":{"anti_affinity":["shared-g"]}}'
attack DRY-4 "alice names pb's anti-affinity group 'shared-g' (pb-secret-vm on h1): not pb's group for her, h1 fits (200)" \
	test "$STATUS/$(jget "$BODY" .placement.eligible)" = 200/1
attack DRY-4 "... and the answer names neither pb's VM nor pb" \
	bash -c '[ -n "$1" ] && ! grep -q -e pb-secret-vm -e "$1" -e "$2" <<<"$3"' _ "$pb_vm" "$pb_id" "$BODY"
as "$T_B" POST '/api/v1/vms?dry_run=true' '{"name":"dry-b2","template":"dry-tpl-b","start":false,"placement":{"anti_affinity":["shared-g"]}}'
attack DRY-4 "(bob's own 'shared-g' still keeps his next VM off h1: 409 no_host, anti_affinity)" \
	test "$STATUS/$(jget "$BODY" .error.placement.rejected.anti_affinity)" = 409/1
as "$T_A" POST '/api/v1/vms?dry_run=true' '{"name":"dry-a","template":"dry-tpl","start":false,"placement":{"affinity":["shared-g"]}}'
attack DRY-4 "alice names 'shared-g' as an affinity group: 200, naming neither pb's VM, pb nor h1" \
	bash -c '[ "$5" = 200 ] && ! grep -q -e pb-secret-vm -e "$1" -e "$2" -e "$3" <<<"$4"' _ "$pb_vm" "$pb_id" "$h1_id" "$BODY" "$STATUS"

# DRY-5: none of it made anything.
after=$(world)
attack DRY-5 "after every dry run above: no VM, task, quota usage or audit event more ($after)" test "$after" = "$before"
as "$T_A" GET /api/v1/vms/dry-a
attack DRY-5 "alice has no VM 'dry-a' (404)" test "$STATUS" = 404

# DRY-6: a real create is no way around it. Refused, it names no host;
# accepted, its answer and its task keep only the host its VM went to.
as "$T_A" POST /api/v1/vms '{"name":"dry-a6","template":"dry-tpl","vcpus":200,"start":false}'
attack DRY-6 "alice's create no host fits: 409 no_host with counts, no host named" \
	bash -c '[ "$1" = 409/no_host/1/0/true ] && ! grep -qw -e h1 -e "$2" <<<"$3"' _ \
	"$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.placement.rejected.cpu_count)/$(jget "$BODY" '.error.placement.hosts | length')/$(jget "$BODY" .error.placement.hosts_hidden)" \
	"$h1_id" "$BODY"
as "$T_A" POST /api/v1/vms '{"name":"dry-a6","template":"dry-tpl","start":false}'
a6_task=$(jget "$BODY" .task.id)
attack DRY-6 "alice's create that fits: 202, its placement lists only its own host (hosts_hidden)" \
	test "$STATUS/$(jget "$BODY" .placement.hosts_hidden)/$(jget "$BODY" '[.placement.hosts[].host | select(. != "h1")] | length')" = 202/true/0
as "$T_A" GET "/api/v1/tasks/$a6_task"
attack DRY-6 "... and the task she reads names only that host" \
	test "$(jget "$BODY" .args.placement.host)/$(jget "$BODY" '.args.placement.hosts | length')" = h1/0
task_wait "$a6_task"
as "$T_A" DELETE '/api/v1/vms/dry-a6?force=true'
task_wait "$(jget "$BODY" .task.id)"

# Leave the world as it was.
if [ -n "$pb_vm" ]; then
	mapi DELETE "/api/v1/vms/$pb_vm?force=true"
	task_wait "$(jget "$BODY" .task.id)"
fi
as "$T_A" DELETE /api/v1/templates/dry-tpl
as "$T_B" DELETE /api/v1/templates/dry-tpl-b
diag "dry-run attacks: $((SECONDS - t_dry)) s"
