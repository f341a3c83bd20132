#!/usr/bin/env bash
# t_inventory.sh - vdcd's inventory index against its store. A real host (h1,
# a real agent) and 1,050 simulated hosts seeded straight into the store
# (agent URLs on 127.0.0.1 that refuse at once, so their tasks fail fast);
# then random creates, deletes, resizes, maintenance switches and restarts
# of vdcd, and after each step the index vdcd keeps (fed by every commit, on
# the API's thread and the task workers') must equal one rebuilt from the
# store (GET /api/v1/debug/inventory-index, administrators only). Also: lists
# that must read every page, not the first 1,000 rows: the hosts that reach
# a datastore and a project's members; the placement report stays bounded
# with over a thousand hosts; and a cluster edited (PATCH) is what the
# index, the live stream, the audit log and placement's next dry run see,
# bad edits refused by field. STEPS and SEED can be set.
source "$(dirname "$0")/lib.sh"

STORE_PUT=${VDC_STORE_PUT:-$(dirname "$VDCD")/../../tests/manager/store/store-put}
NFAKE=1050
STEPS=${STEPS:-40}
SEED=${SEED:-$RANDOM}
RANDOM=$SEED
diag "seed $SEED (SEED=$SEED reruns these steps)"
[ -x "$STORE_PUT" ] || { not_ok "store-put is built ($STORE_PUT; build with -Dtests=true)"; finish; exit 1; }

fabric_up
vdcd_start --heartbeat-timeout-s 3600 --workers 2 || { not_ok "vdcd starts"; finish; exit 1; }
mapi POST /api/v1/clusters '{"name":"real"}'
mapi POST /api/v1/networks '{"name":"n1","bridge":"br0"}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
mgr_guest_template tiny "$ADMIN_TOKEN" '.memory_mib=64'
check "a template is made" test "$STATUS" = 201
host_join h1 real || not_ok "h1 joins"
host_connected h1
check "h1 is connected" test "$(jget "$BODY" .state)" = connected
mapi POST /api/v1/users '{"name":"viewer","password":"viewer-password-1"}'
mapi POST /api/v1/auth/login '{"user":"viewer","password":"viewer-password-1","token_name":"t"}'
VIEWER=$(jget "$BODY" .token)
vdcd_stop || not_ok "vdcd stops cleanly before seeding"

# ---- seeding: 1,050 hosts in cluster "fake", a project of 1,050 members ----
# One awk: uuid-shaped ids made from a kind and a number.
awk -v n=$NFAKE -v now="$(date +%s)" 'function id(k, i) { return sprintf("%08x-0000-4000-8000-%012x", k, i) }
BEGIN {
	c = id(1, 1)
	printf "cluster {\"id\":\"%s\",\"name\":\"fake\",\"cpu_overcommit\":4,\"mem_overcommit\":1,\"policy\":\"pack\"}\n", c
	for (i = 1; i <= n; i++)
		printf "host {\"id\":\"%s\",\"name\":\"sim-%04d\",\"cluster_id\":\"%s\",\"state\":\"connected\",\"agent_url\":\"http://127.0.0.1:9\",\"maintenance\":false,\"last_heartbeat_epoch\":%d,\"capacity\":{\"cpus\":4,\"memory_mib\":%d},\"datastores\":[{\"name\":\"local\",\"total_bytes\":1000000000,\"free_bytes\":%d}],\"bridges\":[\"br0\"]}\n", id(2, i), i, c, now, 1024 * (1 + i % 4), 500000000 + i
	p = id(3, 1)
	printf "project {\"id\":\"%s\",\"name\":\"p1\",\"quota\":{\"vms\":null,\"vcpus\":null,\"memory_mib\":null,\"disk_mib\":null},\"usage\":{}}\n", p
	for (i = 1; i <= n; i++) {
		u = id(4, i)
		printf "user {\"id\":\"%s\",\"name\":\"user-%04d\"}\n", u, i
		printf "member {\"id\":\"%s\",\"name\":\"%s:%s\",\"user_id\":\"%s\",\"project_id\":\"%s\",\"role\":\"viewer\"}\n", id(5, i), p, u, u, p
	}
}' >"$TMP/seed.txt"
check "the store is seeded with $NFAKE simulated hosts and $NFAKE members" \
	"$STORE_PUT" "sqlite:$TMP/vdcd/vdcd.db" <"$TMP/seed.txt"
