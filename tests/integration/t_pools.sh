#!/usr/bin/env bash
# t_pools.sh - resource pools through vdcd, on two namespace hosts: pools
# are objects of the API and the CLI (bad ones refused, naming the field or
# the numbers); a burst of concurrent power-ons into a pool never reserves
# more than the pool holds; each pool is a cgroup level on the hosts, its
# settings there (and changed there when the pool changes); a running VM
# moves between pools (its QEMU into the new level); a host keeps the
# reservations of the VMs it runs, at a power-on, a reservation change and
# a migration; a pool with VMs is not deleted.
source "$(dirname "$0")/lib.sh"

shared_up
vdcd_start || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"c1"}'
mapi POST /api/v1/clusters '{"name":"c2"}'
for h in h1 h2; do
	host_join "$h" c1 --datastore "shared=$SHARED" || { not_ok "$h joins"; finish; exit 1; }
done
hosts_connected 2 || not_ok "two hosts connect"

VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
export VDC_CONFIG=$TMP/vdc-config
vdc() { "$VDC" "$@"; }
check "vdc logs in" vdc login --server "$MGR_URL" --token "$ADMIN_TOKEN" --ca-fingerprint "$CA_FP"

# ---- pools as objects: made, refused, shown -------------------------------
check "vdc pool create gold (512 MiB reserved, fixed; shares 200; 2 GiB limit)" \
	vdc pool create gold --cluster c1 --mem-reservation 512 --no-expandable --cpu-shares 200 --mem-limit 2048
mapi POST /api/v1/pools '{"name":"web","cluster":"c1","parent":"gold","cpu_limit_pct":150}'
check "a child pool web under gold (201)" test "$STATUS/$(jget "$BODY" .expandable)" = 201/true
WEB=$(jget "$BODY" .id)
mapi GET /api/v1/pools/gold
GOLD=$(jget "$BODY" .id)
check "web's parent is gold" test "$(vdc pool get web -o json | jq -r .parent_id)" = "$GOLD"
mapi POST /api/v1/pools '{"name":"p2","cluster":"nowhere"}'
check "an unknown cluster: 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/cluster
mapi POST /api/v1/pools '{"name":"c2pool","cluster":"c2"}'
mapi POST /api/v1/pools '{"name":"p2","cluster":"c1","parent":"c2pool"}'
check "a parent in another cluster: 400 naming parent" test "$STATUS/$(jget "$BODY" .error.field)" = 400/parent
mapi POST /api/v1/pools '{"name":"p3","cluster":"c1","parent":"gold","mem_reservation_mib":1024}'
check "a child reserving more than its fixed parent holds: 409 naming both and the numbers" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(grep -c "pool 'gold'.*512 MiB" <<<"$(jget "$BODY" .error.message)")" \
	= 409/pool_invalid/1
mapi POST /api/v1/pools '{"name":"p4","cluster":"c1","mem_reservation_mib":2048,"mem_limit_mib":1024}'
check "a limit below the reservation: 409 saying so" \
	test "$STATUS/$(grep -c "limit 1024 MiB is below its reservation 2048 MiB" <<<"$(jget "$BODY" .error.message)")" = 409/1
mapi POST /api/v1/pools '{"name":"p5","cluster":"c1","mem_shares":10}'
check "an unknown key: 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/mem_shares
mapi POST /api/v1/pools '{"name":"gold","cluster":"c1"}'
check "a name taken: 409" test "$STATUS" = 409
mapi PATCH /api/v1/pools/web '{"parent":null}'
check "a pool does not move under another parent: 400 naming parent" test "$STATUS/$(jget "$BODY" .error.field)" = 400/parent
mapi GET /api/v1/pools?cluster_id="$(vdc cluster get c1 -o json | jq -r .id)"
check "the pools of c1 are listed (gold, web)" test "$(jget "$BODY" '[.items[].name] | sort | join(",")')" = gold,web
check "vdc pool list shows them" test "$(vdc pool list | grep -cE '^(gold|web) ')" = 2

# ---- a burst of power-ons into gold: never more than its 512 MiB ----------
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=128'
for i in 1 2 3 4; do
	mapi POST /api/v1/vms "{\"name\":\"b$i\",\"template\":\"tiny\",\"start\":false,\"pool\":\"gold\",\"mem_reservation_mib\":128,\"datastore\":\"shared\"}"
	task_wait "$(jget "$BODY" .task.id)"
	[ "$TASK_STATE" = succeeded ] || not_ok "b$i is made ($TASK_STATE)"
