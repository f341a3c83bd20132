// serial_ring.js - a byte ring in a SharedArrayBuffer with one writer (the
// serial console's worker, which holds the WebSocket) and one reader (the
// page). Why a ring and not postMessage: right after a key, Chromium runs
// the page's other tasks (a message from the worker, or from a WebSocket)
// only once its next frame is made, so the key's echo would be drawn a
// frame later than it could; the page reads the ring in that frame's
// animation callback instead (see serial.js).
//
// Layout: two Int32 counters (bytes ever written, bytes ever read; they
// wrap, only their difference counts), then CAPACITY bytes of data.
export const CAPACITY = 1 << 20;
const HEAD = 0, TAIL = 1, HEADER = 8;

export function ringBuffer() {
  return new SharedArrayBuffer(HEADER + CAPACITY);
}

export function ringView(sab) {
  return { ctr: new Int32Array(sab, 0, 2), data: new Uint8Array(sab, HEADER, CAPACITY) };
}

// Writes as much of bytes as fits; returns how many were written.
export function ringWrite(r, bytes) {
  const head = Atomics.load(r.ctr, HEAD), tail = Atomics.load(r.ctr, TAIL);
  const free = CAPACITY - ((head - tail) >>> 0);
  const n = Math.min(free, bytes.length);
  const at = (head >>> 0) % CAPACITY, first = Math.min(n, CAPACITY - at);
  r.data.set(bytes.subarray(0, first), at);
  if (n > first) r.data.set(bytes.subarray(first, n), 0);
  Atomics.store(r.ctr, HEAD, (head + n) | 0);
  return n;
}

// Everything written and not yet read, or null.
export function ringRead(r) {
  const head = Atomics.load(r.ctr, HEAD), tail = Atomics.load(r.ctr, TAIL);
  const n = (head - tail) >>> 0;
  if (!n) return null;
  const out = new Uint8Array(n);
  const at = (tail >>> 0) % CAPACITY, first = Math.min(n, CAPACITY - at);
  out.set(r.data.subarray(at, at + first), 0);
  if (n > first) out.set(r.data.subarray(0, n - first), first);
  Atomics.store(r.ctr, TAIL, (tail + n) | 0);
  return out;
}
