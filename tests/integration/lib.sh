# lib.sh - shared by the integration tests. A test host is a network
# namespace with a bridge (br0, 10.213.0.1/24, no uplink) and its own
# vdc-agent listening on the namespace's loopback. Everything a test makes is
# removed by the EXIT trap, whatever happens.
# shellcheck shell=bash
set -uo pipefail

VDC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AGENT=${VDC_AGENT:-$VDC_ROOT/build/src/agent/vdc-agent}
CACHE=${VDC_CACHE:-/var/cache/vdc}
GUEST=$CACHE/test-guest
CLOUD=$CACHE/cloud-image
TOKEN=integration-token-$$-0123456789
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/vdct-$TEST_NAME.XXXXXX")
chmod 755 "$TMP"
HOSTS=()
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $TEST_NAME: $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $TEST_NAME: $*"; }
# check DESC CMD...: passes when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
diag() { echo "# $*"; }

VDCD=${VDC_VDCD:-$VDC_ROOT/build/src/manager/vdcd}
FABRIC_BR=vdcf$$
# Each run its own management subnet, so two test runs never collide.
# A subnet no bridge of this host has yet (a run killed before its cleanup
# leaves its bridge behind; two with one address would break both), and
# whose lock no other running test holds (tests run side by side: both
# could pick one before either made its bridge). The lock is held until
# this test and what it started have exited.
NET_LOCKS=/tmp/vdc-test-net-locks
fabric_free_net() {
	local n=$(($$ % 250 + 1)) i
	mkdir -p "$NET_LOCKS"
	for i in $(seq 1 250); do
		if ! ip -br addr 2>/dev/null | grep -q " 10\.214\.$n\.1/"; then
			exec {NET_LOCK_FD}>"$NET_LOCKS/10.214.$n"
			flock -n "$NET_LOCK_FD" && break
			exec {NET_LOCK_FD}>&-
		fi
		n=$((n % 250 + 1))
	done
	FABRIC_NET=10.214.$n
}
fabric_free_net

# free_port FIRST: the first TCP port from FIRST on that nothing listens on.
free_port() {
	local p=$1
	while ss -Htln "sport = :$p" 2>/dev/null | grep -q .; do p=$((p + 1)); done
	echo "$p"
}
MGR_IP=$FABRIC_NET.1
FABRIC=0
HOST_INDEX=0

ns_of() { echo "vdct$$$1"; }
dir_of() { echo "$TMP/$1"; }
in_ns() { local h=$1; shift; ip netns exec "$(ns_of "$h")" "$@"; }

# host_ns NAME: creates the host's namespace (bridge br0, and with the
# fabric a management veth) and its directories.
host_ns() {
	local h=$1
	local ns dir
	ns=$(ns_of "$h")
	dir=$(dir_of "$h")
	mkdir -p "$dir/st" "$dir/run" "$dir/ds"
	echo "$TOKEN" >"$dir/token"
	if ! ip netns list | grep -qw "$ns"; then
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip -n "$ns" link add br0 address "$(bridge_mac "$ns")" type bridge
		ip -n "$ns" addr add 10.213.0.1/24 dev br0
		ip -n "$ns" link set br0 up
		HOSTS+=("$h")
		if [ "$FABRIC" = 1 ]; then
			# The host's management link: a veth into the fabric bridge.
			HOST_INDEX=$((HOST_INDEX + 1))
			ip link add "vf$$$h" type veth peer name mgmt0 netns "$ns"
			ip link set "vf$$$h" master "$FABRIC_BR" up
			ip -n "$ns" addr add "$FABRIC_NET.$((10 + HOST_INDEX))/24" dev mgmt0
			ip -n "$ns" link set mgmt0 up
			echo "$FABRIC_NET.$((10 + HOST_INDEX))" >"$(dir_of "$h")/mgmt_ip"
		fi
	fi
}

# host_up NAME [extra agent flags...]: the namespace and its agent.
host_up() {
	local h=$1
	shift
	host_ns "$h"
	agent_start "$h" "$@"
}

