#!/usr/bin/env bash
# t_stream.sh - live updates and task cancel against a real vdcd (SQLite,
# HTTPS) with a real host and guests:
#  - GET /api/v1/stream needs a token in the Authorization header (none,
#    or one in the URL: 401);
#  - a stream sees a VM's create task created, running and ended, and the
#    VM become running; each tenant's stream sees its own project's VM and
#    task and nothing of the other's (nor hosts or the audit log), while an
#    administrator's sees both;
#  - Last-Event-ID resumes without a loss; an id vdcd no longer keeps
#    gets "reset"; a revoked token ends its stream;
#  - streams past --stream-max get 503; a client that stops reading does
#    not slow the API, and is dropped ("reset", too_slow) once further
#    behind than vdcd keeps;
#  - cancel: a queued VM create (its VM and quota given back), a running
#    image import (no image, no partial file left), a running create while
#    it copies the template's disk to the host (nothing left on vdcd or the
#    host, quota given back), and a running stop is refused with 409 saying
#    why; vdc task cancel and vdc watch.
source "$(dirname "$0")/lib.sh"

VDC=${VDC_CLI:-$(dirname "$VDCD")/../cli/vdc}
# The import directory: the test guest's files (for the template) and a
# large raw disk, so an import runs long enough to be cancelled.
IMPORT=$TMP/import
mkdir -p "$IMPORT/test-guest"
cp "$GUEST/data-template.qcow2" "$GUEST/vmlinuz" "$GUEST/initrd.img" "$IMPORT/test-guest/"
truncate -s 3G "$IMPORT/big.raw"
# A 1 GiB disk image: a create from it spends a while giving the host its
# copy, long enough to be cancelled while it runs.
truncate -s 1G "$IMPORT/mid.raw"

fabric_up
# One worker, so that a task waits queued behind a running one; an idle
# timeout of 20 s (heartbeats every 10 s) and small bounds, so they are
# reached.
vdcd_start --heartbeat-timeout-s 30 --workers 1 --idle-timeout-s 20 --stream-max 8 --stream-ring 64 \
	--image-import-dir "$IMPORT" || { not_ok "vdcd starts"; finish; exit 1; }
ok "vdcd starts"

