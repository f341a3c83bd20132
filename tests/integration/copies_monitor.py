#!/usr/bin/env python3
"""copies_monitor.py UUID[,UUID...] OUT_FILE - every 100 ms, finds the QEMU
processes of one VM (its -uuid), or of each of several, and tells which of
them run its guest, until killed.

A copy runs its guest when one of its vCPU threads ("CPU n/TCG" or
"CPU n/KVM", QEMU's debug-threads names) was on a CPU since the last look:
the scheduler's own run time (/proc/.../schedstat, in ns), not a tick
count. A paused QEMU, a receiving one and a sender after its hand-over
have their vCPUs parked: their run time does not move. A guest that keeps
a vCPU busy at least once per 100 ms (the test guest's dirtier) is never
missed.

Two copies run at once when both ran in two looks in a row: one look
alone cannot tell, since a hand-over (the sender's last slice, then the
receiver's first, a few ms apart) falls into one 100 ms look. So an
overlap of 200 ms or more is always seen; a shorter one may not be. A
process's first second is not looked at: a new QEMU's vCPU threads run
while they start, before they park (for over 100 ms on a loaded host).

Writes one line per look: "T PIDS RUNNING" (time in s, the pids found,
how many ran), and "TWO T pid,pid" when two copies of one VM ran in this
look and the last (with several VMs, "TWO T pid,pid UUID"). Ends when the
process that started it does.
"""
import os
import sys
import time

uuids, out_path = set(sys.argv[1].split(",")), sys.argv[2]
several = len(uuids) > 1


def qemu_pids():
    """The QEMU processes of the VMs watched: pid -> its VM's uuid."""
    pids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"-uuid" in args:
            i = args.index(b"-uuid")
            u = args[i + 1].decode(errors="replace") if i + 1 < len(args) else ""
            if u in uuids:
                pids[int(d)] = u
    return pids


def age(pid):
    """Seconds since the process started (its starttime against the boot
    clock), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            up = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return up - start_ticks / os.sysconf("SC_CLK_TCK")


def vcpu_runtime(pid):
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    comm = f.read().strip()
                if not comm.startswith("CPU "):
                    continue
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                continue
    except OSError:
        return None
    return total


parent = os.getppid()
last = {}
ran_before = set()
start = time.monotonic()
with open(out_path, "w", buffering=1) as out:
    while os.getppid() == parent:  # the test that started it is gone: so is the monitor
        now = time.monotonic() - start
        running = []
        seen = qemu_pids()
        for pid in seen:
            # A QEMU's vCPU threads run while they start, before they park
            # (a receiver waiting for its state): under load that spans two
            # looks. A guest runs there only seconds later, after a
            # hand-over, so the first second of a process is not a copy.
            a = age(pid)
            if a is None or a < 1.0:
                continue
            rt = vcpu_runtime(pid)
            if rt is None:
                continue
            if pid in last and rt > last[pid]:
                running.append(pid)
            last[pid] = rt
        for pid in list(last):
            if pid not in seen:
                del last[pid]
        out.write(f"{now:.2f} {','.join(map(str, seen)) or '-'} {len(running)}\n")
        both = [p for p in running if p in ran_before]
        for u in sorted({seen[p] for p in both}):
            same = [p for p in both if seen[p] == u]
            if len(same) > 1:
                out.write(f"TWO {now:.2f} {','.join(map(str, same))}{' ' + u if several else ''}\n")
        ran_before = set(running)
        time.sleep(0.1)
