#!/usr/bin/env bash
# t_fake_vdcd.sh VDC FAKE_VDCD_PY - runs the vdc CLI against fake_vdcd.py (an
# in-memory stand-in for vdcd's API) and checks exit codes and output: login,
# pages, filters, tasks waited for, --no-wait, errors and their advice, host
# power through a BMC (the password from a file); then
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
t "cluster ha: capacity and hosts" 0 "1 host failure (3 hosts)" -- "$VDC" cluster ha prod
t "cluster ha -o json: the reply" 0 '"admission": "host_failures"' -- "$VDC" cluster ha prod -o json
t "cluster ha: unknown cluster, exit 3" 3 "no cluster has the id or name 'nope'" -- "$VDC" cluster ha nope
t "cluster incidents: a timeline from detection" 0 "+6.2s   started    web" -- \
	"$VDC" cluster incidents prod --host host-1 --limit 2
t "cluster incidents: limit and host asked for" 0 "(limit 2)" -- "$VDC" cluster incidents prod --host host-1 --limit 2
t "cluster incidents -o json: the reply" 0 '"phase": "detected"' -- \
	"$VDC" cluster incidents prod --host host-1 -o json
t "cluster incidents: none" 0 "no HA incidents in cluster prod" -- "$VDC" cluster incidents prod
t "cluster incidents: unknown host, exit 3" 3 "no host has the id or name 'nope'" -- \
	"$VDC" cluster incidents prod --host nope
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
t "vm list (an admin: with projects)" 0 "web1    -         running    host-1   2       1Gi" -- "$VDC" vm list
t "vm create --project" 0 "vm pv1 created" -- "$VDC" vm create pv1 --template deb --project dev
t "vm list: an admin sees each VM's project" 0 "pv1     dev       running" -- "$VDC" vm list
t "vm list --project NAME" 0 "pv1    running" -- "$VDC" vm list --project dev
lacks "... only that project's VMs" "web1"
lacks "... without the PROJECT column (one project shown)" "PROJECT"
t "vm list --project: an unknown name is an error naming it, exit 3" 3 "no project" -- \
	"$VDC" vm list --project nope
has "... naming it" "'nope'"
t "vm list -o json has project_id" 0 '"project_id": "' -- "$VDC" vm list --project dev -o json
t "vm delete pv1 (the tenancy checks count dev's VMs)" 0 "vm pv1 deleted" -- "$VDC" vm delete pv1 --force
# --- issue 10, bug 7: --no-wait prints the task id alone on stdout ---
n=$((n + 1))
id=$("$VDC" vm create nw1 --template deb --no-wait 2>"$tmp/nw.err")
if [[ "$id" =~ ^[0-9a-f-]{36}$ ]] && grep -q "placement: chosen" "$tmp/nw.err"; then
	echo "ok $n - vm create --no-wait: stdout is the task id alone; placement on stderr"
else
	echo "not ok $n - vm create --no-wait: stdout is the task id alone; placement on stderr"
	echo "# stdout: $id"; sed 's/^/#   /' "$tmp/nw.err"; failed=$((failed + 1))
fi
"$VDC" vm create nw2 --template deb >"$tmp/nw.out" 2>"$tmp/nw.err"
lacks "vm create: placement is not on stdout" "placement:" "$tmp/nw.out"
has "vm create: the result line is on stdout" "vm nw2 created on host-1" "$tmp/nw.out"
# --- bug 8: one parser for sizes and durations, units echoed as typed ---
t "vm create --memory-mib 2G" 0 "vm m2g created" -- "$VDC" vm create m2g --template deb --memory-mib 2G
t "... memory is 2Gi" 0 "m2g     -         running    host-1   2       2Gi" -- "$VDC" vm list
t "vm create --memory-mib 3072 (a bare number is MiB)" 0 "vm m3k created" -- "$VDC" vm create m3k --template deb --memory-mib 3072
t "... memory is 3Gi" 0 "m3k     -         running    host-1   2       3Gi" -- "$VDC" vm list
t "vm create --memory-mib 1T: no host fits" 4 "host-3: rejected by memory" -- \
	"$VDC" vm create huge --template deb --memory-mib 1T
t "vm stop --timeout 5m" 0 "vm m2g stopped" -- "$VDC" vm stop m2g --timeout 5m
t "vm stop --timeout 2h: vdcd's refusal shows 2h" 2 "invalid --timeout 2h (7200 s): must be 0..3600" -- \
	"$VDC" vm stop m3k --timeout 2h