done
check "vdc vm create b5 --pool gold --mem-reservation 128M" \
	vdc vm create b5 --template tiny --no-start --datastore shared --pool gold --mem-reservation 128M
mapi GET /api/v1/vms/b1
check "a VM made in gold records its pool and reservation" \
	test "$(jget "$BODY" .pool_id)/$(jget "$BODY" .config.mem_reservation_mib)" = "$GOLD/128"
burst=()
for i in 1 2 3 4 5; do
	curl -s -o "$TMP/burst$i" -w '%{http_code}' --max-time 60 -X POST --cacert "$MGR_CACERT" \
		-H "Authorization: Bearer $ADMIN_TOKEN" "$MGR_URL/api/v1/vms/b$i/start" >"$TMP/burst$i.code" &
	burst+=($!)
done
wait "${burst[@]}"
codes=$(for f in "$TMP"/burst?.code; do cat "$f"; echo; done | sort | uniq -c | awk '{print $1 "x" $2}' | paste -sd,)
check "five power-ons at once: four accepted, one refused ($codes)" test "$codes" = 4x202,1x409
refused=$(grep -l 409 "$TMP"/burst?.code | sed 's/.code$//')
msg=$(jq -r .error.message "$refused")
check "the refusal names the pool and the numbers ($msg)" \
	test "$(jq -r .error.code "$refused")/$(grep -c "pool 'gold' cannot reserve 128 MiB more: 512 MiB of its 512 MiB" <<<"$msg")" = pool_reservation/1
for f in "$TMP"/burst?; do
	id=$(jq -r '.task.id // empty' "$f")
	[ -n "$id" ] && { task_wait "$id" 180; [ "$TASK_STATE" = succeeded ] || not_ok "a start accepted ran ($TASK_STATE)"; }
done
mapi GET "/api/v1/clusters/c1/pools"
check "the tree says gold reserves 512 MiB for its 4 running VMs" \
	test "$(jget "$BODY" '.pools[] | select(.name=="gold") | "\(.reserved_mem_mib)/\(.vms_running)/\(.vms)"')" = 512/4/5
check "... and the cluster's root counts gold's reservation" test "$(jget "$BODY" .cluster.reserved_mem_mib)" = 512
check "vdc pool tree c1 draws web under gold" \
	bash -c "\"$VDC\" pool tree c1 | grep -A1 '^  gold' | grep -q '^    web '"
# Which one was refused is the race's: the roles below go by outcome.
LATE=b${refused#"$TMP"/burst}
RUN=()
for i in 1 2 3 4 5; do [ "b$i" = "$LATE" ] || RUN+=("b$i"); done
MOVER=${RUN[0]} LEAVER=${RUN[1]} STAYER=${RUN[2]}

# ---- each pool a cgroup level on the hosts --------------------------------
cg() { # cg CONTROLLER HOST: the host's base cgroup of that controller
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo "/sys/fs/cgroup/vdct$$$2"; else echo "/sys/fs/cgroup/$1/vdct$$$2"; fi
}
host_of() { mapi GET "/api/v1/hosts/$(mapi GET "/api/v1/vms/$1"; jget "$BODY" .host_id)"; jget "$BODY" .name; }
agent_name() { mapi GET "/api/v1/vms/$1"; jget "$BODY" .config.agent_name; }
qemu_of() { local a; a=$(agent_name "$1"); qemu_pid_of "$(host_of "$1")" "$a"; }
in_cgroup() { # VM PATH-UNDER-BASE: QEMU's pid is in that cgroup (cpu and memory)
	local h pid
	h=$(host_of "$1")
	pid=$(qemu_of "$1")
	[ -n "$pid" ] && grep -qx "$pid" "$(cg cpu "$h")/$2/cgroup.procs" &&
		grep -qx "$pid" "$(cg memory "$h")/$2/cgroup.procs"
}
mover_host=$(host_of "$MOVER")
check "$MOVER's QEMU runs in gold's level on $mover_host" in_cgroup "$MOVER" "pool:gold/$(agent_name "$MOVER")"
check "gold's level has its shares (200 -> cpu.shares 2048)" \
	test "$(cat "$(cg cpu "$mover_host")/pool:gold/cpu.shares")" = 2048
check "... and its memory limit (2 GiB)" \
	test "$(cat "$(cg memory "$mover_host")/pool:gold/memory.limit_in_bytes")" = $((2048 << 20))
check "vdc pool update gold --cpu-shares 300" vdc pool update gold --cpu-shares 300
shares=
for _ in $(seq 1 50); do
	shares=$(cat "$(cg cpu "$mover_host")/pool:gold/cpu.shares")
	[ "$shares" = 3072 ] && break
	sleep 0.1
done
check "the host follows the change at once (cpu.shares $shares)" test "$shares" = 3072
mapi PATCH /api/v1/pools/gold '{"mem_reservation_mib":256}'
check "gold's reservation below what its running VMs reserve: 409 naming the numbers" \
	test "$STATUS/$(grep -c "512 MiB are reserved under it" <<<"$(jget "$BODY" .error.message)")" = 409/1
mapi DELETE /api/v1/pools/gold
check "a pool holding VMs and a child pool is not deleted: 409 saying what it holds" \
	test "$STATUS/$(grep -c "1 child pool and 5 VMs" <<<"$(jget "$BODY" .error.message)")" = 409/1

# ---- VMs move between pools -----------------------------------------------
pid_before=$(qemu_of "$MOVER")
mapi POST /api/v1/vms/$MOVER/pool '{"pool":"web"}'
check "$MOVER (running) moves into web: a task" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)"
check "... which succeeds" test "$TASK_STATE" = succeeded
same_qemu_in_web() { [ "$(qemu_of "$MOVER")" = "$pid_before" ] && in_cgroup "$MOVER" "pool:gold/pool:web/$(agent_name "$MOVER")"; }
check "$MOVER's QEMU (the same process) is in web's level under gold" same_qemu_in_web
check "web's level has its CPU limit (150% -> cfs quota 150000)" \
	test "$(cat "$(cg cpu "$mover_host")/pool:gold/pool:web/cpu.cfs_quota_us")" = 150000
