#!/usr/bin/env bash
# t_identity.sh - each VM is its own uid and gid: two running VMs' QEMUs run
# as different ids, and a process with one VM's identity opens nothing of the
# other (disk, seed, sockets, console log, state); qemu-img never runs as root
# and refuses disks whose backing file leads out of the agent's roots; VNC is
# a unix socket of the VM's, never TCP; identities survive agent restarts.
source "$(dirname "$0")/lib.sh"

# Every qemu-img the agent runs goes through this shim, which notes who ran
# it (uid gid, then the arguments) before running the real one, and its
# groups (uid, then every group) in a log of their own.
shim=$TMP/shim
mkdir -p "$shim"
cat >"$shim/qemu-img" <<EOF
#!/bin/sh
echo "\$(id -u) \$(id -g) \$*" >>"$TMP/qemu-img.log"
echo "\$(id -u) \$(id -G)" >>"$TMP/qemu-img.groups"
exec /usr/bin/qemu-img "\$@"
EOF
chmod 755 "$shim" "$shim/qemu-img"
: >"$TMP/qemu-img.log"
: >"$TMP/qemu-img.groups"
chmod 666 "$TMP/qemu-img.log" "$TMP/qemu-img.groups"
saved_path=$PATH
export PATH=$shim:$PATH
host_up h1 || { not_ok "agent starts"; finish; exit 1; }
export PATH=$saved_path
ok "agent starts"

ds=$(dir_of h1)/ds
run=$(dir_of h1)/run
st=$(dir_of h1)/st
# The shared template: an image uploaded to the agent, which keeps it as
# <datastore>/images/<id>, root's and read-only.
agent_put_image h1 tmpl disk qcow2 "$GUEST/data-template.qcow2"
check "the template image is uploaded" test "$STATUS" = 201
tmpl=$ds/images/tmpl

spec() {
	guest_spec "$1" "$2" |
		jq -c '.display="vnc" | .disks=[{name:"data", image:"tmpl"}] | .cloud_init={user_data:"#cloud-config\n"}'
}

probe() { probe_as "$@"; }
denied() { denied_as "$@"; }
allowed() { [ "$(probe_as "$1" "$2" "$3")" = open ]; }

api h1 POST '/api/v1/vms?start=true' "$(spec va 10.213.0.41)"
check "VM va starts" test "$STATUS" = 201
ua=$(jget "$BODY" .identity.uid)
pa=$(jget "$BODY" .runtime.pid)
api h1 POST '/api/v1/vms?start=true' "$(spec vb 10.213.0.42)"
check "VM vb starts" test "$STATUS" = 201
ub=$(jget "$BODY" .identity.uid)
vb_uuid=$(jget "$BODY" .uuid)
pb=$(jget "$BODY" .runtime.pid)
check "va boots" wait_console h1 va 'VDC-GUEST-READY' 60
check "vb boots" wait_console h1 vb 'VDC-GUEST-READY' 60

check "the two VMs have different identities from the range" \
	test "$ua" -ge 200000 -a "$ub" -ge 200000 -a "$ua" != "$ub"
check "va's QEMU runs as va's uid and gid" grep -qE "^Uid:\s+$ua\s+$ua\s+$ua\s+$ua$" /proc/"$pa"/status
check "vb's QEMU runs as vb's uid and gid" grep -qE "^Uid:\s+$ub\s+$ub\s+$ub\s+$ub$" /proc/"$pb"/status
check "va's QEMU has va's gid" grep -qE "^Gid:\s+$ua\s+$ua\s+$ua\s+$ua$" /proc/"$pa"/status

# The probe itself works: va's identity opens va's own disk and display.
check "va's identity opens its own disk (the probe works)" allowed "$ua" file "$ds/va/data.qcow2"
check "va's identity reaches its own VNC socket" allowed "$ua" sock "$run/vnc/va/vnc.sock"
# ... and nothing of vb's.
check "va's identity cannot open vb's disk" denied "$ua" file "$ds/vb/data.qcow2"
check "va's identity cannot open vb's cloud-init seed" denied "$ua" file "$ds/vb/cidata.iso"
check "va's identity cannot list vb's disk directory" denied "$ua" dir "$ds/vb"
check "va's identity cannot connect to vb's VNC socket" denied "$ua" sock "$run/vnc/vb/vnc.sock"
check "va's identity cannot connect to vb's QMP socket" denied "$ua" sock "$run/vms/vb/qmp.sock"
check "va's identity cannot connect to vb's serial socket" denied "$ua" sock "$run/vms/vb/serial.sock"
check "va's identity cannot read vb's console log" denied "$ua" file "$st/vms/vb/console.log"
check "va's identity cannot list vb's state directory" denied "$ua" dir "$st/vms/vb"
# ... nor the agent's own sockets of its own VM, nor plant a link.
check "va's identity cannot connect to its own QMP socket (root's)" denied "$ua" sock "$run/vms/va/qmp.sock"
check "va's identity cannot read its own console log (root's)" denied "$ua" file "$st/vms/va/console.log"
check "va's identity cannot add an entry (a symlink) to its disk directory" \
	test "$(probe "$ua" plant "$ds/va")" = EACCES
