# 60-live.sh - the live stream and task cancel as a way out of a tenancy:
# bob watches the stream while alice makes, changes and deletes a VM, and
# must hear nothing of it (nor of hosts, nor the audit log); a token in the
# URL opens nothing; forged Last-Event-IDs replay nothing; bob cannot
# cancel alice's task, nor vera (a viewer of pa) her own project's.
# shellcheck shell=bash

h60_open() { # NAME TOKEN [curl args]: a stream read into $TMP/h60-NAME.sse
	local n=$1 t=$2
	shift 2
	curl -sN --cacert "$MGR_CACERT" -H "Authorization: Bearer $t" "$@" "$MGR_URL/api/v1/stream" \
		>"$TMP/h60-$n.sse" 2>/dev/null &
	echo $! >"$TMP/h60-$n.pid"
	local i
	for i in $(seq 1 50); do grep -q '^event: hello' "$TMP/h60-$n.sse" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
h60_close() { kill "$(cat "$TMP/h60-$1.pid")" 2>/dev/null; wait "$(cat "$TMP/h60-$1.pid")" 2>/dev/null; }

for h60_q in "access_token=$T_B" "token=$T_B" "bearer=$T_B"; do
	h60_s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$MGR_CACERT" "$MGR_URL/api/v1/stream?$h60_q")
	attack LIVE-1 "bob puts his token in the stream's URL (?${h60_q%%=*}=): 401, no stream" test "$h60_s" = 401
done

h60_open bob "$T_B"
h60_open alice "$T_A"
mgr_guest_template h60-tpl "$T_A"
as "$T_A" POST /api/v1/vms '{"name":"h60-secret","template":"h60-tpl","start":false}'
h60_vm=$(jget "$BODY" .vm.id) h60_task=$(jget "$BODY" .task.id)
as "$T_B" POST "/api/v1/tasks/$h60_task/cancel"
attack LIVE-2 "bob cancels alice's queued or running create: 404, as if it did not exist" test "$STATUS" = 404
as "$T_V" POST "/api/v1/tasks/$h60_task/cancel"
attack LIVE-2 "vera (viewer of pa) cancels pa's task: 403" test "$STATUS" = 403
task_wait "$h60_task" 120
attack LIVE-2 "... and the create went on to its end" test "$TASK_STATE" = succeeded
as "$T_A" POST /api/v1/vms/h60-secret/start
task_wait "$(jget "$BODY" .task.id)" 60
as "$T_A" DELETE '/api/v1/vms/h60-secret?force=true'
task_wait "$(jget "$BODY" .task.id)" 60
for _ in $(seq 1 50); do grep -q "vm.deleted" "$TMP/h60-alice.sse" && break; sleep 0.2; done
attack LIVE-3 "alice's own stream heard her VM's whole life (created, running, deleted)" \
	eval 'grep -q "$h60_vm" "$TMP/h60-alice.sse" && grep -q "^event: vm.deleted" "$TMP/h60-alice.sse" &&
		grep -q "\"power_state\":\"running\"" "$TMP/h60-alice.sse"'
attack LIVE-3 "bob's stream, open all along, never named alice's VM, its task or its name" \
	eval '! grep -qe "$h60_vm" -e "$h60_task" -e h60-secret "$TMP/h60-bob.sse"'
attack LIVE-3 "bob's stream carried no host, no audit event and no user, member or token document" \
	eval '! grep -qE "^event: (host|event|user|member|token)\." "$TMP/h60-bob.sse" && ! grep -q secret_hash "$TMP/h60-bob.sse"'
attack LIVE-3 "no stream carried a password or token hash, even the administrator's kinds" \
	eval '! grep -qE "password_hash|secret_hash" "$TMP/h60-alice.sse" "$TMP/h60-bob.sse"'

# Resuming with a forged id: another run's, one never given, garbage; each
# gets "reset" and replays nothing of what came before.
h60_first=$(awk '/^id: /{print substr($0,5); exit}' "$TMP/h60-alice.sse")
h60_epoch=${h60_first%-*}
for h60_id in "${h60_epoch}-0" "${h60_epoch}-99999999" "ffffffff-1" "../../etc/passwd" "${h60_epoch}--1"; do
	curl -sN --max-time 2 --cacert "$MGR_CACERT" -H "Authorization: Bearer $T_B" -H "Last-Event-ID: $h60_id" \
		"$MGR_URL/api/v1/stream" >"$TMP/h60-forged.sse" 2>/dev/null
	case $h60_id in
	"${h60_epoch}-0") # a real place (the start): a replay, but of bob's own view only
		attack LIVE-4 "bob resumes from the very start: the replay has nothing of alice's" \
			eval '! grep -qe "$h60_vm" -e "$h60_task" "$TMP/h60-forged.sse"' ;;
	*)
		attack LIVE-4 "bob resumes after a forged id '$h60_id': 'reset', nothing replayed" \
			eval 'grep -q "^event: reset" "$TMP/h60-forged.sse" && ! grep -q "$h60_vm" "$TMP/h60-forged.sse"' ;;
	esac
done
attack LIVE-4 "vdcd is alive after the forged resumes" \
	curl -sf -o /dev/null --max-time 5 --cacert "$MGR_CACERT" "$MGR_URL/healthz"

h60_close bob
h60_close alice
as "$T_A" DELETE /api/v1/templates/h60-tpl