mapi GET /api/v1/clusters/c1/pools
check "gold still reserves 512 MiB: web borrows $MOVER's 128 MiB from it (expandable)" \
	test "$(jget "$BODY" '[.pools[] | select(.name=="gold" or .name=="web") | .reserved_mem_mib] | join(",")')" = 512,128
check "vdc vm set-pool "$LEAVER" --root (out of every pool)" vdc vm set-pool "$LEAVER" --root
check "$LEAVER's QEMU is in the host's level, no pool's" in_cgroup "$LEAVER" "$(agent_name "$LEAVER")"
mapi POST "/api/v1/vms/$LATE/start"
check "the VM refused in the burst now starts: $LEAVER left gold" test "$STATUS" = 202
task_wait "$(jget "$BODY" .task.id)" 180
check "... and runs" test "$TASK_STATE" = succeeded
mapi POST /api/v1/vms/$STAYER/pool '{"mem_reservation_mib":4096}'
check "$STAYER reserving 4 GiB in gold: 409 naming gold" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(grep -c "pool 'gold'" <<<"$(jget "$BODY" .error.message)")" = 409/pool_reservation/1
mapi GET /api/v1/vms/$STAYER
check "... and nothing changed" test "$(jget "$BODY" .config.mem_reservation_mib)/$(jget "$BODY" .pool_id)" = "128/$GOLD"
mapi POST /api/v1/vms/$STAYER/pool '{"pool":"c2pool"}'
check "a pool of another cluster: 400 naming pool" test "$STATUS/$(jget "$BODY" .error.field)" = 400/pool
mapi POST /api/v1/vms/$STAYER/pool '{"pool":"../gold"}'
check "a pool named as a path: 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/pool

# ---- a host keeps the reservations of what it runs ------------------------
mapi POST /api/v1/vms/$LEAVER/pool '{"cpu_reservation_pct":250}'
check "$LEAVER reserving 250% CPU on a 2-CPU host: 409 naming the host" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(grep -c "of its 200% CPU" <<<"$(jget "$BODY" .error.message)")" = 409/host_reservation/1
mapi POST /api/v1/vms/$LEAVER/pool '{"cpu_reservation_pct":150}'
check "$LEAVER reserving 150% CPU: accepted, no host work (200)" test "$STATUS" = 200
leaver_host=$(host_of "$LEAVER")
other=h1; [ "$leaver_host" = h1 ] && other=h2
# A VM on the other host reserving 100% CPU cannot move to $LEAVER's.
check "vdc vm create mv --cpu-reservation 100 (stopped)" \
	vdc vm create mv --template tiny --no-start --datastore shared --cpu-reservation 100
