# 70-pool.sh - the pool's operations are a system administrator's: a
# project's operator can neither migrate a VM (it names hosts), nor put a
# host in maintenance, nor change a cluster's CPU baseline; another
# project's VM stays invisible (404 before any 403); a VM create cannot
# smuggle a CPU model (QEMU's -cpu takes options); a join cannot flood vdcd
# with CPU models; and the maintenance request takes no extra keys. A disk
# move (storage migration) is not another project's to ask, nor a
# viewer's, and its datastore is a name of the host's, never a path.
# Resource pools (creating, reading, changing them, putting a VM in one or
# reserving for it) are a system administrator's; pools nest at most 6 deep.
# shellcheck shell=bash

mgr_guest_template pool-tpl "$T_A"
as "$T_A" POST /api/v1/vms '{"name":"pool-vm","template":"pool-tpl","project":"pa","start":false}'
[ "$STATUS" = 202 ] || diag "pool-vm: $STATUS $BODY"
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" GET /api/v1/vms/pool-vm
pool_vm=$(jget "$BODY" .id)

as "$T_A" POST "/api/v1/vms/$pool_vm/migrate" '{}'
attack POOL-1 "an operator migrates their own VM: 403 (a migration names hosts)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 403/forbidden
as "$T_A" POST "/api/v1/vms/$pool_vm/migrate?dry_run=true" '{"host":"h1"}'
attack POOL-1 "... nor asks where it would go (dry run): 403" test "$STATUS" = 403
as "$T_B" POST "/api/v1/vms/$pool_vm/migrate" '{}'
attack POOL-2 "another project's operator migrates it: 404, as if it did not exist" test "$STATUS" = 404
as "" POST "/api/v1/vms/$pool_vm/migrate" '{}'
attack POOL-2 "no token at all: 401" test "$STATUS" = 401

for who in "$T_A:alice" "$T_V:vera"; do
	as "${who%%:*}" POST /api/v1/hosts/h1/maintenance '{"enabled":true}'
	attack POOL-3 "${who#*:} puts h1 in maintenance: 403" test "$STATUS" = 403
	as "${who%%:*}" POST '/api/v1/hosts/h1/maintenance?dry_run=true' '{"enabled":true}'
	attack POOL-3 "${who#*:} asks for h1's evacuation plan (it names hosts and other projects' VMs): 403" \
		test "$STATUS" = 403
done
as "" POST /api/v1/hosts/h1/maintenance '{"enabled":true}'
attack POOL-3 "no token at all: 401" test "$STATUS" = 401
mapi GET /api/v1/hosts/h1
attack POOL-3 "... and h1 is not in maintenance" test "$(jget "$BODY" .maintenance)" = false
mapi POST '/api/v1/hosts/h1/maintenance?dry_run=true' '{"enabled":true,"host":"/etc"}'
attack POOL-3 "an extra key in a maintenance request: 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/host

as "$T_A" PATCH /api/v1/clusters/c1 '{"cpu_baseline":"host"}'
attack POOL-4 "an operator sets the cluster's CPU baseline: 403" test "$STATUS" = 403
as "$T_A" POST /api/v1/vms '{"name":"pool-cpu","template":"pool-tpl","project":"pa","start":false,"cpu_model":"host,+vmx"}'
attack POOL-5 "a VM create with its own cpu_model (QEMU options): 400 naming it, no VM" \
	test "$STATUS/$(jget "$BODY" .error.field)/$(as "$T_A" GET /api/v1/vms/pool-cpu && echo "$STATUS")" = 400/cpu_model/404
models=$(jq -nc '[range(2000) | "m\(.)"]')
as "" POST /api/v1/hosts/join "{\"token\":\"vdcj_x\",\"name\":\"flood\",\"agent_url\":\"https://127.0.0.1:1\",\"agent_token\":\"t\",\"cpu_models\":$models}"
attack POOL-6 "a join with 2,000 CPU models: 400 naming cpu_models (checked before the token)" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/cpu_models

