#!/usr/bin/env bash
# t_bad_input.sh - every kind of bad request gets a clear error naming the
# problem, and creates nothing: invalid specs (400 + field), taken names
# (409), a full datastore (507 + qemu-img's words), a QEMU that will not
# start (500 + QEMU's words), auth, routes, states, bodies.
source "$(dirname "$0")/lib.sh"

# A 1 MiB datastore that is full before the agent starts.
full=$(dir_of h1)/full
mkdir -p "$full"
mount -t tmpfs -o size=1m vdct-full "$full"
dd if=/dev/zero of="$full/fill" bs=64k 2>/dev/null
host_up h1 --datastore "full=$full" || { not_ok "agent starts"; finish; exit 1; }

nothing_left() {
	[ -z "$(ls "$(dir_of h1)/st/vms")" ] && [ -z "$(ls "$(dir_of h1)/ds")" ] &&
		[ "$(ls "$full")" = fill ] && [ -z "$(ls "$(dir_of h1)/run/vms")" ] &&
		! ls -d /sys/fs/cgroup/*/vdct$$h1/* /sys/fs/cgroup/vdct$$h1/*/ 2>/dev/null | grep -q . &&
		! in_ns h1 ls /sys/class/net | grep -q '^vt'
}

base=$(guest_spec bad 10.213.0.41)
tmpl=$GUEST/data-template.qcow2
# jq program @@ the field the 400 must name
while IFS= read -r line; do
	[ -n "$line" ] || continue
	prog=${line% @@ *}
	field=${line##* @@ }
	api h1 POST /api/v1/vms "$(jq -c "$prog" <<<"$base")"
	got=$(jget "$BODY" '.error.field // empty')
	if [ "$STATUS" = 400 ] && [ "$got" = "$field" ]; then
		ok "400 naming $field for: $prog"
	else
		not_ok "400 naming $field for: $prog (got $STATUS field '$got': $BODY)"
	fi
done <<EOF2
del(.name) @@ name
.name="a b" @@ name
.name="../etc" @@ name
.name=("x"*64) @@ name
.name=7 @@ name
.vcpus=0 @@ vcpus
.vcpus="2" @@ vcpus
.vcpus=100000 @@ vcpus
.memory_mib=1 @@ memory_mib
.memory_mib=1.5 @@ memory_mib
.color="blue" @@ color
.display="sdl" @@ display
.boot.kernel="vmlinuz" @@ boot.kernel
.boot.kernel="/no/such/kernel" @@ boot.kernel
.boot.initrd="/no/such/initrd" @@ boot.initrd
.boot.cmdline="a\nb" @@ boot.cmdline
.boot.firmware="efi" @@ boot.firmware
.boot=[] @@ boot
.disks=[{size_mib:10}] @@ disks[0].name
.disks=[{name:"d"}] @@ disks[0].size_mib
.disks=[{name:"d",size_mib:-5}] @@ disks[0].size_mib
.disks=[{name:"d",size_mib:10},{name:"d",size_mib:10}] @@ disks[1].name
.disks=[{name:"d",template:"/no/such.qcow2"}] @@ disks[0].template
.disks=[{name:"d",size_mib:10,datastore:"nope"}] @@ disks[0].datastore
.disks=[{name:"d",size_mib:10,path:"/etc/passwd"}] @@ disks[0].path
.disks=[{name:"d",size_mib:1,template:"$tmpl"}] @@ disks[0].size_mib
.disks="d" @@ disks
.disks=[range(17)|{name:"d\(.)",size_mib:1}] @@ disks
.nics=[{bridge:"nosuchbr"}] @@ nics[0].bridge
.nics=[{bridge:"br0",mac:"01:00:5e:00:00:01"}] @@ nics[0].mac
.nics=[{bridge:"br0",mac:"zz"}] @@ nics[0].mac
.nics=[{mode:"vhost"}] @@ nics[0].mode
.nics=[{mode:"user",bridge:"br0"}] @@ nics[0].mode
.nics=[{bridge:"br0",vlan:5}] @@ nics[0].vlan
.cloud_init={user_data:5} @@ cloud_init.user_data
.cloud_init={meta_data:"x"} @@ cloud_init.meta_data
.cloud_init={meta_data:{"a b":"x"}} @@ cloud_init.meta_data.a b
.resources={memory_limit_mib:64} @@ resources.memory_limit_mib
.resources={cpu_weight:0} @@ resources.cpu_weight
.resources={cpu_shares:5} @@ resources.cpu_shares
EOF2
check "no invalid spec created anything" nothing_left

api h1 POST /api/v1/vms 'not json'
check "a body that is not JSON is 400 with line and column" test "$STATUS/$(jget "$BODY" .error.code)" = 400/invalid_json
check "... and says where" grep -q 'line 1' <<<"$(jget "$BODY" .error.message)"
api h1 POST /api/v1/vms '[1,2]'
check "a JSON array body is 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/body
api h1 POST /api/v1/vms '{"name":"a","name":"b"}'
check "duplicate keys are 400" test "$STATUS" = 400
api h1 POST /api/v1/vms ''
check "an empty body is 400" test "$STATUS" = 400
big=$(head -c 400000 /dev/zero | tr '\0' 'x')
api h1 POST /api/v1/vms "{\"name\":\"$big\"}"
check "a body over the size bound is 413" test "$STATUS/$(jget "$BODY" .error.code)" = 413/body_too_large

api h1 POST /api/v1/vms "$base"
check "a valid spec is created" test "$STATUS" = 201
api h1 POST /api/v1/vms "$base"
check "a taken name is 409" test "$STATUS/$(jget "$BODY" .error.code)" = 409/name_taken
api h1 POST /api/v1/vms "$(jq -c '.name="bad2" | .uuid=$u' --arg u "$(vm_field h1 bad .uuid)" <<<"$base")"
check "a taken uuid is 409" test "$STATUS/$(jget "$BODY" .error.code)" = 409/uuid_taken
api h1 DELETE /api/v1/vms/bad

# A full datastore: qemu-img's own words, nothing left.
api h1 POST /api/v1/vms "$(jq -c '.disks=[{name:"d",size_mib:1024,datastore:"full"}]' <<<"$base")"
check "a full datastore is 507" test "$STATUS/$(jget "$BODY" .error.code)" = 507/datastore_full
check "... with qemu-img's message" grep -q "No space left on device" <<<"$(jget "$BODY" .error.message)"
api h1 POST /api/v1/vms "$(jq -c --arg t "$tmpl" '.disks=[{name:"d",template:$t,datastore:"full"}]' <<<"$base")"
check "a linked clone on a full datastore is 507" test "$STATUS" = 507
check "a full datastore left nothing behind" nothing_left

# QEMU refuses to start: its own message, and no disk, tap, cgroup or process.
secret=$TMP/root-only-kernel
cp "$GUEST/vmlinuz" "$secret"
chmod 600 "$secret"
spec=$(jq -c --arg k "$secret" --arg t "$tmpl" '.boot.kernel=$k | .disks=[{name:"d",template:$t}]' <<<"$base")
api h1 POST '/api/v1/vms?start=true' "$spec"
check "a kernel QEMU may not read fails the start (500 qemu_failed)" test "$STATUS/$(jget "$BODY" .error.code)" = 500/qemu_failed
check "... with QEMU's own message" grep -qi "could not .*kernel\|Permission denied" <<<"$(jget "$BODY" .error.message)"
diag "QEMU said: $(jget "$BODY" .error.message)"
check "... and left nothing (no VM, disk, tap, cgroup, process)" nothing_left
check "... and no QEMU process" qemu_gone bad
head -c 4096 /dev/urandom >"$TMP/garbage-kernel"
chmod 644 "$TMP/garbage-kernel"
api h1 POST '/api/v1/vms?start=true' "$(jq -c --arg k "$TMP/garbage-kernel" '.boot.kernel=$k' <<<"$base")"
check "a file that is no kernel fails the start with QEMU's message" test "$STATUS/$(jget "$BODY" .error.code)" = 500/qemu_failed
diag "QEMU said: $(jget "$BODY" .error.message)"
check "... and left nothing" nothing_left

# Auth, routes, states, query and body checks of the other routes.
STATUS=$(in_ns h1 curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:7441/api/v1/vms)
check "no token is 401" test "$STATUS" = 401
STATUS=$(in_ns h1 curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' http://127.0.0.1:7441/api/v1/vms)
check "a wrong token is 401" test "$STATUS" = 401
STATUS=$(in_ns h1 curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:7441/metrics)
check "metrics need the token too" test "$STATUS" = 401
api h1 GET /api/v1/nothing
check "an unknown route is 404" test "$STATUS" = 404
api h1 PUT /api/v1/vms
check "a wrong method is 405" test "$STATUS" = 405
api h1 GET /api/v1/vms/ghost
check "an unknown VM is 404" test "$STATUS/$(jget "$BODY" .error.code)" = 404/not_found
api h1 POST /api/v1/vms "$base"
api h1 POST /api/v1/vms/bad/stop
check "stopping a stopped VM is 409" test "$STATUS/$(jget "$BODY" .error.code)" = 409/invalid_state
api h1 POST /api/v1/vms/bad/pause
check "pausing a stopped VM is 409" test "$STATUS" = 409
api h1 POST /api/v1/vms/bad/start
api h1 POST /api/v1/vms/bad/start
check "starting a running VM is 409" test "$STATUS" = 409
api h1 DELETE /api/v1/vms/bad
check "deleting a running VM is 409 and says how" test "$STATUS" = 409 -a -n "$(grep -o 'force=true' <<<"$BODY")"
api h1 POST /api/v1/vms/bad/stop '{"timeout_s":-1}'
check "a negative stop timeout is 400 naming timeout_s" test "$STATUS/$(jget "$BODY" .error.field)" = 400/timeout_s
api h1 POST /api/v1/vms/bad/stop '{"timeout":5}'
check "an unknown stop field is 400 naming it" test "$STATUS/$(jget "$BODY" .error.field)" = 400/timeout
api h1 GET '/api/v1/vms/bad/console?bytes=abc'
check "a bad console size is 400" test "$STATUS/$(jget "$BODY" .error.field)" = 400/bytes
api h1 DELETE '/api/v1/vms/bad?force=true'
check "a forced delete cleans up" nothing_left
check "the agent stops cleanly (exit 0)" agent_stop h1
umount "$full"
finish