if [ "$(host_of mv)" = "$leaver_host" ]; then
	mapi POST /api/v1/vms/mv/start
	check "mv (100% CPU) cannot start on $leaver_host, where $LEAVER reserves 150%: 409 host_reservation" \
		test "$STATUS/$(jget "$BODY" .error.code)" = 409/host_reservation
	vdc vm set-pool mv --cpu-reservation 0 >/dev/null
	mapi POST /api/v1/vms/mv/start
	task_wait "$(jget "$BODY" .task.id)" 180
	mapi POST /api/v1/vms/mv/migrate "{\"host\":\"$other\"}"
	task_wait "$(jget "$BODY" .task.id)" 180
	check "mv moves to $other" test "$TASK_STATE/$(host_of mv)" = "succeeded/$other"
	vdc vm set-pool mv --cpu-reservation 100 >/dev/null
else
	mapi POST /api/v1/vms/mv/start
	task_wait "$(jget "$BODY" .task.id)" 180
	check "mv (100% CPU) starts on $other" test "$TASK_STATE" = succeeded
fi
mapi POST /api/v1/vms/mv/migrate "{\"host\":\"$leaver_host\"}"
check "mv cannot migrate to $leaver_host: placement says it cannot keep its reservation there (50% of 200% free)" \
	test "$STATUS/$(grep -c "cannot keep its reservation: it reserves 100% CPU, 50% of the host's 200% are free" <<<"$(jget "$BODY" .error.placement.hosts)")" \
	= 409/1
mapi POST /api/v1/vms/mv/migrate '{}'
check "... nor anywhere (placement's choice): 409, $leaver_host rejected for the reservation" \
	test "$STATUS/$(jget "$BODY" '.error.placement.rejected.reservation // empty')" = 409/1
# Placement weighs reservations: a VM that starts reserving 100% CPU goes
# to the host that keeps it ($other: 100% of 200% reserved by mv), never to
# $leaver_host (150% by $LEAVER), whatever the policy would pick.
mapi POST /api/v1/vms '{"name":"pl","template":"tiny","start":true,"datastore":"shared","cpu_reservation_pct":100}'
task_wait "$(jget "$BODY" .task.id)" 180
check "a VM started reserving 100% CPU is placed on $other, where it fits beside mv's" \
	test "$TASK_STATE/$(host_of pl)" = "succeeded/$other"
mapi POST /api/v1/vms '{"name":"pl2","template":"tiny","start":true,"datastore":"shared","cpu_reservation_pct":60}'
check "one more reserving 60%: no host keeps it (409), both rejected for the reservation" \
	test "$STATUS/$(jget "$BODY" '.error.placement.rejected.reservation // empty')" = 409/2

# ---- metrics, events, and the levels go with the last VM ------------------
mapi GET /metrics
refused_pool=$(grep -oE '^vdcd_admission_refused_total\{by="pool"\} [0-9]+' <<<"$BODY" | awk '{print $2}')
refused_host=$(grep -oE '^vdcd_admission_refused_total\{by="host"\} [0-9]+' <<<"$BODY" | awk '{print $2}')
check "/metrics counts the refusals: by pools ${refused_pool:-none} (at least 2), by hosts ${refused_host:-none} (at least 1)" \
	test "${refused_pool:-0}" -ge 2 -a "${refused_host:-0}" -ge 1
check "/metrics counts the pools (vdcd_pools 3)" grep -qx 'vdcd_pools 3' <<<"$BODY"
mapi GET '/api/v1/events?limit=200'
check "pool changes and refusals are audit events" \
	test "$(jget "$BODY" '[.items[] | select(.action=="pool.create" or .action=="pool.update" or (.action=="vm.start" and .outcome=="refused"))] | length >= 4')" = true
for v in b1 b2 b3 b4 b5 mv pl; do
	mapi DELETE "/api/v1/vms/$v?force=true"
	[ "$STATUS" = 202 ] && task_wait "$(jget "$BODY" .task.id)" 120
done
check "with its VMs gone, gold's level leaves $mover_host" test ! -e "$(cg cpu "$mover_host")/pool:gold"
mapi DELETE "/api/v1/pools/$WEB"
check "web, empty, is deleted (204)" test "$STATUS" = 204
check "vdc pool delete gold" vdc pool delete gold
finish