# agent_launch NAME [flags...]: starts the host's agent without waiting.
agent_launch() {
	local h=$1
	shift
	local dir
	dir=$(dir_of "$h")
	ip netns exec "$(ns_of "$h")" env ${CRASH_AT:+VDC_CRASH_AT=$CRASH_AT} \
		"$VDC_ROOT/scripts/in-host.sh" "$AGENT" --listen 127.0.0.1:7441 --token-file "$dir/token" --state-dir "$dir/st" \
		--run-dir "$dir/run" --datastore "local=$dir/ds" --image-root "$CACHE" --cgroup-base "vdct$$$h" "$@" \
		>>"$dir/agent.log" 2>&1 &
	echo $! >"$dir/agent.pid"
}

# agent_start NAME [flags...]: starts the agent and waits until it answers.
# An agent that joins vdcd over https serves HTTPS (after its join).
agent_start() {
	local h=$1
	shift
	local dir scheme=http
	dir=$(dir_of "$h")
	if [ -f "$dir/st/tls/agent.pem" ] || [[ " $* " == *" --manager-ca-fingerprint "* ]]; then
		scheme=https
	fi
	agent_launch "$h" "$@"
	local i
	for i in $(seq 1 200); do
		# -k: only whether it answers /healthz; api() checks its certificate.
		if in_ns "$h" curl -sk -o /dev/null --max-time 1 "$scheme://127.0.0.1:7441/healthz"; then
			# A host of its own (not joined): the test guest's images, as
			# vdcd would push them, so guest_spec can name them.
			[ "$scheme" = https ] || [ "${NO_GUEST_IMAGES:-0}" = 1 ] || agent_guest_images "$h"
			return 0
		fi
		if ! kill -0 "$(cat "$dir/agent.pid")" 2>/dev/null; then
			diag "agent on $h exited at start:"
			tail -5 "$dir/agent.log" | sed 's/^/# /'
			return 1
		fi
		sleep 0.05
	done
	diag "agent on $h did not answer"
	return 1
}

agent_pid() { cat "$(dir_of "$1")/agent.pid"; }

# bridge_mac NAME: a fixed MAC for a bridge that has an address. Left to
# itself a Linux bridge takes the lowest MAC of its ports, so it changes as
# hosts join; a host that learnt the old one (another port's) then sends
# to it and its frames are dropped until its ARP entry ages out (seconds).
bridge_mac() { echo -n "$1" | md5sum | sed 's/^\(..\)\(..\)\(..\)\(..\)\(..\).*/02:\1:\2:\3:\4:\5/'; }

# fabric_up: a bridge in the root namespace ($MGR_IP/24, no uplink) that
# host namespaces join through veths; vdcd listens on it.
fabric_up() {
	FABRIC=1
	ip link add "$FABRIC_BR" address "$(bridge_mac "$FABRIC_BR")" type bridge
	ip addr add "$MGR_IP/24" dev "$FABRIC_BR"
	ip link set "$FABRIC_BR" up
}

# shared_up: the fabric, and a folder every host of the test may take as a
# shared datastore ($SHARED).
shared_up() {
	SHARED=$TMP/shared
	mkdir -p "$SHARED"
	chmod 755 "$SHARED"
	fabric_up
}

# vmnet_up HOST...: a VM network the hosts share, as a VLAN across a
# datacenter would be: a bridge vmnet0 (no address) in each host namespace,
# joined through a veth to a bridge in the root namespace that has
# $VMNET_NET.1/24, from which a test reaches the guests wherever they run.
# Its subnet's third number is the fabric's (locked per test run).
VMNET_BR=vdcv$$
VMNET_NET=${FABRIC_NET/10.214./10.216.}
VMNET=0
vmnet_up() {
	local h
	if [ "$VMNET" = 0 ]; then
		ip link add "$VMNET_BR" address "$(bridge_mac "$VMNET_BR")" type bridge || return 1
		ip addr add "$VMNET_NET.1/24" dev "$VMNET_BR"
		ip link set "$VMNET_BR" up
		VMNET=1
	fi
	for h in "$@"; do
		in_ns "$h" ip link add vmnet0 type bridge || return 1
		ip link add "vv$$$h" type veth peer name vmup0 netns "$(ns_of "$h")" || return 1
		ip link set "vv$$$h" master "$VMNET_BR" up
		in_ns "$h" ip link set vmup0 master vmnet0 up
		in_ns "$h" ip link set vmnet0 up
	done
}

