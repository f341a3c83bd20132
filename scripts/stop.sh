#!/usr/bin/env bash
# stop.sh - `make stop`: powers off every VM on this host (through vdcd for
# the VMs it manages, so their desired state is "stopped"; through the agent
# for any VM made on the agent directly), deletes the VM `make run` made,
# stops the agent and vdcd (and the agent's NAT dnsmasq), then says what is
# left. Exits non-zero if a QEMU of this agent still runs at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/run-env.sh
STOP_TIMEOUT_S=${VDC_STOP_TIMEOUT_S:-30}
say() { echo "stop: $*"; }

mgr() { # METHOD PATH [BODY]: vdcd's API as its bootstrap administrator
	curl -s --max-time 10 -X "$1" -H "Authorization: Bearer $(cat "$DATA/admin.token")" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} "http://$MGR$2"
}
agent() { # METHOD PATH [BODY]: the agent's own API
	curl -s --max-time $((STOP_TIMEOUT_S + 15)) -X "$1" -H "Authorization: Bearer $(cat "$AGENT_TOKEN")" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} "http://$AGENT$2"
}

# 1. The VMs vdcd manages on this host: one stop task each, all at once.
if alive vdcd && [ -r "$DATA/admin.token" ]; then
	host_id=$(mgr GET /api/v1/hosts | jq -r --arg n "$HOST_NAME" '.items[] | select(.name == $n) | .id')
	tasks=()
	after=""
	while [ -n "$host_id" ]; do
		page=$(mgr GET "/api/v1/vms?host_id=$host_id&limit=1000${after:+&after=$after}")
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

# 2. Whatever still runs on the agent: VMs made on the agent directly, or
# ones vdcd could not stop. Their stops run side by side.
if alive agent && [ -r "$AGENT_TOKEN" ]; then
	while IFS=$'\t' read -r name state; do
		[ -n "$name" ] || continue
		say "powering off VM '$name' on the agent ($state; vdcd does not manage it or could not stop it)"
		agent POST "/api/v1/vms/$name/stop" "{\"timeout_s\":$STOP_TIMEOUT_S}" >/dev/null &
	done < <(agent GET /api/v1/vms | jq -r '.vms[] | select(.state == "running" or .state == "paused") |
		[.name, .state] | @tsv')
	wait
fi

# 3. The daemons.
for d in agent vdcd; do
	if alive "$d"; then
		pid=$(cat "$RUN/$d.pid")
		say "stopping $d (pid $pid)"
		kill -TERM "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && { say "$d did not exit in 5 s; killing it"; kill -KILL "$pid"; }
	fi
	rm -f "$RUN/$d.pid"
done
# The agent's NAT network outlives the agent on purpose (guests keep their
# leases across agent restarts); make stop ends it too.
nat=$AGENT_RUN/nat/dnsmasq.pid
if [ -f "$nat" ] && kill -0 "$(cat "$nat")" 2>/dev/null; then
	say "stopping the NAT network's dnsmasq (pid $(cat "$nat"))"
	kill -TERM "$(cat "$nat")"
	rm -f "$nat"
fi

# 4. What is left.
# A QEMU of this agent: its pid file (pid and start time, as the agent
# writes it) names a live process that started at that time.
left=""
for pf in "$AGENT_RUN"/vms/*/qemu.pid; do
	[ -f "$pf" ] || continue
	read -r pid start <"$pf" || continue
	# Field 22 of stat is the start time; comm (field 2) may hold spaces.
	[ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $20}')" = "$start" ] || continue
	left+="VM '$(basename "$(dirname "$pf")")': QEMU pid $pid"$'\n'
done
left=${left%$'\n'}
echo "stop: left on disk: vdcd's inventory and images in $DATA, VM disks in $AGENT_STATE/datastore," \
	"logs in $LOGS, links in $BIN; 'make run' starts from them again."
if [ -n "$left" ]; then
	say "still running (stop them with kill, or start the agent again and delete them):"
	sed 's/^/  /' <<<"$left"
	exit 1
fi
say "no VM of this host is running."