vdcd_start --heartbeat-timeout-s 3600 --workers 2 || { not_ok "vdcd starts on the seeded store"; finish; exit 1; }
grep -q '"inventory_index_built"\|inventory_index_built' "$TMP/vdcd.log" &&
	diag "$(grep inventory_index_built "$TMP/vdcd.log" | tail -1)"

# ---- every page ----
mapi GET /api/v1/datastores/local
check "a datastore lists every host that reaches it, past the first 1,000 ($(jget "$BODY" '.hosts | length'))" \
	test "$(jget "$BODY" '[.hosts[] | select(.host | startswith("sim-"))] | length')" = $NFAKE
mapi GET /api/v1/projects/p1/members
check "a project lists every member, past the first 1,000 ($(jget "$BODY" '.items | length'))" \
	test "$(jget "$BODY" '.items | length')" = $NFAKE

# ---- the debug view is the administrators' ----
ADMIN_TOKEN=$VIEWER mapi GET /api/v1/debug/inventory-index
check "a user who is no administrator cannot read the index (403)" test "$STATUS" = 403

# index_matches DESC: the live index equals one rebuilt from the store (a
# commit between the two reads can differ for a moment: a few tries).
index_matches() {
	local i
	for i in $(seq 1 50); do
		mapi GET /api/v1/debug/inventory-index
		[ "$STATUS" = 200 ] && [ "$(jget "$BODY" .equal)" = true ] && { ok "$1"; return 0; }
		sleep 0.1
	done
	not_ok "$1"
	diag "status $STATUS; differences (index vs store):"
	jq -c '. as $r | [(.index, .store) | paths(scalars)] | unique | .[] as $p |
		select(($r.index | getpath($p)) != ($r.store | getpath($p))) |
		{path: $p, index: ($r.index | getpath($p)), store: ($r.store | getpath($p))}' <<<"$BODY" 2>/dev/null |
		head -10 | sed 's/^/#   /'
	return 1
}
index_matches "the index built at start equals the store"
check "the index holds every host" test "$(jget "$BODY" '.index.hosts | length')" = $((NFAKE + 1))

# ---- a bounded placement report ----
mapi POST /api/v1/vms '{"name":"huge","template":"tiny","memory_mib":4000000,"start":false}'
check "a VM no host fits is 409 no_host" test "$STATUS/$(jget "$BODY" .error.code)" = 409/no_host
check "its report counts every host by reason" \
	test "$(jget "$BODY" '[.error.placement.rejected[]] | add')" = "$(jget "$BODY" .error.placement.hosts_total)"
check "its report names a few hosts, not all ($(jget "$BODY" '.error.placement.hosts | length'))" \
	test "$(jget "$BODY" '.error.placement.hosts | length')" -le 12
mapi POST /api/v1/vms '{"name":"v-first","template":"tiny","cluster":"fake","start":false}'
check "a VM is placed among the simulated hosts (202)" test "$STATUS" = 202
check "its report: the best 5 eligible hosts and examples ($(jget "$BODY" '.placement.hosts | length'))" \
	test "$(jget "$BODY" '[.placement.hosts[] | select(.eligible)] | length')" = 5 \
	-a "$(jget "$BODY" '.placement.hosts | length')" -le 12 -a "$(jget "$BODY" .placement.eligible)" -ge 1000

# ---- editing a cluster (PATCH): the store, the index, placement ----
t_edit=$SECONDS
# A VM placed in real (h1) holds some of h1's CPUs; fake's hosts have 4 CPUs.
mapi POST /api/v1/vms '{"name":"v-stay","template":"tiny","cluster":"real","start":false}'
[ "$STATUS" = 202 ] && task_wait "$(jget "$BODY" .task.id)" 60
mapi PATCH /api/v1/clusters/real '{"cpu_overcommit":0.1}'
check "lowering real's cpu_overcommit to 0.1, below what v-stay holds on h1, is allowed (200)" \
	test "$STATUS/$(jget "$BODY" .cpu_overcommit)" = 200/0.1
mapi GET /api/v1/vms/v-stay
check "the VM already placed stays where it is (v-stay: 200, on h1)" test "$STATUS/$(jget "$BODY" .placement.host)" = 200/h1
mapi POST '/api/v1/vms?dry_run=true' '{"name":"v-edit","template":"tiny","cluster":"real","start":false}'
check "but a new VM is refused there (dry run 409: h1 short of CPU)" \
	test "$STATUS/$(jget "$BODY" .error.placement.rejected.cpu)" = 409/1