# link_rate HOST RATE: the host's management link sends at most RATE (tc's
# words: 64mbit), as a slow link between hosts would; "off" lifts it. A
# kernel shaper, not QEMU's migration cap (see vm_migrate.c: under TCG that
# cap corrupts guests).
link_rate() {
	in_ns "$1" tc qdisc del dev mgmt0 root 2>/dev/null
	[ "$2" = off ] || in_ns "$1" tc qdisc add dev mgmt0 root tbf rate "$2" burst 64kbit latency 500ms
}

# vdcd_start [flags...]: vdcd on the fabric over HTTPS, data in $TMP/vdcd.
# Sets MGR_URL, MGR_CACERT (the CA vdcd's certificate chains to: its own
# CA's ca.pem, or $VDCD_CACERT for an operator's), CA_FP (its fingerprint,
# what agents pin) and ADMIN_TOKEN.
vdcd_start() {
	mkdir -p "$TMP/vdcd"
	# Where this start's log begins (requeued_task reads from there).
	VDCD_LOG_OFF=$(stat -c %s "$TMP/vdcd.log" 2>/dev/null || echo 0)
	env ${VDCD_CRASH_AT:+VDC_CRASH_AT=$VDCD_CRASH_AT} "$VDCD" --listen $MGR_IP:7443 \
		--data-dir "$TMP/vdcd" --image-import-dir "$CACHE" "$@" >>"$TMP/vdcd.log" 2>&1 &
	echo $! >"$TMP/vdcd.pid"
	MGR_URL=https://$MGR_IP:7443
	MGR_CACERT=${VDCD_CACERT:-$TMP/vdcd/tls/ca.pem}
	export MGR_URL MGR_CACERT
	local i
	for i in $(seq 1 200); do
		curl -s -o /dev/null --max-time 1 --cacert "$MGR_CACERT" "$MGR_URL/healthz" 2>/dev/null && {
			ADMIN_TOKEN=$(cat "$TMP/vdcd/admin.token")
			CA_FP=$(curl -s --max-time 5 --cacert "$MGR_CACERT" "$MGR_URL/api/v1/ca" | jq -r .fingerprint)
			export CA_FP
			return 0
		}
		kill -0 "$(cat "$TMP/vdcd.pid")" 2>/dev/null || { tail -5 "$TMP/vdcd.log" | sed 's/^/# /'; return 1; }
		sleep 0.05
	done
	return 1
}

# vdcd's client certificate toward agents (its server certificate, or
# client.pem when the operator gave vdcd a server certificate).
mgr_client_cert() {
	if [ -f "$TMP/vdcd/tls/client.pem" ]; then echo "$TMP/vdcd/tls/client"; else echo "$TMP/vdcd/tls/server"; fi
}

# vdcd_stop: SIGTERM, and the exit status must be 0 (sanitizers report leaks
# and errors through it). A vdcd that was already dead fails: a stop that
# stopped nothing proves nothing.
vdcd_stop() { daemon_stop vdcd "$(cat "$TMP/vdcd.pid")"; }

# proc_dead PID: the process is gone or a zombie (a child of this shell
# that died stays a zombie, and kill -0 still finds it, until it is waited).
proc_dead() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	case $st in "" | Z*) return 0 ;; esac
	return 1
}

# daemon_stop WHAT PID: stops a daemon this shell started; fails (saying
# why) when it had already died, or when its exit status is not 0.
daemon_stop() {
	local what=$1 pid=$2 rc
	if proc_dead "$pid"; then
		{ wait "$pid"; } 2>/dev/null
		rc=$?
		diag "$what (pid $pid) was not running before the stop (exit status $rc)"
		return 1
	fi
	kill -TERM "$pid"
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	[ "$rc" = 0 ] || diag "$what exited with status $rc on SIGTERM"
	return "$rc"
}

vdcd_kill9() {
	local pid
	pid=$(cat "$TMP/vdcd.pid")
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	return 0
}

