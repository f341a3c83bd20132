#!/usr/bin/env bash
# stop.sh - `make stop`: powers off every VM of the pool `make run` made
# (through vdcd for the VMs it manages, so their desired state is
# "stopped"; through each host's agent for any VM made on an agent
# directly), deletes the VM `make run` made, stops the agents and vdcd,
# removes the pool's namespaces and links (scripts/pool.sh), then says what
# is left. Exits non-zero if a QEMU of the pool still ran at the end (it is
# killed with its host's namespace).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/run-env.sh
. scripts/pool.sh
STOP_TIMEOUT_S=${VDC_STOP_TIMEOUT_S:-30}
say() { echo "stop: $*"; }

mgr() { # METHOD PATH [BODY]: vdcd's API as its bootstrap administrator
	curl -s --max-time 10 --cacert "$DATA/tls/ca.pem" -X "$1" -H "Authorization: Bearer $(cat "$DATA/admin.token")" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} "https://$MGR$2"
}
# vdcd's client certificate toward agents (its server certificate, unless an
# operator gave it one of its own).
cc=$DATA/tls/server
[ -f "$DATA/tls/client.pem" ] && cc=$DATA/tls/client
agent() { # HOST METHOD PATH [BODY]: a host's agent, as vdcd calls it (mutual TLS)
	curl -s --max-time $((STOP_TIMEOUT_S + 15)) --cacert "$DATA/tls/ca.pem" --cert "$cc.pem" --key "$cc.key" \
		-X "$2" -H "Authorization: Bearer $(cat "$(pool_dir "$1")/agent.token")" \
		-H 'Content-Type: application/json' ${4:+--data "$4"} "https://$(pool_ip "$1"):7441$3"
}

# 1. The VMs vdcd manages: one stop task each, all at once.
if alive vdcd && [ -r "$DATA/admin.token" ]; then
	tasks=()
	after=""
	while :; do
		page=$(mgr GET "/api/v1/vms?limit=1000${after:+&after=$after}")
		while IFS=$'\t' read -r id name state; do
			[ -n "$id" ] || continue
			case $state in running | paused) ;; *) continue ;; esac
			say "powering off VM '$name' ($state; the guest gets ${STOP_TIMEOUT_S}s to shut down)"
			t=$(mgr POST "/api/v1/vms/$id/stop" "{\"timeout_s\":$STOP_TIMEOUT_S}" | jq -r '.task.id // empty')
			[ -n "$t" ] && tasks+=("$t:$name") || say "vdcd did not take the stop of '$name'"
		done < <(jq -r '.items[] | [.id, .name, .power_state] | @tsv' <<<"$page")
		after=$(jq -r '.next // empty' <<<"$page")
		[ -n "$after" ] || break
	done
	for tn in "${tasks[@]}"; do
		t=${tn%%:*}
		for _ in $(seq 1 $(((STOP_TIMEOUT_S + 15) * 10))); do
			task=$(mgr GET "/api/v1/tasks/$t")
			case $(jq -r .state <<<"$task") in succeeded | failed) break ;; esac
			sleep 0.1
		done
		jq -r --arg n "${tn#*:}" '"stop: VM \($n): \(.state)" +
			(if .state == "failed" then ": \(.message)" else "" end) +
			(if .result.forced == true then " (forced: \(.result.reason // "the guest did not shut down"))" else "" end)' <<<"$task"
	done
	demo=$(mgr GET "/api/v1/vms/demo")
	if jq -e .id <<<"$demo" >/dev/null 2>&1; then
		say "deleting VM 'demo' (the one make run made)"
		t=$(mgr DELETE "/api/v1/vms/$(jq -r .id <<<"$demo")?force=true" | jq -r '.task.id // empty')
		for _ in $(seq 1 300); do
			[ -n "$t" ] || break
			case $(mgr GET "/api/v1/tasks/$t" | jq -r .state) in succeeded | failed) break ;; esac
			sleep 0.1
		done
	fi
fi

# 2. Whatever still runs on an agent: VMs made on an agent directly, or
# ones vdcd could not stop. Their stops run side by side.
for h in $(pool_hosts); do
	pool_agent_alive "$h" && [ -r "$DATA/tls/ca.pem" ] || continue
	while IFS=$'\t' read -r name state; do
		[ -n "$name" ] || continue
		say "powering off VM '$name' on $h's agent ($state; vdcd does not manage it or could not stop it)"
		agent "$h" POST "/api/v1/vms/$name/stop" "{\"timeout_s\":$STOP_TIMEOUT_S}" >/dev/null &
	done < <(agent "$h" GET /api/v1/vms | jq -r '.vms[]? | select(.state == "running" or .state == "paused") |
		[.name, .state] | @tsv')
done
wait

# 3. What still runs: a QEMU of a host of the pool, its pid file (pid and
# start time, as the agent writes it) naming a live process of that start.
left=""
for h in $(pool_hosts); do
	for pf in "$(pool_dir "$h")"/run/vms/*/qemu.pid; do
		[ -f "$pf" ] || continue
		read -r pid start <"$pf" || continue
		# Field 22 of stat is the start time; comm (field 2) may hold spaces.
		[ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $20}')" = "$start" ] || continue
		left+="VM '$(basename "$(dirname "$pf")")' on $h: QEMU pid $pid"$'\n'
	done
done
left=${left%$'\n'}

# 4. The daemons, then the pool's hosts (what is left in them goes too).
if alive vdcd; then
	pid=$(cat "$RUN/vdcd.pid")
	say "stopping vdcd (pid $pid)"
	kill -TERM "$pid"
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && { say "vdcd did not exit in 5 s; killing it"; kill -KILL "$pid"; }
fi
rm -f "$RUN/vdcd.pid"
for h in $(pool_hosts); do
	pool_agent_alive "$h" && say "stopping the agent of $h (pid $(cat "$(pool_dir "$h")/agent.pid"))"
done
say "removing the pool's hosts (namespaces $(pool_hosts | sed "s/^/$POOL_NAME-/" | paste -sd' '), bridge $POOL_BR)"
pool_down

echo "stop: left on disk: vdcd's inventory and images in $DATA, the hosts' state and the shared datastore" \
	"in $POOL_DIR, logs in $LOGS, links in $BIN; 'make run' starts from them again."
if [ -n "$left" ]; then
	say "these still ran after their stop, and were killed with their host:"
	sed 's/^/  /' <<<"$left"
	exit 1
fi
say "no VM of the pool is running."
