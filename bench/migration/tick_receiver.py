#!/usr/bin/env python3
"""tick_receiver.py ADDR PORT OUT - receives a guest's 1 ms timestamp stream
(guest/vdc-tick.c: UDP datagrams "SEQ NS") and writes one line per datagram
to OUT: "ARRIVAL_S SEQ" (this host's clock, as `date +%s.%N` gives it), until SIGTERM.

migration.sh reads the guest's pauses from it: the longest gap between two
arrivals inside a migration's window is its downtime as the guest's peers
see it (guest/vdc-tick.c sends every 1 ms, so a gap over a few ms is the
guest not running or its packets not getting through).
"""
import signal
import socket
import sys
import time

addr, port, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.bind((addr, port))
sock.settimeout(0.2)
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
with open(out_path, "w", buffering=1) as out:  # line by line: read while it runs
    while running:
        try:
            data = sock.recv(128)
        except socket.timeout:
            continue
        now = time.time()
        seq = data.split(b" ", 1)[0].decode(errors="replace")
        out.write("%.6f %s\n" % (now, seq))