# mapi METHOD PATH [BODY]: a call to vdcd as admin (over HTTPS, vdcd's CA
# trusted; ADMIN_TOKEN empty: no token at all); sets STATUS and BODY.
mapi() {
	local method=$1 path=$2 data=${3-}
	local out=$TMP/mapi-body
	: >"$out" # no stale body when no answer comes
	local args=(-s -o "$out" -w '%{http_code}' --max-time 60 -X "$method" --cacert "$MGR_CACERT" "$MGR_URL$path")
	# An empty token sends no Authorization header at all (not a made-up one).
	[ -n "${ADMIN_TOKEN:-}" ] && args+=(-H "Authorization: Bearer $ADMIN_TOKEN")
	if [ -n "$data" ]; then
		printf '%s' "$data" >"$out.req"
		args+=(-H 'Content-Type: application/json' --data-binary "@$out.req")
	fi
	STATUS=$(curl "${args[@]}")
	BODY=$(cat "$out")
}

# task_wait ID [TIMEOUT_S]: until the task is finished (succeeded, failed
# or cancelled); sets TASK_STATE.
task_wait() {
	local id=$1 timeout=${2:-120} end
	end=$((SECONDS + timeout))
	while [ $SECONDS -lt "$end" ]; do
		mapi GET "/api/v1/tasks/$id"
		TASK_STATE=$(jget "$BODY" .state)
		case $TASK_STATE in succeeded | failed | cancelled) return 0 ;; esac
		sleep 0.1
	done
	diag "task $id still $TASK_STATE after ${timeout}s"
	return 1
}