# stream_open NAME TOKEN [curl args]: a stream read into $TMP/NAME.sse.
stream_open() {
	local name=$1 tok=$2
	shift 2
	curl -sN --cacert "$MGR_CACERT" -H "Authorization: Bearer $tok" "$@" "$MGR_URL/api/v1/stream" \
		>"$TMP/$name.sse" 2>"$TMP/$name.err" &
	echo $! >"$TMP/$name.pid"
	local i
	for i in $(seq 1 50); do grep -q '^event: hello' "$TMP/$name.sse" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
stream_close() { kill "$(cat "$TMP/$1.pid")" 2>/dev/null; wait "$(cat "$TMP/$1.pid")" 2>/dev/null; }
# events NAME: "ID EVENT DATA" per event of the stream so far.
events() {
	awk '/^id: /{id=substr($0,5)} /^event: /{ev=substr($0,8)} /^data: /{d=substr($0,7)}
		/^$/{ if (ev != "") print id, ev, d; ev=""; d="" }' "$TMP/$1.sse"
}
# seen NAME EVENT JQ: the stream has an EVENT whose data matches JQ.
seen() {
	local hits # not "| grep -q": under pipefail, jq's SIGPIPE would fail a match
	hits=$(events "$1" | awk -v e="$2" '$2 == e { $1 = ""; $2 = ""; print }' | jq -c "select($3)" 2>/dev/null)
	[ -n "$hits" ]
}
# wait_seen NAME EVENT JQ: until seen (20 s).
wait_seen() {
	local i
	for i in $(seq 1 100); do seen "$@" && return 0; sleep 0.2; done
	return 1
}

# --- the world ------------------------------------------------------------
mapi POST /api/v1/clusters '{"name":"c1","cpu_overcommit":16,"mem_overcommit":4}'
mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
mgr_guest_template tiny
host_join h1 c1 || not_ok "h1 joins"
hosts_connected 1 || not_ok "h1 is connected"
mapi POST /api/v1/projects '{"name":"pa"}'
mapi POST /api/v1/projects '{"name":"pb"}'
for u in alice bob; do
	mapi POST /api/v1/users "{\"name\":\"$u\",\"password\":\"password-of-$u\"}"
done
mapi POST /api/v1/projects/pa/members '{"user":"alice","role":"operator"}'
mapi POST /api/v1/projects/pb/members '{"user":"bob","role":"operator"}'
token_of() { # USER [TOKEN NAME]
	mapi POST /api/v1/auth/login "{\"user\":\"$1\",\"password\":\"password-of-$1\",\"token_name\":\"${2:-s}\"}"
	jget "$BODY" .token
}
T_A=$(token_of alice)
T_B=$(token_of bob)
as() { local t=$1; shift; ADMIN_TOKEN=$t mapi "$@"; }

# --- authentication -------------------------------------------------------
STATUS=$(curl -s -o "$TMP/noauth" -w '%{http_code}' --max-time 5 --cacert "$MGR_CACERT" "$MGR_URL/api/v1/stream")
check "a stream without a token (no Authorization header at all) is 401" \
	test "$STATUS/$(jq -r .error.code "$TMP/noauth")" = 401/unauthorized
bad=""
for q in "access_token=$ADMIN_TOKEN" "token=$ADMIN_TOKEN" "authorization=Bearer%20$ADMIN_TOKEN"; do
	s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$MGR_CACERT" "$MGR_URL/api/v1/stream?$q")
	[ "$s" = 401 ] || bad+=" ${q%%=*}:$s"
done
check "a token in the URL is not taken (401)${bad:+:$bad}" test -z "$bad"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$MGR_CACERT" -H "Authorization: Bearer vdct_wrong" "$MGR_URL/api/v1/stream")
check "a wrong token is 401" test "$STATUS" = 401

# --- a VM's life on three streams ------------------------------------------
stream_open adm "$ADMIN_TOKEN" && stream_open sa "$T_A" && stream_open sb "$T_B"
check "an administrator and two tenants open streams (200, hello first)" \
	test "$(head -c 200 "$TMP/sa.sse" | grep -c '^event: hello')" = 1
hdr=$(curl -s -D - -o /dev/null --max-time 2 --cacert "$MGR_CACERT" -H "Authorization: Bearer $T_A" "$MGR_URL/api/v1/stream" | tr -d '\r')
check "the stream is text/event-stream, not cached" \
	eval 'grep -qi "^content-type: text/event-stream" <<<"$hdr" && grep -qi "^cache-control: no-store" <<<"$hdr"'

as "$T_A" POST /api/v1/vms '{"name":"va","template":"tiny"}'
va=$(jget "$BODY" .vm.id) ta=$(jget "$BODY" .task.id)
as "$T_B" POST /api/v1/vms '{"name":"vb","template":"tiny"}'
vb=$(jget "$BODY" .vm.id) tb=$(jget "$BODY" .task.id)
task_wait "$ta"
check "alice's VM is created" test "$TASK_STATE" = succeeded
task_wait "$tb"
check "bob's VM is created" test "$TASK_STATE" = succeeded
check "alice's stream sees her create task created (queued)" \
	wait_seen sa task.created ".id == \"$ta\" and .doc.state == \"queued\" and .doc.op == \"vm.create\""
check "... running, with progress and a message" \
	seen sa task.progress ".id == \"$ta\" and .doc.state == \"running\" and (.doc.message | length) > 0"
check "... and ended succeeded at 100%" \
	seen sa task.ended ".id == \"$ta\" and .doc.state == \"succeeded\" and .doc.progress == 100"
check "alice's stream sees her VM become running (vm.state creating -> running)" \
	wait_seen sa vm.state ".id == \"$va\" and .power_state == \"running\" and .from == \"creating\""
check "... and its document as updated" seen sa vm.updated ".id == \"$va\" and .doc.power_state == \"running\""
check "bob's stream sees his own VM running" wait_seen sb vm.state ".id == \"$vb\" and .power_state == \"running\""
check "the administrator's stream sees both VMs running" \
	eval 'wait_seen adm vm.state ".id == \"$va\" and .power_state == \"running\"" &&
		wait_seen adm vm.state ".id == \"$vb\" and .power_state == \"running\""'
check "the administrator's stream sees the audit log and the host's heartbeats" \
	eval 'seen adm event.created ".doc.action == \"vm.create\"" && wait_seen adm host.updated "true"'
sleep 1
check "alice's stream never names bob's VM or task" eval '! grep -qe "$vb" -e "$tb" "$TMP/sa.sse"'
check "bob's stream never names alice's VM or task" eval '! grep -qe "$va" -e "$ta" "$TMP/sb.sse"'
check "a tenant's stream has no hosts and no audit events" \
	eval '! grep -qE "^event: (host\.|event\.)" "$TMP/sa.sse" "$TMP/sb.sse"'
check "a tenant's stream has their project, not the other" \
	eval 'seen sa project.updated ".doc.name == \"pa\"" && ! seen sa project.updated ".doc.name == \"pb\""'

# --- resume ---------------------------------------------------------------
# From alice's task's creation on, a new stream with Last-Event-ID gives
# exactly what the first one gave after it (and whatever came since).
mid=$(events sa | awk -v t="$ta" '$2 == "task.created" && index($0, t) { print $1; exit }')
after_orig=$(events sa | awk -v m="$mid" 'f { print $1 } $1 == m { f = 1 }')
curl -sN --max-time 3 --cacert "$MGR_CACERT" -H "Authorization: Bearer $T_A" -H "Last-Event-ID: $mid" \
	"$MGR_URL/api/v1/stream" >"$TMP/resumed.sse"
resumed=$(awk '/^id: /{id=substr($0,5)} /^event: /{ev=substr($0,8)} /^$/{ if (ev != "" && ev != "hello") print id; ev="" }' "$TMP/resumed.sse")
check "Last-Event-ID resumes without a loss ($(wc -l <<<"$after_orig") events after $mid)" \
	test -n "$mid" -a -n "$after_orig" -a "$(head -n "$(wc -l <<<"$after_orig")" <<<"$resumed")" = "$after_orig"
check "a resumed stream says so (hello resumed:true)" grep -q '^data: {"resumed":true}' "$TMP/resumed.sse"
# Past the ring (64 events): cluster creates and deletes, with their audit.
for i in $(seq 1 25); do mapi POST /api/v1/clusters "{\"name\":\"churn$i\"}"; mapi DELETE "/api/v1/clusters/churn$i"; done
curl -sN --max-time 2 --cacert "$MGR_CACERT" -H "Authorization: Bearer $T_A" -H "Last-Event-ID: $mid" \
	"$MGR_URL/api/v1/stream" >"$TMP/tooold.sse"
check "an id vdcd no longer keeps gets 'reset' (resume_unavailable), then the stream goes on" \
	grep -q '^data: {"reason":"resume_unavailable"' "$TMP/tooold.sse"
curl -sN --max-time 2 --cacert "$MGR_CACERT" -H "Authorization: Bearer $T_A" -H "Last-Event-ID: 0badc0de-1" \
	"$MGR_URL/api/v1/stream" >"$TMP/otherrun.sse"
check "an id of another run of vdcd gets 'reset'" grep -q '^event: reset' "$TMP/otherrun.sse"
check "everyone's stream sees cluster changes (alice's: churn1 created and deleted)" \
	eval 'seen sa cluster.created ".doc.name == \"churn1\"" && seen sa cluster.deleted ".name == \"churn1\""'
check "streams get a keepalive comment within the heartbeat (10 s here)" \
	eval 'for _ in $(seq 1 55); do grep -q "^: keepalive" "$TMP/sa.sse" && break; sleep 0.2; done; grep -q "^: keepalive" "$TMP/sa.sse"'

# --- a token revoked ends its stream ----------------------------------------
T_A2=$(token_of alice s2)
as "$T_A2" GET /api/v1/tokens
tid=$(jget "$BODY" '.items[] | select(.name == "s2") | .id')
stream_open rev "$T_A2"
as "$T_A" DELETE "/api/v1/tokens/$tid"
for _ in $(seq 1 75); do kill -0 "$(cat "$TMP/rev.pid")" 2>/dev/null || break; sleep 0.2; done
check "a revoked token's stream ends with 'end' (token_revoked) within a heartbeat" \
	eval '! kill -0 "$(cat "$TMP/rev.pid")" 2>/dev/null && grep -q "^data: {\"reason\":\"token_revoked\"" "$TMP/rev.sse"'

# --- the bound on streams ---------------------------------------------------
# streams_open N: until vdcd counts N open streams (5 s); a client that
# hung up is noticed at once, even while its stream sleeps.
streams_open() {
	local i
	for i in $(seq 1 50); do
		mapi GET /metrics
		grep -q "^vdcd_live_streams $1\$" <<<"$BODY" && return 0
		sleep 0.1
	done
	diag "vdcd counts $(sed -n 's/^vdcd_live_streams //p' <<<"$BODY") streams, not $1"
	return 1
}
check "the streams of clients that went away are closed at once (3 left: adm, sa, sb)" streams_open 3
# Five more reach 8; the ninth is refused.
for i in 1 2 3 4 5; do stream_open extra$i "$ADMIN_TOKEN"; done
STATUS=$(curl -s -D "$TMP/full.h" -o "$TMP/full.b" -w '%{http_code}' --max-time 5 --cacert "$MGR_CACERT" \
	-H "Authorization: Bearer $ADMIN_TOKEN" "$MGR_URL/api/v1/stream")
check "a stream past --stream-max (8) is 503 too_many_streams, with Retry-After and the bound named" \
	eval 'test "$STATUS/$(jq -r .error.code "$TMP/full.b")" = 503/too_many_streams &&
		grep -qi "^retry-after:" "$TMP/full.h" && jq -r .error.message "$TMP/full.b" | grep -q "at most 8"'
mapi GET /metrics
check "metrics count the open streams and the refusal" \
	eval 'grep -q "^vdcd_live_streams 8" <<<"$BODY" && grep -q "vdcd_live_streams_closed_total{reason=\"too_many\"} 1" <<<"$BODY"'
for i in 1 2 3 4 5; do stream_close extra$i; done
check "streams closed by their clients free their places within 5 s" streams_open 3
ok_again=0
for _ in $(seq 1 50); do
	s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN" "$MGR_URL/api/v1/stream")
	[ "$s" = 200 ] || [ "$s" = 000 ] && { ok_again=1; break; }
	sleep 0.2
done
check "closed streams free their places (a new one opens)" test "$ok_again" = 1

# --- a client that stops reading ----------------------------------------------
# It asks for the stream with a tiny receive window and reads nothing while
# vdcd makes far more events than the ring keeps (in a few seconds: well
# within the idle timeout, which would end a stalled stream by itself);
# then it reads all there is.
cat >"$TMP/slow.py" <<'EOF'
import os, socket, ssl, sys, time
host, port, token, ca, go, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
raw.connect((host, port))
s = ctx.wrap_socket(raw)
s.sendall(("GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode())
open(ready, "w").write("connected\n")
got, end = b"", "no end within 30 s"
# Nothing until told to, then everything, for 30 s at most.
while not os.path.exists(go):
    time.sleep(0.1)
deadline = time.time() + 30
s.settimeout(1)
while time.time() < deadline:
    try:
        b = s.recv(1 << 20)
    except socket.timeout:
        continue
    except Exception as e:
        end = "error: %s" % e
        break
    if not b:
        end = "closed by vdcd"
        break
    got += b
sys.stdout.write(got.decode("utf-8", "replace") + "\n[" + end + "]\n")
EOF
python3 "$TMP/slow.py" "$MGR_IP" 7443 "$ADMIN_TOKEN" "$MGR_CACERT" "$TMP/slow.go" "$TMP/slow.ready" >"$TMP/slow.out" 2>&1 &
slow_pid=$!
for _ in $(seq 1 50); do [ -f "$TMP/slow.ready" ] && break; sleep 0.1; done
# A burst of events with large documents (descriptions of 1000 bytes) on
# one connection, far more than the ring keeps, then the API timed while
# the client still reads nothing.
desc=$(head -c 1000 /dev/zero | tr '\0' d)
for i in $(seq 1 120); do
	[ "$i" = 1 ] || echo next
	printf 'url = "%s/api/v1/clusters"\nrequest = "POST"\noutput = "/dev/null"\ncacert = "%s"\n' "$MGR_URL" "$MGR_CACERT"
	printf 'header = "Authorization: Bearer %s"\ndata = "{\\"name\\":\\"slow%d\\",\\"description\\":\\"%s\\"}"\n' "$ADMIN_TOKEN" "$i" "$desc"
done >"$TMP/burst.curl"
t0=$SECONDS
curl -s -K "$TMP/burst.curl"
diag "120 cluster creates in $((SECONDS - t0)) s"
worst=0
for i in $(seq 1 10); do
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 --cacert "$MGR_CACERT" -H "Authorization: Bearer $ADMIN_TOKEN" "$MGR_URL/api/v1/vms/va")
	worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
done
diag "the slowest GET /api/v1/vms/va while a client read nothing: ${worst}s"
check "a client that does not read does not slow the API (every GET under 0.5 s)" \
	awk -v w="$worst" 'BEGIN { exit !(w < 0.5) }'
touch "$TMP/slow.go"
wait "$slow_pid"
diag "the slow client's stream: $(grep -c '^event: cluster.created' "$TMP/slow.out") of 120 creates, then $(tail -1 "$TMP/slow.out")"
check "the client further behind than the ring is dropped: 'reset' (too_slow), then vdcd closes the stream" \
	eval 'grep -q "\"reason\":\"too_slow\"" "$TMP/slow.out" && tail -1 "$TMP/slow.out" | grep -q "closed by vdcd"'
mapi GET /metrics
check "metrics count the dropped stream, and the ring stays within its bound" \
	eval 'grep -q "vdcd_live_streams_closed_total{reason=\"too_slow\"} [1-9]" <<<"$BODY" &&
		test "$(sed -n "s/^vdcd_live_ring{what=\"events\"} //p" <<<"$BODY")" -le 64'

# --- cancel -------------------------------------------------------------------
# A running import of a 3 GiB raw disk, cancelled: no image, no partial file.
mapi POST /api/v1/images '{"name":"big","kind":"disk","format":"raw","import_from":"big.raw"}'
t_imp=$(jget "$BODY" .task.id) img=$(jget "$BODY" .image.id)
[ -n "$img" ] && [ "$img" != null ] || img=$(jget "$BODY" .id)
for _ in $(seq 1 100); do
	mapi GET "/api/v1/tasks/$t_imp"
	[ "$(jget "$BODY" .state)" = running ] && break
	sleep 0.05
done
check "the import runs" test "$(jget "$BODY" .state)" = running
# Behind it (one worker), alice's create waits queued.
as "$T_A" GET /api/v1/projects/pa/quota
usage_before=$(jget "$BODY" '"\(.usage.vms)/\(.usage.vcpus)/\(.usage.memory_mib)"')
as "$T_A" POST /api/v1/vms '{"name":"vq","template":"tiny"}'
vq=$(jget "$BODY" .vm.id) tq=$(jget "$BODY" .task.id)
as "$T_A" GET /api/v1/projects/pa/quota
usage_during=$(jget "$BODY" '"\(.usage.vms)/\(.usage.vcpus)/\(.usage.memory_mib)"')
as "$T_B" POST "/api/v1/tasks/$tq/cancel"
check "another project's task cannot be cancelled (404, as if absent)" test "$STATUS" = 404
export VDC_CONFIG=$TMP/vdc-alice
"$VDC" login --server "$MGR_URL" --token "$T_A" --ca-fingerprint "$CA_FP" >/dev/null 2>&1
"$VDC" task cancel "$tq" >"$TMP/cancel.out" 2>&1
rc=$?
check "vdc task cancel of a queued create: exit 0, 'cancelled'" eval 'test $rc = 0 && grep -q cancelled "$TMP/cancel.out"'
[ $rc = 0 ] || diag "vdc task cancel: $(cat "$TMP/cancel.out")"
mapi GET "/api/v1/tasks/$tq"
check "the queued task ended cancelled, with error code cancelled" \
	test "$(jget "$BODY" '"\(.state)/\(.error.code)"')" = cancelled/cancelled
mapi GET "/api/v1/vms/$vq"
check "its VM is gone (it was only a reservation)" test "$STATUS" = 404
as "$T_A" GET /api/v1/projects/pa/quota
check "pa's usage is back to what it was ($usage_before, was $usage_during)" \
	test "$(jget "$BODY" '"\(.usage.vms)/\(.usage.vcpus)/\(.usage.memory_mib)"')" = "$usage_before" -a "$usage_during" != "$usage_before"
check "alice's stream saw the task end cancelled and the VM deleted" \
	eval 'wait_seen sa task.ended ".id == \"$tq\" and .doc.state == \"cancelled\"" && wait_seen sa vm.deleted ".id == \"$vq\""'
mapi POST "/api/v1/tasks/$t_imp/cancel"
check "cancelling the running import is accepted (202)" test "$STATUS" = 202
task_wait "$t_imp" 60
mapi GET "/api/v1/tasks/$t_imp"
check "the import ended cancelled before its end" \
	test "$(jget "$BODY" '"\(.state)/\(.error.code)"')/$(jget "$BODY" '.progress')" = cancelled/cancelled/100
diag "import cancelled: $(jget "$BODY" .message)"
mapi GET "/api/v1/images/$img"
check "the cancelled import left no image" test "$STATUS" = 404
check "... and no file of it, partial or whole, in the library" \
	test -n "$img" -a -z "$(find "$TMP/vdcd/images" -name "*$img*" -o -name ".import-*" 2>/dev/null)"
mapi POST "/api/v1/tasks/$t_imp/cancel"
check "an ended task cannot be cancelled (409 task_ended)" test "$STATUS/$(jget "$BODY" .error.code)" = 409/task_ended
mapi GET '/api/v1/events?limit=50'
check "the cancels are in the audit log" \
	test "$(jget "$BODY" "[.items[] | select(.outcome == \"cancelled\")] | length")" -ge 2

# A running create, cancelled while it gives the host its copy of the
# template's disk (before vdcd asks the host to make the VM): it ends
# cancelled, nothing of the VM is left anywhere, the quota is given back.
mapi POST /api/v1/images '{"name":"mid","kind":"disk","format":"raw","import_from":"mid.raw"}'
task_wait "$(jget "$BODY" .task.id)" 120
check "a 1 GiB disk image is in the library" test "$TASK_STATE" = succeeded
mgr_guest_template slowpush "$ADMIN_TOKEN" '.image="mid"'
as "$T_A" GET /api/v1/projects/pa/quota
usage_before=$(jget "$BODY" '"\(.usage.vms)/\(.usage.vcpus)/\(.usage.memory_mib)"')
as "$T_A" POST /api/v1/vms '{"name":"vx","template":"slowpush","start":false}'
vx=$(jget "$BODY" .vm.id) tx=$(jget "$BODY" .task.id)
for _ in $(seq 1 600); do
	as "$T_A" GET "/api/v1/tasks/$tx"
	case $(jget "$BODY" .message) in *"copying image mid"*) break ;; esac
	[ "$(jget "$BODY" .state)" = running ] || [ "$(jget "$BODY" .state)" = queued ] || break
	sleep 0.02
done
diag "the create, when cancelled: $(jget "$BODY" '"\(.state) \(.progress)% \(.message)"')"
as "$T_A" POST "/api/v1/tasks/$tx/cancel"
check "cancelling a create while it copies the template's disk to the host is accepted (202)" test "$STATUS" = 202
task_wait "$tx" 120
mapi GET "/api/v1/tasks/$tx"
check "the running create ended cancelled, with error code cancelled" \
	test "$(jget "$BODY" '"\(.state)/\(.error.code)"')" = cancelled/cancelled
mapi GET "/api/v1/vms/$vx"
check "its VM is gone from vdcd" test "$STATUS" = 404
api h1 GET "/api/v1/vms/vx"
check "... and the host never made it (no VM, no disk)" \
	test "$STATUS" = 404 -a -z "$(find "$(dir_of h1)" -path "*$vx*" 2>/dev/null)"
as "$T_A" GET /api/v1/projects/pa/quota
check "pa's usage is back to what it was ($usage_before)" \
	test "$(jget "$BODY" '"\(.usage.vms)/\(.usage.vcpus)/\(.usage.memory_mib)"')" = "$usage_before"
check "alice's stream saw the create end cancelled and its VM deleted" \
	eval 'wait_seen sa task.ended ".id == \"$tx\" and .doc.state == \"cancelled\"" && wait_seen sa vm.deleted ".id == \"$vx\""'

# A stop of a guest that ignores the power button (its init is a shell)
# runs until its timeout: a cancel of it is refused, saying why.
mgr_guest_template deaf "$ADMIN_TOKEN" '.cmdline="console=ttyS0 quiet panic=-1 rdinit=/bin/sh"'
mapi POST /api/v1/vms '{"name":"deaf","template":"deaf"}'
task_wait "$(jget "$BODY" .task.id)"
mapi POST /api/v1/vms/deaf/stop '{"timeout_s":6}'
t_stop=$(jget "$BODY" .task.id)
for _ in $(seq 1 100); do
	mapi GET "/api/v1/tasks/$t_stop"
	[ "$(jget "$BODY" .state)" = running ] && break
	sleep 0.05
done
mapi POST "/api/v1/tasks/$t_stop/cancel"
check "a running stop cannot be cancelled: 409 cannot_cancel, saying it cannot be undone" \
	eval 'test "$STATUS/$(jget "$BODY" .error.code)" = 409/cannot_cancel && jget "$BODY" .error.message | grep -q "cannot be undone"'
diag "refused: $(jget "$BODY" .error.message)"
task_wait "$t_stop" 60
check "... and the stop goes on to its end (succeeded)" test "$TASK_STATE" = succeeded

# --- the CLI ------------------------------------------------------------------
# vdcd's count of open streams, to start acting once a watcher is in (a
# fixed sleep lost the first events to a slow start under load).
live_streams() { mapi GET /metrics >/dev/null; awk '/^vdcd_live_streams / {print $2}' <<<"$BODY"; }
watch_in() {
	for _ in $(seq 1 100); do
		[ "$(live_streams)" -gt "$1" ] && return 0
		sleep 0.1
	done
	diag "no new stream after 10 s"
}
n0=$(live_streams)
"$VDC" watch -o json --count 2 >"$TMP/watch.out" 2>"$TMP/watch.err" &
wpid=$!
watch_in "$n0"
as "$T_A" POST /api/v1/vms/va/stop
task_wait "$(jget "$BODY" .task.id)"
for _ in $(seq 1 50); do kill -0 $wpid 2>/dev/null || break; sleep 0.2; done
kill $wpid 2>/dev/null
check "vdc watch -o json --count 2 prints two events of alice's and exits" \
	eval '! kill -0 $wpid 2>/dev/null && test "$(wc -l <"$TMP/watch.out")" = 2 && jq -e .event "$TMP/watch.out" >/dev/null'
n0=$(live_streams)
"$VDC" watch --count 2 >"$TMP/watch2.out" 2>&1 &
wpid=$!
watch_in "$n0"
as "$T_A" POST /api/v1/vms/va/start
task_wait "$(jget "$BODY" .task.id)"
for _ in $(seq 1 50); do kill -0 $wpid 2>/dev/null || break; sleep 0.2; done
kill $wpid 2>/dev/null
check "vdc watch prints a line per change (va's start: the VM updated, its task queued)" \
	eval 'grep -qE "^[0-9:]{8}  vm\.updated +vm va\$" "$TMP/watch2.out" &&
		grep -qE "^[0-9:]{8}  task\.created +task [0-9a-f]{8} vm\.start vm/[0-9a-f]{8} queued 0% queued\$" "$TMP/watch2.out"'
[ -s "$TMP/watch2.out" ] && diag "vdc watch: $(tr '\n' '|' <"$TMP/watch2.out")"

# --- alice deletes her VM: her stream hears it, bob's does not ---------------
as "$T_A" DELETE '/api/v1/vms/va?force=true'
task_wait "$(jget "$BODY" .task.id)"
check "alice's stream sees her VM deleted (with its project)" \
	wait_seen sa vm.deleted ".id == \"$va\" and .name == \"va\" and (.project_id | length) == 36"
check "bob's stream still has nothing of alice's" eval '! grep -q "$va" "$TMP/sb.sse"'

stream_close adm
stream_close sa
stream_close sb
as "$T_B" DELETE '/api/v1/vms/vb?force=true'
task_wait "$(jget "$BODY" .task.id)"
mapi DELETE '/api/v1/vms/deaf?force=true'
task_wait "$(jget "$BODY" .task.id)"
# Streams open at the stop: vdcd still stops cleanly (exit 0).
stream_open last "$ADMIN_TOKEN"
check "vdcd stops cleanly with a stream open (exit 0)" vdcd_stop
finish