t "vm stop --timeout 5x: exit 2, named" 2 "flag --timeout: '5x' is not a duration" -- "$VDC" vm stop m3k --timeout 5x
# --- bug 9: names, and newest first ---
t "task list --target VMNAME" 0 "vm.stop     vm/m2g" -- "$VDC" task list --target m2g
lacks "... only m2g's tasks" "vm/web1"
t "task list --target vm/NAME" 0 "vm/m2g" -- "$VDC" task list --target vm/m2g
t "task list --target an unknown name: exit 3, named" 3 "no vm has the id or name 'nosuchvm'" -- \
	"$VDC" task list --target nosuchvm
t "task list --target a bad kind: exit 2" 2 "'disk/x' is no target" -- "$VDC" task list --target disk/x
"$VDC" task list --target m2g -o json >"$tmp/tl.json"
n=$((n + 1))
if [ "$(jq -r '.items[0].op' "$tmp/tl.json")" = vm.stop ] && [ "$(jq -r '.items[-1].op' "$tmp/tl.json")" = vm.create ]; then
	echo "ok $n - task list: newest first"
else
	echo "not ok $n - task list: newest first"; sed 's/^/#   /' "$tmp/tl.json"; failed=$((failed + 1))
fi
"$VDC" task list --target m2g --reverse -o json >"$tmp/tl.json"
n=$((n + 1))
if [ "$(jq -r '.items[0].op' "$tmp/tl.json")" = vm.create ] && [ "$(jq -r '.items[-1].op' "$tmp/tl.json")" = vm.stop ]; then
	echo "ok $n - task list --reverse: oldest first"
else
	echo "not ok $n - task list --reverse: oldest first"; sed 's/^/#   /' "$tmp/tl.json"; failed=$((failed + 1))
fi
"$VDC" task list --limit 1 >"$tmp/out" 2>&1
has "task list --limit 1: the newest task" "vm/m2g"
has "... and the cursor to the older ones" "(more: add --after "
"$VDC" task list --limit 1 --after "$(grep -o -- '--after [0-9a-f-]*' "$tmp/out" | cut -d' ' -f2)" >"$tmp/out2" 2>&1
has "task list --after: the next older task" "vm.create" "$tmp/out2"
t "event list --reverse: oldest first" 0 "event 1" -- "$VDC" event list --reverse --limit 1
t "event list --reverse pages with --after" 0 "(more: add --after 1)" -- "$VDC" event list --reverse --limit 1
t "event list --reverse --after 1" 0 "event 2" -- "$VDC" event list --reverse --limit 1 --after 1
t "event list: newest first" 0 "vm.create" -- "$VDC" event list --limit 1
t "vm stop --timeout" 0 "vm web1 stopped" -- "$VDC" vm stop web1 --timeout 30
t "vm get not found: exit 3" 3 "see 'vdc vm list'" -- "$VDC" vm get nope
"$VDC" vm start web1 --no-wait >"$tmp/id" 2>&1
t "--no-wait prints a task id; task watch follows it" 0 "succeeded" -- "$VDC" task watch "$(cat "$tmp/id")"
t "task list resolves targets" 0 "vm/web1" -- "$VDC" task list --op vm.start
t "console" 0 "web1 login:" -- "$VDC" vm console web1 --bytes 100
t "console --bytes with a unit" 0 "web1 login:" -- "$VDC" vm console web1 --bytes 1K
# --- item 10: vm console --follow polls with ?offset= until Ctrl-C ---
n=$((n + 1))
"$VDC" vm console web1 --follow >"$tmp/follow.out" 2>"$tmp/follow.err" &
fpid=$!
for _ in $(seq 50); do grep -q "tick 3" "$tmp/follow.out" 2>/dev/null && break; sleep 0.1; done
kill -INT "$fpid"
wait "$fpid"
frc=$?
if [ "$frc" = 0 ] && grep -q "web1 login: tick 1" "$tmp/follow.out" && grep -qx "tick 3" "$tmp/follow.out" &&
	[ "$(grep -c "tick 2" "$tmp/follow.out")" = 1 ] && [ "$(grep -c "login:" "$tmp/follow.out")" = 1 ]; then
	echo "ok $n - vm console --follow: the tail, then each new line once; Ctrl-C ends it with exit 0"
else
	echo "not ok $n - vm console --follow: exit $frc"; sed 's/^/#   /' "$tmp/follow.out" "$tmp/follow.err"
	failed=$((failed + 1))
fi
t "snapshot" 0 "vm web1: snapshot s1 taken" -- "$VDC" vm snapshot web1 s1
t "maintenance (the older 'NAME on')" 0 "host host-1: in maintenance (state maintenance; no VM to move)" -- \
	"$VDC" host maintenance host-1 on
