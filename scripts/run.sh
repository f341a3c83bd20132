#!/usr/bin/env bash
# run.sh - `make run`: installs what is needed, builds, and starts a pool on
# this machine (scripts/pool.sh): vdcd (SQLite) and two hosts, h1 and h2,
# each a network namespace with its own vdc-agent, joined to vdcd over TLS
# and sharing a datastore, so that a VM moves between them live. Registers
# the test guest as a template, creates and boots the VM `demo` through the
# CLI on the shared datastore, and shows `vdc host list`, `vdc vm list` and
# the VM's console. Returns with vdcd, the agents and the VM running; `make
# stop` stops them. Links vdc, vdcd and vdc-agent into /usr/local/bin so
# `vdc` works from any shell afterwards.
#
# Every place it uses can be moved with an environment variable (the test
# of `make run` itself runs it in a network namespace with its own
# directories): VDC_RUN_DIR, VDC_LOG_DIR, VDC_DATA_DIR, VDC_POOL_DIR,
# VDC_POOL_NAME, VDC_POOL_NET, VDC_MANAGER_ADDR, VDC_BUILD_DIR, VDC_BIN_DIR;
# VDC_SKIP_SETUP=1 skips the package install and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/run-env.sh
. scripts/pool.sh
VM=demo
HOSTS=(h1 h2)

step() { printf '==> %s\n' "$*" >&2; }
if [ "${VDC_SKIP_SETUP:-0}" != 1 ]; then
	step "installing packages"
	scripts/install-deps.sh
	step "building"
	scripts/build.sh "$BUILD"
fi
step "building the test guest (cached in $CACHE)"
guest/build-test-guest.sh "$CACHE" >&2
mkdir -p "$RUN" "$LOGS"
install_links
POOL_AGENT=$BUILD/src/agent/vdc-agent
step "the pool's network: bridge $POOL_BR ($POOL_MGR_IP/24, this machine only), hosts ${HOSTS[*]} as namespaces"
pool_fabric_up
for h in "${HOSTS[@]}"; do pool_host_up "$h"; done

# vdcd serves the API and the web UI on loopback and agents on the pool's
# bridge, both over TLS with its own CA (agents pin its fingerprint).
AGENT_LISTEN=$POOL_MGR_IP:7444
if alive vdcd; then
	step "vdcd already running (pid $(cat "$RUN/vdcd.pid"))"
else
	step "starting vdcd on https://$MGR (agents: https://$AGENT_LISTEN), SQLite in $DATA (log: $LOGS/vdcd.log)"
	setsid "$BUILD/src/manager/vdcd" --listen "$MGR" --agent-listen "$AGENT_LISTEN" --data-dir "$DATA" \
		--image-import-dir "$CACHE" </dev/null >>"$LOGS/vdcd.log" 2>&1 &
	echo $! >"$RUN/vdcd.pid"
	for _ in $(seq 1 100); do
		curl -s -o /dev/null --cacert "$DATA/tls/ca.pem" "https://$MGR/healthz" 2>/dev/null && break
		alive vdcd || { tail -5 "$LOGS/vdcd.log" >&2; echo "run: vdcd exited; see $LOGS/vdcd.log" >&2; exit 1; }
		sleep 0.1
	done
fi
CA_FP=$(curl -s --cacert "$DATA/tls/ca.pem" "https://$MGR/api/v1/ca" | jq -r .fingerprint)
vdc login --server "https://$MGR" --ca-fingerprint "$CA_FP" --token "$(cat "$DATA/admin.token")" >&2

vdc cluster get default >/dev/null 2>&1 || vdc cluster create default --policy pack >/dev/null
vdc datastore get shared >/dev/null 2>&1 || vdc datastore create shared --path "$POOL_SHARED" >/dev/null
# The test guest's files become images of the library (imported from the
# cache, which vdcd was told it may import from), then a template.
for img in "test-guest-disk disk test-guest/data-template.qcow2" "test-guest-kernel kernel test-guest/vmlinuz" \
	"test-guest-initrd initrd test-guest/initrd.img"; do
	set -- $img
	vdc image get "$1" >/dev/null 2>&1 || vdc image import "$1" --kind "$2" --from "$3" >/dev/null
done
vdc template get test-guest >/dev/null 2>&1 ||
	vdc template create test-guest --image test-guest-disk --kernel test-guest-kernel \
		--initrd test-guest-initrd --cmdline "console=ttyS0,115200 quiet panic=-1" --vcpus 1 --memory-mib 256 >/dev/null

for h in "${HOSTS[@]}"; do
	if pool_agent_alive "$h"; then
		step "the agent of $h already runs (pid $(cat "$(pool_dir "$h")/agent.pid"))"
		continue
	fi
	join=()
	if [ ! -f "$(pool_dir "$h")/state/manager.json" ]; then
		token=$(vdc host join-token --cluster default -o json | jq -r .token)
		join=(--join-token "$token")
	fi
	step "starting the agent of $h at https://$(pool_ip "$h"):7441, joined to vdcd (log: $(pool_dir "$h")/agent.log)"
	pool_agent_start "$h" --manager-url "https://$AGENT_LISTEN" --manager-ca-fingerprint "$CA_FP" "${join[@]}" ||
		{ echo "run: the agent of $h did not start; see $(pool_dir "$h")/agent.log" >&2; exit 1; }
done
for h in "${HOSTS[@]}"; do
	for _ in $(seq 1 100); do
		# Connected, and its first heartbeat (capacity, datastores) is in.
		[ "$(vdc host get "$h" -o json 2>/dev/null | jq -r '"\(.state)/\(.capacity != null)"')" = connected/true ] && break
		sleep 0.2
	done
done

state=$(vdc vm get "$VM" -o json 2>/dev/null | jq -r '.power_state // "absent"' || echo absent)
if [ "$state" = absent ]; then
	step "creating VM '$VM' from template test-guest on the shared datastore (placement picks the host)"
	vdc vm create "$VM" --template test-guest --datastore shared >&2
elif [ "$state" != running ]; then
	step "starting VM '$VM'"
	vdc vm start "$VM" >&2
fi
step "waiting for the guest's readiness line"
for _ in $(seq 1 300); do
	vdc vm console "$VM" 2>/dev/null | grep -q VDC-GUEST-READY && break
	sleep 0.1
done

echo
echo "\$ vdc host list"
vdc host list
echo
echo "\$ vdc vm list"
vdc vm list
echo
echo "\$ vdc vm console $VM   (last lines)"
vdc vm console "$VM" | tail -n 6
echo
echo "vdcd and the agents of ${HOSTS[*]} keep running, and so does the VM. Try: vdc vm migrate $VM"
echo "(it moves live to the other host), vdc host maintenance enter h1, vdc task list."
echo "Stop everything with: make stop (it powers off every VM of the pool)."
path_hint
echo
# The token itself is not printed: terminals and CI logs keep what they show.
echo "Web UI: https://$MGR/ (served by vdcd with its own CA, $CA_FP: trust $DATA/tls/ca.pem"
echo "  in the browser; from another machine: ssh -L ${MGR##*:}:$MGR THIS-HOST)"
echo "  sign in with 'API token' and the admin token: sudo cat $DATA/admin.token"
echo "  or with a password: vdc user create NAME (asks for one), vdc project add-member ..."