# hosts_connected N: until vdcd has N hosts connected (10 s); BODY is
# the last list of them.
hosts_connected() {
	local i
	for i in $(seq 1 100); do
		mapi GET '/api/v1/hosts?state=connected'
		[ "$(jget "$BODY" '.items | length')" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# host_connected NAME: until vdcd has the host connected (10 s); BODY is
# the host.
host_connected() {
	local i
	for i in $(seq 1 100); do
		mapi GET "/api/v1/hosts/$1"
		[ "$(jget "$BODY" .state)" = connected ] && return 0
		sleep 0.1
	done
	return 1
}

# host_join NAME CLUSTER [flags...]: a host namespace whose agent joins
# vdcd over TLS, pinning its CA by $CA_FP, then serves HTTPS to vdcd only.
host_join() {
	local h=$1 cluster=$2 tok
	shift 2
	mapi POST /api/v1/hosts/join-tokens "{\"cluster\":\"$cluster\"}"
	tok=$(jget "$BODY" .token)
	host_ns "$h"
	agent_start "$h" --listen 0.0.0.0:7441 --manager-url "$MGR_URL" --manager-ca-fingerprint "$CA_FP" \
		--join-token "$tok" --host-name "$h" \
		--advertise-url "https://$(cat "$(dir_of "$h")/mgmt_ip" 2>/dev/null || echo 0):7441" "$@" || return 1
}

# agent_stop NAME: SIGTERM, and the exit status must be 0 (sanitizers report
# leaks and errors through it); an agent that was already dead fails.
agent_stop() { daemon_stop "the agent on $1" "$(agent_pid "$1")"; }

agent_kill9() {
	local pid
	pid=$(agent_pid "$1")
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	return 0
}

# crash_at POINT WHO REPLY [start flags...] -- REQUEST...: the crash test of
# one crash point. WHO (vdcd, or a host's name for its agent) must be
# stopped; it is started with VDC_CRASH_AT=POINT (and the flags), REQUEST
# (an api or mapi call that must reach POINT) is run, and one check says
# whether WHO died there:
#  - its log since this start has the line crash_point writes before it
#    raises SIGKILL ("crash_point name=POINT");
#  - it died on its own, by SIGKILL, within 30 s (nothing here signals it);
#  - REPLY=lost: REQUEST got no answer (STATUS 000), as the agent answers
#    after its work. REPLY=any: vdcd's tasks run after their 202, so the
#    caller checks what was lost there (task_requeued, after the restart).
# WHO is left dead (waited for); the caller restarts it and checks recovery.
crash_at() {
	local point=$1 who=$2 reply=$3 log pidf off pid rc i why=""
	shift 3
	local flags=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		flags+=("$1")
		shift
	done
	shift
	if [ "$who" = vdcd ]; then
		log=$TMP/vdcd.log pidf=$TMP/vdcd.pid
	else
		log=$(dir_of "$who")/agent.log pidf=$(dir_of "$who")/agent.pid
	fi
	off=$(stat -c %s "$log" 2>/dev/null || echo 0)
	if [ "$who" = vdcd ]; then
		VDCD_CRASH_AT=$point vdcd_start "${flags[@]}"
	else
		CRASH_AT=$point agent_start "$who" "${flags[@]}"
	fi || {
		not_ok "crash at $point: $who starts with VDC_CRASH_AT set"
		return 1
	}
	pid=$(cat "$pidf")
	STATUS=""
	"$@"
	for i in $(seq 1 600); do
		proc_dead "$pid" && break
		sleep 0.05
	done
	if proc_dead "$pid"; then
		{ wait "$pid"; } 2>/dev/null
		rc=$?
		[ "$rc" = 137 ] || why+=" it exited with status $rc, not by SIGKILL (137);"
	else
		why+=" it was still running 30 s after the request;"
		kill -9 "$pid"
		{ wait "$pid"; } 2>/dev/null
	fi
	tail -c +"$((off + 1))" "$log" | grep -qF "crash_point name=$point" ||
		why+=" its log has no 'crash_point name=$point';"
	[ "$reply" = lost ] && [ "$STATUS" != 000 ] && why+=" the request was answered ($STATUS);"
	local lost=""
	[ "$reply" = lost ] && lost=", the reply lost"
	if [ -z "$why" ]; then
		ok "crash at $point: $who reached it and died there by itself$lost"
	else
		not_ok "crash at $point: $who reached it and died there:$why"
	fi
	[ -z "$why" ]
}

# requeued_task OP: the id of the last task of OP that vdcd, at its latest
# start, found unfinished and queued again (what a crash in a task lost),
# waiting up to 10 s for it; fails when there is none. Earlier starts'
# requeues do not count: a test with several crash points would otherwise
# follow a task of the crash before.
requeued_task() {
	local i t
	for i in $(seq 1 100); do
		t=$(tail -c +"$((${VDCD_LOG_OFF:-0} + 1))" "$TMP/vdcd.log" |
			grep -oE "event=task_requeued task=[^ ]+ op=$1( |\$)" | tail -1 | sed -E 's/.* task=([^ ]+) .*/\1/')
		[ -n "$t" ] && { echo "$t"; return 0; }
		sleep 0.1
	done
	return 1
}

# api HOST METHOD PATH [BODY]: sets STATUS and BODY. A joined host (one
# with a certificate) takes only vdcd: the call goes over mutual TLS with
# vdcd's client certificate to the address its certificate names.
api() {
	local h=$1 method=$2 path=$3 data=${4-}
	local out dir
	dir=$(dir_of "$h")
	out=$dir/last-body
	local args=(-s -o "$out" -w '%{http_code}' --max-time 120 -X "$method"
		-H "Authorization: Bearer $TOKEN")
	if [ -f "$dir/st/tls/agent.pem" ]; then
		local cc
		cc=$(mgr_client_cert)
		args+=(--cacert "$TMP/vdcd/tls/ca.pem" --cert "$cc.pem" --key "$cc.key"
			"https://$(cat "$dir/mgmt_ip"):7441$path")
	else
		args+=("http://127.0.0.1:7441$path")
	fi
	if [ -n "$data" ]; then
		printf '%s' "$data" >"$out.req"
		args+=(-H 'Content-Type: application/json' --data-binary "@$out.req")
	fi
	STATUS=$(in_ns "$h" curl "${args[@]}")
	BODY=$(cat "$out")
}

# agent_answer_ms HOST: how long (ms) the host's agent took to answer GET
# /api/v1/vms once connected (TLS handshake done): its loop's latency, not
# curl's start or the handshake's CPU on a loaded test machine.
agent_answer_ms() {
	local dir args cc
	dir=$(dir_of "$1")
	args=(-s -o /dev/null -w '%{time_connect} %{time_appconnect} %{time_total}' --max-time 30
		-H "Authorization: Bearer $TOKEN")
	if [ -f "$dir/st/tls/agent.pem" ]; then
		cc=$(mgr_client_cert)
		args+=(--cacert "$TMP/vdcd/tls/ca.pem" --cert "$cc.pem" --key "$cc.key" "https://$(cat "$dir/mgmt_ip"):7441/api/v1/vms")
	else
		args+=("http://127.0.0.1:7441/api/v1/vms")
	fi
	in_ns "$1" curl "${args[@]}" | awk '{ c = $2 > $1 ? $2 : $1; printf "%d\n", ($3 - c) * 1000 }'
}

# api_put_file HOST PATH FILE: PUTs FILE's bytes to the host's agent (as
# api does); sets STATUS and BODY.
api_put_file() {
	local h=$1 path=$2 file=$3 out dir
	dir=$(dir_of "$h")
	out=$dir/last-body
	local args=(-s -o "$out" -w '%{http_code}' --max-time 300 -X PUT -T "$file"
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream')
	if [ -f "$dir/st/tls/agent.pem" ]; then
		local cc
		cc=$(mgr_client_cert)
		args+=(--cacert "$TMP/vdcd/tls/ca.pem" --cert "$cc.pem" --key "$cc.key"
			"https://$(cat "$dir/mgmt_ip"):7441$path")
	else
		args+=("http://127.0.0.1:7441$path")
	fi
	STATUS=$(in_ns "$h" curl "${args[@]}")
	BODY=$(cat "$out")
}

# agent_put_image HOST ID KIND FORMAT FILE: an image on the host, as vdcd
# pushes one (with its SHA-256); sets STATUS (201 new, 200 already there).
agent_put_image() {
	local sum
	sum=$(sha256sum <"$5" | cut -d' ' -f1)
	api_put_file "$1" "/api/v1/images/$2?kind=$3&format=$4&sha256=$sum" "$5"
}

# agent_guest_images HOST: the test guest's kernel, initrd and data disk on
# the host as images guest-kernel, guest-initrd and guest-disk.
agent_guest_images() {
	agent_put_image "$1" guest-kernel kernel raw "$GUEST/vmlinuz" &&
		agent_put_image "$1" guest-initrd initrd raw "$GUEST/initrd.img" &&
		agent_put_image "$1" guest-disk disk qcow2 "$GUEST/data-template.qcow2"
	case $STATUS in 200 | 201) return 0 ;; esac
	diag "the test guest's images did not reach $1: $STATUS $BODY"
	return 1
}

# jget JSON FILTER: jq -r on a string.
jget() { jq -r "$2" <<<"$1"; }

vm_field() { api "$1" GET "/api/v1/vms/$2"; jget "$BODY" "$3"; }

# test_vm_spec NAME [IP] [extra jq merge]: a test-guest spec on br0.
guest_spec() {
	local name=$1 ip=${2:-}
	local cmdline="console=ttyS0 quiet panic=-1 vdc.hostname=$name"
	[ -n "$ip" ] && cmdline="$cmdline vdc.ip=$ip/24"
	jq -nc --arg n "$name" --arg c "$cmdline" \
		'{name:$n, vcpus:1, memory_mib:192, display:"none",
		  boot:{kernel_image:"guest-kernel", initrd_image:"guest-initrd", cmdline:$c}, nics:[{bridge:"br0"}]}'
}

# wait_console HOST VM REGEX TIMEOUT_S [COUNT]: until the console shows REGEX
# COUNT times (default 1).
wait_console() {
	local h=$1 vm=$2 re=$3 timeout=$4 count=${5:-1} end
	end=$((SECONDS + timeout))
	while [ $SECONDS -lt "$end" ]; do
		api "$h" GET "/api/v1/vms/$vm/console?bytes=1048576"
		if [ "$(grep -cE "$re" <<<"$BODY")" -ge "$count" ]; then
			return 0
		fi
		sleep 0.2
	done
	diag "console of $vm did not show '$re' x$count within ${timeout}s; tail:"
	tail -5 <<<"$BODY" | sed 's/^/# /'
	return 1
}

# guest_req HOST IP REQUEST: one request to the test guest's TCP server; the
# reply's lines joined with '|'.
guest_req() {
	in_ns "$1" timeout 10 bash -c 'exec 3<>"/dev/tcp/$0/7777" || exit 1; printf "%s\n" "$1" >&3; cat <&3' "$2" "$3" 2>/dev/null | paste -sd'|'
}

# ready_ip VM [HOST]: the address of the latest boot of vdcd's VM (its
# console's readiness line), once the guest answers there from HOST (h1).
ready_ip() {
	local i ip
	for i in $(seq 1 300); do
		mapi GET "/api/v1/vms/$1/console"
		ip=$(grep -oE 'VDC-GUEST-READY .* ip=[0-9.]+' <<<"$BODY" | tail -1 | sed -E 's/.* ip=//')
		[ -n "$ip" ] && [ "$(guest_req "${2:-h1}" "$ip" ping)" = pong ] && { echo "$ip"; return 0; }
		sleep 0.2
	done
	diag "no ready guest that answers: its console ends: $(tail -3 <<<"$BODY" | tr '\n' '|')" >&2
	return 1
}

# qemu_gone NAME: no QEMU process for a VM of that name (anchored so the
# check does not match itself) on this test's hosts (other tests running
# alongside may have VMs of the same name).
qemu_gone() {
	local p h ns
	for p in $(pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 -name guest=$1,"); do
		ns=$(ip netns identify "$p" 2>/dev/null)
		for h in "${HOSTS[@]}"; do
			[ "$ns" = "$(ns_of "$h")" ] && return 1
		done
	done
	return 0
}

# qemu_line UUID: the command line of the VM's QEMU (pid first), or nothing.
qemu_line() { pgrep -af "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $1( |\$)" | head -1; }

# qemu_count UUID: how many QEMU processes run for that VM uuid.
qemu_count() { pgrep -cf "^(/[^ ]*/)?qemu-system-x86_64 .*-uuid $1( |$)" || true; }

# wait_dead PID: until the process is gone (5 s at most).
wait_dead() { local i; for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; return 1; }

qemu_pid_of() { vm_field "$1" "$2" '.runtime.pid // empty'; }

# probe_as UID KIND PATH: opens PATH (file: read; dir: list; sock: connect;
# plant: a symlink inside the dir) as UID:UID with no other group, as a VM's
# identity would; prints "open" or the errno name (EACCES, ENOENT...).
probe_as() {
	setpriv --reuid="$1" --regid="$1" --clear-groups /usr/bin/python3 -c '
import errno, os, socket, sys
kind, p = sys.argv[1], sys.argv[2]
try:
    if kind == "sock":
        socket.socket(socket.AF_UNIX).connect(p)
    elif kind == "dir":
        os.listdir(p)
    elif kind == "plant":
        os.symlink("/etc/shadow", os.path.join(p, "planted"))
    else:
        os.close(os.open(p, os.O_RDONLY))
    print("open")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))' "$2" "$3" 2>&1
}
# denied_as UID KIND PATH: PATH exists (for root) and UID gets EACCES.
denied_as() { [ -e "$3" ] && [ "$(probe_as "$1" "$2" "$3")" = EACCES ]; }

