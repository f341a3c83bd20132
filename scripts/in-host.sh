#!/usr/bin/env bash
# in-host.sh - runs a command as a process of a host of the pool
# (scripts/pool.sh) or of a test: called through
# `ip netns exec NS`, which gives a private mount namespace with a fresh /sys
# that hides the cgroup mounts; mount them again (same hierarchies as the
# root namespace: v2 unified or v1 per controller) and exec the command.
set -euo pipefail
if [ ! -e /sys/fs/cgroup/cgroup.procs ] && [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then
	if grep -q '^cgroup2 /sys/fs/cgroup ' /proc/1/mounts; then
		mount -t cgroup2 cgroup2 /sys/fs/cgroup
	else
		mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup
		for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
			grep -qw "$c" /proc/cgroups || continue
			mkdir -p "/sys/fs/cgroup/$c"
			mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
		done
	fi
fi
exec "$@"
