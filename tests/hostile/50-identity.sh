# 50-identity.sh - one tenant's VM against another's, on the same host. Each
# VM is its own uid and gid: a process with bob's VM's identity (what bob
# holds if his guest breaks out into its QEMU) opens nothing of alice's VM;
# no console listens on TCP; a clone never copies a file its VM could not
# read, and qemu-img never runs as root.
# shellcheck shell=bash

h50_ds=$(dir_of h1)/ds
h50_run=$(dir_of h1)/run
h50_st=$(dir_of h1)/st
# h50_vm TOKEN PROJECT NAME: a started VM of the test guest in PROJECT.
h50_vm() {
	as "$1" POST /api/v1/vms "{\"name\":\"$3\",\"template\":\"h50-tpl\",\"project\":\"$2\",\"start\":true,\"user_data\":\"#cloud-config\\n\"}"
	[ "$STATUS" = 202 ] || [ "$STATUS" = 201 ] || { diag "create $3: $STATUS $BODY"; return 1; }
	task_wait "$(jget "$BODY" .task.id)" 180 && [ "$TASK_STATE" = succeeded ] ||
		{ diag "create $3: $TASK_STATE $BODY"; return 1; }
}
# h50_pid AGENT_NAME: the pid of that VM's QEMU.
h50_pid() { pgrep -f "^(/[^ ]*/)?qemu-system-x86_64 -name guest=$1," | head -1; }

mgr_guest_template h50-tpl
attack ID-0 "alice and bob each start a VM on h1: both run" \
	eval 'h50_vm "$T_A" pa h50-a && h50_vm "$T_B" pb h50-b'
# On h1 the VMs and their files are named by vdcd's ids for them.
as "$T_A" GET /api/v1/vms/h50-a
h50_na=$(jget "$BODY" '.config.agent_name // .name')
as "$T_B" GET /api/v1/vms/h50-b
h50_nb=$(jget "$BODY" '.config.agent_name // .name')
h50_pa=$(h50_pid "$h50_na")
h50_pb=$(h50_pid "$h50_nb")
h50_ua=$(stat -c %u "$h50_ds/$h50_na/root.qcow2" 2>/dev/null)
h50_ub=$(stat -c %u "$h50_ds/$h50_nb/root.qcow2" 2>/dev/null)

attack ID-1 "bob's QEMU runs as a uid of its own, not alice's VM's nor root" \
	eval '[ -n "$h50_ua" ] && [ -n "$h50_ub" ] && [ "$h50_ua" != "$h50_ub" ] && [ "$h50_ub" -ge 1000 ] &&
		grep -qE "^Uid:\s+$h50_ub\s+$h50_ub\s+$h50_ub\s+$h50_ub$" /proc/$h50_pb/status &&
		grep -qE "^Uid:\s+$h50_ua\s+$h50_ua\s+$h50_ua\s+$h50_ua$" /proc/$h50_pa/status'
attack ID-2a "bob's VM's identity reads alice's disk: EACCES" denied_as "$h50_ub" file "$h50_ds/$h50_na/root.qcow2"
attack ID-2b "bob's VM's identity reads alice's cloud-init seed: EACCES" denied_as "$h50_ub" file "$h50_ds/$h50_na/cidata.iso"
attack ID-2c "bob's VM's identity lists alice's disk directory: EACCES" denied_as "$h50_ub" dir "$h50_ds/$h50_na"
attack ID-2d "bob's VM's identity connects to alice's VNC socket: EACCES" denied_as "$h50_ub" sock "$h50_run/vnc/$h50_na/vnc.sock"
attack ID-2e "bob's VM's identity connects to alice's QMP socket: EACCES" denied_as "$h50_ub" sock "$h50_run/vms/$h50_na/qmp.sock"
attack ID-2f "bob's VM's identity connects to alice's serial console: EACCES" denied_as "$h50_ub" sock "$h50_run/vms/$h50_na/serial.sock"
attack ID-2g "bob's VM's identity reads alice's console log: EACCES" denied_as "$h50_ub" file "$h50_st/vms/$h50_na/console.log"
attack ID-2h "bob's VM's identity lists alice's VM state: EACCES" denied_as "$h50_ub" dir "$h50_st/vms/$h50_na"
attack ID-2i "bob's VM's identity plants a symlink beside its own disk: EACCES" \
	eval '[ "$(probe_as "$h50_ub" plant "$h50_ds/$h50_nb")" = EACCES ]'
attack ID-2j "... while it does open its own disk (the probe is real)" \
	eval '[ "$(probe_as "$h50_ub" file "$h50_ds/$h50_nb/root.qcow2")" = open ]'

attack ID-3a "a guest's display listens on TCP: no QEMU has a TCP listener" \
	bash -c "! ip netns exec $(ns_of h1) ss -ltnpH | grep -qE 'pid=($h50_pa|$h50_pb),'"
as "$T_A" GET /api/v1/vms/h50-a
attack ID-3b "alice's VM as vdcd shows it names no VNC host or port" \
	eval '[ "$STATUS" = 200 ] && ! jq -e ".. | objects | select(has(\"port\") or has(\"vnc_port\"))" <<<"$BODY" >/dev/null'

# A stopped VM whose disk header was rewritten (root, in the test, standing
# for any tampered image) to be backed by a root-only host file.
as "$T_A" POST /api/v1/vms/h50-a/stop '{"timeout_s":1}'
task_wait "$(jget "$BODY" .task.id)" 60
qemu-img rebase -u -f qcow2 -b /etc/shadow -F raw "$h50_ds/$h50_na/root.qcow2"
as "$T_A" POST /api/v1/vms/h50-a/clone '{"name":"h50-a-copy"}'
h50_task=$(jget "$BODY" .task.id)
h50_nc=$(jget "$BODY" '.vm.config.agent_name // "h50-a-copy"')
[ -n "$h50_task" ] && task_wait "$h50_task" 120
attack ID-4a "alice clones a VM whose disk is backed by /etc/shadow: the clone fails (unsafe_image)" \
	eval '[ -n "$h50_task" ] && [ "$TASK_STATE/$(jget "$BODY" .error.code)" = failed/unsafe_image ]'
attack ID-4b "... the error names the backing file" grep -q /etc/shadow <<<"$(jget "$BODY" .error.message)"
attack ID-4c "... and nothing was copied" test ! -e "$h50_ds/$h50_nc"
as "$T_A" POST /api/v1/vms/h50-a/start
task_wait "$(jget "$BODY" .task.id)" 60
attack ID-4d "alice starts that VM: refused as outside the roots, naming the backing file; no QEMU" \
	eval '[ "$TASK_STATE" = failed ] && qemu_gone "$h50_na" &&
		grep -q "/etc/shadow. lies outside" <<<"$(jget "$BODY" .error.message)"'

for h50_v in h50-a-copy h50-a h50-b; do
	mapi DELETE "/api/v1/vms/$h50_v?force=true"
	[ "$STATUS" = 202 ] && task_wait "$(jget "$BODY" .task.id)" 60
done
mapi DELETE /api/v1/templates/h50-tpl