mapi PATCH /api/v1/clusters/real '{"cpu_overcommit":4}'
curl -sN --max-time 30 --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$MGR_URL/api/v1/stream" >"$TMP/edit.sse" 2>/dev/null &
sse_pid=$!
for _ in $(seq 1 30); do grep -q '^event: hello' "$TMP/edit.sse" && break; sleep 0.1; done
mapi PATCH /api/v1/clusters/fake '{"cpu_overcommit":0.1,"description":"squeezed"}'
check "an administrator sets fake's cpu_overcommit to 0.1 and a description (200)" \
	test "$STATUS/$(jget "$BODY" .cpu_overcommit)/$(jget "$BODY" .description)/$(jget "$BODY" .name)" = 200/0.1/squeezed/fake
index_matches "after the edit the index equals the store"
check "the index holds fake's new ratio" test "$(jget "$BODY" '.index.clusters[] | select(.name == "fake") | .cpu_overcommit')" = 0.1
mapi POST '/api/v1/vms?dry_run=true' '{"name":"v-edit","template":"tiny","cluster":"fake","start":false}'
check "now no host of fake fits a 1-vCPU VM: the dry run is 409 no_host, all $NFAKE hosts short of CPU" \
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.placement.rejected.cpu)" = "409/no_host/$NFAKE"
mapi PATCH /api/v1/clusters/fake '{"cpu_overcommit":4,"policy":"spread"}'
check "raising cpu_overcommit back to 4 and switching to spread (200)" \
	test "$STATUS/$(jget "$BODY" .cpu_overcommit)/$(jget "$BODY" .policy)/$(jget "$BODY" .mem_overcommit)" = 200/4/spread/1
mapi POST '/api/v1/vms?dry_run=true' '{"name":"v-edit","template":"tiny","cluster":"fake","start":false}'
check "the same VM fits again, placed by spread (dry run 200: $(jget "$BODY" .placement.summary | cut -c1-60))" \
	eval 'test "$STATUS" = 200 && jget "$BODY" .placement.summary | grep -q "spread: least allocated"'
mapi GET /api/v1/vms/v-edit
check "a dry run made no VM" test "$STATUS" = 404
edit_seen() { grep -q '^data: {"kind":"cluster","change":"updated",.*"cpu_overcommit":0.1' "$TMP/edit.sse"; }
for _ in $(seq 1 50); do edit_seen && break; sleep 0.1; done
kill "$sse_pid" 2>/dev/null
wait "$sse_pid" 2>/dev/null
check "the live stream told the change (cluster.updated with the new document)" edit_seen
mapi GET '/api/v1/events?limit=50'
edits=$(jget "$BODY" '[.items[] | select(.action == "cluster.update" and .outcome == "succeeded") | .detail]')
check "the audit log has the edits with what changed" \
	eval 'jq -e "index(\"cpu_overcommit 4 -> 0.1, description (none) -> (text)\")" <<<"$edits" >/dev/null'
mapi GET /api/v1/clusters/fake
version=$(jget "$BODY" .version)
bad_edit() { # bad_edit BODY FIELD WHAT
	mapi PATCH /api/v1/clusters/fake "$1"
	check "PATCH $3 is 400 naming $2" test "$STATUS/$(jget "$BODY" .error.field)" = "400/$2"
}
bad_edit '{"name":"other"}' name "of the name (not changeable)"
check "  ... and says a name cannot be changed" eval 'jget "$BODY" .error.message | grep -q "cannot be changed"'
bad_edit '{"cpu_overcommit":0}' cpu_overcommit "cpu_overcommit 0 (below 0.1)"
bad_edit '{"cpu_overcommit":65}' cpu_overcommit "cpu_overcommit 65 (above 64)"
bad_edit '{"mem_overcommit":4.5}' mem_overcommit "mem_overcommit 4.5 (above 4)"
bad_edit '{"cpu_overcommit":"8"}' cpu_overcommit "a ratio as a string"
bad_edit '{"policy":"random"}' policy "an unknown policy"
bad_edit '{"policy":null}' policy "a null policy"
bad_edit '{"colour":"red"}' colour "an unknown key"
bad_edit '{}' body "with nothing to change"
bad_edit '[1]' body "of a JSON array"
mapi PATCH /api/v1/clusters/no-such '{"policy":"pack"}'
check "PATCH of a cluster that does not exist is 404" test "$STATUS" = 404
ADMIN_TOKEN=$VIEWER mapi PATCH /api/v1/clusters/fake '{"cpu_overcommit":64}'
check "a user who is no administrator cannot edit a cluster (403)" test "$STATUS" = 403
mapi GET /api/v1/clusters/fake
check "refused edits changed nothing (version $version, still 4/spread)" \
	test "$(jget "$BODY" .version)/$(jget "$BODY" .cpu_overcommit)/$(jget "$BODY" .policy)" = "$version/4/spread"
