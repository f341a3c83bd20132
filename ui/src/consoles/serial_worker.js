// serial_worker.js - the serial console's WebSocket, in a worker of its
// own, so the guest's bytes are in the page's ring (serial_ring.js) as
// soon as they arrive, whatever the page's thread is waiting for.
//
// From the page: {open: {url, protocols, sab}}, {send: Uint8Array},
// {close: true}. To the page: {state: 'connected' | 'closed'}, and 'wake'
// after each message put in the ring.
import { ringView, ringWrite } from './serial_ring.js';

let ws = null, ring = null;
const pending = []; // what did not fit in the ring yet
let retry = null;

function flush() {
  retry = null;
  while (pending.length) {
    const b = pending[0];
    const n = ringWrite(ring, b);
    if (n < b.length) {
      pending[0] = b.subarray(n);
      retry = setTimeout(flush, 4); // the page reads every frame
      break;
    }
    pending.shift();
  }
  postMessage('wake');
}

onmessage = (e) => {
  const m = e.data;
  if (m.open) {
    ring = ringView(m.open.sab);
    ws = new WebSocket(m.open.url, m.open.protocols);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => postMessage({ state: 'connected' });
    ws.onclose = () => { ws = null; postMessage({ state: 'closed' }); };
    ws.onmessage = (ev) => {
      const b = typeof ev.data === 'string' ? new TextEncoder().encode(ev.data) : new Uint8Array(ev.data);
      pending.push(b);
      if (!retry) flush();
    };
  } else if (m.send) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(m.send);
  } else if (m.close) {
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    clearTimeout(retry);
    close();
  }
};
