#!/usr/bin/env python3
"""ha_watch.py - watches VMs through vdcd until each runs and its guest
answers, for bench/ha/ha.sh: one process, one kept-alive HTTPS connection
to vdcd and a look every 100 ms, so that watching 10 VMs costs the 2-core
machine little next to the guests it times (10 shell pollers spawning
curl and jq would take a core of their own).

    ha_watch.py --url URL --cacert CA --token-file F --hosts FILE
                [--not-on HOST_ID] [--failed HOST_NAME] [--timeout S]
                [--armed FILE] VM_ID...

--hosts: a JSON file {HOST_ID: {"name": NAME, "ns": NETNS}}.
A VM runs when vdcd says it runs (power_state "running") on a host other
than --not-on, and a QEMU process of it (its -uuid) is in that host's
network namespace. Its guest is ready when its console (read every
0.25 s) shows the test guest's "VDC-GUEST-READY ... ip=ADDR" line written
since the watch began (the console is read from the offset it had then: a
VM started again on its host has the last boot's line before it), and a
request "ping" to ADDR:7777, made from inside the host's namespace, is
answered "pong".
With --failed, also when vdcd's GET /api/v1/hosts/NAME says .ha.state
"failed". With --armed, writes that file once the consoles' offsets are
read: what is timed may begin.

Prints, as they happen, "failed T", "running VM T HOST" and "ready VM T HOST
ADDR" (T: time.time(), seconds since the epoch), and at the end "done" or
"timeout". Exits 0 when every VM got ready within --timeout (default 300 s).
"""
import argparse
import ctypes
import http.client
import json
import os
import re
import socket
import ssl
import sys
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
# A VM's record is read every look (100 ms), its console (which vdcd asks
# its host for) every CONSOLE_S while it runs and is not ready yet.
CONSOLE_S = 0.25
READY = re.compile(rb"VDC-GUEST-READY .*? ip=([0-9.]+)")


class Vdcd:
    def __init__(self, url, cacert, token):
        m = re.match(r"https://([^:/]+):(\d+)", url)
        self.host, self.port = m.group(1), int(m.group(2))
        self.ctx = ssl.create_default_context(cafile=cacert)
        self.token = token
        self.conn = None
        self.opened = self.requests = 0

    def get(self, path):
        """(status, headers, body bytes); a broken connection is opened again once."""
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=10)
                    self.opened += 1
                self.requests += 1
                self.conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, r, body
            except (OSError, http.client.HTTPException):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt:
                    return 0, None, b""
        return 0, None, b""

    def json(self, path):
        st, _, body = self.get(path)
        if st != 200:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return None


def ns_inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def qemu_ns_of(uuid):
    """The network namespace inodes of the QEMU processes of VM uuid."""
    out = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            if b"-uuid" not in args:
                continue
            i = args.index(b"-uuid")
            if i + 1 < len(args) and args[i + 1].decode(errors="replace") == uuid:
                out.add(os.stat(f"/proc/{d}/ns/net").st_ino)
        except (OSError, ValueError):
            continue
    return out


def ping_in_ns(ns, addr):
    """Whether the guest at addr answers "ping" with "pong", asked from
    inside network namespace ns (this thread enters it for the socket's
    creation, then comes back: a socket stays in the namespace it was made
    in)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            return False
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            libc.setns(own, CLONE_NEWNET)
    finally:
        os.close(own)
        os.close(target)
    try:
        s.settimeout(2)
        s.connect((addr, 7777))
        s.sendall(b"ping\n")
        data = b""
        while True:
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
        return data.strip() == b"pong"
    except OSError:
        return False
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--not-on", default="")
    ap.add_argument("--failed", default="")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--armed", default="")
    ap.add_argument("vms", nargs="+")
    a = ap.parse_args()
    with open(a.token_file) as f:
        v = Vdcd(a.url, a.cacert, f.read().strip())
    with open(a.hosts) as f:
        hosts = json.load(f)
    inode = {hid: ns_inode(f"/run/netns/{h['ns']}") for hid, h in hosts.items()}

    def say(line):
        print(line, flush=True)

    # Where each VM's console is now, on its host now: what its next boot
    # writes comes after. A VM that moves to another host has a console
    # of its own there, read from its beginning.
    offset = {}
    for vm in a.vms:
        doc = v.json(f"/api/v1/vms/{vm}") or {}
        st, r, body = v.get(f"/api/v1/vms/{vm}/console?bytes=1")
        off = int(r.getheader("X-Console-Offset", "0")) + len(body) if st == 200 and r else 0
        offset[vm] = (doc.get("host_id"), off)
    if a.armed:
        with open(a.armed, "w") as f:
            f.write("armed\n")

    running, ready = {}, {}
    next_console = {}  # a console is read every CONSOLE_S, not every look
    failed = not a.failed
    end = time.time() + a.timeout
    while time.time() < end and (len(ready) < len(a.vms) or not failed):
        if not failed:
            h = v.json(f"/api/v1/hosts/{a.failed}")
            if h and (h.get("ha") or {}).get("state") == "failed":
                failed = True
                say(f"failed {time.time():.3f}")
        for vm in a.vms:
            if vm in ready:
                continue
            doc = v.json(f"/api/v1/vms/{vm}")
            if not doc:
                continue
            hid = doc.get("host_id")
            if doc.get("power_state") != "running" or hid not in hosts or hid == a.not_on:
                running.pop(vm, None)
                continue
            if vm not in running:
                if inode.get(hid) not in qemu_ns_of(vm):
                    continue
                running[vm] = hid
                say(f"running {vm} {time.time():.3f} {hosts[hid]['name']}")
            if running[vm] != hid:
                running.pop(vm, None)
                continue
            if time.time() < next_console.get(vm, 0):
                continue
            next_console[vm] = time.time() + CONSOLE_S
            was_host, off = offset[vm]
            st, _, body = v.get(f"/api/v1/vms/{vm}/console?bytes=1048576&offset={off if was_host == hid else 0}")
            if st != 200:
                continue
            m = READY.search(body)
            if m and ping_in_ns(hosts[hid]["ns"], m.group(1).decode()):
                ready[vm] = time.time()
                say(f"ready {vm} {ready[vm]:.3f} {hosts[hid]['name']} {m.group(1).decode()}")
        time.sleep(0.1)
    print(f"ha_watch: {v.requests} requests to vdcd over {v.opened} connections", file=sys.stderr)
    if len(ready) == len(a.vms) and failed:
        say("done")
        return 0
    say("timeout")
    return 1


if __name__ == "__main__":
    sys.exit(main())