as "$T_B" POST "/api/v1/vms/$pool_vm/disks/root/move" '{"datastore":"local"}'
attack POOL-7 "another project's operator moves its disk: 404, as if it did not exist" test "$STATUS" = 404
as "$T_V" POST "/api/v1/vms/$pool_vm/disks/root/move" '{"datastore":"local"}'
attack POOL-7 "a viewer moves its disk: 403" test "$STATUS" = 403
for ds in "/etc" "../../etc" "local/../../etc"; do
	as "$T_A" POST "/api/v1/vms/$pool_vm/disks/root/move" "{\"datastore\":\"$ds\"}"
	attack POOL-7 "a disk move to datastore '$ds' (a path): 400 naming datastore" \
		test "$STATUS/$(jget "$BODY" .error.field)" = 400/datastore
done
as "$T_A" POST "/api/v1/vms/$pool_vm/disks/root/move" '{"datastore":"local","path":"/etc/shadow"}'
attack POOL-7 "a disk move carrying a path: 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/path

# Resource pools promise a cluster's capacity: an administrator's alone.
mapi POST /api/v1/pools '{"name":"hostile-gold","cluster":"c1"}'
for who in "$T_A:alice" "$T_V:vera"; do
	as "${who%%:*}" POST /api/v1/pools '{"name":"mine","cluster":"c1","mem_reservation_mib":1024}'
	attack POOL-8 "${who#*:} creates a resource pool: 403" test "$STATUS" = 403
	as "${who%%:*}" GET /api/v1/pools
	attack POOL-8 "${who#*:} lists the pools (they show the cluster's capacity): 403" test "$STATUS" = 403
	as "${who%%:*}" GET /api/v1/clusters/c1/pools
	attack POOL-8 "${who#*:} reads a cluster's pool tree: 403" test "$STATUS" = 403
	as "${who%%:*}" PATCH /api/v1/pools/hostile-gold '{"mem_reservation_mib":1}'
	attack POOL-8 "${who#*:} changes a pool: 403" test "$STATUS" = 403
	as "${who%%:*}" DELETE /api/v1/pools/hostile-gold
	attack POOL-8 "${who#*:} deletes a pool: 403" test "$STATUS" = 403
done
as "$T_A" POST "/api/v1/vms/$pool_vm/pool" '{"pool":"hostile-gold"}'
attack POOL-8 "an operator puts their VM in a pool: 403" test "$STATUS" = 403
as "$T_A" POST "/api/v1/vms/$pool_vm/pool" '{"mem_reservation_mib":4096}'
attack POOL-8 "an operator reserves memory for their VM: 403" test "$STATUS" = 403
as "$T_B" POST "/api/v1/vms/$pool_vm/pool" '{"pool":"hostile-gold"}'
attack POOL-8 "another project's operator moves it to a pool: 404, as if it did not exist" test "$STATUS" = 404
as "$T_A" POST /api/v1/vms '{"name":"pool-res","template":"pool-tpl","project":"pa","start":false,"mem_reservation_mib":4096}'
attack POOL-8 "a VM create reserving memory: 403, no VM" \
	test "$STATUS/$(as "$T_A" GET /api/v1/vms/pool-res && echo "$STATUS")" = 403/404
as "$T_A" POST /api/v1/vms '{"name":"pool-res","template":"pool-tpl","project":"pa","start":false,"pool":"hostile-gold"}'
attack POOL-8 "a VM create into a pool: 403, no VM" \
	test "$STATUS/$(as "$T_A" GET /api/v1/vms/pool-res && echo "$STATUS")" = 403/404
mapi POST /api/v1/pools '{"name":"../../etc","cluster":"c1"}'
attack POOL-8 "a pool named as a path (even by an administrator): 400 naming name" \
	test "$STATUS/$(jget "$BODY" .error.field)" = 400/name
mapi POST /api/v1/pools '{"name":"deep0","cluster":"c1"}'
for i in 1 2 3 4 5 6; do mapi POST /api/v1/pools "{\"name\":\"deep$i\",\"cluster\":\"c1\",\"parent\":\"deep$((i - 1))\"}"; done
attack POOL-8 "a seventh level of pools (a cgroup path without end): 409 naming the depth" \
	test "$STATUS/$(grep -c "at most 6 deep" <<<"$(jget "$BODY" .error.message)")" = 409/1
for i in 5 4 3 2 1 0; do mapi DELETE "/api/v1/pools/deep$i"; done
mapi DELETE /api/v1/pools/hostile-gold

as "$T_A" DELETE "/api/v1/vms/$pool_vm"
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" DELETE /api/v1/templates/pool-tpl
