#!/bin/sh
# agent_layers.sh AGENT_SRC - the agent's layers stay apart:
#  - QMP is spoken in qemu/ only: no "execute", no QMP command or event name
#    as a string anywhere else;
#  - vm/ knows no HTTP: it includes no http header and names no http_req
#    (nor do the headers it shares with the rest: agent.h, vm.h).
# Prints each offending line; exits 1 if there is any.
set -u
src=${1:?usage: agent_layers.sh SRC/agent}
[ -d "$src/qemu" ] && [ -d "$src/vm" ] || { echo "agent_layers: $src is not the agent's source" >&2; exit 2; }
bad=0

qmp_names='execute|qmp_capabilities|cont|stop|system_reset|system_powerdown|quit|query-[a-z-]+'
qmp_names="$qmp_names|job-dismiss|snapshot-(save|load|delete)|block_resize|human-monitor-command"
qmp_names="$qmp_names|savevm|loadvm|SHUTDOWN|STOP|RESUME|GUEST_PANICKED|POWERDOWN|RESET"
if out=$(find "$src" -path "$src/qemu" -prune -o -name '*.[ch]' -print |
	xargs grep -nE "\"($qmp_names)\"" 2>/dev/null); then
	echo "QMP outside $src/qemu (use the typed functions of qemu/qmp_cmds.h):"
	echo "$out"
	bad=1
fi

if out=$(grep -nE '#include *"http|http_req|http_reply' "$src"/vm/*.[ch] "$src"/daemon/agent.h 2>/dev/null); then
	echo "HTTP in the VM layer (end operations through vm_done_fn; api/ replies):"
	echo "$out"
	bad=1
fi

[ "$bad" = 0 ] && echo "agent layers: ok"
exit "$bad"
