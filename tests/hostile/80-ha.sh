# 80-ha.sh - high availability is a system administrator's: a project's
# operator can neither set a VM's restart priority (at create or after: a
# priority decides who gets a failed host's capacity first) nor change a
# cluster's HA policy, nor read a cluster's failover capacity (it maps the
# fleet); another project's VM stays invisible (404 before any 403); an
# agent's alive report is a host's, never a user's; and a host's alive
# report cannot smuggle fields. A VM's watchdog is a model's name, never a
# QEMU option string. A readiness probe is a port of the VM's own guest:
# it names no address (its host finds the guest by its MAC), so a tenant
# cannot aim it at the host, vdcd or another tenant's guest. The host's HA
# lease keeper is root's alone.
# shellcheck shell=bash

mgr_guest_template ha-tpl "$T_A"
as "$T_A" POST /api/v1/vms '{"name":"ha-vm","template":"ha-tpl","project":"pa","start":false,"ha":{"priority":"high"}}'
attack HA-1 "an operator creates a VM with restart priority high: 403 naming ha, no VM" \
	test "$STATUS/$(jget "$BODY" .error.field)/$(as "$T_A" GET /api/v1/vms/ha-vm && echo "$STATUS")" = 403/ha/404
as "$T_A" POST /api/v1/vms '{"name":"ha-vm","template":"ha-tpl","project":"pa","start":false}'
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" GET /api/v1/vms/ha-vm
ha_vm=$(jget "$BODY" .id)
as "$T_A" POST "/api/v1/vms/$ha_vm/ha" '{"priority":"high"}'
attack HA-1 "an operator raises their own VM's restart priority: 403" test "$STATUS/$(jget "$BODY" .error.code)" = 403/forbidden
as "$T_B" POST "/api/v1/vms/$ha_vm/ha" '{"priority":"high"}'
attack HA-2 "another project's operator sets it: 404, as if it did not exist" test "$STATUS" = 404
as "" POST "/api/v1/vms/$ha_vm/ha" '{"priority":"high"}'
attack HA-2 "no token at all: 401" test "$STATUS" = 401
as "$T_A" GET /api/v1/vms/ha-vm
attack HA-1 "... and its priority is unchanged (none: the cluster's)" test "$(jget "$BODY" .ha.priority)" = null
as "$T_A" PATCH /api/v1/clusters/c1 '{"ha":{"enabled":true}}'
attack HA-3 "an operator turns HA on for the cluster: 403" test "$STATUS" = 403
for who in "$T_A:alice" "$T_V:vera"; do
	as "${who%%:*}" GET /api/v1/clusters/c1/ha
	attack HA-4 "${who#*:} reads the cluster's failover capacity (it names hosts): 403" test "$STATUS" = 403
	as "${who%%:*}" GET /api/v1/clusters/c1/ha/incidents
	attack HA-4 "${who#*:} reads the cluster's HA incidents (they name hosts and other projects' VMs): 403" test "$STATUS" = 403
	as "${who%%:*}" GET "/api/v1/events?action=host.ha_"
	attack HA-4 "${who#*:} filters the audit log by action: 403, as without a filter" test "$STATUS" = 403
done
h1=$(mapi GET /api/v1/hosts/h1 && jget "$BODY" .id)
as "$T_A" POST "/api/v1/hosts/$h1/alive" '{"leases":{}}'
attack HA-5 "an operator's token as a host's alive report: 401, nothing recorded" test "$STATUS" = 401
as "$ADMIN_TOKEN" POST "/api/v1/hosts/$h1/alive" '{"leases":{}}'
attack HA-5 "the administrator's token as a host's alive report: 401 (only the host's secret)" test "$STATUS" = 401
for wd in '"i6300esb,id=x -device ib700"' '"i6300esb -action watchdog=reset"' '"ib700"'; do
	as "$T_A" POST /api/v1/vms "{\"name\":\"wd-vm\",\"template\":\"ha-tpl\",\"project\":\"pa\",\"start\":false,\"watchdog\":$wd}"
	attack HA-6 "an operator's watchdog $wd (QEMU options smuggled): 400 naming watchdog, no VM" \
		test "$STATUS/$(jget "$BODY" .error.field)/$(as "$T_A" GET /api/v1/vms/wd-vm && echo "$STATUS")" = 400/watchdog/404
done
for rp in '{"tcp_port":22,"host":"127.0.0.1"}:ready_probe.host' '{"tcp_port":22,"ip":"10.0.0.1"}:ready_probe.ip' \
	'{"tcp_port":22,"address":"169.254.169.254"}:ready_probe.address' '"127.0.0.1:7441":ready_probe' \
	'{"tcp_port":0}:ready_probe.tcp_port' '{"tcp_port":65536}:ready_probe.tcp_port' '{"tcp_port":-1}:ready_probe.tcp_port'; do
	as "$T_A" POST /api/v1/vms "{\"name\":\"rp-vm\",\"template\":\"ha-tpl\",\"project\":\"pa\",\"start\":false,\"ready_probe\":${rp%:*}}"
	attack HA-7 "an operator's readiness probe ${rp%:*} (an address, or no port): 400 naming ${rp##*:}, no VM" \
		test "$STATUS/$(jget "$BODY" .error.field)/$(as "$T_A" GET /api/v1/vms/rp-vm && echo "$STATUS")" = "400/${rp##*:}/404"
	as "$T_A" POST "/api/v1/vms/$ha_vm/resize" "{\"ready_probe\":${rp%:*}}"
	attack HA-7 "... and as a resize of their VM: 400 naming ${rp##*:}" test "$STATUS/$(jget "$BODY" .error.field)" = "400/${rp##*:}"
done
as "$T_A" POST "/api/v1/vms/$ha_vm/resize" '{"ready_probe":{"tcp_port":22}}'
attack HA-7 "an operator gives their own VM a probe: a port and its times, nothing else kept" \
	test "$STATUS/$(jq -c '.config.ready_probe | keys' <<<"$BODY")" = '200/["failures","period_s","tcp_port","timeout_s"]'
as "$T_B" POST "/api/v1/vms/$ha_vm/resize" '{"ready_probe":{"tcp_port":7441}}'
attack HA-7 "another project's operator changes its probe: 404, as if it did not exist" test "$STATUS" = 404
as "$T_V" POST "/api/v1/vms/$ha_vm/resize" '{"ready_probe":null}'
attack HA-7 "a viewer removes it: 403" test "$STATUS" = 403
as "$T_A" GET /api/v1/vms/ha-vm
attack HA-7 "... and it is unchanged" test "$(jget "$BODY" .config.ready_probe.tcp_port)" = 22
mapi DELETE "/api/v1/vms/$ha_vm"
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" DELETE /api/v1/templates/ha-tpl
# The lease keeper (vdc-ha-keeper) may kill a host's QEMUs: its socket is
# root's alone. HA on for a moment, so that the agent starts it (it hears
# of HA at its next alive report: every 10 s while HA is off).
mapi PATCH /api/v1/clusters/c1 '{"ha":{"enabled":true}}'
keeper_sock=$(dir_of h1)/run/ha-keeper.sock
for _ in $(seq 1 150); do [ -S "$keeper_sock" ] && break; sleep 0.1; done
attack HA-8 "a VM's identity connects to the host's HA lease keeper (it fences QEMUs): EACCES" \
	denied_as "${h50_ub:-65534}" sock "$keeper_sock"
mapi PATCH /api/v1/clusters/c1 '{"ha":{"enabled":false}}'
