// serial_ring.mjs - the serial console's shared ring (ui/src/consoles/
// serial_ring.js) under node, no browser: bytes come out in the order they
// went in, across the wrap and the counters' overflow; a full ring takes
// no more; an empty one gives null. Run by tests/integration/t_ui.sh;
// prints TAP lines.
import { CAPACITY, ringBuffer, ringView, ringWrite, ringRead } from '../src/consoles/serial_ring.js';

let failures = 0;
const check = (what, ok, why) => {
  if (ok) console.log(`ok - t_ui: serial ring: ${what}`);
  else { failures++; console.log(`not ok - t_ui: serial ring: ${what}`); if (why) console.log('# ' + why); }
};
const bytes = (n, from) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 255);
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

{
  const r = ringView(ringBuffer());
  check('an empty ring reads null', ringRead(r) === null);
  check('a write is read back whole', ringWrite(r, bytes(5, 1)) === 5 && same(ringRead(r), bytes(5, 1)));
  check('... once', ringRead(r) === null);
}
{
  const r = ringView(ringBuffer());
  const n = ringWrite(r, bytes(CAPACITY + 100, 0));
  check(`a full ring takes CAPACITY bytes and no more (took ${n})`, n === CAPACITY && ringWrite(r, bytes(1, 0)) === 0);
  check('... and gives them all back', same(ringRead(r), bytes(CAPACITY, 0)));
}
{
  // Random writes and reads against a plain array, across many wraps.
  const r = ringView(ringBuffer());
  let seed = 7, sent = 0, got = 0, bad = '';
  const rand = (m) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % m; };
  for (let i = 0; i < 400 && !bad; i++) {
    const n = ringWrite(r, bytes(rand(CAPACITY / 3), sent));
    sent += n;
    if (rand(2)) {
      const b = ringRead(r) || new Uint8Array(0);
      if (!same(b, bytes(b.length, got))) bad = `round ${i}: bytes out of order at ${got}`;
      got += b.length;
    }
  }
  const rest = ringRead(r) || new Uint8Array(0);
  if (!same(rest, bytes(rest.length, got))) bad = bad || 'the last read is out of order';
  got += rest.length;
  check(`400 random writes and reads (${(sent / CAPACITY).toFixed(0)} wraps): every byte in order`, !bad && got === sent, bad || `${got} read of ${sent}`);
}
{
  // The counters are Int32 and wrap: only their difference counts.
  const sab = ringBuffer();
  const r = ringView(sab);
  Atomics.store(r.ctr, 0, 0x7ffffff0); Atomics.store(r.ctr, 1, 0x7ffffff0);
  const n = ringWrite(r, bytes(64, 9));
  check('bytes pass the counters\' overflow', n === 64 && same(ringRead(r), bytes(64, 9)) && ringRead(r) === null);
}
process.exit(failures ? 1 : 0);
