#!/usr/bin/env bash
# t_fake_vdcd.sh VDC FAKE_VDCD_PY - runs the vdc CLI against fake_vdcd.py (an
# in-memory stand-in for vdcd's API) and checks exit codes and output: login,
# pages, filters, tasks waited for, --no-wait, errors and their advice; then
# e2e_login.sh (passwords, tokens, trusting an https vdcd's CA) and
# e2e_tenants.sh (users, projects, quotas, tokens).
# Prints "ok - ..." / "not ok - ..." per check; exits 1 if any failed.
set -uo pipefail
VDC=$1
FAKE=$2
HERE=$(dirname "$FAKE")
PTY="python3 $HERE/pty_run.py"
tmp=$(mktemp -d /tmp/vdc-cli-e2e.XXXXXX)
cleanup() {
	[ -s "$tmp/pids" ] && kill $(cat "$tmp/pids") 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# start_fake PORTFILE [ARGS...]: starts a fake vdcd; it writes its port.
start_fake() {
	local portfile=$1
	shift
	rm -f "$portfile"
	python3 "$FAKE" "$portfile" "$@" &
	echo $! >>"$tmp/pids"
	for _ in $(seq 50); do [ -s "$portfile" ] && break; sleep 0.1; done
}

start_fake "$tmp/port"
URL=http://127.0.0.1:$(cat "$tmp/port")
export VDC_CONFIG=$tmp/cfg/config
unset VDC_SERVER VDC_TOKEN VDC_DEBUG

failed=0
n=0
t_stdin=/dev/null
# t NAME WANT_RC [WANT_TEXT] -- CMD...: runs CMD with stdin from $t_stdin;
# stdout+stderr in $tmp/out.
t() {
	local name=$1 want=$2 text=
	shift 2
	if [ "$1" != "--" ]; then text=$1; shift; fi
	shift
	n=$((n + 1))
	"$@" >"$tmp/out" 2>&1 <"$t_stdin"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "not ok $n - $name: exit $rc, want $want"
		sed 's/^/#   /' "$tmp/out"
		failed=$((failed + 1))
	elif [ -n "$text" ] && ! grep -qF -- "$text" "$tmp/out"; then
		echo "not ok $n - $name: no '$text' in the output"
		sed 's/^/#   /' "$tmp/out"
		failed=$((failed + 1))
	else
		echo "ok $n - $name"
	fi
}
# has NAME TEXT [FILE] / lacks NAME TEXT [FILE]: FILE ($tmp/out) holds TEXT, or not.
has() {
	n=$((n + 1))
	if grep -qF -- "$2" "${3:-$tmp/out}"; then echo "ok $n - $1"; else
		echo "not ok $n - $1: no '$2' in ${3:-the output}"; sed 's/^/#   /' "${3:-$tmp/out}"
		failed=$((failed + 1))
	fi
}
lacks() {
	n=$((n + 1))
	if ! grep -qF -- "$2" "${3:-$tmp/out}"; then echo "ok $n - $1"; else
		echo "not ok $n - $1: '$2' in ${3:-the output}"; sed 's/^/#   /' "${3:-$tmp/out}"
		failed=$((failed + 1))
	fi
}

t "no token: exit 5 and advice" 5 "run 'vdc login'" -- "$VDC" cluster list --server "$URL"
t "unreachable: exit 6 and advice" 6 "is vdcd running at http://127.0.0.1:1?" -- \
	"$VDC" cluster list --server http://127.0.0.1:1
n=$((n + 1))
if echo wrong | "$VDC" login --server "$URL" >"$tmp/out" 2>&1; then
	echo "not ok $n - login with a wrong token fails"; failed=$((failed + 1))
elif [ -e "$VDC_CONFIG" ]; then
	echo "not ok $n - a refused token is not saved"; failed=$((failed + 1))
else
	echo "ok $n - a refused token is not saved"
fi
n=$((n + 1))
if echo secret | "$VDC" login --server "$URL" >"$tmp/out" 2>&1 &&
	grep -qx "Logged in to $URL as admin" "$tmp/out" && [ "$(stat -c %a "$VDC_CONFIG")" = 600 ]; then
	echo "ok $n - login from stdin saves a 0600 config"
else
	echo "not ok $n - login from stdin saves a 0600 config"; sed 's/^/#   /' "$tmp/out"; failed=$((failed + 1))
fi
t "env token overrides the file" 5 "VDC_TOKEN was refused" -- env VDC_TOKEN=bad "$VDC" host list
t "flag overrides env" 0 -- env VDC_TOKEN=bad "$VDC" host list --token secret
t "host table" 0 "host-2   connected   prod      8      8Gi" -- "$VDC" host list
t "host filter by cluster name" 0 "host-3" -- "$VDC" host list --cluster prod --state connected
t "filter naming nothing: exit 3" 3 "no cluster has the id or name 'nope'" -- "$VDC" host list --cluster nope
t "network create" 0 "network front created" -- "$VDC" network create front --bridge br0 --vlan 10
t "name taken: exit 4" 4 "already exists" -- "$VDC" network create front --bridge br0
t "400 names the flag: exit 2" 2 "invalid --vlan" -- "$VDC" network create back --bridge br1 --vlan 5000
t "usage error: exit 2" 2 "flag --bridge BRIDGE is required" -- "$VDC" network create back
t "template create" 0 -- "$VDC" template create deb --image /srv/deb.qcow2 --vcpus 2 --memory-mib 1024
t "vm create waits and shows placement" 0 "placement: chosen host-1" -- \
	"$VDC" vm create web1 --template deb --network front
grep -q "vm web1 created on host-1 (running)" "$tmp/out" && grep -q "100% done" "$tmp/out" ||
	{ echo "not ok - vm create's end"; failed=$((failed + 1)); }
t "vm create -o json has per-host reasons" 0 '"eligible": true' -- \
	"$VDC" vm create web2 --template deb -o json
t "no host fits: exit 4 with each host's reason" 4 "host-3: rejected by memory" -- \
	"$VDC" vm create big --template deb --memory-mib 100000
t "unknown network: exit 2, named as its flag" 2 "invalid --network: no network named 'x'" -- \
	"$VDC" vm create web3 --template deb --network x
t "failed task: exit 1 with its error" 1 "vm.create failed (agent_error): qemu-img: no space" -- \
	"$VDC" vm create fail1 --template deb
t "vm list" 0 "web1    running    host-1   2       1Gi" -- "$VDC" vm list
t "vm stop --timeout" 0 "vm web1 stopped" -- "$VDC" vm stop web1 --timeout 30
t "vm get not found: exit 3" 3 "see 'vdc vm list'" -- "$VDC" vm get nope
"$VDC" vm start web1 --no-wait >"$tmp/id" 2>&1
t "--no-wait prints a task id; task watch follows it" 0 "succeeded" -- "$VDC" task watch "$(cat "$tmp/id")"
t "task list resolves targets" 0 "vm/web1" -- "$VDC" task list --op vm.start
t "console" 0 "web1 login:" -- "$VDC" vm console web1 --bytes 100
t "snapshot" 0 "vm web1: snapshot s1 taken" -- "$VDC" vm snapshot web1 s1
t "maintenance" 0 "maintenance on (state maintenance)" -- "$VDC" host maintenance host-1 on
t "join token shows the agent command" 0 "vdc-agent --manager-url $URL --join-token vdcj_0123" -- \
	"$VDC" host join-token --cluster prod
t "events page with --limit" 0 "(more: add --before" -- "$VDC" event list --limit 2
t "vm delete waits" 0 "vm fail1 deleted" -- "$VDC" vm delete fail1
t "vm delete of a running VM: exit 4, saying --force" 4 "stop it first or use --force" -- "$VDC" vm delete web2
t "vm delete --force deletes a running VM" 0 "vm web2 deleted" -- "$VDC" vm delete web2 --force
t "vm create deaf1" 0 -- "$VDC" vm create deaf1 --template deb
t "a forced stop says powered off, and why" 0 \
	"vm deaf1 powered off (forced: the guest did not shut down within 5 s)" -- "$VDC" vm stop deaf1
echo '{"name":"fromfile","bridge":"br9"}' >"$tmp/net.json"
t "create -f" 0 "network fromfile created" -- "$VDC" network create -f "$tmp/net.json"
t "list -o json is one document" 0 '"next": null' -- "$VDC" network list -o json

. "$HERE/e2e_login.sh"
. "$HERE/e2e_tenants.sh"


echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
