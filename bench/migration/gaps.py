#!/usr/bin/env python3
"""gaps.py TICKS FROM_S TO_S - the longest gap between two arrivals of a
tick stream (tick_receiver.py's file) whose later arrival falls in
[FROM_S, TO_S] (seconds since the epoch), in ms, and the datagrams lost in that
window (gaps in SEQ): prints "GAP_MS LOST RECEIVED". A window with fewer
than two arrivals prints "-1 0 N" (nothing to judge: the stream did not
reach this host)."""
import sys

path, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
prev_t = prev_seq = None
gap = -1.0
lost = received = 0
with open(path) as f:
    for line in f:
        try:
            t_s, seq_s = line.split()
            t, seq = float(t_s), int(seq_s)
        except ValueError:
            continue
        if t0 <= t <= t1:
            received += 1
            if prev_t is not None and prev_t >= t0 - 1.0:
                gap = max(gap, (t - prev_t) * 1000.0)
                if seq > prev_seq + 1:
                    lost += seq - prev_seq - 1
        prev_t, prev_seq = t, seq
print("%.1f %d %d" % (gap, lost, received))