cleanup() {
	local h ns
	# A test's own cleanup first (what it made beyond lib.sh's hosts).
	declare -F test_cleanup >/dev/null && test_cleanup
	[ -f "$TMP/vdcd.pid" ] && kill -9 "$(cat "$TMP/vdcd.pid")" 2>/dev/null
	for h in "${HOSTS[@]}"; do
		ns=$(ns_of "$h")
		kill -9 "$(agent_pid "$h")" 2>/dev/null
		# A host crash: every process of the namespace goes.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		sleep 0.2
		for d in /sys/fs/cgroup/*/"vdct$$$h" /sys/fs/cgroup/"vdct$$$h"; do
			[ -d "$d" ] || continue
			find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
			rmdir "$d" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
		ip link del "vf$$$h" 2>/dev/null
		ip link del "vv$$$h" 2>/dev/null
	done
	[ "$FABRIC" = 1 ] && ip link del "$FABRIC_BR" 2>/dev/null
	[ "$VMNET" = 1 ] && ip link del "$VMNET_BR" 2>/dev/null
	if [ "${KEEP_TMP:-0}" != 1 ]; then
		umount "$TMP"/*/full 2>/dev/null
		rm -rf "$TMP"
	fi
}

# finish: sanitizer reports in any agent log fail the test; prints the tally.
finish() {
	local h
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/vdcd.log" 2>/dev/null; then
		not_ok "vdcd ran clean under the sanitizers"
		grep -E -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/vdcd.log" | head -30 | sed 's/^/# /'
	fi
	for h in "${HOSTS[@]}"; do
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$(dir_of "$h")/agent.log" 2>/dev/null; then
			not_ok "agent on $h ran clean under the sanitizers"
			grep -E -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$(dir_of "$h")/agent.log" | head -30 | sed 's/^/# /'
		fi
	done
	echo "# $TEST_NAME: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

trap cleanup EXIT

# mgr_guest_images: the test guest's disk, kernel and initrd in vdcd's
# image library (imported by the administrator from $CACHE, once), as the
# shared images guest-disk, guest-kernel and guest-initrd.
mgr_guest_images() {
	[ -n "${MGR_GUEST_IMAGES:-}" ] && return 0
	local spec tok=${ADMIN0:-$ADMIN_TOKEN}
	for spec in "guest-disk disk qcow2 test-guest/data-template.qcow2" \
		"guest-kernel kernel raw test-guest/vmlinuz" "guest-initrd initrd raw test-guest/initrd.img"; do
		set -- $spec
		ADMIN_TOKEN=$tok mapi POST /api/v1/images \
			"$(jq -nc --arg n "$1" --arg k "$2" --arg f "$3" --arg p "$4" '{name:$n, kind:$k, format:$f, import_from:$p}')"
		if [ "$STATUS" != 202 ]; then
			diag "importing $1: $STATUS $BODY"
			return 1
		fi
		ADMIN_TOKEN=$tok task_wait "$(jget "$BODY" .task.id)" 60
		[ "$TASK_STATE" = succeeded ] || { diag "importing $1: task $TASK_STATE"; return 1; }
	done
	MGR_GUEST_IMAGES=1
}

# mgr_guest_template NAME [TOKEN] [JQ]: a template of the test guest made
# through vdcd's API (as TOKEN, default the admin), optionally changed by a
# jq filter; sets STATUS and BODY. Every test makes its templates here, so
# how a template names its images is written once.
mgr_guest_template() {
	local name=$1 tok=${2:-$ADMIN_TOKEN} filter=${3:-.}
	local body
	ADMIN0=${ADMIN0:-$ADMIN_TOKEN} mgr_guest_images || return 1
	body=$(jq -nc --arg n "$name" \
		'{name:$n, image:"guest-disk", kernel:"guest-kernel", initrd:"guest-initrd", cmdline:"console=ttyS0 quiet panic=-1", vcpus:1, memory_mib:64}' |
		jq -c "$filter")
	ADMIN_TOKEN=$tok mapi POST /api/v1/templates "$body"
}

# serial_shell_wait VM: waits (up to 30 s) until the serial log of VM (a
# name or id) shows a shell prompt: a guest whose shell is on ttyS0 takes
# input once its kernel has handed the console over (bytes typed before
# are lost). The prompt is busybox's "/ # ": a bare '#' is in the kernel's
# first line ("#1 SMP"), long before the shell. BODY is the last log.
serial_shell_wait() {
	for _ in $(seq 1 150); do
		mapi GET "/api/v1/vms/$1/console"
		grep -q '/ # ' <<<"$BODY" && return 0
		sleep 0.2
	done
	return 1
}

# shell_vm_up VM: for the console benches, one host h1 in cluster c1 and a
# running VM named VM whose shell is on its serial console (template
# "shell"), with its prompt up. Needs fabric_up and vdcd_start first.
shell_vm_up() {
	mapi POST /api/v1/clusters '{"name":"c1"}'
	mapi POST /api/v1/datastores '{"name":"local","path":"/var/lib/vdc-agent/datastore"}'
	mgr_guest_template shell "$ADMIN_TOKEN" '.cmdline="console=ttyS0,115200 panic=-1 rdinit=/bin/sh" | .memory_mib=96'
	host_join h1 c1 || return 1
	hosts_connected 1
	mapi POST /api/v1/vms "{\"name\":\"$1\",\"template\":\"shell\"}"
	task_wait "$(jget "$BODY" .task.id)"
	[ "$TASK_STATE" = succeeded ] || { echo "the VM $1 did not start" >&2; return 1; }
	serial_shell_wait "$1"
}