check "va's identity cannot write the shared template (root's, 0444)" \
	bash -c "[ \"\$(stat -c '%u %a' '$tmpl')\" = '0 444' ]"
check "the disk directory is root's, group the VM's, 0750" test "$(stat -c '%u %g %a' "$ds/va")" = "0 $ua 750"
check "the disk is the VM's" test "$(stat -c '%u %g' "$ds/va/data.qcow2")" = "$ua $ua"

# VNC: no TCP listener of any QEMU; the socket in a 0700 directory of the VM's.
check "no QEMU listens on TCP" bash -c "! ip netns exec $(ns_of h1) ss -ltnpH | grep -qE 'pid=($pa|$pb),'"
check "the VNC directory is the VM's, 0700" test "$(stat -c '%u %a' "$run/vnc/va")" = "$ua 700"
check "the VNC socket is the VM's" test "$(stat -c '%u' "$run/vnc/va/vnc.sock")" = "$ua"
api h1 GET /api/v1/vms/va
check "the VM reports its display as a socket, with no host or port" \
	test "$(jget "$BODY" '.runtime.vnc|tojson')" = '{"socket":true}'

# A disk whose header was rewritten to lead out of the roots.
api h1 POST /api/v1/vms "$(spec vc 10.213.0.43)"
check "VM vc is defined" test "$STATUS" = 201
qemu-img rebase -u -f qcow2 -b /etc/shadow -F raw "$ds/vc/data.qcow2"
api h1 POST /api/v1/vms/vc/start
check "a disk backed by /etc/shadow is refused at start (400 unsafe_image)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 400/unsafe_image
check "... the error names the backing file" grep -q "/etc/shadow" <<<"$(jget "$BODY" .error.message)"
check "... and no QEMU was started" qemu_gone vc
# clone_of NAME VM: a VM whose disk is a full copy of stopped VM's disk "data".
clone_of() { jq -nc --arg n "$1" --arg s "$2" \
	'{name:$n, display:"none", boot:{kernel_image:"guest-kernel"}, disks:[{name:"data", source_vm:$s, source_disk:"data"}]}'; }
api h1 POST /api/v1/vms "$(clone_of vd vc)"
check "cloning that disk is refused (400 unsafe_image)" test "$STATUS/$(jget "$BODY" .error.code)" = 400/unsafe_image
check "... the error names the backing file" grep -q "/etc/shadow" <<<"$(jget "$BODY" .error.message)"
check "... and nothing was copied" test ! -e "$ds/vd"
qemu-img rebase -u -f qcow2 -F raw -b 'json:{"driver":"raw","file":{"driver":"file","filename":"/etc/shadow"}}' \
	"$ds/vc/data.qcow2"
api h1 POST /api/v1/vms/vc/start
check "a json: backing file is refused at start (400 unsafe_image)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 400/unsafe_image
check "... the error names it" grep -q 'json:' <<<"$(jget "$BODY" .error.message)"
api h1 POST /api/v1/vms "$(clone_of vd vc)"
check "cloning a disk with a json: backing file is refused (400 unsafe_image)" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 400/unsafe_image
check "... and nothing was copied" test ! -e "$ds/vd"
qemu-img rebase -u -f qcow2 -F qcow2 -b "$ds/va/data.qcow2" "$ds/vc/data.qcow2"
api h1 POST /api/v1/vms/vc/start
check "a disk backed by another VM's disk is refused at start" \
	test "$STATUS/$(jget "$BODY" .error.code)" = 400/unsafe_image
check "... naming it" grep -q "$ds/va/data.qcow2" <<<"$(jget "$BODY" .error.message)"
# A caller names no host file at all: a template path is refused whatever
# it names, before anything is looked at.
host_path_refused() {
	test "$STATUS/$(jget "$BODY" .error.code)/$(jget "$BODY" .error.field)" = 400/invalid_spec/disks[0].template &&
		grep -q "host paths are not accepted" <<<"$(jget "$BODY" .error.message)"
}
api h1 POST /api/v1/vms "$(jq -c '.disks=[{name:"data", template:"/etc/shadow"}]' <<<"$(spec ve 10.213.0.45)")"
check "/etc/shadow as a template is refused (400 invalid_spec naming disks[0].template: host paths are not accepted)" \
	host_path_refused