t "maintenance exit" 0 "host host-1: out of maintenance (state connected)" -- "$VDC" host maintenance exit host-1
t "maintenance enter" 0 "host host-1: in maintenance (state maintenance; no VM to move)" -- \
	"$VDC" host maintenance enter host-1
t "join token shows the agent command" 0 "vdc-agent --manager-url $URL --join-token vdcj_0123" -- \
	"$VDC" host join-token --cluster prod
t "events page with --limit" 0 "(more: add --before" -- "$VDC" event list --limit 2
t "vm delete waits" 0 "vm fail1 deleted" -- "$VDC" vm delete fail1
t "vm delete of a running VM: exit 4, saying --force" 4 "stop it first or use --force" -- "$VDC" vm delete web2
t "vm delete --force deletes a running VM" 0 "vm web2 deleted" -- "$VDC" vm delete web2 --force
t "vm create deaf1" 0 -- "$VDC" vm create deaf1 --template deb
t "a forced stop says powered off, and why" 0 \
	"vm deaf1 powered off (forced: the guest did not shut down within 5 s)" -- "$VDC" vm stop deaf1
t "vm start deaf1" 0 -- "$VDC" vm start deaf1
t "a forced stop names the --timeout as given (5m, not 300 s)" 0 \
	"vm deaf1 powered off (forced: the guest did not shut down within 5m)" -- "$VDC" vm stop deaf1 --timeout 5m
echo '{"name":"fromfile","bridge":"br9"}' >"$tmp/net.json"
t "create -f" 0 "network fromfile created" -- "$VDC" network create -f "$tmp/net.json"
t "list -o json is one document" 0 '"next": null' -- "$VDC" network list -o json

# --- host power through a BMC: the password from a file, never argv ---
printf 's3cret-bmc\n' >"$tmp/bmc.pw"
printf 'wrong\n' >"$tmp/bad.pw"
t "host power without a driver: exit 4, saying so" 4 "host-2 has no power driver" -- "$VDC" host power host-2 status
t "power-driver set, the password from --password-file" 0 \
	"host host-2: power driver ipmi 10.0.9.12:6230 (user admin) set; try it: vdc host power host-2 status" -- \
	"$VDC" host power-driver set host-2 --ipmi 10.0.9.12:6230 --user admin --password-file "$tmp/bmc.pw"
t "host get shows the driver" 0 '"address": "10.0.9.12"' -- "$VDC" host get host-2 -o json
lacks "... and never the password" "s3cret-bmc"
t "a refused address is named as --ipmi" 2 "invalid --ipmi" -- \
	"$VDC" host power-driver set host-2 --ipmi=-oProxyCommand=x --user admin
t "an unreadable --password-file: exit 2" 2 "cannot read --password-file" -- \
	"$VDC" host power-driver set host-2 --ipmi 10.0.9.12 --user admin --password-file "$tmp/nope"
t "power status waits for its task" 0 "host host-2: BMC 10.0.9.12:6230: power is on" -- "$VDC" host power host-2 status
t "power off" 0 "host host-2: BMC 10.0.9.12:6230 took power off; power is off now" -- "$VDC" host power host-2 off
t "host list has a POWER column" 0 "POWER" -- "$VDC" host list
has "... saying off for host-2" "off"
t "power on --no-wait prints a task id" 0 -- "$VDC" host power host-2 on --no-wait
t_stdin=$tmp/bmc.pw
t "power-driver set --password-file - reads stdin" 0 "power driver ipmi 10.0.9.11:623 (user admin) set" -- \
	"$VDC" host power-driver set host-1 --ipmi 10.0.9.11 --user admin --password-file -
t_stdin=/dev/null
t "power off of a host with VMs: exit 4, saying how" 4 "--force" -- "$VDC" host power host-1 off
t "power off --force" 0 "took power off" -- "$VDC" host power host-1 off --force
t "power-driver set with another password (a wrong one)" 0 "set" -- \
	"$VDC" host power-driver set host-2 --ipmi 10.0.9.12:6230 --user admin --password-file "$tmp/bad.pw"
t "a wrong BMC password: the task fails (exit 1) with the BMC's reason" 1 \
	"host.power failed (bmc_auth_failed): BMC 10.0.9.12:6230 refused the login of user 'admin': wrong password" -- \
	"$VDC" host power host-2 on
t "power-driver clear" 0 "host host-2: power driver cleared" -- "$VDC" host power-driver clear host-2
t "... then set without a password: the server says it is needed (exit 2)" 2 "password" -- \
	"$VDC" host power-driver set host-2 --ipmi 10.0.9.12 --user admin

. "$HERE/e2e_login.sh"
. "$HERE/e2e_tenants.sh"


echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
