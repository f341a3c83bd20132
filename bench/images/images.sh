#!/usr/bin/env bash
# images.sh - bench: how fast the image library takes an image in and gives
# it to a host, on the path users take: `PUT /api/v1/images/{id}/file`
# (streamed to vdcd's spool with its SHA-256, judged, renamed into the
# library), an administrator's import (a task: copy with SHA-256), and the
# first VM made on a host that lacks the image (vdcd pushes it to the
# agent, which judges it again) against the second (the host has it). The
# peer is the floor: cp of the same file on the same file system, in the
# same run. Figures on stdout, progress on stderr; everything it starts is
# stopped and its directory removed on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
cache=${VDC_CACHE:-/var/cache/vdc}
runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: images.sh [--build DIR] [--runs N]" >&2; exit 2 ;;
	esac
done
say() { echo "images: $*" >&2; }
die() { say "$*"; exit 1; }
vdcd=$build/src/manager/vdcd
agent=$build/src/agent/vdc-agent
image=$cache/cloud-image/debian-12.qcow2
[ -x "$vdcd" ] && [ -x "$agent" ] || die "build first (ninja -C $build)"
[ -f "$image" ] || die "no $image: run guest/build-cloud-image.sh $cache"

tmp=$(mktemp -d /tmp/vdc-images.XXXXXX)
chmod 0755 "$tmp"
pids=()
bridge=vdcb$$
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	ip link del "$bridge" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

port=$(free_port)
mgr=127.0.0.1:$port
"$vdcd" --listen "$mgr" --plain-http --data-dir "$tmp/vdcd" --image-import-dir "$cache" \
	--log-level warn >"$tmp/vdcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://$mgr/healthz" && break; sleep 0.05; done
tok=$(cat "$tmp/vdcd/admin.token")
api() { # METHOD PATH [BODY] -> stdout body
	curl -sf -X "$1" -H "Authorization: Bearer $tok" ${3:+-H 'Content-Type: application/json' -d "$3"} "http://$mgr$2"
}
wait_task() { # ID
	local s
	for _ in $(seq 1 1200); do
		s=$(api GET "/api/v1/tasks/$1" | jq -r .state)
		case $s in succeeded) return 0 ;; failed) api GET "/api/v1/tasks/$1" >&2; return 1 ;; esac
		sleep 0.05
	done
	return 1
}
mib=$(( $(stat -c %s "$image") >> 20 ))
say "image: $image ($mib MiB), $runs runs"

# The floor: cp of the same file on the file system vdcd's library is on.
up=() imp=() cp_=()
for r in $(seq 1 "$runs"); do
	t0=$(now_ms)
	cp "$image" "$tmp/copy.$r" && sync "$tmp/copy.$r"
	cp_+=($(( $(now_ms) - t0 )))
	rm -f "$tmp/copy.$r"
	id=$(api POST /api/v1/images "{\"name\":\"up$r\"}" | jq -r .id)
	t0=$(now_ms)
	curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $tok" -T "$image" "http://$mgr/api/v1/images/$id/file" ||
		die "upload $r failed"
	up+=($(( $(now_ms) - t0 )))
	t0=$(now_ms)
	task=$(api POST /api/v1/images "{\"name\":\"imp$r\",\"import_from\":\"cloud-image/debian-12.qcow2\"}" | jq -r .task.id)
	wait_task "$task" || die "import $r failed"
	imp+=($(( $(now_ms) - t0 )))
	say "run $r: cp ${cp_[-1]} ms, upload ${up[-1]} ms, import ${imp[-1]} ms"
done
rate() { awk -v m="$mib" -v t="$1" 'BEGIN {printf "%.0f", (t > 0) ? m * 1000 / t : 0}'; }
cp_ms=$(printf '%s\n' "${cp_[@]}" | median)
up_ms=$(printf '%s\n' "${up[@]}" | median)
imp_ms=$(printf '%s\n' "${imp[@]}" | median)
echo "figure image_upload_mib_s $(rate "$up_ms") MiB/s"
echo "figure image_import_mib_s $(rate "$imp_ms") MiB/s"
echo "figure peer_cp_mib_s $(rate "$cp_ms") MiB/s"

# A host: the first VM made from a template of this image waits for its
# push; the second does not.
# Its VMs never start: a bridge of the bench's own, with nothing on it,
# stands for their network.
ip link add "$bridge" type bridge && ip link set "$bridge" up
api POST /api/v1/clusters '{"name":"c1"}' >/dev/null
api POST /api/v1/networks "{\"name\":\"bn\",\"bridge\":\"$bridge\"}" >/dev/null
jt=$(api POST /api/v1/hosts/join-tokens '{"cluster":"c1"}' | jq -r .token)
aport=$(free_port)
mkdir -p "$tmp/agent"
echo "bench-token-$$-0123456789abcdef" >"$tmp/agent/token"
"$agent" --listen "127.0.0.1:$aport" --token-file "$tmp/agent/token" --state-dir "$tmp/agent/st" \
	--run-dir "$tmp/agent/run" --datastore "local=$tmp/agent/ds" --cgroup-base "vdcbench$$" \
	--nat-network off --manager-url "http://$mgr" --join-token "$jt" --host-name bench \
	--log-level warn >"$tmp/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	[ "$(api GET '/api/v1/hosts?state=connected' | jq '.items | length')" = 1 ] && break
	sleep 0.1
done
api POST /api/v1/templates '{"name":"cloud","image":"up1","vcpus":1,"memory_mib":256}' >/dev/null ||
	die "template failed"
create_ms() { # NAME
	local t0 task
	t0=$(now_ms)
	task=$(api POST /api/v1/vms "{\"name\":\"$1\",\"template\":\"cloud\",\"networks\":[\"bn\"],\"start\":false}" | jq -r .task.id)
	wait_task "$task" || die "create $1 failed"
	echo $(( $(now_ms) - t0 ))
}
first=$(create_ms vm1)
second=$(create_ms vm2)
say "first VM (image pushed): $first ms, second (image on the host): $second ms"
echo "figure vm_create_first_on_host_ms $first ms"
echo "figure vm_create_image_cached_ms $second ms"
echo "figure image_push_mib_s $(rate $(( first > second ? first - second : 1 ))) MiB/s"