mapi PATCH /api/v1/clusters/fake '{"policy":"pack","description":""}'
check "back to pack; an empty description removes it" \
	test "$STATUS/$(jget "$BODY" .policy)/$(jget "$BODY" 'has("description")')" = 200/pack/false
index_matches "after the edits the index equals the store"
diag "cluster edits: $((SECONDS - t_edit)) s"

# ---- random steps ----
VMS=(v-first)
n=0
pick_vm() { [ ${#VMS[@]} -gt 0 ] && echo "${VMS[RANDOM % ${#VMS[@]}]}"; }
for step in $(seq 1 "$STEPS"); do
	r=$((RANDOM % 100))
	if [ $r -lt 40 ]; then
		n=$((n + 1))
		cluster=real
		[ $((RANDOM % 3)) = 0 ] && cluster=fake
		groups=$(jq -nc --arg g "g$((RANDOM % 3))" 'if ($g == "g0") then {anti_affinity:[$g]} elif ($g == "g1") then {affinity:[$g]} else {} end')
		mapi POST /api/v1/vms "{\"name\":\"v$n\",\"template\":\"tiny\",\"cluster\":\"$cluster\",\"start\":false,\"placement\":$groups}"
		what="create v$n in $cluster ($STATUS)"
		[ "$STATUS" = 202 ] && VMS+=("v$n")
	elif [ $r -lt 60 ]; then
		v=$(pick_vm) || continue
		mapi DELETE "/api/v1/vms/$v?force=true"
		what="delete $v ($STATUS)"
		if [ "$STATUS" = 202 ]; then
			task_wait "$(jget "$BODY" .task.id)" 30 || not_ok "the delete of $v ends (step $step)"
		fi
		mapi GET "/api/v1/vms/$v"
		if [ "$STATUS" = 404 ]; then
			for i in "${!VMS[@]}"; do [ "${VMS[$i]}" = "$v" ] && unset 'VMS[i]'; done
			VMS=("${VMS[@]}")
		fi
	elif [ $r -lt 80 ]; then
		v=$(pick_vm) || continue
		mapi POST "/api/v1/vms/$v/resize" "{\"vcpus\":$((1 + RANDOM % 2)),\"memory_mib\":$((64 + 32 * (RANDOM % 3)))}"
		what="resize $v ($STATUS)"
		if [ "$STATUS" = 202 ]; then
			task_wait "$(jget "$BODY" .task.id)" 30 || not_ok "the resize of $v ends (step $step)"
		fi
	elif [ $r -lt 90 ]; then
		h=h1
		[ $((RANDOM % 2)) = 0 ] && h=sim-$(printf %04d $((1 + RANDOM % NFAKE)))
		on=$([ $((RANDOM % 2)) = 0 ] && echo true || echo false)
		mapi POST "/api/v1/hosts/$h/maintenance" "{\"enabled\":$on}"
		what="maintenance $on on $h ($STATUS)"
	else
		vdcd_stop || not_ok "vdcd stops cleanly (step $step)"
		vdcd_start --heartbeat-timeout-s 3600 --workers 2 || { not_ok "vdcd starts again"; break; }
		what="restart of vdcd"
	fi
	index_matches "step $step: $what: the index equals the store"
done
mapi GET /api/v1/debug/inventory-index
diag "at the end: $(jget "$BODY" '.index.vms | length') VMs in the index, $(jget "$BODY" '[.index.hosts[] | select(.nvms > 0)] | length') hosts with VMs"
vdcd_stop || not_ok "vdcd stops cleanly"
finish