api h1 POST /api/v1/vms "$(jq -c --arg d "$ds/va/data.qcow2" '.disks=[{name:"data", template:$d}]' <<<"$(spec ve 10.213.0.45)")"
check "another VM's disk as a linked template is refused (400 invalid_spec naming disks[0].template)" \
	host_path_refused
check "... and nothing was made" test ! -e "$ds/ve"

# A copy of a stopped VM's disk (source_vm) is read with that VM's group,
# and is the new VM's alone.
api h1 POST /api/v1/vms/vb/stop
check "vb stops" test "$STATUS/$(jget "$BODY" .state)" = 200/stopped
api h1 POST /api/v1/vms "$(clone_of vf vb)"
check "a copy of vb's disk is made" test "$STATUS" = 201
uf=$(jget "$BODY" .identity.uid)
check "the clone is the new VM's, not vb's" test "$(stat -c '%u %g' "$ds/vf/data.qcow2")" = "$uf $uf"
check "the clone has no backing file" bash -c "! qemu-img info -U '$ds/vf/data.qcow2' | grep -q 'backing file'"
check "vb's identity cannot open the clone" denied "$ub" file "$ds/vf/data.qcow2"

check "qemu-img ran on the VMs' disks" test "$(wc -l <"$TMP/qemu-img.log")" -gt 5
check "qemu-img never ran as root" bash -c "! grep -q '^0 ' '$TMP/qemu-img.log'"
check "qemu-img was always told the format" bash -c "! grep -v -- ' -f \| --image-opts ' '$TMP/qemu-img.log' | grep -q ."
check "the clone was copied as the new VM's identity" grep -qE "^$uf $uf convert .*/vb/data.qcow2" "$TMP/qemu-img.log"
check "... with vb's group besides its own (to read vb's disk)" grep -qE "^$uf( [0-9]+)* $ub( |$)" "$TMP/qemu-img.groups"

# Identities survive a restart of the agent; a deleted VM's is free again.
agent_kill9 h1
check "the agent restarts" agent_start h1
check "va keeps its identity" test "$(vm_field h1 va .identity.uid)" = "$ua"
check "vb keeps its identity" test "$(vm_field h1 vb .identity.uid)" = "$ub"
check "va's QEMU still runs as va" grep -qE "^Uid:\s+$ua\s" /proc/"$pa"/status
api h1 POST /api/v1/vms/vb/start
check "vb starts again after the restart" test "$STATUS" = 200
check "... as the same identity" grep -qE "^Uid:\s+$ub\s" /proc/"$(qemu_pid_of h1 vb)"/status
api h1 DELETE '/api/v1/vms/vb?force=true&keep_disks=true'
check "vb is deleted, keeping its disks" test "$STATUS" = 204
check "the kept disk is root's now (vb's id may be given again)" \
	test "$(stat -c '%u %g %a' "$ds/vb/data.qcow2")" = "0 0 600"
# An identity is picked by the VM's uuid (the same on every host, for live
# migration): a new VM of the deleted one's uuid gets its identity again.
api h1 POST /api/v1/vms "$(jq -c --arg u "$vb_uuid" '.uuid=$u | .disks=[{name:"other", size_mib:8}]' <<<"$(spec vg 10.213.0.47)")"
check "a new VM of the deleted VM's uuid gets the deleted VM's identity (ids follow uuids)" \
	test "$STATUS/$(jget "$BODY" .identity.uid)" = "201/$ub"
check "... which cannot read the kept disk" denied "$ub" file "$ds/vb/data.qcow2"

# A VM stored by an agent from before identities (no identity in its spec,
# its disk the old shared QEMU user's) gets one at the next agent start.
agent_kill9 h1
jq 'del(.identity)' "$st/vms/vg/spec.json" >"$TMP/spec.json" && cat "$TMP/spec.json" >"$st/vms/vg/spec.json"
chown 999:999 "$ds/vg/other.qcow2"
check "the agent restarts with a VM that has no identity" agent_start h1
ug=$(vm_field h1 vg .identity.uid)
check "... which gets a free one" test "$ug" -ge 200000 -a "$ug" != "$ua" -a "$ug" != "$uf"
check "... kept in its stored spec" test "$(jq .identity.uid "$st/vms/vg/spec.json")" = "$ug"
api h1 POST /api/v1/vms/vg/start
[ "$STATUS" = 200 ] || diag "start vg: $STATUS $BODY"
check "... and it starts as that identity" grep -qE "^Uid:\s+$ug\s" /proc/"$(jget "$BODY" .runtime.pid)"/status
check "... owning its disk now" test "$(stat -c '%u %g %a' "$ds/vg/other.qcow2")" = "$ug $ug 640"

for v in va vc vf vg; do api h1 DELETE "/api/v1/vms/$v?force=true"; done
finish
